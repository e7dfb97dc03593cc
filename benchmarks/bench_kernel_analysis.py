"""Kernel analysis: the Neural Representation Benchmark's definition against neurotk's former one.

Two parts, in one process:

* numbers: the KA-AUC of every area of :func:`neurotk.datasets.simulate_visual_hierarchy`
  (100 digits, 4 repeats averaged, 48 units per area) and of every layer of the bundled
  digits network on the same images, with the reference's definition (the default: best of
  three widths at the 0.1 / 0.5 / 0.9 quantiles of the squared distances, KA-AUC
  ``1 - mean(loss)`` over d = 0..n) and with neurotk's former default (one median width,
  area on a log axis, numerical rank: ``sigma="median", axis="log", null_space="rank"``);
  then the benchmark's cross-validated prediction curve (5 stratified folds, seed 0): its
  AUC and the "generalization accuracy" (its maximum), with the reference's test-kernel
  centring (the default) and with ``test_centring="centred"``;
* speed: ``kernel_analysis`` on n conditions x 200 channels (10 classes) with the default
  (three eigendecompositions), the former default (one) and the default with ``cv=5``,
  interleaved (``_measure.compare``: median and range of wall time, CPU time, and the same
  with BLAS pinned to one thread).

Prints and emits a section with both tables.
Run: ``python benchmarks/bench_kernel_analysis.py [--quick] [--repeat N]``
(``NEUROTK_BENCH_REPEAT`` sets the default of ``--repeat``, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import functools
import os
import textwrap

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

FORMER = {"sigma": "median", "axis": "log", "null_space": "rank"}
#: Numbers of conditions timed, and the largest timed with ``cv=5`` too.
SIZES = {"quick": ([200, 500], 500), "full": ([500, 1000, 2000], 1000)}


def paragraph(text: str) -> str:
    """``text`` wrapped at 100 characters (never inside a word or an inline literal's word)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


def span(values) -> str:
    """``"2.5-3.1"``, or one number where the range is one value at 0.1."""
    values = list(values)
    lo, hi = f"{min(values):.1f}", f"{max(values):.1f}"
    return lo if lo == hi else f"{lo}-{hi}"


def representations():
    from neurotk.datasets import digits_network, simulate_visual_hierarchy

    sim = simulate_visual_hierarchy(random_state=0)
    rec = sim.recording.average("stimulus")
    labels = rec.samples["category"].to_numpy()
    reps = {f"area {a}": rec.data[:, (rec.units["area"] == a).to_numpy()] for a in ("V1", "V4", "IT")}
    acts = digits_network(0).activations(sim.images, stimulus_ids=sim.stimulus_ids)
    for name, layer in acts.items():
        layer = layer.average("stimulus") if layer.samples["stimulus"].duplicated().any() else layer
        reps[f"layer {name}"] = layer.align(rec, on="stimulus").data
    return reps, labels


def numbers():
    """The KA-AUCs table (rows) and the numbers the conclusion quotes."""
    from neurotk.rsa import kernel_analysis

    reps, labels = representations()
    rows, values = [], {}
    for name, x in reps.items():
        former = kernel_analysis(x, labels, **FORMER)
        ref = kernel_analysis(x, labels, cv=5, random_state=0)
        cen = kernel_analysis(x, labels, cv=5, random_state=0, test_centring="centred")
        values[name] = (former.auc, ref.auc, ref.cv_auc, ref.generalization, cen.cv_auc, cen.generalization)
        rows.append([name, *(f"{v:.3f}" for v in values[name])])
    header = ["representation", "former AUC", "AUC", "cv AUC", "gen.", "cv AUC, centred", "gen., centred"]
    return header, rows, values, len(labels), len(np.unique(labels))


def speed(sizes, repeat, cv_max):
    """Timing rows for every n (``cv=5`` up to ``cv_max`` only), and the ratios the conclusion quotes."""
    from neurotk.rsa import kernel_analysis

    rows, found = [], {}
    for n in sizes:
        rng = np.random.default_rng(n)
        labels = np.arange(n) % 10
        x = 2.0 * rng.normal(size=(10, 200))[labels] + rng.normal(size=(n, 200))
        sides = {"default": functools.partial(kernel_analysis, x, labels),
                 "former": functools.partial(kernel_analysis, x, labels, **FORMER)}
        if n <= cv_max:
            sides["default, cv=5"] = functools.partial(kernel_analysis, x, labels, cv=5, random_state=0)
        for fn in sides.values():  # warm-up on a small problem: imports, the splitter
            fn.func(x[:50], labels[:50], *fn.args[2:], **fn.keywords)
        runs = compare(sides, repeat=repeat, pinned=True, warmup=False)
        rows += [[f"{n:,}", *row] for row in timing_rows(runs, reference="default")]
        found[n] = {name: (ratio(runs, name, "default"), ratio(runs, name, "default", pinned=True))
                    for name in sides}
        print(f"n = {n}: " + "; ".join(t.summary() for t in runs.values()), flush=True)
    return rows, found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("NEUROTK_BENCH_REPEAT", MIN_REPEAT)),
                        help=f"timed calls per side, interleaved (median kept; at least {MIN_REPEAT})")
    args = parser.parse_args(argv)
    header, auc_rows, values, n_cond, n_classes = numbers()
    sizes, cv_max = SIZES["quick" if args.quick else "full"]
    time_rows, found = speed(sizes, args.repeat, cv_max)
    repeats = max(args.repeat, MIN_REPEAT)

    gain = [v[1] - v[0] for v in values.values()]
    centring = [v[4] - v[2] for v in values.values()]
    areas = [f"{name.split()[1]} {values[name][2]:.3f}" for name in values if name.startswith("area")]
    best = max(values, key=lambda name: values[name][2])
    cost = [found[n]["former"][0] for n in sizes]
    cost1 = [found[n]["former"][1] for n in sizes]
    cv = [found[n]["default, cv=5"][0] for n in sizes if n <= cv_max]
    cv_note = f" (up to n = {cv_max:,} only, which keeps the script within its time budget)" if cv_max < max(sizes) else ""
    text = "\n".join([
        "Kernel analysis",
        "---------------",
        "",
        paragraph(f"``python benchmarks/bench_kernel_analysis.py{' --quick' if args.quick else ''}``: "
                  "``rsa.kernel_analysis`` with the Neural Representation Benchmark's definition (the default: "
                  "best of three widths at the 0.1 / 0.5 / 0.9 quantiles of the squared distances, KA-AUC "
                  "``1 - mean(loss)``) and with neurotk's former default (``sigma='median', axis='log', "
                  f"null_space='rank'``), on the {n_conditions_text(n_cond, n_classes)} of "
                  "``simulate_visual_hierarchy(random_state=0)`` (48 units per area, 4 repeats averaged) and "
                  "on every layer of the bundled digits network for the same images. cv AUC / gen.: the "
                  "cross-validated prediction curve's AUC and maximum (the 'generalization accuracy'; 5 "
                  "stratified folds, seed 0), with the reference's test-kernel centring (the default) and "
                  "with ``test_centring='centred'``."),
        "",
        rst_table(header, auc_rows),
        paragraph(f"The reference's KA-AUC is {min(gain):.3f}-{max(gain):.3f} above the former one for every "
                  f"representation; the cross-validated AUC is {', '.join(areas)} for the areas and is "
                  f"highest for {best} ({values[best][2]:.3f}); centring the test kernel changes it by "
                  f"{min(centring):+.3f} to {max(centring):+.3f}."),
        "",
        paragraph(f"Speed: n conditions x 200 channels (10 classes, seed n), n = "
                  f"{', '.join(f'{n:,}' for n in sizes)}; the default, the former default and the default with "
                  f"``cv=5``{cv_note} interleaved, after one "
                  f"untimed call on 50 conditions, {repeats} timed calls each, then {repeats} more with BLAS "
                  "pinned to one thread. Ratio: the setting's time / the default's."),
        "",
        rst_table(["n", *TIMING_HEADER], time_rows),
        paragraph(f"The default's three eigendecompositions take {span(1 / c for c in cost)}x the former "
                  f"default's one ({span(1 / c for c in cost1)}x with one BLAS thread), and ``cv=5`` takes "
                  f"{span(cv)}x the default's time (n = {sizes[0]:,}-{sizes[-1]:,}"
                  + (f"; with ``cv=5``, n <= {cv_max:,})." if cv_note else ").")),
    ])
    emit(None, text)


def n_conditions_text(n_cond: int, n_classes: int) -> str:
    return f"{n_cond} conditions ({n_classes} classes) of the three areas"


if __name__ == "__main__":
    main()
