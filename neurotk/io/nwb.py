"""Spike trains in NWB files -> Recordings: binned activity, windowed counts and PSTHs.

The files are read directly with h5py (read-only), which is fast to open and reads NWB 2.x
files of every schema version, including old ones that pynwb refuses. The ``Units`` table
stores the spikes of all units in one flat array (``units/spike_times``) cut into units
by ``units/spike_times_index`` (the end of each unit's spikes). :func:`read_spikes`
reads only the small tables (unit ids and columns, the index); spike times are read when
they are binned or counted, in chunks of a fixed number of spikes, so a file larger
than memory is processed in bounded memory.

Every computation is vectorised over all spikes of a chunk at once: each spike gets its
output column from the index (``np.repeat``), its bin from a floor division checked
against the bin edges, and all counts come from one ``np.bincount`` per chunk. Counts in
windows (:func:`count_spikes`) and peri-stimulus histograms (:func:`psth`) rank every
spike among the sorted window edges (``np.searchsorted``), count spikes per (unit, rank)
with ``np.bincount`` and take differences of the cumulative counts, so windows may
overlap and no loop runs over units, trials or windows.

Bins and windows are half-open, ``[start, stop)``: a spike exactly on an edge counts in
the later bin, and a spike at ``stop`` is not counted, so consecutive calls never count
a spike twice (``np.histogram`` differs only in closing its last bin).
"""

from __future__ import annotations

import contextlib
import numbers
import os
from pathlib import Path
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataFormatError, NeurotkError, describe_values
from ..recording import Recording, table_positions

__all__ = ["SpikeTrains", "read_spikes", "bin_spikes", "count_spikes", "psth"]

#: Spikes read from the file at once (8 MiB of float64 times). Peak working memory of
#: binning is a small multiple of this, whatever the size of the file.
DEFAULT_CHUNK_SPIKES = 1 << 20

#: Show a progress bar (with ``progress=None``) when a pass reads more chunks than this.
_PROGRESS_MIN_CHUNKS = 50


# --------------------------------------------------------------------------- h5py helpers
def _h5py():
    import h5py

    return h5py


def _decode(values) -> np.ndarray:
    """Bytes (or arrays of bytes) -> str; everything else unchanged."""
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8", errors="replace").astype(object)
    if arr.dtype.kind == "O":
        return np.array(
            [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in arr.ravel()],
            dtype=object,
        ).reshape(arr.shape)
    return arr


def _is_vlen_sequence_dtype(dtype) -> bool:
    """A variable-length sequence (not string) type, which no NWB field or attribute has."""
    try:
        return dtype.kind == "O" and _h5py().check_vlen_dtype(dtype) not in (None, str, bytes)
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - unusual types
        return False


def _attr(node, key: str, default=None):
    """``node.attrs.get(key, default)``, refusing the types HDF5 misreads when a file is corrupt.

    A string type garbled into a variable-length sequence makes HDF5 read the string's heap
    as sequences and crash the interpreter, so its type is checked before any value is read.
    """
    attrs = node.attrs
    if key not in attrs:
        return default
    dtype = attrs.get_id(key).dtype
    if _is_vlen_sequence_dtype(dtype):
        raise DataFormatError(
            f"{node.file.filename}: attribute '{key}' of field '{node.name}' has a variable-length sequence "
            f"type ({dtype.metadata}); expected numbers or text. The file may be corrupt"
        )
    return attrs[key]


def _attr_names(node, key: str) -> list[str]:
    raw = _attr(node, key)
    if raw is None:
        return []
    return [str(v) for v in _decode(np.atleast_1d(raw)).ravel()]


def _heap_addresses(ds, handle) -> list[int]:
    """Global heap collections referenced by a contiguous variable-length dataset (file offsets)."""
    try:
        offset, size = ds.id.get_offset(), ds.id.get_storage_size()
        sizeof_addr, _ = handle.id.get_create_plist().get_sizes()
    except (OSError, RuntimeError, ValueError, TypeError, AttributeError):
        return []
    if offset is None or not size or sizeof_addr not in (4, 8):
        return []  # compact or chunked storage: nothing to walk (HDF5 reads it as it is)
    element = np.dtype([("length", "<u4"), ("address", f"<u{sizeof_addr}"), ("index", "<u4")])
    with open(handle.filename, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(size)
    ids = np.frombuffer(raw[: len(raw) // element.itemsize * element.itemsize], dtype=element)
    return [int(a) for a in np.unique(ids["address"][ids["length"] > 0])]


def _walk_heap_collection(path, address: int, handle) -> str | None:
    """What is wrong with the global heap collection at ``address`` (None when HDF5 can parse it)."""
    try:
        _, sizeof_size = handle.id.get_create_plist().get_sizes()
    except (OSError, RuntimeError, ValueError, TypeError, AttributeError):  # pragma: no cover
        return None
    file_size = os.path.getsize(path)
    header = 8 + sizeof_size  # "GCOL", version, 3 reserved bytes, collection size
    if address + header > file_size:
        return f"it starts beyond the end of the {file_size}-byte file"
    with open(path, "rb") as fh:
        fh.seek(address)
        head = fh.read(header)
        if head[:4] != b"GCOL":
            return None  # not a collection: HDF5 reports that itself, with an error
        size = int.from_bytes(head[8:header], "little")
        if size < header or address + size > file_size:
            return None  # HDF5 refuses a collection of impossible size with an error
        fh.seek(address)
        body = fh.read(size)
    object_header = 8 + sizeof_size  # index (2), reference count (2), reserved (4), size
    p = header
    while p < size:  # as H5HG__cache_heap_deserialize
        if p + object_header > size:
            break  # the remainder is free space
        index = int.from_bytes(body[p : p + 2], "little")
        length = int.from_bytes(body[p + 8 : p + object_header], "little")
        need = object_header + -(-length // 8) * 8 if index > 0 else length
        if need == 0:
            return f"the free-space object at byte {address + p} has size 0, so HDF5 would never reach its end"
        p += need
    return None


def _selection_bytes(ds, sel) -> int | None:
    """Bytes that ``ds[sel]`` returns, for the selections neurotk makes (all, a row range, a scalar)."""
    try:
        shape = tuple(int(n) for n in ds.shape)
        itemsize = int(ds.dtype.itemsize)
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - unusual datasets
        return None
    if sel == () or sel == slice(None) or not shape:
        return int(np.prod(shape, dtype=object)) * itemsize
    if isinstance(sel, slice):
        rows = len(range(*sel.indices(shape[0])))
        return rows * int(np.prod(shape[1:], dtype=object)) * itemsize
    return None


class _Reader:
    """An open file plus the path, so every read error names the file and the field."""

    def __init__(self, handle, path: Path):
        self.h = handle
        self.path = path

    def fail(self, field: str, message: str) -> DataFormatError:
        return DataFormatError(f"{self.path}: field '{field}' {message}")

    def read(self, ds, sel=slice(None)) -> np.ndarray:
        if _is_vlen_sequence_dtype(ds.dtype):
            # NWB stores ragged data with index datasets, never as variable-length sequences; a
            # string type garbled into one makes HDF5 read its heap wrongly, and crash
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' has a variable-length sequence type "
                f"({ds.id.get_type().get_super().dtype}); expected numbers or text. The file may be corrupt"
            )
        if ds.dtype.kind == "O" and _h5py().check_string_dtype(ds.dtype) is not None:
            self._check_string_heaps(ds)
        need = _selection_bytes(ds, sel)
        have = _memory_bytes()
        if need is not None and have is not None and need > have:
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' has shape {ds.shape} of {ds.dtype}; reading it would need "
                f"{need / 2**30:.3g} GiB, more than the {have / 2**30:.3g} GiB of memory of this machine. "
                f"Expected a dataset that fits in memory; the file may be corrupt"
            )
        try:
            return ds[sel]
        except MemoryError as exc:
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' has shape {ds.shape} of {ds.dtype}, too large to read "
                f"({exc}); expected a dataset that fits in memory. The file may be corrupt"
            ) from exc
        except (OSError, RuntimeError, KeyError, ValueError) as exc:
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' could not be read ({type(exc).__name__}: {exc}); expected "
                f"a readable dataset of shape {ds.shape} and dtype {ds.dtype}. The file may be truncated or corrupt"
            ) from exc

    def _check_string_heaps(self, ds):
        """Walk the global heap collections that a variable-length string dataset points into.

        HDF5 keeps such strings in "global heap collections" and, parsing one whose object
        list is corrupt (an object with index 0 and size 0), loops forever in C, where no
        signal or timeout reaches it. The collections a contiguous dataset references are
        walked here the way HDF5 walks them, and one that would never end is refused.
        """
        addresses = _heap_addresses(ds, self.h)
        checked = self.__dict__.setdefault("_heaps_ok", set())
        for address in addresses:
            if address in checked:
                continue
            problem = _walk_heap_collection(self.path, address, self.h)
            if problem:
                raise DataFormatError(
                    f"{self.path}: field '{ds.name}': its strings live in a corrupt HDF5 global heap "
                    f"collection at byte {address} ({problem}); expected a valid collection of "
                    f"objects. The file is corrupt"
                )
            checked.add(address)

    def column(self, ds) -> np.ndarray | None:
        """A 1-D column as numbers or str (object references -> the names of their targets).

        Returns None for columns that are not 1-D scalars (compound, multi-dimensional).
        """
        h5py = _h5py()
        if ds.ndim != 1 or ds.dtype.names is not None:
            return None
        values = self.read(ds)
        if h5py.check_dtype(ref=ds.dtype) is not None:
            return np.array([self.ref_name(r) for r in values], dtype=object)
        return _decode(values)

    def ref_name(self, ref) -> str | None:
        if not ref:
            return None
        try:
            name = self.h[ref].name  # None for an object no path leads to (e.g. a corrupt link)
        except (KeyError, ValueError, OSError, RuntimeError):
            return None
        return None if name is None else name.rsplit("/", 1)[-1]


#: What h5py (and numpy on the values h5py returns) raise on a truncated or corrupt file:
#: unreadable object headers or attributes (OSError, RuntimeError), broken links
#: (KeyError), garbled dtypes or shapes (ValueError, TypeError, IndexError).
_CORRUPT_FILE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError)


@contextlib.contextmanager
def _file_errors(path, expected: str = "a readable NWB (HDF5) file"):
    """Turn the errors h5py raises on a corrupt file into a DataFormatError naming ``path``.

    NeurotkErrors (already naming the file and field) pass through unchanged.
    """
    try:
        yield
    except NeurotkError:
        raise
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataFormatError(
            f"{path}: could not be read ({type(exc).__name__}: {exc}); expected {expected}. "
            f"The file may be truncated or corrupt"
        ) from exc


def _open(path: Path):
    h5py = _h5py()
    if not path.exists():
        raise ArgumentError(f"no file {str(path)!r}; expected the path of an NWB (HDF5) file")
    if path.is_dir():
        raise ArgumentError(f"{str(path)!r} is a folder; expected the path of an NWB (HDF5) file")
    try:
        return h5py.File(path, "r")
    except _CORRUPT_FILE_ERRORS as exc:
        raise DataFormatError(
            f"{path}: could not be opened as an HDF5 file ({exc}); expected an NWB 2.x file. "
            f"The file may be truncated, corrupt or of another format"
        ) from exc


def _find_units_group(f: _Reader, table: str | None):
    h5py = _h5py()
    if table is not None:
        node = f.h.get(table)
        if not isinstance(node, h5py.Group) or "spike_times" not in node:
            raise f.fail(table, "is not a Units table with spike_times; expected a group such as '/units'")
        return node
    node = f.h.get("units")
    if isinstance(node, h5py.Group) and "spike_times" in node:
        return node
    # Units tables may also live in processing modules: processing/<module>/<units table>
    found = []
    processing = f.h.get("processing")
    if isinstance(processing, h5py.Group):
        for module in processing.values():
            if not isinstance(module, h5py.Group):
                continue
            for child in module.values():
                if isinstance(child, h5py.Group) and "spike_times" in child:
                    found.append(child)
    if found:
        return found[0]
    groups = sorted(k for k, v in f.h.items() if isinstance(v, h5py.Group))
    version = _attr(f.h, "nwb_version")
    if version is None and "nwb_version" in f.h:
        version = f.read(f.h["nwb_version"], ())
    hint = ""
    if version is not None:
        version = str(_decode(np.atleast_1d(version))[0])
        if version.startswith(("NWB-1", "1.")):
            hint = f" (the file says NWB version {version!r}, an NWB 1 layout without a Units table)"
    raise DataFormatError(
        f"{f.path}: field '/units' not found: the file has no Units table with spike_times{hint}; "
        f"its top-level groups are {groups}. Expected an NWB 2.x file with spike-sorted units"
    )


def _ragged_ends(f: _Reader, index_ds, n_values: int) -> np.ndarray:
    """The VectorIndex ``index_ds`` as int64 ends, checked against the data length."""
    ends = f.read(index_ds)
    if ends.ndim != 1 or ends.dtype.kind not in "iu":
        raise f.fail(index_ds.name, f"has dtype {ends.dtype} and shape {ends.shape}; expected a 1-D integer index")
    ends = ends.astype(np.int64)
    if ends.size:
        steps = np.diff(ends, prepend=0)
        if (steps < 0).any():
            at = int(np.flatnonzero(steps < 0)[0])
            raise f.fail(
                index_ds.name,
                f"is not monotone (entry {at} = {int(ends[at])} is below the previous one); expected "
                f"non-decreasing end positions into the data",
            )
        if ends[-1] > n_values:
            raise f.fail(
                index_ds.name,
                f"points beyond the data (last end {int(ends[-1])} but the data have {n_values} values); "
                f"expected end positions of at most {n_values}. The file may be truncated or corrupt",
            )
    return ends


def _read_table(f: _Reader, group, skip=(), ragged: bool = True) -> pd.DataFrame:
    """A DynamicTable group -> DataFrame (id, scalar columns; ragged columns as lists)."""
    h5py = _h5py()
    if "id" not in group:
        raise f.fail(f"{group.name}/id", "not found; expected the ids of the table rows")
    ids = f.read(group["id"])
    n = len(ids)
    names = _attr_names(group, "colnames")
    names += sorted(k for k in group if k not in names)  # datasets not listed in colnames
    columns = {"id": ids}
    for name in names:
        if name in columns or name in skip or name == "id" or name.endswith("_index"):
            continue
        ds = group.get(name)
        if not isinstance(ds, h5py.Dataset):
            continue
        index = group.get(f"{name}_index")
        if isinstance(index, h5py.Dataset):
            if not ragged or f"{name}_index_index" in group or len(index) != n:
                continue
            values = f.column(ds)
            if values is None:
                continue
            ends = _ragged_ends(f, index, len(values))
            parts = np.split(values, ends[:-1]) if n else []
            columns[name] = [list(p) for p in parts]
            continue
        if len(ds) != n:
            continue
        values = f.column(ds)
        if values is not None:
            columns[name] = values
    return pd.DataFrame(columns)


def _join_electrodes(f: _Reader, group, table: pd.DataFrame, ends: np.ndarray) -> pd.DataFrame:
    """Add each unit's electrode id, location and electrode group (from the electrodes table)."""
    h5py = _h5py()
    n = len(table)
    region = group.get("electrodes")
    etable, rows = None, None
    if isinstance(region, h5py.Dataset) and region.ndim == 1 and region.dtype.kind in "iu":
        ref = _attr(region, "table")
        try:
            etable = f.h[ref] if ref is not None else None
        except (KeyError, ValueError):
            etable = None
        values = f.read(region).astype(np.int64)
        index = group.get("electrodes_index")
        if isinstance(index, h5py.Dataset):
            r_ends = _ragged_ends(f, index, len(values))
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
    :func:`read_spikes`. Inside a ``with`` block the file stays open across calls;
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

    def __init__(self, path, *, units_table: str | None = None, allow_unsorted: bool = False,
                 chunk_size: int = DEFAULT_CHUNK_SPIKES):
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentError(f"path has type {type(path).__name__}; expected a str or pathlib.Path")
        self._path = Path(path)
        self._chunk_size = _check_chunk_size(chunk_size)
        self._allow_unsorted = bool(allow_unsorted)
        self._handle = None
        self._range = None
        with self._reader() as f:
            group = _find_units_group(f, units_table)
            self._table_path = group.name
            times = group["spike_times"]
            if not isinstance(times, _h5py().Dataset) or times.ndim != 1 or times.dtype.kind not in "fiu":
                raise f.fail(f"{group.name}/spike_times", f"has dtype {getattr(times, 'dtype', None)}; "
                             f"expected a 1-D array of spike times in seconds")
            self._n_values = int(times.shape[0])
            if "spike_times_index" not in group:
                raise f.fail(f"{group.name}/spike_times_index", "not found; expected the ragged index of spike_times")
            ends = _ragged_ends(f, group["spike_times_index"], self._n_values)
            table = _read_table(f, group, skip=("spike_times", "electrodes"), ragged=False)
            if len(table) != len(ends):
                raise f.fail(
                    f"{group.name}/spike_times_index",
                    f"has {len(ends)} entries but the table has {len(table)} unit ids; expected one per unit",
                )
            table = _join_electrodes(f, group, table, ends)
            table = table.rename(columns={"id": "unit_id"})
            if table["unit_id"].duplicated().any():
                dup = table["unit_id"][table["unit_id"].duplicated()].unique()
                raise f.fail(f"{group.name}/id", f"has duplicated unit ids {describe_values(dup)}; expected unique ids")
            self._meta = _session_meta(f)
        self._ends = ends
        self._starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
        self._all_units = table.reset_index(drop=True)
        self._selected = np.arange(len(ends), dtype=np.int64)

    # ------------------------------------------------------------------ files
    @contextlib.contextmanager
    def _reader(self) -> Iterator[_Reader]:
        if self._handle is not None:
            with _file_errors(self._path):
                yield _Reader(self._handle, self._path)
            return
        handle = _open(self._path)
        try:
            with _file_errors(self._path):
                yield _Reader(handle, self._path)
        finally:
            handle.close()

    def __enter__(self) -> "SpikeTrains":
        if self._handle is None:
            self._handle = _open(self._path)
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

    def _copy(self, selected: np.ndarray) -> "SpikeTrains":
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
            for times, _, _ in self._chunks():
                if times.size:
                    lo, hi = min(lo, float(times.min())), max(hi, float(times.max()))
            self._range = (lo, hi) if lo <= hi else (np.nan, np.nan)
        return self._range

    def select(self, units=None) -> "SpikeTrains":
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
            self._validate(out, np.array([col]), np.array([out.size]), None)
        return out

    # ------------------------------------------------------------------ intervals
    @property
    def interval_names(self) -> list[str]:
        """Names of the interval tables in the file (``intervals/<name>``)."""
        with self._reader() as f:
            return list(_interval_groups(f))

    def intervals(self, name: str | None = None) -> pd.DataFrame:
        """An interval table of the file as a DataFrame (``id``, ``start_time``, ``stop_time`` ...).

        Parameters
        ----------
        name : str, optional
            The table's name (``"trials"``, ``"encoding_table"``, ``"epochs"`` ...) or part
            of it. ``"stimulus"`` finds the stimulus-presentation tables (names containing
            "stim" or "presentation"); several (as in Allen Neuropixels files) are
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
            groups = _interval_groups(f)
            names = _resolve_intervals(f, groups, name)
            frames = [_read_table(f, groups[n]) for n in names]
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

    def _chunks(self, chunk_size: int | None = None, progress=None):
        """Yield ``(times, cols, lengths)`` for chunks of the selected units' spikes.

        ``times`` are the spikes of the chunk, unit after unit, as run lengths:
        ``lengths[i]`` spikes of the unit at position ``cols[i]`` of the selection
        (``cols`` increasing). Spike times are validated: finite, and sorted within each
        unit unless ``allow_unsorted``.
        """
        chunk = self._chunk_size if chunk_size is None else _check_chunk_size(chunk_size)
        lut = np.full(len(self._ends), -1, dtype=np.int64)
        lut[self._selected] = np.arange(len(self._selected))
        r_starts, r_ends = self._read_ranges(gap=chunk // 8)
        bounds = [(int(c), int(min(c + chunk, e))) for s, e in zip(r_starts, r_ends) for c in range(s, e, chunk)]
        show = (len(bounds) > _PROGRESS_MIN_CHUNKS) if progress is None else bool(progress)
        if show:
            from tqdm.auto import tqdm

            bounds = tqdm(bounds, desc=f"reading spikes of {self._path.name}", unit="chunk")
        previous = None  # (time, selected column) of the last spike of the previous chunk
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
                self._validate(times, cols, lengths, previous)
                previous = (float(times[-1]), int(cols[-1]))
                yield times, cols, lengths

    def _unit_id(self, col) -> object:
        return _py(self._all_units["unit_id"].iloc[int(self._selected[int(col)])])

    def _validate(self, times, cols, lengths, previous):
        """Finite times; sorted within each unit (unless allowed), across chunk borders too."""
        field = f"{self._table_path}/spike_times"
        lo, hi = times.min(), times.max()  # NaN propagates: no boolean copy in the common case
        if not (np.isfinite(lo) and np.isfinite(hi)):
            bad = ~np.isfinite(times)
            at = int(np.flatnonzero(bad)[0])
            col = cols[np.searchsorted(np.cumsum(lengths), at, side="right")]
            what = "NaN" if np.isnan(times[at]) else "infinite"
            raise DataFormatError(
                f"{self._path}: field '{field}' has {int(bad.sum())} non-finite spike times in a chunk "
                f"(first: {what} for unit id {self._unit_id(col)!r}); expected finite times in seconds"
            )
        if self._allow_unsorted:
            return
        back = times[1:] < times[:-1]
        back[np.cumsum(lengths)[:-1] - 1] = False  # a new unit may start earlier
        bad_first = previous is not None and previous[1] == cols[0] and previous[0] > times[0]
        if bad_first or back.any():
            at = 0 if bad_first else int(np.flatnonzero(back)[0]) + 1
            before = previous[0] if bad_first else float(times[at - 1])
            col = cols[np.searchsorted(np.cumsum(lengths), at, side="right")]
            raise DataFormatError(
                f"{self._path}: field '{field}' is not sorted within unit id {self._unit_id(col)!r} (a "
                f"spike at {float(times[at])!r} s follows one at {before!r} s); NWB expects each unit's "
                f"spike times in ascending order. Counts do not depend on the order: pass "
                f"read_spikes(..., allow_unsorted=True) to accept the file as it is"
            )

    def __repr__(self) -> str:
        cols = [c for c in self._all_units.columns if c != "unit_id"]
        return (
            f"SpikeTrains({str(self._path)!r}): {self.n_units} of {len(self._ends)} units, "
            f"{self.n_spikes} spikes (lazy; table {self._table_path!r}, unit columns {cols})"
        )


def _py(value):
    return value.item() if isinstance(value, np.generic) else value


def _check_chunk_size(chunk_size) -> int:
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or chunk_size < 1:
        raise ArgumentError(f"chunk_size={chunk_size!r}; expected a positive integer number of spikes")
    return int(chunk_size)


def _session_meta(f: _Reader) -> dict:
    meta = {"source": "nwb"}
    for key in ("identifier", "session_description", "session_start_time"):
        ds = f.h.get(key)
        if ds is not None and hasattr(ds, "shape") and ds.shape == ():
            try:
                meta[key] = str(_decode(np.atleast_1d(f.read(ds, ())))[0])
            except (OSError, ValueError):  # pragma: no cover - metadata is optional
                pass
    version = _attr(f.h, "nwb_version")
    if version is not None:
        meta["nwb_version"] = str(_decode(np.atleast_1d(version))[0])
    return meta


def _interval_groups(f: _Reader) -> dict:
    h5py = _h5py()
    out = {}
    intervals = f.h.get("intervals")
    if isinstance(intervals, h5py.Group):
        for name, group in intervals.items():
            if isinstance(group, h5py.Group) and "start_time" in group:
                out[name] = group
    return out


def _resolve_intervals(f: _Reader, groups: dict, name) -> list[str]:
    available = list(groups)
    if name is not None and not isinstance(name, str):
        raise ArgumentError(f"intervals name has type {type(name).__name__}; expected a table name (str)")
    stimulus_like = [n for n in available if "stim" in n.lower() or "presentation" in n.lower()]
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
def read_spikes(path, units=None, *, units_table: str | None = None, allow_unsorted: bool = False,
                chunk_size: int = DEFAULT_CHUNK_SPIKES) -> SpikeTrains:
    """Open the spike trains of an NWB file lazily.

    Reads the units table (ids, scalar columns such as ``quality``, ``depth``,
    ``location``; each unit's electrode with its location and electrode group) and the
    spike index; spike times are read later, in chunks, by :func:`bin_spikes`,
    :func:`count_spikes` and :func:`psth`. The file is opened read-only.

    Parameters
    ----------
    path : str or Path
        An NWB 2.x file (any schema version; read with h5py).
    units : str, dict, mask, positions or callable, optional
        Keep only these units (see :meth:`SpikeTrains.select`), e.g. ``"quality == 'good'"``.
    units_table : str, optional
        HDF5 path of the Units table. Default ``/units``, else the first Units table found
        in a processing module.
    allow_unsorted : bool, default False
        Accept spike times that are not ascending within a unit (counts do not depend on
        the order). By default they raise :class:`DataFormatError`.
    chunk_size : int, default 1,048,576
        Spikes read at once; bounds the working memory of every pass over the file.

    Returns
    -------
    SpikeTrains

    Raises
    ------
    DataFormatError
        Not an HDF5 file (truncated, corrupt), no Units table (the message lists the
        top-level groups), a spike index that is not monotone or points beyond the data.
        NaN or unsorted spike times are reported when spikes are read.

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
    return SpikeTrains(path, units_table=units_table, allow_unsorted=allow_unsorted,
                       chunk_size=chunk_size).select(units)


def _as_spikes(path_or_spikes, units) -> SpikeTrains:
    if isinstance(path_or_spikes, SpikeTrains):
        return path_or_spikes.select(units)
    if isinstance(path_or_spikes, (str, os.PathLike)):
        return read_spikes(path_or_spikes, units)
    raise ArgumentError(
        f"path_or_spikes has type {type(path_or_spikes).__name__}; expected the path of an NWB file "
        f"or a SpikeTrains from read_spikes()"
    )


def _check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ArgumentError(f"{name}={value!r}; expected a positive number of seconds")
    return float(value)


def _check_time(value, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ArgumentError(f"{name}={value!r}; expected a finite time in seconds or None")
    return float(value)


def _n_bins(span: float, bin_size: float) -> int:
    """Bins of ``bin_size`` covering ``span`` (a span within 1e-9 bins of a whole number is not rounded up)."""
    return max(1, int(np.ceil(span / bin_size - 1e-9)))


def _memory_bytes() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows
        return None


def _check_bin_memory(spikes: SpikeTrains, n_bins: int, dtype, bin_size: float, start: float, stop: float):
    """Refuse a bins x units result larger than the machine's memory (e.g. from one corrupt spike time)."""
    need = (spikes.n_units * n_bins * np.dtype(dtype).itemsize) + 8 * (n_bins + 1)
    have = _memory_bytes()
    if have is not None and need <= have:
        return
    if have is None and n_bins < 2**40:
        return
    span = spikes._range if spikes._range is not None else (start, stop)
    raise ArgumentError(
        f"{spikes.path}: {spikes.n_units} units x {n_bins} bins of {bin_size} s from {start} s to {stop} s "
        f"would need {need / 2**30:.3g} GiB"
        + (f", more than the {have / 2**30:.3g} GiB of memory of this machine" if have is not None else "")
        + f"; the selected units' spikes span {span[0]} s to {span[1]} s. Expected a time range that fits in "
        f"memory: pass start and stop, a larger bin_size, or check the file's spike times"
    )


def _counts_in_bins(spikes: SpikeTrains, edges: np.ndarray, dtype, chunk_size=None, progress=None) -> np.ndarray:
    """(n_units, n_bins) spike counts in the uniform bins ``edges`` (half-open).

    Each spike's bin is exactly what ``np.searchsorted(edges, t, "right") - 1`` gives:
    a floor division biased down by more than its rounding error, then one comparison
    with the next edge. Counts accumulate with one ``np.bincount`` per chunk over the
    (unit, bin) cells of the units in the chunk.
    """
    n_bins = len(edges) - 1
    out = np.zeros((spikes.n_units, n_bins), dtype=dtype)
    flat = out.reshape(-1)
    first, last = float(edges[0]), float(edges[-1])
    width = (last - first) / n_bins
    eps = np.finfo(np.float64).eps
    # rounding error of t / width - first / width and of the edges themselves, in bins, times 32
    bias = 32 * eps * (max(abs(first), abs(last)) / width + n_bins)
    inv_width = 1.0 / width
    shift = first * inv_width + bias  # x = t / width - first / width - bias: two passes, not three
    upper = edges[1:]
    for times, cols, lengths in spikes._chunks(chunk_size, progress):
        if times.min() < first or times.max() >= last:
            inside = (times >= first) & (times < last)
            if not inside.all():
                cut = np.concatenate([[0], np.cumsum(inside)])[np.concatenate([[0], np.cumsum(lengths)])]
                lengths = np.diff(cut)
                times = times[inside]
                if times.size == 0:
                    continue
                cols, lengths = cols[lengths > 0], lengths[lengths > 0]
        if bias < 0.25:
            x = np.multiply(times, inv_width)
            x -= shift
            b = x.astype(np.int64)  # truncation: floor for x >= 0, 0 for -1 < x < 0
            del x
            b += times >= upper[b]  # b was the bin or the one before it
        else:  # pragma: no cover - bins at the resolution of float64 itself
            b = np.searchsorted(edges, times, side="right") - 1
        lo, hi = int(cols[0]) * n_bins, (int(cols[-1]) + 1) * n_bins
        b += np.repeat(cols * n_bins - lo, lengths)
        flat[lo:hi] += np.bincount(b, minlength=hi - lo)
    return out


def _cumulative_counts(spikes: SpikeTrains, edges: np.ndarray, chunk_size=None, progress=None) -> np.ndarray:
    """C[u, j] = number of spikes of unit u before ``edges[j]`` (``edges`` sorted, unique)."""
    m = len(edges) + 1
    counts = np.zeros((spikes.n_units, m), dtype=np.int64)
    flat = counts.reshape(-1)
    for times, cols, lengths in spikes._chunks(chunk_size, progress):
        rank = np.searchsorted(edges, times, side="right")  # number of edges <= t
        lo, hi = int(cols[0]) * m, (int(cols[-1]) + 1) * m
        rank += np.repeat(cols * m - lo, lengths)
        flat[lo:hi] += np.bincount(rank, minlength=hi - lo)
    np.cumsum(counts, axis=1, out=counts)  # counts[u, j] = #spikes with rank <= j = #spikes < edges[j]
    return counts


def bin_spikes(path_or_spikes, bin_size, start=None, stop=None, units=None, *, dtype=np.float64,
               chunk_size=None, progress=None) -> Recording:
    """Spike counts in time bins: a Recording of time bins x units.

    Parameters
    ----------
    path_or_spikes : str, Path or SpikeTrains
        An NWB file or the result of :func:`read_spikes`.
    bin_size : float
        Bin width (s), e.g. 0.01.
    start, stop : float, optional
        First bin edge and end of the last bin (s). ``start`` defaults to the last multiple
        of ``bin_size`` at or before the first spike; ``stop`` to just past the last spike.
        ``stop - start`` is rounded up to a whole number of bins.
    units : str, dict, mask, positions or callable, optional
        Keep only these units (see :meth:`SpikeTrains.select`).
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
    spikes = _as_spikes(path_or_spikes, units)
    bin_size = _check_positive(bin_size, "bin_size")
    start, stop = _check_time(start, "start"), _check_time(stop, "stop")
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
            start = float(np.floor(lo / bin_size) * bin_size)
            if start > lo:  # floating-point safety
                start -= bin_size
        if stop is None:
            n_bins = int(np.floor((hi - start) / bin_size)) + 1
            while start + n_bins * bin_size <= hi:
                n_bins += 1
            stop = start + n_bins * bin_size
    if stop <= start:
        raise ArgumentError(f"start={start!r} and stop={stop!r}: expected start < stop")
    n_bins = _n_bins(stop - start, bin_size)
    _check_bin_memory(spikes, n_bins, dtype, bin_size, start, stop)
    edges = start + np.arange(n_bins + 1) * bin_size
    counts = _counts_in_bins(spikes, edges, dtype, chunk_size, progress)
    meta = dict(spikes.meta, name=spikes.path.stem, bin_size=bin_size, start=float(edges[0]),
                stop=float(edges[-1]), units_of_measure="spike count")
    samples = pd.DataFrame({"time": edges[:-1], "bin_stop": edges[1:]})
    return Recording(counts.T, samples, spikes.units, meta, copy=False)


def _events_table(spikes: SpikeTrains, intervals) -> tuple[pd.DataFrame, str]:
    """The interval table (and a name for it) from a name, DataFrame, dict or onset times."""
    if isinstance(intervals, str) or intervals is None:
        table = spikes.intervals(intervals)
        return table, str(intervals)
    if isinstance(intervals, pd.DataFrame):
        table = intervals.reset_index(drop=True).copy()
    elif isinstance(intervals, Mapping):
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


def _check_window(window, allow_interval: bool):
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
        An interval table of the file by name (see :meth:`SpikeTrains.intervals`:
        ``"stimulus"``, ``"trials"`` ...), a table with ``start_time`` (and ``stop_time``),
        or an array of onset times (s).
    window : (float, float) or "interval", default (0.0, 0.25)
        ``[start_time + window[0], start_time + window[1])`` for each row; ``"interval"``
        counts in ``[start_time, stop_time)``.
    rate : bool, default False
        Divide by the window length: spikes per second (Hz).
    units : optional
        Keep only these units (see :meth:`SpikeTrains.select`).

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
    spikes = _as_spikes(path_or_spikes, units)
    window = _check_window(window, allow_interval=True)
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
        a, b = onset + window[0], onset + window[1]
        length = np.full(len(a), window[1] - window[0])
    counts = _window_counts(spikes, a, b, chunk_size, progress)
    data = counts.T.astype(np.float64)
    if rate:
        with np.errstate(divide="ignore", invalid="ignore"):
            data /= length[:, None]
    meta = dict(spikes.meta, name=spikes.path.stem, intervals=label,
                window=window if isinstance(window, str) else tuple(window),
                units_of_measure="spikes/s" if rate else "spike count")
    return Recording(data, table, spikes.units, meta, copy=False, allow_nan=bool(rate and (length == 0).any()))


def _window_counts(spikes, a, b, chunk_size=None, progress=None) -> np.ndarray:
    """(n_units, n_windows) number of spikes in ``[a[k], b[k])``."""
    edges = np.unique(np.concatenate([a, b]))
    cum = _cumulative_counts(spikes, edges, chunk_size, progress)
    ja = np.searchsorted(edges, a, side="left")
    jb = np.searchsorted(edges, b, side="left")
    return cum[:, jb] - cum[:, ja]


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
        Average trials sharing these interval columns (e.g. ``"stimulus"``).
    units : optional
        Keep only these units (see :meth:`SpikeTrains.select`).
    rate : bool, default False
        Divide by ``bin_size``: spikes per second (Hz).

    Returns
    -------
    Recording
        Without ``by``: one sample per (trial, bin), trial-major, with ``trial`` (row of
        the interval table), ``time`` (bin start relative to the onset, s), ``bin_stop``
        and the interval columns. With ``by``: one sample per (group, bin), the mean over
        the group's trials, with the ``by`` columns, ``time`` and ``n_averaged``.

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
    spikes = _as_spikes(path_or_spikes, units)
    w0, w1 = _check_window(window, allow_interval=False)
    bin_size = _check_positive(bin_size, "bin_size")
    table, label = _events_table(spikes, intervals)
    cols = None if by is None else ([by] if isinstance(by, str) else list(by))
    if cols is not None and [c for c in cols if c not in table.columns]:
        missing = [c for c in cols if c not in table.columns]
        raise ArgumentError(f"by={by!r}: no column {missing} in the intervals; columns are {list(table.columns)}")
    where = f"intervals/{label}" if label != "table" else "intervals"
    onset = _column(table, "start_time", where, spikes.path)
    n_bins = _n_bins(w1 - w0, bin_size)
    offsets = w0 + np.arange(n_bins + 1) * bin_size
    bin_edges = onset[:, None] + offsets[None, :]  # (n_trials, n_bins + 1)
    edges = np.unique(bin_edges)
    cum = _cumulative_counts(spikes, edges, chunk_size, progress)
    j = np.searchsorted(edges, bin_edges, side="left")
    counts = cum[:, j[:, 1:]] - cum[:, j[:, :-1]]  # (n_units, n_trials, n_bins)
    del cum
    n_trials = len(onset)
    data = counts.reshape(spikes.n_units, n_trials * n_bins).T.astype(np.float64)
    del counts
    if rate:
        data /= bin_size
    samples = table.loc[np.repeat(np.arange(n_trials), n_bins)].reset_index(drop=True)
    samples.insert(0, "bin_stop", np.tile(offsets[1:], n_trials))
    samples.insert(0, "time", np.tile(offsets[:-1], n_trials))
    samples.insert(0, "trial", np.repeat(np.arange(n_trials), n_bins))
    meta = dict(spikes.meta, name=spikes.path.stem, intervals=label, window=(w0, w1), bin_size=bin_size,
                units_of_measure="spikes/s" if rate else "spike count")
    rec = Recording(data, samples, spikes.units, meta, copy=False)
    if cols is not None:
        rec = rec.average(by=[*cols, "time"])
    return rec
