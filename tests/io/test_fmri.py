"""fMRI volumes -> Recordings, checked against nibabel, numpy and the simulation's truth.

Real files: the small NIfTI images nibabel ships in its package (functional.nii,
example4d.nii.gz) and, when nitime is installed, its real BOLD runs. Planted responses
come from simulate_fmri; broken inputs are edited copies. The GLM of such recordings is
tested in tests/encoding/test_firstlevel.py.
"""

import hashlib
import os
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from neurotk import DataFormatError
from neurotk.datasets import simulate_fmri
from neurotk.errors import ArgumentError, NeurotkWarning, ShapeMismatchError
from neurotk.encoding import glm
from neurotk.io import load_fmri, roi_average, to_nifti

NIB_DATA = Path(nib.__file__).parent / "tests" / "data"
FUNCTIONAL = NIB_DATA / "functional.nii"
EXAMPLE4D = NIB_DATA / "example4d.nii.gz"


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def varying(path):
    """The reference mask: voxels that vary over time (nibabel's full array)."""
    data = nib.load(path).get_fdata()
    return data, data.std(axis=-1) > 0


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    return simulate_fmri(path=tmp_path_factory.mktemp("sim"), random_state=0)


@pytest.fixture(scope="module")
def sim_rec(sim):
    return load_fmri(sim.paths["bold"], mask=sim.paths["mask"], atlas=sim.paths["atlas"],
                     atlas_labels=sim.paths["atlas_labels"])


def save(img, path):
    nib.save(img, path)
    return path


# --------------------------------------------------------------------------- loading real files
def test_functional_nii_matches_nibabel_default_mask():
    data, keep = varying(FUNCTIONAL)
    rec = load_fmri(FUNCTIONAL)
    assert rec.shape == (20, int(keep.sum()))
    assert np.array_equal(rec.data, data[keep].T)
    assert np.array_equal(rec.units[["i", "j", "k"]].to_numpy(), np.argwhere(keep))
    assert rec.meta["tr"] == 2.0 and rec.meta["shape"] == (17, 21, 3)
    assert np.allclose(rec.meta["affine"], nib.load(FUNCTIONAL).affine)
    assert rec.samples["time"].tolist() == [2.0 * v for v in range(20)]
    assert set(rec.samples["run"]) == {1}


def test_functional_nii_with_mask_file(tmp_path):
    img = nib.load(FUNCTIONAL)
    data = img.get_fdata()
    mask = data.mean(-1) > np.median(data.mean(-1))
    mask_path = save(nib.Nifti1Image(mask.astype(np.uint8), img.affine), tmp_path / "mask.nii.gz")
    for m in (mask_path, nib.load(mask_path), mask):
        rec = load_fmri(FUNCTIONAL, mask=m)
        assert np.array_equal(rec.data, data[mask].T)
    rec32 = load_fmri(FUNCTIONAL, mask=mask, dtype=np.float32)
    assert rec32.dtype == np.float32
    assert np.array_equal(rec32.data, img.get_fdata(dtype=np.float32)[mask].T)


def test_example4d_gz_matches_nibabel(tmp_path):
    img = nib.load(EXAMPLE4D)
    data = img.get_fdata()
    mask = data.mean(-1) > 100
    with pytest.warns(NeurotkWarning, match="milliseconds"):
        load_fmri(EXAMPLE4D, mask=mask)
    rec = load_fmri(EXAMPLE4D, mask=mask, tr=2.0)
    assert np.array_equal(rec.data, data[mask].T)
    assert rec.samples["time"].tolist() == [0.0, 2.0]


@pytest.mark.parametrize("path", [FUNCTIONAL, EXAMPLE4D])
def test_chunked_extraction_equals_unchunked(path):
    data, keep = varying(path)
    whole = load_fmri(path, mask=keep, tr=2.0, chunk_voxels=10**9)
    for chunk in (1, int(np.prod(data.shape[:3])) * 3 - 1):
        assert np.array_equal(load_fmri(path, mask=keep, tr=2.0, chunk_voxels=chunk).data, whole.data)


def test_in_memory_images_and_single_volume():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(5, 4, 3, 7))
    mask = rng.random((5, 4, 3)) < 0.5
    rec = load_fmri(nib.Nifti1Image(data, np.eye(4)), mask=mask, tr=1.5, chunk_voxels=60)
    assert np.array_equal(rec.data, data[mask].T)
    one = load_fmri(nib.Nifti1Image(data[..., 0], np.eye(4)), mask=mask)
    assert one.shape == (1, int(mask.sum()))
    assert np.array_equal(one.data[0], data[..., 0][mask])


def test_runs_are_concatenated_with_run_column(sim):
    rec = load_fmri(sim.images, mask=sim.mask, runs=["a", "b"])
    mask = sim.mask_data
    expected = np.concatenate([img.get_fdata()[mask].T for img in sim.images])
    assert np.array_equal(rec.data, expected)
    assert rec.samples["run"].tolist() == ["a"] * 150 + ["b"] * 150
    assert rec.samples["volume"].tolist() == list(range(150)) * 2
    assert np.allclose(rec.data, sim.recording.data, rtol=1e-6)  # the files hold float32
    assert rec.meta["n_volumes"] == [150, 150] and rec.meta["tr"] == 2.0


def test_atlas_gives_roi_and_names(sim, sim_rec):
    assert sim_rec.units["roi_name"].tolist() == sim.recording.units["roi"].tolist()
    labels = sim.atlas.get_fdata()[sim.mask_data].astype(int)
    assert sim_rec.units["roi"].tolist() == labels.tolist()
    from_dict = load_fmri(sim.images[0], mask=sim.mask, atlas=sim.atlas, atlas_labels=sim.atlas_labels)
    assert from_dict.units["roi_name"].tolist() == sim_rec.units["roi_name"].tolist()


# --------------------------------------------------------------------------- ROI averages
def test_roi_average_equals_per_roi_mean(sim, sim_rec):
    avg = roi_average(sim_rec)
    rois = sorted(set(sim_rec.units["roi"]) - {0})
    expected = np.stack([sim_rec.data[:, (sim_rec.units["roi"] == r).to_numpy()].mean(axis=1) for r in rois], axis=1)
    assert avg.units["roi"].tolist() == rois
    assert avg.units["roi_name"].tolist() == [sim.atlas_labels[r] for r in rois]
    assert np.allclose(avg.data, expected, rtol=1e-12, atol=0)
    direct = load_fmri(sim.paths["bold"], mask=sim.paths["mask"], atlas=sim.paths["atlas"],
                       atlas_labels=sim.paths["atlas_labels"], average_rois=True)
    assert np.array_equal(direct.data, avg.data)
    assert avg.samples.equals(sim_rec.samples)
    # an atlas given afterwards, looked up at each voxel's i, j, k
    later = roi_average(load_fmri(sim.paths["bold"], mask=sim.paths["mask"]), atlas=sim.paths["atlas"])
    assert np.array_equal(later.data, avg.data)


# --------------------------------------------------------------------------- to_nifti
def test_to_nifti_round_trip(tmp_path):
    img = nib.load(FUNCTIONAL)
    data, keep = varying(FUNCTIONAL)
    rec = load_fmri(FUNCTIONAL, mask=keep)
    back = to_nifti(rec, path=tmp_path / "back.nii.gz")
    assert back.shape == img.shape and np.allclose(back.affine, img.affine)
    assert back.header.get_zooms()[3] == 2.0
    reread = nib.load(tmp_path / "back.nii.gz").get_fdata()
    assert np.array_equal(reread[keep], data[keep])
    assert np.isnan(reread[~keep]).all()
    assert np.array_equal(load_fmri(tmp_path / "back.nii.gz", mask=keep).data, rec.data)
    assert [p.name for p in tmp_path.iterdir()] == ["back.nii.gz"]  # no temporary left


def test_to_nifti_maps_and_background(sim_rec):
    values = np.arange(sim_rec.n_units, dtype=float)
    one = to_nifti(values, sim_rec, background=0)
    ijk = sim_rec.units[["i", "j", "k"]].to_numpy()
    assert one.shape == sim_rec.meta["shape"]
    vol = one.get_fdata()
    assert np.array_equal(vol[ijk[:, 0], ijk[:, 1], ijk[:, 2]], values)
    assert vol.sum() == values.sum()
    maps = to_nifti(np.stack([values, -values]), sim_rec)
    assert maps.shape == sim_rec.meta["shape"] + (2,)
    with pytest.raises(ShapeMismatchError, match="voxels"):
        to_nifti(values[:-1], sim_rec)
    with pytest.raises(ArgumentError):
        to_nifti(values)


def test_load_real_nitime_nifti():
    nitime = pytest.importorskip("nitime")
    path = Path(nitime.__file__).parent / "data" / "fmri1.nii.gz"
    data, keep = varying(path)
    rec = load_fmri(path)
    assert rec.meta["tr"] == pytest.approx(1.35)
    assert np.array_equal(rec.data, data[keep].T)


# --------------------------------------------------------------------------- bad input
def test_mask_shape_mismatch_names_both_files(tmp_path):
    mask = save(nib.Nifti1Image(np.ones((17, 21, 4), np.uint8), nib.load(FUNCTIONAL).affine), tmp_path / "m.nii")
    with pytest.raises(DataFormatError) as err:
        load_fmri(FUNCTIONAL, mask=mask)
    msg = str(err.value)
    assert "m.nii" in msg and "functional.nii" in msg and "(17, 21, 4)" in msg and "(17, 21, 3)" in msg
    with pytest.raises(DataFormatError, match=r"\(3, 3, 3\)"):
        load_fmri(FUNCTIONAL, mask=np.ones((3, 3, 3), bool))


def test_mask_affine_mismatch_names_both_files(tmp_path):
    affine = nib.load(FUNCTIONAL).affine.copy()
    affine[0, 3] += 10
    mask = save(nib.Nifti1Image(np.ones((17, 21, 3), np.uint8), affine), tmp_path / "shifted.nii.gz")
    with pytest.raises(DataFormatError, match="affine") as err:
        load_fmri(FUNCTIONAL, mask=mask)
    assert "shifted.nii.gz" in str(err.value) and "functional.nii" in str(err.value)


def test_truncated_and_corrupt_files(tmp_path):
    for source in (EXAMPLE4D, FUNCTIONAL):
        raw = source.read_bytes()
        cut = tmp_path / f"cut_{source.name}"
        cut.write_bytes(raw[: len(raw) * 2 // 3])
        with pytest.raises(DataFormatError, match=cut.name):
            load_fmri(cut, mask=np.ones(nib.load(source).shape[:3], bool), tr=2.0)
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(b"not an image at all" * 10)
    with pytest.raises(DataFormatError, match="garbage.nii.gz"):
        load_fmri(garbage)
    with pytest.raises(DataFormatError, match="no such file"):
        load_fmri(tmp_path / "missing.nii")


def test_non_finite_voxels_and_bad_dimensions():
    data = np.ones((4, 4, 4, 5))
    data[..., 0] += np.arange(4)[:, None, None]
    data[1, 2, 3, 4] = np.nan
    img = nib.Nifti1Image(data, np.eye(4))
    with pytest.raises(DataFormatError, match=r"\(1, 2, 3\), volume 4"):
        load_fmri(img, mask=np.ones((4, 4, 4), bool))
    rec = load_fmri(img)  # the default mask leaves the NaN voxel out
    assert rec.n_units == 4 * 4 * 4 - 1 - 16  # minus the NaN voxel and the constant i=0 plane
    with pytest.raises(DataFormatError, match="4-D"):
        load_fmri(nib.Nifti1Image(np.ones((4, 4, 4, 3, 2)), np.eye(4)))


def test_input_files_unchanged(sim, tmp_path):
    copy = shutil.copy(FUNCTIONAL, tmp_path / "functional.nii")
    files = [copy, *sim.paths["bold"], *sim.paths["events"], sim.paths["mask"], sim.paths["atlas"],
             sim.paths["atlas_labels"]]
    before = [sha256(f) for f in files]
    rec = load_fmri(copy)
    rec.replace(data=np.zeros(rec.shape))
    to_nifti(rec)
    loaded = load_fmri(sim.paths["bold"], mask=sim.paths["mask"], atlas=sim.paths["atlas"],
                       atlas_labels=sim.paths["atlas_labels"], chunk_voxels=100)
    glm(loaded, sim.paths["events"], per="trial")
    roi_average(loaded)
    assert [sha256(f) for f in files] == before
    assert os.access(copy, os.W_OK)  # still a normal file, untouched


def test_memory_stays_bounded_for_a_small_mask(tmp_path):
    import tracemalloc

    data = np.random.default_rng(1).normal(size=(40, 40, 40, 60)).astype(np.float32)  # 15 MiB
    mask = np.zeros(data.shape[:3], bool)
    mask[10:15, 10:15, 10:14] = True
    for name in ("big.nii", "big.nii.gz"):
        path = save(nib.Nifti1Image(data, np.eye(4)), tmp_path / name)
        tracemalloc.start()
        rec = load_fmri(path, mask=mask, tr=1.0, chunk_voxels=40 * 40 * 40 * 4)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert np.array_equal(rec.data, data[mask].T.astype(np.float64))
        assert peak < 4 * 2**20  # a chunk of 4 volumes (1 MiB) and the output, not the 15 MiB image


def test_dispatch_loads_nifti():
    import neurotk

    assert np.array_equal(neurotk.load(FUNCTIONAL).data, load_fmri(FUNCTIONAL).data)
