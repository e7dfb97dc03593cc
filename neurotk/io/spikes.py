"""Spike trains -> Recordings: binned activity, windowed counts and PSTHs.

Every function takes an NWB file or the :class:`~neurotk.io.SpikeTrains` of
:func:`~neurotk.io.read_spikes` and makes one pass over the spikes
(:meth:`~neurotk.io.SpikeTrains.chunks <neurotk.io.SpikeTrains.chunks>`), a chunk of spikes at a
time, so a file larger than memory is processed in bounded memory.

Every computation is one fused pass over the spikes of a chunk, a block of 32 Ki spikes
at a time in a few preallocated buffers that stay in cache (no temporary of the chunk's
size): each spike's bin comes from a multiply and a subtract rounded in place (adding
``1.5 * 2**52`` leaves the integer in the float's low bits), spikes within rounding of a
bin edge are binned by ``np.searchsorted`` itself, and one ``np.add.at`` per block counts
the (unit, bin) cells of the flat output. Counts in windows (:func:`count_spikes`) and
peri-stimulus histograms (:func:`psth`) rank every spike among the sorted window edges
(exactly ``np.searchsorted``, from a uniform grid over the edges and a forward step or
two), count spikes per (unit, rank) the same way and take differences of the cumulative
counts, so windows may overlap and no loop runs over units, trials or windows.

Bins and windows are half-open, ``[start, stop)``: a spike exactly on an edge counts in
the later bin, and a spike at ``stop`` is not counted, so consecutive calls never count
a spike twice (``np.histogram`` differs only in closing its last bin).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_float
from ..errors import ArgumentError, DataFormatError, describe_values
from ..recording import Recording
from ._memory import check_memory
from .nwb import SpikeTrains, as_intervals, as_spike_trains

__all__ = ["bin_spikes", "check_window", "count_spikes", "psth"]


#: More bins than float64 can count one by one (2**52): refused before anything is allocated.
_MAX_BINS = 2.0**52

#: Output values (units x windows x bins) filled at once by count_spikes and psth: the
#: intermediate integer differences stay within 32 MiB whatever the output's size.
_CHUNK_VALUES = 1 << 22


def _n_bins(span: float, bin_size: float, what: str = "window") -> int:
    """Bins of ``bin_size`` covering ``span`` (a span within 1e-9 bins of a whole number is not rounded up).

    The count comes from one division, checked: a span or bin size at the ends of the
    float64 range (a span of ``inf``, a bin of 5e-324 s) is refused, never converted.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        n = np.float64(span) / np.float64(bin_size)
    if not np.isfinite(span) or not np.isfinite(n) or n >= _MAX_BINS:
        raise ArgumentError(
            f"{what} of {span!r} s in bins of {bin_size!r} s would be {float(n):.3g} bins; expected a finite "
            f"span of fewer than 2**52 bins: pass a shorter time range or a larger bin_size"
        )
    return max(1, int(np.ceil(n - 1e-9)))


def _check_edges(edges: np.ndarray, what: str, bin_size: float) -> None:
    """Refuse bin edges that overflow or that float64 cannot tell apart (bins below its resolution)."""
    if not np.isfinite(edges).all():
        raise ArgumentError(
            f"{what}: bin edges from {float(np.min(edges))!r} s to {float(np.max(edges))!r} s leave the range of "
            f"float64; expected finite times (pass start and stop, or check the spike and interval times)"
        )
    steps = np.diff(edges, axis=-1)
    if (steps <= 0).any():
        where = float(np.abs(edges).max())
        raise ArgumentError(
            f"{what}: bin_size={bin_size!r} s is below the resolution of float64 at {where:g} s "
            f"({float(np.spacing(where)):.3g} s), so bin edges coincide; expected bins wider than "
            f"the spacing of the times (a larger bin_size, or times relative to an earlier origin)"
        )


def _check_bin_memory(spikes: SpikeTrains, n_bins: int, dtype, bin_size: float, start: float, stop: float):
    """Refuse a bins x units result larger than the memory available (e.g. from one corrupt spike time)."""
    need = (spikes.n_units * n_bins * np.dtype(dtype).itemsize) + 8 * (n_bins + 1)
    span = spikes.known_time_range or (start, stop)
    check_memory(
        need,
        f"{spikes.path}: {spikes.n_units} units x {n_bins} bins of {bin_size} s from {start} s to {stop} s",
        f"pass start and stop, a larger bin_size, or check the file's spike times (the selected units' spikes "
        f"span {span[0]} s to {span[1]} s)",
    )


#: Spikes per block of the fused pass: its few buffers (3 x 256 KiB) stay in a core's L2 cache,
#: so each pass over a block costs a fraction of a pass over memory.
_BLOCK = 1 << 15

#: ``y + _MAGIC`` rounds ``y`` (|y| < 2**51) to the nearest integer, held in the low bits of the
#: float: its bit pattern minus :data:`_MAGIC_BITS` is that integer (no float -> int conversion).
_MAGIC = 1.5 * 2.0**52
_MAGIC_BITS = int(np.float64(_MAGIC).view(np.int64))

#: Cells of the uniform grid that ranks spikes among sorted edges (count_spikes, psth): at most
#: 4 Mi int64 (32 MiB), and on average at most 1/2 edge per cell.
_GRID_MAX = 1 << 22

#: Edges one grid cell may hold; more (edges crowded closer than the grid resolves) falls back to
#: np.searchsorted for the whole pass.
_GRID_STEPS = 8


def _runs(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end positions of the runs ``lengths`` in a chunk."""
    ends = np.cumsum(lengths)
    return ends - lengths, ends


def _inside(times, cols, lengths, first: float, last: float):
    """The chunk without its spikes outside ``[first, last)`` (None if nothing is left).

    Runs are ascending (:meth:`~neurotk.io.SpikeTrains.chunks`), so whether any spike lies
    outside is read from the first and last spike of each run, not from a pass over the chunk.
    """
    starts, ends = _runs(lengths)
    if times[starts].min() >= first and times[ends - 1].max() < last:
        return times, cols, lengths
    inside = (times >= first) & (times < last)
    cut = np.concatenate([[0], np.cumsum(inside)])[np.concatenate([[0], ends])]
    lengths = np.diff(cut)
    times = times[inside]
    if times.size == 0:
        return None
    return times, cols[lengths > 0], lengths[lengths > 0]


def _block_offsets(colbase: np.ndarray, starts: np.ndarray, ends: np.ndarray, a: int, b: int) -> np.ndarray:
    """``colbase`` of the run of each spike at positions ``a`` to ``b - 1`` of the chunk."""
    r0 = int(np.searchsorted(ends, a, side="right"))
    r1 = int(np.searchsorted(ends, b - 1, side="right")) + 1
    seg = np.minimum(ends[r0:r1], b) - np.maximum(starts[r0:r1], a)
    return np.repeat(colbase[r0:r1], seg)


def _counts_in_bins(spikes: SpikeTrains, edges: np.ndarray, dtype, chunk_size=None, progress=None) -> np.ndarray:
    """(n_units, n_bins) spike counts in the uniform bins ``edges`` (half-open).

    One fused pass per block of :data:`_BLOCK` spikes, in preallocated buffers: the position
    of each spike in bins minus 1/2 (a multiply and a subtract), rounded to an integer by
    adding :data:`_MAGIC` (the bin, in the float's low bits), the distance to that integer
    (two subtractions), and one ``np.add.at`` of the (unit, bin) cells on the flat output.
    Each spike's bin is exactly what ``np.searchsorted(edges, t, "right") - 1`` gives: a
    spike whose position lies within the rounding error (times 32) of a bin edge is binned
    by ``np.searchsorted`` itself, all others are more than that error away from any edge.
    """
    n_bins = len(edges) - 1
    out = np.zeros((spikes.n_units, n_bins), dtype=dtype)
    flat = out.reshape(-1)
    first, last = float(edges[0]), float(edges[-1])
    width = (last - first) / n_bins
    eps = np.finfo(np.float64).eps
    # rounding error of t / width - first / width and of the edges themselves, in bins, times 32
    bias = 32 * eps * (max(abs(first), abs(last)) / width + n_bins)
    if bias >= 0.25 or n_bins >= 2**50:  # pragma: no cover - bins at the resolution of float64 itself
        return _counts_by_search(spikes, edges, out, chunk_size, progress)
    inv_width = 1.0 / width
    shift = first * inv_width + 0.5  # y = t / width - shift: the position in bins minus 1/2
    near = 0.5 - bias  # |y - round(y)| above this: within the error of an edge
    one = out.dtype.type(1)
    y, z, d = (np.empty(min(_BLOCK, max(1, spikes.n_spikes))) for _ in range(3))
    for chunk in spikes.chunks(chunk_size, progress):
        chunk = _inside(*chunk, first, last)
        if chunk is None:
            continue
        times, cols, lengths = chunk
        starts, ends = _runs(lengths)
        colbase = cols * n_bins - _MAGIC_BITS
        for a in range(0, times.size, _BLOCK):
            b = min(a + _BLOCK, times.size)
            t, yb, zb, db = times[a:b], y[: b - a], z[: b - a], d[: b - a]
            np.multiply(t, inv_width, out=yb)
            yb -= shift
            np.add(yb, _MAGIC, out=zb)  # round(y) + _MAGIC: the bin of every spike off an edge
            np.subtract(zb, _MAGIC, out=db)
            np.subtract(yb, db, out=db)  # y - round(y), in [-1/2, 1/2]
            off = _block_offsets(colbase, starts, ends, a, b)
            code = zb.view(np.int64)
            code += off  # the (unit, bin) cell: unit * n_bins + bin
            if db.max() > near or db.min() < -near:  # spikes on (or within rounding of) an edge
                k = np.flatnonzero(np.abs(db) > near)
                code[k] = np.searchsorted(edges, t[k], side="right") - 1 + (off[k] + _MAGIC_BITS)
            np.add.at(flat, code, one)
    return out


def _counts_by_search(spikes, edges, out, chunk_size=None, progress=None) -> np.ndarray:  # pragma: no cover
    """:func:`_counts_in_bins` for bins at the resolution of float64: one np.searchsorted per spike."""
    n_bins = len(edges) - 1
    flat = out.reshape(-1)
    for chunk in spikes.chunks(chunk_size, progress):
        chunk = _inside(*chunk, float(edges[0]), float(edges[-1]))
        if chunk is None:
            continue
        times, cols, lengths = chunk
        b = np.searchsorted(edges, times, side="right") - 1
        b += np.repeat(cols * n_bins, lengths)
        np.add.at(flat, b, out.dtype.type(1))
    return out


class _EdgeGrid:
    """Ranks spike times among sorted, unique ``edges`` (the number of edges <= t) without a binary search.

    A uniform grid of ``n_cells`` cells of width ``h`` from the first edge holds, for each
    cell ``g``, a lower bound of the rank of any time the cell receives: the number of edges
    at or before ``lo + (g - 1/4) h`` (a quarter cell below any such time, whatever the
    rounding of the cell index). A rank is that bound plus ``steps`` forward steps
    (``r += t >= edges[r]``), ``steps`` being the most edges any cell's times may pass (one,
    where the grid is finer than the edges' spacing). The result equals
    ``np.searchsorted(edges, t, "right")`` exactly: the grid only decides where the steps
    start, comparisons with the edges decide the rank.
    """

    def __init__(self, edges, n_cells: int, lo: float, h: float, base: np.ndarray, steps: int):
        self.edges = np.append(edges, np.inf)  # r = len(edges) compares with +inf: never passed
        self.n_cells, self.lo, self.inv_h, self.base, self.steps = n_cells, lo, 1.0 / h, base, steps

    @staticmethod
    def _bounds(edges: np.ndarray, lo: float, h: float, n_cells: int) -> tuple[np.ndarray, int]:
        n = len(edges)
        # edge i is counted in the bound of cells g >= ceil((e_i - lo) / h + 1/4); rounding errors
        # (far below 1/4 cell) only move an edge lying a quarter cell below the cell's times
        first_cell = np.ceil((edges - lo) * (1.0 / h) + 0.25)
        np.clip(first_cell, 0, n_cells + 2, out=first_cell)
        per_cell = np.bincount(first_cell.astype(np.int64), minlength=n_cells + 3)
        base = np.cumsum(per_cell)[:n_cells]
        # times of cell g lie below lo + (g + 1) h (plus rounding): they may pass the edges first
        # counted in cells g + 1 and g + 2; the last cell also receives every time past the edges
        steps = max(int((per_cell[1:n_cells] + per_cell[2 : n_cells + 1]).max(initial=0)), n - int(base[-1]))
        return base, steps

    @classmethod
    def build(cls, edges: np.ndarray):
        """The grid for ``edges``, or None where the times are too fine (or the edges too crowded) for one."""
        n = len(edges)
        lo, hi = float(edges[0]), float(edges[-1])
        scale = max(abs(lo), abs(hi), np.finfo(np.float64).tiny)
        best = None
        n_cells = min(_GRID_MAX, 2 * n)
        while True:
            h = (hi - lo) / n_cells if hi > lo else 1.0
            if not h > 2.0**20 * np.finfo(np.float64).eps * scale:  # cells at the resolution of the times
                break
            base, steps = cls._bounds(edges, lo, h, n_cells)
            if best is not None and steps >= best[-1]:  # a finer grid no longer helps (edges 1 ulp apart)
                break
            best = (n_cells, lo, h, base, steps)
            if steps <= 1 or n_cells >= _GRID_MAX:
                break
            n_cells = min(_GRID_MAX, 4 * n_cells)
        if best is None or best[-1] > _GRID_STEPS:
            return None
        return cls(edges, *best)

    def rank(self, t: np.ndarray, pos: np.ndarray, cell: np.ndarray, work: np.ndarray) -> np.ndarray:
        """Ranks of ``t`` written into ``pos``; ``cell`` (int64) and ``work`` (float64) are buffers of its size."""
        np.subtract(t, self.lo, out=work)
        work *= self.inv_h
        np.clip(work, 0, self.n_cells - 1, out=work)
        np.copyto(cell, work, casting="unsafe")  # the cell (truncation: floor of a value >= 0)
        np.take(self.base, cell, out=pos, mode="clip")  # indices are in range: "clip" only skips the check
        passed = cell.view(np.bool_)[: t.size]  # the cell indices are no longer needed
        for _ in range(self.steps):
            np.take(self.edges, pos, out=work, mode="clip")
            np.greater_equal(t, work, out=passed)
            pos += passed
        return pos


def _cumulative_counts(spikes: SpikeTrains, edges: np.ndarray, chunk_size=None, progress=None) -> np.ndarray:
    """C[u, j] = number of spikes of unit u before ``edges[j]`` (``edges`` sorted, unique).

    One fused pass per block of :data:`_BLOCK` spikes: each spike's rank among the edges
    (``np.searchsorted(edges, t, "right")``, from :class:`_EdgeGrid` where the edges allow
    one), plus its unit's offset, counted by one ``np.add.at`` on the flat counts; a
    cumulative sum at the end.
    """
    m = len(edges) + 1
    counts = np.zeros((spikes.n_units, m), dtype=np.int64)
    flat = counts.reshape(-1)
    grid = _EdgeGrid.build(edges) if len(edges) else None
    size = min(_BLOCK, max(1, spikes.n_spikes))
    pos, cell, work = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64), np.empty(size)
    for times, cols, lengths in spikes.chunks(chunk_size, progress):
        starts, ends = _runs(lengths)
        colbase = cols * m
        for a in range(0, times.size, _BLOCK):
            b = min(a + _BLOCK, times.size)
            t = times[a:b]
            if grid is None:
                rank = np.searchsorted(edges, t, side="right")  # number of edges <= t
            else:
                rank = grid.rank(t, pos[: b - a], cell[: b - a], work[: b - a])
            rank += _block_offsets(colbase, starts, ends, a, b)
            np.add.at(flat, rank, 1)
    np.cumsum(counts, axis=1, out=counts)  # counts[u, j] = #spikes with rank <= j = #spikes < edges[j]
    return counts


def bin_spikes(path_or_spikes, bin_size, start=None, stop=None, units=None, *, dtype=np.float64,
               chunk_size=None, progress=None) -> Recording:
    """Spike counts in time bins: a Recording of time bins x units.

    Parameters
    ----------
    path_or_spikes : str, Path or SpikeTrains
        An NWB file or the result of :func:`~neurotk.io.read_spikes`.
    bin_size : float
        Bin width (s), e.g. 0.01.
    start, stop : float, optional
        First bin edge and end of the last bin (s). ``start`` defaults to the last multiple
        of ``bin_size`` at or before the first spike; ``stop`` to just past the last spike.
        ``stop - start`` is rounded up to a whole number of bins.
    units : str, dict, mask, positions or callable, optional
        Keep only these units (see :meth:`~neurotk.io.SpikeTrains.select`).
    dtype : numpy dtype, default float64
        float32 halves the memory of the result (counts stay exact below 2**24).
    chunk_size : int, optional
        Spikes read at once (default: the SpikeTrains' chunk size).
    progress : bool, optional
        Show a progress bar over chunks (default: only for files of many chunks).

    Returns
    -------
    Recording
        ``data[i, k]``: spikes of unit ``k`` in ``[time[i], bin_stop[i])``; ``samples``
        has ``time`` (bin start, s) and ``bin_stop``; ``units`` is the file's units table;
        ``meta`` has the path, ``bin_size`` and ``units_of_measure="spike count"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import bin_spikes, read_spikes
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> rec = bin_spikes(path, 0.05, start=0.0)
    >>> int(rec.data.sum()) == read_spikes(path).n_spikes
    True
    >>> list(rec.samples.columns)
    ['time', 'bin_stop']
    """
    spikes = as_spike_trains(path_or_spikes, units)
    bin_size = check_float(bin_size, "bin_size", low=0, low_open=True, unit="seconds")
    start = check_float(start, "start", unit="seconds", allow_none=True)
    stop = check_float(stop, "stop", unit="seconds", allow_none=True)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ArgumentError(f"dtype={dtype}; expected a floating dtype (float64 or float32)")
    if start is None or stop is None:
        lo, hi = spikes.time_range  # one extra pass over the spikes
        if not np.isfinite(lo):
            raise ArgumentError(
                f"{spikes.path}: the selected units have no spikes, so the time range is unknown; pass "
                f"start and stop"
            )
        if start is None:
            with np.errstate(over="ignore", invalid="ignore"):
                start = float(np.floor(lo / bin_size) * bin_size)
            if start > lo:  # floating-point safety
                start -= bin_size
            if not np.isfinite(start):
                raise ArgumentError(
                    f"{spikes.path}: the first spike at {lo!r} s in bins of {bin_size!r} s gives a first bin edge "
                    f"outside the range of float64; expected spike times that fit: pass start and stop, a larger "
                    f"bin_size, or check the file's spike times"
                )
        if stop is None:
            # the bin count from arithmetic, never from a loop: a corrupt spike time (e.g. -1e300)
            # gives a count no float can step through, which is refused here
            with np.errstate(over="ignore", invalid="ignore"):
                span = (np.float64(hi) - start) / bin_size
            if not np.isfinite(span) or span >= _MAX_BINS:
                raise ArgumentError(
                    f"{spikes.path}: spikes from {lo} s to {hi} s in bins of {bin_size} s would need "
                    f"{span:.3g} bins; expected a time range that fits in memory: pass start and stop, a "
                    f"larger bin_size, or check the file's spike times"
                )
            n_bins = int(np.floor(span)) + 1
            if start + n_bins * bin_size <= hi:  # rounding: one more bin covers the last spike
                n_bins += 1
            stop = start + n_bins * bin_size
    if stop <= start:
        raise ArgumentError(f"start={start!r} and stop={stop!r}: expected start < stop")
    n_bins = _n_bins(stop - start, bin_size, f"{spikes.path}: start={start!r} to stop={stop!r}, a span")
    _check_bin_memory(spikes, n_bins, dtype, bin_size, start, stop)
    with np.errstate(over="ignore", invalid="ignore"):
        edges = start + np.arange(n_bins + 1) * bin_size
    _check_edges(edges, f"{spikes.path}: bins from start={start!r} s", bin_size)
    counts = _counts_in_bins(spikes, edges, dtype, chunk_size, progress)
    meta = dict(spikes.meta, name=spikes.path.stem, bin_size=bin_size, start=float(edges[0]),
                stop=float(edges[-1]), units_of_measure="spike count")
    samples = pd.DataFrame({"time": edges[:-1], "bin_stop": edges[1:]})
    # counts are finite by construction: no scan of the (bins x units) output for NaN
    return Recording(counts.T, samples, spikes.units, meta, copy=False, check_finite=False)


def _events_table(spikes: SpikeTrains, intervals) -> tuple[pd.DataFrame, str]:
    """The interval table (and a name for it) from a name, DataFrame, dict or onset times."""
    return as_intervals(intervals, spikes)


def _column(table, name, label, path) -> np.ndarray:
    try:
        values = table[name].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(
            f"{path}: field '{label}/{name}' is not numeric ({exc}); expected times in seconds"
        ) from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataFormatError(
            f"{path}: field '{label}/{name}' has {int(bad.sum())} missing or infinite values (rows "
            f"{describe_values(np.flatnonzero(bad))}); expected finite times in seconds"
        )
    return values


def check_window(window, allow_interval: bool = False):
    """A response window ``(start, stop)`` in seconds relative to each onset, checked.

    Parameters
    ----------
    window : (float, float) or "interval"
        Finite ``start < stop``; ``"interval"`` (each interval's own ``[start_time,
        stop_time)``) is accepted only with ``allow_interval``.
    allow_interval : bool, default False

    Returns
    -------
    (float, float) or "interval"

    Raises
    ------
    ArgumentError
        Not two numbers, not finite, or ``start >= stop``.

    Examples
    --------
    >>> check_window([0, 0.25])
    (0.0, 0.25)
    >>> check_window((0.3, 0.1))
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: window=(0.3, 0.1): expected finite start < stop (s)
    """
    if isinstance(window, str):
        if allow_interval and window == "interval":
            return window
        alternative = " or 'interval'" if allow_interval else ""
        raise ArgumentError(f"window={window!r}; expected (start, stop) in seconds{alternative}")
    try:
        w0, w1 = (float(w) for w in window)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"window={window!r}; expected (start, stop) in seconds relative to each onset") from exc
    if not (np.isfinite(w0) and np.isfinite(w1)) or w0 >= w1:
        raise ArgumentError(f"window={window!r}: expected finite start < stop (s)")
    return w0, w1


def count_spikes(path_or_spikes, intervals="stimulus", window=(0.0, 0.25), rate: bool = False,
                 units=None, *, chunk_size=None, progress=None) -> Recording:
    """Spike counts (or rates) of every unit in a window around each interval: presentations x units.

    Parameters
    ----------
    path_or_spikes : str, Path or SpikeTrains
    intervals : str, DataFrame, dict or array, default "stimulus"
        An interval table of the file by name (see :meth:`~neurotk.io.SpikeTrains.intervals`:
        ``"stimulus"``, ``"trials"`` ...), a table with ``start_time`` (and ``stop_time``),
        or an array of onset times (s).
    window : (float, float) or "interval", default (0.0, 0.25)
        ``[start_time + window[0], start_time + window[1])`` for each row; ``"interval"``
        counts in ``[start_time, stop_time)``.
    rate : bool, default False
        Divide by the window length: spikes per second (Hz).
    units : optional
        Keep only these units (see :meth:`~neurotk.io.SpikeTrains.select`).

    Returns
    -------
    Recording
        One sample per interval, with the interval table's columns (``start_time``,
        ``stop_time``, ``stimulus`` ...) in ``samples``; the units table of the file.

    Raises
    ------
    ArgumentError
        A window whose start is not before its stop.
    DataFormatError
        Unknown interval table (the message lists those available), missing or NaN
        interval times.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import count_spikes
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> rec = count_spikes(path, "stimulus", window=(0.0, 0.25))
    >>> rec.shape, rec.average(by="stimulus").shape
    ((20, 9), (10, 9))
    """
    spikes = as_spike_trains(path_or_spikes, units)
    window = check_window(window, allow_interval=True)
    table, label = _events_table(spikes, intervals)
    where = f"intervals/{label}" if label != "table" else "intervals"
    onset = _column(table, "start_time", where, spikes.path)
    if window == "interval":
        if "stop_time" not in table:
            raise ArgumentError(f"window='interval' needs a stop_time column; the intervals have {list(table.columns)}")
        a, b = onset, _column(table, "stop_time", where, spikes.path)
        if (b < a).any():
            rows = np.flatnonzero(b < a)
            raise DataFormatError(
                f"{spikes.path}: field '{where}/stop_time' is before start_time at rows {describe_values(rows)}; "
                f"expected start_time <= stop_time"
            )
        length = b - a
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            a, b = onset + window[0], onset + window[1]
        length = np.full(len(a), window[1] - window[0])
        _check_edges(np.stack([a, b], axis=-1), f"{spikes.path}: windows {window} s around '{where}/start_time'",
                     window[1] - window[0])
    n_windows = len(a)
    check_memory(
        8 * spikes.n_units * (n_windows + 2 * n_windows + 2) + 8 * _CHUNK_VALUES + 40 * n_windows,
        f"{spikes.path}: {spikes.n_units} units x {n_windows} windows",
        "select fewer units (units=) or intervals",
    )
    data = _window_counts(spikes, a, b, chunk_size, progress)
    if rate:
        with np.errstate(divide="ignore", invalid="ignore"):
            data /= length[:, None]
    meta = dict(spikes.meta, name=spikes.path.stem, intervals=label,
                window=window if isinstance(window, str) else tuple(window),
                units_of_measure="spikes/s" if rate else "spike count")
    return Recording(data, table, spikes.units, meta, copy=False, allow_nan=bool(rate and (length == 0).any()),
                     check_finite=bool(rate))  # counts are finite by construction; rates are checked


def _window_counts(spikes, a, b, chunk_size=None, progress=None) -> np.ndarray:
    """(n_windows, n_units) float64 number of spikes in ``[a[k], b[k])``: differences of cumulative counts."""
    edges = np.unique(np.concatenate([a, b]))
    cum = _cumulative_counts(spikes, edges, chunk_size, progress)
    ja = np.searchsorted(edges, a, side="left")
    jb = np.searchsorted(edges, b, side="left")
    out = np.empty((len(a), spikes.n_units), dtype=np.float64)
    _differences(cum, ja, jb, out)
    return out


#: Units x values per block of :func:`_differences` (at most 2 MiB of int64): a block's rows of
#: the output (64 float64, 512 bytes) are written whole, so the transposition stays in cache.
_UNIT_BLOCK = 64
_VALUE_BLOCK = 4096


def _differences(cum: np.ndarray, j0: np.ndarray, j1: np.ndarray, out: np.ndarray) -> None:
    """``out[k, u] = cum[u, j1[k]] - cum[u, j0[k]]``, in blocks of units x values of ``_CHUNK_VALUES``.

    A block gathers the cumulative counts of :data:`_UNIT_BLOCK` units (contiguous rows of
    ``cum``) and writes their columns of ``out``; the intermediate integer differences stay
    within ``_CHUNK_VALUES`` values whatever the output's size.
    """
    n_units, n = cum.shape[0], len(j0)
    units = max(1, min(n_units, _UNIT_BLOCK, _CHUNK_VALUES))
    values = max(1, min(_VALUE_BLOCK, _CHUNK_VALUES // units))
    for u in range(0, n_units, units):  # blocks of units and of values, not one unit at a time
        rows = cum[u : u + units]
        for k in range(0, n, values):
            block = np.take(rows, j1[k : k + values], axis=1)
            block -= np.take(rows, j0[k : k + values], axis=1)
            out[k : k + values, u : u + units] = block.T


def psth(path_or_spikes, intervals="stimulus", window=(-0.1, 0.4), bin_size=0.01, by=None,
         units=None, *, rate: bool = False, chunk_size=None, progress=None) -> Recording:
    """Peri-stimulus time histograms: spike counts in time bins around each interval onset.

    Parameters
    ----------
    path_or_spikes : str, Path or SpikeTrains
    intervals : str, DataFrame, dict or array, default "stimulus"
        As for :func:`count_spikes`; bins are aligned to each ``start_time``.
    window : (float, float), default (-0.1, 0.4)
        Time around each onset (s), rounded up to a whole number of bins.
    bin_size : float, default 0.01
    by : str or list of str, optional
        Average trials sharing these interval columns (e.g. ``"stimulus"``). An interval
        column named ``trial``, ``time`` or ``bin_stop`` may be named by its own name or
        by its new one (see Returns).
    units : optional
        Keep only these units (see :meth:`~neurotk.io.SpikeTrains.select`).
    rate : bool, default False
        Divide by ``bin_size``: spikes per second (Hz).

    Returns
    -------
    Recording
        Without ``by``: one sample per (trial, bin), trial-major, with ``trial`` (row of
        the interval table), ``time`` (bin start relative to the onset, s), ``bin_stop``
        and the interval columns. With ``by``: one sample per (group, bin), the mean over
        the group's trials, with the ``by`` columns, ``time`` and ``n_averaged``.
        Interval columns named ``trial``, ``time`` or ``bin_stop`` (common in trials
        tables) are kept as ``trial_interval``, ``time_interval``, ``bin_stop_interval``;
        ``meta["renamed_columns"]`` maps the old names to the new.

    Notes
    -----
    Memory: the output (trials x bins x units float64), the cumulative counts of every
    unit at every bin edge, blocks of 4 Mi differences and the grid that ranks spikes
    among the edges (at most 32 MiB); a request larger than the
    memory available to the process (its ``RLIMIT_AS`` included) is refused with an
    :class:`~neurotk.ArgumentError` before anything is allocated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import psth
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> rec = psth(path, window=(-0.1, 0.4), bin_size=0.05)
    >>> rec.shape
    (200, 9)
    >>> psth(path, window=(0.0, 0.25), bin_size=0.05, by="stimulus").shape
    (50, 9)
    """
    spikes = as_spike_trains(path_or_spikes, units)
    w0, w1 = check_window(window, allow_interval=False)
    bin_size = check_float(bin_size, "bin_size", low=0, low_open=True, unit="seconds")
    table, label = _events_table(spikes, intervals)
    table, renamed = _suffix_columns(table, _PSTH_COLUMNS)
    cols = None if by is None else ([by] if isinstance(by, str) else list(by))
    if cols is not None and [c for c in cols if c not in table.columns and c not in renamed]:
        missing = [c for c in cols if c not in table.columns and c not in renamed]
        raise ArgumentError(f"by={by!r}: no column {missing} in the intervals; columns are {list(table.columns)}")
    if cols is not None:
        cols = [renamed.get(c, c) for c in cols]
    where = f"intervals/{label}" if label != "table" else "intervals"
    onset = _column(table, "start_time", where, spikes.path)
    n_bins = _n_bins(w1 - w0, bin_size, f"{spikes.path}: window={(w0, w1)}, a span")
    n_trials = len(onset)
    n_units = spikes.n_units
    # output + cumulative counts over at most n_trials x (n_bins + 1) edges + the edges and their ranks
    # + the samples table (trial, time, bin_stop and the interval columns) + one block of differences
    n_values = n_trials * n_bins
    check_memory(
        8 * n_units * n_values + 8 * n_units * (n_trials * (n_bins + 1) + 2) + 24 * n_trials * (n_bins + 1)
        + 8 * n_values * (3 + len(table.columns)) + 8 * _CHUNK_VALUES,
        f"{spikes.path}: {n_units} units x {n_trials} trials x {n_bins} bins of {bin_size} s",
        "select fewer units (units=) or intervals, a shorter window or a larger bin_size",
    )
    offsets = w0 + np.arange(n_bins + 1) * bin_size
    with np.errstate(over="ignore", invalid="ignore"):
        bin_edges = onset[:, None] + offsets[None, :]  # (n_trials, n_bins + 1)
    _check_edges(bin_edges, f"{spikes.path}: bins of window={(w0, w1)} s around '{where}/start_time'", bin_size)
    edges = np.unique(bin_edges)
    cum = _cumulative_counts(spikes, edges, chunk_size, progress)
    j = np.searchsorted(edges, bin_edges, side="left")
    del bin_edges, edges
    data = np.empty((n_values, n_units), dtype=np.float64)
    _differences(cum, j[:, :-1].reshape(-1), j[:, 1:].reshape(-1), data)  # trial-major (trial, bin) rows
    del cum, j
    if rate:
        data /= bin_size
    samples = table.loc[np.repeat(np.arange(n_trials), n_bins)].reset_index(drop=True)
    samples.insert(0, "bin_stop", np.tile(offsets[1:], n_trials))
    samples.insert(0, "time", np.tile(offsets[:-1], n_trials))
    samples.insert(0, "trial", np.repeat(np.arange(n_trials), n_bins))
    meta = dict(spikes.meta, name=spikes.path.stem, intervals=label, window=(w0, w1), bin_size=bin_size,
                units_of_measure="spikes/s" if rate else "spike count")
    if renamed:
        meta["renamed_columns"] = dict(renamed)
    rec = Recording(data, samples, spikes.units, meta, copy=False, check_finite=bool(rate))  # counts: finite
    if cols is not None:
        rec = rec.average(by=[*cols, "time"])
    return rec


#: Columns psth adds to each sample; interval columns of these names get a suffix.
_PSTH_COLUMNS = ("trial", "time", "bin_stop")


def _suffix_columns(table: pd.DataFrame, reserved) -> tuple[pd.DataFrame, dict]:
    """``table`` with its columns named like ``reserved`` renamed ``<name>_interval`` (then ``_interval_2`` ...).

    Real trials tables often have a ``trial`` or ``time`` column; psth keeps them, renamed,
    beside its own ``trial``/``time``/``bin_stop``.
    """
    taken = set(map(str, table.columns)) | set(reserved)
    renamed = {}
    for name in [c for c in table.columns if c in reserved]:  # at most three names
        new, k = f"{name}_interval", 2
        while new in taken:
            new, k = f"{name}_interval_{k}", k + 1
        taken.add(new)
        renamed[name] = new
    return (table.rename(columns=renamed) if renamed else table), renamed
