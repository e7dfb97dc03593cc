"""MDS figures: they draw exactly what the fit stored, labelled, with clear errors."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from neurotk import ArgumentError, ShapeMismatchError
from neurotk.clustering import MDSClustering
from neurotk.plotting.clustering import (
    plot_mds_stimuli,
    plot_objective,
    plot_response_matrix,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_stimuli_are_drawn_one_per_cluster(small_fit):
    _, _, mds = small_fit
    axes = mds.plot_stimuli()
    assert len(axes) == 3
    for c, ax in enumerate(axes):
        np.testing.assert_allclose(ax.images[0].get_array(), mds.stimuli_[c] - mds.centre_)
        assert ax.get_title() == f"cluster {c} (n={int((mds.labels_ == c).sum())})"
    lims = {ax.images[0].get_clim() for ax in axes}
    assert len(lims) == 1 and next(iter(lims))[0] == -next(iter(lims))[1]  # one symmetric scale
    _, own = plt.subplots(1, 4)
    assert len(plot_mds_stimuli(mds, axes=own)) == 3
    with pytest.raises(ShapeMismatchError, match="one per cluster"):
        plot_mds_stimuli(mds, axes=own[:2])


def test_response_matrix_sorts_neurons_by_cluster(small_fit):
    _, _, mds = small_fit
    ax = mds.plot()
    order = np.argsort(mds.labels_, kind="stable")
    scaled = (mds.responses_ - mds.response_offset_) / mds.response_scale_
    np.testing.assert_allclose(ax.images[0].get_array(), scaled[:, order])
    assert ax.get_xlabel() == "neuron (sorted by cluster)"
    assert len(ax.lines) == 2  # boundaries between the 3 clusters
    measured = np.arange(3 * 45, dtype=float).reshape(3, 45)
    ax = plot_response_matrix(mds, responses=measured, colorbar=False)
    np.testing.assert_allclose(ax.images[0].get_array(), measured[:, order])
    with pytest.raises(ShapeMismatchError, match="one column per"):
        plot_response_matrix(mds, responses=measured[:, :10])


def test_objective_curve_and_cluster_marks(small_fit):
    _, _, mds = small_fit
    ax = mds.plot_objective()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), mds.objective_)
    n_changes = int((np.diff(mds.objective_clusters_) != 0).sum())
    assert n_changes == 2 and len(ax.lines) == 1 + n_changes
    assert [t.get_text() for t in ax.texts] == ["K=2", "K=3"]


def test_unfitted_results_are_refused():
    with pytest.raises(ArgumentError, match="not fitted"):
        MDSClustering().plot()
    with pytest.raises(ArgumentError, match="lacks"):
        plot_objective(object())
