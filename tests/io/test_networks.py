"""Network activations -> Recordings: array files (no unpickling), sklearn MLPs, the bundled network."""

import numpy as np
import pytest

from neurotk import DataFormatError, ShapeMismatchError, ArgumentError
from neurotk.io import activations, from_arrays


def test_npz_layers_labels_and_spatial_units(tmp_path):
    rng = np.random.default_rng(0)
    conv = rng.normal(size=(6, 2, 3, 4))
    path = tmp_path / "acts.npz"
    np.savez(path, conv=conv, fc=rng.normal(size=(6, 5)), stimulus=np.arange(10, 16), category=list("aabbcc"))
    layers = from_arrays(path)
    assert list(layers) == ["conv", "fc"]
    rec = layers["conv"]
    assert rec.shape == (6, 24)
    units = rec.units
    assert set(units["source"]) == {"model"} and set(units["layer"]) == {"conv"}
    # unit (channel c, y, x) holds conv[:, c, y, x]
    k = np.flatnonzero((units["channel"] == 1) & (units["y"] == 2) & (units["x"] == 3))[0]
    np.testing.assert_array_equal(rec.data[:, k], conv[:, 1, 2, 3])
    assert rec.samples["stimulus"].tolist() == list(range(10, 16))
    assert rec.samples["category"].tolist() == list("aabbcc")
    assert list(from_arrays(path, layers=["fc"])) == ["fc"]


def test_npy_and_dict_sources(tmp_path):
    x = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "layer4.npy", x)
    rec = from_arrays(tmp_path / "layer4.npy", stimulus_ids=["a", "b", "c"])["layer4"]
    np.testing.assert_array_equal(rec.data, x)
    assert rec.samples["stimulus"].tolist() == ["a", "b", "c"]
    assert from_arrays({"l1": x})["l1"].unit_ids.tolist() == ["l1:0", "l1:1", "l1:2", "l1:3"]


def test_bad_files_are_refused_with_the_path(tmp_path):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="never unpickles"):
        from_arrays(obj)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(DataFormatError, match="broken.npz"):
        from_arrays(broken)
    with pytest.raises(DataFormatError, match="no such file"):
        from_arrays(tmp_path / "missing.npz")
    with pytest.raises(ShapeMismatchError, match="one id per stimulus"):
        from_arrays({"l": np.zeros((3, 2))}, stimulus_ids=[1, 2])
    with pytest.raises(ShapeMismatchError, match="n_stimuli, n_units"):
        from_arrays({"l": np.zeros(3)})
    with pytest.raises(ArgumentError, match="not found"):
        from_arrays({"l": np.zeros((3, 2))}, layers=["m"])


def test_sklearn_mlp_activations_match_predict_proba():
    from scipy.special import softmax
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16
    mlp = MLPClassifier(hidden_layer_sizes=(20, 12), max_iter=30, random_state=0).fit(X[:300], y[:300])
    acts = activations(mlp, X[300:310], stimulus_ids=np.arange(300, 310), batch_size=4)
    assert list(acts) == ["hidden1", "hidden2", "output"]
    assert acts["hidden1"].shape == (10, 20) and acts["hidden2"].shape == (10, 12)
    np.testing.assert_allclose(softmax(acts["output"].data, axis=1), mlp.predict_proba(X[300:310]), atol=1e-10)
    manual = np.maximum(X[300:310] @ mlp.coefs_[0] + mlp.intercepts_[0], 0)
    np.testing.assert_allclose(acts["hidden1"].data, manual)
    with pytest.raises(ShapeMismatchError, match="expects 64 inputs"):
        activations(mlp, np.zeros((2, 10)))


def test_bundled_network_and_unsupported_models():
    from neurotk.datasets import digits_network

    net = digits_network(0)
    images = np.zeros((3, 8, 8))
    acts = activations(net, images, layers=["fc2"])
    assert list(acts) == ["fc2"] and acts["fc2"].n_samples == 3
    with pytest.raises(ArgumentError, match="not supported"):
        activations(object(), images)


def test_spatial_pooling_against_direct_means():
    from neurotk.io import pool_spatial

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2, 5, 7))
    np.testing.assert_allclose(pool_spatial(x, "mean"), x.mean(axis=(2, 3)))
    np.testing.assert_allclose(pool_spatial(x, "max"), x.max(axis=(2, 3)))
    grid = pool_spatial(x, 2)  # rows split 0:2, 2:5; columns 0:3, 3:7
    assert grid.shape == (3, 2, 2, 2)
    np.testing.assert_allclose(grid[:, :, 1, 0], x[:, :, 2:5, 0:3].mean(axis=(2, 3)))
    np.testing.assert_allclose(grid[:, :, 0, 1], x[:, :, 0:2, 3:7].mean(axis=(2, 3)))
    with pytest.raises(ArgumentError, match="pool="):
        pool_spatial(x, "median")
    with pytest.raises(ArgumentError, match="at most 5"):
        pool_spatial(x, 6)
    layers = from_arrays({"conv": x}, pool="mean")
    assert layers["conv"].shape == (3, 2)


def test_bundled_network_pooled_conv_layer():
    from neurotk.datasets import digits_network

    net = digits_network(0)
    images = net.split[0][:4]
    pooled = activations(net, images, layers=["conv1"], pool="mean")["conv1"]
    np.testing.assert_allclose(pooled.data, net.forward(images)["conv1"].mean(axis=(2, 3)))


def test_torch_module_through_forward_hooks():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 5)
    )
    x = np.random.default_rng(0).normal(size=(10, 1, 8, 8)).astype(np.float32)
    acts = activations(model, x, layers=["0", "3"], stimulus_ids=np.arange(100, 110), batch_size=3, progress=False)
    with torch.no_grad():
        conv = model[0](torch.as_tensor(x)).numpy()
        out = model(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(acts["0"].data, conv.reshape(10, -1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(acts["3"].data, out, rtol=1e-5, atol=1e-6)
    assert acts["0"].units["channel"].max() == 2 and acts["3"].samples["stimulus"].tolist()[0] == 100
    pooled = activations(model, x, layers=["0"], pool="mean", progress=False)["0"]
    np.testing.assert_allclose(pooled.data, conv.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    assert list(activations(model, x, progress=False)) == ["0", "1", "2", "3"]  # top-level children
    assert not model[0]._forward_hooks  # hooks removed
    with pytest.raises(ArgumentError, match="not submodules"):
        activations(model, x, layers=["fc9"], progress=False)
