"""``neurotk.load``: open a file with the loader its format calls for."""

from __future__ import annotations

from pathlib import Path

from ..errors import ArgumentError, DataFormatError

__all__ = ["load", "detect_format"]

_NIFTI = (".nii", ".nii.gz", ".img", ".hdr")


def detect_format(path) -> str:
    """Name the format of ``path``: "nwb", "allen", "nifti" or "arrays".

    NWB files are told apart by their content: an Allen Brain Observatory two-photon file
    (NWB 1, ``processing/brain_observatory_pipeline``) or Neuropixels session (units with
    ``peak_channel_id`` and ``*_presentations`` intervals) is "allen"; other NWB files are
    "nwb". The file is opened read-only.

    Examples
    --------
    >>> detect_format("sub-01_bold.nii.gz")
    'nifti'
    """
    p = Path(path)
    name = p.name.lower()
    if name.endswith(_NIFTI):
        return "nifti"
    if name.endswith((".npz", ".npy")):
        return "arrays"
    if name.endswith((".nwb", ".h5", ".hdf5")):
        if not p.exists():
            raise DataFormatError(f"{p}: no such file")
        import h5py

        from ._hdf5 import CORRUPT_FILE_ERRORS

        try:
            with h5py.File(p, "r") as f:
                if "processing/brain_observatory_pipeline" in f:
                    return "allen"
                intervals = f.get("intervals")
                units = f.get("units")
                if (units is not None and "peak_channel_id" in units and intervals is not None
                        and any(k.endswith("_presentations") for k in intervals)):
                    return "allen"
        except CORRUPT_FILE_ERRORS as exc:  # h5py: OSError, RuntimeError, KeyError ... on corrupt files
            raise DataFormatError(
                f"{p}: not a readable HDF5/NWB file ({type(exc).__name__}: {exc}); expected an NWB (HDF5) "
                f"file. The file may be truncated or corrupt"
            ) from exc
        return "nwb"
    raise DataFormatError(
        f"{p}: unknown format {''.join(p.suffixes) or '(no suffix)'!r}; expected .nwb, .nii/.nii.gz, .npz or .npy"
    )


def load(path, **kwargs):
    """Open ``path`` with the loader for its format.

    =========== ============================================ =========================================
    format      loader                                       returns
    =========== ============================================ =========================================
    NWB spikes  :func:`neurotk.io.read_spikes`               lazy spike trains (bin or count them next)
    Allen       :func:`neurotk.io.load_allen`                dict of area -> Recording
    NIfTI       :func:`neurotk.io.load_fmri`                 Recording (volumes x voxels)
    .npz/.npy   :func:`neurotk.io.from_arrays`               dict of layer -> Recording
    =========== ============================================ =========================================

    Keyword arguments go to the loader.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib, neurotk
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "layers.npz"
    >>> np.savez(path, fc=np.ones((3, 4)))
    >>> neurotk.load(path)["fc"].shape
    (3, 4)
    """
    from . import from_arrays

    if not isinstance(path, (str, Path)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected a file path")
    kind = detect_format(path)
    if kind == "arrays":
        return from_arrays(path, **kwargs)
    if kind == "nifti":
        from . import load_fmri

        return load_fmri(path, **kwargs)
    if kind == "allen":
        from . import load_allen

        return load_allen(path, **kwargs)
    from . import read_spikes

    return read_spikes(path, **kwargs)
