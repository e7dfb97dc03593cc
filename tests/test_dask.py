"""Scale-out on a real Dask cluster: the same calls, unchanged, give identical results.

A ``LocalCluster`` of 2 worker processes runs neurotk's joblib loops inside
``joblib.parallel_config(backend="dask")``; every result must equal the serial run with the
same ``random_state`` bit for bit, and the arrays shared by all tasks are scattered to the
cluster once, not once per task. Dask workers run BLAS single-threaded, and a BLAS product
can round differently with another number of threads, so both runs keep this process's
BLAS single-threaded too (``threadpool_limits(1)``): the comparison is then of the
scheduler alone.
"""

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
from joblib import parallel_config  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from neurotk import rsa  # noqa: E402
from neurotk.connectome import ntf, rank_ensemble  # noqa: E402
from neurotk.encoding import BandedRidgeCV, RidgeCV  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture()
def scatter_calls(client, monkeypatch):
    """Count what joblib's Dask backend scatters."""
    calls = []
    original = client.scatter

    def counting(data, *args, **kwargs):
        calls.append(getattr(data, "nbytes", 0))
        return original(data, *args, **kwargs)

    monkeypatch.setattr(client, "scatter", counting)
    return calls


def _data(n=120, p=30, t=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = X @ rng.normal(size=(p, t)) * np.linspace(0.05, 1, t) + rng.normal(size=(n, t))
    return X, Y


def test_ridge_target_chunks_on_dask(client, scatter_calls):
    X, Y = _data()
    alphas = np.logspace(-2, 4, 7)
    budget = 60_000  # a few targets per chunk: many tasks
    with threadpool_limits(1):
        serial = RidgeCV(alphas=alphas, cv=4, max_memory=budget).fit(X, Y)
    with threadpool_limits(1), parallel_config(backend="dask"):
        dask = RidgeCV(alphas=alphas, cv=4, max_memory=budget, n_jobs=-1).fit(X, Y)
    # Same alphas; scores and weights to the last bit or two. (Arrays that a Dask worker
    # deserialises can sit at another memory alignment, which changes how numpy's SIMD
    # loops round; loky, which memory-maps them, reproduces the serial run exactly.)
    np.testing.assert_array_equal(dask.alpha_, serial.alpha_)
    np.testing.assert_allclose(dask.cv_scores_, serial.cv_scores_, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dask.coef_, serial.coef_, rtol=1e-12, atol=1e-15)
    with threadpool_limits(1), parallel_config(backend="loky"):
        loky = RidgeCV(alphas=alphas, cv=4, max_memory=budget, n_jobs=2).fit(X, Y)
    np.testing.assert_array_equal(loky.cv_scores_, serial.cv_scores_)
    np.testing.assert_array_equal(loky.coef_, serial.coef_)
    # the folds' arrays (4 folds x 5 arrays) and the refit's decomposition (3 arrays) are
    # shared by every chunk: scattered once each, plus one Y slice per chunk
    n_chunks = Y.shape[1] // 4
    assert n_chunks > 5
    assert len(scatter_calls) <= 4 * 5 + 3 + Y.shape[1]
    assert len(scatter_calls) < n_chunks * (4 * 5 + 3)


def test_banded_ridge_on_dask(client):
    X, Y = _data(seed=1)
    spaces = {"a": X[:, :10], "b": X[:, 10:]}
    kwargs = dict(alphas=np.logspace(-1, 3, 5), n_iter=4, cv=3, max_memory=40_000, random_state=0)
    with threadpool_limits(1):
        serial = BandedRidgeCV(**kwargs).fit(spaces, Y)
    with threadpool_limits(1), parallel_config(backend="dask"):
        dask = BandedRidgeCV(n_jobs=-1, **kwargs).fit(spaces, Y)
    np.testing.assert_array_equal(dask.coef_, serial.coef_)


def test_rsa_bootstrap_and_permutations_on_dask(client):
    rng = np.random.default_rng(2)
    data = rsa.rdm(rng.normal(size=(20, 15)))
    models = rsa.stack_rdms([rsa.rdm(rng.normal(size=(20, 15))) for _ in range(3)])
    with threadpool_limits(1):
        serial = rsa.bootstrap(data, models, n_bootstrap=600, random_state=0, progress=False)
        perm = rsa.permutation_test(data, models, n_permutations=600, random_state=0)
    with threadpool_limits(1), parallel_config(backend="dask"):
        boot_dask = rsa.bootstrap(data, models, n_bootstrap=600, random_state=0, n_jobs=-1, progress=False)
        perm_dask = rsa.permutation_test(data, models, n_permutations=600, random_state=0, n_jobs=-1)
    np.testing.assert_array_equal(boot_dask.samples, serial.samples)
    np.testing.assert_array_equal(perm_dask.null, perm.null)


def test_ntf_restarts_and_rank_ensemble_on_dask(client):
    rng = np.random.default_rng(3)
    factors = [rng.random((dim, 2)) for dim in (12, 10, 4)]
    X = np.einsum("ir,jr,kr->ijk", *factors) + 0.01 * rng.random((12, 10, 4))
    with threadpool_limits(1):
        serial = ntf(X, 2, n_restarts=4, random_state=0, max_iter=100)
        ens = rank_ensemble(X, [1, 2], n_restarts=2, random_state=0, max_iter=50)
    with threadpool_limits(1), parallel_config(backend="dask"):
        dask = ntf(X, 2, n_restarts=4, random_state=0, max_iter=100, n_jobs=-1)
        ens_dask = rank_ensemble(X, [1, 2], n_restarts=2, random_state=0, max_iter=50, n_jobs=-1)
    assert dask.error == serial.error
    for a, b in zip(dask.factors, serial.factors):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ens_dask.to_frame()["error"], ens.to_frame()["error"])
