"""Spike trains in NWB files: the Units table read lazily (:class:`SpikeTrains`).

The files are read directly with h5py (read-only, through the safe reader of
``neurotk.io._hdf5``), which is fast to open and reads NWB 2.x files of every schema
version, including old ones that pynwb refuses. The ``Units`` table stores the spikes of
all units in one flat array (``units/spike_times``) cut into units by
``units/spike_times_index`` (the end of each unit's spikes). :func:`read_spikes` reads
only the small tables (unit ids and columns, each unit's electrode, the index, the
session metadata); spike times are read when they are binned or counted
(:mod:`neurotk.io.spikes`), in chunks of a fixed number of spikes
(:meth:`SpikeTrains.chunks`), so a file larger than memory is processed in bounded
memory. The file's interval tables (trials, stimulus presentations ...) are read by
:meth:`SpikeTrains.intervals`.

Spike times that are not ascending within a unit (some converters write them so; the
NWB schema asks for ascending times) are sorted on read: each chunk holds whole units
(unless a unit alone has more spikes than a chunk), and the units found out of order are
sorted with one ``np.lexsort`` on (unit run, time) per chunk. One
:class:`~neurotk.NeurotkWarning` names the file and how many units were unsorted, at the
end of the first pass that finds them. NaN or infinite times and an index pointing beyond
the data remain errors.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_int
from ..errors import ArgumentError, DataFormatError, NeurotkWarning, describe_values
from ..tables import table_positions
from ._hdf5 import Reader, attr, decode, file_errors, open_hdf5, ragged_ends, read_table

__all__ = ["SpikeTrains", "as_spike_trains", "read_intervals", "read_spikes"]

#: Spikes read from the file at once (8 MiB of float64 times). Peak working memory of
#: binning is a small multiple of this, whatever the size of the file.
DEFAULT_CHUNK_SPIKES = 1 << 20

#: Show a progress bar (with ``progress=None``) when a pass reads more chunks than this.
_PROGRESS_MIN_CHUNKS = 50


# --------------------------------------------------------------------------- NWB tables
def _find_units_group(f: Reader, table: str | None):
    """``(path in this file, group)`` of the Units table.

    The path is the one looked up here, never ``group.name``: through an external link
    ``group.name`` is the group's path in the *other* file, and looking it up again in this
    file would find a different object (or none).
    """
    if table is not None:
        node = f.h.get(table)
        if not isinstance(node, h5py.Group) or "spike_times" not in node:
            raise f.fail(table, "is not a Units table with spike_times; expected a group such as '/units'")
        return "/" + table.strip("/"), node
    node = f.h.get("units")
    if isinstance(node, h5py.Group) and "spike_times" in node:
        return "/units", node
    # Units tables may also live in processing modules: processing/<module>/<units table>
    found = []
    processing = f.h.get("processing")
    if isinstance(processing, h5py.Group):
        for module_name, module in processing.items():
            if not isinstance(module, h5py.Group):
                continue
            for child_name, child in module.items():
                if isinstance(child, h5py.Group) and "spike_times" in child:
                    found.append((f"/processing/{module_name}/{child_name}", child))
    if found:
        return found[0]
    if isinstance(node, h5py.Group) and "spike_times" not in node:
        ids = node.get("id")
        n_units = ids.shape[0] if isinstance(ids, h5py.Dataset) and ids.ndim == 1 else None
        if n_units == 0:  # a valid file: its Units table is empty (pynwb then writes no spike_times)
            raise DataFormatError(
                f"{f.path}: field '/units' is a Units table with 0 units (no spike_times); the file is valid "
                f"but holds no spike-sorted units. Expected a file with at least one unit")
        raise DataFormatError(
            f"{f.path}: field '/units' has no spike_times ({'' if n_units is None else f'{n_units} units, '}"
            f"columns {sorted(node)}); expected the spike times of spike-sorted units")
    groups = sorted(k for k, v in f.h.items() if isinstance(v, h5py.Group))
    version = attr(f.h, "nwb_version")
    if version is None and "nwb_version" in f.h:
        version = f.read(f.h["nwb_version"], ())
    hint = ""
    if version is not None:
        version = str(decode(np.atleast_1d(version))[0])
        if version.startswith(("NWB-1", "1.")):
            hint = f" (the file says NWB version {version!r}, an NWB 1 layout without a Units table)"
    raise DataFormatError(
        f"{f.path}: field '/units' not found: the file has no Units table with spike_times{hint}; "
        f"its top-level groups are {groups}. Expected an NWB 2.x file with spike-sorted units"
    )


def _join_electrodes(f: Reader, group, table: pd.DataFrame, ends: np.ndarray) -> pd.DataFrame:
    """Add each unit's electrode id, location and electrode group (from the electrodes table)."""
    n = len(table)
    region = group.get("electrodes")
    etable, rows = None, None
    if isinstance(region, h5py.Dataset) and region.ndim == 1 and region.dtype.kind in "iu":
        ref = attr(region, "table")
        try:
            etable = f.h[ref] if ref is not None else None
        except (KeyError, ValueError):
            etable = None
        values = f.read(region).astype(np.int64)
        index = group.get("electrodes_index")
        if isinstance(index, h5py.Dataset):
            r_ends = ragged_ends(f, index, len(values))
            r_starts = np.concatenate([[0], r_ends[:-1]])
            rows = np.where(r_ends > r_starts, values[np.minimum(r_starts, max(len(values) - 1, 0))], -1)
        elif len(values) == n:
            rows = values
    if etable is None:
        candidate = f.h.get("general/extracellular_ephys/electrodes")
        if isinstance(candidate, h5py.Group) and "id" in candidate and "peak_channel_id" in table:
            etable = candidate  # Allen Neuropixels: units.peak_channel_id = electrodes.id
            e_ids = f.read(candidate["id"])
            order = np.argsort(e_ids, kind="stable")
            peak = table["peak_channel_id"].to_numpy()
            pos = np.clip(np.searchsorted(e_ids[order], peak), 0, len(e_ids) - 1)
            rows = np.where(e_ids[order][pos] == peak, order[pos], -1)
    if etable is None or rows is None or len(rows) != n or "id" not in etable:
        return table
    e_ids = f.read(etable["id"])
    if len(e_ids) == 0:
        return table
    valid = (rows >= 0) & (rows < len(e_ids))
    safe = np.where(valid, rows, 0)

    def take(values):
        out = np.asarray(values, dtype=object)[safe]
        out[~valid] = None
        return out

    table = table.copy()
    if "electrode" not in table:
        table["electrode"] = np.where(valid, e_ids[safe].astype(np.int64), -1)
    if "location" not in table and isinstance(etable.get("location"), h5py.Dataset):
        values = f.column(etable["location"])
        if values is not None and len(values) == len(e_ids):
            table["location"] = take(values)
    if "electrode_group" not in table:
        values = None
        if isinstance(etable.get("group_name"), h5py.Dataset):
            values = f.column(etable["group_name"])
        elif isinstance(etable.get("group"), h5py.Dataset):
            values = f.column(etable["group"])
        if values is not None and len(values) == len(e_ids):
            table["electrode_group"] = take(values)
    return table


# --------------------------------------------------------------------------- the lazy object
class SpikeTrains:
    """The spike trains of an NWB file's Units table, read lazily.

    Holds the path, the units table (ids and scalar columns) and the spike index; spike
    times stay in the file until they are binned or counted. Create it with
    :func:`~neurotk.io.read_spikes`. Inside a ``with`` block the file stays open across calls;
    otherwise each call opens and closes it. The file is only ever opened read-only.

    Attributes
    ----------
    path : pathlib.Path
    units : DataFrame
        One row per selected unit: ``unit_id`` and the scalar unit columns of the file
        (e.g. ``quality``, ``depth``, ``location``, ``electrode``, ``electrode_group``).
    n_units, n_spikes : int
    spike_counts : ndarray
        Spikes per selected unit (from the index, without reading spike times).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import read_spikes
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> with read_spikes(path) as spikes:
    ...     good = spikes.select("quality == 'good'")
    ...     print(spikes.n_units, good.n_units <= spikes.n_units)
    9 True
    """

    def __init__(self, path, *, units_table: str | None = None, chunk_size: int = DEFAULT_CHUNK_SPIKES,
                 allow_external_links: bool = False):
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentError(f"path has type {type(path).__name__}; expected a str or pathlib.Path")
        self._path = Path(path)
        self._allow_links = bool(allow_external_links)
        self._chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        # file positions of the units found unsorted so far; shared by selections (one warning per unit)
        self._unsorted = set()
        self._handle = None
        self._range = None
        with self._reader() as f:
            self._table_path, group = _find_units_group(f, units_table)
            times = group["spike_times"]
            if not isinstance(times, h5py.Dataset) or times.ndim != 1 or times.dtype.kind not in "fiu":
                raise f.fail(f"{self._table_path}/spike_times", f"has dtype {getattr(times, 'dtype', None)}; "
                             f"expected a 1-D array of spike times in seconds")
            self._n_values = int(times.shape[0])
            if "spike_times_index" not in group:
                raise f.fail(f"{self._table_path}/spike_times_index", "not found; expected the ragged index of spike_times")
            ends = ragged_ends(f, group["spike_times_index"], self._n_values)
            table = read_table(f, group, skip=("spike_times", "electrodes"), ragged=False)
            if len(table) != len(ends):
                raise f.fail(
                    f"{self._table_path}/spike_times_index",
                    f"has {len(ends)} entries but the table has {len(table)} unit ids; expected one per unit",
                )
            table = _join_electrodes(f, group, table, ends)
            table = table.rename(columns={"id": "unit_id"})
            if table["unit_id"].duplicated().any():
                dup = table["unit_id"][table["unit_id"].duplicated()].unique()
                raise f.fail(f"{self._table_path}/id", f"has duplicated unit ids {describe_values(dup)}; expected unique ids")
            self._meta = session_meta(f)
        self._ends = ends
        self._starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        self._all_units = table.reset_index(drop=True)
        self._selected = np.arange(len(ends), dtype=np.int64)

    # ------------------------------------------------------------------ files
    @contextlib.contextmanager
    def _reader(self) -> Iterator[Reader]:
        if self._handle is not None:
            with file_errors(self._path):
                yield Reader(self._handle, self._path)
            return
        handle = open_hdf5(self._path, allow_external_links=self._allow_links)
        try:
            with file_errors(self._path):
                yield Reader(handle, self._path)
        finally:
            handle.close()

    def __enter__(self) -> SpikeTrains:
        if self._handle is None:
            self._handle = open_hdf5(self._path, allow_external_links=self._allow_links)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the file if it is held open (by a ``with`` block)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_handle"] = None  # pickles (e.g. for joblib) carry the path, not the handle
        return state

    def _copy(self, selected: np.ndarray) -> SpikeTrains:
        new = object.__new__(SpikeTrains)
        new.__dict__.update(self.__dict__)
        new._handle = None  # a selection never closes its parent's file
        new._selected = selected
        new._range = None
        return new

    # ------------------------------------------------------------------ tables
    @property
    def path(self) -> Path:
        """The NWB file."""
        return self._path

    @property
    def units(self) -> pd.DataFrame:
        """The units table of the selected units (a copy), in file order."""
        return self._all_units.iloc[self._selected].reset_index(drop=True)

    @property
    def unit_ids(self) -> np.ndarray:
        """Ids of the selected units."""
        return self._all_units["unit_id"].to_numpy()[self._selected]

    @property
    def n_units(self) -> int:
        """Number of selected units."""
        return len(self._selected)

    def __len__(self) -> int:
        return self.n_units

    @property
    def spike_counts(self) -> np.ndarray:
        """Number of spikes of each selected unit (from the index; no spike times read)."""
        return (self._ends - self._starts)[self._selected]

    @property
    def n_spikes(self) -> int:
        """Total number of spikes of the selected units."""
        return int(self.spike_counts.sum())

    @property
    def meta(self) -> dict:
        """Session metadata of the file (identifier, description, start time) and the path."""
        return dict(self._meta, path=str(self._path), units_table=self._table_path)

    @property
    def time_range(self) -> tuple[float, float]:
        """``(first, last)`` spike time of the selected units (s); reads every spike once.

        NaN when the selected units have no spikes.
        """
        if self._range is None:
            lo, hi = np.inf, -np.inf
            for times, _, _ in self.chunks():
                if times.size:
                    lo, hi = min(lo, float(times.min())), max(hi, float(times.max()))
            self._range = (lo, hi) if lo <= hi else (np.nan, np.nan)
        return self._range

    @property
    def known_time_range(self) -> tuple[float, float] | None:
        """:attr:`time_range` if a pass over the spikes has measured it already, else None.

        Reads nothing (unlike :attr:`time_range`).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import make_demo_session
        >>> from neurotk.io import read_spikes
        >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
        ...                          n_repeats=2, n_units_per_area=3)
        >>> spikes = read_spikes(path)
        >>> print(spikes.known_time_range)
        None
        >>> lo, hi = spikes.time_range  # one pass over the spikes
        >>> spikes.known_time_range == (lo, hi)
        True
        """
        return self._range

    def select(self, units=None) -> SpikeTrains:
        """Keep the units that match ``units`` (a lazy selection; nothing is read).

        Parameters
        ----------
        units : str, dict, mask, positions or callable
            As for :meth:`Recording.select`: a query on the units table
            (``"quality == 'good' and depth < 800"``), a dict of column -> value(s)
            (``{"location": ["VISp", "VISl"]}``), a boolean mask, positions in the current
            selection, or a callable returning one of those. Units keep file order.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import make_demo_session
        >>> from neurotk.io import read_spikes
        >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
        ...                          n_repeats=2, n_units_per_area=3)
        >>> read_spikes(path).select({"area": "V1"}).n_units
        3
        """
        if units is None:
            return self
        pos = table_positions(units, self.units, "units")
        pos = np.unique(np.asarray(pos, dtype=np.int64))
        if pos.size == 0:
            raise ArgumentError(
                f"select(units={units!r}) matched no units of {self._path}; the units table has columns "
                f"{list(self._all_units.columns)}"
            )
        return self._copy(self._selected[pos])

    def times(self, unit_id) -> np.ndarray:
        """The spike times (s) of one unit, read from the file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import make_demo_session
        >>> from neurotk.io import read_spikes
        >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
        ...                          n_repeats=2, n_units_per_area=3)
        >>> spikes = read_spikes(path)
        >>> bool(len(spikes.times(spikes.unit_ids[0])) == spikes.spike_counts[0])
        True
        """
        ids = self.unit_ids
        where = np.flatnonzero(ids == unit_id)
        if where.size == 0:
            raise ArgumentError(
                f"no unit with id {unit_id!r} among the {len(ids)} selected units of {self._path}; ids are "
                f"{describe_values(ids)}"
            )
        col = int(where[0])
        u = int(self._selected[col])
        with self._reader() as f:
            ds = f.h[self._table_path]["spike_times"]
            out = f.read(ds, slice(int(self._starts[u]), int(self._ends[u]))).astype(np.float64)
        if out.size:
            cols = np.array([col])
            self._check_finite(out, cols, np.array([out.size]))
            if (out[1:] < out[:-1]).any():
                out = np.sort(out, kind="stable")
                self._report_unsorted(cols, 1)
        return out

    # ------------------------------------------------------------------ intervals
    @property
    def interval_names(self) -> list[str]:
        """Names of the interval tables in the file (``intervals/<name>``)."""
        with self._reader() as f:
            return list(interval_groups(f))

    def intervals(self, name: str | None = None) -> pd.DataFrame:
        """An interval table of the file as a DataFrame (``id``, ``start_time``, ``stop_time`` ...).

        Parameters
        ----------
        name : str, optional
            The table's name (``"trials"``, ``"encoding_table"``, ``"epochs"`` ...) or part
            of it. ``"stimulus"`` finds the stimulus-presentation tables (names containing
            "stim" or "presentation", and the tables under ``stimulus/presentation``); several (as in Allen Neuropixels files) are
            concatenated in order of ``start_time`` with their name in ``interval_table``.
            ``None``: the stimulus tables, else the trials, else the only table.

        Raises
        ------
        DataFormatError
            No such table; the message lists the tables of the file.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import make_demo_session
        >>> from neurotk.io import read_spikes
        >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
        ...                          n_repeats=2, n_units_per_area=3)
        >>> table = read_spikes(path).intervals("stimulus")
        >>> len(table), list(table.columns)[:5]
        (20, ['id', 'start_time', 'stop_time', 'stimulus', 'category'])
        """
        with self._reader() as f:
            return interval_table(f, name)

    # ------------------------------------------------------------------ spikes
    def _read_ranges(self, gap: int) -> tuple[np.ndarray, np.ndarray]:
        """Contiguous runs of the flat spike array covering the selected units.

        Runs separated by fewer than ``gap`` spikes of unselected units are merged (those
        spikes are read and dropped), so a scattered selection costs few reads.
        """
        s = self._starts[self._selected]
        e = self._ends[self._selected]
        nonempty = e > s
        s, e = s[nonempty], e[nonempty]
        if s.size == 0:
            return s, e
        breaks = np.flatnonzero(s[1:] - e[:-1] > gap)
        return s[np.r_[0, breaks + 1]], e[np.r_[breaks, s.size - 1]]

    def chunks(self, chunk_size: int | None = None,
               progress=None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(times, cols, lengths)`` for chunks of the selected units' spikes, read from the file.

        ``times`` (float64, s) are the spikes of the chunk, unit after unit, as run lengths:
        ``lengths[i]`` spikes of the unit at position ``cols[i]`` of the selection
        (``cols`` increasing). Chunks hold whole units, except a unit with more spikes
        than ``chunk_size``, which is cut into pieces of consecutive chunks. Spike times are
        validated (finite) and ascending within each run: a unit stored out of order is
        sorted here (one ``np.lexsort`` per chunk holding such units; a unit cut into
        pieces is sorted within each piece), and one :class:`~neurotk.NeurotkWarning`
        at the end of the pass names the file and the number of units that were
        unsorted (a unit is reported once per :class:`SpikeTrains`). This is the one pass
        over the spikes that binning, counting and PSTHs (:mod:`neurotk.io.spikes`) make;
        none of them depends on the order of spikes.

        Parameters
        ----------
        chunk_size : int, optional
            Spikes read at once (default: the chunk size given to :func:`~neurotk.io.read_spikes`).
        progress : bool, optional
            Show a progress bar over chunks (default: only for files of many chunks).

        Raises
        ------
        DataFormatError
            NaN or infinite spike times, naming the unit.

        Warns
        -----
        NeurotkWarning
            Spike times not ascending within some units (they are sorted).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import make_demo_session
        >>> from neurotk.io import read_spikes
        >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
        ...                          n_repeats=2, n_units_per_area=3)
        >>> spikes = read_spikes(path)
        >>> total = sum(int(lengths.sum()) for _, _, lengths in spikes.chunks(chunk_size=100))
        >>> total == spikes.n_spikes
        True
        """
        chunk = self._chunk_size if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)
        lut = np.full(len(self._ends), -1, dtype=np.int64)
        lut[self._selected] = np.arange(len(self._selected))
        r_starts, r_ends = self._read_ranges(gap=chunk // 8)
        bounds = [b for s, e in zip(r_starts, r_ends) for b in self._chunk_bounds(int(s), int(e), chunk)]
        show = (len(bounds) > _PROGRESS_MIN_CHUNKS) if progress is None else bool(progress)
        if show:
            from .._console import progress_bar

            bounds = progress_bar(bounds, desc=f"reading spikes of {self._path.name}", unit="chunk")
        previous = None  # (time, selected column) of the last spike of the previous chunk
        found = []  # selected columns of units found unsorted in this pass
        ascending = None  # one bool buffer for the pass (see _validate_runs), not one per chunk
        with self._reader() as f:
            ds = f.h[self._table_path]["spike_times"]
            for cs, ce in bounds:
                times = f.read(ds, slice(cs, ce))
                if times.dtype != np.float64:
                    times = times.astype(np.float64)
                u0 = int(np.searchsorted(self._ends, cs, side="right"))
                u1 = int(np.searchsorted(self._ends, ce - 1, side="right"))
                lengths = np.diff(np.minimum(self._ends[u0 : u1 + 1], ce), prepend=cs)
                cols = lut[u0 : u1 + 1]
                keep = (cols >= 0) & (lengths > 0)
                if not keep.all():
                    if not (cols >= 0).all():
                        times = times[np.repeat(cols >= 0, lengths)]
                    cols, lengths = cols[keep], lengths[keep]
                if times.size == 0:
                    continue
                if ascending is None or ascending.size < times.size - 1:
                    ascending = np.empty(max(times.size - 1, min(chunk, self._n_values)), dtype=np.bool_)
                times, bad = self._validate_runs(times, cols, lengths, previous, ascending)
                if bad.size:
                    found.append(bad)
                previous = (float(times[-1]), int(cols[-1]))
                yield times, cols, lengths
        if found:
            self._report_unsorted(np.unique(np.concatenate(found)), self.n_units)

    def _chunk_bounds(self, start: int, stop: int, chunk: int) -> list[tuple[int, int]]:
        """``[start, stop)`` of the flat spikes cut into chunks of at most ``chunk`` spikes at unit borders.

        A cut goes at the last unit end within ``chunk`` spikes of the chunk's start; a unit
        longer than ``chunk`` is cut inside. One step per chunk (not per unit).
        """
        out = []
        pos = start
        while pos < stop:
            target = pos + chunk
            if target >= stop:
                out.append((pos, stop))
                break
            k = int(np.searchsorted(self._ends, target, side="right")) - 1
            cut = int(self._ends[k]) if k >= 0 and self._ends[k] > pos else target
            out.append((pos, cut))
            pos = cut
        return out

    def _unit_id(self, col) -> object:
        return _py(self._all_units["unit_id"].iloc[int(self._selected[int(col)])])

    def _validate_runs(self, times, cols, lengths, previous, ascending) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_check_finite` and :meth:`_sort_runs` in one pass over the chunk, in the common case.

        One comparison of each spike with the one before it, written into the preallocated
        bool buffer ``ascending`` (``t[i + 1] >= t[i]``, False at a descent and next to a NaN),
        with the run borders set True (a new unit may start earlier). Where every run is
        ascending, each spike lies between its run's first and last spike, so the times are
        finite exactly when those (one pair per run) are: no min/max pass over the chunk.
        Otherwise (a descent, a NaN, an infinite time at a run's end) the full checks run and
        give the same errors, sorting and reports as before.
        """
        n = times.size
        ends = np.cumsum(lengths)
        ok = True
        if n > 1:
            asc = ascending[: n - 1]
            np.greater_equal(times[1:], times[:-1], out=asc)
            asc[ends[:-1] - 1] = True
            ok = bool(asc.all())
        if ok:
            lo, hi = times[ends - lengths].min(), times[ends - 1].max()  # NaN propagates
            ok = bool(np.isfinite(lo) and np.isfinite(hi))
        if not ok:
            self._check_finite(times, cols, lengths)  # raises on NaN or infinite times
            return self._sort_runs(times, cols, lengths, previous)
        if previous is not None and previous[1] == cols[0] and previous[0] > times[0]:
            return times, cols[:1].copy()
        return times, np.zeros(0, dtype=np.int64)

    def _check_finite(self, times, cols, lengths):
        """Refuse NaN or infinite spike times, naming the unit of the first."""
        lo, hi = times.min(), times.max()  # NaN propagates: no boolean copy in the common case
        if not (np.isfinite(lo) and np.isfinite(hi)):
            bad = ~np.isfinite(times)
            at = int(np.flatnonzero(bad)[0])
            col = cols[np.searchsorted(np.cumsum(lengths), at, side="right")]
            what = "NaN" if np.isnan(times[at]) else "infinite"
            raise DataFormatError(
                f"{self._path}: field '{self._table_path}/spike_times' has {int(bad.sum())} non-finite spike "
                f"times in a chunk (first: {what} for unit id {self._unit_id(col)!r}); expected finite times "
                f"in seconds"
            )

    @staticmethod
    def _sort_runs(times, cols, lengths, previous) -> tuple[np.ndarray, np.ndarray]:
        """``times`` with each run (unit) ascending, and the columns of the runs that were not.

        Sorting happens only when a run is out of order: one ``np.lexsort`` on (run, time)
        over the whole chunk. A unit continued from the previous chunk whose first spike
        here precedes the last one there is reported too (its pieces stay apart).
        """
        back = times[1:] < times[:-1]
        ends = np.cumsum(lengths)
        back[ends[:-1] - 1] = False  # a new unit may start earlier
        bad = np.zeros(0, dtype=np.int64)
        if back.any():
            run = np.repeat(np.arange(len(lengths)), lengths)
            bad = cols[np.unique(run[1:][back])]
            times = times[np.lexsort((times, run))]
        if previous is not None and previous[1] == cols[0] and previous[0] > times[0]:
            bad = np.union1d(bad, cols[:1])
        return times, bad

    def _report_unsorted(self, cols, n_checked: int):
        """Warn (once per unit) that the units at selected columns ``cols`` were sorted on read."""
        positions = {int(p) for p in self._selected[np.asarray(cols, dtype=np.int64)]}
        new = sorted(positions - self._unsorted)
        if not new:
            return
        self._unsorted.update(new)
        ids = self._all_units["unit_id"].to_numpy()[new]
        warnings.warn(
            f"{self._path}: field '{self._table_path}/spike_times': the spike times of {len(new)} of "
            f"{n_checked} units (unit ids {describe_values(ids)}) are not in ascending order, as NWB expects; "
            f"they were sorted on read (counts, bins and PSTHs do not depend on the order)",
            NeurotkWarning, stacklevel=caller_stacklevel(),
        )

    def __repr__(self) -> str:
        cols = [c for c in self._all_units.columns if c != "unit_id"]
        return (
            f"SpikeTrains({str(self._path)!r}): {self.n_units} of {len(self._ends)} units, "
            f"{self.n_spikes} spikes (lazy; table {self._table_path!r}, unit columns {cols})"
        )

def _py(value):
    return value.item() if isinstance(value, np.generic) else value


def session_meta(f: Reader) -> dict:
    """Session metadata of an open NWB file: identifier, description, start time, NWB version.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> from neurotk.io._hdf5 import Reader, open_hdf5
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.nwb"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("identifier", data="session-1")
    >>> with open_hdf5(path) as f:
    ...     session_meta(Reader(f, path))
    {'source': 'nwb', 'identifier': 'session-1'}
    """
    meta = {"source": "nwb"}
    for key in ("identifier", "session_description", "session_start_time"):
        ds = f.h.get(key)
        if ds is not None and hasattr(ds, "shape") and ds.shape == ():
            try:
                meta[key] = str(decode(np.atleast_1d(f.read(ds, ())))[0])
            except (OSError, ValueError):  # pragma: no cover - metadata is optional
                pass
    version = attr(f.h, "nwb_version")
    if version is not None:
        meta["nwb_version"] = str(decode(np.atleast_1d(version))[0])
    return meta


def interval_groups(f: Reader) -> dict:
    """The NWB 2 ``TimeIntervals`` tables of an open file: name -> group.

    Tables under ``intervals/`` (trials, epochs, Allen Neuropixels ``*_presentations`` ...)
    and under ``stimulus/presentation/`` (where some converters put stimulus tables, e.g.
    the DANDI 000728 Allen two-photon files); a table is a group with ``start_time``. A
    name found in both places keeps the ``intervals/`` table and gives the other the name
    ``stimulus/<name>``.
    """
    out = {}
    for where in ("intervals", "stimulus/presentation"):
        parent = f.h.get(where)
        if not isinstance(parent, h5py.Group):
            continue
        for name, group in parent.items():
            if isinstance(group, h5py.Group) and isinstance(group.get("start_time"), h5py.Dataset):
                out[name if name not in out else f"stimulus/{name}"] = group
    return out


def interval_table(f: Reader, name=None) -> pd.DataFrame:
    """An interval table of an open NWB file (see :meth:`SpikeTrains.intervals` for ``name``)."""
    groups = interval_groups(f)
    names = _resolve_intervals(f, groups, name)
    frames = [read_table(f, groups[n]) for n in names]
    for n, frame in zip(names, frames):
        if "start_time" not in frame:  # present, but not one number per row of the table
            ds = groups[n]["start_time"]
            raise f.fail(
                ds.name,
                f"has shape {getattr(ds, 'shape', None)} and dtype {getattr(ds, 'dtype', None)} but the "
                f"table has {len(frame)} ids; expected one onset time (s) per row. The file may be corrupt",
            )
    if len(frames) == 1:
        return frames[0]
    for n, frame in zip(names, frames):
        frame.insert(1, "interval_table", n)
    table = pd.concat(frames, ignore_index=True, sort=False)
    order = np.argsort(table["start_time"].to_numpy(), kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _resolve_intervals(f: Reader, groups: dict, name) -> list[str]:
    available = list(groups)
    if name is not None and not isinstance(name, str):
        raise ArgumentError(f"intervals name has type {type(name).__name__}; expected a table name (str)")
    stimulus_like = [n for n in available if "stim" in n.lower() or "presentation" in n.lower()
                     or groups[n].name.startswith("/stimulus/")]
    if name is None:
        if stimulus_like:
            return stimulus_like
        if "trials" in groups:
            return ["trials"]
        if len(available) == 1:
            return available
    elif name in groups:
        return [name]
    else:
        key = name.lower()
        if key in ("stimulus", "stimuli", "presentations", "stimulus_presentations"):
            matches = stimulus_like
        else:
            matches = [n for n in available if key in n.lower()]
        if matches:
            return matches
    wanted = "no default interval table" if name is None else f"no interval table matching {name!r}"
    raise DataFormatError(
        f"{f.path}: field '/intervals' has {wanted}; available tables are {available}. Expected one of "
        f"these names, or a DataFrame with start_time"
    )


# --------------------------------------------------------------------------- functions
def read_spikes(path, units=None, *, units_table: str | None = None,
                chunk_size: int = DEFAULT_CHUNK_SPIKES, allow_external_links: bool = False) -> SpikeTrains:
    """Open the spike trains of an NWB file lazily.

    Reads the units table (ids, scalar columns such as ``quality``, ``depth``,
    ``location``; each unit's electrode with its location and electrode group) and the
    spike index; spike times are read later, in chunks, by :func:`~neurotk.io.bin_spikes`,
    :func:`~neurotk.io.count_spikes` and :func:`~neurotk.io.psth`. The file is opened
    read-only.

    Parameters
    ----------
    path : str or Path
        An NWB 2.x file (any schema version; read with h5py).
    units : str, dict, mask, positions or callable, optional
        Keep only these units (see :meth:`~neurotk.io.SpikeTrains.select`), e.g. ``"quality == 'good'"``.
    units_table : str, optional
        HDF5 path of the Units table. Default ``/units``, else the first Units table found
        in a processing module.
    chunk_size : int, default 1,048,576
        Spikes read at once; bounds the working memory of every pass over the file.
    allow_external_links : bool, default False
        Follow HDF5 external links (datasets or groups stored in another file). Refused by
        default, since a downloaded file could name any local file (or a FIFO, which blocks
        forever); where allowed, only links to regular files inside this file's folder are
        followed. Tables and datasets are then read through the linked groups themselves.

    Returns
    -------
    SpikeTrains

    Raises
    ------
    DataFormatError
        Not an HDF5 file (truncated, corrupt), not a regular file (a FIFO or device), an
        external link (unless allowed), no Units table (the message lists the top-level
        groups), a spike index that is not monotone or points beyond the data. NaN or
        infinite spike times are reported when spikes are read.

    Warns
    -----
    NeurotkWarning
        When spikes are read: spike times not ascending within some units (they are
        sorted on read, see :meth:`SpikeTrains.chunks`); the message names the file and
        the number of units.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import read_spikes
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> spikes = read_spikes(path, units={"area": ["V1", "V4"]})
    >>> spikes.n_units, list(spikes.units.columns)[:4]
    (6, ['unit_id', 'area', 'depth', 'quality'])
    """
    return SpikeTrains(path, units_table=units_table, chunk_size=chunk_size,
                       allow_external_links=allow_external_links).select(units)


def read_intervals(path, name=None, *, allow_external_links: bool = False) -> pd.DataFrame:
    """An NWB 2 interval table (trials, stimulus presentations, epochs ...) as a DataFrame.

    The same tables, by the same names, as :meth:`SpikeTrains.intervals`, for any NWB 2
    file (spikes, two-photon, behaviour): ``intervals/<name>`` and the ``TimeIntervals``
    tables under ``stimulus/presentation``. The file is opened read-only.

    Parameters
    ----------
    path : str or Path
    name : str, optional
        The table's name or part of it; ``"stimulus"`` gives the stimulus-presentation
        tables (concatenated in order of onset, with ``interval_table``); ``None``: the
        stimulus tables, else the trials, else the only table.
    allow_external_links : bool, default False
        Follow HDF5 external links to files in the same folder (see :func:`read_spikes`).

    Returns
    -------
    DataFrame
        ``id``, ``start_time``, ``stop_time`` and the table's other columns.

    Raises
    ------
    DataFormatError
        No such table (the message lists the tables of the file), or not an HDF5 file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> from neurotk.io import read_intervals
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> len(read_intervals(path, "stimulus"))
    20
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected the path of an NWB file")
    path = Path(path)
    with open_hdf5(path, allow_external_links=allow_external_links) as handle, file_errors(path):
        return interval_table(Reader(handle, path), name)


def as_intervals(intervals, path=None) -> tuple[pd.DataFrame, str]:
    """The ``intervals=`` argument of the counting and averaging functions, as ``(table, label)``.

    ``intervals`` is a table name of the NWB file ``path`` (see :func:`read_intervals`;
    ``None`` for the default table), a DataFrame or dict with ``start_time`` (and
    ``stop_time``), or a 1-D array of onset times (s). ``label`` is the name, or
    ``"table"`` for a table given in memory.

    Raises
    ------
    ArgumentError
        A name without a file, an array that is not 1-D numbers, a table without ``start_time``.

    Examples
    --------
    >>> table, label = as_intervals([1.0, 2.5])
    >>> table["start_time"].tolist(), label
    ([1.0, 2.5], 'table')
    """
    if isinstance(intervals, str) or intervals is None:
        if path is None:
            raise ArgumentError(
                f"intervals={intervals!r} names a table of an NWB file, but no file is known (the recording's "
                f"meta has no 'path'); expected a DataFrame with start_time or an array of onset times"
            )
        if isinstance(path, SpikeTrains):
            return path.intervals(intervals), str(intervals)
        return read_intervals(path, intervals), str(intervals)
    if isinstance(intervals, pd.DataFrame):
        table = intervals.reset_index(drop=True).copy()
    elif isinstance(intervals, dict):
        table = pd.DataFrame(dict(intervals))
    else:
        onsets = np.asarray(intervals)
        if onsets.ndim != 1 or onsets.dtype.kind not in "fiu":
            raise ArgumentError(
                f"intervals of type {type(intervals).__name__} (shape {onsets.shape}); expected a table "
                f"name, a DataFrame with start_time, or a 1-D array of onset times"
            )
        table = pd.DataFrame({"start_time": onsets.astype(np.float64)})
    if "start_time" not in table:
        raise ArgumentError(f"intervals table has columns {list(table.columns)}; expected a start_time column")
    return table, "table"


def as_spike_trains(path_or_spikes, units=None) -> SpikeTrains:
    """The :class:`SpikeTrains` of an NWB path or of a SpikeTrains, with ``units`` selected.

    What every function taking ``path_or_spikes`` (:func:`~neurotk.io.bin_spikes`,
    :func:`~neurotk.io.count_spikes`, :func:`~neurotk.io.psth`) calls first.

    Parameters
    ----------
    path_or_spikes : str, Path or SpikeTrains
    units : str, dict, mask, positions or callable, optional
        Keep only these units (see :meth:`~neurotk.io.SpikeTrains.select`).

    Raises
    ------
    ArgumentError
        ``path_or_spikes`` is neither a path nor a SpikeTrains.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "s.nwb", n_stimuli=10,
    ...                          n_repeats=2, n_units_per_area=3)
    >>> spikes = as_spike_trains(path)
    >>> as_spike_trains(spikes, {"area": "V1"}).n_units, as_spike_trains(spikes) is spikes
    (3, True)
    """
    if isinstance(path_or_spikes, SpikeTrains):
        return path_or_spikes.select(units)
    if isinstance(path_or_spikes, (str, os.PathLike)):
        return read_spikes(path_or_spikes, units)
    raise ArgumentError(
        f"path_or_spikes has type {type(path_or_spikes).__name__}; expected the path of an NWB file "
        f"or a SpikeTrains from read_spikes()"
    )
