"""NWB 2 ophys (read_ophys, ophys_series) and trial-aligned responses (event_average).

Files are written here with pynwb's own API (ImageSegmentation, PlaneSegmentation,
DfOverF / Fluorescence RoiResponseSeries, trials and TimeIntervals tables); the references
are pynwb's reading of the same files (get_data_in_units, get_timestamps, to_dataframe) and
plain loops over trials and ROIs written here. Broken files are copies edited with h5py.
"""

import datetime
import hashlib
import shutil
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from neurotk import ArgumentError, DataFormatError, Recording
from neurotk.io import event_average, ophys_series, read_intervals, read_ophys

pynwb = pytest.importorskip("pynwb")
# pynwb's own warning while the test files are built (a region made before its table has a parent)
pytestmark = pytest.mark.filterwarnings("ignore:The linked table for DynamicTableRegion:UserWarning")

RATE = 30.0


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_ophys(path, n_frames=300, n_rois=5, seed=0, bare=False, conversion=1.0, offset=0.0):
    """A two-photon NWB 2 file: DfOverF (timestamps) and Fluorescence (rate) series of ROIs 1..n-1 of a
    PlaneSegmentation with suite2p's two-column iscell; trials and a stimulus TimeIntervals table."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
    )

    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="ophys test", identifier="ophys-1",
                  session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC))
    device = nwb.create_device(name="Microscope")
    channel = OpticalChannel(name="OpticalChannel", description="green", emission_lambda=520.0)
    plane = nwb.create_imaging_plane(name="ImagingPlane", optical_channel=channel, description="L2/3",
                                     device=device, excitation_lambda=910.0, imaging_rate=RATE,
                                     indicator="GCaMP6f", location="VISp")
    segmentation = ImageSegmentation(name="ImageSegmentation")
    seg = segmentation.create_plane_segmentation(name="PlaneSegmentation", description="rois", imaging_plane=plane)
    seg.add_column(name="global_roi_id", description="cell specimen id")
    iscell = np.stack([np.arange(n_rois) % 2 == 0, rng.uniform(0, 1, n_rois)], 1).astype(np.float64)
    for k in range(n_rois):
        seg.add_roi(id=500 + 7 * k, image_mask=rng.uniform(0, 1, (8, 8)), global_roi_id=900000 + k)
    seg.add_column(name="iscell", description="two columns - iscell & probcell", data=iscell)
    module = nwb.create_processing_module(name="imaging" if bare else "ophys", description="processed")
    module.add(segmentation)
    rows = list(range(1, n_rois))  # the series show ROIs 1..n-1 of the table
    region = seg.create_roi_table_region(description="ROIs 1..n-1", region=rows)
    t = 2.0 + np.cumsum(rng.uniform(0.9, 1.1, n_frames)) / RATE  # irregular frame times
    dff = rng.normal(0, 1, (n_frames, len(rows)))
    raw = rng.normal(100, 5, (n_frames, len(rows))).astype(np.float32)
    if bare:
        module.add(RoiResponseSeries(name="Traces", data=dff, rois=region, unit="a.u.", timestamps=t,
                                     conversion=conversion, offset=offset))
    else:
        module.add(DfOverF(name="DfOverF", roi_response_series=RoiResponseSeries(
            name="DfOverF", data=dff, rois=region, unit="n.a.", timestamps=t, description="dF/F")))
        module.add(Fluorescence(name="Fluorescence", roi_response_series=RoiResponseSeries(
            name="Raw", data=raw, rois=region, unit="lumens", starting_time=1.5, rate=RATE)))
    nwb.add_trial_column(name="stimulus_id", description="image")
    for k in range(12):
        nwb.add_trial(start_time=2.5 + 0.6 * k, stop_time=2.5 + 0.6 * k + 0.3 + 0.01 * k, stimulus_id=k % 3)
    gratings = TimeIntervals(name="static_gratings", description="gratings")
    gratings.add_column(name="orientation", description="deg")
    for k in range(6):
        gratings.add_interval(start_time=3.0 + 0.5 * k, stop_time=3.25 + 0.5 * k, orientation=30.0 * k)
    nwb.add_stimulus(gratings)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return Path(path), {"t": t, "dff": dff, "raw": raw, "rows": rows, "iscell": iscell}


@pytest.fixture(scope="module")
def ophys(tmp_path_factory):
    return write_ophys(tmp_path_factory.mktemp("ophys") / "ophys.nwb")


def loop_window_means(t, x, a, b):
    """The reference: a Python loop over windows [a, b) and units, mean of the frames inside."""
    out = np.full((len(a), x.shape[1]), np.nan)
    for k in range(len(a)):
        inside = (t >= a[k]) & (t < b[k])
        for u in range(x.shape[1]):
            seg = x[inside, u]
            seg = seg[np.isfinite(seg)]
            if seg.size:
                out[k, u] = seg.mean()
    return out


# --------------------------------------------------------------------------- reading
def test_read_ophys_matches_pynwb(ophys):
    path, _ = ophys
    before = sha256(path)
    assert ophys_series(path) == ["ophys/DfOverF/DfOverF", "ophys/Fluorescence/Raw"]
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        module = nwb.processing["ophys"]
        dff = module["DfOverF"]["DfOverF"]
        raw = module["Fluorescence"]["Raw"]
        want = {"DfOverF": (np.asarray(dff.get_data_in_units()), np.asarray(dff.get_timestamps())),
                "Fluorescence/Raw": (np.asarray(raw.get_data_in_units()), np.asarray(raw.get_timestamps()))}
        table = module["ImageSegmentation"]["PlaneSegmentation"].to_dataframe()
        region = np.asarray(dff.rois.data[:])
    for series, (values, times) in want.items():
        rec = read_ophys(path, series=series)
        np.testing.assert_array_equal(rec.data, np.asarray(values, dtype=np.float64))
        np.testing.assert_array_equal(rec.samples["time"], times)
        assert rec.shape == (300, 4)
    rec = read_ophys(path, series="DfOverF/DfOverF")
    u = rec.units
    np.testing.assert_array_equal(u["unit_id"], table.index.to_numpy()[region])
    np.testing.assert_array_equal(u["roi_index"], region)
    np.testing.assert_array_equal(u["global_roi_id"], table["global_roi_id"].to_numpy()[region])
    iscell = np.stack(table["iscell"].to_numpy())[region]
    np.testing.assert_array_equal(u["iscell"], iscell[:, 0])
    np.testing.assert_array_equal(u["iscell_probability"], iscell[:, 1])
    np.testing.assert_array_equal(u["is_cell"], iscell[:, 0] > 0)
    assert (u["location"] == "VISp").all() and "image_mask" not in u
    m = rec.meta
    assert m["indicator"] == "GCaMP6f" and m["location"] == "VISp" and m["imaging_plane"] == "ImagingPlane"
    assert m["series"] == "ophys/DfOverF/DfOverF" and m["units_of_measure"] == "n.a."
    assert m["imaging_rate"] == RATE and m["identifier"] == "ophys-1" and m["path"] == str(path)
    raw_rec = read_ophys(path, series="Raw")
    assert raw_rec.meta["imaging_rate"] == RATE and raw_rec.meta["units_of_measure"] == "lumens"
    np.testing.assert_array_equal(raw_rec.samples["time"], 1.5 + np.arange(300) / RATE)
    assert read_ophys(path, series="ophys/Fluorescence/Raw", dtype=np.float32).dtype == np.float32
    assert read_ophys(path, series="Fluorescence").meta["series"] == "ophys/Fluorescence/Raw"  # one-series container
    assert sha256(path) == before


def test_bare_series_in_any_module_with_conversion_and_offset(tmp_path):
    path, truth = write_ophys(tmp_path / "bare.nwb", bare=True, conversion=0.5, offset=-2.0)
    rec = read_ophys(path)  # the only series: no series= needed
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        series = io.read().processing["imaging"]["Traces"]
        want = np.asarray(series.get_data_in_units())
    np.testing.assert_allclose(rec.data, want, rtol=1e-15, atol=0)
    np.testing.assert_allclose(rec.data, truth["dff"] * 0.5 - 2.0, rtol=1e-15, atol=0)
    assert rec.meta["series"] == "imaging/Traces"
    # no rate: the plane's imaging rate
    assert rec.meta["imaging_rate"] == RATE


def test_several_series_need_series_and_errors_name_file_and_field(ophys, tmp_path):
    path, _ = ophys
    with pytest.raises(ArgumentError, match=r"ophys\.nwb.*2 RoiResponseSeries \['ophys/DfOverF/DfOverF', "
                                            r"'ophys/Fluorescence/Raw'\].*series="):
        read_ophys(path)
    with pytest.raises(ArgumentError, match="matches no series"):
        read_ophys(path, series="Neuropil")
    none = tmp_path / "none.nwb"
    with h5py.File(none, "w") as f:
        f.create_group("processing/behavior")
    with pytest.raises(DataFormatError, match=r"none\.nwb: field '/processing' holds no RoiResponseSeries"):
        read_ophys(none)

    def broken(name, edit):
        copy = tmp_path / name
        shutil.copy(path, copy)
        with h5py.File(copy, "r+") as f:
            edit(f)
        return copy

    def rois_outside(f):
        f["processing/ophys/DfOverF/DfOverF/rois"][0] = 99

    def backwards(f):
        f["processing/ophys/DfOverF/DfOverF/timestamps"][10] = 0.0

    def bad_rate(f):
        f["processing/ophys/Fluorescence/Raw/starting_time"].attrs["rate"] = -1.0

    for edit, field, match in [(rois_outside, "DfOverF/rois", "outside the 5 rows"),
                               (backwards, "DfOverF/timestamps", "not increasing"),
                               (bad_rate, "Raw/starting_time", "positive sampling rate")]:
        copy = broken(f"{edit.__name__}.nwb", edit)
        before = sha256(copy)
        with pytest.raises(DataFormatError, match=match) as err:
            read_ophys(copy, series="Raw" if edit is bad_rate else "DfOverF/DfOverF")
        assert str(copy) in str(err.value) and field in str(err.value)
        assert sha256(copy) == before


# --------------------------------------------------------------------------- intervals and trial averages
def test_interval_tables_of_any_nwb2_file(ophys):
    path, _ = ophys
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        trials = nwb.trials.to_dataframe()
        gratings = nwb.stimulus["static_gratings"].to_dataframe()
    got = read_intervals(path, "trials")
    np.testing.assert_array_equal(got["start_time"], trials["start_time"])
    np.testing.assert_array_equal(got["stimulus_id"], trials["stimulus_id"])
    stim = read_intervals(path)  # default: the stimulus tables (here under stimulus/presentation)
    np.testing.assert_array_equal(stim["orientation"], gratings["orientation"])
    with pytest.raises(DataFormatError, match=r"available tables are \['trials', 'static_gratings'\]"):
        read_intervals(path, "epochs")


def test_event_average_frame_binning_equals_a_loop(ophys):
    path, truth = ophys
    rec = read_ophys(path, series="DfOverF/DfOverF")
    t, x = truth["t"], truth["dff"]
    trials = read_intervals(path, "trials")
    onset, stop = trials["start_time"].to_numpy(), trials["stop_time"].to_numpy()
    got = event_average(rec, "trials", window=(-0.1, 0.4))  # the table by name, from the recording's file
    np.testing.assert_allclose(got.data, loop_window_means(t, x, onset - 0.1, onset + 0.4), rtol=0, atol=1e-12)
    assert got.samples["stimulus_id"].tolist() == trials["stimulus_id"].tolist()
    assert got.meta["method"] == "bin" and got.meta["intervals"] == "trials"
    own = event_average(rec, trials, window="interval")
    np.testing.assert_allclose(own.data, loop_window_means(t, x, onset, stop), rtol=0, atol=1e-12)
    # time courses: bins of 0.1 s from -0.2 s, averaged per stimulus
    course = event_average(rec, "trials", window=(-0.2, 0.4), bin_size=0.1)
    assert course.shape == (12 * 6, 4)
    assert course.samples["time"].tolist()[:6] == pytest.approx([-0.2, -0.1, 0.0, 0.1, 0.2, 0.3])
    edges = onset[:, None] + (-0.2 + np.arange(7) * 0.1)[None, :]
    expect = loop_window_means(t, x, edges[:, :-1].ravel(), edges[:, 1:].ravel())
    np.testing.assert_allclose(course.data, expect, rtol=0, atol=1e-12)
    by = event_average(rec, "trials", window=(-0.2, 0.4), bin_size=0.1, by="stimulus_id")
    frame = pd.DataFrame(expect).assign(s=np.repeat(trials["stimulus_id"].to_numpy(), 6), k=np.tile(np.arange(6), 12))
    ref = frame.groupby(["s", "k"]).mean().to_numpy()
    np.testing.assert_allclose(by.data, ref, rtol=0, atol=1e-12)
    assert by.samples["n_averaged"].tolist() == [4] * 18


def test_event_average_interpolation_equals_np_interp(ophys):
    path, truth = ophys
    rec = read_ophys(path, series="DfOverF/DfOverF")
    t, x = truth["t"], truth["dff"]
    onsets = np.array([2.2 + 0.5 / RATE, 3.3, 9.0, 12.5])  # the last runs past the end of the recording
    got = event_average(rec, onsets, window=(-0.05, 0.25), bin_size=0.02, method="interpolate")
    n_bins = 15
    q = onsets[:, None] + (-0.05 + np.arange(n_bins) * 0.02)[None, :]
    expect = np.column_stack([np.interp(q.ravel(), t, x[:, u], left=np.nan, right=np.nan) for u in range(4)])
    np.testing.assert_allclose(got.data, expect, rtol=0, atol=1e-12, equal_nan=True)
    assert np.isnan(got.data[-1]).all() and not np.isnan(got.data[:n_bins]).any()
    assert "bin_stop" not in got.samples and got.meta["method"] == "interpolate"


def test_event_average_on_any_time_series_and_its_errors(ophys):
    t = np.arange(50) * 0.1
    x = np.stack([t, -t], 1)
    x[3, 0] = np.nan
    rec = Recording(x, samples={"time": t}, allow_nan=True)
    got = event_average(rec, {"start_time": [0.0, 1.0, 20.0]}, window=(0.0, 0.55))
    np.testing.assert_allclose(got.data[0], [np.mean([0, 0.1, 0.2, 0.4, 0.5]), -0.25])  # NaN frame skipped
    assert np.isnan(got.data[2]).all()  # no frame in the window
    with pytest.raises(ArgumentError, match="no 'path'"):
        event_average(rec, "trials")
    with pytest.raises(ArgumentError, match="'time'"):
        event_average(Recording(np.zeros((5, 1))), [1.0])
    with pytest.raises(ArgumentError, match="needs bin_size"):
        event_average(rec, [1.0], method="interpolate")
    with pytest.raises(ArgumentError, match="method"):
        event_average(rec, [1.0], method="nearest")
    with pytest.raises(ArgumentError, match="window"):
        event_average(rec, [1.0], window=(0.5, 0.1))
    with pytest.raises(ArgumentError, match="by="):
        event_average(rec, [1.0], by="stimulus")
    with pytest.raises(DataFormatError, match="start_time"):
        event_average(rec, {"start_time": [1.0, np.nan]})
    path, _ = ophys
    with pytest.raises(DataFormatError, match="available tables"):
        event_average(read_ophys(path, series="Raw"), "no_such_table")
