"""Topological RSA (tRSA): the geo-topological and geodesic transforms of RDMs.

Lin & Kriegeskorte ("The Topology and Geometry of Neural Representations", 2023) move one
step of abstraction beyond the representational geometry captured by an RDM. The
*geo-topological transform* maps each dissimilarity through a piecewise-linear function
with a lower threshold ``l`` and an upper threshold ``u``:

.. math::

    f(r) = \\begin{cases} 0 & r \\le l \\\\ (r - l) / (u - l) & l < r < u \\\\
    1 & r \\ge u \\end{cases}

Small distances (noise-dominated neighbourhoods) collapse to 0, large distances (whose
exact size is idiosyncratic) saturate at 1, and only the geometry between the thresholds
is kept. The result is the representational geo-topological matrix (RGTM). With
``l == u`` it is the binary adjacency (non-adjacency) matrix of a neighbourhood graph. The
*geodesic* variant (RGDM) replaces each entry by the shortest-path length through the
graph whose edges are the RGTM entries strictly between 0 and 1.

What neurotk computes by default is what the authors' reference code computes
(doerlbh/TopologicalRSA, ``utils_transform.py``: ``gt_transform`` and
``geodesic_transform(..., gd_type="twostep")``; ``utils_stats.py``: ``loo_eval``):

- the ramp runs over ``r``, the RDM's dissimilarities rank-transformed (ties averaged)
  and min-max scaled to [0, 1], so it is linear in rank (``ramp="rank"``;
  ``ramp="distance"`` ramps the dissimilarities themselves);
- thresholds are quantiles of each RDM's own values (rsatoolbox's
  ``geotopological_transform`` pools the quantiles over a whole stack instead);
- in the RGDM graph, pairs at or below the lower threshold (RGTM value 0) have no edge
  (``below_lower="no-edge"``; ``"zero-length"`` links them by edges of length 0), and the
  shortest-path lengths are rank-transformed (``normalise="rank"``, ties averaged, then
  ``(rank - 1) / (n_pairs - 1)`` so values lie in [0, 1]);
- the paper's evaluation (model selection by leave-one-instance-out nearest centroid) is
  in :mod:`neurotk.rsa.selection`.

rsatoolbox's ``rdm/transform.py`` is a second reference: on one rank-scaled RDM its
``geotopological_transform`` gives the same RGTM, except that, assigning in place, its last
step also sets to 1 the ramped values that come out above the upper quantile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float
from ..errors import ArgumentError, NeurotkWarning, ShapeMismatchError
from .ranks import average_ranks
from .rdms import RDM, as_rdm, pair_index

__all__ = ["geodesic", "geotopological", "topological_family"]

KINDS = ("rdm", "rgtm", "rgdm")
_RAMPS = ("rank", "distance")
_BELOW = ("no-edge", "zero-length")
_NORMALISE = ("rank", "max")


# --------------------------------------------------------------------------- helpers
def check_rdm(rdm, name: str = "rdm") -> RDM:
    """``rdm`` as an RDM of at least 3 conditions (the ``name`` argument), or a clear error."""
    rdm = as_rdm(rdm, name)
    if rdm.n_conditions < 3:
        raise ShapeMismatchError(
            f"{name} has {rdm.n_conditions} conditions; expected at least 3 for topological RSA"
        )
    return rdm


def _check_threshold(value, name: str, quantiles: bool) -> float:
    value = check_float(value, name)
    if quantiles and not 0.0 <= value <= 1.0:
        raise ArgumentError(
            f"{name}={value} is outside [0, 1]; expected a quantile of the dissimilarities "
            f"(pass quantiles=False for absolute distances)"
        )
    return value


def _row_quantiles(x: np.ndarray, qs) -> np.ndarray:
    """Quantiles (linear interpolation) of each row, NaN ignored: shape (len(qs), n_rows)."""
    if np.isnan(x).any():
        return np.nanquantile(x, qs, axis=1)  # one row at a time inside numpy
    return np.quantile(x, qs, axis=1)


def thresholds(vectors: np.ndarray, lower, upper, quantiles: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-RDM absolute thresholds (n_rdms,) for quantile or absolute ``lower``/``upper``."""
    lower = _check_threshold(lower, "lower", quantiles)
    upper = _check_threshold(upper, "upper", quantiles)
    if lower > upper:
        raise ArgumentError(f"lower={lower} is greater than upper={upper}; expected lower <= upper")
    n_rdms = vectors.shape[0]
    if not quantiles:
        return np.full(n_rdms, lower), np.full(n_rdms, upper)
    q = _row_quantiles(vectors, [lower, upper])
    return q[0], q[1]


def _gt_vectors(vectors: np.ndarray, lo: np.ndarray, up: np.ndarray) -> np.ndarray:
    """The geo-topological transform of condensed vectors (n_rdms, n_pairs), vectorised."""
    lo = lo[:, None]
    up = up[:, None]
    width = up - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        ramp = np.where(width > 0, (vectors - lo) / np.where(width > 0, width, 1.0), 0.0)
    out = np.clip(ramp, 0.0, 1.0)
    # d <= l -> 0 and d >= u -> 1; when l == u the ramp is empty: 0 at or below, 1 above
    out = np.where(vectors >= up, 1.0, out)
    out = np.where(vectors <= lo, 0.0, out)
    return np.where(np.isnan(vectors), np.nan, out)


def _rank_scale(vectors: np.ndarray) -> np.ndarray:
    """Each row ranked (ties averaged) and min-max scaled to [0, 1]; NaN stays NaN.

    NaN sorts after every number, so the ranks of the finite entries are those of the
    finite entries alone (``rankdata(..., nan_policy="omit")``). A row of equal values
    becomes 0.
    """
    missing = np.isnan(vectors)
    ranks = average_ranks(vectors)
    ranks[missing] = np.nan
    low = np.nanmin(ranks, axis=1, keepdims=True)
    span = np.nanmax(ranks, axis=1, keepdims=True) - low
    return np.where(span > 0, (ranks - low) / np.where(span > 0, span, 1.0), np.where(missing, np.nan, 0.0))


_TIE_RTOL = 1e-9  # path lengths this close (relative to the longest finite one) are equal


def _merge_near_ties(x: np.ndarray, rtol: float = _TIE_RTOL) -> np.ndarray:
    """Each row with values within ``rtol * max|finite|`` of their sorted neighbour set equal.

    Shortest-path lengths are sums of RGTM values, which lie on a grid of ranks, so
    different paths often have the same length in exact arithmetic but differ by a few ulp
    in floating point, depending on the summation order. Merging such near-ties (each
    run of neighbours closer than the tolerance takes the run's smallest value) gives
    them the average rank they have in exact arithmetic. Infinities stay infinite.
    """
    order = np.argsort(x, axis=1, kind="stable")
    xs = np.take_along_axis(x, order, axis=1)
    finite = np.isfinite(xs)
    scale = np.where(finite, np.abs(xs), 0.0).max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore"):
        gap = np.diff(xs, axis=1)  # inf - inf is NaN: infinities form one run
    new = np.ones(x.shape, dtype=bool)
    new[:, 1:] = gap > rtol * scale
    pos = np.arange(x.shape[1])
    start = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
    out = np.empty_like(x)
    np.put_along_axis(out, order, np.take_along_axis(xs, start, axis=1), axis=1)
    return out


def _rank_thresholds(vectors: np.ndarray, scaled: np.ndarray, lo: np.ndarray, up: np.ndarray):
    """Absolute distance thresholds carried onto the rank scale, RDM by RDM.

    A threshold between two observed distances lands between their scaled ranks (linear
    interpolation); below the smallest distance it is 0, above the largest 1. Pairs at
    or below (above) a threshold stay at or below (above) it on the rank scale.
    """
    lo_r, up_r = np.empty(len(vectors)), np.empty(len(vectors))
    for k, (v, r) in enumerate(zip(vectors, scaled)):  # one iteration per RDM
        finite = np.isfinite(v)
        d, first = np.unique(v[finite], return_index=True)
        s = r[finite][first]  # ties share one scaled rank
        lo_r[k], up_r[k] = np.interp([lo[k], up[k]], d, s)
    return lo_r, up_r


def _rgtm(vectors: np.ndarray, lower, upper, quantiles: bool, ramp: str):
    """The RGTM vectors and the thresholds used, in distance units (n_rdms,) each."""
    lo, up = thresholds(vectors, lower, upper, quantiles)
    if ramp == "distance":
        return _gt_vectors(vectors, lo, up), lo, up
    scaled = _rank_scale(vectors)
    if quantiles:
        q = _row_quantiles(scaled, [float(lower), float(upper)])
        lo_r, up_r = q[0], q[1]
    else:
        lo_r, up_r = _rank_thresholds(vectors, scaled, lo, up)
    return _gt_vectors(scaled, lo_r, up_r), lo, up


def _geodesic_vectors(rgtm: np.ndarray, n: int, below_lower: str = "no-edge", normalise: str = "rank"):
    """Shortest-path vectors on each RGTM's graph, and per RDM the pairs that collapse.

    Returns ``(out, n_zero, n_apart)``: the RGDM vectors, and per RDM the number of pairs at
    path length 0 and the number of pairs with no path.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    i, j = pair_index(n)
    out = np.empty_like(rgtm)
    paths_all = np.empty_like(rgtm)
    for k, w in enumerate(rgtm):  # one graph per RDM
        low = 0.0 if below_lower == "zero-length" else np.nextafter(0.0, 1.0)
        edge = np.isfinite(w) & (w < 1.0) & (w >= low)
        # a sparse graph keeps explicit zeros as zero-length edges (a dense one would not)
        graph = csr_matrix((w[edge], (i[edge], j[edge])), shape=(n, n))
        paths_all[k] = shortest_path(graph, method="FW", directed=False)[i, j]
    finite = np.isfinite(paths_all)
    n_zero = (paths_all == 0).sum(axis=1)
    n_apart = (~finite).sum(axis=1)
    if normalise == "rank":
        # the reference ranks the path lengths (rankdata: ties averaged, no path = +inf
        # shares the top ranks); (rank - 1) / (n_pairs - 1) is one affine map for every
        # RDM over these conditions, so distances between RGDMs are the reference's up to
        # one factor and no correlation or nearest-centroid decision changes
        ranks = average_ranks(_merge_near_ties(paths_all))
        out[:] = (ranks - 1.0) / max(paths_all.shape[1] - 1, 1)
    else:
        top = np.where(finite, paths_all, -np.inf).max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top) & (top > 0), top, 1.0)
        out[:] = np.where(finite, paths_all / top, 1.0)
    return out, n_zero, n_apart


def warn_collapse(n_zero, n_apart, n_pairs: int, below_lower: str, stacklevel: int = 3) -> None:
    """Warn when most pairs of an RDM share path length 0 or have no path at all."""
    worst_zero, worst_apart = int(np.max(n_zero)), int(np.max(n_apart))
    if 2 * worst_zero > n_pairs:
        warnings.warn(
            f"the RGDM collapses: {worst_zero} of {n_pairs} pairs have geodesic length 0, because "
            f"below_lower={below_lower!r} joins all pairs below the lower threshold into "
            f"zero-length components; use below_lower='no-edge' (the reference) or a lower "
            f"threshold",
            NeurotkWarning,
            stacklevel=stacklevel,
        )
    if 2 * worst_apart > n_pairs:
        warnings.warn(
            f"the RGDM collapses: {worst_apart} of {n_pairs} pairs have no path in the graph of "
            f"RGTM values strictly between 0 and 1 and share the top value; widen the band "
            f"between the lower and the upper threshold",
            NeurotkWarning,
            stacklevel=stacklevel,
        )


def check_transform_options(ramp="rank", below_lower="no-edge", normalise="rank"):
    """Check the transform options shared by the tRSA functions (a clear error on a bad one)."""
    check_choice(ramp, "ramp", _RAMPS)
    check_choice(below_lower, "below_lower", _BELOW)
    check_choice(normalise, "normalise", _NORMALISE)


def _result(rdm: RDM, vectors: np.ndarray, kind: str, lo, up, lower, upper, quantiles, **options) -> RDM:
    meta = dict(rdm.meta)
    meta.update(
        transform=kind,
        lower=float(lower),
        upper=float(upper),
        quantiles=bool(quantiles),
        lower_distance=np.asarray(lo, dtype=float).tolist(),
        upper_distance=np.asarray(up, dtype=float).tolist(),
        source_metric=rdm.metric,
        **options,
    )
    return RDM(
        vectors,
        rdm.conditions,
        rdm.names,
        metric=f"{kind}({rdm.metric})" if rdm.metric else kind,
        meta=meta,
        descriptors=rdm.descriptors,
        allow_nan=rdm.allow_nan,
    )


# --------------------------------------------------------------------------- transforms
def geotopological(rdm, lower: float, upper: float, quantiles: bool = True, ramp: str = "rank") -> RDM:
    """The geo-topological transform of an RDM: the RGTM (Lin & Kriegeskorte 2023).

    As the authors' ``gt_transform`` (doerlbh/TopologicalRSA, ``utils_transform.py``)
    computes it, by default: the dissimilarities are rank-transformed (ties get their
    average rank) and min-max scaled to ``r`` in [0, 1]; ``l`` and ``u`` are the
    ``lower`` and ``upper`` quantiles of ``r``; each entry becomes 0 for ``r <= l``, 1 for
    ``r >= u`` and ``(r - l) / (u - l)`` in between, so the ramp is linear in rank. With
    ``lower == upper`` the result is a binary graph (0: neighbours, 1: not; the entry at
    the threshold is 0, where the reference divides 0 by 0).

    Parameters
    ----------
    rdm : RDM or array-like
        One RDM or a stack. A stack is transformed RDM by RDM, with each RDM's own
        quantiles, as the authors do (rsatoolbox's ``geotopological_transform`` takes the
        quantiles of the whole stack pooled instead).
    lower, upper : float
        Thresholds ``lower <= upper``. Quantiles in [0, 1] of each RDM's off-diagonal
        dissimilarities (``np.quantile``, linear interpolation) when ``quantiles`` is True,
        otherwise absolute dissimilarities (with ``ramp="rank"`` the ramp then runs between
        the scaled ranks of those distances, interpolated between observed ones).
    quantiles : bool, default True
        Interpret ``lower`` and ``upper`` as quantiles.
    ramp : {"rank", "distance"}, default "rank"
        ``"rank"``: the reference's ramp over rank-transformed, min-max scaled
        dissimilarities. ``"distance"``: the ramp over the dissimilarities themselves,
        ``(d - l) / (u - l)`` with ``l``, ``u`` the quantiles of ``d`` (neurotk's earlier
        default). Both order the pairs identically (same Spearman or Kendall comparisons);
        they differ under Pearson or cosine comparison and under Euclidean distances between
        RGTMs. Choose ``"distance"`` to keep the size of the differences between the
        thresholds rather than only their order.

    Returns
    -------
    RDM
        The RGTM(s), values in [0, 1], same conditions, names and descriptors. The
        thresholds as distances (the ``lower`` / ``upper`` quantiles of each RDM's
        dissimilarities, or the absolute values given) are in ``meta["lower_distance"]`` /
        ``meta["upper_distance"]``; ``meta["ramp"]`` names the ramp.

    Raises
    ------
    ArgumentError
        ``lower > upper``, a quantile outside [0, 1], or an unknown ``ramp``.
    ShapeMismatchError
        Fewer than 3 conditions.

    Examples
    --------
    >>> from neurotk.rsa import RDM, geotopological
    >>> d = RDM([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    >>> geotopological(d, 0.2, 0.8).vector.round(3).tolist()  # linear in rank
    [0.0, 0.0, 0.333, 0.667, 1.0, 1.0]
    >>> geotopological(d, 0.0, 1.0).vector.tolist()         # the rank-scaled RDM
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> geotopological(d, 0.0, 1.0, ramp="distance").vector.round(3).tolist()  # min-max scaled
    [0.0, 0.032, 0.097, 0.226, 0.484, 1.0]
    >>> geotopological(d, 2.0, 8.0, quantiles=False).vector.round(3).tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    >>> geotopological(d, 2.0, 8.0, quantiles=False, ramp="distance").vector.round(3).tolist()
    [0.0, 0.0, 0.333, 1.0, 1.0, 1.0]
    """
    rdm = check_rdm(rdm)
    check_transform_options(ramp=ramp)
    out, lo, up = _rgtm(rdm.vectors, lower, upper, quantiles, ramp)
    return _result(rdm, out, "rgtm", lo, up, lower, upper, quantiles, ramp=ramp)


def geodesic(rdm, lower: float, upper: float, quantiles: bool = True, ramp: str = "rank",
             below_lower: str = "no-edge", normalise: str = "rank") -> RDM:
    """The geodesic transform of an RDM: the RGDM (Lin & Kriegeskorte 2023).

    As the authors compute it (doerlbh/TopologicalRSA, ``utils_transform.py``:
    ``geodesic_transform(gt_transform(d, l=l, u=u), gd_type="twostep")``): the RGTM
    (:func:`geotopological`) defines a weighted undirected graph over the conditions, with
    an edge of length equal to the RGTM value for every pair whose value lies strictly
    between 0 and 1. Pairs at or beyond the upper threshold (value 1) are not linked, and
    neither are pairs at or below the lower threshold (value 0: the reference builds the
    graph with ``networkx.from_numpy_array``, which makes no edge for a zero entry). Each
    entry of the RGDM is the shortest-path length between the two conditions
    (:func:`scipy.sparse.csgraph.shortest_path`, Floyd-Warshall, as the reference); the path lengths are then
    rank-transformed as the reference's ``rank_transform_after=True`` does
    (``scipy.stats.rankdata``: ties get their average rank; pairs with no path have
    length infinity and share the top ranks), and mapped to [0, 1] by ``(rank - 1) /
    (n_pairs - 1)``, the same map for every RDM over the same conditions (so Pearson
    correlations and nearest-centroid decisions are the reference's, and Euclidean
    distances between RGDMs the reference's divided by ``n_pairs - 1``). Path lengths
    equal to within 1e-9 times the longest finite one count as tied: they are sums of RGTM
    values, which lie on a grid of ranks, so different paths often have the same length
    exactly, and floating-point sums in different orders would otherwise break those ties
    by rounding error (the reference ranks its floats as they fall). A pair below the lower
    threshold is reached only through a detour, so the closest pairs can get large values
    (the closest pair never has an edge, since its RGTM value is 0 even at ``lower=0``).

    A :class:`~neurotk.NeurotkWarning` says when most pairs of an RDM collapse onto one
    value: path length 0 (``below_lower="zero-length"`` with a lower threshold above 0) or
    no path at all (a narrow band between the thresholds; always so with ``lower ==
    upper`` and ``below_lower="no-edge"``, since the graph then has no edge).

    Parameters
    ----------
    rdm : RDM or array-like
        One RDM or a stack (transformed RDM by RDM).
    lower, upper : float
        Thresholds, as for :func:`geotopological`.
    quantiles : bool, default True
        Interpret ``lower`` and ``upper`` as quantiles of each RDM's dissimilarities.
    ramp : {"rank", "distance"}, default "rank"
        The RGTM's ramp (:func:`geotopological`), which gives the edge lengths.
    below_lower : {"no-edge", "zero-length"}, default "no-edge"
        ``"no-edge"``: pairs at or below the lower threshold are not linked (the
        reference). ``"zero-length"``: they are linked by edges of length 0 (neurotk's
        earlier reading, in which the conditions below the threshold are one point): whole
        neighbourhoods then merge, and with a lower threshold above 0 most pairs may get
        length 0 (at quantiles 0.2, 0.8 of 20 standard-normal points in 4-D, 136 of 190 pairs).
    normalise : {"rank", "max"}, default "rank"
        ``"rank"``: path lengths rank-transformed (ties averaged) and divided into [0, 1]
        as above, as the reference ranks them. ``"max"``: path lengths divided by the
        largest finite one (neurotk's earlier default), keeping their ratios, and pairs
        with no path set to 1; when every finite path has length 0 nothing is divided
        (the RGDM is then the "different component" indicator).

    Returns
    -------
    RDM
        The RGDM(s), values in [0, 1]; ``meta`` records ``ramp``, ``below_lower`` and
        ``normalise``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, geodesic
    >>> x = np.array([0.0, 1.0, 3.0, 6.0, 10.0])[:, None]   # five points on a line
    >>> d = RDM.from_matrix(np.abs(x - x.T))
    >>> d.vector.tolist()
    [1.0, 3.0, 6.0, 10.0, 2.0, 5.0, 9.0, 3.0, 7.0, 4.0]
    >>> geodesic(d, 0.1, 0.6).vector.round(2).tolist()   # the closest pair (0, 1) is not linked
    [0.39, 0.17, 0.67, 1.0, 0.0, 0.39, 0.89, 0.17, 0.78, 0.56]
    >>> geodesic(d, 0.1, 0.6, ramp="distance", below_lower="zero-length", normalise="max").vector.round(2).tolist()
    [0.0, 0.03, 0.36, 1.0, 0.03, 0.36, 1.0, 0.33, 0.97, 0.64]
    """
    rdm = check_rdm(rdm)
    check_transform_options(ramp, below_lower, normalise)
    rgtm, lo, up = _rgtm(rdm.vectors, lower, upper, quantiles, ramp)
    out, n_zero, n_apart = _geodesic_vectors(rgtm, rdm.n_conditions, below_lower, normalise)
    warn_collapse(n_zero, n_apart, rdm.n_pairs, below_lower)
    return _result(rdm, out, "rgdm", lo, up, lower, upper, quantiles, ramp=ramp, below_lower=below_lower,
                   normalise=normalise)


def transform_vectors(vectors: np.ndarray, n: int, kind: str, lower, upper, quantiles=True, ramp="rank",
                       below_lower="no-edge", normalise="rank"):
    """Transformed vectors, and the collapse counts of an RGDM (None otherwise)."""
    if kind == "rdm":
        return vectors, None
    rgtm = _rgtm(vectors, lower, upper, quantiles, ramp)[0]
    if kind == "rgtm":
        return rgtm, None
    out, n_zero, n_apart = _geodesic_vectors(rgtm, n, below_lower, normalise)
    return out, (n_zero, n_apart)


def _fmt(x: float) -> str:
    return f"{float(x):g}"


def topological_family(rdm, lowers, uppers, kind: str = "rgtm", quantiles: bool = True, **options) -> RDM:
    """The geo-topological (or geodesic) transforms over a grid of thresholds.

    Every combination of a lower threshold in ``lowers`` and an upper threshold in
    ``uppers`` with ``lower <= upper`` gives one transformed RDM. Together they span the
    family from topology (``lower == upper``: graphs) to geometry (``0, 1``: the RDM).

    Parameters
    ----------
    rdm : RDM or array-like
        One RDM or a stack.
    lowers, uppers : float or sequence of float
        Threshold grids (quantiles when ``quantiles`` is True).
    kind : {"rgtm", "rgdm"}, default "rgtm"
        Geo-topological (:func:`geotopological`) or geodesic (:func:`geodesic`).
    quantiles : bool, default True
        Thresholds as quantiles of each RDM's dissimilarities.
    **options
        ``ramp`` (both kinds), ``below_lower`` and ``normalise`` (``"rgdm"``), passed to
        :func:`geotopological` or :func:`geodesic`.

    Returns
    -------
    RDM
        A stack, one RDM per (input RDM, lower, upper); names like ``"l=0.2,u=0.6"``
        (prefixed by the input name and a space for stacks), and ``descriptors`` with
        columns ``name``, ``source``, ``kind``, ``lower``, ``upper``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, topological_family
    >>> d = RDM(np.arange(1.0, 7.0))
    >>> fam = topological_family(d, [0.0, 0.5], [0.5, 1.0])
    >>> fam.names
    ['l=0,u=0.5', 'l=0,u=1', 'l=0.5,u=0.5', 'l=0.5,u=1']
    >>> fam.descriptors[["lower", "upper"]].to_numpy().tolist()[1]
    [0.0, 1.0]
    """
    rdm = check_rdm(rdm)
    check_choice(kind, "kind", ("rgtm", "rgdm"))
    lowers = np.atleast_1d(np.asarray(lowers, dtype=float))
    uppers = np.atleast_1d(np.asarray(uppers, dtype=float))
    if lowers.ndim != 1 or uppers.ndim != 1 or lowers.size == 0 or uppers.size == 0:
        raise ArgumentError("lowers and uppers must be non-empty numbers or 1-D sequences")
    grid = [(l, u) for l in lowers for u in uppers if l <= u]
    if not grid:
        raise ArgumentError(
            f"no pair of lowers {lowers.tolist()} and uppers {uppers.tolist()} has lower <= upper"
        )
    fn = geotopological if kind == "rgtm" else geodesic
    allowed = ("ramp",) if kind == "rgtm" else ("ramp", "below_lower", "normalise")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ArgumentError(f"topological_family got unexpected option(s) {unknown} for kind={kind!r}; "
                            f"expected some of {list(allowed)}")
    vectors, names, rows = [], [], []
    for l, u in grid:
        out = fn(rdm, l, u, quantiles=quantiles, **options)
        vectors.append(out.vectors)
        label = f"l={_fmt(l)},u={_fmt(u)}"
        for src in rdm.names:
            names.append(label if rdm.n_rdms == 1 else f"{src} {label}")
            rows.append({"source": src, "kind": kind, "lower": float(l), "upper": float(u)})
    vectors = np.vstack(vectors)
    # order: grid-major within each source RDM -> reorder to source-major
    order = np.arange(len(names)).reshape(len(grid), rdm.n_rdms).T.ravel()
    descriptors = pd.DataFrame(rows).iloc[order].reset_index(drop=True)
    names = [names[k] for k in order]
    descriptors.insert(0, "name", names)
    meta = dict(rdm.meta, transform=kind, quantiles=bool(quantiles), **options)
    return RDM(
        vectors[order],
        rdm.conditions,
        names,
        metric=f"{kind}({rdm.metric})" if rdm.metric else kind,
        meta=meta,
        descriptors=descriptors,
        allow_nan=rdm.allow_nan,
    )
