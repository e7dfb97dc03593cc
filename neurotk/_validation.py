"""The one input validator: arrays, Recordings and scalars checked at the door.

Every analysis turns its inputs into checked numpy arrays here, once, as scikit-learn's
``check_array`` and nilearn's ``check_niimg`` do, so that every function gives the same
clear :class:`~neurotk.NeurotkError` for the same mistake:

- :func:`check_array`: anything array-like (lists, numpy arrays, DataFrames, Recordings)
  -> a float array of the expected number of dimensions, refusing text, complex numbers,
  empty axes and (unless allowed) NaN or infinite values, with the axes named in messages;
- thin wrappers for the shapes neurotk uses: :func:`check_matrix` (samples x units),
  :func:`check_repeats` (repeats x stimuli x units), :func:`check_images`
  (stimuli x height x width) and :func:`check_feature_maps`
  (samples x channels x height x width);
- scalars and options: :func:`check_int`, :func:`check_float`, :func:`check_positive`,
  :func:`check_choice`;
- estimators: :func:`check_fitted` (scikit-learn's ``check_is_fitted`` with neurotk's
  error).

Examples
--------
>>> import numpy as np
>>> from neurotk._validation import check_matrix
>>> check_matrix([[1, 2], [3, 4]], "x").dtype
dtype('float64')
>>> check_matrix(np.ones(3), "x")
Traceback (most recent call last):
...
neurotk.errors.ShapeMismatchError: x has shape (3,); expected a 2-D array (n_samples, n_units) or a Recording. For a single column use x[:, None].
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

from .errors import ArgumentError, NonFiniteDataError, NotFittedError, ShapeMismatchError

__all__ = [
    "check_array",
    "check_matrix",
    "check_repeats",
    "check_images",
    "check_feature_maps",
    "check_int",
    "check_float",
    "check_positive",
    "check_choice",
    "check_fitted",
]

#: Elements scanned at once for non-finite values, so no boolean copy of a large array is made.
_CHUNK = 1 << 22


_SINGULAR = {"stimuli": "stimulus", "indices": "index", "matrices": "matrix", "vertices": "vertex"}


def _singular(axis: str) -> str:
    if axis in _SINGULAR:
        return _SINGULAR[axis]
    return axis[:-1] if axis.endswith("s") else axis


def _shape_text(axes: Sequence[str]) -> str:
    return "(" + ", ".join(f"n_{a}" for a in axes) + ")"


def _nonfinite(arr: np.ndarray) -> tuple[int, tuple[int, ...]] | None:
    """(count, index of the first) non-finite entries of ``arr``, or None; chunked scan."""
    flat = arr.reshape(-1)
    count, first = 0, None
    for start in range(0, flat.size, _CHUNK):
        block = flat[start:start + _CHUNK]
        finite = np.isfinite(block)
        if finite.all():
            continue
        bad = np.flatnonzero(~finite)
        count += bad.size
        if first is None:
            first = tuple(int(i) for i in np.unravel_index(start + bad[0], arr.shape))
    return None if first is None else (count, first)


def check_array(x, name: str, *, ndim: int | None = 2, min_ndim: int = 1, axes: Sequence[str] | None = None,
                min_shape: Sequence[int | None] | None = None, allow_nan: bool = False, dtype=np.float64,
                recording: bool = True, expected: str | None = None, hint: str | None = None,
                finite_hint: str = "drop or impute missing values first", copy: bool = False) -> np.ndarray:
    """``x`` as a checked float array of ``ndim`` dimensions, or a clear error.

    Parameters
    ----------
    x : array-like or Recording
        Lists, numpy arrays, DataFrames and (with ``recording=True``) Recordings, whose
        ``data`` is used.
    name : str
        The argument's name, used in every message.
    ndim : int or None
        The number of dimensions expected; None accepts any number from ``min_ndim``.
    min_ndim : int
        With ``ndim=None``: the fewest dimensions accepted.
    axes : sequence of str, optional
        Plural names of the axes ("samples", "units") used in messages; default "dim0"...
    min_shape : sequence of int or None, optional
        The least length of each axis (None: no bound). By default every axis must be
        non-empty.
    allow_nan : bool
        Keep NaN and infinite values (default: refuse them with
        :class:`~neurotk.NonFiniteDataError`).
    dtype : numpy dtype or None
        The output dtype (float64). None keeps float32 input as float32 and turns
        everything else into float64.
    recording : bool
        Whether a Recording is accepted (its ``data`` is used); messages then offer it.
    expected : str, optional
        What to say was expected in shape and conversion errors (default: built from
        ``axes``).
    hint : str, optional
        A sentence added to the dimension error (default: how to add an axis to 1-D input
        of a 2-D check).
    finite_hint : str
        The advice given with non-finite values.
    copy : bool
        Always return a new array (default: a view of ``x`` where no conversion is needed).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ArgumentError
        ``x`` is not numeric (text, ragged lists, objects) or is complex.
    ShapeMismatchError
        Wrong number of dimensions, or an axis shorter than ``min_shape``.
    NonFiniteDataError
        NaN or infinite values, unless ``allow_nan``.

    Examples
    --------
    >>> import numpy as np
    >>> check_array(np.zeros((2, 3, 4)), "x", ndim=3, axes=("repeats", "stimuli", "units")).shape
    (2, 3, 4)
    >>> check_array([1.0, np.nan], "v", ndim=1, axes=("values",))
    Traceback (most recent call last):
    ...
    neurotk.errors.NonFiniteDataError: v contains 1 NaN or infinite values (first at value 1); expected finite values (drop or impute missing values first)
    """
    from .recording import Recording  # the data model imports nothing of this module

    if isinstance(x, Recording):
        if not recording:
            raise ArgumentError(f"{name} is a Recording; expected an array")
        data = x.data
    else:
        data = x
    n_expected = ndim if ndim is not None else None
    if axes is None:
        axes = tuple(f"dim{i}" for i in range(n_expected or min_ndim))
    axes = tuple(axes)
    if expected is None:
        shape = _shape_text(axes) if n_expected is not None else f"with at least {min_ndim} dimensions"
        expected = (f"a Recording or an array of shape {shape}" if recording and n_expected == 2
                    else f"an array of shape {shape}" if n_expected is not None else f"an array {shape}")
    if np.iscomplexobj(data):
        raise ArgumentError(
            f"{name} is complex ({np.asarray(data).dtype}); expected real numbers (take np.abs or .real)"
        )
    if dtype is None:
        dtype = np.float32 if getattr(data, "dtype", None) == np.float32 else np.float64
    try:
        arr = np.array(data, dtype=dtype, copy=True) if copy else np.asarray(data, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name} could not be read as numbers ({exc}); expected {expected}") from exc
    if (n_expected is not None and arr.ndim != n_expected) or arr.ndim < min_ndim:
        if hint is None:
            hint = "For a single column use x[:, None]." if (n_expected == 2 and arr.ndim == 1) else ""
        if n_expected == 2 and recording:
            dims = f"a 2-D array {_shape_text(axes)} or a Recording."
        else:
            dims = expected + ("." if hint and not expected.endswith(".") else "")
        raise ShapeMismatchError(f"{name} has shape {arr.shape}; expected {dims}{' ' + hint if hint else ''}")
    bounds = list(min_shape) if min_shape is not None else [1] * arr.ndim
    for i, least in enumerate(bounds[:arr.ndim]):
        if least is not None and arr.shape[i] < least:
            axis = axes[i] if i < len(axes) else f"dim{i}"
            raise ShapeMismatchError(f"{name} has {arr.shape[i]} {axis}; expected at least {least}")
    if not allow_nan:
        found = _nonfinite(arr)
        if found is not None:
            count, first = found
            where = ", ".join(f"{_singular(axes[i]) if i < len(axes) else f'dim{i}'} {j}" for i, j in enumerate(first))
            raise NonFiniteDataError(
                f"{name} contains {count} NaN or infinite values (first at {where}); expected "
                f"finite values ({finite_hint})"
            )
    return arr


def check_matrix(x, name: str, *, rows: str = "samples", cols: str = "units", min_rows: int = 1,
                 min_cols: int = 1, allow_nan: bool = False, dtype=np.float64,
                 finite_hint: str = "drop or impute missing values first") -> np.ndarray:
    """``x`` (a Recording or array-like) as a checked 2-D (rows, cols) float array.

    ``rows``/``cols`` name the axes in messages ("stimuli", "neurons" ...).

    Examples
    --------
    >>> check_matrix([[1.0, 2.0]], "x", rows="stimuli", cols="neurons").shape
    (1, 2)
    """
    return check_array(x, name, ndim=2, axes=(rows, cols), min_shape=(min_rows, min_cols),
                       allow_nan=allow_nan, dtype=dtype, finite_hint=finite_hint)


def check_repeats(x, name: str, *, allow_nan: bool = False, finite_hint: str = "drop or impute missing values first"):
    """``x`` as a checked (n_repeats, n_stimuli, n_units) float array.

    Examples
    --------
    >>> import numpy as np
    >>> check_repeats(np.zeros((2, 5, 3)), "x").shape
    (2, 5, 3)
    """
    return check_array(x, name, ndim=3, axes=("repeats", "stimuli", "units"), allow_nan=allow_nan,
                       recording=False, hint="For one unit use x[..., None]." , finite_hint=finite_hint)


def check_images(x, name: str, *, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """``x`` as a checked (n_stimuli, height, width) float array of finite pixels.

    With ``image_shape``, a single (height, width) image is accepted as one stimulus and
    every image must have that shape.

    Examples
    --------
    >>> import numpy as np
    >>> check_images(np.zeros((4, 4)), "stimuli", image_shape=(4, 4)).shape
    (1, 4, 4)
    """
    arr = x
    if image_shape is not None and np.ndim(x) == 2 and np.shape(x) == tuple(image_shape):
        arr = np.asarray(x)[None]
    arr = check_array(arr, name, ndim=3, axes=("stimuli", "height", "width"), recording=False,
                      expected="images of shape (n_stimuli, height, width)", finite_hint="pixels must be finite")
    if image_shape is not None and arr.shape[1:] != tuple(image_shape):
        raise ShapeMismatchError(
            f"{name} has images of shape {arr.shape[1:]}; expected {tuple(image_shape)}, the model's image shape"
        )
    return arr


def check_feature_maps(x, name: str = "X") -> np.ndarray:
    """``x`` as a checked (n_samples, channels, height, width) float array.

    Examples
    --------
    >>> import numpy as np
    >>> check_feature_maps(np.zeros((3, 2, 4, 4))).shape
    (3, 2, 4, 4)
    """
    return check_array(x, name, ndim=4, axes=("samples", "channels", "height", "width"), recording=False,
                       expected="(n_samples, channels, height, width) activations", finite_hint="activations must be finite")


# --------------------------------------------------------------------------- scalars
def check_int(value, name: str, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as an int within ``[minimum, maximum]``, or an :class:`ArgumentError`.

    Booleans are refused; numpy integers are accepted.

    Examples
    --------
    >>> check_int(3, "rank")
    3
    >>> check_int(0, "rank")
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: rank=0; expected an integer >= 1
    """
    if minimum is None and maximum is None:
        bound = ""
    elif maximum is None:
        bound = f" >= {minimum}"
    elif minimum is None:
        bound = f" <= {maximum}"
    else:
        bound = f" between {minimum} and {maximum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentError(f"{name}={value!r}; expected an integer{bound}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"{name}={value}; expected an integer{bound}")
    return value


def _interval(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return "a finite number"
    if high is None and low == 0:
        return "a positive number" if low_open else "a non-negative number"
    if high is None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high:g}"
    return f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"


def check_float(value, name: str, *, low: float | None = None, high: float | None = None, low_open: bool = False,
                high_open: bool = False, unit: str | None = None, allow_none: bool = False) -> float | None:
    """``value`` as a finite float in the given interval, or an :class:`ArgumentError`.

    ``low``/``high`` bound the interval (None: unbounded), ``low_open``/``high_open``
    exclude the bounds; ``unit`` ("seconds") is named in the message; ``allow_none``
    passes None through.

    Examples
    --------
    >>> check_float(0.5, "bin_size", low=0, low_open=True, unit="seconds")
    0.5
    >>> check_float(-1, "bin_size", low=0, low_open=True, unit="seconds")
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: bin_size=-1; expected a positive number of seconds
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))
    if ok:
        ok = ((low is None or (value > low if low_open else value >= low))
              and (high is None or (value < high if high_open else value <= high)))
    if not ok:
        what = _interval(low, high, low_open, high_open)
        if unit:
            what += f" of {unit}"
        if allow_none:
            what += " or None"
        raise ArgumentError(f"{name}={value!r}; expected {what}")
    return float(value)


def check_positive(values, name: str, allow_zero: bool = False) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers > 0 (>= 0 with ``allow_zero``).

    Examples
    --------
    >>> check_positive([1, 10], "alphas")
    array([ 1., 10.])
    """
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


def check_choice(value, name: str, choices) -> str:
    """``value`` if it is one of ``choices``, or an :class:`ArgumentError` listing them.

    Examples
    --------
    >>> check_choice("r2", "metric", ("r2", "pearson"))
    'r2'
    >>> check_choice("r", "metric", ("r2", "pearson"))
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: metric='r'; expected one of ['r2', 'pearson']
    """
    choices = list(choices)
    try:
        known = value in choices
    except TypeError:  # unhashable or incomparable values
        known = False
    if not known:
        raise ArgumentError(f"{name}={value!r}; expected one of {choices}")
    return value


# --------------------------------------------------------------------------- estimators
def check_fitted(estimator, attributes, action: str = "call fit() first") -> None:
    """Raise :class:`~neurotk.NotFittedError` unless ``estimator`` has ``attributes``.

    scikit-learn's :func:`~sklearn.utils.validation.check_is_fitted` decides; the error is
    neurotk's (an :class:`~neurotk.ArgumentError` that, like scikit-learn's
    ``NotFittedError``, is also an ``AttributeError``) and says what to do.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> check_fitted(Ridge(), "coef_")
    Traceback (most recent call last):
    ...
    neurotk.errors.NotFittedError: this Ridge is not fitted yet; call fit() first
    """
    from sklearn.exceptions import NotFittedError as SklearnNotFitted
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator, attributes)
    except SklearnNotFitted:
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet; {action}") from None
