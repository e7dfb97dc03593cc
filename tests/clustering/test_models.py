"""Predictive models: gradients against finite differences, fits against closed forms and
planted filters, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp

from neurotk import ArgumentError, NeurotkError, NonFiniteDataError, ShapeMismatchError
from neurotk.clustering import LNModel, SharedFeatureModel, check_model
from neurotk.datasets import digits_network, simulate_cell_types


def _grid_laplacian(h, w):
    """Graph Laplacian of the 4-neighbour pixel grid, built from path graphs (reference)."""
    def path(m):
        d = np.r_[1.0, 2.0 * np.ones(m - 2), 1.0] if m > 1 else np.zeros(1)
        return sp.diags([d, -np.ones(m - 1), -np.ones(m - 1)], [0, -1, 1]).toarray()
    return np.kron(path(h), np.eye(w)) + np.kron(np.eye(h), path(w))


@pytest.mark.parametrize("nonlinearity", ["softplus", "exp", "linear"])
def test_ln_gradient_matches_finite_differences(nonlinearity, finite_difference):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 5, 6))
    y = rng.poisson(np.exp(0.3 * x[:, 2, 3] - 0.2 * x[:, 1, 1])[:, None] * [1.0, 2.0, 0.5]).astype(float)
    model = LNModel(nonlinearity=nonlinearity).fit(x, y)
    stim = 0.5 * rng.normal(size=(2, 5, 6))
    weights = rng.normal(size=(2, 3))
    analytic = model.gradient(stim, weights)
    numeric = finite_difference(lambda s: float((weights * model.predict(s)).sum()), stim.copy())
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_ln_linear_stage_is_the_penalised_least_squares_closed_form():
    rng = np.random.default_rng(1)
    h, w, n, smooth, alpha = 4, 5, 60, 1.5, 0.3
    x = rng.normal(size=(n, h, w))
    y = x.reshape(n, -1) @ rng.normal(size=(h * w, 3)) + rng.normal(size=(n, 3))
    model = LNModel(nonlinearity="linear", alphas=[alpha], smoothness=smooth).fit(x, y)
    xc = x.reshape(n, -1) - x.reshape(n, -1).mean(0)
    yc = y - y.mean(0)
    penalty = np.eye(h * w) + smooth * _grid_laplacian(h, w)
    # the penalty grid is relative to the design's scale: trace(X P^-1 X') / n_pixels
    unit = np.trace(xc @ np.linalg.solve(penalty, xc.T)) / (h * w)
    ref = np.linalg.solve(xc.T @ xc + alpha * unit * penalty, xc.T @ yc).T
    np.testing.assert_allclose(model.linear_filters_.reshape(3, -1), ref, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(model.alpha_, alpha)
    # linear LN: predictions are the least-squares line through the linear drive
    pred = model.predict(x)
    drive = xc @ ref.T
    for j in range(3):
        slope, icpt = np.polyfit(drive[:, j], y[:, j], 1)
        np.testing.assert_allclose(pred[:, j], slope * drive[:, j] + icpt, rtol=1e-6, atol=1e-8)


def test_ln_ridge_penalty_is_chosen_by_generalised_cross_validation():
    rng = np.random.default_rng(2)
    n, h, w = 50, 4, 4
    x = rng.normal(size=(n, h, w))
    coef = rng.normal(size=(16, 4)) * np.array([0.05, 0.3, 1.0, 3.0])  # signal levels differ
    y = x.reshape(n, -1) @ coef + rng.normal(size=(n, 4))
    alphas = np.logspace(-2, 3, 11)
    model = LNModel(nonlinearity="linear", alphas=alphas, smoothness=0.0).fit(x, y)
    xc = x.reshape(n, -1) - x.reshape(n, -1).mean(0)
    yc = y - y.mean(0)
    unit = (xc**2).sum() / 16
    gcv = []
    for a in alphas:  # explicit hat matrices (reference)
        hat = xc @ np.linalg.solve(xc.T @ xc + a * unit * np.eye(16), xc.T)
        resid = yc - hat @ yc
        gcv.append((resid**2).sum(0) / (n - np.trace(hat) - 1) ** 2)
    np.testing.assert_allclose(model.alpha_, alphas[np.argmin(gcv, axis=0)])
    assert len(np.unique(model.alpha_)) > 1


def test_ln_recovers_planted_filters_and_rates():
    sim = simulate_cell_types(n_neurons=30, n_types=3, image_shape=(12, 12), n_stimuli=3000,
                              stimulus_smoothness=0.0, random_state=3)
    model = LNModel().fit(sim.stimuli[:2500], sim.responses.data[:2500])
    f = model.filters_.reshape(30, -1)
    g = sim.filters.reshape(30, -1)
    cos = (f * g).sum(1) / np.linalg.norm(f, axis=1) / np.linalg.norm(g, axis=1)
    assert np.median(cos) > 0.9 and cos.min() > 0.8
    assert model.score(sim.stimuli[2500:], sim.rates[2500:]).min() > 0.9
    assert np.all(model.predict(sim.stimuli[:50]) > 0)  # softplus rates are positive


def test_ln_accepts_a_recording_and_keeps_constant_neurons_constant():
    sim = simulate_cell_types(n_neurons=8, n_types=2, image_shape=(8, 8), n_stimuli=300)
    model = LNModel().fit(sim.stimuli, sim.responses)  # a Recording
    assert model.n_neurons == 8 and model.image_shape == (8, 8)
    assert check_model(model) == (8, (8, 8))
    y = sim.responses.data.copy()
    y[:, 3] = 0.0
    model = LNModel().fit(sim.stimuli, y)
    np.testing.assert_allclose(model.predict(sim.stimuli[:20])[:, 3], 0.0, atol=1e-6)


def test_shared_feature_model_gradient_and_readout():
    net = digits_network()
    images = net.split[0][:300].astype(float)
    feats = SharedFeatureModel(net, layer="fc1").features(images)
    rng = np.random.default_rng(4)
    true = rng.normal(size=(feats.shape[1], 3)) / 10
    y = feats @ true + 1.0
    y = np.column_stack([y, np.full(len(y), 2.5)])  # one silent (constant) neuron
    model = SharedFeatureModel(net, layer="fc1", alphas=[1e-3, 1e-2, 1e-1]).fit(images, y)
    assert model.constant_.tolist() == [False, False, False, True]
    pred = model.predict(images)
    for j in range(3):
        assert np.corrcoef(pred[:, j], y[:, j])[0, 1] > 0.99
    np.testing.assert_allclose(pred[:, 3], 2.5)
    np.testing.assert_allclose(model.coef_[3], 0.0)


def test_shared_feature_model_gradient_matches_finite_differences(finite_difference):
    net = digits_network()
    images = net.split[0][:150].astype(float)
    y = net.forward(images)["fc2"][:, [0, 2, 3]]
    model = SharedFeatureModel(net, layer="conv1").fit(images, y)
    rng = np.random.default_rng(5)
    stim = images[150 - 1:150] + rng.uniform(0.1, 0.4, size=(1, 8, 8))  # away from ReLU kinks
    weights = rng.normal(size=(1, 3))
    analytic = model.gradient(stim, weights)
    numeric = finite_difference(lambda s: float((weights * model.predict(s)).sum()), stim.copy(), eps=1e-6)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6)


def test_torch_model_gradient_matches_finite_differences(finite_difference):
    torch = pytest.importorskip("torch")
    from neurotk.clustering import TorchModel

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 4), torch.nn.Softplus()).double()
    model = TorchModel(net, image_shape=(4, 5))
    assert model.n_neurons == 4
    rng = np.random.default_rng(6)
    stim, weights = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 4))
    numeric = finite_difference(lambda s: float((weights * model.predict(s)).sum()), stim.copy())
    np.testing.assert_allclose(model.gradient(stim, weights), numeric, rtol=1e-5, atol=1e-7)
    with pytest.raises(ShapeMismatchError):
        TorchModel(net, image_shape=(4, 5), n_neurons=3)


def test_bad_input_raises_clear_errors():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(40, 5, 5)), rng.poisson(2.0, size=(40, 3)).astype(float)
    with pytest.raises(ShapeMismatchError, match="39 stimuli"):
        LNModel().fit(x, y[:39])
    with pytest.raises(ShapeMismatchError, match="height, width"):
        LNModel().fit(x.reshape(40, 25), y)
    bad = x.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(NonFiniteDataError):
        LNModel().fit(bad, y)
    with pytest.raises(ArgumentError, match="nonlinearity"):
        LNModel(nonlinearity="relu").fit(x, y)
    with pytest.raises(ArgumentError, match="not fitted"):
        LNModel().predict(x)
    model = LNModel().fit(x, y)
    with pytest.raises(ShapeMismatchError, match="weights"):
        model.gradient(x[:2], np.ones((2, 4)))
    with pytest.raises(ShapeMismatchError, match=r"\(5, 5\)"):
        model.predict(np.zeros((2, 4, 4)))
    with pytest.raises(ShapeMismatchError):
        SharedFeatureModel(layer="fc1").fit(x, y[:10])


class _WrongShape:
    n_neurons, image_shape = 5, (4, 4)

    def predict(self, stimuli):
        return np.zeros((len(stimuli), 4))  # one neuron short

    def gradient(self, stimuli, weights):
        return np.zeros_like(stimuli)


def test_check_model_rejects_inconsistent_models():
    with pytest.raises(ShapeMismatchError, match="n_neurons=5"):
        check_model(_WrongShape())
    with pytest.raises(ArgumentError, match="lacks"):
        check_model(object())
    with pytest.raises(NeurotkError):
        check_model(LNModel())  # not fitted


def test_fit_sets_only_underscored_state_and_keeps_hyper_parameters():
    from sklearn.base import clone

    from neurotk import NotFittedError

    sim = simulate_cell_types(n_neurons=6, n_types=2, image_shape=(8, 8), n_stimuli=200)
    for est in (LNModel(max_iter=5), SharedFeatureModel(layer="fc1")):   # network=None: the default net
        images = sim.stimuli if isinstance(est, LNModel) else digits_network().split[0][:120]
        y = sim.responses.data if isinstance(est, LNModel) else sim.responses.data[:120]
        before, params = set(vars(est)), est.get_params()
        assert est.n_neurons is None and est.image_shape is None and est.reference_stimuli is None
        est.fit(images, y)
        added = {k for k in set(vars(est)) - before if not k.startswith("_")}
        assert added and all(k.endswith("_") for k in added), added
        assert {"n_neurons_", "image_shape_", "reference_stimuli_"} <= added
        assert est.get_params() == params                                  # fit leaves them as given
        assert est.n_neurons == est.n_neurons_ == 6 and est.image_shape == est.image_shape_ == (8, 8)
        assert est.reference_stimuli is est.reference_stimuli_
        with pytest.raises(AttributeError):
            est.n_neurons = 3                                              # read-only interface
        assert clone(est).n_neurons is None
    with pytest.raises(NotFittedError, match="this LNModel is not fitted yet; call fit"):
        LNModel().gradient(np.zeros((1, 4, 4)), np.ones((1, 2)))


def test_is_torch_module_needs_no_torch():
    from neurotk.clustering import is_torch_module

    assert not is_torch_module(LNModel()) and not is_torch_module(np.zeros(3))


def test_weights_are_checked_at_the_door():
    rng = np.random.default_rng(8)
    model = LNModel().fit(rng.normal(size=(40, 5, 5)), rng.poisson(2.0, size=(40, 3)).astype(float))
    with pytest.raises(ShapeMismatchError, match=r"weights has shape \(3,\); expected an array of shape \(1, 3\)"):
        model.gradient(np.zeros((1, 5, 5)), np.ones(3))
    with pytest.raises(NonFiniteDataError, match="weights"):
        model.gradient(np.zeros((1, 5, 5)), np.full((1, 3), np.nan))
    with pytest.raises(ArgumentError, match="could not be read as numbers"):
        model.predict([["a"]])
