"""The ``neurotk`` command.

``neurotk demo`` runs the embedded example end to end: a simulated visual hierarchy is
written to a genuine NWB session and read back through the loader, compared by RSA and
topological RSA with the bundled digits network, and a report folder is written.
``neurotk compare BRAIN MODEL`` does the same for a user's files.
``neurotk info`` prints the versions that matter for a bug report.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import NeurotkError

__all__ = ["main"]


def _print_report(report, out, say) -> None:
    say("\nbest layer per area (RDM similarity, 95% bootstrap CI over stimuli):")
    for row in report.best.itertuples():
        say(f"  {row.area:>6} -> {row.layer:<8} {row.score:.3f} [{row.ci_low:.3f}, {row.ci_high:.3f}]")
    say(f"hierarchy order {'recovered' if report.hierarchy_recovered else 'NOT recovered'}: "
        f"{'later areas match deeper layers' if report.hierarchy_recovered else 'see the report'}")
    say(f"report: {out / 'index.html'} (figures, scores.csv)")


def _demo(args) -> int:
    from .datasets import digits_network, make_demo_session, simulate_visual_hierarchy
    from .io import count_spikes
    from .report import compare_recordings

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    say = print if not args.quiet else (lambda *a, **k: None)

    sim = simulate_visual_hierarchy(random_state=args.seed)
    nwb_path = make_demo_session(out / "demo_session.nwb", random_state=args.seed)
    say(f"wrote a simulated {len(sim.areas)}-area session to {nwb_path}")
    counts = count_spikes(nwb_path, intervals="stimulus", window=(0.0, sim.window))
    brain = {area: counts.select(units={"area": area}) for area in sim.areas}
    say(f"read it back: {counts.n_samples} presentations x {counts.n_units} units "
        f"({', '.join(f'{a}: {r.n_units}' for a, r in brain.items())})")

    net = digits_network(random_state=args.seed)
    layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
    say(f"trained the bundled digits network (held-out accuracy {net.test_score_:.2f}); "
        f"layers: {', '.join(net.layers)}")

    report = compare_recordings(brain, layers, n_bootstrap=args.n_bootstrap, random_state=args.seed,
                                n_jobs=args.n_jobs, progress=not args.quiet)
    report.save(out)
    _print_report(report, out, say)
    say(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def _load_side(path: str, what: str, area_column: str, window) -> dict:
    """A file -> dict of name -> Recording: NWB spikes split by a unit column, or arrays."""
    from .errors import ArgumentError
    from .io import from_arrays

    p = Path(path)
    if p.suffix == ".nwb":
        from .io import count_spikes

        counts = count_spikes(p, intervals="stimulus", window=tuple(window))
        units = counts.units
        if area_column not in units.columns:
            raise ArgumentError(
                f"{what} file {p}: its units have no column {area_column!r} (columns: "
                f"{list(units.columns)}); pass --area-column"
            )
        return {str(a): counts.select(units={area_column: a}) for a in units[area_column].unique()}
    if p.suffix in (".npz", ".npy"):
        return from_arrays(p, source_label="brain" if what == "BRAIN" else "model")
    raise ArgumentError(f"{what} file {p}: unsupported format {p.suffix!r}; expected .nwb, .npz or .npy")


def _compare(args) -> int:
    from .report import compare_recordings

    say = print if not args.quiet else (lambda *a, **k: None)
    brain = _load_side(args.brain, "BRAIN", args.area_column, args.window)
    models = _load_side(args.model, "MODEL", args.area_column, args.window)
    report = compare_recordings(brain, models, metric=args.metric, method=args.method,
                                n_bootstrap=args.n_bootstrap, random_state=args.seed,
                                n_jobs=args.n_jobs, progress=not args.quiet)
    out = report.save(Path(args.out))
    _print_report(report, out, say)
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
    demo = sub.add_parser("demo", help="compare a simulated cortex (written to NWB and read back) with the bundled network")
    demo.add_argument("--out", default="neurotk-demo", help="report folder (default: ./neurotk-demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default: 0)")
    compare = sub.add_parser("compare", help="compare brain recordings with network layers and write a report")
    compare.add_argument("brain", metavar="BRAIN", help="NWB file with spikes and stimulus presentations, or .npz of area arrays")
    compare.add_argument("model", metavar="MODEL", help=".npz/.npy of layer activations (rows = stimuli, key 'stimulus' = ids)")
    compare.add_argument("--out", default="neurotk-report", help="report folder (default: ./neurotk-report)")
    compare.add_argument("--area-column", default="area", help="units column that names the area (NWB; default: area)")
    compare.add_argument("--window", type=float, nargs=2, default=(0.0, 0.25), metavar=("START", "STOP"),
                         help="spike-count window after each presentation onset, s (default: 0 0.25)")
    compare.add_argument("--metric", default="correlation", help="RDM dissimilarity (default: correlation)")
    compare.add_argument("--method", default="spearman", help="RDM comparison (default: spearman)")
    compare.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default: 0)")
    for cmd in (demo, compare):
        cmd.add_argument("--n-bootstrap", type=int, default=1000, help="bootstrap samples over stimuli (default: 1000)")
        cmd.add_argument("--n-jobs", type=int, default=1, help="parallel jobs (joblib; default: 1)")
        cmd.add_argument("--quiet", action="store_true", help="print nothing but errors")
    demo.set_defaults(func=_demo)
    compare.set_defaults(func=_compare)
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
