"""Figures for most discriminative stimuli (MDS) clustering.

Each function takes a fitted :class:`neurotk.clustering.MDSClustering` (or anything with
the same fitted attributes) and returns the matplotlib Axes it drew on: the learned
stimulus of every cluster, the response matrix with neurons sorted by cluster, and the
objective over the optimisation. Nothing here computes an analysis; the figures only
arrange and colour what the fit stored (the scaled responses come from
:meth:`~neurotk.clustering.MDSClustering.scaled_responses`).
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError, ShapeMismatchError
from .layout import axes_grid, axes_or_new

__all__ = ["plot_mds_stimuli", "plot_response_matrix", "plot_objective"]


def _fitted(result, *names):
    missing = [n for n in names if not hasattr(result, n)]
    if missing:
        raise ArgumentError(
            f"result of type {type(result).__name__} lacks {missing}; expected a fitted "
            f"MDSClustering (call fit(model) first)"
        )


def plot_mds_stimuli(result, axes=None, cmap: str = "RdBu_r", titles: bool = True,
                     n_columns: int | None = None):
    """Each cluster's most discriminative stimulus as an image.

    Pixels are shown about the stimulus centre (the mean pixel value of the reference
    images) on one symmetric colour scale shared by all clusters, so stimuli can be
    compared with each other.

    Parameters
    ----------
    result : MDSClustering
        A fitted clustering (uses ``stimuli_``, ``labels_`` and ``centre_``).
    axes : sequence of matplotlib Axes, optional
        One Axes per cluster; by default a new figure with a grid of them.
    cmap : str, default "RdBu_r"
    titles : bool, default True
        Title each image with its cluster and number of neurons.
    n_columns : int, optional
        Columns of the default grid (default: up to 6).

    Returns
    -------
    ndarray of matplotlib Axes, shape (n_clusters,)

    Raises
    ------
    ArgumentError
        An unfitted result.
    ShapeMismatchError
        Fewer ``axes`` than clusters.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> res = SimpleNamespace(stimuli_=np.random.default_rng(0).normal(size=(3, 8, 8)),
    ...                       labels_=np.array([0, 0, 1, 2]), centre_=0.0)
    >>> axes = plot_mds_stimuli(res)
    >>> [ax.get_title() for ax in axes]
    ['cluster 0 (n=2)', 'cluster 1 (n=1)', 'cluster 2 (n=1)']
    """
    _fitted(result, "stimuli_", "labels_")
    stimuli = np.asarray(result.stimuli_, dtype=np.float64)
    if stimuli.ndim != 3:
        raise ShapeMismatchError(f"result.stimuli_ has shape {stimuli.shape}; expected (n_clusters, height, width)")
    k = stimuli.shape[0]
    centre = float(getattr(result, "centre_", 0.0))
    if axes is None:
        cols = min(k, 6) if n_columns is None else max(1, int(n_columns))
        rows = int(np.ceil(k / cols))
        grid = axes_grid(None, rows, cols, (1.8 * cols + 0.6, 1.9 * rows)).ravel()
        for ax in grid[k:]:
            ax.set_visible(False)
        axes = grid[:k]
    else:
        axes = np.ravel(np.asarray(axes, dtype=object))
        if axes.size < k:
            raise ShapeMismatchError(f"axes has {axes.size} Axes; expected at least {k}, one per cluster")
        axes = axes[:k]
    sizes = np.bincount(np.asarray(result.labels_, dtype=int), minlength=k)
    limit = float(np.abs(stimuli - centre).max()) or 1.0
    image = None
    for c, ax in enumerate(axes):
        image = ax.imshow(stimuli[c] - centre, cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if titles:
            ax.set_title(f"cluster {c} (n={int(sizes[c])})", fontsize=9)
    if image is not None:
        axes[0].figure.colorbar(image, ax=list(axes), shrink=0.8, label="pixel - centre")
    return np.asarray(axes, dtype=object)


def plot_response_matrix(result, ax=None, responses=None, scaled: bool = True, cmap: str = "viridis",
                         colorbar: bool = True, title: str | None = None):
    """Responses of every neuron to every cluster's stimulus, neurons sorted by cluster.

    Parameters
    ----------
    result : MDSClustering
        A fitted clustering (uses ``labels_``, and ``responses_`` unless ``responses``
        is given).
    ax : matplotlib Axes, optional
    responses : array-like, shape (n_clusters, n_neurons), optional
        Responses to draw instead of the model's predictions (e.g. measured responses
        to the learned stimuli), one row per stimulus.
    scaled : bool, default True
        Show each neuron's responses in units of its reference standard deviation about
        its reference mean (``result.scaled_responses()``), the scale on which clusters
        compete; only for the model's own predictions of a result that offers them.
    cmap, colorbar, title
        Display options.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ArgumentError
        An unfitted result.
    ShapeMismatchError
        ``responses`` without one column per clustered neuron.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> res = SimpleNamespace(labels_=np.array([1, 0, 1]), responses_=np.eye(2)[:, [1, 0, 1]])
    >>> ax = plot_response_matrix(res, scaled=False)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('neuron (sorted by cluster)', 'stimulus of cluster')
    """
    _fitted(result, "labels_")
    labels = np.asarray(result.labels_, dtype=int)
    own = responses is None
    if own:
        _fitted(result, "responses_")
        responses = result.responses_
    r = np.asarray(responses, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] != labels.size:
        raise ShapeMismatchError(
            f"responses has shape {r.shape}; expected (n_clusters, {labels.size}), one column per "
            f"clustered neuron"
        )
    label = "response"
    if own and scaled and hasattr(result, "scaled_responses"):
        r = np.asarray(result.scaled_responses(), dtype=np.float64)
        label = "response (reference s.d.)"
    order = np.argsort(labels, kind="stable")
    ax = axes_or_new(ax, figsize=(7, 2.5 + 0.2 * r.shape[0]))
    image = ax.imshow(r[:, order], aspect="auto", cmap=cmap, interpolation="nearest")
    bounds = np.flatnonzero(np.diff(labels[order])) + 0.5
    for b in bounds:
        ax.axvline(b, color="white", lw=1.0)
    ax.set_yticks(np.arange(r.shape[0]))
    ax.set_xlabel("neuron (sorted by cluster)")
    ax.set_ylabel("stimulus of cluster")
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, label=label)
    return ax


def plot_objective(result, ax=None, title: str | None = None):
    """The MDS objective after every gradient step, with the number of clusters marked.

    Parameters
    ----------
    result : MDSClustering
        A fitted clustering (uses ``objective_`` and ``objective_clusters_``).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> res = SimpleNamespace(objective_=np.array([0.0, -0.5, -0.2, -0.9, -0.4]),
    ...                       objective_clusters_=np.array([1, 2, 2, 3, 3]))
    >>> ax = plot_objective(res)
    >>> ax.get_ylabel(), len(ax.lines)
    ('objective (mean log-probability)', 3)
    """
    _fitted(result, "objective_", "objective_clusters_")
    values = np.asarray(result.objective_, dtype=np.float64)
    ks = np.asarray(result.objective_clusters_, dtype=int)
    if values.shape != ks.shape:
        raise ShapeMismatchError(
            f"objective_ has shape {values.shape} but objective_clusters_ has {ks.shape}; expected the same"
        )
    ax = axes_or_new(ax, figsize=(6, 3.5))
    ax.plot(np.arange(values.size), values, color="C0", lw=1.2)
    changes = np.flatnonzero(np.diff(ks)) + 1
    for start in changes:
        ax.axvline(start - 0.5, color="0.6", lw=0.8, ls="--")
        ax.text(start, 1.0, f"K={ks[start]}", transform=ax.get_xaxis_transform(), fontsize=8,
                va="bottom", ha="left", color="0.3")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("objective (mean log-probability)")
    if title:
        ax.set_title(title)
    return ax
