"""``neurotk.load``: open a file with the loader its format calls for.

Every source becomes one kind of thing: a :class:`~neurotk.Recording`, or a dict of name ->
Recording where a file holds several (the areas of an Allen session, the layers of an
activations file, the interval tables of an NWB session), and an :class:`~neurotk.rsa.RDM`
stack for an RDM file. The lazy spike trains of an NWB file stay available through
:func:`neurotk.io.read_spikes`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ArgumentError, DataFormatError

__all__ = ["detect_format", "load"]

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


def _nwb_kind(p: Path) -> str:
    import h5py

    from ._hdf5 import CORRUPT_FILE_ERRORS
    from .allen import STIMULUS_NAMES
    from .ophys import ophys_series

    try:
        with h5py.File(p, "r") as f:
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
    series = ophys_series(p) if has_processing and not has_units else []
    if series:  # Allen's NWB 2 conversion: dF/F series and Visual Coding stimulus tables
        return "allen" if allen_stimuli and any("/DfOverF/" in name for name in series) else "ophys"
    return "nwb"


def detect_format(path) -> str:
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

    NWB files are told apart by their content, opened read-only.

    Examples
    --------
    >>> detect_format("sub-01_task-faces_bold.nii.gz"), detect_format("mean.nii")
    ('bids', 'nifti')
    """
    p = Path(path)
    name = p.name.lower()
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
        return _nwb_kind(p)
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
                  f"window=(start, stop) to choose", NeurotkWarning, stacklevel=4)
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

    Keyword arguments go to the loader. For NWB spikes files, ``intervals=`` names the
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
    kind = detect_format(path)
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
