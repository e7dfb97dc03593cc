"""Extreme but finite values and wrong types give the right answer or a clear NeurotkError (issue 18)."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from neurotk import ArgumentError, NeurotkError, connectome, rsa


@pytest.mark.parametrize("scale", [1e300, 1e-300])
@pytest.mark.parametrize("metric", ["correlation", "cosine"])
def test_scale_free_rdms_do_not_overflow(metric, scale):
    x = np.random.default_rng(0).normal(size=(8, 5))
    got = rsa.rdm(x * scale, metric=metric).vector
    np.testing.assert_allclose(got, pdist(x, metric), rtol=1e-10, atol=1e-12)  # scipy on the unscaled data


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_cka_is_scale_free_at_extreme_scales(scale):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(10, 4)), rng.normal(size=(10, 3))
    for debiased in (False, True):
        assert rsa.cka(x * scale, y, debiased=debiased) == pytest.approx(rsa.cka(x, y, debiased=debiased), rel=1e-10)


@pytest.mark.parametrize("bad", [np.array(list("abcdefghijklmno")), np.arange(15.0) + 1j])
def test_rdm_inputs_of_the_wrong_kind_are_refused(bad):
    with pytest.raises(ArgumentError, match=r"\ba\b"):  # the message names the argument
        rsa.compare(bad, np.arange(15.0))
    with pytest.raises(NeurotkError):
        rsa.compare(np.array([None] * 15), np.arange(15.0))


@pytest.mark.parametrize("bad", [np.float64(1), 3, "traces.npy", None])
def test_affinity_tensor_refuses_what_is_not_recordings(bad):
    with pytest.raises(NeurotkError, match="recordings"):
        connectome.affinity_tensor(bad)


@pytest.mark.parametrize("scale", [1e300, 1e-300])
def test_ntf_at_extreme_scales_fits_as_at_unit_scale(scale):
    rng = np.random.default_rng(2)
    truth = [rng.random((n, 2)) for n in (8, 6, 5)]
    x = connectome.reconstruct(truth)
    plain = connectome.ntf(x, rank=2, random_state=0)
    scaled = connectome.ntf(x * scale, rank=2, random_state=0)
    assert scaled.error == pytest.approx(plain.error, abs=1e-9)
    # the model reproduces the scaled data: reconstruct / scale equals the unit-scale model
    np.testing.assert_allclose(connectome.reconstruct(scaled.factors) / scale,
                               connectome.reconstruct(plain.factors), rtol=1e-6, atol=1e-9)


def test_to_nifti_refuses_values_that_do_not_fit_the_dtype(tmp_path):
    import nibabel as nib

    from neurotk.io import load_fmri, to_nifti

    rec = load_fmri(__import__("pathlib").Path(nib.__file__).parent / "tests" / "data" / "functional.nii", tr=2.0)
    with pytest.raises(ArgumentError, match="outside dtype=int8's range -128 to 127"):
        to_nifti(np.full(rec.n_units, 1e6), rec, path=tmp_path / "x.nii", dtype=np.int8)
    assert not (tmp_path / "x.nii").exists()
    img = to_nifti(np.full(rec.n_units, 100.0), rec, dtype=np.int8)  # values that fit are written as they are
    assert np.asarray(img.dataobj).max() == 100


def test_demo_out_that_is_a_file_fails_before_any_work(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "report.txt"
    target.write_text("keep me")
    done = subprocess.run([sys.executable, "-c", "import sys; from neurotk.cli import main; sys.exit(main())",
                           "demo", "--out", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "is an existing file" in done.stderr and "Traceback" not in done.stderr
    assert target.read_text() == "keep me"


def test_atlas_labels_beyond_exact_floats_are_refused(tmp_path):
    import nibabel as nib

    from neurotk import DataFormatError
    from neurotk.io import load_fmri

    bold = np.random.default_rng(0).normal(100, 1, size=(3, 3, 2, 10)).astype(np.float32)
    atlas = np.zeros((3, 3, 2), np.float32)
    atlas[0, 0, 0], atlas[1, 1, 1] = 3.0, 1e20
    nib.save(nib.Nifti1Image(bold, np.eye(4)), tmp_path / "bold.nii")
    nib.save(nib.Nifti1Image(atlas, np.eye(4)), tmp_path / "atlas.nii")
    with pytest.raises(DataFormatError, match=r"label 1e\+20 is beyond"):
        load_fmri(tmp_path / "bold.nii", tr=2.0, atlas=tmp_path / "atlas.nii")
    atlas[1, 1, 1] = 2.0
    nib.save(nib.Nifti1Image(atlas, np.eye(4)), tmp_path / "atlas.nii")
    rec = load_fmri(tmp_path / "bold.nii", tr=2.0, atlas=tmp_path / "atlas.nii")
    assert sorted(set(rec.units["roi"])) == [0, 2, 3]


def test_allen_nan_image_index_and_infinite_dff_are_refused(tmp_path):
    import sys
    from pathlib import Path

    import h5py

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))  # the Allen file writer of tests/io
    from test_allen import DFF, PRES, write_2p

    from neurotk import DataFormatError
    from neurotk.io import load_allen

    path, _ = write_2p(tmp_path / "nan_index.nwb")
    with h5py.File(path, "a") as f:
        data = f[f"{PRES}/natural_scenes_stimulus/data"][()].astype(np.float64)
        data[2] = np.nan
        del f[f"{PRES}/natural_scenes_stimulus/data"]
        f.create_dataset(f"{PRES}/natural_scenes_stimulus/data", data=data)
    with pytest.raises(DataFormatError, match=r"image index \(frame\) is missing"):
        load_allen(path, stimulus="natural_scenes")
    path, _ = write_2p(tmp_path / "inf.nwb")
    with h5py.File(path, "a") as f:
        f[f"{DFF}/data"][1, 40] = np.inf
    with pytest.raises(DataFormatError, match=r"infinite values \(cells \[1\]\)"):
        load_allen(path, stimulus="natural_scenes")


def test_allen_frame_duration_beyond_int64_is_named_as_given(tmp_path):
    """A frame index of 1e300 was cast to int64 first and reported as -9223372036854775808."""
    import sys
    from pathlib import Path

    import h5py

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "io"))  # the Allen file writer of tests/io
    from test_allen import PRES, write_2p

    from neurotk import DataFormatError
    from neurotk.io import load_allen

    path, _ = write_2p(tmp_path / "huge_frame.nwb")
    name = f"{PRES}/natural_scenes_stimulus/frame_duration"
    with h5py.File(path, "a") as f:
        frames = f[name][()].astype(np.float64)
        frames[3, 1] = 1e300
        del f[name]
        f.create_dataset(name, data=frames)
    with pytest.raises(DataFormatError, match=r"row 3 is \[\d+, 1e\+300\]; expected 0 <= start <= end") as info:
        load_allen(path, stimulus="natural_scenes")
    assert "-9223372036854775808" not in str(info.value)
