"""MDS clustering side by side with k-means / Gaussian-mixture baselines, and its speed.

On populations from :func:`neurotk.datasets.simulate_cell_types` (LN neurons of planted
functional types, Poisson counts), in one process:

* quality: ``LNModel`` + ``MDSClustering`` (number of clusters found by splitting, and
  fixed to the planted number) against k-means and a Gaussian mixture on the PCA of the
  z-scored response matrix, both as neurotk's ``KMeansClustering`` /
  ``GaussianMixtureClustering`` and as a plain scikit-learn pipeline (PCA -> KMeans /
  GaussianMixture), scored by the adjusted Rand index against the planted types (no
  timing: one fit each; the speed part times the fits); the
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
  needs their responses to every training image); median wall and CPU time per fit over
  all fits, the methods interleaved seed by seed;
* speed: the issue's large case, 1,000 neurons of 8 types on 36 x 64 stimuli (5,000
  stimuli): ``LNModel.fit``, ``MDSClustering(n_clusters=8).fit`` (on the fitted LN model)
  and the k-means baseline, interleaved
  (``_measure.compare``, no untimed warm-up: each call is tens of seconds; median and range
  of wall time, CPU time), against the 60 s goal (2 cores) for LN + MDS. Left out to keep
  the script within 5 minutes on 2 cores: ``n_clusters=None`` at this size (the quality
  part has it) and a 1-thread column.

Prints and emits a section with the tables. Thread counts follow the usual environment
variables (``OMP_NUM_THREADS=2`` for the 2-core goal).

Run: ``python benchmarks/bench_clustering.py [--quick] [--repeat N] [--skip-large]``
(``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import os
import textwrap
import time

import numpy as np
from _measure import (
    MIN_REPEAT,
    TIMING_HEADER,
    compare,
    emit,
    ratio,
    rst_table,
    timing_rows,
)


def paragraph(text: str) -> str:
    """``text`` wrapped at 100 characters (never inside a word or an inline literal's word)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def span(values, digits: int = 3) -> str:
    """``"0.914-1.000"``, or one number where the range is one value at that precision."""
    values = list(values)
    lo, hi = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return lo if lo == hi else f"{lo}-{hi}"


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
    """Rows ``population, method, K, ARI`` and the learned-stimulus correlations."""
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
    model = LNModel().fit(sim.stimuli, sim.responses)
    fitted = [("neurotk MDS (LN model, K by splitting)", MDSClustering(random_state=0).fit(model))]
    fitted.append((f"neurotk MDS (LN model, K={n_types})", MDSClustering(n_clusters=n_types, random_state=0).fit(model)))
    for name, est in [(f"neurotk KMeansClustering(K={n_types})", KMeansClustering(n_clusters=n_types)),
                      ("neurotk KMeansClustering (K by silhouette)", None if quick else KMeansClustering()),
                      (f"neurotk GaussianMixtureClustering(K={n_types})", GaussianMixtureClustering(n_clusters=n_types)),
                      ("neurotk GaussianMixtureClustering (K by BIC)", None if quick else GaussianMixtureClustering())]:
        if est is not None:  # --quick: the K-choosing baselines are the slow ones
            fitted.append((name, est.fit(sim.responses)))
    rows = [[label, name, str(f.n_clusters_), f"{adjusted_rand_score(sim.labels, f.labels_):.3f}"]
            for name, f in fitted]
    for kind, d in (("kmeans", 20), ("gmm", 10)):
        labels = sklearn_pipeline(y, n_types, kind, d)
        name = f"scikit-learn PCA({d}) -> {'KMeans' if kind == 'kmeans' else 'GaussianMixture'}(K={n_types})"
        rows.append([label, name, str(n_types), f"{adjusted_rand_score(sim.labels, labels):.3f}"])
    for row in rows:
        print("  ".join(row), flush=True)
    return rows, stimulus_correlations(sim, fitted[0][1])


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
    """The typing table's rows, its description and the numbers the conclusion quotes."""
    seeds = range(3)  # 3 seeds at full size too: the 5-minute budget of the script
    n_half, n_types, shape, n_stimuli = (100, 4, (12, 12), 800) if quick else (200, 5, (16, 16), 1500)
    regimes = REGIMES if not quick else {k: REGIMES[k] for k in ("default", "type_similarity=0.6")}
    what = (f"{2 * n_half} neurons of {n_types} types ({n_half} seen by the fits, {n_half} unseen), "
            f"{shape[0]} x {shape[1]} pixels, {n_stimuli:,} stimuli, Poisson noise; K = {n_types} stimuli, one "
            f"presentation each; ARI median [interquartile range] over {len(seeds)} seeds "
            f"(0..{len(seeds) - 1}) in {len(regimes)} regimes")
    print(f"typing unseen neurons: {what}", flush=True)
    clocks = {name: [] for name in ("LN model", "MDS contrastive", "MDS mei", "PCA + k-means")}
    rows, wins = [], {}
    for label, regime in regimes.items():
        results = [typing_one(seed, n_half, n_types, shape, n_stimuli, regime, clocks) for seed in seeds]
        for key in results[0]:
            v = np.array([r[key] for r in results])
            q1, med, q3 = np.percentile(v, [25, 50, 75])
            rows.append([label, key, f"{med:.3f} [{q1:.3f}-{q3:.3f}]"])
            print("  ".join(rows[-1]), flush=True)
        con, mei, rnd = (np.array([r[f"unseen: {k}"] for r in results]) for k in ("contrastive", "mei", "random"))
        wins[label] = (int(np.sum(con > mei)), int(np.sum(con > rnd)), len(results))
    per_fit = [[name, str(len(v)), f"{np.median([c[0] for c in v]):.2f}", f"{np.median([c[1] for c in v]):.2f}"]
               for name, v in clocks.items()]
    return rows, per_fit, what, wins


def large(quick, repeat):
    """Timing rows of the large case, the ratios, and its ARIs."""
    from sklearn.metrics import adjusted_rand_score

    from neurotk.clustering import KMeansClustering, LNModel, MDSClustering
    from neurotk.datasets import simulate_cell_types

    n, k, shape, n_stim = (300, 8, (18, 32), 1500) if quick else (1000, 8, (36, 64), 5000)
    sim = simulate_cell_types(n_neurons=n, n_types=k, image_shape=shape, n_stimuli=n_stim, random_state=0)
    print(f"speed: {n} neurons, {k} types, {shape[0]} x {shape[1]}, {n_stim} stimuli", flush=True)
    fitted = {}  # the LN side runs first in every round (A B C A B C): the MDS side fits its model

    def ln():
        fitted["model"] = LNModel().fit(sim.stimuli, sim.responses)
        return fitted["model"]

    sides = {"LNModel.fit": ln,
             f"MDSClustering(n_clusters={k}).fit": lambda: MDSClustering(n_clusters=k,
                                                                          random_state=0).fit(fitted["model"]),
             f"KMeansClustering(n_clusters={k}).fit": lambda: KMeansClustering(n_clusters=k).fit(sim.responses)}
    runs = compare(sides, repeat=repeat, warmup=False)
    names = list(sides)
    for t in runs.values():
        print(t.summary(), flush=True)
    ari = {name: adjusted_rand_score(sim.labels, runs[name].result.labels_) for name in names[1:]}
    found = {"full fixed": runs[names[0]].median_wall + runs[names[1]].median_wall,
             "full cpu": runs[names[0]].median_cpu + runs[names[1]].median_cpu,
             "vs k-means": ratio(runs, names[1], names[2]) + ratio(runs, names[0], names[2])}
    rows = [[*row, f"{ari[name]:.3f}" if name in ari else ""]
            for name, row in zip(names, timing_rows(runs, reference=names[2]))]
    for t in runs.values():
        t.result = None
    return rows, found, (n, k, shape, n_stim), ari, names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help=f"timed calls per side of the speed part, interleaved (median kept; at least {MIN_REPEAT})")
    parser.add_argument("--skip-large", action="store_true", help="leave out the 1,000-neuron timing")
    parser.add_argument("--only-typing", action="store_true", help="run the typing comparison only")
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_info

        threads = ", ".join(f"{i.get('internal_api')} {i.get('num_threads')}" for i in threadpool_info())
    except ImportError:  # pragma: no cover
        threads = "unknown"
    print("BLAS/OpenMP threads:", threads, flush=True)
    quick = " --quick" if args.quick else ""
    parts = ["MDS clustering", "--------------", "",
             paragraph(f"``python benchmarks/bench_clustering.py{quick}``, on populations of "
                       "``simulate_cell_types`` (LN neurons of planted functional types); BLAS / OpenMP threads: "
                       f"{threads}."), ""]

    typing_rows, per_fit, what, wins = typing(args.quick)
    parts += [paragraph("Typing unseen neurons (the paper's practical claim): a population is split in half, the "
                        "LN model and the clusterings see one half only, and the other half's neurons are typed "
                        "from one Poisson presentation of each of K stimuli: the contrastive MDS stimuli (the "
                        "default), the most exciting inputs (``objective='mei'``) and K random training images of "
                        "the same norm, each neuron given the stimulus it responds to most; next to them, "
                        "clustering by response PCA + k-means, which needs the new neurons' responses to every "
                        f"training image. {what}."), "",
              rst_table(["regime", "neurons typed / method", "ARI, median [IQR]"], typing_rows),
              paragraph("Contrastive stimuli beat the MEIs in " + ", ".join(
                  f"{w[0]}/{w[2]} ({label})" for label, w in wins.items()) + " seeds, and random images in "
                  + ", ".join(f"{w[1]}/{w[2]}" for w in wins.values()) + " (same order)."), "",
              "Time per fit, median over all fits of the typing comparison, the methods interleaved seed by seed:",
              "", rst_table(["fit", "fits", "wall s", "CPU s"], per_fit)]
    if not args.only_typing:
        if args.quick:
            q_rows, corr = quality(120, 4, (12, 12), 800, "120 x 4 types, 800 stimuli", quick=True)
            q_text = "120 neurons of 4 types, 12 x 12 pixels, 800 stimuli (``--quick``: no K-choosing baselines)"
        else:
            q_rows, corr = quality(400, 6, (20, 20), 2000, "400 x 6 types, 2,000 stimuli")
            rows_few, _ = quality(400, 6, (20, 20), 500, "400 x 6 types, 500 stimuli")
            q_rows += rows_few
            q_text = ("the issue's population, 400 neurons of 6 types, 20 x 20 pixels, 2,000 stimuli, and a harder "
                      "one with 500 stimuli")
        aris = {row[1]: float(row[3]) for row in q_rows if row[0] == q_rows[0][0]}
        parts += ["", paragraph(f"Quality on {q_text}, seed 0: the adjusted Rand index (ARI) against the planted "
                                "types of the LN model + MDS clustering, of k-means and a Gaussian mixture on the PCA "
                                "of the z-scored responses (neurotk's wrappers and plain scikit-learn pipelines), "
                                "and the number of clusters K they end with. One fit each, not timed."), "",
                  rst_table(["population", "method", "K", "ARI"], q_rows),
                  paragraph(f"On the first population MDS reaches an ARI of "
                            f"{span(v for k, v in aris.items() if 'MDS' in k)}, the baselines "
                            f"{span(v for k, v in aris.items() if 'MDS' not in k)}; the learned stimuli correlate "
                            f"{corr.min():.2f}-{corr.max():.2f} (mean {corr.mean():.2f}) with the planted filter of "
                            "their cluster's majority type.")]
    if not args.only_typing and not args.skip_large:
        rows, found, (n, k, shape, n_stim), ari, names = large(args.quick, args.repeat)
        repeats = max(args.repeat, MIN_REPEAT)
        parts += ["", paragraph(f"Speed: {n:,} neurons of {k} types, {shape[0]} x {shape[1]} pixels, {n_stim:,} "
                                f"stimuli (the issue's large case{', at ``--quick`` size' if args.quick else ''}): "
                                f"``LNModel.fit``, ``MDSClustering(n_clusters={k}).fit`` (on the LN model "
                                "fitted just before it, in the same round) and the k-means baseline, interleaved, "
                                f"{repeats} timed calls each, no "
                                "untimed warm-up (each call is long). Ratio: time / the k-means baseline's. Left "
                                "out to keep the script within 5 minutes: ``n_clusters=None`` at this size (the "
                                "quality table above has it) and a 1-thread column."),
                  "", rst_table([*TIMING_HEADER[:4], "ARI"], [r[:4] + r[5:] for r in rows]),
                  paragraph(f"A full fit (LN model + MDS, K = {k}) takes {found['full fixed']:.1f} s wall "
                            f"({found['full cpu']:.1f} s CPU), {found['full fixed'] / 60:.2f}x the 60 s goal, "
                            f"{found['vs k-means']:.0f}x as long as k-means, for an ARI of {ari[names[1]]:.3f} "
                            f"against k-means' {ari[names[2]]:.3f}.")]
    emit(None, "\n".join(parts))


if __name__ == "__main__":
    main()
