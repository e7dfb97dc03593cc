"""The cross-validated ridge solver shared by :class:`RidgeCV` and :class:`BandedRidgeCV`.

The cross-validation solves every alpha and every target at once. Per fold, the training
features are decomposed once (:class:`Decomposition`): an SVD ``X = U S V^T`` when there
are fewer features than samples, or an eigendecomposition of the kernel ``X X^T``
otherwise (so a flattened conv layer with 10^5 features never builds a 10^5 x 10^5
matrix). The test predictions for alpha are then ``A diag(s / (s^2 + alpha)) U^T Y`` with
``A = X_test V`` (:class:`Fold`): ``U^T Y`` is computed once per fold and target chunk,
and each alpha costs one small product. No per-alpha weight matrix is ever built. Targets
are processed in chunks sized by ``max_memory`` and the chunks run through joblib
(:func:`neurotk.parallel.map_chunks`).

- :func:`cv_path`: the mean test score of every alpha for every target;
- :func:`fit_path`: the same, plus each target's best alpha and the refit on all samples;
- :func:`best_alpha` and :func:`refit_weights`: the choice and the refit on their own.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(40, 3)); y = x @ rng.normal(size=(3, 2)) + 0.1 * rng.normal(size=(40, 2))
>>> folds = [Fold(x, np.arange(20, 40), np.arange(20), True, "auto"),
...          Fold(x, np.arange(20), np.arange(20, 40), True, "auto")]
>>> path = cv_path(folds, y, np.array([0.1, 1e4]), fit_intercept=True, scoring="r2")
>>> path.shape, bool((path[0] > path[1]).all())
((2, 2), True)
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from .._backend import is_numpy_like, resolve_backend
from .._validation import check_matrix
from ..errors import ArgumentError
from ..parallel import chunk_size, chunk_slices, map_chunks
from .scoring import target_ids

__all__ = ["Decomposition", "Fold", "cv_path", "fit_path", "best_alpha", "refit_weights", "ArraySolver",
           "to_host", "backend_matrix", "check_targets_vary_backend", "scores_backend"]


# --------------------------------------------------------------------------- linear algebra
class Decomposition:
    """``X = U diag(s) V^T`` of (centred) training features, by SVD or kernel eigh.

    ``v`` is None in the dual (kernel) form, which keeps ``x`` instead; singular values
    below the numerical rank tolerance are dropped.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_features)
        The (centred) features.
    solver : {"auto", "primal", "dual"}
        ``"auto"`` decomposes the kernel when there are more features than samples.
    gram : bool, default False
        In the primal form, take ``V`` and ``s`` from the eigendecomposition of the
        float64 Gram matrix ``X^T X`` and ``U = X V / s`` (about 3x faster than the SVD,
        accurate to float64 rounding of ``s^2``: ample for the float32 path, which uses
        it; the float64 default keeps the SVD).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(5, 8))
    >>> dec = Decomposition(x, "auto")
    >>> dec.dual, dec.u.shape
    (True, (5, 5))
    >>> np.allclose(dec.project(x) * dec.s, x @ x.T @ dec.u)
    True
    """

    __slots__ = ("u", "s", "v", "x", "dual")

    def __init__(self, x: np.ndarray, solver: str, gram: bool = False):
        n, p = x.shape
        self.dual = solver == "dual" or (solver == "auto" and p > n)
        self.x = x if self.dual else None
        if gram and not self.dual:
            self._from_gram(x)
            return
        if self.dual:
            w, u = scipy.linalg.eigh(x @ x.T, check_finite=False)
            w, u = w[::-1], u[:, ::-1]
            s = np.sqrt(np.clip(w, 0, None))
            self.v = None
        else:
            u, s, vt = scipy.linalg.svd(x, full_matrices=False, check_finite=False,
                                        lapack_driver="gesdd")
            self.v = vt.T
        tol = s[0] * max(n, p) * np.finfo(np.float64).eps * (10 if self.dual else 1) if s.size else 0
        keep = s > tol
        self.u = np.ascontiguousarray(u[:, keep])
        self.s = s[keep]
        if self.v is not None:
            self.v = np.ascontiguousarray(self.v[:, keep])

    def _from_gram(self, x: np.ndarray) -> None:
        n, p = x.shape
        w, v = scipy.linalg.eigh(x.T @ x, check_finite=False)
        w, v = w[::-1], v[:, ::-1]
        s = np.sqrt(np.clip(w, 0, None))
        tol = s[0] * max(n, p) * np.finfo(np.float64).eps * 10 if s.size else 0
        keep = s > tol
        self.s = s[keep]
        self.v = np.ascontiguousarray(v[:, keep])
        self.u = np.ascontiguousarray(x @ self.v / self.s)

    def arrays(self) -> tuple:
        """The arrays that define it (``u``, ``s`` and ``v`` or, dual, ``x``), for the workers."""
        return (self.u, self.s, self.x if self.dual else self.v)

    @classmethod
    def from_arrays(cls, u, s, vx, dual: bool) -> "Decomposition":
        """The decomposition given by :meth:`arrays` (and whether it is dual)."""
        dec = cls.__new__(cls)
        dec.u, dec.s, dec.dual = u, s, dual
        dec.v, dec.x = (None, vx) if dual else (vx, None)
        return dec

    def cast(self, dtype) -> Decomposition:
        """This decomposition with ``u`` and ``v`` (or, dual, ``x``) in ``dtype`` (``s`` stays float64).

        The decomposition itself is always computed in float64; the float32 path of
        :class:`~neurotk.encoding.RidgeCV` only runs the big per-target products in float32.
        Returns ``self`` for float64.
        """
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            return self
        vx = self.x if self.dual else self.v
        return Decomposition.from_arrays(self.u.astype(dtype), self.s, vx.astype(dtype), self.dual)

    def project(self, x_new: np.ndarray) -> np.ndarray:
        """``x_new V`` (n_new, k), through the kernel in the dual form."""
        if self.dual:
            return (x_new @ self.x.T) @ self.u / self.s
        return x_new @ self.v

    def weights(self, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Primal weights (p, t) for ``b = U^T y`` (k, t) and one alpha per target."""
        f = self.s[:, None] / (self.s[:, None] ** 2 + alpha[None, :])
        if self.dual:
            g = (f / self.s[:, None]).astype(b.dtype, copy=False)  # no-op in float64
            return self.x.T @ (self.u @ (g * b))
        return self.v @ (f.astype(b.dtype, copy=False) * b)

    def dual_weights(self, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Dual coefficients (n, t) with ``weights = X^T dual``."""
        return self.u @ (b / (self.s[:, None] ** 2 + alpha[None, :])).astype(b.dtype, copy=False)


class Fold:
    """What a target chunk needs from one fold: indices, ``U``, ``s`` and ``A = X_test V``.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_features)
    train, test : ndarray of int
        The fold's sample indices.
    fit_intercept : bool
        Centre the features on the training samples.
    solver : {"auto", "primal", "dual"}
        As in :class:`Decomposition`.
    dtype : numpy dtype, default float64
        The dtype of ``u`` and ``a`` (the decomposition is computed in float64 either way).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 3))
    >>> fold = Fold(x, np.arange(6), np.arange(6, 10), True, "auto")
    >>> fold.u.shape, fold.a.shape
    ((6, 3), (4, 3))
    """

    __slots__ = ("train", "test", "u", "s", "a")

    def __init__(self, x: np.ndarray, train: np.ndarray, test: np.ndarray, fit_intercept: bool,
                 solver: str, dtype=np.float64):
        xtr, xte = x[train], x[test]
        if fit_intercept:
            mean = xtr.mean(axis=0)
            xtr -= mean
            xte -= mean
        dec = Decomposition(xtr, solver, gram=np.dtype(dtype) != np.float64)
        self.train, self.test = train, test
        self.u, self.s, self.a = dec.u, dec.s, np.ascontiguousarray(dec.project(xte))
        if np.dtype(dtype) != np.float64:
            self.u, self.a = self.u.astype(dtype), self.a.astype(dtype)


_FOLD_FIELDS = Fold.__slots__


def _share_folds(folds: list[Fold]) -> tuple:
    """Folds as a flat tuple of arrays (count first), so joblib sends each array once."""
    return (len(folds), *(getattr(f, name) for f in folds for name in _FOLD_FIELDS))


def _unshare_folds(args: tuple) -> tuple[list[Fold], tuple]:
    """Inverse of :func:`_share_folds`: the folds and the remaining arguments."""
    n, m = args[0], len(_FOLD_FIELDS)
    folds = []
    for k in range(n):
        fold = Fold.__new__(Fold)
        for name, value in zip(_FOLD_FIELDS, args[1 + k * m:1 + (k + 1) * m]):
            setattr(fold, name, value)
        folds.append(fold)
    return folds, args[1 + n * m:]


# --------------------------------------------------------------------------- scores per chunk
def _fold_scores(fold: Fold, y: np.ndarray, alphas: np.ndarray, fit_intercept: bool,
                 scoring: str, alpha_block: int) -> np.ndarray:
    """Test scores (n_alphas, t) of one fold for a chunk of targets ``y`` (n, t)."""
    ytr, yte = y[fold.train], y[fold.test]
    if fit_intercept:
        mean = ytr.mean(axis=0)
        ytr -= mean
        yte -= mean
    b = fold.u.T @ ytr  # (k, t): the one big product per fold
    n_te, t = yte.shape
    # float32 chunks: the products stay in float32, the sums of squares are accumulated in float64
    acc = {} if y.dtype == np.float64 else {"dtype": np.float64}
    yc = yte - yte.mean(axis=0)
    ss_tot = np.einsum("ij,ij->j", yc, yc, **acc)
    out = np.empty((len(alphas), t))
    s = fold.s
    for start in range(0, len(alphas), alpha_block):
        block = alphas[start:start + alpha_block]
        f = s[None, :] / (s[None, :] ** 2 + block[:, None])  # (a, k)
        f = f.astype(y.dtype, copy=False)  # no-op in float64
        # explicit row count: with constant training features (rank 0, len(s) == 0) the
        # prediction is the intercept alone, and reshape(-1, 0) would fail
        pred = ((fold.a[None, :, :] * f[:, None, :]).reshape(len(block) * n_te, len(s)) @ b).reshape(
            len(block), n_te, t)
        if scoring == "r2":
            pred -= yte[None]
            sse = np.einsum("aij,aij->aj", pred, pred, **acc)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:start + len(block)] = 1.0 - sse / ss_tot
        else:  # pearson
            pred -= pred.mean(axis=1, keepdims=True)
            num = np.einsum("aij,ij->aj", pred, yc, **acc)
            den = np.sqrt(np.einsum("aij,aij->aj", pred, pred, **acc) * ss_tot)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:start + len(block)] = num / den
    out[:, ss_tot == 0] = np.nan  # a target constant within this test fold says nothing
    return out


def _cv_chunk(y: np.ndarray, folds: list[Fold], alphas: np.ndarray, fit_intercept: bool,
              scoring: str, alpha_block: int) -> np.ndarray:
    """Mean test score over folds, (n_alphas, t), for a chunk of targets."""
    total = np.zeros((len(alphas), y.shape[1]))
    count = np.zeros((1, y.shape[1]))
    for fold in folds:
        sc = _fold_scores(fold, y, alphas, fit_intercept, scoring, alpha_block)
        ok = np.isfinite(sc[0])
        total[:, ok] += sc[:, ok]
        count[0, ok] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count


def best_alpha(cv_scores: np.ndarray, alphas: np.ndarray):
    """Per target: the alpha with the highest mean CV score (the smallest on ties).

    Parameters
    ----------
    cv_scores : ndarray, shape (n_alphas, n_targets)
        NaN scores never win.
    alphas : ndarray, shape (n_alphas,)
        Sorted ascending.

    Returns
    -------
    alpha, score : ndarray, shape (n_targets,)

    Examples
    --------
    >>> import numpy as np
    >>> best_alpha(np.array([[0.5, np.nan], [0.5, 0.1]]), np.array([1.0, 10.0]))
    (array([ 1., 10.]), array([0.5, 0.1]))
    """
    filled = np.where(np.isfinite(cv_scores), cv_scores, -np.inf)
    best = np.argmax(filled, axis=0)
    return alphas[best], cv_scores[best, np.arange(cv_scores.shape[1])]


def refit_weights(y: np.ndarray, dec: Decomposition, alpha: np.ndarray, fit_intercept: bool, dual: bool):
    """Weights (p, t), or dual coefficients (n, t), and target means for targets ``y``.

    Parameters
    ----------
    y : ndarray, shape (n_samples, n_targets)
    dec : Decomposition
        Of the (centred) features of all samples.
    alpha : ndarray, shape (n_targets,)
        One alpha per target.
    fit_intercept : bool
        Centre the targets.
    dual : bool
        Return dual coefficients (``weights = X^T dual``) instead of weights.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(30, 3)); y = x @ np.array([[1.0], [2.0], [3.0]])
    >>> w, mean = refit_weights(y, Decomposition(x - x.mean(0), "auto"), np.array([1e-9]), True, False)
    >>> w.round(6).ravel().tolist()
    [1.0, 2.0, 3.0]
    """
    mean = y.mean(axis=0) if fit_intercept else np.zeros(y.shape[1])
    yc = y - mean if fit_intercept else y
    b = dec.u.T @ yc
    if dual:
        return dec.dual_weights(b, alpha), mean
    return dec.weights(b, alpha), mean


def _cv_chunk_shared(*args):
    """:func:`_cv_chunk` with the folds given as :func:`_share_folds` arrays (a joblib task)."""
    folds, (y, alphas, fit_intercept, scoring, alpha_block) = _unshare_folds(args)
    return _cv_chunk(y, folds, alphas, fit_intercept, scoring, alpha_block)


def _fit_chunk(*args):
    """CV scores, chosen alphas and refit weights of one target chunk (one joblib task).

    Arguments: the shared folds (:func:`_share_folds`), the full-data decomposition's
    arrays and whether it is dual, then the chunk ``y`` and the settings.
    """
    folds, (du, ds, dvx, dec_dual, y, alphas, fit_intercept, scoring, alpha_block, dual) = _unshare_folds(args)
    dec = Decomposition.from_arrays(du, ds, dvx, dec_dual)
    cv = _cv_chunk(y, folds, alphas, fit_intercept, scoring, alpha_block)
    alpha, best = best_alpha(cv, alphas)
    w, mean = refit_weights(y, dec, alpha, fit_intercept, dual)
    return cv, alpha, best, w, mean


def _target_chunk_size(n, n_test_max, n_alphas, k, n_targets, max_memory):
    """Targets per chunk so that Y copies, U^T Y and the per-alpha predictions fit."""
    alpha_block = max(1, min(n_alphas, 8))
    per_target = 8 * (3 * n + k + alpha_block * n_test_max + 2 * n_alphas)
    return chunk_size(n_targets, per_target, max_memory, minimum=1), alpha_block


# --------------------------------------------------------------------------- chunked, parallel
def cv_path(folds: list[Fold], y: np.ndarray, alphas: np.ndarray, *, fit_intercept: bool, scoring: str,
            n_jobs: int = 1, max_memory=None, progress: bool = False, desc: str = "ridge targets") -> np.ndarray:
    """Mean test score over ``folds`` of every alpha for every target, shape (n_alphas, n_targets).

    Targets go in chunks sized by ``max_memory``, through joblib with ``n_jobs``; a target
    constant within a test fold is scored on the other folds.

    Parameters
    ----------
    folds : list of Fold
    y : ndarray, shape (n_samples, n_targets)
    alphas : ndarray, shape (n_alphas,)
    fit_intercept : bool
    scoring : {"r2", "pearson"}
    n_jobs, max_memory, progress, desc
        Parallel jobs, working-memory budget, progress bar and its label.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=(20, 2)); y = x @ np.ones((2, 3)) + rng.normal(size=(20, 3))
    >>> folds = [Fold(x, np.arange(10, 20), np.arange(10), True, "auto")]
    >>> cv_path(folds, y, np.logspace(-1, 1, 3), fit_intercept=True, scoring="pearson").shape
    (3, 3)
    """
    n, t = y.shape
    k = max(len(f.s) for f in folds)
    size, block = _target_chunk_size(n, max(len(f.test) for f in folds), len(alphas), k, t, max_memory)
    slices = chunk_slices(t, size)
    parts = map_chunks(
        _cv_chunk_shared, [(y[:, sl], alphas, fit_intercept, scoring, block) for sl in slices],
        n_jobs=n_jobs, progress=progress, desc=desc,
        weights=[s.stop - s.start for s in slices], shared=_share_folds(folds))
    return np.concatenate(parts, axis=1)


def fit_path(folds: list[Fold], dec: Decomposition, y: np.ndarray, alphas: np.ndarray, *, fit_intercept: bool,
             scoring: str, dual: bool = False, n_jobs: int = 1, max_memory=None, progress: bool = False):
    """Cross-validate every alpha, choose one per target and refit on all samples, in target chunks.

    Parameters
    ----------
    folds : list of Fold
    dec : Decomposition
        Of the (centred) features of all samples.
    y : ndarray, shape (n_samples, n_targets)
    alphas : ndarray, shape (n_alphas,)
        Sorted ascending.
    fit_intercept : bool
    scoring : {"r2", "pearson"}
    dual : bool
        Return dual coefficients (n_samples, n_targets) instead of weights.
    n_jobs, max_memory, progress
        As in :func:`cv_path`.

    Returns
    -------
    cv_scores : ndarray, shape (n_alphas, n_targets)
    alpha, best_score : ndarray, shape (n_targets,)
    weights : ndarray, shape (n_features, n_targets), or (n_samples, n_targets) if ``dual``
    y_mean : ndarray, shape (n_targets,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=(30, 4)); y = x @ rng.normal(size=(4, 2))
    >>> folds = [Fold(x, tr, te, True, "auto") for tr, te in
    ...          [(np.arange(15, 30), np.arange(15)), (np.arange(15), np.arange(15, 30))]]
    >>> cv, alpha, best, w, mean = fit_path(folds, Decomposition(x - x.mean(0), "auto"), y,
    ...                                     np.array([0.01, 100.0]), fit_intercept=True, scoring="r2")
    >>> alpha.tolist(), w.shape
    ([0.01, 0.01], (4, 2))
    """
    n, t = y.shape
    k = max([len(f.s) for f in folds] + [len(dec.s)])
    size, alpha_block = _target_chunk_size(n, max(len(f.test) for f in folds), len(alphas), k, t, max_memory)
    slices = chunk_slices(t, size)
    results = map_chunks(
        _fit_chunk,
        [(np.ascontiguousarray(y[:, sl]), alphas, fit_intercept, scoring, alpha_block, dual) for sl in slices],
        n_jobs=n_jobs, progress=progress, desc="ridge targets",
        weights=[s.stop - s.start for s in slices],
        shared=(*_share_folds(folds), *dec.arrays(), dec.dual),
    )
    cv_scores = np.concatenate([r[0] for r in results], axis=1)
    alpha = np.concatenate([r[1] for r in results])
    best_score = np.concatenate([r[2] for r in results])
    weights = np.concatenate([r[3] for r in results], axis=1)
    y_mean = np.concatenate([r[4] for r in results])
    return cv_scores, alpha, best_score, weights, y_mean


# --------------------------------------------------------------------------- other array libraries
class ArraySolver:
    """The same cross-validated solver written against an array-API namespace (torch, CuPy ...).

    Used by :class:`~neurotk.encoding.RidgeCV` and :class:`~neurotk.encoding.BandedRidgeCV`
    for inputs of another array library (or ``backend="torch"|"cupy"``): every array stays
    in that library, on its device. It computes what the numpy functions above compute,
    with the library's own SVD / eigh (so results agree to float tolerance, not bit for
    bit). The decompositions are computed in float64; ``dtype`` is the dtype of the big
    per-target products (float64 or float32, whose sums of squares are accumulated in
    float64). Target chunks run one after the other in this process (``n_jobs`` does not
    apply: the device does the parallel work).

    Parameters
    ----------
    backend : neurotk._backend.Backend
    dtype : {"float64", "float32"}

    Examples
    --------
    >>> import numpy as np, array_api_strict as xp
    >>> from neurotk._backend import resolve_backend
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(40, 3)); y = x @ rng.normal(size=(3, 2))
    >>> solver = ArraySolver(resolve_backend([xp.asarray(x)]), "float64")
    >>> folds = [solver.fold(xp.asarray(x), tr, te, True, "auto")
    ...          for tr, te in [(np.arange(20, 40), np.arange(20)), (np.arange(20), np.arange(20, 40))]]
    >>> path = solver.cv_path(folds, xp.asarray(y), np.array([0.1, 1e4]), fit_intercept=True, scoring="r2")
    >>> tuple(path.shape)
    (2, 2)
    """

    def __init__(self, backend, dtype="float64"):
        self.backend = backend
        self.xp = backend.xp
        self.f64 = self.xp.float64
        self.dtype = getattr(self.xp, np.dtype(dtype).name)

    # ----------------------------------------------------------------- helpers
    def asarray(self, x, dtype=None):
        """A numpy array (or an array of this library) on the backend's device."""
        return self.backend.asarray(x, dtype=dtype)

    def cast(self, x, dtype=None):
        """``x`` in ``dtype`` (default: the work dtype); no copy when it already is."""
        dtype = self.dtype if dtype is None else dtype
        return x if x.dtype == dtype else self.xp.astype(x, dtype)

    def index(self, idx):
        """Integer indices (numpy) as an int64 array on the backend's device."""
        return self.asarray(np.asarray(idx, dtype=np.int64), dtype=np.int64)  # asarray alone makes floats

    # ----------------------------------------------------------------- linear algebra
    def decompose(self, x, solver: str) -> Decomposition:
        """:class:`Decomposition` of float64 ``x`` in this library; ``u`` and ``v``/``x`` in the work dtype."""
        xp = self.xp
        n, p = x.shape
        dual = solver == "dual" or (solver == "auto" and p > n)
        gram = self.dtype != self.f64 and not dual  # as Decomposition(gram=True) on the float32 path
        if dual or gram:
            w, vec = xp.linalg.eigh(x @ x.T if dual else x.T @ x)
            w, vec = xp.flip(w), xp.flip(vec, axis=1)
            s = xp.sqrt(xp.clip(w, 0, None))
            u, v = (vec, None) if dual else (None, vec)
        else:
            u, s, vt = xp.linalg.svd(x, full_matrices=False)
            v = vt.T
        factor = 10 if dual or gram else 1  # eigenvalues carry the rounding of the squared values
        tol = float(float(s[0]) * max(n, p) * np.finfo(np.float64).eps * factor) if s.shape[0] else 0.0
        r = int(xp.sum(xp.astype(s > tol, xp.int64)))  # s is sorted: the rank is a prefix
        s = s[:r]
        u = x @ v[:, :r] / s if gram else u[:, :r]
        if dual:
            return Decomposition.from_arrays(self.cast(u), s, self.cast(x), True), u
        return Decomposition.from_arrays(self.cast(u), s, self.cast(v[:, :r]), False), (u, v[:, :r])

    def fold(self, x, train, test, fit_intercept: bool, solver: str) -> Fold:
        """A :class:`Fold` of float64 features ``x`` (this library) for numpy indices ``train``, ``test``."""
        xp = self.xp
        tr, te = self.index(train), self.index(test)
        xtr, xte = xp.take(x, tr, axis=0), xp.take(x, te, axis=0)
        if fit_intercept:
            mean = xp.mean(xtr, axis=0)
            xtr, xte = xtr - mean, xte - mean
        dec, exact = self.decompose(xtr, solver)
        if dec.dual:
            a = (xte @ xtr.T) @ exact / dec.s  # A = X_test V through the kernel, in float64
        else:
            a = xte @ exact[1]
        fold = Fold.__new__(Fold)
        fold.train, fold.test, fold.u, fold.s, fold.a = tr, te, dec.u, dec.s, self.cast(a)
        return fold

    # ----------------------------------------------------------------- scores per chunk
    def fold_scores(self, fold: Fold, y, alphas, fit_intercept: bool, scoring: str, alpha_block: int):
        """Test scores (n_alphas, t), float64, of one fold for a chunk of targets ``y`` (n, t)."""
        xp, f64 = self.xp, self.f64
        ytr, yte = xp.take(y, fold.train, axis=0), xp.take(y, fold.test, axis=0)
        if fit_intercept:
            mean = xp.mean(ytr, axis=0)
            ytr, yte = ytr - mean, yte - mean
        b = fold.u.T @ ytr
        n_te, t = yte.shape
        k = fold.s.shape[0]
        yc = yte - xp.mean(yte, axis=0)
        ss_tot = xp.sum(yc * yc, axis=0, dtype=f64)
        s = fold.s
        blocks = []
        n_alphas = alphas.shape[0]
        for start in range(0, n_alphas, alpha_block):
            block = alphas[start:min(start + alpha_block, n_alphas)]  # in-bounds slices (array API)
            a = block.shape[0]
            f = self.cast(s[None, :] / (s[None, :] ** 2 + block[:, None]))  # (a, k)
            pred = xp.reshape(xp.reshape(fold.a[None, :, :] * f[:, None, :], (a * n_te, k)) @ b, (a, n_te, t))
            if scoring == "r2":
                res = pred - yte[None, :, :]
                sse = xp.sum(res * res, axis=1, dtype=f64)
                blocks.append(1.0 - sse / ss_tot)
            else:
                pred = pred - xp.mean(pred, axis=1, keepdims=True)
                num = xp.sum(pred * yc[None, :, :], axis=1, dtype=f64)
                den = xp.sqrt(xp.sum(pred * pred, axis=1, dtype=f64) * ss_tot)
                blocks.append(num / den)
        out = xp.concat(blocks, axis=0)
        return xp.where((ss_tot == 0)[None, :], xp.asarray(float("nan"), dtype=f64, device=_device(xp, out)), out)

    def cv_chunk(self, y, folds, alphas, fit_intercept: bool, scoring: str, alpha_block: int):
        """Mean test score over folds, (n_alphas, t), for a chunk of targets (NaN folds left out)."""
        xp = self.xp
        total, count = None, None
        for fold in folds:
            sc = self.fold_scores(fold, y, alphas, fit_intercept, scoring, alpha_block)
            ok = xp.isfinite(sc[0:1, :])
            part = xp.where(ok, sc, xp.zeros_like(sc))
            okf = xp.astype(ok, self.f64)
            total = part if total is None else total + part
            count = okf if count is None else count + okf
        return total / count

    def best_alpha(self, cv_scores, alphas):
        """As :func:`best_alpha`: the alpha of the highest mean score (the smallest on ties) and that score."""
        xp = self.xp
        finite = xp.isfinite(cv_scores)
        filled = xp.where(finite, cv_scores, xp.full_like(cv_scores, -float("inf")))
        best = xp.argmax(filled, axis=0)
        score = xp.max(filled, axis=0)
        score = xp.where(xp.any(finite, axis=0), score, xp.full_like(score, float("nan")))
        return xp.take(alphas, best, axis=0), score

    def refit_weights(self, y, dec: Decomposition, alpha, fit_intercept: bool, dual: bool):
        """As :func:`refit_weights`: weights (p, t) or dual coefficients (n, t), and the target means."""
        xp = self.xp
        t = y.shape[1]
        mean = xp.mean(y, axis=0) if fit_intercept else xp.zeros((t,), dtype=y.dtype, device=_device(xp, y))
        yc = y - mean if fit_intercept else y
        b = dec.u.T @ yc
        s = dec.s[:, None]
        if dual:
            return dec.u @ (b * self.cast(1.0 / (s ** 2 + alpha[None, :]))), mean
        f = s / (s ** 2 + alpha[None, :])
        if dec.dual:
            return dec.x.T @ (dec.u @ (self.cast(f / s) * b)), mean
        return dec.v @ (self.cast(f) * b), mean

    # ----------------------------------------------------------------- chunked
    def _chunks(self, folds, y, n_alphas, extra_k, max_memory):
        n, t = y.shape
        k = max([int(f.s.shape[0]) for f in folds] + [extra_k])
        size, block = _target_chunk_size(n, max(int(f.test.shape[0]) for f in folds), n_alphas, k, t, max_memory)
        return chunk_slices(t, size), block

    def cv_path(self, folds, y, alphas, *, fit_intercept: bool, scoring: str, max_memory=None,
                progress: bool = False, desc: str = "ridge targets"):
        """As :func:`cv_path`, in this library: (n_alphas, n_targets) float64."""
        al = self.asarray(np.asarray(alphas, dtype=np.float64))
        slices, block = self._chunks(folds, y, al.shape[0], 0, max_memory)
        parts = map_chunks(lambda sl: self.cv_chunk(y[:, sl], folds, al, fit_intercept, scoring, block),
                           slices, n_jobs=1, progress=progress, desc=desc,
                           weights=[s.stop - s.start for s in slices])
        return self.xp.concat(parts, axis=1)

    def fit_path(self, folds, dec: Decomposition, y, alphas, *, fit_intercept: bool, scoring: str,
                 dual: bool = False, max_memory=None, progress: bool = False):
        """As :func:`fit_path`, in this library: cv scores, alpha, best score, weights, target means."""
        xp = self.xp
        al = self.asarray(np.asarray(alphas, dtype=np.float64))
        slices, block = self._chunks(folds, y, al.shape[0], int(dec.s.shape[0]), max_memory)

        def chunk(sl):
            yc = y[:, sl]
            cv = self.cv_chunk(yc, folds, al, fit_intercept, scoring, block)
            alpha, best = self.best_alpha(cv, al)
            w, mean = self.refit_weights(yc, dec, alpha, fit_intercept, dual)
            return cv, alpha, best, w, mean

        res = map_chunks(chunk, slices, n_jobs=1, progress=progress, desc="ridge targets",
                         weights=[s.stop - s.start for s in slices])
        return tuple(xp.concat([r[i] for r in res], axis=1 if i in (0, 3) else 0) for i in range(5))


# --------------------------------------------------------------------------- door helpers for other libraries
def to_host(a):
    """``a`` as a numpy array when it is an array of another library (a device copy); else ``a`` itself."""
    if a is None or is_numpy_like(a):
        return a
    return resolve_backend([a]).to_numpy(a)


def backend_matrix(be, X, name: str, rows: str, cols: str, dtype):
    """``X`` checked at the door (as check_matrix) as a 2-D array of backend ``be`` in ``dtype``."""
    if is_numpy_like(X):
        x = check_matrix(X, name, rows=rows, cols=cols)
        return be.asarray(x, dtype=dtype)
    x = be.check(be.asarray(X), name, ndim=2)
    dt = be._dtype(dtype)
    return x if x.dtype == dt else be.xp.astype(x, dt)


def check_targets_vary_backend(be, y, Y):
    """:func:`check_targets_vary` for an array of another library (no host copy of ``y``)."""
    xp = be.xp
    const = xp.max(y, axis=0) == xp.min(y, axis=0)
    if bool(xp.any(const)):
        idx = np.flatnonzero(be.to_numpy(const))
        ids = target_ids(Y, y.shape[1])[idx[:5]]
        raise ArgumentError(
            f"Y has {idx.size} constant target(s) (e.g. {ids.tolist()}); expected every "
            f"target to vary across samples (drop constant units/voxels first)")


def scores_backend(xp, y, pred, metric: str):
    """:func:`~neurotk.encoding.scoring.target_scores` in an array-API namespace (float64 sums)."""
    f64 = xp.float64
    yc = y - xp.mean(y, axis=0)
    ss_tot = xp.sum(yc * yc, axis=0, dtype=f64)
    if metric == "r2":
        res = y - pred
        ss_res = xp.sum(res * res, axis=0, dtype=f64)
        r2 = 1.0 - ss_res / ss_tot
        const = ss_tot == 0
        return xp.where(const, xp.astype(ss_res == 0, f64), r2)
    pc = pred - xp.mean(pred, axis=0)
    return xp.sum(yc * pc, axis=0, dtype=f64) / xp.sqrt(ss_tot * xp.sum(pc * pc, axis=0, dtype=f64))


def _device(xp, x):
    """The device of ``x`` (array-api-compat's helper: torch, CuPy and array-api-strict arrays alike)."""
    import array_api_compat

    return array_api_compat.device(x)
