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
* typing unseen neurons (the paper's practical claim): a population is split in half, the
  LN model and the clusterings see one half only, and the other half's neurons are typed
  from one Poisson presentation of each of K stimuli: the K contrastive MDS stimuli
  (``objective="contrastive"``, the default), the K most exciting inputs
  (``objective="mei"``) and K random training images of the same norm, each neuron given
  the stimulus it responds to most (``MDSClustering.predict``). ARI against the planted
  types, median and interquartile range over seeds, in the default regime and in the
  hard ones (``type_similarity``, ``position_jitter``, ``gain_spread``), next to
  clustering the seen neurons by response PCA + k-means (which, to type new neurons,
  needs their responses to every training image); wall and CPU time per fit, the
  methods interleaved seed by seed;
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


def quality(n_neurons, n_types, shape, n_stimuli, label, quick=False):
    from sklearn.metrics import adjusted_rand_score

    from neurotk.clustering import (
        GaussianMixtureClustering,
        KMeansClustering,
        LNModel,
        MDSClustering,
    )
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
                      ("neurotk KMeansClustering (K by silhouette)", None if quick else KMeansClustering()),
                      (f"neurotk GaussianMixtureClustering(K={n_types})", GaussianMixtureClustering(n_clusters=n_types)),
                      ("neurotk GaussianMixtureClustering (K by BIC)", None if quick else GaussianMixtureClustering())]:
        if est is None:  # --quick: the K-choosing baselines are the slow ones
            continue
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


REGIMES = {
    "default": {},
    "type_similarity=0.6": {"type_similarity": 0.6},
    "position_jitter=0.7 px": {"position_jitter": 0.7},
    "gain_spread=0.8": {"gain_spread": 0.8},
}


def _same_norm(images, centre, norm):
    x = images - centre
    return centre + x * (norm / np.linalg.norm(x.reshape(len(x), -1), axis=1))[:, None, None]


def _clocked(fn, clock):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    clock.append((time.perf_counter() - w0, time.process_time() - c0))
    return out


def typing_one(seed, n_half, n_types, shape, n_stimuli, regime, clocks):
    """ARIs of one population: unseen neurons typed by each stimulus set, seen ones by each clustering."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.metrics import adjusted_rand_score

    from neurotk.clustering import LNModel, MDSClustering
    from neurotk.datasets import simulate_cell_types

    sim = simulate_cell_types(n_neurons=2 * n_half, n_types=n_types, image_shape=shape, n_stimuli=n_stimuli,
                              noise="poisson", random_state=seed, **regime)
    rng = np.random.default_rng(1000 + seed)
    order = rng.permutation(2 * n_half)
    seen, unseen = order[:n_half], order[n_half:]
    y = sim.responses.data
    model = _clocked(lambda: LNModel().fit(sim.stimuli, y[:, seen]), clocks["LN model"])
    con = _clocked(lambda: MDSClustering(n_clusters=n_types, random_state=seed).fit(model), clocks["MDS contrastive"])
    mei = _clocked(lambda: MDSClustering(n_clusters=n_types, objective="mei", random_state=seed).fit(model),
                   clocks["MDS mei"])

    def pca_kmeans():
        z = y[:, seen].T
        mean, sd = z.mean(1, keepdims=True), np.maximum(z.std(1, keepdims=True), 1e-12)
        pca = PCA(n_components=min(20, n_half - 1), random_state=0).fit((z - mean) / sd)
        km = KMeans(n_clusters=n_types, n_init=10, random_state=0).fit(pca.transform((z - mean) / sd))
        return pca, km

    pca, km = _clocked(pca_kmeans, clocks["PCA + k-means"])
    random = _same_norm(sim.stimuli[rng.choice(n_stimuli, n_types, replace=False)], con.centre_, con.norm_)
    truth = sim.labels[unseen]
    out = {}
    for name, stimuli in (("contrastive", con.stimuli_), ("mei", mei.stimuli_), ("random", random)):
        counts = rng.poisson(sim.predict(stimuli)[:, unseen]).astype(float)  # one presentation each
        out[f"unseen: {name}"] = adjusted_rand_score(truth, con.predict(counts))
    new = rng.poisson(sim.rates[:, unseen]).T.astype(float)  # every training image, once
    new = (new - new.mean(1, keepdims=True)) / np.maximum(new.std(1, keepdims=True), 1e-12)
    out[f"unseen: PCA+k-means ({n_stimuli} images)"] = adjusted_rand_score(truth, km.predict(pca.transform(new)))
    out["seen: MDS contrastive"] = adjusted_rand_score(sim.labels[seen], con.labels_)
    out["seen: MDS mei"] = adjusted_rand_score(sim.labels[seen], mei.labels_)
    out["seen: PCA+k-means"] = adjusted_rand_score(sim.labels[seen], km.labels_)
    return out


def typing(quick):
    seeds = range(3) if quick else range(6)
    n_half, n_types, shape, n_stimuli = (100, 4, (12, 12), 800) if quick else (200, 5, (16, 16), 1500)
    regimes = REGIMES if not quick else {k: REGIMES[k] for k in ("default", "type_similarity=0.6")}
    print(f"\ntyping unseen neurons: {2 * n_half} neurons of {n_types} types ({n_half} seen by the fits, "
          f"{n_half} unseen), {shape[0]} x {shape[1]}, {n_stimuli} stimuli, Poisson; K = {n_types} stimuli, "
          f"one presentation each; ARI median [IQR] over {len(seeds)} seeds")
    clocks = {name: [] for name in ("LN model", "MDS contrastive", "MDS mei", "PCA + k-means")}
    for label, regime in regimes.items():
        rows = [typing_one(seed, n_half, n_types, shape, n_stimuli, regime, clocks) for seed in seeds]
        print(f"  regime {label}")
        for key in rows[0]:
            v = np.array([r[key] for r in rows])
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            print(f"    {key:42s} {med:6.3f} [{q1:.3f}, {q3:.3f}]   per seed {np.array2string(v, precision=2)}")
        con, mei = np.array([r["unseen: contrastive"] for r in rows]), np.array([r["unseen: mei"] for r in rows])
        rnd = np.array([r["unseen: random"] for r in rows])
        print(f"    contrastive > MEI in {np.sum(con > mei)}/{len(rows)} seeds, > random in "
              f"{np.sum(con > rnd)}/{len(rows)}")
    print("  time per fit, median over all fits (wall / CPU s):",
          ", ".join(f"{k} {np.median([c[0] for c in v]):.2f} / {np.median([c[1] for c in v]):.2f}"
                    for k, v in clocks.items()))


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
    parser.add_argument("--only-typing", action="store_true", help="run the typing comparison only")
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_info

        threads = {i.get("internal_api"): i.get("num_threads") for i in threadpool_info()}
        print("BLAS/OpenMP threads:", threads)
    except ImportError:  # pragma: no cover
        pass
    typing(args.quick)
    if args.only_typing:
        return
    if args.quick:
        quality(120, 4, (12, 12), 800, "quality (quick)", quick=True)
    else:
        quality(400, 6, (20, 20), 2000, "quality, the issue's population")
        quality(400, 6, (20, 20), 500, "quality, few stimuli")
    if not args.skip_large:
        large(args.quick)


if __name__ == "__main__":
    main()
