"""Two-photon (and one-photon) imaging in NWB 2 files -> Recordings of frames x ROIs.

NWB 2 keeps ROI traces as ``RoiResponseSeries`` in a processing module (usually
``processing/ophys``), either inside a ``DfOverF`` or ``Fluorescence`` container or bare:
``data`` is frames x ROIs, time is ``timestamps`` (one per frame) or ``starting_time`` with
its ``rate`` attribute, and ``rois`` (a ``DynamicTableRegion``) points at rows of a
``PlaneSegmentation`` table (``ImageSegmentation``), whose ``imaging_plane`` link leads to
the indicator, location and imaging rate. :func:`read_ophys` reads all of these with h5py
(read-only, through the safe reader of ``neurotk.io._hdf5``), as pynwb's
``RoiResponseSeries.get_data_in_units()`` and ``get_timestamps()`` define them.

:func:`event_average` gives trial-aligned responses of any continuous Recording with
``samples["time"]`` (ROI traces, binned spikes, voxel time series): the mean of the frames
in a window around each interval onset (frame binning, the Allen Brain Observatory's
mean sweep response), or, for time-resolved traces, the traces linearly interpolated at a
grid of times around each onset. Every window is two look-ups in a cumulative sum over
frames; no loop runs over ROIs, trials or windows.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from .._validation import check_choice, check_float
from ..errors import ArgumentError, DataFormatError, describe_values
from ..recording import Recording
from ._hdf5 import Reader, attr, decode, file_errors, open_hdf5, read_table
from .nwb import as_intervals, session_meta
from .spikes import check_window

__all__ = ["event_average", "ophys_series", "read_ophys"]

#: Elements (frames x ROIs) summed at once by :func:`event_average`: bounds its working memory.
_CHUNK_ELEMENTS = 1 << 23

#: PlaneSegmentation columns holding pixel or voxel masks (never read: large and not per-ROI scalars).
_MASK_COLUMNS = ("image_mask", "pixel_mask", "voxel_mask", "pixel_mask_index", "voxel_mask_index")


# --------------------------------------------------------------------------- finding series
def _is_series(group) -> bool:
    if not isinstance(group, h5py.Group):
        return False
    kind = attr(group, "neurodata_type")
    if kind is not None:
        return str(decode(np.atleast_1d(kind))[0]) == "RoiResponseSeries"
    return isinstance(group.get("data"), h5py.Dataset) and isinstance(group.get("rois"), h5py.Dataset)


def _find_series(f: Reader) -> dict:
    """Every RoiResponseSeries of the processing modules: ``"<module>/[<container>/]<name>"`` -> group."""
    out = {}
    processing = f.h.get("processing")
    if not isinstance(processing, h5py.Group):
        return out
    for module_name, module in processing.items():
        if not isinstance(module, h5py.Group):
            continue
        for name, child in module.items():
            if _is_series(child):
                out[f"{module_name}/{name}"] = child
            elif isinstance(child, h5py.Group):
                for inner, series in child.items():
                    if _is_series(series):
                        out[f"{module_name}/{name}/{inner}"] = series
    return out


def _choose_series(f: Reader, found: dict, series) -> str:
    names = list(found)
    if not names:
        groups = sorted(k for k, v in f.h.items() if isinstance(v, h5py.Group))
        modules = sorted(f.h["processing"]) if isinstance(f.h.get("processing"), h5py.Group) else []
        raise DataFormatError(
            f"{f.path}: field '/processing' holds no RoiResponseSeries (processing modules: {modules}; top-level "
            f"groups: {groups}); expected an NWB 2 file with ROI traces such as "
            f"'processing/ophys/DfOverF/<series>' or 'processing/ophys/Fluorescence/<series>'"
        )
    if series is None:
        if len(names) == 1:
            return names[0]
        raise ArgumentError(
            f"{f.path}: field '/processing' holds {len(names)} RoiResponseSeries {names}; expected series= "
            f"naming one of them (e.g. series={names[0].split('/', 1)[-1]!r})"
        )
    if not isinstance(series, str):
        raise ArgumentError(f"series has type {type(series).__name__}; expected the name of a series (str)")
    key = series.strip("/")
    key = key.removeprefix("processing/")
    matches = [n for n in names if n == key or n.endswith("/" + key)]
    if len(matches) == 1:
        return matches[0]
    if not matches:  # a container holding a single series (e.g. series="DfOverF")
        matches = [n for n in names if n.count("/") == 2 and n.split("/")[1] == key]
        if len(matches) == 1:
            return matches[0]
    what = f"matches {len(matches)} series {matches}" if matches else "matches no series"
    raise ArgumentError(f"{f.path}: series={series!r} {what}; the file's RoiResponseSeries are {names}")


def ophys_series(path, *, allow_external_links: bool = False) -> list[str]:
    """Names of the ``RoiResponseSeries`` of an NWB 2 file, as :func:`read_ophys` accepts them.

    External links are refused unless ``allow_external_links`` (see :func:`read_ophys`).

    Examples
    --------
    >>> import tempfile, pathlib, h5py, numpy as np
    >>> from neurotk.io import ophys_series
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb"
    >>> with h5py.File(path, "w") as f:
    ...     for name in ("DfOverF/dff", "Fluorescence/raw"):
    ...         series = f.create_group(f"processing/ophys/{name}")
    ...         series.attrs["neurodata_type"] = "RoiResponseSeries"
    ...         _ = series.create_dataset("data", data=np.zeros((10, 2)))
    >>> ophys_series(path)
    ['ophys/DfOverF/dff', 'ophys/Fluorescence/raw']
    """
    path = _check_path(path)
    with open_hdf5(path, allow_external_links=allow_external_links) as handle, file_errors(path):
        return list(_find_series(Reader(handle, path)))


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected the path of an NWB file")
    return Path(path)


# --------------------------------------------------------------------------- reading
def _scalar(f: Reader, group, key):
    ds = group.get(key) if isinstance(group, h5py.Group) else None
    if not isinstance(ds, h5py.Dataset) or ds.size != 1:
        return None
    value = decode(np.atleast_1d(f.read(ds, ()))).ravel()[0]
    return value.item() if isinstance(value, np.generic) else value


def _frame_times(f: Reader, group, n_frames: int) -> tuple[np.ndarray, float | None]:
    """(time of every frame, the series' rate or None), as pynwb's ``get_timestamps()``."""
    stamps = group.get("timestamps")
    if isinstance(stamps, h5py.Dataset):
        t = f.read(stamps)
        if t.ndim != 1 or t.dtype.kind not in "fiu" or len(t) != n_frames:
            raise f.fail(stamps.name, f"has shape {t.shape} and dtype {t.dtype}; expected {n_frames} frame times "
                         f"(s), one per row of data")
        t = t.astype(np.float64)
        rate = None
    else:
        start = group.get("starting_time")
        if not isinstance(start, h5py.Dataset):
            raise f.fail(f"{group.name}/timestamps", "not found, nor 'starting_time' with a rate; expected the time "
                         "of each frame (s)")
        rate = attr(start, "rate")
        try:
            rate = float(np.asarray(rate).ravel()[0])
        except (TypeError, ValueError, IndexError):
            rate = None
        if rate is None or not np.isfinite(rate) or rate <= 0:
            raise f.fail(start.name, f"has rate {attr(start, 'rate')!r}; expected a positive sampling rate (Hz)")
        t0 = float(np.asarray(f.read(start, ())).ravel()[0])
        t = t0 + np.arange(n_frames) / rate
    if not np.isfinite(t).all():
        raise f.fail(f"{group.name}/timestamps", f"has {int((~np.isfinite(t)).sum())} missing or infinite values; "
                     f"expected finite frame times (s)")
    if n_frames > 1 and (np.diff(t) <= 0).any():
        at = int(np.flatnonzero(np.diff(t) <= 0)[0]) + 1
        raise f.fail(f"{group.name}/timestamps", f"is not increasing (frame {at} at {t[at]!r} s follows "
                     f"{t[at - 1]!r} s); expected ascending frame times")
    return t, rate


def _roi_table(f: Reader, group, n_rois: int):
    """(units table, the PlaneSegmentation group or None) of a series' ``rois`` region."""
    rois = group.get("rois")
    if not isinstance(rois, h5py.Dataset):
        return pd.DataFrame({"unit_id": np.arange(n_rois)}), None
    rows = f.read(rois)
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or len(rows) != n_rois:
        raise f.fail(rois.name, f"has shape {rows.shape} and dtype {rows.dtype}; expected {n_rois} row indices "
                     f"into the PlaneSegmentation table, one per column of data")
    rows = rows.astype(np.int64)
    ref = attr(rois, "table")
    try:
        table_group = f.h[ref] if ref is not None else None
    except (KeyError, ValueError, TypeError):
        table_group = None
    if not isinstance(table_group, h5py.Group) or "id" not in table_group:
        raise f.fail(rois.name, "does not point at a table with ids (its 'table' reference is missing or broken); "
                     "expected a DynamicTableRegion into a PlaneSegmentation table")
    table = read_table(f, table_group, skip=_MASK_COLUMNS, ragged=False)
    n_table = len(table)
    bad = (rows < 0) | (rows >= n_table)
    if bad.any():
        raise f.fail(rois.name, f"has rows {describe_values(rows[bad])} outside the {n_table} rows of "
                     f"'{table_group.name}'; expected indices 0 to {n_table - 1}")
    for name in ("iscell", "Accepted", "accepted"):  # suite2p: iscell is (n, 2): is cell, probability
        ds = table_group.get(name)
        if name not in table and isinstance(ds, h5py.Dataset) and ds.ndim == 2 and len(ds) == n_table:
            values = f.read(ds)
            if values.dtype.kind in "fiub" and values.shape[1] >= 1:
                table[name] = values[:, 0]
                if values.shape[1] == 2:
                    table[f"{name}_probability"] = values[:, 1].astype(np.float64)
    units = table.iloc[rows].reset_index(drop=True).rename(columns={"id": "unit_id"})
    units.insert(1, "roi_index", rows)
    flag = next((c for c in ("iscell", "accepted", "Accepted") if c in units), None)
    if flag is not None and "is_cell" not in units:
        units["is_cell"] = pd.to_numeric(units[flag], errors="coerce").fillna(0).to_numpy() > 0
    elif "Rejected" in units and "is_cell" not in units:
        units["is_cell"] = ~(pd.to_numeric(units["Rejected"], errors="coerce").fillna(0).to_numpy() > 0)
    if units["unit_id"].duplicated().any():
        dup = pd.unique(units["unit_id"][units["unit_id"].duplicated()])
        raise f.fail(rois.name, f"selects ROIs with the same id {describe_values(dup)}; expected each ROI once")
    return units, table_group


def _plane_meta(f: Reader, table_group) -> dict:
    plane = table_group.get("imaging_plane") if table_group is not None else None
    if not isinstance(plane, h5py.Group):
        return {}
    meta = {"imaging_plane": plane.name.rsplit("/", 1)[-1]}
    for key, out in (("indicator", "indicator"), ("location", "location"), ("imaging_rate", "plane_imaging_rate"),
                     ("excitation_lambda", "excitation_lambda"), ("description", "imaging_plane_description")):
        value = _scalar(f, plane, key)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            meta[out] = value
    return meta


def read_ophys(path, series=None, *, dtype=np.float64, allow_external_links: bool = False) -> Recording:
    """Read one ROI response series of an NWB 2 file: a Recording of frames x ROIs.

    Any ``RoiResponseSeries`` of a processing module is found (``processing/ophys/DfOverF/...``,
    ``.../Fluorescence/...`` or a bare series; any module name). Values are
    ``data * conversion + offset`` and times are ``timestamps``, or ``starting_time +
    arange(n_frames) / rate``, exactly as pynwb's ``get_data_in_units()`` and
    ``get_timestamps()`` give them. The file is opened read-only.

    Parameters
    ----------
    path : str or Path
        An NWB 2 file.
    series : str, optional
        Which series, when the file has several: its name (``"DfOverF"``), its container
        and name (``"Fluorescence/Neuropil"``) or its path under ``processing``
        (``"ophys/DfOverF/DfOverF"``); a container holding one series also names it.
        Default: the only series of the file.
    dtype : numpy dtype, default float64
        float32 halves the memory.
    allow_external_links : bool, default False
        Follow HDF5 external links to regular files inside this file's folder; refused by
        default, since a downloaded file could name any local file (see
        :func:`neurotk.io.read_spikes`).

    Returns
    -------
    Recording
        ``data[i, k]``: ROI ``k`` at frame ``i``. ``samples``: ``time`` (s). ``units``: the
        ROIs' rows of the PlaneSegmentation table: ``unit_id`` (its ids), ``roi_index`` (the
        row), its scalar columns (e.g. ``iscell`` and ``iscell_probability`` from suite2p's
        two-column ``iscell``, ``Accepted``/``Rejected``, ``global_roi_id``) and ``is_cell``
        when such a column exists; ``location`` of the imaging plane. ``meta``: ``series``,
        ``series_path``, ``imaging_rate`` (Hz: the series' rate, else the imaging plane's,
        else from the timestamps), ``indicator``, ``location``, ``imaging_plane``,
        ``units_of_measure`` (the series' unit), ``description`` and the session metadata.

    Raises
    ------
    ArgumentError
        Several series and no ``series=`` (the message lists them), or an unknown one.
    DataFormatError
        No RoiResponseSeries, data not frames x ROIs, times missing, not finite or not
        increasing, ``rois`` pointing outside the PlaneSegmentation table.

    Examples
    --------
    >>> import tempfile, pathlib, datetime, numpy as np
    >>> from pynwb import NWBHDF5IO, NWBFile
    >>> from pynwb.ophys import ImageSegmentation, OpticalChannel, RoiResponseSeries
    >>> nwb = NWBFile("demo", "demo-1", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    >>> channel = OpticalChannel(name="green", description="green", emission_lambda=510.0)
    >>> plane = nwb.create_imaging_plane(name="plane", optical_channel=channel, description="L2/3",
    ...                                  device=nwb.create_device("scope"), excitation_lambda=920.0,
    ...                                  imaging_rate=30.0, indicator="GCaMP6f", location="VISp")
    >>> segmentation = ImageSegmentation()
    >>> seg = segmentation.create_plane_segmentation(name="PlaneSegmentation", description="rois",
    ...                                              imaging_plane=plane)
    >>> for _ in range(3):
    ...     seg.add_roi(image_mask=np.ones((4, 4)))
    >>> module = nwb.create_processing_module("ophys", "processed")
    >>> _ = module.add(segmentation)
    >>> region = seg.create_roi_table_region(description="all", region=[0, 1, 2])
    >>> _ = module.add(RoiResponseSeries(name="dff", data=np.ones((100, 3)), rois=region, unit="a.u.",
    ...                                  rate=30.0))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb"
    >>> with NWBHDF5IO(str(path), "w") as io:
    ...     io.write(nwb)
    >>> from neurotk.io import read_ophys
    >>> rec = read_ophys(path)
    >>> rec.shape, rec.meta["indicator"], rec.meta["imaging_rate"], float(rec.samples["time"].iloc[30])
    ((100, 3), 'GCaMP6f', 30.0, 1.0)
    """
    path = _check_path(path)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ArgumentError(f"dtype={dtype}; expected a floating dtype (float64 or float32)")
    with open_hdf5(path, allow_external_links=allow_external_links) as handle, file_errors(path):
        f = Reader(handle, path)
        found = _find_series(f)
        key = _choose_series(f, found, series)
        group = found[key]
        ds = group.get("data")
        if not isinstance(ds, h5py.Dataset) or ds.ndim not in (1, 2) or ds.dtype.kind not in "fiub":
            raise f.fail(f"{group.name}/data", f"has shape {getattr(ds, 'shape', None)} and dtype "
                         f"{getattr(ds, 'dtype', None)}; expected a numeric array of frames x ROIs")
        n_frames = int(ds.shape[0])
        n_rois = int(ds.shape[1]) if ds.ndim == 2 else 1
        t, rate = _frame_times(f, group, n_frames)
        units, table_group = _roi_table(f, group, n_rois)
        values = f.read(ds).astype(dtype, copy=False).reshape(n_frames, n_rois)
        conversion = attr(ds, "conversion", 1.0)
        offset = attr(ds, "offset", 0.0)
        conversion = float(np.asarray(conversion).ravel()[0]) if conversion is not None else 1.0
        offset = float(np.asarray(offset).ravel()[0]) if offset is not None else 0.0
        if conversion != 1.0 or offset != 0.0:
            values = values * dtype.type(conversion) + dtype.type(offset)
        meta = dict(session_meta(f), source="nwb-ophys")
        meta.update(_plane_meta(f, table_group))
        unit = attr(ds, "unit")
        description = attr(group, "description")
    if rate is None and "plane_imaging_rate" in meta:
        rate = float(meta["plane_imaging_rate"])
    elif rate is None and n_frames > 1:
        rate = float(1.0 / np.median(np.diff(t)))
    meta.update(
        path=str(path), name=f"{path.stem}:{key.rsplit('/', 1)[-1]}", series=key, series_path=group.name,
        imaging_rate=rate, n_frames=n_frames,
        units_of_measure=str(decode(np.atleast_1d(unit))[0]) if unit is not None else None,
        description=str(decode(np.atleast_1d(description))[0]) if description is not None else None,
    )
    if "location" in meta and "location" not in units:
        units["location"] = meta["location"]
    samples = pd.DataFrame({"time": t})
    nan = bool(np.isnan(values).any())
    return Recording(values, samples, units, meta, allow_nan=nan, copy=False)


# --------------------------------------------------------------------------- trial-aligned responses
def _frame_clock(recording: Recording) -> np.ndarray:
    if "time" not in recording.samples:
        raise ArgumentError(
            f"recording has samples columns {list(recording.samples.columns)}; expected a 'time' column (s) with "
            f"the time of each frame, as read_ophys, bin_spikes and load_fmri give"
        )
    try:
        t = recording.samples["time"].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"recording samples['time'] is not numeric ({exc}); expected frame times (s)") from exc
    if not np.isfinite(t).all() or (np.diff(t) <= 0).any():
        raise ArgumentError("recording samples['time'] is not finite and increasing; expected one time (s) per "
                            "frame, in order")
    return t


def _onsets(table: pd.DataFrame, column: str, where: str) -> np.ndarray:
    try:
        values = table[column].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataFormatError(f"{where}: field '{column}' is not numeric ({exc}); expected times in seconds") from exc
    bad = ~np.isfinite(values)
    if bad.any():
        raise DataFormatError(f"{where}: field '{column}' has {int(bad.sum())} missing or infinite values (rows "
                              f"{describe_values(np.flatnonzero(bad))}); expected finite times in seconds")
    return values


def _window_means(data: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mean of the rows ``[a[k], b[k])`` of ``data`` (frames x units), NaN frames skipped: (n_windows, n_units).

    One cumulative sum over frames per chunk of units (float64); a window is the difference
    of two of its rows. Empty windows give NaN.
    """
    n_frames, n_units = data.shape
    out = np.empty((len(a), n_units))
    step = max(1, _CHUNK_ELEMENTS // max(n_frames + 1, 1))
    for c0 in range(0, n_units, step):
        block = np.asarray(data[:, c0 : c0 + step], dtype=np.float64)
        finite = np.isfinite(block)
        csum = np.zeros((n_frames + 1, block.shape[1]))
        if finite.all():
            np.cumsum(block, axis=0, out=csum[1:])
            counts = (b - a).astype(np.float64)[:, None]
        else:
            np.cumsum(np.where(finite, block, 0.0), axis=0, out=csum[1:])
            ccount = np.zeros((n_frames + 1, block.shape[1]))
            np.cumsum(finite, axis=0, out=ccount[1:])
            counts = ccount[b] - ccount[a]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, c0 : c0 + block.shape[1]] = (csum[b] - csum[a]) / counts
    return out


def _interpolate(data: np.ndarray, t: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column of ``data`` (frames x units) at times ``q``; NaN outside ``t``."""
    n = len(t)
    if n < 2:
        out = np.full((len(q), data.shape[1]), np.nan)
        out[q == t[0]] = data[0] if n else np.nan
        return out
    j = np.clip(np.searchsorted(t, q, side="right") - 1, 0, n - 2)
    w = ((q - t[j]) / (t[j + 1] - t[j]))[:, None]
    out = data[j].astype(np.float64) * (1.0 - w) + data[j + 1].astype(np.float64) * w
    out[(q < t[0]) | (q > t[-1])] = np.nan
    exact_end = q == t[-1]
    out[exact_end] = data[-1]
    return out


def event_average(recording: Recording, intervals="stimulus", window=(0.0, 0.5), *, bin_size=None, by=None,
                  method: str = "bin") -> Recording:
    """Trial-aligned responses of a continuous Recording (frames x units with ``samples["time"]``).

    Parameters
    ----------
    recording : Recording
        A time series: :func:`read_ophys` (ROI traces), :func:`~neurotk.io.bin_spikes`,
        :func:`~neurotk.io.load_fmri` ... ``samples["time"]`` is the time (s) of each frame.
    intervals : str, DataFrame, dict or array, default "stimulus"
        As for :func:`~neurotk.io.count_spikes`: a table of the recording's NWB file by
        name (``meta["path"]``; see :func:`~neurotk.io.read_intervals`: ``"stimulus"``,
        ``"trials"`` ...), a table with ``start_time`` (and ``stop_time``), or onset times (s).
    window : (float, float) or "interval", default (0.0, 0.5)
        ``[start_time + window[0], start_time + window[1])`` for each row; ``"interval"``:
        ``[start_time, stop_time)`` (only without ``bin_size``).
    bin_size : float, optional
        Without it: one response per interval, the mean over the window. With it: a time
        course per interval, bins (or samples) every ``bin_size`` s from ``window[0]``.
    by : str or list of str, optional
        Average the intervals sharing these columns (e.g. ``"stimulus_id"``); NaN ignored.
    method : {"bin", "interpolate"}, default "bin"
        ``"bin"`` (frame binning): the mean of the frames whose time lies in the window or
        bin, half-open as for spike counts, NaN frames skipped, NaN for a window with no
        frame; this is what the Allen Brain Observatory's mean sweep response computes (the
        mean dF/F over a presentation's frames), and what a frame-rate-independent count
        of spikes would give. ``"interpolate"`` (needs ``bin_size``): each trace linearly
        interpolated at ``onset + window[0] + k * bin_size`` (``np.interp`` per unit; NaN
        outside the recording), for time courses finer than the frames or aligned across
        planes of different frame times.

    Returns
    -------
    Recording
        Without ``bin_size``: one sample per interval with the interval columns, as
        :func:`~neurotk.io.count_spikes`. With ``bin_size``: one sample per (interval,
        bin), interval-major, with ``trial``, ``time`` (bin start or sample time relative
        to the onset, s), ``bin_stop`` (``"bin"``) and the interval columns, as
        :func:`~neurotk.io.psth`. With ``by``: the mean per group (and time). ``meta``:
        the recording's, with ``intervals``, ``window``, ``method``, ``bin_size``.

    Raises
    ------
    ArgumentError
        No ``samples["time"]``, a bad window, method or ``by``.
    DataFormatError
        Missing or NaN interval times, an unknown interval table.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording
    >>> from neurotk.io import event_average
    >>> t = np.arange(100) / 10.0  # 10 Hz frames
    >>> rec = Recording(np.stack([t, 2 * t], 1), samples={"time": t})
    >>> event_average(rec, [1.0, 5.0], window=(0.0, 0.5)).data.tolist()
    [[1.2, 2.4], [5.2, 10.4]]
    >>> event_average(rec, [1.0], window=(0.0, 0.3), bin_size=0.15, method="interpolate").data[:, 0].tolist()
    [1.0, 1.15]
    """
    if not isinstance(recording, Recording):
        raise ArgumentError(f"recording has type {type(recording).__name__}; expected a Recording with "
                            f"samples['time']")
    method = check_choice(method, "method", ("bin", "interpolate"))
    window = check_window(window, allow_interval=bin_size is None and method == "bin")
    if bin_size is not None:
        bin_size = check_float(bin_size, "bin_size", low=0, low_open=True, unit="seconds")
    elif method == "interpolate":
        raise ArgumentError("method='interpolate' needs bin_size (the step of the time grid, s); expected a "
                            "positive bin_size, or method='bin' for one mean per interval")
    t = _frame_clock(recording)
    path = recording.meta.get("path")
    table, label = as_intervals(intervals, path)
    where = str(path) if label != "table" else "intervals"
    where = f"{where}: intervals/{label}" if label != "table" else where
    cols = None if by is None else ([by] if isinstance(by, str) else list(by))
    if cols is not None and [c for c in cols if c not in table.columns]:
        missing = [c for c in cols if c not in table.columns]
        raise ArgumentError(f"by={by!r}: no column {missing} in the intervals; columns are {list(table.columns)}")
    onset = _onsets(table, "start_time", where)
    data = recording.data
    n_trials = len(onset)
    meta = dict(recording.meta, intervals=label, method=method, bin_size=bin_size,
                window=window if isinstance(window, str) else tuple(window))
    if bin_size is None:
        if window == "interval":
            if "stop_time" not in table:
                raise ArgumentError(f"window='interval' needs a stop_time column; the intervals have "
                                    f"{list(table.columns)}")
            a, b = onset, _onsets(table, "stop_time", where)
        else:
            a, b = onset + window[0], onset + window[1]
        ia, ib = np.searchsorted(t, a, side="left"), np.searchsorted(t, b, side="left")
        out = _window_means(data, ia, np.maximum(ib, ia))
        samples = table.reset_index(drop=True)
    else:
        w0, w1 = window
        n_bins = max(1, int(np.ceil((w1 - w0) / bin_size - 1e-9)))
        offsets = w0 + np.arange(n_bins + 1) * bin_size
        if method == "bin":
            edges = onset[:, None] + offsets[None, :]
            j = np.searchsorted(t, edges, side="left")
            out = _window_means(data, j[:, :-1].ravel(), j[:, 1:].ravel())
        else:
            out = _interpolate(data, t, (onset[:, None] + offsets[None, :-1]).ravel())
        samples = table.loc[np.repeat(np.arange(n_trials), n_bins)].reset_index(drop=True)
        if method == "bin":
            samples.insert(0, "bin_stop", np.tile(offsets[1:], n_trials))
        samples.insert(0, "time", np.tile(offsets[:-1], n_trials))
        samples.insert(0, "trial", np.repeat(np.arange(n_trials), n_bins))
    out = out.astype(data.dtype if data.dtype.kind == "f" else np.float64, copy=False)
    rec = Recording(out, samples, recording.units, meta, allow_nan=bool(np.isnan(out).any()), copy=False)
    if cols is not None:
        rec = rec.average(by=[*cols, "time"] if bin_size is not None else cols)
    return rec
