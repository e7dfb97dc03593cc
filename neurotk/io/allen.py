"""Allen Brain Observatory (Visual Coding) files -> Recordings of presentations x cells/units, per area.

Two kinds of file are read directly, without allensdk, and told apart by their layout:

* **Two-photon** experiments (``ophys_experiment_data/<id>.nwb``, NWB 1.0.x, which pynwb
  refuses) are read with h5py: the dF/F traces
  (``processing/brain_observatory_pipeline/DfOverF/imaging_plane_1/{data,timestamps}``,
  cells x frames), the cell specimen ids (``.../ImageSegmentation/cell_specimen_ids``),
  the targeted area, imaging depth and Cre line (``general/...``) and the stimulus tables
  (``stimulus/presentation/<name>_stimulus/{data,frame_duration[,features]}``, whose
  ``frame_duration`` holds the ``[start, end]`` two-photon frame of each presentation).
  A response is the mean dF/F of a cell over the frames of a presentation (or over a
  window after its onset): one cumulative sum of each trace and two look-ups per
  presentation, never a loop over cells or presentations.
* **Two-photon on NWB 2**, as DANDI:000728 publishes the same experiments (converted by
  catalystneuro/visual-coding-to-nwb-v2, ``interfaces/_processed_ophys.py`` and the
  ``_*_stimulus.py`` interfaces): the traces are ``RoiResponseSeries`` read by
  :func:`neurotk.io.read_ophys` (``processing/ophys/DfOverF/DfOverF`` by default;
  ``Fluorescence/Corrected``, ``Neuropil``, ``Demixed`` and ``DfOverF/DfOverFEvents`` by
  ``series=``), cells are the rows of ``ImageSegmentation/PlaneSegmentation``, and the
  stimulus tables are under ``stimulus/presentation``: ``TimeIntervals`` for gratings and
  spontaneous activity (columns ``orientation_in_degrees``,
  ``spatial_frequency_in_cycles_per_degree``, ``temporal_frequency_in_hz``, ``phase``,
  ``is_blank_sweep``, renamed to allensdk's ``orientation``, ``spatial_frequency``,
  ``temporal_frequency``), ``IndexSeries`` of image or movie-frame indices with onset
  timestamps for natural scenes, natural movies and locally sparse noise. An
  ``IndexSeries`` presentation lasts until the next onset, at most the median interval
  between onsets (the converted files keep no end times). The conversion stored image
  indices as ``uint32``, so a blank (-1 in the NWB 1 file) reads as 4294967295: it is
  read back as -1. Responses are the mean dF/F over the frames of each presentation, as
  for NWB 1 files (:func:`neurotk.io.event_average` with frame binning).
* **Neuropixels** sessions (``session_<id>/session_<id>.nwb``, NWB 2.x) are read with
  :func:`neurotk.io.read_spikes` and :func:`neurotk.io.count_spikes`: each unit's area is
  the structure acronym of its peak channel (``units/peak_channel_id`` ->
  ``general/extracellular_ephys/electrodes``), presentations come from the
  ``intervals/<stimulus>_presentations`` tables, and the spikes of every unit are counted
  in a window around each presentation.

Both give ``{area: Recording}`` with one sample per presentation; ``samples`` hold
``stimulus`` (the stimulus name), ``stimulus_id`` (a condition label usable for RSA and
for :meth:`~neurotk.Recording.average`: the image index for natural scenes and movies, a
``"orientation=90|temporal_frequency=2"`` label for gratings), ``start_time``,
``stop_time`` and the stimulus parameters (``frame``, ``orientation``, ...). Blank
presentations are labelled ``"blank"`` for every stimulus: grating blank sweeps (all
parameters NaN, or ``is_blank_sweep``) and natural-scene or sparse-noise blanks (image
index -1), so averaging by ``stimulus_id`` never treats a blank as one more image.

Files are opened read-only and never modified. With the optional ``allen`` extra,
:func:`download_allen_session` fetches files through allensdk's caches.
"""

from __future__ import annotations

import numbers
import os
import re
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_choice
from ..errors import (
    ArgumentError,
    DataFormatError,
    NeurotkError,
    NeurotkWarning,
    describe_values,
    require,
)
from ..recording import Recording
from ..tables import table_positions
from ._hdf5 import (
    CORRUPT_FILE_ERRORS,
    Reader,
    attr,
    decode,
    file_errors,
    open_hdf5,
    read_table,
)
from .nwb import read_spikes
from .ophys import event_average, ophys_series, read_ophys
from .spikes import check_window, count_spikes

__all__ = [
    "QUALITY_FILTER",
    "STIMULUS_NAMES",
    "allen_info",
    "allen_stimulus_table",
    "download_allen_session",
    "load_allen",
]

#: HDF5 paths of the two-photon (NWB 1) layout.
PIPELINE = "processing/brain_observatory_pipeline"
DFF = f"{PIPELINE}/DfOverF/imaging_plane_1"
SEGMENTATION = f"{PIPELINE}/ImageSegmentation"
PRESENTATION = "stimulus/presentation"
ELECTRODES = "general/extracellular_ephys/electrodes"

#: allensdk's default unit filter for Neuropixels sessions: metric -> (comparison, threshold).
QUALITY_FILTER = {
    "amplitude_cutoff": ("<=", 0.1),
    "presence_ratio": (">=", 0.9),
    "isi_violations": ("<=", 0.5),
}

#: Elements of dF/F read and summed at once (cells x frames): bounds the working memory.
_CHUNK_ELEMENTS = 1 << 22

#: Columns that define a condition (``stimulus_id``) for each stimulus; first match wins.
_ID_COLUMNS = (
    ("natural_scenes", ("frame",)),
    ("natural_movie", ("frame",)),
    ("locally_sparse_noise", ("frame",)),
    ("static_gratings", ("orientation", "spatial_frequency", "phase")),
    ("drifting_gratings_contrast", ("orientation", "contrast")),
    ("drifting_gratings", ("orientation", "temporal_frequency")),
    ("gabors", ("orientation", "x_position", "y_position")),
    ("flashes", ("color",)),
    ("dot_motion", ("Dir", "Speed")),
    ("spontaneous", ()),
)

#: Names (prefixes) of the Visual Coding stimuli, as the stimulus tables of every layout start.
STIMULUS_NAMES = tuple(prefix for prefix, _ in _ID_COLUMNS)

#: Column names of the NWB 2 two-photon conversion (DANDI:000728) -> allensdk's names.
_NWB2_COLUMNS = {
    "orientation_in_degrees": "orientation",
    "spatial_frequency_in_cycles_per_degree": "spatial_frequency",
    "temporal_frequency_in_hz": "temporal_frequency",
}

#: Electrode columns naming a unit's brain structure, most specific first.
_AREA_COLUMNS = ("ecephys_structure_acronym", "structure_acronym", "manual_structure_acronym", "location")
#: Electrode columns copied to the units table when present.
_CHANNEL_COLUMNS = (
    "probe_id", "probe_vertical_position", "probe_horizontal_position", "local_index",
    "anterior_posterior_ccf_coordinate", "dorsal_ventral_ccf_coordinate", "left_right_ccf_coordinate",
)
_MISSING_STRINGS = ("", "N/A", "n/a", "NA", "null", "None", "none", "nan", "NaN")


# --------------------------------------------------------------------------- files
def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected the path of an Allen NWB file")
    return Path(path)


class _File:
    """An Allen file opened read-only, with its kind ("two-photon" or "neuropixels")."""

    def __init__(self, path, allow_external_links: bool = False):
        self.path = _check_path(path)
        self.links = bool(allow_external_links)
        self.h = open_hdf5(self.path, allow_external_links=self.links)
        self.reader = Reader(self.h, self.path)
        try:
            with file_errors(self.path, "an Allen Brain Observatory NWB file"):
                self.kind = self._detect()
        except BaseException:
            self.h.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.h.close()
        if exc is not None and not isinstance(exc, NeurotkError) and isinstance(exc, CORRUPT_FILE_ERRORS):
            # h5py errors on a truncated or corrupt file, raised while reading inside the block
            raise DataFormatError(
                f"{self.path}: could not be read ({exc_type.__name__}: {exc}); expected an Allen Brain "
                f"Observatory NWB file. The file may be truncated or corrupt"
            ) from exc
        return False

    def fail(self, field, message) -> DataFormatError:
        return DataFormatError(f"{self.path}: field '{field}' {message}")

    def _detect(self) -> str:
        h = self.h
        if PIPELINE in h:
            if not isinstance(h.get(DFF), h5py.Group):
                raise self.fail(DFF, "not found: the file has the Allen two-photon pipeline module but no "
                                "dF/F traces; expected a group with 'data' (cells x frames) and 'timestamps'")
            return "two-photon"
        if _nwb2_2p_stimuli(self) and isinstance(h.get("processing"), h5py.Group) and ophys_series(self.path, allow_external_links=self.links):
            return "two-photon-nwb2"
        units = h.get("units")
        intervals = h.get("intervals")
        presentations = [k for k in (intervals or {}) if k.endswith("_presentations")]
        if isinstance(units, h5py.Group) and presentations:
            if "spike_times" not in units:
                raise self.fail("units/spike_times", "not found; expected the spike times of an Allen "
                                "Neuropixels Units table")
            return "neuropixels"
        if isinstance(units, h5py.Group) and ("peak_channel_id" in units or intervals is not None):
            raise self.fail("intervals/<stimulus>_presentations", "not found: the file has a Units table but no "
                            f"Allen stimulus-presentation tables (intervals: {sorted(intervals or [])}); "
                            "expected an Allen Visual Coding Neuropixels session file")
        groups = sorted(k for k, v in h.items() if isinstance(v, h5py.Group))
        raise DataFormatError(
            f"{self.path}: not an Allen Brain Observatory file: field '{DFF}' (two-photon, NWB 1) and fields "
            f"'units' + 'intervals/<stimulus>_presentations' (Neuropixels, NWB 2) are missing; the top-level "
            f"groups are {groups}. Expected an Allen two-photon or Neuropixels file; for other NWB files use "
            f"neurotk.io.read_spikes"
        )

    # ------------------------------------------------------------------ small reads
    def scalar(self, key, default=None):
        """A scalar (or 1-element) string/number at ``key``, decoded; ``default`` when absent."""
        ds = self.h.get(key)
        if not isinstance(ds, h5py.Dataset) or ds.size != 1:
            return default
        value = decode(np.atleast_1d(self.reader.read(ds, ()))).ravel()[0]
        return value.item() if isinstance(value, np.generic) else value

    def dataset(self, key, what):
        ds = self.h.get(key)
        if not isinstance(ds, h5py.Dataset):
            raise self.fail(key, f"not found; expected {what}")
        return ds


# --------------------------------------------------------------------------- helpers
def _as_names(stimulus) -> list[str] | None:
    if stimulus is None:
        return None
    names = [stimulus] if isinstance(stimulus, str) else list(stimulus) if isinstance(stimulus, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise ArgumentError(f"stimulus={stimulus!r}; expected a stimulus name (str), a list of names or None")
    return names


def _choose(available: list[str], stimulus, path) -> list[str]:
    names = _as_names(stimulus)
    if names is None:
        return list(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ArgumentError(
            f"stimulus {describe_values(unknown)} is not in {path}; available stimuli are {available}"
        )
    return names


def _window(window):
    """None (each presentation's own duration) or a checked (start, stop) in seconds."""
    return None if window is None else check_window(window, allow_interval=False)


def _id_columns(name: str, columns) -> tuple[str, ...] | None:
    for prefix, cols in _ID_COLUMNS:
        if name.startswith(prefix):
            return tuple(c for c in cols if c in columns)
    return ("frame",) if "frame" in columns else None


def _format_value(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "nan" if np.isnan(v) else f"{v:g}"
    return str(v)


def _stimulus_ids(name: str, table: pd.DataFrame, path=None) -> pd.Series:
    """The condition label of each presentation of one stimulus (see module docs)."""
    cols = _id_columns(name, table.columns)
    n = len(table)
    if not cols:
        return pd.Series([name] * n, dtype=object)
    if len(cols) == 1 and cols[0] == "frame":
        frame = pd.to_numeric(table["frame"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(frame)
        if bad.any():  # a NaN image index would become a condition of its own, silently
            raise DataFormatError(
                f"{path or 'the file'}: stimulus table '{name}' has {int(bad.sum())} presentations whose image "
                f"index (frame) is missing or not a number (rows {describe_values(np.flatnonzero(bad))}); "
                f"expected whole image indices, -1 for a blank")
        if (frame == np.round(frame)).all():
            ids = pd.Series(frame.astype(np.int64))
        else:
            ids = pd.Series(frame)
        blank = frame == -1  # natural scenes, sparse noise: image index -1 is a blank (gray) screen
        if name.startswith("natural_movie") or not blank.any():
            return ids
        ids = ids.astype(object)
        ids[blank] = "blank"
        return ids
    parts = [table[c].map(_format_value) for c in cols]
    label = parts[0].radd(f"{cols[0]}=")
    for c, part in zip(cols[1:], parts[1:]):
        label = label + f"|{c}=" + part
    blank = np.logical_and.reduce([p.isin(["nan"]).to_numpy() for p in parts])
    for flag in ("is_blank_sweep", "blank_sweep"):
        if flag in table:
            blank |= pd.to_numeric(table[flag], errors="coerce").fillna(0).to_numpy() > 0
    label = label.astype(object)
    label[blank] = "blank"
    return label.reset_index(drop=True)


def _clean_column(values: pd.Series) -> pd.Series:
    """Strings such as "N/A" or "null" -> NaN; all-numeric strings -> float."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    if values.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
        return values
    missing = values.isin(_MISSING_STRINGS) | values.isna()
    numeric = pd.to_numeric(values.where(~missing), errors="coerce")
    if (numeric.notna() | missing).all() and not missing.all():
        return numeric.astype(np.float64)
    return values.where(~missing, np.nan) if missing.any() else values


def _finish_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    table = pd.concat(frames, ignore_index=True, sort=False) if len(frames) > 1 else frames[0]
    order = np.argsort(table["start_time"].to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    first = ["stimulus", "stimulus_id", "start_time", "stop_time"]
    return table[first + [c for c in table.columns if c not in first]]


def _parse_depth(text) -> float:
    if text is None:
        return np.nan
    if isinstance(text, numbers.Number):
        return float(text)
    match = re.search(r"[-+]?\d+(\.\d+)?", str(text))
    return float(match.group()) if match else np.nan


# --------------------------------------------------------------------------- two-photon
def _2p_timestamps(f: _File) -> np.ndarray:
    ds = f.dataset(f"{DFF}/timestamps", "the time (s) of each two-photon frame")
    ts = f.reader.read(ds).astype(np.float64).ravel()
    if ts.size == 0:
        raise f.fail(ds.name, "is empty; expected the time (s) of each two-photon frame")
    if not np.isfinite(ts).all():
        raise f.fail(ds.name, f"has {int((~np.isfinite(ts)).sum())} missing or infinite values; expected finite times (s)")
    if (np.diff(ts) < 0).any():
        at = int(np.flatnonzero(np.diff(ts) < 0)[0]) + 1
        raise f.fail(ds.name, f"is not sorted (frame {at} at {ts[at]!r} s follows {ts[at - 1]!r} s); expected "
                     f"ascending frame times")
    return ts


def _2p_stimuli(f: _File) -> list[str]:
    group = f.h.get(PRESENTATION)
    if not isinstance(group, h5py.Group):
        return []
    return [k.removesuffix("_stimulus")
            for k, v in group.items() if isinstance(v, h5py.Group) and "data" in v]


def _2p_group(f: _File, name: str):
    group = f.h.get(f"{PRESENTATION}/{name}_stimulus")
    return group if group is not None else f.h[f"{PRESENTATION}/{name}"]


def _frame_bounds(f: _File, group, n: int, ts: np.ndarray, name: str):
    """(start_frame, end_frame) of ``n`` presentations: from ``frame_duration`` or from onset times."""
    T = len(ts)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    fd = group.get("frame_duration")
    if isinstance(fd, h5py.Dataset) and fd.ndim == 2 and fd.shape == (n, 2):
        values = f.reader.read(fd)
        if values.dtype.kind == "f" and not (np.isfinite(values).all() and (values == np.round(values)).all()):
            raise f.fail(fd.name, "has non-integer or missing values; expected [start, end] two-photon frame indices")
        # checked as given (float or int), cast after: 1e300 cast first became -9223372036854775808
        start, end = values[:, 0], values[:, 1]
        bad = (start < 0) | (start >= T) | (end < start) | (end > T)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise f.fail(fd.name, f"row {at} is [{start[at]:.15g}, {end[at]:.15g}]; expected 0 <= start <= end <= "
                         f"{T} (the number of dF/F frames); {int(bad.sum())} rows are out of range")
        return start.astype(np.int64), end.astype(np.int64)
    # No usable frame indices: onsets from the presentation timestamps (s).
    stamps = group.get("timestamps")
    if not (isinstance(stamps, h5py.Dataset) and stamps.shape[:1] == (n,)):
        shape = getattr(fd, "shape", None)
        raise f.fail(f"{group.name}/frame_duration", f"has shape {shape} and 'timestamps' does not give one onset per "
                     f"presentation either; expected ({n}, 2) [start, end] frame indices")
    onset = f.reader.read(stamps).astype(np.float64).ravel()
    if not np.isfinite(onset).all():
        raise f.fail(stamps.name, "has missing or infinite values; expected onset times (s)")
    warnings.warn(
        f"{f.path}: '{group.name}/frame_duration' does not hold ({n}, 2) frame indices; using the presentation "
        f"timestamps as onsets, each presentation lasting until the next one (at most the median interval)",
        NeurotkWarning, stacklevel=caller_stacklevel(),
    )
    start = np.searchsorted(ts, onset, side="left")
    order = np.argsort(onset, kind="stable")
    gaps = np.diff(onset[order])
    typical = float(np.median(gaps)) if gaps.size else np.inf
    stop = np.empty(n)
    stop[order] = np.append(np.minimum(onset[order][1:], onset[order][:-1] + typical), np.inf)
    end = np.searchsorted(ts, stop, side="left")
    return np.minimum(start, T), np.maximum(end, np.minimum(start, T))


def _2p_table(f: _File, name: str, ts: np.ndarray) -> pd.DataFrame:
    """One stimulus table of a two-photon file, as allensdk builds it, with times."""
    group = _2p_group(f, name)
    data_ds = group["data"]
    data = f.reader.read(data_ds)
    ancestry = [str(a) for a in decode(np.atleast_1d(attr(group, "ancestry", [])))]
    features = group.get("features")
    if name == "spontaneous" or "IntervalSeries" in ancestry:
        events = np.asarray(data).ravel()
        n = len(events)
        start_all, _ = _frame_bounds(f, group, n, ts, name) if n else (np.zeros(0, np.int64), None)
        on, off = start_all[events == 1], start_all[events == -1]
        if len(off) not in (len(on), len(on) - 1):
            raise f.fail(data_ds.name, f"has {len(on)} starts (1) and {len(off)} stops (-1); expected one stop per "
                         f"start")
        end = np.append(off, len(ts)) if len(off) < len(on) else off
        if (end < on).any():
            raise f.fail(data_ds.name, "has a stop (-1) before its start (1); expected alternating start/stop events")
        table = pd.DataFrame({"start_frame": on, "end_frame": end})
    elif isinstance(features, h5py.Dataset):
        cols = [str(c) for c in decode(np.atleast_1d(f.reader.read(features))).ravel()]
        values = np.asarray(data, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[1] != len(cols):
            raise f.fail(data_ds.name, f"has shape {np.shape(data)} but 'features' names {len(cols)} columns; "
                         f"expected (n_presentations, {len(cols)})")
        table = pd.DataFrame(values, columns=cols)
        start, end = _frame_bounds(f, group, len(table), ts, name)
        table["start_frame"], table["end_frame"] = start, end
    else:
        frames = np.asarray(data)
        if frames.ndim != 1:
            raise f.fail(data_ds.name, f"has shape {frames.shape}; expected one frame index per presentation")
        table = pd.DataFrame({"frame": frames.astype(np.int64) if frames.dtype.kind in "iub" else frames})
        if name.startswith("natural_movie"):
            table["repeat"] = table.groupby("frame", sort=False).cumcount().astype(np.int64)
        start, end = _frame_bounds(f, group, len(table), ts, name)
        table["start_frame"], table["end_frame"] = start, end
    T = len(ts)
    dt = float(np.median(np.diff(ts))) if T > 1 else 0.0
    frame_times = np.append(ts, ts[-1] + dt)  # the time of frame T is the end of the recording
    start, end = table["start_frame"].to_numpy(), table["end_frame"].to_numpy()
    table.insert(0, "stimulus", name)
    table.insert(1, "stimulus_id", _stimulus_ids(name, table, f.path).to_numpy())
    table.insert(2, "start_time", frame_times[np.minimum(start, T)])
    table.insert(3, "stop_time", frame_times[np.minimum(end, T)])
    table.insert(4, "presentation", np.arange(len(table)))
    return table


def _2p_meta(f: _File) -> dict:
    get = f.scalar
    meta = {"format": "allen-visual-coding-2p", "path": str(f.path)}
    session = get("general/session_id", get("general/ophys_experiment_id"))
    for key, value in (
        ("session_id", session),
        ("experiment_container_id", get("general/experiment_container_id")),
        ("session_type", get("general/session_type")),
        ("targeted_structure", get("general/targeted_structure", get("general/optophysiology/imaging_plane_1/location"))),
        ("imaging_depth_um", _parse_depth(get("general/optophysiology/imaging_plane_1/imaging depth"))),
        ("genotype", get("general/subject/genotype")),
        ("specimen_name", get("general/specimen_name")),
        ("indicator", get("general/optophysiology/imaging_plane_1/indicator")),
        ("sex", get("general/subject/sex")),
        ("age", get("general/subject/age")),
        ("session_start_time", get("session_start_time")),
        ("nwb_version", get("nwb_version")),
    ):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if key in ("session_id", "experiment_container_id") and isinstance(value, str) and value.isdigit():
            value = int(value)
        meta[key] = value
    source = meta.get("genotype") or meta.get("specimen_name")
    if source:
        meta["cre_line"] = str(source).split(";")[0]  # as allensdk's get_metadata()
    return meta


def _2p_units(f: _File, n_cells: int, meta: dict) -> pd.DataFrame:
    ids = None
    for key in (f"{SEGMENTATION}/cell_specimen_ids", f"{DFF}/roi_names", f"{SEGMENTATION}/roi_ids"):
        ds = f.h.get(key)
        if isinstance(ds, h5py.Dataset) and ds.shape == (n_cells,):
            values = decode(f.reader.read(ds))
            if values.dtype == object:
                numeric = pd.to_numeric(pd.Series(values), errors="coerce")
                if numeric.notna().all() and (numeric == numeric.round()).all():
                    values = numeric.to_numpy().astype(np.int64)
            if pd.Series(values).duplicated().any():
                dup = pd.unique(pd.Series(values)[pd.Series(values).duplicated()])
                raise f.fail(key, f"has duplicated ids {describe_values(dup)}; expected one id per cell")
            ids = values
            break
    if ids is None:
        ids = np.arange(n_cells)
    units = pd.DataFrame({"unit_id": ids})
    roi = f.h.get(f"{SEGMENTATION}/roi_ids")
    if isinstance(roi, h5py.Dataset) and roi.shape == (n_cells,):
        units["roi_id"] = decode(f.reader.read(roi))
    units["area"] = meta.get("targeted_structure", "unknown")
    units["depth"] = float(meta.get("imaging_depth_um", np.nan))
    units["cre_line"] = meta.get("cre_line")
    units["source"] = "brain"
    return units


def _window_frames(ts, table, window):
    if window is None:
        return table["start_frame"].to_numpy(np.int64), table["end_frame"].to_numpy(np.int64)
    onset = table["start_time"].to_numpy(np.float64)
    return (np.searchsorted(ts, onset + window[0], side="left"),
            np.searchsorted(ts, onset + window[1], side="left"))


def _window_means(f: _File, ds, a: np.ndarray, b: np.ndarray, dtype) -> np.ndarray:
    """Mean of each trace over frames ``[a[k], b[k])``: (n_windows, n_cells); NaN frames are skipped.

    Each chunk of cells is summed cumulatively once (float64); a window's sum is the
    difference of two entries, so the cost does not depend on the window lengths and no
    loop runs over cells or windows.
    """
    n_cells, T = ds.shape
    out = np.empty((len(a), n_cells), dtype=dtype)
    step = max(1, _CHUNK_ELEMENTS // max(T, 1))
    for c0 in range(0, n_cells, step):
        block = f.reader.read(ds, np.s_[c0 : c0 + step, :]).astype(np.float64)
        nc = block.shape[0]
        inf = np.isinf(block)
        if inf.any():  # NaN marks a missing frame (skipped); an infinite dF/F is no measurement at all
            cells = c0 + np.flatnonzero(inf.any(axis=1))
            raise DataFormatError(
                f"{f.path}: field '{ds.name}' holds {int(inf.sum())} infinite values (cells "
                f"{describe_values(cells)}); expected finite dF/F (NaN for a missing frame)")
        csum = np.zeros((nc, T + 1))
        finite = np.isfinite(block)
        if finite.all():
            np.cumsum(block, axis=1, out=csum[:, 1:])
            counts = (b - a)[None, :].astype(np.float64)
        else:
            np.cumsum(np.where(finite, block, 0.0), axis=1, out=csum[:, 1:])
            ccount = np.zeros((nc, T + 1))
            np.cumsum(finite, axis=1, out=ccount[:, 1:])
            counts = ccount[:, b] - ccount[:, a]
        del block, finite
        sums = csum[:, b] - csum[:, a]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, c0 : c0 + nc] = (sums / counts).T
    return out


def _load_2p(f: _File, stimulus, window, areas, dtype) -> dict:
    ts = _2p_timestamps(f)
    ds = f.dataset(f"{DFF}/data", "the dF/F traces (cells x frames)")
    if ds.ndim != 2 or ds.dtype.kind not in "fiu":
        raise f.fail(ds.name, f"has dtype {ds.dtype} and shape {ds.shape}; expected a 2-D numeric array (cells x frames)")
    if ds.shape[1] != len(ts):
        raise f.fail(ds.name, f"has {ds.shape[1]} frames but '{DFF}/timestamps' has {len(ts)}; expected "
                     f"(n_cells, n_frames) with one timestamp per frame")
    if ds.shape[0] == 0:
        raise f.fail(ds.name, "has no cells; expected at least one dF/F trace")
    available = _2p_stimuli(f)
    if not available:
        raise f.fail(PRESENTATION, "has no stimulus tables; expected groups such as 'natural_scenes_stimulus'")
    names = _choose(available, stimulus, f.path)
    table = _finish_table([_2p_table(f, name, ts) for name in names])
    meta = _2p_meta(f)
    units = _2p_units(f, ds.shape[0], meta)
    area = str(units["area"].iloc[0])
    _check_areas(areas, [area], f.path)
    a, b = _window_frames(ts, table, window)
    data = _window_means(f, ds, a, b, dtype)
    meta.update(name=f"{f.path.stem}:{area}", stimulus=names if stimulus is None or not isinstance(stimulus, str)
                else stimulus, window="presentation" if window is None else window, units_of_measure="dF/F",
                n_frames=len(ts))
    nan = bool(np.isnan(data).any())
    return {area: Recording(data, table, units, meta, allow_nan=nan, copy=False)}


# --------------------------------------------------------------------------- two-photon, NWB 2 (DANDI:000728)
def _nwb2_2p_groups(f: _File) -> dict:
    """Stimulus name -> group of ``stimulus/presentation``: TimeIntervals or IndexSeries with timestamps."""
    group = f.h.get(PRESENTATION)
    out = {}
    if not isinstance(group, h5py.Group):
        return out
    for key, child in group.items():
        if not isinstance(child, h5py.Group):
            continue
        is_table = isinstance(child.get("start_time"), h5py.Dataset)
        is_index = isinstance(child.get("data"), h5py.Dataset) and isinstance(child.get("timestamps"), h5py.Dataset)
        if is_table or (is_index and "frame_duration" not in child):  # NWB 1 tables have frame_duration
            out[key.removesuffix("_stimulus")] = child
    return out


def _nwb2_2p_stimuli(f: _File) -> list[str]:
    known = tuple(prefix for prefix, _ in _ID_COLUMNS)
    groups = _nwb2_2p_groups(f)
    return list(groups) if any(name.startswith(known) for name in groups) else []


def _finite_times(f: _File, group, table: pd.DataFrame) -> None:
    """Check and convert, in place, the start_time and stop_time columns of a presentation table."""
    for col in ("start_time", "stop_time"):
        if col not in table:
            raise f.fail(f"{group.name}/{col}", "not found; expected presentation times (s)")
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(np.float64)
        if not np.isfinite(values).all():
            raise f.fail(f"{group.name}/{col}", f"has {int((~np.isfinite(values)).sum())} missing or non-numeric "
                         f"values; expected finite times (s)")
        table[col] = values


def _nwb2_2p_table(f: _File, name: str) -> pd.DataFrame:
    """One stimulus table of an NWB 2 two-photon file, with allensdk's column names and blanks as -1."""
    group = _nwb2_2p_groups(f)[name]
    if isinstance(group.get("start_time"), h5py.Dataset):
        table = read_table(f.reader, group, skip=("tags", "timeseries"), ragged=False)
        table = table.rename(columns={"id": "presentation_id", **_NWB2_COLUMNS})
        _finite_times(f, group, table)
    else:
        data_ds, stamps_ds = group["data"], group["timestamps"]
        frames = f.reader.read(data_ds)
        onset = f.reader.read(stamps_ds).astype(np.float64).ravel()
        if frames.ndim != 1 or frames.dtype.kind not in "iu" or len(frames) != len(onset):
            raise f.fail(data_ds.name, f"has shape {frames.shape} and dtype {frames.dtype} for {len(onset)} "
                         f"timestamps; expected one image (frame) index per presentation")
        if not np.isfinite(onset).all() or (np.diff(onset) < 0).any():
            raise f.fail(stamps_ds.name, "is not finite and ascending; expected the onset (s) of each presentation")
        frame = frames.astype(np.int64)
        if frames.dtype.kind == "u":  # -1 (blank) stored as uint32 by the conversion
            frame[frames == np.iinfo(frames.dtype).max] = -1
        gaps = np.diff(onset)
        typical = float(np.median(gaps)) if gaps.size else 0.0
        stop = np.append(np.minimum(onset[1:], onset[:-1] + typical), onset[-1:] + typical)
        table = pd.DataFrame({"start_time": onset, "stop_time": stop, "frame": frame})
        if name.startswith("natural_movie"):
            table["repeat"] = table.groupby("frame", sort=False).cumcount().astype(np.int64)
    for col in table.columns:
        table[col] = _clean_column(table[col])
    table.insert(0, "stimulus", name)
    table.insert(1, "stimulus_id", _stimulus_ids(name, table, f.path).to_numpy())
    table.insert(4, "presentation", np.arange(len(table)))
    return table


def _nwb2_2p_meta(f: _File, rec: Recording) -> dict:
    get = f.scalar
    meta = {"format": "allen-visual-coding-2p-nwb2", "path": str(f.path)}
    location = rec.meta.get("location")
    for key, value in (
        ("session_id", get("general/session_id", get("identifier"))),
        ("targeted_structure", location),
        ("genotype", get("general/subject/genotype")),
        ("specimen_name", get("general/subject/subject_id")),
        ("indicator", rec.meta.get("indicator")),
        ("imaging_rate", rec.meta.get("imaging_rate")),
        ("imaging_depth_um", _parse_depth(rec.meta.get("imaging_plane_description"))),
        ("sex", get("general/subject/sex")),
        ("age", get("general/subject/age")),
        ("session_start_time", get("session_start_time")),
        ("series", rec.meta.get("series")),
    ):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if key == "session_id" and isinstance(value, str) and value.isdigit():
            value = int(value)
        meta[key] = value
    if meta.get("genotype"):
        meta["cre_line"] = str(meta["genotype"]).split(";")[0]
    return meta


def _nwb2_2p_recording(f: _File, series, dtype) -> Recording:
    if series is None:
        names = ophys_series(f.path, allow_external_links=f.links)
        dff = [n for n in names if n.endswith("DfOverF/DfOverF")] or [n for n in names if "/DfOverF/" in n]
        series = dff[0] if len(dff) == 1 or (dff and dff[0].endswith("DfOverF/DfOverF")) else None
        if series is None:
            raise ArgumentError(f"{f.path}: no single dF/F series among {names}; expected series= naming one")
    return read_ophys(f.path, series=series, dtype=np.float64, allow_external_links=f.links)


def _load_2p_nwb2(f: _File, stimulus, window, areas, dtype, series) -> dict:
    available = _nwb2_2p_stimuli(f)
    names = _choose(available, stimulus, f.path)
    table = _finish_table([_nwb2_2p_table(f, name) for name in names])
    trace = _nwb2_2p_recording(f, series, dtype)
    meta = _nwb2_2p_meta(f, trace)
    area = str(meta.get("targeted_structure", "unknown"))
    _check_areas(areas, [area], f.path)
    rec = event_average(trace, table, window="interval" if window is None else window)
    units = trace.units.copy()
    units["area"] = area
    units["depth"] = float(meta.get("imaging_depth_um", np.nan))
    units["cre_line"] = meta.get("cre_line")
    units["source"] = "brain"
    is_dff = "DfOverF" in str(meta.get("series", "")) and "Events" not in str(meta.get("series", ""))
    meta.update(name=f"{f.path.stem}:{area}", stimulus=names if stimulus is None or not isinstance(stimulus, str)
                else stimulus, window="presentation" if window is None else window,
                units_of_measure="dF/F" if is_dff else trace.meta.get("units_of_measure"),
                n_frames=trace.n_samples)
    data = rec.data.astype(dtype, copy=False)
    return {area: Recording(data, rec.samples, units, meta, allow_nan=bool(np.isnan(data).any()), copy=False)}


# --------------------------------------------------------------------------- Neuropixels
def _np_stimuli(f: _File) -> list[str]:
    return [k[: -len("_presentations")] for k in f.h["intervals"] if k.endswith("_presentations")]


def _np_table(f: _File, name: str) -> pd.DataFrame:
    group = f.h[f"intervals/{name}_presentations"]
    table = read_table(f.reader, group, skip=("tags", "timeseries"), ragged=False)
    _finite_times(f, group, table)
    table = table.rename(columns={"id": "stimulus_presentation_id"})
    for col in table.columns:
        table[col] = _clean_column(table[col])
    table.insert(0, "stimulus", name)
    table.insert(1, "stimulus_id", _stimulus_ids(name, table, f.path).to_numpy())
    return table


def _np_units(f: _File, spikes) -> pd.DataFrame:
    """The units table with ``area`` (peak channel's structure acronym), probe and channel columns."""
    units = spikes.units
    etable = f.h.get(ELECTRODES)
    channels = None
    if isinstance(etable, h5py.Group) and "id" in etable and "peak_channel_id" in units:
        channels = read_table(f.reader, etable, ragged=False)
        order = np.argsort(channels["id"].to_numpy(), kind="stable")
        sorted_ids = channels["id"].to_numpy()[order]
        peak = pd.to_numeric(units["peak_channel_id"], errors="coerce").to_numpy()
        pos = np.clip(np.searchsorted(sorted_ids, peak), 0, max(len(sorted_ids) - 1, 0))
        found = (sorted_ids[pos] == peak) if len(sorted_ids) else np.zeros(len(units), bool)
        rows = np.where(found, order[pos], -1)
        for col in _AREA_COLUMNS:
            if col in channels and "area" not in units:
                values = channels[col].to_numpy(dtype=object)[np.maximum(rows, 0)]
                values[rows < 0] = None
                units["area"] = values
        for col in ("group_name", "group"):
            if col in channels and "probe" not in units:
                values = channels[col].to_numpy(dtype=object)[np.maximum(rows, 0)]
                values[rows < 0] = None
                units["probe"] = values
        for col in _CHANNEL_COLUMNS:
            if col in channels and col not in units:
                units[col] = np.where(found, channels[col].to_numpy()[np.maximum(rows, 0)], np.nan)
    if "area" not in units:
        for col in _AREA_COLUMNS:
            if col in units:
                units["area"] = units[col].to_numpy(dtype=object)
                break
    if "area" not in units:
        warnings.warn(f"{f.path}: no unit has a brain area (no '{ELECTRODES}' structure column reachable through "
                      f"units/peak_channel_id); all units are in area 'unknown'", NeurotkWarning, stacklevel=caller_stacklevel())
        units["area"] = "unknown"
    area = units["area"].astype(object)
    area = area.where(~(area.isna() | area.isin(_MISSING_STRINGS)), "unknown").map(str)
    units["area"] = area.to_numpy()
    units["source"] = "brain"
    return units


def _quality_mask(units: pd.DataFrame, filter_units) -> tuple[np.ndarray, dict]:
    if filter_units is False or filter_units is None:
        return np.ones(len(units), bool), {}
    if filter_units is True:
        rules = QUALITY_FILTER
    elif isinstance(filter_units, dict):
        rules = filter_units
    else:
        raise ArgumentError(f"filter_units={filter_units!r}; expected True (allensdk's default filter), False, or "
                            f"a dict of metric -> (comparison, threshold)")
    mask = np.ones(len(units), bool)
    applied = {}
    ops = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater, "==": np.equal}
    for metric, rule in rules.items():
        try:
            op, threshold = rule
            compare = ops[op]
        except (TypeError, ValueError, KeyError) as exc:
            raise ArgumentError(f"filter_units[{metric!r}]={rule!r}; expected (comparison, threshold) with a "
                                f"comparison among {list(ops)}") from exc
        if metric not in units:
            continue  # a file without this metric is not filtered on it (recorded in meta)
        values = pd.to_numeric(units[metric], errors="coerce").to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            mask &= compare(values, threshold)  # NaN metrics fail, as in allensdk's query
        applied[metric] = f"{op} {threshold}"
    return mask, applied


def _area_list(areas) -> list[str]:
    return [areas] if isinstance(areas, str) else list(areas)


def _check_areas(areas, available, path):
    if areas is None:
        return
    wanted = _area_list(areas)
    if not wanted or not all(isinstance(a, str) for a in wanted):
        raise ArgumentError(f"areas={areas!r}; expected an area name or a list of names")
    unknown = [a for a in wanted if a not in available]
    if unknown:
        raise ArgumentError(f"areas {describe_values(unknown)} are not in {path}; its areas are {sorted(available)}")


def _load_neuropixels(f: _File, stimulus, window, areas, filter_units, units, rate, dtype, progress) -> dict:
    available = _np_stimuli(f)
    names = _choose(available, stimulus, f.path)
    table = _finish_table([_np_table(f, name) for name in names])
    spikes = read_spikes(f.path, allow_external_links=f.links)
    table_units = _np_units(f, spikes)
    keep, applied = _quality_mask(table_units, filter_units)
    if units is not None:
        chosen = np.zeros(len(keep), bool)
        chosen[table_positions(units, table_units, "units")] = True
        keep &= chosen
    _check_areas(areas, pd.unique(table_units["area"]).tolist(), f.path)
    if areas is not None:
        keep &= table_units["area"].isin(_area_list(areas)).to_numpy()
    if not keep.any():
        raise ArgumentError(
            f"{f.path}: none of the {len(keep)} units passes the selection (quality filter {applied or 'none'}, "
            f"units={units!r}, areas={areas!r}); pass filter_units=False to keep every unit"
        )
    rows = np.flatnonzero(keep)
    rec = count_spikes(spikes.select(rows), intervals=table, window="interval" if window is None else window,
                       rate=rate, progress=progress)
    unit_table = table_units.iloc[rows].reset_index(drop=True)
    meta = dict(rec.meta)
    meta.pop("name", None)
    meta.update(format="allen-visual-coding-neuropixels", path=str(f.path),
                session_id=_session_id(f), stimulus=names if not isinstance(stimulus, str) else stimulus,
                window="presentation" if window is None else window, quality_filter=applied,
                n_units_in_file=len(keep), intervals="<stimulus>_presentations")
    data = rec.data.astype(dtype, copy=False)
    out = {}
    area = unit_table["area"].to_numpy()
    for name in sorted(pd.unique(area)):
        cols = np.flatnonzero(area == name)
        out[name] = Recording(data[:, cols], rec.samples, unit_table.iloc[cols],
                              dict(meta, name=f"{f.path.stem}:{name}"), allow_nan=rec.allow_nan, copy=False)
    return out


def _session_id(f: _File):
    value = f.scalar("general/session_id", f.scalar("identifier"))
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


# --------------------------------------------------------------------------- public functions
def load_allen(path, stimulus=None, window=None, *, areas=None, filter_units=True, units=None,
               rate: bool = False, dtype=np.float64, progress=None, series=None,
               allow_external_links: bool = False) -> dict:
    """Read an Allen Brain Observatory file into Recordings of presentations x cells/units, per area.

    The kind of file is detected from its layout: a Visual Coding **two-photon**
    experiment (NWB 1, ``processing/brain_observatory_pipeline/DfOverF``, or its NWB 2
    conversion on DANDI:000728, ``processing/ophys`` with the stimulus tables under
    ``stimulus/presentation``) gives mean dF/F responses of its cells; a Visual Coding
    **Neuropixels** session (NWB 2, ``units`` with
    ``intervals/<stimulus>_presentations``) gives spike counts of its units. Neither needs
    allensdk.

    Parameters
    ----------
    path : str or Path
        The ``.nwb`` file (opened read-only).
    stimulus : str or list of str, optional
        The stimuli to keep, e.g. ``"natural_scenes"``, ``"static_gratings"``,
        ``"drifting_gratings"``, ``"natural_movie_one"``, ``"spontaneous"`` (see
        :func:`allen_info`). Default: every stimulus of the file, in order of onset.
    window : (float, float), optional
        The response window in seconds relative to each presentation's onset, half-open
        ``[onset + window[0], onset + window[1])``. Default: the presentation itself (its
        two-photon frames ``[start, end)``; for Neuropixels ``[start_time, stop_time)``).
        Empty windows give NaN responses.
    areas : str or list of str, optional
        Keep only these areas (e.g. ``["VISp", "VISl"]``).
    filter_units : bool or dict, default True
        Neuropixels only. ``True`` applies allensdk's default unit filter
        (:data:`QUALITY_FILTER`: ``amplitude_cutoff <= 0.1``, ``presence_ratio >= 0.9``,
        ``isi_violations <= 0.5``; a unit with a missing metric fails it, a metric absent
        from the file is not filtered on); ``False`` keeps every unit; a dict such as
        ``{"snr": (">=", 1.5)}`` sets other rules. ``meta["quality_filter"]`` records the
        rules applied.
    units : str, dict, mask, positions or callable, optional
        Neuropixels only: a further unit selection on the units table, as in
        :meth:`neurotk.io.SpikeTrains.select` (e.g. ``"snr > 2"``).
    rate : bool, default False
        Neuropixels only: spikes per second instead of counts.
    dtype : numpy dtype, default float64
        float32 halves the memory of the responses.
    progress : bool, optional
        Neuropixels only: progress bar over spike chunks (default: only for large files).
    series : str, optional
        Two-photon NWB 2 only: the ROI series to average (see :func:`neurotk.io.read_ophys`),
        e.g. ``"Fluorescence/Corrected"``; default ``"DfOverF/DfOverF"``.
    allow_external_links : bool, default False
        Follow HDF5 external links to regular files inside the file's folder; refused by
        default, since a downloaded file could name any local file (see
        :func:`neurotk.io.read_spikes`).

    Returns
    -------
    dict of str -> Recording
        One Recording per area (a two-photon file has one: ``general/targeted_structure``),
        presentations x cells/units. ``samples``: ``stimulus`` (name), ``stimulus_id``
        (condition label: image index for natural scenes and movies, e.g.
        ``"orientation=90|temporal_frequency=2"`` for gratings, ``"blank"`` for blank
        sweeps, the stimulus name for spontaneous activity), ``start_time``,
        ``stop_time`` (s) and the stimulus columns (``frame``, ``repeat``,
        ``orientation``, ``spatial_frequency``, ``phase``, ``temporal_frequency`` ...;
        two-photon tables also have ``start_frame``, ``end_frame``). ``units``:
        ``unit_id`` (cell specimen id or unit id), ``area``, and for two-photon ``depth``
        (µm) and ``cre_line``; for Neuropixels the quality metrics, ``peak_channel_id``,
        ``probe`` and channel positions. ``meta``: ``session_id``, ``path``,
        ``units_of_measure`` ("dF/F" or "spike count") and the session metadata.

    Raises
    ------
    DataFormatError
        The file is neither layout (the message names the file and the missing paths), or
        a field is malformed (frame indices out of range, unsorted timestamps ...).
    ArgumentError
        An unknown stimulus (the message lists the available ones), area or window.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_allen_demo
    >>> from neurotk.io import load_allen
    >>> path = make_allen_demo(pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb")
    >>> recs = load_allen(path, stimulus="natural_scenes")
    >>> rec = recs["VISp"]
    >>> rec.shape, rec.meta["units_of_measure"]
    ((24, 5), 'dF/F')
    >>> rec.average(by="stimulus_id").shape
    (6, 5)
    """
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ArgumentError(f"dtype={dtype}; expected a floating dtype (float64 or float32)")
    window = _window(window)
    _as_names(stimulus)
    with _File(path, allow_external_links) as f:
        if f.kind == "two-photon":
            return _load_2p(f, stimulus, window, areas, dtype)
        if f.kind == "two-photon-nwb2":
            return _load_2p_nwb2(f, stimulus, window, areas, dtype, series)
        return _load_neuropixels(f, stimulus, window, areas, filter_units, units, rate, dtype, progress)


def allen_stimulus_table(path, stimulus=None) -> pd.DataFrame:
    """The stimulus presentations of an Allen file: one row per presentation, in order of onset.

    Parameters
    ----------
    path : str or Path
    stimulus : str or list of str, optional
        The stimuli to include (default: all).

    Returns
    -------
    DataFrame
        ``stimulus``, ``stimulus_id``, ``start_time``, ``stop_time`` and the stimulus
        columns, as in the ``samples`` of :func:`load_allen`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_allen_demo
    >>> from neurotk.io import allen_stimulus_table
    >>> path = make_allen_demo(pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb")
    >>> table = allen_stimulus_table(path, "static_gratings")
    >>> list(table.columns[:4]), len(table)
    (['stimulus', 'stimulus_id', 'start_time', 'stop_time'], 8)
    """
    with _File(path) as f:
        if f.kind == "two-photon":
            ts = _2p_timestamps(f)
            names = _choose(_2p_stimuli(f), stimulus, f.path)
            return _finish_table([_2p_table(f, name, ts) for name in names])
        if f.kind == "two-photon-nwb2":
            names = _choose(_nwb2_2p_stimuli(f), stimulus, f.path)
            return _finish_table([_nwb2_2p_table(f, name) for name in names])
        names = _choose(_np_stimuli(f), stimulus, f.path)
        return _finish_table([_np_table(f, name) for name in names])


def allen_info(path) -> dict:
    """What an Allen file holds, without reading responses: kind, stimuli, areas, session metadata.

    Returns
    -------
    dict
        ``kind`` ("two-photon" or "neuropixels"), ``stimuli`` (names accepted by
        ``load_allen(stimulus=...)``), ``areas``, ``n_units`` (cells or units, before any
        filter) and the session metadata (``session_id``, and for two-photon files
        ``targeted_structure``, ``imaging_depth_um``, ``cre_line``, ``session_type`` ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_allen_demo
    >>> from neurotk.io import allen_info
    >>> info = allen_info(make_allen_demo(pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb"))
    >>> info["kind"], info["areas"], info["stimuli"][:2]
    ('two-photon', ['VISp'], ['drifting_gratings', 'natural_movie_one'])
    """
    with _File(path) as f:
        if f.kind == "two-photon":
            meta = _2p_meta(f)
            ds = f.dataset(f"{DFF}/data", "the dF/F traces (cells x frames)")
            info = {"kind": f.kind, "stimuli": _2p_stimuli(f),
                    "areas": [meta.get("targeted_structure", "unknown")],
                    "n_units": int(ds.shape[0]) if ds.ndim == 2 else 0}
            info.update(meta)
            return info
        if f.kind == "two-photon-nwb2":
            trace = _nwb2_2p_recording(f, None, np.float64)
            meta = _nwb2_2p_meta(f, trace)
            info = {"kind": "two-photon", "stimuli": _nwb2_2p_stimuli(f),
                    "areas": [meta.get("targeted_structure", "unknown")], "n_units": trace.n_units}
            info.update(meta)
            return info
        units = _np_units(f, read_spikes(f.path, allow_external_links=f.links))
        return {"kind": f.kind, "stimuli": _np_stimuli(f), "areas": sorted(pd.unique(units["area"]).tolist()),
                "n_units": len(units), "session_id": _session_id(f), "path": str(f.path),
                "format": "allen-visual-coding-neuropixels"}


def download_allen_session(session_id, cache_dir, kind: str = "neuropixels") -> Path:
    """Download an Allen Visual Coding session through allensdk's caches and return its NWB path.

    Needs the optional ``allen`` extra (``pip install "neurotk[allen]"``); everything
    else in :mod:`neurotk.io.allen` works without it.

    Parameters
    ----------
    session_id : int
        A Neuropixels ``ecephys_session_id`` or a two-photon ``ophys_experiment_id``.
    cache_dir : str or Path
        The cache folder (allensdk's ``manifest.json`` lives there).
    kind : {"neuropixels", "two-photon"}
        Which cache: ``EcephysProjectCache`` or ``BrainObservatoryCache``.

    Returns
    -------
    pathlib.Path
        The downloaded file, ready for :func:`load_allen`.

    Raises
    ------
    OptionalDependencyError
        allensdk is not installed.

    Examples
    --------
    >>> from neurotk.io import download_allen_session
    >>> download_allen_session(715093703, "allen_cache")  # doctest: +SKIP
    PosixPath('allen_cache/session_715093703/session_715093703.nwb')
    """
    check_choice(kind, "kind", ("neuropixels", "two-photon", "2p"))
    if isinstance(session_id, bool) or not isinstance(session_id, numbers.Integral):
        raise ArgumentError(f"session_id={session_id!r}; expected an integer session (experiment) id")
    cache_dir = _check_path(cache_dir)
    require("allensdk", "Downloading Allen Brain Observatory sessions", extra="allen")
    cache_dir.mkdir(parents=True, exist_ok=True)
    manifest = cache_dir / "manifest.json"
    if kind == "neuropixels":  # pragma: no cover - needs allensdk and the network
        from allensdk.brain_observatory.ecephys.ecephys_project_cache import (
            EcephysProjectCache,
        )

        cache = EcephysProjectCache.from_warehouse(manifest=str(manifest))
        cache.get_session_data(int(session_id))
        try:
            return Path(cache.get_cache_path(None, cache.SESSION_NWB_KEY, int(session_id), int(session_id)))
        except (AttributeError, KeyError, TypeError, ValueError):
            return cache_dir / f"session_{int(session_id)}" / f"session_{int(session_id)}.nwb"
    from allensdk.core.brain_observatory_cache import (
        BrainObservatoryCache,  # pragma: no cover
    )

    cache = BrainObservatoryCache(manifest_file=str(manifest))  # pragma: no cover
    return Path(cache.get_ophys_experiment_data(int(session_id)).nwb_file)  # pragma: no cover
