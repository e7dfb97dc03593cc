"""Tests of the ground-truth simulators: each planted structure is recovered by an
independent analysis written here (correlations, clustering, a least-squares GLM)."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy.ndimage import uniform_filter1d
from scipy.stats import gamma
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score

from neurotk import Recording
from neurotk.datasets import simulate_calcium_population, simulate_cell_types, simulate_fmri
from neurotk.errors import ArgumentError, ShapeMismatchError


# =========================================================================== calcium
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


# =========================================================================== cell types
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


# =========================================================================== fMRI
@pytest.fixture(scope="module")
def fmri(tmp_path_factory):
    return simulate_fmri(path=tmp_path_factory.mktemp("fmri"))


def test_fmri_images_and_tables(fmri):
    import nibabel as nib

    sim = fmri
    assert len(sim.images) == 2
    mask = np.asarray(sim.mask.dataobj)
    assert mask.shape == (12, 12, 6) and set(np.unique(mask)) == {0, 1}
    n_voxels = int(mask.sum())
    for img in sim.images:
        assert isinstance(img, nib.Nifti1Image)
        assert img.shape == (12, 12, 6, 150)
        assert tuple(float(z) for z in img.header.get_zooms()) == (3.0, 3.0, 3.0, 2.0)
        assert img.header.get_xyzt_units() == ("mm", "sec")
        np.testing.assert_allclose(np.abs(np.diag(img.affine))[:3], 3.0)
    atlas = np.asarray(sim.atlas.dataobj)
    assert set(np.unique(atlas)) == {0} | set(sim.atlas_labels)
    assert np.all(mask[atlas > 0] == 1) and len(sim.atlas_labels) == 4
    assert all(isinstance(name, str) and name for name in sim.atlas_labels.values())

    ev = sim.events
    assert list(ev.columns[:3]) == ["onset", "duration", "trial_type"] and "run" in ev
    assert set(ev["trial_type"]) == set(sim.conditions) and len(sim.conditions) == 4
    per_run = ev.groupby(["run", "trial_type"]).size()
    assert per_run.min() == per_run.max() == 4
    for _, run in ev.groupby("run"):
        ends = run["onset"].to_numpy() + run["duration"].to_numpy()
        assert np.all(run["onset"].to_numpy()[1:] >= ends[:-1])  # no overlapping trials
        assert ends.max() <= 150 * 2.0

    assert sim.betas.shape == (4, n_voxels) and sim.active.shape == (n_voxels,)
    np.testing.assert_allclose(np.asarray(sim.beta_images.dataobj)[mask > 0].T, sim.betas, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(sim.active_image.dataobj)[mask > 0] > 0, sim.active)
    assert 0.05 < sim.active.mean() < 0.6
    assert np.all(sim.betas[:, ~sim.active] == 0) and np.all(sim.betas[:, sim.active].max(0) > 0)
    # the Recording holds the in-mask voxels of both runs, in the betas' order
    rec = sim.recording
    assert rec.shape == (300, n_voxels)
    np.testing.assert_allclose(rec.data[150:], np.asarray(sim.images[1].dataobj)[mask > 0].T, rtol=1e-6)
    ijk = np.argwhere(mask > 0)
    np.testing.assert_array_equal(rec.units[["i", "j", "k"]].to_numpy(), ijk)
    assert set(rec.units["roi"]) == {""} | set(sim.atlas_labels.values())


def _test_design(events, n_volumes, tr, conditions, oversampling=16):
    """Design written independently: SPM double gamma from scipy, boxcar, np.convolve."""
    dt = tr / oversampling
    t = np.arange(0, 32 + dt / 2, dt)
    hrf = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6
    hrf /= hrf.sum()
    n_grid = n_volumes * oversampling
    design = np.zeros((n_volumes, len(conditions)))
    for c, name in enumerate(conditions):
        box = np.zeros(n_grid)
        for onset, duration in events.loc[events["trial_type"] == name, ["onset", "duration"]].to_numpy():
            box[int(round(onset / dt)) : int(round((onset + duration) / dt))] = 1.0
        design[:, c] = np.convolve(box, hrf)[:n_grid][::oversampling]
    return design


def test_fmri_planted_betas_recovered_by_least_squares(fmri):
    sim = fmri
    mask = np.asarray(sim.mask.dataobj) > 0
    n_volumes, tr, n_cond = 150, sim.tr, len(sim.conditions)
    frame = np.arange(n_volumes)
    nuisance = np.column_stack([np.ones(n_volumes)] + [np.cos(np.pi * k * (frame + 0.5) / n_volumes) for k in range(1, 5)])
    blocks, ys = [], []
    for run, img in enumerate(sim.images, start=1):
        ev = sim.events[sim.events["run"] == run]
        blocks.append(_test_design(ev, n_volumes, tr, sim.conditions))
        ys.append(np.asarray(img.dataobj)[mask].T.astype(float))
    # shared condition betas, run-specific intercept and drift
    n_nuis = nuisance.shape[1]
    x = np.zeros((2 * n_volumes, n_cond + 2 * n_nuis))
    for r, block in enumerate(blocks):
        rows = slice(r * n_volumes, (r + 1) * n_volumes)
        x[rows, :n_cond] = block
        x[rows, n_cond + r * n_nuis : n_cond + (r + 1) * n_nuis] = nuisance
    estimate = np.linalg.lstsq(x, np.concatenate(ys), rcond=None)[0][:n_cond]

    truth = sim.betas
    r = np.corrcoef(estimate.ravel(), truth.ravel())[0, 1]
    assert r > 0.9, r
    active_r = np.corrcoef(estimate[:, sim.active].ravel(), truth[:, sim.active].ravel())[0, 1]
    assert active_r > 0.9, active_r
    # unbiased: regression of estimate on truth has slope ~1
    slope = (estimate * truth).sum() / (truth**2).sum()
    assert slope == pytest.approx(1.0, abs=0.05)
    # errors are about as large as the noise allows: |error| / standard error ~ N(0, 1)
    cov = np.linalg.inv(x.T @ x)[:n_cond, :n_cond]
    se = np.sqrt(np.diag(cov))[:, None] * sim.noise_sd[None, :]
    assert 0.8 < np.std((estimate - truth) / se) < 1.6  # AR(1) noise inflates it a little
    strongest = np.abs(estimate).max(0)
    assert strongest[sim.active].mean() > 5 * strongest[~sim.active].mean()
    assert strongest[sim.active].min() > np.percentile(strongest[~sim.active], 95)
    # each responsive ROI prefers its planted condition
    for label, name in sim.atlas_labels.items():
        in_roi = (sim.recording.units["roi"] == name).to_numpy()
        if sim.active[in_roi].any():
            assert estimate[:, in_roi].mean(1).argmax() == truth[:, in_roi].mean(1).argmax()


def test_fmri_files_round_trip(fmri):
    import nibabel as nib

    sim = fmri
    folder = sim.paths["mask"].parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([
        "sub-01_run-1_bold.nii.gz", "sub-01_run-2_bold.nii.gz", "run-1_events.tsv",
        "run-2_events.tsv", "mask.nii.gz", "atlas.nii.gz", "atlas.tsv",
    ])  # nothing else, no temporary files left behind
    for run, (img, bold, events) in enumerate(zip(sim.images, sim.paths["bold"], sim.paths["events"]), start=1):
        loaded = nib.load(bold)
        assert loaded.header.get_zooms()[3] == pytest.approx(2.0)
        np.testing.assert_array_equal(loaded.get_fdata(dtype=np.float32), np.asarray(img.dataobj))
        np.testing.assert_allclose(loaded.affine, img.affine)
        table = pd.read_csv(events, sep="\t")
        assert list(table.columns) == ["onset", "duration", "trial_type"]
        expected = sim.events[sim.events["run"] == run].reset_index(drop=True)
        np.testing.assert_allclose(table["onset"], expected["onset"])
        assert list(table["trial_type"]) == list(expected["trial_type"])
    np.testing.assert_array_equal(nib.load(sim.paths["mask"]).get_fdata(), np.asarray(sim.mask.dataobj))
    np.testing.assert_array_equal(nib.load(sim.paths["atlas"]).get_fdata(), np.asarray(sim.atlas.dataobj))
    labels = pd.read_csv(sim.paths["atlas_labels"], sep="\t")
    assert dict(zip(labels["index"], labels["name"])) == sim.atlas_labels


def test_fmri_deterministic_and_options():
    a = simulate_fmri(shape=(8, 8, 5), n_runs=1, n_volumes=80, tr=1.5, n_conditions=2, random_state=3)
    b = simulate_fmri(shape=(8, 8, 5), n_runs=1, n_volumes=80, tr=1.5, n_conditions=2, random_state=3)
    c = simulate_fmri(shape=(8, 8, 5), n_runs=1, n_volumes=80, tr=1.5, n_conditions=2, random_state=4)
    np.testing.assert_array_equal(np.asarray(a.images[0].dataobj), np.asarray(b.images[0].dataobj))
    pd.testing.assert_frame_equal(a.events, b.events)
    np.testing.assert_array_equal(a.betas, b.betas)
    assert not np.array_equal(np.asarray(a.images[0].dataobj), np.asarray(c.images[0].dataobj))
    assert a.images[0].shape == (8, 8, 5, 80)
    assert float(a.images[0].header.get_zooms()[3]) == 1.5
    assert len(a.conditions) == 2 and a.paths == {}


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"shape": (12, 12)}, "shape"),
        ({"shape": (2, 12, 6)}, "shape"),
        ({"tr": 0}, "tr"),
        ({"n_runs": 0}, "n_runs"),
        ({"n_conditions": 0}, "n_conditions"),
        ({"n_volumes": 20}, "n_volumes"),
        ({"ar_coefficient": 1.0}, "ar_coefficient"),
        ({"n_rois": 12}, "n_rois"),
    ],
)
def test_fmri_rejects_bad_arguments(kwargs, word):
    with pytest.raises(ArgumentError, match=word):
        simulate_fmri(**kwargs)


def test_fmri_path_must_be_a_directory(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(ArgumentError, match="path"):
        simulate_fmri(path=target)


# =========================================================================== speed
@pytest.mark.parametrize("simulate", [simulate_calcium_population, simulate_cell_types, simulate_fmri])
def test_default_simulations_are_fast(simulate):
    simulate()  # warm imports
    start = time.perf_counter()
    simulate(random_state=1)
    assert time.perf_counter() - start < 2.0
