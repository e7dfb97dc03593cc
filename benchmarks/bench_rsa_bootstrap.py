"""Bootstrap model evaluation side by side with rsatoolbox, in one process.

92 conditions, 20 fixed model RDMs, 1000 bootstrap samples over conditions, spearman:
``neurotk.rsa.bootstrap`` (numpy, and ``backend="torch"`` on the CPU: the array-API path)
against ``rsatoolbox.inference.eval_bootstrap_pattern`` with ``rsatoolbox.model.ModelFixed``
models (``boot_noise_ceil=False``, so neither side computes noise ceilings per sample).

The sides are interleaved (``_measure.compare``: A B C A B C ..., 3 repeats, medians and
ranges of wall and process-CPU time, after one warm-up call of each with 10 samples), then
repeated with BLAS and OpenMP pinned to one thread. Ratios are side time / numpy neurotk
time (above 1: neurotk is faster).

Agreement: neurotk's point estimates against rsatoolbox's ``eval_fixed`` on the full data;
the torch samples against the numpy samples (same seed, so the same resampled conditions);
an exactness check that replays rsatoolbox's expansion of the RDMs for a few of neurotk's own
resampled index sets; and the bootstrap standard errors of neurotk and rsatoolbox, two
independent Monte-Carlo estimates whose relative difference is compared with its
Monte-Carlo standard error ``sqrt(2 / (n_bootstrap - 1))`` (about 4.5 % at 1000 samples).
``--memory`` prints the peak traced memory of one call of 100 samples (numpy sides).

Needs rsatoolbox (the ``bench`` extra; without it the script exits with status 77,
skipped); ``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does.

Run: ``python benchmarks/bench_rsa_bootstrap.py [--quick] [--subjects 1] [--n-jobs 1] [--memory]``
"""

from __future__ import annotations

import argparse
import os
import sys
import contextlib
import io
import warnings

import numpy as np

from _measure import MIN_REPEAT, TIMING_HEADER, compare, emit, load_average, peak_mib, rst_table, timing_rows

SKIPPED = 77  # the exit status run.py reads as "skipped"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 conditions, 8 models, 200 samples (seconds)")
    parser.add_argument("--subjects", type=int, default=1, help="number of data RDMs (default 1)")
    parser.add_argument("--n-jobs", type=int, default=1, help="neurotk's joblib workers (default 1)")
    parser.add_argument("--method", default="spearman")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help="interleaved repeats per side (>= 3)")
    parser.add_argument("--memory", action="store_true", help="also the peak traced memory of 100 samples")
    args = parser.parse_args(argv)
    try:
        import rsatoolbox  # noqa: F401
    except ImportError:
        print("rsatoolbox is not installed (pip install -e \".[bench]\"); skipped")
        sys.exit(SKIPPED)

    from rsatoolbox.inference import eval_bootstrap_pattern, eval_fixed
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    from neurotk.rsa import RDM, bootstrap, compare_vectors
    from neurotk.rsa.inference import _resampled_pairs

    try:
        import torch
    except ImportError:  # the torch row is skipped
        torch = None

    n_cond, n_models, n_boot = (40, 8, 200) if args.quick else (92, 20, 1000)
    n_pairs = n_cond * (n_cond - 1) // 2
    rng = np.random.default_rng(0)
    # models: noisy versions of a latent geometry, so scores spread over a useful range
    latent = rng.normal(size=(n_cond, 10))
    base = np.linalg.norm(latent[:, None] - latent[None], axis=-1)[np.triu_indices(n_cond, 1)]
    models = np.stack([base + s * rng.random(n_pairs) * base.std() for s in np.linspace(0.2, 5, n_models)])
    models[0] = np.round(models[0] / models[0].max() * 4)  # a categorical model with ties
    data = base[None] + 1.0 * base.std() * rng.random((args.subjects, n_pairs))
    names = [f"m{k}" for k in range(n_models)]

    rsa_data = RDMs(data)
    rsa_models = [ModelFixed(name, RDMs(m[None])) for name, m in zip(names, models)]
    nt_data = RDM(data)
    nt_models = RDM(models, names=names)
    method = args.method
    rsa_method = {"pearson": "corr", "kendall": "tau-a"}.get(method, method)

    def run_rsa(n):
        np.random.seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.redirect_stderr(io.StringIO()):  # rsatoolbox's tqdm bar
                return eval_bootstrap_pattern(rsa_models, rsa_data, method=rsa_method, N=n, boot_noise_ceil=False)

    def run_nt(n, backend=None):
        return bootstrap(nt_data, nt_models, method=method, n_bootstrap=n, random_state=0,
                         n_jobs=args.n_jobs, progress=False, backend=backend)

    sides = {"neurotk": lambda: run_nt(n_boot), "rsatoolbox": lambda: run_rsa(n_boot)}
    if torch is not None:
        sides["neurotk, torch CPU"] = lambda: run_nt(n_boot, "torch")
    run_nt(10), run_rsa(10)  # warm-up (imports, caches) with few samples: rsatoolbox's full run is long
    if torch is not None:
        run_nt(10, "torch")
    runs = compare(sides, repeat=args.repeat, pinned=True, warmup=False)
    ours, theirs = runs["neurotk"].result, runs["rsatoolbox"].result
    memory = ({"neurotk": peak_mib(lambda: run_nt(min(n_boot, 100))),
               "rsatoolbox": peak_mib(lambda: run_rsa(min(n_boot, 100)))} if args.memory else {})

    # point estimates on the full data
    fixed = np.asarray(eval_fixed(rsa_models, rsa_data, method=rsa_method).evaluations)  # (1, models, rdms)
    fixed = fixed.reshape(n_models, -1).mean(axis=1)
    point_diff = float(np.abs(ours.scores - fixed).max())
    torch_diff = (float(np.nanmax(np.abs(runs["neurotk, torch CPU"].result.samples - ours.samples)))
                  if torch is not None else float("nan"))

    # exactness on resampled sets: rsatoolbox's expansion of neurotk's own index sets
    exact = 0.0
    idx_rng = np.random.default_rng(1)
    for _ in range(3):
        idx = np.sort(idx_rng.integers(0, n_cond, n_cond))
        pos = _resampled_pairs(idx, n_cond)
        pos = pos[pos >= 0]
        ref = np.array([np.mean(rsa_compare(rsa_models[k].rdm_obj.subsample_pattern("index", idx),
                                            rsa_data.subsample_pattern("index", idx), rsa_method))
                        for k in range(n_models)])
        mine = compare_vectors(data[:, pos], models[:, pos], method).mean(axis=0)
        exact = max(exact, float(np.abs(ref - mine).max()))

    ev = np.asarray(theirs.evaluations)  # (n_boot, n_models)
    ok = np.isfinite(ev).all(axis=1)
    se_rsa = ev[ok].std(axis=0, ddof=1)
    se_nt = ours.sem
    rel = se_nt / se_rsa - 1.0
    mc = np.sqrt(2.0 / (n_boot - 1))  # MC s.e. of the relative difference of two SE estimates
    z = rel / mc

    rows = [row + [f"{memory[name]:.1f}" if name in memory else ""] * bool(args.memory)
            for row, name in zip(timing_rows(runs, "neurotk"), runs)]
    header = TIMING_HEADER + (["peak MiB, 100 samples"] if args.memory else [])
    from importlib.metadata import version

    versions = f"rsatoolbox {version('rsatoolbox')}" + (f", torch {torch.__version__}" if torch is not None else "")
    peer = runs["rsatoolbox"].median_wall / runs["neurotk"].median_wall
    peer_cpu = runs["rsatoolbox"].median_cpu / runs["neurotk"].median_cpu
    peer1 = runs["rsatoolbox"].median_wall1 / runs["neurotk"].median_wall1
    if torch is not None:
        torch_ratio = runs["neurotk, torch CPU"].median_wall / runs["neurotk"].median_wall
        torch_ratio1 = runs["neurotk, torch CPU"].median_wall1 / runs["neurotk"].median_wall1
    text = [
        "RSA: bootstrap",
        "--------------",
        "",
        f"``python benchmarks/bench_rsa_bootstrap.py{' --quick' if args.quick else ''}``: ``rsa.bootstrap`` "
        f"against rsatoolbox's ``eval_bootstrap_pattern`` with ``ModelFixed`` models ({versions}): "
        f"{n_cond} conditions, {n_models} model RDMs, {args.subjects} data RDM(s), {n_boot} bootstrap "
        f"samples over conditions, method {method}, no noise ceiling per sample, neurotk n_jobs="
        f"{args.n_jobs}; neurotk in numpy and with ``backend=\"torch\"`` on the CPU (the array-API path, "
        f"the same resampled conditions). Sides interleaved, {max(args.repeat, MIN_REPEAT)} repeats after a "
        f"warm-up, medians; ratio = side time / neurotk (numpy) time; the 1-thread ratio with BLAS and "
        f"OpenMP pinned to one thread. Load average {load_average()}.",
        "",
        rst_table(header, rows),
        f"rsatoolbox takes {peer:.1f}x neurotk's wall time ({peer_cpu:.1f}x its CPU time, {peer1:.1f}x on one "
        f"thread). Point estimates agree with rsatoolbox's ``eval_fixed`` to {point_diff:.0e} and resampled "
        f"RDMs (same indices) to {exact:.0e}; the bootstrap standard errors of the two libraries, independent "
        f"Monte-Carlo estimates, differ by at most {np.abs(rel).max() * 100:.1f} % (Monte-Carlo error of "
        f"the difference {mc * 100:.1f} %, largest z-score {np.abs(z).max():.2f})."
        + (f" The torch samples equal the numpy ones to {torch_diff:.0e}; on the CPU the torch path takes "
           f"{torch_ratio:.1f}x the numpy time ({torch_ratio1:.1f}x on one thread)"
           + (": its blocks of samples stream through memory where numpy's per-sample loop stays in cache; "
              "it is there for a GPU." if min(torch_ratio, torch_ratio1) > 1 else ".")
           if torch is not None else ""),
    ]
    emit(None, "\n".join(text) + "\n")
    return runs


if __name__ == "__main__":
    main()
