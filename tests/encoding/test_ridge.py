"""RidgeCV against scikit-learn, closed forms and planted truths."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, LeaveOneGroupOut

from neurotk import Recording
from neurotk.encoding import RidgeCV
from neurotk.errors import (
    AlignmentError,
    ArgumentError,
    NeurotkError,
    NonFiniteDataError,
    NotFittedError,
    ShapeMismatchError,
)


def _data(n=120, p=15, t=6, noise=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.5
    W = rng.normal(size=(p, t))
    Y = X @ W + noise * rng.normal(size=(n, t)) + 3.0
    return X, Y, W


def _loop_cv_scores(X, Y, alphas, splits, fit_intercept=True):
    """Reference: scikit-learn Ridge refit for every fold and alpha."""
    scores = np.zeros((len(alphas), Y.shape[1]))
    for tr, te in splits:
        for i, a in enumerate(alphas):
            pred = Ridge(alpha=a, fit_intercept=fit_intercept).fit(X[tr], Y[tr]).predict(X[te])
            yt = Y[te]
            scores[i] += 1 - ((yt - pred) ** 2).sum(0) / ((yt - yt.mean(0)) ** 2).sum(0)
    return scores / len(splits)


@pytest.mark.parametrize("n,p", [(80, 12), (30, 90)])  # primal (SVD) and dual (kernel)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fixed_alpha_matches_sklearn_ridge(n, p, fit_intercept):
    X, Y, _ = _data(n, p)
    ours = RidgeCV(alphas=[2.5], fit_intercept=fit_intercept).fit(X, Y)
    ref = Ridge(alpha=2.5, fit_intercept=fit_intercept).fit(X, Y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8)
    Xn = np.random.default_rng(5).normal(size=(7, p))
    np.testing.assert_allclose(ours.predict(Xn), ref.predict(Xn), atol=1e-8)


@pytest.mark.parametrize("n,p", [(90, 10), (40, 70)])
def test_cv_scores_and_alphas_match_sklearn_loop(n, p):
    X, Y, _ = _data(n, p, t=8, noise=3.0, seed=1)
    alphas = np.logspace(-2, 4, 9)
    model = RidgeCV(alphas=alphas, cv=5).fit(X, Y)
    ref = _loop_cv_scores(X, Y, alphas, list(KFold(5).split(X)))
    np.testing.assert_allclose(model.cv_scores_, ref, atol=1e-8)
    np.testing.assert_array_equal(model.alpha_, alphas[ref.argmax(0)])
    # the refit at each target's alpha equals scikit-learn's Ridge at that alpha
    for t in range(Y.shape[1]):
        r = Ridge(alpha=model.alpha_[t]).fit(X, Y[:, t])
        np.testing.assert_allclose(model.coef_[t], r.coef_, atol=1e-8)


def test_primal_and_dual_solvers_agree():
    X, Y, _ = _data(60, 40, noise=2.0)
    alphas = np.logspace(-1, 3, 7)
    a = RidgeCV(alphas=alphas, solver="primal").fit(X, Y)
    b = RidgeCV(alphas=alphas, solver="dual", max_memory=1000).fit(X, Y)  # keeps dual coefs
    assert b.dual_coef_ is not None
    np.testing.assert_allclose(a.cv_scores_, b.cv_scores_, atol=1e-8)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    np.testing.assert_allclose(a.predict(X), b.predict(X), atol=1e-8)


def test_recovers_planted_weights_and_per_target_alphas():
    # Bayesian ridge: w ~ N(0, tau^2), noise N(0, sigma^2) -> the optimal alpha is sigma^2 / tau^2
    rng = np.random.default_rng(3)
    n, p, t = 300, 20, 40
    X = rng.normal(size=(n, p))
    tau = np.logspace(-1.5, 0.5, t)
    W = rng.normal(size=(p, t)) * tau
    Y = X @ W + rng.normal(size=(n, t))
    alphas = np.logspace(-1, 4, 26)
    model = RidgeCV(alphas=alphas, cv=5).fit(X, Y)
    optimal = 1.0 / tau**2
    rho = stats.spearmanr(model.alpha_, optimal).statistic
    assert rho > 0.8
    assert np.median(np.abs(np.log10(model.alpha_) - np.log10(optimal))) < 0.5
    # low-noise targets: weights recovered
    strong = tau > 1
    r = [np.corrcoef(model.coef_[k], W[:, k])[0, 1] for k in np.flatnonzero(strong)]
    assert min(r) > 0.99


def test_pearson_scoring_and_score_targets_match_scipy():
    X, Y, _ = _data(100, 8, noise=4.0)
    model = RidgeCV(alphas=np.logspace(-2, 3, 6), scoring="pearson").fit(X[:70], Y[:70])
    r = model.score_targets(X[70:], Y[70:], metric="pearson")
    pred = model.predict(X[70:])
    ref = [stats.pearsonr(Y[70:, k], pred[:, k]).statistic for k in range(Y.shape[1])]
    np.testing.assert_allclose(r, ref, atol=1e-10)
    from sklearn.metrics import r2_score

    assert model.score(X[70:], Y[70:]) == pytest.approx(r2_score(Y[70:], pred))
    np.testing.assert_allclose(model.score_targets(X[70:], Y[70:]),
                               r2_score(Y[70:], pred, multioutput="raw_values"))
    # pearson selection picks the alpha with the best mean fold correlation
    scores = np.zeros((6, Y.shape[1]))
    for tr, te in KFold(5).split(X[:70]):
        for i, a in enumerate(model.alphas_):
            p = Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te])
            scores[i] += [stats.pearsonr(Y[te][:, k], p[:, k]).statistic for k in range(Y.shape[1])]
    np.testing.assert_allclose(model.cv_scores_, scores / 5, atol=1e-8)


def test_ceiling_normalised_scores_approach_one_for_a_perfect_model():
    """Planted signal + noise over repeats: the true model explains all explainable variance.

    Scored against repeat means, the held-out R^2 divided by the explainable-variance
    ceiling of those means is close to 1; r divided by the ceiling's square root too.
    """
    from neurotk.encoding import noise_ceiling

    rng = np.random.default_rng(7)
    n_stim, n_rep, p, t = 400, 4, 6, 30
    X = rng.normal(size=(n_stim, p))
    signal = X @ rng.normal(size=(p, t))
    signal /= signal.std(axis=0)
    reps = signal[None] + rng.uniform(0.5, 2.0, size=t) * rng.normal(size=(n_rep, n_stim, t))
    ceiling = noise_ceiling(reps, target="mean")
    mean = reps.mean(axis=0)
    model = RidgeCV(alphas=np.logspace(-3, 2, 6)).fit(X[:300], mean[:300])
    raw = model.score_targets(X[300:], mean[300:])
    normalised = model.score_targets(X[300:], mean[300:], ceiling=ceiling)
    np.testing.assert_allclose(normalised, raw / np.asarray(ceiling.values))
    assert raw.mean() < 0.9 and abs(np.median(normalised) - 1) < 0.1
    r = model.score_targets(X[300:], mean[300:], metric="pearson", ceiling=ceiling)
    assert abs(np.median(r) - 1) < 0.1
    with pytest.raises(ShapeMismatchError, match="units"):
        model.score_targets(X[300:], mean[300:], ceiling=np.ones(3))


def test_chunks_and_jobs_give_identical_results():
    X, Y, _ = _data(80, 10, t=25, noise=2.0)
    alphas = np.logspace(-2, 3, 6)
    ref = RidgeCV(alphas=alphas).fit(X, Y)
    small = RidgeCV(alphas=alphas, max_memory=20_000).fit(X, Y)  # several target chunks
    jobs = RidgeCV(alphas=alphas, max_memory=20_000, n_jobs=2).fit(X, Y)
    for other in (small, jobs):
        np.testing.assert_array_equal(other.alpha_, ref.alpha_)
        np.testing.assert_allclose(other.coef_, ref.coef_, atol=1e-12)
        np.testing.assert_allclose(other.cv_scores_, ref.cv_scores_, atol=1e-12)


def test_recordings_runs_and_ids():
    X, Y, _ = _data(60, 6, t=4)
    samples = pd.DataFrame({"stimulus": np.arange(60), "run": np.repeat([0, 1, 2], 20)})
    xr = Recording(X, samples=samples)
    yr = Recording(Y, samples=samples, units=pd.DataFrame({"unit_id": ["a", "b", "c", "d"]}))
    alphas = np.logspace(-2, 3, 6)
    model = RidgeCV(alphas=alphas, cv="run").fit(xr, yr)
    assert list(model.target_ids_) == ["a", "b", "c", "d"]
    ref = _loop_cv_scores(X, Y, alphas, list(LeaveOneGroupOut().split(X, groups=samples["run"])))
    np.testing.assert_allclose(model.cv_scores_, ref, atol=1e-8)
    assert list(model.to_frame()["target"]) == ["a", "b", "c", "d"]
    # group K-fold through groups=
    g = RidgeCV(alphas=alphas, cv=3).fit(X, Y, groups=samples["run"])
    np.testing.assert_allclose(g.cv_scores_, ref, atol=1e-8)
    # different stimulus order -> alignment error naming the fix
    shuffled = Recording(Y[::-1], samples=samples.iloc[::-1].reset_index(drop=True))
    with pytest.raises(AlignmentError, match="align"):
        RidgeCV().fit(xr, shuffled)


def test_sklearn_api():
    model = RidgeCV(alphas=[1.0, 10.0], cv=3)
    assert clone(model).get_params()["cv"] == 3
    X, Y, _ = _data(40, 5, t=1)
    fitted = model.fit(X, Y[:, 0:1])
    assert fitted is model and model.alpha_.shape == (1,)


@pytest.mark.parametrize("make,error,match", [
    (lambda X, Y: RidgeCV().fit(X[:-1], Y), ShapeMismatchError, "samples"),
    (lambda X, Y: RidgeCV(alphas=[1.0, 0.0]).fit(X, Y), ArgumentError, "alphas"),
    (lambda X, Y: RidgeCV(alphas=[-1.0]).fit(X, Y), ArgumentError, "alphas"),
    (lambda X, Y: RidgeCV().fit(np.where(np.eye(*X.shape) > 0, np.nan, X), Y), NonFiniteDataError, "X"),
    (lambda X, Y: RidgeCV().fit(X, np.column_stack([Y, np.ones(len(Y))])), ArgumentError, "constant"),
    (lambda X, Y: RidgeCV(cv=1).fit(X, Y), ArgumentError, "cv"),
    (lambda X, Y: RidgeCV(cv="session").fit(X, Y), ArgumentError, "session"),
    (lambda X, Y: RidgeCV(scoring="mse").fit(X, Y), ArgumentError, "scoring"),
    (lambda X, Y: RidgeCV().predict(X), ArgumentError, "not fitted"),
    (lambda X, Y: RidgeCV(alphas=[1.0]).fit(X, Y).predict(X[:, :3]), ShapeMismatchError, "features"),
    (lambda X, Y: RidgeCV(max_memory="lots").fit(X, Y), ArgumentError, "max_memory"),
])
def test_bad_input(make, error, match):
    X, Y, _ = _data(40, 5, t=3)
    with pytest.raises(error, match=match):
        make(X, Y)
    assert issubclass(error, NeurotkError)


def test_ridge_path_summarises_the_cv_scores():
    X, Y, _ = _data(60, 5, t=7, noise=2.0)
    alphas = np.logspace(-2, 4, 7)
    model = RidgeCV(alphas=alphas, cv=3).fit(X, Y)
    path = model.ridge_path()
    assert list(path.columns) == ["alpha", "mean_score", "n_chosen"]
    np.testing.assert_array_equal(path["alpha"], alphas)
    np.testing.assert_allclose(path["mean_score"], model.cv_scores_.mean(axis=1))
    assert path["n_chosen"].tolist() == [int(np.sum(model.alpha_ == a)) for a in alphas]
    assert path["n_chosen"].sum() == Y.shape[1]
    with pytest.raises(NotFittedError, match="not fitted yet; call fit"):
        RidgeCV().ridge_path()


def test_not_fitted_is_an_argument_and_attribute_error():
    X, Y, _ = _data(40, 5, t=3)
    for call in (lambda m: m.predict(X), lambda m: m.score_targets(X, Y), lambda m: m.to_frame()):
        with pytest.raises(NotFittedError, match="this RidgeCV is not fitted yet; call fit\\(X, Y\\) first"):
            call(RidgeCV())
    assert issubclass(NotFittedError, ArgumentError) and issubclass(NotFittedError, AttributeError)
    assert not hasattr(RidgeCV(), "coef_")


@pytest.mark.parametrize("params,match", [
    ({"solver": "qr"}, "solver='qr'; expected one of"),
    ({"scoring": "mse"}, "scoring='mse'; expected one of"),
])
def test_bad_settings_name_the_choices(params, match):
    X, Y, _ = _data(40, 5, t=3)
    with pytest.raises(ArgumentError, match=match):
        RidgeCV(**params).fit(X, Y)
    with pytest.raises(ArgumentError, match="metric='auc'"):
        RidgeCV(alphas=[1.0]).fit(X, Y).score_targets(X, Y, metric="auc")
