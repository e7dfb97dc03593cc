"""The ``neurotk`` command.

``neurotk demo`` builds the embedded example end to end: a simulated visual hierarchy
written to a genuine NWB session, the bundled digits network, and their Recordings.
``neurotk info`` prints the versions that matter for a bug report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import NeurotkError

__all__ = ["main"]


def _demo(args) -> int:
    from .datasets import digits_network, make_demo_session, simulate_visual_hierarchy

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    say = print if not args.quiet else (lambda *a, **k: None)

    sim = simulate_visual_hierarchy(random_state=args.seed)
    nwb_path = make_demo_session(out / "demo_session.nwb", random_state=args.seed)
    say(f"wrote a simulated {len(sim.areas)}-area session to {nwb_path}")
    say(sim.recording)

    net = digits_network(random_state=args.seed)
    layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    say(f"\ntrained the bundled digits network; layers (early -> late): {', '.join(net.layers)}")
    for name, rec in layers.items():
        say(f"  {name}: {rec.n_samples} stimuli x {rec.n_units} units")

    brain = sim.recording.average(by="stimulus")
    say(f"\nbrain responses averaged over repeats: {brain.n_samples} stimuli x {brain.n_units} units")
    say(f"areas in hierarchy order: {', '.join(sim.areas)}")
    say(
        "\nThe RSA report (RDMs per area and layer, layer -> area mapping, tRSA) arrives "
        "with neurotk.rsa; this demo builds and checks its inputs."
    )
    say(f"done in {time.perf_counter() - start:.1f} s; outputs in {out}")
    return 0


def _info(args) -> int:
    import importlib.metadata as md
    import platform

    from . import __version__

    print(f"neurotk {__version__} on Python {platform.python_version()} ({platform.platform()})")
    for name in ("numpy", "scipy", "scikit-learn", "pandas", "tensorly", "nibabel", "pynwb", "h5py", "matplotlib", "xarray", "joblib", "tqdm"):
        try:
            version = md.version(name)
        except md.PackageNotFoundError:
            version = "not installed"
        print(f"  {name:14} {version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``neurotk`` command.

    Examples
    --------
    >>> build_parser().parse_args(["demo", "--seed", "3"]).seed
    3
    """
    parser = argparse.ArgumentParser(
        prog="neurotk",
        description="Neuroscience data analysis: compare recordings from brains and networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the embedded example end to end")
    demo.add_argument("--out", default="neurotk-demo", help="output folder (default: ./neurotk-demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default: 0)")
    demo.add_argument("--quiet", action="store_true", help="print nothing but errors")
    demo.set_defaults(func=_demo)
    info = sub.add_parser("info", help="print neurotk's and its dependencies' versions")
    info.set_defaults(func=_info)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``neurotk`` console script.

    Examples
    --------
    >>> main(["info"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except NeurotkError as err:
        print(f"neurotk {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
