"""Timing and memory measurement shared by the benchmark scripts (run them as scripts:
``python benchmarks/bench_*.py``; this folder is then first on ``sys.path``)."""

from __future__ import annotations

import gc
import time
import tracemalloc


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


def measure(fn, repeat: int = 3):
    """Best wall time (s) of ``repeat`` calls, peak traced MiB of one more call, and its result."""
    times, out = [], None
    for _ in range(repeat):
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    result, out = out, None
    return min(times), peak_mib(fn), result
