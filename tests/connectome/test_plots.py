"""Connectome figures: each function draws what it is given and returns its Axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from neurotk import Recording  # noqa: E402
from neurotk.connectome import DynamicConnectome, comovement_affinity, ntf, rank_ensemble, reconstruct  # noqa: E402
from neurotk.datasets import simulate_calcium_population  # noqa: E402
from neurotk.errors import ArgumentError  # noqa: E402
from neurotk.plotting.connectome import (  # noqa: E402
    plot_affinity,
    plot_connectome,
    plot_factors,
    plot_motif,
    plot_rank_selection,
)


@pytest.fixture(scope="module")
def connectome():
    sim = simulate_calcium_population(n_neurons=20, n_timepoints=800, n_communities=2, random_state=0)
    recs = []
    for rec in sim.recordings:  # stimulus epochs to shade
        samples = rec.samples.assign(stimulus=np.where(rec.samples["time"] < 80, "buffer", "odour"))
        recs.append(Recording(rec.data, samples=samples, units=rec.units, meta=rec.meta))
    return DynamicConnectome(rank=2, window=20, n_restarts=1, random_state=0).fit(recs)


def teardown_function():
    plt.close("all")


def test_connectome_figure_sorts_neurons_and_shades_epochs(connectome):
    axes = connectome.plot()
    assert axes.shape == (2, 3)
    m = connectome.motifs_[0]
    heights = [p.get_height() for p in axes[0, 0].patches]
    labels = m.communities.labels
    key = np.where(labels < 0, labels.max() + 1, labels)
    assert np.allclose(sorted(heights), sorted(m.communities.strength))
    order = np.lexsort((-m.communities.strength, key))
    assert np.allclose(heights, m.communities.strength[order])          # sorted by community
    assert len(axes[0, 1].patches) >= 2                                    # epochs + intervals shaded
    assert [t.get_text() for t in axes[-1, 2].get_xticklabels()] == connectome.tensor_.names
    assert axes[-1, 1].get_xlabel() == "time (s)"  # the recordings have a time column in s


def test_connectome_time_axis_in_samples_without_times():
    sim = simulate_calcium_population(n_neurons=12, n_timepoints=400, n_communities=2, random_state=1)
    bare = [Recording(rec.data, units=rec.units) for rec in sim.recordings]  # no times, no rate
    axes = DynamicConnectome(rank=2, window=20, n_restarts=1, random_state=0).fit(bare).plot()
    assert axes[-1, 1].get_xlabel() == "time (samples)"


def test_motif_network(connectome):
    m = connectome.motifs_[0]
    ax = m.plot(max_edges=10)
    assert len(ax.collections[0].get_segments()) == 10
    assert ax.collections[1].get_offsets().shape == (m.n_neurons, 2)
    with pytest.raises(ArgumentError):
        plot_motif(m, layout="spring")


def test_factor_and_rank_plots():
    rng = np.random.default_rng(0)
    x = reconstruct([rng.random((n, 2)) for n in (8, 6, 4)])
    fit = ntf(x, 2, random_state=0)
    axes = plot_factors(fit, mode_names=["pairs", "time", "animals"], times=np.arange(6) * 0.5,
                        epochs=[(0.0, 1.0, "a")])
    assert axes.shape == (2, 3) and axes[0, 1].lines[0].get_xdata()[-1] == 2.5
    with pytest.raises(ArgumentError):
        plot_factors(fit, mode_names=["a"])
    ens = rank_ensemble(x, [1, 2], n_restarts=2, random_state=0)
    ax_err, ax_sim = ens.plot()
    assert len(ax_err.lines[0].get_xdata()) == 2
    np.testing.assert_allclose(ax_err.lines[0].get_ydata(), ens.summary()["error"])


def test_affinity_plot():
    aff = comovement_affinity(np.random.default_rng(1).normal(size=(60, 5)), window=20)
    ax = plot_affinity(aff, window=1)
    np.testing.assert_allclose(ax.images[0].get_array(), aff.matrix(1))
    assert aff.plot() is not None


def test_tensor_and_communities_plots(connectome, tmp_path):
    from neurotk.plotting.connectome import plot_affinity_tensor, plot_communities

    tensor = connectome.tensor_
    ax = plot_affinity_tensor(tensor, recording=0, window=2)
    np.testing.assert_allclose(ax.images[0].get_array().filled(np.nan), tensor.matrix(0, 2))
    assert ax.get_title() == f"comovement affinity ({tensor.names[0]}, window 2)"
    assert tensor.plot() is not None
    comm = connectome.motifs_[0].communities
    ax = plot_communities(comm)
    np.testing.assert_allclose([p.get_height() for p in ax.patches], comm.strength[comm.order()])
    assert comm.plot() is not None
    assert comm.save(tmp_path / "communities.svg").stat().st_size > 0
    assert connectome.motifs_[0].save(tmp_path / "motif.csv").read_text().startswith("motif,unit_id")


def test_given_axes_are_used_and_too_few_refused(connectome):
    fig, own = plt.subplots(2, 3)
    assert (plot_connectome(connectome, axes=own) == own).all()
    rng = np.random.default_rng(2)
    ens = rank_ensemble(reconstruct([rng.random((n, 2)) for n in (6, 5, 4)]), 2, n_restarts=2, random_state=0)
    _, pair = plt.subplots(1, 2)
    drawn = plot_rank_selection(ens, axes=pair)
    assert drawn.shape == (2,) and drawn[0] is pair[0] and drawn[1].get_ylabel() == "similarity"
    with pytest.raises(ArgumentError, match="expected 1 x 2"):
        plot_rank_selection(ens, axes=pair[:1])
