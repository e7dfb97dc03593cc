"""Bootstrap, permutation tests, noise ceilings and model comparison, against rsatoolbox."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import false_discovery_control

from neurotk.errors import AlignmentError, ArgumentError, NeurotkError, ShapeMismatchError
from neurotk.rsa import RDM, bootstrap, compare_models, compare_vectors, noise_ceiling, permutation_test
from neurotk.rsa.inference import BootstrapResult, _holm
from neurotk.utils import as_rng

matplotlib.use("Agg")

RSA_NAME = {"pearson": "corr", "kendall": "tau-a"}


def rsatoolbox_rdm():
    """rsatoolbox's RDMs class and compare function; only the tests that compare with
    rsatoolbox skip without it (the others always run)."""
    rdm = pytest.importorskip("rsatoolbox.rdm")
    return rdm.RDMs, rdm.compare


def problem(n=12, n_models=3, n_subjects=1, seed=0, ties=True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    base = pdist(x)
    models = np.stack([base + s * base.std() * rng.random(base.size) for s in np.linspace(0.3, 3, n_models)])
    if ties:
        models[0] = np.round(models[0] / models[0].max() * 3)
    data = base[None] + 0.8 * base.std() * rng.random((n_subjects, base.size))
    return RDM(data), RDM(models, names=[f"m{k}" for k in range(n_models)])


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall", "cosine", "rho-a", "corr_cov"])
def test_point_estimates_equal_compare_vectors(method):
    data, models = problem(n_subjects=3)
    res = bootstrap(data, models, method=method, n_bootstrap=5, random_state=0, progress=False)
    expect = compare_vectors(data.vectors, models.vectors, method).mean(axis=0)
    np.testing.assert_array_equal(res.scores, expect)


@pytest.mark.parametrize("method", ["spearman", "pearson", "kendall", "cosine", "rho-a", "cosine_cov"])
def test_bootstrap_samples_equal_rsatoolbox_on_the_same_indices(method):
    """Each sample equals rsatoolbox's subsample_pattern + compare on the same conditions."""
    RDMs, rsa_compare = rsatoolbox_rdm()
    data, models = problem(n=10, n_subjects=2)
    n_boot = 6
    res = bootstrap(data, models, method=method, n_bootstrap=n_boot, random_state=7, progress=False)
    idx = np.sort(as_rng(7).integers(0, 10, size=(n_boot, 10)), axis=1)  # drawn up front, in order
    rsa_data, rsa_models = RDMs(data.vectors), RDMs(models.vectors)
    for b in range(n_boot):
        d = rsa_data.subsample_pattern("index", idx[b])
        m = rsa_models.subsample_pattern("index", idx[b])
        expect = np.asarray(rsa_compare(m, d, RSA_NAME.get(method, method))).mean(axis=1)
        np.testing.assert_allclose(res.samples[b], expect, atol=1e-10, rtol=0)


def test_bootstrap_se_agrees_with_rsatoolbox_within_monte_carlo_error():
    RDMs, _ = rsatoolbox_rdm()
    from rsatoolbox.inference import eval_bootstrap_pattern
    from rsatoolbox.model import ModelFixed

    data, models = problem(n=16, n_models=3, seed=2)
    n_boot = 300
    ours = bootstrap(data, models, n_bootstrap=n_boot, random_state=0, progress=False)
    np.random.seed(0)
    theirs = eval_bootstrap_pattern(
        [ModelFixed(m, RDMs(models[m].vectors)) for m in models.names],
        RDMs(data.vectors), method="spearman", N=n_boot, boot_noise_ceil=False,
    )
    se_theirs = np.nanstd(theirs.evaluations, axis=0, ddof=1)
    rel = ours.sem / se_theirs - 1.0
    assert np.all(np.abs(rel) < 4 * np.sqrt(2 / (n_boot - 1)))
    mean_gap = np.abs(ours.samples.mean(0) - np.nanmean(theirs.evaluations, 0))
    assert np.all(mean_gap < 4 * np.sqrt(2 / n_boot) * ours.sem)


def test_result_table_ci_and_determinism():
    data, models = problem(n_subjects=2)
    res = bootstrap(data, models, n_bootstrap=150, random_state=3, progress=False)
    again = bootstrap(data, models, n_bootstrap=150, random_state=3, progress=False)
    np.testing.assert_array_equal(res.samples, again.samples)
    assert res.samples.shape == (150, 3) and res.ci.shape == (2, 3)
    np.testing.assert_allclose(res.ci, np.percentile(res.samples, [2.5, 97.5], axis=0))
    np.testing.assert_allclose(res.sem, res.samples.std(axis=0, ddof=1))
    frame = res.to_frame()
    assert frame.columns.tolist()[:5] == ["model", "score", "ci_low", "ci_high", "sem"]
    assert frame["model"].tolist() == ["m0", "m1", "m2"]
    assert res.noise_ceiling is not None
    ax = res.plot()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["m0", "m1", "m2"]


def test_identical_for_any_n_jobs():
    data, models = problem(n=10, n_subjects=2)
    kw = dict(n_bootstrap=140, random_state=11, progress=False, resample="both")
    one = bootstrap(data, models, n_jobs=1, **kw)
    two = bootstrap(data, models, n_jobs=2, **kw)
    np.testing.assert_array_equal(one.samples, two.samples)
    p1 = permutation_test(data, models, n_permutations=300, random_state=1, n_jobs=1)
    p2 = permutation_test(data, models, n_permutations=300, random_state=1, n_jobs=2)
    np.testing.assert_array_equal(p1.null, p2.null)


def test_subject_resampling_is_a_weighted_mean_of_subject_scores():
    data, models = problem(n_subjects=4)
    res = bootstrap(data, models, n_bootstrap=50, resample="subjects", random_state=5, progress=False)
    per_subject = compare_vectors(data.vectors, models.vectors, "spearman")
    subj = as_rng(5).integers(0, 4, size=(50, 4))
    np.testing.assert_allclose(res.samples, per_subject[subj].mean(axis=1), atol=1e-14)
    both = bootstrap(data, models, n_bootstrap=20, resample="both", random_state=5, progress=False)
    assert np.isfinite(both.samples).all()


def test_models_are_aligned_to_the_data_conditions():
    data, models = problem(n=6)
    labelled = RDM(data.vectors, conditions=list("abcdef"))
    shuffled = RDM(models.vectors, conditions=list("abcdef"), names=models.names).subset(list("fedcba"))
    a = bootstrap(labelled, shuffled, n_bootstrap=10, random_state=0, progress=False)
    b = bootstrap(data, models, n_bootstrap=10, random_state=0, progress=False)
    np.testing.assert_allclose(a.samples, b.samples, atol=1e-14)


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(n_bootstrap=0), ArgumentError, "n_bootstrap=0"),
        (dict(resample="trials"), ArgumentError, "resample='trials'"),
        (dict(resample="subjects"), ArgumentError, "several data RDMs"),
        (dict(method="procrustes"), ArgumentError, "method='procrustes'"),
        (dict(model_rdms=RDM(np.ones((2, 10)))), ShapeMismatchError, "5 conditions"),
        (dict(model_rdms=RDM(np.ones((2, 15)), conditions=list("abcdeX"))), AlignmentError, "lacks"),
        (dict(data_rdm=RDM([1.0])), ShapeMismatchError, "at least 3"),
    ],
)
def test_bootstrap_bad_input(kwargs, exc, words):
    data, models = problem(n=6)
    call = dict(data_rdm=RDM(data.vectors, conditions=list("abcdef")),
                model_rdms=RDM(models.vectors, conditions=list("abcdef")), progress=False)
    call.update(kwargs)
    with pytest.raises(exc, match=words) as info:
        bootstrap(**call)
    assert isinstance(info.value, NeurotkError)


# ------------------------------------------------------------------ permutation test
def test_permutation_null_matches_explicit_relabelling():
    data, models = problem(n=8, n_subjects=2)
    res = permutation_test(data, models, n_permutations=20, random_state=4)
    perms = np.argsort(as_rng(4).random((20, 8)), axis=1)
    for k in (0, 7, 19):
        p = perms[k]
        permuted = RDM.from_matrix(data.matrices[:, p][:, :, p])
        expect = compare_vectors(permuted.vectors, models.vectors, "spearman").mean(axis=0)
        np.testing.assert_allclose(res.null[k], expect, atol=1e-14)
    assert res.to_frame()["p_value"].between(0, 1).all()
    res.plot(model="m1")


def test_permutation_p_values_uniform_under_null_and_small_for_true_model():
    rng = np.random.default_rng(0)
    p_null = []
    for _ in range(60):
        data = RDM(pdist(rng.normal(size=(9, 3))))
        model = RDM(pdist(rng.normal(size=(9, 3))))
        p_null.append(permutation_test(data, model, n_permutations=99, random_state=rng).p_values[0])
    p_null = np.array(p_null)
    assert 0.35 < p_null.mean() < 0.65
    assert np.mean(p_null < 0.1) < 0.25
    x = rng.normal(size=(12, 3))
    truth = RDM(pdist(x))
    noisy = RDM(pdist(x + 0.1 * rng.normal(size=x.shape)))
    res = permutation_test(noisy, truth, n_permutations=199, random_state=0)
    assert res.p_values[0] == pytest.approx(1 / 200)


# ------------------------------------------------------------------ noise ceiling
@pytest.mark.filterwarnings("ignore:Noise ceiling for tau")
@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine", "rho-a", "kendall", "corr_cov", "cosine_cov"])
def test_noise_ceiling_equals_rsatoolbox(method):
    RDMs, _ = rsatoolbox_rdm()
    from rsatoolbox.inference import boot_noise_ceiling

    data, _ = problem(n=10, n_subjects=5, seed=4)
    low, high = noise_ceiling(data, method)
    ref_low, ref_high = boot_noise_ceiling(RDMs(data.vectors), method=RSA_NAME.get(method, method))
    # the whitened methods differ in rsatoolbox's boot_noise_ceiling at the 1e-5 level (its
    # compare() on the same pooled RDM agrees with ours to 1e-15; see the next test)
    tol = 1e-4 if method.endswith("_cov") else 1e-10
    assert low == pytest.approx(ref_low, abs=tol)
    assert high == pytest.approx(ref_high, abs=tol)
    assert low <= high


@pytest.mark.parametrize("method", ["corr_cov", "cosine_cov"])
def test_whitened_noise_ceiling_equals_rsatoolbox_pool_and_compare(method):
    RDMs, rsa_compare = rsatoolbox_rdm()
    from rsatoolbox.util.pooling import pool_rdm

    data, _ = problem(n=10, n_subjects=5, seed=4)
    pooled = pool_rdm(RDMs(data.vectors), method=method)
    upper = np.mean(rsa_compare(pooled, RDMs(data.vectors), method))
    assert noise_ceiling(data, method).upper == pytest.approx(upper, abs=1e-10)
    lower = np.mean([
        rsa_compare(pool_rdm(RDMs(np.delete(data.vectors, s, axis=0)), method=method), RDMs(data.vectors[s:s + 1]), method)
        for s in range(5)
    ])
    assert noise_ceiling(data, method).lower == pytest.approx(lower, abs=1e-10)


def test_noise_ceiling_needs_subjects():
    data, _ = problem()
    with pytest.raises(ShapeMismatchError, match="at least 2"):
        noise_ceiling(data)


# ------------------------------------------------------------------ model comparison
def test_holm_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> running max
    np.testing.assert_allclose(_holm(p), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(_holm([0.5, 0.9]), [1.0, 1.0])  # 0.5 x 2 = 1, then max(1, 0.9)
    np.testing.assert_allclose(_holm([0.2, 0.01]), [0.2, 0.02])


def test_compare_models_table_and_corrections():
    rng = np.random.default_rng(0)
    samples = np.column_stack([rng.normal(0.5, 0.05, 400), rng.normal(0.3, 0.05, 400), rng.normal(0.29, 0.05, 400)])
    res = BootstrapResult(samples, samples.mean(0), ["a", "b", "c"], "spearman", "conditions")
    table = compare_models(res, correction="holm", noise_ceiling_lower=0.45)
    assert table[["model_a", "model_b"]].to_numpy().tolist() == [
        ["a", "b"], ["a", "c"], ["b", "c"], ["a", "noise_ceiling_lower"], ["b", "noise_ceiling_lower"],
        ["c", "noise_ceiling_lower"]]
    diff = samples[:, 1] - samples[:, 2]
    p_bc = min(1.0, 2 * (1 + min((diff <= 0).sum(), (diff >= 0).sum())) / 401)
    assert table.loc[2, "p_value"] == pytest.approx(p_bc)
    np.testing.assert_allclose(table["p_adjusted"], _holm(table["p_value"].to_numpy()))
    assert table["significant"].tolist()[:3] == [True, True, False]
    fdr = compare_models(res, correction="fdr")
    np.testing.assert_allclose(fdr["p_adjusted"], false_discovery_control(fdr["p_value"]))
    bonf = compare_models(res, correction="bonferroni")
    np.testing.assert_allclose(bonf["p_adjusted"], np.minimum(bonf["p_value"] * 3, 1))
    with pytest.raises(ArgumentError, match="correction"):
        compare_models(res, correction="sidak")
    with pytest.raises(ArgumentError, match="BootstrapResult"):
        compare_models(pd.DataFrame())


# ------------------------------------------------------------------ result contract
def test_rdm_noise_ceiling_is_a_tuple_and_a_result(tmp_path):
    import matplotlib.pyplot as plt

    from neurotk.results import Result
    from neurotk.rsa import RDMNoiseCeiling

    data, _ = problem(n=10, n_subjects=4, seed=1)
    nc = noise_ceiling(data)
    assert isinstance(nc, RDMNoiseCeiling) and isinstance(nc, tuple) and isinstance(nc, Result)
    lower, upper = nc
    assert (lower, upper) == (nc.lower, nc.upper) == (nc[0], nc[1]) == tuple(nc)
    assert nc == (lower, upper) and len(nc) == 2
    assert repr(nc) == f"RDMNoiseCeiling(lower={lower!r}, upper={upper!r})"
    assert nc.to_frame().to_dict("records") == [{"lower": lower, "upper": upper}]
    ax = nc.plot()
    band = ax.patches[0].get_path().get_extents(ax.patches[0].get_transform())
    assert ax.transData.inverted().transform([[0, band.y0], [0, band.y1]])[:, 1] == pytest.approx([lower, upper])
    assert ax.get_legend().get_texts()[0].get_text() == "noise ceiling"
    plt.close("all")
    assert nc.save(tmp_path / "nc.json").stat().st_size > 0
    res = bootstrap(data, problem(n=10)[1], n_bootstrap=5, random_state=0, progress=False)
    assert isinstance(res.noise_ceiling, RDMNoiseCeiling) and res.noise_ceiling == nc


def test_bootstrap_and_permutation_results_are_results(tmp_path):
    import matplotlib.pyplot as plt

    from neurotk.results import Result

    data, models = problem(n=8, n_subjects=2)
    boot = bootstrap(data, models, n_bootstrap=20, random_state=0, progress=False)
    perm = permutation_test(data, models, n_permutations=30, random_state=0)
    assert isinstance(boot, Result) and isinstance(perm, Result)
    assert pd.read_csv(boot.save(tmp_path / "boot.csv"))["model"].tolist() == ["m0", "m1", "m2"]
    assert perm.save(tmp_path / "perm.png").stat().st_size > 0
    ax = perm.plot(model="m2")
    assert ax.get_title() == "m2" and ax.get_xlabel() == "RDM similarity (spearman)"
    assert perm.plot(model=1).get_title() == "m1"
    with pytest.raises(ArgumentError, match="model='m9'"):
        perm.plot(model="m9")
    plt.close("all")
    assert repr(perm) == "PermutationResult(3 models, 30 permutations, method='spearman')"


def test_scalar_arguments_are_checked():
    data, models = problem(n=6)
    with pytest.raises(ArgumentError, match="ci_level=1.5"):
        bootstrap(data, models, ci_level=1.5, progress=False)
    with pytest.raises(ArgumentError, match="n_permutations=0"):
        permutation_test(data, models, n_permutations=0)
    with pytest.raises(ArgumentError, match="n_bootstrap=2.5"):
        bootstrap(data, models, n_bootstrap=2.5, progress=False)
