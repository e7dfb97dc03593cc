"""MDS clustering side by side with k-means / Gaussian-mixture baselines, and its speed.

On populations from :func:`neurotk.datasets.simulate_cell_types` (LN neurons of planted
functional types, Poisson counts), in one process:

* quality: ``LNModel`` + ``MDSClustering`` (number of clusters found by splitting, and
  fixed to the planted number) against k-means and a Gaussian mixture on the PCA of the
  z-scored response matrix, both as neurotk's ``KMeansClustering`` /
  ``GaussianMixtureClustering`` and as a plain scikit-learn pipeline (PCA -> KMeans /
  GaussianMixture), scored by the adjusted Rand index against the planted types; the
  correlation of each learned stimulus with the planted filter of its cluster's majority
  type. Run on the issue's population (400 neurons, 6 types, 20 x 20, 2,000 stimuli) and
  on a harder one with few stimuli (500);
* speed: the issue's large case, 1,000 neurons of 8 types on 36 x 64 stimuli (5,000
  stimuli), LN fit + MDS fit with ``n_clusters=8`` and with ``n_clusters=None``, against
  the 60 s goal (2 cores); the k-means baseline's time for scale.

Prints wall times, ratios and ARIs. Thread counts follow the usual environment variables
(``OMP_NUM_THREADS=2`` for the 2-core goal).

Run: ``python benchmarks/bench_clustering.py [--quick] [--skip-large]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def sklearn_pipeline(responses, k, kind, n_components):
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    x = responses.T
    x = (x - x.mean(1, keepdims=True)) / np.where(x.std(1, keepdims=True) > 0, x.std(1, keepdims=True), 1)
    emb = PCA(n_components=n_components, random_state=0).fit_transform(x)
    if kind == "kmeans":
        return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(emb)
    return GaussianMixture(k, covariance_type="diag", n_init=5, random_state=0).fit(emb).predict(emb)


def stimulus_correlations(sim, mds):
    k = mds.n_clusters_
    majority = [np.bincount(sim.labels[mds.labels_ == c], minlength=sim.type_filters.shape[0]).argmax()
                for c in range(k)]
    stim = (mds.stimuli_ - mds.centre_).reshape(k, -1)
    planted = sim.type_filters.reshape(len(sim.type_filters), -1)[majority]
    return np.array([np.corrcoef(s, t)[0, 1] for s, t in zip(stim, planted)])


def quality(n_neurons, n_types, shape, n_stimuli, label):
    from sklearn.metrics import adjusted_rand_score

    from neurotk.clustering import GaussianMixtureClustering, KMeansClustering, LNModel, MDSClustering
    from neurotk.datasets import simulate_cell_types

    sim = simulate_cell_types(n_neurons=n_neurons, n_types=n_types, image_shape=shape, n_stimuli=n_stimuli,
                              random_state=0)
    y = sim.responses.data
    print(f"\n{label}: {n_neurons} neurons, {n_types} types, {shape[0]} x {shape[1]}, {n_stimuli} stimuli")
    print(f"{'method':48s} {'time (s)':>9s} {'K':>4s} {'ARI':>7s}")
    t_ln, model = timed(lambda: LNModel().fit(sim.stimuli, sim.responses))
    rows = []
    t, mds = timed(lambda: MDSClustering(random_state=0).fit(model))
    rows.append(("neurotk MDS (LN model, K by splitting)", t_ln + t, mds))
    t, mds6 = timed(lambda: MDSClustering(n_clusters=n_types, random_state=0).fit(model))
    rows.append((f"neurotk MDS (LN model, K={n_types})", t_ln + t, mds6))
    for name, est in [(f"neurotk KMeansClustering(K={n_types})", KMeansClustering(n_clusters=n_types)),
                      ("neurotk KMeansClustering (K by silhouette)", KMeansClustering()),
                      (f"neurotk GaussianMixtureClustering(K={n_types})", GaussianMixtureClustering(n_clusters=n_types)),
                      ("neurotk GaussianMixtureClustering (K by BIC)", GaussianMixtureClustering())]:
        t, fitted = timed(lambda est=est: est.fit(sim.responses))
        rows.append((name, t, fitted))
    for name, t, fitted in rows:
        print(f"{name:48s} {t:9.2f} {fitted.n_clusters_:4d} {adjusted_rand_score(sim.labels, fitted.labels_):7.3f}")
    for kind, d in (("kmeans", 20), ("gmm", 10)):
        t, labels = timed(lambda kind=kind, d=d: sklearn_pipeline(y, n_types, kind, d))
        name = f"scikit-learn PCA({d}) -> {'KMeans' if kind == 'kmeans' else 'GaussianMixture'}(K={n_types})"
        print(f"{name:48s} {t:9.2f} {n_types:4d} {adjusted_rand_score(sim.labels, labels):7.3f}")
    print(f"(LN fit alone: {t_ln:.2f} s, included in the MDS rows)")
    corr = stimulus_correlations(sim, mds)
    print("learned stimulus vs planted filter of the cluster's majority type, correlation:",
          np.array2string(corr, precision=2), f"mean {corr.mean():.2f}")


def large(quick):
    from sklearn.metrics import adjusted_rand_score

    from neurotk.clustering import KMeansClustering, LNModel, MDSClustering
    from neurotk.datasets import simulate_cell_types

    n, k, shape, n_stim = (300, 8, (18, 32), 1500) if quick else (1000, 8, (36, 64), 5000)
    sim = simulate_cell_types(n_neurons=n, n_types=k, image_shape=shape, n_stimuli=n_stim, random_state=0)
    print(f"\nspeed: {n} neurons, {k} types, {shape[0]} x {shape[1]}, {n_stim} stimuli (goal: full fit < 60 s on 2 cores)")
    t_ln, model = timed(lambda: LNModel().fit(sim.stimuli, sim.responses))
    t_fix, mds_fix = timed(lambda: MDSClustering(n_clusters=k, random_state=0).fit(model))
    t_auto, mds_auto = timed(lambda: MDSClustering(random_state=0).fit(model))
    t_km, km = timed(lambda: KMeansClustering(n_clusters=k).fit(sim.responses))
    print(f"LNModel.fit                         {t_ln:8.2f} s")
    print(f"MDSClustering(n_clusters={k}).fit     {t_fix:8.2f} s   full fit {t_ln + t_fix:7.2f} s "
          f"({(t_ln + t_fix) / 60:.2f} x goal)  ARI {adjusted_rand_score(sim.labels, mds_fix.labels_):.3f}")
    print(f"MDSClustering(n_clusters=None).fit  {t_auto:8.2f} s   full fit {t_ln + t_auto:7.2f} s "
          f"({(t_ln + t_auto) / 60:.2f} x goal)  K={mds_auto.n_clusters_} "
          f"ARI {adjusted_rand_score(sim.labels, mds_auto.labels_):.3f}")
    print(f"KMeansClustering(n_clusters={k}).fit  {t_km:8.2f} s   "
          f"(MDS full fit / k-means: {(t_ln + t_fix) / t_km:.0f} x)  ARI {adjusted_rand_score(sim.labels, km.labels_):.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--skip-large", action="store_true", help="leave out the 1,000-neuron timing")
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_info

        threads = {i.get("internal_api"): i.get("num_threads") for i in threadpool_info()}
        print("BLAS/OpenMP threads:", threads)
    except ImportError:  # pragma: no cover
        pass
    if args.quick:
        quality(120, 4, (12, 12), 800, "quality (quick)")
    else:
        quality(400, 6, (20, 20), 2000, "quality, the issue's population")
        quality(400, 6, (20, 20), 500, "quality, few stimuli")
    if not args.skip_large:
        large(args.quick)


if __name__ == "__main__":
    main()
