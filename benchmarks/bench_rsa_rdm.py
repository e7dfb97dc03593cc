"""RDM computation side by side with rsatoolbox's ``calc_rdm``, in one process.

Computes RDMs of 1000 conditions x 5000 channels with ``neurotk.rsa.rdm`` and with
rsatoolbox 0.3's ``calc_rdm`` on the same data, for the correlation distance, the squared
Euclidean distance per channel (rsatoolbox's ``"euclidean"``, neurotk's ``"sqeuclidean"``)
and the crossnobis distance with 4 folds (identity noise, leave-one-fold-out). The
correlation and Euclidean rows are run twice: on condition means (1000 rows) and on 4
repeats per condition (4000 rows, averaged by both libraries).

Prints time ratios (rsatoolbox / neurotk, > 1 means neurotk is faster), peak traced memory
of one call and the largest absolute difference of the condensed vectors. Timings include
everything after the input is built (a numpy array for neurotk, an rsatoolbox ``Dataset``
for rsatoolbox).

Run: ``python benchmarks/bench_rsa_rdm.py [--quick]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from _measure import measure




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement (best is kept)")
    args = parser.parse_args(argv)

    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    from neurotk import rsa

    n_cond, n_channels, n_folds = (200, 500, 4) if args.quick else (1000, 5000, 4)
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(n_cond, n_channels))
    cond = np.tile(np.arange(n_cond), n_folds)
    fold = np.repeat(np.arange(n_folds), n_cond)
    perm = rng.permutation(cond.size)  # presentations in random order
    cond, fold = cond[perm], fold[perm]
    trials = signal[cond] + rng.normal(size=(cond.size, n_channels))
    means = signal + rng.normal(size=signal.shape)
    ids = np.arange(n_cond)

    ds_means = Dataset(means, obs_descriptors={"conds": ids})
    ds_trials = Dataset(trials, obs_descriptors={"conds": cond, "folds": fold})

    cases = [
        ("correlation", "means", lambda: rsa.rdm(means, "correlation", ids).vector,
         lambda: calc_rdm(ds_means, method="correlation", descriptor="conds").dissimilarities[0]),
        ("correlation", "4 repeats", lambda: rsa.rdm(trials, "correlation", cond).vector,
         lambda: calc_rdm(ds_trials, method="correlation", descriptor="conds").dissimilarities[0]),
        ("sqeuclidean / 'euclidean'", "means", lambda: rsa.rdm(means, "sqeuclidean", ids).vector,
         lambda: calc_rdm(ds_means, method="euclidean", descriptor="conds").dissimilarities[0]),
        ("sqeuclidean / 'euclidean'", "4 repeats", lambda: rsa.rdm(trials, "sqeuclidean", cond).vector,
         lambda: calc_rdm(ds_trials, method="euclidean", descriptor="conds").dissimilarities[0]),
        ("crossnobis, 4 folds", "4 repeats", lambda: rsa.rdm(trials, "crossnobis", cond, fold).vector,
         lambda: calc_rdm(ds_trials, method="crossnobis", descriptor="conds", cv_descriptor="folds").dissimilarities[0]),
    ]
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rsatoolbox's descriptor bookkeeping
        for metric, data, ours_fn, peer_fn in cases:
            t_n, m_n, ours = measure(ours_fn, args.repeat)
            t_p, m_p, ref = measure(peer_fn, args.repeat)
            rows.append((metric, data, t_n, t_p, m_n, m_p, float(np.abs(ours - ref).max())))

    print(f"{n_cond} conditions x {n_channels} channels; means: {n_cond} rows, repeats: "
          f"{cond.size} rows ({n_folds} per condition, one per fold); float64")
    print(f"{'metric':27} {'data':10} {'neurotk s':>10} {'rsatoolbox s':>13} {'ratio':>7} "
          f"{'neurotk MiB':>12} {'rsatoolbox MiB':>15} {'max |diff|':>11}")
    for metric, data, t_n, t_p, m_n, m_p, diff in rows:
        print(f"{metric:27} {data:10} {t_n:10.4f} {t_p:13.4f} {t_p / t_n:7.2f} {m_n:12.1f} {m_p:15.1f} {diff:11.2e}")
    return rows


if __name__ == "__main__":
    main()
