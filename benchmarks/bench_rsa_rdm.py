"""RDM computation side by side with rsatoolbox's ``calc_rdm``, in one process.

Computes RDMs of 1000 conditions x 5000 channels with ``neurotk.rsa.rdm`` (numpy arrays),
with the same function on torch CPU tensors (the array-API path, ``backend`` taken from the
input) and with rsatoolbox's ``calc_rdm`` on the same data: the correlation distance on
condition means (1000 rows) and on 4 repeats per condition (4000 rows, averaged by every
side), the squared Euclidean distance per channel (rsatoolbox's ``"euclidean"``, neurotk's
``"sqeuclidean"``) on the repeats, and the crossnobis distance with 4 folds (identity noise,
leave-one-fold-out).

The sides are interleaved (``_measure.compare``: A B C A B C ..., 3 repeats, medians and
ranges of wall and process-CPU time), then repeated with BLAS and OpenMP pinned to one
thread. Ratios are side time / numpy neurotk time (above 1: neurotk is faster). Timings
include everything after the input is built (a numpy array or a torch tensor for neurotk, an
rsatoolbox ``Dataset`` for rsatoolbox). The largest absolute difference of the condensed
vectors from numpy neurotk's is printed for every side. ``--memory`` adds the peak traced
memory of one call (numpy sides; tracemalloc does not see torch's allocator).

Needs rsatoolbox (the ``bench`` extra; without it the script exits with status 77,
skipped); ``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does.

Run: ``python benchmarks/bench_rsa_rdm.py [--quick] [--repeat 3] [--memory]``
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np

from _measure import MIN_REPEAT, TIMING_HEADER, compare, emit, load_average, peak_mib, rst_table, timing_rows

SKIPPED = 77  # the exit status run.py reads as "skipped"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 conditions x 500 channels (seconds)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help="interleaved repeats per side (>= 3)")
    parser.add_argument("--memory", action="store_true", help="also the peak traced memory of one call")
    args = parser.parse_args(argv)
    try:
        import rsatoolbox  # noqa: F401
    except ImportError:
        print("rsatoolbox is not installed (pip install -e \".[bench]\"); skipped")
        sys.exit(SKIPPED)

    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    from neurotk import rsa

    try:
        import torch
    except ImportError:  # the torch row is skipped
        torch = None

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
    t_means = torch.from_numpy(means) if torch is not None else None
    t_trials = torch.from_numpy(trials) if torch is not None else None

    def case(metric, x, tx, labels, ds, peer_metric, **kwargs):
        peer_kw = {"cv_descriptor": "folds"} if "folds" in kwargs else {}
        sides = {
            "neurotk": lambda: rsa.rdm(x, metric, labels, **kwargs).vector,
            "rsatoolbox": lambda: calc_rdm(ds, method=peer_metric, descriptor="conds", **peer_kw).dissimilarities[0],
        }
        if torch is not None:
            sides["neurotk, torch CPU"] = lambda: rsa.rdm(tx, metric, labels, **kwargs).vector
        return sides

    cases = [
        ("correlation", f"means ({n_cond} rows)", case("correlation", means, t_means, ids, ds_means, "correlation")),
        ("correlation", f"{n_folds} repeats", case("correlation", trials, t_trials, cond, ds_trials, "correlation")),
        ("sqeuclidean / 'euclidean'", f"{n_folds} repeats",
         case("sqeuclidean", trials, t_trials, cond, ds_trials, "euclidean")),
        (f"crossnobis, {n_folds} folds", f"{n_folds} repeats",
         case("crossnobis", trials, t_trials, cond, ds_trials, "crossnobis", folds=fold)),
    ]
    rows, ratios, torch_ratios, worst = [], {}, [], 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rsatoolbox's descriptor bookkeeping
        for k, (metric, data, sides) in enumerate(cases):
            runs = compare(sides, repeat=args.repeat, pinned=True, warmup=k == 0)
            ref = runs["neurotk"].result
            memory = {name: peak_mib(fn) for name, fn in sides.items() if "torch" not in name} if args.memory else {}
            for row, (name, t) in zip(timing_rows(runs, "neurotk"), runs.items()):
                diff = float(np.abs(np.asarray(t.result) - ref).max())
                worst = max(worst, diff) if name != "neurotk" else worst
                rows.append([metric, data, *row, f"{diff:.0e}"] + ([f"{memory[name]:.0f}" if name in memory else ""]
                                                                   if args.memory else []))
            ratios[(metric, data)] = (runs["rsatoolbox"].median_wall / runs["neurotk"].median_wall,
                                      runs["rsatoolbox"].median_wall1 / runs["neurotk"].median_wall1)
            if torch is not None:
                torch_ratios.append(runs["neurotk, torch CPU"].median_wall / runs["neurotk"].median_wall)

    header = ["metric", "data", *TIMING_HEADER, "max diff"] + (["peak MiB"] if args.memory else [])
    from importlib.metadata import version

    versions = f"rsatoolbox {version('rsatoolbox')}" + (f", torch {torch.__version__}" if torch is not None else "")
    def span(values):
        return f"{min(values):.1f}" if len(values) == 1 or f"{min(values):.1f}" == f"{max(values):.1f}" \
            else f"{min(values):.1f}-{max(values):.1f}"

    def peer(metric, pinned=False):
        return span([v[pinned] for (m, _), v in ratios.items() if m == metric])

    names = [c[0] for c in cases]
    text = [
        "RSA: RDMs",
        "---------",
        "",
        f"``python benchmarks/bench_rsa_rdm.py{' --quick' if args.quick else ''}``: ``rsa.rdm`` against "
        f"rsatoolbox's ``calc_rdm`` ({versions}) on {n_cond} conditions x {n_channels} channels, "
        f"float64, as condition means ({n_cond} rows) or {n_folds} repeats per condition "
        f"({cond.size} rows, one per fold, in random order); neurotk on numpy arrays and on torch CPU "
        f"tensors (the array-API path). Sides interleaved, {max(args.repeat, MIN_REPEAT)} repeats, "
        f"medians; ratio = side time / neurotk (numpy) time; the 1-thread ratio with BLAS and OpenMP "
        f"pinned to one thread; max diff = largest difference of the condensed vector from neurotk's "
        f"numpy result. Load average {load_average()}.",
        "",
        rst_table(header, rows),
        f"rsatoolbox takes {peer(names[0])}x neurotk's wall time for the correlation distance (1 thread: "
        f"{peer(names[0], True)}x), {peer(names[2])}x for the squared Euclidean distance, a single BLAS "
        f"product on both sides ({peer(names[2], True)}x), and {peer(names[3])}x for crossnobis "
        f"({peer(names[3], True)}x); all sides agree to {worst:.0e}."
        + (f" On the CPU the torch path takes {span(torch_ratios)}x the numpy time"
           + (" (torch has no symmetric rank-k product, so each Gram matrix costs a full one); it is there "
              "for tensors on a GPU." if min(torch_ratios) > 1 else ".") if torch_ratios else ""),
    ]
    emit(None, "\n".join(text) + "\n")
    return rows


if __name__ == "__main__":
    main()
