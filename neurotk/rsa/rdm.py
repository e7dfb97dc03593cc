"""Representational dissimilarity matrices.

An :class:`RDM` holds one or several dissimilarity matrices over the same conditions, as
condensed upper-triangle vectors in scipy's ``squareform`` order (row-major upper
triangle, ``np.triu_indices(n, 1)``), with condition labels, one name per matrix (area,
layer, subject ...), the metric and provenance.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import (
    ArgumentError,
    DuplicateIdError,
    NonFiniteDataError,
    ShapeMismatchError,
    describe_values,
)

__all__ = ["RDM", "as_rdm", "stack_rdms", "pair_index", "n_conditions_from_pairs", "rdm", "noise_covariance", "METRICS"]


@functools.lru_cache(maxsize=32)
def _pair_index_cached(n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, 1)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def pair_index(n_conditions: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every condensed entry: ``np.triu_indices(n, 1)`` (read-only, cached).

    Examples
    --------
    >>> [a.tolist() for a in pair_index(3)]
    [[0, 0, 1], [1, 2, 2]]
    """
    return _pair_index_cached(int(n_conditions))


def n_conditions_from_pairs(n_pairs: int, name: str = "dissimilarities") -> int:
    """Number of conditions ``n`` with ``n (n - 1) / 2 == n_pairs``, or a clear error.

    Examples
    --------
    >>> n_conditions_from_pairs(6)
    4
    """
    n = int(round((1 + np.sqrt(1 + 8 * n_pairs)) / 2))
    if n * (n - 1) // 2 != n_pairs or n_pairs < 1:
        raise ShapeMismatchError(
            f"{name} has {n_pairs} entries per RDM, which is not n(n-1)/2 for any number of "
            f"conditions n; expected a condensed upper triangle (scipy squareform order)"
        )
    return n


class RDM:
    """One or several representational dissimilarity matrices over the same conditions.

    Parameters
    ----------
    vectors : array-like, shape (n_pairs,) or (n_rdms, n_pairs)
        Condensed upper triangles in scipy ``squareform`` order. Use
        :meth:`RDM.from_matrix` for square matrices.
    conditions : array-like, shape (n_conditions,), optional
        Unique condition labels (stimulus ids). Defaults to 0..n-1.
    names : sequence of str, optional
        One name per RDM (area, layer, subject ...). Defaults to "0", "1", ...
    metric : str, optional
        The dissimilarity measure, for provenance and plots.
    meta : dict, optional
        Provenance (source recording, number of channels, folds ...).
    descriptors : DataFrame or dict of columns, optional
        One row per RDM (subject, area, layer ...), for selection and tidy output.
    allow_nan : bool, default False
        Allow NaN entries (missing pairs).

    Attributes
    ----------
    vectors : ndarray (n_rdms, n_pairs), read-only
    vector : ndarray (n_pairs,) for a single RDM, else (n_rdms, n_pairs)
    matrix : ndarray (n, n) for a single RDM, else (n_rdms, n, n)

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM
    >>> d = RDM([1.0, 2.0, 3.0], conditions=["a", "b", "c"], metric="euclidean")
    >>> d.matrix
    array([[0., 1., 2.],
           [1., 0., 3.],
           [2., 3., 0.]])
    >>> d.n_conditions, d.n_rdms
    (3, 1)
    """

    def __init__(
        self,
        vectors,
        conditions=None,
        names: Sequence[str] | None = None,
        metric: str | None = None,
        meta: Mapping[str, Any] | None = None,
        descriptors=None,
        *,
        allow_nan: bool = False,
    ):
        arr = np.array(vectors, dtype=np.float64, copy=True)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ShapeMismatchError(
                f"vectors must be 1-D (n_pairs,) or 2-D (n_rdms, n_pairs); got shape "
                f"{arr.shape}. Use RDM.from_matrix for square matrices"
            )
        if arr.shape[0] == 0:
            raise ShapeMismatchError("vectors holds no RDM; expected at least one")
        n = n_conditions_from_pairs(arr.shape[1], "vectors")
        if n < 2:
            raise ShapeMismatchError("an RDM needs at least 2 conditions")
        bad = ~np.isfinite(arr) if not allow_nan else np.isinf(arr)
        if bad.any():
            k, p = np.argwhere(bad)[0]
            i, j = pair_index(n)
            raise NonFiniteDataError(
                f"vectors contains {int(bad.sum())} {'non-finite' if not allow_nan else 'infinite'} "
                f"dissimilarities (first in RDM {k}, pair ({i[p]}, {j[p]})); expected finite values"
                + ("" if allow_nan else " (pass allow_nan=True for missing pairs)")
            )
        if conditions is None:
            conditions = np.arange(n)
        conditions = np.asarray(conditions)
        if conditions.shape != (n,):
            raise ShapeMismatchError(
                f"conditions has shape {conditions.shape}; expected ({n},), one label per condition"
            )
        dup = pd.Series(conditions)
        dup = dup[dup.duplicated()]
        if len(dup):
            raise DuplicateIdError(
                f"conditions repeats labels {describe_values(pd.unique(dup))}; expected unique "
                f"condition labels (average repeats before computing the RDM)"
            )
        if names is None:
            names = [str(k) for k in range(arr.shape[0])]
        names = [str(x) for x in (names if not isinstance(names, str) else [names])]
        if len(names) != arr.shape[0]:
            raise ShapeMismatchError(f"names has {len(names)} entries for {arr.shape[0]} RDMs; expected one each")
        if descriptors is None:
            descriptors = pd.DataFrame({"name": names})
        else:
            descriptors = pd.DataFrame(descriptors).reset_index(drop=True)
            if len(descriptors) != arr.shape[0]:
                raise ShapeMismatchError(
                    f"descriptors has {len(descriptors)} rows for {arr.shape[0]} RDMs; expected one each"
                )
            if "name" not in descriptors:
                descriptors.insert(0, "name", names)
        arr.flags.writeable = False
        conditions = conditions.copy()
        conditions.flags.writeable = False
        self._vectors = arr
        self._conditions = conditions
        self._names = names
        self.metric = metric
        self.meta = dict(meta or {})
        self._descriptors = descriptors
        self._allow_nan = allow_nan

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_matrix(cls, matrix, conditions=None, names=None, metric=None, meta=None, descriptors=None, *, allow_nan=False, atol: float = 1e-8) -> "RDM":
        """Build from square matrices (n, n) or (n_rdms, n, n), checking symmetry and the diagonal.

        Examples
        --------
        >>> import numpy as np
        >>> RDM.from_matrix(np.array([[0, 1], [1, 0]])).vector.tolist()
        [1.0]
        """
        m = np.asarray(matrix, dtype=np.float64)
        if m.ndim == 2:
            m = m[None]
        if m.ndim != 3 or m.shape[1] != m.shape[2]:
            raise ShapeMismatchError(
                f"matrix must be square, (n, n) or (n_rdms, n, n); got shape {np.shape(matrix)}"
            )
        n = m.shape[1]
        with np.errstate(invalid="ignore"):
            asym = np.nanmax(np.abs(m - m.transpose(0, 2, 1))) if n > 1 else 0.0
            diag = np.nanmax(np.abs(np.diagonal(m, axis1=1, axis2=2)))
        if asym > atol * max(1.0, np.nanmax(np.abs(m))):
            raise ShapeMismatchError(f"matrix is not symmetric (largest |m - m.T| = {asym:.3g}); expected a dissimilarity matrix")
        if diag > atol * max(1.0, np.nanmax(np.abs(m))):
            raise ShapeMismatchError(f"matrix has a non-zero diagonal (largest {diag:.3g}); expected zeros")
        i, j = pair_index(n)
        return cls(m[:, i, j], conditions, names, metric, meta, descriptors, allow_nan=allow_nan)

    # ------------------------------------------------------------------ properties
    @property
    def vectors(self) -> np.ndarray:
        """Condensed dissimilarities, shape (n_rdms, n_pairs), read-only."""
        return self._vectors

    @property
    def vector(self) -> np.ndarray:
        """The condensed vector (n_pairs,) of a single RDM; (n_rdms, n_pairs) for a stack."""
        return self._vectors[0] if self.n_rdms == 1 else self._vectors

    @property
    def matrices(self) -> np.ndarray:
        """Square matrices, shape (n_rdms, n, n)."""
        n = self.n_conditions
        i, j = pair_index(n)
        out = np.zeros((self.n_rdms, n, n))
        out[:, i, j] = self._vectors
        out[:, j, i] = self._vectors
        return out

    @property
    def matrix(self) -> np.ndarray:
        """The square matrix (n, n) of a single RDM; (n_rdms, n, n) for a stack."""
        m = self.matrices
        return m[0] if self.n_rdms == 1 else m

    @property
    def conditions(self) -> np.ndarray:
        """Condition labels, shape (n_conditions,)."""
        return self._conditions

    @property
    def names(self) -> list[str]:
        """One name per RDM."""
        return list(self._names)

    @property
    def descriptors(self) -> pd.DataFrame:
        """One row per RDM (always has ``name``)."""
        return self._descriptors.copy()

    @property
    def n_rdms(self) -> int:
        return self._vectors.shape[0]

    @property
    def n_pairs(self) -> int:
        return self._vectors.shape[1]

    @property
    def n_conditions(self) -> int:
        return self._conditions.shape[0]

    @property
    def allow_nan(self) -> bool:
        return self._allow_nan

    def __len__(self) -> int:
        return self.n_rdms

    def __iter__(self):
        for k in range(self.n_rdms):
            yield self[k]

    def __getitem__(self, key) -> "RDM":
        """Select RDMs by position(s), slice, boolean mask or name(s).

        Examples
        --------
        >>> import numpy as np
        >>> s = RDM(np.ones((3, 1)), names=["V1", "V4", "IT"])
        >>> s["IT"].names, s[[0, 1]].n_rdms
        (['IT'], 2)
        """
        if isinstance(key, str) or (isinstance(key, (list, tuple)) and key and all(isinstance(k, str) for k in key)):
            wanted = [key] if isinstance(key, str) else list(key)
            missing = [k for k in wanted if k not in self._names]
            if missing:
                raise ArgumentError(f"no RDM named {describe_values(missing)}; names are {self._names}")
            idx = np.array([self._names.index(k) for k in wanted])
        elif isinstance(key, slice):
            idx = np.arange(self.n_rdms)[key]
        else:
            idx = np.atleast_1d(np.asarray(key))
            if idx.dtype == bool:
                if idx.shape != (self.n_rdms,):
                    raise ShapeMismatchError(f"mask has shape {idx.shape}; expected ({self.n_rdms},)")
                idx = np.flatnonzero(idx)
            elif idx.dtype.kind not in "iu":
                raise ArgumentError(f"cannot index RDMs with {key!r}; expected positions, a slice, a mask or names")
            if ((idx < -self.n_rdms) | (idx >= self.n_rdms)).any():
                raise ArgumentError(f"RDM positions {describe_values(idx)} out of range for {self.n_rdms} RDMs")
        if idx.size == 0:
            raise ArgumentError("selection matched no RDM")
        return RDM(
            self._vectors[idx],
            self._conditions,
            [self._names[k] for k in idx],
            self.metric,
            self.meta,
            self._descriptors.iloc[idx],
            allow_nan=self._allow_nan,
        )

    # ------------------------------------------------------------------ operations
    def subset(self, conditions) -> "RDM":
        """Keep (and reorder to) the given condition labels.

        Raises :class:`~neurotk.AlignmentError` listing labels that are missing.

        Examples
        --------
        >>> d = RDM([1.0, 2.0, 3.0], conditions=["a", "b", "c"])
        >>> d.subset(["c", "a"]).vector.tolist()
        [2.0]
        """
        from ..errors import AlignmentError

        wanted = np.asarray(conditions)
        pos = pd.Index(self._conditions).get_indexer(wanted)
        if (pos < 0).any():
            raise AlignmentError(
                f"conditions {describe_values(wanted[pos < 0])} are not in this RDM; its "
                f"conditions are {describe_values(self._conditions)}"
            )
        if len(wanted) < 2:
            raise ArgumentError("subset needs at least 2 conditions")
        i, j = pair_index(len(wanted))
        m = self.matrices[:, pos[i], pos[j]]
        return RDM(m, wanted, self._names, self.metric, self.meta, self._descriptors, allow_nan=self._allow_nan)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per RDM and pair (name, condition_1, condition_2, dissimilarity).

        Examples
        --------
        >>> RDM([1.0, 2.0, 3.0]).to_frame().shape
        (3, 4)
        """
        i, j = pair_index(self.n_conditions)
        k = np.repeat(np.arange(self.n_rdms), self.n_pairs)
        return pd.DataFrame(
            {
                "name": np.asarray(self._names, dtype=object)[k],
                "condition_1": np.tile(self._conditions[i], self.n_rdms),
                "condition_2": np.tile(self._conditions[j], self.n_rdms),
                "dissimilarity": self._vectors.ravel(),
            }
        )

    def plot(self, ax=None, **kwargs):
        """Heatmap of the (first) RDM; see :func:`neurotk.plotting.rsa.plot_rdm`."""
        from ..plotting.rsa import plot_rdm

        return plot_rdm(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        names = ", ".join(self._names[:6]) + (", ..." if self.n_rdms > 6 else "")
        return (
            f"RDM: {self.n_rdms} x {self.n_conditions} conditions ({self.n_pairs} pairs), "
            f"metric={self.metric!r}, names=[{names}]"
        )


def as_rdm(x, name: str = "rdm") -> RDM:
    """Coerce ``x`` to an :class:`RDM`.

    An RDM is returned as is; a 1-D array is one condensed vector; a 3-D array is a stack
    of square matrices; a 2-D array is a square matrix when it is square, symmetric and
    zero on the diagonal, and otherwise a stack of condensed vectors.

    Examples
    --------
    >>> import numpy as np
    >>> as_rdm(np.array([[0.0, 2.0], [2.0, 0.0]])).vector.tolist()
    [2.0]
    """
    if isinstance(x, RDM):
        return x
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 3:
        return RDM.from_matrix(arr)
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and arr.shape[0] > 1:
        if np.allclose(arr, arr.T, equal_nan=True) and np.allclose(np.diag(arr), 0):
            return RDM.from_matrix(arr)
    if arr.ndim in (1, 2):
        return RDM(arr)
    raise ShapeMismatchError(f"{name} has shape {arr.shape}; expected an RDM, a condensed vector or square matrices")


def stack_rdms(rdms: Sequence[RDM], names: Sequence[str] | None = None) -> RDM:
    """Stack RDMs over the same conditions (in the same order) into one RDM object.

    Examples
    --------
    >>> a, b = RDM([1.0], names=["V1"]), RDM([2.0], names=["IT"])
    >>> stack_rdms([a, b]).names
    ['V1', 'IT']
    """
    rdms = [as_rdm(r) for r in rdms]
    if not rdms:
        raise ArgumentError("stack_rdms needs at least one RDM")
    first = rdms[0]
    for k, r in enumerate(rdms[1:], start=1):
        if r.n_conditions != first.n_conditions or not np.array_equal(r.conditions, first.conditions):
            raise ShapeMismatchError(
                f"RDM {k} has conditions {describe_values(r.conditions)} but RDM 0 has "
                f"{describe_values(first.conditions)}; expected the same conditions in the same "
                f"order (use rdm.subset(conditions) to match them)"
            )
    vectors = np.vstack([r.vectors for r in rdms])
    all_names = [n for r in rdms for n in r.names] if names is None else list(names)
    descriptors = pd.concat([r.descriptors for r in rdms], ignore_index=True)
    descriptors["name"] = all_names if len(all_names) == len(descriptors) else descriptors["name"]
    metrics = {r.metric for r in rdms}
    return RDM(
        vectors,
        first.conditions,
        all_names,
        metrics.pop() if len(metrics) == 1 else "mixed",
        first.meta,
        descriptors,
        allow_nan=any(r.allow_nan for r in rdms),
    )


# =========================================================================== computing RDMs
#: The dissimilarity measures :func:`rdm` knows.
METRICS = ("euclidean", "sqeuclidean", "correlation", "cosine", "mahalanobis", "crossnobis", "poisson", "poisson_cv")
#: Measures that are divided by the number of channels when ``normalize`` is left at None.
_NORMALIZED_BY_DEFAULT = frozenset({"sqeuclidean", "mahalanobis", "crossnobis", "poisson", "poisson_cv"})
_CROSS_VALIDATED = frozenset({"crossnobis", "poisson_cv"})
_NOISE_METHODS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def _labels(values, n_rows: int, argument: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and the code (position in them) of every row."""
    arr = np.asarray(values)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise ShapeMismatchError(
            f"{argument} has shape {arr.shape} but x has {n_rows} measurements (rows); expected "
            f"one label per row, shape ({n_rows},)"
        )
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise ArgumentError(
            f"{argument} contains NaN labels at rows {describe_values(np.flatnonzero(np.isnan(arr)))}; "
            f"expected a label for every row"
        )
    try:
        unique, codes = np.unique(arr, return_inverse=True)
    except TypeError as exc:
        raise ArgumentError(
            f"{argument} labels cannot be sorted ({exc}); expected labels of one type "
            f"(all numbers or all strings)"
        ) from exc
    return unique, codes.reshape(-1).astype(np.intp)


def _indicator(codes: np.ndarray, n_groups: int, rows: np.ndarray | None = None):
    """Sparse (n_groups x n_rows) 0/1 matrix: entry (g, r) is 1 when row r is in group g."""
    from scipy import sparse

    n = codes.size
    if rows is None:
        rows = np.arange(n)
        values = np.ones(n)
    else:
        values = np.ones(rows.size)
        codes = codes[rows]
    return sparse.csr_matrix((values, (codes, rows)), shape=(n_groups, n))


def _group_means(x: np.ndarray, codes: np.ndarray, n_groups: int, rows: np.ndarray | None = None):
    """Means of the rows of each group (one sparse indicator product) and the row counts."""
    sel = codes if rows is None else codes[rows]
    counts = np.bincount(sel, minlength=n_groups).astype(np.float64)
    if rows is None and n_groups == x.shape[0] and np.array_equal(codes, np.arange(n_groups)):
        return x, counts  # one row per group, already in order
    sums = np.asarray(_indicator(codes, n_groups, rows) @ x)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums /= counts[:, None]
    return sums, counts


def _distances_from_gram(gram: np.ndarray, cross: bool = False) -> np.ndarray:
    """Condensed ``g_ii + g_jj - g_ij - g_ji`` from a Gram matrix, clipped at 0 unless ``cross``.

    For an ordinary Gram matrix ``g = a a^T`` this is the squared Euclidean distance; for a
    cross-validated one (``g = a b^T``) it may be negative and is not clipped. ``gram`` is
    overwritten.
    """
    from scipy.spatial.distance import squareform

    d = np.diagonal(gram).copy()
    if cross:
        gram += gram.T.copy()
    else:
        gram *= 2.0
    np.subtract(d[:, None], gram, out=gram)
    gram += d[None, :]
    np.fill_diagonal(gram, 0.0)
    out = squareform(gram, checks=False)
    if not cross:
        np.maximum(out, 0.0, out=out)
    return out


def _as_precision(noise, n_channels: int):
    """Validate a user-given precision: (p, p) matrix or (p,) diagonal."""
    prec = np.asarray(noise, dtype=np.float64)
    if prec.shape not in ((n_channels, n_channels), (n_channels,)):
        raise ShapeMismatchError(
            f"noise has shape {prec.shape} but x has {n_channels} channels; expected a precision "
            f"matrix ({n_channels}, {n_channels}) or a diagonal ({n_channels},)"
        )
    if not np.isfinite(prec).all():
        raise NonFiniteDataError("noise contains NaN or infinite values; expected a finite precision matrix")
    if prec.ndim == 2 and not np.allclose(prec, prec.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(prec).max())):
        raise ArgumentError("noise is not symmetric; expected a precision matrix (inverse noise covariance)")
    return prec


def noise_covariance(residuals, method: str = "shrinkage_diag", dof: int | None = None) -> np.ndarray:
    """Noise covariance over channels from residuals, with optional shrinkage.

    Same estimators as rsatoolbox's ``cov_from_residuals``: the residuals are centred per
    channel, ``S = R^T R / dof`` is the sample covariance, and

    - ``"full"``: ``S``;
    - ``"diag"``: ``diag(S)``;
    - ``"shrinkage_eye"``: Ledoit & Wolf (2004), ``S`` shrunk towards ``m I`` (``m`` the
      mean variance) with the optimal weight;
    - ``"shrinkage_diag"``: Schäfer & Strimmer (2005), the off-diagonal of ``S`` shrunk
      towards 0 with the optimal weight ``lambda`` in [0, 1].

    The shrinkage weights are computed from row norms and Gram products, without the
    ``p x p`` matrix of squared cross products.

    Parameters
    ----------
    residuals : array-like, shape (n_residuals, n_channels)
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}
    dof : int, optional
        Degrees of freedom; defaults to ``n_residuals - 1``. :func:`rdm` passes
        ``n_measurements - n_conditions`` (residuals around condition means).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(0).normal(size=(50, 4))
    >>> noise_covariance(r, "diag").shape
    (4, 4)
    """
    r = np.asarray(residuals, dtype=np.float64)
    if r.ndim != 2:
        raise ShapeMismatchError(f"residuals has shape {r.shape}; expected (n_residuals, n_channels)")
    if method not in _NOISE_METHODS:
        raise ArgumentError(f"noise method {method!r} is unknown; expected one of {list(_NOISE_METHODS)}")
    n, p = r.shape
    dof = n - 1 if dof is None else int(dof)
    if dof < 1 or n < 2:
        raise ArgumentError(
            f"noise estimation needs repeated measurements: {n} residuals with {dof} degrees of "
            f"freedom; expected at least 1 (measure some conditions more than once, or pass "
            f"noise= a precision matrix)"
        )
    r = r - r.mean(axis=0, keepdims=True)
    if method == "diag":
        return np.diag(np.einsum("ij,ij->j", r, r) / dof)
    s_sum = r.T @ r
    if method == "full":
        return s_sum / dof
    row4 = np.einsum("ij,ij->i", r, r)
    if method == "shrinkage_eye":
        s = s_sum / n
        s_fro2 = float(np.einsum("ij,ij->", s, s))
        b2 = (float(row4 @ row4) / n - s_fro2) / n
        m = float(np.trace(s)) / p
        s_minus = s.copy()
        s_minus.flat[:: p + 1] -= m
        d2 = float(np.einsum("ij,ij->", s_minus, s_minus))
        del s_minus
        b2 = min(d2, b2)
        out = s * ((d2 - b2) / d2)
        out.flat[:: p + 1] += b2 / d2 * m
        out *= n / dof
        return out
    # shrinkage_diag
    s = s_sum / dof
    var = np.diag(s).copy()
    if (var <= 0).any():
        bad = np.flatnonzero(var <= 0)
        raise NonFiniteDataError(
            f"channels {describe_values(bad)} have zero residual variance, so noise='shrinkage_diag' "
            f"cannot be estimated; expected every channel to vary across repeated measurements"
        )
    std = np.sqrt(var)
    z2 = (r / std) ** 2  # squared standardised residuals
    s_mean = s_sum / np.outer(std, std) / (n - 1)
    # sums over off-diagonal entries of s2_mean and s_mean**2 without the p x p s2 matrix
    zrow = z2.sum(axis=1)
    off_s2 = (float(zrow @ zrow) - float(np.einsum("ij,ij->", z2, z2))) / (n - 1)
    diag_mean = np.diagonal(s_mean)
    off_sq = float(np.einsum("ij,ij->", s_mean, s_mean)) - float(diag_mean @ diag_mean)
    off_var_hat = n / dof**2 * (off_s2 - off_sq)
    lamb = off_var_hat / off_sq if off_sq > 0 else 1.0
    lamb = max(min(lamb, 1.0), 0.0)
    out = s * (1.0 - lamb)
    out.flat[:: p + 1] = var
    return out


class _Precision:
    """Apply a noise precision (identity, diagonal, matrix, or inverse of a covariance)."""

    def __init__(self, kind: str, value=None):
        self.kind, self.value = kind, value

    @classmethod
    def from_covariance(cls, cov: np.ndarray, method: str) -> "_Precision":
        if method == "diag":
            return cls("diag", 1.0 / np.diag(cov))
        from scipy.linalg import LinAlgError, cho_factor

        try:
            return cls("cholesky", cho_factor(cov, lower=True, check_finite=False))
        except LinAlgError as exc:
            raise ArgumentError(
                f"the noise covariance estimated with noise={method!r} is singular ({exc}); "
                f"use noise='shrinkage_diag' or 'shrinkage_eye', or pass a precision matrix"
            ) from exc

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """``a @ P`` for rows ``a`` (P symmetric)."""
        if self.kind == "identity":
            return a
        if self.kind == "diag":
            return a * self.value
        if self.kind == "matrix":
            return a @ self.value
        from scipy.linalg import cho_solve

        return cho_solve(self.value, a.T, check_finite=False).T


def _precision(noise, metric: str, x, codes, n_groups, means) -> tuple[_Precision, str]:
    """The precision to use and a description for provenance."""
    if metric not in ("mahalanobis", "crossnobis"):
        if noise is not None:
            raise ArgumentError(
                f"noise is only used by metric='mahalanobis' or 'crossnobis'; got noise with "
                f"metric={metric!r}"
            )
        return _Precision("identity"), "none"
    if noise is None:
        noise = "shrinkage_diag" if metric == "mahalanobis" else "identity"
    if isinstance(noise, str):
        if noise == "identity":
            return _Precision("identity"), "identity"
        if noise not in _NOISE_METHODS:
            raise ArgumentError(
                f"noise={noise!r} is unknown; expected a precision matrix or one of "
                f"{['identity', *_NOISE_METHODS]}"
            )
        residuals = x - means[codes]
        cov = noise_covariance(residuals, noise, dof=x.shape[0] - n_groups)
        return _Precision.from_covariance(cov, noise), f"{noise} (estimated from residuals)"
    prec = _as_precision(noise, x.shape[1])
    return _Precision("diag" if prec.ndim == 1 else "matrix", prec), "given precision"


def rdm(
    x,
    metric: str = "correlation",
    conditions=None,
    folds=None,
    *,
    condition: str = "stimulus",
    noise=None,
    normalize: bool | None = None,
    prior_lambda: float = 1.0,
    prior_weight: float = 0.1,
    name: str | None = None,
) -> RDM:
    r"""Representational dissimilarity matrix of the condition patterns in ``x``.

    Repeated measurements of a condition are averaged (per fold for the cross-validated
    measures), then the dissimilarity of every pair of condition patterns is computed with
    Gram-matrix products (BLAS), with no loop over pairs or conditions.

    Parameters
    ----------
    x : Recording or array-like, shape (n_measurements, n_channels)
        Responses: rows are measurements (presentations, trials, time bins), columns are
        channels (neurons, voxels, network units).
    metric : str, default "correlation"
        One of ``"euclidean"``, ``"sqeuclidean"``, ``"correlation"``, ``"cosine"``,
        ``"mahalanobis"``, ``"crossnobis"``, ``"poisson"``, ``"poisson_cv"`` (formulas below).
    conditions : array-like of shape (n_measurements,) or str, optional
        Condition label of every row. For a Recording, None takes the ``samples`` column
        named by ``condition`` (and, if it is absent, makes every row its own condition) and
        a string names another ``samples`` column. For an array, None makes every row its own
        condition.
    folds : array-like of shape (n_measurements,) or str, optional
        Cross-validation fold (run, repeat, session) of every row, for ``"crossnobis"`` and
        ``"poisson_cv"``; a string names a ``samples`` column of a Recording. Ignored (but
        checked) by the other measures, which average all repeats.
    condition : str, default "stimulus"
        The ``samples`` column holding condition labels of a Recording.
    noise : None, str or array-like, optional
        For ``"mahalanobis"`` and ``"crossnobis"``: the noise **precision** ``P`` (inverse
        noise covariance), as a ``(n_channels, n_channels)`` matrix or its ``(n_channels,)``
        diagonal; or ``"identity"``; or an estimator, ``"shrinkage_diag"``, ``"shrinkage_eye"``,
        ``"diag"`` or ``"full"`` (see :func:`noise_covariance`), applied to the residuals of
        the measurements around their condition means (around their condition-and-fold means
        for ``"crossnobis"``) with ``n_measurements - n_groups`` degrees of freedom. Default:
        ``"shrinkage_diag"`` for ``"mahalanobis"``, ``"identity"`` for ``"crossnobis"`` (as
        rsatoolbox).
    normalize : bool, optional
        Divide by the number of channels ``p`` (the squared and divergence measures; by
        ``sqrt(p)`` for ``"euclidean"``). None (default) divides ``"sqeuclidean"``,
        ``"mahalanobis"``, ``"crossnobis"``, ``"poisson"`` and ``"poisson_cv"`` (as
        rsatoolbox does) and leaves ``"euclidean"`` as scipy's. No effect on ``"correlation"``
        and ``"cosine"``.
    prior_lambda, prior_weight : float
        Prior of the Poisson measures: rates become ``(m + prior_lambda * prior_weight) /
        (1 + prior_weight)`` (as rsatoolbox).
    name : str, optional
        Name of the RDM; defaults to the Recording's ``meta["name"]`` (else ``"0"``).

    Returns
    -------
    RDM
        Conditions in **sorted order of their labels** (``np.unique``), in ``RDM.conditions``;
        provenance (metric, n_channels, n_measurements, source, conditions column, folds,
        noise, normalize) in ``RDM.meta``.

    Notes
    -----
    With ``m_i`` the mean pattern of condition ``i`` over ``p`` channels, ``c = p`` when
    normalised and 1 otherwise:

    - ``"euclidean"``: :math:`\sqrt{\|m_i - m_j\|^2 / c}` (scipy ``pdist(..., "euclidean")``
      when not normalised).
    - ``"sqeuclidean"``: :math:`\|m_i - m_j\|^2 / c`. Normalised (default), this is what
      rsatoolbox calls ``"euclidean"``; with ``normalize=False`` it is scipy's
      ``"sqeuclidean"``.
    - ``"correlation"``: :math:`1 - r(m_i, m_j)`, Pearson correlation across channels
      (scipy ``"correlation"``, rsatoolbox ``"correlation"``).
    - ``"cosine"``: :math:`1 - m_i \cdot m_j / (\|m_i\| \|m_j\|)` (scipy ``"cosine"``).
    - ``"mahalanobis"``: squared, :math:`(m_i - m_j) P (m_i - m_j)^T / c` (rsatoolbox
      ``"mahalanobis"``).
    - ``"crossnobis"``: leave-one-fold-out, as rsatoolbox: with :math:`a^{(k)}` the means
      over all folds but ``k`` and :math:`b^{(k)}` the means in fold ``k``, the average over
      the ``K`` folds of :math:`(a^{(k)}_i - a^{(k)}_j) P (b^{(k)}_i - b^{(k)}_j)^T / c`.
      When every condition has the same number of measurements in every fold, this equals the
      average over all pairs of folds ``A != B`` of
      :math:`(m^A_i - m^A_j) P (m^B_i - m^B_j)^T / c`. Unbiased: its expected value is the
      squared distance of the true patterns, 0 for pure noise, so it can be negative.
    - ``"poisson"``: symmetrised Kullback-Leibler divergence of Poisson rates,
      :math:`\sum_k (\tilde m_{ik} - \tilde m_{jk}) (\log \tilde m_{ik} - \log \tilde m_{jk}) / c`
      with the prior-smoothed rates :math:`\tilde m` (rsatoolbox ``"poisson"``); counts must
      be non-negative.
    - ``"poisson_cv"``: the same with the rate difference from the other folds and the
      log-rate difference from the held-out fold, averaged over the folds. (rsatoolbox 0.3's
      ``"poisson_cv"`` returns only the last fold's term instead of the average.)

    Raises
    ------
    ArgumentError
        Unknown metric (the valid ones are listed), fewer than 3 conditions, cross-validation
        without at least 2 folds or with a condition missing from a fold, negative counts
        for the Poisson measures, bad ``noise``.
    ShapeMismatchError
        ``x`` not 2-D, or ``conditions`` / ``folds`` / ``noise`` not matching it.
    NonFiniteDataError
        Rows with NaN or infinite values; constant patterns for ``"correlation"`` (zero
        patterns for ``"cosine"``).

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording, rsa
    >>> x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 0.0]])
    >>> rsa.rdm(x, "euclidean", conditions=["a", "b", "c", "a"]).vector.tolist()
    [5.0, 10.0, 5.0]
    >>> rng = np.random.default_rng(0)
    >>> rec = Recording(rng.normal(size=(40, 30)), meta={"name": "V1"},
    ...                 samples={"stimulus": np.tile(np.arange(10), 4), "run": np.repeat(np.arange(4), 10)})
    >>> d = rsa.rdm(rec, "crossnobis", folds="run")
    >>> d.n_conditions, d.names, d.meta["folds"]
    (10, ['V1'], 'run')
    """
    from ..recording import Recording

    metric_in = metric
    metric = str(metric).lower() if isinstance(metric, str) else metric
    if metric not in METRICS:
        raise ArgumentError(f"metric={metric_in!r} is unknown; expected one of {list(METRICS)}")

    # ---------------------------------------------------------------- inputs
    meta: dict[str, Any] = {"metric": metric}
    if isinstance(x, Recording):
        data = np.asarray(x.data, dtype=np.float64)
        table = x._samples
        if conditions is None:
            if condition in table.columns:
                conditions, meta["conditions"] = table[condition].to_numpy(), condition
            else:
                meta["conditions"] = "rows"
        elif isinstance(conditions, str):
            if conditions not in table.columns:
                raise ArgumentError(
                    f"conditions={conditions!r}: no such column in the samples table; its columns "
                    f"are {list(table.columns)}"
                )
            meta["conditions"] = conditions
            conditions = table[conditions].to_numpy()
        else:
            meta["conditions"] = "array"
        if isinstance(folds, str):
            if folds not in table.columns:
                raise ArgumentError(
                    f"folds={folds!r}: no such column in the samples table; its columns are "
                    f"{list(table.columns)}"
                )
            meta["folds"] = folds
            folds = table[folds].to_numpy()
        source = x.name
    else:
        if isinstance(conditions, str) or isinstance(folds, str):
            raise ArgumentError(
                "conditions and folds may name samples columns only when x is a Recording; for "
                "an array pass one label per row"
            )
        try:
            data = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ArgumentError(
                f"x could not be read as numbers ({exc}); expected a Recording or an array "
                f"(n_measurements, n_channels)"
            ) from exc
        meta["conditions"] = "rows" if conditions is None else "array"
        source = None
    if data.ndim != 2 or 0 in data.shape:
        hint = " (for one channel use x[:, None])" if data.ndim == 1 else ""
        raise ShapeMismatchError(
            f"x has shape {data.shape}; expected a 2-D array (n_measurements, n_channels) with at "
            f"least one row and one column{hint}"
        )
    n_rows, n_channels = data.shape
    finite = np.isfinite(np.add.reduce(data, axis=1))  # NaN/inf propagate into row sums
    if not finite.all():
        finite = np.isfinite(data).all(axis=1)  # exact rows (a sum may overflow)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise NonFiniteDataError(
            f"x has {bad.size} rows with NaN or infinite values (rows {describe_values(bad)}); "
            f"expected finite measurements (drop those rows first)"
        )
    if conditions is None:
        labels, codes = np.arange(n_rows), np.arange(n_rows, dtype=np.intp)
    else:
        labels, codes = _labels(conditions, n_rows, "conditions")
    n_cond = labels.size
    if n_cond < 3:
        raise ArgumentError(
            f"x has {n_cond} condition(s) ({describe_values(labels)}); an RDM needs at least 3 "
            f"conditions"
        )
    if folds is not None:
        fold_labels, fold_codes = _labels(folds, n_rows, "folds")
        meta.setdefault("folds", "array")
        meta["fold_labels"] = fold_labels.tolist()
    else:
        fold_labels = fold_codes = None
        meta["folds"] = None
    if metric in ("poisson", "poisson_cv") and (data < 0).any():
        r, c = np.argwhere(data < 0)[0]
        raise ArgumentError(
            f"metric={metric!r} needs non-negative counts or rates, but x has "
            f"{int((data < 0).sum())} negative values (first at row {r}, channel {c})"
        )
    if normalize is None:
        normalize = metric in _NORMALIZED_BY_DEFAULT
    scale = float(n_channels) if normalize else 1.0

    # ---------------------------------------------------------------- dissimilarities
    if metric in _CROSS_VALIDATED:
        if fold_codes is None:
            raise ArgumentError(
                f"metric={metric!r} is cross-validated and needs folds: pass folds= one label per "
                f"row (or the name of a samples column such as 'run' or 'repeat')"
            )
        vector, noise_desc = _cross_validated(
            data, codes, n_cond, labels, fold_codes, fold_labels, metric, noise, scale,
            prior_lambda, prior_weight,
        )
    else:
        means, _ = _group_means(data, codes, n_cond)
        prec, noise_desc = _precision(noise, metric, data, codes, n_cond, means)
        vector = _plain(means, labels, metric, prec, scale, prior_lambda, prior_weight, normalize)
    meta.update(
        n_channels=n_channels, n_measurements=n_rows, source=source, noise=noise_desc,
        normalize=bool(normalize) if metric not in ("correlation", "cosine") else None,
    )
    if metric in ("poisson", "poisson_cv"):
        meta.update(prior_lambda=prior_lambda, prior_weight=prior_weight)
    rdm_name = name if name is not None else (source if source is not None else "0")
    return RDM(vector, labels, [str(rdm_name)], metric, meta)


def _plain(means, labels, metric, prec, scale, prior_lambda, prior_weight, normalize) -> np.ndarray:
    """Condensed dissimilarities of condition means (no cross-validation)."""
    if metric in ("correlation", "cosine"):
        a = means - means.mean(axis=1, keepdims=True) if metric == "correlation" else means.copy()
        norms = np.sqrt(np.einsum("ij,ij->i", a, a))
        zero = norms <= np.finfo(np.float64).tiny
        if zero.any():
            what = "constant across channels" if metric == "correlation" else "all zero"
            raise NonFiniteDataError(
                f"metric={metric!r} is undefined for conditions {describe_values(labels[zero])}, "
                f"whose patterns are {what}; expected patterns that vary"
            )
        a /= norms[:, None]
        from scipy.spatial.distance import squareform

        gram = a @ a.T
        del a
        np.subtract(1.0, gram, out=gram)
        np.fill_diagonal(gram, 0.0)
        out = squareform(gram, checks=False)
        return np.clip(out, 0.0, 2.0, out=out)
    if metric == "poisson":
        rates = (means + prior_lambda * prior_weight) / (1.0 + prior_weight)
        gram = rates @ np.log(rates).T
        return _distances_from_gram(gram, cross=True) / scale
    # euclidean, sqeuclidean, mahalanobis
    gram = means @ prec(means).T
    out = _distances_from_gram(gram) / scale
    if metric == "euclidean":
        np.sqrt(out, out=out)
    return out


def _cross_validated(x, codes, n_cond, labels, fold_codes, fold_labels, metric, noise, scale,
                     prior_lambda, prior_weight):
    """Leave-one-fold-out crossnobis / poisson_cv: one Gram product per fold, no pair loop."""
    n_folds = fold_labels.size
    if n_folds < 2:
        raise ArgumentError(
            f"metric={metric!r} needs at least 2 folds; folds has {n_folds} value(s) "
            f"({describe_values(fold_labels)})"
        )
    counts = np.zeros((n_folds, n_cond), dtype=np.int64)
    np.add.at(counts, (fold_codes, codes), 1)
    if (counts == 0).any():
        f, c = np.nonzero(counts == 0)
        pairs = [(fold_labels[a].item() if hasattr(fold_labels[a], "item") else fold_labels[a],
                  labels[b].item() if hasattr(labels[b], "item") else labels[b]) for a, b in zip(f[:10], c[:10])]
        raise ArgumentError(
            f"metric={metric!r}: {f.size} (fold, condition) combinations have no measurement, "
            f"e.g. {pairs}; expected every condition measured in every fold"
        )
    # noise precision (crossnobis): residuals around the condition-and-fold means
    if metric == "crossnobis":
        group = fold_codes * n_cond + codes
        if noise is None or (isinstance(noise, str) and noise == "identity"):
            prec, noise_desc = _Precision("identity"), "identity"
        elif isinstance(noise, str):
            means_fc, _ = _group_means(x, group, n_folds * n_cond)
            prec, noise_desc = _precision(noise, metric, x, group, n_folds * n_cond, means_fc)
            del means_fc
        else:
            prec, noise_desc = _precision(noise, metric, x, group, n_folds * n_cond, None)
    else:
        if noise is not None:
            raise ArgumentError(f"noise is only used by metric='mahalanobis' or 'crossnobis'; got metric={metric!r}")
        prec, noise_desc = None, "none"
    total_counts = counts.sum(axis=0).astype(np.float64)
    totals = np.asarray(_indicator(codes, n_cond) @ x)  # per-condition sums over all folds
    if metric == "crossnobis" and prec.kind in ("identity", "diag") and (counts == counts[0, 0]).all() \
            and (prec.kind == "identity" or (prec.value > 0).all()):
        # Balanced design (c measurements of every condition in every fold), identity or
        # diagonal precision: with fold means m_k, whitened by sqrt(P), and their sum M,
        # sum_k mean_{l != k}(m_l) m_k^T = (M M^T - sum_k m_k m_k^T) / (K - 1): K + 1
        # symmetric products (BLAS syrk), half the work of K general ones.
        root = None if prec.kind == "identity" else np.sqrt(prec.value)
        if root is not None:
            totals *= root
        acc = totals @ totals.T
        del totals
        for k in range(n_folds):  # one iteration per fold
            sums_k = np.asarray(_indicator(codes, n_cond, np.flatnonzero(fold_codes == k)) @ x)
            if root is not None:
                sums_k *= root
            acc -= sums_k @ sums_k.T
            del sums_k
        acc /= float(counts[0, 0]) ** 2 * (n_folds - 1)
        return _distances_from_gram(acc, cross=True) / (n_folds * scale), noise_desc
    acc = np.zeros((n_cond, n_cond))
    for k in range(n_folds):  # one iteration per fold
        rows = np.flatnonzero(fold_codes == k)
        sums_k = np.asarray(_indicator(codes, n_cond, rows) @ x)
        train = (totals - sums_k) / (total_counts - counts[k])[:, None]
        test = sums_k
        test /= counts[k][:, None].astype(np.float64)
        del sums_k
        if metric == "crossnobis":
            acc += train @ prec(test).T
        else:
            shift = prior_lambda * prior_weight
            train += shift
            train /= 1.0 + prior_weight
            test += shift
            test /= 1.0 + prior_weight
            acc += train @ np.log(test).T
        del train, test
    return _distances_from_gram(acc, cross=True) / (n_folds * scale), noise_desc

