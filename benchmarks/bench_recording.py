"""Recording operations side by side with pandas, xarray and scipy, in one process.

Averages repeats per stimulus (``Recording.average``) against ``DataFrame.groupby().mean()``
and xarray's ``groupby().mean()``, and z-scores (``Recording.zscore``) against
``scipy.stats.zscore``, on the same data. Prints time ratios (peer / neurotk, > 1 means
neurotk is faster), peak extra memory and the largest absolute difference.

Run: ``python benchmarks/bench_recording.py [--quick]``
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from _measure import measure




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
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

    rows = []
    t_ours, m_ours, ours = measure(lambda: rec.average(by="stimulus").data)
    for name, fn in [
        ("pandas groupby.mean", lambda: frame.groupby(stimulus).mean().to_numpy()),
        ("xarray groupby.mean", lambda: da.groupby("stimulus").mean().values),
    ]:
        t, m, ref = measure(fn)
        rows.append(("average(by='stimulus')", name, t_ours, t, m_ours, m, np.abs(ours - ref).max()))
    t_ours, m_ours, ours = measure(lambda: rec.zscore().data)
    t, m, ref = measure(lambda: scipy.stats.zscore(data, axis=0))
    rows.append(("zscore()", "scipy.stats.zscore", t_ours, t, m_ours, m, np.abs(ours - ref).max()))

    print(f"data: {data.shape[0]} presentations ({n_stimuli} stimuli x {n_repeats} repeats) x {n_units} units, float64")
    print(f"{'operation':24} {'peer':22} {'neurotk s':>10} {'peer s':>9} {'ratio':>7} {'neurotk MiB':>12} {'peer MiB':>9} {'max |diff|':>11}")
    for op, peer, t_n, t_p, m_n, m_p, diff in rows:
        print(f"{op:24} {peer:22} {t_n:10.4f} {t_p:9.4f} {t_p / t_n:7.2f} {m_n:12.1f} {m_p:9.1f} {diff:11.2e}")
    return rows


if __name__ == "__main__":
    main()
