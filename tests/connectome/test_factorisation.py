"""NTF against planted factors, tensorly's fit error and tensortools' factor match score."""

import numpy as np
import pytest

from neurotk.connectome import factor_match_score, khatri_rao, ntf, rank_ensemble, reconstruct
from neurotk.errors import ArgumentError, NeurotkError, NonFiniteDataError, ShapeMismatchError


def planted(shape, rank, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) for n in shape]
    x = reconstruct(factors)
    e = rng.normal(size=x.shape)
    e *= noise * np.linalg.norm(x) / np.linalg.norm(e)
    return x + e, factors, e


def test_khatri_rao_and_reconstruct_match_einsum():
    rng = np.random.default_rng(0)
    f = [rng.random((n, 3)) for n in (4, 5, 6)]
    np.testing.assert_allclose(reconstruct(f), np.einsum("ir,jr,kr->ijk", *f))
    np.testing.assert_allclose(khatri_rao(f[1:]), np.einsum("jr,kr->jkr", f[1], f[2]).reshape(30, 3))


def test_recovers_planted_factors_without_noise():
    x, truth, _ = planted((30, 25, 8), 4)
    fit = ntf(x, 4, n_restarts=3, random_state=0, tol=1e-10, max_iter=2000)
    assert fit.error < 1e-3
    assert factor_match_score(fit.factors, truth) > 0.99
    assert all((f >= 0).all() for f in fit.factors)
    assert [f.shape for f in fit.factors] == [(30, 4), (25, 4), (8, 4)]


def test_reported_error_is_the_true_error():
    x, _, _ = planted((40, 30, 6), 3, noise=0.2, seed=1)
    fit = ntf(x, 3, random_state=0)
    np.testing.assert_allclose(fit.error, np.linalg.norm(x - reconstruct(fit.factors)) / np.linalg.norm(x), rtol=1e-9)


@pytest.mark.parametrize("shape,rank", [((60, 40, 10), 5), ((300, 30, 6), 8), ((20, 15, 10, 5), 3)])
def test_fit_error_matches_tensorly(shape, rank):
    tl = pytest.importorskip("tensorly")
    from tensorly.decomposition import non_negative_parafac_hals

    x, _, e = planted(shape, rank, noise=0.1, seed=2)
    ours = ntf(x, rank, n_restarts=3, random_state=0).error
    ref = min(
        np.linalg.norm(x - tl.cp_to_tensor(non_negative_parafac_hals(x, rank, init="random", random_state=s,
                                                                        n_iter_max=2000, tol=1e-9)))
        / np.linalg.norm(x)
        for s in range(3)
    )
    assert ours <= ref * 1.005
    assert ours <= 1.01 * np.linalg.norm(e) / np.linalg.norm(x)   # at the noise floor


def test_svd_init_and_parallel_restarts():
    x, truth, _ = planted((30, 20, 10), 3, noise=0.05, seed=3)
    fit = ntf(x, 3, init="svd", random_state=0)
    assert factor_match_score(fit.factors, truth) > 0.95
    par = ntf(x, 3, n_restarts=2, random_state=0, n_jobs=2)
    assert par.restart_errors.shape == (2,) and par.similarity.max() == pytest.approx(1.0)


def test_mask_imputes_missing_entries_instead_of_zeros():
    x, truth, _ = planted((30, 20, 6), 3, seed=4)
    rng = np.random.default_rng(0)
    mask = rng.random(x.shape) > 0.3
    xm = np.where(mask, x, np.nan)
    fit = ntf(xm, 3, mask=mask, n_restarts=2, random_state=0, tol=1e-10, max_iter=3000)
    model = reconstruct(fit.factors)
    # the held-out (masked) entries are predicted by the low-rank model
    assert np.linalg.norm((model - x)[~mask]) / np.linalg.norm(x[~mask]) < 0.02
    # treating them as zeros would instead fit the zeros
    zeros = ntf(np.where(mask, x, 0.0), 3, random_state=0)
    assert np.linalg.norm((reconstruct(zeros.factors) - x)[~mask]) / np.linalg.norm(x[~mask]) > 0.2


def brute_fms(a, b, weights):
    """Factor match score by trying every permutation (Acar et al. 2011 definition)."""
    import itertools

    def split(fs):
        norms = [np.linalg.norm(f, axis=0) for f in fs]
        return [f / n for f, n in zip(fs, norms)], np.prod(norms, axis=0)

    ua, la = split(a)
    ub, lb = split(b)
    best = 0.0
    for perm in itertools.permutations(range(la.size)):
        total = 0.0
        for r, p in enumerate(perm):
            s = np.prod([u[:, r] @ v[:, p] for u, v in zip(ua, ub)])
            if weights:
                s *= 1 - abs(la[r] - lb[p]) / max(la[r], lb[p])
            total += s
        best = max(best, total / la.size)
    return best


@pytest.mark.parametrize("weights", [True, False])
def test_factor_match_score_matches_brute_force(weights):
    rng = np.random.default_rng(5)
    a = [rng.random((n, 4)) for n in (8, 7, 6)]
    b = [(f + 0.3 * rng.random(f.shape))[:, [2, 0, 3, 1]] for f in a]
    assert factor_match_score(a, b, weights=weights) == pytest.approx(brute_fms(a, b, weights), abs=1e-12)
    assert factor_match_score(a, a, weights=weights) == pytest.approx(1.0)


def test_factor_match_score_is_stricter_than_tensortools():
    tt = pytest.importorskip("tensortools")
    rng = np.random.default_rng(6)
    a = [rng.random((n, 3)) for n in (8, 7, 6)]
    b = [f + 0.3 * rng.random(f.shape) for f in a]
    lenient = tt.kruskal_align(tt.KTensor([f.copy() for f in a]), tt.KTensor([f.copy() for f in b]))
    assert factor_match_score(a, b, weights=False) <= lenient + 1e-12


def test_rank_ensemble_curves():
    x, _, _ = planted((20, 15, 8), 2, noise=0.01, seed=6)
    ens = rank_ensemble(x, [1, 2, 3], n_restarts=3, random_state=0)
    s = ens.summary()
    assert s["rank"].tolist() == [1, 2, 3]
    assert s["error"].iloc[0] > s["error"].iloc[1]
    assert s["similarity"].iloc[1] > 0.99     # restarts agree at the true rank
    assert len(ens.to_frame()) == 9


@pytest.mark.parametrize("call,err", [
    (lambda x: ntf(x, 0), ArgumentError),
    (lambda x: ntf(x, 1.5), ArgumentError),
    (lambda x: ntf(x, 2, tol=-1), ArgumentError),
    (lambda x: ntf(x, 2, init="nndsvd"), ArgumentError),
    (lambda x: ntf(x[0, 0], 2), ShapeMismatchError),
    (lambda x: ntf(np.where(x > 0.9, np.nan, x), 2), NonFiniteDataError),
    (lambda x: ntf(x, 2, mask=np.ones((2, 2), bool)), ShapeMismatchError),
    (lambda x: ntf(x, 2, mask=np.zeros(x.shape, bool)), ArgumentError),
    (lambda x: rank_ensemble(x, []), ArgumentError),
])
def test_bad_input(call, err):
    x = np.random.default_rng(0).random((5, 4, 3))
    with pytest.raises(err) as info:
        call(x)
    assert isinstance(info.value, NeurotkError) and "expected" in str(info.value)


def test_n_threads_and_float32_keep_the_float64_fit():
    x, truth, _ = planted((60, 40, 10), 4, noise=0.05, seed=7)
    ref = ntf(x, 4, random_state=0)
    # more BLAS threads: the same algorithm, equal up to the last bits of BLAS's sums
    two = ntf(x, 4, random_state=0, n_threads=2)
    for a, b in zip(ref.factors, two.factors):
        np.testing.assert_allclose(b, a, rtol=1e-7, atol=1e-9 * np.abs(a).max())
    f32 = ntf(x.astype(np.float32), 4, random_state=0, dtype="float32")
    assert all(f.dtype == np.float64 for f in f32.factors)
    # the reported error is recomputed exactly (float64) from the float32 factors
    true_err = np.linalg.norm(x - reconstruct(f32.factors)) / np.linalg.norm(x)
    assert f32.error == pytest.approx(true_err, rel=1e-6)
    assert f32.error <= ref.error * (1 + 1e-4)
    assert factor_match_score(f32.factors, ref.factors) > 0.999
    assert factor_match_score(f32.factors, truth) > 0.98


def test_float32_with_mask_matches_float64():
    # 10% noise: the float32 running error (which steers the stop) is then well resolved
    x, _, _ = planted((30, 20, 6), 3, noise=0.1, seed=8)
    mask = np.random.default_rng(1).random(x.shape) > 0.25
    xm = np.where(mask, x, np.nan)
    ref = ntf(xm, 3, mask=mask, random_state=0)
    f32 = ntf(xm, 3, mask=mask, random_state=0, dtype="float32")
    model = reconstruct(f32.factors)
    true_err = np.linalg.norm((x - model)[mask]) / np.linalg.norm(x[mask])
    assert f32.error == pytest.approx(true_err, rel=1e-5)
    assert f32.error == pytest.approx(ref.error, rel=1e-3)


@pytest.mark.parametrize("kwargs,err", [
    ({"dtype": "float16"}, ArgumentError),
    ({"dtype": "int32"}, ArgumentError),
    ({"n_threads": 0}, ArgumentError),
    ({"backend": "jax"}, ArgumentError),
])
def test_bad_speed_options(kwargs, err):
    x = np.random.default_rng(0).random((5, 4, 3))
    with pytest.raises(err) as info:
        ntf(x, 2, **kwargs)
    assert "expected" in str(info.value)


def test_float32_refuses_values_beyond_its_range():
    x = np.random.default_rng(0).random((5, 4, 3))
    x[0, 0, 0] = 1e39
    with pytest.raises(NonFiniteDataError, match="float32"):
        ntf(x, 2, dtype="float32")
    assert np.isfinite(ntf(x, 2, random_state=0).error)   # float64 rescales instead
