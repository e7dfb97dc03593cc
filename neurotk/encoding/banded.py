"""Banded ridge: one alpha per feature space and target (Nunez-Elizalde et al. 2019).

:class:`BandedRidgeCV` gives each feature space (two layers, a layer and low-level
features ...) its own alpha per target, by searching the space weights on the simplex with
the cross-validated ridge solver of :mod:`neurotk.encoding.solver`, and splits the
explained variance between the spaces (:meth:`BandedRidgeCV.score_split`).

Reference: Nunez-Elizalde, Huth & Gallant (2019), "Voxelwise encoding models with
non-spherical multivariate normal priors", NeuroImage.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .._backend import is_numpy_like
from .._params import Parameters
from .._validation import check_int, check_matrix
from ..errors import ArgumentError, ShapeMismatchError
from ..parallel import chunk_size, chunk_slices
from ..recording import Recording
from ..utils import as_rng
from .ridge import RidgeMixin
from .scoring import (
    check_features_targets,
    check_same_samples,
    check_targets_vary,
    cv_folds,
    target_ids,
)
from .solver import (
    ArraySolver,
    Decomposition,
    Fold,
    backend_matrix,
    best_alpha,
    check_targets_vary_backend,
    cv_path,
    refit_weights,
    to_host,
)

__all__ = ["BandedRidgeCV"]


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


class BandedRidgeCV(RidgeMixin, Parameters):
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
    dtype, backend, device, return_backend
        As in :class:`RidgeCV`: ``dtype="float32"`` runs the per-target products in
        float32 (decompositions and sums of squares in float64); feature spaces given as
        torch tensors (or ``backend="torch"``) are fitted in torch on their device, and
        the fitted arrays are numpy unless ``return_backend=True``. ``predict_split``
        and ``score_split`` compute in numpy (device inputs are copied to the host).

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
                 progress: bool = False, random_state=None, dtype: str = "float64",
                 backend: str | None = None, device=None, return_backend: bool = False):
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
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.return_backend = return_backend

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
        arrays = [check_matrix(item, f"X[{nm!r}]", rows="samples", cols="features")
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
        alphas = self._check_params()
        dtype = self._work_dtype()
        _spaces(X)  # a clear error for a bare matrix
        be = self._resolve_backend([*self._input_arrays(X), Y])
        if not be.is_numpy:
            return self._fit_backend(be, X, Y, groups, alphas, dtype)
        if not all(is_numpy_like(a) for a in [*self._input_arrays(X), Y]):  # backend="numpy"
            X = {k: to_host(v) for k, v in X.items()} if isinstance(X, Mapping) else [to_host(v) for v in X]
            Y = to_host(Y)
        names, items, arrays = self._stack(X, fitting=True)
        x_all, y = check_features_targets(np.concatenate(arrays, axis=1), Y)
        if dtype != np.float64:
            y = y.astype(dtype)
        for item in items:
            check_features_targets(item, Y, "X", "Y")  # Recordings must describe Y's samples
        check_targets_vary(y, "Y", Y)
        n = x_all.shape[0]
        bounds = np.cumsum([0] + [a.shape[1] for a in arrays])
        cands = self._candidates(len(arrays))
        folds_idx = cv_folds(self.cv, n, groups, (Y, *items))
        t = y.shape[1]
        best = np.full(t, -np.inf)
        best_alphas = np.full(t, alphas[0])
        best_cand = np.zeros(t, dtype=int)
        cv_all = np.empty((len(cands), len(alphas), t))
        for c, gamma in enumerate(cands):
            scale = np.repeat(np.sqrt(gamma), np.diff(bounds))
            xs = x_all * scale
            folds = [Fold(xs, tr, te, self.fit_intercept, self.solver, dtype) for tr, te in folds_idx]
            cv = cv_path(folds, y, alphas, fit_intercept=self.fit_intercept, scoring=self.scoring,
                         n_jobs=self.n_jobs, max_memory=self.max_memory, progress=self.progress,
                         desc=f"banded ridge {c + 1}/{len(cands)}")
            cv_all[c] = cv
            a, score = best_alpha(cv, alphas)
            better = score > best
            best[better], best_alphas[better], best_cand[better] = score[better], a[better], c
        # refit, one decomposition per candidate weighting that some target chose
        x_mean = x_all.mean(axis=0) if self.fit_intercept else np.zeros(x_all.shape[1])
        coef = np.zeros((t, x_all.shape[1]), dtype=dtype)
        y_mean = y.mean(axis=0) if self.fit_intercept else np.zeros(t, dtype=dtype)
        for c in np.unique(best_cand):
            scale = np.repeat(np.sqrt(cands[c]), np.diff(bounds))
            xs = (x_all - x_mean) * scale
            dec = Decomposition(xs, self.solver, gram=dtype != np.float64).cast(dtype)
            idx = np.flatnonzero(best_cand == c)
            for sl in chunk_slices(len(idx), chunk_size(len(idx), 8 * (2 * n + x_all.shape[1]), self.max_memory)):
                cols = idx[sl]
                w, _ = refit_weights(y[:, cols], dec, best_alphas[cols], self.fit_intercept, False)
                coef[cols] = (w * scale[:, None]).T
        gam = cands[best_cand].T  # (n_spaces, t)
        with np.errstate(divide="ignore"):
            self.alpha_ = np.where(gam > 0, best_alphas[None, :] / gam, np.inf)
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
        self.target_ids_ = target_ids(Y, t)
        self.intercept_ = (y_mean - coef @ x_mean).astype(dtype, copy=False)  # no-op in float64
        return self

    def _fit_backend(self, be, X, Y, groups, alphas, dtype) -> BandedRidgeCV:
        """:meth:`fit` in another array library (torch, CuPy, array-api-strict), on its device."""
        xp = be.xp
        names, items = _spaces(X)
        arrays = [backend_matrix(be, item, f"X[{nm!r}]", "samples", "features", np.float64)
                  for nm, item in zip(names, items)]
        if len({a.shape[0] for a in arrays}) != 1:
            raise ShapeMismatchError(
                f"feature spaces have different sample counts {[a.shape[0] for a in arrays]}; "
                f"expected the same samples in every space")
        x_all = xp.concat(arrays, axis=1)
        y = backend_matrix(be, Y, "Y", "samples", "targets", dtype)
        n, p = x_all.shape
        for item in items:
            check_same_samples(item, Y, n, y.shape[0], "X", "Y")
        check_targets_vary_backend(be, y, Y)
        solver = ArraySolver(be, dtype)
        al = be.asarray(alphas)
        bounds = np.cumsum([0] + [a.shape[1] for a in arrays])
        cands = self._candidates(len(arrays))
        folds_idx = cv_folds(self.cv, n, groups, (Y, *items))
        t = y.shape[1]
        best = xp.full((t,), -float("inf"), dtype=xp.float64, device=be.device)
        best_alphas = xp.full((t,), float(alphas[0]), dtype=xp.float64, device=be.device)
        best_cand = xp.zeros((t,), dtype=xp.int64, device=be.device)
        cv_all = []
        for c, gamma in enumerate(cands):
            scale = be.asarray(np.repeat(np.sqrt(gamma), np.diff(bounds)))
            xs = x_all * scale
            folds = [solver.fold(xs, tr, te, self.fit_intercept, self.solver) for tr, te in folds_idx]
            cv = solver.cv_path(folds, y, alphas, fit_intercept=self.fit_intercept, scoring=self.scoring,
                                max_memory=self.max_memory, progress=self.progress,
                                desc=f"banded ridge {c + 1}/{len(cands)}")
            cv_all.append(cv)
            a, score = solver.best_alpha(cv, al)
            better = score > best
            best = xp.where(better, score, best)
            best_alphas = xp.where(better, a, best_alphas)
            best_cand = xp.where(better, xp.full_like(best_cand, c), best_cand)
        x_mean = xp.mean(x_all, axis=0) if self.fit_intercept else xp.zeros((p,), dtype=xp.float64, device=be.device)
        y_mean = xp.mean(y, axis=0) if self.fit_intercept else xp.zeros((t,), dtype=y.dtype, device=be.device)
        cand_host = be.to_numpy(best_cand)
        pieces, order = [], []
        for c in np.unique(cand_host):
            scale = be.asarray(np.repeat(np.sqrt(cands[c]), np.diff(bounds)))
            dec, _ = solver.decompose((x_all - x_mean) * scale, self.solver)
            idx = np.flatnonzero(cand_host == c)
            for sl in chunk_slices(len(idx), chunk_size(len(idx), 8 * (2 * n + p), self.max_memory)):
                cols = solver.index(idx[sl])
                w, _ = solver.refit_weights(xp.take(y, cols, axis=1), dec, xp.take(best_alphas, cols, axis=0),
                                            self.fit_intercept, False)
                pieces.append((w * solver.cast(scale)[:, None]).T)
                order.append(idx[sl])
        coef = xp.take(xp.concat(pieces, axis=0), solver.index(np.argsort(np.concatenate(order))), axis=0)
        intercept = solver.cast(y_mean - xp.astype(coef, xp.float64) @ x_mean)
        gam = cands[cand_host].T
        with np.errstate(divide="ignore"):
            alpha = np.where(gam > 0, be.to_numpy(best_alphas)[None, :] / gam, np.inf)
        out = self._out(be)
        keep = (lambda a: be.asarray(a)) if self.return_backend else (lambda a: a)
        self.alpha_, self.gamma_ = keep(alpha), keep(gam)
        self.gammas_ = cands
        self.alphas_ = alphas
        self.cv_scores_ = out(xp.stack(cv_all))
        self.best_score_ = out(best)
        self.space_names_ = names
        self.space_sizes_ = [int(a.shape[1]) for a in arrays]
        self._bounds = bounds
        self._coef = out(coef)
        self.dual_coef_ = None
        self.n_features_in_ = p
        self.n_splits_ = len(folds_idx)
        self.target_ids_ = target_ids(Y, t)
        self.intercept_ = out(intercept)
        return self

    def _input_arrays(self, X) -> list:
        if isinstance(X, Mapping):
            return list(X.values())
        if isinstance(X, (list, tuple)):
            return list(X)
        return [X]

    def _features_backend(self, be, X):
        if isinstance(X, (Mapping, list, tuple)):
            names, items = _spaces(X)
            arrays = [backend_matrix(be, item, f"X[{nm!r}]", "samples", "features", np.float64)
                      for nm, item in zip(names, items)]
            sizes = [int(a.shape[1]) for a in arrays]
            if sizes != self.space_sizes_:
                raise ShapeMismatchError(f"feature spaces have {sizes} features; expected {self.space_sizes_}, as in fit")
            if len({a.shape[0] for a in arrays}) != 1:
                raise ShapeMismatchError(
                    f"feature spaces have different sample counts {[a.shape[0] for a in arrays]}; "
                    f"expected the same samples in every space")
            return be.xp.concat(arrays, axis=1)
        return super()._features_backend(be, X)

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
        if isinstance(X, Mapping):
            X = {k: to_host(v) for k, v in X.items()}
        elif isinstance(X, (list, tuple)):
            X = [to_host(v) for v in X]
        x = self._features(to_host(X))
        coef = to_host(self.coef_)
        return np.stack([
            x[:, a:b] @ coef[:, a:b].T for a, b in zip(self._bounds[:-1], self._bounds[1:])
        ])

    def score_split(self, X, Y) -> np.ndarray:
        """R^2 split between the spaces, shape (n_spaces, n_targets); rows sum to R^2.

        Space ``k`` gets ``(2 <y, p_k> - <p_k, p>) / ||y||^2`` with ``y`` the centred
        targets, ``p_k`` its centred contribution and ``p`` the summed prediction (the
        product measure); on new data the loss from a shifted mean, ``n d^2 / ||y||^2``
        with ``d`` the difference of the observed and predicted means, is shared equally.
        The sum over spaces equals the R^2 of the full prediction.
        """
        y = check_matrix(to_host(Y), "Y", rows="samples", cols="targets")
        parts = self.predict_split(X)
        if y.shape != parts.shape[1:]:
            raise ShapeMismatchError(f"Y has shape {y.shape}; expected {parts.shape[1:]}")
        yc = y - y.mean(axis=0)
        pc = parts - parts.mean(axis=1, keepdims=True)
        total = pc.sum(axis=0)
        # R^2 = 1 - ||yc - p - d||^2/||yc||^2, with d the mean offset of the full prediction
        offset = (y.mean(axis=0) - (parts.sum(axis=0).mean(axis=0) + to_host(self.intercept_)))
        ss = np.einsum("ij,ij->j", yc, yc)
        with np.errstate(divide="ignore", invalid="ignore"):
            split = (2 * np.einsum("kij,ij->kj", pc, yc) - np.einsum("kij,ij->kj", pc, total)) / ss
            # the mean-offset loss (zero on the training data) is shared equally
            bias = len(y) * offset ** 2 / ss
        return split - bias[None, :] / len(parts)
