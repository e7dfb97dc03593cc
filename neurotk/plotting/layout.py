"""Figure layout shared by every plotting module: the Axes to draw on, text that fits."""

from __future__ import annotations

import textwrap

import numpy as np

from ..errors import ArgumentError

__all__ = ["axes_or_new", "axes_grid", "fit_texts"]


def axes_or_new(ax=None, figsize=(5, 4)):
    """``ax``, or the Axes of a new figure of ``figsize`` (inches) when ``ax`` is None.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = axes_or_new(figsize=(3, 2))
    >>> ax.figure.get_size_inches().tolist()
    [3.0, 2.0]
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def axes_grid(axes, nrows: int, ncols: int, figsize):
    """``axes`` (or a new figure's) as an (nrows, ncols) object array of Axes.

    Given Axes must number at least ``nrows * ncols``; the first ones are used.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> axes_grid(None, 2, 3, (6, 4)).shape
    (2, 3)
    """
    import matplotlib.pyplot as plt

    if axes is None:
        _, axes = plt.subplots(nrows, ncols, figsize=figsize, constrained_layout=True, squeeze=False)
    axes = np.asarray(axes, dtype=object).reshape(-1)
    if axes.size < nrows * ncols:
        raise ArgumentError(f"axes holds {axes.size} Axes; expected {nrows} x {ncols} = {nrows * ncols}")
    return axes[: nrows * ncols].reshape(nrows, ncols)


def _fit_targets(fig):
    """(Text, room in pixels, measure) of the suptitle, every Axes title and axis label of ``fig``."""
    out = []
    if fig._suptitle is not None:
        out.append((fig._suptitle, 0.98 * fig.bbox.width, "width"))
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        box = ax.get_window_extent()
        for title in (ax.title, ax._left_title, ax._right_title):
            out.append((title, box.width, "width"))
        out.append((ax.xaxis.label, box.width, "width"))
        out.append((ax.yaxis.label, box.height, "height"))
    return [(t, room, m) for t, room, m in out if t.get_visible() and t.get_text().strip() and room > 0]


def fit_texts(fig, rounds: int = 4):
    """Wrap titles and axis labels of ``fig`` that are wider than their room; returns ``fig``.

    A title or x-axis label may be as wide as its Axes, a y-axis label as tall, the
    figure's suptitle as wide as the figure. Longer ones are broken at spaces into more
    lines (the layout engine then makes room for them vertically); where something still
    runs off the figure after that (the tight bounding box of everything drawn), the
    figure is enlarged (both sides by one factor) to hold it. Each round measures with the figure's renderer, as
    drawn; ``rounds`` bounds the re-layouts.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = axes_or_new(figsize=(2, 2))
    >>> _ = ax.set_title("a title far too long for an Axes only two inches wide")
    >>> "\\n" in fit_texts(ax.figure).axes[0].get_title()
    True
    """
    for _ in range(rounds):
        fig.draw_without_rendering()  # lays the figure out (constrained layout) without rasterising it
        renderer = fig.canvas.get_renderer()
        changed = False
        for text, room, measure in _fit_targets(fig):
            box = text.get_window_extent(renderer)
            size = box.width if measure == "width" else box.height
            if size <= room + 0.5 or (measure == "width" and text.get_rotation() % 180):
                continue
            lines = text.get_text().split("\n")
            chars = max(8, int(max(len(line) for line in lines) * room / size * 0.95))
            wrapped = "\n".join(textwrap.fill(line, chars, break_long_words=False) or line for line in lines)
            if wrapped != text.get_text():
                text.set_text(wrapped)
                changed = True
        if changed:
            continue
        # what still overflows (e.g. fixed-aspect Axes pushed by taller titles): a larger figure
        box = fig.get_tightbbox(renderer)
        width, height = fig.get_size_inches()
        grow_w = max(0.0, -box.x0) + max(0.0, box.x1 - width)
        grow_h = max(0.0, -box.y0) + max(0.0, box.y1 - height)
        if grow_w < 0.01 and grow_h < 0.01:
            break
        # both sides by one factor: fixed-aspect Axes (images) then grow as the room does, and the layout converges
        scale = 1.02 * max((width + grow_w) / width, (height + grow_h) / height)
        fig.set_size_inches(width * scale, height * scale)
    return fig
