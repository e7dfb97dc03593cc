"""Figures for encoding models: the ridge path, noise ceilings, layer -> area maps and pseudo-depths.

Each function takes what :mod:`neurotk.encoding` returns (a fitted ridge estimator, a
:class:`~neurotk.encoding.NoiseCeiling`, a :class:`~neurotk.encoding.LayerMapping`) and
returns the matplotlib Axes it drew on. The numbers come from those objects; nothing here
computes an analysis.
"""

from __future__ import annotations

import numpy as np

from ..errors import ArgumentError
from .layout import axes_or_new
from .rsa import plot_layer_area

__all__ = ["plot_ridge_path", "plot_noise_ceiling", "plot_layer_mapping", "plot_pseudo_depth"]


def plot_ridge_path(model, ax=None, targets=None, max_lines: int = 30, title: str | None = None):
    """Cross-validated score against alpha for a fitted :class:`~neurotk.encoding.RidgeCV`.

    Thin grey lines are single targets (at most ``max_lines``), the thick line is their
    mean, and the histogram along the bottom shows how often each alpha was chosen (both
    from :meth:`~neurotk.encoding.RidgeCV.ridge_path`).

    Parameters
    ----------
    model : RidgeCV
        A fitted estimator (``cv_scores_``, ``alphas_``, ``alpha_``).
    targets : array-like of int, optional
        Which targets to draw (default: evenly spaced ones).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib, numpy as np
    >>> matplotlib.use("Agg")
    >>> from neurotk.encoding import RidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5)); Y = X @ rng.normal(size=(5, 3)) + rng.normal(size=(60, 3))
    >>> plot_ridge_path(RidgeCV(alphas=np.logspace(-2, 3, 6)).fit(X, Y)).get_xscale()
    'log'
    """
    if not hasattr(model, "cv_scores_") or np.ndim(model.cv_scores_) != 2 or not hasattr(model, "ridge_path"):
        raise ArgumentError("model must be a fitted RidgeCV (with cv_scores_ of shape (n_alphas, n_targets))")
    scores, alphas = model.cv_scores_, model.alphas_
    path = model.ridge_path()
    n_t = scores.shape[1]
    if targets is None:
        targets = np.unique(np.linspace(0, n_t - 1, min(max_lines, n_t)).astype(int))
    ax = axes_or_new(ax, (5, 3.5))
    ax.plot(alphas, scores[:, targets], color="0.7", lw=0.7)
    ax.plot(alphas, path["mean_score"].to_numpy(), color="C0", lw=2.5, label=f"mean of {n_t} targets")
    low = np.nanmin(scores[:, targets]) if len(targets) else 0.0
    counts = path["n_chosen"].to_numpy()
    top = np.nanmax(scores)
    height = 0.25 * (top - low) * counts / max(counts.max(), 1)
    ax.bar(alphas, height, bottom=low, width=np.gradient(alphas) * 0.6, color="C1", alpha=0.6,
           label="chosen alpha (count)")
    ax.set_xscale("log")
    ax.set_xlabel("ridge alpha")
    ax.set_ylabel(f"cross-validated {'R²' if model.scoring == 'r2' else 'Pearson r'}")
    ax.legend(fontsize="small", loc="lower left")
    if title:
        ax.set_title(title)
    return ax


def plot_noise_ceiling(ceiling, ax=None, bins: int = 30, **kwargs):
    """Histogram over units of a :class:`~neurotk.encoding.NoiseCeiling`, its median marked.

    Parameters
    ----------
    ceiling : NoiseCeiling
        Its finite ``values`` are drawn, and its ``median``, ``method`` and ``target`` label
        the figure.
    bins : int, default 30
    **kwargs
        Passed to ``Axes.hist`` (``color`` defaults to grey).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from neurotk.encoding import NoiseCeiling
    >>> plot_noise_ceiling(NoiseCeiling([0.2, 0.4, 0.5], method="split_half")).get_xlabel()
    'noise ceiling (max R^2, split_half, mean of repeats)'
    """
    ax = axes_or_new(ax, (5, 3.5))
    values = np.asarray(ceiling.values, dtype=float)
    finite = values[np.isfinite(values)]
    ax.hist(finite, bins=bins, color=kwargs.pop("color", "0.5"), **kwargs)
    if finite.size:
        med = ceiling.median
        ax.axvline(med, color="k", ls="--", lw=1, label=f"median {med:.2f}")
        ax.legend(frameon=False)
    target = "mean of repeats" if ceiling.target == "mean" else "single repeat"
    ax.set_xlabel(f"noise ceiling (max R^2, {ceiling.method}, {target})")
    ax.set_ylabel("units")
    return ax


def plot_layer_mapping(mapping, ax=None, title: str | None = None, cmap: str | None = None):
    """Heatmap of areas x layers of a :class:`~neurotk.encoding.LayerMapping`; best layers outlined.

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace
    >>> t = pd.DataFrame({"area": ["V1", "V1"], "layer": ["c1", "fc"], "score": [.5, .2]})
    >>> plot_layer_mapping(SimpleNamespace(summary=t, normalisation="raw R^2")).get_xlabel()
    'network layer (early -> late)'
    """
    label = mapping.normalisation.split(" (")[0]
    return plot_layer_area(mapping.summary, ax=ax, value="score", title=title, cmap=cmap, label=label)


def plot_pseudo_depth(mapping, ax=None, title: str | None = None):
    """Each area's pseudo-depth: the mean index of its units' best layers, with its interval.

    Examples
    --------
    >>> import matplotlib, pandas as pd
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace
    >>> best = pd.DataFrame({"area": ["V1", "IT"], "pseudo_depth": [0.2, 2.5],
    ...                      "depth_ci_low": [0.1, 2.2], "depth_ci_high": [0.4, 2.8]})
    >>> plot_pseudo_depth(SimpleNamespace(best=best, layers=["c1", "fc1", "fc2"])).get_ylabel()
    'best layer of the units (mean)'
    """
    best = mapping.best
    x = np.arange(len(best))
    depth = best["pseudo_depth"].to_numpy(dtype=float)
    err = np.vstack([depth - best["depth_ci_low"].to_numpy(dtype=float),
                     best["depth_ci_high"].to_numpy(dtype=float) - depth])
    ax = axes_or_new(ax, (1.0 * len(best) + 2.5, 3.5))
    ax.bar(x, depth, yerr=err, capsize=4, color="C2")
    ax.set_xticks(x, best["area"])
    ax.set_yticks(range(len(mapping.layers)), mapping.layers)
    ax.set_ylim(-0.5, len(mapping.layers) - 0.5)
    ax.set_xlabel("brain area")
    ax.set_ylabel("best layer of the units (mean)")
    if title:
        ax.set_title(title)
    return ax
