"""Binning NWB spike trains side by side: neurotk vs a per-unit pynwb loop vs pynapple.

Writes a synthetic NWB file with pynwb (1,000 units and 10 million spikes; ``--quick``:
200 units and 500,000 spikes), cached in the temporary folder so later runs reuse it,
then bins every unit into 10 ms bins over the whole session, in one process:

- ``neurotk.io.bin_spikes(path, 0.01)`` (reads the flat spike array in chunks),
- the loop a user writes with pynwb: ``nwb.units["spike_times"][i]`` + ``np.histogram``
  for each unit,
- pynapple (if installed: the ``bench`` extra): ``nap.load_file(path)["units"].count(0.01)``.

Each timing opens the file (end to end, from the path). Prints the best wall time, the
ratio to neurotk (> 1 means neurotk is faster), the peak memory traced by tracemalloc
during one call (next to the size of the spike-time array and of the result) and whether
the counts agree exactly with neurotk's.

Run: ``python benchmarks/bench_nwb.py [--quick] [--repeat N]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from _measure import measure

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
    with atomic_path(path) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
    return path




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 units, 500k spikes (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per method (best is kept)")
    parser.add_argument("--no-pynapple", action="store_true", help="skip pynapple even if installed")
    args = parser.parse_args(argv)

    from pynwb import NWBHDF5IO

    from neurotk.io import bin_spikes, read_spikes

    n_units, n_spikes, duration = (200, 500_000, 100.0) if args.quick else (1000, 10_000_000, 100.0)
    cache = Path(tempfile.gettempdir()) / "neurotk_bench"
    path = cache / f"bench_{n_units}u_{n_spikes}s_{int(duration)}.nwb"
    if not path.exists():
        print(f"writing {path} (once; later runs reuse it) ...", flush=True)
        t0 = time.perf_counter()
        write_session(path, n_units, n_spikes, duration)
        print(f"  written in {time.perf_counter() - t0:.1f} s, {path.stat().st_size / 2**20:.0f} MiB")
    spikes = read_spikes(path)
    start = 0.0
    rec = bin_spikes(spikes, BIN_SIZE, start=start)
    edges = np.concatenate([rec.samples["time"].to_numpy(), rec.samples["bin_stop"].to_numpy()[-1:]])
    stop = float(edges[-1])
    n_bins = len(edges) - 1
    spike_mib = spikes.n_spikes * 8 / 2**20
    result_mib = n_bins * n_units * 8 / 2**20
    print(f"{n_units} units, {spikes.n_spikes:,} spikes over {duration:.0f} s -> {n_bins:,} bins of "
          f"{BIN_SIZE * 1000:.0f} ms; spike-time array {spike_mib:.0f} MiB, result (float64) {result_mib:.0f} MiB")

    def ours():
        return bin_spikes(path, BIN_SIZE, start=start, stop=stop).data

    def ours_f32():
        return bin_spikes(path, BIN_SIZE, start=start, stop=stop, dtype=np.float32).data

    def pynwb_loop():
        out = np.empty((n_bins, n_units))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with NWBHDF5IO(str(path), "r") as io:
                nwb = io.read()
                column = nwb.units["spike_times"]
                for i in range(len(nwb.units)):  # the per-unit loop users write
                    out[:, i] = np.histogram(column[i], bins=edges)[0]
        return out

    def ours_default_range():  # start/stop from the data: one more pass over the spikes
        return bin_spikes(path, BIN_SIZE).data[:, :]

    methods = [("neurotk.io.bin_spikes", ours), ("neurotk.io.bin_spikes float32", ours_f32),
               ("neurotk bin_spikes, default range", ours_default_range),
               ("pynwb loop + np.histogram", pynwb_loop)]
    try:
        if args.no_pynapple:
            raise ImportError
        import pynapple as nap

        def pynapple_count():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                units = nap.load_file(str(path))["units"]
                ep = nap.IntervalSet(start, stop)
                return units.count(BIN_SIZE, ep).values

        def pynapple_count_only():  # spike times already in memory: binning alone
            return loaded.count(BIN_SIZE, nap.IntervalSet(start, stop)).values

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loaded = nap.load_file(str(path))["units"]
        pynapple_count_only()  # compile numba kernels before timing
        methods += [(f"pynapple {nap.__version__} load + count", pynapple_count),
                    ("pynapple count (in memory)", pynapple_count_only)]
    except ImportError:
        print("pynapple not installed (pip install pynapple): skipped")

    rows = []
    reference = None
    for name, fn in methods:
        t, peak, out = measure(fn, args.repeat)
        if reference is None:
            reference = np.asarray(out)
        out = np.asarray(out, dtype=np.float64)
        if out.shape == reference.shape:
            differ = int((out != reference).sum())
            agree = "exact" if differ == 0 else f"{differ} cells differ (max {np.abs(out - reference).max():g})"
        else:
            agree = f"shape {out.shape} vs {reference.shape}"
        rows.append((name, t, peak, agree))
        del out
    base = rows[0][1]
    print()
    print(f"{'method':34} {'time (s)':>9} {'x slower':>9} {'peak MiB':>9} {'peak/spikes':>11}  agreement")
    for name, t, peak, agree in rows:
        print(f"{name:34} {t:9.3f} {t / base:9.1f} {peak:9.1f} {peak / spike_mib:11.2f}  {agree}")
    print(f"\n(peak/spikes: peak traced memory / spike-time array ({spike_mib:.0f} MiB); the result itself "
          f"is {result_mib:.0f} MiB in float64)")


if __name__ == "__main__":
    main()
