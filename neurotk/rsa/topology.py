"""Topological RSA (tRSA): geo-topological and geodesic transforms of RDMs, model selection.

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
- :func:`model_selection` is the paper's evaluation: the RDMs of several layers of several
  network instances (or regions of several subjects), each identified by leave-one-instance-
  out nearest-centroid classification; :func:`layer_rdms` builds those RDMs from
  activations.

rsatoolbox's ``rdm/transform.py`` is a second reference: on one rank-scaled RDM its
``geotopological_transform`` gives the same RGTM, except that, assigning in place, its last
step also sets to 1 the ramped values that come out above the upper quantile.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int
from ..errors import ArgumentError, NeurotkWarning, ShapeMismatchError
from ..results import Result
from ..utils import as_rng
from .comparison import compare_vectors
from .embedding import classical_coordinates
from .ranks import average_ranks
from .rdms import RDM, as_rdm, pair_index

__all__ = [
    "ModelSelection",
    "geodesic",
    "geotopological",
    "layer_rdms",
    "model_selection",
    "model_selection_accuracy",
    "topological_family",
]

_KINDS = ("rdm", "rgtm", "rgdm")
_RAMPS = ("rank", "distance")
_BELOW = ("no-edge", "zero-length")
_NORMALISE = ("rank", "max")


# --------------------------------------------------------------------------- helpers
def _check_rdm(rdm, name: str = "rdm") -> RDM:
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


def _thresholds(vectors: np.ndarray, lower, upper, quantiles: bool) -> tuple[np.ndarray, np.ndarray]:
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
    lo, up = _thresholds(vectors, lower, upper, quantiles)
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


def _warn_collapse(n_zero, n_apart, n_pairs: int, below_lower: str, stacklevel: int = 3) -> None:
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


def _selection_grid(noise_levels, lower, upper, transforms, vectors: np.ndarray):
    """The checked noise levels, threshold pairs and transforms of a model-selection run."""
    noise_levels = np.atleast_1d(np.asarray(noise_levels, dtype=float))
    if (noise_levels.ndim != 1 or noise_levels.size == 0 or not np.isfinite(noise_levels).all()
            or (noise_levels < 0).any()):
        raise ArgumentError(f"noise_levels={noise_levels.tolist()}; expected non-negative finite numbers")
    lowers = np.atleast_1d(np.asarray(lower, dtype=float))
    uppers = np.atleast_1d(np.asarray(upper, dtype=float))
    if lowers.shape != uppers.shape or lowers.ndim != 1:
        raise ShapeMismatchError(
            f"lower has {lowers.size} values and upper {uppers.size}; expected the same number (one per setting)"
        )
    for l, u in zip(lowers, uppers):
        _thresholds(vectors[:1], l, u, True)  # validates range and order
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    for t in transforms:
        check_choice(t, "transforms", _KINDS)
    return noise_levels, lowers, uppers, transforms


def _check_options(ramp="rank", below_lower="no-edge", normalise="rank"):
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
    rdm = _check_rdm(rdm)
    _check_options(ramp=ramp)
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
    rdm = _check_rdm(rdm)
    _check_options(ramp, below_lower, normalise)
    rgtm, lo, up = _rgtm(rdm.vectors, lower, upper, quantiles, ramp)
    out, n_zero, n_apart = _geodesic_vectors(rgtm, rdm.n_conditions, below_lower, normalise)
    _warn_collapse(n_zero, n_apart, rdm.n_pairs, below_lower)
    return _result(rdm, out, "rgdm", lo, up, lower, upper, quantiles, ramp=ramp, below_lower=below_lower,
                   normalise=normalise)


def _transform_vectors(vectors: np.ndarray, n: int, kind: str, lower, upper, quantiles=True, ramp="rank",
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
    rdm = _check_rdm(rdm)
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


# --------------------------------------------------------------------------- evaluation
def _distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distance vectors of a batch of patterns (n_batch, n, p) -> (n_batch, n_pairs)."""
    n = x.shape[1]
    i, j = pair_index(n)
    gram = np.einsum("bnp,bmp->bnm", x, x)
    sq = np.einsum("bnn->bn", gram)
    d2 = sq[:, i] + sq[:, j] - 2.0 * gram[:, i, j]
    return np.sqrt(np.maximum(d2, 0.0))


def model_selection_accuracy(
    model_rdms,
    noise_levels: Sequence[float] = (0.0, 0.5, 1.0, 2.0),
    n_simulations: int = 20,
    lower=0.1,
    upper=0.5,
    method: str = "spearman",
    n_channels: int | None = None,
    transforms: Sequence[str] = ("rdm", "rgtm", "rgdm"),
    random_state=None,
    ramp: str = "rank",
    below_lower: str = "no-edge",
    normalise: str = "rank",
) -> pd.DataFrame:
    """Model-identification accuracy of RDMs vs their topological transforms, simulating data.

    neurotk's own simulation, not the paper's design (that is :func:`model_selection`):
    data are simulated from each candidate model's geometry, and the candidate whose
    (transformed) RDM best matches the (transformed) data RDM is selected. Accuracy is the
    fraction of simulations in which the generating model is selected. Because the noise
    is added to the candidate geometry itself, the plain RDM is the best summary statistic
    by construction; the simulation shows what thresholding costs when nothing but
    isotropic noise separates data from model.

    Generative scheme, for each candidate RDM ``D``: classical MDS (:func:`neurotk.rsa.classical_mds`)
    embeds the conditions in the Euclidean space spanned by the positive eigenvalues, the
    coordinates are placed in ``n_channels`` channels (zero-padded), and isotropic Gaussian
    noise with standard deviation ``sigma = noise_level * sqrt(mean(D**2) / (2 *
    n_channels))`` is added, so that at ``noise_level = 1`` the expected squared noise
    displacement between two conditions equals the mean squared model dissimilarity. The
    data RDM holds the Euclidean distances of the noisy patterns. Each transform (plain
    RDM, RGTM, RGDM, with the same thresholds) is applied to the data RDM and to every
    candidate, candidates are scored with ``compare_vectors(..., method)``, and ties for
    the best score count as ``1 / n_tied`` of a correct identification (so pure guessing
    scores the chance level ``1 / n_models`` on average).

    Parameters
    ----------
    model_rdms : RDM or array-like
        Candidate RDMs (a stack of at least 2) over the same conditions.
    noise_levels : sequence of float, default (0, 0.5, 1, 2)
        Noise levels (non-negative), relative to the model dissimilarities as above.
    n_simulations : int, default 20
        Simulated data sets per candidate and noise level.
    lower, upper : float or sequence of float, default 0.1, 0.5
        Quantile thresholds of the transforms; equal-length sequences give several
        settings (one row each per noise level).
    method : str, default "spearman"
        Comparison method of :func:`neurotk.rsa.compare_vectors`.
    n_channels : int, optional
        Number of simulated measurement channels (default: the number of conditions).
    transforms : sequence of {"rdm", "rgtm", "rgdm"}
        Which summary statistics to evaluate.
    random_state : None, int or Generator
        Seed of the simulation.
    ramp, below_lower, normalise : str
        Options of the transforms (:func:`geotopological`, :func:`geodesic`).

    Returns
    -------
    DataFrame
        Tidy: ``transform``, ``lower``, ``upper`` (NaN for "rdm"), ``noise_level``,
        ``accuracy``, ``sem`` (over simulations), ``n_simulations``, ``chance``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, model_selection_accuracy
    >>> from scipy.spatial.distance import pdist
    >>> rng = np.random.default_rng(0)
    >>> models = RDM([pdist(rng.normal(size=(10, 3))) for _ in range(3)])
    >>> acc = model_selection_accuracy(models, [0.0], n_simulations=4, random_state=0)
    >>> acc[["transform", "accuracy"]].to_numpy().tolist()
    [['rdm', 1.0], ['rgtm', 1.0], ['rgdm', 1.0]]
    """
    models = _check_rdm(model_rdms, "model_rdms")
    if models.n_rdms < 2:
        raise ShapeMismatchError(f"model_rdms holds {models.n_rdms} RDM; expected at least 2 candidates")
    if models.allow_nan and np.isnan(models.vectors).any():
        raise ArgumentError("model_rdms contains NaN dissimilarities; expected complete RDMs")
    noise_levels, lowers, uppers, transforms = _selection_grid(noise_levels, lower, upper, transforms,
                                                              models.vectors)
    n_simulations = check_int(n_simulations, "n_simulations")
    _check_options(ramp, below_lower, normalise)
    options = {"ramp": ramp, "below_lower": below_lower, "normalise": normalise}
    n = models.n_conditions
    p = check_int(n_channels, "n_channels") if n_channels is not None else n
    rng = as_rng(random_state)
    n_models = models.n_rdms

    coords = []
    for v in models.vectors:
        y = classical_coordinates(v)[0]  # using all positive eigenvalues
        width = max(p, y.shape[1])
        pad = np.zeros((n, width))
        pad[:, : y.shape[1]] = y
        coords.append(pad)
    width = max(c.shape[1] for c in coords)
    coords = np.stack([np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in coords])
    scale = np.sqrt(np.mean(models.vectors**2, axis=1) / (2.0 * width))

    settings = []
    for t in transforms:
        if t == "rdm":
            settings.append((t, np.nan, np.nan))
        else:
            settings.extend((t, float(l), float(u)) for l, u in zip(lowers, uppers))
    model_t = {
        s: _transform_vectors(models.vectors, n, s[0], s[1], s[2], **options)[0] for s in settings
    }
    rows = []
    for level in noise_levels:
        noise = rng.standard_normal((n_models, n_simulations, n, width))
        data = coords[:, None] + (level * scale)[:, None, None, None] * noise
        dvec = _distances(data.reshape(n_models * n_simulations, n, width))
        truth = np.repeat(np.arange(n_models), n_simulations)
        for s in settings:
            dt = _transform_vectors(dvec, n, s[0], s[1], s[2], **options)[0]
            score = np.asarray(compare_vectors(dt, model_t[s], method), dtype=float)
            score = np.where(np.isnan(score), -np.inf, score)
            best = score >= score.max(axis=1, keepdims=True) - 1e-12
            correct = best[np.arange(truth.size), truth] / best.sum(axis=1)
            rows.append(
                {
                    "transform": s[0],
                    "lower": s[1],
                    "upper": s[2],
                    "noise_level": float(level),
                    "accuracy": float(correct.mean()),
                    "sem": float(correct.std(ddof=1) / np.sqrt(correct.size)) if correct.size > 1 else np.nan,
                    "n_simulations": n_simulations,
                    "chance": 1.0 / n_models,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the paper's design
class ModelSelection(Result):
    """Accuracy of identifying layers (or regions) across instances (or subjects), by statistic and noise.

    Returned by :func:`model_selection`.

    Attributes
    ----------
    table : DataFrame
        One row per summary statistic and noise level: ``transform`` ("rdm", "rgtm",
        "rgdm"), ``lower``, ``upper`` (NaN for "rdm"), ``noise_level``, ``accuracy`` (mean
        over noise draws), ``sem`` (over draws; 0 without noise), ``n_repeats``, ``chance``.
    accuracies : ndarray, shape (n_statistics, n_noise_levels, n_repeats)
        Leave-one-instance-out accuracy of every noise draw, statistics in the order of
        ``table``; at noise level 0 (one evaluation) the value is repeated along the last axis.
    layers, instances : list
        The labels to identify and the instances held out in turn, in sorted order.
    noise_scale : float
        The standard deviation of all input dissimilarities pooled; noise level ``s`` adds
        Gaussian noise of standard deviation ``s * noise_scale``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({"transform": ["rdm", "rdm"], "lower": np.nan, "upper": np.nan,
    ...                       "noise_level": [0.0, 1.0], "accuracy": [1.0, 0.5], "sem": [0.0, 0.1],
    ...                       "n_repeats": 2, "chance": 0.5})
    >>> ModelSelection(table, np.array([[[1.0, 1.0], [0.4, 0.6]]]), ["a", "b"], [0, 1, 2], 1.0)
    ModelSelection(1 statistic x 2 noise levels; 3 instances x 2 layers, chance 0.5)
    """

    def __init__(self, table, accuracies, layers, instances, noise_scale):
        self.table = table
        self.accuracies = accuracies
        self.layers = list(layers)
        self.instances = list(instances)
        self.noise_scale = float(noise_scale)

    def to_frame(self) -> pd.DataFrame:
        """The accuracy table (a copy)."""
        return self.table.copy()

    def plot(self, ax=None, **kwargs):
        """Accuracy against noise, one line per statistic; returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_model_selection`.
        """
        from ..plotting.rsa import plot_model_selection

        return plot_model_selection(self.to_frame(), ax=ax, **kwargs)

    def __repr__(self) -> str:
        t = self.table
        n_stats = len(t.drop_duplicates(["transform", "lower", "upper"]))
        n_levels = t["noise_level"].nunique()
        return (f"ModelSelection({n_stats} statistic{'s' if n_stats != 1 else ''} x {n_levels} noise "
                f"level{'s' if n_levels != 1 else ''}; {len(self.instances)} instances x {len(self.layers)} "
                f"layers, chance {1 / len(self.layers):.3g})")


def _group_codes(rdms: RDM, value, name: str):
    """Integer codes (sorted labels, as scikit-learn's ``classes_``) of a descriptor or array."""
    if isinstance(value, str):
        if value not in rdms.descriptors.columns:
            raise ArgumentError(
                f"{name}={value!r} is not a column of rdms.descriptors (columns: "
                f"{list(rdms.descriptors.columns)}); pass a column name or one label per RDM"
            )
        value = rdms.descriptors[value].to_numpy()
    arr = np.asarray(value)
    if arr.shape != (rdms.n_rdms,):
        raise ShapeMismatchError(f"{name} has shape {arr.shape}; expected ({rdms.n_rdms},), one label per RDM")
    codes, uniques = pd.factorize(pd.Series(arr), sort=True)
    if (codes < 0).any():
        raise ArgumentError(f"{name} has missing labels; expected one label per RDM")
    return codes, list(uniques)


def _loo_nearest_centroid(x: np.ndarray, inst: np.ndarray, lab: np.ndarray, n_inst: int, n_lab: int) -> np.ndarray:
    """Leave-one-instance-out nearest-centroid accuracy of each batch ``x`` (n_batches, n_rdms, n_pairs).

    For each instance in turn, the centroid (mean) of each label's RDMs over the other
    instances is formed, and each of the held-out instance's RDMs is assigned the label of
    the nearest centroid (Euclidean; ties to the first label, as ``argmin``). The accuracy
    is over all RDMs, as ``accuracy_score`` of the pooled predictions. A label that no
    other instance has is no candidate while its instance is held out.
    """
    cell = inst * n_lab + lab
    onehot = np.zeros((n_inst * n_lab, len(cell)))
    onehot[cell, np.arange(len(cell))] = 1.0
    counts = onehot.sum(axis=1).reshape(n_inst, n_lab)
    rest = counts.sum(axis=0)[None, :] - counts  # RDMs per label in the other instances
    absent = (rest == 0)[inst]  # (n_rdms, n_lab): labels that are no candidate
    out = np.empty(len(x))
    for b, xb in enumerate(x):  # one batch (noise draw) at a time, to bound memory
        sums = (onehot @ xb).reshape(n_inst, n_lab, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = (sums.sum(axis=0)[None] - sums) / rest[..., None]
        diff = xb[:, None, :] - centroids[inst]
        dist = np.einsum("rlp,rlp->rl", diff, diff)
        dist[absent] = np.inf
        out[b] = np.mean(np.argmin(dist, axis=1) == lab)
    return out


def layer_rdms(activations, metric: str = "correlation") -> RDM:
    """The RDM of every layer of every network instance, labelled for :func:`model_selection`.

    Parameters
    ----------
    activations : mapping
        Instance label (a network seed, a subject) -> mapping of layer (region) label ->
        responses to the same conditions: a :class:`~neurotk.Recording` (repeats of a
        condition are averaged, as :func:`neurotk.rsa.rdm` does) or an array of shape
        (n_conditions, n_units). ``DigitsNetwork.activations(images)`` gives one instance's
        mapping: ``{s: digits_network(s).activations(images) for s in seeds}``.
    metric : str, default "correlation"
        The dissimilarity of :func:`neurotk.rsa.rdm` (correlation distance, ``1 - r``, as
        Mehrer et al. 2020 used for the network instances the paper evaluates).

    Returns
    -------
    RDM
        A stack in the order of the mappings, names ``"<instance>/<layer>"``, descriptors
        ``instance`` and ``layer``.

    Raises
    ------
    ArgumentError
        An empty mapping, or an instance that is not a mapping of layers.
    ShapeMismatchError
        RDMs over different conditions.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import layer_rdms
    >>> rng = np.random.default_rng(0)
    >>> acts = {s: {"early": rng.normal(size=(6, 8)), "late": rng.normal(size=(6, 3))} for s in (1, 2)}
    >>> stack = layer_rdms(acts)
    >>> stack.names
    ['1/early', '1/late', '2/early', '2/late']
    >>> stack.descriptors["layer"].tolist()
    ['early', 'late', 'early', 'late']
    """
    from .calc import rdm as compute_rdm

    if not isinstance(activations, Mapping) or not activations:
        raise ArgumentError(
            f"activations is {type(activations).__name__}{' (empty)' if isinstance(activations, Mapping) else ''}; "
            f"expected a non-empty mapping instance -> {{layer: responses}}"
        )
    vectors, names, rows, conditions = [], [], [], None
    for inst, layers in activations.items():  # one RDM per (instance, layer), each computed with BLAS
        if not isinstance(layers, Mapping) or not layers:
            raise ArgumentError(
                f"activations[{inst!r}] is {type(layers).__name__}; expected a non-empty mapping layer -> responses"
            )
        for layer, x in layers.items():
            d = compute_rdm(x, metric=metric)
            if conditions is None:
                conditions = d.conditions
            elif len(d.conditions) != len(conditions) or not np.array_equal(d.conditions, conditions):
                raise ShapeMismatchError(
                    f"activations[{inst!r}][{layer!r}] gives an RDM over {d.n_conditions} conditions that differ "
                    f"from the first one's {len(conditions)}; expected responses to the same conditions"
                )
            vectors.append(d.vector)
            names.append(f"{inst}/{layer}")
            rows.append({"instance": inst, "layer": layer})
    return RDM(np.array(vectors), conditions, names, metric=metric, descriptors=pd.DataFrame(rows))


def model_selection(
    rdms,
    instances="instance",
    layers="layer",
    noise_levels: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4),
    n_repeats: int = 10,
    transforms: Sequence[str] = ("rdm", "rgtm", "rgdm"),
    lower=0.2,
    upper=0.8,
    ramp: str = "rank",
    below_lower: str = "no-edge",
    normalise: str = "rank",
    random_state=None,
    metric: str = "correlation",
) -> ModelSelection:
    """How well each summary statistic identifies a layer across network instances (Lin & Kriegeskorte).

    The paper's evaluation, as the authors' code runs it (doerlbh/TopologicalRSA,
    ``utils_stats.py``: ``loo_eval``; the noise of ``utils_analysis.py``'s
    ``get_dataset("cnn62_g_0p*")``). The ground truth is one layer of one network
    instance; the candidates are the same and the other layers of the other instances
    (trained from other seeds). For each instance in turn, every one of its RDMs is
    classified by nearest centroid (Euclidean distance between RDM vectors, as
    scikit-learn's ``NearestCentroid``) among the layer centroids, the mean RDM of each layer
    over the other instances; the accuracy is the fraction of all RDMs given their own
    layer. The same works for regions (``layers``) measured in subjects (``instances``).

    Noise as in the reference: Gaussian noise of standard deviation ``noise_level *
    std(all dissimilarities)`` is added to every entry of every RDM, negative values are
    set to 0, then each statistic is computed from the noisy RDMs: the RDM itself
    ("rdm", unchanged as in the reference), the RGTM (:func:`geotopological`) and the RGDM
    (:func:`geodesic`) with the same thresholds. All statistics see the same noise draws.

    Parameters
    ----------
    rdms : RDM or mapping
        A stack: the RDM of every (instance, layer), over the same conditions. Or the
        activations themselves, instance -> {layer: responses}, as :func:`layer_rdms`
        takes them (e.g. ``{s: digits_network(s).activations(images) for s in seeds}``).
    instances, layers : str or array-like, default "instance", "layer"
        Column names of ``rdms.descriptors``, or one label per RDM: the instance (network
        seed, subject) each RDM comes from, and the layer (region) to identify.
    noise_levels : sequence of float, default (0, 0.1, 0.2, 0.3, 0.4)
        Noise standard deviations in units of the pooled standard deviation of the
        dissimilarities (the reference's levels).
    n_repeats : int, default 10
        Noise draws per level (one evaluation without noise). The reference draws the
        noise once per level (and bootstraps subjects and stimuli for error bars); repeated
        draws show the spread due to the noise itself. The RGDM costs one all-pairs
        shortest-path problem (O(n_conditions^3)) per RDM and draw.
    transforms : sequence of {"rdm", "rgtm", "rgdm"}
        The statistics to evaluate.
    lower, upper : float or sequence of float, default 0.2, 0.8
        Quantile thresholds (the defaults of the reference's ``gt_transform``); equal-length
        sequences give several settings. (The paper also samples thresholds by kind, e.g.
        "topology sensitive" with both in [0.4, 0.6]; pass such settings to compare them.)
    ramp, below_lower, normalise : str
        Options of the transforms (:func:`geotopological`, :func:`geodesic`); the defaults
        are the reference's.
    random_state : None, int or Generator
        Seed of the noise.
    metric : str, default "correlation"
        The dissimilarity when ``rdms`` is a mapping of activations (:func:`layer_rdms`).

    Returns
    -------
    ModelSelection
        ``table`` of accuracies (``to_frame()``), the accuracy of every draw, a figure.

    Raises
    ------
    ShapeMismatchError
        Fewer than 2 instances or 2 layers, or labels of the wrong length.
    ArgumentError
        A negative noise level, thresholds out of range, an unknown transform or option.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurotk.rsa import RDM, model_selection
    >>> rng = np.random.default_rng(0)
    >>> layer = rng.uniform(size=(3, 15))         # each layer's own geometry
    >>> vectors = [layer[k] + 0.05 * rng.uniform(size=15) for s in range(4) for k in range(3)]
    >>> desc = pd.DataFrame({"instance": np.repeat(range(4), 3), "layer": ["a", "b", "c"] * 4})
    >>> res = model_selection(RDM(vectors, descriptors=desc), noise_levels=[0.0, 0.5],
    ...                       n_repeats=3, random_state=0)
    >>> res.to_frame().query("noise_level == 0")["accuracy"].tolist()
    [1.0, 1.0, 1.0]
    """
    if isinstance(rdms, Mapping):
        rdms = layer_rdms(rdms, metric=metric)
    rdms = _check_rdm(rdms, "rdms")
    if rdms.allow_nan and np.isnan(rdms.vectors).any():
        raise ArgumentError("rdms contains NaN dissimilarities; expected complete RDMs")
    inst, inst_names = _group_codes(rdms, instances, "instances")
    lab, lab_names = _group_codes(rdms, layers, "layers")
    if len(inst_names) < 2 or len(lab_names) < 2:
        raise ShapeMismatchError(
            f"rdms holds {len(inst_names)} instance(s) and {len(lab_names)} layer(s); expected at least "
            f"2 of each (one instance is held out, its layers identified among the others')"
        )
    noise_levels, lowers, uppers, transforms = _selection_grid(noise_levels, lower, upper, transforms,
                                                              rdms.vectors)
    n_repeats = check_int(n_repeats, "n_repeats")
    if not transforms:
        raise ArgumentError("transforms is empty; expected some of ['rdm', 'rgtm', 'rgdm']")
    _check_options(ramp, below_lower, normalise)
    options = {"ramp": ramp, "below_lower": below_lower, "normalise": normalise}
    settings = []
    for t in transforms:
        settings.extend([(t, np.nan, np.nan)] if t == "rdm" else [(t, float(l), float(u)) for l, u in zip(lowers, uppers)])

    rng = as_rng(random_state)
    vectors = rdms.vectors
    n, n_rdm, n_pairs = rdms.n_conditions, rdms.n_rdms, rdms.n_pairs
    scale = float(np.std(vectors))
    acc = np.empty((len(settings), noise_levels.size, n_repeats))
    collapse = {s: (0, 0) for s in settings}
    for k, level in enumerate(noise_levels):
        draws = 1 if level == 0 else n_repeats
        noisy = vectors[None] if level == 0 else np.maximum(
            vectors[None] + level * scale * rng.standard_normal((draws, n_rdm, n_pairs)), 0.0)
        flat = noisy.reshape(draws * n_rdm, n_pairs)
        for s_idx, s in enumerate(settings):
            out, counts = _transform_vectors(flat, n, s[0], s[1], s[2], **options)
            if counts is not None:
                collapse[s] = (max(collapse[s][0], int(counts[0].max())), max(collapse[s][1], int(counts[1].max())))
            acc[s_idx, k] = _loo_nearest_centroid(out.reshape(draws, n_rdm, n_pairs), inst, lab,
                                                  len(inst_names), len(lab_names))
    for s, (n_zero, n_apart) in collapse.items():
        if s[0] == "rgdm":
            _warn_collapse(np.array([n_zero]), np.array([n_apart]), n_pairs, below_lower)
    rows = []
    for s_idx, s in enumerate(settings):
        for k, level in enumerate(noise_levels):
            a = acc[s_idx, k, : (1 if level == 0 else n_repeats)]  # one evaluation without noise
            rows.append({
                "transform": s[0], "lower": s[1], "upper": s[2], "noise_level": float(level),
                "accuracy": float(a.mean()),
                "sem": float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0,
                "n_repeats": n_repeats if level > 0 else 1, "chance": 1.0 / len(lab_names),
            })
    return ModelSelection(pd.DataFrame(rows), acc, lab_names, inst_names, scale)
