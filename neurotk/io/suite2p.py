"""suite2p output folders -> a :class:`~neurotk.Recording` of frames x cells.

suite2p (Pachitariu et al. 2017, bioRxiv 061507; github.com/MouseLand/suite2p) writes one
folder per imaging plane, ``suite2p/plane0``, ``suite2p/plane1`` ..., each holding

- ``F.npy``, ``Fneu.npy``, ``spks.npy``: ROI fluorescence, neuropil fluorescence and
  deconvolved activity, each **ROIs x frames** (float32);
- ``iscell.npy``: ROIs x 2, the classifier's decision (0/1) and its probability;
- ``stat.npy`` and ``ops.npy``: a pickled list of per-ROI dicts (pixels, ``med`` centroid
  ...) and a pickled dict of settings (``fs``, the frame rate per plane; ``neucoeff`` ...).

:func:`read_suite2p` reads the numeric files with ``allow_pickle=False`` and turns them
into frames x cells. The two pickled files are opened only when the caller passes
``allow_pickle=True``: unpickling a file can run arbitrary code, so it is for the user's
own files.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_array, check_choice, check_float
from ..errors import (
    ArgumentError,
    DataFormatError,
    NeurotkError,
    NeurotkWarning,
    ShapeMismatchError,
)
from ..recording import Recording

__all__ = ["read_suite2p"]

_PLANE = re.compile(r"^plane(\d+)$")


def _listing(folder: Path) -> str:
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    except OSError:
        return "(unreadable)"
    shown = ", ".join(names[:12]) + (f" and {len(names) - 12} more" if len(names) > 12 else "")
    return shown or "nothing"


def _plane_folders(folder: Path) -> list[tuple[int, Path]]:
    """(plane number, folder) of every plane under ``folder``, in plane order."""
    if (folder / "F.npy").is_file():
        match = _PLANE.match(folder.name)
        return [(int(match.group(1)) if match else 0, folder)]
    for root in (folder, folder / "suite2p"):
        if not root.is_dir():
            continue
        planes = sorted((int(m.group(1)), p) for p in root.iterdir()
                        if p.is_dir() and (m := _PLANE.match(p.name)))
        if planes:
            missing = [str(p) for _, p in planes if not (p / "F.npy").is_file()]
            if missing:
                raise DataFormatError(
                    f"{missing[0]}: no F.npy in this plane folder (found {_listing(Path(missing[0]))}); "
                    f"expected every suite2p plane folder to hold F.npy (ROIs x frames)"
                )
            return planes
    raise DataFormatError(
        f"{folder}: no F.npy and no plane*/ subfolders (found {_listing(folder)}); expected a suite2p "
        f"plane folder (F.npy, Fneu.npy, spks.npy, iscell.npy ...) or a suite2p folder holding "
        f"plane0/, plane1/ ..."
    )


def _load(path: Path, allow_pickle: bool):
    """``np.load`` one file, with neurotk's errors (pickles refused unless allowed)."""
    try:
        return np.load(path, allow_pickle=allow_pickle)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataFormatError(
                f"{path}: holds Python objects (an object array), which numpy can only read by "
                f"unpickling, and unpickling a file can run arbitrary code, so neurotk does not do it by "
                f"default; expected a numeric array. If the file is your own, pass allow_pickle=True"
            ) from exc
        raise DataFormatError(f"{path}: not a readable .npy file ({exc}); expected a numpy array file") from exc
    except (OSError, EOFError) as exc:
        raise DataFormatError(
            f"{path}: not a readable .npy file ({type(exc).__name__}: {exc}); the file may be truncated or corrupt"
        ) from exc


def _traces(path: Path, allow_pickle: bool, n_rois: int | None = None, n_frames: int | None = None) -> np.ndarray:
    """A ROIs x frames array file as float64, checked against the shape of F.npy."""
    arr = check_array(_load(path, allow_pickle), str(path), ndim=2, axes=("rois", "frames"), allow_nan=True,
                      recording=False, expected="a 2-D array (n_rois, n_frames), suite2p's orientation")
    if n_rois is not None and arr.shape != (n_rois, n_frames):
        raise ShapeMismatchError(
            f"{path} has shape {arr.shape} but F.npy beside it has {(n_rois, n_frames)}; expected the same "
            f"(n_rois, n_frames)"
        )
    return arr


def _iscell(path: Path, allow_pickle: bool, n_rois: int) -> tuple[np.ndarray, np.ndarray]:
    """(decision as bool, probability) per ROI from iscell.npy: (n, 2), (n, 1) or (n,)."""
    arr = np.asarray(_load(path, allow_pickle))
    if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.shape[0] != n_rois or (
            arr.ndim == 2 and arr.shape[1] not in (1, 2)):
        raise ShapeMismatchError(
            f"{path} has shape {arr.shape} and dtype {arr.dtype}; expected numbers of shape ({n_rois}, 2) "
            f"(is-cell decision, probability), one row per ROI of F.npy"
        )
    arr = arr.astype(np.float64).reshape(n_rois, -1)
    prob = arr[:, 1] if arr.shape[1] == 2 else np.full(n_rois, np.nan)
    return arr[:, 0] > 0.5, prob


def _ops(path: Path) -> dict:
    ops = _load(path, True)
    try:
        ops = ops.item() if isinstance(ops, np.ndarray) else ops
    except ValueError:
        pass
    if not isinstance(ops, dict):
        raise DataFormatError(f"{path}: holds {type(ops).__name__}; expected suite2p's ops dict (np.save of a dict)")
    return ops


def _centroids(path: Path, n_rois: int) -> pd.DataFrame:
    stat = _load(path, True)
    stat = list(np.atleast_1d(stat))
    if len(stat) != n_rois or not all(isinstance(s, dict) and "med" in s for s in stat):
        raise DataFormatError(
            f"{path}: holds {len(stat)} entries; expected suite2p's stat, one dict with 'med' per ROI of "
            f"F.npy ({n_rois})"
        )
    # the entries are Python dicts: reading them is per ROI by nature; all arithmetic stays vectorised
    med = np.array([np.asarray(s["med"], dtype=np.float64)[:2] for s in stat])
    out = pd.DataFrame({"y": med[:, 0], "x": med[:, 1]})
    out["npix"] = np.array([s.get("npix", np.size(s.get("ypix", ()))) for s in stat], dtype=np.int64)
    return out


def read_suite2p(folder, fs: float | None = None, neuropil: float = 0.7, cells_only: bool = True,
                 signal: str = "F", allow_pickle: bool = False, unequal_frames: str = "pad") -> Recording:
    """Read a suite2p output folder as a Recording of frames x cells.

    The default signal is suite2p's neuropil-corrected fluorescence, ``F - neuropil *
    Fneu`` with suite2p's default coefficient ``neucoeff = 0.7``: what suite2p itself
    deconvolves (``suite2p/run_s2p.py``: ``dF = F.copy() - ops["neucoeff"] * Fneu``).

    Parameters
    ----------
    folder : str or Path
        A plane folder (holding ``F.npy``), or a suite2p folder holding ``plane0/``,
        ``plane1/`` ... (or the folder above it, holding ``suite2p/``). Several planes are
        concatenated ROI by ROI, plane after plane, as suite2p's own ``combined`` folder
        (``suite2p/io/save.py: combined``) does; a ``combined/`` folder beside the planes
        is not read.
    fs : float, optional
        The frame rate per plane in Hz. Without it (and without ``allow_pickle=True``
        and an ``ops.npy`` giving ``fs``) the rate is unknown: ``samples`` has the frame
        index only and ``meta["sampling_rate"]`` is None.
    neuropil : float, default 0.7
        The neuropil coefficient; 0 gives the raw ``F``. Ignored for ``signal="spks"``.
    cells_only : bool, default True
        Keep the ROIs that suite2p's classifier (or the user, in the GUI) accepted as
        cells, ``iscell[:, 0] == 1``. False keeps every ROI.
    signal : {"F", "spks"}
        ``"F"``: ``F - neuropil * Fneu``; ``"spks"``: suite2p's deconvolved activity.
    allow_pickle : bool, default False
        Also read the pickled ``ops.npy`` (frame rate, neuropil coefficient) and
        ``stat.npy`` (ROI centroids ``med`` as ``y``, ``x`` in pixels, and ``npix``).
        Unpickling can run arbitrary code: pass True only for your own files.
    unequal_frames : {"pad", "truncate"}
        When planes have different numbers of frames: ``"pad"`` (default, as suite2p's
        ``combined`` output does) pads the shorter planes with zeros at the end, with a
        :class:`~neurotk.NeurotkWarning`; ``"truncate"`` keeps the frames that every plane
        has, so no value is made up.

    Returns
    -------
    Recording
        ``data`` (n_frames, n_cells), float64. ``samples``: ``frame`` and, when the rate
        is known, ``time`` in seconds from the first frame (suite2p stores no start
        time). ``units``: ``unit_id`` (the ROI's index in the planes' concatenation,
        i.e. in suite2p's ``combined`` order), ``roi`` (index within its plane),
        ``plane``, ``is_cell``, ``cell_probability`` and ``source="brain"`` (and ``y``,
        ``x``, ``npix`` with ``allow_pickle=True``). ``meta``: ``path``, ``source``,
        ``signal``, ``neuropil``, ``sampling_rate`` (Hz or None),
        ``sampling_rate_source``, ``planes``, ``n_rois``, ``units_of_measure``.

    Raises
    ------
    DataFormatError
        No ``F.npy`` (naming the folder and what it holds), an unreadable file, or an
        object array without ``allow_pickle=True``.
    ShapeMismatchError
        ``Fneu.npy``, ``spks.npy`` or ``iscell.npy`` whose shape does not match ``F.npy``.
    ArgumentError
        No ROI is a cell with ``cells_only=True``, or bad options.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> from neurotk.io import read_suite2p
    >>> plane = pathlib.Path(tempfile.mkdtemp()) / "plane0"
    >>> plane.mkdir()
    >>> rng = np.random.default_rng(0)
    >>> for name in ("F", "Fneu", "spks"):
    ...     np.save(plane / f"{name}.npy", rng.random((3, 50), dtype=np.float32))
    >>> np.save(plane / "iscell.npy", np.array([[1, 0.9], [0, 0.2], [1, 0.8]]))
    >>> rec = read_suite2p(plane, fs=30.0)
    >>> rec.shape, rec.units["roi"].tolist(), rec.meta["sampling_rate"]
    ((50, 2), [0, 2], 30.0)
    """
    if not isinstance(folder, (str, Path)):
        raise ArgumentError(f"folder has type {type(folder).__name__}; expected a path to a suite2p folder")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFormatError(
            f"{folder}: {'not a folder' if folder.exists() else 'no such folder'}; expected a suite2p plane "
            f"folder (F.npy, Fneu.npy, iscell.npy ...) or a suite2p folder holding plane0/, plane1/ ..."
        )
    fs = check_float(fs, "fs", low=0, low_open=True, unit="frames per second (Hz)", allow_none=True)
    neuropil = check_float(neuropil, "neuropil", low=0)
    signal = check_choice(signal, "signal", ("F", "spks"))
    unequal_frames = check_choice(unequal_frames, "unequal_frames", ("pad", "truncate"))
    if not isinstance(cells_only, (bool, np.bool_)) or not isinstance(allow_pickle, (bool, np.bool_)):
        raise ArgumentError(
            f"cells_only={cells_only!r}, allow_pickle={allow_pickle!r}; expected True or False for each"
        )

    planes = _plane_folders(folder)
    traces, tables, rates, coeffs, pickled = [], [], {}, {}, []
    for plane, pdir in planes:
        f = _traces(pdir / "F.npy", allow_pickle)
        n_rois, n_frames = f.shape
        if signal == "spks":
            if not (pdir / "spks.npy").is_file():
                raise DataFormatError(f"{pdir}: no spks.npy (found {_listing(pdir)}); expected it for signal='spks'")
            x = _traces(pdir / "spks.npy", allow_pickle, n_rois, n_frames)
        elif neuropil > 0:
            if not (pdir / "Fneu.npy").is_file():
                raise DataFormatError(
                    f"{pdir}: no Fneu.npy (found {_listing(pdir)}); expected it for the neuropil correction "
                    f"F - {neuropil:g} * Fneu (pass neuropil=0 for the raw F)"
                )
            x = f - neuropil * _traces(pdir / "Fneu.npy", allow_pickle, n_rois, n_frames)
        else:
            x = f
        units = pd.DataFrame({"roi": np.arange(n_rois), "plane": plane})
        if (pdir / "iscell.npy").is_file():
            units["is_cell"], units["cell_probability"] = _iscell(pdir / "iscell.npy", allow_pickle, n_rois)
        elif cells_only:
            raise DataFormatError(
                f"{pdir}: no iscell.npy (found {_listing(pdir)}); expected suite2p's cell classification for "
                f"cells_only=True (pass cells_only=False to keep every ROI)"
            )
        else:
            units["is_cell"] = pd.array([pd.NA] * n_rois, dtype="boolean")
            units["cell_probability"] = np.nan
        if allow_pickle:
            if (pdir / "ops.npy").is_file():
                ops = _ops(pdir / "ops.npy")
                if ops.get("fs") is not None:
                    rates[plane] = float(ops["fs"])
                if ops.get("neucoeff") is not None:
                    coeffs[plane] = float(ops["neucoeff"])
            if (pdir / "stat.npy").is_file():
                units = pd.concat([units, _centroids(pdir / "stat.npy", n_rois)], axis=1)
        else:
            pickled += [str(pdir / n) for n in ("ops.npy", "stat.npy") if (pdir / n).is_file()]
        traces.append(x)
        tables.append(units)

    lengths = np.array([t.shape[1] for t in traces])
    meta_frames = {}
    if (lengths != lengths.max()).any():
        target = lengths.max() if unequal_frames == "pad" else lengths.min()
        meta_frames = {int(p): int(target - n) for (p, _), n in zip(planes, lengths) if n != target}
        if unequal_frames == "pad":
            warnings.warn(
                f"{folder}: planes have {_describe_lengths(planes, lengths)} frames; the shorter planes are "
                f"padded with zeros at the end to {target} frames, as suite2p's combined output is (pass "
                f"unequal_frames='truncate' to keep only the frames every plane has)",
                NeurotkWarning, stacklevel=caller_stacklevel(),
            )
            traces = [np.pad(t, ((0, 0), (0, target - t.shape[1]))) for t in traces]
        else:
            traces = [t[:, :target] for t in traces]
    data = np.vstack(traces) if len(traces) > 1 else traces[0]
    units = pd.concat(tables, ignore_index=True)
    units.insert(0, "unit_id", np.arange(len(units)))
    units["source"] = "brain"
    n_rois = len(units)
    if cells_only:
        keep = units["is_cell"].to_numpy(dtype=bool)
        if not keep.any():
            raise ArgumentError(
                f"{folder}: no ROI of {n_rois} is classified as a cell (iscell[:, 0] is 0 for all); expected at "
                f"least one with cells_only=True (pass cells_only=False to keep every ROI)"
            )
        data, units = data[keep], units[keep].reset_index(drop=True)

    if len(set(rates.values())) > 1:
        raise DataFormatError(
            f"{folder}: the planes' ops.npy give different frame rates {rates}; expected one rate per plane "
            f"for all planes (pass fs= to set it)"
        )
    ops_rate = next(iter(rates.values()), None)
    if fs is not None:
        rate, rate_source = fs, "fs argument"
        if ops_rate is not None and not np.isclose(ops_rate, fs):
            warnings.warn(f"{folder}: fs={fs:g} Hz overrides ops.npy's fs={ops_rate:g} Hz", NeurotkWarning,
                          stacklevel=caller_stacklevel())
    elif ops_rate is not None:
        rate, rate_source = ops_rate, "ops.npy"
    else:
        rate = None
        rate_source = ("unknown: suite2p keeps the frame rate only in the pickled ops.npy; pass fs= (Hz), or "
                       "allow_pickle=True for your own files")
    n_frames = data.shape[1]
    samples = pd.DataFrame({"frame": np.arange(n_frames)})
    if rate is not None:
        samples["time"] = samples["frame"].to_numpy() / rate
    measure = "deconvolved activity (a.u.)" if signal == "spks" else (
        f"F - {neuropil:g} * Fneu (a.u.)" if neuropil > 0 else "F (a.u.)")
    meta = {
        "path": str(folder), "source": "suite2p", "signal": signal,
        "neuropil": None if signal == "spks" else neuropil,
        "sampling_rate": rate, "sampling_rate_source": rate_source,
        "planes": [int(p) for p, _ in planes], "n_rois": n_rois, "cells_only": bool(cells_only),
        "units_of_measure": measure,
    }
    if coeffs:
        meta["ops_neucoeff"] = coeffs
    if meta_frames:
        meta["unequal_frames"] = {"mode": unequal_frames, "frames_changed": meta_frames}
    if pickled:
        meta["not_read"] = pickled  # pickled files left alone without allow_pickle=True
    try:
        return Recording(np.ascontiguousarray(data.T), samples, units, meta, copy=False)
    except NeurotkError as exc:  # NaN or infinite traces and the like: say which folder
        raise type(exc)(f"{folder}: {exc}") from exc


def _describe_lengths(planes, lengths) -> str:
    """'plane0: 100, plane1: 99' for a warning message."""
    return ", ".join(f"plane{p}: {n}" for (p, _), n in zip(planes, lengths))
