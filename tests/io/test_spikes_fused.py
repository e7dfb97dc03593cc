"""The fused binning and ranking passes of neurotk.io.spikes against np.searchsorted / np.histogram per unit.

Spike times are drawn on the bin edges themselves (the same floats as ``start + k *
bin_size``), at ``start`` and ``stop``, outside the range, at large magnitudes, in empty,
long (cut across chunks) and unsorted units; every count is compared with a plain
per-unit reference.
"""

import datetime
import warnings

import numpy as np
import pytest

from neurotk import NeurotkWarning
from neurotk.io import bin_spikes, count_spikes, psth, read_spikes
from neurotk.io import spikes as spikes_module

pynwb = pytest.importorskip("pynwb")


def write_units(path, trains):
    """An NWB file (pynwb) whose units hold ``trains`` as given (unsorted ones stay unsorted)."""
    from hdmf.common import VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    flat = np.concatenate(trains) if trains else np.zeros(0)
    ends = np.cumsum([len(t) for t in trains])
    nwb = NWBFile(session_description="fused-pass tests", identifier="fused",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    col = VectorData(name="spike_times", description="s", data=flat)
    nwb.units = Units(name="units", description="units", id=np.arange(len(trains)),
                      columns=[col, VectorIndex(name="spike_times_index", data=ends, target=col)])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def make_trains(rng, start, bin_size, n_bins, n_units=9):
    """Units with spikes on edges, at start/stop, outside the range, one empty, one long, one unsorted."""
    edges = start + np.arange(n_bins + 1) * bin_size  # the library's edges, float for float
    stop = edges[-1]
    trains = []
    for u in range(n_units):
        n = [0, 1, 40, 3000, 7, 600, 250, 90, 5][u % 9]
        on_edge = edges[rng.integers(0, n_bins + 1, n // 3)]
        near = on_edge + rng.choice([-1, 1], on_edge.size) * np.spacing(on_edge)  # one ulp off an edge
        spread = rng.uniform(start - 2 * bin_size, stop + 2 * bin_size, n - 2 * (n // 3))
        t = np.concatenate([on_edge, near, spread])
        if u % 4 == 2:
            t = np.concatenate([t, [start, stop, np.nextafter(stop, -np.inf), np.nextafter(start, -np.inf)]])
        t = np.sort(t)
        if u == 7:
            t = t[::-1].copy()  # unsorted in the file
        trains.append(t)
    return edges, trains


def reference_bins(trains, edges):
    """(n_bins, n_units): np.searchsorted(edges, t, 'right') - 1 per unit, spikes in [edges[0], edges[-1])."""
    n_bins = len(edges) - 1
    out = np.zeros((n_bins, len(trains)))
    for u, t in enumerate(trains):
        b = np.searchsorted(edges, t, side="right") - 1
        b = b[(b >= 0) & (b < n_bins)]
        out[:, u] = np.bincount(b, minlength=n_bins)
    return out


def reference_windows(trains, a, b):
    """(n_windows, n_units) spikes in [a, b): np.searchsorted on each sorted unit."""
    out = np.zeros((len(a), len(trains)))
    for u, t in enumerate(trains):
        t = np.sort(t)
        out[:, u] = np.searchsorted(t, b, side="left") - np.searchsorted(t, a, side="left")
    return out


@pytest.mark.parametrize("start, bin_size, n_bins", [(0.0, 0.01, 500), (1.1, 0.0333, 97),
                                                     (-3.0, 0.25, 40), (1.0e5, 1e-3, 2000)])
def test_bin_spikes_equals_searchsorted_per_unit(tmp_path, start, bin_size, n_bins):
    rng = np.random.default_rng(int(n_bins))
    edges, trains = make_trains(rng, start, bin_size, n_bins)
    path = write_units(tmp_path / "u.nwb", trains)
    ref = reference_bins(trains, edges)
    # np.histogram agrees everywhere but in its closed last bin
    hist = np.column_stack([np.histogram(t[t < edges[-1]], bins=edges)[0] for t in trains])
    np.testing.assert_array_equal(ref, hist)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)  # the unsorted unit (tested below)
        for chunk in (None, 3, 250):
            spikes = read_spikes(path) if chunk is None else read_spikes(path, chunk_size=chunk)
            rec = bin_spikes(spikes, bin_size, start=start, stop=float(edges[-1]), progress=False)
            got_edges = np.concatenate([rec.samples["time"], rec.samples["bin_stop"].iloc[-1:]])
            np.testing.assert_array_equal(got_edges, edges)
            np.testing.assert_array_equal(rec.data, ref)
        f32 = bin_spikes(path, bin_size, start=start, stop=float(edges[-1]), dtype=np.float32)
        assert f32.dtype == np.float32
        np.testing.assert_array_equal(f32.data, ref)
        sel = bin_spikes(read_spikes(path, chunk_size=50).select([1, 3, 7, 8]), bin_size, start=start,
                         stop=float(edges[-1]))
        np.testing.assert_array_equal(sel.data, ref[:, [1, 3, 7, 8]])
        whole = bin_spikes(path, bin_size)  # the default range covers every spike
        assert whole.data.sum() == sum(t.size for t in trains)


def test_fused_pass_blocks_and_unsorted_units(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    edges, trains = make_trains(rng, 0.0, 0.01, 300)
    path = write_units(tmp_path / "u.nwb", trains)
    ref = reference_bins(trains, edges)
    with pytest.warns(NeurotkWarning, match="not in ascending order"):
        np.testing.assert_array_equal(bin_spikes(path, 0.01, start=0.0, stop=3.0).data, ref)
    monkeypatch.setattr(spikes_module, "_BLOCK", 13)  # blocks that cut units anywhere
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        for chunk in (5, 64, 10_000):
            spikes = read_spikes(path, chunk_size=chunk)
            np.testing.assert_array_equal(bin_spikes(spikes, 0.01, start=0.0, stop=3.0).data, ref)
            a = np.sort(rng.uniform(-0.5, 3.5, 40))
            np.testing.assert_array_equal(count_spikes(spikes, a, window=(0.0, 0.3)).data,
                                          reference_windows(trains, a, a + 0.3))


def test_count_spikes_and_psth_equal_searchsorted_per_unit(tmp_path):
    rng = np.random.default_rng(11)
    edges, trains = make_trains(rng, 0.0, 0.01, 400)
    path = write_units(tmp_path / "u.nwb", trains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        # onsets on spikes and on bin edges, overlapping windows, windows past both ends of the data
        onsets = np.sort(np.concatenate([edges[rng.integers(0, 401, 30)], rng.uniform(-1.0, 5.0, 30),
                                         trains[3][:: 300]]))
        for window in [(0.0, 0.25), (-0.05, 0.01), (0.0, 0.0100001)]:
            a, b = onsets + window[0], onsets + window[1]
            got = count_spikes(path, onsets, window=window)
            np.testing.assert_array_equal(got.data, reference_windows(trains, a, b))
        w0, bs, n_b = -0.1, 0.02, 15
        rec = psth(path, onsets, window=(w0, w0 + n_b * bs), bin_size=bs)
        offsets = w0 + np.arange(n_b + 1) * bs
        e = onsets[:, None] + offsets[None, :]  # the library's edges: onset + offset
        ref = reference_windows(trains, e[:, :-1].ravel(), e[:, 1:].ravel())
        np.testing.assert_array_equal(rec.data, ref)
        # the PSTH summed over its bins equals the count in the whole window
        total = count_spikes(path, onsets, window=(w0, w0 + n_b * bs)).data
        np.testing.assert_array_equal(rec.data.reshape(len(onsets), n_b, -1).sum(axis=1), total)


@pytest.mark.parametrize("kind", ["uniform", "random", "clustered", "ulp-apart", "huge"])
def test_edge_grid_rank_equals_searchsorted(kind):
    rng = np.random.default_rng(len(kind))
    if kind == "uniform":
        edges = np.arange(1001) * 0.01
    elif kind == "random":
        edges = np.unique(rng.uniform(0, 100, 5000))
    elif kind == "clustered":  # dense bursts of edges between long gaps
        edges = np.unique(np.concatenate([c + rng.uniform(0, 1e-3, 6) for c in rng.uniform(0, 100, 300)]))
    elif kind == "ulp-apart":  # window edges that touch up to rounding (onset + 0.4 vs next onset - 0.1)
        base = np.arange(0.0, 50.0, 0.5)
        edges = np.unique(np.concatenate([base, np.nextafter(base, np.inf), base + 0.2]))
    else:
        edges = 1e7 + np.arange(200) * 0.5
    grid = spikes_module._EdgeGrid.build(edges)
    t = np.sort(np.concatenate([edges, np.nextafter(edges, -np.inf), np.nextafter(edges, np.inf),
                                rng.uniform(edges[0] - 1, edges[-1] + 1, 20_000),
                                [edges[0] - 1e9, edges[-1] + 1e9]]))
    expect = np.searchsorted(edges, t, side="right")
    if grid is None:  # only edges too crowded for a grid fall back to np.searchsorted
        assert kind == "clustered"
        return
    n = t.size
    pos, cell, work = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n)
    np.testing.assert_array_equal(grid.rank(t, pos, cell, work), expect)
    if kind in ("uniform", "huge"):
        assert grid.steps == 1  # one step: the grid is finer than the edges
    if kind == "ulp-apart":
        assert grid.steps == 2  # no grid separates edges one ulp apart: two steps


def test_bin_spikes_peak_memory_stays_near_the_result(tmp_path):
    import tracemalloc

    rng = np.random.default_rng(2)
    trains = [np.sort(rng.uniform(0, 50, n)) for n in rng.integers(1000, 8000, 40)]
    path = write_units(tmp_path / "u.nwb", trains)
    spikes = read_spikes(path)
    bin_spikes(spikes, 0.01, start=0.0, stop=50.0)
    tracemalloc.start()
    rec = bin_spikes(spikes, 0.01, start=0.0, stop=50.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = rec.data.nbytes
    n_spikes = sum(t.size for t in trains)
    # the result, one chunk of spikes (these few fit in one) and its offsets, three 256 KiB buffers
    assert peak <= result + 3 * 8 * n_spikes + 4 * 8 * spikes_module._BLOCK + (1 << 20)
