"""Features for encoding models of time series: delays, run-wise folds, flattened layers.

The haemodynamic response of fMRI lags the stimulus by seconds, so a voxelwise encoding
model is fitted on several delayed copies of the features (a finite-impulse-response
model): :func:`delay_features` stacks copies of ``X`` shifted by 1, 2, 3, 4 ... samples
(TRs), zero-filled at the start of every run so that no delay reaches across a run
boundary. fMRI samples within a run are autocorrelated, so the cross-validation folds
should hold out whole runs: :func:`leave_one_run_out` and :func:`run_folds` give a list
of ``(train, test)`` index arrays that any scikit-learn style ``cv=`` accepts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_matrix
from ..errors import ArgumentError, ShapeMismatchError
from ..recording import Recording

__all__ = ["delay_features", "leave_one_run_out", "run_folds", "flatten_spatial"]


def _delays(delays) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(delays))
    except (TypeError, ValueError):
        arr = np.asarray([])
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise ArgumentError(f"delays={delays!r}; expected a non-empty sequence of integers (samples/TRs)")
    if np.unique(arr).size != arr.size:
        raise ArgumentError(f"delays={delays!r} repeats a delay; expected distinct delays")
    return arr.astype(np.intp)


def _run_labels(runs, x, n: int) -> np.ndarray | None:
    """Run label per sample: ``runs`` array, a samples column name, or the Recording's ``run``."""
    if runs is None:
        if isinstance(x, Recording) and "run" in x.samples.columns:
            return x.column("run")
        return None
    if isinstance(runs, str):
        if not isinstance(x, Recording):
            raise ArgumentError(f"runs={runs!r} names a samples column, but X is an array; pass the run labels")
        return x.column(runs, argument="runs", expected="the column with the run of each sample")
    labels = np.asarray(runs)
    if labels.ndim != 1 or labels.size != n:
        raise ShapeMismatchError(
            f"runs has shape {labels.shape} but X has {n} samples; expected one run label per sample"
        )
    if pd.isna(labels).any():
        raise ArgumentError("runs has missing values; expected a run label for every sample")
    return labels


def delay_features(X, delays=(1, 2, 3, 4), runs=None):
    """Finite-impulse-response features: copies of ``X`` shifted by each delay, within runs.

    Column block ``k`` of the output holds ``X`` delayed by ``delays[k]`` samples:
    ``out[t, k * p + j] = X[t - delays[k], j]`` when sample ``t - delays[k]`` lies in the
    same run as ``t``, and 0 otherwise. Positive delays look into the past (zeros at the
    start of each run), a delay of 0 keeps ``X`` and negative delays look into the future
    (zeros at the end of each run). Samples must be in temporal order within each run; a
    run is a stretch of consecutive samples with the same run label.

    Parameters
    ----------
    X : Recording or array-like, shape (n_samples, n_features)
        Features sampled at the response times (one row per TR).
    delays : sequence of int, default (1, 2, 3, 4)
        Delays in samples (TRs).
    runs : array-like of shape (n_samples,), str or None
        Run label of each sample, or the name of a samples column. Default: the
        Recording's ``run`` column if it has one, else a single run.

    Returns
    -------
    ndarray or Recording, shape (n_samples, n_features * n_delays)
        A Recording for a Recording input: same samples, and a units table with one row
        per delayed feature: ``unit_id`` ("<source id>@<delay>"), ``source_unit``,
        ``delay`` and the source unit's other columns.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(1.0, 7.0)[:, None]             # 6 TRs, one feature, two runs of 3
    >>> delay_features(X, delays=[0, 1, 2], runs=[0, 0, 0, 1, 1, 1])
    array([[1., 0., 0.],
           [2., 1., 0.],
           [3., 2., 1.],
           [4., 0., 0.],
           [5., 4., 0.],
           [6., 5., 4.]])
    """
    x = check_matrix(X, "X", rows="samples", cols="features")
    n, p = x.shape
    d = _delays(delays)
    labels = _run_labels(runs, X, n)
    if labels is None:
        segment = np.zeros(n, dtype=np.intp)
    else:
        change = np.r_[False, labels[1:] != labels[:-1]]
        segment = np.cumsum(change)
    out = np.zeros((n, p * d.size), dtype=x.dtype)
    t = np.arange(n)
    for k, delay in enumerate(d):  # one pass per delay (a handful), vectorised over samples
        src = t - delay
        inside = (src >= 0) & (src < n)
        ok = np.zeros(n, dtype=bool)
        ok[inside] = segment[src[inside]] == segment[inside]
        out[ok, k * p : (k + 1) * p] = x[src[ok]]
    if not isinstance(X, Recording):
        return out
    units = X.units
    source = units["unit_id"].to_numpy()
    table = pd.concat([units] * d.size, ignore_index=True)
    table = table.rename(columns={"unit_id": "source_unit"})
    table.insert(0, "delay", np.repeat(d, p))
    table.insert(0, "unit_id", [f"{u}@{int(dd)}" for dd in d for u in source])
    meta = X.meta
    meta["history"] = [*meta.get("history", []), f"delay_features(delays={d.tolist()})"]
    return Recording(out, X.samples, table, meta, copy=False)


def leave_one_run_out(runs) -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-run-out folds: for each run (sorted by label), train on the others and test on it.

    Parameters
    ----------
    runs : array-like, shape (n_samples,)
        Run label of each sample (any hashable values).

    Returns
    -------
    list of (train_idx, test_idx)
        Integer index arrays, usable as ``cv=`` of :class:`~neurotk.encoding.RidgeCV` and
        scikit-learn estimators.

    Examples
    --------
    >>> [(tr.tolist(), te.tolist()) for tr, te in leave_one_run_out([1, 1, 2, 2, 3])]
    [([2, 3, 4], [0, 1]), ([0, 1, 4], [2, 3]), ([0, 1, 2, 3], [4])]
    """
    labels = np.asarray(runs)
    if labels.ndim != 1:
        raise ShapeMismatchError(f"runs has shape {labels.shape}; expected one run label per sample (1-D)")
    if pd.isna(labels).any():
        raise ArgumentError("runs has missing values; expected a run label for every sample")
    codes, uniques = pd.factorize(labels, sort=True)
    if uniques.size < 2:
        raise ArgumentError(
            f"runs has {uniques.size} distinct value(s); leave-one-run-out needs at least 2 runs"
        )
    index = np.arange(labels.size)
    return [(index[codes != g], index[codes == g]) for g in range(uniques.size)]


def run_folds(recording, column: str = "run") -> list[tuple[np.ndarray, np.ndarray]]:
    """Leave-one-run-out folds from a Recording's samples column (see :func:`leave_one_run_out`).

    Parameters
    ----------
    recording : Recording
    column : str, default "run"
        Samples column with the run (or session, fold) of each sample.

    Returns
    -------
    list of (train_idx, test_idx)

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording
    >>> rec = Recording(np.zeros((4, 1)), samples={"run": [1, 1, 2, 2]})
    >>> [te.tolist() for _, te in run_folds(rec)]
    [[0, 1], [2, 3]]
    """
    if not isinstance(recording, Recording):
        raise ArgumentError(
            f"recording has type {type(recording).__name__}; expected a Recording (for run "
            f"labels as an array use leave_one_run_out(runs))"
        )
    return leave_one_run_out(recording.column(column, expected="the column with the run of each sample"))


def flatten_spatial(x) -> np.ndarray:
    """(n_samples, channels, height, width) activations -> (n_samples, channels * height * width).

    The order is channel-major (``np.reshape``), as in
    :func:`neurotk.io.from_arrays`, so column ``c * h * w + y * w + x`` is
    channel ``c`` at position ``(y, x)``. 2-D arrays and Recordings are returned as arrays
    unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> flatten_spatial(np.zeros((5, 3, 4, 4))).shape
    (5, 48)
    """
    if isinstance(x, Recording):
        return x.data
    arr = np.asarray(x)
    if arr.ndim == 2:
        return arr
    if arr.ndim < 2:
        raise ShapeMismatchError(f"x has shape {arr.shape}; expected (n_samples, channels, height, width)")
    return arr.reshape(arr.shape[0], -1)
