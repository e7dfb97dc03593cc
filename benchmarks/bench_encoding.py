"""Per-target ridge (5-fold CV over 10 alphas) side by side with himalaya and scikit-learn.

On the same data (X: n x p, Y: n x t, float64, planted weights with per-target signal
levels), in one process, interleaved (``_measure.compare``: A B C A B C ..., at least 3
repeats, medians and ranges of wall and process-CPU time):

* ``neurotk.encoding.RidgeCV(alphas, cv=5)``, in float64 (the reference of every ratio) and
  with ``dtype="float32"``;
* himalaya's ``RidgeCV(alphas, cv=KFold(5), fit_intercept=True)`` (numpy backend), told to
  choose alphas by the mean R^2 over folds as neurotk does (its default criterion is the
  squared error summed over folds);
* at the smallest target count: himalaya's torch backend against ``RidgeCV(backend="torch")``
  on the CPU (both given the same numpy arrays, conversion included), and a scikit-learn
  loop, ``Ridge(alpha)`` fitted on every fold for every alpha (all targets at once), the best
  alpha per target, then one refit per chosen alpha. The loop is also timed on a quarter of
  those targets; a line through the two medians (fixed cost + cost per target) gives its
  time at the larger target counts, printed as an estimate, not a measurement;
* at the smallest target count, the numpy sides again with BLAS pinned to one thread.

Printed per side: wall time (median and range), CPU time, ratio to neurotk float64 (> 1:
neurotk is faster), 1-thread ratio and the share of targets given the same alpha as neurotk
float64. The docs section (``_measure.emit``) adds the cost model: the FLOPs every method
shares across targets and spends per target, from which the fall of the himalaya ratio with
the number of targets follows. ``--memory`` also fits 100,000 targets in chunks and prints
the peak traced memory of that fit.

Run: ``python benchmarks/bench_encoding.py [--quick] [--targets 1250 5000 20000] [--memory]
[--skip-sklearn-loop]`` (the default target counts keep the full run within about 5 minutes
on 2 quiet cores; 20,000 targets, the size of the issue, adds about 4 minutes).
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _measure import MIN_REPEAT, compare, emit, load_average, peak_mib, rst_table

ALPHAS = np.logspace(0, 4.5, 10)
N_FOLDS = 5


def make_data(n, p, t, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    scale = np.logspace(-2, -0.5, t)  # per-target signal level -> different best alphas
    W = rng.normal(size=(p, t)) * scale / np.sqrt(p) * 10
    return X, X @ W + rng.normal(size=(n, t)), W


def r2(y, pred):
    return 1 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def sklearn_loop(X, Y, alphas, folds):
    from sklearn.linear_model import Ridge

    scores = np.zeros((len(alphas), Y.shape[1]))
    for tr, te in folds:
        for i, a in enumerate(alphas):
            scores[i] += r2(Y[te], Ridge(alpha=a).fit(X[tr], Y[tr]).predict(X[te]))
    best = alphas[np.argmax(scores, axis=0)]
    coef = np.zeros((Y.shape[1], X.shape[1]))
    intercept = np.zeros(Y.shape[1])
    for a in np.unique(best):
        cols = best == a
        model = Ridge(alpha=a).fit(X, Y[:, cols])
        coef[cols], intercept[cols] = model.coef_, model.intercept_
    return best


def cost_model(n, p, n_alphas=None, n_folds=N_FOLDS):
    """FLOPs (shared across targets, per target) of each method, for X n x p with p <= n.

    neurotk: per fold ``U^T Y`` (2 k n_train per target) and, per alpha, ``(A f) @ (U^T Y)``
    (2 n_test k per target); nothing of size n x p is built per alpha. himalaya: per fold and
    alpha it builds the resolution matrix ``V f U^T`` (p x n_train) and ``X_test`` times it
    (shared), then predicts with ``(n_test x n_train) @ Y_train`` (per target). The
    scikit-learn loop: per fit the Gram matrix and its Cholesky factor (shared), ``X^T y``,
    two triangular solves and the prediction (per target). Every side refits once (~ 2 k n +
    2 p k per target). The SVDs are left out (every method does them once per fold).
    """
    n_alphas = len(ALPHAS) if n_alphas is None else n_alphas
    k, n_te = p, n // n_folds
    n_tr = n - n_te
    refit = 2 * k * n + 2 * p * k
    neurotk = (0.0, n_folds * (2 * k * n_tr + n_alphas * 2 * n_te * k) + refit)
    himalaya = (n_folds * n_alphas * (2 * p * k * n_tr + 2 * n_te * p * n_tr),
                n_folds * n_alphas * 2 * n_te * n_tr + refit)
    sklearn = (n_folds * n_alphas * (2 * n_tr * p * p + p ** 3 / 3),
               n_folds * n_alphas * (2 * p * n_tr + 2 * p * p + 2 * n_te * p) + 2 * p * n + 2 * p * p)
    return {"neurotk": neurotk, "himalaya": himalaya, "sklearn": sklearn}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="X 1,000 x 300, 500 / 2,000 targets (a minute)")
    parser.add_argument("--targets", type=int, nargs="*", default=None,
                        help="target counts (default 1250 5000 10000; --quick: 500 2000)")
    parser.add_argument("--repeat", type=int, default=MIN_REPEAT, help="interleaved repeats per side (>= 3)")
    parser.add_argument("--memory", action="store_true", help="also fit 100,000 targets and report peak memory")
    parser.add_argument("--skip-sklearn-loop", action="store_true", help="leave out the (slow) scikit-learn loop")
    parser.add_argument("--one-thread", action="store_true",
                        help="run every side with BLAS and torch pinned to one thread (for a loaded machine, where "
                             "multi-threaded BLAS waits on busy cores)")
    args = parser.parse_args(argv)

    from sklearn.model_selection import KFold

    from neurotk.encoding import RidgeCV

    try:
        from himalaya.backend import set_backend
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        from himalaya.scoring import r2_score as himalaya_r2
    except ImportError:
        print("himalaya is not installed (pip install 'neurotk[bench]'); skipping it")
        set_backend = None
    try:
        import torch
    except ImportError:
        torch = None

    if args.one_thread:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(limits=1)  # held until the process ends
        if torch is not None:
            torch.set_num_threads(1)
    n, p = (1000, 300) if args.quick else (2000, 1000)
    targets = args.targets or ([500, 2000] if args.quick else [1250, 5000, 10000])
    repeat = max(args.repeat, MIN_REPEAT)

    def himalaya(X, Y, backend):
        set_backend(backend, on_error="raise")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = HimalayaRidgeCV(alphas=ALPHAS, cv=KFold(N_FOLDS), fit_intercept=True,
                                    solver_params={"score_func": himalaya_r2}).fit(X, Y)
        alphas = model.best_alphas_
        set_backend("numpy")
        return np.asarray(alphas.cpu() if hasattr(alphas, "cpu") else alphas)

    def sides_for(X, Y, first):
        sides = {"neurotk": lambda: RidgeCV(alphas=ALPHAS, cv=N_FOLDS).fit(X, Y).alpha_,
                 "neurotk float32": lambda: RidgeCV(alphas=ALPHAS, cv=N_FOLDS, dtype="float32").fit(X, Y).alpha_}
        if set_backend is not None:
            sides["himalaya (numpy)"] = lambda: himalaya(X, Y, "numpy")
        if first and not args.skip_sklearn_loop:
            folds = list(KFold(N_FOLDS).split(X))
            sides["scikit-learn Ridge loop"] = lambda: sklearn_loop(X, Y, ALPHAS, folds)
        return sides

    # warm-up: imports, BLAS / torch thread pools, first touch (small data, not timed)
    Xw, Yw, _ = make_data(200, 50, 20, seed=9)
    for fn in sides_for(Xw, Yw, True).values():
        fn()
    if torch is not None:
        RidgeCV(alphas=ALPHAS, backend="torch", device="cpu").fit(Xw, Yw)
        if set_backend is not None:
            himalaya(Xw, Yw, "torch")

    rows, measured, sk_points, torch_runs, pinned_ratio = [], {}, [], None, {}
    for i, t in enumerate(targets):
        X, Y, _ = make_data(n, p, t)
        first = i == 0
        runs = compare(sides_for(X, Y, first), repeat=repeat, pinned=first and not args.one_thread, warmup=False)
        measured[t] = runs
        if first and "scikit-learn Ridge loop" in runs:
            sub = max(t // 4, 1)
            folds = list(KFold(N_FOLDS).split(X))
            sub_run = compare({"scikit-learn Ridge loop": lambda: sklearn_loop(X, Y[:, :sub], ALPHAS, folds)},
                              repeat=repeat, warmup=False)["scikit-learn Ridge loop"]
            sk_points = [(sub, sub_run.median_wall, sub_run.median_cpu),
                         (t, runs["scikit-learn Ridge loop"].median_wall, runs["scikit-learn Ridge loop"].median_cpu)]
        if first and torch is not None:
            tsides = {"neurotk torch": lambda: RidgeCV(alphas=ALPHAS, cv=N_FOLDS, backend="torch",
                                                       device="cpu").fit(X, Y).alpha_}
            if set_backend is not None:
                tsides["himalaya torch"] = lambda: himalaya(X, Y, "torch")
            torch_runs = (t, compare(tsides, repeat=repeat, warmup=False))
        ref = runs["neurotk"]
        for name, r in runs.items():
            same = np.mean(np.isclose(np.asarray(r.result), np.asarray(ref.result), rtol=1e-6))
            one = f"{r.median_wall1 / ref.median_wall1:.2f}" if r.wall1 else ""
            if r.wall1:
                pinned_ratio[name] = r.median_wall1 / ref.median_wall1
            rows.append([f"{t:,}", name, f"{r.median_wall:.3g} [{min(r.wall):.3g}-{max(r.wall):.3g}]",
                         f"{r.median_cpu:.3g}", f"{r.median_wall / ref.median_wall:.2f}", one, f"{same:.2%}"])
        if not first and len(sk_points) == 2:  # the scikit-learn loop, from the line through two measurements
            (t1, w1, c1), (t2, w2, c2) = sk_points
            w = w1 + (w2 - w1) / (t2 - t1) * (t - t1)
            c = c1 + (c2 - c1) / (t2 - t1) * (t - t1)
            rows.append([f"{t:,}", "scikit-learn Ridge loop (estimate)", f"{w:.3g} (est.)", f"{c:.3g}",
                         f"{w / ref.median_wall:.2f} (CPU {c / ref.median_cpu:.2f})", "", ""])
        if first and torch_runs is not None:
            tref = torch_runs[1]["neurotk torch"]
            for name, r in torch_runs[1].items():
                same = np.mean(np.isclose(np.asarray(r.result), np.asarray(ref.result), rtol=1e-6))
                rows.append([f"{t:,}", f"{name} (CPU)", f"{r.median_wall:.3g} [{min(r.wall):.3g}-{max(r.wall):.3g}]",
                             f"{r.median_cpu:.3g}", f"{r.median_wall / ref.median_wall:.2f} "
                             f"({r.median_wall / tref.median_wall:.2f})", "", f"{same:.2%}"])
        print(f"{t:,} targets done: " + "; ".join(r.summary() for r in runs.values()), flush=True)

    # ------------------------------------------------------------------ the docs section
    def ratio(t, name):
        return measured[t][name].median_wall / measured[t]["neurotk"].median_wall

    model = cost_model(n, p)
    nt = model["neurotk"][1]

    def predicted(name, t):
        shared, per = model[name]
        return (shared + per * t) / (nt * t)

    big, small = max(targets), min(targets)
    sentences = []
    if set_backend is not None:
        him_ratio = {t: ratio(t, "himalaya (numpy)") for t in targets}
        him = ", ".join(f"{r:.2f}x at {t:,}" for t, r in him_ratio.items())
        sentences.append(
            f"neurotk is faster than himalaya's numpy backend by {him} targets"
            + (f" (1 thread, {small:,} targets: {pinned_ratio['himalaya (numpy)']:.2f}x)" if pinned_ratio else "")
            + ".")
        sentences.append(
            f"What each method shares sets how the ratio moves with the number of targets: per fold and "
            f"alpha himalaya builds an n_features x n_train resolution matrix and its product with the test "
            f"features, {model['himalaya'][0] / 1e9:.0f} GFLOP that every target shares, and then spends "
            f"{model['himalaya'][1] / 1e6:.0f} MFLOP per target; neurotk shares only the SVDs and spends "
            f"{nt / 1e6:.0f} MFLOP per target (U^T Y per fold, a rank x test product per alpha). Counting "
            f"FLOPs alone, the ratio would fall from {predicted('himalaya', small):.1f}x at {small:,} to "
            f"{predicted('himalaya', big):.1f}x at {big:,} targets and tend to "
            f"{model['himalaya'][1] / nt:.2f}x (SVDs left out).")
        if len(targets) >= 2:
            ts = np.asarray(targets, dtype=float)
            slope = {name: np.polyfit(ts, [measured[t][name].median_wall for t in targets], 1)
                     for name in ("neurotk", "himalaya (numpy)")}
            per_n, per_h = slope["neurotk"][0], slope["himalaya (numpy)"][0]
            rates = (nt / per_n / 1e9, model["himalaya"][1] / per_h / 1e9)
            first, last = him_ratio[small], him_ratio[big]
            trend = ("falls" if last < 0.95 * first else "rises" if last > 1.05 * first else
                     f"stays within {min(him_ratio.values()):.2f}-{max(him_ratio.values()):.2f}x")
            sentences.append(
                f"Measured, the ratio {trend} from {small:,} to {big:,} targets: the line through the "
                f"medians gives {per_n * 1e3:.2f} ms per target for neurotk and {per_h * 1e3:.2f} ms for "
                f"himalaya, a ratio of {per_h / per_n:.2f}x where the FLOP counts give "
                f"{model['himalaya'][1] / nt:.2f}x: neurotk's per-target products run at "
                f"{rates[0]:.0f} GFLOP/s and himalaya's at {rates[1]:.0f} GFLOP/s, so as its shared work is "
                f"amortised the ratio tends to about {per_h / per_n:.1f}x, not to the FLOP ratio.")
    if len(sk_points) == 2:
        sk = [ratio(small, "scikit-learn Ridge loop")]
        sk_text = f"{sk[0]:.1f}x at {small:,} targets (measured)"
        (t1, w1, _), (t2, w2, _) = sk_points
        for t in targets[1:]:
            w = w1 + (w2 - w1) / (t2 - t1) * (t - t1)
            sk_text += f", {w / measured[t]['neurotk'].median_wall:.1f}x at {t:,} (estimated)"
        sentences.append(
            f"The scikit-learn Ridge loop is slower by {sk_text}; the cost model gives "
            f"{model['sklearn'][1] / nt:.1f}x per target plus {model['sklearn'][0] / 1e9:.0f} GFLOP shared "
            f"({predicted('sklearn', small):.1f}x at {small:,} targets).")
    f32 = {t: (1 / ratio(t, "neurotk float32"),
               np.mean(np.asarray(measured[t]["neurotk float32"].result) == np.asarray(measured[t]["neurotk"].result)))
           for t in targets}
    sentences.append(
        "dtype=\"float32\" is " + ", ".join(f"{s:.2f}x faster at {t:,}" for t, (s, _) in f32.items())
        + " targets, and chooses the same alpha as float64 on "
        + ", ".join(f"{a:.2%}" for _, a in f32.values()) + " of the targets (goal: >= 99.9 %).")
    if torch_runs is not None and set_backend is not None:
        t0, tr = torch_runs
        sentences.append(
            f"On the CPU with torch ({t0:,} targets), himalaya's torch backend takes "
            f"{tr['himalaya torch'].median_wall / tr['neurotk torch'].median_wall:.2f}x the time of "
            f"RidgeCV(backend=\"torch\"), which takes {tr['neurotk torch'].median_wall / measured[t0]['neurotk'].median_wall:.2f}x "
            f"the time of the numpy path (no GPU was used for these numbers).")

    sk_note = (f" The scikit-learn loop was run at {small:,} targets and on {sk_points[0][0]:,} of them; at "
               "larger counts its time is estimated from the line through those two medians (fixed cost + "
               "cost per target) and marked (est.)." if len(sk_points) == 2 else "")
    torch_note = (" The torch rows (CPU, both libraries converting the same numpy arrays) are a separate "
                  "interleaved comparison; their ratio is to neurotk numpy, in brackets to neurotk torch."
                  if torch_runs is not None else "")
    pin_note = (" Every side ran with BLAS and torch pinned to one thread (``--one-thread``), so the main "
                "columns are 1-thread times." if args.one_thread else "")
    text = "\n".join([
        "Encoding models: ridge regression",
        "---------------------------------",
        "",
        f"``python benchmarks/bench_encoding.py{' --quick' if args.quick else ''}``: per-target alpha by "
        f"{N_FOLDS}-fold cross-validation over {len(ALPHAS)} alphas, then a refit, X {n:,} x {p:,}, Y {n:,} x "
        f"{', '.join(f'{t:,}' for t in targets)} targets, float64 inputs. Sides interleaved, {repeat} repeats, "
        f"medians (range in brackets), wall and process-CPU seconds; ratio = side time / neurotk float64 "
        f"time (above 1: neurotk is faster); the 1-thread ratio (smallest size) with BLAS pinned to one "
        f"thread; same alpha = share of targets given neurotk float64's alpha.{sk_note}{torch_note}"
        f"{pin_note} "
        f"Load average {load_average()}.",
        "",
        rst_table(["targets", "side", "wall s, median [range]", "CPU s", "ratio", "ratio, 1 thread", "same alpha"],
                  rows),
        " ".join(sentences),
        "",
    ])
    emit(None, text)
    if args.one_thread:
        limits.restore_original_limits()

    if args.memory:
        n_m, p_m, t_m = 1000, 500, 100_000
        rng = np.random.default_rng(3)
        Xm = rng.normal(size=(n_m, p_m))
        Ym = np.empty((n_m, t_m))
        for s in range(0, t_m, 10_000):  # build Y in pieces so the input itself stays at 800 MB
            Ym[:, s:s + 10_000] = Xm @ (rng.normal(size=(p_m, 10_000)) * 0.05) + rng.normal(size=(n_m, 10_000))
        fit = {}
        mib = peak_mib(lambda: fit.setdefault("model", RidgeCV(alphas=ALPHAS, cv=5, max_memory="512MB").fit(Xm, Ym)))
        model = fit["model"]
        print(f"\n{t_m:,} targets (X {n_m} x {p_m}, Y {Ym.nbytes / 2**30:.2f} GiB as input): "
              f"peak traced memory during fit {mib / 1024:.2f} GiB "
              f"(of which coef_ {model.coef_.nbytes / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
