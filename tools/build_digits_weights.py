"""Regenerate the trained weights of the bundled digits network that ship with neurotk.

Trains :class:`neurotk.datasets.DigitsNetwork` afresh (``digits_network(seed,
retrain=True)``) for every seed in ``neurotk.datasets.network.SHIPPED_SEEDS`` (or the seeds
given) and writes ``neurotk/datasets/data/digits_net_seed<k>.npz`` with
``DigitsNetwork.save_weights`` (plain arrays, no pickles, written atomically). Run it after
any change to the training recipe, together with a bump of ``TRAINING_VERSION``::

    python tools/build_digits_weights.py            # seeds 0-4
    python tools/build_digits_weights.py 0 3        # only these seeds
    python tools/build_digits_weights.py --check    # compare the shipped files, write nothing

``tests/datasets/test_network_weights.py`` fails when the shipped weights differ from a
fresh training.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from neurotk.datasets import DigitsNetwork, digits_network
from neurotk.datasets.network import SHIPPED_SEEDS, TRAINING_VERSION, _shipped_path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", nargs="*", type=int, default=list(SHIPPED_SEEDS))
    parser.add_argument("--check", action="store_true", help="compare the shipped files with a fresh training")
    args = parser.parse_args(argv)
    status = 0
    for seed in args.seeds:
        t0 = time.perf_counter()
        net = digits_network(seed, retrain=True)
        took = time.perf_counter() - t0
        path = _shipped_path(seed)
        if args.check:
            shipped = DigitsNetwork.from_weights(path)
            diff = max(float(np.abs(shipped.params_[k] - net.params_[k]).max()) for k in net.params_)
            # bit for bit with the BLAS kernels that wrote the files; other kernels round differently
            # (< 1e-14 after training, measured with OPENBLAS_CORETYPE=Nehalem/Haswell)
            same = diff < 1e-10 and shipped.training_version_ == TRAINING_VERSION
            status |= not same
            print(f"seed {seed}: trained in {took:.1f} s; largest weight difference {diff:.3g}, "
                  f"version {shipped.training_version_} -> {'same' if same else 'DIFFERENT'}")
        else:
            net.save_weights(path)
            print(f"seed {seed}: trained in {took:.1f} s, test accuracy {net.test_score_:.4f}; wrote {path} "
                  f"({path.stat().st_size / 1024:.0f} kB, training version {TRAINING_VERSION})")
    return status


if __name__ == "__main__":
    sys.exit(main())
