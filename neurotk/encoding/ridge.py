"""Ridge regression with one regularisation strength per target, for thousands of targets.

:class:`RidgeCV` chooses an alpha per target (neuron, voxel) by K-fold or
leave-one-run-out cross-validation and refits on all samples. The cross-validation solves
every alpha and every target at once from one decomposition of the features per fold
(:mod:`neurotk.encoding.solver`), so the alpha grid costs a small product per alpha, and
targets go in chunks sized by ``max_memory`` through joblib.

:class:`RidgeMixin` holds what every fitted ridge estimator offers: ``predict``,
``score_targets`` (R^2 or Pearson r, raw or as a fraction of a noise ceiling), ``score``
and ``to_frame``; :class:`~neurotk.encoding.BandedRidgeCV` (one alpha per feature space)
derives from it too.

Precision and array libraries (both estimators):

- ``dtype="float32"`` keeps the responses in float32 and runs the big per-target products
  (``U^T Y`` and the per-alpha predictions) in float32, about twice the BLAS rate and half
  the memory of the target chunks; the decompositions of the features are still computed
  in float64 and the sums of squares behind the CV scores are accumulated in float64, so
  the chosen alphas match float64's on all but a few near-tied targets
  (``benchmarks/bench_encoding.py`` measures the share). ``coef_``, ``intercept_``
  (and ``dual_coef_``) are float32; the CV scores stay float64.
- ``backend=None`` (default) fits numpy inputs in numpy (the code path of earlier
  versions, unchanged) and torch / CuPy / array-API inputs in their own library, on their
  device; ``backend="torch"|"cupy"|"numpy"`` converts the inputs first (``device=`` picks
  the device; see :mod:`neurotk._backend`). Fitted arrays come back as numpy arrays unless
  ``return_backend=True``, in which case ``coef_``, ``intercept_``, ``alpha_``,
  ``cv_scores_``, ``best_score_`` (and ``dual_coef_``) stay arrays of the backend, and
  ``predict`` and ``score_targets`` return them too. ``n_jobs`` applies to the numpy path
  only (the device does the parallel work).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._backend import BACKENDS, is_numpy_like, resolve_backend
from .._params import Parameters
from .._validation import check_choice, check_fitted, check_matrix, check_positive
from ..errors import ArgumentError, ShapeMismatchError
from ..parallel import parse_memory
from .ceiling import normalise_scores
from .scoring import (
    METRICS,
    check_features_targets,
    check_same_samples,
    check_targets_vary,
    cv_folds,
    target_ids,
    target_scores,
)
from .solver import (
    ArraySolver,
    Decomposition,
    Fold,
    backend_matrix,
    check_targets_vary_backend,
    fit_path,
    scores_backend,
    to_host,
)

__all__ = ["RidgeMixin", "RidgeCV"]

_SOLVERS = ("auto", "primal", "dual")
_DTYPES = ("float64", "float32")


class RidgeMixin:
    """What every fitted ridge estimator offers: prediction, per-target scores and a table.

    A mixin of :class:`RidgeCV` and :class:`~neurotk.encoding.BandedRidgeCV` (placed
    before :class:`~neurotk._params.Parameters` in their bases, as scikit-learn's mixins
    are); not an estimator on its own. Subclasses set ``intercept_``, ``coef_`` (or ``dual_coef_``),
    ``n_features_in_``, ``alpha_``, ``best_score_`` and ``target_ids_`` in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.encoding import RidgeCV
    >>> isinstance(RidgeCV(), RidgeMixin)
    True
    """

    def _check_params(self) -> np.ndarray:
        """Check the settings every ridge estimator shares; returns the sorted alpha grid."""
        check_choice(self.scoring, "scoring", METRICS)
        check_choice(self.solver, "solver", _SOLVERS)
        self._work_dtype()
        if self.backend is not None:
            check_choice(self.backend, "backend", BACKENDS)
        if not isinstance(self.return_backend, (bool, np.bool_)):
            raise ArgumentError(f"return_backend={self.return_backend!r}; expected True or False")
        parse_memory(self.max_memory)
        alphas = np.logspace(-3, 7, 21) if self.alphas is None else self.alphas
        return np.sort(check_positive(alphas, "alphas"))

    def _check_fitted(self):
        check_fitted(self, "intercept_", action="call fit(X, Y) first")

    def _work_dtype(self) -> np.dtype:
        """The ``dtype`` setting as a numpy dtype (float64 or float32)."""
        try:
            name = np.dtype(self.dtype).name
        except TypeError:
            name = None
        if name not in _DTYPES:
            raise ArgumentError(f"dtype={self.dtype!r}; expected one of {list(_DTYPES)}")
        return np.dtype(name)

    def _resolve_backend(self, arrays):
        """The backend a fit on ``arrays`` runs in (``backend``/``device`` settings)."""
        return resolve_backend([a for a in arrays if a is not None], self.backend, self.device)

    def _input_arrays(self, X) -> list:
        """The arrays ``X`` is made of (one matrix here; the feature spaces in banded ridge)."""
        return [X]

    def _numpy_model(self) -> bool:
        return isinstance(self.intercept_, np.ndarray)

    def _out(self, be):
        """What a fitted array becomes: itself (``return_backend=True``) or a numpy array."""
        return (lambda a: a) if self.return_backend else be.to_numpy

    def _features_backend(self, be, X):
        """Features of ``X`` as a float64 array of backend ``be``, checked against the fit."""
        x = backend_matrix(be, X, "X", "samples", "features", np.float64)
        if x.shape[1] != self.n_features_in_:
            raise ShapeMismatchError(
                f"X has {x.shape[1]} features; expected {self.n_features_in_}, as in fit")
        return x

    def _predict_backend(self, X):
        """Predictions in the backend of ``X`` or of the fitted arrays: (backend, prediction)."""
        fitted = [] if self._numpy_model() else [self.intercept_]
        be = resolve_backend([a for a in self._input_arrays(X) if not is_numpy_like(a)] + fitted)
        xp = be.xp
        x = self._features_backend(be, X)
        dual = getattr(self, "dual_coef_", None)
        if dual is not None:
            dual = be.asarray(dual)
            xm, xf = (xp.astype(be.asarray(a), dual.dtype) for a in (self._x_mean, self._x_fit))
            pred = ((xp.astype(x, dual.dtype) - xm) @ xf.T) @ dual
        else:
            coef = be.asarray(self.coef_)
            pred = xp.astype(x, coef.dtype) @ coef.T
        return be, pred + xp.astype(be.asarray(self.intercept_ if dual is None else self._y_mean), pred.dtype)

    def _features(self, X) -> np.ndarray:
        x = check_matrix(X, "X", rows="samples", cols="features")
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
        if not (self._numpy_model() and all(is_numpy_like(a) for a in self._input_arrays(X))):
            be, pred = self._predict_backend(X)
            return self._out(be)(pred)
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
        check_choice(metric, "metric", METRICS)
        self._check_fitted()
        if not (self._numpy_model() and is_numpy_like(Y) and all(is_numpy_like(a) for a in self._input_arrays(X))):
            return self._score_targets_backend(X, Y, metric, ceiling)
        y = check_matrix(Y, "Y", rows="samples", cols="targets")
        pred = self.predict(X)
        if y.shape != pred.shape:
            raise ShapeMismatchError(f"Y has shape {y.shape}; expected {pred.shape} (samples of X, targets of fit)")
        scores = target_scores(y, pred, metric)
        if ceiling is None:
            return scores
        return normalise_scores(scores, ceiling, kind=metric)

    def _score_targets_backend(self, X, Y, metric, ceiling):
        be, pred = self._predict_backend(X)
        if not is_numpy_like(Y):
            be = resolve_backend([Y, pred])  # refuses another library or device
        y = backend_matrix(be, Y, "Y", "samples", "targets", np.float64)
        if tuple(y.shape) != tuple(pred.shape):
            raise ShapeMismatchError(f"Y has shape {tuple(y.shape)}; expected {tuple(pred.shape)} "
                                     "(samples of X, targets of fit)")
        scores = scores_backend(be.xp, be.xp.astype(y, pred.dtype), pred, metric)
        if ceiling is not None:
            scores = be.asarray(normalise_scores(be.to_numpy(scores), to_host(ceiling), kind=metric))
        return self._out(be)(scores)

    def score(self, X, Y) -> float:
        """Mean R^2 over targets, as scikit-learn's ``r2_score`` (uniform average)."""
        return float(np.mean(to_host(self.score_targets(X, Y))))

    def to_frame(self) -> pd.DataFrame:
        """One row per target: id, chosen alpha(s) and cross-validated score."""
        self._check_fitted()
        frame = pd.DataFrame({"target": self.target_ids_})
        alpha = np.asarray(to_host(self.alpha_))
        if alpha.ndim == 2:
            for name, a in zip(self.space_names_, alpha):
                frame[f"alpha_{name}"] = a
        else:
            frame["alpha"] = alpha
        frame[f"cv_{self.scoring}"] = to_host(self.best_score_)
        return frame


class RidgeCV(RidgeMixin, Parameters):
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
    dtype : {"float64", "float32"}, default "float64"
        Precision of the per-target products. ``"float32"`` is about 1.5-2x faster on
        large target counts and halves the memory of the responses; the feature
        decompositions and the sums of squares stay float64, so the chosen alphas agree
        with float64's on >= 99.9 % of targets (near-ties can flip). The fitted weights
        are float32.
    backend : {None, "numpy", "torch", "cupy"}, default None
        The array library to fit in. None: that of the inputs (numpy inputs take the
        numpy path; torch tensors are fitted in torch on their device). A name converts
        the inputs to that library first.
    device : str or device, optional
        Device for ``backend="torch"|"cupy"`` (default: CUDA when available, else CPU).
    return_backend : bool, default False
        Keep the fitted arrays (and the results of ``predict``/``score_targets``) as
        arrays of the backend, on its device, instead of numpy arrays.

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

    In float32 (the alphas agree with float64's here):

    >>> fast = RidgeCV(alphas=np.logspace(-2, 4, 13), dtype="float32").fit(X, Y)
    >>> fast.coef_.dtype, bool((fast.alpha_ == model.alpha_).all())
    (dtype('float32'), True)
    """

    def __init__(self, alphas=None, cv=5, fit_intercept: bool = True, scoring: str = "r2",
                 solver: str = "auto", n_jobs: int = 1, max_memory=None, progress: bool = False,
                 dtype: str = "float64", backend: str | None = None, device=None,
                 return_backend: bool = False):
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.scoring = scoring
        self.solver = solver
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.progress = progress
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.return_backend = return_backend

    def fit(self, X, Y, groups=None) -> RidgeCV:
        """Choose an alpha per target by cross-validation, then refit on all samples.

        Parameters
        ----------
        X : Recording, array-like or array of another library, shape (n_samples, n_features)
            Features (a network layer, stimulus features ...).
        Y : Recording, array-like or array of another library, shape (n_samples, n_targets)
            Responses (neurons, voxels), one row per sample of ``X``.
        groups : array-like, optional
            Group label per sample (e.g. run), for group K-fold when ``cv`` is an int.

        Returns
        -------
        self
        """
        alphas = self._check_params()
        dtype = self._work_dtype()
        be = self._resolve_backend([X, Y])
        if not be.is_numpy:
            return self._fit_backend(be, X, Y, groups, alphas, dtype)
        X, Y = to_host(X), to_host(Y)  # backend="numpy" with arrays of another library
        if dtype == np.float64:
            x, y = check_features_targets(X, Y)
        else:  # the responses go straight to float32 (no float64 copy of them)
            x = check_matrix(X, "X", rows="samples", cols="features")
            y = check_matrix(Y, "Y", rows="samples", cols="targets", dtype=dtype)
            check_same_samples(X, Y, x.shape[0], y.shape[0])
        check_targets_vary(y, "Y", Y)
        n, p = x.shape
        folds_idx = cv_folds(self.cv, n, groups, (Y, X))
        folds = [Fold(x, tr, te, self.fit_intercept, self.solver, dtype) for tr, te in folds_idx]
        x_mean = x.mean(axis=0) if self.fit_intercept else np.zeros(p)
        xc = x - x_mean if self.fit_intercept else x
        dec = Decomposition(xc, self.solver, gram=dtype != np.float64).cast(dtype)
        # keep dual coefficients when primal weights would not fit the memory budget
        dual = dec.dual and p * y.shape[1] * dtype.itemsize > parse_memory(self.max_memory)
        self.cv_scores_, self.alpha_, self.best_score_, w, self._y_mean = fit_path(
            folds, dec, y, alphas, fit_intercept=self.fit_intercept, scoring=self.scoring, dual=dual,
            n_jobs=self.n_jobs, max_memory=self.max_memory, progress=self.progress)
        self.alphas_ = alphas
        self._x_mean = x_mean
        self.n_features_in_ = p
        self.n_splits_ = len(folds_idx)
        self.target_ids_ = target_ids(Y, y.shape[1])
        if dual:
            self.dual_coef_ = w
            self._x_fit = dec.x
            self._coef = None
        else:
            self.dual_coef_ = None
            self._coef = np.ascontiguousarray(w.T)
        self.intercept_ = self._y_mean - (self.coef_ @ x_mean if self.fit_intercept else 0.0)
        self.intercept_ = self.intercept_.astype(dtype, copy=False)  # no-op in float64
        return self

    def _fit_backend(self, be, X, Y, groups, alphas, dtype) -> RidgeCV:
        """:meth:`fit` in another array library (torch, CuPy, array-api-strict), on its device."""
        xp = be.xp
        x = backend_matrix(be, X, "X", "samples", "features", np.float64)
        y = backend_matrix(be, Y, "Y", "samples", "targets", dtype)
        n, p = x.shape
        check_same_samples(X, Y, n, y.shape[0])
        check_targets_vary_backend(be, y, Y)
        folds_idx = cv_folds(self.cv, n, groups, (Y, X))
        solver = ArraySolver(be, dtype)
        folds = [solver.fold(x, tr, te, self.fit_intercept, self.solver) for tr, te in folds_idx]
        x_mean = xp.mean(x, axis=0) if self.fit_intercept else xp.zeros((p,), dtype=xp.float64, device=be.device)
        xc = x - x_mean if self.fit_intercept else x
        dec, _ = solver.decompose(xc, self.solver)
        dual = dec.dual and p * y.shape[1] * dtype.itemsize > parse_memory(self.max_memory)
        cv, alpha, best, w, y_mean = solver.fit_path(
            folds, dec, y, alphas, fit_intercept=self.fit_intercept, scoring=self.scoring, dual=dual,
            max_memory=self.max_memory, progress=self.progress)
        coef = (dec.x.T @ w).T if dual else w.T
        intercept = y_mean
        if self.fit_intercept:
            intercept = solver.cast(y_mean - xp.astype(coef, xp.float64) @ x_mean)
        out = self._out(be)
        self.cv_scores_, self.alpha_, self.best_score_ = out(cv), out(alpha), out(best)
        self._y_mean, self._x_mean = out(y_mean), out(x_mean)
        self.alphas_ = alphas
        self.n_features_in_ = p
        self.n_splits_ = len(folds_idx)
        self.target_ids_ = target_ids(Y, y.shape[1])
        if dual:
            self.dual_coef_, self._x_fit = out(w), out(dec.x)
        else:
            self.dual_coef_, self._x_fit = None, None
        coef = out(coef)
        self._coef = np.ascontiguousarray(coef) if isinstance(coef, np.ndarray) else coef
        self.intercept_ = out(intercept)
        return self

    @property
    def coef_(self) -> np.ndarray:
        """Weights, shape (n_targets, n_features) (computed on demand after a dual fit)."""
        if getattr(self, "_coef", None) is None:
            if getattr(self, "dual_coef_", None) is None:
                raise AttributeError("coef_ exists only after fit")
            coef = (self._x_fit.T @ self.dual_coef_).T
            self._coef = np.ascontiguousarray(coef) if isinstance(coef, np.ndarray) else coef
        return self._coef

    def ridge_path(self) -> pd.DataFrame:
        """The ridge path summarised over targets: one row per alpha of the grid.

        Columns: ``alpha``, ``mean_score`` (the mean over targets of the cross-validated
        score, NaN scores left out) and ``n_chosen`` (how many targets chose that alpha).
        :func:`neurotk.plotting.encoding.plot_ridge_path` draws it.

        Examples
        --------
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(60, 3)); Y = X @ rng.normal(size=(3, 4)) + rng.normal(size=(60, 4))
        >>> path = RidgeCV(alphas=[0.1, 1e5]).fit(X, Y).ridge_path()
        >>> path["n_chosen"].tolist()
        [4, 0]
        """
        self._check_fitted()
        return pd.DataFrame({
            "alpha": self.alphas_,
            "mean_score": np.nanmean(to_host(self.cv_scores_), axis=1),
            "n_chosen": [int(np.sum(to_host(self.alpha_) == a)) for a in self.alphas_],
        })
