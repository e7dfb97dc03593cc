"""The ridge solver against numpy's SVD, scikit-learn's Ridge and its own chunking."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold

from neurotk.encoding.solver import Decomposition, Fold, best_alpha, cv_path, fit_path, refit_weights


def _data(n, p, t=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) + 1.0
    y = x @ rng.normal(size=(p, t)) + 2 * rng.normal(size=(n, t))
    return x, y


@pytest.mark.parametrize("n,p,solver", [(30, 6, "primal"), (8, 20, "primal"), (8, 20, "dual")])
def test_decomposition_reconstructs_the_features(n, p, solver):
    x, _ = _data(n, p)
    dec = Decomposition(x, solver)
    assert dec.dual == (solver == "dual")
    k = min(n, p)
    assert dec.s.shape == (k,) and dec.u.shape == (n, k)
    np.testing.assert_allclose(dec.s, np.linalg.svd(x, compute_uv=False), rtol=1e-8)
    # X V = U diag(s), in the primal form and through the kernel in the dual form
    np.testing.assert_allclose(dec.project(x), dec.u * dec.s, atol=1e-8)
    again = Decomposition.from_arrays(*dec.arrays(), dec.dual)
    np.testing.assert_array_equal(again.project(x), dec.project(x))


def test_auto_solver_is_dual_for_wide_features_and_drops_null_directions():
    assert Decomposition(np.ones((5, 8)), "auto").dual and not Decomposition(np.ones((8, 5)), "auto").dual
    x = np.c_[np.arange(6.0), 2 * np.arange(6.0)]  # rank 1
    assert Decomposition(x, "primal").s.size == 1


@pytest.mark.parametrize("n,p", [(40, 6), (20, 35)])
def test_refit_weights_match_scikit_learn_ridge(n, p):
    x, y = _data(n, p)
    alpha = np.array([0.1, 1.0, 10.0, 100.0, 3.0])
    xc = x - x.mean(0)
    dec = Decomposition(xc, "auto")
    w, mean = refit_weights(y, dec, alpha, True, False)
    np.testing.assert_allclose(mean, y.mean(0))
    dual, _ = refit_weights(y, dec, alpha, True, True)
    np.testing.assert_allclose(xc.T @ dual, w, atol=1e-8)
    for t, a in enumerate(alpha):
        np.testing.assert_allclose(w[:, t], Ridge(alpha=a).fit(x, y[:, t]).coef_, atol=1e-8)


def test_cv_path_matches_a_scikit_learn_loop_and_does_not_depend_on_chunks():
    x, y = _data(50, 8, t=9)
    alphas = np.logspace(-2, 3, 6)
    split = list(KFold(5).split(x))
    folds = [Fold(x, tr, te, True, "auto") for tr, te in split]
    ref = np.zeros((6, 9))
    for tr, te in split:
        for i, a in enumerate(alphas):
            pred = Ridge(alpha=a).fit(x[tr], y[tr]).predict(x[te])
            ref[i] += 1 - ((y[te] - pred) ** 2).sum(0) / ((y[te] - y[te].mean(0)) ** 2).sum(0)
    path = cv_path(folds, y, alphas, fit_intercept=True, scoring="r2")
    np.testing.assert_allclose(path, ref / 5, atol=1e-8)
    chunked = cv_path(folds, y, alphas, fit_intercept=True, scoring="r2", max_memory=5000, n_jobs=2)
    np.testing.assert_allclose(chunked, path, atol=1e-12)


def test_fit_path_chooses_the_best_alpha_and_refits():
    x, y = _data(60, 5, t=4, seed=1)
    alphas = np.logspace(-2, 4, 7)
    folds = [Fold(x, tr, te, True, "auto") for tr, te in KFold(4).split(x)]
    dec = Decomposition(x - x.mean(0), "auto")
    cv, alpha, best, w, mean = fit_path(folds, dec, y, alphas, fit_intercept=True, scoring="pearson")
    np.testing.assert_allclose(cv, cv_path(folds, y, alphas, fit_intercept=True, scoring="pearson"), atol=1e-12)
    np.testing.assert_array_equal(alpha, alphas[np.argmax(cv, axis=0)])
    np.testing.assert_array_equal(best, cv.max(axis=0))
    np.testing.assert_allclose(w, refit_weights(y, dec, alpha, True, False)[0], atol=1e-12)
    np.testing.assert_allclose(mean, y.mean(0))


def test_best_alpha_prefers_the_smallest_on_ties_and_skips_nan():
    alphas = np.array([1.0, 10.0, 100.0])
    cv = np.array([[0.2, np.nan, 0.1], [0.2, 0.3, 0.5], [0.1, 0.2, 0.5]])
    a, s = best_alpha(cv, alphas)
    np.testing.assert_array_equal(a, [1.0, 10.0, 10.0])
    np.testing.assert_array_equal(s, [0.2, 0.3, 0.5])
