"""Layer -> area mapping: which network layer predicts each brain area (and unit) best.

For every brain area and every layer, a :class:`~neurotk.encoding.RidgeCV` encoding model
predicts each unit from the layer's activations to the same stimuli. Predictions are
out-of-fold (nested cross-validation: the outer folds score, inner folds choose alpha),
so the score of a unit is an honest held-out accuracy; divided by the unit's noise
ceiling it reads as the fraction of the explainable response that the layer explains.
The best layer per area, with a bootstrap over units, and the best layer per unit (a
"pseudo-depth" of each area in the network) follow.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_choice, check_float, check_int, check_matrix
from ..errors import AlignmentError, ArgumentError, NeurotkWarning
from ..parallel import map_chunks
from ..recording import Recording
from ..results import Result
from ..utils import as_rng
from .ceiling import noise_ceiling, normalise_scores
from .ridge import RidgeCV
from .scoring import METRICS, cv_folds, target_scores

__all__ = ["LayerMapping", "map_layers"]

#: The kind of score (for normalise_scores) of each metric.
_KINDS = {"r2": "r2", "pearson": "r"}


def _named(x, column: str, what: str) -> dict[str, Recording]:
    """A dict of Recordings, a list of Recordings, or one Recording split by ``column``."""
    if isinstance(x, Mapping):
        out = dict(x)
    elif isinstance(x, Recording):
        if column in x.units:
            values = pd.unique(x.units[column])
            out = {str(v): x.select(units=(x.units[column] == v).to_numpy()) for v in values}
        else:
            out = {str(x.meta.get(column, x.meta.get("name", what))): x}
    elif isinstance(x, (list, tuple)):
        out = {str(r.meta.get(column, f"{what}{k}")) if isinstance(r, Recording) else f"{what}{k}": r
               for k, r in enumerate(x)}
    else:
        raise ArgumentError(
            f"{what}s has type {type(x).__name__}; expected a dict of Recordings, a list of "
            f"Recordings or one Recording with a units column {column!r}"
        )
    if not out:
        raise ArgumentError(f"{what}s is empty; expected at least one {what}")
    for name, rec in out.items():
        if not isinstance(rec, Recording):
            raise ArgumentError(
                f"{what} {name!r} has type {type(rec).__name__}; expected a Recording whose "
                f"samples carry stimulus ids (e.g. neurotk.io.from_arrays(x, stimulus=ids))"
            )
    return out


def _prepare_area(rec: Recording, name: str, on: str, ceiling, random_state):
    """Average repeats per stimulus; the noise ceiling of those averages when repeats exist."""
    if on not in rec.samples:
        raise ArgumentError(f"area {name!r} has no samples column {on!r}; expected stimulus ids in it")
    repeated = rec.samples[on].duplicated().any()
    nc = None
    if isinstance(ceiling, Mapping):
        nc = ceiling.get(name)
    elif ceiling is not None and not isinstance(ceiling, str):
        nc = ceiling
    elif isinstance(ceiling, str):
        if repeated:
            nc = noise_ceiling(rec, method=ceiling, target="mean", by=on, random_state=random_state)
        else:
            warnings.warn(
                f"area {name!r} has one presentation per stimulus, so no noise ceiling can be "
                f"estimated; its scores are raw (not normalised)", NeurotkWarning, stacklevel=caller_stacklevel())
    avg = rec.average(by=on, sort=False) if repeated else rec
    if nc is not None and len(np.asarray(nc)) != avg.n_units:
        raise ArgumentError(
            f"the noise ceiling of area {name!r} has {len(np.asarray(nc))} values; expected "
            f"one per unit ({avg.n_units})"
        )
    return avg, nc


def _align_layer(layer: Recording, lname: str, area: Recording, aname: str, on: str) -> np.ndarray:
    if on not in layer.samples:
        raise ArgumentError(f"layer {lname!r} has no samples column {on!r}; expected stimulus ids in it")
    if layer.samples[on].duplicated().any():
        layer = layer.average(by=on, sort=False)
    missing = set(area.samples[on]) - set(layer.samples[on])
    if missing:
        raise AlignmentError(
            f"layer {lname!r} lacks {len(missing)} stimuli that area {aname!r} saw (e.g. "
            f"{sorted(missing, key=str)[:5]}); expected activations for every stimulus"
        )
    return check_matrix(layer.align(area, on=on), f"layer {lname!r}", rows="stimuli", cols="features")


def _oof_predictions(x, y, alphas, folds, inner_cv, n_jobs_inner, max_memory):
    """Out-of-fold predictions (nested CV) and the median chosen alpha per target."""
    pred = np.empty_like(y)
    chosen = []
    for train, test in folds:
        model = RidgeCV(alphas=alphas, cv=inner_cv, max_memory=max_memory, n_jobs=n_jobs_inner)
        model.fit(x[train], y[train])
        pred[test] = model.predict(x[test])
        chosen.append(model.alpha_)
    return pred, np.median(np.stack(chosen), axis=0)


def _pair_task(aname, lname, x, y, alphas, folds, inner_cv, metric, max_memory):
    pred, alpha = _oof_predictions(x, y, alphas, folds, inner_cv, 1, max_memory)
    score = target_scores(y, pred, metric)
    return aname, lname, score, alpha


def _bootstrap_counts(rng, n: int, n_boot: int) -> np.ndarray:
    """How often each of ``n`` items is drawn in each of ``n_boot`` resamples, (n_boot, n)."""
    draws = rng.integers(0, n, size=(n_boot, n))
    flat = (np.arange(n_boot)[:, None] * n + draws).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


@dataclass(repr=False)
class LayerMapping(Result):
    """Result of :func:`map_layers`: which layer predicts each area and unit best.

    ``to_frame()`` is the area x layer summary, ``plot()`` its heatmap, ``save(path)``
    writes either, and :meth:`voxel_values` gives the per-unit best layer and score to
    put back into an image (``neurotk.io.to_nifti``).

    Attributes
    ----------
    scores : DataFrame
        One row per area, layer and unit: ``area``, ``layer``, ``layer_index``,
        ``unit_id``, ``score`` (held-out R^2 or r), ``ceiling``, ``normalised``
        (score as a fraction of the ceiling; equal to ``score`` without a ceiling) and
        ``alpha`` (median chosen over the outer folds).
    summary : DataFrame
        One row per area and layer: mean normalised score over units with a usable
        ceiling and its bootstrap interval over units (``ci_low``, ``ci_high``).
    best : DataFrame
        One row per area: ``best_layer``, its ``score`` and interval, ``p_best`` (the
        fraction of bootstrap resamples of units in which it is best) and the
        ``pseudo_depth`` (mean over units of the index of each unit's best layer, 0 =
        first layer) with its interval.
    unit_best : DataFrame
        One row per unit: its area, best layer, the layer's index and the score.
    areas, layers : list of str
        In the order given (areas from early to late, layers from input to output).
    metric : str
        "r2" or "pearson".
    normalisation : str
        How scores were normalised, in words.
    units : dict of str to Recording
        Each area's responses as scored (repeats averaged), whose units the rows of
        :meth:`voxel_values` follow.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording
    >>> rng = np.random.default_rng(0)
    >>> layer = Recording(rng.normal(size=(30, 4)), samples={"stimulus": np.arange(30)})
    >>> area = Recording(layer.data @ rng.normal(size=(4, 3)) + rng.normal(size=(30, 3)),
    ...                  samples={"stimulus": np.arange(30)})
    >>> mapping = map_layers({"V1": area}, {"fc": layer}, cv=3, inner_cv=3, ceiling=None, n_bootstrap=10)
    >>> mapping
    LayerMapping(metric='r2', areas=['V1'], layers=['fc'], best={'V1': 'fc'})
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    best: pd.DataFrame
    unit_best: pd.DataFrame
    areas: list
    layers: list
    metric: str
    normalisation: str
    units: dict

    def __repr__(self) -> str:
        best = dict(zip(self.best["area"].astype(str), self.best["best_layer"].astype(str)))
        return (f"{type(self).__name__}(metric={self.metric!r}, areas={list(self.areas)}, "
                f"layers={list(self.layers)}, best={best})")

    def to_frame(self) -> pd.DataFrame:
        """The per area x layer summary table."""
        return self.summary.copy()

    @property
    def hierarchy_recovered(self) -> bool:
        """Whether the best layer never moves earlier as areas go later, and the first area's
        best layer is earlier than the last's."""
        idx = [self.layers.index(b) for b in self.best["best_layer"]]
        return bool(np.all(np.diff(idx) >= 0) and idx[0] < idx[-1])

    def matrix(self) -> pd.DataFrame:
        """Mean normalised score, areas x layers."""
        return self.summary.pivot(index="area", columns="layer", values="score").loc[self.areas, self.layers]

    def plot(self, ax=None, **kwargs):
        """Heatmap of areas x layers (see :func:`neurotk.plotting.encoding.plot_layer_mapping`)."""
        from ..plotting.encoding import plot_layer_mapping

        return plot_layer_mapping(self, ax=ax, **kwargs)

    def voxel_values(self, area: str | None = None) -> np.ndarray:
        """Each unit's best layer (1-based index) and its score, shape (2, n_units) of ``area``.

        The columns follow the units of the area's Recording (``units[area]``, the
        Recording given to :func:`map_layers`), so for voxels
        ``neurotk.io.to_nifti(mapping.voxel_values("V1"), recording, path)`` writes a
        2-volume image: volume 0 the best layer (1 = first layer; NaN outside the mask),
        volume 1 its (normalised) score.

        Parameters
        ----------
        area : str, optional
            Which area's units (default: the only one).

        Returns
        -------
        ndarray, shape (2, n_units)

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk import Recording
        >>> ids = {"stimulus": np.arange(30)}
        >>> x, y = np.random.default_rng(1).normal(size=(2, 30, 5))
        >>> mapping = map_layers(Recording(y, samples=ids), {"fc": Recording(x, samples=ids)},
        ...                      cv=3, inner_cv=3, ceiling=None, n_bootstrap=10)
        >>> values = mapping.voxel_values()
        >>> values.shape, values[0].tolist()
        ((2, 5), [1.0, 1.0, 1.0, 1.0, 1.0])
        """
        if area is None:
            if len(self.areas) != 1:
                raise ArgumentError(f"area=None but the mapping has areas {self.areas}; name one")
            area = self.areas[0]
        if area not in self.units:
            raise ArgumentError(f"area={area!r}; expected one of {self.areas}")
        best = self.unit_best[self.unit_best["area"] == area]
        return np.vstack([best["layer_index"].to_numpy(dtype=float) + 1, best["score"].to_numpy(dtype=float)])


def map_layers(brain, layers, on: str = "stimulus", alphas=None, cv=5, inner_cv=5,
               metric: str = "r2", ceiling="explainable_variance", n_bootstrap: int = 1000,
               ci: float = 0.95, random_state=None, n_jobs: int = 1, max_memory=None,
               progress: bool = False) -> LayerMapping:
    """Map network layers onto brain areas with cross-validated encoding models.

    Parameters
    ----------
    brain : dict of Recording, or Recording
        Responses per area (samples = presentations with a stimulus column, repeats
        allowed); one Recording with a units column ``area`` is split by it. Areas are
        taken in the order given (early to late).
    layers : dict of Recording, or Recording
        Activations per layer (e.g. from ``DigitsNetwork.activations`` or
        :func:`neurotk.io.activations`), in network order; one Recording with a units
        column ``layer`` is split by it.
    on : str, default "stimulus"
        Samples column that pairs brain rows with activation rows.
    alphas : array-like, optional
        Ridge grid (default ``np.logspace(-3, 7, 21)``).
    cv : int, str or splitter, default 5
        Outer folds over stimuli that score the predictions; an integer gives shuffled
        K-fold (seeded by ``random_state``), anything else is used as in :class:`RidgeCV`.
    inner_cv : int or splitter, default 5
        Inner folds that choose alpha per unit within each outer training set
        (shuffled K-fold for an integer).
    metric : {"r2", "pearson"}
        Held-out R^2 of the out-of-fold predictions, or their Pearson r.
    ceiling : {"explainable_variance", "split_half"}, NoiseCeiling, dict or None
        Noise ceiling per unit, estimated from the repeats (for the repeat means,
        ``target="mean"``), given, or None for raw scores. R^2 is divided by the
        ceiling, r by its square root; units with a ceiling below 0.05 are left out of
        the area summaries.
    n_bootstrap : int, default 1000
        Resamples of units for the intervals of the area summaries.
    ci : float, default 0.95
        Coverage of the intervals.
    random_state : int or Generator, optional
    n_jobs : int, default 1
        Parallel (area, layer) fits through joblib.
    max_memory : int or str, optional
        Memory budget of each ridge fit.
    progress : bool, default False

    Returns
    -------
    LayerMapping

    Examples
    --------
    >>> from neurotk.datasets import digits_network, simulate_visual_hierarchy
    >>> sim = simulate_visual_hierarchy(n_stimuli=60, n_units_per_area=12, random_state=0)
    >>> net = digits_network(random_state=0)
    >>> acts = net.activations(sim.images, layers=["conv1", "fc2"], stimulus_ids=sim.stimulus_ids)
    >>> result = map_layers(sim.recording, acts, n_bootstrap=100, random_state=0)
    >>> result.best.set_index("area").loc[["V1", "IT"], "best_layer"].tolist()
    ['conv1', 'fc2']
    """
    check_choice(metric, "metric", METRICS)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=1)
    check_float(ci, "ci", low=0, high=1, low_open=True, high_open=True)
    areas = _named(brain, "area", "area")
    nets = _named(layers, "layer", "layer")
    rng = as_rng(random_state)
    seed = int(rng.integers(2**31 - 1))

    prepared = {a: _prepare_area(rec, a, on, ceiling, seed) for a, rec in areas.items()}
    # stimuli are exchangeable (not a time series): shuffled folds, seeded
    from sklearn.model_selection import KFold

    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        cv = KFold(check_int(cv, "cv", minimum=2), shuffle=True, random_state=seed)
    if isinstance(inner_cv, (int, np.integer)) and not isinstance(inner_cv, bool):
        inner_cv = KFold(check_int(inner_cv, "inner_cv", minimum=2), shuffle=True, random_state=seed)
    tasks = []
    for aname, (avg, _) in prepared.items():
        y = check_matrix(avg, f"area {aname!r}", rows="stimuli", cols="units")
        folds = cv_folds(cv, len(y), None, (avg,))
        for lname, layer in nets.items():
            x = _align_layer(layer, lname, avg, aname, on)
            tasks.append((aname, lname, x, y, alphas, folds, inner_cv, metric, max_memory))
    results = map_chunks(_pair_task, tasks, n_jobs=n_jobs, progress=progress, desc="layer -> area fits")

    layer_names = list(nets)
    kind = _KINDS[metric]
    rows, summary, best_rows, unit_rows = [], [], [], []
    by_pair = {(a, lname): (s, al) for a, lname, s, al in results}
    lo_q, hi_q = (1 - ci) / 2, 1 - (1 - ci) / 2
    for aname, (avg, nc) in prepared.items():
        ids = avg.units["unit_id"].to_numpy()
        raw = np.stack([by_pair[aname, lname][0] for lname in layer_names], axis=1)  # (units, layers)
        if nc is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NeurotkWarning)
                norm = normalise_scores(raw.T, nc, kind=kind).T
            ceil = np.asarray(nc, dtype=np.float64)
        else:
            norm, ceil = raw.copy(), np.full(len(ids), np.nan)
        for j, lname in enumerate(layer_names):
            rows.append(pd.DataFrame({
                "area": aname, "layer": lname, "layer_index": j, "unit_id": ids,
                "score": raw[:, j], "ceiling": ceil, "normalised": norm[:, j],
                "alpha": by_pair[aname, lname][1],
            }))
        usable = np.isfinite(norm).all(axis=1)
        if not usable.any():
            warnings.warn(f"no unit of area {aname!r} has a usable noise ceiling; its summary is NaN",
                          NeurotkWarning, stacklevel=caller_stacklevel())
        s = norm[usable]
        n = len(s)
        counts = _bootstrap_counts(np.random.default_rng(seed), n, n_bootstrap) if n else np.zeros((n_bootstrap, 0))
        with np.errstate(invalid="ignore"):
            boot = counts @ s / max(n, 1)  # (n_boot, layers)
            mean = s.mean(axis=0) if n else np.full(len(layer_names), np.nan)
        for j, lname in enumerate(layer_names):
            summary.append({"area": aname, "layer": lname, "layer_index": j, "score": mean[j],
                            "ci_low": np.quantile(boot[:, j], lo_q) if n else np.nan,
                            "ci_high": np.quantile(boot[:, j], hi_q) if n else np.nan, "n_units": n})
        unit_best_idx = np.argmax(np.where(np.isfinite(norm), norm, -np.inf), axis=1)
        b = int(np.nanargmax(mean)) if n else 0
        depth = unit_best_idx[usable].astype(float)
        boot_depth = counts @ depth / max(n, 1)
        best_rows.append({
            "area": aname, "best_layer": layer_names[b], "score": mean[b],
            "ci_low": np.quantile(boot[:, b], lo_q) if n else np.nan,
            "ci_high": np.quantile(boot[:, b], hi_q) if n else np.nan,
            "p_best": float(np.mean(np.argmax(boot, axis=1) == b)) if n else np.nan,
            "pseudo_depth": depth.mean() if n else np.nan,
            "depth_ci_low": np.quantile(boot_depth, lo_q) if n else np.nan,
            "depth_ci_high": np.quantile(boot_depth, hi_q) if n else np.nan,
            "n_units": n,
        })
        unit_rows.append(pd.DataFrame({
            "area": aname, "unit_id": ids, "best_layer": np.asarray(layer_names)[unit_best_idx],
            "layer_index": unit_best_idx, "score": norm[np.arange(len(ids)), unit_best_idx],
            "usable": usable,
        }))
    if ceiling is None or all(nc is None for _, nc in prepared.values()):
        normalisation = f"raw held-out {'R^2' if metric == 'r2' else 'Pearson r'} (no noise ceiling)"
    else:
        normalisation = (f"held-out {'R^2 / noise ceiling' if metric == 'r2' else 'r / sqrt(noise ceiling)'} "
                         f"(ceiling of the repeat means)")
    return LayerMapping(
        scores=pd.concat(rows, ignore_index=True), summary=pd.DataFrame(summary),
        best=pd.DataFrame(best_rows), unit_best=pd.concat(unit_rows, ignore_index=True),
        areas=list(areas), layers=layer_names, metric=metric, normalisation=normalisation,
        units={a: avg for a, (avg, _) in prepared.items()},
    )
