"""Tests for neurotk.rsa.similarity: CKA, SSM, shape metrics and kernel analysis."""

import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from neurotk import Recording
from neurotk.errors import AlignmentError, ArgumentError, NonFiniteDataError, ShapeMismatchError
from neurotk.rsa import cka, kernel_analysis, procrustes_distance, shape_distance, ssm


def _rng(seed=0):
    return np.random.default_rng(seed)


def _orthogonal(rng, p):
    q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return q


# --------------------------------------------------------------------------- CKA
def _hsic_biased(k, l):
    n = k.shape[0]
    h = np.eye(n) - 1.0 / n
    return np.trace(k @ h @ l @ h) / (n - 1) ** 2


def _hsic_unbiased(k, l):
    """Song et al. (2012), Eq. 5, on the uncentred kernels."""
    n = k.shape[0]
    kt, lt = k.copy(), l.copy()
    np.fill_diagonal(kt, 0)
    np.fill_diagonal(lt, 0)
    one = np.ones(n)
    return (
        np.trace(kt @ lt)
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ kt @ lt @ one)
    ) / (n * (n - 3))


@pytest.mark.parametrize("p,q", [(5, 8), (60, 80)], ids=["feature-form", "gram-form"])
def test_cka_matches_hsic_formula(p, q):
    rng = _rng(1)
    x = rng.normal(size=(30, p)) + 3.0
    y = x[:, :1] @ rng.normal(size=(1, q)) + rng.normal(size=(30, q))
    k, l = x @ x.T, y @ y.T
    want = _hsic_biased(k, l) / np.sqrt(_hsic_biased(k, k) * _hsic_biased(l, l))
    assert cka(x, y) == pytest.approx(want, abs=1e-12)
    want_u = _hsic_unbiased(k, l) / np.sqrt(_hsic_unbiased(k, k) * _hsic_unbiased(l, l))
    assert cka(x, y, debiased=True) == pytest.approx(want_u, abs=1e-12)


def test_cka_invariances():
    rng = _rng(2)
    x = rng.normal(size=(40, 6))
    y = np.tanh(x @ rng.normal(size=(6, 9)))
    base = cka(x, y)
    assert cka(x @ _orthogonal(rng, 6), y) == pytest.approx(base, abs=1e-12)
    assert cka(7.5 * x, y) == pytest.approx(base, abs=1e-12)
    assert cka(x + 4.0, y) == pytest.approx(base, abs=1e-12)
    assert cka(x, x) == pytest.approx(1.0)
    stretch = x @ np.diag([10.0, 1, 1, 1, 1, 0.1])  # invertible but not orthogonal
    assert abs(cka(stretch, y) - base) > 1e-3


def test_debiased_cka_near_zero_for_independent_data():
    rng = _rng(3)
    x, y = rng.normal(size=(40, 1000)), rng.normal(size=(40, 1000))
    assert cka(x, y) > 0.5  # the biased estimator is far from 0 with many channels
    assert abs(cka(x, y, debiased=True)) < 0.05


def test_cka_errors():
    rng = _rng(4)
    with pytest.raises(ShapeMismatchError, match="x has 5 conditions.*y has 6"):
        cka(rng.normal(size=(5, 2)), rng.normal(size=(6, 2)))
    with pytest.raises(ShapeMismatchError, match="at least 3"):
        cka(rng.normal(size=(2, 2)), rng.normal(size=(2, 2)))
    bad = rng.normal(size=(5, 2))
    bad[1, 1] = np.nan
    with pytest.raises(NonFiniteDataError, match="x contains 1 NaN"):
        cka(bad, rng.normal(size=(5, 2)))
    with pytest.raises(ArgumentError, match="zero variance"):
        cka(np.ones((5, 2)), rng.normal(size=(5, 2)))
    with pytest.raises(ShapeMismatchError, match="1-D|2-D"):
        cka(np.ones(5), np.ones((5, 2)))


def test_recordings_are_averaged_and_aligned():
    rng = _rng(5)
    means = rng.normal(size=(6, 4))
    stim = np.repeat(np.arange(6), 2)
    brain = Recording(means[stim] + 0.01 * rng.normal(size=(12, 4)), samples={"stimulus": stim})
    order = rng.permutation(6)
    model = Recording(means[order] @ rng.normal(size=(4, 4)), samples={"stimulus": order})
    direct = cka(brain.average("stimulus").data, model.align(brain.average("stimulus")).data)
    assert cka(brain, model) == pytest.approx(direct)
    missing = Recording(rng.normal(size=(5, 3)), samples={"stimulus": np.arange(5)})
    with pytest.raises(AlignmentError):
        cka(brain, missing)


# --------------------------------------------------------------------------- SSM
def test_ssm_equals_spearman_of_corrcoef():
    rng = _rng(6)
    x = rng.normal(size=(15, 20))
    y = x @ rng.normal(size=(20, 30)) + rng.normal(size=(15, 30))
    iu = np.triu_indices(15, 1)
    want = scipy.stats.spearmanr(np.corrcoef(x)[iu], np.corrcoef(y)[iu])[0]
    assert ssm(x, y) == pytest.approx(want, abs=1e-12)
    assert isinstance(ssm(x, y), float)


def test_ssm_permutation_p_values():
    rng = _rng(7)
    x = rng.normal(size=(20, 30))
    related = ssm(x, x @ rng.normal(size=(30, 25)) + 0.3 * rng.normal(size=(20, 25)),
                  n_permutations=300, random_state=0)
    assert related.p_value < 0.01
    assert related.null.shape == (300,)
    # unrelated data: p-values roughly uniform
    ps = np.array([
        ssm(rng.normal(size=(10, 8)), rng.normal(size=(10, 8)), n_permutations=99, random_state=k).p_value
        for k in range(40)
    ])
    assert 0.3 < ps.mean() < 0.7
    assert (ps < 0.05).mean() < 0.2


def test_ssm_deterministic_across_n_jobs():
    rng = _rng(8)
    x, y = rng.normal(size=(12, 15)), rng.normal(size=(12, 10))
    a = ssm(x, y, n_permutations=600, n_bootstrap=80, random_state=3, n_jobs=1)
    b = ssm(x, y, n_permutations=600, n_bootstrap=80, random_state=3, n_jobs=2)
    np.testing.assert_array_equal(a.null, b.null)
    np.testing.assert_array_equal(a.bootstrap, b.bootstrap)
    assert a.ci == b.ci and a.p_value == b.p_value
    assert a.ci[0] <= a.ci[1]
    frame = a.to_frame()
    assert list(frame.columns[:4]) == ["score", "p_value", "ci_low", "ci_high"]


def test_ssm_permutation_null_matches_explicit_permutation():
    rng = _rng(9)
    x, y = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    res = ssm(x, y, n_permutations=5, random_state=1)
    perms = np.random.default_rng(1).permuted(np.tile(np.arange(8), (5, 1)), axis=1)
    iu = np.triu_indices(8, 1)
    for k, p in enumerate(perms):
        sy = np.corrcoef(y)[np.ix_(p, p)]
        want = scipy.stats.spearmanr(np.corrcoef(x)[iu], sy[iu])[0]
        assert res.null[k] == pytest.approx(want, abs=1e-12)


def test_ssm_errors():
    rng = _rng(10)
    x = rng.normal(size=(6, 5))
    flat = x.copy()
    flat[2] = 1.0
    with pytest.raises(ArgumentError, match="conditions \\[2\\]"):
        ssm(flat, x)
    with pytest.raises(ArgumentError, match="n_permutations"):
        ssm(x, x, n_permutations=-1)
    with pytest.raises(ShapeMismatchError, match="channels"):
        ssm(x[:, :1], x)


# --------------------------------------------------------------------------- shape metrics
def test_shape_distance_zero_for_rotated_copy_and_symmetric():
    rng = _rng(11)
    x = rng.normal(size=(25, 6))
    for alpha in (0.0, 0.5, 1.0):
        assert shape_distance(x, 3 * x @ _orthogonal(rng, 6) - 2, alpha) == pytest.approx(0.0, abs=1e-6)
    y = rng.normal(size=(25, 9))
    for alpha in (0.0, 0.3, 1.0):
        assert shape_distance(x, y, alpha) == pytest.approx(shape_distance(y, x, alpha), abs=1e-12)
        assert 0.0 <= shape_distance(x, y, alpha) <= np.pi / 2


def test_shape_distance_triangle_inequality():
    rng = _rng(12)
    for alpha in (0.0, 0.5, 1.0):
        for _ in range(10):
            a, b, c = (rng.normal(size=(12, rng.integers(2, 6))) for _ in range(3))
            ab, bc, ac = shape_distance(a, b, alpha), shape_distance(b, c, alpha), shape_distance(a, c, alpha)
            assert ac <= ab + bc + 1e-10


def test_procrustes_against_scipy():
    rng = _rng(13)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 6))
    xc, yc = x - x.mean(0), y - y.mean(0)
    xn = np.c_[xc, np.zeros((20, 2))] / np.linalg.norm(xc)
    yn = yc / np.linalg.norm(yc)
    rotation, scale = scipy.linalg.orthogonal_procrustes(xn, yn)
    want = np.arccos(scale)
    assert procrustes_distance(x, y) == pytest.approx(want, abs=1e-12)
    assert shape_distance(x, y, 1.0) == pytest.approx(want, abs=1e-12)
    assert np.trace(yn.T @ xn @ rotation) == pytest.approx(np.cos(want))


def test_full_whitening_invariant_to_linear_maps():
    rng = _rng(14)
    x = rng.normal(size=(30, 5))
    mixed = x @ rng.normal(size=(5, 5))
    assert shape_distance(x, mixed, alpha=0.0) == pytest.approx(0.0, abs=1e-6)
    assert shape_distance(x, mixed, alpha=1.0) > 0.05


def test_shape_distance_errors():
    x = _rng(15).normal(size=(6, 3))
    with pytest.raises(ArgumentError, match="alpha=1.5"):
        shape_distance(x, x, alpha=1.5)
    with pytest.raises(ShapeMismatchError):
        shape_distance(x, x[:5])


# --------------------------------------------------------------------------- kernel analysis
def _classes(rng, separation, n_per=15, n_classes=3, p=4):
    labels = np.repeat(np.arange(n_classes), n_per)
    centres = separation * rng.normal(size=(n_classes, p))
    return centres[labels] + rng.normal(size=(len(labels), p)), labels


#: neurotk's definition before issue 14 (one median width, log axis, numerical rank), kept as
#: options; the reference's defaults are tested in test_kernel_analysis.py.
_FORMER = {"sigma": "median", "axis": "log", "null_space": "rank"}


def test_kernel_analysis_separated_vs_random_labels():
    rng = _rng(16)
    x, labels = _classes(rng, separation=6.0)
    good = kernel_analysis(x, labels, **_FORMER)
    shuffled = kernel_analysis(x, rng.permutation(labels), **_FORMER)
    assert good.auc > 0.6
    assert shuffled.auc < 0.4
    assert good.auc > shuffled.auc + 0.3
    for res in (good, shuffled):
        assert np.all(np.diff(res.precision) >= -1e-12)
        assert res.precision[-1] == pytest.approx(1.0, abs=1e-8)
        assert res.complexity[-1] == 1.0 and len(res.complexity) == len(labels) - 1


def test_kernel_analysis_scale_invariant_and_grid():
    rng = _rng(17)
    x, labels = _classes(rng, separation=2.0)
    a, b = kernel_analysis(x, labels, **_FORMER), kernel_analysis(1000.0 * x, labels, **_FORMER)
    np.testing.assert_allclose(a.precision, b.precision, atol=1e-8)
    grid = kernel_analysis(x, labels, **{**_FORMER, "sigma": "grid"})
    assert np.all(grid.precision >= a.precision - 1e-12)  # the median is in the grid
    assert grid.sigmas.shape == (9,)
    frame = grid.to_frame()
    assert list(frame.columns) == ["n_components", "complexity", "precision", "sigma"]
    linear = kernel_analysis(x, labels, **{**_FORMER, "axis": "linear"})
    assert 0 <= linear.auc <= 1 and linear.auc > a.auc  # the linear axis favours high complexity


def test_kernel_analysis_recording_labels_and_plot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    rng = _rng(18)
    x, labels = _classes(rng, separation=4.0)
    rec = Recording(x, samples={"category": np.array(["cat", "dog", "car"])[labels]})
    res = kernel_analysis(rec, "category", axis="log")
    ax = res.plot()
    assert ax.get_xlabel().startswith("complexity") and ax.get_xscale() == "log"
    import matplotlib.pyplot as plt

    plt.close("all")


def test_kernel_analysis_errors():
    rng = _rng(19)
    x = rng.normal(size=(10, 3))
    with pytest.raises(ShapeMismatchError, match="labels has shape"):
        kernel_analysis(x, np.zeros(9))
    with pytest.raises(ArgumentError, match="at least 2 classes"):
        kernel_analysis(x, np.zeros(10))
    with pytest.raises(ArgumentError, match="sigma"):
        kernel_analysis(x, np.arange(10) % 2, sigma=-1.0)
    with pytest.raises(ArgumentError, match="axis"):
        kernel_analysis(x, np.arange(10) % 2, axis="loglog")


def test_results_have_reprs_tables_and_files(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurotk.results import Result
    from neurotk.rsa import KernelAnalysisResult, SSMResult

    rng = _rng(20)
    x, y = rng.normal(size=(12, 15)), rng.normal(size=(12, 10))
    res = ssm(x, y, n_permutations=50, n_bootstrap=10, random_state=0)
    assert isinstance(res, SSMResult) and isinstance(res, Result)
    assert repr(res).startswith("SSMResult(score=") and "50 permutations, 10 bootstrap samples" in repr(res)
    ax = res.plot()
    assert ax.get_xlabel().startswith("SSM") and len(ax.lines) == 1
    assert res.save(tmp_path / "ssm.csv").stat().st_size > 0
    xk, labels = _classes(rng, separation=3.0)
    ka = kernel_analysis(xk, labels, sigma="grid", axis="log")
    assert isinstance(ka, KernelAnalysisResult) and isinstance(ka, Result)
    assert repr(ka) == f"KernelAnalysisResult(44 complexities, auc={ka.auc:.4g}, axis='log', 9 kernel widths)"
    assert ka.plot(color="k").get_legend().get_texts()[0].get_text() == f"KA-AUC = {ka.auc:.3f}"
    assert ka.save(tmp_path / "ka.png").stat().st_size > 0
    plt.close("all")


def test_labels_column_must_exist():
    rng = _rng(21)
    rec = Recording(rng.normal(size=(6, 3)), samples={"category": [0, 1, 0, 1, 0, 1]})
    with pytest.raises(ArgumentError, match="labels='kind' is not a column of the samples table"):
        kernel_analysis(rec, "kind")
