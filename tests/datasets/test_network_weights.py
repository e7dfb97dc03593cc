"""The bundled digits network's shipped and cached weights (neurotk.datasets.network).

The reference is a fresh training (``retrain=True``): shipped and cached weights must give
the same network, so the shipped files cannot silently go stale when training changes.
"""

import json
import subprocess
import sys

import numpy as np
import pytest

from neurotk.datasets import DigitsNetwork, digits_network
from neurotk.datasets import network as N
from neurotk.datasets.digits import digits_split
from neurotk.errors import ArgumentError, DataFormatError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Every test gets an empty user cache, and the in-process cache is emptied around it."""
    monkeypatch.setenv("NEUROTK_CACHE_DIR", str(tmp_path / "cache"))
    N._trained.cache_clear()
    yield
    N._trained.cache_clear()


def _same_network(a, b, images):
    # Bit for bit on one machine; other BLAS kernels (OPENBLAS_CORETYPE=Nehalem, Haswell ...)
    # round differently, and after 20 epochs the weights differ by < 1e-14 (measured).
    for key in N._PARAM_KEYS:
        np.testing.assert_allclose(a.params_[key], b.params_[key], rtol=1e-9, atol=1e-10)
    fa, fb = a.activations(images), b.activations(images)
    assert list(fa) == list(fb)
    for layer in fa:
        np.testing.assert_allclose(fa[layer].data, fb[layer].data, rtol=1e-9, atol=1e-9)
    assert a.test_score_ == pytest.approx(b.test_score_)


@pytest.mark.parametrize("seed", [0, 3])
def test_shipped_weights_equal_a_fresh_training(seed):
    images = digits_split()[0][::40]
    shipped = digits_network(seed)
    assert shipped.weights_from_ == str(N._shipped_path(seed))
    fresh = digits_network(seed, retrain=True)
    assert fresh.weights_from_ == "training" and fresh is not shipped
    _same_network(shipped, fresh, images)
    assert shipped.loss_curve_ == pytest.approx(fresh.loss_curve_, rel=1e-9)
    assert shipped.training_version_ == N.TRAINING_VERSION


def test_every_shipped_seed_has_a_file_of_this_version():
    for seed in N.SHIPPED_SEEDS:
        net = DigitsNetwork.from_weights(N._shipped_path(seed))
        assert net.training_version_ == N.TRAINING_VERSION
        assert net.random_state == seed and net.get_params()["hidden"] == (128, 64)
        assert len(net.loss_curve_) == net.n_epochs and net.test_score_ > 0.95
        assert N._shipped_path(seed).stat().st_size < 400_000  # a few hundred kB at most


def test_a_new_process_loads_seed_0_without_training():
    code = ("import time; import neurotk.datasets.network as N; t = time.perf_counter(); "
            "n = N.digits_network(0); print(time.perf_counter() - t, n.weights_from_)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1].endswith("digits_net_seed0.npz")
    assert float(out[0]) < 0.5  # a few milliseconds; training takes seconds


def test_other_seeds_are_trained_once_then_read_from_the_cache(tmp_path):
    seed = 11
    path = N._cache_path(seed)
    assert str(path).startswith(str(tmp_path / "cache")) and f"v{N.TRAINING_VERSION}" in str(path)
    first = digits_network(seed)
    assert first.weights_from_ == "training" and path.is_file()
    N._trained.cache_clear()
    again = digits_network(seed)
    assert again.weights_from_ == str(path)
    _same_network(again, first, digits_split()[0][::60])
    # a corrupt cache file is ignored and rewritten
    path.write_bytes(b"not an npz")
    N._trained.cache_clear()
    assert digits_network(seed).weights_from_ == "training"
    assert DigitsNetwork.from_weights(path).random_state == seed
    # cache=False trains without writing; a foreign training version is ignored
    other = digits_network(12, cache=False)
    assert other.weights_from_ == "training" and not N._cache_path(12).exists()


def test_weights_of_another_training_version_are_ignored(monkeypatch):
    monkeypatch.setattr(N, "TRAINING_VERSION", N.TRAINING_VERSION + 1)
    monkeypatch.setattr(N, "_train", lambda seed: "trained")  # no need to train for real
    assert N._stored(N._shipped_path(0), 0) is None
    assert N._trained(0, False) == "trained"


def test_save_and_read_weights_round_trip_and_errors(tmp_path):
    net = digits_network(0)
    path = net.save_weights(tmp_path / "w.npz")
    back = DigitsNetwork.from_weights(path)
    _same_network(back, net, digits_split()[0][:5])
    with np.load(path, allow_pickle=False) as npz:
        arrays = dict(npz)
    assert json.loads(str(arrays["hyper_parameters"]))["random_state"] == 0
    with pytest.raises(DataFormatError, match="no such file"):
        DigitsNetwork.from_weights(tmp_path / "missing.npz")
    bad = dict(arrays, W2=arrays["W2"][:5])
    np.savez(tmp_path / "bad.npz", **bad)
    with pytest.raises(DataFormatError, match=r"W2 has shape \(5, 128\).*expected finite floats of shape \(128, 128\)"):
        DigitsNetwork.from_weights(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", **{k: v for k, v in arrays.items() if k != "b4"})
    with pytest.raises(DataFormatError, match=r"lacks the arrays \['b4'\]"):
        DigitsNetwork.from_weights(tmp_path / "short.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataFormatError, match="could not be read"):
        DigitsNetwork.from_weights(tmp_path / "junk.npz")
    with pytest.raises(ArgumentError, match="random_state is a Generator"):
        DigitsNetwork(random_state=np.random.default_rng(0), n_epochs=1).fit(*digits_split()[:2]).save_weights(
            tmp_path / "g.npz")
    with pytest.raises(ArgumentError, match="retrain='yes'"):
        digits_network(0, retrain="yes")
