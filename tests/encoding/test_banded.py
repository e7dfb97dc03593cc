"""BandedRidgeCV against ridge on scaled spaces, the closed form and planted relevant spaces."""

import numpy as np
import pytest

from neurotk.encoding import BandedRidgeCV, RidgeCV
import pandas as pd

from neurotk import Recording
from neurotk.errors import ArgumentError, NotFittedError, ShapeMismatchError


def test_banded_with_fixed_gamma_equals_ridge_on_scaled_spaces():
    rng = np.random.default_rng(4)
    A, B = rng.normal(size=(90, 5)), rng.normal(size=(90, 8))
    Y = A @ rng.normal(size=(5, 4)) + B @ rng.normal(size=(8, 4)) * 0.3 + rng.normal(size=(90, 4))
    alphas = np.logspace(-2, 3, 6)
    gamma = np.array([0.8, 0.2])
    banded = BandedRidgeCV(alphas=alphas, gammas=[gamma]).fit([A, B], Y)
    scaled = np.hstack([A * np.sqrt(gamma[0]), B * np.sqrt(gamma[1])])
    ridge = RidgeCV(alphas=alphas).fit(scaled, Y)
    np.testing.assert_array_equal(banded.alpha_[0], ridge.alpha_ / gamma[0])
    np.testing.assert_array_equal(banded.alpha_[1], ridge.alpha_ / gamma[1])
    # closed form: ridge with a per-feature penalty alpha_k on space k
    for t in range(4):
        pen = np.r_[np.full(5, banded.alpha_[0, t]), np.full(8, banded.alpha_[1, t])]
        Z = np.hstack([A, B]) - np.hstack([A, B]).mean(0)
        w = np.linalg.solve(Z.T @ Z + np.diag(pen), Z.T @ (Y[:, t] - Y[:, t].mean()))
        np.testing.assert_allclose(banded.coef_[t], w, atol=1e-8)


def test_banded_finds_the_relevant_space_and_split_sums_to_r2():
    rng = np.random.default_rng(6)
    A, B = rng.normal(size=(200, 6)), rng.normal(size=(200, 40))
    wa, wb = rng.normal(size=(6, 10)), rng.normal(size=(40, 10))
    mix = np.r_[np.ones(5), np.zeros(5)]  # targets 0-4 read A only, 5-9 read both
    Y = A @ wa + (B @ wb) * (1 - mix) * 0.5 + rng.normal(size=(200, 10))
    model = BandedRidgeCV(n_iter=10, random_state=0).fit({"a": A, "b": B}, Y)
    assert model.space_names_ == ["a", "b"]
    # B is pure noise for targets 0-4: it is penalised far more than A
    assert (model.alpha_[1, :5] > 10 * model.alpha_[0, :5]).all()
    split = model.score_split({"a": A, "b": B}, Y)
    np.testing.assert_allclose(split.sum(0), model.score_targets({"a": A, "b": B}, Y), atol=1e-10)
    assert (split[1, 5:] > split[1, :5]).all()
    # the split on held-out data still sums to the held-out R^2
    A2, B2 = rng.normal(size=(50, 6)), rng.normal(size=(50, 40))
    Y2 = A2 @ wa + (B2 @ wb) * (1 - mix) * 0.5 + rng.normal(size=(50, 10))
    np.testing.assert_allclose(model.score_split([A2, B2], Y2).sum(0),
                               model.score_targets([A2, B2], Y2), atol=1e-10)


def test_banded_bad_input():
    A = np.random.default_rng(0).normal(size=(30, 3))
    Y = A @ np.ones((3, 2)) + np.random.default_rng(1).normal(size=(30, 2))
    with pytest.raises(ShapeMismatchError, match="sample counts"):
        BandedRidgeCV().fit([A, A[:20]], Y)
    with pytest.raises(ArgumentError, match="list or dict"):
        BandedRidgeCV().fit(A, Y)
    with pytest.raises(ArgumentError, match="gammas"):
        BandedRidgeCV(gammas=[[1.0, -1.0]]).fit([A, A], Y)


def test_banded_table_recordings_and_fitted_state():
    rng = np.random.default_rng(2)
    A, B = rng.normal(size=(60, 4)), rng.normal(size=(60, 6))
    Y = A @ rng.normal(size=(4, 3)) + rng.normal(size=(60, 3))
    samples = pd.DataFrame({"stimulus": np.arange(60)})
    spaces = [Recording(A, samples=samples, meta={"layer": "conv1"}), Recording(B, samples=samples, meta={"layer": "fc1"})]
    brain = Recording(Y, samples=samples, units={"unit_id": ["x", "y", "z"]})
    with pytest.raises(NotFittedError, match="this BandedRidgeCV is not fitted yet"):
        BandedRidgeCV().predict_split(spaces)
    model = BandedRidgeCV(alphas=np.logspace(-1, 3, 5), n_iter=3, random_state=0).fit(spaces, brain)
    assert model.space_names_ == ["conv1", "fc1"]
    frame = model.to_frame()
    assert list(frame.columns) == ["target", "alpha_conv1", "alpha_fc1", "cv_r2"]
    assert frame["target"].tolist() == ["x", "y", "z"]
    np.testing.assert_allclose(model.predict_split(spaces).sum(axis=0) + model.intercept_, model.predict(spaces))
    with pytest.raises(ShapeMismatchError, match="as in fit"):
        model.predict([A, B[:, :3]])
    with pytest.raises(ArgumentError, match="solver='qr'"):
        BandedRidgeCV(solver="qr").fit(spaces, brain)
