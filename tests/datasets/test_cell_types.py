"""Tests of simulate_cell_types: the planted types are recovered by an independent analysis
written here (clustering of the responses and of the noiseless rates)."""

import time

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score

from neurotk import Recording
from neurotk.datasets import simulate_cell_types
from neurotk.errors import ArgumentError, ShapeMismatchError


@pytest.fixture(scope="module")
def cells():
    return simulate_cell_types()


def test_cell_types_structure(cells):
    sim = cells
    assert sim.stimuli.shape == (2000, 20, 20)
    assert sim.filters.shape == (400, 20, 20) and sim.type_filters.shape == (6, 20, 20)
    assert sim.labels.shape == sim.gains.shape == sim.biases.shape == (400,)
    counts = np.bincount(sim.labels)
    assert counts.size == 6 and counts.max() - counts.min() <= 1
    assert not np.all(np.diff(sim.labels) >= 0)  # not sorted by type
    rec = sim.responses
    assert isinstance(rec, Recording) and rec.shape == (2000, 400)
    np.testing.assert_array_equal(rec.samples["stimulus"], np.arange(2000))
    np.testing.assert_array_equal(rec.units["type"], sim.labels)
    np.testing.assert_array_equal(rec.unit_ids, np.arange(400))
    assert sim.nonlinearity == "softplus" and rec.meta["noise"] == "poisson"
    # stimuli: unit pixel variance, spatially smooth (neighbouring pixels correlated)
    assert sim.stimuli.std() == pytest.approx(1.0, rel=0.05)
    neighbours = np.corrcoef(sim.stimuli[:, 5:15, 10].ravel(), sim.stimuli[:, 5:15, 11].ravel())[0, 1]
    assert neighbours > 0.6


def test_cell_type_filters_are_distinct_types_with_individual_variation(cells):
    sim = cells
    f = sim.filters.reshape(400, -1)
    t = sim.type_filters.reshape(6, -1)
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0)
    similarity = f @ t.T
    np.testing.assert_array_equal(similarity.argmax(1), sim.labels)  # every neuron, its own type
    own = similarity[np.arange(400), sim.labels]
    assert own.mean() > 0.85
    assert own.max() < 0.9999  # neurons are not copies of their type's filter
    type_similarity = t @ t.T - np.eye(6)
    assert type_similarity.max() < 0.5
    # filters are smooth: neighbouring pixels of a filter are strongly correlated
    assert np.corrcoef(sim.filters[:, :, :-1].ravel(), sim.filters[:, :, 1:].ravel())[0, 1] > 0.7


def test_cell_type_rates_follow_the_documented_model(cells):
    sim = cells
    rng = np.random.default_rng(11)
    new = rng.standard_normal((30, 20, 20))
    drive = np.einsum("nhw,khw->nk", new, sim.filters) * sim.gains + sim.biases
    expected = sim.rate_scale * np.log1p(np.exp(drive))
    np.testing.assert_allclose(sim.predict(new), expected, rtol=1e-10)
    np.testing.assert_allclose(sim.predict(sim.stimuli[:50]), sim.rates[:50])
    assert sim.predict(new[0]).shape == (1, 400)
    # the drive has about the requested spread on the stimuli
    drive = np.einsum("nhw,khw->nk", sim.stimuli, sim.filters) * sim.gains + sim.biases
    assert 1.0 < np.median(drive.std(0)) < 2.2
    with pytest.raises(ShapeMismatchError, match="stimuli"):
        sim.predict(np.zeros((3, 10, 10)))


def test_cell_types_recoverable_from_noiseless_rates(cells):
    sim = cells
    probes = np.concatenate([sim.type_filters, -sim.type_filters]) * 4.0
    rates = sim.predict(probes)  # (12, 400)
    z = (rates - rates.mean(0)) / rates.std(0)
    labels = KMeans(n_clusters=6, n_init=10, random_state=0).fit_predict(z.T)
    ari = adjusted_rand_score(sim.labels, labels)
    assert ari >= 0.95, ari
    # and from the noisy responses to the random stimuli, by correlation clustering
    r = np.corrcoef(sim.responses.data.T)
    labels = AgglomerativeClustering(n_clusters=6, metric="precomputed", linkage="average").fit_predict(1 - r)
    assert adjusted_rand_score(sim.labels, labels) >= 0.9


def test_cell_type_noise_models(cells):
    sim = cells
    y, lam = sim.responses.data, sim.rates
    assert np.all(y == np.round(y)) and y.min() >= 0
    # Poisson: mean equals rate, variance equals rate
    assert (y - lam).mean() == pytest.approx(0.0, abs=0.01)
    assert ((y - lam) ** 2).sum() / lam.sum() == pytest.approx(1.0, abs=0.02)
    high = lam > 5
    assert ((y - lam)[high] ** 2).mean() / lam[high].mean() == pytest.approx(1.0, abs=0.05)

    gauss = simulate_cell_types(n_neurons=60, n_types=3, n_stimuli=500, noise="gaussian", noise_level=0.5)
    residual = gauss.responses.data - gauss.rates
    assert residual.std() == pytest.approx(0.5, rel=0.03) and abs(residual.mean()) < 0.01
    clean = simulate_cell_types(n_neurons=60, n_types=3, n_stimuli=100, noise=None, nonlinearity="exp")
    np.testing.assert_allclose(clean.responses.data, clean.rates)
    drive = np.einsum("nhw,khw->nk", clean.stimuli, clean.filters) * clean.gains + clean.biases
    np.testing.assert_allclose(clean.rates, clean.rate_scale * np.exp(drive), rtol=1e-10)


def test_cell_types_jitter_controls_within_type_variation():
    same = simulate_cell_types(n_neurons=30, n_types=3, n_stimuli=20, jitter=0.0, random_state=2)
    f = same.filters.reshape(30, -1)
    np.testing.assert_allclose(f, same.type_filters.reshape(3, -1)[same.labels], atol=1e-12)


def test_cell_types_deterministic_and_seed_dependent():
    a = simulate_cell_types(n_neurons=50, n_types=3, n_stimuli=80, random_state=5)
    b = simulate_cell_types(n_neurons=50, n_types=3, n_stimuli=80, random_state=5)
    c = simulate_cell_types(n_neurons=50, n_types=3, n_stimuli=80, random_state=6)
    assert a.responses.equals(b.responses)
    for name in ("stimuli", "labels", "filters", "type_filters", "gains", "biases"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.stimuli, c.stimuli)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"n_neurons": 3, "n_types": 6}, "n_neurons"),
        ({"n_types": 0}, "n_types"),
        ({"image_shape": (5, 20)}, "image_shape"),
        ({"image_shape": 20}, "image_shape"),
        ({"noise": "laplace"}, "noise"),
        ({"nonlinearity": "relu"}, "nonlinearity"),
        ({"n_stimuli": 0}, "n_stimuli"),
        ({"jitter": -1}, "jitter"),
    ],
)
def test_cell_types_reject_bad_arguments(kwargs, word):
    with pytest.raises(ArgumentError, match=word):
        simulate_cell_types(**kwargs)


def test_default_simulation_is_fast():
    simulate_cell_types()  # warm imports
    start = time.perf_counter()
    simulate_cell_types(random_state=1)
    assert time.perf_counter() - start < 2.0


def _centroids(filters):
    """Energy centroid (x, y) of each filter, in pixels."""
    energy = filters**2
    energy = energy / energy.sum(axis=(1, 2), keepdims=True)
    yy, xx = np.mgrid[0:filters.shape[1], 0:filters.shape[2]]
    return np.stack([(energy * xx).sum(axis=(1, 2)), (energy * yy).sum(axis=(1, 2))], axis=1)


def test_position_jitter_shifts_receptive_fields_by_the_given_pixels():
    kw = {"n_neurons": 300, "n_types": 3, "image_shape": (40, 40), "n_stimuli": 10, "jitter": 0.0, "random_state": 3}
    still = simulate_cell_types(position_jitter=0.0, **kw)
    np.testing.assert_allclose(still.filters, still.type_filters[still.labels], atol=1e-12)
    spread = {}
    for p in (1.0, 2.0):
        sim = simulate_cell_types(position_jitter=p, **kw)
        np.testing.assert_array_equal(sim.labels, still.labels)  # the same other draws
        np.testing.assert_array_equal(sim.stimuli, still.stimuli)
        shift = _centroids(sim.filters) - _centroids(sim.type_filters)[sim.labels]
        spread[p] = shift.std()
        assert np.abs(shift).max() <= 2 * p + 0.3  # draws clipped at two standard deviations
    # a normal clipped at +-2 sd has sd 0.88; the energy centroid moves with the filter
    assert spread[1.0] == pytest.approx(0.88, rel=0.15)
    assert spread[2.0] / spread[1.0] == pytest.approx(2.0, rel=0.1)


def test_gain_spread_sets_the_spread_of_log_gains():
    kw = {"n_neurons": 400, "n_types": 2, "n_stimuli": 10, "jitter": 0.0, "random_state": 4}
    logs = {g: np.log(simulate_cell_types(gain_spread=g, **kw).gains) for g in (0.0, 0.2, 0.8)}
    for t in range(2):  # without jitter, neurons of a type differ by their gain factor only
        same = simulate_cell_types(**kw).labels == t
        assert logs[0.0][same].std() < 1e-10
        assert logs[0.8][same].std() == pytest.approx(0.8, rel=0.15)
    # one log-normal draw, scaled by gain_spread (0.2 is the default)
    np.testing.assert_allclose(logs[0.8] - logs[0.0], 4.0 * (logs[0.2] - logs[0.0]), rtol=1e-10)
    np.testing.assert_array_equal(np.log(simulate_cell_types(**kw).gains), logs[0.2])


def test_type_similarity_sets_the_mean_cosine_of_the_type_filters():
    base = simulate_cell_types(n_neurons=60, n_types=4, n_stimuli=10, random_state=5)
    t = base.type_filters.reshape(4, -1)
    before = (t @ t.T)[~np.eye(4, dtype=bool)].mean()
    for target in (0.5, 0.8):
        sim = simulate_cell_types(n_neurons=60, n_types=4, n_stimuli=10, random_state=5, type_similarity=target)
        u = sim.type_filters.reshape(4, -1)
        np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0)
        assert (u @ u.T)[~np.eye(4, dtype=bool)].mean() == pytest.approx(target, abs=1e-8)
        # every filter moved toward the types' common pattern, c = sum of the types, unit norm
        c = t.sum(0) / np.linalg.norm(t.sum(0))
        a = (u[0] - t[0] * (u[0] @ t[0]))  # the part of u[0] outside t[0] lies along c's
        assert abs(np.corrcoef(a, c - t[0] * (c @ t[0]))[0, 1]) == pytest.approx(1.0, abs=1e-8)
        f = sim.filters.reshape(60, -1)
        np.testing.assert_array_equal(np.argmax(f @ u.T, axis=1), sim.labels)
        np.testing.assert_array_equal(sim.labels, base.labels)
    # a target at or below the drawn similarity changes nothing
    seed = next(s for s in range(50) if _mean_cosine(simulate_cell_types(
        n_neurons=8, n_types=4, n_stimuli=2, random_state=s).type_filters) > 0.02)
    drawn = simulate_cell_types(n_neurons=60, n_types=4, n_stimuli=10, random_state=seed)
    low = simulate_cell_types(n_neurons=60, n_types=4, n_stimuli=10, random_state=seed, type_similarity=0.01)
    np.testing.assert_array_equal(low.type_filters, drawn.type_filters)
    np.testing.assert_array_equal(low.filters, drawn.filters)
    assert before < 0.35


def _mean_cosine(type_filters):
    t = type_filters.reshape(len(type_filters), -1)
    return (t @ t.T)[~np.eye(len(t), dtype=bool)].mean()


@pytest.mark.parametrize("kwargs, word", [({"position_jitter": -1.0}, "position_jitter"),
                                          ({"gain_spread": -0.1}, "gain_spread"),
                                          ({"type_similarity": 1.0}, "type_similarity")])
def test_regime_arguments_reject_bad_values(kwargs, word):
    with pytest.raises(ArgumentError, match=word):
        simulate_cell_types(n_neurons=20, n_types=2, n_stimuli=10, **kwargs)
