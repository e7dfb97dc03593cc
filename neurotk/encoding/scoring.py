"""What the encoding models share: cross-validation folds, per-target scores, input checks.

:func:`cv_folds` turns every accepted ``cv`` (a number of folds, a splitter, explicit
folds, a samples column for leave-one-run-out) into (train, test) index arrays;
:func:`r2_scores` and :func:`correlation_scores` score each target column, and
:func:`target_scores` picks one of them by its name in :data:`METRICS`;
:func:`check_features_targets` checks features and responses at the door,
:func:`check_same_samples` refuses features and responses that describe different samples,
:func:`check_targets_vary` refuses constant targets, and :func:`target_ids` names them.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_choice, check_int, check_matrix
from ..errors import AlignmentError, ArgumentError, ShapeMismatchError
from ..recording import Recording

__all__ = [
    "METRICS",
    "cv_folds",
    "r2_scores",
    "correlation_scores",
    "target_scores",
    "check_features_targets",
    "check_same_samples",
    "check_targets_vary",
    "target_ids",
]

#: The per-target scores the encoding models report: R^2 and Pearson r.
METRICS = ("r2", "pearson")


def cv_folds(cv, n: int, groups, recordings) -> list[tuple[np.ndarray, np.ndarray]]:
    """Turn ``cv`` into a list of (train, test) index arrays over ``n`` samples.

    ``cv`` is a number of folds (K-fold, or group K-fold with ``groups``), a scikit-learn
    splitter, a list of (train, test) index arrays or masks, or the name of a samples
    column of one of ``recordings`` (leave one group out, e.g. ``"run"``).

    Examples
    --------
    >>> [test.tolist() for _, test in cv_folds(2, 4, None, ())]
    [[0, 1], [2, 3]]
    """
    from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut

    if isinstance(cv, str):
        for rec in recordings:
            if isinstance(rec, Recording) and cv in rec.samples:
                groups = rec.samples[cv].to_numpy()
                break
        else:
            raise ArgumentError(
                f"cv={cv!r} names no column of the samples table; expected an integer, a "
                f"splitter, a list of (train, test) or the name of a samples column such as "
                f"'run' (leave one run out)"
            )
        if len(np.unique(groups)) < 2:
            raise ArgumentError(f"cv={cv!r} has a single value; leave-one-out needs at least 2")
        splits = LeaveOneGroupOut().split(np.zeros((n, 1)), groups=groups)
    elif isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        k = check_int(cv, "cv", minimum=2, maximum=n)
        if groups is not None:
            splits = GroupKFold(n_splits=k).split(np.zeros((n, 1)), groups=np.asarray(groups))
        else:
            splits = KFold(n_splits=k).split(np.zeros((n, 1)))
    elif hasattr(cv, "split"):
        splits = cv.split(np.zeros((n, 1)), groups=groups)
    else:
        try:
            splits = list(cv)
        except TypeError:
            raise ArgumentError(
                f"cv has type {type(cv).__name__}; expected an integer, a scikit-learn "
                f"splitter, a list of (train, test) index arrays or a samples column name"
            ) from None
    folds = []
    for k, (train, test) in enumerate(splits):
        train, test = np.asarray(train), np.asarray(test)
        if train.dtype == bool:
            train = np.flatnonzero(train)
        if test.dtype == bool:
            test = np.flatnonzero(test)
        if len(train) < 2 or len(test) < 2:
            raise ArgumentError(
                f"cv fold {k} has {len(train)} training and {len(test)} test samples; "
                f"expected at least 2 of each"
            )
        if train.min() < 0 or test.min() < 0 or max(train.max(), test.max()) >= n:
            raise ArgumentError(f"cv fold {k} indexes outside the {n} samples")
        folds.append((train, test))
    if not folds:
        raise ArgumentError("cv produced no folds; expected at least one (train, test) split")
    return folds


def r2_scores(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """R^2 per column, as scikit-learn's ``r2_score(multioutput='raw_values')``.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0], [2.0], [3.0]])
    >>> r2_scores(y, y).tolist(), r2_scores(y, np.full_like(y, 2.0)).tolist()
    ([1.0], [0.0])
    """
    ss_res = np.einsum("ij,ij->j", y - pred, y - pred)
    yc = y - y.mean(axis=0)
    ss_tot = np.einsum("ij,ij->j", yc, yc)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    # scikit-learn's convention for constant targets: 1 if predicted exactly, else 0
    const = ss_tot == 0
    r2[const] = np.where(ss_res[const] == 0, 1.0, 0.0)
    return r2


def correlation_scores(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``y`` with the same column of ``pred``.

    NaN where a column is constant.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> correlation_scores(y, 2 * y).round(6).tolist()
    [1.0, 1.0]
    """
    yc = y - y.mean(axis=0)
    pc = pred - pred.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.einsum("ij,ij->j", yc, pc) / np.sqrt(
            np.einsum("ij,ij->j", yc, yc) * np.einsum("ij,ij->j", pc, pc))


def target_scores(y: np.ndarray, pred: np.ndarray, metric: str = "r2") -> np.ndarray:
    """Per-column score of ``pred`` against ``y``: R^2 (:func:`r2_scores`) or Pearson r (:func:`correlation_scores`).

    Parameters
    ----------
    y, pred : ndarray, shape (n_samples, n_targets)
    metric : {"r2", "pearson"}

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1.0], [2.0], [3.0]])
    >>> target_scores(y, 2 * y, "pearson").round(6).tolist(), target_scores(y, y).tolist()
    ([1.0], [1.0])
    """
    check_choice(metric, "metric", METRICS)
    return r2_scores(y, pred) if metric == "r2" else correlation_scores(y, pred)


def check_features_targets(X, Y, x_name: str = "X", y_name: str = "Y") -> tuple[np.ndarray, np.ndarray]:
    """Features ``X`` (n, p) and responses ``Y`` (n, t) as checked float arrays of the same samples.

    Recordings must describe the same samples (:func:`check_same_samples`).

    Examples
    --------
    >>> import numpy as np
    >>> x, y = check_features_targets(np.zeros((4, 2)), [[1.0], [2.0], [3.0], [4.0]])
    >>> x.shape, y.shape
    ((4, 2), (4, 1))
    """
    x = check_matrix(X, x_name, rows="samples", cols="features")
    y = check_matrix(Y, y_name, rows="samples", cols="targets")
    check_same_samples(X, Y, x.shape[0], y.shape[0], x_name, y_name)
    return x, y


def target_ids(Y, n: int) -> np.ndarray:
    """The unit ids of ``Y`` (a Recording), or the column positions ``0 .. n - 1``.

    Examples
    --------
    >>> target_ids([[1.0, 2.0]], 2).tolist()
    [0, 1]
    """
    if isinstance(Y, Recording):
        return Y.units["unit_id"].to_numpy()
    return np.arange(n)


def check_targets_vary(y: np.ndarray, name: str = "Y", Y=None) -> None:
    """Raise unless every column of ``y`` varies across samples (constant targets have nothing to explain).

    ``Y`` (the Recording ``y`` came from) names the constant targets by unit id.

    Examples
    --------
    >>> import numpy as np
    >>> check_targets_vary(np.array([[1.0, 2.0], [2.0, 2.0]]))
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: Y has 1 constant target(s) (e.g. [1]); expected every target to vary across samples (drop constant units/voxels first)
    """
    const = np.flatnonzero(np.ptp(y, axis=0) == 0)
    if const.size:
        ids = target_ids(Y, y.shape[1])[const[:5]]
        raise ArgumentError(
            f"{name} has {const.size} constant target(s) (e.g. {ids.tolist()}); expected every "
            f"target to vary across samples (drop constant units/voxels first)"
        )


def check_same_samples(X, Y, n_x: int, n_y: int, x_name: str = "X", y_name: str = "Y"):
    """Raise unless X and Y have ``n_x == n_y`` rows and, as Recordings, the same stimulus (or time) sequence.

    Examples
    --------
    >>> check_same_samples(None, None, 3, 3)
    """
    if n_x != n_y:
        raise ShapeMismatchError(
            f"{x_name} has {n_x} samples but {y_name} has {n_y}; expected one row per sample "
            f"in both (align them first, e.g. Y.align(X))"
        )
    if isinstance(X, Recording) and isinstance(Y, Recording):
        for col in ("stimulus", "time"):
            if col in X.samples and col in Y.samples:
                a, b = X.samples[col].to_numpy(), Y.samples[col].to_numpy()
                if not np.array_equal(a, b):
                    first = int(np.flatnonzero(a != b)[0])
                    va, vb = (v.item() if isinstance(v, np.generic) else v for v in (a[first], b[first]))
                    raise AlignmentError(
                        f"{x_name} and {y_name} describe different samples: {col} "
                        f"{va!r} vs {vb!r} at row {first}; expected the same "
                        f"{col} sequence (use {y_name}.align({x_name}, on={col!r}))"
                    )
                break
