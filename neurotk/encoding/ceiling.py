"""Noise ceilings from repeated presentations: how much of a response a model could explain.

A unit's responses to repeated presentations of the same stimuli hold a stimulus-driven
part (the same on every repeat) and noise (different on every repeat). Two estimates of
the stimulus-driven fraction are offered, both per unit and vectorised over units:

* :func:`explainable_variance`, the definition of voxelwise modelling: the variance over
  stimuli of the repeat mean divided by the mean (over repeats) of the per-repeat variance,
  with the small-sample bias correction ``ev - (1 - ev) / (n_repeats - 1)``. It estimates
  the fraction of the variance of a *single* repeat that the stimulus explains.
* :func:`split_half_reliability`: the Pearson correlation between the means of two random
  halves of the repeats, averaged over splits and Spearman-Brown corrected to the full
  number of repeats. It estimates the fraction of the variance of the *mean over all
  repeats* that the stimulus explains.

The two are linked by the Spearman-Brown formula (:func:`spearman_brown`): the signal
fraction of a mean of ``k`` repeats is ``k f / (1 + (k - 1) f)`` when ``f`` is the signal
fraction of one repeat. :func:`noise_ceiling` returns either estimate for the responses a
score was computed on (``target="mean"``: scores against repeat-averaged responses, the
usual case; ``target="single"``: scores against single presentations), and
:func:`normalise_scores` divides scores by it: an R^2 by the ceiling, a Pearson r by the
square root of the ceiling.

Inputs are a :class:`~neurotk.Recording` with repeated presentations (the samples table
names the stimulus of each row; repeats are told apart by a ``repeat`` column or by their
order within each stimulus) or an array of shape (n_repeats, n_stimuli, n_units).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_array, check_choice, check_float, check_int
from ..errors import (
    DuplicateIdError,
    NeurotkWarning,
    NonFiniteDataError,
    ShapeMismatchError,
    describe_values,
)
from ..parallel import chunk_size, chunk_slices
from ..recording import Recording
from ..results import Result
from ..utils import as_rng

__all__ = [
    "split_half_reliability",
    "explainable_variance",
    "spearman_brown",
    "noise_ceiling",
    "normalise_scores",
    "NoiseCeiling",
]

_METHODS = ("explainable_variance", "split_half")
_TARGETS = ("mean", "single")
_KINDS = {"r2": "r2", "explained_variance": "r2", "r": "r", "pearson": "r", "correlation": "r"}


# --------------------------------------------------------------------------- inputs
class _Repeats:
    """Responses arranged as (n_repeats, n_stimuli, n_units), with the unit ids."""

    def __init__(self, values: np.ndarray, unit_ids: np.ndarray, stimuli: np.ndarray, units: pd.DataFrame | None):
        self.values = values
        self.unit_ids = unit_ids
        self.stimuli = stimuli
        self.units = units

    @property
    def n_repeats(self) -> int:
        return self.values.shape[0]

    @property
    def n_stimuli(self) -> int:
        return self.values.shape[1]


def _use_first_repeats(counts: np.ndarray, n_repeats, name: str) -> tuple[int, np.ndarray]:
    """Number of repeats to use and the stimuli (positions) that have that many."""
    low, high = int(counts.min()), int(counts.max())
    if n_repeats is None:
        if low != high:
            few = int((counts == low).sum())
            raise ShapeMismatchError(
                f"{name}: stimuli have between {low} and {high} repeats ({few} with {low}); "
                f"expected the same number of repeats for every stimulus. Pass "
                f"n_repeats={max(low, 2)} to use the first {max(low, 2)} repeats of each "
                f"stimulus (stimuli with fewer are dropped)"
            )
        return high, np.arange(counts.size)
    n_repeats = check_int(n_repeats, "n_repeats", minimum=2)
    keep = np.flatnonzero(counts >= n_repeats)
    if keep.size < counts.size:
        warnings.warn(
            f"{name}: {counts.size - keep.size} of {counts.size} stimuli have fewer than "
            f"n_repeats={n_repeats} repeats and are dropped",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )
    return n_repeats, keep


def _repeats(x, by="stimulus", repeat=None, n_repeats=None, name: str = "x") -> _Repeats:
    """Turn a Recording with repeats or a (repeats, stimuli, units) array into ``_Repeats``."""
    if isinstance(x, Recording):
        stim_codes, stimuli = x.codes(by, argument="by", expected="the column naming the stimulus of each sample")
        n_stim = stimuli.size
        if repeat is None and "repeat" in x.samples.columns:
            repeat = "repeat"
        if repeat is None:
            order = np.argsort(stim_codes, kind="stable")  # order of appearance within stimulus
        else:
            rep_codes, _ = x.codes(repeat, argument="repeat",
                                   expected="None (order of appearance) or a column name")
            order = np.lexsort((rep_codes, stim_codes))
            same = (np.diff(stim_codes[order]) == 0) & (np.diff(rep_codes[order]) == 0)
            if same.any():
                dup = stimuli[stim_codes[order][1:][same]]
                raise DuplicateIdError(
                    f"{name}: stimuli {describe_values(pd.unique(dup))} have the same "
                    f"{repeat!r} value on several samples; expected one sample per stimulus "
                    f"and repeat"
                )
        counts = np.bincount(stim_codes, minlength=n_stim)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sorted_codes = stim_codes[order]
        rank = np.arange(order.size) - starts[sorted_codes]  # repeat index within stimulus
        n_rep, keep = _use_first_repeats(counts, n_repeats, name)
        position = np.full(n_stim, -1)
        position[keep] = np.arange(keep.size)
        use = (rank < n_rep) & (position[sorted_codes] >= 0)
        data = x.data
        if x.allow_nan and np.isnan(data).any():
            raise NonFiniteDataError(
                f"{name} contains NaN values; expected finite responses for every repeat "
                f"(noise ceilings need complete repeats: drop the affected samples or units)"
            )
        values = np.empty((n_rep, keep.size, x.n_units), dtype=np.float64)
        values[rank[use], position[sorted_codes[use]]] = data[order[use]]
        return _Repeats(values, x.unit_ids, np.asarray(stimuli)[keep], x.units)

    try:
        flat = np.ndim(x) == 2
    except ValueError:  # ragged: check_array names the problem
        flat = False
    values = check_array(
        x, name, ndim=3, axes=("repeats", "stimuli", "units"), min_shape=(None, None, None), recording=False,
        expected="a Recording with repeats or an array of shape (n_repeats, n_stimuli, n_units).",
        hint="For one unit use x[..., None]." if flat else "",
        finite_hint="for unequal repeat counts pass a Recording and n_repeats=...",
    )
    if n_repeats is not None:
        n_repeats = check_int(n_repeats, "n_repeats", minimum=2, maximum=values.shape[0])
        values = values[:n_repeats]
    n_units = values.shape[2]
    return _Repeats(values, np.arange(n_units), np.arange(values.shape[1]), None)


def _checked(rep: _Repeats, name: str, min_stimuli: int = 2) -> _Repeats:
    if rep.n_repeats < 2:
        raise ShapeMismatchError(
            f"{name} has {rep.n_repeats} repeat per stimulus; expected at least 2 repeats to "
            f"separate signal from noise"
        )
    if rep.n_stimuli < min_stimuli:
        raise ShapeMismatchError(f"{name} has {rep.n_stimuli} stimuli; expected at least {min_stimuli}")
    if rep.values.shape[2] < 1:
        raise ShapeMismatchError(f"{name} has no units; expected at least one")
    return rep


def _warn_undefined(values: np.ndarray, what: str):
    bad = int(np.isnan(values).sum())
    if bad:
        warnings.warn(
            f"{bad} unit(s) have no variance across stimuli or repeats; their {what} is NaN",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )


# --------------------------------------------------------------------------- computations
def spearman_brown(r, factor):
    """Spearman-Brown prophecy: reliability of a measure ``factor`` times as long.

    ``factor * r / (1 + (factor - 1) * r)``. With ``r`` the correlation of two half-sets of
    repeats and ``factor=2`` it gives the reliability of the full set; with ``r`` the
    signal fraction of one repeat and ``factor=k`` the signal fraction of a mean of ``k``
    repeats; ``factor=1/k`` goes back from ``k`` repeats to one.

    Parameters
    ----------
    r : float or array-like
        Reliability (correlation) of the shorter measure.
    factor : float
        Length ratio (new / old), > 0.

    Returns
    -------
    float or ndarray

    Examples
    --------
    >>> spearman_brown(0.5, 2)
    0.6666666666666666
    >>> round(float(spearman_brown(spearman_brown(0.3, 4), 0.25)), 12)
    0.3
    """
    factor = check_float(factor, "factor", low=0, low_open=True)
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = factor * r / (1.0 + (factor - 1.0) * r)
    return out if out.ndim else float(out)


def _explainable_variance(values: np.ndarray, bias_correction: bool) -> np.ndarray:
    """EV per unit of a (n_repeats, n_stimuli, n_units) array (NaN for constant units)."""
    n_repeats = values.shape[0]
    mean_var = values.var(axis=1, ddof=1).mean(axis=0)  # per-repeat variance, averaged
    var_mean = values.mean(axis=0).var(axis=0, ddof=1)  # variance of the repeat mean
    with np.errstate(divide="ignore", invalid="ignore"):
        ev = var_mean / mean_var
    ev[mean_var == 0] = np.nan
    if bias_correction:
        ev = ev - (1.0 - ev) / (n_repeats - 1)
    return ev


def explainable_variance(x, bias_correction: bool = True, by="stimulus", repeat=None, n_repeats=None) -> np.ndarray:
    """Explainable variance per unit: the stimulus-driven fraction of a single repeat's variance.

    For a unit with responses ``x[r, s]`` to stimulus ``s`` on repeat ``r`` (``R`` repeats,
    ``S`` stimuli), with variances over stimuli (``ddof=1``)::

        ev = Var_s( mean_r x[r, s] ) / mean_r( Var_s x[r, s] )

    (the variance of the repeat mean over the mean per-repeat variance). If each repeat is
    signal (variance ``v_sig``) plus independent noise (variance ``v_noise``), the numerator
    estimates ``v_sig + v_noise / R`` and the denominator ``v_sig + v_noise``, so ``ev`` is
    biased upwards by the noise left in the mean. With ``bias_correction`` (default) it is
    replaced by::

        ev - (1 - ev) / (R - 1)

    which estimates ``v_sig / (v_sig + v_noise)``, the fraction of the variance of one
    repeat that a perfect model of the stimulus-driven response explains. This is the
    definition used in voxelwise modelling (e.g. the gallantlab voxelwise tutorials). The
    corrected value can be negative for units with no reliable signal. For the ceiling of
    scores computed against the *mean* of the repeats, use
    ``noise_ceiling(x, target="mean")`` (Spearman-Brown from one repeat to ``R``).

    Parameters
    ----------
    x : Recording or array-like, shape (n_repeats, n_stimuli, n_units)
        Responses with repeats. A Recording's samples table names the stimulus of each row
        in column ``by``; repeats are matched by the ``repeat`` column (or the column named
        by ``repeat``) or, without one, by their order of appearance within each stimulus.
    bias_correction : bool, default True
        Apply the small-sample correction above.
    by : str, default "stimulus"
        Samples column with the stimulus ids (Recordings only).
    repeat : str, optional
        Samples column that numbers the repeats (default: ``"repeat"`` if present, else
        the order of appearance).
    n_repeats : int, optional
        Use the first ``n_repeats`` repeats of every stimulus, dropping stimuli with fewer
        (with a warning). Needed when stimuli were shown a different number of times.

    Returns
    -------
    ndarray, shape (n_units,)
        NaN (with a warning) for units without any variance.

    Raises
    ------
    ShapeMismatchError
        Fewer than 2 repeats or 2 stimuli, unequal repeat counts without ``n_repeats``, or
        an array that is not 3-D.
    NonFiniteDataError
        NaN or infinite responses.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(1, 200, 50))                 # 200 stimuli, 50 units
    >>> x = signal + rng.normal(size=(4, 200, 50))             # 4 repeats, SNR 1
    >>> round(float(explainable_variance(x).mean()), 1)        # true fraction: 1 / (1 + 1)
    0.5
    """
    rep = _checked(_repeats(x, by=by, repeat=repeat, n_repeats=n_repeats), "x")
    ev = _explainable_variance(rep.values, bool(bias_correction))
    _warn_undefined(ev, "explainable variance")
    return ev


def _splits(n_repeats: int, n_splits: int, rng: np.random.Generator) -> np.ndarray:
    """Boolean (n_splits, n_repeats) membership of the first half of each split.

    When there are no more distinct splits than ``n_splits`` every distinct split is used
    once (the average is then exact); otherwise ``n_splits`` random splits are drawn.
    """
    half = n_repeats // 2
    # a split and its mirror image give the same correlation when the halves are equal
    n_distinct = math.comb(n_repeats, half) // (2 if 2 * half == n_repeats else 1)
    if n_distinct <= n_splits:
        combos = itertools.combinations(range(n_repeats), half)
        if 2 * half == n_repeats:
            combos = (c for c in combos if c[0] == 0)
        rows = np.array(list(combos), dtype=np.intp)
    else:
        rows = np.argsort(rng.random((n_splits, n_repeats)), axis=1)[:, :half]
    member = np.zeros((rows.shape[0], n_repeats), dtype=bool)
    np.put_along_axis(member, rows, True, axis=1)
    return member


def _split_half_r(values: np.ndarray, member: np.ndarray, max_memory) -> np.ndarray:
    """Mean over splits of the split-half Pearson r, per unit (NaN where undefined)."""
    n_rep, n_stim, n_units = values.shape
    n_split = member.shape[0]
    wa = member / member.sum(axis=1, keepdims=True)
    wb = ~member / (~member).sum(axis=1, keepdims=True)
    # per unit: two (n_split, n_stim) means plus temporaries
    size = chunk_size(n_units, 8.0 * n_split * n_stim * 5, max_memory)
    out = np.empty(n_units)
    for cols in chunk_slices(n_units, size):
        block = values[:, :, cols].reshape(n_rep, -1)
        a = (wa @ block).reshape(n_split, n_stim, -1)
        b = (wb @ block).reshape(n_split, n_stim, -1)
        a -= a.mean(axis=1, keepdims=True)
        b -= b.mean(axis=1, keepdims=True)
        num = np.einsum("ksu,ksu->ku", a, b)
        den = np.sqrt(np.einsum("ksu,ksu->ku", a, a) * np.einsum("ksu,ksu->ku", b, b))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(den > 0, num / den, np.nan)
        out[cols] = r.mean(axis=0)
    return out


def split_half_reliability(x, n_splits: int = 100, by="stimulus", repeat=None, random_state=None,
                           correct: bool = True, n_repeats=None, max_memory=None) -> np.ndarray:
    """Split-half reliability per unit, Spearman-Brown corrected to the full number of repeats.

    For each split the repeats are divided at random into two halves (``R // 2`` and
    ``R - R // 2`` repeats), each half is averaged per stimulus, and the Pearson r over
    stimuli between the two half-means is computed for every unit. The r values are
    averaged over splits and, with ``correct`` (default), corrected to the full length with
    the Spearman-Brown formula ``2 r / (1 + 2 r - r) = 2 r / (1 + r)``. The corrected value
    estimates the correlation between two independent means of ``R`` repeats, i.e. the
    fraction of the variance of the mean over all repeats that is stimulus-driven; the
    ceiling of a Pearson r against those means is its square root. With an odd number of
    repeats the halves differ by one repeat and the factor 2 is an approximation.

    When the number of distinct splits is at most ``n_splits`` (e.g. 3 for 4 repeats),
    each distinct split is used exactly once. All splits and units are computed at once
    (in unit chunks bounded by ``max_memory``).

    Parameters
    ----------
    x : Recording or array-like, shape (n_repeats, n_stimuli, n_units)
        Responses with repeats (see :func:`explainable_variance` for Recordings).
    n_splits : int, default 100
        Random splits to average over.
    by : str, default "stimulus"
        Samples column with the stimulus ids (Recordings only).
    repeat : str, optional
        Samples column that numbers the repeats (default: ``"repeat"`` if present, else
        the order of appearance).
    random_state : int, Generator or None
        Seed of the random splits.
    correct : bool, default True
        Apply the Spearman-Brown correction; ``False`` returns the mean split-half r.
    n_repeats : int, optional
        Use the first ``n_repeats`` repeats of every stimulus (see
        :func:`explainable_variance`).
    max_memory : int or str, optional
        Working-memory budget (default 512 MiB).

    Returns
    -------
    ndarray, shape (n_units,)
        NaN (with a warning) for units whose half-means do not vary.

    Raises
    ------
    ShapeMismatchError
        Fewer than 2 repeats or 3 stimuli, or unequal repeat counts without ``n_repeats``.
    NonFiniteDataError
        NaN or infinite responses.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1, 300, 40)) + rng.normal(size=(4, 300, 40))  # SNR 1, 4 repeats
    >>> round(float(split_half_reliability(x, random_state=0).mean()), 1)  # 4 / (4 + 1)
    0.8
    """
    n_splits = check_int(n_splits, "n_splits", minimum=1)
    rep = _checked(_repeats(x, by=by, repeat=repeat, n_repeats=n_repeats), "x", min_stimuli=3)
    member = _splits(rep.n_repeats, n_splits, as_rng(random_state))
    r = _split_half_r(rep.values, member, max_memory)
    _warn_undefined(r, "split-half reliability")
    return spearman_brown(r, 2.0) if correct else r


# --------------------------------------------------------------------------- results
class NoiseCeiling(Result):
    """Per-unit noise ceiling: the largest R^2 a perfect model of the stimulus could reach.

    ``values`` are the estimated stimulus-driven fractions of variance of the responses
    scores are computed on (``target="mean"``: the mean over repeats; ``"single"``: one
    presentation). They cap R^2 (explained variance); the ceiling of a Pearson r is
    ``sqrt(values)`` (:attr:`r_ceiling`). Values can be negative for units without
    reliable signal (the estimators are unbiased, not clipped).

    Attributes
    ----------
    values : ndarray (n_units,)
    unit_ids : ndarray (n_units,)
    method : {"explainable_variance", "split_half"}
    target : {"mean", "single"}
    n_repeats, n_stimuli : int

    Examples
    --------
    >>> nc = NoiseCeiling([0.5, 0.8], unit_ids=["a", "b"], method="split_half")
    >>> nc.to_frame()[["unit_id", "ceiling"]].values.tolist()
    [['a', 0.5], ['b', 0.8]]
    """

    def __init__(self, values, unit_ids=None, method: str = "explainable_variance", target: str = "mean",
                 n_repeats: int | None = None, n_stimuli: int | None = None, units: pd.DataFrame | None = None):
        self.values = np.asarray(values, dtype=np.float64).ravel()
        self.unit_ids = np.arange(self.values.size) if unit_ids is None else np.asarray(unit_ids)
        if self.unit_ids.size != self.values.size:
            raise ShapeMismatchError(
                f"unit_ids has {self.unit_ids.size} entries but values has {self.values.size}; "
                f"expected one id per unit"
            )
        self.method = method
        self.target = target
        self.n_repeats = n_repeats
        self.n_stimuli = n_stimuli
        self.units = units

    def __len__(self) -> int:
        return self.values.size

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def __repr__(self) -> str:
        med = np.nanmedian(self.values) if np.isfinite(self.values).any() else np.nan
        return (
            f"NoiseCeiling(method={self.method!r}, target={self.target!r}, n_units={len(self)}, "
            f"n_repeats={self.n_repeats}, median={med:.3g})"
        )

    @property
    def median(self) -> float:
        """Median ceiling over the units with a finite value (NaN if there is none).

        Examples
        --------
        >>> NoiseCeiling([0.2, 0.4, 0.9, float("nan")]).median
        0.4
        """
        finite = self.values[np.isfinite(self.values)]
        return float(np.median(finite)) if finite.size else float("nan")

    @property
    def r_ceiling(self) -> np.ndarray:
        """Ceiling of a Pearson r: ``sqrt(values)`` (NaN where the ceiling is negative)."""
        with np.errstate(invalid="ignore"):
            return np.where(self.values >= 0, np.sqrt(np.abs(self.values)), np.nan)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``unit_id``, ``ceiling`` (R^2), ``r_ceiling``, plus the units table's columns.

        Examples
        --------
        >>> NoiseCeiling([0.25]).to_frame().columns.tolist()
        ['unit_id', 'ceiling', 'r_ceiling', 'method', 'target']
        """
        frame = pd.DataFrame({"unit_id": self.unit_ids, "ceiling": self.values, "r_ceiling": self.r_ceiling,
                              "method": self.method, "target": self.target})
        if self.units is not None:
            extra = self.units.drop(columns=[c for c in self.units.columns if c in frame.columns])
            frame = pd.concat([frame, extra.reset_index(drop=True)], axis=1)
        return frame

    def plot(self, ax=None, bins: int = 30, **kwargs):
        """Histogram of the ceiling over units, with the median marked; returns the Axes.

        See :func:`neurotk.plotting.encoding.plot_noise_ceiling` (``kwargs`` go to
        ``Axes.hist``).

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> NoiseCeiling([0.2, 0.4, 0.5]).plot().get_xlabel()
        'noise ceiling (max R^2, explainable_variance, mean of repeats)'
        """
        from ..plotting.encoding import plot_noise_ceiling

        return plot_noise_ceiling(self, ax=ax, bins=bins, **kwargs)


def noise_ceiling(x, method: str = "explainable_variance", target: str = "mean", by="stimulus", repeat=None,
                  n_repeats=None, n_splits: int = 100, random_state=None, bias_correction: bool = True,
                  max_memory=None) -> NoiseCeiling:
    """Noise ceiling per unit: the largest R^2 (fraction of variance) any model could reach.

    ``method="explainable_variance"`` starts from :func:`explainable_variance` (single
    repeat, bias corrected); ``"split_half"`` from :func:`split_half_reliability` (mean of
    all ``R`` repeats, Spearman-Brown corrected). Either is then expressed for the responses
    the scores are computed on with the Spearman-Brown formula (:func:`spearman_brown`):

    * ``target="mean"`` (default): scores against the mean over the ``R`` repeats (the
      usual set-up, e.g. a model tested on repeat-averaged responses). Explainable
      variance ``f`` becomes ``R f / (1 + (R - 1) f)``; split-half reliability is used as is.
    * ``target="single"``: scores against single presentations. Explainable variance is
      used as is; split-half reliability ``rho`` becomes ``rho / (R - (R - 1) rho)``.

    Divide R^2 scores by the ceiling, Pearson r scores by its square root
    (:func:`normalise_scores`).

    Parameters
    ----------
    x : Recording or array-like, shape (n_repeats, n_stimuli, n_units)
        Responses with repeats (see :func:`explainable_variance`).
    method : {"explainable_variance", "split_half"}
    target : {"mean", "single"}
    by, repeat, n_repeats
        How repeats are found (see :func:`explainable_variance`).
    n_splits, random_state, max_memory
        Passed to :func:`split_half_reliability`.
    bias_correction : bool, default True
        Passed to :func:`explainable_variance`.

    Returns
    -------
    NoiseCeiling

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(1, 300, 40)) + rng.normal(size=(4, 300, 40))  # SNR 1, 4 repeats
    >>> nc = noise_ceiling(x)
    >>> round(float(np.mean(nc.values)), 1), round(float(np.mean(noise_ceiling(x, target="single").values)), 1)
    (0.8, 0.5)
    """
    check_choice(method, "method", _METHODS)
    check_choice(target, "target", _TARGETS)
    rep = _checked(_repeats(x, by=by, repeat=repeat, n_repeats=n_repeats), "x",
                   min_stimuli=3 if method == "split_half" else 2)
    n_rep = rep.n_repeats
    if method == "explainable_variance":
        values = _explainable_variance(rep.values, bool(bias_correction))
        if target == "mean":
            values = spearman_brown(values, n_rep)
    else:
        n_splits = check_int(n_splits, "n_splits", minimum=1)
        member = _splits(n_rep, n_splits, as_rng(random_state))
        values = spearman_brown(_split_half_r(rep.values, member, max_memory), 2.0)
        if target == "single":
            values = spearman_brown(values, 1.0 / n_rep)
    values = np.asarray(values, dtype=np.float64)
    _warn_undefined(values, "noise ceiling")
    return NoiseCeiling(values, rep.unit_ids, method, target, n_rep, rep.n_stimuli, rep.units)


def normalise_scores(scores, ceiling, kind: str = "r2", floor: float = 0.05) -> np.ndarray:
    """Scores as a fraction of the noise ceiling.

    * ``kind="r2"`` (R^2, explained variance): ``scores / ceiling``.
    * ``kind="r"`` (Pearson r): ``scores / sqrt(ceiling)``; with a split-half ceiling this
      is ``r / sqrt(reliability)``, the usual correction for attenuation.

    ``ceiling`` must be the ceiling for the responses the scores were computed on
    (:func:`noise_ceiling`'s ``target``). Units whose ceiling is below ``floor`` (or NaN)
    get NaN, with a warning: dividing by a near-zero ceiling gives meaningless numbers.
    Normalised scores are not clipped; noise can put them above 1.

    Parameters
    ----------
    scores : array-like, shape (..., n_units)
        Scores per unit (last axis), e.g. :meth:`RidgeCV.score_targets` output.
    ceiling : NoiseCeiling or array-like, shape (n_units,)
        Ceiling as a maximum R^2 (signal fraction of variance).
    kind : {"r2", "r"}
        What ``scores`` are (aliases: ``"explained_variance"``, ``"pearson"``,
        ``"correlation"``).
    floor : float, default 0.05
        Smallest usable ceiling (in R^2 units).

    Returns
    -------
    ndarray, shape of ``scores``

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     normalise_scores([0.2, 0.3, 0.1], [0.4, 0.6, 0.01]).tolist()
    [0.5, 0.5, nan]
    >>> normalise_scores([0.4], [0.64], kind="r").tolist()
    [0.5]
    """
    key = _KINDS[check_choice(kind, "kind", sorted(_KINDS))]
    floor = check_float(floor, "floor")
    ceil = check_array(ceiling.values if isinstance(ceiling, NoiseCeiling) else ceiling, "ceiling", ndim=1,
                       axes=("units",), min_shape=(None,), allow_nan=True, recording=False,
                       expected="one value per unit (n_units,)")
    s = check_array(scores, "scores", ndim=None, min_ndim=0, min_shape=(), allow_nan=True, recording=False,
                    expected="scores per unit (..., n_units)")
    if s.ndim == 0 or s.shape[-1] != ceil.size:
        raise ShapeMismatchError(
            f"scores have shape {s.shape} but the ceiling has {ceil.size} units; expected the "
            f"units on the last axis of scores, in the ceiling's order"
        )
    low = ~(ceil >= floor)  # NaN ceilings count as too low
    if low.any():
        warnings.warn(
            f"{int(low.sum())} of {ceil.size} units have a noise ceiling below floor={floor} "
            f"(or undefined); their normalised scores are NaN",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )
    denom = np.where(low, np.nan, ceil if key == "r2" else np.sqrt(np.where(low, 1.0, ceil)))
    return s / denom
