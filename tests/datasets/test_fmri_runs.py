"""Tests of simulate_fmri: the planted responses are recovered by an independent analysis
written here (a least-squares GLM with its own HRF), and the files round-trip."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gamma

from neurotk.datasets import simulate_fmri
from neurotk.errors import ArgumentError


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


def test_default_simulation_is_fast():
    simulate_fmri()  # warm imports
    start = time.perf_counter()
    simulate_fmri(random_state=1)
    assert time.perf_counter() - start < 2.0
