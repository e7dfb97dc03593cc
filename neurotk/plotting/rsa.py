"""Figures for representational similarity analysis.

Each function takes what :mod:`neurotk.rsa` returns (an RDM, MDS coordinates, a tidy
table of scores, the numbers of a result) and returns the matplotlib Axes it drew on.
Nothing here computes an analysis, and nothing here imports :mod:`neurotk.rsa`: the
result objects hand over their numbers (an RDM its percentile ranks, through
``RDM.ranks()``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ArgumentError, ShapeMismatchError
from .layout import axes_or_new

__all__ = [
    "plot_rdm",
    "plot_embedding",
    "plot_model_comparison",
    "plot_rdm_noise_ceiling",
    "plot_layer_area",
    "plot_best_layers",
    "plot_permutation_null",
    "plot_ssm",
    "plot_model_selection",
    "plot_kernel_analysis",
]


def _category_runs(categories):
    """Start, stop and label of each run of equal consecutive labels."""
    categories = np.asarray(categories)
    change = np.flatnonzero(np.r_[True, categories[1:] != categories[:-1], True])
    return [(int(a), int(b), categories[a]) for a, b in zip(change[:-1], change[1:])]


def plot_rdm(rdm, ax=None, index: int = 0, categories=None, rank: bool = False, cmap: str = "viridis",
             title: str | None = None, colorbar: bool = True):
    """Heatmap of an RDM, with coloured bands marking condition categories.

    Parameters
    ----------
    rdm : RDM or array-like
        A :class:`~neurotk.rsa.RDM` (the ``index``-th of a stack is drawn), or a square
        dissimilarity matrix (n, n) or a stack of them (n_rdms, n, n); for a condensed
        vector, pass ``neurotk.rsa.as_rdm(vector)``.
    ax : matplotlib Axes, optional
    index : int, default 0
        Which RDM of a stack to draw.
    categories : array-like, shape (n_conditions,), optional
        A category per condition (e.g. digit class). Conditions are drawn in the RDM's
        order; sort them by category first (``rdm.subset``) for contiguous bands.
    rank : bool, default False
        Show rank-transformed dissimilarities (percentiles), as RSA figures often do: the
        RDM's own :meth:`~neurotk.rsa.RDM.ranks`, so ``rank=True`` needs an RDM.
    cmap, title, colorbar
        Display options.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurotk.rsa import RDM
    >>> ax = plot_rdm(RDM([1.0, 2.0, 3.0], names=["V1"]), categories=["a", "a", "b"])
    >>> ax.get_title()
    'V1'
    """
    import matplotlib.colors as mcolors

    matrices, names, metric = _rdm_parts(rdm)
    n_rdms, n = matrices.shape[0], matrices.shape[1]
    if not 0 <= index < n_rdms:
        raise ArgumentError(f"index={index}; expected 0 <= index < {n_rdms} (the number of RDMs)")
    if rank:
        if not hasattr(rdm, "ranks"):
            raise ArgumentError(
                "rank=True draws the RDM's percentile ranks (RDM.ranks()), but rdm is an array; "
                "pass neurotk.rsa.as_rdm(rdm), or the ranks themselves with rank=False"
            )
        matrix = rdm[index].ranks().matrices[0]
        label = "dissimilarity (percentile)"
    else:
        matrix = matrices[index]
        label = f"dissimilarity ({metric})" if metric else "dissimilarity"
    ax = axes_or_new(ax)
    image = ax.imshow(matrix, cmap=cmap, interpolation="nearest", extent=(-0.5, n - 0.5, n - 0.5, -0.5))
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.85)
    if categories is not None:
        categories = np.asarray(categories)
        if categories.shape != (n,):
            raise ShapeMismatchError(f"categories has shape {categories.shape}; expected ({n},), one per condition")
        runs = _category_runs(categories)
        palette = list(mcolors.TABLEAU_COLORS.values())
        band = max(n * 0.03, 0.6)
        for k, (a, b, lab) in enumerate(runs):
            colour = palette[k % len(palette)]
            ax.add_patch(_rect(a - 0.5, -0.5 - band, b - a, band, colour))
            ax.add_patch(_rect(-0.5 - band, a - 0.5, band, b - a, colour))
        ax.set_xlim(-0.5 - band, n - 0.5)
        ax.set_ylim(n - 0.5, -0.5 - band)
        if len(runs) <= 20:
            centres = [(a + b - 1) / 2 for a, b, _ in runs]
            ax.set_yticks(centres, [str(lab) for _, _, lab in runs])
            ax.set_xticks(centres, [str(lab) for _, _, lab in runs])
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("condition")
    ax.set_ylabel("condition")
    ax.set_title(title if title is not None else names[index])
    return ax


def _rdm_parts(rdm):
    """Square matrices (n_rdms, n, n), names and metric of an RDM or of square array(s)."""
    if hasattr(rdm, "matrices") and hasattr(rdm, "names"):
        return rdm.matrices, rdm.names, getattr(rdm, "metric", None)
    m = np.asarray(rdm, dtype=float)
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3 or m.shape[1] != m.shape[2] or m.shape[1] < 2:
        raise ShapeMismatchError(
            f"rdm has shape {np.shape(rdm)}; expected an RDM or square dissimilarity matrices, (n, n) or "
            f"(n_rdms, n, n) (for a condensed vector pass neurotk.rsa.as_rdm(vector))"
        )
    return m, [str(k) for k in range(m.shape[0])], None


def _rect(x, y, w, h, colour):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), w, h, facecolor=colour, edgecolor="none", clip_on=False)


def plot_embedding(coordinates, categories=None, ax=None, title: str | None = None, labels=None):
    """Scatter of a 2-D embedding of conditions (e.g. MDS of an RDM), coloured by category.

    Parameters
    ----------
    coordinates : array-like, shape (n_conditions, 2)
    categories : array-like, shape (n_conditions,), optional
        Colour and legend by category.
    labels : array-like, optional
        Text placed next to each point (for few conditions).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> ax = plot_embedding(np.random.default_rng(0).normal(size=(6, 2)), categories=[0, 0, 1, 1, 2, 2])
    >>> len(ax.collections)
    3
    """
    xy = np.asarray(getattr(coordinates, "coordinates", coordinates), dtype=float)
    if xy.ndim != 2 or xy.shape[1] < 2:
        raise ShapeMismatchError(f"coordinates has shape {xy.shape}; expected (n_conditions, 2)")
    ax = axes_or_new(ax, (4.5, 4))
    if categories is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=25)
    else:
        categories = np.asarray(categories)
        if categories.shape != (len(xy),):
            raise ShapeMismatchError(f"categories has shape {categories.shape}; expected ({len(xy)},)")
        for value in pd.unique(categories):
            mask = categories == value
            ax.scatter(xy[mask, 0], xy[mask, 1], s=25, label=str(value))
        # beside the points, not over them (constrained layout makes room for it)
        ax.legend(title="category", fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                  ncols=2 if len(pd.unique(categories)) > 12 else 1)
    if labels is not None:
        for (x, y), text in zip(xy, labels):
            ax.annotate(str(text), (x, y), fontsize="x-small", xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    ax.set_aspect("equal", adjustable="datalim")
    if title:
        ax.set_title(title)
    return ax


def plot_model_comparison(scores, ax=None, noise_ceiling=None, significant=None, method: str | None = None,
                          title: str | None = None, xlabel: str = "model"):
    """Bar plot of model scores with confidence intervals, noise ceiling and significance marks.

    Parameters
    ----------
    scores : DataFrame
        Columns ``model``, ``score`` and optionally ``ci_low``, ``ci_high`` (as returned by
        ``bootstrap(...).to_frame()``).
    noise_ceiling : (lower, upper), optional
        Drawn as a grey band (:func:`plot_rdm_noise_ceiling`), e.g. an
        :class:`~neurotk.rsa.RDMNoiseCeiling`.
    significant : array-like of bool, optional
        Models marked with an asterisk (e.g. p < 0.05 after correction).
    method : str, optional
        The comparison method, for the y-axis label.
    title, xlabel : str, optional
        Axes title and x-axis label (default "model").

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> table = pd.DataFrame({"model": ["a", "b"], "score": [0.2, 0.5], "ci_low": [0.1, 0.4], "ci_high": [0.3, 0.6]})
    >>> ax = plot_model_comparison(table, noise_ceiling=(0.6, 0.7), significant=[False, True])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['a', 'b']
    """
    table = pd.DataFrame(scores)
    for col in ("model", "score"):
        if col not in table:
            raise ArgumentError(f"scores has no column {col!r}; its columns are {list(table.columns)}")
    ax = axes_or_new(ax, (max(3.0, 0.6 * len(table) + 1.5), 3.5))
    x = np.arange(len(table))
    has_ci = {"ci_low", "ci_high"} <= set(table.columns)
    ax.bar(x, table["score"], color="tab:blue", alpha=0.85)
    if has_ci:
        # the interval as it is, from ci_low to ci_high: a percentile bootstrap interval need
        # not contain the score (matplotlib's yerr refuses the negative lengths that gives)
        low, high = table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float)
        ax.vlines(x, low, high, color="black", lw=1.0)
        ax.plot(np.r_[x, x], np.r_[low, high], linestyle="none", marker="_", markersize=8, color="black")
    if noise_ceiling is not None:
        plot_rdm_noise_ceiling(noise_ceiling, ax=ax)
    if significant is not None:
        significant = np.asarray(significant, dtype=bool)
        top = table["ci_high"].to_numpy() if has_ci else table["score"].to_numpy()
        for k in np.flatnonzero(significant):
            ax.text(x[k], top[k], "*", ha="center", va="bottom", fontsize=14)
    ax.set_xticks(x, table["model"].astype(str), rotation=45 if len(table) > 4 else 0, ha="right" if len(table) > 4 else "center")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(f"RDM similarity ({method})" if method else "RDM similarity")
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    return ax


def plot_rdm_noise_ceiling(noise_ceiling, ax=None):
    """The noise ceiling of RDM comparisons as a grey band, with a legend entry.

    Parameters
    ----------
    noise_ceiling : (lower, upper)
        E.g. the :class:`~neurotk.rsa.RDMNoiseCeiling` of :func:`neurotk.rsa.noise_ceiling`.
    ax : matplotlib Axes, optional
        Drawn on (as :func:`plot_model_comparison` does); a new figure otherwise, with the
        y-axis labelled.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> ax = plot_rdm_noise_ceiling((0.4, 0.6))
    >>> ax.get_legend().get_texts()[0].get_text()
    'noise ceiling'
    """
    try:
        low, high = (float(v) for v in noise_ceiling)
    except (TypeError, ValueError):
        raise ArgumentError(f"noise_ceiling={noise_ceiling!r}; expected two numbers (lower, upper)") from None
    new = ax is None
    ax = axes_or_new(ax, (3.0, 3.5))
    ax.axhspan(low, high, color="0.6", alpha=0.35, zorder=0, label="noise ceiling")
    # outside the axes, right of them: inside, the legend covers bars or their intervals
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, fontsize="small", frameon=False)
    if new:
        ax.set_xticks([])
        ax.set_ylabel("RDM similarity")
    return ax


def _colour_scale(values):
    """``(vmin, vmax, signed)`` of a score heatmap: from 0 to the largest score, or symmetric around 0.

    Scores that are all >= 0 get the scale ``[0, max]``, so the colour of a cell says how
    large its score is, not how it ranks among the others (a scale from the lowest score
    shows 0.31 and 0.35 as black and yellow). Scores with a negative value get
    ``[-m, m]`` with ``m`` the largest absolute score, for a diverging colour map whose
    middle is 0.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0, False
    if finite.min() < 0:
        m = float(np.abs(finite).max())
        return -m, m, True
    top = float(finite.max())
    return 0.0, top if top > 0 else 1.0, False


def _text_colour(rgba) -> str:
    """Black or white, whichever reads better on ``rgba`` (relative luminance, WCAG 2 formula)."""
    rgb = np.asarray(rgba, dtype=float)[:3]
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    luminance = float(linear @ [0.2126, 0.7152, 0.0722])
    # contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05): equal at L ~ 0.179
    return "black" if luminance > 0.179 else "white"


def plot_layer_area(scores, ax=None, value: str = "score", title: str | None = None, cmap: str | None = None,
                    label: str | None = None, outline: str | None = None):
    """Heatmap of scores of network layers (columns) against brain areas (rows).

    Rows and columns keep the order in which they first appear in the table (areas
    early -> late, layers early -> late). The colour scale is anchored at 0: it runs
    from 0 to the largest score when no score is negative (colour map ``magma``), and
    symmetrically around 0 otherwise (``RdBu_r``, white at 0), so that equal colours mean
    equal scores and small differences do not read as large ones. Each cell is labelled
    with its score, in black or white, whichever contrasts more with the cell.

    Parameters
    ----------
    scores : DataFrame
        Columns ``area``, ``layer`` and ``value``.
    value : str, default "score"
        The column drawn.
    title : str, optional
    cmap : str, optional
        Colour map; default ``magma`` for scores >= 0 and ``RdBu_r`` when one is negative.
    label : str, optional
        Colour-bar label (default: ``value``).
    outline : str, optional
        A boolean column: the cells where it is true are outlined (e.g. the layers of an
        area that no other layer beats significantly). Default: the top score of each
        area is outlined.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"area": ["V1", "V1", "IT", "IT"], "layer": ["c1", "fc", "c1", "fc"], "score": [.5, .2, .1, .6]})
    >>> ax = plot_layer_area(t)
    >>> ax.get_ylabel(), ax.images[0].get_clim()
    ('brain area', (0.0, 0.6))
    """
    import matplotlib as mpl
    from matplotlib.patches import Rectangle

    table = pd.DataFrame(scores)
    for col in ("area", "layer", value) + ((outline,) if outline is not None else ()):
        if col not in table:
            raise ArgumentError(f"scores has no column {col!r}; its columns are {list(table.columns)}")
    areas = list(pd.unique(table["area"]))
    layers = list(pd.unique(table["layer"]))
    grid = table.pivot_table(index="area", columns="layer", values=value, aggfunc="mean").loc[areas, layers]
    values = grid.to_numpy(dtype=float)
    vmin, vmax, signed = _colour_scale(values)
    colours = mpl.colormaps[cmap if cmap is not None else ("RdBu_r" if signed else "magma")]
    ax = axes_or_new(ax, (1.2 * len(layers) + 2.5, 0.7 * len(areas) + 1.5))
    image = ax.imshow(values, cmap=colours, vmin=vmin, vmax=vmax, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=value if label is None else label)
    if outline is None:
        marked = np.zeros(values.shape, dtype=bool)
        rows = np.flatnonzero(np.isfinite(values).any(axis=1))
        marked[rows, np.nanargmax(values[rows], axis=1)] = True
    else:
        flags = table.assign(_flag=table[outline].astype(bool)).pivot_table(
            index="area", columns="layer", values="_flag", aggfunc="max").loc[areas, layers]
        marked = flags.fillna(False).to_numpy(dtype=bool)
    for (r, c), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(c, r, f"{v:.2f}", ha="center", va="center", fontsize="small",
                    color=_text_colour(image.cmap(image.norm(v))))
    for r, c in zip(*np.nonzero(marked)):
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="cyan", lw=2.5))
    ax.set_xticks(range(len(layers)), layers)
    ax.set_yticks(range(len(areas)), areas)
    ax.set_xlabel("network layer (early -> late)")
    ax.set_ylabel("brain area")
    if title:
        ax.set_title(title)
    return ax


def plot_best_layers(best, layers, ax=None, title: str | None = None):
    """The top-scoring layer of each area, one line per kind of score (e.g. RDM and RGTM).

    Lines that coincide stay visible: each kind has its own marker, line style and a
    small vertical offset (a tenth of the spacing between layers, spread around the
    layer), and the markers of later kinds are drawn open so those below show through.

    Parameters
    ----------
    best : DataFrame
        Columns ``kind``, ``area`` and ``layer``: one row per kind and area, areas in the
        order they are drawn (early -> late).
    layers : list of str
        Every layer, early -> late (the y-axis).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"kind": ["RDM", "RDM", "RGTM", "RGTM"], "area": ["V1", "IT"] * 2,
    ...                   "layer": ["c1", "fc", "c1", "fc"]})
    >>> ax = plot_best_layers(t, ["c1", "fc"])
    >>> [line.get_linestyle() for line in ax.get_lines()]
    ['-', '--']
    """
    table = pd.DataFrame(best)
    for col in ("kind", "area", "layer"):
        if col not in table:
            raise ArgumentError(f"best has no column {col!r}; its columns are {list(table.columns)}")
    layers = [str(v) for v in layers]
    unknown = sorted(set(table["layer"].astype(str)) - set(layers))
    if unknown:
        raise ArgumentError(f"best names layers {unknown} that are not in layers={layers}")
    depth = {name: k for k, name in enumerate(layers)}
    areas = list(pd.unique(table["area"]))
    kinds = list(pd.unique(table["kind"]))
    ax = axes_or_new(ax, (4.5, 3.6))
    styles = [("o", "-"), ("s", "--"), ("^", ":"), ("D", "-.")]
    offsets = 0.1 * (np.arange(len(kinds)) - (len(kinds) - 1) / 2)
    for k, kind in enumerate(kinds):
        rows = table[table["kind"] == kind].set_index("area").reindex(areas).dropna(subset=["layer"])
        x = np.array([areas.index(a) for a in rows.index], dtype=float)
        y = rows["layer"].astype(str).map(depth).to_numpy(dtype=float) + offsets[k]
        marker, line = styles[k % len(styles)]
        ax.plot(x, y, marker=marker, linestyle=line, color=f"C{k}", markersize=8 - 1.5 * (k % 2), lw=1.8,
                markerfacecolor=f"C{k}" if k == 0 else "none", markeredgewidth=1.6, label=str(kind), zorder=3 + k)
    ax.set_xticks(range(len(areas)), [str(a) for a in areas])
    ax.set_yticks(range(len(layers)), layers)
    ax.set_xlim(-0.4, len(areas) - 0.6)
    ax.set_ylim(-0.5, len(layers) - 0.5)
    ax.set_xlabel("brain area (early -> late)")
    ax.set_ylabel("top-scoring layer")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    if title:
        ax.set_title(title)
    return ax


def plot_permutation_null(null, observed: float, p_value: float | None = None, ax=None, method: str | None = None,
                          title: str | None = None):
    """Histogram of a permutation null distribution with the observed value marked.

    Parameters
    ----------
    null : array-like, shape (n_permutations,)
        Similarities under permuted condition labels (one model of a
        :class:`~neurotk.rsa.PermutationResult`).
    observed : float
        The similarity with the true labels (a red line).
    p_value : float, optional
        Shown in the legend.
    method : str, optional
        The comparison method, for the x-axis label.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> ax = plot_permutation_null(np.random.default_rng(0).normal(size=200), 2.5, 0.005, method="spearman")
    >>> ax.get_xlabel()
    'RDM similarity (spearman)'
    """
    ax = axes_or_new(ax, (4.5, 3.2))
    ax.hist(np.asarray(null, dtype=float), bins=30, color="0.6", label="permutation null")
    label = "observed" if p_value is None else f"observed (p = {p_value:.3g})"
    ax.axvline(observed, color="tab:red", label=label)
    ax.set_xlabel(f"RDM similarity ({method})" if method else "RDM similarity")
    ax.set_ylabel("permutations")
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_model_selection(table, ax=None, title: str | None = None):
    """Model-selection accuracy against noise, one line per summary statistic (tRSA).

    Parameters
    ----------
    table : DataFrame
        Columns ``transform``, ``lower``, ``upper``, ``noise_level``, ``accuracy`` and
        optionally ``sem`` (error bars) and ``chance`` (a dashed line), as
        :meth:`neurotk.rsa.ModelSelection.to_frame` returns.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np, pandas as pd
    >>> matplotlib.use("Agg")
    >>> t = pd.DataFrame({"transform": ["rdm"] * 2 + ["rgtm"] * 2, "lower": [np.nan] * 2 + [0.2] * 2,
    ...                   "upper": [np.nan] * 2 + [0.8] * 2, "noise_level": [0.0, 1.0] * 2,
    ...                   "accuracy": [1.0, 0.6, 1.0, 0.7], "sem": 0.05, "chance": 0.25})
    >>> ax = plot_model_selection(t)
    >>> [x.get_text() for x in ax.get_legend().get_texts()]
    ['RDM', 'RGTM l=0.2, u=0.8', 'chance']
    """
    table = pd.DataFrame(table)
    missing = [c for c in ("transform", "lower", "upper", "noise_level", "accuracy") if c not in table.columns]
    if missing:
        raise ArgumentError(f"table lacks the column(s) {missing}; expected ModelSelection.to_frame()")
    ax = axes_or_new(ax, (5.5, 4.0))
    keys = table[["transform", "lower", "upper"]].drop_duplicates()
    handles = []
    for _, key in keys.iterrows():  # one line per statistic
        same = (table["transform"] == key["transform"]) & (
            (table["lower"] == key["lower"]) | (table["lower"].isna() & pd.isna(key["lower"]))) & (
            (table["upper"] == key["upper"]) | (table["upper"].isna() & pd.isna(key["upper"])))
        rows = table[same].sort_values("noise_level")
        label = key["transform"].upper()
        if not pd.isna(key["lower"]):
            label += f" l={key['lower']:g}, u={key['upper']:g}"
        yerr = rows["sem"].fillna(0).to_numpy() if "sem" in rows else None
        handles.append(ax.errorbar(rows["noise_level"].to_numpy(float), rows["accuracy"].to_numpy(float),
                                   yerr=yerr, marker="o", capsize=3, label=label))
    if "chance" in table.columns:
        handles.append(ax.axhline(float(table["chance"].iloc[0]), color="grey", ls="--", label="chance"))
    ax.set_xlabel("noise level (SD relative to the dissimilarities' SD)")
    ax.set_ylabel("layer identification accuracy (fraction)")
    ax.set_ylim(0, 1.05)
    if title:
        ax.set_title(title)
    ax.legend(handles=handles, frameon=False, fontsize="small")
    return ax


def plot_ssm(score: float, null=(), bootstrap=(), ax=None):
    """Histograms of the SSM permutation null and bootstrap, with the score marked.

    Parameters
    ----------
    score : float
        The similarity of similarity matrices (a black line).
    null : array-like, optional
        Scores under permuted conditions (:attr:`neurotk.rsa.SSMResult.null`).
    bootstrap : array-like, optional
        Finite scores over resampled channels.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> rng = np.random.default_rng(0)
    >>> ax = plot_ssm(0.6, null=rng.normal(0, 0.1, 100), bootstrap=rng.normal(0.6, 0.05, 50))
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['permutation null', 'bootstrap over channels', 'SSM = 0.600']
    """
    null, bootstrap = np.asarray(null, dtype=float), np.asarray(bootstrap, dtype=float)
    ax = axes_or_new(ax, (5, 3.5))
    if len(null):
        ax.hist(null, bins=30, alpha=0.6, label="permutation null")
    if len(bootstrap):
        ax.hist(bootstrap, bins=30, alpha=0.6, label="bootstrap over channels")
    ax.axvline(score, color="k", lw=2, label=f"SSM = {score:.3f}")
    ax.set_xlabel("SSM (Spearman correlation of similarity matrices)")
    ax.set_ylabel("count")
    ax.legend(frameon=False)
    return ax


def plot_kernel_analysis(complexity, precision, auc: float | None = None, log: bool = True, ax=None, *,
                         cv_complexity=None, cv_precision=None, cv_auc: float | None = None, **kwargs):
    """Precision against complexity of a kernel analysis (Cadieu et al. 2013).

    Parameters
    ----------
    complexity, precision : array-like, shape (D,)
        The curve (:class:`~neurotk.rsa.KernelAnalysisResult`).
    auc : float, optional
        Shown in the default legend label.
    log : bool, default True
        A logarithmic complexity axis.
    cv_complexity, cv_precision : array-like, optional
        The cross-validated prediction curve, drawn dashed in the same colour.
    cv_auc : float, optional
        Shown in the prediction curve's legend label.
    **kwargs
        Passed to matplotlib's ``plot`` for the first curve (several curves on one Axes:
        pass ``ax`` and ``label``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> ax = plot_kernel_analysis(np.arange(1, 5) / 4, [0.4, 0.7, 0.9, 1.0], auc=0.8)
    >>> ax.get_legend().get_texts()[0].get_text()
    'KA-AUC = 0.800'
    >>> ax = plot_kernel_analysis(np.arange(4) / 3, [0.0, 0.7, 0.9, 1.0], auc=0.65, log=False,
    ...                           cv_complexity=np.arange(3) / 2, cv_precision=[0.0, 0.6, 0.7], cv_auc=0.43)
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['KA-AUC = 0.650', 'prediction (cv), AUC = 0.430']
    """
    ax = axes_or_new(ax, (4.5, 3.5))
    if auc is not None:
        kwargs.setdefault("label", f"KA-AUC = {auc:.3f}")
    (line,) = ax.plot(complexity, precision, **kwargs)
    if cv_precision is not None:
        label = "prediction (cv)" + ("" if cv_auc is None else f", AUC = {cv_auc:.3f}")
        ax.plot(cv_complexity, cv_precision, ls="--", color=line.get_color(), label=label)
    if log:
        ax.set_xscale("log")
    ax.set_xlabel("complexity (kernel principal components / D)")
    ax.set_ylabel("precision (1 - normalised loss)")
    ax.set_ylim(0, 1.02)
    if kwargs.get("label") is not None or cv_precision is not None:
        ax.legend(frameon=False)
    return ax
