"""Bootstrap model evaluation side by side with rsatoolbox, in one process.

92 conditions, 20 fixed model RDMs, 1000 bootstrap samples over conditions, spearman:
``neurotk.rsa.bootstrap`` against ``rsatoolbox.inference.eval_bootstrap_pattern`` with
``rsatoolbox.model.ModelFixed`` models (``boot_noise_ceil=False``, so neither side computes
noise ceilings per sample). Prints the time ratio (rsatoolbox / neurotk, > 1 means neurotk is
faster), peak traced memory, the largest difference of the point estimates (neurotk's
``scores`` against rsatoolbox's ``eval_fixed`` on the full data; must be ~1e-15), and the
agreement of the bootstrap standard errors, which are two independent Monte-Carlo
estimates: their relative difference is compared with its Monte-Carlo standard error
``sqrt(2 / (n_bootstrap - 1))`` (about 4.5 % at 1000 samples). An exactness check also
replays rsatoolbox's expansion of the RDMs for a few of neurotk's own resampled index sets.

Run: ``python benchmarks/bench_rsa_bootstrap.py [--quick] [--subjects 1] [--n-jobs 1]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings

import numpy as np

from _measure import peak_mib




def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 samples, 40 conditions, 8 models (seconds)")
    parser.add_argument("--subjects", type=int, default=1, help="number of data RDMs (default 1)")
    parser.add_argument("--n-jobs", type=int, default=1, help="neurotk's joblib workers (default 1)")
    parser.add_argument("--method", default="spearman")
    args = parser.parse_args(argv)

    from rsatoolbox.inference import eval_bootstrap_pattern, eval_fixed
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs

    from neurotk.rsa import RDM, bootstrap
    from neurotk.rsa import compare_vectors
    from neurotk.rsa.inference import _resampled_pairs

    n_cond, n_models, n_boot = (40, 8, 100) if args.quick else (92, 20, 1000)
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

    def run_nt(n):
        return bootstrap(nt_data, nt_models, method=method, n_bootstrap=n, random_state=0,
                         n_jobs=args.n_jobs, progress=False)

    run_nt(10)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    ours = run_nt(n_boot)
    t_nt = time.perf_counter() - t0
    t0 = time.perf_counter()
    theirs = run_rsa(n_boot)
    t_rsa = time.perf_counter() - t0
    m_nt = peak_mib(lambda: run_nt(min(n_boot, 100)))
    m_rsa = peak_mib(lambda: run_rsa(min(n_boot, 100)))

    # point estimates on the full data
    fixed = np.asarray(eval_fixed(rsa_models, rsa_data, method=rsa_method).evaluations)  # (1, models, rdms)
    fixed = fixed.reshape(n_models, -1).mean(axis=1)
    point_diff = np.abs(ours.scores - fixed).max()

    # exactness on resampled sets: rsatoolbox's expansion of neurotk's own index sets
    exact = 0.0
    idx_rng = np.random.default_rng(1)
    from rsatoolbox.rdm import compare as rsa_compare

    for _ in range(3):
        idx = np.sort(idx_rng.integers(0, n_cond, n_cond))
        pos = _resampled_pairs(idx, n_cond)
        pos = pos[pos >= 0]
        ref = np.array([np.mean(rsa_compare(rsa_models[k].rdm_obj.subsample_pattern("index", idx), rsa_data.subsample_pattern("index", idx), rsa_method)) for k in range(n_models)])
        mine = compare_vectors(data[:, pos], models[:, pos], method).mean(axis=0)
        exact = max(exact, np.abs(ref - mine).max())

    ev = np.asarray(theirs.evaluations)  # (n_boot, n_models)
    ok = np.isfinite(ev).all(axis=1)
    se_rsa = ev[ok].std(axis=0, ddof=1)
    se_nt = ours.sem
    rel = se_nt / se_rsa - 1.0
    mc = np.sqrt(2.0 / (n_boot - 1))  # MC s.e. of the relative difference of two SE estimates
    z = rel / mc
    mean_diff_z = np.abs(ours.samples.mean(0) - ev[ok].mean(0)) / np.sqrt(se_nt**2 / n_boot + se_rsa**2 / ok.sum())

    from importlib.metadata import version

    print(f"rsatoolbox {version('rsatoolbox')}; {n_cond} conditions, {n_models} models, "
          f"{n_boot} bootstrap samples, {args.subjects} data RDM(s), method={method}, n_jobs={args.n_jobs}")
    print()
    print(f"{'':28s}{'neurotk':>12s}{'rsatoolbox':>12s}{'ratio':>10s}")
    print(f"{'time (s)':28s}{t_nt:12.3f}{t_rsa:12.3f}{t_rsa / t_nt:9.1f}x")
    print(f"{'peak traced memory (MiB)':28s}{m_nt:12.2f}{m_rsa:12.2f}")
    print()
    print(f"point estimates, max |neurotk - rsatoolbox eval_fixed|:      {point_diff:.2e}")
    print(f"resampled RDMs (same indices), max |difference|:            {exact:.2e}")
    print(f"bootstrap SE, relative difference: median {np.median(rel):+.3f}, max |.| {np.abs(rel).max():.3f} "
          f"(Monte-Carlo s.e. {mc:.3f}; max |z| = {np.abs(z).max():.2f} over {n_models} models)")
    print(f"bootstrap means, max |z| of the difference:                 {mean_diff_z.max():.2f}")
    print()
    print(f"{'model':8s}{'score':>9s}{'SE nt':>9s}{'SE rsa':>9s}{'CI nt':>20s}")
    for k in range(n_models):
        print(f"{names[k]:8s}{ours.scores[k]:9.4f}{se_nt[k]:9.4f}{se_rsa[k]:9.4f}   [{ours.ci[0, k]:.3f}, {ours.ci[1, k]:.3f}]")
    goal = 10.0
    print()
    print(f"speed goal {goal:.0f}x: {'met' if t_rsa / t_nt >= goal else 'NOT met'} ({t_rsa / t_nt:.1f}x)")


if __name__ == "__main__":
    main()
