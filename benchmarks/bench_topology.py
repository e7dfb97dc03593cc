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
  (``_measure.compare``: median and range of wall time, CPU time, and the same with BLAS
  pinned to one thread).

Prints and emits a section with the four tables.
Run: ``python benchmarks/bench_topology.py [--quick] [--repeat N]``
(``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import os
import textwrap
import time
import warnings

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

FORMER = {"ramp": "distance", "below_lower": "zero-length", "normalise": "max"}
NOISE = (0.0, 0.1, 0.2, 0.3, 0.4)
TRANSFORMS = [("default", "rdm", "RDM"), ("default", "rgtm", "RGTM"), ("default", "rgdm", "RGDM"),
              ("former", "rgtm", "RGTM, former"), ("former", "rgdm", "RGDM, former")]


def paragraph(text: str) -> str:
    """``text`` wrapped at 100 characters (never inside a word or an inline literal's word)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def span(values) -> str:
    """``"3"`` or ``"3-7"``: the range of some counts."""
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}-{max(values)}"


def design(n_seeds: int, n_images: int):
    """Activations of every layer of ``n_seeds`` network instances to held-out images."""
    from neurotk.datasets import digits_network

    t0 = time.perf_counter()
    images, _, _, test = digits_network(0).split
    acts = {s: digits_network(random_state=s).activations(images[test[:n_images]]) for s in range(n_seeds)}
    seconds = time.perf_counter() - t0
    print(f"design: {n_seeds} instances (seeds 0..{n_seeds - 1}) x 4 layers, {n_images} held-out images; "
          f"networks trained in {seconds:.1f} s", flush=True)
    return acts, seconds


def accuracy_table(rdms, n_repeats: int):
    """Rows of the identification accuracies, the accuracies themselves and the collapse warnings."""
    from neurotk.rsa import model_selection

    frames, warned = {}, {}
    for name, options in [("default", {}), ("former", FORMER)]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = model_selection(rdms, noise_levels=NOISE, n_repeats=n_repeats, random_state=0, **options)
        frames[name] = res.to_frame()
        warned[name] = [str(w.message).split(":")[1].split(",")[0].strip() for w in caught
                        if "collapses" in str(w.message)]
    rows, acc = [], {}
    for level in NOISE:
        cells = []
        for name, transform, label in TRANSFORMS:
            t = frames[name]
            row = t[(t["transform"] == transform) & (t["noise_level"] == level)].iloc[0]
            acc[label, level] = float(row["accuracy"])
            cells.append(f"{row['accuracy']:.3f} +- {row['sem']:.3f}")
        rows.append([f"{level:.1f}", *cells])
    return rows, acc, float(frames["default"]["chance"].iloc[0]), warned


def ramp_difference(rdms):
    from neurotk.rsa import geotopological

    rows, worst = [], 0.0
    for lu in [(0.2, 0.8), (0.1, 0.5), (0.0, 1.0)]:
        r = {ramp: np.corrcoef(geotopological(rdms, *lu, ramp=ramp).vectors) for ramp in ("rank", "distance")}
        diff = np.abs(r["rank"] - r["distance"])
        a, b = np.unravel_index(np.argmax(diff), diff.shape)
        worst = max(worst, float(diff.max()))
        rows.append([f"{lu[0]}, {lu[1]}", f"{diff.max():.3f}", f"{rdms.names[a]} vs {rdms.names[b]}",
                     f"{r['rank'][a, b]:.3f}", f"{r['distance'][a, b]:.3f}"])
    return rows, worst


def collapse():
    from scipy.spatial.distance import pdist

    from neurotk.rsa import RDM, geodesic

    d = RDM(pdist(np.random.default_rng(0).normal(size=(20, 4))))
    rows, zeros = [], {}
    for lu in [(0.2, 0.8), (0.3, 0.6)]:
        cells = []
        for label, options in [("former", {"below_lower": "zero-length", "normalise": "max", "ramp": "distance"}),
                               ("default", {})]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                v = geodesic(d, *lu, **options).vector
            zeros[label, lu] = int((v == 0).sum())
            cells += [str(zeros[label, lu]), str(np.unique(v).size)]
        rows.append([f"{lu[0]}, {lu[1]}", *cells])
    return rows, zeros, d.n_pairs


def speed(rdms, n_repeats: int, repeat: int):
    from neurotk.rsa import model_selection

    def run(**options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model_selection(rdms, noise_levels=NOISE, n_repeats=n_repeats, random_state=0, **options)

    runs = compare({"default": run, "former options": lambda: run(**FORMER)}, repeat=repeat, pinned=True)
    print("speed: " + "; ".join(t.summary() for t in runs.values()), flush=True)
    return timing_rows(runs, reference="default"), runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 instances, 40 images, 5 noise draws")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help=f"timed calls per side, interleaved (median kept; at least {MIN_REPEAT})")
    args = parser.parse_args(argv)
    from neurotk.rsa import layer_rdms

    n_seeds, n_images, n_repeats = (3, 40, 5) if args.quick else (10, 62, 10)
    acts, trained = design(n_seeds, n_images)
    rdms = layer_rdms(acts)
    acc_rows, acc, chance, warned = accuracy_table(rdms, n_repeats)
    ramp_rows, ramp_worst = ramp_difference(rdms)
    collapse_rows, zeros, n_pairs = collapse()
    time_rows, runs = speed(rdms, n_repeats, args.repeat)
    repeats = max(args.repeat, MIN_REPEAT)

    top = NOISE[-1]
    best = max((label for *_, label in TRANSFORMS), key=lambda label: acc[label, top])
    notes = "; ".join(f"{name}: {'; '.join(w)}" for name, w in warned.items() if w)
    former_zero = [zeros["former", lu] for lu in [(0.2, 0.8), (0.3, 0.6)]]
    default_zero = [zeros["default", lu] for lu in [(0.2, 0.8), (0.3, 0.6)]]
    r_former = ratio(runs, "former options", "default")
    text = "\n".join([
        "Topological RSA",
        "---------------",
        "",
        paragraph(f"``python benchmarks/bench_topology.py{' --quick' if args.quick else ''}``: the model "
                  "selection of Lin & Kriegeskorte (2023; ``loo_eval`` in doerlbh/TopologicalRSA) on the bundled "
                  f"digits network: {n_seeds} instances (``digits_network(random_state=s)``, s = 0..{n_seeds - 1}, "
                  f"trained in {trained:.0f} s), the RDMs (correlation distance) of their four layers over "
                  f"{n_images} held-out images as candidates, each identified by leave-one-instance-out "
                  "nearest-centroid classification after Gaussian noise (``noise_level`` x the standard "
                  f"deviation of all dissimilarities; {n_repeats} draws per level) is added. Accuracy (mean +- "
                  f"sem; chance {chance:.2f}) of the RDM, the RGTM and the RGDM (quantiles 0.2, 0.8), with the "
                  "reference's transforms (the defaults) and with neurotk's former ones (``ramp='distance', "
                  "below_lower='zero-length', normalise='max'``)."
                  + (f" Collapse warnings: {notes}." if notes else "")),
        "",
        rst_table(["noise", *(label for *_, label in TRANSFORMS)], acc_rows),
        paragraph(f"At noise {top}, the {best} identifies the layer best ({acc[best, top]:.3f}; RDM "
                  f"{acc['RDM', top]:.3f}, RGTM {acc['RGTM', top]:.3f}, RGDM {acc['RGDM', top]:.3f}; former RGTM "
                  f"{acc['RGTM, former', top]:.3f}, former RGDM {acc['RGDM, former', top]:.3f})."),
        "",
        paragraph("Ramp: the largest change, over pairs of the stack, of the Pearson correlation between two "
                  "RGTMs when the ramp between the thresholds is linear in rank (the authors', the default) "
                  "instead of in distance (former)."),
        "",
        rst_table(["quantiles", "max change", "pair", "r, rank ramp", "r, distance ramp"], ramp_rows),
        paragraph(f"The ramp changes a correlation between RGTMs by up to {ramp_worst:.3f}."),
        "",
        paragraph(f"Collapse: of the {n_pairs} pairs of 20 standard-normal points in 4-D (seed 0), how many get "
                  "geodesic length 0, and how many distinct RGDM values remain, with zero-length edges below the "
                  "lower threshold (former) and without them (the reference, the default)."),
        "",
        rst_table(["quantiles", "former: at 0", "former: values", "default: at 0", "default: values"],
                  collapse_rows),
        paragraph(f"Zero-length edges put {span(former_zero)} of {n_pairs} pairs at length 0, the reference's "
                  f"geodesic {span(default_zero)}."),
        "",
        paragraph(f"Speed: ``model_selection`` on the design above ({rdms.n_rdms} RDMs of {rdms.n_conditions} "
                  f"conditions, {len(NOISE)} noise levels x {n_repeats} draws, RDM + RGTM + RGDM), default "
                  f"against former options, interleaved, {repeats} timed calls each, then {repeats} more with "
                  "BLAS pinned to one thread. Ratio: time / the default's."),
        "",
        rst_table(TIMING_HEADER, time_rows),
        paragraph(f"The former options take {r_former:.2f}x the default's time "
                  f"({ratio(runs, 'former options', 'default', pinned=True):.2f}x on one thread)."),
    ])
    emit(None, text)


if __name__ == "__main__":
    main()
