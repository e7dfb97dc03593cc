"""Comparing representational dissimilarity matrices.

:func:`compare` compares every RDM of one stack with every RDM of another (many-vs-many
in one call) and :func:`compare_vectors` is the kernel underneath, working on 2-D arrays
of condensed vectors; it is the function to call in resampling loops. The inference
(:mod:`neurotk.rsa.inference`) and topological RSA (:mod:`neurotk.rsa.topology`) compare
through it, name methods through :func:`canonical_method`, and pool whitened RDMs with
:func:`whiten_vectors`.

Methods (names as in rsatoolbox, with aliases):

- ``"pearson"`` (``"corr"``): Pearson correlation of the dissimilarities;
- ``"spearman"``: Spearman correlation (Pearson correlation of average ranks);
- ``"kendall"`` (``"tau-a"``): Kendall's tau-a, (concordant - discordant) / (n(n-1)/2);
  tied pairs count zero, so a model that predicts ties is not rewarded for them
  (Nili et al. 2014);
- ``"tau-b"``: Kendall's tau-b (the tie-corrected tau of scipy);
- ``"rho-a"``: Spearman's rho-a, ``12 sum (r_a - m)(r_b - m) / (n^3 - n)`` on average
  ranks (no tie correction of the norms);
- ``"cosine"``: cosine similarity (no centring);
- ``"corr_cov"`` (``"whitened_pearson"``): Pearson correlation whitened by the
  covariance of RDM entries under i.i.d. pattern noise;
- ``"cosine_cov"`` (``"whitened_cosine"``): cosine similarity whitened the same way.

Note that ``"kendall"`` means tau-a here (as RSA practice requires for models that predict
ties), whereas rsatoolbox's ``"kendall"`` is tau-b; rsatoolbox's ``"tau-a"`` is ours.

The whitened methods use the covariance of the dissimilarity estimates under i.i.d. noise
on the patterns, ``V = (C C^T) o (C C^T)`` with ``C`` the pairwise contrast matrix
(Diedrichsen et al. 2020): the inner product is ``a^T V^{-1} b``. ``V`` is never formed:
``a^T V^{-1} b`` equals the Frobenius inner product of the double-centred second-moment
matrices ``H (-A/2) H`` and ``H (-B/2) H``, which is the weighted least-squares residual
of the entries after removing additive condition effects. With missing pairs the same
least-squares fit on the pairs present gives ``a_s^T (V_ss)^{-1} b_s`` exactly (a Schur
complement), so NaNs are handled without approximation. The small, well-conditioned
``n x n`` normal matrix of that fit is inverted once per number of conditions (and
pattern of missing pairs) and cached.

Results are NaN where a similarity is undefined: a constant RDM under pearson, spearman or
cosine (zero norm), or fewer than 2 pairs left after removing NaNs.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .._validation import check_array
from ..errors import AlignmentError, ArgumentError, NonFiniteDataError, ShapeMismatchError, describe_values
from .ranks import average_ranks
from .rdms import RDM, as_rdm, n_conditions_from_pairs, pair_index

__all__ = ["compare", "compare_vectors", "canonical_method", "whiten_vectors", "METHODS"]

#: Canonical method names and their aliases (lower case).
METHODS = {
    "pearson": ("pearson", "corr", "correlation"),
    "spearman": ("spearman",),
    "kendall": ("kendall", "tau-a", "tau_a", "kendall-tau-a"),
    "tau-b": ("tau-b", "tau_b", "kendall-tau-b"),
    "rho-a": ("rho-a", "rho_a"),
    "cosine": ("cosine",),
    "corr_cov": ("corr_cov", "whitened_pearson", "whitened_correlation", "whitened_corr"),
    "cosine_cov": ("cosine_cov", "whitened_cosine"),
}
_ALIASES = {alias: name for name, aliases in METHODS.items() for alias in aliases}

#: Elements (combinations x pairs) handled at once by the Kendall kernels.
_TAU_CHUNK_ELEMENTS = 1 << 20


def canonical_method(method) -> str:
    """The canonical name of an RDM comparison method or alias (see :data:`METHODS`).

    Case and surrounding spaces are ignored; an unknown name is an
    :class:`~neurotk.ArgumentError` listing every name and alias.

    Examples
    --------
    >>> canonical_method("Tau-A"), canonical_method("whitened_pearson")
    ('kendall', 'corr_cov')
    """
    key = str(method).strip().lower()
    if not isinstance(method, str) or key not in _ALIASES:
        raise ArgumentError(
            f"method={method!r} is not a known RDM comparison; expected one of "
            f"{sorted(_ALIASES)}"
        )
    return _ALIASES[key]


# --------------------------------------------------------------------------- helpers
def _unit_rows(x: np.ndarray, centre: bool) -> np.ndarray:
    """Rows (optionally centred) scaled to unit norm; rows of zero norm become NaN."""
    if centre:
        x = x - x.mean(axis=1, keepdims=True)
    else:
        x = x.copy()
    norm = np.sqrt(np.einsum("ij,ij->i", x, x))
    scale = np.abs(x).max(axis=1) if x.shape[1] else np.zeros(len(x))
    # a constant row leaves rounding residue after centring: treat it as zero norm
    zero = norm <= 1e-13 * np.maximum(scale, np.finfo(float).tiny) * np.sqrt(x.shape[1])
    zero |= norm == 0
    norm[zero] = np.nan
    x /= norm[:, None]
    return x


def _pearson(a, b, keep=None):
    return _unit_rows(a, True) @ _unit_rows(b, True).T


def _cosine(a, b, keep=None):
    return _unit_rows(a, False) @ _unit_rows(b, False).T


def _spearman(a, b, keep=None):
    return _pearson(average_ranks(a), average_ranks(b))


def _rho_a(a, b, keep=None):
    n = a.shape[1]
    ra = average_ranks(a)
    rb = average_ranks(b)
    ra -= (n + 1) / 2.0  # the mean of average ranks is always (n + 1) / 2
    rb -= (n + 1) / 2.0
    return (ra @ rb.T) * (12.0 / (float(n) ** 3 - n))


# ------------------------------------------------------------------ Kendall's tau
def _dense_ranks(x: np.ndarray):
    """Dense integer ranks per row (ties share a rank) and the number of tied pairs per row."""
    order = np.argsort(x, axis=1)
    xs = np.take_along_axis(x, order, axis=1)
    new = np.ones(x.shape, dtype=bool)
    new[:, 1:] = xs[:, 1:] != xs[:, :-1]
    ranks = np.empty(x.shape, dtype=np.int64)
    np.put_along_axis(ranks, order, np.cumsum(new, axis=1, dtype=np.int64) - 1, axis=1)
    return ranks, _tied_pairs_sorted(new)


def _tied_pairs_sorted(new: np.ndarray) -> np.ndarray:
    """Number of tied pairs per row, given the run starts (``new``) of sorted rows."""
    pos = np.arange(new.shape[1], dtype=np.int64)
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    return (pos - start).sum(axis=1)


def _count_inversions(arr: np.ndarray) -> np.ndarray:
    """Strict inversions (i < j, arr_i > arr_j) per row, by a vectorised bottom-up merge sort.

    ``arr`` (n_rows, n) holds non-negative integers. Each level merges sorted blocks of
    width ``w`` pairwise with a stable argsort (a linear merge for timsort); the right-half
    element of within-block order ``r`` landing at merged position ``p`` has ``p - r``
    left elements <= it, so ``w - (p - r)`` strictly greater. Rows are padded at the end,
    level by level, to a multiple of ``2 w`` with a value larger than every entry, which
    adds no inversion.
    """
    n_rows, n = arr.shape
    big = arr.max() + 1 if arr.size else 0
    inversions = np.zeros(n_rows, dtype=np.int64)
    w = 1
    while w < arr.shape[1]:
        m = -(-arr.shape[1] // (2 * w)) * (2 * w)
        if m != arr.shape[1]:
            arr = np.concatenate([arr, np.full((n_rows, m - arr.shape[1]), big, dtype=arr.dtype)], axis=1)
        blocks = arr.reshape(n_rows, m // (2 * w), 2 * w)
        idx = np.argsort(blocks, axis=2, kind="stable")
        positions = np.arange(2 * w, dtype=np.int64)
        right_positions = np.where(idx >= w, positions, 0).sum(axis=(1, 2))
        inversions += (m // (2 * w)) * (w * w + w * (w - 1) // 2) - right_positions
        arr = np.take_along_axis(blocks, idx, axis=2).reshape(n_rows, m)
        w *= 2
    return inversions


def _concordance(a: np.ndarray, b: np.ndarray):
    """(concordant - discordant, ties in a, ties in b, total pairs) for every row pair.

    Knight's algorithm, vectorised over all combinations of rows: sort each combination by
    (rank in a, rank in b); discordant pairs are then the strict inversions of the b ranks.
    Exact integer arithmetic; O(n log^2 n) per combination, in chunks of combinations.
    """
    n_a, n = a.shape
    n_b = b.shape[0]
    ra, ties_a = _dense_ranks(a)
    rb, ties_b = _dense_ranks(b)
    total = n * (n - 1) // 2
    c_minus_d = np.empty((n_a, n_b), dtype=np.int64)
    combos = n_a * n_b
    chunk = max(1, _TAU_CHUNK_ELEMENTS // max(n, 1))
    base = np.int64(n + 1)
    for start in range(0, combos, chunk):  # chunks of combinations, not pairs
        k = np.arange(start, min(combos, start + chunk))
        ia, ib = np.divmod(k, n_b)
        key = ra[ia] * base + rb[ib]
        order = np.argsort(key, axis=1)  # equal keys are identical, so order among them is moot
        skey = np.take_along_axis(key, order, axis=1)
        new = np.ones(skey.shape, dtype=bool)
        new[:, 1:] = skey[:, 1:] != skey[:, :-1]
        joint_ties = _tied_pairs_sorted(new)
        discordant = _count_inversions(skey % base)
        c_minus_d[ia, ib] = total - ties_a[ia] - ties_b[ib] + joint_ties - 2 * discordant
    return c_minus_d, ties_a, ties_b, total


def _tau_a(a, b, keep=None):
    c_minus_d, _, _, total = _concordance(a, b)
    return np.clip(c_minus_d / total, -1.0, 1.0)


def _tau_b(a, b, keep=None):
    c_minus_d, ties_a, ties_b, total = _concordance(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = np.sqrt((total - ties_a[:, None]).astype(float)) * np.sqrt((total - ties_b[None, :]).astype(float))
        return np.clip(c_minus_d / denom, -1.0, 1.0)


# ------------------------------------------------------------------ whitened methods
@functools.lru_cache(maxsize=16)
def _whitening_factor(n_conditions: int, keep_bytes: bytes | None):
    """Pairs kept, their sparse incidence and the Cholesky factor of the effect fit.

    The fit models entry ``(i, j)`` of ``-A/2`` (diagonal included, zero) by ``e_i + e_j``
    with weight 2 for each pair (it appears twice in the square matrix) and 1 for each
    diagonal entry; its normal matrix is ``2 N^T N + 4 I`` with ``N`` the pair incidence
    (one row per pair, ones at its two conditions).
    """
    import scipy.sparse

    i, j = pair_index(n_conditions)
    if keep_bytes is not None:
        keep = np.frombuffer(keep_bytes, dtype=bool)
        i, j = i[keep], j[keep]
    rows = np.arange(len(i))
    incidence = scipy.sparse.csr_matrix(
        (np.ones(2 * len(i)), (np.r_[rows, rows], np.r_[i, j])), shape=(len(i), n_conditions)
    )
    normal = 2.0 * (incidence.T @ incidence).toarray()
    normal[np.diag_indices(n_conditions)] += 4.0
    # the normal matrix is well conditioned (eigenvalues between 4 and 4n): keep its inverse,
    # so that each call costs one small matrix product
    inverse = scipy.linalg.cho_solve(scipy.linalg.cho_factor(normal, lower=True), np.eye(n_conditions))
    return i, j, incidence.T.tocsr(), inverse


def whiten_vectors(x: np.ndarray, n_conditions: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Map condensed RDM rows to vectors whose dot products are ``a^T V^{-1} b``.

    ``V`` is the covariance of the dissimilarity estimates under i.i.d. pattern noise (see
    the module docstring), so cosines of the outputs are the ``"cosine_cov"`` similarity
    and their norms the whitened norms ``sqrt(x^T V^{-1} x)``. The output holds the
    residuals of the weighted least-squares fit of additive condition effects to ``-x/2``:
    ``sqrt(2)`` times the pair residuals, then the diagonal residuals.

    Parameters
    ----------
    x : ndarray, shape (n_rows, n_kept)
        Condensed RDM vectors, restricted to the pairs in ``keep``.
    n_conditions : int
        The number of conditions of the full RDMs.
    keep : ndarray of bool, shape (n_pairs,), optional
        The pairs present (default: all of them).

    Returns
    -------
    ndarray, shape (n_rows, n_kept + n_conditions)

    Examples
    --------
    >>> a, b = np.array([[1.0, 2.0, 3.0]]), np.array([[2.0, 1.0, 3.0]])
    >>> wa, wb = whiten_vectors(a, 3), whiten_vectors(b, 3)
    >>> round(float(wa[0] @ wb[0] / np.sqrt((wa[0] @ wa[0]) * (wb[0] @ wb[0]))), 6)
    0.875
    """
    key = None if keep is None or keep.all() else np.ascontiguousarray(keep).tobytes()
    i, j, incidence_t, inverse = _whitening_factor(n_conditions, key)
    e = -0.5 * x
    rhs = 2.0 * np.asarray(incidence_t @ e.T)  # X^T W e, shape (n_conditions, n_rows)
    effects = (inverse @ rhs).T  # (n_rows, n_conditions)
    n_pairs = x.shape[1]
    out = np.empty((x.shape[0], n_pairs + n_conditions))
    np.subtract(e, effects[:, i], out=out[:, :n_pairs])
    out[:, :n_pairs] -= effects[:, j]
    out[:, :n_pairs] *= np.sqrt(2.0)
    np.multiply(effects, -2.0, out=out[:, n_pairs:])
    return out


def _whitened(centre: bool):
    def kernel(a, b, keep=None):
        n_pairs = a.shape[1] if keep is None else keep.shape[0]
        n = n_conditions_from_pairs(n_pairs, "RDM vectors")
        if centre:
            a = a - a.mean(axis=1, keepdims=True)
            b = b - b.mean(axis=1, keepdims=True)
        return _cosine(whiten_vectors(a, n, keep), whiten_vectors(b, n, keep))

    return kernel


_KERNELS = {
    "pearson": _pearson,
    "spearman": _spearman,
    "kendall": _tau_a,
    "tau-b": _tau_b,
    "rho-a": _rho_a,
    "cosine": _cosine,
    "corr_cov": _whitened(True),
    "cosine_cov": _whitened(False),
}


def _as_vectors(x, name: str) -> np.ndarray:
    # NaN marks a missing pair; infinite values are refused by compare_vectors
    arr = check_array(x, name, ndim=None, allow_nan=True, recording=False, min_shape=(None, None),
                      expected="condensed RDM vectors of shape (n_rdms, n_pairs) or (n_pairs,)")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ShapeMismatchError(
            f"{name} has shape {np.shape(x)}; expected a 2-D array (n_rdms, n_pairs) of "
            f"condensed RDM vectors (or one 1-D vector)"
        )
    return arr


def _mask_groups(missing: np.ndarray):
    """Rows grouped by their pattern of missing entries: [(mask, row indices), ...]."""
    if not missing.any(axis=1).any() or (missing == missing[0]).all():
        return [(missing[0], np.arange(missing.shape[0]))]
    patterns, inverse = np.unique(missing, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    return [(patterns[g], np.flatnonzero(inverse == g)) for g in range(len(patterns))]


# --------------------------------------------------------------------------- public
def compare_vectors(a, b, method: str = "spearman", **options) -> np.ndarray:
    """Similarity of every row of ``a`` with every row of ``b`` (condensed RDM vectors).

    The low-level kernel behind :func:`compare`, meant for resampling loops: no labels,
    no copies beyond what the method needs, all row pairs at once.

    Parameters
    ----------
    a : array-like, shape (n_a, n_pairs) or (n_pairs,)
    b : array-like, shape (n_b, n_pairs) or (n_pairs,)
        Condensed upper triangles (scipy ``squareform`` order). NaN marks a missing pair:
        each similarity uses the pairs present in both vectors (the exact whitened
        solution on that subset for the ``_cov`` methods).
    method : str, default "spearman"
        One of ``"pearson"`` (``"corr"``), ``"spearman"``, ``"kendall"`` (tau-a,
        alias ``"tau-a"``), ``"tau-b"``, ``"rho-a"``, ``"cosine"``, ``"corr_cov"``
        (``"whitened_pearson"``), ``"cosine_cov"`` (``"whitened_cosine"``).
    **options
        None are accepted at present (reserved); an unknown option is an error.

    Returns
    -------
    ndarray, shape (n_a, n_b)
        NaN where the similarity is undefined (a constant vector under pearson, spearman
        or cosine; fewer than 2 pairs in common).

    Raises
    ------
    ArgumentError
        Unknown method or option.
    ShapeMismatchError
        ``a`` and ``b`` have different numbers of pairs, or fewer than 2 pairs; a whitened
        method given vectors whose length is not ``n(n-1)/2``.
    NonFiniteDataError
        Infinite entries.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])
    >>> b = np.array([[1.0, 2.0, 3.0, 4.0, 6.0, 5.0], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    >>> compare_vectors(a, b, "spearman").round(3).tolist()
    [[0.943, -1.0]]
    >>> compare_vectors(a, b, "kendall").round(3).tolist()
    [[0.867, -1.0]]
    """
    name = canonical_method(method)
    if options:
        raise ArgumentError(
            f"compare_vectors got unknown options {describe_values(sorted(options))} for "
            f"method {name!r}; expected none"
        )
    a = _as_vectors(a, "a")
    b = _as_vectors(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ShapeMismatchError(
            f"a has {a.shape[1]} pairs per RDM but b has {b.shape[1]}; expected RDMs over the "
            f"same number of conditions"
        )
    if a.shape[1] < 2:
        raise ShapeMismatchError(
            f"RDM vectors have {a.shape[1]} pair; expected at least 3 conditions (3 pairs)"
        )
    kernel = _KERNELS[name]
    missing_a = np.isnan(a)
    missing_b = np.isnan(b)
    any_a, any_b = missing_a.any(), missing_b.any()
    for arr, label, miss in ((a, "a", missing_a), (b, "b", missing_b)):
        if np.isinf(arr).any():
            raise NonFiniteDataError(
                f"{label} contains {int(np.isinf(arr).sum())} infinite dissimilarities; "
                f"expected finite values (NaN marks a missing pair)"
            )
    if not (any_a or any_b):
        return kernel(a, b, None)
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    for mask_a, rows_a in _mask_groups(missing_a):
        for mask_b, rows_b in _mask_groups(missing_b):
            keep = ~(mask_a | mask_b)
            if keep.sum() < 2:
                continue
            sub = kernel(a[np.ix_(rows_a, keep)], b[np.ix_(rows_b, keep)], keep)
            out[np.ix_(rows_a, rows_b)] = sub
    return out


def _matched(a: RDM, b: RDM) -> RDM:
    """``b`` with its conditions in ``a``'s order, or an AlignmentError naming the differences."""
    if a.n_conditions == b.n_conditions and np.array_equal(a.conditions, b.conditions):
        return b
    ia, ib = pd.Index(a.conditions), pd.Index(b.conditions)
    missing = ia.difference(ib, sort=False) if hasattr(ia, "difference") else []
    extra = ib.difference(ia, sort=False)
    if len(missing) or len(extra):
        raise AlignmentError(
            f"a and b are RDMs over different conditions: b lacks {len(missing)} of a's "
            f"conditions {describe_values(list(missing))} and has {len(extra)} that a lacks "
            f"{describe_values(list(extra))}; expected the same condition labels (use "
            f"rdm.subset(labels) to compare the shared conditions)"
        )
    return b.subset(a.conditions)


def compare(a, b, method: str = "spearman", **options):
    """Compare every RDM in ``a`` with every RDM in ``b``.

    Parameters
    ----------
    a, b : RDM or array-like
        RDMs (one or a stack), or anything :func:`~neurotk.rsa.as_rdm` accepts (a condensed
        vector, a square matrix, a stack of either). Both must be over the same conditions:
        the same labels in the same order, or the same labels in another order (``b`` is
        then reordered to ``a``'s).
    method : str, default "spearman"
        ``"pearson"`` (``"corr"``), ``"spearman"``, ``"kendall"`` (Kendall's tau-a, alias
        ``"tau-a"``: tied pairs count zero, recommended when a model predicts ties),
        ``"tau-b"``, ``"rho-a"``, ``"cosine"``, ``"corr_cov"`` (``"whitened_pearson"``),
        ``"cosine_cov"`` (``"whitened_cosine"``). See :mod:`neurotk.rsa.comparison`.
    **options
        Passed to :func:`compare_vectors` (none at present).

    Returns
    -------
    float or ndarray (n_a, n_b)
        A float when ``a`` and ``b`` each hold one RDM, else one similarity per pair of RDMs.

    Raises
    ------
    AlignmentError
        The condition labels differ (the message lists the differences).
    ShapeMismatchError
        Fewer than 3 conditions.
    ArgumentError
        Unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, compare
    >>> brain = RDM([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], conditions=list("abcd"))
    >>> layers = RDM([[1.0, 2.0, 3.0, 4.0, 6.0, 5.0], [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]],
    ...              conditions=list("abcd"), names=["conv1", "fc"])
    >>> compare(brain, layers, method="pearson").round(3)
    array([[ 0.943, -1.   ]])
    >>> float(round(compare(brain, layers["conv1"], method="kendall"), 3))
    0.867
    """
    canonical_method(method)
    ra = as_rdm(a, "a")
    rb = as_rdm(b, "b")
    for label, r in (("a", ra), ("b", rb)):
        if r.n_conditions < 3:
            raise ShapeMismatchError(
                f"{label} is an RDM over {r.n_conditions} conditions; expected at least 3 "
                f"(a comparison needs at least 3 dissimilarities)"
            )
    rb = _matched(ra, rb)
    out = compare_vectors(ra.vectors, rb.vectors, method, **options)
    if ra.n_rdms == 1 and rb.n_rdms == 1:
        return float(out[0, 0])
    return out

