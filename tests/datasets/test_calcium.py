"""Tests of simulate_calcium_population: each planted structure is recovered by an
independent analysis written here (correlations, clustering, sliding windows)."""

import time

import numpy as np
import pytest
from scipy.ndimage import uniform_filter1d
from sklearn.cluster import AgglomerativeClustering
from sklearn.metrics import adjusted_rand_score

from neurotk import Recording
from neurotk.datasets import simulate_calcium_population
from neurotk.errors import ArgumentError


@pytest.fixture(scope="module")
def calcium():
    return simulate_calcium_population()


def test_calcium_structure(calcium):
    sim = calcium
    n_neurons, n_timepoints = sim.membership.size, sim.active.shape[1]
    assert (n_neurons, n_timepoints, sim.n_communities) == (60, 2000, 3)
    assert len(sim.recordings) == 3
    for a, rec in enumerate(sim.recordings):
        assert isinstance(rec, Recording)
        assert rec.shape == (n_timepoints, n_neurons)
        np.testing.assert_array_equal(rec.samples["frame"], np.arange(n_timepoints))
        np.testing.assert_allclose(rec.samples["time"], np.arange(n_timepoints) / sim.sampling_rate)
        np.testing.assert_array_equal(rec.unit_ids, np.arange(n_neurons))
        assert rec.meta["animal"] == a
        assert rec.meta["sampling_rate"] == sim.sampling_rate
        assert rec.meta["units_of_measure"] == "dF/F"
    # disjoint communities of equal size plus unaffiliated neurons, in a shuffled order
    sizes = np.bincount(sim.membership[sim.membership >= 0])
    assert len(sizes) == 3 and sizes.min() == sizes.max() >= 10
    assert (sim.membership == -1).sum() >= 10
    assert not np.all(np.diff(sim.membership) >= 0)
    # communities take turns: never two at once, each active in its intervals, rests between
    assert sim.active.sum(0).max() == 1
    assert 0.4 < sim.active.any(0).mean() < 0.8
    assert sim.animal_weights.shape == (3, 3) and np.all((sim.animal_weights > 0) & (sim.animal_weights <= 1))
    assert sim.present.shape == (3, n_neurons) and sim.present.all()
    t = np.arange(n_timepoints) / sim.sampling_rate
    for c, intervals in enumerate(sim.intervals):
        assert len(intervals) == 2
        rebuilt = np.zeros(n_timepoints, dtype=bool)
        for start, stop in intervals:
            assert stop - start >= 20.0  # long enough to be found (seconds)
            rebuilt |= (t >= start - 1e-9) & (t < stop - 1e-9)
        np.testing.assert_array_equal(rebuilt, sim.active[c])


def test_calcium_traces_follow_the_calcium_model(calcium):
    """dF/F = exponential kernel * spikes + white noise of sd noise_level (checked by a loop)."""
    sim = calcium
    p = sim.params
    decay = np.exp(-1.0 / (p["sampling_rate"] * p["calcium_tau"]))
    spikes = sim.spikes[1][:, :5].astype(float)
    calcium = np.zeros_like(spikes)
    level = np.zeros(5)
    for t in range(spikes.shape[0]):
        level = decay * level + p["spike_amplitude"] * spikes[t]
        calcium[t] = level
    residual = sim.recordings[1].data[:, :5] - calcium
    assert np.abs(residual.mean()) < 0.01
    np.testing.assert_allclose(residual.std(0), p["noise_level"], rtol=0.1)
    # the same rate statistics in and out of the active intervals (the planting is not
    # visible in the firing rates, only in the co-fluctuations)
    counts = sim.spikes.mean(axis=(0, 2))
    busy = sim.active.any(0)
    assert 0.85 < counts[busy].mean() / counts[~busy].mean() < 1.15
    assert counts.mean() * sim.sampling_rate == pytest.approx(p["firing_rate"], rel=0.2)


def _derivative_correlations(sim, frames_mask):
    """Correlation matrix of frame-to-frame derivatives on the selected frames, all animals pooled."""
    keep = frames_mask[1:]
    d = np.concatenate([np.diff(rec.data, axis=0)[keep] for rec in sim.recordings])
    return np.corrcoef(d.T)


def test_calcium_communities_are_correlated_only_while_active(calcium):
    sim = calcium
    m = sim.membership
    rest = ~sim.active.any(0)
    r_rest = _derivative_correlations(sim, rest)
    for c in range(sim.n_communities):
        r = _derivative_correlations(sim, sim.active[c])
        inside = np.flatnonzero(m == c)
        pairs = np.triu_indices(inside.size, 1)
        within = r[np.ix_(inside, inside)][pairs].mean()
        between = r[np.ix_(inside, np.flatnonzero(m != c))].mean()
        within_at_rest = r_rest[np.ix_(inside, inside)][pairs].mean()
        assert within > 0.25, (c, within)
        assert abs(between) < 0.03, (c, between)
        assert abs(within_at_rest) < 0.03, (c, within_at_rest)
        # ... and not during the other communities' intervals either
        others = sim.active.any(0) & ~sim.active[c]
        r_other = _derivative_correlations(sim, others)
        assert abs(r_other[np.ix_(inside, inside)][pairs].mean()) < 0.03


def test_calcium_communities_recovered_by_clustering(calcium):
    sim = calcium
    m = sim.membership
    # affiliated neurons, derivative correlations over all active frames: ARI >= 0.9
    r = _derivative_correlations(sim, sim.active.any(0))
    aff = m >= 0
    labels = AgglomerativeClustering(n_clusters=sim.n_communities, metric="precomputed",
                                     linkage="average").fit_predict(1 - r[np.ix_(aff, aff)])
    ari = adjusted_rand_score(m[aff], labels)
    assert ari >= 0.9, ari
    # all neurons, unaffiliated included: strongest co-activation over the intervals
    affinity = np.max([_derivative_correlations(sim, row) for row in sim.active], axis=0)
    np.fill_diagonal(affinity, 1.0)
    clusters = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                       distance_threshold=0.85).fit_predict(1 - affinity)
    found = np.where(np.bincount(clusters)[clusters] >= 2, clusters, -1)  # singletons: no community
    ari_all = adjusted_rand_score(m, found)
    assert ari_all >= 0.9, ari_all


def _sliding_community_correlation(sim, c, window=40):
    """Mean pairwise correlation of community c's derivatives in a window around each frame."""
    per_animal = []
    for rec in sim.recordings:
        x = rec.data[:, sim.membership[rec.unit_ids] == c]
        d = np.diff(x, axis=0)
        d = d - uniform_filter1d(d, window, axis=0, mode="nearest")
        z = d / np.sqrt(uniform_filter1d(d**2, window, axis=0, mode="nearest"))
        n = z.shape[1]
        products = (z.sum(1) ** 2 - (z**2).sum(1)) / (n * (n - 1))
        per_animal.append(uniform_filter1d(products, window, mode="nearest"))
    mean = np.mean(per_animal, axis=0)
    return np.concatenate([mean[:1], mean])


def test_calcium_active_intervals_recovered_from_the_traces(calcium):
    sim = calcium
    for c in range(sim.n_communities):
        score = _sliding_community_correlation(sim, c)
        truth = sim.active[c]
        assert score[truth].mean() > 0.2 and abs(score[~truth].mean()) < 0.03
        found = score > 0.15
        overlap = (found & truth).sum() / (found | truth).sum()
        assert overlap >= 0.85, (c, overlap)


def test_calcium_missing_neurons():
    sim = simulate_calcium_population(n_neurons=40, n_timepoints=600, missing_fraction=0.25, random_state=4)
    assert sim.present.shape == (3, 40)
    np.testing.assert_array_equal(sim.present.sum(1), [30, 30, 30])
    assert not np.array_equal(sim.present[0], sim.present[1])
    for a, rec in enumerate(sim.recordings):
        np.testing.assert_array_equal(rec.unit_ids, np.flatnonzero(sim.present[a]))
        assert rec.shape == (600, 30)
    # the same neuron keeps its identity: present columns are the full simulation's neurons
    assert sim.spikes.shape == (3, 600, 40)


def test_calcium_deterministic_and_seed_dependent():
    a = simulate_calcium_population(n_neurons=24, n_timepoints=400, random_state=7, missing_fraction=0.1)
    b = simulate_calcium_population(n_neurons=24, n_timepoints=400, random_state=7, missing_fraction=0.1)
    c = simulate_calcium_population(n_neurons=24, n_timepoints=400, random_state=8, missing_fraction=0.1)
    for ra, rb in zip(a.recordings, b.recordings):
        assert ra.equals(rb)
    for name in ("membership", "active", "animal_weights", "present", "spikes"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.intervals == b.intervals
    assert not np.array_equal(a.recordings[0].data[:, :5], c.recordings[0].data[:, :5])


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_neurons": 0}, "n_neurons"),
        ({"n_neurons": 5, "n_communities": 3}, "per community"),
        ({"n_timepoints": 20}, "n_timepoints"),
        ({"n_animals": 1.5}, "n_animals"),
        ({"sampling_rate": -1}, "sampling_rate"),
        ({"missing_fraction": 1.0}, "missing_fraction"),
        ({"missing_fraction": -0.1}, "missing_fraction"),
        ({"coupling": 1.5}, "coupling"),
        ({"random_state": "x"}, "random_state"),
    ],
)
def test_calcium_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ArgumentError, match=word):
        simulate_calcium_population(**kwargs)


def test_default_simulation_is_fast():
    simulate_calcium_population()  # warm imports
    start = time.perf_counter()
    simulate_calcium_population(random_state=1)
    assert time.perf_counter() - start < 2.0
