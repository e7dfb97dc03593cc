"""Computing RDMs: the dissimilarity of every pair of condition patterns in a recording.

:func:`rdm` averages the repeated measurements of each condition (per fold for the
cross-validated measures) and computes the dissimilarities of all pairs of condition
patterns with Gram-matrix products (BLAS), with no loop over pairs or conditions. The
measures (:data:`METRICS`) and their normalisation follow rsatoolbox's ``calc_rdm``; the
noise precision of the Mahalanobis and crossnobis measures comes from
:mod:`neurotk.rsa.noise`.

torch and CuPy inputs (or ``backend="torch" | "cupy"``) are computed in that library, on the
array's device, for the measures of :data:`~neurotk.rsa.calc.DEVICE_METRICS` (Gram-matrix
products); the RDM returned holds numpy arrays, as RDMs are small (conditions x conditions).

Examples
--------
>>> import numpy as np
>>> from neurotk import rsa
>>> rsa.rdm(np.eye(3), "sqeuclidean", normalize=False).vector.tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._backend import Backend, is_numpy_like, resolve_backend
from .._validation import check_matrix
from ..errors import ArgumentError, NonFiniteDataError, ShapeMismatchError, describe_values
from ..recording import Recording
from ..utils import natural_codes
from .noise import Precision, check_precision, noise_precision
from .rdms import RDM

__all__ = ["rdm", "METRICS", "DEVICE_METRICS"]


#: The dissimilarity measures :func:`rdm` knows.
METRICS = ("euclidean", "sqeuclidean", "correlation", "cosine", "mahalanobis", "crossnobis", "poisson", "poisson_cv")
#: Measures that are divided by the number of channels when ``normalize`` is left at None.
_NORMALIZED_BY_DEFAULT = frozenset({"sqeuclidean", "mahalanobis", "crossnobis", "poisson", "poisson_cv"})
_CROSS_VALIDATED = frozenset({"crossnobis", "poisson_cv"})
#: The measures :func:`rdm` computes in torch, CuPy and other array-API libraries (on the
#: arrays' device): those that are Gram-matrix products of condition means.
DEVICE_METRICS = ("euclidean", "sqeuclidean", "correlation", "cosine", "mahalanobis", "crossnobis")
#: Elements of the largest temporary the array-API path makes (rows gathered per block).
_XP_BLOCK = 1 << 24


def _labels(values, n_rows: int, argument: str) -> tuple[np.ndarray, np.ndarray]:
    """Unique labels in natural order ("s2" before "s10") and the code (position in them) of every row."""
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
        unique, codes = natural_codes(arr)
    except TypeError as exc:
        raise ArgumentError(f"{argument} labels cannot be coded ({exc}); expected hashable labels") from exc
    return unique, codes.reshape(-1).astype(np.intp)


def _column(x: Recording, name: str, argument: str, what: str) -> np.ndarray:
    """The ``samples`` column ``name`` of ``x`` (the ``argument`` of :func:`rdm`), or a clear error."""
    return x.column(name, argument=argument,
                    expected=f"the name of the samples column holding the {what} of every row (no such column "
                             f"in the samples table: name one of those, or pass one label per row)")


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


def _precision(noise, metric: str, x, codes, n_groups, means) -> tuple[Precision, str]:
    """The precision ``metric`` uses with ``noise`` (its default when None) and a description."""
    if metric not in ("mahalanobis", "crossnobis"):
        if noise is not None:
            raise ArgumentError(
                f"noise is only used by metric='mahalanobis' or 'crossnobis'; got noise with "
                f"metric={metric!r}"
            )
        return Precision("identity"), "none"
    if noise is None:
        noise = "shrinkage_diag" if metric == "mahalanobis" else "identity"
    return noise_precision(noise, x, codes, n_groups, means)


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
    backend: str | None = None,
    device=None,
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
        ``"diag"`` or ``"full"`` (see :func:`~neurotk.rsa.noise_covariance`), applied to the
        residuals of the measurements around their condition means (around their
        condition-and-fold means for ``"crossnobis"``) with ``n_measurements - n_groups``
        degrees of freedom. Default:
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
    backend : {None, "numpy", "torch", "cupy"}, optional
        The array library the dissimilarities are computed in. None (default): that of
        ``x``, so numpy arrays, lists and Recordings are computed in numpy exactly as before,
        and a torch tensor or CuPy array is computed in its library on its device (CUDA
        included), without a copy of ``x`` to the host. A name converts ``x`` to that library
        first (``"torch"``: CUDA when available). Outside numpy only the measures of
        :data:`~neurotk.rsa.calc.DEVICE_METRICS` are offered (Gram-matrix products; the
        Poisson measures are not), ``"mahalanobis"`` and ``"crossnobis"`` with
        ``noise="identity"`` or a given precision (the estimators run in numpy), and the
        computation is in float64 as in numpy; the averaging of repeats gathers at most
        ``2**24`` elements at a time. The ``n_conditions x n_conditions`` Gram matrix is then
        brought to the host, so the RDM holds numpy arrays either way
        (``RDM.meta["backend"]`` names the library used when it is not numpy). It is meant
        for data that already live on a GPU: on a CPU numpy is faster, as torch has no
        symmetric rank-k product (each Gram matrix costs a full matrix product).
    device : optional
        The device for ``backend="torch"`` or ``"cupy"`` (default: CUDA when available);
        ignored for inputs that already live on a device.

    Returns
    -------
    RDM
        Conditions in **natural order of their labels** (numbers by value, strings with
        their digit runs read as numbers: ``"s2"`` before ``"s10"``;
        :func:`neurotk.utils.natural_key`), in ``RDM.conditions``;
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
        for the Poisson measures, bad ``noise``; outside numpy, a metric not in
        :data:`~neurotk.rsa.calc.DEVICE_METRICS` or a noise estimator's name; an unknown
        ``backend``.
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
    metric_in = metric
    metric = str(metric).lower() if isinstance(metric, str) else metric
    if metric not in METRICS:
        raise ArgumentError(f"metric={metric_in!r} is unknown; expected one of {list(METRICS)}")

    # ---------------------------------------------------------------- backend
    be = resolve_backend([x.data if isinstance(x, Recording) else x], backend, device)
    if not be.is_numpy and metric not in DEVICE_METRICS:
        raise ArgumentError(
            f"metric={metric_in!r} is not available in {be.name}; the array-API path computes "
            f"{list(DEVICE_METRICS)} (Gram-matrix products). Pass numpy data (or backend='numpy') "
            f"for {metric!r}"
        )
    conditions, folds = _host(conditions), _host(folds)
    if not is_numpy_like(x) and (be.is_numpy or _library(x) != be.name):
        x = _host(x)  # backend= names another library than x's: through the host

    # ---------------------------------------------------------------- inputs
    meta: dict[str, Any] = {"metric": metric}
    if isinstance(x, Recording):
        if conditions is None:
            if condition in x.samples.columns:
                conditions, meta["conditions"] = _column(x, condition, "condition", "condition"), condition
            else:
                meta["conditions"] = "rows"
        elif isinstance(conditions, str):
            meta["conditions"] = conditions
            conditions = _column(x, conditions, "conditions", "condition")
        else:
            meta["conditions"] = "array"
        if isinstance(folds, str):
            meta["folds"] = folds
            folds = _column(x, folds, "folds", "fold")
        source = x.name
    else:
        if isinstance(conditions, str) or isinstance(folds, str):
            raise ArgumentError(
                "conditions and folds may name samples columns only when x is a Recording; for "
                "an array pass one label per row"
            )
        meta["conditions"] = "rows" if conditions is None else "array"
        source = None
    # NaN and infinite values are reported by row below
    if is_numpy_like(x):
        data = check_matrix(x, "x", rows="measurements", cols="channels", allow_nan=True)
        n_rows, n_channels = data.shape
        finite = np.isfinite(np.add.reduce(data, axis=1))  # NaN/inf propagate into row sums
        if not finite.all():
            finite = np.isfinite(data).all(axis=1)  # exact rows (a sum may overflow)
    else:  # validated where x lives; only one flag per row comes to the host
        data, finite = _check_on_device(be, x)
        n_rows, n_channels = data.shape
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
    if metric in _CROSS_VALIDATED and fold_codes is None:
        raise ArgumentError(
            f"metric={metric!r} is cross-validated and needs folds: pass folds= one label per "
            f"row (or the name of a samples column such as 'run' or 'repeat')"
        )
    if not be.is_numpy:
        if is_numpy_like(data):
            with warnings.catch_warnings():  # torch shares a read-only array's memory; it is only read
                warnings.filterwarnings("ignore", message=".*not writable", category=UserWarning)
                data = be.asarray(data, dtype=np.float64)
        vector, noise_desc = _xp_rdm(be, data, codes, n_cond, labels, fold_codes, fold_labels, metric,
                                     noise, scale)
        meta["backend"] = be.name
    elif metric in _CROSS_VALIDATED:
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
        # both measures are scale-free per pattern: unit peak first, so that the squared norms of
        # extreme but finite patterns (x * 1e300) cannot overflow to inf
        peak = np.abs(a).max(axis=1, keepdims=True)
        a /= np.where(peak > 0, peak, 1.0)
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


def _fold_counts(codes, n_cond, labels, fold_codes, fold_labels, metric) -> np.ndarray:
    """Measurements (n_folds, n_cond) of every condition in every fold, or a clear error."""
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
    return counts


def _cross_validated(x, codes, n_cond, labels, fold_codes, fold_labels, metric, noise, scale,
                     prior_lambda, prior_weight):
    """Leave-one-fold-out crossnobis / poisson_cv: one Gram product per fold, no pair loop."""
    n_folds = fold_labels.size
    counts = _fold_counts(codes, n_cond, labels, fold_codes, fold_labels, metric)
    # noise precision (crossnobis): residuals around the condition-and-fold means
    if metric == "crossnobis":
        group = fold_codes * n_cond + codes
        if noise is None or (isinstance(noise, str) and noise == "identity"):
            prec, noise_desc = Precision("identity"), "identity"
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



# --------------------------------------------------------------------------- array-API path
def _library(x) -> str:
    """The top-level module of ``x``'s type ("torch", "cupy", "array_api_strict" ...)."""
    return type(x).__module__.split(".")[0]


def _host(values):
    """``values`` unchanged when numpy-like, else a numpy copy (labels, precisions: small)."""
    if values is None or is_numpy_like(values):
        return values
    return resolve_backend([values]).to_numpy(values)


def _check_on_device(be: Backend, x):
    """``x`` validated in its own library as float64, and a host flag per row: all finite?"""
    xp = be.xp
    data = be.check(x, "x", ndim=2, allow_nan=True)
    if data.dtype != xp.float64:
        data = xp.astype(data, xp.float64)
    finite = be.to_numpy(xp.isfinite(xp.sum(data, axis=1)))  # NaN/inf propagate into row sums
    if not finite.all():
        finite = be.to_numpy(xp.all(xp.isfinite(data), axis=1))  # exact rows (a sum may overflow)
    return data, np.asarray(finite, dtype=bool)


def _on(be: Backend) -> dict:
    return {"device": be.device} if be.device is not None else {}


def _xp_group_sums(be: Backend, x, codes: np.ndarray, n_groups: int, rows: np.ndarray | None = None):
    """Sums (n_groups, p) of the rows of each group, in ``x``'s library, and the row counts.

    Rows are gathered by group (``take``) at most :data:`_XP_BLOCK` elements at a time: with
    the same number of rows in every group, each block is summed over a reshaped axis; else a
    0/1 indicator block is multiplied with the rows (one matrix product per block).
    """
    xp = be.xp
    sel = codes if rows is None else codes[rows]
    counts = np.bincount(sel, minlength=n_groups)
    p = x.shape[1]
    if rows is None and n_groups == x.shape[0] and np.array_equal(codes, np.arange(n_groups)):
        return x, counts  # one row per group, already in order
    rows = np.arange(codes.size) if rows is None else np.asarray(rows)
    order = rows[np.argsort(sel, kind="stable")]  # rows grouped, groups in order
    if counts.size and counts[0] > 0 and (counts == counts[0]).all():
        c = int(counts[0])
        per = max(1, _XP_BLOCK // (c * p))  # groups per block
        blocks = []
        for g in range(0, n_groups, per):
            chunk = xp.take(x, be.asarray(order[g * c:(g + per) * c], dtype=np.int64), axis=0)
            blocks.append(xp.sum(xp.reshape(chunk, (-1, c, p)), axis=1))
            del chunk
        return (blocks[0] if len(blocks) == 1 else xp.concat(blocks, axis=0)), counts
    sums = xp.zeros((n_groups, p), dtype=x.dtype, **_on(be))
    group = be.asarray(np.arange(n_groups), dtype=np.int64)
    per = max(1, _XP_BLOCK // (n_groups + p))  # rows per block
    for s in range(0, order.size, per):
        block = order[s:s + per]
        member = be.asarray(codes[block], dtype=np.int64)
        indicator = xp.astype(group[:, None] == member[None, :], x.dtype)
        sums = sums + indicator @ xp.take(x, be.asarray(block, dtype=np.int64), axis=0)
    return sums, counts


def _xp_means(be: Backend, x, codes, n_groups, rows=None):
    sums, counts = _xp_group_sums(be, x, codes, n_groups, rows)
    if sums is x:
        return x, counts
    return sums / be.asarray(counts.astype(np.float64)[:, None]), counts


def _xp_precision(be: Backend, noise, metric: str, n_channels: int):
    """The precision as a callable on rows in ``be``'s library, and its description."""
    if noise is None and metric == "crossnobis":
        noise = "identity"
    if isinstance(noise, str) and noise == "identity":
        return (lambda a: a), "identity"
    if noise is None or isinstance(noise, str):
        asked = "'shrinkage_diag' (the default of 'mahalanobis')" if noise is None else repr(noise)
        raise ArgumentError(
            f"noise={asked} estimates the noise from residuals, which neurotk does in numpy only; "
            f"with {be.name} inputs pass noise='identity' or a precision matrix (n_channels, n_channels) "
            f"or diagonal (n_channels,), e.g. the inverse of rsa.noise_covariance of numpy residuals"
        )
    prec = be.asarray(check_precision(_host(noise), n_channels), dtype=np.float64)
    if prec.ndim == 1:
        return (lambda a: a * prec), "given precision"
    return (lambda a: a @ prec), "given precision"


def _xp_rdm(be: Backend, x, codes, n_cond, labels, fold_codes, fold_labels, metric, noise, scale):
    """Condensed dissimilarities computed in ``be``'s library (Gram products on the device).

    The ``n_cond x n_cond`` Gram matrix comes to the host, where the same numpy steps as
    the numpy path turn it into the condensed vector.
    """
    from scipy.spatial.distance import squareform

    xp = be.xp
    n_channels = x.shape[1]
    if noise is not None and metric not in ("mahalanobis", "crossnobis"):
        raise ArgumentError(
            f"noise is only used by metric='mahalanobis' or 'crossnobis'; got noise with metric={metric!r}"
        )
    if metric in ("correlation", "cosine"):
        means, _ = _xp_means(be, x, codes, n_cond)
        a = means - xp.mean(means, axis=1, keepdims=True) if metric == "correlation" else means
        peak = xp.max(xp.abs(a), axis=1, keepdims=True)  # unit peak first: no overflow of norms
        a = a / xp.where(peak > 0, peak, xp.ones_like(peak))
        norms = xp.sqrt(xp.sum(a * a, axis=1))
        zero = be.to_numpy(norms <= float(np.finfo(np.float64).tiny))
        if zero.any():
            what = "constant across channels" if metric == "correlation" else "all zero"
            raise NonFiniteDataError(
                f"metric={metric!r} is undefined for conditions {describe_values(labels[zero])}, "
                f"whose patterns are {what}; expected patterns that vary"
            )
        a = a / norms[:, None]
        gram = np.array(be.to_numpy(a @ xp.matrix_transpose(a)), dtype=np.float64)
        del a
        np.subtract(1.0, gram, out=gram)
        np.fill_diagonal(gram, 0.0)
        out = squareform(gram, checks=False)
        return np.clip(out, 0.0, 2.0, out=out), "none"
    prec, noise_desc = (_xp_precision(be, noise, metric, n_channels) if metric in ("mahalanobis", "crossnobis")
                        else ((lambda a: a), "none"))
    if metric == "crossnobis":
        counts = _fold_counts(codes, n_cond, labels, fold_codes, fold_labels, metric)
        n_folds = fold_labels.size
        totals, _ = _xp_group_sums(be, x, codes, n_cond)  # per-condition sums over all folds
        total_counts = counts.sum(axis=0).astype(np.float64)
        acc = None
        for k in range(n_folds):  # one iteration per fold
            sums_k, _ = _xp_group_sums(be, x, codes, n_cond, np.flatnonzero(fold_codes == k))
            train = (totals - sums_k) / be.asarray((total_counts - counts[k])[:, None])
            test = sums_k / be.asarray(counts[k][:, None].astype(np.float64))
            del sums_k
            term = train @ xp.matrix_transpose(prec(test))
            acc = term if acc is None else acc + term
            del train, test, term
        gram = np.array(be.to_numpy(acc), dtype=np.float64)
        return _distances_from_gram(gram, cross=True) / (n_folds * scale), noise_desc
    # euclidean, sqeuclidean, mahalanobis
    means, _ = _xp_means(be, x, codes, n_cond)
    gram = np.array(be.to_numpy(means @ xp.matrix_transpose(prec(means))), dtype=np.float64)
    out = _distances_from_gram(gram) / scale
    if metric == "euclidean":
        np.sqrt(out, out=out)
    return out, noise_desc
