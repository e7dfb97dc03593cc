"""Tests for neurotk.rsa.comparison: agreement with rsatoolbox and scipy, ties, NaNs, errors."""

import importlib
import itertools

import numpy as np
import pytest
import scipy.stats

from neurotk.errors import AlignmentError, ArgumentError, NeurotkError, NonFiniteDataError, ShapeMismatchError
from neurotk.rsa import RDM, compare

cmp = importlib.import_module("neurotk.rsa.comparison")
compare_vectors = cmp.compare_vectors

# neurotk name -> rsatoolbox name (rsatoolbox's "kendall" is tau-b; ours is tau-a)
RSATOOLBOX_NAMES = {
    "pearson": "corr",
    "spearman": "spearman",
    "kendall": "tau-a",
    "tau-b": "kendall",
    "rho-a": "rho-a",
    "cosine": "cosine",
    "corr_cov": "corr_cov",
    "cosine_cov": "cosine_cov",
}


def _vectors(rng, n_rdms, n_conditions, integer=False):
    n_pairs = n_conditions * (n_conditions - 1) // 2
    if integer:
        return rng.integers(0, 4, size=(n_rdms, n_pairs)).astype(float)
    return rng.random((n_rdms, n_pairs))


@pytest.mark.parametrize("integer", [False, True], ids=["continuous", "tied"])
@pytest.mark.parametrize("method", sorted(RSATOOLBOX_NAMES))
def test_agrees_with_rsatoolbox(method, integer):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(1)
    a, b = _vectors(rng, 3, 11, integer), _vectors(rng, 4, 11, integer)
    ours = compare(RDM(a), RDM(b), method=method)
    theirs = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(a), rsatoolbox.rdm.RDMs(b), method=RSATOOLBOX_NAMES[method]
    )
    assert ours.shape == (3, 4)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", sorted(RSATOOLBOX_NAMES))
def test_nan_pairs_agree_with_rsatoolbox(method):
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(2)
    a, b = _vectors(rng, 2, 9), _vectors(rng, 3, 9)
    a[:, [1, 5, 20]] = np.nan
    b[:, [1, 5, 20]] = np.nan
    ours = compare_vectors(a, b, method)
    theirs = rsatoolbox.rdm.compare(
        rsatoolbox.rdm.RDMs(a), rsatoolbox.rdm.RDMs(b), method=RSATOOLBOX_NAMES[method]
    )
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10)


@pytest.mark.parametrize("integer", [False, True])
def test_agrees_with_scipy(integer):
    rng = np.random.default_rng(3)
    a, b = _vectors(rng, 1, 10, integer)[0], _vectors(rng, 1, 10, integer)[0]
    assert compare_vectors(a, b, "pearson")[0, 0] == pytest.approx(scipy.stats.pearsonr(a, b)[0], abs=1e-12)
    assert compare_vectors(a, b, "spearman")[0, 0] == pytest.approx(scipy.stats.spearmanr(a, b)[0], abs=1e-12)
    tau_b = scipy.stats.kendalltau(a, b, variant="b")[0]
    assert compare_vectors(a, b, "tau-b")[0, 0] == pytest.approx(tau_b, abs=1e-12)


def _tau_a_brute_force(x, y):
    total = 0
    pairs = list(itertools.combinations(range(len(x)), 2))
    for i, j in pairs:
        total += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return total / len(pairs)


def test_tau_a_brute_force_and_differs_from_tau_b_with_ties():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 3, size=15).astype(float)  # 6 conditions, many ties
    b = rng.integers(0, 3, size=15).astype(float)
    tau_a = compare_vectors(a, b, "kendall")[0, 0]
    assert tau_a == pytest.approx(_tau_a_brute_force(a, b), abs=1e-12)
    assert compare_vectors(a, b, "tau-a")[0, 0] == tau_a
    tau_b = compare_vectors(a, b, "tau-b")[0, 0]
    assert abs(tau_a - tau_b) > 1e-3
    # without ties the two agree
    c, d = rng.random(15), rng.random(15)
    assert compare_vectors(c, d, "kendall")[0, 0] == pytest.approx(compare_vectors(c, d, "tau-b")[0, 0])
    assert compare_vectors(c, d, "kendall")[0, 0] == pytest.approx(_tau_a_brute_force(c, d))


def test_tau_a_long_vectors_many_combinations():
    # exercises padding, several merge levels and chunking of combinations
    rng = np.random.default_rng(5)
    a = rng.integers(0, 20, size=(3, 300)).astype(float)
    b = rng.integers(0, 20, size=(4, 300)).astype(float)
    got = compare_vectors(a, b, "tau-b")
    want = np.array([[scipy.stats.kendalltau(x, y)[0] for y in b] for x in a])
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_whitened_equals_explicit_covariance_solve():
    # a^T V^{-1} b with V = (C C^T) o (C C^T), also on a subset of pairs
    n = 7
    i, j = np.triu_indices(n, 1)
    contrast = np.zeros((len(i), n))
    contrast[np.arange(len(i)), i] = 1
    contrast[np.arange(len(i)), j] = -1
    xi = contrast @ contrast.T
    v = xi * xi
    rng = np.random.default_rng(6)
    a, b = rng.random(len(i)), rng.random(len(i))

    def whitened_cosine(a, b, v):
        ab = a @ np.linalg.solve(v, b)
        return ab / np.sqrt(a @ np.linalg.solve(v, a) * (b @ np.linalg.solve(v, b)))

    assert compare_vectors(a, b, "cosine_cov")[0, 0] == pytest.approx(whitened_cosine(a, b, v), abs=1e-12)
    keep = np.ones(len(i), bool)
    keep[[0, 4, 9]] = False
    a_nan = np.where(keep, a, np.nan)
    want = whitened_cosine(a[keep], b[keep], v[np.ix_(keep, keep)])
    assert compare_vectors(a_nan, b, "whitened_cosine")[0, 0] == pytest.approx(want, abs=1e-12)
    ac, bc = a[keep] - a[keep].mean(), b[keep] - b[keep].mean()
    want = whitened_cosine(ac, bc, v[np.ix_(keep, keep)])
    assert compare_vectors(a_nan, b, "whitened_pearson")[0, 0] == pytest.approx(want, abs=1e-12)


@pytest.mark.parametrize("method", sorted(RSATOOLBOX_NAMES))
def test_nan_matches_non_nan_subset(method):
    rng = np.random.default_rng(7)
    a, b = _vectors(rng, 2, 8, integer=True), _vectors(rng, 3, 8, integer=True)
    a[0, [2, 3]] = np.nan  # rows with different missing pairs
    b[1, [10]] = np.nan
    got = compare_vectors(a, b, method)
    for r in range(2):
        for c in range(3):
            keep = ~(np.isnan(a[r]) | np.isnan(b[c]))
            if method in ("corr_cov", "cosine_cov"):
                # the whitened methods need to know which pairs remain: compare with NaN
                # placed identically on both sides
                want = compare_vectors(np.where(keep, a[r], np.nan), np.where(keep, b[c], np.nan), method)[0, 0]
            else:
                want = compare_vectors(a[r, keep], b[c, keep], method)[0, 0]
            assert got[r, c] == pytest.approx(want, abs=1e-12)


def test_many_vs_many_shapes_and_float():
    rng = np.random.default_rng(8)
    single = RDM(rng.random(10))
    stack = RDM(rng.random((3, 10)))
    assert isinstance(compare(single, single), float)
    assert compare(single, stack).shape == (1, 3)
    assert compare(stack, single).shape == (3, 1)
    assert compare(stack, stack, method="pearson").shape == (3, 3)
    assert compare(single, single, method="pearson") == pytest.approx(1.0)
    # plain arrays are accepted too (condensed vectors or square matrices)
    assert compare(single.vector, single.matrix) == pytest.approx(1.0)


def test_reordered_conditions_are_aligned():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(5, 3))
    m = np.linalg.norm(x[:, None] - x[None], axis=-1)
    labels = np.array(list("abcde"))
    a = RDM.from_matrix(m, conditions=labels)
    order = np.array([3, 0, 4, 1, 2])
    b = RDM.from_matrix(m[np.ix_(order, order)], conditions=labels[order])
    assert not np.allclose(a.vector, b.vector)
    assert compare(a, b, method="pearson") == pytest.approx(1.0)


def test_mismatched_conditions_raise():
    a = RDM(np.arange(6.0), conditions=list("abcd"))
    b = RDM(np.arange(6.0), conditions=list("abcx"))
    with pytest.raises(AlignmentError, match=r"'d'.*'x'"):
        compare(a, b)
    with pytest.raises(NeurotkError):
        compare(a, RDM(np.arange(10.0), conditions=list("abcde")))


def test_bad_input_raises():
    a = RDM(np.arange(6.0) + 1)
    with pytest.raises(ArgumentError, match="method='footrule'"):
        compare(a, a, method="footrule")
    with pytest.raises(ArgumentError, match="unknown options"):
        compare_vectors(a.vector, a.vector, "pearson", sigma_k=1)
    with pytest.raises(ShapeMismatchError, match="at least 3"):
        compare(RDM([1.0]), RDM([2.0]))
    with pytest.raises(ShapeMismatchError, match="pairs"):
        compare_vectors(np.ones(6), np.ones(10))
    with pytest.raises(NonFiniteDataError):
        compare_vectors(np.r_[np.inf, np.ones(5)], np.ones(6))


def test_constant_rdm_gives_nan_for_correlation_but_tau_a_zero():
    a = np.ones(6)
    b = np.arange(6.0)
    assert np.isnan(compare_vectors(a, b, "pearson")[0, 0])
    assert np.isnan(compare_vectors(a, b, "spearman")[0, 0])
    assert compare_vectors(a, b, "kendall")[0, 0] == 0.0
    assert compare_vectors(a, b, "rho-a")[0, 0] == 0.0


def test_canonical_method_names_and_aliases():
    assert cmp.canonical_method(" Tau-A ") == "kendall"
    assert cmp.canonical_method("whitened_cosine") == "cosine_cov"
    assert {cmp.canonical_method(a) for v in cmp.METHODS.values() for a in v} == set(cmp.METHODS)
    with pytest.raises(ArgumentError, match="method='footrule' is not a known RDM comparison"):
        cmp.canonical_method("footrule")


def test_whiten_vectors_gives_the_whitened_inner_products():
    n = 6
    i, j = np.triu_indices(n, 1)
    contrast = np.zeros((len(i), n))
    contrast[np.arange(len(i)), i] = 1
    contrast[np.arange(len(i)), j] = -1
    v = (contrast @ contrast.T) ** 2
    rng = np.random.default_rng(11)
    a, b = rng.random((2, len(i))), rng.random((3, len(i)))
    got = cmp.whiten_vectors(a, n) @ cmp.whiten_vectors(b, n).T
    np.testing.assert_allclose(got, a @ np.linalg.solve(v, b.T), atol=1e-12)
    keep = np.ones(len(i), bool)
    keep[[1, 7]] = False
    sub = cmp.whiten_vectors(a[:, keep], n, keep) @ cmp.whiten_vectors(b[:, keep], n, keep).T
    np.testing.assert_allclose(sub, a[:, keep] @ np.linalg.solve(v[np.ix_(keep, keep)], b[:, keep].T), atol=1e-12)


def test_compare_vectors_refuses_text():
    with pytest.raises(ArgumentError, match="a could not be read as numbers"):
        compare_vectors([["x", "y", "z"]], np.ones(3))
