"""Reading NWB spike trains lazily (read_spikes, SpikeTrains), checked against pynwb and numpy.

The units table, the electrodes join, interval tables, selections, the file handle and
the checks of spike times (NaN, unsorted, bad index) on every pass; binning, counting
and PSTHs are tested in test_spikes.py. Files are genuine NWB: written by make_demo_session and by pynwb here; broken files are
copies edited with h5py. The real files of other labs in ../shared/realdata are read when
that folder exists (a fresh clone has none: those tests skip).
"""

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from neurotk import ArgumentError, DataFormatError, NeurotkWarning
from neurotk.io import SpikeTrains, bin_spikes, count_spikes, psth, read_spikes

pynwb = pytest.importorskip("pynwb")

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
# the reference counts (the demo and handmade files are fixtures of conftest.py)
from nwb_files import flat_spikes, reference_counts, sha256


def broken_copy(src, dst, edit):
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        edit(f)
    return dst


# --------------------------------------------------------------------------- reading
def test_units_table_and_intervals_match_pynwb(demo):
    before = sha256(demo)
    spikes = read_spikes(demo)
    with pynwb.NWBHDF5IO(str(demo), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        pres = nwb.intervals["stimulus_presentations"].to_dataframe()
        electrodes = nwb.electrodes.to_dataframe()
        counts = [len(nwb.units["spike_times"][i]) for i in range(len(units))]
    table = spikes.units
    assert table["unit_id"].tolist() == units.index.tolist()
    for col in ("area", "quality"):
        assert table[col].tolist() == units[col].tolist()
    np.testing.assert_array_equal(table["depth"], units["depth"])
    peak = np.array([e.index[0] for e in units["electrodes"]])
    np.testing.assert_array_equal(table["electrode"], peak)
    assert table["location"].tolist() == electrodes.loc[peak, "location"].tolist()
    assert table["electrode_group"].tolist() == electrodes.loc[peak, "group_name"].tolist()
    np.testing.assert_array_equal(spikes.spike_counts, counts)
    assert spikes.n_spikes == sum(counts) and len(spikes) == len(units)
    ids, trains = flat_spikes(demo)
    lo, hi = spikes.time_range
    assert lo == min(t.min() for t in trains) and hi == max(t.max() for t in trains)
    assert spikes.interval_names == ["stimulus_presentations"]
    got = spikes.intervals("stimulus")
    pd.testing.assert_frame_equal(got.drop(columns="id"), pres.reset_index(drop=True), check_dtype=False)
    pd.testing.assert_frame_equal(spikes.intervals(), got)
    np.testing.assert_array_equal(spikes.times(ids[3]), trains[3])
    assert "SpikeTrains" in repr(spikes) and spikes.meta["identifier"] == "neurotk-demo-session-0"
    assert sha256(demo) == before


def test_handmade_file_units_trials_and_named_tables(handmade):
    path, trains = handmade
    spikes = read_spikes(path)
    table = spikes.units
    assert table["unit_id"].tolist() == list(range(100, 107))
    assert table["quality"].tolist() == ["good", "mua"] * 3 + ["good"]
    assert table["location"].tolist() == ["VISp"] * 4 + ["CA1"] * 3
    assert table["electrode_group"].tolist() == ["shank0"] * 4 + ["shank1"] * 3
    np.testing.assert_array_equal(spikes.spike_counts, [len(t) for t in trains])
    trials = spikes.intervals("trials")
    assert len(trials) == 30 and trials["correct"].dtype == bool
    assert trials["stimulus"].tolist() == [k % 4 for k in range(30)]
    assert set(spikes.interval_names) == {"trials", "grating_presentations"}
    assert spikes.intervals("stimulus")["orientation"].tolist() == [45.0 * (k % 4) for k in range(25)]
    assert len(spikes.intervals("grating")) == 25  # part of a name


def test_select_filters_by_unit_columns(demo):
    spikes = read_spikes(demo)
    good = spikes.select("quality == 'good'")
    assert set(good.units["quality"]) == {"good"} and 0 < good.n_units < spikes.n_units
    v1 = read_spikes(demo, units={"area": "V1"})
    assert v1.units["area"].tolist() == ["V1"] * 5
    both = spikes.select({"area": ["V1", "IT"]}).select("quality == 'good'")
    expect = spikes.units.query("area in ['V1', 'IT'] and quality == 'good'")["unit_id"].tolist()
    assert both.unit_ids.tolist() == expect
    full = bin_spikes(spikes, 0.05, start=0.0, stop=25.0)
    part = bin_spikes(demo, 0.05, start=0.0, stop=25.0, units={"area": ["V1", "IT"], "quality": "good"})
    np.testing.assert_array_equal(part.data, full.select(units=full.units["unit_id"].isin(expect).to_numpy()).data)
    assert part.units["unit_id"].tolist() == expect
    assert spikes.n_units == 15  # selections never change their parent
    with pytest.raises(ArgumentError, match="matched no units"):
        spikes.select("depth < -1")
    with pytest.raises(ArgumentError):
        spikes.select("no_such_column == 1")


# --------------------------------------------------------------------------- bad files
def test_nan_and_bad_index_raise(demo, tmp_path):
    def nan(f):
        f["units/spike_times"][5] = np.nan

    def infinite(f):
        f["units/spike_times"][-1] = np.inf

    def not_monotone(f):
        idx = f["units/spike_times_index"]
        idx[2] = idx[1] - 1

    def beyond(f):
        idx = f["units/spike_times_index"]
        idx[-1] = idx[-1] + 10

    def no_units(f):
        del f["units"]

    for edit, match in [(nan, "non-finite"), (infinite, "non-finite")]:
        path = broken_copy(demo, tmp_path / f"{edit.__name__}.nwb", edit)
        before = sha256(path)
        spikes = read_spikes(path)  # lazy: the spikes are checked when read
        for call in (lambda: bin_spikes(path, 0.01), lambda: count_spikes(path),
                     lambda: bin_spikes(read_spikes(path, chunk_size=2), 0.01), lambda: spikes.time_range):
            with pytest.raises(DataFormatError, match=match) as err:
                call()
            assert str(path) in str(err.value) and "units/spike_times" in str(err.value)
        assert sha256(path) == before
    for edit, match in [(not_monotone, "not monotone"), (beyond, "beyond the data"), (no_units, "no Units table")]:
        path = broken_copy(demo, tmp_path / f"{edit.__name__}.nwb", edit)
        with pytest.raises(DataFormatError, match=match) as err:
            read_spikes(path)
        assert str(path) in str(err.value)
    with pytest.raises(DataFormatError, match=r"top-level groups are \[.*'intervals'.*\]"):
        read_spikes(tmp_path / "no_units.nwb")


def write_unsorted(path, trains, order_seed=0):
    """An NWB file written with pynwb whose spike times are stored in a shuffled order for some units."""
    import datetime

    from pynwb import NWBHDF5IO, NWBFile

    rng = np.random.default_rng(order_seed)
    nwb = NWBFile(session_description="unsorted", identifier="unsorted-1",
                  session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC))
    stored = []
    for u, t in enumerate(trains):
        t = rng.permutation(t) if u % 2 == 0 else t  # even units out of order, odd ones ascending
        stored.append(t)
        nwb.add_unit(spike_times=t, id=10 + u)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return stored


def test_unsorted_spike_times_are_sorted_on_read_with_one_warning(tmp_path):
    rng = np.random.default_rng(5)
    sizes = [40, 3, 150, 0, 90, 7, 1]  # unit 2 (150 spikes) is longer than a chunk of 64
    trains = [np.sort(rng.choice(20000, size=n, replace=False)) / 1000.0 for n in sizes]
    path = tmp_path / "unsorted.nwb"
    stored = write_unsorted(path, trains)
    before = sha256(path)
    n_unsorted = sum(1 for t in stored if t.size > 1 and (np.diff(t) < 0).any())  # units 0, 2, 4
    assert n_unsorted == 3
    with pynwb.NWBHDF5IO(str(path), "r") as io:  # pynwb reads the times as stored
        nwb = io.read()
        read_back = [np.asarray(nwb.units["spike_times"][i]) for i in range(len(trains))]
    for got, want in zip(read_back, stored):
        np.testing.assert_array_equal(got, want)
    spikes = read_spikes(path, chunk_size=64)  # no flag
    with pytest.warns(NeurotkWarning, match=r"unsorted\.nwb.*3 of 7 units") as record:
        rec = bin_spikes(spikes, 0.1, start=0.0, stop=20.0)
    assert len([w for w in record if issubclass(w.category, NeurotkWarning)]) == 1
    edges = np.arange(201) * 0.1
    np.testing.assert_array_equal(rec.data, np.column_stack([np.histogram(t, bins=edges)[0] for t in read_back]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeurotkWarning)  # the same units are not reported twice
        onsets = np.arange(0.0, 19.0, 0.7)
        np.testing.assert_array_equal(count_spikes(spikes, onsets, window=(0.0, 0.5)).data,
                                      reference_counts(read_back, onsets, onsets + 0.5))
        got = psth(spikes, onsets, window=(-0.1, 0.3), bin_size=0.1)
        for k, want in enumerate(trains):
            assert spikes.times(10 + k).tolist() == want.tolist()  # sorted on read
    edges = onsets[:, None] + (-0.1 + np.arange(5) * 0.1)[None, :]  # bin k: [onset - 0.1 + 0.1 k, ... + 0.1)
    expect = reference_counts(read_back, edges[:, :-1].ravel(), edges[:, 1:].ravel())
    np.testing.assert_array_equal(got.data, expect)
    # what the chunks hand out: every unit ascending; units up to 64 spikes never cut
    with pytest.warns(NeurotkWarning, match="3 of 7 units"):  # a new SpikeTrains reports them again
        passes = list(read_spikes(path, chunk_size=64).chunks())
    for times, cols, lengths in passes:
        for piece in np.split(times, np.cumsum(lengths)[:-1]):
            assert (np.diff(piece) >= 0).all()
        assert all(len(trains[c]) > 64 or n == len(trains[c]) for c, n in zip(cols, lengths))
    with pytest.warns(NeurotkWarning, match="1 of 1 units"):
        read_spikes(path).times(12)
    assert sha256(path) == before


def test_truncated_and_foreign_files(demo, tmp_path):
    data = Path(demo).read_bytes()
    cut = tmp_path / "cut.nwb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="cut.nwb"):
        bin_spikes(cut, 0.01)
    text = tmp_path / "notes.nwb"
    text.write_text("not hdf5")
    with pytest.raises(DataFormatError, match="HDF5"):
        read_spikes(text)
    empty = tmp_path / "empty.nwb"
    with h5py.File(empty, "w") as f:
        f.create_group("acquisition")
    with pytest.raises(DataFormatError, match=r"\['acquisition'\]"):
        read_spikes(empty)


def test_units_table_in_a_processing_module(demo, tmp_path):
    path = tmp_path / "processing.nwb"
    shutil.copy(demo, path)
    with h5py.File(path, "r+") as f:
        f.require_group("processing").create_group("ecephys")
        f.move("units", "processing/ecephys/units")
    spikes = read_spikes(path)
    assert spikes.meta["units_table"] == "/processing/ecephys/units"
    np.testing.assert_array_equal(bin_spikes(spikes, 0.01).data, bin_spikes(demo, 0.01).data)


def test_units_joined_to_electrodes_by_peak_channel_id(demo, tmp_path):
    # the Allen Neuropixels layout: no electrodes region, units.peak_channel_id = electrodes.id
    path = tmp_path / "peak.nwb"
    shutil.copy(demo, path)
    expect = read_spikes(demo).units
    with h5py.File(path, "r+") as f:
        del f["units/electrodes"], f["units/electrodes_index"]
        f["units"].create_dataset("peak_channel_id", data=expect["electrode"].to_numpy())
    got = read_spikes(path).units
    assert got["location"].tolist() == expect["location"].tolist()
    assert got["electrode_group"].tolist() == expect["electrode_group"].tolist()
    with pytest.raises(ArgumentError, match="by="):
        psth(path, by="no_such_column")


def test_context_manager_keeps_one_handle_and_closes_it(demo):
    with read_spikes(demo) as spikes:
        handle = spikes._handle
        assert handle is not None and handle.mode == "r"
        bin_spikes(spikes, 0.1)
        count_spikes(spikes)
        assert spikes._handle is handle
    assert spikes._handle is None and not handle  # closed
    assert bin_spikes(spikes, 0.1).n_units == 15  # still usable: reopens per call
    import pickle

    again = pickle.loads(pickle.dumps(read_spikes(demo, units={"area": "V4"})))
    assert isinstance(again, SpikeTrains) and again.n_units == 5


# --------------------------------------------------------------------------- real files
def real_files():
    return sorted(REALDATA.glob("*.nwb")) if REALDATA.is_dir() else []


needs_realdata = pytest.mark.skipif(not real_files(), reason=f"no real NWB files in {REALDATA}")


@needs_realdata
@pytest.mark.parametrize("name", [p.name for p in real_files()] or ["none"])
def test_real_files_match_pynwb(name):
    path = REALDATA / name
    before = sha256(path)
    with h5py.File(path, "r") as f:
        has_units = "units" in f
    if not has_units:
        with pytest.raises(DataFormatError, match="no Units table"):
            read_spikes(path)
        assert sha256(path) == before
        return
    spikes = read_spikes(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            units = nwb.units.to_dataframe()
            trains = [np.asarray(nwb.units["spike_times"][i]) for i in range(len(units))]
            tables = {name: nwb.intervals[name].to_dataframe() for name in (nwb.intervals or {})}
    assert spikes.unit_ids.tolist() == units.index.tolist()
    np.testing.assert_array_equal(spikes.spike_counts, [len(t) for t in trains])
    for col in ("quality", "depth", "cell_type", "location"):
        if col in units:
            assert spikes.units[col].tolist() == units[col].tolist()
    if "electrode_group" in units:
        assert spikes.units["electrode_group"].tolist() == [g.name for g in units["electrode_group"]]
    if "electrodes" in units:
        peak = [e.index[0] for e in units["electrodes"]]
        locations = [e["location"].iloc[0] for e in units["electrodes"]]
        # pynwb leaves some old files' strings as bytes; neurotk decodes them
        locations = [v.decode() if isinstance(v, bytes) else v for v in locations]
        np.testing.assert_array_equal(spikes.units["electrode"], peak)
        assert spikes.units["location"].tolist() == locations
    assert set(spikes.interval_names) == set(tables)
    for tname, frame in tables.items():
        got = spikes.intervals(tname)
        assert got["id"].tolist() == frame.index.tolist()
        for col in frame.columns:
            if col in got and frame[col].dtype != object:
                np.testing.assert_array_equal(got[col].to_numpy(), frame[col].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)  # the dandi files: unsorted (tested below)
        rec = bin_spikes(spikes, 1.0)
    edges = np.concatenate([rec.samples["time"], rec.samples["bin_stop"].iloc[-1:]])
    np.testing.assert_array_equal(rec.data, np.column_stack([np.histogram(t, bins=edges)[0] for t in trains]))
    onsets = next(iter(tables.values()))["start_time"].to_numpy()
    onsets = onsets[np.isfinite(onsets)]
    got = count_spikes(spikes, onsets, window=(-0.5, 1.0))
    np.testing.assert_array_equal(got.data, reference_counts(trains, onsets - 0.5, onsets + 1.0))
    assert sha256(path) == before


@needs_realdata
def test_real_file_specifics():
    # old NWB 2.0.2 sessions: trials with NaN stop times, one unit whose spikes are not sorted
    dandi = REALDATA / "dandicli_sub-anm369963_ses-20170228.nwb"
    spikes = read_spikes(dandi)
    with pytest.warns(NeurotkWarning, match=r"anm369963.*1 of 1 units \(unit ids \[1001\]\)"):
        _ = spikes.time_range
    assert spikes.units["quality"].tolist() == ["Excellent"] and spikes.n_spikes == 1679
    trials = spikes.intervals("trials")
    assert len(trials) == 178 and trials["stop_time"].isna().all()
    assert count_spikes(spikes, "trials", window=(0.0, 2.0)).shape == (178, 1)
    with pytest.raises(DataFormatError, match="stop_time"):
        count_spikes(spikes, "trials", window="interval")
    for name, n_spikes in (("dandicli_sub-anm369963_ses-20170228.nwb", 1679),
                           ("dandicli_sub-anm372793_ses-20170508.nwb", 2434)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(REALDATA / name), "r") as io:
                stored = np.asarray(io.read().units["spike_times"][0])
        assert stored.size == n_spikes and (np.diff(stored) < 0).any()  # pynwb: as stored, unsorted
        other = read_spikes(REALDATA / name)
        with pytest.warns(NeurotkWarning, match=rf"{name}.*1 of 1 units"):
            got = other.times(other.unit_ids[0])
        np.testing.assert_array_equal(got, np.sort(stored))
        with warnings.catch_warnings():
            warnings.simplefilter("error", NeurotkWarning)  # reported once
            rec = bin_spikes(other, 5.0)
        assert int(rec.data.sum()) == n_spikes
    # human single neurons: image presentations in encoding_table, areas from the electrodes
    human = read_spikes(REALDATA / "pynapple_sub-4_ses-4_ecephys+image.nwb")
    assert human.n_units == 35 and human.n_spikes == 214278
    assert {"hippocampus_right", "amygdala_right"} <= set(human.units["location"])
    rec = count_spikes(human, "encoding", window="interval", rate=True, units={"location": "amygdala_right"})
    assert rec.shape[0] == 90 and {"Clip_name", "stimCategory"} <= set(rec.samples.columns)
    assert rec.samples["Clip_name"].iloc[0] == "NB_24.mp4"
    with pytest.raises(DataFormatError, match="encoding_table"):
        human.intervals("stimulus")
    # rodent session: unit electrode groups are object references
    rodent = read_spikes(REALDATA / "pynapple_A8604-211122.nwb")
    assert rodent.units["electrode_group"].tolist() == ["group0_psb"] * 3
    assert rodent.intervals("epochs")["tags"].tolist() == [["wake"]]


@needs_realdata
def test_truncated_real_file(tmp_path):
    data = (REALDATA / "pynapple_sub-4_ses-4_ecephys+image.nwb").read_bytes()
    for fraction in (0.5, 0.9):
        cut = tmp_path / f"cut{fraction}.nwb"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(DataFormatError, match=str(cut.name)):
            bin_spikes(cut, 0.01)
