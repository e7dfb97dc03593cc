"""Tests of simulate_visual_hierarchy, including its link with the digits network."""

import numpy as np
import pytest
from scipy.stats import spearmanr

import neurotk
from neurotk.datasets import digits_network, simulate_visual_hierarchy


def _rdm(x):
    return 1 - np.corrcoef(x)


def _upper(m):
    return m[np.triu_indices(len(m), 1)]


def _rho(a, b):
    return spearmanr(_upper(a), _upper(b))[0]


@pytest.fixture(scope="module")
def sim():
    return simulate_visual_hierarchy(random_state=0)


def test_shapes_and_tables(sim):
    rec = sim.recording
    n_stim, n_units = sim.rates.shape
    assert (n_stim, n_units) == (100, 144)
    assert rec.shape == (100 * 4, 144)
    assert sim.images.shape == (100, 8, 8) and sim.areas == ("V1", "V4", "IT")
    samples, units = rec.samples, rec.units
    assert {"stimulus", "category", "repeat"} <= set(samples.columns)
    assert sorted(samples.groupby("stimulus").size().unique()) == [4]
    assert units["unit_id"].is_unique and set(units["source"]) == {"brain"}
    assert units["area"].value_counts().to_dict() == {"V1": 48, "V4": 48, "IT": 48}
    assert rec.meta["units_of_measure"] == "spike count" and rec.meta["window_s"] == 0.25
    assert rec.name
    # categories balanced over the ten digits, and the images are the sklearn digits
    assert np.bincount(sim.categories, minlength=10).tolist() == [10] * 10
    from sklearn.datasets import load_digits

    digits = load_digits()
    np.testing.assert_array_equal(digits.images[sim.digit_index], sim.images)
    np.testing.assert_array_equal(digits.target[sim.digit_index], sim.categories)
    # samples category agrees with the stimulus' category
    np.testing.assert_array_equal(samples["category"], sim.categories[samples["stimulus"]])
    it = sim.area("IT")
    assert it.n_units == 48 and set(it.units["area"]) == {"IT"}
    assert np.all(rec.data == np.round(rec.data)) and rec.data.min() >= 0


def test_held_out_images_are_used_first(sim):
    from neurotk.datasets.digits import digits_split

    test = digits_split()[3]
    assert np.isin(sim.digit_index, test).all()


def test_deterministic_under_seed(sim):
    again = simulate_visual_hierarchy(random_state=0)
    assert again.recording.equals(sim.recording)
    np.testing.assert_array_equal(again.rates, sim.rates)
    np.testing.assert_array_equal(again.images, sim.images)
    other = simulate_visual_hierarchy(random_state=1)
    assert not np.array_equal(other.recording.data, sim.recording.data)


def test_noise_is_poisson():
    sim = simulate_visual_hierarchy(n_stimuli=30, n_repeats=40, n_units_per_area=20, random_state=3)
    counts = sim.recording.data.reshape(40, 30, -1)  # repeat-major
    mean, var = counts.mean(axis=0), counts.var(axis=0, ddof=1)
    # the sample mean tracks the planted rates, and the Fano factor is 1
    assert np.corrcoef(mean.ravel(), sim.rates.ravel())[0, 1] > 0.98
    keep = sim.rates > 2
    fano = var[keep].sum() / mean[keep].sum()
    assert 0.9 < fano < 1.1
    # a single cell against the Poisson variance of the planted rate
    assert np.median(var[keep] / sim.rates[keep]) == pytest.approx(1.0, abs=0.1)


def test_areas_differ_as_designed(sim):
    category_model = (sim.categories[:, None] != sim.categories[None, :]).astype(float)
    rdms = {a: _rdm(sim.area(a).average("stimulus").data) for a in sim.areas}
    assert _rho(rdms["IT"], category_model) > _rho(rdms["V1"], category_model) + 0.1
    # same-category pairs are far closer than different-category pairs in IT
    same = _upper(category_model) == 0
    it = _upper(rdms["IT"])
    assert it[same].mean() < 0.5 * it[~same].mean()


def _layer_area_table(sim, net):
    """Spearman correlation of correlation-distance RDMs: rows layers, columns areas."""
    acts = net.forward(sim.images)
    layer_rdms = [_rdm(acts[name].reshape(len(sim.images), -1)) for name in net.layers]
    return np.array([
        [_rho(layer, _rdm(sim.area(area).average("stimulus").data)) for area in sim.areas]
        for layer in layer_rdms
    ])


@pytest.mark.parametrize("seed", range(5))
def test_network_layers_recover_the_hierarchy(seed):
    """Every seed tried: the best-matching layer never moves earlier along the hierarchy,
    and the first area's best layer is earlier than the last area's.

    (With 4 layers for 3 areas the intermediate area can tie between two layers, so a
    strictly increasing order is not required here; the default seed below has it.)
    """
    table = _layer_area_table(simulate_visual_hierarchy(random_state=seed), digits_network(0))
    best = table.argmax(axis=0)
    assert np.all(np.diff(best) >= 0), table
    assert best[0] < best[-1], table


def test_default_seed_maps_each_area_to_its_own_depth():
    """The demo's default (both seeds 0): V1 -> conv1, V4 -> a middle layer, IT -> logits."""
    net = digits_network(0)
    best = _layer_area_table(simulate_visual_hierarchy(random_state=0), net).argmax(axis=0)
    assert best[0] == 0 and best[-1] == len(net.layers) - 1 and 0 < best[1] < best[-1]


def test_own_images_and_categories():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 16, size=(12, 64))
    sim = simulate_visual_hierarchy(images=images, categories=np.arange(12) % 10, n_units_per_area=[5, 6, 7])
    assert sim.images.shape == (12, 8, 8) and sim.digit_index is None
    assert sim.recording.units["area"].value_counts().to_dict() == {"V1": 5, "V4": 6, "IT": 7}
    default_cat = simulate_visual_hierarchy(images=images)
    assert default_cat.categories.shape == (12,)


def test_other_area_lists():
    sim = simulate_visual_hierarchy(areas=("V1", "V2", "V4", "IT"), n_units_per_area=10, n_stimuli=20)
    assert sim.areas == ("V1", "V2", "V4", "IT")
    assert sim.recording.units["level"].tolist() == sorted(sim.recording.units["level"].tolist())


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        (dict(n_stimuli=0), neurotk.ArgumentError, "n_stimuli"),
        (dict(n_stimuli=5000), neurotk.ArgumentError, "n_stimuli"),
        (dict(n_repeats=0), neurotk.ArgumentError, "n_repeats"),
        (dict(n_repeats=2.5), neurotk.ArgumentError, "n_repeats"),
        (dict(n_units_per_area=[3, 4]), neurotk.ShapeMismatchError, "n_units_per_area"),
        (dict(areas=("V1", "V1")), neurotk.ArgumentError, "areas"),
        (dict(areas="V1"), neurotk.ArgumentError, "areas"),
        (dict(images=np.zeros((5, 7, 7))), neurotk.ShapeMismatchError, "images"),
        (dict(images=np.zeros((5, 8, 8)), n_stimuli=6), neurotk.ShapeMismatchError, "n_stimuli"),
        (dict(images=np.zeros((5, 8, 8)), categories=[1, 2]), neurotk.ShapeMismatchError, "categories"),
        (dict(window=-1.0), neurotk.ArgumentError, "window"),
        (dict(random_state=-3), neurotk.ArgumentError, "random_state"),
    ],
)
def test_bad_arguments(kwargs, error, text):
    with pytest.raises(error, match=text):
        simulate_visual_hierarchy(**kwargs)
    with pytest.raises(neurotk.NeurotkError):
        simulate_visual_hierarchy(**kwargs)


def test_unknown_area(sim):
    with pytest.raises(neurotk.ArgumentError, match="MT"):
        sim.area("MT")
