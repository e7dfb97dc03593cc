"""Spike binning, counting and PSTHs of an NWB file side by side: neurotk vs the h5py read vs pynwb vs pynapple.

Writes a synthetic NWB file with pynwb (1,000 units and 10 million spikes over 100 s;
``--quick``: 200 units and 500,000 spikes), cached in the temporary folder so later runs
reuse it. Then, for each of

- ``bin_spikes(path, 0.01)``: 10 ms bins over the whole session,
- ``count_spikes(path, onsets, (0, 0.02))``: 20 ms windows every 25 ms (non-overlapping,
  so pynapple's IntervalSet keeps them all),
- ``psth(path, onsets, (-0.1, 0.4), 0.01)``: 10 ms bins around an onset every 0.5 s,

it times, interleaved in one process (``_measure.compare``: A B A B ..., median of at
least 3 repeats, wall and process-CPU time), end to end from the path:

- neurotk (reads the flat spike array in chunks and bins it in one fused pass),
- the h5py read of ``units/spike_times`` alone: the floor every side pays,
- the loop a user writes with pynwb: ``nwb.units["spike_times"][i]`` per unit, then
  ``np.histogram`` (bins) or ``np.searchsorted`` (windows, PSTH bins),
- pynapple where installed (the ``bench`` extra): ``load_file(path)["units"]`` then
  ``count(0.01)``, ``count(ep=windows)`` or ``trial_count(trials, 0.01)``.

For ``bin_spikes`` two more sides: ``read_spikes(path).chunks()`` alone (the chunked read
and its validation: finite, ascending runs), the floor of neurotk's pass before any
binning, and the h5py read followed by the fewest numpy passes that bin it (no checks, no
chunks), the floor of any numpy implementation. Printed: ratios to the h5py read (CPU and
wall), the ratio of each peer to neurotk, peak traced memory over the size of the spike
array, and whether each side's counts agree with neurotk's. The docs section goes through ``_measure.emit``.

Run: ``python benchmarks/bench_nwb.py [--quick] [--repeat N] [--no-pynapple]``
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from _measure import MIN_REPEAT, compare, emit, load_average, peak_mib, rst_table

BIN_SIZE = 0.01


def write_session(path: Path, n_units: int, n_spikes: int, duration: float, seed: int = 0) -> Path:
    """A genuine NWB file (pynwb) of ``n_units`` Poisson-like units, ``n_spikes`` spikes in all."""
    import datetime

    from hdmf.common import VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    from neurotk.utils import atomic_path

    rng = np.random.default_rng(seed)
    rates = rng.lognormal(0.0, 1.0, n_units)
    per_unit = rng.multinomial(n_spikes, rates / rates.sum())
    unit = np.repeat(np.arange(n_units), per_unit)
    times = rng.uniform(0.0, duration, n_spikes)
    order = np.lexsort((times, unit))
    times = times[order]
    ends = np.cumsum(per_unit)
    nwb = NWBFile(
        session_description="synthetic session for benchmarks/bench_nwb.py",
        identifier=f"bench-{n_units}-{n_spikes}",
        session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    )
    spike_col = VectorData(name="spike_times", description="spike times (s)", data=times)
    nwb.units = Units(
        name="units",
        description="synthetic units",
        id=np.arange(n_units),
        columns=[
            spike_col,
            VectorIndex(name="spike_times_index", data=ends, target=spike_col),
            VectorData(name="quality", description="sorting quality",
                       data=np.where(rng.random(n_units) < 0.8, "good", "mua").tolist()),
        ],
    )
    with atomic_path(path) as tmp, NWBHDF5IO(str(tmp), "w") as io:
        io.write(nwb)
    return path


def _pynwb_units(path):
    """The per-unit spike-time arrays, read as a pynwb user reads them (one index lookup per unit)."""
    from pynwb import NWBHDF5IO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            column = nwb.units["spike_times"]
            for i in range(len(nwb.units)):  # the per-unit loop users write
                yield i, np.asarray(column[i])


def _agreement(out, reference) -> str:
    out = np.asarray(out, dtype=np.float64)
    if out.shape != reference.shape:
        return f"shape {out.shape} vs {reference.shape}"
    differ = int((out != reference).sum())
    return "exact" if differ == 0 else f"{differ} of {out.size} cells differ"


def _sides(task: str, path: Path, n_units: int, use_pynapple: bool):
    """(sides, reference-shape converter) of one task: name -> callable returning (samples x units) counts."""
    import h5py

    from neurotk.io import bin_spikes, count_spikes, psth, read_spikes

    def h5py_read():
        with h5py.File(path, "r") as f:
            return f["units/spike_times"][:]

    rec = bin_spikes(path, BIN_SIZE, start=0.0)
    start, stop = 0.0, float(rec.meta["stop"])
    duration = float(rec.samples["time"].iloc[-1])
    n_bins = rec.shape[0]
    edges = start + np.arange(n_bins + 1) * BIN_SIZE
    del rec
    sides = {}
    if task == "bin_spikes":
        sides["neurotk"] = lambda: bin_spikes(path, BIN_SIZE, start=start, stop=stop).data
        sides["h5py read"] = h5py_read

        def read_pass():  # neurotk's own reading pass: chunks read, validated (finite, sorted), no binning
            return sum(t.size for t, _, _ in read_spikes(path).chunks())

        sides["read pass (SpikeTrains.chunks)"] = read_pass

        with h5py.File(path, "r") as f:
            ends = f["units/spike_times_index"][:]
        buffers = {"t": np.empty(int(ends[-1])), "codes": np.empty(int(ends[-1]), dtype=np.int64),
                   "offsets": np.repeat(np.arange(len(ends), dtype=np.int64) * n_bins, np.diff(ends, prepend=0))}

        def numpy_kernel():  # the fewest numpy passes that bin the read array, into buffers made once
            t, codes = buffers["t"], buffers["codes"]
            with h5py.File(path, "r") as f:
                f["units/spike_times"].read_direct(t)
            np.multiply(t, 1.0 / BIN_SIZE, out=t)
            codes[:] = t  # the cast, into the preallocated int64 buffer
            np.minimum(codes, n_bins - 1, out=codes)
            codes += buffers["offsets"]
            return np.bincount(codes, minlength=len(ends) * n_bins).reshape(len(ends), n_bins).T

        sides["h5py read + numpy bincount (no checks)"] = numpy_kernel

        def pynwb_loop():
            out = np.empty((n_bins, n_units))
            for i, t in _pynwb_units(path):
                out[:, i] = np.histogram(t, bins=edges)[0]
            return out

        sides["pynwb loop + np.histogram"] = pynwb_loop
        what = f"{n_bins:,} bins of {BIN_SIZE * 1000:.0f} ms"
    elif task == "count_spikes":
        onsets = np.arange(1.0, duration - 1.0, 0.025)
        w = (0.0, 0.02)
        a, b = onsets + w[0], onsets + w[1]
        sides["neurotk"] = lambda: count_spikes(path, onsets, window=w).data
        sides["h5py read"] = h5py_read

        def pynwb_loop():
            out = np.empty((len(onsets), n_units))
            for i, t in _pynwb_units(path):
                out[:, i] = np.searchsorted(t, b) - np.searchsorted(t, a)
            return out

        sides["pynwb loop + np.searchsorted"] = pynwb_loop
        what = f"{len(onsets):,} windows of {(w[1] - w[0]) * 1000:.0f} ms"
    else:
        onsets = np.arange(1.0, duration - 1.0, 0.5)
        w = (-0.1, 0.4)
        sides["neurotk"] = lambda: psth(path, onsets, window=w, bin_size=BIN_SIZE).data
        sides["h5py read"] = h5py_read
        rec_edges = onsets[:, None] + (w[0] + np.arange(round((w[1] - w[0]) / BIN_SIZE) + 1) * BIN_SIZE)

        def pynwb_loop():
            n_b = rec_edges.shape[1] - 1
            out = np.empty((len(onsets) * n_b, n_units))
            for i, t in _pynwb_units(path):
                out[:, i] = np.diff(np.searchsorted(t, rec_edges), axis=1).reshape(-1)
            return out

        sides["pynwb loop + np.searchsorted"] = pynwb_loop
        what = f"{len(onsets):,} trials x {rec_edges.shape[1] - 1} bins of {BIN_SIZE * 1000:.0f} ms"
    if use_pynapple:
        try:
            import pynapple as nap
        except ImportError:
            use_pynapple = False
    if use_pynapple:
        def load():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return nap.load_file(str(path))["units"]

        if task == "bin_spikes":
            def run(units):
                return units.count(BIN_SIZE, nap.IntervalSet(start, stop)).values
        elif task == "count_spikes":
            def run(units):
                return units.count(ep=nap.IntervalSet(a, b)).values
        else:
            def run(units):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "Some starts and ends are equal": windows that touch
                    trials = nap.IntervalSet(onsets + w[0], onsets + w[1])
                    tensor = units.trial_count(trials, BIN_SIZE)  # (units, trials, bins)
                return tensor.transpose(1, 2, 0).reshape(-1, tensor.shape[0])

        run(load())  # compile the numba kernels before timing
        sides[f"pynapple {nap.__version__} load + count"] = lambda: run(load())
    return sides, what


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 units, 500k spikes (same repeats)")
    parser.add_argument("--repeat", type=int, default=MIN_REPEAT, help="interleaved repeats per side (>= 3)")
    parser.add_argument("--no-pynapple", action="store_true", help="skip pynapple even if installed")
    args = parser.parse_args(argv)

    import neurotk
    from neurotk.io import read_spikes

    n_units, n_spikes, duration = (200, 500_000, 100.0) if args.quick else (1000, 10_000_000, 100.0)
    cache = Path(tempfile.gettempdir()) / "neurotk_bench"
    path = cache / f"bench_{n_units}u_{n_spikes}s_{int(duration)}.nwb"
    if not path.exists():
        print(f"writing {path} (once; later runs reuse it) ...", flush=True)
        t0 = time.perf_counter()
        write_session(path, n_units, n_spikes, duration)
        print(f"  written in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 2**20:.0f} MiB", flush=True)
    n_spikes = read_spikes(path).n_spikes
    spike_mib = n_spikes * 8 / 2**20
    output_x = {}
    repeat = max(args.repeat, MIN_REPEAT)
    rows, found = [], {}
    for task in ("bin_spikes", "count_spikes", "psth"):
        sides, what = _sides(task, path, n_units, not args.no_pynapple)
        print(f"{task}: {n_units} units, {n_spikes:,} spikes, {what} ...", flush=True)
        runs = compare(sides, repeat=repeat)
        reference = np.asarray(runs["neurotk"].result, dtype=np.float64)
        output_x[task] = np.asarray(runs["neurotk"].result).nbytes / (spike_mib * 2**20)
        read = runs["h5py read"]
        ours = runs["neurotk"]
        for name, t in runs.items():
            if name == "h5py read":
                agree = "(reads only)"
            elif name.startswith("read pass"):
                agree = "(no counts)"
            else:
                agree = _agreement(t.result, reference)
            t.result = None
            peak = peak_mib(sides[name]) / spike_mib
            rows.append([task, name, f"{t.median_wall:.3g} [{min(t.wall):.3g}-{max(t.wall):.3g}]",
                         f"{t.median_cpu:.3g}", f"{t.median_cpu / read.median_cpu:.2f}",
                         f"{t.median_cpu / min(read.cpu):.2f}", f"{t.median_wall / read.median_wall:.2f}",
                         "" if name == "neurotk" else f"{t.median_wall / ours.median_wall:.2f}",
                         f"{peak:.2f}", agree])
            found[(task, name)] = (t.median_cpu / read.median_cpu, t.median_wall / ours.median_wall, peak,
                                   t.median_cpu / min(read.cpu))
        del reference, runs, sides
    header = ["function", "side", "wall s, median [range]", "CPU s", "CPU / read", "CPU / fastest read", "wall / read",
              "side / neurotk (wall)", "peak / spikes", "counts"]
    table = rst_table(header, rows)

    bin_cpu, _, bin_peak, bin_best = found[("bin_spikes", "neurotk")]
    floor_cpu = found[("bin_spikes", "read pass (SpikeTrains.chunks)")][0]
    peers = {k: v for k, v in found.items()
             if k[1] not in ("neurotk", "h5py read") and not k[1].startswith(("read pass", "h5py read +"))}
    kernel_cpu = found[("bin_spikes", "h5py read + numpy bincount (no checks)")][0]
    closest_peer = min(peers.items(), key=lambda kv: kv[1][1])
    others = "; ".join(f"``{task}`` {cpu:.2f}x" for (task, name), (cpu, *_) in found.items()
                       if name == "neurotk" and task != "bin_spikes")
    (peer_task, peer_name), (_, peer_ratio, *_) = closest_peer
    conclusion = (
        f"``bin_spikes`` takes {bin_cpu:.2f}x the median CPU time of the h5py read ({bin_best:.2f}x its "
        f"fastest repeat; neurotk's reading pass alone, "
        f"chunked and validated, takes {floor_cpu:.2f}x, and the fewest numpy passes that bin the read "
        f"array, without checks or chunks, {kernel_cpu:.2f}x) with a peak of {bin_peak:.2f}x the spike array; "
        f"{others} the read. Peak memory over the spike array: "
        + ", ".join(f"``{task}`` {found[(task, 'neurotk')][2]:.2f}x (its output alone {output_x[task]:.2f}x)"
                    for task in output_x)
        + f". The closest peer, {peer_name} on ``{peer_task}``, takes {peer_ratio:.2f}x neurotk's wall time."
    )
    title = "NWB spike trains: binning, counting and PSTHs"
    paragraph = (
        f"A synthetic NWB file (pynwb) of {n_units:,} units and {n_spikes:,} spikes over {duration:.0f} s "
        f"({spike_mib:.0f} MiB of spike times), read from the path by each side: neurotk "
        f"(``bin_spikes`` at {BIN_SIZE * 1000:.0f} ms, ``count_spikes`` in 20 ms windows every 25 ms, "
        f"``psth`` in 10 ms bins from -0.1 to 0.4 s around an onset every 0.5 s), the h5py read of "
        f"``units/spike_times`` alone, a per-unit pynwb loop and pynapple where installed. Sides interleaved "
        f"(``benchmarks/_measure.py``), {repeat} repeats, medians; CPU is process time. \"Fastest read\" is "
        f"the h5py read's best repeat: its one {spike_mib:.0f} MiB allocation is the side a busy machine "
        f"disturbs most. The read pass is ``read_spikes(path).chunks()`` alone, without binning; \"h5py read + numpy "
        f"bincount\" reads the whole array into a buffer made once and bins it in the fewest numpy passes "
        f"(scale, cast into a second buffer, add the unit offsets computed once, one ``np.bincount``), "
        f"without neurotk's checks, chunks or bounded memory: the arithmetic floor of a numpy implementation. Peak memory "
        f"is traced by tracemalloc and divided by the "
        f"spike array. Python {platform.python_version()}, numpy {np.__version__}, neurotk "
        f"{getattr(neurotk, '__version__', '?')}, load average {load_average()}."
    )
    text = "\n".join([title, "-" * len(title), "", paragraph, "", table, conclusion, ""])
    emit(None, text)


if __name__ == "__main__":
    main()
