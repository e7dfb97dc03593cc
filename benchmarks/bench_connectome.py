"""Non-negative CP (NTF) side by side with tensortools and tensorly, and the affinity tensor.

On the same data, in one process (float64): planted rank-8 non-negative factors (uniform
[0, 1)) plus Gaussian noise of 10% of the tensor's norm; every method stops when the
relative error changes by less than 1e-6 between iterations or after 500 iterations,
from a random initialisation; median over 5 seeds.

* ``neurotk.connectome.ntf(X, 8, tol=1e-6, max_iter=500, random_state=seed)``;
* for reference, neurotk with ``tol=1e-8`` (how long it takes to go on to the peers'
  final error, or below);
* tensortools' ``ncp_hals(X, 8, random_state=seed, tol=1e-6, max_iter=500)``;
* tensorly's ``non_negative_parafac_hals(X, 8, init="random", random_state=seed,
  tol=1e-6, n_iter_max=500)`` (its default criterion: absolute change of the relative
  error, the same as ours).

Printed per size: median wall time, the ratio to neurotk (> 1: neurotk is faster), median
final relative error and its excess over the noise floor ``||noise|| / ||X||``, and the
factor match score (FMS, :func:`neurotk.connectome.factor_match_score`, with the size
penalty; ``fms-`` without it) against the planted factors: the median and the share of
seeds reaching 0.99. Then the time of ``comovement_affinity`` for 300 neurons x 20,000
time points (window 20).

Last, community detection on one motif-like graph (``find_communities``, each method that
is importable here, interleaved A B A B, median of 3 calls, wall and CPU time): planted
communities of 10 neurons with exponential weights of mean 1 inside and 0.05 between,
plus as many weakly connected "background" neurons (mean 0.01), the shape of an NTF
component's pair loadings. Adjusted Rand index against the planted labels (background as
one more label). The paper's method, graph-tool's nested SBM (``"sbm"``), runs only where
graph-tool is importable (``.ci/sbm.sh`` builds such a venv); ``--only-communities`` runs
just this part.

Run: ``python benchmarks/bench_connectome.py [--quick] [--seeds N] [--peer-seeds N] [--skip-peers]
[--only-communities]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def planted(shape, rank=8, noise=0.1, seed=0):
    from neurotk.connectome import reconstruct

    rng = np.random.default_rng(seed)
    factors = [rng.random((n, rank)) for n in shape]
    x = reconstruct(factors)
    e = rng.normal(size=x.shape)
    e *= noise * np.linalg.norm(x) / np.linalg.norm(e)
    return x + e, factors, float(np.linalg.norm(e) / np.linalg.norm(x + e))


def rel_error(x, factors):
    from neurotk.connectome import reconstruct

    return float(np.linalg.norm(x - reconstruct(factors)) / np.linalg.norm(x))


def run_neurotk(x, rank, seed):
    from neurotk.connectome import ntf

    fit = ntf(x, rank, tol=1e-6, max_iter=500, random_state=seed)
    return fit.factors


def run_neurotk_tight(x, rank, seed):
    from neurotk.connectome import ntf

    fit = ntf(x, rank, tol=1e-8, max_iter=500, random_state=seed)
    return fit.factors


def run_tensortools(x, rank, seed):
    import tensortools as tt

    res = tt.ncp_hals(x, rank, random_state=seed, tol=1e-6, max_iter=500, verbose=False)
    return [np.asarray(f) for f in res.factors.factors]


def run_tensorly(x, rank, seed):
    from tensorly.decomposition import non_negative_parafac_hals

    cp = non_negative_parafac_hals(x, rank, init="random", random_state=seed, tol=1e-6, n_iter_max=500)
    weights, factors = cp
    factors = [np.asarray(f) for f in factors]
    factors[0] = factors[0] * np.asarray(weights)[None, :]
    return factors


def community_graph(n_communities, size=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_communities + 1), size)       # the last label: background
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] < n_communities)
    bg = (labels[:, None] == n_communities) | (labels[None, :] == n_communities)
    scale = np.where(same, 1.0, np.where(bg, 0.01, 0.05))
    w = np.triu(scale * rng.exponential(1.0, (labels.size,) * 2), 1)
    perm = rng.permutation(labels.size)
    w = (w + w.T)[np.ix_(perm, perm)]
    return w, labels[perm]


def bench_communities(quick: bool, repeat: int = 3):
    from sklearn.metrics import adjusted_rand_score

    from neurotk.connectome import find_communities
    from neurotk.connectome.communities import available_methods

    methods = available_methods()
    if "sbm" not in methods:
        print("\ngraph-tool is not importable here: the paper's SBM is not timed (see .ci/sbm.sh)")
    print(f"\ncommunities, median of {repeat} interleaved calls; background neurons as one more label")
    print(f"{'neurons':>8} {'method':10} {'wall s':>8} {'cpu s':>8} {'ARI':>6} {'found':>6}")
    for k in ([3] if quick else [3, 10]):
        w, truth = community_graph(k)
        find_communities(w[:12, :12], method=methods[-1])          # warm up imports
        wall = {m: [] for m in methods}
        cpu = {m: [] for m in methods}
        found = {}
        for rep in range(repeat):
            for m in methods:                                      # A B A B ...
                t0, c0 = time.perf_counter(), time.process_time()
                found[m] = find_communities(w, method=m, random_state=rep)
                wall[m].append(time.perf_counter() - t0)
                cpu[m].append(time.process_time() - c0)
        for m in methods:
            print(f"{w.shape[0]:8d} {m:10} {np.median(wall[m]):8.3f} {np.median(cpu[m]):8.3f} "
                  f"{adjusted_rand_score(truth, found[m].labels):6.3f} {found[m].n_communities:6d}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (seconds)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--peer-seeds", type=int, default=None,
                        help="seeds for the peers (default: --seeds); they take ~30 s a fit at the large sizes")
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--only-communities", action="store_true", help="only the community-detection part")
    args = parser.parse_args(argv)
    if args.only_communities:
        bench_communities(args.quick)
        return
    from neurotk.connectome import comovement_affinity, factor_match_score

    sizes = [(100, 100, 50), (2016, 100, 10)] if args.quick else [(100, 100, 50), (300, 300, 200), (11175, 100, 10)]
    if args.quick:  # a few seconds a size: fewer seeds, and one for the (slower) peers
        args.seeds = min(args.seeds, 3)
        args.peer_seeds = 1 if args.peer_seeds is None else args.peer_seeds
    methods = [("neurotk ntf", run_neurotk), ("neurotk ntf tol=1e-8", run_neurotk_tight)]
    if not args.skip_peers:
        try:
            import tensortools  # noqa: F401
        except ImportError:
            print("tensortools is not installed (pip install 'neurotk[bench]'); comparing with tensorly only")
        else:
            methods.append(("tensortools ncp_hals", run_tensortools))
        methods.append(("tensorly nn_parafac_hals", run_tensorly))
    rank = 8
    # warm up imports and BLAS
    x0, _, _ = planted((20, 20, 10), rank, seed=99)
    for _, fn in methods:
        fn(x0, rank, 0)
    print(f"rank {rank} planted + 10% noise, tol 1e-6, max_iter 500, random init, median over {args.seeds} seeds, float64")
    print(f"{'shape':>16} {'method':26} {'seconds':>8} {'ratio':>6} {'error':>8} {'vs floor':>9} "
          f"{'fms':>6} {'>=.99':>6} {'fms-':>6} {'>=.99':>6}")
    for shape in sizes:
        rows = {name: {"t": [], "err": [], "excess": [], "fms": [], "fmsu": []} for name, _ in methods}
        for seed in range(args.seeds):
            x, truth, floor = planted(shape, rank, seed=seed)
            for name, fn in methods:
                if not name.startswith("neurotk") and seed >= (args.peer_seeds or args.seeds):
                    continue
                t0 = time.perf_counter()
                factors = fn(x, rank, seed)
                rows[name]["t"].append(time.perf_counter() - t0)
                err = rel_error(x, factors)
                rows[name]["err"].append(err)
                rows[name]["excess"].append(err / floor - 1)
                rows[name]["fms"].append(factor_match_score(factors, truth))
                rows[name]["fmsu"].append(factor_match_score(factors, truth, weights=False))
        t_ref = np.median(rows["neurotk ntf"]["t"])
        for name, _ in methods:
            r = rows[name]
            t = np.median(r["t"])
            fms, fmsu = np.array(r["fms"]), np.array(r["fmsu"])
            print(f"{'x'.join(map(str, shape)):>16} {name:26} {t:8.3f} {t / t_ref:6.2f} {np.median(r['err']):8.5f} "
                  f"{np.median(r['excess']):+9.2%} {np.median(fms):6.3f} {np.mean(fms >= 0.99):6.0%} "
                  f"{np.median(fmsu):6.3f} {np.mean(fmsu >= 0.99):6.0%}")

    n, t_len = (300, 20_000) if not args.quick else (100, 5_000)
    traces = np.random.default_rng(0).normal(size=(t_len, n)).cumsum(axis=0)
    t0 = time.perf_counter()
    aff = comovement_affinity(traces, window=20)
    secs = time.perf_counter() - t0
    print(f"\ncomovement_affinity {n} neurons x {t_len} time points (window 20): {secs:.2f} s, "
          f"output {aff.values.shape} = {aff.values.nbytes / 2**20:.0f} MiB")
    bench_communities(args.quick)


if __name__ == "__main__":
    main()
