"""Per-target ridge (5-fold CV over 10 alphas) side by side with himalaya and scikit-learn.

On the same data (X: n x p, Y: n x t, float64, planted weights with per-target signal
levels), in one process:

* ``neurotk.encoding.RidgeCV(alphas, cv=5)``;
* himalaya's ``RidgeCV(alphas, cv=KFold(5), fit_intercept=True)`` (numpy backend), told to
  choose alphas by the mean R^2 over folds as neurotk does (its default criterion is the
  squared error summed over folds);
* a scikit-learn loop: ``Ridge(alpha)`` fitted on every fold for every alpha (all targets
  at once), the best alpha per target, then one refit per chosen alpha;
* for reference, scikit-learn's ``RidgeCV(alpha_per_target=True)``, which only offers
  leave-one-out (a different, optimistic scheme for autocorrelated data), so its alphas
  are not expected to agree.

Prints wall time, the ratio to neurotk (> 1: neurotk is faster), peak traced memory of the
call, the share of targets given the same alpha as neurotk and the largest difference of
held-out R^2 (on separate test data) from neurotk's. With ``--memory`` it also fits
100,000 targets in chunks and prints the peak traced memory of that fit.

Run: ``python benchmarks/bench_encoding.py [--quick] [--memory] [--skip-sklearn-loop]``
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _measure import measure, peak_mib


def timed(fn):
    """Wall time (s) of one call without tracing, peak traced MiB of a second call, result."""
    return measure(fn, repeat=1)


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
    return best, coef, intercept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--memory", action="store_true", help="also fit 100,000 targets and report peak memory")
    parser.add_argument("--skip-sklearn-loop", action="store_true", help="leave out the (slow) scikit-learn loop")
    args = parser.parse_args(argv)

    from sklearn.linear_model import RidgeCV as SkRidgeCV
    from sklearn.model_selection import KFold

    from neurotk.encoding import RidgeCV

    n, p, t = (1000, 300, 2000) if args.quick else (2000, 1000, 20000)
    alphas = np.logspace(0, 4.5, 10)
    X, Y, W = make_data(n, p, t)
    Xt, Yt, _ = make_data(500, p, t, seed=1)
    Yt = Xt @ W + np.random.default_rng(2).normal(size=Yt.shape)  # same weights, new samples
    folds = list(KFold(5).split(X))

    rows = []
    t_n, m_n, ours = timed(lambda: RidgeCV(alphas=alphas, cv=5).fit(X, Y))
    ours_test = ours.score_targets(Xt, Yt)
    rows.append(("neurotk RidgeCV", t_n, m_n, 1.0, 0.0))

    try:
        from himalaya.ridge import RidgeCV as HimalayaRidgeCV
        from himalaya.scoring import r2_score as himalaya_r2
    except ImportError:
        print("himalaya is not installed (pip install 'neurotk[bench]'); skipping it")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_h, m_h, him = timed(lambda: HimalayaRidgeCV(
                alphas=alphas, cv=KFold(5), fit_intercept=True,
                solver_params={"score_func": himalaya_r2}).fit(X, Y))
        same = np.isclose(him.best_alphas_, ours.alpha_, rtol=1e-9).mean()
        rows.append(("himalaya RidgeCV (numpy)", t_h, m_h, same, np.abs(r2(Yt, him.predict(Xt)) - ours_test).max()))

    if not args.skip_sklearn_loop:
        t_s, m_s, (best, coef, icpt) = timed(lambda: sklearn_loop(X, Y, alphas, folds))
        rows.append(("scikit-learn Ridge loop", t_s, m_s, np.isclose(best, ours.alpha_).mean(),
                     np.abs(r2(Yt, Xt @ coef.T + icpt) - ours_test).max()))

    t_l, m_l, loo = timed(lambda: SkRidgeCV(alphas=alphas, alpha_per_target=True).fit(X, Y))
    rows.append(("scikit-learn RidgeCV (LOO, ref.)", t_l, m_l, np.isclose(loo.alpha_, ours.alpha_).mean(),
                 np.abs(r2(Yt, loo.predict(Xt)) - ours_test).max()))

    print(f"X {n} x {p}, Y {n} x {t}, 5-fold CV x {len(alphas)} alphas, float64")
    print(f"{'method':34} {'seconds':>9} {'ratio':>7} {'peak MiB':>9} {'same alpha':>11} {'max |dR2|':>10}")
    for name, secs, mib, same, diff in rows:
        print(f"{name:34} {secs:9.2f} {secs / t_n:7.2f} {mib:9.0f} {same:11.1%} {diff:10.1e}")

    if args.memory:
        n_m, p_m, t_m = 1000, 500, 100_000
        rng = np.random.default_rng(3)
        Xm = rng.normal(size=(n_m, p_m))
        Ym = np.empty((n_m, t_m))
        for s in range(0, t_m, 10_000):  # build Y in pieces so the input itself stays at 800 MB
            Ym[:, s:s + 10_000] = Xm @ (rng.normal(size=(p_m, 10_000)) * 0.05) + rng.normal(size=(n_m, 10_000))
        fit = {}
        mib = peak_mib(lambda: fit.setdefault("model", RidgeCV(alphas=alphas, cv=5, max_memory="512MB").fit(Xm, Ym)))
        model = fit["model"]
        print(f"\n{t_m:,} targets (X {n_m} x {p_m}, Y {Ym.nbytes / 2**30:.2f} GiB as input): "
              f"peak traced memory during fit {mib / 1024:.2f} GiB "
              f"(of which coef_ {model.coef_.nbytes / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
