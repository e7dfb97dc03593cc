"""Run every benchmark script, one after another, and print their tables.

Each ``bench_*.py`` runs neurotk and its peer libraries side by side in one process and
prints time ratios (peer time / neurotk time), peak memory and agreement. This runner
installs nothing: peers that are not installed are skipped by the scripts themselves
(``pip install -e ".[bench]"`` installs them). It prints the machine and the versions
first, so a table can be quoted with them.

Run: ``python benchmarks/run.py [--quick] [--only NAME ...] [--timeout SECONDS]``
(``--quick``: small sizes, the whole suite in a few minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = ["numpy", "scipy", "pandas", "scikit-learn", "xarray", "rsatoolbox", "himalaya", "tensorly",
         "tensortools", "pynwb", "pynapple", "nibabel", "nilearn"]


def versions() -> str:
    found = []
    for name in ["neurotk", *PEERS]:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes in every script")
    parser.add_argument("--only", nargs="*", default=None,
                        help="run only these scripts (e.g. encoding rsa_rdm)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per script")
    args = parser.parse_args(argv)

    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in args.only}
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
        if not scripts:
            parser.error(f"no benchmark named {sorted(wanted)}; have "
                         f"{[s.stem.removeprefix('bench_') for s in sorted(HERE.glob('bench_*.py'))]}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"versions: {versions()}\n")
    failed, started = [], time.perf_counter()
    for script in scripts:
        command = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        print(f"=== {script.name}{' --quick' if args.quick else ''}", flush=True)
        t0 = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=HERE.parent, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"--- {script.name}: stopped after {args.timeout:.0f} s", flush=True)
            failed.append(script.name)
            continue
        status = "ok" if done.returncode == 0 else f"exit code {done.returncode}"
        if done.returncode != 0:
            failed.append(script.name)
        print(f"--- {script.name}: {status} in {time.perf_counter() - t0:.1f} s\n", flush=True)
    print(f"{len(scripts) - len(failed)} of {len(scripts)} benchmarks ran in "
          f"{time.perf_counter() - started:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
