"""Topological RSA: the authors' transforms and model-selection design against neurotk's former ones.

Everything in one process:

* design: the paper's model selection (Lin & Kriegeskorte 2023; doerlbh/TopologicalRSA,
  ``utils_stats.py`` ``loo_eval``) on the bundled digits network. Each instance is
  ``digits_network(random_state=s)`` (trained on the fly, cached per seed), and its four
  layers' RDMs (correlation distance) over held-out digit images are the candidates; each
  RDM is identified by leave-one-instance-out nearest-centroid classification after
  Gaussian noise (``noise_level * std`` of all dissimilarities) is added. The table gives
  the accuracy of the RDM, the RGTM and the RGDM (quantiles 0.2, 0.8) against noise, with
  the reference's transforms (the defaults) and with neurotk's former ones
  (``ramp="distance", below_lower="zero-length", normalise="max"``);
* ramp: the largest change of a Pearson correlation between two RGTMs of that stack when
  the ramp is linear in rank (the authors', now the default) instead of in distance;
* collapse: how many of 190 pairs get geodesic length 0 (20 standard-normal points in 4-D,
  seed 0) at quantiles (0.2, 0.8) and (0.3, 0.6), with zero-length edges below the lower
  threshold (former) and without them (the reference, now the default);
* speed: ``model_selection`` on the design, default against former options, interleaved
  A B A B, median of ``--repeat`` calls, wall and CPU time.

Run: ``python benchmarks/bench_topology.py [--quick] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import functools
import time
import warnings

import numpy as np

FORMER = {"ramp": "distance", "below_lower": "zero-length", "normalise": "max"}
NOISE = (0.0, 0.1, 0.2, 0.3, 0.4)


def clock(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def design(n_seeds: int, n_images: int):
    """Activations of every layer of ``n_seeds`` network instances to held-out images."""
    from neurotk.datasets import digits_network

    t0 = time.perf_counter()
    images, _, _, test = digits_network(0).split
    acts = {s: digits_network(random_state=s).activations(images[test[:n_images]]) for s in range(n_seeds)}
    print(f"design: {n_seeds} instances (seeds 0..{n_seeds - 1}) x 4 layers, {n_images} held-out images; "
          f"networks trained in {time.perf_counter() - t0:.1f} s")
    return acts


def accuracy_table(rdms, n_repeats: int):
    from neurotk.rsa import model_selection

    frames = {}
    for name, options in [("default", {}), ("former", FORMER)]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model_selection(rdms, noise_levels=NOISE, n_repeats=n_repeats, random_state=0, **options)
        frames[name] = res.to_frame()
        collapsed = [str(w.message).split(":")[1].split(",")[0].strip() for w in caught
                     if "collapses" in str(w.message)]
        if collapsed:
            print(f"  ({name}: RGDM collapse warning: {'; '.join(collapsed)})")
    print(f"\nlayer identification accuracy (chance {frames['default']['chance'].iloc[0]:.2f}; "
          f"{n_repeats} noise draws per level; mean +- sem)")
    print(f"{'noise':>6} " + " ".join(f"{t:>14}" for t in ("RDM", "RGTM", "RGDM", "RGTM former", "RGDM former")))
    for level in NOISE:
        cells = []
        for name, transform in [("default", "rdm"), ("default", "rgtm"), ("default", "rgdm"),
                                ("former", "rgtm"), ("former", "rgdm")]:
            t = frames[name]
            row = t[(t["transform"] == transform) & (t["noise_level"] == level)].iloc[0]
            cells.append(f"{row['accuracy']:7.3f}+-{row['sem']:.3f}")
        print(f"{level:6.1f} " + " ".join(f"{c:>14}" for c in cells))
    print("RGTM / RGDM: quantiles 0.2, 0.8; former: " + ", ".join(f"{k}={v!r}" for k, v in FORMER.items()))


def ramp_difference(rdms):
    from neurotk.rsa import geotopological

    print("\nramp: max |Pearson(RGTM_a, RGTM_b) rank ramp - same with distance ramp| over pairs of the stack")
    for lu in [(0.2, 0.8), (0.1, 0.5), (0.0, 1.0)]:
        r = {ramp: np.corrcoef(geotopological(rdms, *lu, ramp=ramp).vectors) for ramp in ("rank", "distance")}
        diff = np.abs(r["rank"] - r["distance"])
        a, b = np.unravel_index(np.argmax(diff), diff.shape)
        print(f"  quantiles {lu}: {diff.max():.3f} ({rdms.names[a]} vs {rdms.names[b]}: "
              f"{r['rank'][a, b]:.3f} rank, {r['distance'][a, b]:.3f} distance)")


def collapse():
    from scipy.spatial.distance import pdist

    from neurotk.rsa import RDM, geodesic

    d = RDM(pdist(np.random.default_rng(0).normal(size=(20, 4))))
    print(f"\ncollapse: pairs of {d.n_pairs} at geodesic length 0 / distinct RGDM values "
          f"(20 standard-normal points in 4-D, seed 0)")
    for lu in [(0.2, 0.8), (0.3, 0.6)]:
        cells = []
        for label, options in [("zero-length (former)", {"below_lower": "zero-length", "normalise": "max",
                                                              "ramp": "distance"}),
                               ("no-edge (reference)", {})]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = geodesic(d, *lu, **options).vector
            cells.append(f"{label}: {int((v == 0).sum())} at 0, {np.unique(v).size} values")
        print(f"  quantiles {lu}: " + "; ".join(cells))


def speed(rdms, n_repeats: int, repeat: int):
    from neurotk.rsa import model_selection

    default = functools.partial(model_selection, rdms, noise_levels=NOISE, n_repeats=n_repeats, random_state=0)
    former = functools.partial(default, **FORMER)
    a, b = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):  # A B A B
            a.append(clock(default))
            b.append(clock(former))
    (aw, ac), (bw, bc) = (np.median(np.array(t), axis=0) for t in (a, b))
    print(f"\nspeed: model_selection, {rdms.n_rdms} RDMs of {rdms.n_conditions} conditions, {len(NOISE)} noise "
          f"levels x {n_repeats} draws, RDM + RGTM + RGDM (median of {repeat})")
    print(f"  default: {aw:.2f} s wall, {ac:.2f} s CPU; former options: {bw:.2f} s wall, {bc:.2f} s CPU")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances, 40 images, 5 noise draws")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement (median kept)")
    args = parser.parse_args(argv)
    from neurotk.rsa import layer_rdms

    n_seeds, n_images, n_repeats = (3, 40, 5) if args.quick else (10, 62, 10)
    rdms = layer_rdms(design(n_seeds, n_images))
    accuracy_table(rdms, n_repeats)
    ramp_difference(rdms)
    collapse()
    speed(rdms, n_repeats, max(args.repeat, 1))


if __name__ == "__main__":
    main()
