"""Allen Brain Observatory loaders: files written here in the exact Allen layouts (same HDF5
paths and dtypes as ALLEN_LAYOUT.md), planted responses recovered exactly, bad files."""

import hashlib
import warnings
from datetime import UTC
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

import neurotk
from neurotk import (
    ArgumentError,
    DataFormatError,
    NeurotkWarning,
    OptionalDependencyError,
)
from neurotk.datasets import make_allen_demo
from neurotk.io import (
    allen_info,
    allen_stimulus_table,
    download_allen_session,
    load_allen,
)

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
PIPE = "processing/brain_observatory_pipeline"
DFF = f"{PIPE}/DfOverF/imaging_plane_1"
PRES = "stimulus/presentation"
RATE = 30.0


# --------------------------------------------------------------------------- two-photon writer
def write_2p(path, n_cells=6, n_scenes=5, n_repeats=3, seed=0, nan_frames=False, **override):
    """An Allen Visual Coding 2P file (NWB 1 layout) with planted natural-scene responses.

    Cell c responds with dF/F 2.0 to scene c % n_scenes; the noise is in multiples of 1/64,
    so every window sum is exact in float64 and the loader must agree bit for bit.
    Returns (path, truth) with the written arrays.
    """
    rng = np.random.default_rng(seed)
    scenes = np.concatenate([np.append(rng.permutation(n_scenes), -1) for _ in range(n_repeats)])  # -1: blank
    t = 20
    bounds = {}
    for name, n, each in (("natural_scenes", len(scenes), 7), ("static_gratings", 6, 7),
                          ("drifting_gratings", 4, 60), ("natural_movie_one", 8, 1)):
        start = t + np.arange(n) * each
        bounds[name] = np.stack([start, start + each], 1).astype(np.int64)
        t = int(start[-1] + each + 10)
    spont = np.array([[t], [t + 40], [t + 50], [t + 70]], np.int64).repeat(2, axis=1)
    n_frames = t + 80
    ts = 3.0 + np.arange(n_frames) / RATE
    dff = (rng.integers(-8, 9, size=(n_cells, n_frames)) / 64.0).astype(np.float32)
    for (s, e), scene in zip(bounds["natural_scenes"], scenes):
        if scene >= 0:
            dff[np.arange(n_cells) % n_scenes == scene, s:e] += 2.0
    if nan_frames:
        dff[0, bounds["natural_scenes"][0, 0] + 1] = np.nan
    ids = (589000000 + 7 * np.arange(n_cells)).astype(np.int64)
    sg = np.stack([np.repeat([0.0, 60.0, 120.0], 2), np.full(6, 0.08), np.tile([0.0, 0.25], 3)], 1).astype(np.float32)
    dg = np.array([[1.0, 0.0, 0.0], [15.0, 45.0, 0.0], [np.nan, np.nan, 1.0], [1.0, 45.0, 0.0]], np.float32)
    movie = np.tile(np.arange(4, dtype=np.int64), 2)
    with h5py.File(path, "w") as f:
        f.create_dataset("nwb_version", data="NWB-1.0.5", dtype=h5py.string_dtype())
        for key, value in {"general/session_id": "501940850", "general/targeted_structure": "VISl",
                           "general/experiment_container_id": "511510650", "general/session_type": "three_session_B",
                           "general/specimen_name": "Emx1-IRES-Cre;Camk2a-tTA;Ai93-230570",
                           "general/subject/genotype": "Emx1-IRES-Cre/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt",
                           "general/optophysiology/imaging_plane_1/imaging depth": "375 microns",
                           "general/optophysiology/imaging_plane_1/location": "VISl",
                           "general/optophysiology/imaging_plane_1/indicator": "GCaMP6f",
                           **override.get("general", {})}.items():
            f.create_dataset(key, data=np.bytes_(value))
        f.create_dataset(f"{DFF}/data", data=override.get("dff", dff))
        f.create_dataset(f"{DFF}/timestamps", data=override.get("ts", ts))
        f.create_dataset(f"{DFF}/roi_names", data=np.array([str(i).encode() for i in range(n_cells)], "S9"))
        f.create_dataset(f"{PIPE}/ImageSegmentation/cell_specimen_ids", data=ids)
        f.create_dataset(f"{PIPE}/ImageSegmentation/roi_ids", data=np.array([str(i).encode() for i in range(n_cells)], "S9"))

        def table(name, data, fd, features=None, ancestry=None):
            g = f.create_group(f"{PRES}/{name}_stimulus")
            if ancestry:
                g.attrs["ancestry"] = np.array(ancestry, dtype="S14")
            g.create_dataset("data", data=data)
            g.create_dataset("frame_duration", data=fd)
            g.create_dataset("timestamps", data=ts[np.minimum(np.asarray(fd)[:, 0].astype(int), n_frames - 1)])
            g.create_dataset("num_samples", data=np.int32(len(data)))
            if features is not None:
                g.create_dataset("features", data=np.array(features, dtype="S18"))

        table("natural_scenes", scenes.astype(np.int64), override.get("ns_fd", bounds["natural_scenes"]))
        table("static_gratings", sg, bounds["static_gratings"].astype(np.float32),
              [b"orientation", b"spatial_frequency", b"phase"])
        table("drifting_gratings", dg, bounds["drifting_gratings"].astype(np.float32),
              [b"temporal_frequency", b"orientation", b"blank_sweep"])
        table("natural_movie_one", movie, bounds["natural_movie_one"])
        table("spontaneous", np.array([1, -1, 1, -1], np.int8), spont, ancestry=[b"TimeSeries", b"IntervalSeries"])
    truth = {"dff": dff, "ts": ts, "scenes": scenes, "bounds": bounds, "spont": spont, "ids": ids, "sg": sg,
             "dg": dg, "movie": movie, "n_scenes": n_scenes}
    return Path(path), truth


def loop_means(dff, a, b, nan=False):
    """The reference: a Python loop over presentations and cells."""
    out = np.full((len(a), dff.shape[0]), np.nan)
    for k in range(len(a)):
        for c in range(dff.shape[0]):
            seg = dff[c, a[k]:b[k]].astype(np.float64)
            if nan:
                seg = seg[np.isfinite(seg)]
            if seg.size:
                out[k, c] = seg.sum() / seg.size
    return out


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- two-photon tests
def test_2p_natural_scenes_planted_responses_recovered_exactly(tmp_path):
    path, truth = write_2p(tmp_path / "ophys.nwb")
    before = sha256(path)
    recs = load_allen(path, stimulus="natural_scenes")
    assert list(recs) == ["VISl"]
    rec = recs["VISl"]
    fd = truth["bounds"]["natural_scenes"]
    assert rec.shape == (len(truth["scenes"]), 6)
    np.testing.assert_array_equal(rec.data, loop_means(truth["dff"], fd[:, 0], fd[:, 1]))
    s = rec.samples
    assert list(s.columns[:4]) == ["stimulus", "stimulus_id", "start_time", "stop_time"]
    assert (s["stimulus"] == "natural_scenes").all()
    np.testing.assert_array_equal(s["frame"], truth["scenes"])
    # blanks (-1) are labelled "blank", as grating blanks are; images keep their index
    assert s["stimulus_id"].tolist() == [("blank" if k < 0 else int(k)) for k in truth["scenes"]]
    np.testing.assert_array_equal(s["start_time"], truth["ts"][fd[:, 0]])
    np.testing.assert_array_equal(s["stop_time"], truth["ts"][fd[:, 1]])
    np.testing.assert_array_equal(s["start_frame"], fd[:, 0])
    # every cell prefers its planted scene
    mean = rec.average(by="stimulus_id")
    frames = mean.samples["stimulus_id"].to_numpy()
    best = frames[np.argmax(mean.data, axis=0)]
    np.testing.assert_array_equal(best, np.arange(6) % truth["n_scenes"])
    u = rec.units
    np.testing.assert_array_equal(u["unit_id"], truth["ids"])
    assert (u["area"] == "VISl").all() and (u["depth"] == 375.0).all()
    assert (u["cre_line"] == "Emx1-IRES-Cre/wt").all()
    m = rec.meta
    assert m["units_of_measure"] == "dF/F" and m["session_id"] == 501940850 and m["path"] == str(path)
    assert m["experiment_container_id"] == 511510650 and m["session_type"] == "three_session_B"
    assert sha256(path) == before


def test_2p_window_in_seconds_matches_a_loop(tmp_path):
    path, truth = write_2p(tmp_path / "ophys.nwb")
    rec = load_allen(path, stimulus="natural_scenes", window=(0.1, 0.4), dtype=np.float32)["VISl"]
    onset = truth["ts"][truth["bounds"]["natural_scenes"][:, 0]]
    a = np.array([np.flatnonzero(truth["ts"] >= t + 0.1)[0] for t in onset])
    b = np.array([np.flatnonzero(truth["ts"] >= t + 0.4)[0] for t in onset])
    assert rec.dtype == np.float32
    np.testing.assert_array_equal(rec.data, loop_means(truth["dff"], a, b).astype(np.float32))
    assert rec.meta["window"] == (0.1, 0.4)


def test_2p_every_stimulus_and_its_columns(tmp_path):
    path, truth = write_2p(tmp_path / "ophys.nwb")
    rec = load_allen(path)["VISl"]
    s = rec.samples
    assert np.all(np.diff(s["start_time"].to_numpy()) >= 0)
    counts = s["stimulus"].value_counts().to_dict()
    assert counts == {"natural_scenes": len(truth["scenes"]), "static_gratings": 6, "drifting_gratings": 4,
                      "natural_movie_one": 8, "spontaneous": 2}
    all_a = np.concatenate([truth["bounds"][n][:, 0] for n in ("natural_scenes", "static_gratings",
                                                                "drifting_gratings", "natural_movie_one")])
    all_b = np.concatenate([truth["bounds"][n][:, 1] for n in ("natural_scenes", "static_gratings",
                                                                "drifting_gratings", "natural_movie_one")])
    sp = truth["spont"][:, 0]
    a, b = np.append(all_a, sp[0::2]), np.append(all_b, sp[1::2])
    order = np.argsort(a, kind="stable")
    np.testing.assert_array_equal(rec.data, loop_means(truth["dff"], a[order], b[order]))
    sg = s[s["stimulus"] == "static_gratings"]
    np.testing.assert_array_equal(sg["orientation"], truth["sg"][:, 0])
    np.testing.assert_array_equal(sg["spatial_frequency"], truth["sg"][:, 1].astype(np.float64))
    np.testing.assert_array_equal(sg["phase"], truth["sg"][:, 2])
    assert sg["stimulus_id"].iloc[1] == "orientation=0|spatial_frequency=0.08|phase=0.25"
    dg = s[s["stimulus"] == "drifting_gratings"]
    assert dg["stimulus_id"].tolist() == ["orientation=0|temporal_frequency=1", "orientation=45|temporal_frequency=15",
                                          "blank", "orientation=45|temporal_frequency=1"]
    assert dg["blank_sweep"].tolist() == [0, 0, 1, 0]
    movie = allen_stimulus_table(path, "natural_movie_one")
    assert movie["frame"].tolist() == truth["movie"].tolist() and movie["repeat"].tolist() == [0] * 4 + [1] * 4
    spont = s[s["stimulus"] == "spontaneous"]
    np.testing.assert_array_equal(spont["start_frame"], truth["spont"][0::2, 0])
    np.testing.assert_array_equal(spont["end_frame"], truth["spont"][1::2, 0])
    assert (spont["stimulus_id"] == "spontaneous").all()
    two = load_allen(path, stimulus=["static_gratings", "drifting_gratings"])["VISl"]
    assert set(two.samples["stimulus"]) == {"static_gratings", "drifting_gratings"} and two.n_samples == 10


def test_2p_nan_frames_are_skipped(tmp_path):
    path, truth = write_2p(tmp_path / "ophys.nwb", nan_frames=True)
    rec = load_allen(path, stimulus="natural_scenes")["VISl"]
    fd = truth["bounds"]["natural_scenes"]
    np.testing.assert_allclose(rec.data, loop_means(truth["dff"], fd[:, 0], fd[:, 1], nan=True), rtol=0, atol=1e-12)
    assert np.isfinite(rec.data).all()


def test_2p_info_and_demo(tmp_path):
    path, _ = write_2p(tmp_path / "ophys.nwb")
    info = allen_info(path)
    assert info["kind"] == "two-photon" and info["areas"] == ["VISl"] and info["n_units"] == 6
    assert set(info["stimuli"]) == {"natural_scenes", "static_gratings", "drifting_gratings",
                                    "natural_movie_one", "spontaneous"}
    assert info["imaging_depth_um"] == 375.0 and info["cre_line"] == "Emx1-IRES-Cre/wt"
    demo = make_allen_demo(tmp_path / "demo.nwb", n_cells=4, n_scenes=4)
    rec = neurotk.load(demo, stimulus="natural_scenes")["VISp"]  # dispatch by content
    best = rec.average(by="stimulus_id")
    assert np.array_equal(best.samples["stimulus_id"].to_numpy()[best.data.argmax(0)], np.arange(4))


def test_unknown_stimulus_and_area_list_what_exists(tmp_path):
    path, _ = write_2p(tmp_path / "ophys.nwb")
    with pytest.raises(ArgumentError, match="available stimuli are .*natural_scenes"):
        load_allen(path, stimulus="natural_sceens")
    with pytest.raises(ArgumentError, match="its areas are \\['VISl'\\]"):
        load_allen(path, areas="VISp")
    with pytest.raises(ArgumentError, match="window"):
        load_allen(path, window=(0.5, 0.1))


def test_bad_two_photon_files_name_file_and_field(tmp_path):
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(DataFormatError, match="junk.nwb"):
        load_allen(junk)
    other = tmp_path / "other.nwb"
    with h5py.File(other, "w") as f:
        f.create_group("acquisition")
    with pytest.raises(DataFormatError, match=r"other\.nwb.*DfOverF/imaging_plane_1.*presentations"):
        load_allen(other)
    nodff = tmp_path / "nodff.nwb"
    with h5py.File(nodff, "w") as f:
        f.create_group(f"{PIPE}/ImageSegmentation")
    with pytest.raises(DataFormatError, match=r"nodff\.nwb: field 'processing/brain_observatory_pipeline/DfOverF"):
        load_allen(nodff)
    fd = np.array([[10, 17], [17, 10_000]], np.int64)
    out_of_range, _ = write_2p(tmp_path / "range.nwb", n_scenes=1, n_repeats=1, ns_fd=fd)
    with pytest.raises(DataFormatError, match=r"range\.nwb: field '/stimulus/presentation/natural_scenes_stimulus/"
                                              r"frame_duration' row 1"):
        load_allen(out_of_range, stimulus="natural_scenes")
    short, truth = write_2p(tmp_path / "short.nwb")
    with h5py.File(short, "a") as f:
        del f[f"{DFF}/timestamps"]
        f.create_dataset(f"{DFF}/timestamps", data=truth["ts"][:-3])
    with pytest.raises(DataFormatError, match=r"short\.nwb: field '/processing/.*/data' has \d+ frames"):
        load_allen(short)
    unsorted, truth = write_2p(tmp_path / "unsorted.nwb")
    with h5py.File(unsorted, "a") as f:
        f[f"{DFF}/timestamps"][5] = 0.0
    with pytest.raises(DataFormatError, match="timestamps' is not sorted"):
        load_allen(unsorted)


# --------------------------------------------------------------------------- Neuropixels (pynwb)
def write_neuropixels(path, seed=1):
    """An Allen Neuropixels session file (NWB 2) written with pynwb: electrodes with structure
    acronyms, units with peak_channel_id and quality metrics, *_presentations interval tables."""
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    rng = np.random.default_rng(seed)
    nwb = NWBFile("Allen ecephys session", "715093703", datetime(2019, 1, 1, tzinfo=UTC))
    device = nwb.create_device("neuropixels")
    areas = ["VISp", "VISp", "VISl", "VISl", "CA1", "None"]  # "None": a channel outside the brain
    groups = {p: nwb.create_electrode_group(p, "probe", "brain", device) for p in ("probeA", "probeB")}
    nwb.add_electrode_column("probe_vertical_position", "depth along the probe (um)")
    for k, area in enumerate(areas):
        nwb.add_electrode(id=850000000 + k, location=area, group=groups["probeA" if k < 3 else "probeB"],
                          x=0.0, y=0.0, z=0.0, imp=0.0, filtering="none", probe_vertical_position=20.0 * k)
    # natural scenes (frame) then drifting gratings (orientation, temporal frequency)
    n_ns, n_dg = 24, 8
    ns_frames = np.tile(np.arange(6), 4)
    ns_frames[-1] = -1  # a blank (gray screen), as allensdk's tables mark it
    ns_start = 10.0 + 0.25 * np.arange(n_ns)
    dg_start = 20.0 + 3.0 * np.arange(n_dg)
    dg_ori = np.tile([0.0, 90.0], 4)
    dg_tf = np.repeat([1.0, 2.0, 4.0, 8.0], 2)
    ns = TimeIntervals(name="natural_scenes_presentations", description="natural scenes")
    for col in ("stimulus_name", "frame", "stimulus_block"):
        ns.add_column(col, col)
    for t, fr in zip(ns_start, ns_frames):
        ns.add_interval(t, t + 0.25, stimulus_name="natural_scenes", frame=float(fr), stimulus_block=1.0)
    dg = TimeIntervals(name="drifting_gratings_presentations", description="drifting gratings")
    for col in ("stimulus_name", "orientation", "temporal_frequency", "contrast", "color"):
        dg.add_column(col, col)
    for t, o, tf in zip(dg_start, dg_ori, dg_tf):
        dg.add_interval(t, t + 2.0, stimulus_name="drifting_gratings", orientation=o, temporal_frequency=tf,
                        contrast=0.8, color="N/A")
    nwb.add_time_intervals(ns)
    nwb.add_time_intervals(dg)
    # units: unit k prefers natural scene k % 6 (many spikes inside those presentations)
    peak = np.array([0, 1, 2, 3, 4, 5, 0, 2])
    metrics = {"amplitude_cutoff": [0.01, 0.05, 0.2, 0.01, 0.02, 0.03, 0.01, 0.01],
               "presence_ratio": [0.99, 0.95, 0.99, 0.5, 0.99, 0.99, 0.99, np.nan],
               "isi_violations": [0.1, 0.2, 0.1, 0.1, 0.9, 0.1, 0.3, 0.1],
               "snr": list(rng.uniform(1, 5, 8))}
    for col in ("peak_channel_id", *metrics):
        nwb.add_unit_column(col, col)
    all_times = []
    for u in range(8):
        times = [rng.uniform(0, 50, 60)]
        for t, fr in zip(ns_start, ns_frames):
            if fr == u % 6:
                times.append(t + rng.uniform(0, 0.25, 10))
        times = np.sort(np.concatenate(times))
        all_times.append(times)
        nwb.add_unit(id=950000000 + u, spike_times=times, peak_channel_id=850000000 + int(peak[u]),
                     **{k: v[u] for k, v in metrics.items()})
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    table = pd.DataFrame({"start_time": np.concatenate([ns_start, dg_start]),
                          "stop_time": np.concatenate([ns_start + 0.25, dg_start + 2.0])})
    return Path(path), {"times": all_times, "areas": np.array(areas)[peak], "table": table, "metrics": metrics}


def loop_counts(times, a, b):
    return np.array([[np.sum((t >= a[k]) & (t < b[k])) for t in times] for k in range(len(a))], dtype=float)


@pytest.fixture(scope="module")
def neuropixels(tmp_path_factory):
    return write_neuropixels(tmp_path_factory.mktemp("ecephys") / "session_715093703.nwb")


def test_neuropixels_counts_per_area_match_a_loop(neuropixels):
    path, truth = neuropixels
    before = sha256(path)
    recs = load_allen(path, filter_units=False)
    assert sorted(recs) == ["CA1", "VISl", "VISp", "unknown"]
    table = truth["table"]
    expected = loop_counts(truth["times"], table["start_time"].to_numpy(), table["stop_time"].to_numpy())
    for area, rec in recs.items():
        cols = np.flatnonzero(np.where(truth["areas"] == "None", "unknown", truth["areas"]) == area)
        np.testing.assert_array_equal(rec.unit_ids, 950000000 + cols)
        np.testing.assert_array_equal(rec.data, expected[:, cols])
        assert (rec.units["area"] == area).all()
        assert {"amplitude_cutoff", "presence_ratio", "isi_violations", "peak_channel_id", "probe"} <= set(rec.units)
        assert rec.meta["units_of_measure"] == "spike count" and rec.meta["session_id"] == 715093703
    s = recs["VISp"].samples
    assert list(s.columns[:4]) == ["stimulus", "stimulus_id", "start_time", "stop_time"]
    assert s["stimulus"].tolist() == ["natural_scenes"] * 24 + ["drifting_gratings"] * 8
    assert s["stimulus_id"].tolist()[:6] == list(range(6))
    assert s["stimulus_id"].iloc[-1] == "orientation=90|temporal_frequency=8"
    assert s["color"].isna().all() and (s["contrast"].dropna() == 0.8).all()  # "N/A" -> NaN
    assert recs["VISp"].units["probe"].tolist() == ["probeA", "probeA", "probeA"]
    assert sha256(path) == before


def test_neuropixels_planted_preferences_window_and_filter(neuropixels):
    path, truth = neuropixels
    recs = load_allen(path, stimulus="natural_scenes", window=(0.0, 0.25), filter_units=False)
    rec = neurotk.concat(list(recs.values()), axis="units")
    mean = rec.average(by="stimulus_id")
    best = mean.samples["stimulus_id"].to_numpy()[mean.data.argmax(0)]
    np.testing.assert_array_equal(best, (rec.unit_ids - 950000000) % 6)
    # allensdk's default filter: amplitude_cutoff <= 0.1, presence_ratio >= 0.9, isi_violations <= 0.5
    m = {k: np.array(v, float) for k, v in truth["metrics"].items()}
    with np.errstate(invalid="ignore"):
        good = (m["amplitude_cutoff"] <= 0.1) & (m["presence_ratio"] >= 0.9) & (m["isi_violations"] <= 0.5)
    kept = np.sort(np.concatenate([r.unit_ids for r in load_allen(path, stimulus="natural_scenes").values()]))
    np.testing.assert_array_equal(kept, 950000000 + np.flatnonzero(good))
    only = load_allen(path, stimulus="drifting_gratings", areas=["VISp"], units="snr > 0", rate=True)
    assert list(only) == ["VISp"] and only["VISp"].meta["units_of_measure"] == "spikes/s"
    with pytest.raises(ArgumentError, match=r"'gabors'.*available stimuli are .*drifting_gratings"):
        load_allen(path, stimulus="gabors")
    info = allen_info(path)
    assert info["kind"] == "neuropixels" and info["areas"] == ["CA1", "VISl", "VISp", "unknown"]


def test_neuropixels_without_presentations_is_a_format_error(tmp_path):
    path = tmp_path / "session.nwb"
    with h5py.File(path, "w") as f:
        f.create_dataset("units/peak_channel_id", data=[1, 2])
        f.create_group("intervals/trials")
    with pytest.raises(DataFormatError, match=r"session\.nwb: field 'intervals/<stimulus>_presentations' not found"):
        load_allen(path)
    with h5py.File(path, "a") as f:
        f.create_group("intervals/natural_scenes_presentations")
    with pytest.raises(DataFormatError, match=r"session\.nwb: field 'units/spike_times' not found"):
        load_allen(path)


# --------------------------------------------------------------------------- real file, optional extra
@pytest.mark.skipif(not (REALDATA / "pynwb_496908818s.nwb").exists(), reason="../shared/realdata is absent")
def test_real_allen_two_photon_file_reads():
    path = REALDATA / "pynwb_496908818s.nwb"
    before = sha256(path)
    info = allen_info(path)
    assert info["kind"] == "two-photon" and info["session_id"] == 496908818
    assert info["targeted_structure"] == "VISp" and info["imaging_depth_um"] == 275.0
    assert info["cre_line"] == "Rorb-IRES2-Cre/wt" and info["session_type"] == "three_session_B"
    assert set(info["stimuli"]) == {"natural_scenes", "static_gratings", "natural_movie_one", "spontaneous"}
    # the file is shrunk to 1-element datasets: frame_duration is (1, 1), so onsets come from timestamps
    with pytest.warns(NeurotkWarning, match="frame_duration"):
        recs = load_allen(path)
    rec = recs["VISp"]
    assert rec.shape == (4, 1) and rec.unit_ids.tolist() == [1]
    np.testing.assert_array_equal(rec.data, 1.0)  # every stored dF/F value is 1.0
    assert set(rec.samples["stimulus"]) == set(info["stimuli"])
    assert rec.units["area"].tolist() == ["VISp"] and rec.units["depth"].tolist() == [275.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        assert load_allen(path, stimulus="natural_scenes", window=(0.0, 0.5))["VISp"].shape == (1, 1)
    assert sha256(path) == before


def test_download_needs_allensdk(tmp_path):
    try:
        import allensdk  # noqa: F401
    except ImportError:
        with pytest.raises(OptionalDependencyError, match=r'neurotk\[allen\]'):
            download_allen_session(715093703, tmp_path)
    else:  # pragma: no cover
        pytest.skip("allensdk is installed")
    with pytest.raises(ArgumentError, match="kind"):
        download_allen_session(1, tmp_path, kind="fmri")


# --------------------------------------------------------------------------- two-photon on NWB 2 (DANDI:000728)
def write_2p_nwb2(path, n_cells=5, n_scenes=4, n_repeats=3, seed=2):
    """An Allen Visual Coding 2P session in the DANDI:000728 layout, written with pynwb as
    catalystneuro/visual-coding-to-nwb-v2 writes it: processing/ophys with ImageSegmentation/
    PlaneSegmentation (ids = cell specimen ids, global_roi_id), Fluorescence/{Corrected, Neuropil}
    (Neuropil's timestamps linked to Corrected's), DfOverF/{DfOverF, DfOverFEvents}; the stimulus
    tables under stimulus/presentation: natural_scenes_stimulus and natural_movie_one_stimulus as
    IndexSeries of uint32 indices (blank -1 stored as 4294967295) with onset timestamps,
    static_gratings / drifting_gratings / spontaneous_stimulus as TimeIntervals; epochs.
    Cell c responds with +2 dF/F to scene c % n_scenes (noise in multiples of 1/64)."""
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.base import Images
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.image import GrayscaleImage, IndexSeries
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
    )

    rng = np.random.default_rng(seed)
    nwb = NWBFile(session_description="Allen Brain Observatory Visual Coding 2P", identifier="501940850",
                  session_start_time=datetime(2016, 2, 4, tzinfo=UTC), session_id="501940850",
                  subject=Subject(subject_id="230570", species="Mus musculus", sex="F", age="P104D",
                                  genotype="Emx1-IRES-Cre/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt"))
    device = nwb.create_device(name="Microscope")
    channel = OpticalChannel(name="OpticalChannel", description="emission", emission_lambda=np.nan)
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=channel, device=device, excitation_lambda=910.0,
        description="The imaging plane sampled by the two-photon calcium imaging at a depth of {depth} µm.",
        indicator="GCaMP6f", location="VISal", grid_spacing=[0.78, 0.78], grid_spacing_unit="micrometers")
    module = nwb.create_processing_module(name="ophys", description="Contains processed optical physiology data.")
    segmentation = ImageSegmentation(name="ImageSegmentation")
    seg = segmentation.create_plane_segmentation(name="PlaneSegmentation", description="Segmented ROIs",
                                                 imaging_plane=plane)
    seg.add_column(name="global_roi_id", description="The global ID assigned to each unique ROI across sessions.")
    ids = (589000000 + 11 * np.arange(n_cells)).astype(np.int64)
    for k in range(n_cells):
        seg.add_roi(id=int(ids[k]), pixel_mask=[(k, 3, 1.0), (k, 4, 0.5)], global_roi_id=int(ids[k]))
    module.add(segmentation)
    region = seg.create_roi_table_region(region=list(range(n_cells)), description="The ROIs")
    # frames at ~30 Hz; stimuli: scenes back to back (7 frames each), gratings, a movie, spontaneous
    n_frames = 900
    ts = 5.0 + np.arange(n_frames) / RATE + rng.uniform(-1e-4, 1e-4, n_frames)
    scenes = np.concatenate([np.append(rng.permutation(n_scenes), -1) for _ in range(n_repeats)])
    ns_onset = ts[30] + np.arange(len(scenes)) * 0.25
    dff = (rng.integers(-8, 9, size=(n_frames, n_cells)) / 64.0).astype(np.float32)
    for k, scene in enumerate(scenes):
        inside = (ts >= ns_onset[k]) & (ts < ns_onset[k] + 0.25)
        if scene >= 0:
            dff[np.ix_(inside, np.arange(n_cells) % n_scenes == scene)] += 2.0
    corrected = RoiResponseSeries(name="Corrected", description="corrected", data=rng.normal(100, 5, (n_frames, n_cells)),
                                  timestamps=ts, unit="n.a.", rois=region)
    neuropil = RoiResponseSeries(name="Neuropil", description="neuropil", data=rng.normal(50, 5, (n_frames, n_cells)),
                                 timestamps=corrected, unit="n.a.", rois=region)
    module.add(Fluorescence(name="Fluorescence", roi_response_series=[neuropil, corrected]))
    dff_series = RoiResponseSeries(name="DfOverF", description="dF/F", data=dff, timestamps=corrected,
                                   unit="a.u.", rois=region)
    events = RoiResponseSeries(name="DfOverFEvents", description="L0 events", data=np.maximum(dff, 0),
                               timestamps=corrected, unit="a.u.", rois=region)
    module.add(DfOverF(name="DfOverF", roi_response_series=[dff_series, events]))
    # stimuli
    images = Images(name="natural_scenes_template", description="scenes",
                    images=[GrayscaleImage(name=f"NaturalScene{i}", data=rng.integers(0, 255, (4, 4)).astype(np.uint8))
                            for i in range(n_scenes)])
    nwb.add_stimulus_template(images)
    nwb.add_stimulus(IndexSeries(name="natural_scenes_stimulus", description="scenes",
                                 data=np.array(scenes, dtype=np.int64).astype(np.uint32), indexed_images=images,
                                 unit="N/A", timestamps=ns_onset))
    # the conversion links the movie's IndexSeries to an ImageSeries (indexed_timeseries), which pynwb 4
    # refuses to write; an Images template stands in for it (the reader uses only data and timestamps)
    movie = Images(name="natural_movie_one_template", description="movie frames",
                   images=[GrayscaleImage(name=f"frame{i}", data=np.zeros((2, 2), np.uint8)) for i in range(3)])
    nwb.add_stimulus_template(movie)
    mv_onset = ts[400] + np.concatenate([np.arange(3), 10 + np.arange(3)]) / 30.0
    nwb.add_stimulus(IndexSeries(name="natural_movie_one_stimulus", description="movie frames",
                                 data=np.tile(np.arange(3), 2).astype(np.uint32), indexed_images=movie,
                                 unit="N/A", timestamps=mv_onset))
    sg = TimeIntervals(name="static_gratings", description="static gratings")
    for col in ("orientation_in_degrees", "spatial_frequency_in_cycles_per_degree", "phase", "is_blank_sweep"):
        sg.add_column(name=col, description=col)
    sg_params = [(0.0, 0.04, 0.0), (90.0, 0.08, 0.5), (np.nan, np.nan, np.nan), (90.0, 0.04, 0.25)]
    sg_onset = ts[500] + 0.25 * np.arange(4)
    for t0, (o, sf, ph) in zip(sg_onset, sg_params):
        sg.add_interval(start_time=t0, stop_time=t0 + 0.25, orientation_in_degrees=o,
                        spatial_frequency_in_cycles_per_degree=sf, phase=ph, is_blank_sweep=bool(np.isnan(o)))
    nwb.add_stimulus(sg)
    dg = TimeIntervals(name="drifting_gratings", description="drifting gratings")
    for col in ("orientation_in_degrees", "spatial_frequency_in_cycles_per_degree", "temporal_frequency_in_hz",
                "is_blank_sweep"):
        dg.add_column(name=col, description=col)
    dg_onset = ts[600] + 3.0 * np.arange(3)
    for t0, (o, tf, blank) in zip(dg_onset, [(45.0, 2.0, False), (0.0, 0.0, True), (135.0, 8.0, False)]):
        dg.add_interval(start_time=t0, stop_time=t0 + 2.0, orientation_in_degrees=o,
                        spatial_frequency_in_cycles_per_degree=0.04, temporal_frequency_in_hz=tf, is_blank_sweep=blank)
    nwb.add_stimulus(dg)
    spont = TimeIntervals(name="spontaneous_stimulus", description="Mean luminance gray image.")
    spont.add_interval(start_time=ts[850], stop_time=ts[880])
    nwb.add_stimulus(spont)
    epochs = nwb.create_time_intervals(name="epochs", description="stimulus epochs")
    epochs.add_column(name="stimulus_type", description="stimulus")
    epochs.add_interval(start_time=ts[30], stop_time=ts[120], stimulus_type="natural_scenes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hdmf: linked tables of ROI regions
        with NWBHDF5IO(str(path), "w") as io:
            io.write(nwb)
    truth = {"ts": ts, "dff": dff.astype(np.float64), "scenes": scenes, "ns_onset": ns_onset, "ids": ids,
             "sg_onset": sg_onset, "dg_onset": dg_onset, "mv_onset": mv_onset, "n_scenes": n_scenes}
    return Path(path), truth


def frame_means(ts, dff, a, b):
    """The reference: mean over the frames with a <= ts < b, a Python loop over windows and cells."""
    out = np.full((len(a), dff.shape[1]), np.nan)
    for k in range(len(a)):
        inside = (ts >= a[k]) & (ts < b[k])
        for c in range(dff.shape[1]):
            if inside.any():
                out[k, c] = dff[inside, c].sum() / inside.sum()
    return out


@pytest.fixture(scope="module")
def dandi_2p(tmp_path_factory):
    return write_2p_nwb2(tmp_path_factory.mktemp("dandi728") / "sub-230570_ses-501940850_behavior+ophys.nwb")


def test_2p_nwb2_natural_scenes_planted_responses_and_blanks(dandi_2p):
    path, truth = dandi_2p
    before = sha256(path)
    recs = load_allen(path, stimulus="natural_scenes")
    assert list(recs) == ["VISal"]
    rec = recs["VISal"]
    onset = truth["ns_onset"]
    # IndexSeries presentations last until the next onset, at most the median interval (the last too)
    stop = np.append(np.minimum(onset[1:], onset[:-1] + np.median(np.diff(onset))), onset[-1] + np.median(np.diff(onset)))
    np.testing.assert_array_equal(rec.data, frame_means(truth["ts"], truth["dff"], onset, stop))
    s = rec.samples
    np.testing.assert_array_equal(s["start_time"], onset)
    np.testing.assert_array_equal(s["frame"], truth["scenes"])  # 4294967295 in the file -> -1
    want = [("blank" if k < 0 else int(k)) for k in truth["scenes"]]
    assert s["stimulus_id"].tolist() == want
    mean = rec.average(by="stimulus_id")
    assert mean.samples["stimulus_id"].tolist() == [0, 1, 2, 3, "blank"]  # the blank is not an image
    best = mean.samples["stimulus_id"].to_numpy()[np.argmax(mean.data, axis=0)]
    np.testing.assert_array_equal(best.astype(int), np.arange(5) % truth["n_scenes"])
    u = rec.units
    np.testing.assert_array_equal(u["unit_id"], truth["ids"])
    np.testing.assert_array_equal(u["global_roi_id"], truth["ids"])
    assert (u["area"] == "VISal").all() and (u["cre_line"] == "Emx1-IRES-Cre/wt").all()
    m = rec.meta
    assert m["units_of_measure"] == "dF/F" and m["session_id"] == 501940850 and m["indicator"] == "GCaMP6f"
    assert m["series"] == "ophys/DfOverF/DfOverF" and m["format"] == "allen-visual-coding-2p-nwb2"
    assert sha256(path) == before


def test_2p_nwb2_every_stimulus_window_and_series(dandi_2p):
    path, truth = dandi_2p
    info = allen_info(path)
    assert info["kind"] == "two-photon" and info["areas"] == ["VISal"] and info["n_units"] == 5
    assert set(info["stimuli"]) == {"natural_scenes", "natural_movie_one", "static_gratings", "drifting_gratings",
                                    "spontaneous"}
    rec = load_allen(path)["VISal"]
    s = rec.samples
    assert s["stimulus"].value_counts().to_dict() == {"natural_scenes": 15, "natural_movie_one": 6,
                                                      "static_gratings": 4, "drifting_gratings": 3, "spontaneous": 1}
    assert np.all(np.diff(s["start_time"].to_numpy()) >= 0)
    sg = s[s["stimulus"] == "static_gratings"]
    assert sg["stimulus_id"].tolist() == ["orientation=0|spatial_frequency=0.04|phase=0",
                                          "orientation=90|spatial_frequency=0.08|phase=0.5", "blank",
                                          "orientation=90|spatial_frequency=0.04|phase=0.25"]
    dg = s[s["stimulus"] == "drifting_gratings"]
    assert dg["stimulus_id"].tolist() == ["orientation=45|temporal_frequency=2", "blank",
                                          "orientation=135|temporal_frequency=8"]  # is_blank_sweep
    np.testing.assert_array_equal(dg["stop_time"], truth["dg_onset"] + 2.0)
    movie = s[s["stimulus"] == "natural_movie_one"]
    assert movie["frame"].tolist() == [0, 1, 2] * 2 and movie["repeat"].tolist() == [0] * 3 + [1] * 3
    assert movie["stimulus_id"].tolist() == [0, 1, 2] * 2
    assert (s.loc[s["stimulus"] == "spontaneous", "stimulus_id"] == "spontaneous").all()
    a, b = s["start_time"].to_numpy(), s["stop_time"].to_numpy()
    np.testing.assert_array_equal(rec.data, frame_means(truth["ts"], truth["dff"], a, b))
    win = load_allen(path, stimulus="static_gratings", window=(0.0, 0.5))["VISal"]
    np.testing.assert_array_equal(win.data, frame_means(truth["ts"], truth["dff"], truth["sg_onset"],
                                                        truth["sg_onset"] + 0.5))
    neuropil = load_allen(path, stimulus="static_gratings", series="Fluorescence/Neuropil")["VISal"]
    assert neuropil.meta["series"] == "ophys/Fluorescence/Neuropil" and neuropil.meta["units_of_measure"] == "n.a."
    table = allen_stimulus_table(path, "drifting_gratings")
    assert table["orientation"].tolist() == [45.0, 0.0, 135.0] and "temporal_frequency" in table
    with pytest.raises(ArgumentError, match="available stimuli are"):
        load_allen(path, stimulus="gabors")


def test_natural_scene_blanks_are_blank_in_every_layout(tmp_path, neuropixels):
    path, truth = write_2p(tmp_path / "ophys.nwb")  # NWB 1: data -1
    s = load_allen(path, stimulus="natural_scenes")["VISl"].samples
    assert s["stimulus_id"].tolist() == [("blank" if k < 0 else int(k)) for k in truth["scenes"]]
    np.testing.assert_array_equal(s["frame"], truth["scenes"])
    path, _ = neuropixels  # NWB 2 Neuropixels: frame -1.0 in natural_scenes_presentations
    s = allen_stimulus_table(path, "natural_scenes")
    assert s["stimulus_id"].tolist() == list(range(6)) * 3 + [0, 1, 2, 3, 4, "blank"]
    assert s["frame"].iloc[-1] == -1.0
