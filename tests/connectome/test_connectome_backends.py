"""ntf and the affinities through the array API (torch on CPU) against the numpy results."""

import numpy as np
import pytest

from neurotk import Recording
from neurotk.connectome import (
    affinity_tensor,
    comovement_affinity,
    ntf,
    reconstruct,
    sliding_correlation,
)
from neurotk.errors import ArgumentError, NonFiniteDataError, ShapeMismatchError

torch = pytest.importorskip("torch")


def planted(shape, rank, noise=0.05, seed=0):
    rng = np.random.default_rng(seed)
    x = reconstruct([rng.random((n, rank)) for n in shape])
    return x + noise * x.std() * rng.normal(size=x.shape)


def assert_same_fit(got, ref, rtol):
    assert got.n_iter == ref.n_iter
    assert got.error == pytest.approx(ref.error, rel=rtol)
    for a, b in zip(ref.factors, got.factors):
        assert isinstance(b, np.ndarray)
        np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * np.abs(a).max())


@pytest.mark.parametrize("shape", [(30, 25, 8), (8, 40, 6), (6, 7, 8, 9)])
def test_ntf_torch_equals_numpy(shape):
    # the same start (initialised in numpy), the same steps: equal to float tolerance
    x = planted(shape, 3)
    kw = {"n_restarts": 2, "random_state": 0, "max_iter": 40}   # equal step by step, converged or not
    ref = ntf(x, 3, **kw)
    assert_same_fit(ntf(torch.from_numpy(x), 3, **kw), ref, 1e-9)
    assert_same_fit(ntf(x, 3, backend="torch", device="cpu", **kw), ref, 1e-9)


def test_ntf_torch_with_mask_and_float32():
    x = planted((30, 20, 6), 3, noise=0.1, seed=1)
    mask = np.random.default_rng(2).random(x.shape) > 0.25
    xm = np.where(mask, x, np.nan)
    ref = ntf(xm, 3, mask=mask, random_state=0, max_iter=40)
    assert_same_fit(ntf(torch.from_numpy(xm), 3, mask=torch.from_numpy(mask), random_state=0, max_iter=40), ref, 1e-9)
    ref32 = ntf(x, 3, random_state=0, dtype="float32", tol=1e-5)
    got32 = ntf(torch.from_numpy(x), 3, random_state=0, dtype="float32", tol=1e-5)
    assert got32.error == pytest.approx(ref32.error, rel=1e-4)
    true_err = np.linalg.norm(x - reconstruct(got32.factors)) / np.linalg.norm(x)
    assert got32.error == pytest.approx(true_err, rel=1e-6)


def test_ntf_return_backend_and_svd_init():
    x = planted((20, 15, 10), 2, seed=3)
    ref = ntf(x, 2, init="svd", random_state=0, max_iter=40)
    got = ntf(torch.from_numpy(x), 2, init="svd", random_state=0, max_iter=40, return_backend=True)
    assert all(isinstance(f, torch.Tensor) for f in got.factors)
    for a, b in zip(ref.factors, got.factors):
        np.testing.assert_allclose(b.numpy(), a, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad,err", [
    (lambda: ntf(torch.ones(5), 2), ShapeMismatchError),
    (lambda: ntf(torch.full((4, 3, 2), float("nan")), 2), NonFiniteDataError),
    (lambda: ntf(torch.ones(4, 3, 2), 2, mask=torch.ones(4, 3, dtype=torch.bool)), ShapeMismatchError),
    (lambda: ntf(torch.ones(4, 3, 2), 2, mask=torch.zeros(4, 3, 2, dtype=torch.bool)), ArgumentError),
    (lambda: ntf(np.ones((4, 3, 2)), 2, backend="tensorflow"), ArgumentError),
])
def test_ntf_backend_bad_input(bad, err):
    with pytest.raises(err) as info:
        bad()
    assert "expected" in str(info.value)


@pytest.mark.parametrize("chance", ["subtract", "keep"])
def test_comovement_torch_equals_numpy(chance):
    x = np.random.default_rng(3).normal(size=(120, 7)).cumsum(axis=0)
    ref = comovement_affinity(x, window=9, step=4, chance=chance, max_memory=3000)   # several chunks
    got = comovement_affinity(torch.from_numpy(x), window=9, step=4, chance=chance, max_memory=3000)
    assert isinstance(got.values, np.ndarray)
    np.testing.assert_allclose(got.values, ref.values, atol=1e-12)
    dev = comovement_affinity(x, window=9, step=4, chance=chance, backend="torch", return_backend=True)
    assert isinstance(dev.values, torch.Tensor)
    np.testing.assert_allclose(dev.values.numpy(), ref.values, atol=1e-12)


@pytest.mark.parametrize("negative", ["clip", "abs", "shift", "keep"])
def test_sliding_correlation_torch_equals_numpy(negative):
    x = np.random.default_rng(1).normal(size=(60, 6)) + np.linspace(0, 3, 60)[:, None]
    x[20:40, 2] = 1.0   # a neuron flat in one window: correlation 0 there
    ref = sliding_correlation(x, window=20, step=10, negative=negative)
    got = sliding_correlation(torch.from_numpy(x), window=20, step=10, negative=negative)
    np.testing.assert_allclose(got.values, ref.values, atol=1e-10)


def test_affinity_tensor_torch_equals_numpy_and_feeds_ntf():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(80, 5)).cumsum(axis=0)
    b = rng.normal(size=(80, 4)).cumsum(axis=0)
    recs = [Recording(a, units={"unit_id": [0, 1, 2, 3, 4]}), Recording(b, units={"unit_id": [4, 0, 1, 3]})]
    ref = affinity_tensor(recs, window=20)
    host = affinity_tensor(recs, window=20, backend="torch")
    np.testing.assert_allclose(host.values, ref.values, atol=1e-12)            # NaN where missing, too
    dev = affinity_tensor(recs, window=20, backend="torch", return_backend=True)
    assert isinstance(dev.values, torch.Tensor) and np.array_equal(dev.mask, ref.mask)
    np.testing.assert_allclose(dev.values.numpy(), ref.values, atol=1e-12)
    # arrays given as torch tensors (matched by column)
    arr = affinity_tensor([torch.from_numpy(a), torch.from_numpy(a[::-1].copy())], window=20)
    np.testing.assert_allclose(arr.values, affinity_tensor([a, a[::-1].copy()], window=20).values, atol=1e-12)
    # the device tensor goes on to ntf on the same device, with the numpy fit's result
    fit_ref = ntf(ref.values, 2, mask=ref.mask, random_state=0, max_iter=40)
    fit_dev = ntf(dev.values, 2, mask=dev.mask, random_state=0, max_iter=40)
    assert_same_fit(fit_dev, fit_ref, 1e-8)
