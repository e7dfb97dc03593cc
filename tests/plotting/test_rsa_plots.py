"""RSA figures: labelled axes, the right number of bands/bars/marks, clear errors."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from neurotk import ArgumentError, ShapeMismatchError  # noqa: E402
from neurotk.plotting.rsa import plot_embedding, plot_layer_area, plot_model_comparison, plot_rdm  # noqa: E402
from neurotk.rsa import RDM  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_rdm_draws_the_matrix_bands_and_labels():
    rng = np.random.default_rng(0)
    m = rng.random((6, 6))
    m = m + m.T
    np.fill_diagonal(m, 0)
    rdm = RDM.from_matrix(m, names=["V1"], metric="correlation")
    ax = plot_rdm(rdm, categories=["a", "a", "b", "b", "b", "c"])
    np.testing.assert_allclose(ax.images[0].get_array(), m)
    assert len(ax.patches) == 2 * 3  # a band per category on each axis
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert ax.get_title() == "V1" and ax.get_xlabel() == "condition"
    assert ax.figure.axes[-1].get_ylabel() == "dissimilarity (correlation)"  # the colour bar
    ranked = plot_rdm(rdm, rank=True, colorbar=False).images[0].get_array()
    i, j = np.triu_indices(6, 1)
    assert sorted(np.asarray(ranked)[i, j]) == pytest.approx(np.arange(1, 16) / 15 * 100)


def test_plot_rdm_errors():
    rdm = RDM([1.0, 2.0, 3.0])
    with pytest.raises(ShapeMismatchError, match="one per condition"):
        plot_rdm(rdm, categories=[1, 2])
    with pytest.raises(ArgumentError, match="index=3"):
        plot_rdm(rdm, index=3)


def test_plot_embedding_groups_by_category():
    xy = np.arange(12.0).reshape(6, 2)
    ax = plot_embedding(xy, categories=[0, 0, 1, 1, 2, 2], labels=list("abcdef"))
    assert len(ax.collections) == 3
    np.testing.assert_array_equal(ax.collections[1].get_offsets(), xy[2:4])
    assert ax.get_legend() is not None and len(ax.texts) == 6
    with pytest.raises(ShapeMismatchError):
        plot_embedding(np.zeros(5))


def test_plot_model_comparison_bars_ceiling_and_stars():
    table = pd.DataFrame({"model": ["m1", "m2", "m3"], "score": [0.1, 0.4, 0.3], "ci_low": [0.0, 0.3, 0.2], "ci_high": [0.2, 0.5, 0.4]})
    ax = plot_model_comparison(table, noise_ceiling=(0.45, 0.6), significant=[False, True, True], method="spearman")
    heights = [p.get_height() for p in ax.patches if type(p).__name__ == "Rectangle"]
    assert heights[:3] == pytest.approx([0.1, 0.4, 0.3])
    assert sum(t.get_text() == "*" for t in ax.texts) == 2
    assert ax.get_ylabel() == "RDM similarity (spearman)"
    with pytest.raises(ArgumentError, match="no column 'score'"):
        plot_model_comparison(pd.DataFrame({"model": ["a"]}))


def test_plot_model_comparison_draws_intervals_that_exclude_the_score():
    """A percentile bootstrap interval need not contain the score (here: entirely above it);
    the interval is drawn from ci_low to ci_high as it is (matplotlib's yerr refused it)."""
    table = pd.DataFrame({"model": ["a", "b"], "score": [0.2, 0.5], "ci_low": [0.3, 0.4], "ci_high": [0.35, 0.6]})
    ax = plot_model_comparison(table)
    segments = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted(float(v) for seg in segments for v in (seg[0][1], seg[1][1]))
    assert spans == pytest.approx([0.3, 0.35, 0.4, 0.6])


def test_plot_layer_area_outlines_the_best_layer():
    t = pd.DataFrame({"area": ["V1"] * 3 + ["IT"] * 3, "layer": ["c1", "f1", "f2"] * 2, "score": [0.6, 0.3, 0.1, 0.2, 0.3, 0.7]})
    ax = plot_layer_area(t)
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.6, 0.3, 0.1], [0.2, 0.3, 0.7]])
    outlines = [p.get_xy() for p in ax.patches]
    assert outlines == [(-0.5, -0.5), (1.5, 0.5)]  # V1 -> c1, IT -> f2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["c1", "f1", "f2"]


def test_plot_rdm_takes_square_arrays_and_needs_an_rdm_for_ranks():
    m = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]])
    ax = plot_rdm(m)
    np.testing.assert_array_equal(ax.images[0].get_array(), m)
    assert ax.get_title() == "0" and ax.figure.axes[-1].get_ylabel() == "dissimilarity"
    assert plot_rdm(np.stack([m, 2 * m]), index=1).get_title() == "1"
    with pytest.raises(ArgumentError, match="rank=True"):
        plot_rdm(m, rank=True)
    with pytest.raises(ShapeMismatchError, match="as_rdm"):
        plot_rdm([1.0, 2.0, 3.0])


def test_plot_rdm_ranks_are_the_rdms_own():
    rdm = RDM(np.random.default_rng(1).random((2, 10)), names=["a", "b"])
    ax = plot_rdm(rdm, index=1, rank=True)
    np.testing.assert_array_equal(ax.images[0].get_array(), rdm.ranks().matrices[1])
    assert ax.figure.axes[-1].get_ylabel() == "dissimilarity (percentile)"


def test_noise_ceiling_band_is_the_model_comparison_band():
    from neurotk.plotting.rsa import plot_rdm_noise_ceiling

    table = pd.DataFrame({"model": ["m1", "m2"], "score": [0.1, 0.4]})
    bars = plot_model_comparison(table, noise_ceiling=(0.45, 0.6))
    band = plot_rdm_noise_ceiling((0.45, 0.6))
    spans = [p for p in bars.patches if p.get_label() == "noise ceiling"]
    assert len(spans) == 1 and band.patches[0].get_label() == "noise ceiling"
    assert spans[0].get_facecolor() == band.patches[0].get_facecolor()
    assert band.get_ylabel() == "RDM similarity" and len(band.get_xticks()) == 0
    with pytest.raises(ArgumentError, match="two numbers"):
        plot_rdm_noise_ceiling(0.5)


def test_permutation_ssm_and_kernel_analysis_figures():
    from neurotk.plotting.rsa import plot_kernel_analysis, plot_permutation_null, plot_ssm

    rng = np.random.default_rng(2)
    ax = plot_permutation_null(rng.normal(size=100), 2.0, 0.01, method="pearson", title="m")
    assert ax.get_title() == "m" and ax.get_ylabel() == "permutations"
    assert ax.get_legend().get_texts()[1].get_text() == "observed (p = 0.01)"
    assert plot_permutation_null(rng.normal(size=10), 0.0).get_xlabel() == "RDM similarity"
    ax = plot_ssm(0.3, null=rng.normal(size=50))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["permutation null", "SSM = 0.300"]
    ax = plot_kernel_analysis([0.5, 1.0], [0.6, 1.0], log=False)
    assert ax.get_xscale() == "linear" and ax.get_legend() is None


def test_plot_model_selection_draws_one_line_per_statistic_and_chance():
    from neurotk.plotting.rsa import plot_model_selection

    t = pd.DataFrame({"transform": ["rdm"] * 3 + ["rgtm"] * 3 + ["rgtm"] * 3,
                      "lower": [np.nan] * 3 + [0.2] * 3 + [0.1] * 3, "upper": [np.nan] * 3 + [0.8] * 3 + [0.5] * 3,
                      "noise_level": [0.4, 0.0, 0.2] * 3, "accuracy": np.linspace(0.3, 0.9, 9), "sem": 0.01,
                      "chance": 0.25})
    ax = plot_model_selection(t, title="x")
    assert [x.get_text() for x in ax.get_legend().get_texts()] == ["RDM", "RGTM l=0.2, u=0.8", "RGTM l=0.1, u=0.5",
                                                                   "chance"]
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    for line, rows in zip(lines, (t.iloc[:3], t.iloc[3:6], t.iloc[6:])):
        rows = rows.sort_values("noise_level")
        np.testing.assert_allclose(line.get_xdata(), rows["noise_level"])
        np.testing.assert_allclose(line.get_ydata(), rows["accuracy"])
    chance = [line for line in ax.get_lines() if line.get_label() == "chance"]
    assert len(chance) == 1 and np.allclose(np.asarray(chance[0].get_ydata(), dtype=float), 0.25)
    assert "noise level" in ax.get_xlabel() and "accuracy" in ax.get_ylabel() and ax.get_title() == "x"
    with pytest.raises(ArgumentError, match="noise_level"):
        plot_model_selection(t.drop(columns="noise_level"))
