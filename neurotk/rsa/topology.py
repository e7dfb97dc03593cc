"""Topological RSA (tRSA): geo-topological and geodesic transforms of RDMs.

Lin & Kriegeskorte ("The Topology and Geometry of Neural Representations", 2023) move one
step of abstraction beyond the representational geometry captured by an RDM. The
*geo-topological transform* maps each dissimilarity ``d`` through a piecewise-linear
function with a lower threshold ``l`` and an upper threshold ``u``:

.. math::

    f(d) = \\begin{cases} 0 & d \\le l \\\\ (d - l) / (u - l) & l < d < u \\\\
    1 & d \\ge u \\end{cases}

Small distances (noise-dominated neighbourhoods) collapse to 0, large distances (whose
exact size is idiosyncratic) saturate at 1, and only the geometry between the thresholds
is kept. The result is the representational geo-topological matrix (RGTM). With
``l == u`` it is the binary adjacency (non-adjacency) matrix of a neighbourhood graph; with
``l = min`` and ``u = max`` it is the min-max normalised RDM. The *geodesic* variant
(RGDM) replaces each entry by the shortest-path length through the graph whose edges are
the RGTM entries below 1.

Thresholds are given, by default, as quantiles of each RDM's own off-diagonal
dissimilarities, so one setting means the same thing for RDMs on different scales.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int
from ..errors import ArgumentError, ShapeMismatchError
from ..utils import as_rng
from .comparison import compare_vectors
from .embedding import classical_coordinates
from .rdms import RDM, as_rdm, pair_index

__all__ = ["geotopological", "geodesic", "topological_family", "model_selection_accuracy"]

_KINDS = ("rdm", "rgtm", "rgdm")


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


def _thresholds(vectors: np.ndarray, lower, upper, quantiles: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-RDM absolute thresholds (n_rdms,) for quantile or absolute ``lower``/``upper``."""
    lower = _check_threshold(lower, "lower", quantiles)
    upper = _check_threshold(upper, "upper", quantiles)
    if lower > upper:
        raise ArgumentError(f"lower={lower} is greater than upper={upper}; expected lower <= upper")
    n_rdms = vectors.shape[0]
    if not quantiles:
        return np.full(n_rdms, lower), np.full(n_rdms, upper)
    q = np.nanquantile(vectors, [lower, upper], axis=1)
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


def _geodesic_vectors(rgtm: np.ndarray, n: int) -> np.ndarray:
    """Normalised shortest-path lengths on the graphs of RGTM entries below 1."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import shortest_path

    i, j = pair_index(n)
    out = np.empty_like(rgtm)
    for k, w in enumerate(rgtm):
        edge = np.isfinite(w) & (w < 1.0)
        # a sparse graph keeps explicit zeros as zero-length edges (a dense one would not)
        graph = csr_matrix((w[edge], (i[edge], j[edge])), shape=(n, n))
        paths = shortest_path(graph, method="D", directed=False)[i, j]
        finite = np.isfinite(paths)
        top = paths[finite].max() if finite.any() else 0.0
        if top > 0:
            paths = paths / top
        paths[~finite] = 1.0
        out[k] = paths
    return out


def _result(rdm: RDM, vectors: np.ndarray, kind: str, lo, up, lower, upper, quantiles) -> RDM:
    meta = dict(rdm.meta)
    meta.update(
        transform=kind,
        lower=float(lower),
        upper=float(upper),
        quantiles=bool(quantiles),
        lower_distance=np.asarray(lo, dtype=float).tolist(),
        upper_distance=np.asarray(up, dtype=float).tolist(),
        source_metric=rdm.metric,
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
def geotopological(rdm, lower: float, upper: float, quantiles: bool = True) -> RDM:
    """The geo-topological transform of an RDM: the RGTM (Lin & Kriegeskorte 2023).

    Each dissimilarity ``d`` becomes 0 for ``d <= l``, 1 for ``d >= u`` and
    ``(d - l) / (u - l)`` in between. With ``lower == upper`` the result is a binary graph
    (0: neighbours, 1: not); with quantiles ``lower=0, upper=1`` it is the min-max
    normalised RDM.

    Parameters
    ----------
    rdm : RDM or array-like
        One RDM or a stack; a stack is transformed RDM by RDM (per-RDM quantiles).
    lower, upper : float
        Thresholds ``l <= u``. Quantiles in [0, 1] of each RDM's off-diagonal
        dissimilarities (``np.quantile``, linear interpolation) when ``quantiles`` is True,
        otherwise absolute dissimilarities.
    quantiles : bool, default True
        Interpret ``lower`` and ``upper`` as quantiles.

    Returns
    -------
    RDM
        The RGTM(s), values in [0, 1], same conditions, names and descriptors; the absolute
        thresholds used are in ``meta["lower_distance"]`` / ``meta["upper_distance"]``.

    Raises
    ------
    ArgumentError
        ``lower > upper``, or a quantile outside [0, 1].
    ShapeMismatchError
        Fewer than 3 conditions.

    Examples
    --------
    >>> from neurotk.rsa import RDM, geotopological
    >>> d = RDM([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    >>> geotopological(d, 2.0, 4.0, quantiles=False).vector.tolist()
    [0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    >>> geotopological(d, 0.0, 1.0).vector.tolist()  # min-max normalised
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    rdm = _check_rdm(rdm)
    lo, up = _thresholds(rdm.vectors, lower, upper, quantiles)
    return _result(rdm, _gt_vectors(rdm.vectors, lo, up), "rgtm", lo, up, lower, upper, quantiles)


def geodesic(rdm, lower: float, upper: float, quantiles: bool = True) -> RDM:
    """The geodesic transform of an RDM: the RGDM (Lin & Kriegeskorte 2023).

    The RGTM (:func:`geotopological`) defines a weighted undirected graph over the
    conditions: every pair with an RGTM value below 1 is an edge whose length is that
    value (pairs at or beyond the upper threshold are not connected; pairs below the lower
    threshold are zero-length edges). Each entry of the RGDM is the shortest-path length
    between the two conditions (:func:`scipy.sparse.csgraph.shortest_path`, Dijkstra),
    divided by the largest finite shortest-path length of that RDM, so values lie in
    [0, 1]. Pairs in different connected components get the maximum value 1. When all
    finite paths have length 0 (``lower == upper``) no division takes place: the RGDM is
    then the binary "different component" indicator.

    Parameters
    ----------
    rdm : RDM or array-like
        One RDM or a stack (transformed RDM by RDM).
    lower, upper : float
        Thresholds, as for :func:`geotopological`.
    quantiles : bool, default True
        Interpret ``lower`` and ``upper`` as quantiles of each RDM's dissimilarities.

    Returns
    -------
    RDM
        The RGDM(s), values in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, geodesic
    >>> x = np.arange(4.0)[:, None]                 # four points on a line
    >>> d = RDM.from_matrix(np.abs(x - x.T))
    >>> d.vector.tolist()
    [1.0, 2.0, 3.0, 1.0, 2.0, 1.0]
    >>> geodesic(d, 0.0, 1.5, quantiles=False).vector.tolist()  # hops along the chain
    [0.3333333333333333, 0.6666666666666666, 1.0, 0.3333333333333333, 0.6666666666666666, 0.3333333333333333]
    """
    rdm = _check_rdm(rdm)
    lo, up = _thresholds(rdm.vectors, lower, upper, quantiles)
    rgtm = _gt_vectors(rdm.vectors, lo, up)
    out = _geodesic_vectors(rgtm, rdm.n_conditions)
    return _result(rdm, out, "rgdm", lo, up, lower, upper, quantiles)


def _transform_vectors(vectors: np.ndarray, n: int, kind: str, lower, upper, quantiles=True) -> np.ndarray:
    if kind == "rdm":
        return vectors
    lo, up = _thresholds(vectors, lower, upper, quantiles)
    rgtm = _gt_vectors(vectors, lo, up)
    return rgtm if kind == "rgtm" else _geodesic_vectors(rgtm, n)


def _fmt(x: float) -> str:
    return f"{float(x):g}"


def topological_family(rdm, lowers, uppers, kind: str = "rgtm", quantiles: bool = True) -> RDM:
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
    vectors, names, rows = [], [], []
    for l, u in grid:
        out = fn(rdm, l, u, quantiles=quantiles)
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
    meta = dict(rdm.meta, transform=kind, quantiles=bool(quantiles))
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
) -> pd.DataFrame:
    """Model-identification accuracy of RDMs vs their topological transforms under noise.

    The evaluation of Lin & Kriegeskorte (2023) in a self-contained form: data are
    simulated from each candidate model, and the candidate whose (transformed) RDM best
    matches the (transformed) data RDM is selected. Accuracy is the fraction of
    simulations in which the generating model is selected.

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
    noise_levels = np.atleast_1d(np.asarray(noise_levels, dtype=float))
    if noise_levels.ndim != 1 or noise_levels.size == 0 or (noise_levels < 0).any() or not np.isfinite(noise_levels).all():
        raise ArgumentError(f"noise_levels={noise_levels.tolist()}; expected non-negative finite numbers")
    n_simulations = check_int(n_simulations, "n_simulations")
    lowers = np.atleast_1d(np.asarray(lower, dtype=float))
    uppers = np.atleast_1d(np.asarray(upper, dtype=float))
    if lowers.shape != uppers.shape or lowers.ndim != 1:
        raise ShapeMismatchError(
            f"lower has {lowers.size} values and upper {uppers.size}; expected the same number (one per setting)"
        )
    for l, u in zip(lowers, uppers):
        _thresholds(models.vectors[:1], l, u, True)  # validates range and order
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    for t in transforms:
        check_choice(t, "transforms", _KINDS)
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
        s: _transform_vectors(models.vectors, n, s[0], s[1], s[2]) for s in settings
    }
    rows = []
    for level in noise_levels:
        noise = rng.standard_normal((n_models, n_simulations, n, width))
        data = coords[:, None] + (level * scale)[:, None, None, None] * noise
        dvec = _distances(data.reshape(n_models * n_simulations, n, width))
        truth = np.repeat(np.arange(n_models), n_simulations)
        for s in settings:
            dt = _transform_vectors(dvec, n, s[0], s[1], s[2])
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
