"""Encoding figures draw the numbers of the results they are given, with labelled axes."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from neurotk import ArgumentError, Recording  # noqa: E402
from neurotk.encoding import NoiseCeiling, RidgeCV, map_layers  # noqa: E402
from neurotk.plotting.encoding import (  # noqa: E402
    plot_layer_mapping,
    plot_noise_ceiling,
    plot_pseudo_depth,
    plot_ridge_path,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mapping():
    rng = np.random.default_rng(0)
    n_stim, n_rep = 60, 3
    ids = np.arange(n_stim)
    l0 = rng.normal(size=(n_stim, 8))
    l1 = np.maximum(l0 @ rng.normal(size=(8, 8)), 0)
    layers = {n: Recording(a, samples=pd.DataFrame({"stimulus": ids})) for n, a in (("L0", l0), ("L1", l1))}
    brain = {}
    for name, act in (("A0", l0), ("A1", l1)):
        signal = (act - act.mean(0)) / act.std(0) @ rng.normal(size=(8, 5)) / np.sqrt(8)
        reps = signal[None] + 0.5 * rng.normal(size=(n_rep, n_stim, 5))
        brain[name] = Recording(reps.reshape(-1, 5), samples=pd.DataFrame({"stimulus": np.tile(ids, n_rep)}))
    return map_layers(brain, layers, alphas=np.logspace(-2, 3, 6), cv=3, inner_cv=3, n_bootstrap=50,
                      random_state=0)


def test_ridge_path_mean_line_and_chosen_alphas():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 6))
    Y = X @ rng.normal(size=(6, 12)) * np.linspace(0.05, 2, 12) + rng.normal(size=(80, 12))
    alphas = np.logspace(-2, 4, 7)
    model = RidgeCV(alphas=alphas, cv=4).fit(X, Y)
    ax = plot_ridge_path(model, max_lines=5)
    lines = ax.get_lines()
    assert len(lines) == 5 + 1  # the drawn targets, then the mean
    np.testing.assert_allclose(lines[-1].get_ydata(), model.cv_scores_.mean(axis=1))
    np.testing.assert_allclose(lines[-1].get_xdata(), alphas)
    heights = np.array([p.get_height() for p in ax.patches])
    counts = np.array([np.sum(model.alpha_ == a) for a in alphas])
    np.testing.assert_allclose(heights / heights.max(), counts / counts.max())
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "ridge alpha"
    assert "R²" in ax.get_ylabel()
    with pytest.raises(ArgumentError, match="fitted RidgeCV"):
        plot_ridge_path(RidgeCV())


def test_layer_mapping_heatmap_shows_the_summary(mapping):
    ax = plot_layer_mapping(mapping, title="planted")
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), mapping.matrix().to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()] == mapping.layers
    assert [t.get_text() for t in ax.get_yticklabels()] == mapping.areas
    assert ax.get_title() == "planted"
    colourbar = ax.figure.axes[-1]
    assert colourbar.get_ylabel() == mapping.normalisation.split(" (")[0]
    assert mapping.plot().images  # the result's own plot() draws the same figure


def test_pseudo_depth_bars_equal_the_table(mapping):
    ax = plot_pseudo_depth(mapping)
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, mapping.best["pseudo_depth"].to_numpy(dtype=float))
    assert [t.get_text() for t in ax.get_xticklabels()] == mapping.areas
    assert [t.get_text() for t in ax.get_yticklabels()] == mapping.layers
    assert ax.get_xlabel() == "brain area"


def test_noise_ceiling_histogram_and_median():
    values = np.array([0.1, 0.2, 0.25, 0.6, np.nan, 0.9])
    nc = NoiseCeiling(values, method="split_half", target="single")
    ax = plot_noise_ceiling(nc, bins=4)
    assert sum(p.get_height() for p in ax.patches) == 5  # the finite values
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [nc.median, nc.median])
    assert nc.median == pytest.approx(0.25)
    assert ax.get_xlabel() == "noise ceiling (max R^2, split_half, single repeat)" and ax.get_ylabel() == "units"
    assert nc.plot().get_xlabel() == ax.get_xlabel()  # the result's own plot() draws the same figure
    empty = plot_noise_ceiling(NoiseCeiling([np.nan]))
    assert not empty.get_lines()
