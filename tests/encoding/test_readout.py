"""Factorised readout: planted masks and weights, an independent optimiser, flattened ridge."""

import numpy as np
import pytest

from neurotk import Recording
from neurotk.encoding.readout import FactorizedReadout
from neurotk.errors import (
    AlignmentError,
    ArgumentError,
    DataFormatError,
    NonFiniteDataError,
    ShapeMismatchError,
)


def planted(n, c, h, w, t, noise, seed, rank=1):
    """Activations, responses with Gaussian masks x random channel weights, and the truth."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, c, h, w))
    yy, xx = np.mgrid[:h, :w]
    masks = np.zeros((t, rank, h, w))
    weights = rng.normal(size=(t, rank, c))
    for k in range(rank):
        cy, cx = rng.uniform(0.2, 0.8, t) * (h - 1), rng.uniform(0.2, 0.8, t) * (w - 1)
        masks[:, k] = np.exp(-((yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2) / 4.5)
    masks /= np.linalg.norm(masks.reshape(t, rank, -1), axis=2)[:, :, None, None]
    signal = np.einsum("nchw,tkhw,tkc->nt", X, masks, weights)
    Y = signal + noise * signal.std(0) * rng.normal(size=signal.shape) + rng.normal(size=t)
    return X, Y, masks, weights


def corr(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


def test_recovers_planted_masks_and_channel_weights():
    X, Y, masks, weights = planted(500, 8, 12, 12, 8, noise=0.2, seed=0)
    model = FactorizedReadout().fit(X, Y)
    assert model.spatial_.shape == (8, 12, 12) and model.feature_.shape == (8, 8)
    for t in range(8):
        assert corr(model.spatial_[t], masks[t, 0]) > 0.95
        assert corr(model.feature_[t], weights[t, 0]) > 0.95
    # unit-norm masks with positive peaks; weights carry the scale
    assert np.allclose(np.linalg.norm(model.spatial_.reshape(8, -1), axis=1), 1.0)
    assert np.allclose(model.coef_.reshape(8, 8, 144),
                       model.feature_[:, :, None] * model.spatial_.reshape(8, 1, 144))


def test_reaches_the_optimum_of_an_independent_optimiser():
    from scipy.optimize import minimize

    X, Y, _, _ = planted(60, 3, 5, 5, 1, noise=1.0, seed=1)
    a_s, a_f = 3.0, 0.5
    model = FactorizedReadout(alpha_spatial=a_s, alpha_feature=a_f, n_iter=500, tol=0).fit(X, Y)
    y = Y[:, 0]

    def objective(theta):
        m, w, b = theta[:25], theta[25:28], theta[28]
        pred = np.einsum("ncp,p,c->n", X.reshape(60, 3, 25), m, w) + b
        return np.sum((y - pred) ** 2) + a_s * m @ m + a_f * w @ w

    best = np.inf
    for seed in range(3):
        start = np.random.default_rng(seed).normal(size=29)
        best = min(best, minimize(objective, start, method="L-BFGS-B", options={"maxiter": 5000}).fun)
    # the penalty of the fitted product at its optimal split: 2 sqrt(a_s a_f) |m| |w|
    pred = model.predict(X)[:, 0]
    ours = np.sum((y - pred) ** 2) + 2 * np.sqrt(a_s * a_f) * np.linalg.norm(model.spatial_) * np.linalg.norm(model.feature_)
    assert ours <= best * (1 + 1e-6)


def test_beats_flattened_ridge_with_few_samples():
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score

    X, Y, _, _ = planted(700, 16, 10, 10, 10, noise=0.5, seed=2)
    n_train = 200  # 1,600 flattened features
    Xa, Ya, Xb, Yb = X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]
    ridge = RidgeCV(alphas=np.logspace(-2, 6, 17), alpha_per_target=True).fit(Xa.reshape(n_train, -1), Ya)
    flat = r2_score(Yb, ridge.predict(Xb.reshape(len(Xb), -1)), multioutput="raw_values")
    model = FactorizedReadout(alphas=[1.0, 100.0], cv=3).fit(Xa, Ya)
    ours = model.score_targets(Xb, Yb)
    assert ours.mean() > flat.mean() + 0.2
    assert (ours > flat).mean() >= 0.9
    assert np.isclose(model.score(Xb, Yb), ours.mean())
    assert np.allclose(model.score_targets(Xb, Yb, metric="pearson"),
                       [corr(p, y) for p, y in zip(model.predict(Xb).T, Yb.T)])


def test_cross_validated_alphas_match_separate_fits():
    X, Y, _, _ = planted(90, 4, 6, 6, 3, noise=1.0, seed=3)
    folds = [(np.arange(45, 90), np.arange(45)), (np.arange(45), np.arange(45, 90))]
    grid = [0.1, 10.0, 1000.0]
    model = FactorizedReadout(alpha_spatial=2.0, alpha_feature=0.5, alphas=grid, cv=folds).fit(X, Y)
    assert model.cv_scores_.shape == (3, 3)
    for a, mult in enumerate(grid):
        scores = []
        for train, test in folds:
            single = FactorizedReadout(alpha_spatial=2.0 * mult, alpha_feature=0.5 * mult).fit(X[train], Y[train])
            scores.append(single.score_targets(X[test], Y[test]))
        assert np.allclose(model.cv_scores_[a], np.mean(scores, axis=0), atol=1e-6)
    best = np.asarray(grid)[model.cv_scores_.argmax(axis=0)]
    assert np.allclose(model.alpha_spatial_, 2.0 * best) and np.allclose(model.alpha_feature_, 0.5 * best)


def test_rank_two_truth_needs_rank_two():
    X, Y, _, _ = planted(600, 6, 8, 8, 4, noise=0.1, seed=4, rank=2)
    Xa, Ya, Xb, Yb = X[:400], Y[:400], X[400:], Y[400:]
    one = FactorizedReadout(rank=1).fit(Xa, Ya)
    two = FactorizedReadout(rank=2, n_iter=50).fit(Xa, Ya)
    assert two.spatial_.shape == (4, 2, 8, 8) and two.feature_.shape == (4, 2, 6)
    assert two.score(Xb, Yb) > 0.95 > one.score(Xb, Yb)


def test_recording_input_and_chunking_agree():
    from neurotk.io import from_arrays

    X, Y, _, _ = planted(80, 3, 4, 5, 6, noise=0.5, seed=5)
    ref = FactorizedReadout().fit(X, Y)
    rec = from_arrays({"conv": X})["conv"]
    shuffled = rec.select(units=np.random.default_rng(0).permutation(rec.n_units))
    brain = Recording(Y, samples=rec.samples)
    for model in (FactorizedReadout().fit(shuffled, brain), FactorizedReadout(max_memory=20_000).fit(X, Y)):
        assert np.allclose(model.predict(X), ref.predict(X), atol=1e-5)
    # another start reaches the same optimum once both are run to convergence
    tight = {"tol": 1e-10, "n_iter": 500}
    assert np.allclose(FactorizedReadout(init="pooled", **tight).fit(X, Y).predict(X),
                       FactorizedReadout(**tight).fit(X, Y).predict(X), atol=1e-4)
    assert np.allclose(FactorizedReadout().fit(rec, Y).predict(rec), ref.predict(X))


def test_bad_input():
    X, Y, _, _ = planted(30, 2, 3, 3, 2, noise=0.5, seed=6)
    with pytest.raises(ShapeMismatchError, match=r"\(n_samples, channels, height, width\)"):
        FactorizedReadout().fit(X.reshape(30, -1), Y)
    with pytest.raises(ShapeMismatchError, match="X has 30 samples but Y has 29"):
        FactorizedReadout().fit(X, Y[:29])
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(NonFiniteDataError):
        FactorizedReadout().fit(bad, Y)
    with pytest.raises(ArgumentError, match="alpha_spatial"):
        FactorizedReadout(alpha_spatial=0).fit(X, Y)
    with pytest.raises(ArgumentError, match="alphas"):
        FactorizedReadout(alphas=[1.0, -1.0]).fit(X, Y)
    with pytest.raises(ArgumentError, match="init"):
        FactorizedReadout(init="random").fit(X, Y)
    with pytest.raises(ArgumentError, match="rank=5"):
        FactorizedReadout(rank=5).fit(X, Y)
    with pytest.raises(ArgumentError, match="constant target"):
        FactorizedReadout().fit(X, np.c_[Y, np.ones(30)])
    with pytest.raises(ArgumentError, match="not fitted"):
        FactorizedReadout().predict(X)
    with pytest.raises(DataFormatError, match="channel"):
        FactorizedReadout().fit(Recording(X.reshape(30, -1)), Y)
    incomplete = Recording(X.reshape(30, -1)[:, :17], units={"channel": 0, "y": np.arange(17) // 3, "x": np.arange(17) % 3})
    with pytest.raises(DataFormatError, match="complete grid"):
        FactorizedReadout().fit(incomplete, Y)
    a = Recording(X.reshape(30, -1), samples={"stimulus": np.arange(30)},
                  units={"channel": np.repeat([0, 1], 9), "y": np.tile(np.repeat([0, 1, 2], 3), 2), "x": np.tile([0, 1, 2], 6)})
    b = Recording(Y, samples={"stimulus": np.arange(30)[::-1]})
    with pytest.raises(AlignmentError, match="different samples"):
        FactorizedReadout().fit(a, b)
    model = FactorizedReadout().fit(X, Y)
    with pytest.raises(ShapeMismatchError, match="as in fit"):
        model.predict(X[:, :1])
    with pytest.raises(ArgumentError, match="metric"):
        model.score_targets(X, Y, metric="auc")


def test_estimator_contract_and_settings():
    from sklearn.base import clone

    from neurotk.errors import NotFittedError

    model = FactorizedReadout(rank=2, tol=0.0)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ArgumentError, match="'bogus' is not a parameter of FactorizedReadout"):
        model.set_params(bogus=1)
    with pytest.raises(NotFittedError, match="this FactorizedReadout is not fitted yet; call fit"):
        model.coef_
    X, Y, _, _ = planted(30, 2, 3, 3, 2, noise=0.5, seed=7)
    with pytest.raises(ArgumentError, match="tol=-1"):
        FactorizedReadout(tol=-1).fit(X, Y)
    fitted = FactorizedReadout().fit(X, Y)
    public = {k for k in vars(fitted) if not k.startswith("_")}
    assert public - set(fitted.get_params()) == {k for k in public if k.endswith("_")}
