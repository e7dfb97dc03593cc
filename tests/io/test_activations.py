"""Network activations -> Recordings: array files (no unpickling), sklearn MLPs, the bundled network."""

import numpy as np
import pytest

from neurotk import DataFormatError, ShapeMismatchError, ArgumentError
from neurotk.io.activations import activations, from_arrays


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
