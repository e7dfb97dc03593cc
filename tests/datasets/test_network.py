"""Tests of the bundled numpy digits network (neurotk.datasets.network)."""

import numpy as np
import pytest

import neurotk
from neurotk.datasets import DigitsNetwork, digits_network
from neurotk.datasets import network as N
from neurotk.datasets.digits import digits_split


@pytest.fixture(scope="module")
def net():
    return digits_network(0)


@pytest.fixture(scope="module")
def data():
    return digits_split()


def test_accuracy_on_held_out_digits(net, data):
    images, labels, _, test = data
    assert net.score(images[test], labels[test]) > 0.9
    assert net.test_score_ > 0.9
    # (n, 64) input is accepted and gives the same predictions
    assert np.array_equal(net.predict(images[test].reshape(-1, 64)), net.predict(images[test]))
    proba = net.predict_proba(images[test][:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_layers_and_forward_shapes(net, data):
    images = data[0][:7]
    assert net.layers == ["conv1", "fc1", "fc2", "logits"]
    out = net.forward(images)
    assert list(out) == net.layers
    assert out["conv1"].shape == (7, net.n_channels, 8, 8)
    assert out["fc1"].shape == (7, net.hidden[0]) and out["fc2"].shape == (7, net.hidden[1])
    assert out["logits"].shape == (7, 10)
    assert (out["conv1"] >= 0).all() and (out["fc1"] >= 0).all()


def test_conv1_matches_direct_convolution(net, data):
    """conv1 equals an independent 2-D cross-correlation (scipy) + bias + ReLU."""
    from scipy.signal import correlate2d

    images = data[0][:3]
    out = net.forward(images)["conv1"]
    w = net.params_["W1"].reshape(3, 3, -1)
    b = net.params_["b1"]
    for i in range(3):
        for c in range(w.shape[2]):
            ref = correlate2d(images[i] / 16.0, w[:, :, c], mode="same") + b[c]
            np.testing.assert_allclose(out[i, c], np.maximum(ref, 0), atol=1e-10)


def test_activations_are_recordings(net, data):
    images = data[0][:6]
    ids = np.arange(100, 106)
    recs = net.activations(images, stimulus_ids=ids)
    assert list(recs) == net.layers
    conv = recs["conv1"]
    assert isinstance(conv, neurotk.Recording)
    assert conv.shape == (6, net.n_channels * 64)
    assert conv.samples["stimulus"].tolist() == ids.tolist()
    units = conv.units
    assert set(units["source"]) == {"model"} and set(units["layer"]) == {"conv1"}
    assert {"channel", "y", "x"} <= set(units.columns)
    # the flattened unit (channel, y, x) holds forward()[conv1][:, channel, y, x]
    fwd = net.forward(images)["conv1"]
    k = 77
    c, y, x = units.loc[k, ["channel", "y", "x"]]
    np.testing.assert_array_equal(conv.data[:, k], fwd[:, c, y, x])
    all_ids = np.concatenate([r.unit_ids for r in recs.values()])
    assert len(np.unique(all_ids)) == len(all_ids)  # unique across layers
    assert list(net.activations(images, layers="fc2")) == ["fc2"]


def test_same_seed_same_network_and_cache():
    a = digits_network(0)
    assert digits_network(0) is a  # cached in-process
    # equality with a fresh training: tests/datasets/test_network_weights.py


def _random_params(rng, c=3, hidden=(6, 5)):
    params = N._init_params(c, hidden, rng)
    return {k: v + 0.05 * rng.standard_normal(v.shape) for k, v in params.items()}


def test_parameter_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    params = _random_params(rng)
    images, labels, _, _ = digits_split()
    x, y = images[:5] / 16.0, labels[:5]
    alpha = 0.01
    _, grads = N._loss_and_grads(params, x, y, alpha)
    eps = 1e-6
    for key, value in params.items():
        flat_idx = rng.choice(value.size, size=min(6, value.size), replace=False)
        for j in flat_idx:
            idx = np.unravel_index(j, value.shape)
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric = (N._loss_and_grads(plus, x, y, alpha)[0] - N._loss_and_grads(minus, x, y, alpha)[0]) / (2 * eps)
            assert grads[key][idx] == pytest.approx(numeric, rel=1e-4, abs=1e-7), (key, idx)


@pytest.mark.parametrize("layer", ["conv1", "fc1", "fc2", "logits"])
def test_input_gradient_matches_finite_differences(net, data, layer):
    rng = np.random.default_rng(2)
    # jitter the pixels: blank regions give exact ties in the 2 x 2 max-pool (a kink)
    images = data[0][10:13] + rng.uniform(0.0, 1.0, size=(3, 8, 8))
    shape = net.forward(images[:1])[layer].shape[1:]
    weights = rng.standard_normal((3, *shape))
    grad = net.input_gradient(images, layer, weights)
    assert grad.shape == images.shape

    def objective(imgs):
        return float((weights * net.forward(imgs)[layer]).sum())

    eps = 1e-4
    for _ in range(8):
        i, r, c = rng.integers(3), rng.integers(1, 7), rng.integers(1, 7)
        plus, minus = images.copy(), images.copy()
        plus[i, r, c] += eps
        minus[i, r, c] -= eps
        numeric = (objective(plus) - objective(minus)) / (2 * eps)
        assert grad[i, r, c] == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_input_gradient_weight_forms_agree(net, data):
    images = data[0][:2]
    w = np.zeros(10)
    w[4] = 1.0
    g1 = net.input_gradient(images, "logits", w)
    g2 = net.input_gradient(images, "logits", np.tile(w, (2, 1)))
    np.testing.assert_allclose(g1, g2)
    flat = net.input_gradient(images.reshape(2, 64), "logits", w)
    assert flat.shape == (2, 64)
    np.testing.assert_allclose(flat.reshape(2, 8, 8), g1)


def test_bad_arguments(net, data):
    images = data[0][:2]
    with pytest.raises(neurotk.ShapeMismatchError, match="images"):
        net.forward(np.zeros((2, 7, 7)))
    with pytest.raises(neurotk.ShapeMismatchError):
        net.forward(np.zeros((8, 8)))
    with pytest.raises(neurotk.ArgumentError, match="layer"):
        net.activations(images, layers=["conv9"])
    with pytest.raises(neurotk.ShapeMismatchError, match="weights"):
        net.input_gradient(images, "fc1", np.ones(3))
    with pytest.raises(neurotk.ShapeMismatchError, match="stimulus_ids"):
        net.activations(images, stimulus_ids=[1, 2, 3])
    with pytest.raises(neurotk.ArgumentError, match="random_state"):
        digits_network(-1)
    with pytest.raises(neurotk.NeurotkError):
        DigitsNetwork().predict(images)
    with pytest.warns(neurotk.NeurotkWarning, match="0..16"):
        net.predict(images / 16.0)


def test_scikit_learn_estimator_contract(net):
    from sklearn.base import clone

    est = DigitsNetwork(n_channels=4, hidden=(16, 8), n_epochs=3)
    params = est.get_params()
    assert params == {"n_channels": 4, "hidden": (16, 8), "n_epochs": 3, "batch_size": 128,
                      "learning_rate": 5e-3, "alpha": 1e-3, "random_state": 0}
    copy = clone(est)
    assert copy is not est and copy.get_params() == params
    assert est.set_params(n_epochs=5) is est and est.n_epochs == 5
    with pytest.raises(neurotk.ArgumentError, match="'bogus' is not a parameter of DigitsNetwork"):
        est.set_params(bogus=1)
    # a clone of a trained network is untrained: learned state ends in "_" and is not copied
    assert set(vars(net)) - set(params) == {"params_", "loss_curve_", "test_score_", "weights_from_",
                                            "training_version_"}
    assert not hasattr(clone(net), "params_")
    # layers is not a parameter, and each access gives a fresh list
    layers = net.layers
    layers.append("extra")
    assert net.layers == ["conv1", "fc1", "fc2", "logits"]


def test_untrained_network_says_to_train_it(data):
    images = data[0][:2]
    for call in (lambda net: net.forward(images), lambda net: net.input_gradient(images, "fc1", np.ones(128))):
        with pytest.raises(neurotk.NotFittedError, match=r"DigitsNetwork is not fitted yet; call fit\(\) or use "
                                                         r"digits_network\(\)"):
            call(DigitsNetwork())


def test_hyper_parameters_are_checked_in_fit(data):
    images, labels = data[0][:20], data[1][:20]
    with pytest.raises(neurotk.ArgumentError, match="n_channels"):
        DigitsNetwork(n_channels=0).fit(images, labels)
    with pytest.raises(neurotk.ArgumentError, match="batch_size"):
        DigitsNetwork(batch_size=2.5).fit(images, labels)
    with pytest.raises(neurotk.ArgumentError, match="hidden"):
        DigitsNetwork(hidden=(3,)).fit(images, labels)
    with pytest.raises(neurotk.ArgumentError, match="complex"):
        digits_network(0).forward(images + 1j)
    with pytest.raises(neurotk.NonFiniteDataError, match="weights"):
        digits_network(0).input_gradient(images[:2], "logits", np.full(10, np.nan))
