"""The reading pass of spike times (SpikeTrains.chunks) against a plain h5py read and np.sort per unit.

``chunks()`` validates each chunk in one comparison pass (each spike against the one before
it, run borders excepted) and falls back to the full checks only where that finds something.
These tests write files (pynwb) whose units are empty, single-spike, longer than a chunk,
ascending, stored out of order, with ties, starting before the previous unit ends, or
with NaN / infinite times at a run's start, end or middle, and compare what the pass
hands out, warns and raises with a reference computed from ``h5py`` directly.
"""

import datetime
import re
import warnings

import h5py
import numpy as np
import pytest

from neurotk import DataFormatError, NeurotkWarning, NonFiniteDataError, Recording
from neurotk.io import bin_spikes, read_spikes

pynwb = pytest.importorskip("pynwb")


def write_units(path, trains, dtype=np.float64):
    """An NWB file (pynwb) whose units (ids 100, 101, ...) hold ``trains`` as given."""
    from hdmf.common import VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    flat = np.concatenate(trains).astype(dtype)
    ends = np.cumsum([len(t) for t in trains])
    nwb = NWBFile(session_description="read-pass tests", identifier="read-pass",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
    col = VectorData(name="spike_times", description="s", data=flat)
    nwb.units = Units(name="units", description="units", id=100 + np.arange(len(trains)),
                      columns=[col, VectorIndex(name="spike_times_index", data=ends, target=col)])
    with NWBHDF5IO(str(path), "w") as io, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # hdmf: float32 converted to the spec's float64
        io.write(nwb)
    if np.dtype(dtype) != np.float64:  # pynwb writes float64: store the times in ``dtype`` with h5py
        with h5py.File(path, "r+") as f:
            attrs = dict(f["units/spike_times"].attrs)
            del f["units/spike_times"]
            ds = f["units"].create_dataset("spike_times", data=flat)
            ds.attrs.update(attrs)
    return path


def stored_units(path, dtype=np.float64):
    """Spike times per unit as stored (float64), read with h5py: the reference."""
    with h5py.File(path, "r") as f:
        assert f["units/spike_times"].dtype == dtype
        times = f["units/spike_times"][:].astype(np.float64)
        ends = f["units/spike_times_index"][:].astype(np.int64)
    return np.split(times, ends[:-1])


def mixed_trains(rng):
    """Units of every shape the pass meets; units 2, 6 and 9 are stored out of order."""
    up = lambda n, lo=0.0, hi=10.0: np.sort(rng.uniform(lo, hi, n))
    trains = [
        up(30),                                   # 0 ascending
        np.zeros(0),                              # 1 empty
        rng.permutation(up(25)),                  # 2 shuffled
        np.array([4.2]),                          # 3 one spike
        up(200),                                  # 4 longer than the small chunks, ascending
        np.repeat(up(6), 3),                      # 5 ties only (ascending)
        rng.permutation(up(150)),                 # 6 longer than the small chunks, shuffled
        up(12, 0.0, 0.5),                         # 7 starts far before unit 6 ends
        np.zeros(0),                              # 8 empty
        np.concatenate([up(40, 5, 9), up(40, 0, 4)]),  # 9 two ascending halves: one descent
        up(3, 9.0, 9.5),                          # 10 short, last
    ]
    return trains


def gather(spikes, chunk_size):
    """Run the pass; per selected column the pieces handed out, in order, and the warnings."""
    pieces = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for times, cols, lengths in spikes.chunks(chunk_size=chunk_size):
            assert times.dtype == np.float64 and times.size == lengths.sum()
            assert (np.diff(cols) > 0).all() and (lengths > 0).all()
            for c, piece in zip(cols, np.split(times, np.cumsum(lengths)[:-1])):
                pieces.setdefault(int(c), []).append(piece.copy())
    return pieces, [w for w in caught if issubclass(w.category, NeurotkWarning)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("selection", [None, [0, 2, 3, 6, 7, 10], [1, 8], [5, 9]])
def test_chunks_equal_h5py_read_sorted_per_unit(tmp_path, chunk_size, selection, dtype):
    path = write_units(tmp_path / "mixed.nwb", mixed_trains(np.random.default_rng(3)), dtype)
    stored = stored_units(path, dtype)
    spikes = read_spikes(path)
    if selection is not None:
        spikes = spikes.select(selection)
    units = list(range(len(stored))) if selection is None else selection
    pieces, caught = gather(spikes, chunk_size)
    # every selected unit with spikes appears, and nothing else
    assert sorted(pieces) == [c for c, u in enumerate(units) if stored[u].size]
    for c, u in enumerate(units):
        got = pieces.get(c, [])
        if stored[u].size <= chunk_size:
            assert len(got) <= 1  # a unit that fits in a chunk is never cut
        # reference: the stored times cut where the pass cut them, each piece sorted by np.sort
        cuts = np.cumsum([p.size for p in got])[:-1]
        want = [np.sort(p) for p in np.split(stored[u], cuts)] if got else []
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)
        if got:  # the multiset of times is the unit's, whatever the cuts
            np.testing.assert_array_equal(np.sort(np.concatenate(got)), np.sort(stored[u]))
    # one warning naming exactly the units stored out of order (a descent anywhere in the unit)
    unsorted = [u for u in units if (np.diff(stored[u]) < 0).any()]
    if not unsorted:
        assert caught == []
    else:
        assert len(caught) == 1
        message = str(caught[0].message)
        assert f"spike times of {len(unsorted)} of {len(units)} units" in message
        ids = re.search(r"unit ids \[?([0-9, ]+)", message).group(1)
        assert [int(i) for i in ids.replace(" ", "").split(",") if i] == [100 + u for u in unsorted]


def test_descents_at_unit_borders_only_are_not_reported(tmp_path):
    # every unit ascending, but each starts before the previous one ends (as in real files):
    # the comparison across a border must not count as a descent, in any chunking
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 100, n)) for n in (50, 1, 80, 2, 33)]
    path = write_units(tmp_path / "borders.nwb", trains)
    for chunk_size in (1, 3, 50, 1000):
        pieces, caught = gather(read_spikes(path), chunk_size)
        assert caught == []
        for c, t in enumerate(trains):
            np.testing.assert_array_equal(np.concatenate(pieces[c]), t)


def nonfinite_cases():
    """(name, trains, unit of the first bad value, what it is, number of bad values)."""
    base = lambda: [np.sort(np.random.default_rng(u).uniform(0, 10, n)) for u, n in
                    enumerate((20, 1, 90, 0, 15))]

    def case(edits, first, what):
        trains = base()
        for u, k, value in edits:
            trains[u] = trains[u].copy()
            trains[u][k] = value
        return trains, first, what, len(edits)

    return {
        "nan at a unit's first spike": case([(2, 0, np.nan)], 2, "NaN"),
        "nan at a unit's last spike": case([(2, -1, np.nan)], 2, "NaN"),
        "nan in the middle": case([(0, 7, np.nan)], 0, "NaN"),
        "nan as a unit's only spike": case([(1, 0, np.nan)], 1, "NaN"),
        "+inf as a unit's last spike (still ascending)": case([(4, -1, np.inf)], 4, "infinite"),
        "-inf as a unit's first spike (still ascending)": case([(0, 0, -np.inf)], 0, "infinite"),
        "inf as the only spike": case([(1, 0, np.inf)], 1, "infinite"),
        "nan late in a long unit": case([(2, 80, np.nan)], 2, "NaN"),
        "two units, the first named": case([(4, 3, np.nan), (2, 40, np.inf)], 2, "infinite"),
    }


@pytest.mark.parametrize("name", list(nonfinite_cases()))
@pytest.mark.parametrize("shuffled", [False, True])
def test_nonfinite_spike_times_raise_the_same_error(tmp_path, name, shuffled):
    trains, first, what, n_bad = nonfinite_cases()[name]
    if shuffled:  # the unit holding the bad value is also stored out of order
        trains[first] = np.random.default_rng(1).permutation(trains[first])
    path = write_units(tmp_path / "bad.nwb", trains)
    for chunk_size in (4, 1 << 20):  # small chunks: one bad value per chunk at most here
        spikes = read_spikes(path)
        count = n_bad if chunk_size > 1000 else 1
        expect = (f"{path}: field '/units/spike_times' has {count} non-finite spike times in a chunk "
                  f"(first: {what} for unit id {100 + first!r}); expected finite times in seconds")
        with pytest.raises(DataFormatError) as err:
            for _ in spikes.chunks(chunk_size=chunk_size):
                pass
        assert str(err.value) == expect
    with pytest.raises(DataFormatError, match="non-finite spike times"):
        bin_spikes(path, 0.5, start=0.0, stop=10.0)
    # the other units read without error, even when read along with the bad unit and dropped
    bad_units = {first} | {u for u in range(len(trains)) if not np.isfinite(trains[u]).all()}
    good = [u for u in range(len(trains)) if u not in bad_units]
    stored = stored_units(path)
    for chunk_size in (4, 1 << 20):
        pieces, _ = gather(read_spikes(path).select(good), chunk_size)
        for c, u in enumerate(good):
            if stored[u].size:
                np.testing.assert_array_equal(np.sort(np.concatenate(pieces[c])), np.sort(stored[u]))


def test_recording_check_finite_switch():
    data = np.array([[0.0, 1.0], [np.inf, 2.0]])
    with pytest.raises(NonFiniteDataError, match=r"1 NaN and 0 infinite|0 NaN and 1 infinite"):
        Recording(data)
    with pytest.raises(NonFiniteDataError):
        Recording(data, check_finite=True)
    rec = Recording(data, check_finite=False, copy=False)  # the caller vouches: no scan
    assert rec.data[1, 0] == np.inf and not rec.data.flags.writeable
    rec = Recording(np.arange(6.0).reshape(3, 2), check_finite=False)
    np.testing.assert_array_equal(rec.data, np.arange(6.0).reshape(3, 2))


def test_binned_counts_unchanged_without_the_recording_scan(tmp_path):
    trains = mixed_trains(np.random.default_rng(8))
    path = write_units(tmp_path / "mixed.nwb", trains)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        rec = bin_spikes(path, 0.25, start=0.0, stop=10.0)
    edges = np.arange(41) * 0.25
    want = np.column_stack([np.histogram(t[t < 10.0], bins=edges)[0] for t in stored_units(path)])
    np.testing.assert_array_equal(rec.data, want)
    assert np.isfinite(rec.data).all()
