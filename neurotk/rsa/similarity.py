"""Representational similarity beyond RDMs.

Functions here compare two representations of the same conditions directly:

- :func:`cka`: linear centred kernel alignment (Kornblith et al. 2019), biased or
  debiased (unbiased HSIC, Song et al. 2012);
- :func:`ssm`: the similarity of similarity matrices of Shi, Shea-Brown & Buice (2019),
  with a stimulus-permutation null and a bootstrap over channels;
- :func:`shape_distance` / :func:`procrustes_distance`: the generalized shape metrics of
  Williams et al. (2021), angular, with partial whitening;
- :func:`kernel_analysis`: the precision-vs-complexity curve of the Neural Representation
  Benchmark (Cadieu et al. 2013, after Montavon et al. 2011) for one representation and
  its labels, as the benchmark's reference code computes it, with its cross-validated
  prediction curve.

Inputs ``x`` and ``y`` are :class:`~neurotk.Recording` objects or arrays of shape
``(n_conditions, n_channels)`` with the same rows (conditions) in the same order; the
channel counts may differ. Two Recordings that both have a ``stimulus`` column in
``samples`` are matched on it: each is first averaged over repeated stimuli
(``recording.average("stimulus")``) if it has repeats, then ``y`` is reordered to ``x``'s
stimuli with :meth:`Recording.align` (``y``'s extra stimuli are dropped; a stimulus of
``x`` missing from ``y`` is an :class:`~neurotk.AlignmentError`). Otherwise rows are taken
as they are and must be equal in number. Computation is in float64.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int, check_matrix
from ..errors import (
    ArgumentError,
    NonFiniteDataError,
    ShapeMismatchError,
    describe_values,
)
from ..recording import Recording
from ..results import Result
from ..utils import as_rng
from .ranks import average_ranks
from .rdms import pair_index

__all__ = [
    "cka",
    "ssm",
    "SSMResult",
    "shape_distance",
    "procrustes_distance",
    "kernel_analysis",
    "KernelAnalysisResult",
]

# --------------------------------------------------------------------------- inputs
def _prepare_recording(rec: Recording) -> Recording:
    if rec.samples["stimulus"].duplicated().any():
        rec = rec.average(by="stimulus", sort=False)
    return rec


def _as_matrix(x, name: str) -> np.ndarray:
    return check_matrix(x, name, rows="conditions", cols="channels", min_rows=3,
                        finite_hint="average or drop missing values first")


def _paired(x, y, names=("x", "y")) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays with matched rows, following the rules in the module docstring."""
    if (
        isinstance(x, Recording)
        and isinstance(y, Recording)
        and "stimulus" in x.samples.columns
        and "stimulus" in y.samples.columns
    ):
        x = _prepare_recording(x)
        y = _prepare_recording(y).align(x, on="stimulus")
    a = _as_matrix(x, names[0])
    b = _as_matrix(y, names[1])
    if a.shape[0] != b.shape[0]:
        raise ShapeMismatchError(
            f"{names[0]} has {a.shape[0]} conditions (rows) but {names[1]} has {b.shape[0]}; "
            f"expected the same conditions in the same order (pass Recordings with a "
            f"'stimulus' column to match them)"
        )
    return a, b


def _centred(a: np.ndarray, name: str) -> np.ndarray:
    c = a - a.mean(axis=0, keepdims=True)
    peak = float(np.abs(a).max())  # relative to the data's own scale (1e-300 data vary too)
    if peak == 0 or not np.any(np.abs(c) > 1e-12 * peak):
        raise ArgumentError(
            f"{name} is the same for every condition (zero variance); expected a "
            f"representation that varies across conditions"
        )
    return c


# --------------------------------------------------------------------------- CKA
def cka(x, y, debiased: bool = False) -> float:
    """Linear centred kernel alignment between two representations.

    ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with linear kernels ``K = X X^T``
    and ``L = Y Y^T`` of the column-centred data (Kornblith et al. 2019). It is invariant
    to orthogonal transforms and isotropic scaling of either representation, but not to
    general invertible linear maps. With fewer channels than conditions it is computed in
    feature space, ``||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)``; otherwise from the
    ``n x n`` Gram matrices.

    Parameters
    ----------
    x, y : Recording or array-like, shape (n_conditions, n_channels)
        Responses to the same conditions (see the module docstring for matching).
    debiased : bool, default False
        Use the unbiased HSIC estimator (Song et al. 2012; Nguyen et al. 2021), whose
        value is near 0 for independent representations even with many channels and few
        conditions (the biased estimator is then far above 0). Needs at least 4
        conditions; the debiased CKA can be slightly negative.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import cka
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(50, 10))
    >>> q, _ = np.linalg.qr(rng.normal(size=(10, 10)))
    >>> round(cka(x, 3 * x @ q), 6)
    1.0
    >>> abs(cka(x, rng.normal(size=(50, 200)), debiased=True)) < 0.1
    True
    """
    a, b = _paired(x, y)
    n = a.shape[0]
    if debiased and n < 4:
        raise ShapeMismatchError(
            f"debiased CKA needs at least 4 conditions; x and y have {n}"
        )
    a = _centred(a, "x")
    b = _centred(b, "y")
    # CKA is invariant to scaling x and y: bring both to unit peak so that sums of fourth
    # powers cannot overflow (x * 1e300 gave NaN)
    a = a / np.abs(a).max()
    b = b / np.abs(b).max()
    if max(a.shape[1], b.shape[1]) < n:  # feature space: p x q cross-products
        kl = np.sum((b.T @ a) ** 2)
        kk = np.sum((a.T @ a) ** 2)
        ll = np.sum((b.T @ b) ** 2)
    else:  # Gram space: n x n kernels
        k = a @ a.T
        lm = b @ b.T
        kl = np.vdot(k, lm)
        kk = np.vdot(k, k)
        ll = np.vdot(lm, lm)
    if debiased:
        # unbiased HSIC of centred data (K 1 = 0), up to the common factor 1/(n(n-3)):
        # <K,L> - n/(n-2) diag(K).diag(L) + tr(K) tr(L) / ((n-1)(n-2))
        dk = np.einsum("ij,ij->i", a, a)
        dl = np.einsum("ij,ij->i", b, b)

        def hsic(prod, d1, d2):
            return prod - n / (n - 2.0) * (d1 @ d2) + d1.sum() * d2.sum() / ((n - 1.0) * (n - 2.0))

        kl, kk, ll = hsic(kl, dk, dl), hsic(kk, dk, dk), hsic(ll, dl, dl)
        if kk <= 0 or ll <= 0:
            return float("nan")
    return float(kl / np.sqrt(kk * ll))


# --------------------------------------------------------------------------- SSM
def _similarity_vector(a: np.ndarray, name: str | None) -> np.ndarray:
    """Strict upper triangle of the Pearson correlation between conditions (rows).

    Rows of zero variance give NaN (or an error when ``name`` is given).
    """
    z = a - a.mean(axis=1, keepdims=True)
    norm = np.sqrt(np.einsum("ij,ij->i", z, z))
    flat = norm <= 1e-12 * np.maximum(np.abs(a).max(axis=1), np.finfo(float).tiny) * np.sqrt(a.shape[1])
    if flat.any():
        if name is not None:
            raise ArgumentError(
                f"{name} has conditions {describe_values(np.flatnonzero(flat))} whose response "
                f"pattern is constant across channels; the Pearson similarity of those "
                f"conditions is undefined (expected patterns that vary across channels)"
            )
        norm = np.where(flat, np.nan, norm)
    z /= norm[:, None]
    sim = z @ z.T
    i, j = pair_index(a.shape[0])
    return sim[i, j]


def _standardised_ranks(v: np.ndarray) -> np.ndarray:
    r = average_ranks(v[None, :])[0]
    r -= r.mean()
    norm = np.sqrt(r @ r)
    return r / norm if norm > 0 else np.full_like(r, np.nan)


@dataclasses.dataclass(repr=False)
class SSMResult(Result):
    """Similarity of similarity matrices with its resampling distributions.

    Attributes
    ----------
    score : float
        Spearman correlation of the two similarity matrices' strict upper triangles.
    null : ndarray (n_permutations,)
        Scores with the conditions of ``y`` permuted (rows and columns together).
    p_value : float
        ``(1 + #(null >= score)) / (1 + n_permutations)`` (one-sided); NaN without
        permutations.
    bootstrap : ndarray (n_bootstrap,)
        Scores with the channels of ``x`` resampled with replacement (NaN where a
        resample leaves a condition with a constant pattern).
    ci : tuple of float
        Percentile 95% interval of the finite bootstrap scores; NaNs without bootstrap.

    Examples
    --------
    >>> import numpy as np
    >>> SSMResult(0.5, np.zeros(99), 0.01, np.full(20, 0.5), (0.45, 0.55))
    SSMResult(score=0.5, p_value=0.01, 99 permutations, 20 bootstrap samples)
    """

    score: float
    null: np.ndarray
    p_value: float
    bootstrap: np.ndarray
    ci: tuple

    def __float__(self) -> float:
        return float(self.score)

    def to_frame(self) -> pd.DataFrame:
        """One row: score, p_value, ci_low, ci_high, n_permutations, n_bootstrap."""
        return pd.DataFrame(
            {
                "score": [self.score],
                "p_value": [self.p_value],
                "ci_low": [self.ci[0]],
                "ci_high": [self.ci[1]],
                "n_permutations": [len(self.null)],
                "n_bootstrap": [len(self.bootstrap)],
            }
        )

    def plot(self, ax=None):
        """Histograms of the permutation null and the bootstrap, with the score marked.

        Draws through :func:`neurotk.plotting.rsa.plot_ssm` (the finite bootstrap scores);
        returns the Axes.

        Examples
        --------
        >>> import matplotlib, numpy as np
        >>> matplotlib.use("Agg")
        >>> SSMResult(0.5, np.zeros(99), 0.01, np.full(20, 0.5), (0.45, 0.55)).plot().get_ylabel()
        'count'
        """
        from ..plotting.rsa import plot_ssm

        return plot_ssm(self.score, self.null, self.bootstrap[np.isfinite(self.bootstrap)], ax=ax)

    def __repr__(self) -> str:
        return (f"SSMResult(score={self.score:.4g}, p_value={self.p_value:.4g}, {len(self.null)} permutations, "
                f"{len(self.bootstrap)} bootstrap samples)")


_CHUNK = 256  # resamples per job; fixed so results do not depend on n_jobs


def _null_chunk(perms, rank_square, rx, i, j):
    return rank_square[perms[:, i], perms[:, j]] @ rx


def _boot_chunk(cols, a, ry):
    out = np.empty(len(cols))
    for k, c in enumerate(cols):  # one iteration per bootstrap sample
        v = _similarity_vector(a[:, c], None)
        if np.isnan(v).any():
            out[k] = np.nan
            continue
        out[k] = _standardised_ranks(v) @ ry
    return out


def _run_chunks(func, chunks, n_jobs, *args):
    if not chunks:
        return np.empty(0)
    if n_jobs == 1 or len(chunks) == 1:
        parts = [func(c, *args) for c in chunks]
    else:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs)(delayed(func)(c, *args) for c in chunks)
    return np.concatenate(parts)


def ssm(x, y, n_permutations: int = 0, n_bootstrap: int = 0, random_state=None, n_jobs: int = 1):
    """Similarity of similarity matrices (Shi, Shea-Brown & Buice 2019).

    Each representation is summarised by its Pearson similarity matrix (the correlation,
    across channels, between the response patterns of every two conditions); SSM is the
    Spearman correlation of the two matrices' strict upper triangles. This is how network
    layers are mapped onto mouse visual areas.

    Parameters
    ----------
    x, y : Recording or array-like, shape (n_conditions, n_channels)
        Responses to the same conditions (see the module docstring for matching). Each
        condition's pattern must vary across channels.
    n_permutations : int, default 0
        Stimulus-permutation null: ``y``'s condition labels are permuted (rows and columns
        of its similarity matrix together) and the score recomputed.
    n_bootstrap : int, default 0
        Bootstrap over the channels (neurons) of ``x``, resampled with replacement.
    random_state : None, int or numpy Generator
        Seed; all permutations and resamples are drawn up front, so results are the same
        for any ``n_jobs``.
    n_jobs : int, default 1
        Parallel jobs (joblib) for the resampling.

    Returns
    -------
    float or SSMResult
        A float when no resampling is asked; otherwise an :class:`SSMResult` with
        ``.score``, ``.null``, ``.p_value``, ``.bootstrap`` and ``.ci``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import ssm
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20, 30))
    >>> y = x @ rng.normal(size=(30, 40)) + 0.5 * rng.normal(size=(20, 40))
    >>> round(ssm(x, y), 2) > 0.5
    True
    >>> res = ssm(x, y, n_permutations=200, n_bootstrap=50, random_state=0)
    >>> res.p_value < 0.05, res.bootstrap.shape, res.ci[0] < res.ci[1]
    (True, (50,), True)
    """
    n_permutations = check_int(n_permutations, "n_permutations", minimum=0)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", minimum=0)
    a, b = _paired(x, y)
    if a.shape[1] < 2 or b.shape[1] < 2:
        raise ShapeMismatchError(
            f"x has {a.shape[1]} and y has {b.shape[1]} channels; expected at least 2 each "
            f"(similarities are correlations across channels)"
        )
    vx = _similarity_vector(a, "x")
    vy = _similarity_vector(b, "y")
    rx = _standardised_ranks(vx)
    ry = _standardised_ranks(vy)
    score = float(rx @ ry)
    if n_permutations == 0 and n_bootstrap == 0:
        return score
    rng = as_rng(random_state)
    n = a.shape[0]
    i, j = pair_index(n)
    perms = rng.permuted(np.tile(np.arange(n), (n_permutations, 1)), axis=1) if n_permutations else np.empty((0, n), int)
    cols = rng.integers(0, a.shape[1], size=(n_bootstrap, a.shape[1]))
    rank_square = np.zeros((n, n))
    rank_square[i, j] = ry
    rank_square[j, i] = ry
    null = _run_chunks(
        _null_chunk, [perms[s : s + _CHUNK] for s in range(0, n_permutations, _CHUNK)], n_jobs, rank_square, rx, i, j
    )
    boot = _run_chunks(
        _boot_chunk, [cols[s : s + _CHUNK // 8] for s in range(0, n_bootstrap, _CHUNK // 8)], n_jobs, a, ry
    )
    # NaN-safe comparison: a score within rounding of the observed one counts as >=
    p_value = float((1 + np.sum(null >= score - 1e-12)) / (1 + n_permutations)) if n_permutations else float("nan")
    finite = boot[np.isfinite(boot)]
    ci = (float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))) if len(finite) else (float("nan"), float("nan"))
    return SSMResult(score=score, null=null, p_value=p_value, bootstrap=boot, ci=ci)


# --------------------------------------------------------------------------- shape metrics
def _whitened_factors(a: np.ndarray, alpha: float):
    """Left singular vectors and singular values of the centred, partially whitened data.

    The data are centred and scaled so that the covariance's mean non-zero eigenvalue is
    1; partial whitening ``X (alpha I + (1 - alpha) Sigma^{-1/2})`` then has singular
    values ``alpha s + (1 - alpha)`` (``s`` those of the scaled ``X / sqrt(n)``) and the
    same singular vectors, so only ``U`` and those values are needed.
    """
    c = a - a.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(c, full_matrices=False)
    keep = s > s.max() * max(c.shape) * np.finfo(float).eps if s.size and s.max() > 0 else np.zeros(s.shape, bool)
    u, s = u[:, keep], s[keep]
    s = s / np.sqrt(np.mean(s**2))  # covariance eigenvalues s^2/n, scaled to mean 1
    return u, alpha * s + (1.0 - alpha)


def shape_distance(x, y, alpha: float = 1.0) -> float:
    """Angular generalized shape metric of Williams et al. (2021), with partial whitening.

    Each representation is centred, partially whitened, ``X_a = X (alpha I + (1 - alpha)
    Sigma^{-1/2})``, and scaled to unit Frobenius norm; the distance is the angle
    ``arccos(max_Q tr(X_a^T Y_a Q)) = arccos(||X_a^T Y_a||_*)`` over orthogonal ``Q``
    (the smaller channel count is padded with zeros, which does not change the nuclear
    norm). ``alpha = 1`` is the angular Procrustes distance (rotation-invariant);
    ``alpha = 0`` whitens fully and is invariant to any invertible linear map (CCA-like).
    The result lies in ``[0, pi/2]`` and satisfies the triangle inequality.

    To make intermediate ``alpha`` independent of the units of the data, each
    representation is first scaled so that its covariance has mean non-zero eigenvalue 1
    (a fixed per-representation map, so the metric properties hold); ``alpha = 0`` and
    ``alpha = 1`` are unaffected by this scaling.

    Parameters
    ----------
    x, y : Recording or array-like, shape (n_conditions, n_channels)
    alpha : float in [0, 1], default 1.0

    Returns
    -------
    float
        Angle in radians.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import shape_distance
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 5))
    >>> q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    >>> round(shape_distance(x, 2 * x @ q + 1), 6)
    0.0
    >>> round(shape_distance(x, x @ rng.normal(size=(5, 5)), alpha=0.0), 6)
    0.0
    """
    alpha = check_float(alpha, "alpha", low=0, high=1)  # 1: Procrustes, 0: full whitening
    a, b = _paired(x, y)
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    if not np.any(np.abs(a) > 0) or not np.any(np.abs(b) > 0):
        raise ArgumentError(
            "x or y is the same for every condition (zero variance); expected representations "
            "that vary across conditions"
        )
    ua, da = _whitened_factors(a, alpha)
    ub, db = _whitened_factors(b, alpha)
    cross = (da[:, None] * (ua.T @ ub)) * db[None, :]
    nuclear = np.linalg.svd(cross, compute_uv=False).sum()
    cosine = nuclear / (np.linalg.norm(da) * np.linalg.norm(db))
    return float(np.arccos(np.clip(cosine, 0.0, 1.0)))


def procrustes_distance(x, y) -> float:
    """Angular Procrustes distance: :func:`shape_distance` with ``alpha = 1``.

    ``arccos`` of the largest correlation (Frobenius inner product) between the centred,
    unit-norm ``x`` and ``y`` over all rotations and reflections of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import procrustes_distance
    >>> rng = np.random.default_rng(1)
    >>> x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 6))
    >>> 0 < procrustes_distance(x, y) <= np.pi / 2
    True
    """
    return shape_distance(x, y, alpha=1.0)


# --------------------------------------------------------------------------- kernel analysis
#: Quantiles of the squared pairwise distances at which the Neural Representation Benchmark
#: sets its three Gaussian kernel widths (``Q`` of ``kanalysis_predict_core``).
_KA_QUANTILES = (0.1, 0.5, 0.9)
#: Added to every eigenvalue before a held-out condition is projected on the kernel
#: principal components (``1 / (1e-7 + W)`` in the reference).
_KA_EIGEN_FLOOR = 1e-7
#: Elements of the (components x test conditions x classes) prediction array built at once.
_KA_CHUNK = 1 << 22


@dataclasses.dataclass(repr=False)
class KernelAnalysisResult(Result):
    """Precision-vs-complexity curve of a kernel analysis, and its cross-validated twin.

    Attributes
    ----------
    n_components : ndarray
        Number ``d`` of leading kernel principal components: ``0 .. n`` with
        ``axis="linear"`` (the benchmark's curve), ``1 .. n - 1`` with ``axis="log"``.
    complexity : ndarray
        ``d / n`` (linear) or ``d / (n - 1)`` (log).
    precision : ndarray
        ``1 - normalised loss`` of the least-squares fit of the centred labels by the
        leading ``d`` components, on all conditions; 0 at ``d = 0``, non-decreasing.
    auc : float
        KA-AUC: the mean precision over ``d = 0 .. n`` (linear), or the area over
        ``log(d) / log(n - 1)`` (log); in [0, 1].
    sigma : ndarray
        Kernel width ``sigma`` (kernel ``exp(-D^2 / (2 sigma^2))``) used at each ``d``: the
        best of ``sigmas`` there.
    sigmas : ndarray
        The widths tried on all conditions.
    axis : str
        "linear" or "log".
    cv_n_components, cv_complexity : ndarray or None
        ``d`` and complexity of the cross-validated curves (``d`` up to the smallest
        training set); None without ``cv``.
    cv_precision : ndarray or None
        Prediction curve: ``1 - loss`` on the held-out conditions, mean over splits.
    cv_fit_precision : ndarray or None
        The fit curve on each split's training conditions, mean over splits.
    cv_auc : float or None
        Area of ``cv_precision`` (as ``auc``).
    cv_fit_auc : float or None
        Mean over splits of each training curve's KA-AUC (the benchmark protocol's "mean
        KA-AUC").
    generalization : float or None
        ``max(cv_precision)``: the benchmark's "generalization accuracy" (1 - squared
        loss on held-out conditions at the best complexity).
    n_splits : int
        Number of cross-validation splits (0 without ``cv``).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(4)
    >>> KernelAnalysisResult(d, d / 3, np.array([0.0, 0.5, 0.8, 0.8]), 0.525, np.ones(4), np.ones(1))
    KernelAnalysisResult(4 complexities, auc=0.525, axis='linear', 1 kernel width)
    """

    n_components: np.ndarray
    complexity: np.ndarray
    precision: np.ndarray
    auc: float
    sigma: np.ndarray
    sigmas: np.ndarray
    axis: str = "linear"
    cv_n_components: np.ndarray | None = None
    cv_complexity: np.ndarray | None = None
    cv_precision: np.ndarray | None = None
    cv_fit_precision: np.ndarray | None = None
    cv_auc: float | None = None
    cv_fit_auc: float | None = None
    generalization: float | None = None
    n_splits: int = 0

    def to_frame(self) -> pd.DataFrame:
        """One row per complexity: n_components, complexity, precision, sigma.

        With cross-validation a first column ``curve`` tells the curves apart: "fit" (all
        conditions), "cv fit" (training conditions, mean over splits) and "cv prediction"
        (held-out conditions, mean over splits; their ``sigma`` is NaN, as each split
        chooses its own widths).
        """
        fit = pd.DataFrame(
            {
                "n_components": self.n_components,
                "complexity": self.complexity,
                "precision": self.precision,
                "sigma": self.sigma,
            }
        )
        if self.cv_precision is None:
            return fit
        parts = [fit.assign(curve="fit")]
        for name, values in (("cv fit", self.cv_fit_precision), ("cv prediction", self.cv_precision)):
            parts.append(pd.DataFrame({"n_components": self.cv_n_components, "complexity": self.cv_complexity,
                                       "precision": values, "sigma": np.nan, "curve": name}))
        frame = pd.concat(parts, ignore_index=True)
        return frame[["curve", "n_components", "complexity", "precision", "sigma"]]

    def plot(self, ax=None, **kwargs):
        """Precision against complexity (log axis when ``axis == "log"``); returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_kernel_analysis`, with the
        cross-validated prediction curve dashed when there is one; ``kwargs`` go to
        matplotlib's ``plot`` (the label defaults to the AUC).

        Examples
        --------
        >>> import matplotlib, numpy as np
        >>> matplotlib.use("Agg")
        >>> d = np.arange(4)
        >>> res = KernelAnalysisResult(d, d / 3, np.array([0.0, 0.5, 0.8, 0.8]), 0.525, np.ones(4), np.ones(1))
        >>> res.plot().get_xscale()
        'linear'
        """
        from ..plotting.rsa import plot_kernel_analysis

        return plot_kernel_analysis(self.complexity, self.precision, self.auc, log=self.axis == "log", ax=ax,
                                    cv_complexity=self.cv_complexity, cv_precision=self.cv_precision,
                                    cv_auc=self.cv_auc, **kwargs)

    def __repr__(self) -> str:
        text = (f"KernelAnalysisResult({len(self.complexity)} complexities, auc={self.auc:.4g}, "
                f"axis={self.axis!r}, {len(self.sigmas)} kernel width{'s' if len(self.sigmas) != 1 else ''}")
        if self.cv_precision is not None:
            text += (f"; {self.n_splits} cv splits, cv_auc={self.cv_auc:.4g}, "
                     f"generalization={self.generalization:.4g}")
        return text + ")"


def _labels(x, labels, n: int) -> np.ndarray:
    if isinstance(labels, str) and isinstance(x, Recording):
        labels = x.column(labels, argument="labels", expected="the column holding the class of every condition")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ShapeMismatchError(
            f"labels has shape {lab.shape}; expected ({n},), one label per condition of x"
        )
    if pd.isna(lab).any():
        raise NonFiniteDataError("labels contains missing values; expected a label for every condition")
    return lab


def _sq_distances(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` (and ``b``), clipped at 0."""
    sa = np.einsum("ij,ij->i", a, a)
    if b is None:
        d2 = np.maximum(sa[:, None] + sa[None, :] - 2.0 * (a @ a.T), 0.0)
        np.fill_diagonal(d2, 0.0)
        return d2
    sb = np.einsum("ij,ij->i", b, b)
    return np.maximum(sa[:, None] + sb[None, :] - 2.0 * (a @ b.T), 0.0)


def _ka_widths(d2: np.ndarray, rule: str, values) -> np.ndarray:
    """Kernel widths as ``2 sigma^2`` (the kernel is ``exp(-D^2 / width)``) for one set of conditions.

    ``rule`` is "quantiles" (``values``: the quantiles), "median", "grid" or "fixed"
    (``values``: the sigmas).
    """
    n = d2.shape[0]
    if rule == "quantiles":
        # the reference sorts all n^2 entries of the squared-distance matrix (the zero
        # diagonal included) and takes entry int(q * n^2) of the sorted list
        flat = d2.ravel()
        index = [int(q * flat.size) for q in values]
        widths = np.partition(flat, index)[index]
        widths = widths[widths > 0]  # a quantile on zero distances (n < 1 / q, repeated rows)
        if widths.size == 0:
            raise ArgumentError(
                f"every kernel width at quantiles={list(values)} of the squared distances is 0 "
                f"({n} conditions); expected distinct conditions (are all conditions identical?)"
            )
        return widths
    i, j = pair_index(n)
    median = float(np.median(np.sqrt(d2[i, j])))
    sigmas = {"median": np.array([median]), "grid": median * np.logspace(-1, 1, 9)}.get(rule, values)
    if not np.all(sigmas > 0):
        raise ArgumentError(
            f"kernel width sigma={describe_values(sigmas)} is not positive (the median pairwise "
            f"distance is {median:.3g}); expected positive widths (are all conditions identical?)"
        )
    return 2.0 * sigmas * sigmas


def _ka_curves(d2: np.ndarray, y: np.ndarray, widths: np.ndarray, null_space: str,
               test=None, test_centring: str = "reference"):
    """Fit losses over d = 0..n for each width (and held-out losses when ``test`` is given).

    ``y`` holds the centred targets; ``test`` is ``(d2_test, y_test)`` with the squared
    distances (train x test) and the test targets centred by the training mean. Losses are
    normalised as the reference normalises them: by the training targets' total variance.
    """
    n = d2.shape[0]
    total = float(np.sum(y**2))
    scale = total / y.size  # T.std() ** 2 of the reference (centred targets, all entries)
    fit = np.empty((len(widths), n + 1))
    pred = None if test is None else np.empty((len(widths), n + 1))
    for w, width in enumerate(widths):  # one eigendecomposition per kernel width
        kern = np.exp(-d2 / width)
        col_mean, row_mean = kern.mean(axis=0), kern.mean(axis=1)
        grand = float(row_mean.mean())
        evals, evecs = np.linalg.eigh(kern - col_mean[None, :] - row_mean[:, None] + grand)
        order = np.argsort(-np.abs(evals), kind="stable")
        evals, evecs = evals[order], evecs[:, order]
        if null_space == "variance":  # reference: stop where the cumulative squared spectrum stops growing
            explained = np.cumsum(evals**2) / np.sum(evals**2)
            keep = np.arange(n) <= int(np.argmax(explained))
        else:  # numerical rank
            keep = evals > evals[0] * n * np.finfo(float).eps
        theta = evecs.T @ y  # (components, classes)
        theta[~keep] = 0.0
        gain = np.concatenate([[0.0], np.cumsum(np.sum(theta**2, axis=1))])
        fit[w] = np.maximum(1.0 - gain / total, 0.0)
        if test is None:
            continue
        d2_test, y_test = test
        ktest = np.exp(-d2_test / width)
        if test_centring == "reference":  # the training kernel's row mean, twice (see kernel_analysis)
            ktest = ktest - (col_mean + row_mean)[:, None] + grand
        else:
            ktest = ktest - row_mean[:, None] - ktest.mean(axis=0)[None, :] + grand
        proj = np.zeros((n, ktest.shape[1]))
        proj[keep] = (evecs[:, keep].T @ ktest) / (evals[keep] + _KA_EIGEN_FLOOR)[:, None]
        loss = np.zeros(n + 1)
        m, n_classes = y_test.shape
        step = max(1, _KA_CHUNK // max(1, n * n_classes))
        for start in range(0, m, step):  # chunks of test conditions bound the memory
            block = proj[:, start:start + step]
            cumulative = np.cumsum(block[:, :, None] * theta[:, None, :], axis=0)
            target = y_test[start:start + step]
            loss[0] += np.sum(target**2)
            loss[1:] += np.sum((cumulative - target[None]) ** 2, axis=(1, 2))
        pred[w] = loss / (m * n_classes * scale)
    return fit, pred


def _ka_best(losses: np.ndarray) -> np.ndarray:
    """Index of the best width at each d: the lowest loss, the first width on ties.

    The reference takes ``argmin``, the first on exact ties. Losses within ``1e-12`` of
    the lowest count as tied here, so that where every width fits exactly (full
    complexity, loss 0 up to rounding) rounding does not pick the width.
    """
    return np.argmax(losses <= losses.min(axis=0, keepdims=True) + 1e-12, axis=0)


def _ka_axis(losses: np.ndarray, axis: str):
    """(d, complexity, precision, auc) of a loss curve over d = 0..n on the chosen axis."""
    n = losses.shape[-1] - 1
    precision = 1.0 - losses
    if axis == "linear":
        d = np.arange(n + 1)
        return d, d / n, precision, float(np.mean(precision))
    d = np.arange(1, n)
    precision = precision[..., 1:n]
    t = np.log(d) / np.log(n - 1)
    auc = float(np.sum(np.diff(t) * (precision[1:] + precision[:-1]) / 2.0))
    return d, d / (n - 1), precision, auc


def _ka_splits(cv, codes: np.ndarray, random_state) -> list[tuple[np.ndarray, np.ndarray]]:
    """``cv`` as a list of (train, test) index arrays over the conditions."""
    n = codes.size
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        from sklearn.model_selection import StratifiedKFold

        k = check_int(cv, "cv", minimum=2, maximum=n)
        smallest = int(np.bincount(codes).min())
        if k > smallest:
            raise ArgumentError(f"cv={k} folds but the smallest class has {smallest} conditions; "
                                f"expected at most {smallest} folds (stratified), or pass your own splits")
        seed = int(as_rng(random_state).integers(2**31 - 1))
        splits = StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros((n, 1)), codes)
    elif hasattr(cv, "split"):
        splits = cv.split(np.zeros((n, 1)), codes)
    else:
        try:
            splits = list(cv)
        except TypeError:
            raise ArgumentError(
                f"cv has type {type(cv).__name__}; expected None, a number of folds, a scikit-learn "
                f"splitter, boolean training masks or (train, test) index arrays"
            ) from None
    folds = []
    for k, split in enumerate(splits):
        mask = None
        if not isinstance(split, tuple):
            try:
                mask = np.asarray(split)
            except ValueError:  # a ragged (train, test) pair
                mask = None
        if mask is not None and mask.dtype == bool and mask.shape == (n,):  # a training mask
            train, test = np.flatnonzero(mask), np.flatnonzero(~mask)
        else:
            try:
                train, test = (np.asarray(part) for part in split)
                train = np.flatnonzero(train) if train.dtype == bool else train.astype(np.intp).ravel()
                test = np.flatnonzero(test) if test.dtype == bool else test.astype(np.intp).ravel()
            except (TypeError, ValueError):
                raise ArgumentError(f"cv split {k} is neither a boolean training mask of length {n} nor a "
                                    f"(train, test) pair of index arrays or masks") from None
        if train.size < 3 or test.size < 1:
            raise ArgumentError(f"cv split {k} has {train.size} training and {test.size} held-out conditions; "
                                f"expected at least 3 and 1")
        if min(train.min(), test.min()) < 0 or max(train.max(), test.max()) >= n:
            raise ArgumentError(f"cv split {k} indexes outside the {n} conditions")
        if np.unique(codes[train]).size < 2:
            raise ArgumentError(f"cv split {k} trains on a single class; expected at least 2 classes")
        folds.append((train, test))
    if not folds:
        raise ArgumentError("cv produced no splits; expected at least one")
    return folds


def kernel_analysis(x, labels, sigma=None, *, quantiles=_KA_QUANTILES, axis: str = "linear",
                    null_space: str = "variance", cv=None, test_centring: str = "reference",
                    random_state=None) -> KernelAnalysisResult:
    """Kernel analysis of a representation, as the Neural Representation Benchmark computes it.

    How well can the labels be fit from the leading principal components of a Gaussian
    kernel on the representation, as a function of how many components (complexity) are
    used? A good representation reaches high precision with few components (Montavon,
    Braun & Mueller 2011; Cadieu et al. 2013).

    By default this computes what the benchmark's reference code computes
    (``kanalysis_predict_core`` in the Neural Representation Benchmark's
    ``commandline_interface.py``, Cadieu et al. 2013, after Montavon's code):

    - the Gaussian kernel ``K_ij = exp(-D_ij^2 / w)``, centred (``H K H``), for three widths
      ``w``: the entries ``int(q n^2)`` of the sorted ``n^2`` squared distances (zero
      diagonal included) for ``q`` in ``quantiles`` = (0.1, 0.5, 0.9);
    - its eigenvectors sorted by ``|eigenvalue|``; those beyond the point where the
      cumulative sum of squared eigenvalues stops growing (in float64) are set to zero
      (the reference's null-space correction);
    - the centred one-hot labels ``Y`` projected on the leading ``d`` eigenvectors ``U_d``,
      with the normalised loss ``||Y - U_d U_d^T Y||^2 / ||Y||^2`` for ``d = 0 .. n``
      (``d = 0``: loss 1; ``d = n`` included) and the precision ``1 - loss``;
    - at each ``d`` the width with the lowest loss (losses within ``1e-12`` of the lowest
      count as tied and go to the first width, as exact ties do in the reference's
      ``argmin``, so that rounding does not choose where every width fits exactly);
    - the KA-AUC: ``1 - mean(loss)`` over ``d = 0 .. n``, complexity ``d / n`` on a linear
      axis.

    A quantile that falls on a zero distance (fewer than ``1 / q`` conditions, or repeated
    conditions) gives no width and is skipped; the reference would divide by zero.

    Parameters
    ----------
    x : Recording or array-like, shape (n_conditions, n_channels)
    labels : array-like (n_conditions,) or str
        Class labels (any hashable values), or the name of a ``samples`` column of ``x``.
    sigma : None, float, "median", "grid" or array-like, default None
        Kernel width ``sigma`` of ``exp(-D^2 / (2 sigma^2))``. None: the reference's three
        widths at ``quantiles`` (``sigma = sqrt(w / 2)``). ``"median"``: the median
        pairwise Euclidean distance, neurotk's former default (one width instead of the
        best of three; on the simulated hierarchy's V1 it lowers the KA-AUC from 0.829 to
        0.805). ``"grid"``: the median times
        ``logspace(-1, 1, 9)``. A float or an array: those widths. With several widths the
        best is taken at each complexity, as Montavon et al. choose the kernel scale per
        complexity; ``.sigma`` records the choice. Every choice but explicit widths is
        invariant to scaling ``x``.
    quantiles : sequence of float, default (0.1, 0.5, 0.9)
        Quantiles of the squared distances that set the widths when ``sigma`` is None.
    axis : {"linear", "log"}, default "linear"
        ``"linear"``: the reference's curve and KA-AUC, over ``d = 0 .. n``. ``"log"``:
        neurotk's former default, the curve over ``d = 1 .. n - 1`` (the centred kernel's
        rank) with the area over ``log(d) / log(n - 1)`` (trapezoids), as the benchmark's
        figures draw complexity; it weighs low complexities, where representations differ,
        as much as high ones, where every representation approaches precision 1, and so
        gives lower AUCs than the reference's (0.542 against 0.829 on the simulated V1).
    null_space : {"variance", "rank"}, default "variance"
        Which components count. ``"variance"``: the reference's null-space correction
        above. ``"rank"``: neurotk's former rule, components with eigenvalue above
        ``n * eps`` times the largest (the numerical rank), which keeps more of a steep
        spectrum's tail; the two agree unless the spectrum falls below about ``1e-8`` of
        its top (low-dimensional representations of many conditions).
    cv : None, int, scikit-learn splitter or iterable, default None
        Also compute the benchmark's cross-validated prediction curve. An integer: that
        many stratified, shuffled folds (seeded by ``random_state``). A splitter: its
        ``split(x, labels)``. An iterable of boolean training masks (the benchmark's
        splits: train on the mask, predict the rest) or of ``(train, test)`` index arrays.
        On each split the reference runs on the training conditions (widths from their
        distances, the width at each ``d`` chosen by the training loss); each held-out
        condition is projected on the training components (``k(x, X) U_d diag(1 / (lambda
        + 1e-7))``, the reference's Nyström step) and its labels predicted from the
        training fit; the loss is normalised by the training labels' variance, so it can
        exceed 1. The curves are averaged over splits (up to the smallest training set).
    test_centring : {"reference", "centred"}, default "reference"
        How the held-out conditions' kernel is centred. ``"reference"``: as the
        reference code does, subtracting the training kernel's row means twice and never
        the held-out condition's own mean over the training conditions. ``"centred"``:
        centred as the training kernel is (``k - mean_train k - row mean of K + mean of
        K``; Schölkopf et al. 1998). The reference's centring is not the training
        kernel's: a training condition passed as a held-out one is not predicted as in
        the fit (on the simulated hierarchy's V4 the two curves then differ by up to 0.17),
        and the held-out predictions carry an offset that lowers the prediction curve (5
        folds on the simulated V1: generalization 0.607 against 0.647 centred);
        ``"centred"`` removes it. The default stays the reference's, so that the numbers
        are the benchmark's.
    random_state : None, int or Generator
        Seeds the folds of an integer ``cv``.

    Returns
    -------
    KernelAnalysisResult
        With ``.complexity``, ``.precision``, ``.auc``, the ``cv_*`` curves and
        ``.generalization`` when ``cv`` is given, ``.plot(ax=None)``, ``.to_frame()``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import kernel_analysis
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 20)
    >>> x = 5 * np.eye(3)[labels] + rng.normal(size=(60, 3))
    >>> res = kernel_analysis(x, labels, cv=5, random_state=0)
    >>> res.auc > 0.9, float(res.precision[0]), res.n_components[[0, -1]].tolist()
    (True, 0.0, [0, 60])
    >>> res.generalization > 0.8
    True
    """
    check_choice(axis, "axis", ("linear", "log"))
    check_choice(null_space, "null_space", ("variance", "rank"))
    check_choice(test_centring, "test_centring", ("reference", "centred"))
    a = _as_matrix(x, "x")
    n = a.shape[0]
    lab = _labels(x, labels, n)
    _, codes = np.unique(lab, return_inverse=True)
    codes = np.asarray(codes).ravel()
    n_classes = int(codes.max()) + 1
    if n_classes < 2:
        raise ArgumentError(f"labels has {n_classes} class; expected at least 2 classes")
    if sigma is None:
        rule = "quantiles"
        try:
            values = [check_float(q, "quantiles", low=0, high=1, low_open=True, high_open=True)
                      for q in np.atleast_1d(np.asarray(quantiles, dtype=object)).ravel()]
        except (ArgumentError, ValueError):
            raise ArgumentError(f"quantiles={quantiles!r}; expected numbers in (0, 1)") from None
        if not values:
            raise ArgumentError("quantiles is empty; expected at least one number in (0, 1)")
    elif isinstance(sigma, str):
        rule, values = check_choice(sigma, "sigma", ("median", "grid")), None
    else:
        rule = "fixed"
        try:
            values = np.atleast_1d(np.asarray(sigma, dtype=np.float64)).ravel()
        except (TypeError, ValueError):
            raise ArgumentError(f"sigma={sigma!r}; expected None, 'median', 'grid', a positive number "
                                f"or an array of them") from None
        if values.size == 0:
            raise ArgumentError("sigma is empty; expected at least one positive kernel width")
    onehot = np.eye(n_classes)[codes]
    folds = None if cv is None else _ka_splits(cv, codes, random_state)

    d2 = _sq_distances(a)
    widths = _ka_widths(d2, rule, values)
    fits, _ = _ka_curves(d2, onehot - onehot.mean(axis=0), widths, null_space)
    best = _ka_best(fits)
    d, complexity, precision, auc = _ka_axis(fits[best, np.arange(n + 1)], axis)
    chosen = np.sqrt(widths[best] / 2.0)
    result = {"n_components": d, "complexity": complexity, "precision": precision, "auc": auc,
              "sigma": chosen if axis == "linear" else chosen[1:n], "sigmas": np.sqrt(widths / 2.0),
              "axis": axis}
    if folds is None:
        return KernelAnalysisResult(**result)

    fit_curves, pred_curves, fit_aucs = [], [], []
    for train, test in folds:  # one kernel analysis per split
        mean = onehot[train].mean(axis=0)
        d2_train = d2[np.ix_(train, train)]
        split_widths = _ka_widths(d2_train, rule, values)
        fit, pred = _ka_curves(d2_train, onehot[train] - mean, split_widths, null_space,
                               test=(d2[np.ix_(train, test)], onehot[test] - mean), test_centring=test_centring)
        pick = _ka_best(fit)
        steps = np.arange(train.size + 1)
        fit_curves.append(fit[pick, steps])
        pred_curves.append(pred[pick, steps])
        fit_aucs.append(_ka_axis(fit_curves[-1], axis)[3])
    shortest = min(len(c) for c in fit_curves)
    fit_mean = np.mean([c[:shortest] for c in fit_curves], axis=0)
    pred_mean = np.mean([c[:shortest] for c in pred_curves], axis=0)
    cv_d, cv_complexity, cv_fit, _ = _ka_axis(fit_mean, axis)
    _, _, cv_pred, cv_auc = _ka_axis(pred_mean, axis)
    return KernelAnalysisResult(
        **result,
        cv_n_components=cv_d,
        cv_complexity=cv_complexity,
        cv_precision=cv_pred,
        cv_fit_precision=cv_fit,
        cv_auc=cv_auc,
        cv_fit_auc=float(np.mean(fit_aucs)),
        generalization=float(np.max(cv_pred)),
        n_splits=len(folds),
    )
