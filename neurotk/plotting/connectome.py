"""Figures for dynamic functional connectomes (:mod:`neurotk.connectome`).

Each function takes what :mod:`neurotk.connectome` returns (an Affinity, an
AffinityTensor, an NTFResult, a RankEnsemble, Communities, a Motif, a fitted
DynamicConnectome) and returns the matplotlib Axes it drew on. Nothing here computes an
analysis: the numbers come from the result (``matrix()``, ``summary()``, ``order()``,
``intervals()`` ...).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_choice
from ..errors import ArgumentError
from .layout import axes_grid, axes_or_new

__all__ = ["plot_affinity", "plot_affinity_tensor", "plot_factors", "plot_rank_selection", "plot_communities",
           "plot_motif", "plot_connectome"]

#: Colour of background neurons (in no community).
_BACKGROUND = (0.75, 0.75, 0.75, 1.0)


def plot_affinity(affinity, ax=None, window: int | None = None, cmap: str = "magma", colorbar: bool = True):
    """Neuron x neuron affinities of one window (default: the mean over windows).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from neurotk.connectome import comovement_affinity
    >>> aff = comovement_affinity(np.random.default_rng(0).normal(size=(100, 4)), window=50)
    >>> plot_affinity(aff).get_title()
    'comovement affinity (mean over 2 windows)'
    """
    ax = axes_or_new(ax)
    mat = affinity.matrix(window)
    im = ax.imshow(mat, cmap=cmap, interpolation="nearest")
    where = f"mean over {affinity.values.shape[1]} windows" if window is None else f"window {window}"
    ax.set_title(f"{affinity.method} affinity ({where})")
    ax.set_xlabel("neuron")
    ax.set_ylabel("neuron")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def plot_affinity_tensor(tensor, ax=None, recording=None, window: int | None = None, cmap: str = "magma",
                         colorbar: bool = True):
    """Neuron x neuron affinities of an AffinityTensor: one recording or the mean over them.

    Pairs never observed (a neuron missing in every recording drawn) are left blank.

    Parameters
    ----------
    tensor : AffinityTensor
    ax : matplotlib Axes, optional
    recording : int or str, optional
        A recording's position or name (default: the mean over the recordings that
        observed each pair).
    window : int, optional
        A window (default: the mean over windows).
    cmap, colorbar
        Display options.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from neurotk.connectome import affinity_tensor
    >>> rng = np.random.default_rng(0)
    >>> tensor = affinity_tensor([rng.normal(size=(100, 4)), rng.normal(size=(100, 4))], window=50)
    >>> plot_affinity_tensor(tensor).get_title()
    'comovement affinity (mean over 2 recordings, mean over 2 windows)'
    """
    ax = axes_or_new(ax)
    mat = tensor.matrix(recording, window)
    im = ax.imshow(mat, cmap=cmap, interpolation="nearest")
    n_rec, n_win = tensor.values.shape[2], tensor.values.shape[1]
    which = (f"mean over {n_rec} recordings" if recording is None
             else str(recording) if isinstance(recording, str) else str(tensor.names[int(recording)]))
    where = f"mean over {n_win} windows" if window is None else f"window {window}"
    ax.set_title(f"{tensor.method} affinity ({which}, {where})")
    ax.set_xlabel("neuron")
    ax.set_ylabel("neuron")
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def _shade(ax, epochs):
    """Shade ``epochs``: a DataFrame/iterable of (start, stop[, label]) in time units."""
    if epochs is None:
        return
    import matplotlib.pyplot as plt

    if hasattr(epochs, "itertuples"):
        cols = [c for c in ("time_start", "time_stop", "label") if c in epochs.columns]
        if len(cols) < 2:
            cols = list(epochs.columns[:3])
        rows = list(epochs[cols].itertuples(index=False, name=None))
    else:
        rows = list(epochs)
    labels = sorted({str(r[2]) for r in rows if len(r) > 2})
    colours = plt.get_cmap("tab10")
    for r in rows:
        c = colours(labels.index(str(r[2])) % 10) if len(r) > 2 else "0.5"
        ax.axvspan(float(r[0]), float(r[1]), color=c, alpha=0.15, lw=0)


def plot_factors(result, axes=None, mode_names=None, times=None, epochs=None, order=None,
                 colours=None):
    """The factors of an NTF model: one row per component, one column per mode.

    Parameters
    ----------
    result : NTFResult
    axes : array of Axes, shape (rank, n_modes), optional
    mode_names : list of str, optional
        Column titles (default ``"mode k"``).
    times : array-like, optional
        x values of the second mode (e.g. window centres in seconds).
    epochs : DataFrame or list of (start, stop[, label]), optional
        Shaded on the second mode (stimulus epochs, in the units of ``times``).
    order : list of arrays, optional
        Per mode, an ordering of its entries (e.g. neurons sorted by community).
    colours : list of arrays, optional
        Per mode, a colour (or None) per entry, after ``order``.

    Returns
    -------
    ndarray of Axes, shape (rank, n_modes)

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from neurotk.connectome import ntf, reconstruct
    >>> rng = np.random.default_rng(0)
    >>> fit = ntf(reconstruct([rng.random((n, 2)) for n in (6, 5, 4)]), 2, random_state=0)
    >>> plot_factors(fit, mode_names=["a", "b", "c"]).shape
    (2, 3)
    """
    factors = result.factors
    rank, nmodes = factors[0].shape[1], len(factors)
    names = mode_names or [f"mode {k}" for k in range(nmodes)]
    if len(names) != nmodes:
        raise ArgumentError(f"mode_names has {len(names)} names; expected {nmodes}, one per mode")
    axes = axes_grid(axes, rank, nmodes, (3.2 * nmodes, 1.3 * rank + 0.8))
    for k, f in enumerate(factors):
        idx = np.arange(f.shape[0]) if order is None or order[k] is None else np.asarray(order[k])
        for r in range(rank):
            ax = axes[r, k]
            y = f[idx, r]
            if k == 1 and nmodes >= 2:
                x = np.arange(y.size) if times is None else np.asarray(times)
                _shade(ax, epochs)
                ax.plot(x, y, color="k", lw=1)
            else:
                col = None if colours is None or colours[k] is None else list(np.asarray(colours[k], dtype=object))
                ax.bar(np.arange(y.size), y, width=1.0, color=col if col is not None else "C0")
            ax.set_yticks([])
            if r == 0:
                ax.set_title(names[k])
            if k == 0:
                ax.set_ylabel(f"{r}", rotation=0, ha="right", va="center")
    return axes


def plot_rank_selection(ensemble, axes=None):
    """Error vs rank and restart similarity (factor match score with the best) vs rank.

    Every restart is a dot; the line follows the best error and the median similarity.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from neurotk.connectome import rank_ensemble, reconstruct
    >>> rng = np.random.default_rng(0)
    >>> ens = rank_ensemble(reconstruct([rng.random((n, 2)) for n in (6, 5, 4)]), 3, n_restarts=2)
    >>> [ax.get_ylabel() for ax in plot_rank_selection(ens)]
    ['relative error', 'similarity']
    """
    axes = axes_grid(axes, 1, 2, (8, 3.2))[0]   # error, similarity
    df = ensemble.to_frame()
    summary = ensemble.summary()
    jitter = (np.random.default_rng(0).random(len(df)) - 0.5) * 0.2
    for ax, col, line in ((axes[0], "error", "error"), (axes[1], "similarity", "similarity")):
        ax.scatter(df["rank"] + jitter, df[col], s=12, color="0.5", alpha=0.7)
        ax.plot(summary["rank"], summary[line], "-o", color="k", ms=4)
        ax.set_xlabel("rank")
        ax.set_xticks(summary["rank"])
    axes[0].set_ylabel("relative error")
    axes[1].set_ylabel("similarity")
    axes[1].set_ylim(-0.05, 1.05)
    return axes


def _strength_bars(ax, communities, cmap: str = "tab10"):
    """Bars of the neurons' strengths in community order, coloured by community."""
    import matplotlib.pyplot as plt

    order = communities.order()
    colours = plt.get_cmap(cmap)
    col = [colours(c % 10) if c >= 0 else _BACKGROUND for c in communities.labels[order].tolist()]
    ax.bar(np.arange(order.size), communities.strength[order], width=1.0, color=col)
    return order


def plot_communities(communities, ax=None, cmap: str = "tab10"):
    """Each neuron's strength (weighted degree), neurons sorted by community and coloured by
    it (grey: background), strongest first within a community.

    Parameters
    ----------
    communities : Communities
    ax : matplotlib Axes, optional
    cmap : str, default "tab10"

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from neurotk.connectome import find_communities
    >>> w = np.full((6, 6), 0.01)
    >>> w[:3, :3] = w[3:, 3:] = 1.0
    >>> ax = plot_communities(find_communities(w, method="spectral", background=False))
    >>> ax.get_title(), len(ax.patches)
    ('2 communities (spectral)', 6)
    """
    ax = axes_or_new(ax, (6, 3))
    order = _strength_bars(ax, communities, cmap)
    labels = communities.labels[order]
    for b in np.flatnonzero(labels[1:] != labels[:-1]) + 0.5:
        ax.axvline(b, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel("neuron (by community)")
    ax.set_ylabel("strength")
    ax.set_title(f"{communities.n_communities} communities ({communities.method})")
    return ax


def plot_motif(motif, ax=None, max_edges: int = 300, within: bool = False, layout: str = "circle",
               cmap: str = "tab10"):
    """Network drawing of one motif: neurons coloured by community, edges by weight.

    Parameters
    ----------
    motif : Motif
    ax : matplotlib Axes, optional
    max_edges : int, default 300
        Draw only the strongest edges.
    within : bool, default False
        Draw only edges inside communities.
    layout : {"circle"}, default "circle"
        Neurons on a circle, grouped by community (background last).

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    check_choice(layout, "layout", ("circle",))
    ax = axes_or_new(ax, (5, 5))
    labels = motif.communities.labels
    n = labels.size
    order = np.lexsort((np.arange(n), np.where(labels < 0, labels.max() + 1, labels)))
    angle = np.empty(n)
    angle[order] = 2 * np.pi * np.arange(n) / n
    xy = np.column_stack([np.cos(angle), np.sin(angle)])
    i, j = np.triu_indices(n, 1)
    w = motif.pair_loadings
    keep = np.ones(w.size, dtype=bool) if not within else (labels[i] == labels[j]) & (labels[i] >= 0)
    cand = np.flatnonzero(keep & (w > 0))
    top = cand[np.argsort(-w[cand], kind="stable")[:int(max_edges)]]
    if top.size:
        wn = w[top] / w[top].max()
        segs = np.stack([xy[i[top]], xy[j[top]]], axis=1)
        ax.add_collection(LineCollection(segs, linewidths=0.3 + 2.5 * wn, colors="k", alpha=0.15 + 0.6 * wn))
    colours = plt.get_cmap(cmap)
    node_col = [colours(c % 10) if c >= 0 else (0.8, 0.8, 0.8, 1.0) for c in labels.tolist()]
    ax.scatter(xy[:, 0], xy[:, 1], s=30, c=node_col, zorder=3, edgecolors="k", linewidths=0.3)
    ax.set_aspect("equal")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.axis("off")
    ax.set_title(f"motif {motif.component}: {motif.communities.n_communities} communities")
    return ax


def plot_connectome(connectome, axes=None, epochs=None):
    """Factors of a fitted DynamicConnectome, one row per motif: neuron strengths sorted by
    community (coloured by community, grey = background), the time course with stimulus
    epochs shaded, and the animal loadings as bars.

    ``epochs`` defaults to the runs of the windows' ``stimulus`` column when the
    recordings have one.

    Returns
    -------
    ndarray of Axes, shape (rank, 3)
    """
    motifs = connectome.motifs_
    windows = connectome.windows_
    if epochs is None and "stimulus" in windows:
        stim = windows["stimulus"].to_numpy()
        change = np.flatnonzero(np.r_[True, stim[1:] != stim[:-1], True])
        epochs = [(windows["time_start"].iloc[a], windows["time_stop"].iloc[b - 1], stim[a])
                  for a, b in zip(change[:-1], change[1:])]
    rank = len(motifs)
    axes = axes_grid(axes, rank, 3, (10, 1.4 * rank + 0.8))
    for r, m in enumerate(motifs):
        ax = axes[r, 0]
        _strength_bars(ax, m.communities)
        ax.set_yticks([])
        ax.set_ylabel(f"{r}", rotation=0, ha="right", va="center")
        ax = axes[r, 1]
        _shade(ax, epochs)
        ax.plot(windows["time"].to_numpy(), m.time_course, color="k", lw=1)
        for _, iv in m.intervals().iterrows():
            ax.axvspan(iv["time_start"], iv["time_stop"], ymin=0, ymax=0.05, color="C3", lw=0)
        ax.set_yticks([])
        ax = axes[r, 2]
        ax.bar(np.arange(m.animal_loadings.size), m.animal_loadings, color="C0")
        ax.set_yticks([])
        ax.set_xticks(np.arange(m.animal_loadings.size))
        ax.set_xticklabels(m.animals if r == rank - 1 else [], rotation=45, ha="right", fontsize=7)
    axes[0, 0].set_title("neurons (by community)")
    axes[0, 1].set_title("time course")
    axes[0, 2].set_title("animals")
    # window times are seconds when the recordings had times or a sampling rate, else samples
    in_samples = (np.array_equal(windows["time_start"].to_numpy(float), windows["start"].to_numpy(float))
                  and np.array_equal(windows["time_stop"].to_numpy(float), windows["stop"].to_numpy(float)))
    axes[-1, 1].set_xlabel("time (samples)" if in_samples else "time (s)")
    return axes
