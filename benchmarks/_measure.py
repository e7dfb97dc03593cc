"""Timing and memory measurement shared by the benchmark scripts (run them as scripts:
``python benchmarks/bench_*.py``; this folder is then first on ``sys.path``).

The one rule every script follows: the sides of a comparison are **interleaved** (A B A B
...), each is run ``repeat`` times (at least 3), and the **median** is reported with the
range, for wall time and for process CPU time (``time.process_time``: all threads of this
process, so a side that uses both cores shows CPU > wall). Optionally the same is
repeated with BLAS pinned to one thread (``threadpoolctl``), which takes the machine's
core count out of the ratio. Timing each side once, one after the other, on a shared
machine is what made an earlier quick runner report 0.45x where the interleaved ratio
was 2.95x.

Typical use::

    from _measure import compare, peak_mib, table
    runs = compare({"neurotk": lambda: f(x), "peer": lambda: g(x)}, repeat=3, pinned=True)
    print(table(runs, reference="neurotk"))
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Callable

#: Repeats every comparison runs at least (the issue-19 rule; --quick changes sizes, not this).
MIN_REPEAT = 3


def peak_mib(fn) -> float:
    """Peak memory (MiB) traced by ``tracemalloc`` during one call of ``fn``."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def load_average() -> str:
    """The 1/5/15-minute load average, as text (empty where the OS has none)."""
    try:
        return "/".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return ""


@dataclass
class Timing:
    """Wall and CPU seconds of each repeat of one side, plus its last result."""

    name: str
    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)
    wall1: list = field(default_factory=list)   # BLAS pinned to one thread
    cpu1: list = field(default_factory=list)
    result: object = None

    @property
    def median_wall(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)

    @property
    def median_wall1(self) -> float:
        return statistics.median(self.wall1) if self.wall1 else float("nan")

    def summary(self) -> str:
        text = (f"{self.name}: wall {self.median_wall:.3g} s [{min(self.wall):.3g}, {max(self.wall):.3g}], "
                f"cpu {self.median_cpu:.3g} s [{min(self.cpu):.3g}, {max(self.cpu):.3g}]")
        if self.wall1:
            text += f", 1 thread {self.median_wall1:.3g} s"
        return text


def _once(fn):
    gc.collect()
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def compare(sides: dict[str, Callable], repeat: int = MIN_REPEAT, pinned: bool = False,
            warmup: bool = True) -> dict[str, Timing]:
    """Time each callable in ``sides``, interleaved (A B A B ...), ``repeat`` times each.

    Parameters
    ----------
    sides : dict name -> callable
        The sides of the comparison; each is called with no argument.
    repeat : int
        Repeats per side (raised to :data:`MIN_REPEAT`).
    pinned : bool
        Also run every side ``repeat`` times with BLAS limited to one thread.
    warmup : bool
        Call each side once before timing (imports, caches, first-touch of memory).

    Returns
    -------
    dict name -> Timing
    """
    repeat = max(int(repeat), MIN_REPEAT)
    runs = {name: Timing(name) for name in sides}
    if warmup:
        for fn in sides.values():
            fn()
    for _ in range(repeat):
        for name, fn in sides.items():
            wall, cpu, out = _once(fn)
            runs[name].wall.append(wall)
            runs[name].cpu.append(cpu)
            runs[name].result, out = out, None
    if pinned:
        from threadpoolctl import threadpool_limits
        with threadpool_limits(limits=1):
            for _ in range(repeat):
                for name, fn in sides.items():
                    wall, cpu, _out = _once(fn)
                    runs[name].wall1.append(wall)
                    runs[name].cpu1.append(cpu)
    return runs


def ratio(runs: dict[str, Timing], side: str, reference: str, pinned: bool = False) -> float:
    """Median time of ``side`` / median time of ``reference`` (above 1: reference is faster)."""
    if pinned:
        return runs[side].median_wall1 / runs[reference].median_wall1
    return runs[side].median_wall / runs[reference].median_wall


def rst_table(header: list[str], rows: list[list], title: str | None = None) -> str:
    """A reStructuredText simple table (what docs/benchmarks.rst is made of).

    Cells are text, not markup: ``|`` is escaped (``|x|`` would be a substitution), and an
    empty first cell is written as an empty comment, ``..`` (a blank first column would
    continue the row above).
    """
    def cell(c, first):
        text = str(c).replace("|", "\\|")
        return ".." if first and not text.strip() else text

    cells = [[cell(c, i == 0) for i, c in enumerate(r)] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [rule, "  ".join(c.ljust(w) for c, w in zip(cells[0], widths)).rstrip(), rule]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells[1:]]
    lines.append(rule)
    text = "\n".join(lines)
    return (f"{title}\n\n{text}" if title else text) + "\n"


def timing_rows(runs: dict[str, Timing], reference: str, label: Callable[[str], str] = str) -> list[list]:
    """Rows ``side, median wall [range], median cpu, ratio, 1-thread ratio`` for :func:`rst_table`."""
    rows = []
    for name, t in runs.items():
        r1 = f"{ratio(runs, name, reference, pinned=True):.2f}" if t.wall1 else ""
        rows.append([label(name), f"{t.median_wall:.3g} [{min(t.wall):.3g}-{max(t.wall):.3g}]",
                     f"{t.median_cpu:.3g}", f"{ratio(runs, name, reference):.2f}", r1])
    return rows


TIMING_HEADER = ["side", "wall s, median [range]", "CPU s", "ratio", "ratio, 1 thread"]


def measure(fn, repeat: int = MIN_REPEAT):
    """Median wall time (s) of ``repeat`` calls, peak traced MiB of one more call, and its result.

    For one side alone; comparisons use :func:`compare`, which interleaves the sides.
    """
    times, out = [], None
    for _ in range(max(int(repeat), MIN_REPEAT)):
        out = None
        wall, _cpu, out = _once(fn)
        times.append(wall)
    result, out = out, None
    return statistics.median(times), peak_mib(fn), result


def emit(path: str | None, text: str) -> None:
    """Print ``text`` and, when the runner asked for it (``NEUROTK_BENCH_RST``), append it there."""
    print(text, flush=True)
    target = path or os.environ.get("NEUROTK_BENCH_RST")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
