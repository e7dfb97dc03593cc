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
  its labels.

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
    if not np.any(np.abs(c) > 1e-12 * max(1.0, float(np.abs(a).max()))):
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
@dataclasses.dataclass(repr=False)
class KernelAnalysisResult(Result):
    """Precision-vs-complexity curve of a kernel analysis.

    Attributes
    ----------
    n_components : ndarray (D,)
        Number of leading kernel principal components, 1..D (D = n_conditions - 1).
    complexity : ndarray (D,)
        ``n_components / D``.
    precision : ndarray (D,)
        ``1 - normalised loss`` of the least-squares fit of the centred one-hot labels by
        the leading components; non-decreasing, 1 at full complexity for a full-rank kernel.
    auc : float
        Area under the curve on the chosen ``axis`` (normalised to [0, 1]).
    sigma : ndarray (D,)
        Kernel width used at each complexity (the best of the grid there).
    sigmas : ndarray
        The widths tried.
    axis : str
        "log" or "linear" (how complexity is scaled for the AUC).

    Examples
    --------
    >>> import numpy as np
    >>> d = np.arange(1, 4)
    >>> KernelAnalysisResult(d, d / 3, np.array([0.5, 0.8, 1.0]), 0.7, np.ones(3), np.ones(1))
    KernelAnalysisResult(3 complexities, auc=0.7, axis='log', 1 kernel width)
    """

    n_components: np.ndarray
    complexity: np.ndarray
    precision: np.ndarray
    auc: float
    sigma: np.ndarray
    sigmas: np.ndarray
    axis: str = "log"

    def to_frame(self) -> pd.DataFrame:
        """One row per complexity: n_components, complexity, precision, sigma."""
        return pd.DataFrame(
            {
                "n_components": self.n_components,
                "complexity": self.complexity,
                "precision": self.precision,
                "sigma": self.sigma,
            }
        )

    def plot(self, ax=None, **kwargs):
        """Precision against complexity (log axis when ``axis == "log"``); returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_kernel_analysis`; ``kwargs`` go to
        matplotlib's ``plot`` (the label defaults to the AUC).

        Examples
        --------
        >>> import matplotlib, numpy as np
        >>> matplotlib.use("Agg")
        >>> d = np.arange(1, 4)
        >>> res = KernelAnalysisResult(d, d / 3, np.array([0.5, 0.8, 1.0]), 0.7, np.ones(3), np.ones(1))
        >>> res.plot().get_xscale()
        'log'
        """
        from ..plotting.rsa import plot_kernel_analysis

        return plot_kernel_analysis(self.complexity, self.precision, self.auc, log=self.axis == "log", ax=ax,
                                    **kwargs)

    def __repr__(self) -> str:
        return (f"KernelAnalysisResult({len(self.complexity)} complexities, auc={self.auc:.4g}, "
                f"axis={self.axis!r}, {len(self.sigmas)} kernel width{'s' if len(self.sigmas) != 1 else ''})")


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


def kernel_analysis(x, labels, sigma=None, *, axis: str = "log") -> KernelAnalysisResult:
    """Kernel analysis of a representation (Montavon et al. 2011; Cadieu et al. 2013).

    How well can the labels be fit from the leading principal components of a Gaussian
    kernel on the representation, as a function of how many components (complexity) are
    used? A good representation reaches high precision with few components.

    Steps: the Gaussian kernel ``K_ij = exp(-||x_i - x_j||^2 / (2 sigma^2))``, centred
    (``H K H``), is eigendecomposed; the centred one-hot labels ``Y`` are projected on the
    leading ``d`` eigenvectors ``U_d``; the normalised loss is
    ``||Y - U_d U_d^T Y||^2 / ||Y||^2`` and the precision ``1 - loss``, for
    ``d = 1 .. D`` with ``D = n - 1`` (the centred kernel's rank). Eigenvectors with
    numerically zero eigenvalue add nothing, so the curve is flat beyond the kernel's rank.

    AUC: as in the benchmark's figures, complexity ``d / D`` is read on a logarithmic
    axis, and the area is taken over ``log(d) / log(D)`` in [0, 1] (trapezoids), so the
    AUC is in [0, 1]. The log axis weighs low complexities, where representations differ,
    as much as high ones, where every representation approaches precision 1; a linear axis
    (``axis="linear"``, area over ``(d - 1) / (D - 1)``) is dominated by the latter.

    Parameters
    ----------
    x : Recording or array-like, shape (n_conditions, n_channels)
    labels : array-like (n_conditions,) or str
        Class labels (any hashable values), or the name of a ``samples`` column of ``x``.
    sigma : None, float, "grid" or array-like, default None
        Kernel width. None: the median pairwise Euclidean distance (so the curve is
        invariant to scaling ``x``). A float: that width. ``"grid"``: the median times
        ``logspace(-1, 1, 9)``. An array: those widths. With several widths the best
        (highest precision) is taken at each complexity, as Montavon et al. choose the
        kernel scale per complexity; ``.sigma`` records the choice.
    axis : {"log", "linear"}, default "log"
        Complexity axis for the AUC.

    Returns
    -------
    KernelAnalysisResult
        With ``.complexity``, ``.precision``, ``.auc``, ``.plot(ax=None)``, ``.to_frame()``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import kernel_analysis
    >>> rng = np.random.default_rng(0)
    >>> labels = np.repeat([0, 1, 2], 20)
    >>> x = 5 * np.eye(3)[labels] + rng.normal(size=(60, 3))
    >>> res = kernel_analysis(x, labels)
    >>> res.auc > 0.6, float(res.precision[-1]) > 0.999
    (True, True)
    """
    check_choice(axis, "axis", ("log", "linear"))
    a = _as_matrix(x, "x")
    n = a.shape[0]
    lab = _labels(x, labels, n)
    _, codes = np.unique(lab, return_inverse=True)
    codes = np.asarray(codes).ravel()
    n_classes = int(codes.max()) + 1
    if n_classes < 2:
        raise ArgumentError(f"labels has {n_classes} class; expected at least 2 classes")
    y = np.eye(n_classes)[codes]
    y -= y.mean(axis=0)
    total = np.sum(y**2)

    sq = np.einsum("ij,ij->i", a, a)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (a @ a.T), 0.0)
    np.fill_diagonal(d2, 0.0)
    i, j = pair_index(n)
    median = float(np.median(np.sqrt(d2[i, j])))
    if isinstance(sigma, str):
        if sigma != "grid":
            raise ArgumentError(f"sigma={sigma!r}; expected None, a positive number, 'grid' or an array")
        sigmas = median * np.logspace(-1, 1, 9)
    elif sigma is None:
        sigmas = np.array([median])
    else:
        sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64)).ravel()
    if sigmas.size == 0 or not np.all(np.isfinite(sigmas)) or np.any(sigmas <= 0):
        raise ArgumentError(
            f"kernel width sigma={describe_values(sigmas)} is not positive (the median pairwise "
            f"distance is {median:.3g}); expected positive widths (are all conditions identical?)"
        )

    curves = np.empty((len(sigmas), n - 1))
    for k, s in enumerate(sigmas):  # one eigendecomposition per kernel width
        kern = np.exp(-d2 / (2.0 * s * s))
        kern -= kern.mean(axis=0, keepdims=True)
        kern -= kern.mean(axis=1, keepdims=True)
        evals, evecs = np.linalg.eigh(kern)
        evals, evecs = evals[::-1][: n - 1], evecs[:, ::-1][:, : n - 1]
        fit = np.sum((evecs.T @ y) ** 2, axis=1)
        fit[evals <= evals[0] * n * np.finfo(float).eps] = 0.0
        curves[k] = np.minimum(np.cumsum(fit) / total, 1.0)
    best = np.argmax(curves, axis=0)
    precision = curves[best, np.arange(n - 1)]
    d = np.arange(1, n)
    D = n - 1
    t = np.log(d) / np.log(D) if axis == "log" else (d - 1) / (D - 1)
    auc = float(np.sum(np.diff(t) * (precision[1:] + precision[:-1]) / 2.0))
    return KernelAnalysisResult(
        n_components=d,
        complexity=d / D,
        precision=precision,
        auc=auc,
        sigma=sigmas[best],
        sigmas=sigmas,
        axis=axis,
    )
