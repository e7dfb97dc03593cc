"""neurotk.load picks the loader from the file's format (and content, for NWB)."""

import h5py
import numpy as np
import pytest

import neurotk
from neurotk import DataFormatError
from neurotk.io.dispatch import detect_format


def test_arrays_and_nwb_spikes(tmp_path):
    np.savez(tmp_path / "net.npz", conv=np.zeros((4, 2, 2, 2)), stimulus=[1, 2, 3, 4])
    layers = neurotk.load(tmp_path / "net.npz")
    assert layers["conv"].shape == (4, 8)
    from neurotk.datasets import make_demo_session

    path = make_demo_session(tmp_path / "demo.nwb", n_stimuli=10, n_repeats=1, n_units_per_area=3)
    spikes = neurotk.load(path)
    assert type(spikes).__name__ == "SpikeTrains" and len(spikes.units) == 9
    assert detect_format(path) == "nwb"


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
