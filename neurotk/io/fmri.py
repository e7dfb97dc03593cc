"""fMRI volumes -> Recordings: masking, ROI averages and the way back to images.

:func:`load_fmri` turns 4-D NIfTI runs (``.nii`` or ``.nii.gz``, or any nibabel image)
into a :class:`~neurotk.Recording` of volumes x voxels, keeping each voxel's indices
(``i``, ``j``, ``k``) and, with a label atlas, its ROI in ``units``; :func:`roi_average`
averages the voxels of each ROI; :func:`to_nifti` puts any per-voxel result back into the
image's space. The event GLM of such recordings is :func:`neurotk.encoding.glm`.

Images are read in bounded memory. An uncompressed file is memory-mapped; a compressed
file is decompressed once, front to back, a chunk of volumes at a time, into one
reused buffer. Only the masked voxels of each chunk are kept (one fancy index per
chunk), so the peak working memory is the output plus one chunk
(``chunk_voxels`` values), never the whole 4-D array in float64. Values are scaled
exactly as nibabel's ``get_fdata`` scales them (``scl_slope``, ``scl_inter``), so
``load_fmri(img, mask).data`` equals ``img.get_fdata()[mask].T`` bit for bit.

Files are opened read-only and never modified; :func:`to_nifti` writes to a temporary
name and renames it.
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_float, check_int
from ..errors import (
    ArgumentError,
    DataFormatError,
    NeurotkWarning,
    ShapeMismatchError,
    describe_values,
)
from ..recording import Recording
from ..utils import atomic_path, label_key
from ._files import check_input_path
from ._memory import check_memory, format_bytes

__all__ = ["load_fmri", "roi_average", "to_nifti"]

#: Image values (voxels x volumes) read at once by default: 1 Mi values, 4 MiB of
#: float32 or 2 MiB of int16 (small chunks stay in the CPU cache: faster than large ones).
DEFAULT_CHUNK_VOXELS = 1 << 20

_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}


# --------------------------------------------------------------------------- image access
def _nib():
    import nibabel

    return nibabel


def _describe(source, name: str | None = None) -> str:
    if name:
        return name
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    filename = getattr(source, "get_filename", lambda: None)()
    return str(filename) if filename else f"<in-memory {type(source).__name__}>"


def _open_image(source, what: str = "image"):
    """A nibabel image and the name used in messages, from a path or an image."""
    nib = _nib()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise DataFormatError(f"{what} {path}: no such file")
        check_input_path(path, f"a NIfTI/nibabel {what} file")  # a FIFO named .nii would block forever
        try:
            img = nib.load(path)
        except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError ...
            raise DataFormatError(
                f"{what} {path}: not a readable NIfTI/nibabel image ({type(exc).__name__}: {exc}); expected "
                f"a NIfTI-1/2 (.nii, .nii.gz) or other nibabel image. The file may be truncated or corrupt"
            ) from exc
        _check_header(img, f"{what} {path}")
        return img, str(path)
    if hasattr(source, "dataobj") and hasattr(source, "affine") and hasattr(source, "shape"):
        _check_header(source, f"{what} {_describe(source)}")
        return source, _describe(source)
    raise ArgumentError(
        f"{what} has type {type(source).__name__}; expected a path to a .nii/.nii.gz file or a "
        f"nibabel image"
    )


#: Deflate never expands more than 1032:1 (RFC 1951: a 258-byte match costs at least two
#: bits), so a gzip file of n bytes holds at most about 1032 n bytes (plus slack for headers).
_GZIP_MAX_RATIO = 1032
_GZIP_SLACK = 1 << 16


def _check_dtype(dtype, name: str, what: str = "image") -> None:
    """Refuse image types that are not real numbers (complex, RGB24/RGBA32 records, strings)."""
    dtype = np.dtype(dtype)
    if dtype.kind in "biuf" and not dtype.names:
        return
    if dtype.kind == "c":
        found = f"complex values ({dtype})"
    elif dtype.names:
        found = f"colour or record values ({'/'.join(dtype.names)}, {dtype})"
    else:
        found = f"values of type {dtype}"
    raise DataFormatError(f"{name}: the {what} holds {found}; expected real numbers (integer or float voxels)")


def _check_header(img, name: str) -> None:
    """Check what an image's header declares before anything is allocated or read.

    Negative dimensions and non-real data types are refused; for a file-backed image the
    declared data size (a Python int: no overflow) is compared with the file: an
    uncompressed file must hold ``offset + size`` bytes, a gzip file at most 1032 times its
    own size (the deflate limit), and a missing data file (the ``.img`` of a ``.hdr``) is
    named. A size that passes is still compared with the memory available where the data
    are allocated (:func:`~neurotk.io._memory.check_memory`).
    """
    header = getattr(img, "header", None)
    try:
        shape = tuple(int(n) for n in (header.get_data_shape() if header is not None else img.shape))
    except (AttributeError, TypeError, ValueError):
        shape = tuple(int(n) for n in img.shape)
    if any(n < 0 for n in shape):
        raise DataFormatError(f"{name}: the header declares shape {shape}, with a negative dimension; expected "
                              f"non-negative dimensions. The file may be corrupt")
    try:
        dtype = np.dtype(img.get_data_dtype())
    except (AttributeError, TypeError, ValueError):
        dtype = np.dtype(getattr(img.dataobj, "dtype", np.float64))
    _check_dtype(dtype, name)
    proxy = img.dataobj
    file_map = getattr(img, "file_map", None) or {}
    holder = file_map.get("image")
    filename = getattr(holder, "filename", None)
    if filename is None or not hasattr(proxy, "offset"):
        return  # an in-memory array: already allocated
    data_path = Path(filename)
    if not data_path.exists():
        raise DataFormatError(f"{name}: its image data file {data_path} is missing; expected the header's data "
                              f"file (a .hdr needs its .img beside it)")
    check_input_path(data_path, "an image data file")
    need = math.prod(shape) * dtype.itemsize
    offset = int(getattr(proxy, "offset", 0) or 0)
    size = data_path.stat().st_size
    declared = f"the header declares shape {shape} of {dtype} ({format_bytes(need)})"
    if data_path.name.lower().endswith(".gz"):
        if offset + need > _GZIP_MAX_RATIO * size + _GZIP_SLACK:
            raise DataFormatError(
                f"{name}: {declared}, but a gzip file of {size} bytes holds at most about "
                f"{format_bytes(_GZIP_MAX_RATIO * size + _GZIP_SLACK)} (deflate expands at most 1032:1); expected a "
                f"header whose shape matches its data. The header is corrupt or hostile"
            )
    elif not data_path.name.lower().endswith((".bz2", ".zst", ".xz")) and size < offset + need:
        raise DataFormatError(
            f"{name}: {declared} from offset {offset}, {offset + need} bytes, but the file {data_path.name} has "
            f"{size} bytes; expected the whole image its header describes. The file is truncated or its header "
            f"corrupt"
        )


def _spatial_and_volumes(img, name: str) -> tuple[tuple[int, int, int], int]:
    shape = tuple(int(n) for n in img.shape)
    while len(shape) > 4 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) == 3:
        return shape, 1
    if len(shape) == 4:
        return shape[:3], shape[3]
    raise DataFormatError(
        f"{name}: image has shape {tuple(img.shape)} ({len(img.shape)}-D); expected a 4-D "
        f"image (x, y, z, volumes) or a 3-D single volume"
    )


def _repetition_time(img, name: str) -> float | None:
    zooms = img.header.get_zooms()
    if len(zooms) < 4 or not np.isfinite(zooms[3]) or zooms[3] <= 0:
        return None
    tr = float(zooms[3])
    try:
        unit = img.header.get_xyzt_units()[1]
    except (AttributeError, KeyError):  # headers without units (Analyze), or an invalid unit code
        unit = "unknown"
    tr *= _TIME_UNITS.get(unit, 1.0)
    if tr > 100:
        warnings.warn(
            f"{name}: the header's repetition time is {tr:g} s (time units {unit!r}), which "
            f"looks like milliseconds; pass tr= (seconds) to override it",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )
    return tr


def _raw_chunks(img, name: str, n_spatial: int, n_volumes: int, chunk_volumes: int):
    """Yield ``(start, raw)`` with ``raw`` of shape (n, n_spatial) in F-order voxel layout.

    Returns None (instead of a generator) when the image is not a plain file-backed
    array proxy; the caller then slices ``img.dataobj``.
    """
    nib = _nib()
    proxy = img.dataobj
    if not isinstance(proxy, nib.arrayproxy.ArrayProxy) or getattr(proxy, "order", "F") != "F":
        return None
    try:
        file_like, offset, dtype = proxy.file_like, int(proxy.offset), np.dtype(proxy.dtype)
    except (AttributeError, TypeError, ValueError):
        return None
    if int(np.prod(proxy.shape)) != n_spatial * n_volumes:
        return None
    nbytes = n_spatial * n_volumes * dtype.itemsize
    compressed = not isinstance(file_like, (str, os.PathLike)) or str(file_like).lower().endswith(
        (".gz", ".bz2", ".zst")
    )
    if not compressed:
        size = os.path.getsize(file_like)
        if size < offset + nbytes:
            raise DataFormatError(
                f"{name}: file is truncated: {size} bytes, but the header's shape "
                f"{tuple(proxy.shape)} of {dtype} from offset {offset} needs {offset + nbytes}; expected the "
                f"whole image"
            )
        return _memmap_chunks(file_like, name, offset, dtype, n_spatial, n_volumes, chunk_volumes)
    return _stream_chunks(file_like, name, offset, dtype, n_spatial, n_volumes, chunk_volumes)


def _memmap_chunks(path, name, offset, dtype, n_spatial, n_volumes, chunk_volumes):
    try:
        mm = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(n_volumes, n_spatial))
    except (ValueError, OverflowError, OSError) as exc:  # a garbled header: negative sizes, offsets ...
        raise DataFormatError(
            f"{name}: the image data could not be mapped ({type(exc).__name__}: {exc}; header shape "
            f"{n_volumes} volumes x {n_spatial} voxels of {dtype} from offset {offset}); expected the whole "
            f"image its header describes. The file may be corrupt"
        ) from exc
    try:
        for start in range(0, n_volumes, chunk_volumes):
            yield start, mm[start : start + chunk_volumes]
    finally:
        del mm


def _stream_chunks(file_like, name, offset, dtype, n_spatial, n_volumes, chunk_volumes):
    from nibabel.openers import ImageOpener

    buffer = np.empty(min(chunk_volumes, n_volumes) * n_spatial, dtype=dtype)
    try:
        with ImageOpener(file_like, "rb") as f:
            f.seek(offset)
            for start in range(0, n_volumes, chunk_volumes):
                n = min(chunk_volumes, n_volumes - start)
                view = buffer[: n * n_spatial]
                got = f.readinto(memoryview(view).cast("B"))
                if got != view.nbytes:
                    raise DataFormatError(
                        f"{name}: file is truncated: the data end in volume {start + got // (n_spatial * dtype.itemsize)} "
                        f"of {n_volumes} (header shape needs {n_volumes * n_spatial * dtype.itemsize} "
                        f"bytes of {dtype} from offset {offset}); expected the whole image"
                    )
                yield start, view.reshape(n, n_spatial)
            f.read(1)  # reach the end of the stream so gzip checks its CRC and length
    except DataFormatError:
        raise
    except (EOFError, OSError, ValueError) as exc:
        raise DataFormatError(
            f"{name}: file is truncated or corrupt ({type(exc).__name__}: {exc}); expected the whole image "
            f"its header describes"
        ) from exc
    except Exception as exc:  # zlib.error, BadGzipFile, lzma/zstd errors ...
        raise DataFormatError(
            f"{name}: file is corrupt ({type(exc).__name__}: {exc}); expected the whole image its header describes"
        ) from exc


def _scale_factors(img, dtype):
    """Slope and intercept as nibabel's ``get_fdata(dtype=dtype)`` applies them."""
    proxy = img.dataobj
    slope = np.asanyarray(getattr(proxy, "slope", 1.0))
    inter = np.asanyarray(getattr(proxy, "inter", 0.0))
    if np.can_cast(slope.dtype, dtype):
        slope = slope.astype(dtype)
    if np.can_cast(inter.dtype, dtype):
        inter = inter.astype(dtype)
    return slope, inter


def _iter_masked(img, name, mask_flat_f, mask3, chunk_volumes, dtype):
    """Yield ``(start, block)``: block (n_volumes_in_chunk, n_masked) of scaled values."""
    from nibabel.volumeutils import apply_read_scaling

    spatial, n_volumes = _spatial_and_volumes(img, name)
    n_spatial = int(np.prod(spatial))
    chunks = _raw_chunks(img, name, n_spatial, n_volumes, chunk_volumes)
    if chunks is not None:
        slope, inter = _scale_factors(img, dtype)
        for start, raw in chunks:
            block = raw[:, mask_flat_f] if mask_flat_f is not None else np.array(raw)
            yield start, apply_read_scaling(block, slope, inter)
        return
    dataobj = img.dataobj
    for start in range(0, n_volumes, chunk_volumes):
        try:
            if len(img.shape) == 3:
                chunk = np.asanyarray(dataobj, dtype=dtype)[..., None]
            else:
                index = (slice(None),) * 3 + (slice(start, start + chunk_volumes),)
                index += (0,) * (len(img.shape) - 4)
                chunk = np.asanyarray(dataobj[index], dtype=dtype)
        except (EOFError, OSError, ValueError) as exc:
            raise DataFormatError(
                f"{name}: image data could not be read; the file is truncated or corrupt "
                f"({type(exc).__name__}: {exc}); expected the whole image its header describes"
            ) from exc
        if mask3 is None:
            yield start, chunk.reshape(n_spatial, -1, order="F").T
        else:
            yield start, chunk[mask3].T


# --------------------------------------------------------------------------- masks, atlases
def _same_space(img, name, other, other_name, what):
    spatial, _ = _spatial_and_volumes(img, name)
    other_shape = tuple(int(n) for n in other.shape)
    extra = other_shape[4:] if what == "run" else other_shape[3:]
    if other_shape[:3] != spatial or any(n != 1 for n in extra):
        raise DataFormatError(
            f"{what} {other_name} has shape {other_shape}, but image {name} has spatial shape "
            f"{spatial}; expected the same voxel grid (resample the {what} to the image first)"
        )
    if not np.allclose(other.affine, img.affine, rtol=1e-5, atol=1e-4):
        raise DataFormatError(
            f"{what} {other_name} has affine\n{np.round(other.affine, 4)}\nbut image {name} has "
            f"affine\n{np.round(img.affine, 4)}\nexpected the same voxel-to-world mapping "
            f"(resample the {what} to the image first)"
        )


def _volume_from(source, img, name, what):
    """3-D array of a mask/atlas given as a path, an image or an array; checked against img."""
    spatial, _ = _spatial_and_volumes(img, name)
    if isinstance(source, np.ndarray):
        arr = np.asarray(source)
        _check_dtype(arr.dtype, f"{what} array", what)
        if arr.shape != spatial:
            raise DataFormatError(
                f"{what} array has shape {arr.shape}, but image {name} has spatial shape "
                f"{spatial}; expected the same shape"
            )
        return arr, f"{what} array"
    other, other_name = _open_image(source, what)
    _same_space(img, name, other, other_name, what)
    try:
        arr = np.asanyarray(other.dataobj)
    except Exception as exc:
        raise DataFormatError(
            f"{what} {other_name}: data could not be read; truncated or corrupt file "
            f"({type(exc).__name__}: {exc}); expected the whole image its header describes"
        ) from exc
    return arr.reshape(spatial), other_name


def _mask_array(mask, img, name) -> tuple[np.ndarray, str]:
    arr, mask_name = _volume_from(mask, img, name, "mask")
    if arr.dtype == bool:
        out = arr
    else:
        with np.errstate(invalid="ignore"):
            out = np.isfinite(arr) & (arr != 0)
    if not out.any():
        raise DataFormatError(f"{mask_name} selects no voxels; expected at least one non-zero voxel")
    return out, mask_name


def _default_mask(imgs, names, chunk_voxels) -> np.ndarray:
    """Voxels finite in every volume of every run that vary over time (non-zero variance).

    For single-volume images: finite, non-zero voxels.
    """
    keep = None
    for img, name in zip(imgs, names):
        spatial, n_volumes = _spatial_and_volumes(img, name)
        n_spatial = int(np.prod(spatial))
        chunk_volumes = max(1, chunk_voxels // n_spatial)
        itemsize = np.dtype(getattr(img.dataobj, "dtype", np.float64)).itemsize
        check_memory(n_spatial * (8 + 8 + 1 + 1) + min(chunk_volumes, n_volumes) * n_spatial * (itemsize + 16),
                     f"{name}: the default mask of {n_spatial} voxels ({spatial}, {n_volumes} volumes)",
                     "pass mask= or check the image's header", error=DataFormatError)
        lo = np.full(n_spatial, np.inf)
        hi = np.full(n_spatial, -np.inf)
        finite = np.ones(n_spatial, dtype=bool)
        for _, block in _iter_masked(img, name, None, None, chunk_volumes, np.float64):
            finite &= np.isfinite(block).all(axis=0)
            with np.errstate(invalid="ignore"):
                np.fmin(lo, block.min(axis=0), out=lo)
                np.fmax(hi, block.max(axis=0), out=hi)
        good = finite & ((hi > lo) if n_volumes > 1 else (hi != 0))
        good = good.reshape(spatial, order="F")
        keep = good if keep is None else keep & good
    if not keep.any():
        raise DataFormatError(
            f"{names[0]}: no voxel is finite and varies over time, so the default mask is "
            f"empty; expected some voxels with finite, varying values, or pass mask= explicitly"
        )
    return keep


def _label_ids(values: np.ndarray, what: str) -> np.ndarray:
    """Integer ROI ids of an atlas's voxel values: floats rounded, NaN/inf as 0 (no ROI).

    Float labels beyond 2**53 are not whole numbers a float can hold exactly (a label of
    1e20 became the id -9223372036854775808), so they are refused.
    """
    if values.dtype.kind not in "fiub":
        raise DataFormatError(f"{what}: labels of dtype {values.dtype}; expected integer (or whole-number) labels")
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        too_big = finite & (np.abs(values) >= 2.0**53)
        if too_big.any():
            raise DataFormatError(
                f"{what}: label {values[too_big][0]:.6g} is beyond the whole numbers a float holds exactly "
                f"(|label| < 2**53); expected integer ROI labels")
        return np.where(finite, np.rint(values), 0).astype(np.int64)
    return values.astype(np.int64)


def _read_labels(atlas_labels) -> dict:
    if atlas_labels is None:
        return {}
    if isinstance(atlas_labels, Mapping):
        return {label_key(k): str(v) for k, v in atlas_labels.items()}
    if isinstance(atlas_labels, (str, os.PathLike)):
        path = Path(atlas_labels)
        if not path.exists():
            raise DataFormatError(f"atlas_labels {path}: no such file")
        try:
            table = pd.read_csv(path, sep=None, engine="python")
        except Exception as exc:
            raise DataFormatError(f"atlas_labels {path}: not a readable table ({exc})") from exc
        name = str(path)
    elif isinstance(atlas_labels, pd.DataFrame):
        table, name = atlas_labels, "atlas_labels table"
    else:
        raise ArgumentError(
            f"atlas_labels has type {type(atlas_labels).__name__}; expected a dict of label -> "
            f"name, a DataFrame or a .tsv file with 'index' and 'name' columns"
        )
    cols = {c.lower(): c for c in table.columns}
    index_col = next((cols[c] for c in ("index", "label", "id", "value") if c in cols), None)
    name_col = next((cols[c] for c in ("name", "label_name", "roi_name", "region") if c in cols), None)
    if index_col is None or name_col is None or index_col == name_col:
        raise DataFormatError(
            f"{name} has columns {list(table.columns)}; expected an 'index' column (label "
            f"values) and a 'name' column"
        )
    return {label_key(k): str(v) for k, v in zip(table[index_col], table[name_col])}


# --------------------------------------------------------------------------- load_fmri
def load_fmri(
    img,
    mask=None,
    atlas=None,
    atlas_labels=None,
    runs=None,
    dtype=np.float64,
    chunk_voxels: int = DEFAULT_CHUNK_VOXELS,
    *,
    tr: float | None = None,
    average_rois: bool = False,
) -> Recording:
    """Read 4-D fMRI runs into a Recording of volumes x voxels.

    Parameters
    ----------
    img : str, Path, nibabel image, or a list of them
        One run, or several runs (same voxel grid), concatenated along samples with a
        ``run`` column. A 3-D image is read as a single volume.
    mask : str, Path, nibabel image or bool array, optional
        Voxels to keep (non-zero, finite values of a mask image). Its shape and affine
        must match the image's. By default every voxel that is finite in every volume of
        every run and varies over time (non-zero variance; for single volumes: finite and
        non-zero), which needs one extra pass over the data.
    atlas : str, Path, nibabel image or int array, optional
        Label image on the same grid (0 = no ROI): adds units columns ``roi`` (label)
        and ``roi_name``.
    atlas_labels : dict, DataFrame, str or Path, optional
        Label -> name, or a table (TSV) with ``index`` and ``name`` columns as
        :func:`~neurotk.datasets.simulate_fmri` writes. Labels without a name get
        ``str(label)``; voxels outside every ROI get ``""``.
    runs : sequence, optional
        One label per run for the ``run`` column; defaults to 1, 2, ...
    dtype : {np.float64, np.float32}, default np.float64
        Output precision. Values are scaled as by nibabel's ``get_fdata(dtype=dtype)``.
    chunk_voxels : int, default 1 Mi (2**20)
        Image values (spatial voxels x volumes) read at once, rounded down to whole
        volumes (at least one); the peak working memory is the output plus about two
        chunks.
    tr : float, optional
        Repetition time in seconds; by default, for a BIDS image path
        (``..._bold.nii[.gz]``), the ``RepetitionTime`` of its JSON sidecar (see
        :func:`neurotk.io.read_bids_run`), else the header's fourth zoom (converted from
        ms or us when the header says so).
    average_rois : bool, default False
        Return :func:`roi_average` of the result (needs ``atlas``).

    Returns
    -------
    Recording
        ``(n_volumes, n_voxels)`` (summed over runs). ``samples``: ``volume`` (index in
        its run), ``time`` (s, ``volume * tr``; NaN without a TR), ``run``. ``units``:
        ``unit_id``, ``i``, ``j``, ``k`` (voxel indices, in C order of the mask, as
        ``data[mask]``), plus ``roi``, ``roi_name`` with an atlas. ``meta``: ``path``
        (first run), ``paths`` (all runs), ``affine`` (4 x 4 nested list), ``shape``
        (spatial), ``n_volumes`` (per run), ``tr``, ``sampling_rate``, ``zooms``,
        ``units_of_measure``, ``mask`` (its file, if any), ``name``.

    Raises
    ------
    DataFormatError
        A missing, truncated or corrupt file; an image that is not 3-D or 4-D; a mask or
        atlas whose shape or affine differs from the image (naming both files); runs on
        different grids; NaN or infinite values inside the mask; an empty mask.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from neurotk.io import load_fmri
    >>> data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    >>> img = nib.Nifti1Image(data, np.eye(4))
    >>> mask = np.zeros((2, 3, 4), dtype=bool); mask[0, 1, 2] = mask[1, 2, 3] = True
    >>> rec = load_fmri(img, mask=mask, tr=2.0)
    >>> rec.shape
    (5, 2)
    >>> rec.units[["i", "j", "k"]].values.tolist()
    [[0, 1, 2], [1, 2, 3]]
    >>> bool(np.array_equal(rec.data, data[mask].T))
    True
    >>> rec.samples["time"].tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0]
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ArgumentError(f"dtype={dtype}; expected float64 or float32")
    chunk_voxels = check_int(chunk_voxels, "chunk_voxels", minimum=1)
    check_float(tr, "tr", low=0, low_open=True, unit="seconds", allow_none=True)  # kept as given (int or float)

    sources = list(img) if isinstance(img, (list, tuple)) else [img]
    if not sources:
        raise ArgumentError("img is an empty list; expected one or more images")
    opened = [_open_image(s) for s in sources]
    imgs = [o[0] for o in opened]
    names = [o[1] for o in opened]
    if len(names) > 1:
        names = [f"{nm[:-1]} of run {i + 1}>" if nm.startswith("<in-memory") else nm for i, nm in enumerate(names)]
    if runs is None:
        runs = list(range(1, len(imgs) + 1))
    else:
        runs = list(runs) if not isinstance(runs, (str, bytes)) and np.ndim(runs) else [runs]
        if len(runs) != len(imgs):
            raise ShapeMismatchError(f"runs has {len(runs)} labels for {len(imgs)} images; expected one per run")
        if len(set(map(label_key, runs))) != len(runs):
            raise ArgumentError(f"runs={runs!r} repeats labels; expected one unique label per run")

    first, first_name = imgs[0], names[0]
    spatial, _ = _spatial_and_volumes(first, first_name)
    n_volumes = [_spatial_and_volumes(im, nm)[1] for im, nm in zip(imgs, names)]
    for im, nm in zip(imgs[1:], names[1:]):
        _same_space(first, first_name, im, nm, "run")

    trs = [tr] * len(imgs)
    if tr is None:
        from .bidsnames import bids_repetition_time

        for index, (src, im, nm) in enumerate(zip(sources, imgs, names)):
            # a BIDS image: the JSON sidecar's RepetitionTime, as BIDS intends; else the header
            sidecar_tr = bids_repetition_time(src) if isinstance(src, (str, os.PathLike)) else None
            trs[index] = sidecar_tr if sidecar_tr is not None else _repetition_time(im, nm)
    known = [t for t in trs if t is not None]
    if known and not np.allclose(known, known[0], rtol=1e-4):
        raise DataFormatError(
            f"runs have different repetition times {describe_values(trs)} s ({describe_values(names)}); "
            f"expected one TR (pass tr= to override the headers)"
        )
    run_tr = known[0] if known else None

    mask_name = None
    if mask is None:
        mask3 = _default_mask(imgs, names, chunk_voxels)
    else:
        mask3, mask_name = _mask_array(mask, first, first_name)
    ijk = np.argwhere(mask3)  # C order: the order of data[mask]
    flat_f = np.ravel_multi_index(ijk.T, spatial, order="F")
    n_spatial = int(np.prod(spatial))
    chunk_volumes = max(1, int(chunk_voxels) // n_spatial)

    total = int(sum(n_volumes))
    check_memory(total * len(ijk) * dtype.itemsize, f"{first_name}: {total} volumes x {len(ijk)} masked voxels of {dtype}",
                 "use a smaller mask, dtype=np.float32 or fewer runs, or check the image's header",
                 error=DataFormatError)
    out = np.empty((total, len(ijk)), dtype=dtype)
    row = 0
    for im, nm, nv in zip(imgs, names, n_volumes):
        slope = np.asarray(getattr(im.dataobj, "slope", 1.0), dtype=np.float64)
        inter = np.asarray(getattr(im.dataobj, "inter", 0.0), dtype=np.float64)
        scaled = bool((slope != 1).any() or (inter != 0).any())
        # integer voxels are finite, but a header's scl_slope / scl_inter can overflow the output type
        check = np.dtype(getattr(im.dataobj, "dtype", np.float64)).kind not in "iub" or scaled
        for start, block in _iter_masked(im, nm, flat_f, mask3, chunk_volumes, dtype):
            target = out[row + start : row + start + block.shape[0]]
            with np.errstate(over="ignore", invalid="ignore"):
                target[...] = block
            if check and not np.isfinite(target).all():
                bad_t, bad_v = np.argwhere(~np.isfinite(target))[0]
                n_bad = int((~np.isfinite(target)).sum())
                why = (f" after the header's scaling (scl_slope {slope.ravel()[0]:g}, scl_inter {inter.ravel()[0]:g}, "
                       f"output {dtype})" if scaled else "")
                raise DataFormatError(
                    f"{nm}: {n_bad}+ NaN or infinite values inside the mask{why} (first at voxel "
                    f"(i, j, k) = {tuple(int(v) for v in ijk[bad_v])}, volume {start + int(bad_t)}); "
                    f"expected finite values in every masked voxel (use a mask that excludes them"
                    + (", or dtype=np.float64" if scaled and dtype != np.float64 else "") + ")"
                )
        row += nv

    units = pd.DataFrame({"unit_id": np.arange(len(ijk)), "i": ijk[:, 0], "j": ijk[:, 1], "k": ijk[:, 2]})
    if atlas is not None:
        atlas_arr, _ = _volume_from(atlas, first, first_name, "atlas")
        labels = _label_ids(np.asarray(atlas_arr)[mask3],
                            f"atlas {atlas}" if isinstance(atlas, (str, os.PathLike)) else "atlas")
        names_by_label = _read_labels(atlas_labels)
        unique = np.unique(labels)
        lookup = {int(u): ("" if u == 0 else names_by_label.get(int(u), str(int(u)))) for u in unique}
        units["roi"] = labels
        units["roi_name"] = pd.Series(labels).map(lookup).to_numpy(dtype=object)
    elif atlas_labels is not None:
        raise ArgumentError("atlas_labels given without atlas; pass the label image as atlas=")

    run_labels = np.repeat(np.asarray(runs, dtype=object), n_volumes)
    if all(isinstance(r, (numbers.Integral, np.integer)) for r in runs):
        run_labels = run_labels.astype(np.int64)
    volume = np.concatenate([np.arange(nv) for nv in n_volumes])
    samples = pd.DataFrame({
        "volume": volume,
        "time": volume * (run_tr if run_tr is not None else np.nan),
        "run": run_labels,
    })
    zooms = [float(z) for z in first.header.get_zooms()[:3]]
    paths = [nm if isinstance(s, (str, os.PathLike)) or im.get_filename() else None
             for s, im, nm in zip(sources, imgs, names)]
    meta = {
        "name": Path(names[0]).name.split(".")[0] if paths[0] else "fmri",
        "path": paths[0],
        "paths": paths,
        "affine": np.asarray(first.affine, dtype=float).tolist(),
        "shape": tuple(int(n) for n in spatial),
        "n_volumes": [int(n) for n in n_volumes],
        "zooms": zooms,
        "tr": run_tr,
        "sampling_rate": (1.0 / run_tr) if run_tr else None,
        "units_of_measure": "BOLD (a.u.)",
        "mask": mask_name if mask is not None and mask_name != "mask array" else None,
        "source": "load_fmri",
    }
    rec = Recording(out, samples, units, meta, copy=False)
    if average_rois:
        if atlas is None:
            raise ArgumentError("average_rois=True needs atlas=; pass a label image")
        return roi_average(rec)
    return rec


# --------------------------------------------------------------------------- ROI average
def roi_average(recording: Recording, atlas=None, atlas_labels=None, include_background: bool = False) -> Recording:
    """Average the voxels of each ROI: a Recording of samples x ROIs.

    One sparse (voxels x ROIs) matrix of weights ``1 / n_voxels`` times the data: no loop
    over ROIs or voxels.

    Parameters
    ----------
    recording : Recording
        Voxels with a units column ``roi`` (from ``load_fmri(..., atlas=...)``), or with
        ``i``, ``j``, ``k`` when ``atlas`` is given here.
    atlas : str, Path, nibabel image or int array, optional
        Label image looked up at each voxel's ``i, j, k`` (replaces ``roi``).
    atlas_labels : dict, DataFrame, str or Path, optional
        ROI names, as for :func:`load_fmri`.
    include_background : bool, default False
        Keep label 0 (voxels in no ROI) as a unit of its own.

    Returns
    -------
    Recording
        ``(n_samples, n_rois)`` with the same ``samples``; ``units``: ``unit_id`` and
        ``roi`` (the label), ``roi_name``, ``n_voxels``, in increasing label order.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording
    >>> from neurotk.io import roi_average
    >>> rec = Recording(np.array([[1.0, 3.0, 10.0]]), units={"roi": [1, 1, 2]})
    >>> avg = roi_average(rec)
    >>> avg.data.tolist(), avg.units["n_voxels"].tolist()
    ([[2.0, 10.0]], [2, 1])
    """
    from scipy import sparse

    if not isinstance(recording, Recording):
        raise ArgumentError(f"recording has type {type(recording).__name__}; expected a Recording")
    units = recording.units
    meta = recording.meta
    if atlas is not None:
        missing = [c for c in ("i", "j", "k") if c not in units.columns]
        if missing:
            raise ArgumentError(f"roi_average(atlas=...) needs units columns i, j, k; missing {missing}")
        arr = _atlas_for(atlas, meta)
        ijk = units[["i", "j", "k"]].to_numpy(dtype=np.int64)
        labels = _label_ids(np.asarray(arr)[ijk[:, 0], ijk[:, 1], ijk[:, 2]], "atlas")
        names = _read_labels(atlas_labels)
        units["roi"] = labels
        lookup = {int(u): ("" if u == 0 else names.get(int(u), str(int(u)))) for u in np.unique(labels)}
        units["roi_name"] = pd.Series(labels).map(lookup).to_numpy(dtype=object)
    if "roi" not in units.columns:
        raise ArgumentError(
            "recording has no units column 'roi'; load it with load_fmri(..., atlas=...) or "
            "pass atlas= here"
        )
    labels = units["roi"].to_numpy()
    keep = np.ones(len(labels), dtype=bool) if include_background else ~pd.isna(labels) & (labels != 0)
    if not keep.any():
        raise ArgumentError("no voxel belongs to an ROI (every roi label is 0); expected at least one")
    roi_ids, codes, counts = np.unique(labels[keep], return_inverse=True, return_counts=True)
    cols = np.flatnonzero(keep)
    data = recording.data
    weights = sparse.csr_matrix(
        ((1.0 / counts[codes]).astype(data.dtype), (codes, cols)), shape=(len(roi_ids), recording.n_units)
    )
    means = np.ascontiguousarray((weights @ data.T).T)
    if "roi_name" in units.columns:
        first = pd.Series(units["roi_name"].to_numpy()[cols]).groupby(codes).first()
        roi_names = first.to_numpy(dtype=object)
    else:
        roi_names = np.array([str(v) for v in roi_ids], dtype=object)
    roi_ids = [label_key(v) for v in roi_ids]
    new_units = pd.DataFrame({"unit_id": roi_ids, "roi": roi_ids, "roi_name": roi_names, "n_voxels": counts})
    meta["history"] = [*meta.get("history", []), "roi_average"]
    meta["units_of_measure"] = meta.get("units_of_measure", "BOLD (a.u.)")
    return Recording(means, recording.samples, new_units, meta, allow_nan=recording.allow_nan, copy=False)


def _atlas_for(atlas, meta):
    shape = tuple(meta.get("shape", ()))
    if isinstance(atlas, np.ndarray):
        if shape and atlas.shape != shape:
            raise DataFormatError(f"atlas array has shape {atlas.shape}; expected the image's {shape}")
        return atlas
    img, name = _open_image(atlas, "atlas")
    if shape and tuple(img.shape[:3]) != shape:
        raise DataFormatError(
            f"atlas {name} has shape {tuple(img.shape)}, but the recording's image "
            f"({meta.get('path')}) has {shape}; expected the same voxel grid"
        )
    if "affine" in meta and not np.allclose(img.affine, np.asarray(meta["affine"]), rtol=1e-5, atol=1e-4):
        raise DataFormatError(
            f"atlas {name} has affine\n{np.round(img.affine, 4)}\nbut the recording's image "
            f"({meta.get('path')}) has\n{np.round(np.asarray(meta['affine']), 4)}\nexpected the same"
        )
    return np.asanyarray(img.dataobj).reshape(shape or img.shape[:3])


# --------------------------------------------------------------------------- to_nifti
def to_nifti(values, recording: Recording | None = None, path=None, background: float = np.nan, dtype=None):
    """Put per-voxel values back into the image space of a voxel Recording.

    Parameters
    ----------
    values : array-like, shape (n_voxels,) or (n_maps, n_voxels), or Recording
        One value per voxel (e.g. an encoding score), several maps, or a Recording of
        voxels (its samples become volumes; it is its own reference when ``recording``
        is omitted).
    recording : Recording, optional
        The voxel Recording that says where each value goes: units ``i``, ``j``, ``k``
        and meta ``affine`` and ``shape`` (as :func:`load_fmri` writes them).
    path : str or Path, optional
        Write the image there (``.nii`` or ``.nii.gz``), atomically (a temporary file
        renamed on success).
    background : float, default NaN
        Value of voxels outside the mask (e.g. 0).
    dtype : numpy dtype, optional
        Data type of the image; defaults to the values' float type (so a round trip is
        exact).

    Returns
    -------
    nibabel.Nifti1Image
        3-D for one map, else 4-D with the maps along the last axis (with the TR as the
        fourth zoom when the maps are the volumes of a time series).

    Raises
    ------
    ShapeMismatchError
        ``values`` has a number of columns other than the recording's voxels.
    ArgumentError
        The recording lacks ``i``, ``j``, ``k`` or ``affine``/``shape`` in its meta.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from neurotk.io import load_fmri, to_nifti
    >>> data = np.random.default_rng(0).normal(size=(3, 3, 3, 4))
    >>> mask = np.zeros((3, 3, 3), dtype=bool); mask[1, 1, :] = True
    >>> rec = load_fmri(nib.Nifti1Image(data, np.eye(4)), mask=mask, tr=1.0)
    >>> img = to_nifti(np.array([1.0, 2.0, 3.0]), rec, background=0)
    >>> img.shape, float(img.get_fdata()[1, 1, 2])
    ((3, 3, 3), 3.0)
    >>> bool(np.array_equal(to_nifti(rec).get_fdata()[mask], data[mask]))
    True
    """
    nib = _nib()

    time_series = False
    if isinstance(values, Recording):
        ref = values if recording is None else recording
        time_series = "time" in values.samples.columns
        arr = np.asarray(values.data)
    else:
        if recording is None:
            raise ArgumentError("to_nifti(values) needs recording= (the voxel Recording the values belong to)")
        ref = recording
        arr = np.asarray(values)
    if not isinstance(ref, Recording):
        raise ArgumentError(f"recording has type {type(ref).__name__}; expected a Recording")
    units, meta = ref.units, ref.meta
    missing = [c for c in ("i", "j", "k") if c not in units.columns]
    if missing or "affine" not in meta or "shape" not in meta:
        raise ArgumentError(
            f"recording lacks the voxel positions to write an image (units columns i, j, k; "
            f"meta 'affine' and 'shape'; missing: {missing + [m for m in ('affine', 'shape') if m not in meta]}); "
            f"expected a Recording from load_fmri"
        )
    if arr.dtype.kind not in "fiub":
        raise ArgumentError(f"values have dtype {arr.dtype}; expected numbers")
    single = arr.ndim == 1
    if arr.ndim not in (1, 2):
        raise ShapeMismatchError(f"values have shape {arr.shape}; expected (n_voxels,) or (n_maps, n_voxels)")
    maps = arr[None, :] if single else arr
    if maps.shape[1] != ref.n_units:
        raise ShapeMismatchError(
            f"values have {maps.shape[1]} columns but the recording has {ref.n_units} voxels; "
            f"expected one value per voxel"
        )
    shape = tuple(int(n) for n in meta["shape"])
    ijk = units[["i", "j", "k"]].to_numpy(dtype=np.int64)
    if (ijk < 0).any() or (ijk >= np.asarray(shape)).any():
        raise ShapeMismatchError(f"units i, j, k fall outside the image shape {shape}")
    if dtype is None:
        dtype = maps.dtype if maps.dtype.kind == "f" else np.dtype(np.float64)
    dtype = np.dtype(dtype)
    if dtype.kind in "iub" and not np.isfinite(background):
        background = 0
    if dtype.kind in "iub":  # values that do not fit would wrap around silently (1e6 -> 64 in int8)
        info = np.iinfo(dtype) if dtype.kind in "iu" else None
        lo, hi = (info.min, info.max) if info is not None else (0, 1)
        finite = maps[np.isfinite(maps)] if maps.dtype.kind == "f" else maps
        if maps.dtype.kind == "f" and not np.isfinite(maps).all():
            raise ArgumentError(f"values hold NaN or infinite entries; dtype={dtype} cannot store them "
                                f"(expected a float dtype, or finite values)")
        if finite.size and (finite.min() < lo or finite.max() > hi or not np.isfinite(background)
                            or not lo <= background <= hi):
            raise ArgumentError(
                f"values span {finite.min():.6g} to {finite.max():.6g} (background {background}), outside "
                f"dtype={dtype}'s range {lo} to {hi}; expected values that fit, or a wider or float dtype")
    n_maps = maps.shape[0]
    volume = np.full(shape + (n_maps,), background, dtype=dtype)
    volume[ijk[:, 0], ijk[:, 1], ijk[:, 2], :] = maps.T
    if single or n_maps == 1 and not time_series:
        volume = volume[..., 0]
    affine = np.asarray(meta["affine"], dtype=float)
    img = nib.Nifti1Image(volume, affine)
    img.header.set_data_dtype(dtype)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    if volume.ndim == 4 and time_series and meta.get("tr"):
        img.header.set_zooms(tuple(img.header.get_zooms()[:3]) + (float(meta["tr"]),))
        img.header.set_xyzt_units("mm", "sec")
    else:
        img.header.set_xyzt_units("mm")
    if path is not None:
        target = Path(path)
        if not target.name.lower().endswith((".nii", ".nii.gz")):
            raise ArgumentError(f"path={str(path)!r}; expected a .nii or .nii.gz file name")
        if target.is_dir():
            raise ArgumentError(f"path={str(path)!r} is an existing folder; expected a .nii or .nii.gz file name "
                                f"(a new file, or a file to replace)")
        with atomic_path(target) as tmp:
            nib.save(img, tmp)
    return img
