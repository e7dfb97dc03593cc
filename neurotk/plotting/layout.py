"""Figure layout shared by every plotting module: the Axes to draw on."""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError

__all__ = ["axes_or_new", "axes_grid"]


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
