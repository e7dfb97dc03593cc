"""Binning, counting and PSTHs of NWB spike trains, checked against numpy loops and the simulation.

Files are genuine NWB: written by make_demo_session and by pynwb here (the same files as
test_nwb.py, which tests reading them). Every count is compared with np.histogram or a
plain loop over units and windows.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neurotk import ArgumentError, DataFormatError, Recording
from neurotk.datasets import simulate_visual_hierarchy
from neurotk.io import bin_spikes, count_spikes, psth, read_spikes

pynwb = pytest.importorskip("pynwb")

# the reference counts (the demo and handmade files are fixtures of conftest.py)
from nwb_files import DEMO_KW, flat_spikes, reference_counts, sha256  # noqa: E402


# --------------------------------------------------------------------------- binning
@pytest.mark.parametrize("which", ["demo", "handmade"])
def test_bin_spikes_equals_np_histogram_per_unit(which, demo, handmade):
    path = demo if which == "demo" else handmade[0]
    before = sha256(path)
    _, trains = flat_spikes(path)
    for bin_size, start, stop in [(0.01, 0.0, 20.0), (0.0333, 1.1, 7.3), (0.25, None, None)]:
        rec = bin_spikes(path, bin_size, start=start, stop=stop)
        edges = np.concatenate([rec.samples["time"], rec.samples["bin_stop"].iloc[-1:]])
        np.testing.assert_allclose(np.diff(edges), bin_size)
        ref = np.column_stack([np.histogram(t[t < edges[-1]], bins=edges)[0] for t in trains])
        np.testing.assert_array_equal(rec.data, ref)
        assert isinstance(rec, Recording) and rec.shape == (len(edges) - 1, len(trains))
        assert rec.meta["bin_size"] == bin_size and rec.meta["units_of_measure"] == "spike count"
        assert rec.meta["path"] == str(path)
        if start is None:  # defaults cover every spike
            assert rec.data.sum() == sum(len(t) for t in trains)
            nonempty = [t for t in trains if t.size]
            assert edges[0] <= min(t.min() for t in nonempty) and edges[-1] > max(t.max() for t in nonempty)
    f32 = bin_spikes(path, 0.01, start=0.0, stop=20.0, dtype=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32.data, bin_spikes(path, 0.01, start=0.0, stop=20.0).data)
    assert sha256(path) == before


def test_chunked_binning_equals_unchunked(demo):
    whole = bin_spikes(demo, 0.01)
    start, stop = whole.meta["start"], whole.meta["stop"]
    cols = [0, 3, 4, 9, 14]
    for chunk in (1, 7, 1000):
        spikes = read_spikes(demo, chunk_size=chunk)
        np.testing.assert_array_equal(bin_spikes(spikes, 0.01, progress=False).data, whole.data)
        sel = spikes.select(cols)  # scattered units: merged reads, dropped spikes
        part = bin_spikes(sel, 0.01, start=start, stop=stop, progress=False)
        np.testing.assert_array_equal(part.data, whole.data[:, cols])
    np.testing.assert_array_equal(bin_spikes(demo, 0.01, chunk_size=3, progress=False).data, whole.data)
    np.testing.assert_array_equal(count_spikes(read_spikes(demo, chunk_size=5)).data, count_spikes(demo).data)


def test_bin_spikes_arguments(demo):
    with pytest.raises(ArgumentError, match="start < stop"):
        bin_spikes(demo, 0.01, start=5.0, stop=5.0)
    for bad in (0, -0.1, np.nan, "10ms"):
        with pytest.raises(ArgumentError, match="bin_size"):
            bin_spikes(demo, bad)
    with pytest.raises(ArgumentError, match="chunk_size"):
        read_spikes(demo, chunk_size=0)
    with pytest.raises(ArgumentError):
        bin_spikes(42, 0.01)
    with pytest.raises(ArgumentError, match="no file"):
        read_spikes(Path(demo).with_name("missing.nwb"))


# --------------------------------------------------------------------------- counts and PSTHs
def test_count_spikes_equals_simulation_exactly(demo):
    sim = simulate_visual_hierarchy(random_state=0, **DEMO_KW)
    rec = count_spikes(demo, "stimulus", window=(0.0, 0.25))
    samples = rec.samples
    assert {"start_time", "stop_time", "stimulus", "category", "repeat"} <= set(samples.columns)
    rows = samples["repeat"].to_numpy() * sim.rates.shape[0] + samples["stimulus"].to_numpy()
    np.testing.assert_array_equal(rec.data, sim.recording.data[rows])
    assert rec.units["unit_id"].tolist() == sim.recording.units["unit_id"].tolist()
    averaged = rec.average(by="stimulus")
    np.testing.assert_allclose(averaged.data, sim.recording.average(by="stimulus").data)
    same = count_spikes(demo, "stimulus_presentations", window="interval")
    np.testing.assert_array_equal(same.data, rec.data)
    hz = count_spikes(demo, window=(0.0, 0.25), rate=True)
    np.testing.assert_allclose(hz.data, rec.data / 0.25)
    assert hz.meta["units_of_measure"] == "spikes/s"


def test_count_spikes_equals_reference_loop(handmade):
    path, trains = handmade
    spikes = read_spikes(path)
    pres = spikes.intervals("grating_presentations")
    a = pres["start_time"].to_numpy()
    # overlapping windows (0.5 s long, 0.4 s apart), before the onset and after it
    for window in [(0.0, 0.5), (-0.3, 0.05), (0.1, 0.1001)]:
        rec = count_spikes(spikes, "grating", window=window)
        np.testing.assert_array_equal(rec.data, reference_counts(trains, a + window[0], a + window[1]))
    trials = spikes.intervals("trials")
    rec = count_spikes(path, "trials", window="interval", rate=True, units="quality == 'mua'")
    keep = [u for u in range(7) if u % 2 == 1]
    ref = reference_counts([trains[u] for u in keep], trials["start_time"].to_numpy(), trials["stop_time"].to_numpy())
    np.testing.assert_allclose(rec.data, ref / 0.3)
    assert rec.samples["correct"].tolist() == trials["correct"].tolist()
    # a DataFrame and bare onsets work too
    onsets = np.array([0.0, 2.5, 2.5, 19.9])
    np.testing.assert_array_equal(count_spikes(spikes, onsets, window=(0, 1)).data,
                                  reference_counts(trains, onsets, onsets + 1))
    frame = pd.DataFrame({"start_time": onsets, "stop_time": onsets + 0.2, "label": list("abcd")})
    got = count_spikes(spikes, frame, window="interval")
    np.testing.assert_array_equal(got.data, reference_counts(trains, onsets, onsets + 0.2))
    assert got.samples["label"].tolist() == list("abcd")


def test_count_spikes_errors(handmade, demo):
    path, _ = handmade
    with pytest.raises(ArgumentError, match="start < stop"):
        count_spikes(path, "trials", window=(0.25, 0.0))
    with pytest.raises(ArgumentError, match="start < stop"):
        psth(path, "trials", window=(0.1, 0.1))
    with pytest.raises(DataFormatError, match=r"available tables are \[.*'trials'.*\]") as err:
        count_spikes(path, "saccades")
    assert str(path) in str(err.value)
    with pytest.raises(DataFormatError, match="stimulus_presentations"):
        read_spikes(demo).intervals("trials")
    nan_stop = pd.DataFrame({"start_time": [1.0, 2.0], "stop_time": [1.5, np.nan]})
    with pytest.raises(DataFormatError, match="stop_time"):
        count_spikes(path, nan_stop, window="interval")
    with pytest.raises(ArgumentError, match="start_time"):
        count_spikes(path, pd.DataFrame({"onset": [1.0]}))


def test_psth_equals_reference_loop(demo, handmade):
    path, trains = handmade
    rec = psth(path, "trials", window=(-0.1, 0.4), bin_size=0.05)
    trials = read_spikes(path).intervals("trials")
    onsets = trials["start_time"].to_numpy()
    offsets = -0.1 + np.arange(11) * 0.05
    assert rec.shape == (30 * 10, 7)
    samples = rec.samples
    assert samples["trial"].tolist() == list(np.repeat(np.arange(30), 10))
    np.testing.assert_allclose(samples["time"], np.tile(offsets[:-1], 30))
    ref = np.zeros((30, 10, 7))
    for k, onset in enumerate(onsets):
        edges = onset + offsets
        ref[k] = reference_counts(trains, edges[:-1], edges[1:])
    np.testing.assert_array_equal(rec.data, ref.reshape(300, 7))
    assert samples["stimulus"].tolist() == list(np.repeat(trials["stimulus"], 10))
    by = psth(path, "trials", window=(-0.1, 0.4), bin_size=0.05, by="stimulus", rate=True)
    assert by.shape == (4 * 10, 7)
    for s in range(4):
        expect = ref[trials["stimulus"].to_numpy() == s].mean(axis=0) / 0.05
        np.testing.assert_allclose(by.select(samples={"stimulus": s}).data, expect)
    # PSTH summed over its bins equals count_spikes over the same window
    total = psth(demo, window=(0.0, 0.25), bin_size=0.05).data.reshape(-1, 5, 15).sum(axis=1)
    np.testing.assert_array_equal(total, count_spikes(demo, window=(0.0, 0.25)).data)
