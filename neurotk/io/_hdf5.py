"""The safe HDF5 reader that every HDF5-based loader (NWB spikes, Allen files) shares.

Files are opened read-only with h5py (:func:`open_hdf5`) and every read goes through a
:class:`Reader`, which names the file and the field in each error and refuses what HDF5
would misread on a corrupt file before reading it:

- variable-length *sequence* types (no NWB field or attribute has one; a string type
  garbled into one makes HDF5 read the string heap as sequences and crash);
- variable-length strings whose global heap collection is corrupt in the one way that
  makes HDF5 loop forever in C (a free-space object of size 0);
- selections larger than the machine's memory (a garbled shape);
- values kept in other files (external raw storage, virtual datasets).

:func:`open_hdf5` opens only regular files (a FIFO named ``*.nwb`` would block forever)
and refuses HDF5 external links unless allowed, and then only to files in the file's own
folder (:func:`check_external_links`). Loaders re-open groups by the path they looked up
in the file, never by ``group.name``, which through a link is the path in the other file.

:func:`file_errors` turns the errors h5py raises on truncated or corrupt files
(:data:`CORRUPT_FILE_ERRORS`) into a :class:`~neurotk.DataFormatError` naming the file;
:func:`read_table` reads an hdmf ``DynamicTable`` (the tables of NWB 2 files) into a
DataFrame and :func:`ragged_ends` checks the index of a ragged column.

The module is private to :mod:`neurotk.io`: its public names are for the loaders, not
for users.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataFormatError, NeurotkError
from ._files import check_input_path
from ._memory import available_memory

__all__ = [
    "CORRUPT_FILE_ERRORS",
    "Reader",
    "attr",
    "check_external_links",
    "decode",
    "external_links",
    "file_errors",
    "memory_bytes",
    "open_hdf5",
    "ragged_ends",
    "read_table",
]

#: What h5py (and numpy on the values h5py returns) raise on a truncated or corrupt file:
#: unreadable object headers or attributes (OSError, RuntimeError), broken links
#: (KeyError), garbled dtypes or shapes (ValueError, TypeError, IndexError).
CORRUPT_FILE_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError)


# --------------------------------------------------------------------------- values
def decode(values) -> np.ndarray:
    """Bytes (or arrays of bytes) -> str; everything else unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> decode(np.array([b"VISp", b"CA1"])).tolist(), decode(np.arange(2)).tolist()
    (['VISp', 'CA1'], [0, 1])
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8", errors="replace").astype(object)
    if arr.dtype.kind == "O":
        return np.array(
            [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in arr.ravel()],
            dtype=object,
        ).reshape(arr.shape)
    return arr


def memory_bytes() -> int | None:
    """Physical memory of this machine in bytes (None where the OS does not say).

    Examples
    --------
    >>> size = memory_bytes()
    >>> size is None or size > 0
    True
    """
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows
        return None


def _is_vlen_sequence_dtype(dtype) -> bool:
    """A variable-length sequence (not string) type, which no NWB field or attribute has."""
    try:
        return dtype.kind == "O" and h5py.check_vlen_dtype(dtype) not in (None, str, bytes)
    except (TypeError, ValueError, AttributeError):  # pragma: no cover - unusual types
        return False


def attr(node, key: str, default=None):
    """``node.attrs.get(key, default)``, refusing the types HDF5 misreads when a file is corrupt.

    A string type garbled into a variable-length sequence makes HDF5 read the string's heap
    as sequences and crash the interpreter, so its type is checked before any value is read.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     f.attrs["nwb_version"] = "2.6.0"
    >>> with open_hdf5(path) as f:
    ...     print(attr(f, "nwb_version"), attr(f, "missing", "none"))
    2.6.0 none
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
    raw = attr(node, key)
    if raw is None:
        return []
    return [str(v) for v in decode(np.atleast_1d(raw)).ravel()]


# --------------------------------------------------------------------------- guards
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


# --------------------------------------------------------------------------- the reader
class Reader:
    """An open file plus its path, so every read error names the file and the field.

    Parameters
    ----------
    handle : h5py.File
        The open file (see :func:`open_hdf5`); the reader never closes it.
    path : pathlib.Path
        The file's path, named in every error.

    Attributes
    ----------
    h : h5py.File
    path : pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib, h5py, numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("x", data=np.arange(5.0))
    >>> with open_hdf5(path) as f:
    ...     Reader(f, path).read(f["x"], slice(1, 3)).tolist()
    [1.0, 2.0]
    """

    def __init__(self, handle, path: Path):
        self.h = handle
        self.path = path

    def fail(self, field: str, message: str) -> DataFormatError:
        """A DataFormatError ``"<path>: field '<field>' <message>"`` (to raise)."""
        return DataFormatError(f"{self.path}: field '{field}' {message}")

    def read(self, ds, sel=slice(None)) -> np.ndarray:
        """``ds[sel]``, after the checks of the module docs; any failure names the file and field.

        ``sel`` is ``slice(None)`` (everything), a row range or ``()`` (a scalar).
        """
        if _is_vlen_sequence_dtype(ds.dtype):
            # NWB stores ragged data with index datasets, never as variable-length sequences; a
            # string type garbled into one makes HDF5 read its heap wrongly, and crash
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' has a variable-length sequence type "
                f"({ds.id.get_type().get_super().dtype}); expected numbers or text. The file may be corrupt"
            )
        self._check_storage_in_file(ds)
        if ds.dtype.kind == "O" and h5py.check_string_dtype(ds.dtype) is not None:
            self._check_string_heaps(ds)
        need = _selection_bytes(ds, sel)
        have = available_memory()  # what this process may still allocate (RLIMIT_AS, cgroup included)
        if need is not None and have is not None and need > have:
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' has shape {ds.shape} of {ds.dtype}; reading it would need "
                f"{need / 2**30:.3g} GiB, more than the {have / 2**30:.3g} GiB of memory available to this "
                f"process. Expected a dataset that fits in memory; the file may be corrupt"
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

    def _check_storage_in_file(self, ds):
        """Refuse datasets whose values HDF5 would read from other files.

        External raw storage (``H5Pset_external``) and virtual datasets name other files that
        HDF5 opens on read, as external links do (any local file, or a FIFO that blocks
        forever). NWB files do not use them; they are refused whatever
        ``allow_external_links`` says.
        """
        try:
            external, virtual = ds.external, ds.is_virtual
        except (OSError, RuntimeError, ValueError, TypeError, AttributeError):  # pragma: no cover
            return
        if external:
            files = [os.fsdecode(name) for name, *_ in external]
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' keeps its values in external raw files {files}; expected values "
                f"stored in the file itself. neurotk does not read external storage, since it makes HDF5 open "
                f"files named by the file"
            )
        if virtual:
            files = sorted({os.fsdecode(source.file_name) for source in ds.virtual_sources()})
            raise DataFormatError(
                f"{self.path}: field '{ds.name}' is a virtual dataset mapping data of {files}; expected values "
                f"stored in the file itself. neurotk does not read virtual datasets, since they make HDF5 open "
                f"files named by the file"
            )

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
        if ds.ndim != 1 or ds.dtype.names is not None:
            return None
        values = self.read(ds)
        if h5py.check_dtype(ref=ds.dtype) is not None:
            return np.array([self.ref_name(r) for r in values], dtype=object)
        return decode(values)

    def ref_name(self, ref) -> str | None:
        """The name (last path part) of the object ``ref`` points to; None for a null or broken one."""
        if not ref:
            return None
        try:
            name = self.h[ref].name  # None for an object no path leads to (e.g. a corrupt link)
        except (KeyError, ValueError, OSError, RuntimeError):
            return None
        return None if name is None else name.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- files
@contextlib.contextmanager
def file_errors(path, expected: str = "a readable NWB (HDF5) file"):
    """Turn the errors h5py raises on a corrupt file into a DataFormatError naming ``path``.

    NeurotkErrors (already naming the file and field) pass through unchanged.

    Examples
    --------
    >>> with file_errors("session.nwb"):
    ...     raise KeyError("units")
    Traceback (most recent call last):
    ...
    neurotk.errors.DataFormatError: session.nwb: could not be read (KeyError: 'units'); expected a readable NWB (HDF5) file. The file may be truncated or corrupt
    """
    try:
        yield
    except NeurotkError:
        raise
    except CORRUPT_FILE_ERRORS as exc:
        raise DataFormatError(
            f"{path}: could not be read ({type(exc).__name__}: {exc}); expected {expected}. "
            f"The file may be truncated or corrupt"
        ) from exc


def external_links(handle) -> list[tuple[str, str, str]]:
    """Every external link of an open file: ``(link path, target file, target object)``.

    The file's link tree is walked with ``H5Lvisit``, which follows hard links only, so
    no external link is traversed (and no other file opened) by the walk.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     f["units"] = h5py.ExternalLink("other.nwb", "/units")
    >>> with h5py.File(path, "r") as f:
    ...     external_links(f)
    [('/units', 'other.nwb', '/units')]
    """
    found = []
    links = handle.id.links

    def visit(name, info):
        if info.type == h5py.h5l.TYPE_EXTERNAL:
            target_file, target_obj = links.get_val(name)
            found.append(("/" + name.decode("utf-8", "replace"),
                          os.fsdecode(target_file), target_obj.decode("utf-8", "replace")))

    links.visit(visit, info=True)
    return found


#: Files (device, inode, size, mtime) whose walk found no external link: a SpikeTrains opens
#: its file on every pass, and the walk costs ~15 us per link (0.3 s for 20,000 objects).
_NO_LINKS: set = set()


def _file_key(path):
    try:
        st = os.stat(path)
    except OSError:  # pragma: no cover - the file was just opened
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _link_target(path: Path, link: str, target_file: str, target_obj: str, root: Path) -> Path:
    """The file an allowed external link of ``path`` opens, checked to lie inside ``root``."""
    described = f"{path}: field '{link}' is an HDF5 external link to {target_file!r}:{target_obj}"
    target = Path(target_file)
    candidate = target if target.is_absolute() else path.parent / target  # HDF5 resolves from the file's folder
    real = Path(os.path.realpath(candidate))
    if not real.is_relative_to(root):
        raise DataFormatError(
            f"{described}, which resolves to {str(real)!r} outside the file's folder {str(root)!r}; with "
            f"allow_external_links=True, expected a link to a file inside that folder"
        )
    return check_input_path(real, f"a regular HDF5 file as the target of the external link '{link}' of {path}")


def check_external_links(handle, path: Path, allow: bool) -> None:
    """Refuse the external links of ``handle`` (``allow=False``) or check where they lead (``allow=True``).

    An external link makes HDF5 open another file by a name the file chooses, so a
    downloaded file could make neurotk read any local file, or block on a FIFO. Refused
    unless allowed; where allowed, every linked file (and the files those link to) must be
    a regular file inside the folder of ``path``, symbolic links resolved.

    Raises
    ------
    DataFormatError
        An external link (the message names the link and its target) where ``allow`` is
        False; a target outside the folder, missing or not a regular file where it is True.
    ArgumentError
        ``allow`` is True while the environment variable ``HDF5_EXT_PREFIX`` is set (HDF5
        would look for the targets there first).
    """
    key = _file_key(path)
    if key is not None and key in _NO_LINKS:
        return
    links = external_links(handle)
    if not links:
        if key is not None:
            _NO_LINKS.add(key)
        return
    if not allow:
        link, target_file, target_obj = links[0]
        more = f" (and {len(links) - 1} more)" if len(links) > 1 else ""
        raise DataFormatError(
            f"{path}: field '{link}' is an HDF5 external link to {target_file!r}:{target_obj}{more}; expected "
            f"data stored in the file itself. External links are refused by default, since they make HDF5 "
            f"open other files named by the file. Pass allow_external_links=True to follow links to files "
            f"in the same folder"
        )
    if os.environ.get("HDF5_EXT_PREFIX"):
        raise ArgumentError(
            f"allow_external_links=True while HDF5_EXT_PREFIX={os.environ['HDF5_EXT_PREFIX']!r} is set: HDF5 "
            f"would look for the targets of the links of {path} there first; expected it unset"
        )
    root = Path(os.path.realpath(path)).parent
    seen = {Path(os.path.realpath(path))}
    todo = [(path, links)]
    while todo:
        source, source_links = todo.pop()
        for link, target_file, target_obj in source_links:
            target = _link_target(source, link, target_file, target_obj, root)
            if target in seen:
                continue
            seen.add(target)
            try:
                with h5py.File(target, "r") as other:
                    todo.append((target, external_links(other)))
            except CORRUPT_FILE_ERRORS as exc:
                raise DataFormatError(
                    f"{source}: field '{link}' is an external link to {str(target)!r}, which could not be "
                    f"opened as an HDF5 file ({exc}); expected a readable HDF5 file"
                ) from exc


def _locked(exc) -> bool:
    text = str(exc).lower()
    return getattr(exc, "errno", None) == errno.EAGAIN or "errno = 11" in text or "unable to lock file" in text


def open_hdf5(path: Path, *, allow_external_links: bool = False):
    """Open ``path`` read-only as an ``h5py.File``, or raise a clear error naming it.

    ``path`` must be a regular file (:func:`~neurotk.io._files.check_input_path`: a FIFO
    or device named ``*.nwb`` would block the open forever). External links are refused
    unless ``allow_external_links`` (see :func:`check_external_links`).

    Raises
    ------
    ArgumentError
        No such file, or a folder.
    DataFormatError
        Not a regular file (FIFO, socket, device); not an HDF5 file (truncated, corrupt,
        another format); locked by another process; an external link not allowed.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> h5py.File(path, "w").close()
    >>> with open_hdf5(path) as f:
    ...     print(f.mode)
    r
    """
    path = Path(path)
    if not path.exists():
        raise ArgumentError(f"no file {str(path)!r}; expected the path of an NWB (HDF5) file")
    if path.is_dir():
        raise ArgumentError(f"{str(path)!r} is a folder; expected the path of an NWB (HDF5) file")
    check_input_path(path, "an NWB (HDF5) file")
    try:
        handle = h5py.File(path, "r")
    except CORRUPT_FILE_ERRORS as exc:
        if _locked(exc):
            raise DataFormatError(
                f"{path}: is locked by another process (HDF5 file locking: {exc}); expected a file no program "
                f"is writing. Close the writer, or set HDF5_USE_FILE_LOCKING=FALSE if the file is complete"
            ) from exc
        raise DataFormatError(
            f"{path}: could not be opened as an HDF5 file ({exc}); expected an NWB 2.x file. "
            f"The file may be truncated, corrupt or of another format"
        ) from exc
    try:
        with file_errors(path):
            check_external_links(handle, path, allow_external_links)
    except BaseException:
        handle.close()
        raise
    return handle


# --------------------------------------------------------------------------- tables
def ragged_ends(f: Reader, index_ds, n_values: int) -> np.ndarray:
    """The ragged index (an hdmf ``VectorIndex``) ``index_ds`` as int64 ends, checked against the data.

    Entry ``i`` is the end of row ``i``'s values in the flat data of ``n_values`` values.

    Raises
    ------
    DataFormatError
        Not a 1-D integer index, not monotone, or pointing beyond the data.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     _ = f.create_dataset("spike_times_index", data=[2, 2, 5])
    >>> with open_hdf5(path) as f:
    ...     ragged_ends(Reader(f, path), f["spike_times_index"], 5).tolist()
    [2, 2, 5]
    """
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


def read_table(f: Reader, group, skip=(), ragged: bool = True) -> pd.DataFrame:
    """An hdmf ``DynamicTable`` group -> DataFrame (``id``, scalar columns; ragged columns as lists).

    Columns are those named in the ``colnames`` attribute, then any other dataset of the
    group; columns in ``skip``, index datasets, columns of another length and columns
    that are not 1-D scalars are left out. Ragged columns (with a ``<name>_index``) become
    lists, or are left out with ``ragged=False``.

    Examples
    --------
    >>> import tempfile, pathlib, h5py
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.h5"
    >>> with h5py.File(path, "w") as f:
    ...     g = f.create_group("trials")
    ...     g.attrs["colnames"] = ["start_time", "tags"]
    ...     _ = g.create_dataset("id", data=[0, 1])
    ...     _ = g.create_dataset("start_time", data=[0.5, 1.5])
    ...     _ = g.create_dataset("tags", data=[b"a", b"b", b"c"])
    ...     _ = g.create_dataset("tags_index", data=[1, 3])
    >>> with open_hdf5(path) as f:
    ...     read_table(Reader(f, path), f["trials"]).to_dict("list")
    {'id': [0, 1], 'start_time': [0.5, 1.5], 'tags': [['a'], ['b', 'c']]}
    """
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
            ends = ragged_ends(f, index, len(values))
            parts = np.split(values, ends[:-1]) if n else []
            columns[name] = [list(p) for p in parts]
            continue
        if len(ds) != n:
            continue
        values = f.column(ds)
        if values is not None:
            columns[name] = values
    return pd.DataFrame(columns)
