"""Recording operations side by side with pandas, xarray and scipy, in one process.

Averages repeats per stimulus (``Recording.average``) against ``DataFrame.groupby().mean()``
and xarray's ``groupby().mean()``, and z-scores (``Recording.zscore``) against
``scipy.stats.zscore``, on the same data. The sides of each operation are interleaved
(``_measure.compare``: A B C A B C ..., median and range of wall time, CPU time, and the
same with BLAS pinned to one thread). Prints and emits a section with the time ratios
(peer / neurotk: above 1, neurotk is faster), the peak traced memory of one call and the
largest absolute difference from neurotk's result.

Run: ``python benchmarks/bench_recording.py [--quick] [--repeat N]``
(``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import os
import textwrap

import numpy as np
import pandas as pd
from _measure import (
    MIN_REPEAT,
    TIMING_HEADER,
    compare,
    emit,
    peak_mib,
    ratio,
    rst_table,
    timing_rows,
)


def faster(*ratios: float) -> str:
    """Ratios (peer / neurotk time) in words: ``"2.1-3.4x faster than"``, ``"1.2x slower than"`` ..."""
    lo, hi = min(ratios), max(ratios)
    span = (lambda a, b: f"{a:.1f}x" if f"{a:.1f}" == f"{b:.1f}" else f"{a:.1f}-{b:.1f}x")
    if lo >= 1:
        return f"{span(lo, hi)} faster than"
    if hi < 1:
        return f"{span(1 / hi, 1 / lo)} slower than"
    return f"between {1 / lo:.1f}x slower and {hi:.1f}x faster than"


def paragraph(text: str) -> str:
    """``text`` wrapped at 100 characters (never inside a word or an inline literal's word)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help=f"timed calls per side, interleaved (median kept; at least {MIN_REPEAT})")
    args = parser.parse_args(argv)

    import scipy.stats
    import xarray as xr

    from neurotk import Recording

    n_stimuli, n_repeats, n_units = (200, 5, 500) if args.quick else (1000, 10, 5000)
    rng = np.random.default_rng(0)
    stimulus = rng.permutation(np.repeat(np.arange(n_stimuli), n_repeats))
    data = rng.poisson(5.0, size=(stimulus.size, n_units)).astype(float)
    rec = Recording(data, samples={"stimulus": stimulus}, copy=False)
    frame = pd.DataFrame(data)
    da = xr.DataArray(data, dims=("sample", "unit"), coords={"stimulus": ("sample", stimulus)})

    operations = {
        "average(by='stimulus')": {
            "neurotk": lambda: rec.average(by="stimulus").data,
            "pandas groupby.mean": lambda: frame.groupby(stimulus).mean().to_numpy(),
            "xarray groupby.mean": lambda: da.groupby("stimulus").mean().values,
        },
        "zscore()": {
            "neurotk": lambda: rec.zscore().data,
            "scipy.stats.zscore": lambda: scipy.stats.zscore(data, axis=0),
        },
    }
    rows, found = [], {}
    for op, sides in operations.items():
        runs = compare(sides, repeat=args.repeat, pinned=True)
        ours = runs["neurotk"].result
        for name, row in zip(runs, timing_rows(runs, reference="neurotk")):
            diff = float(np.abs(np.asarray(runs[name].result) - ours).max())
            rows.append([op, *row, f"{peak_mib(sides[name]):.0f}", f"{diff:.1e}" if diff else "0"])
            found[op, name] = (ratio(runs, name, "neurotk"), ratio(runs, name, "neurotk", pinned=True), diff)
        for t in runs.values():
            t.result = None

    avg = [v for (op, name), v in found.items() if op.startswith("average") and name != "neurotk"]
    z = found["zscore()", "scipy.stats.zscore"]
    worst = max(v[2] for v in found.values())
    repeats = max(args.repeat, MIN_REPEAT)
    text = "\n".join([
        "Recording operations",
        "--------------------",
        "",
        paragraph(f"``python benchmarks/bench_recording.py{' --quick' if args.quick else ''}``: "
        f"``Recording.average(by='stimulus')`` against pandas' and xarray's ``groupby().mean()``, and "
        f"``Recording.zscore()`` against ``scipy.stats.zscore``, on {stimulus.size:,} presentations "
        f"({n_stimuli:,} stimuli x {n_repeats} repeats) x {n_units:,} units, float64; the sides of each "
        f"operation interleaved, {repeats} timed calls each, then {repeats} more with BLAS pinned to one "
        "thread. Ratio: the side's time / neurotk's. Peak MiB: memory traced by ``tracemalloc`` during one "
        "call; max diff: the largest absolute difference from neurotk's result."),
        "",
        rst_table(["operation", *TIMING_HEADER, "peak MiB", "max diff"], rows),
        paragraph(f"Averaging repeats is {faster(*(v[0] for v in avg))} pandas "
        f"and xarray (with BLAS on one thread: {faster(*(v[1] for v in avg))} them); z-scoring is "
        f"{faster(z[0])} scipy (one thread: {faster(z[1])[:-5]}). "
        + ("The results agree exactly." if worst == 0 else f"The results agree to within {worst:.1e}.")),
    ])
    emit(None, text)
    return rows


if __name__ == "__main__":
    main()
