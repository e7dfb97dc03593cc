"""The RDM container: representational dissimilarity matrices over the same conditions.

An :class:`RDM` holds one or several dissimilarity matrices over the same conditions, as
condensed upper-triangle vectors in scipy's ``squareform`` order (row-major upper
triangle, ``np.triu_indices(n, 1)``), with condition labels, one name per matrix (area,
layer, subject ...), the metric and provenance. :func:`as_rdm` turns vectors and square
matrices into one, :func:`stack_rdms` stacks RDMs over the same conditions, and
:func:`pair_index` / :func:`n_conditions_from_pairs` translate between condensed
positions, condition pairs and the number of conditions.

RDMs are computed from responses by :func:`neurotk.rsa.rdm` (``rsa/calc.py``).

Examples
--------
>>> from neurotk.rsa import RDM
>>> RDM([1.0, 2.0, 3.0], conditions=["a", "b", "c"], names=["V1"])
RDM: 1 x 3 conditions (3 pairs), metric=None, names=[V1]
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import (
    AlignmentError,
    ArgumentError,
    DuplicateIdError,
    NonFiniteDataError,
    ShapeMismatchError,
    describe_values,
)
from .._validation import check_array
from ..results import Result
from .ranks import percentile_ranks

__all__ = ["RDM", "as_rdm", "stack_rdms", "pair_index", "n_conditions_from_pairs"]


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


class RDM(Result):
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
        if np.iscomplexobj(vectors):  # the one rule of _validation: no silent loss of an imaginary part
            check_array(vectors, "vectors", ndim=None, allow_nan=True, recording=False)
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

    # ------------------------------------------------------------------ rsatoolbox
    @classmethod
    def from_rsatoolbox(cls, rdms, conditions: str | None = None) -> RDM:
        """Build from an ``rsatoolbox.rdm.RDMs`` object (rsagroup/rsatoolbox, ``rdm/rdms.py``).

        rsatoolbox stores dissimilarities as condensed vectors in scipy's ``squareform``
        order, as neurotk does, so the values are copied as they are.

        Parameters
        ----------
        rdms : rsatoolbox.rdm.RDMs
        conditions : str, optional
            The pattern descriptor that labels the conditions: default ``"conds"`` when
            present, else ``"index"``.

        Returns
        -------
        RDM
            ``vectors`` = ``rdms.dissimilarities``; ``metric`` =
            ``rdms.dissimilarity_measure``; ``descriptors`` = ``rdms.rdm_descriptors``
            (names from its ``name`` column when present); ``meta`` = ``rdms.descriptors``
            plus ``pattern_descriptors`` (the other pattern descriptors) and
            ``conditions_descriptor`` (the one used for the labels), so that
            :meth:`to_rsatoolbox` gives the same object back.

        Examples
        --------
        >>> import numpy as np, rsatoolbox
        >>> r = rsatoolbox.rdm.RDMs(np.array([[1.0, 2.0, 3.0]]), dissimilarity_measure="euclidean",
        ...                         pattern_descriptors={"conds": ["a", "b", "c"]})
        >>> d = RDM.from_rsatoolbox(r)
        >>> d.conditions.tolist(), d.metric
        (['a', 'b', 'c'], 'euclidean')
        """
        try:
            vectors = np.asarray(rdms.dissimilarities, dtype=np.float64)
            pattern = {k: list(v) for k, v in dict(rdms.pattern_descriptors).items()}
            rdm_desc = {k: list(v) for k, v in dict(rdms.rdm_descriptors).items()}
            measure = rdms.dissimilarity_measure
            global_desc = dict(rdms.descriptors or {})
        except (AttributeError, TypeError, ValueError) as exc:
            raise ArgumentError(
                f"rdms is a {type(rdms).__name__} ({exc}); expected an rsatoolbox.rdm.RDMs object"
            ) from None
        key = conditions if conditions is not None else next((k for k in ("conds", "index") if k in pattern), None)
        if key is not None and key not in pattern:
            raise ArgumentError(f"conditions={key!r} is not a pattern descriptor of rdms; it has {sorted(pattern)}")
        labels = None if key is None else np.asarray(pattern.pop(key))
        desc = pd.DataFrame(rdm_desc) if rdm_desc else None
        names = [str(x) for x in desc["name"]] if desc is not None and "name" in desc else None
        meta = dict(global_desc, pattern_descriptors=pattern, conditions_descriptor=key)
        return cls(vectors, labels, names, measure, meta, desc, allow_nan=bool(np.isnan(vectors).any()))

    def to_rsatoolbox(self, conditions: str | None = None):
        """This stack as an ``rsatoolbox.rdm.RDMs`` object (needs rsatoolbox).

        Parameters
        ----------
        conditions : str, optional
            The pattern descriptor to hold the condition labels: default
            ``meta["conditions_descriptor"]`` (set by :meth:`from_rsatoolbox`), else
            ``"conds"``.

        Returns
        -------
        rsatoolbox.rdm.RDMs
            ``dissimilarities`` = ``vectors`` (a copy), ``dissimilarity_measure`` =
            ``metric``, ``rdm_descriptors`` = every column of ``descriptors``,
            ``pattern_descriptors`` = the labels plus ``meta["pattern_descriptors"]``,
            ``descriptors`` = the rest of ``meta``.

        Examples
        --------
        >>> d = RDM([[1.0, 2.0, 3.0]], conditions=["a", "b", "c"], names=["V1"], metric="euclidean")
        >>> r = d.to_rsatoolbox()
        >>> r.pattern_descriptors["conds"], r.rdm_descriptors["name"], r.dissimilarity_measure
        (['a', 'b', 'c'], ['V1'], 'euclidean')
        """
        from ..errors import require

        rdm_module = require("rsatoolbox.rdm", "RDM.to_rsatoolbox")
        meta = dict(self.meta)
        pattern = {k: list(v) for k, v in dict(meta.pop("pattern_descriptors", None) or {}).items()}
        key = conditions or meta.pop("conditions_descriptor", None) or "conds"
        meta.pop("conditions_descriptor", None)
        pattern = {key: self._conditions.tolist(), **{k: v for k, v in pattern.items() if k != key}}
        bad = [k for k, v in pattern.items() if len(v) != self.n_conditions]
        if bad:
            raise ShapeMismatchError(
                f"meta['pattern_descriptors'] {bad} do not have {self.n_conditions} entries, one per condition"
            )
        rdm_desc = {col: self._descriptors[col].tolist() for col in self._descriptors.columns}
        return rdm_module.RDMs(self._vectors.copy(), dissimilarity_measure=self.metric, descriptors=meta,
                               rdm_descriptors=rdm_desc, pattern_descriptors=pattern)

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

    def ranks(self) -> "RDM":
        """The dissimilarities as percentile ranks within each RDM, ``rank / n_pairs * 100``.

        RSA figures often show RDMs this way (:func:`neurotk.plotting.rsa.plot_rdm` with
        ``rank=True`` draws it): the order of the dissimilarities is kept, their scale is
        not. Ties share their average rank (:func:`scipy.stats.rankdata`); an RDM with
        missing pairs (NaN) becomes all NaN.

        Returns
        -------
        RDM
            Same conditions, names and descriptors, values in ``(0, 100]``; the metric
            becomes ``"percentile(<metric>)"`` and ``meta["transform"]`` is
            ``"percentile ranks"``.

        Examples
        --------
        >>> RDM([0.5, 0.1, 0.3, 0.1, 0.2, 0.4], metric="euclidean").ranks().vector.tolist()
        [100.0, 25.0, 66.66666666666666, 25.0, 50.0, 83.33333333333334]
        """
        meta = dict(self.meta, transform="percentile ranks")
        return RDM(percentile_ranks(self._vectors), self._conditions, self._names,
                   f"percentile({self.metric})" if self.metric else "percentile", meta, self._descriptors,
                   allow_nan=self._allow_nan)

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
        """Heatmap of one RDM (the first; ``index=k`` for another); returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_rdm`, which takes the keyword
        arguments (``index``, ``categories``, ``rank``, ``cmap``, ``title``, ``colorbar``).

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> RDM([1.0, 2.0, 3.0], names=["V1"]).plot(rank=True).get_title()
        'V1'
        """
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
    # the one validator: strings, objects and complex numbers are refused, NaN (missing pairs) kept
    arr = check_array(x, name, ndim=None, allow_nan=True, recording=False,
                      expected="an RDM, a condensed vector or square matrices of dissimilarities")
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
