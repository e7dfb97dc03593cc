"""What the encoding models share: cross-validation folds, per-target scores, sample checks.

:func:`cv_folds` turns every accepted ``cv`` (a number of folds, a splitter, explicit
folds, a samples column for leave-one-run-out) into (train, test) index arrays;
:func:`r2_scores` and :func:`correlation_scores` score each target column;
:func:`check_same_samples` refuses features and responses that describe different samples.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._validation import check_int
from ..errors import AlignmentError, ArgumentError, ShapeMismatchError
from ..recording import Recording

__all__ = ["cv_folds", "r2_scores", "correlation_scores", "check_same_samples"]


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
                    raise AlignmentError(
                        f"{x_name} and {y_name} describe different samples: {col} "
                        f"{a[first]!r} vs {b[first]!r} at row {first}; expected the same "
                        f"{col} sequence (use {y_name}.align({x_name}, on={col!r}))"
                    )
                break
