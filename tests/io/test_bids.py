"""neurotk.io.read_bids_run: one BIDS fMRI run (bold + JSON sidecar + events.tsv [+ fMRIPrep
confounds]) -> (Recording, events), on runs written here with nibabel and pandas and on the
real studyforrest localizer run in ../shared/realdata (skipped when absent).

The GLM of the real run is checked against nilearn's FirstLevelModel (the reference; skipped
without nilearn) and the face > house contrast must find a cluster of face-selective voxels.
"""

import hashlib
import json
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.stats
from scipy import ndimage

from neurotk import DataFormatError, NeurotkWarning
from neurotk.encoding import glm
from neurotk.errors import ArgumentError
from neurotk.io import load_fmri, read_bids_run, to_nifti

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
LOCALIZER = REALDATA / "studyforrest_localizer"
LOCALIZER_BOLD = LOCALIZER / "sub-02_task-oneback_run-1_bold.nii.gz"
needs_localizer = pytest.mark.skipif(not LOCALIZER_BOLD.exists(), reason=f"{LOCALIZER_BOLD} is absent")

TR = 1.5
N_VOLUMES = 120
SHAPE = (5, 4, 3)


def events_of_run(rng):
    onsets = np.arange(6.0, N_VOLUMES * TR - 20, 9.0)
    types = np.array(["face", "house", "body"])[rng.permutation(np.arange(onsets.size) % 3)]
    return pd.DataFrame({"onset": onsets + rng.uniform(0, 1, onsets.size), "duration": 3.0, "trial_type": types})


def bold_data(rng, events):
    """Voxels with face and house responses (a double-gamma HRF written here) plus noise."""
    t = np.arange(N_VOLUMES) * TR
    dt = 0.1
    grid = np.arange(0, N_VOLUMES * TR, dt)
    kernel_t = np.arange(0, 32, dt)
    kernel = scipy.stats.gamma.pdf(kernel_t, 6) - scipy.stats.gamma.pdf(kernel_t, 16) / 6
    responses = {}
    for cond in ("face", "house", "body"):
        box = np.zeros(grid.size)
        for onset, duration in events.loc[events.trial_type == cond, ["onset", "duration"]].to_numpy():
            box[(grid >= onset) & (grid < onset + duration)] = 1.0
        responses[cond] = np.interp(t, grid, np.convolve(box, kernel)[: grid.size] * dt)
    n_vox = int(np.prod(SHAPE))
    weights = rng.normal(size=(3, n_vox)) * 3
    signal = np.column_stack([responses[c] for c in ("face", "house", "body")]) @ weights
    data = 500 + signal + rng.normal(scale=1.0, size=(N_VOLUMES, n_vox)) + np.linspace(0, 5, N_VOLUMES)[:, None]
    return data.T.reshape(SHAPE + (N_VOLUMES,)).astype(np.float32)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """A BIDS dataset written with nibabel/pandas/json: sidecars at two levels (inheritance)."""
    root = tmp_path_factory.mktemp("bids")
    rng = np.random.default_rng(5)
    (root / "dataset_description.json").write_text(json.dumps({"Name": "test", "BIDSVersion": "1.9.0"}))
    # top-level sidecar: TR and slice timing for every run of the task
    (root / "task-faces_bold.json").write_text(json.dumps({
        "RepetitionTime": TR, "SliceTiming": [0.0, 0.5, 1.0], "TaskName": "faces", "EchoTime": 0.03}))
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    stem = "sub-01_task-faces_run-1"
    events = events_of_run(rng)
    data = bold_data(rng, events)
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 3.3, 1.0]))
    img.header.set_zooms((3.0, 3.0, 3.3, 9.0))  # a wrong header TR: the sidecar decides
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, func / f"{stem}_bold.nii.gz")
    (func / f"{stem}_bold.json").write_text(json.dumps({"EchoTime": 0.025}))  # run level overrides EchoTime
    events.assign(stim_file="x.png").to_csv(func / f"{stem}_events.tsv", sep="\t", index=False, na_rep="n/a")
    confounds = pd.DataFrame({
        "trans_x": rng.normal(size=N_VOLUMES), "rot_z": rng.normal(size=N_VOLUMES),
        "framewise_displacement": np.r_[np.nan, rng.uniform(0, 0.3, N_VOLUMES - 1)]})
    confounds.to_csv(func / f"{stem}_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a")
    return {"root": root, "bold": func / f"{stem}_bold.nii.gz", "events": events, "data": data,
            "confounds": confounds, "func": func, "stem": stem}


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_read_bids_run_finds_sidecars_events_and_data(dataset):
    before = digest(dataset["root"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeurotkWarning)
        with pytest.raises(NeurotkWarning, match="differs from the NIfTI header's 9 s"):
            read_bids_run(dataset["bold"])
    with pytest.warns(NeurotkWarning, match="sidecar's RepetitionTime 1.5 s differs"):
        rec, events = read_bids_run(dataset["bold"])
    data = dataset["data"]
    # the data: load_fmri's voxels (default mask: every voxel varies), bit for bit as nibabel reads them
    expected = nib.load(dataset["bold"]).get_fdata()
    ijk = rec.units[["i", "j", "k"]].to_numpy()
    assert rec.shape == (N_VOLUMES, int(np.prod(SHAPE)))
    assert np.array_equal(rec.data, expected[ijk[:, 0], ijk[:, 1], ijk[:, 2]].T)
    assert np.allclose(rec.data, data[ijk[:, 0], ijk[:, 1], ijk[:, 2]].T)
    # inheritance: TR and SliceTiming from the top-level sidecar, EchoTime from the run's own
    meta = rec.meta
    assert meta["tr"] == TR and meta["tr_source"] == "sidecar" and meta["sampling_rate"] == 1 / TR
    assert meta["slice_timing"] == [0.0, 0.5, 1.0]
    assert meta["sidecar"]["EchoTime"] == 0.025 and meta["sidecar"]["TaskName"] == "faces"
    assert [Path(p).name for p in meta["sidecar_paths"]] == ["task-faces_bold.json", f"{dataset['stem']}_bold.json"]
    assert meta["entities"] == {"sub": "01", "task": "faces", "run": "1"} and meta["task"] == "faces"
    assert np.allclose(rec.samples["time"], np.arange(N_VOLUMES) * TR)
    # events: the file's table with float onsets and durations
    assert Path(meta["events_path"]).name == f"{dataset['stem']}_events.tsv"
    assert events.columns.tolist() == ["onset", "duration", "trial_type", "stim_file"]
    assert np.allclose(events["onset"], dataset["events"]["onset"])
    assert events["trial_type"].tolist() == dataset["events"]["trial_type"].tolist()
    assert meta["events"].equals(events)
    # the folder works as well as the file; files are never modified
    with pytest.warns(NeurotkWarning):
        rec2, _ = read_bids_run(dataset["root"])
    assert np.array_equal(rec2.data, rec.data)
    assert digest(dataset["root"]) == before


def test_read_bids_run_ready_for_the_glm(dataset):
    with pytest.warns(NeurotkWarning):
        rec, events = read_bids_run(dataset["bold"], confounds=["trans_x", "framewise_displacement"])
    assert rec.meta["confounds"] == ["trans_x", "framewise_displacement"]
    fd = rec.samples["framewise_displacement"].to_numpy()
    assert fd[0] == 0.0 and np.allclose(fd[1:], dataset["confounds"]["framewise_displacement"][1:])
    assert np.allclose(rec.samples["trans_x"], dataset["confounds"]["trans_x"])
    betas = glm(rec, events, confounds=rec.samples[rec.meta["confounds"]])
    assert betas.samples["condition"].tolist() == ["body", "face", "house"]
    plain = glm(rec, events)
    assert not np.allclose(plain.data, betas.data)
    with pytest.warns(NeurotkWarning):
        everything, _ = read_bids_run(dataset["bold"], confounds=True)
    assert everything.meta["confounds"] == ["trans_x", "rot_z", "framewise_displacement"]
    with pytest.warns(NeurotkWarning):
        one, _ = read_bids_run(dataset["bold"], confounds="rot_z")
    assert one.meta["confounds"] == ["rot_z"]


def test_load_fmri_takes_the_tr_of_a_bids_sidecar(dataset):
    rec = load_fmri(dataset["bold"])
    assert rec.meta["tr"] == TR and np.allclose(rec.samples["time"], np.arange(N_VOLUMES) * TR)
    assert load_fmri(dataset["bold"], tr=2.5).meta["tr"] == 2.5
    # not a BIDS name: the header, as before
    img = nib.load(dataset["bold"])
    assert load_fmri(img).meta["tr"] == 9.0


def test_header_tr_when_the_run_has_no_sidecar(tmp_path, dataset):
    img = nib.Nifti1Image(dataset["data"], np.eye(4))
    img.header.set_zooms((1.0, 1.0, 1.0, 2.0))
    nib.save(img, tmp_path / "sub-07_task-rest_bold.nii")
    with pytest.warns(NeurotkWarning, match="no JSON sidecar.*header's repetition time 2 s"):
        rec, events = read_bids_run(tmp_path / "sub-07_task-rest_bold.nii")
    assert rec.meta["tr"] == 2.0 and rec.meta["tr_source"] == "header"
    assert events.empty and events.columns.tolist() == ["onset", "duration", "trial_type"]  # rest: no events
    rec, _ = read_bids_run(tmp_path / "sub-07_task-rest_bold.nii", tr=1.25)  # tr= overrides, no warning
    assert rec.meta["tr"] == 1.25 and rec.meta["tr_source"] == "argument"


def write_run(folder, sidecar=None, events=None, name="sub-01_task-x_bold.nii.gz"):
    folder.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).normal(100, 1, size=(3, 3, 2, 30)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), folder / name)
    stem = name.split("_bold")[0]
    if sidecar is not None:
        (folder / f"{stem}_bold.json").write_text(json.dumps(sidecar))
    if events is not None:
        events.to_csv(folder / f"{stem}_events.tsv", sep="\t", index=False, na_rep="n/a")
    return folder / name


def test_bad_runs_get_clear_errors(tmp_path):
    ev = pd.DataFrame({"onset": [1.0, 5.0], "duration": [1.0, 1.0], "trial_type": ["a", "b"]})
    # events without onset / duration: the file and the column
    bold = write_run(tmp_path / "a", {"RepetitionTime": 2.0}, ev.drop(columns="onset"))
    with pytest.raises(DataFormatError, match=r"sub-01_task-x_events.tsv: no column 'onset'.*expected the BIDS"):
        read_bids_run(bold)
    bold = write_run(tmp_path / "b", {"RepetitionTime": 2.0}, ev.drop(columns="duration"))
    with pytest.raises(DataFormatError, match=r"no column 'duration'"):
        read_bids_run(bold)
    bold = write_run(tmp_path / "c", {"RepetitionTime": 2.0}, ev.assign(duration=[1.0, np.nan]))
    with pytest.raises(DataFormatError, match=r"events.tsv, row 1, column 'duration': n/a; expected a finite"):
        read_bids_run(bold)
    # a sidecar without RepetitionTime: named, with the fields it has
    bold = write_run(tmp_path / "d", {"EchoTime": 0.03}, ev)
    with pytest.raises(DataFormatError, match=r"sub-01_task-x_bold.json\) has no field 'RepetitionTime'.*EchoTime"):
        read_bids_run(bold)
    bold = write_run(tmp_path / "e", {"RepetitionTime": "2s"}, ev)
    with pytest.raises(DataFormatError, match=r"RepetitionTime = '2s'; expected a positive number"):
        read_bids_run(bold)
    bold = write_run(tmp_path / "f", {"RepetitionTime": 2.0, "SliceTiming": [0.0, 2.5]}, ev)
    with pytest.raises(DataFormatError, match=r"SliceTiming has 1 values outside \[0, RepetitionTime = 2\)"):
        read_bids_run(bold)
    # names, folders, arguments
    bold = write_run(tmp_path / "g", {"RepetitionTime": 2.0}, ev, name="run1.nii.gz")
    with pytest.raises(DataFormatError, match="not a BIDS image name"):
        read_bids_run(bold)
    write_run(tmp_path / "h", {"RepetitionTime": 2.0}, ev, name="sub-01_task-x_run-1_bold.nii.gz")
    write_run(tmp_path / "h", {"RepetitionTime": 2.0}, ev, name="sub-01_task-x_run-2_bold.nii.gz")
    with pytest.raises(DataFormatError, match=r"holds 2 bold images .*run-1_bold.nii.gz, .*run-2.*expected one run"):
        read_bids_run(tmp_path / "h")
    with pytest.raises(DataFormatError, match="no such file"):
        read_bids_run(tmp_path / "missing_bold.nii.gz")
    bold = write_run(tmp_path / "i", {"RepetitionTime": 2.0}, ev)
    with pytest.raises(DataFormatError, match=r"no fMRIPrep confounds table beside it; expected .*"
                                              r"sub-01_task-x_desc-confounds_timeseries.tsv"):
        read_bids_run(bold, confounds=True)
    with pytest.raises(ArgumentError, match="confounds=3"):
        read_bids_run(bold, confounds=3)
    with pytest.raises(ArgumentError, match="bold_path has type"):
        read_bids_run(np.zeros((3, 3, 3, 4)))


def test_confounds_errors(dataset):
    with pytest.warns(NeurotkWarning), pytest.raises(DataFormatError, match=r"no confounds column 'csf'.*trans_x"):
        read_bids_run(dataset["bold"], confounds=["trans_x", "csf"])
    short = dataset["func"].parent / "short_confounds.tsv"
    dataset["confounds"].iloc[:-3].to_csv(short, sep="\t", index=False, na_rep="n/a")
    try:
        with pytest.warns(NeurotkWarning), pytest.raises(DataFormatError, match=r"117 rows, but the image .* 120 volumes"):
            read_bids_run(dataset["bold"], confounds=short)
    finally:
        short.unlink()


# --------------------------------------------------------------------------- agreement with nilearn
def nilearn_betas(img, mask, events, tr, contrast=None):
    from nilearn.glm.first_level import FirstLevelModel

    model = FirstLevelModel(t_r=tr, slice_time_ref=0.0, hrf_model="spm", drift_model="cosine", high_pass=1 / 128,
                            noise_model="ols", mask_img=nib.Nifti1Image(mask.astype(np.uint8), img.affine),
                            signal_scaling=False, minimize_memory=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nilearn: "a mask was given at masker creation"
        model.fit(img, events=events[["onset", "duration", "trial_type"]])
        conds = sorted(events["trial_type"].unique())
        betas = np.array([model.compute_contrast(c, output_type="effect_size").get_fdata()[mask] for c in conds])
        t = None if contrast is None else model.compute_contrast(contrast, stat_type="t", output_type="stat").get_fdata()[mask]
    return betas, t


def test_glm_agrees_with_nilearn_on_a_written_run(dataset):
    pytest.importorskip("nilearn")
    img = nib.load(dataset["bold"])
    mask = np.ones(SHAPE, dtype=bool)
    with pytest.warns(NeurotkWarning):
        rec, events = read_bids_run(dataset["bold"], mask=mask)
    ref, ref_t = nilearn_betas(img, mask, events, TR, "face - house")
    default = glm(rec, events).data  # rows in condition order: body, face, house, like nilearn's
    assert np.corrcoef(default.ravel(), ref.ravel())[0, 1] >= 0.999
    same = glm(rec, events, hrf_convention="nilearn")
    np.testing.assert_allclose(same.data, ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    t = glm(rec, events, hrf_convention="nilearn", stat="t", contrasts={"face - house": {"face": 1, "house": -1}})
    np.testing.assert_allclose(t.data[0], ref_t, rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def localizer():
    img = nib.load(LOCALIZER_BOLD)
    mean = np.asanyarray(img.dataobj).mean(axis=-1)
    mask = mean > 0.2 * mean.max()  # an explicit brain mask: mean-intensity threshold
    with pytest.warns(NeurotkWarning, match="no JSON sidecar"):  # the real run ships without one
        rec, events = read_bids_run(LOCALIZER_BOLD, mask=mask)
    return img, mask, rec, events


@needs_localizer
def test_real_localizer_run_reads_with_its_events(localizer):
    img, mask, rec, events = localizer
    assert rec.shape == (156, int(mask.sum())) and rec.meta["tr"] == pytest.approx(2.0, abs=1e-5)
    assert events.shape[0] == 192
    assert events["trial_type"].value_counts().to_dict() == {c: 32 for c in
                                                             ("body", "face", "house", "object", "scene", "scramble")}
    ijk = rec.units[["i", "j", "k"]].to_numpy()[:: 997]
    raw = np.asanyarray(img.dataobj)
    assert np.array_equal(rec.data[:, :: 997], raw[ijk[:, 0], ijk[:, 1], ijk[:, 2]].T.astype(float))


@needs_localizer
def test_real_localizer_face_house_cluster(localizer):
    _, mask, rec, events = localizer
    t = glm(rec, events, stat="t", contrasts={"face > house": {"face": 1, "house": -1}})
    assert t.samples["condition"].tolist() == ["face > house"] and t.samples["n_events"].tolist() == [64]
    tmap = to_nifti(t.data[0], rec, background=0).get_fdata()
    labels, _ = ndimage.label(tmap > 4.0, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    biggest = int(np.argmax(sizes)) + 1
    assert sizes.max() >= 50  # measured: 86 voxels at t > 4 (26-connected), peak t 11.25
    assert tmap[labels == biggest].max() > 8
    assert (tmap[mask] < -4).sum() > 0  # house > face voxels exist too (the contrast is signed)


@needs_localizer
def test_real_localizer_betas_agree_with_nilearn(localizer):
    pytest.importorskip("nilearn")
    img, mask, rec, events = localizer
    rec = rec.replace(meta={**rec.meta, "tr": 2.0})  # nilearn's t_r; the header says 2.0000007
    ref, ref_t = nilearn_betas(img, mask, events, 2.0, "face - house")
    default = glm(rec, events)
    r = np.corrcoef(default.data.ravel(), ref.ravel())[0, 1]
    assert r >= 0.999  # measured: 0.99982
    same = glm(rec, events, hrf_convention="nilearn")
    r_same = np.corrcoef(same.data.ravel(), ref.ravel())[0, 1]
    assert 1 - r_same < 1e-10 and 1 - r_same < (1 - r) / 1e3
    np.testing.assert_allclose(same.data, ref, rtol=1e-8, atol=1e-8 * np.abs(ref).max())
    t = glm(rec, events, stat="t", hrf_convention="nilearn", contrasts={"fh": {"face": 1, "house": -1}})
    np.testing.assert_allclose(t.data[0], ref_t, rtol=1e-8, atol=1e-8)


# --------------------------------------------------------------------------- whole datasets
def _dataset_tree(root):
    names = ["sub-01/func/sub-01_task-faces_run-1_bold.nii.gz", "sub-01/func/sub-01_task-faces_run-2_bold.nii.gz",
             "sub-01/func/sub-01_task-rest_bold.nii.gz", "sub-02/ses-b/func/sub-02_ses-b_task-faces_run-1_bold.nii",
             "derivatives/fmriprep/sub-01/func/sub-01_task-faces_run-1_space-MNI_desc-preproc_bold.nii.gz",
             "sub-01/func/sub-01_task-faces_run-1_events.tsv", "sub-01/anat/sub-01_T1w.nii.gz", "README"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"")
    return root


def test_bids_runs_by_file_names_and_filters(tmp_path):
    from neurotk.io import bids_runs

    root = _dataset_tree(tmp_path / "ds")
    table = bids_runs(root, use_pybids=False)
    assert [p.relative_to(root).as_posix() for p in table["path"]] == [
        "sub-01/func/sub-01_task-faces_run-1_bold.nii.gz", "sub-01/func/sub-01_task-faces_run-2_bold.nii.gz",
        "sub-01/func/sub-01_task-rest_bold.nii.gz", "sub-02/ses-b/func/sub-02_ses-b_task-faces_run-1_bold.nii"]
    assert table["sub"].tolist() == ["01", "01", "01", "02"] and table["run"].tolist()[:2] == [1, 2]
    faces = bids_runs(root, use_pybids=False, task="faces", run=[1])
    assert faces["sub"].tolist() == ["01", "02"]
    with pytest.raises(DataFormatError, match="no run matches"):
        bids_runs(root, use_pybids=False, task="motor")
    with pytest.raises(ArgumentError, match="no entity 'echo'"):
        bids_runs(root, use_pybids=False, echo=1)
    with pytest.raises(DataFormatError, match="not a folder"):
        bids_runs(root / "missing")


def test_bids_runs_agree_with_pybids(tmp_path):
    pytest.importorskip("bids")
    from neurotk.io import bids_runs

    root = _dataset_tree(tmp_path / "ds")
    ours = bids_runs(root, use_pybids=False)
    theirs = bids_runs(root, use_pybids=True)
    pd.testing.assert_frame_equal(ours.astype(str), theirs[ours.columns].astype(str))
    pd.testing.assert_frame_equal(bids_runs(root, use_pybids=False, sub="01", task="faces").astype(str),
                                  bids_runs(root, use_pybids=True, sub="01", task="faces").astype(str))
