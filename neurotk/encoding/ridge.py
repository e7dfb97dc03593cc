"""Ridge regression with one regularisation strength per target, for thousands of targets.

The cross-validation solves every alpha and every target at once. Per fold, the training
features are decomposed once: an SVD ``X = U S V^T`` when there are fewer features than
samples, or an eigendecomposition of the kernel ``X X^T`` otherwise (so a flattened conv
layer with 10^5 features never builds a 10^5 x 10^5 matrix). The test predictions for
alpha are then ``A diag(s / (s^2 + alpha)) U^T Y`` with ``A = X_test V``: ``U^T Y`` is
computed once per fold and target chunk, and each alpha costs one small product. No
per-alpha weight matrix is ever built. Targets are processed in chunks sized by
``max_memory`` and the chunks run through joblib (:func:`neurotk.parallel.map_chunks`).

:class:`BandedRidgeCV` gives each feature space (two layers, a layer and low-level
features ...) its own alpha per target, by searching the space weights on the simplex, and
splits the explained variance between the spaces.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.linalg
from sklearn.base import BaseEstimator

from .._checks import as_matrix, check_int, check_positive
from ..errors import ArgumentError, ShapeMismatchError
from ..parallel import chunk_size, chunk_slices, map_chunks, parse_memory
from ..recording import Recording
from ..utils import as_rng
from .scoring import check_same_samples, correlation_scores, cv_folds, r2_scores

__all__ = ["RidgeCV", "BandedRidgeCV"]

_SCORINGS = ("r2", "pearson")


# --------------------------------------------------------------------------- inputs
def _inputs(X, Y, x_name="X", y_name="Y"):
    """Check X (n, p) and Y (n, t); Recordings must describe the same samples."""
    x = as_matrix(X, x_name, rows="samples", cols="features")
    y = as_matrix(Y, y_name, rows="samples", cols="targets")
    check_same_samples(X, Y, x.shape[0], y.shape[0], x_name, y_name)
    return x, y


def _check_targets_vary(y: np.ndarray, name: str, Y=None):
    """Constant targets have no variance to explain: name them."""
    const = np.flatnonzero(np.ptp(y, axis=0) == 0)
    if const.size:
        ids = _target_ids(Y, y.shape[1])[const[:5]]
        raise ArgumentError(
            f"{name} has {const.size} constant target(s) (e.g. {list(ids)}); expected every "
            f"target to vary across samples (drop constant units/voxels first)"
        )


def _target_ids(Y, n: int) -> np.ndarray:
    if isinstance(Y, Recording):
        return Y.units["unit_id"].to_numpy()
    return np.arange(n)


def _check_alphas(alphas) -> np.ndarray:
    a = check_positive(alphas, "alphas")
    return np.sort(a)


# --------------------------------------------------------------------------- linear algebra
class _Decomposition:
    """``X = U diag(s) V^T`` of (centred) training features, by SVD or kernel eigh.

    ``v`` is None in the dual (kernel) form; ``A`` maps test rows into the basis.
    """

    __slots__ = ("u", "s", "v", "x", "dual")

    def __init__(self, x: np.ndarray, solver: str):
        n, p = x.shape
        self.dual = solver == "dual" or (solver == "auto" and p > n)
        self.x = x if self.dual else None
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

    def arrays(self) -> tuple:
        """The arrays that define it (``u``, ``s`` and ``v`` or, dual, ``x``), for the workers."""
        return (self.u, self.s, self.x if self.dual else self.v)

    @classmethod
    def from_arrays(cls, u, s, vx, dual: bool) -> "_Decomposition":
        dec = cls.__new__(cls)
        dec.u, dec.s, dec.dual = u, s, dual
        dec.v, dec.x = (None, vx) if dual else (vx, None)
        return dec

    def project(self, x_new: np.ndarray) -> np.ndarray:
        """``x_new V`` (n_new, k), through the kernel in the dual form."""
        if self.dual:
            return (x_new @ self.x.T) @ self.u / self.s
        return x_new @ self.v

    def weights(self, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Primal weights (p, t) for ``b = U^T y`` (k, t) and one alpha per target."""
        f = self.s[:, None] / (self.s[:, None] ** 2 + alpha[None, :])
        if self.dual:
            return self.x.T @ (self.u @ (f / self.s[:, None] * b))
        return self.v @ (f * b)

    def dual_weights(self, b: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Dual coefficients (n, t) with ``weights = X^T dual``."""
        return self.u @ (b / (self.s[:, None] ** 2 + alpha[None, :]))


class _Fold:
    """What a target chunk needs from one fold: indices, ``U``, ``s`` and ``A = X_test V``."""

    __slots__ = ("train", "test", "u", "s", "a")

    def __init__(self, x: np.ndarray, train: np.ndarray, test: np.ndarray, fit_intercept: bool,
                 solver: str):
        xtr, xte = x[train], x[test]
        if fit_intercept:
            mean = xtr.mean(axis=0)
            xtr -= mean
            xte -= mean
        dec = _Decomposition(xtr, solver)
        self.train, self.test = train, test
        self.u, self.s, self.a = dec.u, dec.s, np.ascontiguousarray(dec.project(xte))


_FOLD_FIELDS = _Fold.__slots__


def _share_folds(folds: list[_Fold]) -> tuple:
    """Folds as a flat tuple of arrays (count first), so joblib sends each array once."""
    return (len(folds), *(getattr(f, name) for f in folds for name in _FOLD_FIELDS))


def _unshare_folds(args: tuple) -> tuple[list[_Fold], tuple]:
    """Inverse of :func:`_share_folds`: the folds and the remaining arguments."""
    n, m = args[0], len(_FOLD_FIELDS)
    folds = []
    for k in range(n):
        fold = _Fold.__new__(_Fold)
        for name, value in zip(_FOLD_FIELDS, args[1 + k * m:1 + (k + 1) * m]):
            setattr(fold, name, value)
        folds.append(fold)
    return folds, args[1 + n * m:]


def _fold_scores(fold: _Fold, y: np.ndarray, alphas: np.ndarray, fit_intercept: bool,
                 scoring: str, alpha_block: int) -> np.ndarray:
    """Test scores (n_alphas, t) of one fold for a chunk of targets ``y`` (n, t)."""
    ytr, yte = y[fold.train], y[fold.test]
    if fit_intercept:
        mean = ytr.mean(axis=0)
        ytr -= mean
        yte -= mean
    b = fold.u.T @ ytr  # (k, t): the one big product per fold
    n_te, t = yte.shape
    yc = yte - yte.mean(axis=0)
    ss_tot = np.einsum("ij,ij->j", yc, yc)
    out = np.empty((len(alphas), t))
    s = fold.s
    for start in range(0, len(alphas), alpha_block):
        block = alphas[start:start + alpha_block]
        f = s[None, :] / (s[None, :] ** 2 + block[:, None])  # (a, k)
        # explicit row count: with constant training features (rank 0, len(s) == 0) the
        # prediction is the intercept alone, and reshape(-1, 0) would fail
        pred = ((fold.a[None, :, :] * f[:, None, :]).reshape(len(block) * n_te, len(s)) @ b).reshape(
            len(block), n_te, t)
        if scoring == "r2":
            pred -= yte[None]
            sse = np.einsum("aij,aij->aj", pred, pred)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:start + len(block)] = 1.0 - sse / ss_tot
        else:  # pearson
            pred -= pred.mean(axis=1, keepdims=True)
            num = np.einsum("aij,ij->aj", pred, yc)
            den = np.sqrt(np.einsum("aij,aij->aj", pred, pred) * ss_tot)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[start:start + len(block)] = num / den
    out[:, ss_tot == 0] = np.nan  # a target constant within this test fold says nothing
    return out


def _cv_chunk(y: np.ndarray, folds: list[_Fold], alphas: np.ndarray, fit_intercept: bool,
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


def _best_alpha(cv_scores: np.ndarray, alphas: np.ndarray):
    """Per target: the alpha with the highest mean CV score (the smallest on ties)."""
    filled = np.where(np.isfinite(cv_scores), cv_scores, -np.inf)
    best = np.argmax(filled, axis=0)
    return alphas[best], cv_scores[best, np.arange(cv_scores.shape[1])]


def _refit_chunk(y: np.ndarray, dec: _Decomposition, alpha: np.ndarray, fit_intercept: bool,
                 dual: bool):
    """Weights (p, t) or dual coefficients (n, t) and target means for one chunk."""
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
    dec = _Decomposition.from_arrays(du, ds, dvx, dec_dual)
    cv = _cv_chunk(y, folds, alphas, fit_intercept, scoring, alpha_block)
    alpha, best = _best_alpha(cv, alphas)
    w, mean = _refit_chunk(y, dec, alpha, fit_intercept, dual)
    return cv, alpha, best, w, mean


def _target_chunk_size(n, n_test_max, n_alphas, k, n_targets, max_memory):
    """Targets per chunk so that Y copies, U^T Y and the per-alpha predictions fit."""
    alpha_block = max(1, min(n_alphas, 8))
    per_target = 8 * (3 * n + k + alpha_block * n_test_max + 2 * n_alphas)
    return chunk_size(n_targets, per_target, max_memory, minimum=1), alpha_block


# --------------------------------------------------------------------------- estimators
class _RidgeBase(BaseEstimator):
    """Shared prediction and scoring of the ridge estimators."""

    def _check_fitted(self):
        if not hasattr(self, "intercept_"):
            raise ArgumentError(f"this {type(self).__name__} is not fitted yet; call fit(X, Y) first")

    def _features(self, X) -> np.ndarray:
        x = as_matrix(X, "X", rows="samples", cols="features")
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(
                f"X has {x.shape[1]} features; expected {self.n_features_in_}, as in fit"
            )
        return x

    def predict(self, X) -> np.ndarray:
        """Predicted responses, shape (n_samples, n_targets).

        Parameters
        ----------
        X : Recording or array-like, shape (n_samples, n_features)
        """
        self._check_fitted()
        x = self._features(X)
        if getattr(self, "dual_coef_", None) is not None:
            return ((x - self._x_mean) @ self._x_fit.T) @ self.dual_coef_ + self._y_mean
        return x @ self.coef_.T + self.intercept_

    def score_targets(self, X, Y, metric: str = "r2", ceiling=None) -> np.ndarray:
        """Prediction accuracy per target: R^2 (default) or Pearson r, raw or ceiling-normalised.

        Without ``ceiling``, R^2 is the coefficient of determination on the given data.
        With a noise ceiling (for the responses in ``Y``, e.g. ``noise_ceiling(rec,
        target="mean")`` when ``Y`` holds repeat means), R^2 is divided by it and r by
        its square root (see :func:`neurotk.encoding.normalise_scores`), so 1 means all
        the explainable variance is explained; targets whose ceiling is below 0.05 get NaN.

        Parameters
        ----------
        X : Recording or array-like, shape (n_samples, n_features)
        Y : Recording or array-like, shape (n_samples, n_targets)
        metric : {"r2", "pearson"}
        ceiling : NoiseCeiling or array-like, shape (n_targets,), optional

        Returns
        -------
        ndarray, shape (n_targets,)

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 4)); Y = X @ rng.normal(size=(4, 2)) + rng.normal(size=(200, 2))
        >>> model = RidgeCV(alphas=[0.1, 1, 10]).fit(X[:100], Y[:100])
        >>> raw = model.score_targets(X[100:], Y[100:])
        >>> np.allclose(model.score_targets(X[100:], Y[100:], ceiling=[0.5, 0.8]), raw / [0.5, 0.8])
        True
        """
        if metric not in _SCORINGS:
            raise ArgumentError(f"metric={metric!r}; expected one of {_SCORINGS}")
        self._check_fitted()
        y = as_matrix(Y, "Y", rows="samples", cols="targets")
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ShapeMismatchError(f"Y has shape {y.shape}; expected {pred.shape} (samples of X, targets of fit)")
        scores = r2_scores(y, pred) if metric == "r2" else correlation_scores(y, pred)
        if ceiling is None:
            return scores
        from .ceiling import normalise_scores

        return normalise_scores(scores, ceiling, kind=metric)

    def score(self, X, Y) -> float:
        """Mean R^2 over targets, as scikit-learn's ``r2_score`` (uniform average)."""
        return float(np.mean(self.score_targets(X, Y)))

    def to_frame(self) -> pd.DataFrame:
        """One row per target: id, chosen alpha(s) and cross-validated score."""
        self._check_fitted()
        frame = pd.DataFrame({"target": self.target_ids_})
        alpha = np.asarray(self.alpha_)
        if alpha.ndim == 2:
            for name, a in zip(self.space_names_, alpha):
                frame[f"alpha_{name}"] = a
        else:
            frame["alpha"] = alpha
        frame[f"cv_{self.scoring}"] = self.best_score_
        return frame


class RidgeCV(_RidgeBase):
    """Ridge regression with one alpha per target, chosen by K-fold or leave-run-out CV.

    For every fold the training features are decomposed once, and all alphas and all
    targets are scored from that decomposition (see the module notes), so the cost of
    the alpha grid is a small product per alpha. Kernel (dual) ridge is used
    automatically when there are more features than samples.

    Parameters
    ----------
    alphas : array-like of float > 0, default ``np.logspace(-3, 7, 21)``
        Regularisation strengths to try.
    cv : int, str, splitter or iterable, default 5
        An integer gives contiguous K-fold splits (no shuffling, the right choice for
        time series; with ``groups`` in ``fit``, group K-fold); a string names a
        samples column of ``X``/``Y`` (e.g. ``"run"``) for leave-one-group-out; a
        scikit-learn splitter or a list of ``(train, test)`` index arrays are used as
        given.
    fit_intercept : bool, default True
        Centre features and targets on the training samples of each fold.
    scoring : {"r2", "pearson"}, default "r2"
        Criterion for choosing alpha: the mean over folds of the test R^2 or Pearson r.
    solver : {"auto", "primal", "dual"}, default "auto"
        ``"auto"`` uses the SVD of the features when n_features <= n_samples and the
        kernel otherwise.
    n_jobs : int, default 1
        Parallel jobs over target chunks (joblib; a Dask cluster through
        ``joblib.parallel_config(backend="dask")``).
    max_memory : int or str, optional
        Working-memory budget that sizes the target chunks (default 512 MiB).
    progress : bool, default False
        Show a progress bar over target chunks.

    Attributes
    ----------
    alpha_ : ndarray, shape (n_targets,)
        The chosen alpha per target.
    coef_ : ndarray, shape (n_targets, n_features)
    intercept_ : ndarray, shape (n_targets,)
    cv_scores_ : ndarray, shape (n_alphas, n_targets)
        Mean cross-validated score per alpha (the ridge path).
    best_score_ : ndarray, shape (n_targets,)
        Mean cross-validated score at the chosen alpha.
    alphas_ : ndarray
        The sorted alpha grid.
    target_ids_ : ndarray
        Unit ids of ``Y`` (a Recording) or column positions.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> Y = X @ rng.normal(size=(10, 4)) + rng.normal(size=(200, 4))
    >>> model = RidgeCV(alphas=np.logspace(-2, 4, 13), cv=5).fit(X, Y)
    >>> model.alpha_.shape, model.coef_.shape
    ((4,), (4, 10))
    >>> bool(model.score(X, Y) > 0.8)
    True
    """

    def __init__(self, alphas=None, cv=5, fit_intercept: bool = True, scoring: str = "r2",
                 solver: str = "auto", n_jobs: int = 1, max_memory=None, progress: bool = False):
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.solver = solver
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.progress = progress

    def _check_params(self):
        if self.scoring not in _SCORINGS:
            raise ArgumentError(f"scoring={self.scoring!r}; expected one of {_SCORINGS}")
        if self.solver not in ("auto", "primal", "dual"):
            raise ArgumentError(f"solver={self.solver!r}; expected 'auto', 'primal' or 'dual'")
        parse_memory(self.max_memory)
        return _check_alphas(np.logspace(-3, 7, 21) if self.alphas is None else self.alphas)

    def fit(self, X, Y, groups=None) -> RidgeCV:
        """Choose an alpha per target by cross-validation, then refit on all samples.

        Parameters
        ----------
        X : Recording or array-like, shape (n_samples, n_features)
            Features (a network layer, stimulus features ...).
        Y : Recording or array-like, shape (n_samples, n_targets)
            Responses (neurons, voxels), one row per sample of ``X``.
        groups : array-like, optional
            Group label per sample (e.g. run), for group K-fold when ``cv`` is an int.

        Returns
        -------
        self
        """
        alphas = self._check_params()
        x, y = _inputs(X, Y)
        _check_targets_vary(y, "Y", Y)
        n, p = x.shape
        folds_idx = cv_folds(self.cv, n, groups, (Y, X))
        fold_data = [_Fold(x, tr, te, self.fit_intercept, self.solver) for tr, te in folds_idx]
        x_mean = x.mean(axis=0) if self.fit_intercept else np.zeros(p)
        xc = x - x_mean if self.fit_intercept else x
        dec = _Decomposition(xc, self.solver)
        # keep dual coefficients when primal weights would not fit the memory budget
        dual = dec.dual and p * y.shape[1] * 8 > parse_memory(self.max_memory)
        k = max([len(f.s) for f in fold_data] + [len(dec.s)])
        size, alpha_block = _target_chunk_size(
            n, max(len(te) for _, te in folds_idx), len(alphas), k, y.shape[1], self.max_memory)
        slices = chunk_slices(y.shape[1], size)
        results = map_chunks(
            _fit_chunk,
            [(np.ascontiguousarray(y[:, sl]), alphas, self.fit_intercept, self.scoring, alpha_block, dual)
             for sl in slices],
            n_jobs=self.n_jobs, progress=self.progress, desc="ridge targets",
            weights=[s.stop - s.start for s in slices],
            shared=(*_share_folds(fold_data), *dec.arrays(), dec.dual),
        )
        self.alphas_ = alphas
        self.cv_scores_ = np.concatenate([r[0] for r in results], axis=1)
        self.alpha_ = np.concatenate([r[1] for r in results])
        self.best_score_ = np.concatenate([r[2] for r in results])
        w = np.concatenate([r[3] for r in results], axis=1)
        self._y_mean = np.concatenate([r[4] for r in results])
        self._x_mean = x_mean
        self.n_features_in_ = p
        self.n_splits_ = len(folds_idx)
        self.target_ids_ = _target_ids(Y, y.shape[1])
        if dual:
            self.dual_coef_ = w
            self._x_fit = xc
            self._coef = None
        else:
            self.dual_coef_ = None
            self._coef = np.ascontiguousarray(w.T)
        self.intercept_ = self._y_mean - (self.coef_ @ x_mean if self.fit_intercept else 0.0)
        return self

    @property
    def coef_(self) -> np.ndarray:
        """Weights, shape (n_targets, n_features) (computed on demand after a dual fit)."""
        if getattr(self, "_coef", None) is None:
            if getattr(self, "dual_coef_", None) is None:
                raise AttributeError("coef_ exists only after fit")
            self._coef = np.ascontiguousarray((self._x_fit.T @ self.dual_coef_).T)
        return self._coef


# --------------------------------------------------------------------------- banded ridge
def _spaces(X, name="X"):
    """A list/tuple/dict of feature spaces -> (names, list of arrays, originals)."""
    if isinstance(X, Mapping):
        names, items = [str(k) for k in X], list(X.values())
    elif isinstance(X, (list, tuple)):
        items = list(X)
        names = [
            str(item.meta.get("layer", item.meta.get("name", f"space{k}")))
            if isinstance(item, Recording) else f"space{k}" for k, item in enumerate(items)
        ]
        if len(set(names)) != len(names):
            names = [f"space{k}" for k in range(len(items))]
    else:
        raise ArgumentError(
            f"{name} has type {type(X).__name__}; expected a list or dict of feature spaces "
            f"(arrays or Recordings), e.g. {{'conv1': A, 'fc1': B}}"
        )
    if len(items) < 1:
        raise ArgumentError(f"{name} holds no feature space; expected at least one")
    return names, items


class BandedRidgeCV(_RidgeBase):
    """Banded ridge: each feature space gets its own alpha per target (Nunez-Elizalde et al. 2019).

    The features of space ``k`` are scaled by ``sqrt(gamma_k)`` with the weights
    ``gamma`` on the simplex; for each candidate ``gamma`` every alpha of the grid is
    cross-validated for every target at once (as in :class:`RidgeCV`), and each target
    keeps its best (gamma, alpha). The effective alpha of space ``k`` is
    ``alpha / gamma_k`` (infinite when a space is switched off). Candidates are the
    simplex corners (one space alone), its centre and ``n_iter`` Dirichlet draws.

    Parameters
    ----------
    alphas : array-like of float > 0, default ``np.logspace(-3, 7, 21)``
    n_iter : int, default 20
        Random weightings of the spaces to try besides the corners and the centre.
    gammas : array-like, shape (n_candidates, n_spaces), optional
        Explicit candidate weightings (rows are normalised to sum to 1); replaces the
        random search.
    cv, fit_intercept, scoring, solver, n_jobs, max_memory, progress
        As in :class:`RidgeCV`.
    random_state : int or Generator, optional
        Seed of the Dirichlet draws.

    Attributes
    ----------
    alpha_ : ndarray, shape (n_spaces, n_targets)
        Effective alpha of each space per target (``inf`` where the space is unused).
    gamma_ : ndarray, shape (n_spaces, n_targets)
        Chosen space weights per target.
    coef_ : ndarray, shape (n_targets, n_features_total)
        Weights of the concatenated spaces (in the order given).
    space_names_ : list of str
    best_score_ : ndarray, shape (n_targets,)

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, B = rng.normal(size=(150, 6)), rng.normal(size=(150, 30))
    >>> Y = A @ rng.normal(size=(6, 3)) + 0.5 * rng.normal(size=(150, 3))
    >>> model = BandedRidgeCV(n_iter=5, random_state=0).fit({"signal": A, "noise": B}, Y)
    >>> split = model.score_split({"signal": A, "noise": B}, Y)
    >>> bool((split[0] > split[1]).all())
    True
    """

    def __init__(self, alphas=None, n_iter: int = 20, gammas=None, cv=5, fit_intercept: bool = True,
                 scoring: str = "r2", solver: str = "auto", n_jobs: int = 1, max_memory=None,
                 progress: bool = False, random_state=None):
        self.alphas = alphas
        self.n_iter = n_iter
        self.gammas = gammas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.solver = solver
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.progress = progress
        self.random_state = random_state

    def _candidates(self, n_spaces: int) -> np.ndarray:
        if self.gammas is not None:
            g = np.atleast_2d(np.asarray(self.gammas, dtype=np.float64))
            if g.shape[1] != n_spaces or (g < 0).any() or not np.isfinite(g).all() or (g.sum(1) <= 0).any():
                raise ArgumentError(
                    f"gammas has shape {g.shape}; expected non-negative weights of shape "
                    f"(n_candidates, {n_spaces}) with positive row sums"
                )
            return g / g.sum(axis=1, keepdims=True)
        n_iter = check_int(self.n_iter, "n_iter", minimum=0)
        rng = as_rng(self.random_state)
        cands = [np.eye(n_spaces), np.full((1, n_spaces), 1.0 / n_spaces)]
        if n_iter:
            cands.append(rng.dirichlet(np.ones(n_spaces), size=n_iter))
        return np.unique(np.concatenate(cands), axis=0) if n_spaces > 1 else np.ones((1, 1))

    def _stack(self, X, fitting: bool):
        names, items = _spaces(X)
        arrays = [as_matrix(item, f"X[{nm!r}]", rows="samples", cols="features")
                  for nm, item in zip(names, items)]
        n = {a.shape[0] for a in arrays}
        if len(n) != 1:
            raise ShapeMismatchError(
                f"feature spaces have different sample counts {[a.shape[0] for a in arrays]}; "
                f"expected the same samples in every space"
            )
        if not fitting:
            sizes = [a.shape[1] for a in arrays]
            if sizes != self.space_sizes_:
                raise ShapeMismatchError(f"feature spaces have {sizes} features; expected {self.space_sizes_}, as in fit")
        return names, items, arrays

    def fit(self, X, Y, groups=None) -> BandedRidgeCV:
        """Choose space weights and alpha per target by cross-validation, then refit.

        Parameters
        ----------
        X : list or dict of Recording or array-like, each (n_samples, n_features_k)
            The feature spaces; a dict names them.
        Y : Recording or array-like, shape (n_samples, n_targets)
        groups : array-like, optional
            Group label per sample, for group K-fold when ``cv`` is an int.

        Returns
        -------
        self
        """
        alphas = RidgeCV(alphas=self.alphas, scoring=self.scoring, solver=self.solver,
                         max_memory=self.max_memory)._check_params()
        names, items, arrays = self._stack(X, fitting=True)
        x_all, y = _inputs(np.concatenate(arrays, axis=1), Y)
        for item in items:
            _inputs(item, Y, "X", "Y")  # Recordings must describe Y's samples
        _check_targets_vary(y, "Y", Y)
        n = x_all.shape[0]
        bounds = np.cumsum([0] + [a.shape[1] for a in arrays])
        cands = self._candidates(len(arrays))
        folds_idx = cv_folds(self.cv, n, groups, (Y, *items))
        t = y.shape[1]
        best = np.full(t, -np.inf)
        best_alpha = np.full(t, alphas[0])
        best_cand = np.zeros(t, dtype=int)
        cv_all = np.empty((len(cands), len(alphas), t))
        for c, gamma in enumerate(cands):
            scale = np.repeat(np.sqrt(gamma), np.diff(bounds))
            xs = x_all * scale
            folds = [_Fold(xs, tr, te, self.fit_intercept, self.solver) for tr, te in folds_idx]
            k = max(len(f.s) for f in folds)
            size, block = _target_chunk_size(n, max(len(te) for _, te in folds_idx), len(alphas), k, t,
                                             self.max_memory)
            slices = chunk_slices(t, size)
            parts = map_chunks(
                _cv_chunk_shared, [(y[:, sl], alphas, self.fit_intercept, self.scoring, block) for sl in slices],
                n_jobs=self.n_jobs, progress=self.progress, desc=f"banded ridge {c + 1}/{len(cands)}",
                weights=[s.stop - s.start for s in slices], shared=_share_folds(folds))
            cv = np.concatenate(parts, axis=1)
            cv_all[c] = cv
            a, score = _best_alpha(cv, alphas)
            better = score > best
            best[better], best_alpha[better], best_cand[better] = score[better], a[better], c
        # refit, one decomposition per candidate weighting that some target chose
        x_mean = x_all.mean(axis=0) if self.fit_intercept else np.zeros(x_all.shape[1])
        coef = np.zeros((t, x_all.shape[1]))
        y_mean = y.mean(axis=0) if self.fit_intercept else np.zeros(t)
        for c in np.unique(best_cand):
            scale = np.repeat(np.sqrt(cands[c]), np.diff(bounds))
            xs = (x_all - x_mean) * scale
            dec = _Decomposition(xs, self.solver)
            idx = np.flatnonzero(best_cand == c)
            for sl in chunk_slices(len(idx), chunk_size(len(idx), 8 * (2 * n + x_all.shape[1]), self.max_memory)):
                cols = idx[sl]
                w, _ = _refit_chunk(y[:, cols], dec, best_alpha[cols], self.fit_intercept, False)
                coef[cols] = (w * scale[:, None]).T
        gam = cands[best_cand].T  # (n_spaces, t)
        with np.errstate(divide="ignore"):
            self.alpha_ = np.where(gam > 0, best_alpha[None, :] / gam, np.inf)
        self.gamma_ = gam
        self.gammas_ = cands
        self.alphas_ = alphas
        self.cv_scores_ = cv_all
        self.best_score_ = best
        self.space_names_ = names
        self.space_sizes_ = [a.shape[1] for a in arrays]
        self._bounds = bounds
        self._coef = coef
        self.dual_coef_ = None
        self.n_features_in_ = x_all.shape[1]
        self.n_splits_ = len(folds_idx)
        self.target_ids_ = _target_ids(Y, t)
        self.intercept_ = y_mean - coef @ x_mean
        return self

    @property
    def coef_(self) -> np.ndarray:
        """Weights of the concatenated spaces, shape (n_targets, n_features_total)."""
        if getattr(self, "_coef", None) is None:
            raise AttributeError("coef_ exists only after fit")
        return self._coef

    def _features(self, X) -> np.ndarray:
        if isinstance(X, (Mapping, list, tuple)):
            _, _, arrays = self._stack(X, fitting=False)
            return np.concatenate(arrays, axis=1)
        return super()._features(X)

    def predict_split(self, X) -> np.ndarray:
        """Each space's contribution to the prediction, shape (n_spaces, n_samples, n_targets).

        The contributions plus ``intercept_`` sum to :meth:`predict`.
        """
        self._check_fitted()
        x = self._features(X)
        return np.stack([
            x[:, a:b] @ self.coef_[:, a:b].T for a, b in zip(self._bounds[:-1], self._bounds[1:])
        ])

    def score_split(self, X, Y) -> np.ndarray:
        """R^2 split between the spaces, shape (n_spaces, n_targets); rows sum to R^2.

        Space ``k`` gets ``(2 <y, p_k> - <p_k, p>) / ||y||^2`` with ``y`` the centred
        targets, ``p_k`` its centred contribution and ``p`` the summed prediction (the
        product measure); on new data the loss from a shifted mean, ``n d^2 / ||y||^2``
        with ``d`` the difference of the observed and predicted means, is shared equally.
        The sum over spaces equals the R^2 of the full prediction.
        """
        y = as_matrix(Y, "Y", rows="samples", cols="targets")
        parts = self.predict_split(X)
        if y.shape != parts.shape[1:]:
            raise ShapeMismatchError(f"Y has shape {y.shape}; expected {parts.shape[1:]}")
        yc = y - y.mean(axis=0)
        pc = parts - parts.mean(axis=1, keepdims=True)
        total = pc.sum(axis=0)
        # R^2 = 1 - ||yc - p - d||^2/||yc||^2, with d the mean offset of the full prediction
        offset = (y.mean(axis=0) - (parts.sum(axis=0).mean(axis=0) + self.intercept_))
        ss = np.einsum("ij,ij->j", yc, yc)
        with np.errstate(divide="ignore", invalid="ignore"):
            split = (2 * np.einsum("kij,ij->kj", pc, yc) - np.einsum("kij,ij->kj", pc, total)) / ss
            # the mean-offset loss (zero on the training data) is shared equally
            bias = len(y) * offset ** 2 / ss
        return split - bias[None, :] / len(parts)
