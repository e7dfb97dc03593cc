"""``neurotk.load``: open a file with the loader its format calls for.

Every source becomes one kind of thing: a :class:`~neurotk.Recording`, or a dict of name ->
Recording where a file holds several (the areas of an Allen session, the layers of an
activations file, the interval tables of an NWB session), and an :class:`~neurotk.rsa.RDM`
stack for an RDM file. The lazy spike trains of an NWB file stay available through
:func:`neurotk.io.read_spikes`.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._console import caller_stacklevel
from ..errors import ArgumentError, DataFormatError
from ._files import check_input_path

__all__ = ["detect_format", "load"]  # open_untrusted: public as neurotk.io.open_untrusted

_NIFTI = (".nii", ".nii.gz", ".img", ".hdr")
_HDF5 = (".nwb", ".h5", ".hdf5")
#: Files of a suite2p plane folder: a path to any of them reads the folder.
_SUITE2P_FILES = ("F.npy", "Fneu.npy", "spks.npy", "iscell.npy", "ops.npy", "stat.npy")
#: Bin width (s) of the counts of an NWB spikes file without interval tables.
_DEFAULT_BIN_SIZE = 1.0


def _is_suite2p_folder(p: Path) -> bool:
    return (p / "F.npy").is_file() or any(q.is_dir() and (q / "F.npy").is_file()
                                          for q in [*p.glob("plane*"), *p.glob("suite2p/plane*")])


def _bold_files(p: Path) -> list[Path]:
    """The BIDS bold runs in a folder (a dataset, a subject's or a func folder)."""
    from .bids import bids_runs

    try:
        return list(bids_runs(p, use_pybids=False)["path"])
    except DataFormatError:
        return []


def _nwb_kind(p: Path, allow_external_links: bool = False) -> str:
    import h5py

    from ._hdf5 import CORRUPT_FILE_ERRORS, open_hdf5
    from .allen import STIMULUS_NAMES
    from .ophys import ophys_series

    try:
        with open_hdf5(p, allow_external_links=allow_external_links) as f:
            if "processing/brain_observatory_pipeline" in f:
                return "allen"
            intervals = f.get("intervals")
            units = f.get("units")
            if (isinstance(units, h5py.Group) and "peak_channel_id" in units and intervals is not None
                    and any(k.endswith("_presentations") for k in intervals)):
                return "allen"
            presentation = f.get("stimulus/presentation")
            allen_stimuli = isinstance(presentation, h5py.Group) and any(
                k.startswith(STIMULUS_NAMES) for k in presentation)
            has_units = isinstance(units, h5py.Group)
            has_processing = isinstance(f.get("processing"), h5py.Group)
    except CORRUPT_FILE_ERRORS as exc:  # h5py: OSError, RuntimeError, KeyError ... on corrupt files
        raise DataFormatError(
            f"{p}: not a readable HDF5/NWB file ({type(exc).__name__}: {exc}); expected an NWB (HDF5) "
            f"file. The file may be truncated or corrupt"
        ) from exc
    series = ophys_series(p, allow_external_links=allow_external_links) if has_processing and not has_units else []
    if series:  # Allen's NWB 2 conversion: dF/F series and Visual Coding stimulus tables
        return "allen" if allen_stimuli and any("/DfOverF/" in name for name in series) else "ophys"
    return "nwb"


def detect_format(path, *, allow_external_links: bool = False) -> str:
    """Name the format of ``path``.

    ========== ===================================================================
    name       what
    ========== ===================================================================
    "nwb"      NWB file with a Units table (spike times)
    "ophys"    NWB 2 file with ROI response series (two-photon) and no Units table
    "allen"    Allen Brain Observatory file: two-photon NWB 1
               (``processing/brain_observatory_pipeline``), two-photon NWB 2 (ROI
               series and Allen stimulus tables under ``stimulus/presentation``), or
               Neuropixels (units with ``peak_channel_id`` and ``*_presentations``)
    "bids"     BIDS bold run (``*_bold.nii[.gz]``), or a folder holding one or more
    "nifti"    other NIfTI/Analyze image
    "suite2p"  suite2p output folder (``F.npy`` or ``plane*/``), or a file in one
    "rdms"     MATLAB ``.mat`` file of RDMs
    "arrays"   ``.npz``/``.npy`` arrays (network activations)
    ========== ===================================================================

    NWB files are told apart by their content, opened read-only (external links refused
    unless ``allow_external_links``). A path that exists must be a regular file or a
    folder: a FIFO, socket or device is refused before anything opens it.

    Examples
    --------
    >>> detect_format("sub-01_task-faces_bold.nii.gz"), detect_format("mean.nii")
    ('bids', 'nifti')
    """
    p = Path(path)
    name = p.name.lower()
    if os.path.lexists(p):
        check_input_path(p, "a data file or folder", folder_ok=True)
    if p.is_dir():
        if _is_suite2p_folder(p):
            return "suite2p"
        if _bold_files(p):
            return "bids"
        raise DataFormatError(
            f"{p}: a folder that is neither a suite2p output folder (no F.npy, no plane*/) nor a BIDS "
            f"folder (no *_bold.nii[.gz] run named by BIDS in it or below it); expected one of those, or a file"
        )
    if name.endswith(_NIFTI):
        return "bids" if "_bold.nii" in name else "nifti"
    if name.endswith(".mat"):
        return "rdms"
    if name.endswith((".npz", ".npy")):
        if p.name in _SUITE2P_FILES and (p.parent / "F.npy").is_file():
            return "suite2p"
        return "arrays"
    if name.endswith(_HDF5):
        if not p.exists():
            raise DataFormatError(f"{p}: no such file")
        return _nwb_kind(p, allow_external_links)
    raise DataFormatError(
        f"{p}: unknown format {''.join(p.suffixes) or '(no suffix)'!r}; expected .nwb, .nii/.nii.gz (BIDS bold "
        f"or other), .mat (RDMs), .npz/.npy (activations), or a suite2p or BIDS folder"
    )


def _spike_recordings(path, intervals, window, bin_size, **kwargs):
    """An NWB spikes file as counts: per interval table, or in bins when it has none."""
    from .nwb import read_spikes
    from .spikes import bin_spikes, count_spikes

    units = kwargs.pop("units", None)
    spikes = read_spikes(path, units, **kwargs)
    if bin_size is not None:
        return bin_spikes(spikes, bin_size)

    def counts(name):
        win = window
        if isinstance(window, str) and window == "interval" and isinstance(name, str):
            win = _interval_window(spikes, name)
        return count_spikes(spikes, name, window=win)

    if intervals is not None:
        return counts(intervals)
    names = spikes.interval_names
    if not names:
        return bin_spikes(spikes, _DEFAULT_BIN_SIZE)
    if len(names) == 1:
        return counts(names[0])
    return {name: counts(name) for name in names}


def _interval_window(spikes, name):
    """``"interval"``, or a fixed window from each onset where the table has no usable stop times.

    Some files (e.g. older NWB 2 trials tables) store NaN stop times: each interval then
    counts for the median time between consecutive onsets, with a warning saying so.
    """
    import warnings

    import numpy as np

    from ..errors import NeurotkWarning

    table = spikes.intervals(name)
    stop = np.asarray(table["stop_time"], dtype=np.float64) if "stop_time" in table else None
    if stop is not None and np.isfinite(stop).all():
        return "interval"
    onsets = np.sort(np.asarray(table["start_time"], dtype=np.float64))
    gaps = np.diff(onsets[np.isfinite(onsets)])
    gaps = gaps[gaps > 0]
    length = float(np.median(gaps)) if gaps.size else 1.0
    warnings.warn(f"{spikes.path}: intervals/{name} has no finite stop_time in every row; spikes are counted "
                  f"in ({0.0}, {length:.4g}) s from each start_time (the median time between onsets). Pass "
                  f"window=(start, stop) to choose", NeurotkWarning, stacklevel=caller_stacklevel())
    return (0.0, length)


def load(path, **kwargs):
    """Open ``path`` with the loader for its format: a Recording, a dict of them, or RDMs.

    ============ ===================================== ==================================================
    format       loader                                returns
    ============ ===================================== ==================================================
    NWB spikes   :func:`~neurotk.io.count_spikes`      Recording (intervals x units) for one interval
                                                       table, dict of table -> Recording for several,
                                                       counts in 1 s bins for none
    NWB ophys    :func:`~neurotk.io.read_ophys`        Recording (frames x ROIs)
    Allen        :func:`~neurotk.io.load_allen`        dict of area -> Recording
    BIDS bold    :func:`~neurotk.io.read_bids_run`     Recording (volumes x voxels), ``meta["events"]``
    NIfTI        :func:`~neurotk.io.load_fmri`         Recording (volumes x voxels)
    suite2p      :func:`~neurotk.io.read_suite2p`      Recording (frames x cells)
    .mat         :func:`~neurotk.io.read_rdms`         RDM stack
    .npz/.npy    :func:`~neurotk.io.from_arrays`       dict of layer -> Recording
    ============ ===================================== ==================================================

    Keyword arguments go to the loader. ``allow_external_links=True`` lets the HDF5
    loaders (NWB spikes, ophys, Allen) follow external links to files in the same folder;
    they are refused by default. For NWB spikes files, ``intervals=`` names the
    table to count in (a Recording), ``window=`` the counting window (default
    ``"interval"``: each interval's own ``[start_time, stop_time)``; or ``(start, stop)``
    seconds from each onset) and ``bin_size=`` asks for binned counts instead; the lazy
    spike trains themselves come from :func:`neurotk.io.read_spikes`. A BIDS folder with
    several runs gives a dict of run name -> Recording.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, neurotk
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layers.npz"
    >>> np.savez(path, fc=np.ones((3, 4)))
    >>> neurotk.load(path)["fc"].shape
    (3, 4)
    """
    if not isinstance(path, (str, Path)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected a file path")
    kind = detect_format(path, allow_external_links=bool(kwargs.get("allow_external_links", False)))
    if kind not in ("nwb", "ophys", "allen"):
        kwargs.pop("allow_external_links", None)
    if kind == "arrays":
        from .networks import from_arrays

        return from_arrays(path, **kwargs)
    if kind == "nifti":
        from .fmri import load_fmri

        return load_fmri(path, **kwargs)
    if kind == "bids":
        return _load_bids(Path(path), **kwargs)
    if kind == "allen":
        from .allen import load_allen

        return load_allen(path, **kwargs)
    if kind == "ophys":
        from .ophys import read_ophys

        return read_ophys(path, **kwargs)
    if kind == "suite2p":
        from .suite2p import read_suite2p

        p = Path(path)
        return read_suite2p(p if p.is_dir() else p.parent, **kwargs)
    if kind == "rdms":
        from .rdmfiles import read_rdms

        return read_rdms(path, **kwargs)
    intervals = kwargs.pop("intervals", None)
    window = kwargs.pop("window", "interval")
    bin_size = kwargs.pop("bin_size", None)
    return _spike_recordings(path, intervals, window, bin_size, **kwargs)


def _load_bids(p: Path, **kwargs):
    from .bids import read_bids_run

    def one(bold):
        rec, events = read_bids_run(bold, **kwargs)
        return rec.replace(meta={**rec.meta, "events": events})

    if not p.is_dir():
        return one(p)
    runs = _bold_files(p)
    if len(runs) == 1:
        return one(runs[0])
    return {bold.name.split("_bold.nii")[0]: one(bold) for bold in runs}


# --------------------------------------------------------------------------- guarded reads
def _untrusted_child(conn, loader, path, kwargs):  # pragma: no cover - runs in the child process
    conn.send(("ready", None))
    try:
        if isinstance(loader, str):
            import neurotk.io

            fn = load if loader == "load" else getattr(neurotk.io, loader)
        else:
            fn = loader
        result = fn(path, **kwargs)
        conn.send(("ok", result))
    except BaseException as exc:  # noqa: BLE001 - the child reports every failure to the parent
        import pickle

        try:
            pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot travel is sent as text
            exc = DataFormatError(f"{path}: {type(exc).__name__}: {exc}")
        conn.send(("error", exc))
    finally:
        conn.close()


def open_untrusted(path, timeout: float = 60.0, *, loader="load", **kwargs):
    """Read a file of unknown origin in a separate process, giving up after ``timeout`` seconds.

    Use it for files you did not make (downloads, e-mail attachments, files from shared
    drives) when a hang or a crash of the reader would cost more than the start-up of a
    process (about a second). neurotk's own checks refuse what it knows to make readers
    hang (FIFOs and devices, external links, the corrupt string heaps that make HDF5 loop
    forever), but a corrupt compact dataset or attribute can still make the HDF5 C
    library loop where no Python code, signal or timeout reaches it. Here the reading
    runs in a fresh child process (``multiprocessing``, "spawn" start method); if it does
    not finish within ``timeout`` seconds the child is killed and a
    :class:`~neurotk.DataFormatError` is raised, and a child that crashes (a segfault in
    a C library) becomes one too. Errors the loader raises (e.g. a
    :class:`~neurotk.DataFormatError` naming a bad field) are raised again here, unchanged.

    The result travels back pickled by the child's neurotk code (the file's bytes are never
    unpickled). It must fit in memory twice for a moment, and lazy results (the
    :class:`~neurotk.io.SpikeTrains` of :func:`~neurotk.io.read_spikes`) reopen the file in
    this process when read, unguarded: for them, guard the reads that follow (e.g. pass
    :func:`~neurotk.io.count_spikes` as ``loader`` through a function of your own). Memory
    is not limited here; set ``resource.setrlimit(RLIMIT_AS)`` in your own process if needed.

    Parameters
    ----------
    path : str or Path
        The file (or folder) to read.
    timeout : float, default 60
        Seconds the reading may take, from the moment the child process is ready (its start-up,
        about a second, is not counted).
    loader : str or callable, default "load"
        ``"load"`` (:func:`neurotk.load`), the name of a loader of :mod:`neurotk.io`
        (``"read_spikes"``, ``"load_fmri"`` ...), or a function ``f(path, **kwargs)``
        importable by name (defined in a module, not in ``__main__`` or a notebook cell).
    **kwargs
        Passed to the loader.

    Returns
    -------
    What the loader returns.

    Raises
    ------
    DataFormatError
        The reading took longer than ``timeout`` or the child process died; or the loader's own
        error.
    ArgumentError
        A bad ``timeout`` or ``loader``.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from neurotk.io import open_untrusted
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layers.npz"
    >>> np.savez(path, fc=np.ones((3, 4)))
    >>> open_untrusted(path, timeout=30)["fc"].shape
    (3, 4)
    """
    import multiprocessing

    from .._validation import check_float

    timeout = check_float(timeout, "timeout", low=0.0, low_open=True, unit="s")
    if isinstance(loader, str):
        import neurotk.io

        if loader != "load" and loader not in neurotk.io.__all__:
            raise ArgumentError(f"loader={loader!r}; expected 'load', a loader of neurotk.io "
                                f"({', '.join(neurotk.io.__all__)}) or a function")
    elif not callable(loader):
        raise ArgumentError(f"loader has type {type(loader).__name__}; expected a loader's name or a function")
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected a file path")
    path = os.fspath(path)
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks or h5py state
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_untrusted_child, args=(send, loader, path, kwargs), daemon=True,
                        name="neurotk-open-untrusted")
    child.start()
    send.close()
    try:
        # start-up (imports) gets its own generous bound; the file is touched only after "ready"
        if receive.poll(max(60.0, timeout)):
            receive.recv()
            if receive.poll(timeout):
                status, payload = receive.recv()
                if status == "ok":
                    return payload
                raise payload
        else:  # pragma: no cover - a child that cannot even start
            raise DataFormatError(f"{path}: the reader process did not start; expected it within 60 s")
        raise DataFormatError(
            f"{path}: reading did not finish within timeout={timeout:g} s, so the reader process was stopped; "
            f"expected a file that reads in that time. The file may be corrupt in a way that makes its "
            f"reader (e.g. the HDF5 library) loop forever; or pass a larger timeout for a large file"
        )
    except EOFError:
        child.join(5)
        raise DataFormatError(
            f"{path}: the reader process died (exit code {child.exitcode}) while reading it; expected a file "
            f"its reader can parse. The file is probably corrupt"
        ) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        receive.close()
