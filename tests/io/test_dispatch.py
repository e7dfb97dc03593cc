"""neurotk.load picks the loader from the file's format (and content, for NWB), and always
returns one kind of thing: a Recording, a dict of name -> Recording, or an RDM stack.

Each format is tested on a file written here with the format's own writer (pynwb, nibabel,
numpy, scipy.io.savemat); every file in ../shared/realdata is loaded too when present.
"""

import json
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import neurotk
from neurotk import DataFormatError, Recording
from neurotk.io.dispatch import detect_format

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()


def _kind(obj):
    if isinstance(obj, dict):
        assert obj and all(isinstance(v, Recording) for v in obj.values())
        return "dict"
    return type(obj).__name__


def test_arrays(tmp_path):
    np.savez(tmp_path / "net.npz", conv=np.zeros((4, 2, 2, 2)), stimulus=[1, 2, 3, 4])
    layers = neurotk.load(tmp_path / "net.npz")
    assert _kind(layers) == "dict" and layers["conv"].shape == (4, 8)


def test_nwb_spikes_are_counted_per_interval(tmp_path):
    from neurotk.datasets import make_demo_session
    from neurotk.io import count_spikes, read_spikes

    path = make_demo_session(tmp_path / "demo.nwb", n_stimuli=10, n_repeats=2, n_units_per_area=3)
    assert detect_format(path) == "nwb"
    spikes = read_spikes(path)
    names = spikes.interval_names
    loaded = neurotk.load(path)
    # one table: a Recording of that table; several: one Recording each
    recs = {names[0]: loaded} if len(names) == 1 else loaded
    assert set(recs) == set(names)
    for name, rec in recs.items():
        table = spikes.intervals(name)
        assert isinstance(rec, Recording) and rec.shape == (len(table), spikes.n_units)
        # counts over each interval's own [start_time, stop_time), against a plain loop
        starts, stops = table["start_time"].to_numpy(), table["stop_time"].to_numpy()
        for col, unit in enumerate(spikes.unit_ids[:3]):
            t = spikes.times(unit)
            expected = [np.sum((t >= a) & (t < b)) for a, b in zip(starts, stops)]
            np.testing.assert_array_equal(rec.data[:, col], expected)
    chosen = neurotk.load(path, intervals=names[0], window=(0.0, 0.1))
    np.testing.assert_array_equal(chosen.data, count_spikes(path, names[0], window=(0.0, 0.1)).data)
    binned = neurotk.load(path, bin_size=0.5)
    assert isinstance(binned, Recording) and binned.data.sum() == spikes.n_spikes


def test_nwb_spikes_without_stop_times_count_a_fixed_window(tmp_path):
    from pynwb import NWBHDF5IO, NWBFile
    from datetime import datetime, timezone

    nwb = NWBFile("s", "id", datetime(2020, 1, 1, tzinfo=timezone.utc))
    nwb.add_unit(spike_times=np.arange(0.0, 20.0, 0.1))
    for k in range(5):
        nwb.add_trial(start_time=2.0 * k, stop_time=np.nan)
    path = tmp_path / "trials.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    with pytest.warns(neurotk.NeurotkWarning, match="median time between onsets"):
        rec = neurotk.load(path)
    assert rec.shape == (5, 1) and rec.meta["window"] == (0.0, 2.0)
    np.testing.assert_array_equal(rec.data[:, 0], 20)  # 2 s at 10 spikes/s


def test_ophys_nwb_is_a_recording(tmp_path):
    from test_ophys import write_ophys

    from neurotk.io import read_ophys

    path = tmp_path / "ophys.nwb"
    write_ophys(path, bare=True)  # one bare series
    assert detect_format(path) == "ophys"
    rec = neurotk.load(path)
    assert isinstance(rec, Recording) and "time" in rec.samples
    np.testing.assert_array_equal(rec.data, read_ophys(path).data)
    # dF/F and a stimulus table named as an Allen Visual Coding stimulus: Allen's NWB 2 layout
    allen = tmp_path / "allen.nwb"
    write_ophys(allen)
    assert detect_format(allen) == "allen"
    assert _kind(neurotk.load(allen)) == "dict"


def test_suite2p_folder_and_its_files(tmp_path):
    from test_suite2p import write_plane

    plane = tmp_path / "suite2p" / "plane0"
    arrays = write_plane(plane, n_rois=6, n_frames=30, seed=1)
    cells = arrays["iscell"][:, 0] == 1
    for target in (plane, tmp_path, plane / "F.npy", plane / "iscell.npy"):
        assert detect_format(target) == "suite2p"
        rec = neurotk.load(target)
        assert isinstance(rec, Recording) and rec.shape == (30, int(cells.sum()))  # frames x cells
        expected = (arrays["F"] - np.float32(0.7) * arrays["Fneu"])[cells].T
        np.testing.assert_allclose(rec.data, expected, rtol=0, atol=1e-4)  # float32 inputs
    np.save(tmp_path / "F.npy", np.zeros((3, 4)))  # a lone F.npy beside nothing else is still an array file
    lone = tmp_path / "lone"
    lone.mkdir()
    np.save(lone / "acts.npy", np.zeros((3, 4)))
    assert detect_format(lone / "acts.npy") == "arrays"


def test_mat_rdms_are_an_rdm_stack(tmp_path):
    from scipy.io import savemat
    from scipy.spatial.distance import pdist, squareform

    rng = np.random.default_rng(0)
    square = squareform(pdist(rng.normal(size=(7, 3))))
    savemat(tmp_path / "r.mat", {"rdm": square})
    assert detect_format(tmp_path / "r.mat") == "rdms"
    rdms = neurotk.load(tmp_path / "r.mat")
    assert type(rdms).__name__ == "RDM"
    np.testing.assert_allclose(rdms.vectors[0], squareform(square, checks=False))


def _bids_run(folder, name="sub-01_task-x_run-1_bold.nii.gz", tr=1.5):
    folder.mkdir(parents=True, exist_ok=True)
    data = np.random.default_rng(0).normal(100, 1, size=(3, 3, 2, 30)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), folder / name)
    stem = name.split("_bold")[0]
    (folder / f"{stem}_bold.json").write_text(json.dumps({"RepetitionTime": tr}))
    pd.DataFrame({"onset": [3.0, 18.0], "duration": [6.0, 6.0], "trial_type": ["a", "b"]}).to_csv(
        folder / f"{stem}_events.tsv", sep="\t", index=False)
    return folder / name


def test_bids_run_file_and_folder(tmp_path):
    bold = _bids_run(tmp_path / "sub-01" / "func")
    assert detect_format(bold) == "bids"
    rec = neurotk.load(bold)
    assert isinstance(rec, Recording) and rec.shape == (30, 18)
    np.testing.assert_allclose(rec.samples["time"].to_numpy()[:3], [0.0, 1.5, 3.0])
    assert rec.meta["events"]["trial_type"].tolist() == ["a", "b"]
    assert isinstance(neurotk.load(tmp_path / "sub-01"), Recording)  # a folder with one run (in func/)
    _bids_run(tmp_path / "sub-01" / "func", name="sub-01_task-x_run-2_bold.nii.gz")
    runs = neurotk.load(tmp_path / "sub-01" / "func")
    assert _kind(runs) == "dict" and sorted(runs) == ["sub-01_task-x_run-1", "sub-01_task-x_run-2"]
    assert sorted(neurotk.load(tmp_path)) == sorted(runs)  # the dataset's top folder


def test_allen_layouts_are_recognised_by_content(tmp_path):
    twop = tmp_path / "ophys.nwb"
    with h5py.File(twop, "w") as f:
        f.create_group("processing/brain_observatory_pipeline/DfOverF")
    assert detect_format(twop) == "allen"
    ecephys = tmp_path / "session.nwb"
    with h5py.File(ecephys, "w") as f:
        f.create_dataset("units/peak_channel_id", data=[1, 2])
        f.create_group("intervals/natural_scenes_presentations")
    assert detect_format(ecephys) == "allen"
    assert detect_format(tmp_path / "x.nii.gz") == "nifti"


def test_unknown_missing_and_corrupt_files(tmp_path):
    with pytest.raises(DataFormatError, match="unknown format '.csv'"):
        neurotk.load(tmp_path / "table.csv")
    with pytest.raises(DataFormatError, match="no such file"):
        neurotk.load(tmp_path / "missing.nwb")
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(DataFormatError, match="bad.nwb"):
        neurotk.load(bad)
    with pytest.raises(neurotk.ArgumentError, match="file path"):
        neurotk.load(42)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="neither a suite2p output folder"):
        neurotk.load(empty)


#: Every real file and the kind neurotk.load gives it (the loaders page's table).
REAL = {
    "dandicli_sub-anm369963_ses-20170228.nwb": "Recording",
    "dandicli_sub-anm372793_ses-20170508.nwb": "Recording",
    "pynapple_A8604-211122.nwb": "Recording",
    "pynapple_sub-4_ses-4_ecephys+image.nwb": "dict",
    "pynwb_496908818s.nwb": "dict",
    "rsa92/92_brainRDMs.mat": "RDM",
    "rsa92/92_modelRDMs.mat": "RDM",
    "rsa92/Kriegeskorte_Neuron2008_supplementalData.mat": "RDM",
    "rsa92/faceAnimateInaniClustersRDM.mat": "RDM",
    "rsa92/rdm92_V1model.mat": "RDM",
    "studyforrest_localizer/sub-02_task-oneback_run-1_bold.nii.gz": "Recording",
    "suite2p_pynapple": "Recording",
}


@pytest.mark.skipif(not REALDATA.is_dir(), reason="../shared/realdata is absent")
@pytest.mark.parametrize("name", sorted(REAL))
def test_every_real_file_loads_with_no_flag(name):
    import warnings

    path = REALDATA / name
    if not path.exists():
        pytest.skip(f"{name} is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", neurotk.NeurotkWarning)  # unsorted spikes, NaN stop times ...
        obj = neurotk.load(path)
    assert _kind(obj) == REAL[name]
