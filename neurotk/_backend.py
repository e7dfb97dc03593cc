"""Array backends: run a computation in the library and on the device its arrays live on.

neurotk's heavy kernels (ridge regression, RDMs, the RSA bootstrap, non-negative tensor
factorisation, the affinity tensor) are written once against the `Python array API
standard <https://data-apis.org/array-api/>`_ through ``array-api-compat``, the layer
scikit-learn and SciPy use for the same purpose. A function that offers ``backend=``
works like this:

- ``backend=None`` (default): use the library of the inputs. numpy arrays, lists and
  Recordings run in numpy, exactly as before; a torch tensor or a CuPy array runs in
  torch or CuPy, on that tensor's device.
- ``backend="numpy" | "torch" | "cupy"``: convert the inputs to that library first. For
  ``"torch"`` the device is CUDA when ``torch.cuda.is_available()``, else the CPU;
  ``device=`` overrides it.
- Results come back as numpy arrays unless the function's ``return_backend=True``.

This module is the neutral place analyses share for that (DESIGN.md: what two modules
share moves to a module made for sharing).

Examples
--------
>>> import numpy as np
>>> from neurotk._backend import resolve_backend
>>> b = resolve_backend([np.ones(3)])
>>> b.name, b.is_numpy
('numpy', True)
>>> b.to_numpy(b.xp.ones(2))
array([1., 1.])
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ArgumentError, OptionalDependencyError, NonFiniteDataError, ShapeMismatchError

__all__ = ["BACKENDS", "Backend", "resolve_backend", "is_numpy_like"]

#: Accepted values of every ``backend=`` argument (``None`` means: the inputs' own library).
BACKENDS = ("numpy", "torch", "cupy")


def _compat():
    try:
        return importlib.import_module("array_api_compat")
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise OptionalDependencyError(
            "array-api-compat is needed for torch or CuPy inputs; pip install array-api-compat") from exc


def is_numpy_like(x) -> bool:
    """True when ``x`` is not an array of another array library (numpy, lists, scalars, Recordings)."""
    mod = type(x).__module__.split(".")[0]
    return mod not in ("torch", "cupy", "array_api_strict", "jax", "dask")


@dataclass(frozen=True)
class Backend:
    """One array library and device: ``xp`` is its array-API namespace.

    Attributes
    ----------
    name : str
        "numpy", "torch", "cupy" or another library's module name (e.g. "array_api_strict").
    xp : module
        The array-API compatible namespace (``array_api_compat``'s wrapper; numpy itself
        for numpy, so numpy code paths are untouched).
    device : object
        The device arrays are created on (None for numpy).
    """

    name: str
    xp: Any
    device: Any = None

    @property
    def is_numpy(self) -> bool:
        return self.name == "numpy"

    def asarray(self, x, dtype=None):
        """``x`` (numpy, list or an array of this library) as an array of this backend."""
        if self.is_numpy:
            return np.asarray(x, dtype=dtype)
        if is_numpy_like(x):
            x = np.asarray(x)
            if dtype is None:
                dtype = self.float_dtype(x.dtype)
        kwargs = {"device": self.device} if self.device is not None else {}
        if dtype is not None:
            dtype = self._dtype(dtype)
        return self.xp.asarray(x, dtype=dtype, **kwargs)

    def _dtype(self, dtype):
        if isinstance(dtype, (str, type, np.dtype)):
            return getattr(self.xp, np.dtype(dtype).name)
        return dtype

    def float_dtype(self, dtype):
        """This backend's float dtype of the same width as numpy ``dtype`` (float64 otherwise)."""
        return getattr(self.xp, "float32" if np.dtype(dtype) == np.float32 else "float64")

    def to_numpy(self, x) -> np.ndarray:
        """``x`` as a numpy array on the host (a copy when it lived on a device)."""
        if isinstance(x, np.ndarray) or self.is_numpy:
            return np.asarray(x)
        if self.name == "torch":
            return x.detach().cpu().numpy()
        if self.name == "cupy":
            return x.get()
        return np.asarray(x)

    def cpu_threads(self, n_threads: int | None):
        """A context in which torch on the CPU uses ``n_threads`` intra-op threads (restored after).

        Nothing for numpy (BLAS threads are set with threadpoolctl), for other libraries, for
        devices other than the CPU, or for ``n_threads=None``. torch's default (all cores)
        on a busy machine made one small NTF fit 35x slower (9.1 s vs 0.26 s).
        """
        import contextlib

        if n_threads is None or self.name != "torch" or getattr(self.device, "type", "cpu") != "cpu":
            return contextlib.nullcontext()

        @contextlib.contextmanager
        def limited():
            import torch

            before = torch.get_num_threads()
            torch.set_num_threads(int(n_threads))
            try:
                yield
            finally:
                torch.set_num_threads(before)

        return limited()

    def check(self, x, name: str, *, ndim: int | None = None, allow_nan: bool = False):
        """Validate an array of this backend at the door, without copying it to the host.

        The same rules as :func:`neurotk._validation.check_array`: real numbers only (no
        complex, text or booleans turned silently into numbers), the expected number of
        dimensions, no empty axis and, unless allowed, no NaN or infinite value.
        Integer arrays become float64.
        """
        xp = self.xp
        dtype = x.dtype
        if xp.isdtype(dtype, "complex floating"):
            raise ArgumentError(f"{name} is complex ({str(dtype).rsplit('.', 1)[-1]}); expected real numbers "
                                "(take the magnitude or the real part first)")
        if not xp.isdtype(dtype, ("real floating", "integral", "bool")):
            raise ArgumentError(f"{name} has dtype {dtype}; expected real numbers")
        if not xp.isdtype(dtype, "real floating"):
            x = xp.astype(x, xp.float64)
        if ndim is not None and x.ndim != ndim:
            raise ShapeMismatchError(f"{name} has shape {tuple(x.shape)}; expected a {ndim}-D array")
        if any(int(s) == 0 for s in x.shape):
            raise ShapeMismatchError(f"{name} has shape {tuple(x.shape)}; expected no empty axis")
        if not allow_nan and not bool(xp.all(xp.isfinite(x))):
            raise NonFiniteDataError(f"{name} contains NaN or infinite values; drop or impute them first")
        return x


_NUMPY = Backend("numpy", np, None)


def _named_backend(name: str, device=None) -> Backend:
    compat = _compat()
    if name == "numpy":
        return _NUMPY
    try:
        lib = importlib.import_module(name)
    except ImportError as exc:
        raise OptionalDependencyError(f"backend={name!r} needs {name}, which is not installed "
                                     f"(pip install {name})") from exc
    if name == "torch" and device is None:
        device = "cuda" if lib.cuda.is_available() else "cpu"
    if name == "torch":
        device = lib.device(device)
    if name == "cupy" and device is None:
        device = lib.cuda.Device()
    probe = lib.asarray([0.0]) if name != "torch" else lib.zeros(1)
    return Backend(name, compat.array_namespace(probe), device)


def resolve_backend(arrays: Sequence[Any], backend: str | None = None, device=None) -> Backend:
    """The backend a computation on ``arrays`` runs in.

    Parameters
    ----------
    arrays : sequence
        The inputs (numpy arrays, lists, Recordings, torch tensors, CuPy arrays ...).
    backend : {None, "numpy", "torch", "cupy"}
        None: the library of the first input that is not numpy-like (all must agree);
        numpy when every input is numpy-like. A name converts the inputs to that library.
    device : optional
        The device for ``backend="torch"``/``"cupy"`` (default: CUDA when available).

    Returns
    -------
    Backend

    Examples
    --------
    >>> import numpy as np
    >>> resolve_backend([np.zeros(2), [1, 2]]).name
    'numpy'
    """
    if backend is not None:
        if backend not in BACKENDS:
            raise ArgumentError(f"backend={backend!r}; expected one of {list(BACKENDS)} or None")
        return _named_backend(backend, device)
    foreign = [a for a in arrays if a is not None and not is_numpy_like(a)]
    if not foreign:
        return _NUMPY
    compat = _compat()
    try:
        xp = compat.array_namespace(*foreign)
    except TypeError as exc:
        kinds = sorted({type(a).__module__.split(".")[0] for a in foreign})
        raise ArgumentError(f"inputs mix array libraries {kinds}; pass arrays of one library "
                            "or choose backend=") from exc
    devices = {str(compat.device(a)) for a in foreign}
    if len(devices) > 1:
        raise ArgumentError(f"inputs are on different devices {sorted(devices)}; move them to one device")
    first = foreign[0]
    name = type(first).__module__.split(".")[0]
    return Backend(name, xp, compat.device(first))
