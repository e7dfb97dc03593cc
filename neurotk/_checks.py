"""Input validation shared by the analyses: arrays or Recordings -> checked float matrices."""

from __future__ import annotations

import numbers

import numpy as np

from .errors import ArgumentError, NonFiniteDataError, ShapeMismatchError
from .recording import Recording

__all__ = ["as_matrix", "check_int", "check_positive"]


def as_matrix(x, name: str, *, rows: str = "samples", cols: str = "units", min_rows: int = 1,
              min_cols: int = 1, allow_nan: bool = False, dtype=np.float64) -> np.ndarray:
    """Return ``x`` (Recording or array-like) as a 2-D float array, or raise a clear error.

    ``rows``/``cols`` name the axes in messages ("stimuli", "neurons" ...). Non-finite
    values raise :class:`NonFiniteDataError` unless ``allow_nan``.
    """
    data = x.data if isinstance(x, Recording) else x
    try:
        arr = np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(
            f"{name} could not be read as numbers ({exc}); expected a Recording or an array "
            f"of shape (n_{rows}, n_{cols})"
        ) from exc
    if arr.ndim != 2:
        hint = " For a single column use x[:, None]." if arr.ndim == 1 else ""
        raise ShapeMismatchError(
            f"{name} has shape {arr.shape}; expected a 2-D array (n_{rows}, n_{cols}) or a "
            f"Recording.{hint}"
        )
    if arr.shape[0] < min_rows:
        raise ShapeMismatchError(f"{name} has {arr.shape[0]} {rows}; expected at least {min_rows}")
    if arr.shape[1] < min_cols:
        raise ShapeMismatchError(f"{name} has {arr.shape[1]} {cols}; expected at least {min_cols}")
    if not allow_nan:
        bad = ~np.isfinite(arr)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise NonFiniteDataError(
                f"{name} contains {int(bad.sum())} NaN or infinite values (first at "
                f"{rows[:-1] if rows.endswith('s') else rows} {r}, "
                f"{cols[:-1] if cols.endswith('s') else cols} {c}); expected finite values "
                f"(drop or impute missing values first)"
            )
    return arr


def check_int(value, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]``, or an :class:`ArgumentError`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(f"{name}={value!r}; expected an integer >= {minimum}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ArgumentError(f"{name}={value}; expected an integer {bound}")
    return value


def check_positive(values, name: str, allow_zero: bool = False) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers > 0 (>= 0 with ``allow_zero``)."""
    try:
        arr = np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}={values!r}; expected positive numbers") from None
    ok = np.isfinite(arr) & ((arr >= 0) if allow_zero else (arr > 0))
    if arr.size == 0 or not ok.all():
        bad = arr[~ok][:3].tolist() if arr.size else "nothing"
        raise ArgumentError(
            f"{name} contains {bad}; expected finite numbers {'>= 0' if allow_zero else '> 0'}"
        )
    return arr
