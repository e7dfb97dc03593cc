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
  (three eigendecompositions) against the former default (one), interleaved A B A B,
  median of ``--repeat`` calls, wall and CPU time; then the default with ``cv=5``.

Run: ``python benchmarks/bench_kernel_analysis.py [--quick] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

FORMER = {"sigma": "median", "axis": "log", "null_space": "rank"}


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
    from neurotk.rsa import kernel_analysis

    reps, labels = representations()
    print(f"{'representation':>16} {'former':>7} {'default':>8} {'cv AUC':>7} {'gen.':>6} "
          f"{'cv AUC c':>9} {'gen. c':>7}")
    for name, x in reps.items():
        former = kernel_analysis(x, labels, **FORMER)
        ref = kernel_analysis(x, labels, cv=5, random_state=0)
        cen = kernel_analysis(x, labels, cv=5, random_state=0, test_centring="centred")
        print(f"{name:>16} {former.auc:7.3f} {ref.auc:8.3f} {ref.cv_auc:7.3f} {ref.generalization:6.3f} "
              f"{cen.cv_auc:9.3f} {cen.generalization:7.3f}")
    print("former: sigma='median', axis='log', null_space='rank'; default: the reference's KA-AUC;")
    print("cv AUC / gen.: the prediction curve's AUC and maximum (5 folds), reference test-kernel")
    print("centring; 'c': test_centring='centred'\n")


def clock(fn):
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def speed(sizes, repeat):
    from neurotk.rsa import kernel_analysis

    print(f"{'n':>6} {'default wall':>13} {'cpu':>7} {'former wall':>12} {'cpu':>7} {'ratio':>6} "
          f"{'cv=5 wall':>10} {'cpu':>7}")
    for n in sizes:
        rng = np.random.default_rng(n)
        labels = np.arange(n) % 10
        x = 2.0 * rng.normal(size=(10, 200))[labels] + rng.normal(size=(n, 200))
        kernel_analysis(x[:50], labels[:50], cv=2)  # warm-up (imports the splitter)
        default = functools.partial(kernel_analysis, x, labels)
        former = functools.partial(kernel_analysis, x, labels, **FORMER)
        with_cv = functools.partial(kernel_analysis, x, labels, cv=5, random_state=0)
        a, b = [], []
        for _ in range(repeat):  # A B A B
            a.append(clock(default))
            b.append(clock(former))
        cv = [clock(with_cv) for _ in range(repeat)]
        (aw, ac), (bw, bc), (cw, cc) = (np.median(np.array(t), axis=0) for t in (a, b, cv))
        print(f"{n:>6} {aw:12.3f}s {ac:6.2f}s {bw:11.3f}s {bc:6.2f}s {aw / bw:6.2f} {cw:9.3f}s {cc:6.2f}s")
    print("ratio: default / former wall time (three eigendecompositions against one)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per measurement (median kept)")
    args = parser.parse_args(argv)
    numbers()
    speed([200, 500] if args.quick else [500, 1000, 2000], max(args.repeat, 1))


if __name__ == "__main__":
    main()
