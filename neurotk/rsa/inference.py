"""Statistical inference for RSA: bootstrap, permutation tests, noise ceilings, model comparison.

All comparisons go through :func:`neurotk.rsa.compare_vectors`, so every method
(pearson, spearman, kendall tau-a, tau-b, rho-a, cosine and the whitened variants) behaves
exactly as in :func:`neurotk.rsa.compare`. The results are :class:`BootstrapResult`,
:class:`PermutationResult` and :class:`RDMNoiseCeiling` (``lower, upper =
noise_ceiling(...)``); :func:`compare_models` returns a table.

Resampling conditions follows rsatoolbox's ``bootstrap_sample_pattern``: conditions are
drawn with replacement, the RDMs are expanded to the drawn conditions (a condition drawn
``k`` times appears ``k`` times), and the pairs between two copies of the same condition
(trivially zero) are dropped. In the expanded RDM, the original pair ``(i, j)`` then
appears ``k_i * k_j`` times. All random indices are drawn up front from ``random_state``,
so the results do not depend on ``n_jobs``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .._backend import Backend, is_numpy_like, resolve_backend
from .._validation import check_choice, check_float, check_int
from ..errors import AlignmentError, ArgumentError, ShapeMismatchError, describe_values
from ..parallel import map_chunks
from ..results import Result
from ..utils import as_rng
from .comparison import canonical_method, compare_vectors, whiten_vectors
from .rdms import RDM, as_rdm, n_conditions_from_pairs, pair_index, stack_rdms

__all__ = [
    "bootstrap",
    "permutation_test",
    "noise_ceiling",
    "compare_models",
    "BootstrapResult",
    "PermutationResult",
    "RDMNoiseCeiling",
]

_RESAMPLE = ("conditions", "subjects", "both")
_CHUNK = 64  # bootstrap samples per parallel task
#: Methods the bootstrap evaluates in torch, CuPy and other array-API libraries.
DEVICE_METHODS = ("spearman", "pearson", "cosine", "rho-a")
_XP_BLOCK = 1 << 21  # elements per (samples x RDMs x pairs) temporary of the array-API path


# --------------------------------------------------------------------------- helpers
def _as_models(model_rdms) -> RDM:
    if isinstance(model_rdms, (list, tuple)) and model_rdms and isinstance(model_rdms[0], RDM):
        return stack_rdms(model_rdms)
    return as_rdm(model_rdms, "model_rdms")


def _aligned(data: RDM, models: RDM) -> RDM:
    """``models`` over ``data``'s conditions in ``data``'s order, or a clear error."""
    if models.n_conditions == data.n_conditions and np.array_equal(models.conditions, data.conditions):
        return models
    if models.n_conditions != data.n_conditions:
        raise ShapeMismatchError(
            f"model_rdms has {models.n_conditions} conditions but data_rdm has "
            f"{data.n_conditions}; expected RDMs over the same conditions"
        )
    missing = pd.Index(data.conditions).difference(pd.Index(models.conditions))
    if len(missing):
        raise AlignmentError(
            f"model_rdms lacks conditions {describe_values(list(missing))} of data_rdm; expected "
            f"the same condition labels"
        )
    return models.subset(data.conditions)


def _check_data(data_rdm, name="data_rdm") -> RDM:
    data = as_rdm(data_rdm, name)
    if data.n_conditions < 3:
        raise ShapeMismatchError(f"{name} has {data.n_conditions} conditions; expected at least 3")
    return data


def _resampled_pairs(sample: np.ndarray, n: int):
    """Condensed positions (in the original RDM) of the expanded RDM of a sorted ``sample``.

    Returns positions (n_pairs_expanded,) with -1 where both copies are the same condition.
    """
    a, b = pair_index(len(sample))
    i, j = sample[a], sample[b]
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    pos = n * lo - lo * (lo + 1) // 2 + hi - lo - 1
    pos[lo == hi] = -1
    return pos


class _Evaluator:
    """Scores (n_data, n_models) of every data RDM with every model on one bootstrap sample."""

    def __init__(self, data: np.ndarray, models: np.ndarray, method: str, n: int):
        self.data = data
        self.models = models
        self.method = method
        self.n = n
        self.i, self.j = pair_index(n)
        self.has_nan = bool(np.isnan(data).any() or np.isnan(models).any())
        # spearman fast path: the sorted order and tie groups of every row, computed once;
        # the average ranks of an expanded RDM then follow from cumulative pair counts in
        # that order (no sort per sample), see `_spearman_sample`
        self.fast_ranks = method == "spearman" and not self.has_nan
        if self.fast_ranks:
            rows = np.vstack([data, models])
            order = np.argsort(rows, axis=1, kind="stable")
            srt = np.take_along_axis(rows, order, axis=1)
            new = np.ones(rows.shape, dtype=bool)
            new[:, 1:] = srt[:, 1:] != srt[:, :-1]
            self.order = order
            r, p = rows.shape
            self.tie_rows = np.flatnonzero(~new.all(axis=1))
            # dense group id (in sorted order) of each sorted position, rows with ties only
            groups = np.cumsum(new[self.tie_rows], axis=1) - 1
            self.flat_sorted_groups = (groups + np.arange(self.tie_rows.size)[:, None] * p).ravel()
            # flat index into a row-major (r, p) sorted array of each original pair
            position = np.empty_like(order)
            np.put_along_axis(position, order, np.arange(p)[None, :].repeat(r, axis=0), axis=1)
            self.flat_position = position + np.arange(r)[:, None] * p
            self.n_rows = r

    def full(self) -> np.ndarray:
        return np.asarray(compare_vectors(self.data, self.models, self.method), dtype=float)

    def sample(self, idx: np.ndarray) -> np.ndarray:
        """Scores on the RDMs expanded to the (sorted) resampled conditions ``idx``."""
        n_data = self.data.shape[0]
        if np.unique(idx).size < 3:
            return np.full((n_data, self.models.shape[0]), np.nan)
        if self.method in ("corr_cov", "cosine_cov"):
            # whitening needs the expanded RDM's own pair structure: NaN for same-condition pairs
            pos = _resampled_pairs(np.sort(idx), self.n)
            same = pos < 0
            d = self.data[:, pos]
            m = self.models[:, pos]
            d[:, same] = np.nan
            m[:, same] = np.nan
            return np.asarray(compare_vectors(d, m, self.method), dtype=float)
        k = np.bincount(idx, minlength=self.n)
        counts = k[self.i] * k[self.j]  # times each original pair appears in the expanded RDM
        if self.fast_ranks:
            return self._spearman_sample(counts)
        take = np.repeat(np.arange(counts.size), counts)
        return np.asarray(compare_vectors(self.data[:, take], self.models[:, take], self.method), dtype=float)

    def _spearman_sample(self, counts: np.ndarray) -> np.ndarray:
        """Spearman scores on the expanded RDMs, from pair counts (exact, no re-sorting).

        In an expanded RDM the original pair ``p`` appears ``c_p`` times; its average rank
        is the number of expanded entries below its value plus ``(c_p + 1) / 2`` (ties:
        of its tie group). The Pearson correlation of the expanded rank vectors equals the
        cosine of ``sqrt(c) * (rank - (M + 1) / 2)`` over the pairs with ``c_p > 0``
        (``M = sum(c)``; the mean of average ranks is always ``(M + 1) / 2``), which is what
        :func:`compare_vectors` is given, so only the drawn pairs are touched.
        """
        kept = np.flatnonzero(counts)
        c_sorted = counts[self.order].astype(float)  # counts in each row's sorted order
        avg = np.cumsum(c_sorted, axis=1)
        avg -= (c_sorted - 1.0) / 2.0
        if self.tie_rows.size:  # tied values share the average rank of their group
            t = self.tie_rows
            n_pairs = counts.size
            flat = self.flat_sorted_groups
            per_group = np.bincount(flat, weights=c_sorted[t].ravel(), minlength=t.size * n_pairs)
            end = np.cumsum(per_group.reshape(t.size, n_pairs), axis=1).ravel()
            avg[t] = (end - (per_group - 1.0) / 2.0)[flat].reshape(t.size, n_pairs)
        # average rank of every drawn pair, in the original pair order
        ranks = avg.ravel()[self.flat_position[:, kept]]
        weight = np.sqrt(counts[kept].astype(float))
        centred = (ranks - (counts.sum() + 1.0) / 2.0) * weight
        n_data = self.data.shape[0]
        return np.asarray(compare_vectors(centred[:n_data], centred[n_data:], "cosine"), dtype=float)


class _ArrayEvaluator:
    """Scores of many bootstrap samples at once, in an array-API library (on its device).

    Every sample is held as the pair counts ``c`` of its expanded RDMs (the original pair
    ``p`` appears ``c_p = k_i k_j`` times), so a block of samples is a ``(samples, pairs)``
    array and the expanded RDMs are never built. Spearman and rho-a: the average rank of
    pair ``p`` in an expanded RDM is ``(C[last] + E[first] + 1) / 2``, with ``C`` and ``E`` the
    inclusive and exclusive cumulative counts in the row's sorted order and ``first``,
    ``last`` the ends of ``p``'s tie group (computed once, as in :class:`_Evaluator`);
    Pearson and cosine are the same weighted moments. The scores are then cosines of
    ``sqrt(c)``-weighted centred rows, one batched matrix product per block. Equal to the
    numpy path (:class:`_Evaluator`) to rounding.
    """

    def __init__(self, be: Backend, data: np.ndarray, models: np.ndarray, method: str, n: int):
        self.be, self.method, self.n = be, method, n
        self.n_data = data.shape[0]
        rows = np.vstack([data, models])
        r, p = rows.shape
        self.shape = (r, p)
        i, j = pair_index(n)
        self.i = be.asarray(np.array(i), dtype=np.int64)  # a copy: pair_index is read-only
        self.j = be.asarray(np.array(j), dtype=np.int64)
        if method in ("spearman", "rho-a"):
            order = np.argsort(rows, axis=1, kind="stable")
            srt = np.take_along_axis(rows, order, axis=1)
            new = np.ones(rows.shape, dtype=bool)  # a tie group starts here (sorted order)
            new[:, 1:] = srt[:, 1:] != srt[:, :-1]
            ends = np.ones(rows.shape, dtype=bool)  # a tie group ends here
            ends[:, :-1] = new[:, 1:]
            pos = np.broadcast_to(np.arange(p), rows.shape)
            first = np.maximum.accumulate(np.where(new, pos, 0), axis=1)
            last = np.minimum.accumulate(np.where(ends, pos, p - 1)[:, ::-1], axis=1)[:, ::-1]
            position = np.empty_like(order)  # sorted position of every original pair
            np.put_along_axis(position, order, np.arange(p)[None, :].repeat(r, axis=0), axis=1)
            offset = np.arange(r)[:, None] * p
            self.order = be.asarray(order.ravel(), dtype=np.int64)
            self.first = be.asarray((np.take_along_axis(first, position, axis=1) + offset).ravel(), dtype=np.int64)
            self.last = be.asarray((np.take_along_axis(last, position, axis=1) + offset).ravel(), dtype=np.int64)
        else:
            self.rows = be.asarray(rows, dtype=np.float64)

    def block(self, cond_idx: np.ndarray, subj_weights: np.ndarray) -> np.ndarray:
        """Evaluations (n_samples, n_models) of the samples ``cond_idx`` (n_samples, n)."""
        be, xp = self.be, self.be.xp
        b, n = cond_idx.shape
        r, p = self.shape
        k = np.bincount((cond_idx + np.arange(b)[:, None] * n).ravel(), minlength=b * n).reshape(b, n)
        degenerate = (k > 0).sum(axis=1) < 3
        k = be.asarray(k.astype(np.float64))
        counts = xp.take(k, self.i, axis=1) * xp.take(k, self.j, axis=1)  # (b, p)
        total = xp.sum(counts, axis=1)[:, None, None]  # M, the expanded length
        weight = xp.sqrt(counts)[:, None, :]
        if self.method in ("spearman", "rho-a"):
            c_sorted = xp.reshape(xp.take(counts, self.order, axis=1), (b, r * p))
            inclusive = xp.reshape(xp.cumulative_sum(xp.reshape(c_sorted, (b, r, p)), axis=2), (b, r * p))
            exclusive = inclusive - c_sorted
            del c_sorted
            # average rank minus the mean rank (M + 1) / 2, times sqrt(c)
            centred = xp.take(inclusive, self.last, axis=1) + xp.take(exclusive, self.first, axis=1)
            del inclusive, exclusive
            centred = (xp.reshape(centred, (b, r, p)) - total) * (weight / 2.0)
            d, m = centred[:, :self.n_data, :], centred[:, self.n_data:, :]
            if self.method == "rho-a":
                scores = (d @ xp.matrix_transpose(m)) * (12.0 / (total ** 3 - total))
                return self._weighted(scores, subj_weights, degenerate)
            # ranks are exact half-integers: a constant row is exactly 0 (compare_vectors: NaN)
            norm = xp.sqrt(xp.sum(centred * centred, axis=2))
            zero = norm == 0
        else:
            drawn = counts[:, None, :] > 0
            if self.method == "pearson":
                mean = xp.sum(self.rows[None, :, :] * counts[:, None, :], axis=2, keepdims=True) / total
                spread = self.rows[None, :, :] - mean
            else:  # cosine
                spread = xp.broadcast_to(self.rows[None, :, :], (b, r, p))
            centred = spread * weight
            # unit norm as compare_vectors: a constant row's rounding residue counts as 0
            norm = xp.sqrt(xp.sum(centred * centred, axis=2))
            scale = xp.max(xp.where(drawn, xp.abs(spread), xp.zeros_like(spread)), axis=2)
            del spread
            tiny = float(np.finfo(np.float64).tiny)
            floor = 1e-13 * xp.where(scale > tiny, scale, xp.full_like(scale, tiny)) * xp.sqrt(total[:, :, 0])
            zero = (norm <= floor) | (norm == 0)
            d, m = centred[:, :self.n_data, :], centred[:, self.n_data:, :]
        norm = xp.where(zero, xp.full_like(norm, float("nan")), norm)
        scores = (d @ xp.matrix_transpose(m)) / (norm[:, :self.n_data, None] * norm[:, None, self.n_data:])
        return self._weighted(scores, subj_weights, degenerate)

    def _weighted(self, scores, subj_weights, degenerate) -> np.ndarray:
        """``subj_weights[b] @ scores[b]`` for every sample, as numpy, NaN for degenerate samples."""
        be, xp = self.be, self.be.xp
        w = be.asarray(np.asarray(subj_weights, dtype=np.float64))
        out = np.array(be.to_numpy(xp.sum(w[:, :, None] * scores, axis=1)), dtype=np.float64)
        out[degenerate] = np.nan
        return out


def _run_block(evaluator: _ArrayEvaluator, cond_idx, subj_weights) -> np.ndarray:
    return evaluator.block(cond_idx, subj_weights)


def _run_chunk(evaluator: _Evaluator, cond_idx, subj_weights) -> np.ndarray:
    out = np.empty((len(subj_weights), evaluator.models.shape[0]))
    full = None
    for b in range(len(subj_weights)):
        if cond_idx is None:
            if full is None:
                full = evaluator.full()
            scores = full
        else:
            scores = evaluator.sample(cond_idx[b])
        out[b] = subj_weights[b] @ scores
    return out


# --------------------------------------------------------------------------- results
class _Bounds(NamedTuple):
    lower: float
    upper: float


class RDMNoiseCeiling(_Bounds, Result):
    """Lower (leave-one-subject-out) and upper (all subjects) bounds of an RDM noise ceiling.

    A named tuple, so ``lower, upper = noise_ceiling(...)``, ``nc.lower`` and ``nc[0]``
    all work; it is also a :class:`~neurotk.results.Result` (table, band figure, file).
    Not to be confused with :class:`neurotk.encoding.NoiseCeiling`, the per-unit
    reliability of responses.

    Attributes
    ----------
    lower, upper : float
        Mean similarity of each data RDM with the pooled RDM of the other subjects (lower)
        and of all subjects (upper).

    Examples
    --------
    >>> nc = RDMNoiseCeiling(0.4, 0.6)
    >>> lower, upper = nc
    >>> nc
    RDMNoiseCeiling(lower=0.4, upper=0.6)
    >>> nc.to_frame().to_dict("records")
    [{'lower': 0.4, 'upper': 0.6}]
    """

    __slots__ = ()

    def to_frame(self) -> pd.DataFrame:
        """One row: ``lower``, ``upper``."""
        return pd.DataFrame({"lower": [self.lower], "upper": [self.upper]})

    def plot(self, ax=None):
        """The ceiling as a grey band, as :meth:`BootstrapResult.plot` draws it; returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_rdm_noise_ceiling`.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> ax = RDMNoiseCeiling(0.4, 0.6).plot()
        >>> [round(float(y), 2) for y in ax.get_ylim()], ax.get_ylabel()
        ([0.39, 0.61], 'RDM similarity')
        """
        from ..plotting.rsa import plot_rdm_noise_ceiling

        return plot_rdm_noise_ceiling(self, ax=ax)


class BootstrapResult(Result):
    """Bootstrap distribution of model evaluations.

    Attributes
    ----------
    samples : ndarray (n_bootstrap, n_models)
        Evaluation on each bootstrap sample (NaN for a degenerate sample with fewer than 3
        distinct conditions).
    scores : ndarray (n_models,)
        Evaluation on the full data (mean over data RDMs of ``compare_vectors``).
    ci : ndarray (2, n_models)
        Percentile confidence interval (``ci_level``, default 95 %).
    sem : ndarray (n_models,)
        Bootstrap standard error: the standard deviation of ``samples`` (ddof 1).
    model_names : list of str
    method, resample : str
    noise_ceiling : RDMNoiseCeiling or None
        Of the data RDMs (when there are at least 2).

    Examples
    --------
    >>> import numpy as np
    >>> res = BootstrapResult(np.array([[0.5, 0.2], [0.7, 0.1], [0.6, 0.3]]), np.array([0.6, 0.2]),
    ...                       ["a", "b"], "spearman", "conditions")
    >>> res
    BootstrapResult(2 models, 3 samples over conditions, method='spearman')
    >>> res.sem.round(3).tolist()
    [0.1, 0.1]
    """

    def __init__(self, samples, scores, model_names, method, resample, noise_ceiling=None, ci_level=0.95):
        self.samples = samples
        self.scores = scores
        self.model_names = list(model_names)
        self.method = method
        self.resample = resample
        self.noise_ceiling = noise_ceiling
        self.ci_level = float(ci_level)
        ok = np.isfinite(samples).all(axis=1)
        good = samples[ok]
        alpha = (1.0 - self.ci_level) / 2.0
        if len(good):
            self.ci = np.percentile(good, [100 * alpha, 100 * (1 - alpha)], axis=0)
        else:
            self.ci = np.full((2, samples.shape[1]), np.nan)
        self.sem = good.std(axis=0, ddof=1) if len(good) > 1 else np.full(samples.shape[1], np.nan)

    @property
    def n_bootstrap(self) -> int:
        return self.samples.shape[0]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per model with ``model``, ``score``, ``ci_low``, ``ci_high``, ``sem``.

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.rsa import RDM, bootstrap
        >>> rng = np.random.default_rng(0)
        >>> data, models = RDM(rng.random(45)), RDM(rng.random((2, 45)), names=["a", "b"])
        >>> bootstrap(data, models, n_bootstrap=20, random_state=0, progress=False).to_frame().columns.tolist()
        ['model', 'score', 'ci_low', 'ci_high', 'sem']
        """
        return pd.DataFrame(
            {
                "model": self.model_names,
                "score": self.scores,
                "ci_low": self.ci[0],
                "ci_high": self.ci[1],
                "sem": self.sem,
            }
        )

    def plot(self, ax=None, significant=None, **kwargs):
        """Bar plot of scores with bootstrap CIs and the noise ceiling (if known).

        Delegates to :func:`neurotk.plotting.rsa.plot_model_comparison`; returns the Axes.
        """
        from ..plotting.rsa import plot_model_comparison

        nc = tuple(self.noise_ceiling) if self.noise_ceiling is not None else None
        return plot_model_comparison(
            self.to_frame(), ax=ax, noise_ceiling=nc, significant=significant, method=self.method, **kwargs
        )

    def __repr__(self) -> str:
        return (
            f"BootstrapResult({len(self.model_names)} models, {self.n_bootstrap} samples over "
            f"{self.resample}, method={self.method!r})"
        )


class PermutationResult(Result):
    """Observed model evaluations and their stimulus-label permutation null.

    Attributes
    ----------
    observed : ndarray (n_models,)
    null : ndarray (n_permutations, n_models)
    p_values : ndarray (n_models,)
        One-sided (greater): ``(1 + #{null >= observed}) / (1 + n_permutations)``.
    model_names : list of str
    method : str

    Examples
    --------
    >>> import numpy as np
    >>> res = PermutationResult(np.array([0.5]), np.array([[0.1], [0.6], [-0.2]]), ["m"], "spearman")
    >>> res.p_values.tolist()
    [0.5]
    >>> res
    PermutationResult(1 models, 3 permutations, method='spearman')
    """

    def __init__(self, observed, null, model_names, method):
        self.observed = observed
        self.null = null
        self.model_names = list(model_names)
        self.method = method
        count = (null >= observed[None, :] - 1e-12 * np.maximum(1.0, np.abs(observed[None, :]))).sum(axis=0)
        self.p_values = (1.0 + count) / (1.0 + null.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per model: ``model``, ``score``, ``p_value``, ``null_mean``, ``null_sd``."""
        return pd.DataFrame(
            {
                "model": self.model_names,
                "score": self.observed,
                "p_value": self.p_values,
                "null_mean": self.null.mean(axis=0),
                "null_sd": self.null.std(axis=0, ddof=1) if self.null.shape[0] > 1 else np.nan,
                "method": self.method,
            }
        )

    def plot(self, ax=None, model: int | str = 0):
        """Histogram of the null of one model (a position or a name) with the observed value.

        Draws through :func:`neurotk.plotting.rsa.plot_permutation_null`; returns the Axes.

        Examples
        --------
        >>> import matplotlib, numpy as np
        >>> matplotlib.use("Agg")
        >>> res = PermutationResult(np.array([0.5]), np.array([[0.1], [0.6], [-0.2]]), ["m"], "spearman")
        >>> res.plot(model="m").get_title()
        'm'
        """
        from ..plotting.rsa import plot_permutation_null

        if isinstance(model, str):
            if model not in self.model_names:
                raise ArgumentError(f"model={model!r} is not a model of this test; its models are {self.model_names}")
            k = self.model_names.index(model)
        else:
            k = int(model)
        return plot_permutation_null(self.null[:, k], self.observed[k], self.p_values[k], ax=ax,
                                     method=self.method, title=self.model_names[k])

    def __repr__(self) -> str:
        return f"PermutationResult({len(self.model_names)} models, {self.null.shape[0]} permutations, method={self.method!r})"


# --------------------------------------------------------------------------- bootstrap
def bootstrap(
    data_rdm,
    model_rdms,
    method: str = "spearman",
    n_bootstrap: int = 1000,
    resample: str = "conditions",
    random_state=None,
    n_jobs: int = 1,
    progress: bool = True,
    ci_level: float = 0.95,
    backend: str | None = None,
    device=None,
) -> BootstrapResult:
    """Bootstrap distribution of how well each model RDM matches the data RDM(s).

    The evaluation of a model is the mean over data RDMs (subjects) of
    ``compare_vectors(data, model, method)``. Each bootstrap sample resamples conditions
    with replacement (as rsatoolbox's ``bootstrap_sample_pattern``: pairs between two
    copies of the same condition are dropped), subjects (data RDMs) with replacement, or
    both. All indices are drawn up front from ``random_state``, so the result is the same
    for any ``n_jobs``. For spearman, ranks of each expanded RDM are obtained from weighted
    counts of its (pre-sorted) tie groups, exactly equal to ranking it, and all models are
    scored against all data RDMs in one product.

    Parameters
    ----------
    data_rdm : RDM or array-like
        One data RDM or a stack (one per subject).
    model_rdms : RDM, list of RDM or array-like
        Candidate model RDMs over the same conditions (reordered to the data's labels).
    method : str, default "spearman"
        Comparison method of :func:`neurotk.rsa.compare_vectors`.
    n_bootstrap : int, default 1000
        Number of bootstrap samples.
    resample : {"conditions", "subjects", "both"}, default "conditions"
        What is drawn with replacement.
    random_state : None, int or Generator
    n_jobs : int, default 1
        Parallel workers (joblib) over chunks of bootstrap samples (numpy only; the
        array-API path runs its blocks one after the other in this process).
    progress : bool, default True
        Show a tqdm progress bar.
    ci_level : float, default 0.95
        Coverage of the percentile confidence interval.
    backend : {None, "numpy", "torch", "cupy"}, optional
        The array library the resampled evaluations run in. None (default): numpy, unless
        the RDMs are given as torch tensors or CuPy arrays (their library and device). A
        name moves the RDM vectors there (``"torch"``: CUDA when available). The resampling
        indices are drawn with numpy from ``random_state`` either way, so with the same seed
        every library evaluates the same samples and the results agree to rounding; they
        come back as numpy. Outside numpy, the samples are evaluated in blocks of up to
        ``2**21`` (sample, RDM, pair) entries, each a few array operations and one batched
        matrix product, for the methods of :data:`~neurotk.rsa.inference.DEVICE_METHODS`
        and RDMs without missing pairs; the point estimates (``scores``) and the noise
        ceiling are computed in numpy. It is meant for a GPU: on a CPU numpy's per-sample
        loop, which stays in cache, is faster.
    device : optional
        The device for ``backend="torch"`` or ``"cupy"`` (default: CUDA when available).

    Returns
    -------
    BootstrapResult
        ``.samples`` (n_bootstrap, n_models), ``.scores``, ``.ci`` (2, n_models), ``.sem``,
        ``.model_names``, ``.noise_ceiling``, ``.to_frame()``, ``.plot()``; ``.backend`` names
        the library the samples were evaluated in.

    Raises
    ------
    ArgumentError
        ``n_bootstrap < 1``, unknown ``resample`` or method, subject resampling of a single
        data RDM; outside numpy, a method not in
        :data:`~neurotk.rsa.inference.DEVICE_METHODS` or RDMs with missing (NaN) pairs.
    ShapeMismatchError, AlignmentError
        Fewer than 3 conditions, or models over other conditions than the data.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, bootstrap
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> data = RDM(truth + 0.1 * rng.random(45))
    >>> models = RDM(np.vstack([truth, rng.random(45)]), names=["true", "random"])
    >>> res = bootstrap(data, models, n_bootstrap=100, random_state=0, progress=False)
    >>> res.samples.shape, res.ci.shape
    ((100, 2), (2, 2))
    >>> bool(res.ci[0, 0] > res.ci[1, 1])  # the true model is clearly better
    True
    """
    be = resolve_backend([data_rdm, model_rdms if not isinstance(model_rdms, (list, tuple)) else None],
                         backend, device)
    data = _check_data(_host(data_rdm))
    models = _aligned(data, _as_models(_host(model_rdms)))
    method = canonical_method(method)
    if not be.is_numpy:
        if method not in DEVICE_METHODS:
            raise ArgumentError(
                f"method={method!r} is not available in {be.name}; the array-API bootstrap evaluates "
                f"{list(DEVICE_METHODS)}. Pass numpy RDMs (or backend='numpy') for {method!r}"
            )
        if np.isnan(data.vectors).any() or np.isnan(models.vectors).any():
            raise ArgumentError(
                f"the RDMs have missing (NaN) pairs, which the bootstrap handles in numpy only; "
                f"pass numpy RDMs (or backend='numpy') with {be.name} left out"
            )
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap")
    check_choice(resample, "resample", _RESAMPLE)
    check_float(ci_level, "ci_level", low=0, high=1, low_open=True, high_open=True)
    n_subj, n = data.n_rdms, data.n_conditions
    if resample in ("subjects", "both") and n_subj < 2:
        raise ArgumentError(
            f"resample={resample!r} needs several data RDMs (subjects); data_rdm holds {n_subj}"
        )
    n_jobs = int(n_jobs) if n_jobs is not None else None
    rng = as_rng(random_state)
    cond_idx = None
    if resample in ("conditions", "both"):
        cond_idx = np.sort(rng.integers(0, n, size=(n_bootstrap, n)), axis=1)
    if resample in ("subjects", "both"):
        subj = rng.integers(0, n_subj, size=(n_bootstrap, n_subj))
        weights = np.stack([np.bincount(s, minlength=n_subj) for s in subj]) / n_subj
    else:
        weights = np.full((n_bootstrap, n_subj), 1.0 / n_subj)

    evaluator = _Evaluator(np.asarray(data.vectors), np.asarray(models.vectors), method, n)
    scores = evaluator.full().mean(axis=0)
    if be.is_numpy or cond_idx is None:  # subjects alone: one full evaluation, nothing to move
        starts = range(0, n_bootstrap, _CHUNK)
        chunks = [(None if cond_idx is None else cond_idx[s : s + _CHUNK], weights[s : s + _CHUNK]) for s in starts]
        samples = np.concatenate(map_chunks(_run_chunk, chunks, n_jobs=n_jobs, progress=progress, desc="bootstrap",
                                            weights=[len(w) for _, w in chunks], shared=(evaluator,)), axis=0)
    else:
        device_evaluator = _ArrayEvaluator(be, np.asarray(data.vectors), np.asarray(models.vectors), method, n)
        r, p = device_evaluator.shape
        size = max(1, min(n_bootstrap, _XP_BLOCK // (r * p)))
        chunks = [(cond_idx[s : s + size], weights[s : s + size]) for s in range(0, n_bootstrap, size)]
        samples = np.concatenate(map_chunks(_run_block, chunks, n_jobs=1, progress=progress, desc="bootstrap",
                                            weights=[len(w) for _, w in chunks], shared=(device_evaluator,)), axis=0)
    nc = noise_ceiling(data, method) if n_subj >= 2 else None
    result = BootstrapResult(samples, scores, models.names, method, resample, nc, ci_level)
    result.backend = be.name
    return result


def _host(rdms):
    """RDM vectors of another array library as numpy (they are small); anything else unchanged."""
    if rdms is None or is_numpy_like(rdms):
        return rdms
    return resolve_backend([rdms]).to_numpy(rdms)


# --------------------------------------------------------------------------- permutation
def _permute_chunk(data: np.ndarray, models: np.ndarray, perms: np.ndarray, method: str, n: int):
    i, j = pair_index(n)
    n_subj = data.shape[0]
    pi, pj = perms[:, i], perms[:, j]
    lo, hi = np.minimum(pi, pj), np.maximum(pi, pj)
    pos = n * lo - lo * (lo + 1) // 2 + hi - lo - 1  # (n_perm, n_pairs)
    permuted = data[:, pos].transpose(1, 0, 2).reshape(len(perms) * n_subj, -1)
    scores = np.asarray(compare_vectors(permuted, models, method), dtype=float)
    return scores.reshape(len(perms), n_subj, -1).mean(axis=1)


def permutation_test(
    data_rdm,
    model_rdms,
    method: str = "spearman",
    n_permutations: int = 1000,
    random_state=None,
    n_jobs: int = 1,
    progress: bool = False,
) -> PermutationResult:
    """Stimulus-label permutation test of the relation between data and model RDMs.

    Under the null hypothesis the condition labels are exchangeable: each permutation
    reorders the rows and columns of the data RDM(s) together (all subjects alike) and the
    evaluation (mean over data RDMs of ``compare_vectors``) is recomputed. The p-value is
    one-sided, ``(1 + #{null >= observed}) / (1 + n_permutations)``.

    Parameters
    ----------
    data_rdm : RDM or array-like
        One data RDM or a stack (subjects).
    model_rdms : RDM, list of RDM or array-like
        One or several model RDMs.
    method : str, default "spearman"
    n_permutations : int, default 1000
    random_state : None, int or Generator
    n_jobs : int, default 1
        Parallel workers (joblib); permutations are drawn up front, so results do not
        depend on ``n_jobs``.
    progress : bool, default False

    Returns
    -------
    PermutationResult
        ``.observed``, ``.null`` (n_permutations, n_models), ``.p_values``, ``.to_frame()``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, permutation_test
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(12, 5))
    >>> model = RDM(np.linalg.norm(x[:, None] - x[None], axis=-1)[np.triu_indices(12, 1)])
    >>> res = permutation_test(model, model, n_permutations=199, random_state=0)
    >>> float(res.p_values[0])
    0.005
    """
    data = _check_data(data_rdm)
    models = _aligned(data, _as_models(model_rdms))
    method = canonical_method(method)
    n_permutations = check_int(n_permutations, "n_permutations")
    n = data.n_conditions
    rng = as_rng(random_state)
    perms = np.argsort(rng.random((n_permutations, n)), axis=1)
    observed = np.asarray(compare_vectors(data.vectors, models.vectors, method), dtype=float).mean(axis=0)
    size = max(1, min(256, (1 << 22) // max(1, data.n_pairs * data.n_rdms)))
    chunks = [(perms[s : s + size], method, n) for s in range(0, n_permutations, size)]
    null = np.concatenate(map_chunks(_permute_chunk, chunks, n_jobs=None if n_jobs is None else int(n_jobs),
                                     progress=progress, desc="permutations", weights=[len(c[0]) for c in chunks],
                                     shared=(np.asarray(data.vectors), np.asarray(models.vectors))), axis=0)
    return PermutationResult(observed, null, models.names, method)


# --------------------------------------------------------------------------- noise ceiling
def _nan_ranks(x: np.ndarray) -> np.ndarray:
    import scipy.stats

    return scipy.stats.rankdata(x, axis=1, nan_policy="omit")


def _pool_ready(vectors: np.ndarray, method: str) -> np.ndarray:
    """Per-RDM normalisation before averaging, so the mean is the best pooled RDM for ``method``."""
    if method in ("spearman", "rho-a", "kendall", "tau-b"):
        return _nan_ranks(vectors)
    if method == "pearson":
        centred = vectors - np.nanmean(vectors, axis=1, keepdims=True)
        return centred / np.nanstd(centred, axis=1, keepdims=True)
    if method == "cosine":
        return vectors / np.sqrt(np.nanmean(vectors**2, axis=1, keepdims=True))
    # whitened methods: divide by the whitened norm sqrt(x^T V^-1 x)
    x = vectors - np.nanmean(vectors, axis=1, keepdims=True) if method == "corr_cov" else vectors
    keep = ~np.isnan(x).any(axis=0)
    n = n_conditions_from_pairs(x.shape[1])
    w = whiten_vectors(x[:, keep], n, None if keep.all() else keep)
    return x / np.sqrt(np.einsum("ij,ij->i", w, w))[:, None]


def noise_ceiling(data_rdms, method: str = "spearman") -> RDMNoiseCeiling:
    """Noise ceiling of a set of data RDMs (one per subject).

    Upper bound: the mean over subjects of the similarity between each subject's RDM and
    the pooled RDM of all subjects. Lower bound: the same with the pooled RDM of the other
    subjects (leave one subject out). As in rsatoolbox's ``boot_noise_ceiling``, the RDMs
    are normalised before pooling (averaging) so that the pooled RDM is the best
    predictor under ``method``: ranks for spearman, rho-a and Kendall's tau, z-scores for
    pearson, division by the root mean square for cosine, by the whitened norm for the
    ``_cov`` methods.

    Parameters
    ----------
    data_rdms : RDM or array-like
        A stack of at least 2 RDMs over the same conditions.
    method : str, default "spearman"

    Returns
    -------
    RDMNoiseCeiling
        A ``(lower, upper)`` named tuple, with ``to_frame()`` and ``plot()``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, noise_ceiling
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> subjects = RDM(truth + 0.3 * rng.random((5, 45)))
    >>> low, high = noise_ceiling(subjects)
    >>> bool(0 < low < high <= 1)
    True
    """
    data = _check_data(data_rdms, "data_rdms")
    method = canonical_method(method)
    if data.n_rdms < 2:
        raise ShapeMismatchError(f"data_rdms holds {data.n_rdms} RDM; expected at least 2 (one per subject)")
    vec = np.asarray(data.vectors)
    ready = _pool_ready(vec, method)
    total = ready.sum(axis=0)
    n_subj = vec.shape[0]
    pooled_all = total / n_subj
    others = (total[None, :] - ready) / (n_subj - 1)
    upper = np.asarray(compare_vectors(vec, pooled_all[None, :], method), dtype=float)[:, 0]
    lower = np.diag(np.asarray(compare_vectors(others, vec, method), dtype=float))
    return RDMNoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))


# --------------------------------------------------------------------------- model comparison
def _holm(p: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni step-down adjusted p-values."""
    p = np.asarray(p, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _adjust(p: np.ndarray, correction: str) -> np.ndarray:
    if p.size == 0:
        return p
    if correction == "holm":
        return _holm(p)
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    if correction == "fdr":
        from scipy.stats import false_discovery_control

        return false_discovery_control(p, method="bh")
    if correction in (None, "none"):
        return p
    raise ArgumentError(f"correction={correction!r}; expected 'holm', 'fdr', 'bonferroni' or 'none'")


def _two_sided(diff: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-values that the differences (n_samples, k) are centred on 0."""
    n = diff.shape[0]
    below = (diff <= 0).sum(axis=0)
    above = (diff >= 0).sum(axis=0)
    return np.minimum(1.0, 2.0 * (1.0 + np.minimum(below, above)) / (1.0 + n))


def compare_models(
    bootstrap_result: BootstrapResult,
    correction: str = "holm",
    noise_ceiling_lower: float | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Pairwise model differences (and each model vs the lower noise ceiling) from a bootstrap.

    For every pair of models, the difference of their scores on the full data is tested
    with the bootstrap distribution of the paired differences: the two-sided p-value is
    ``min(1, 2 (1 + min(#{d <= 0}, #{d >= 0})) / (1 + n_bootstrap))``. The comparisons with
    the lower noise ceiling (``noise_ceiling_lower``, or ``bootstrap_result.noise_ceiling``)
    use the distribution of each model's score minus that fixed bound. P-values are
    corrected for multiple comparisons over all rows (Holm, Benjamini-Hochberg FDR with
    :func:`scipy.stats.false_discovery_control`, or Bonferroni).

    Parameters
    ----------
    bootstrap_result : BootstrapResult
        From :func:`bootstrap`.
    correction : {"holm", "fdr", "bonferroni", "none"}, default "holm"
    noise_ceiling_lower : float, optional
        Lower noise ceiling to compare with (default: the result's, if any).
    alpha : float, default 0.05
        Level for the ``significant`` column.

    Returns
    -------
    DataFrame
        One row per comparison: ``model_a``, ``model_b`` (a model name or
        ``"noise_ceiling_lower"``), ``difference``, ``ci_low``, ``ci_high``, ``p_value``,
        ``p_adjusted``, ``significant``, ``correction``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, bootstrap, compare_models
    >>> rng = np.random.default_rng(0)
    >>> truth = rng.random(45)
    >>> models = RDM(np.vstack([truth, rng.random(45)]), names=["true", "random"])
    >>> res = bootstrap(RDM(truth + 0.2 * rng.random(45)), models, n_bootstrap=200, random_state=0, progress=False)
    >>> table = compare_models(res)
    >>> table[["model_a", "model_b", "significant"]].to_numpy().tolist()
    [['true', 'random', True]]
    """
    if not isinstance(bootstrap_result, BootstrapResult):
        raise ArgumentError(
            f"bootstrap_result has type {type(bootstrap_result).__name__}; expected the BootstrapResult of neurotk.rsa.bootstrap"
        )
    samples = bootstrap_result.samples
    samples = samples[np.isfinite(samples).all(axis=1)]
    if samples.shape[0] < 2:
        raise ArgumentError("bootstrap_result has fewer than 2 valid samples; expected a bootstrap distribution")
    names = bootstrap_result.model_names
    scores = bootstrap_result.scores
    ia, ib = np.triu_indices(len(names), 1)
    diff = samples[:, ia] - samples[:, ib]
    rows = {
        "model_a": [names[k] for k in ia],
        "model_b": [names[k] for k in ib],
        "difference": scores[ia] - scores[ib],
        "ci_low": np.percentile(diff, 2.5, axis=0) if diff.size else np.empty(0),
        "ci_high": np.percentile(diff, 97.5, axis=0) if diff.size else np.empty(0),
        "p_value": _two_sided(diff) if diff.size else np.empty(0),
    }
    table = pd.DataFrame(rows)
    if noise_ceiling_lower is None and bootstrap_result.noise_ceiling is not None:
        noise_ceiling_lower = bootstrap_result.noise_ceiling.lower
    if noise_ceiling_lower is not None:
        nc = float(noise_ceiling_lower)
        d = samples - nc
        table = pd.concat(
            [
                table,
                pd.DataFrame(
                    {
                        "model_a": names,
                        "model_b": "noise_ceiling_lower",
                        "difference": scores - nc,
                        "ci_low": np.percentile(d, 2.5, axis=0),
                        "ci_high": np.percentile(d, 97.5, axis=0),
                        "p_value": _two_sided(d),
                    }
                ),
            ],
            ignore_index=True,
        )
    table["p_adjusted"] = _adjust(table["p_value"].to_numpy(dtype=float), correction)
    table["significant"] = table["p_adjusted"] < alpha
    table["correction"] = correction
    return table
