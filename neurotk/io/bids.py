"""One BIDS fMRI run -> a Recording and its events table, without pybids.

:func:`read_bids_run` reads a BIDS bold image (``sub-<label>[_ses-<label>]_task-<label>
[_run-<index>]_bold.nii[.gz]``) with :func:`neurotk.io.load_fmri` and finds, by the BIDS
file-naming rules, what belongs to it:

- the JSON sidecars (``RepetitionTime``, ``SliceTiming`` ...), merged by the BIDS
  *inheritance principle*: every ``*_bold.json`` whose entities are a subset of the
  image's, in the image's folder or a folder above it up to the dataset root (the folder
  with ``dataset_description.json``, else the folder above ``sub-<label>``), the more
  specific (deeper, more entities) overriding the more general;
- the events table ``*_events.tsv`` (the most specific applicable one; BIDS columns
  ``onset`` and ``duration`` in seconds, ``trial_type``, ``n/a`` for missing values);
- on request, fMRIPrep's confounds table ``*_desc-confounds_timeseries.tsv`` (fMRIPrep
  >= 1.2; ``*_desc-confounds_regressors.tsv`` of fMRIPrep 1.x) beside the image.

BIDS specification: "Common principles", sections "File name structure" and "The
Inheritance Principle"; "Task imaging data" (``RepetitionTime`` is required in the bold
sidecar) and "Task events". pybids is not needed for a single run (it is the tool for
querying whole datasets). Files are opened read-only and never modified.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_float
from ..errors import ArgumentError, DataFormatError, NeurotkWarning
from ..recording import Recording
from .bidsnames import IMAGE_SUFFIXES, bold_parts, nearest_file, read_sidecar, split_name
from .fmri import load_fmri

__all__ = ["bids_runs", "read_bids_run"]

_TIME_UNITS = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}
#: Entities of a preprocessed image that its fMRIPrep confounds file does not carry.
_DERIVATIVE_ENTITIES = ("space", "cohort", "res", "den", "desc", "label")


# --------------------------------------------------------------------------- tables
def _read_tsv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False)
    except Exception as exc:  # ParserError, UnicodeDecodeError, EmptyDataError ...
        raise DataFormatError(f"{what} {path}: not a readable tab-separated table ({type(exc).__name__}: {exc})") from exc


def _check_events(table: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in ("onset", "duration") if c not in table.columns]
    if missing:
        raise DataFormatError(
            f"{name}: no column {' or '.join(repr(c) for c in missing)} (columns: {list(table.columns)}); "
            f"expected the BIDS events columns 'onset' and 'duration' (seconds), usually with 'trial_type'"
        )
    out = table.reset_index(drop=True).copy()
    for col, low in (("onset", -np.inf), ("duration", 0.0)):
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) | (values < low))
        if bad.size:
            value = out[col].iloc[bad[0]]
            shown = "n/a" if pd.isna(value) else repr(value.item() if isinstance(value, np.generic) else value)
            raise DataFormatError(
                f"{name}, row {int(bad[0])}, column {col!r}: {shown}; expected a finite number of seconds"
                f"{' >= 0' if col == 'duration' else ''} ({bad.size} bad rows; an unknown (n/a) time cannot "
                f"be modelled: fill it in or drop the row)"
            )
        out[col] = values
    return out


def _events_table(events, bold: Path, entities: dict) -> tuple[pd.DataFrame, str | None]:
    if isinstance(events, pd.DataFrame):
        return _check_events(events, "events table"), None
    if events is None:
        path = nearest_file(bold, entities, "events", ".tsv", "events")
        if path is None:
            if entities.get("task", "").lower() != "rest":
                warnings.warn(
                    f"{bold}: no BIDS events file found (looked for *_events.tsv with the image's entities "
                    f"beside it and above it); the events table is empty",
                    NeurotkWarning,
                    stacklevel=caller_stacklevel(),
                )
            return pd.DataFrame({"onset": np.zeros(0), "duration": np.zeros(0), "trial_type": []}), None
    elif isinstance(events, (str, os.PathLike)):
        path = Path(events)
        if not path.exists():
            raise DataFormatError(f"events {path}: no such file")
    else:
        raise ArgumentError(f"events has type {type(events).__name__}; expected None, a .tsv path or a DataFrame")
    return _check_events(_read_tsv(path, "events"), str(path)), str(path)


def _confounds_path(bold: Path, entities: dict) -> Path | None:
    keep = {k: v for k, v in entities.items() if k not in _DERIVATIVE_ENTITIES}
    stem = "_".join(f"{k}-{v}" for k, v in keep.items())
    for tail in ("_desc-confounds_timeseries.tsv", "_desc-confounds_regressors.tsv"):
        candidate = bold.parent / f"{stem}{tail}"
        if candidate.exists():
            return candidate
    return None


def _confounds(confounds, bold: Path, entities: dict, n_volumes: int) -> tuple[pd.DataFrame | None, str | None]:
    if confounds is None or confounds is False:
        return None, None
    if isinstance(confounds, os.PathLike):
        path, columns = Path(confounds), None
        if not path.exists():
            raise DataFormatError(f"confounds {path}: no such file")
    else:
        if confounds is True:
            columns = None
        elif isinstance(confounds, str):
            columns = [confounds]
        elif isinstance(confounds, Sequence) and confounds and all(isinstance(c, str) for c in confounds):
            columns = list(confounds)
        else:
            raise ArgumentError(
                f"confounds={confounds!r}; expected None, True (every column of the fMRIPrep confounds "
                f"table), a column name or a list of them, or a Path to a confounds .tsv"
            )
        path = _confounds_path(bold, entities)
        if path is None:
            stem = "_".join(f"{k}-{v}" for k, v in entities.items() if k not in _DERIVATIVE_ENTITIES)
            raise DataFormatError(
                f"{bold}: confounds requested but no fMRIPrep confounds table beside it; expected "
                f"{bold.parent / (stem + '_desc-confounds_timeseries.tsv')}"
            )
    table = _read_tsv(path, "confounds")
    if columns is not None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            shown = list(table.columns[:12]) + (["..."] if table.shape[1] > 12 else [])
            raise DataFormatError(
                f"{path}: no confounds column {', '.join(map(repr, missing))}; expected columns of the "
                f"table, which has {table.shape[1]}: {shown}"
            )
        table = table[columns]
    if len(table) != n_volumes:
        raise DataFormatError(
            f"{path}: {len(table)} rows, but the image {bold} has {n_volumes} volumes; expected one "
            f"confounds row per volume"
        )
    values = table.apply(pd.to_numeric, errors="coerce")
    text = [c for c in table.columns if values[c].isna().all() and table[c].notna().any()]
    if text:
        raise DataFormatError(f"{path}: confounds columns {text} are not numeric; expected numbers or n/a")
    # fMRIPrep writes n/a where a value is undefined: the first row of temporal derivatives,
    # framewise displacement and DVARS. They are set to 0 (no change before the first volume).
    return values.fillna(0.0).astype(float), str(path)


# --------------------------------------------------------------------------- run
def _find_bold(folder: Path) -> Path:
    found = sorted(p for p in folder.rglob("*_bold.nii*") if p.name.lower().endswith(IMAGE_SUFFIXES))
    if len(found) == 1:
        return found[0]
    if not found:
        raise DataFormatError(f"{folder}: a folder with no BIDS bold image (*_bold.nii[.gz]) in it; expected one")
    shown = ", ".join(str(p.relative_to(folder)) for p in found[:10]) + (" ..." if len(found) > 10 else "")
    raise DataFormatError(
        f"{folder} holds {len(found)} bold images ({shown}); expected one run: pass the path of one of them"
    )


def read_bids_run(
    bold_path,
    confounds=None,
    *,
    mask=None,
    events=None,
    tr: float | None = None,
    dtype=np.float64,
) -> tuple[Recording, pd.DataFrame]:
    """Read one BIDS fMRI run: the bold image as a Recording, and its events table.

    The image is read by :func:`neurotk.io.load_fmri`. The repetition time comes from
    ``tr=``, else from the ``RepetitionTime`` of the JSON sidecar (BIDS requires it there;
    sidecars higher up in the dataset are merged by the BIDS inheritance principle), else,
    when the run has no sidecar at all, from the NIfTI header, with a
    :class:`~neurotk.NeurotkWarning`. A sidecar that disagrees with the header by more than
    0.1% wins, with a warning when the header declares its time unit (BIDS: the sidecar
    is authoritative).

    Parameters
    ----------
    bold_path : str or Path
        The image, ``..._bold.nii`` or ``..._bold.nii.gz`` named by BIDS, or a folder that
        holds exactly one such image (searched recursively).
    confounds : None, True, str, list of str or Path, optional
        Read fMRIPrep's ``*_desc-confounds_timeseries.tsv`` beside the image (the image's
        entities without ``space``, ``res``, ``den``, ``desc``): all its columns
        (``True``), the named ones, or the table at a given :class:`~pathlib.Path`. The
        columns are added to ``samples`` and their names listed in
        ``meta["confounds"]``; ``n/a`` (the first row of derivatives, framewise
        displacement, DVARS) becomes 0. Use them as
        ``glm(rec, events, confounds=rec.samples[rec.meta["confounds"]])``.
    mask : str, Path, nibabel image or bool array, optional
        Voxels to keep, passed to :func:`~neurotk.io.load_fmri` (by default every voxel
        that varies over time).
    events : None, str, Path or DataFrame, optional
        The events table; by default the BIDS ``*_events.tsv`` of the run.
    tr : float, optional
        Repetition time in seconds, overriding the sidecar and the header.
    dtype : {np.float64, np.float32}, default np.float64
        Precision of the data.

    Returns
    -------
    recording : Recording
        Volumes x voxels as from :func:`~neurotk.io.load_fmri` (``samples["time"]`` is
        ``volume * tr`` s, the start of each volume's acquisition). ``meta`` adds ``tr``,
        ``slice_timing`` (s, from the sidecar's ``SliceTiming``, or None), ``task``,
        ``entities`` (the BIDS key-value pairs of the name), ``sidecar`` (the merged JSON
        fields), ``sidecar_paths``, ``events_path``, ``confounds_path``, ``confounds``
        (the confound columns), ``tr_source`` ("argument", "sidecar" or "header") and
        ``events`` (the events table).
    events : DataFrame
        The events table, with float ``onset`` and ``duration`` (s) and the file's other
        columns (``trial_type`` ...), ready for :func:`neurotk.encoding.glm`.

    Raises
    ------
    DataFormatError
        A name that is not BIDS; a sidecar without ``RepetitionTime`` (naming it), or no
        TR in a sidecar or the header; an events table without ``onset`` or ``duration``
        or with non-numeric or negative values (naming file, row and column); confounds
        requested but absent, missing columns, or a row count other than the volumes'.
    ArgumentError
        A bad ``confounds`` or ``events`` argument.

    Examples
    --------
    >>> import json, tempfile, numpy as np, nibabel as nib, pandas as pd
    >>> from pathlib import Path
    >>> from neurotk.io import read_bids_run
    >>> func = Path(tempfile.mkdtemp()) / "sub-01" / "func"; func.mkdir(parents=True)
    >>> stem = func / "sub-01_task-faces_run-1"
    >>> data = np.random.default_rng(0).normal(100, 1, size=(4, 4, 3, 20)).astype(np.float32)
    >>> nib.save(nib.Nifti1Image(data, np.eye(4)), f"{stem}_bold.nii.gz")
    >>> _ = Path(f"{stem}_bold.json").write_text(json.dumps({"RepetitionTime": 1.5}))
    >>> pd.DataFrame({"onset": [3.0, 12.0], "duration": 2.0, "trial_type": ["face", "house"]}
    ...              ).to_csv(f"{stem}_events.tsv", sep="\\t", index=False)
    >>> rec, events = read_bids_run(f"{stem}_bold.nii.gz")
    >>> rec.shape, rec.meta["tr"], float(rec.samples["time"].iloc[2])
    ((20, 48), 1.5, 3.0)
    >>> events["trial_type"].tolist()
    ['face', 'house']
    """
    if not isinstance(bold_path, (str, os.PathLike)):
        raise ArgumentError(
            f"bold_path has type {type(bold_path).__name__}; expected the path of a BIDS "
            f"*_bold.nii[.gz] image or of a folder holding one"
        )
    check_float(tr, "tr", low=0, low_open=True, unit="seconds", allow_none=True)
    bold = Path(bold_path)
    if not bold.exists():
        raise DataFormatError(f"{bold}: no such file")
    if bold.is_dir():
        bold = _find_bold(bold)
    entities, suffix = bold_parts(bold)
    sidecar, sidecar_paths = read_sidecar(bold, entities, suffix)
    img = _open(bold)
    n_volumes = int(img.shape[3]) if len(img.shape) > 3 else 1
    header_tr, declared = _header_tr(img)
    if tr is not None:
        run_tr, source = float(tr), "argument"
    elif sidecar_paths:
        if "RepetitionTime" not in sidecar:
            raise DataFormatError(
                f"{bold}: its JSON sidecar ({', '.join(sidecar_paths)}) has no field 'RepetitionTime' "
                f"(fields: {sorted(sidecar)}); expected the repetition time in seconds there (BIDS requires "
                f"it for bold runs), or pass tr="
            )
        value = sidecar["RepetitionTime"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise DataFormatError(
                f"{sidecar_paths[-1]}: RepetitionTime = {value!r}; expected a positive number of seconds"
            )
        run_tr, source = float(value), "sidecar"
        if declared and not np.isclose(header_tr, run_tr, rtol=1e-3):
            warnings.warn(
                f"{bold}: the sidecar's RepetitionTime {run_tr:g} s differs from the NIfTI header's "
                f"{header_tr:g} s; using the sidecar's (BIDS: the sidecar is authoritative)",
                NeurotkWarning,
                stacklevel=caller_stacklevel(),
            )
    elif header_tr is not None:
        run_tr, source = header_tr, "header"
        warnings.warn(
            f"{bold}: no JSON sidecar (looked for *_{suffix}.json with the image's entities beside it and "
            f"above it); using the NIfTI header's repetition time {header_tr:g} s",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )
    else:
        raise DataFormatError(
            f"{bold}: no repetition time: no JSON sidecar with 'RepetitionTime' (looked for "
            f"{bold.name.split('.')[0]}.json and *_{suffix}.json above it) and none in the NIfTI header; "
            f"expected one of them, or pass tr= (seconds)"
        )

    slice_timing = sidecar.get("SliceTiming")
    if slice_timing is not None:
        st = np.asarray(slice_timing, dtype=object).ravel()
        ok = all(not isinstance(v, bool) and isinstance(v, (int, float)) and np.isfinite(v) for v in st)
        if not ok or st.size == 0:
            raise DataFormatError(
                f"{sidecar_paths[-1]}: SliceTiming = {slice_timing!r}; expected a list of numbers (s), one per slice"
            )
        slice_timing = [float(v) for v in st]
        late = [v for v in slice_timing if v < 0 or v >= run_tr]
        if late:
            raise DataFormatError(
                f"{sidecar_paths[-1]}: SliceTiming has {len(late)} values outside [0, RepetitionTime = "
                f"{run_tr:g}) s (first {late[0]:g}); expected slice times within one volume"
            )

    events_table, events_path = _events_table(events, bold, entities)
    conf_table, conf_path = _confounds(confounds, bold, entities, n_volumes)

    rec = load_fmri(img, mask=mask, tr=run_tr, dtype=dtype)
    samples = rec.samples
    conf_columns = []
    if conf_table is not None:
        clash = [c for c in conf_table.columns if c in samples.columns]
        if clash:
            raise DataFormatError(f"{conf_path}: confounds columns {clash} clash with the samples columns")
        samples = pd.concat([samples, conf_table.reset_index(drop=True)], axis=1)
        conf_columns = list(conf_table.columns)
    meta = rec.meta
    meta.update({
        "name": bold.name.split(".")[0],
        "path": str(bold),
        "paths": [str(bold)],
        "tr": run_tr,
        "sampling_rate": 1.0 / run_tr,
        "tr_source": source,
        "slice_timing": slice_timing,
        "task": entities.get("task"),
        "entities": dict(entities),
        "sidecar": sidecar,
        "sidecar_paths": sidecar_paths,
        "events_path": events_path,
        "confounds_path": conf_path,
        "confounds": conf_columns,
        "events": events_table.copy(),
        "source": "read_bids_run",
    })
    return rec.replace(samples=samples, meta=meta), events_table


def _open(bold: Path):
    import nibabel

    try:
        return nibabel.load(bold)
    except Exception as exc:  # nibabel raises ImageFileError, OSError, EOFError ...
        raise DataFormatError(
            f"{bold}: not a readable NIfTI image ({type(exc).__name__}: {exc}); expected a NIfTI-1/2 "
            f"(.nii, .nii.gz) bold image. The file may be truncated or corrupt"
        ) from exc


def _header_tr(img) -> tuple[float | None, bool]:
    """The header's TR in seconds (the fourth zoom, as load_fmri reads it) and whether its unit is declared."""
    zooms = img.header.get_zooms()
    try:
        unit = img.header.get_xyzt_units()[1]
    except (AttributeError, KeyError):
        unit = "unknown"
    if len(zooms) < 4 or not np.isfinite(zooms[3]) or zooms[3] <= 0:
        return None, False
    return float(zooms[3]) * _TIME_UNITS.get(unit, 1.0), unit in _TIME_UNITS


#: pybids' entity names -> the keys of BIDS file names (the columns of :func:`bids_runs`).
_PYBIDS_KEYS = {"subject": "sub", "session": "ses", "task": "task", "acquisition": "acq", "ceagent": "ce",
                "direction": "dir", "reconstruction": "rec", "run": "run", "echo": "echo", "part": "part",
                "space": "space", "description": "desc"}
#: Entities whose labels are indices (compared and returned as integers).
_INDEX_ENTITIES = ("run", "echo")
#: Folders of a BIDS dataset that hold no raw runs.
_SKIP_FOLDERS = ("derivatives", "sourcedata", "code")


def _entity_value(key, value):
    return int(value) if key in _INDEX_ENTITIES and str(value).isdigit() else str(value)


def _runs_by_names(root: Path) -> list[tuple[dict, Path]]:
    found = []
    for path in sorted(root.rglob("*_bold.nii*")):
        if any(part in _SKIP_FOLDERS for part in path.relative_to(root).parts[:-1]) or not path.is_file():
            continue
        parts = split_name(path.name)
        if parts is not None and parts[1] == "bold" and parts[2] in IMAGE_SUFFIXES:
            found.append((dict(parts[0]), path))
    return found


def _runs_by_pybids(root: Path) -> list[tuple[dict, Path]]:
    import bids

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pybids warns about datasets without dataset_description.json
        layout = bids.BIDSLayout(str(root), validate=False)
    found = []
    for f in layout.get(suffix="bold", extension=[".nii", ".nii.gz"]):
        entities = f.get_entities()
        found.append(({_PYBIDS_KEYS[k]: v for k, v in entities.items() if k in _PYBIDS_KEYS}, Path(f.path)))
    return sorted(found, key=lambda item: str(item[1]))


def bids_runs(root, *, use_pybids=None, **filters) -> pd.DataFrame:
    """The bold runs of a BIDS dataset, one row each: their entities and path.

    Each row's ``path`` goes to :func:`read_bids_run` (or ``neurotk.load``). A single run
    needs nothing but pandas and nibabel; for whole datasets this lists the runs by the
    BIDS file-name rules (``sub-<label>[_ses-<label>]_task-<label>[_run-<index>]_bold.nii[.gz]``,
    ``derivatives/``, ``sourcedata/`` and ``code/`` skipped), or with pybids'
    ``BIDSLayout`` when pybids is installed (``pip install neurotk[bids]``); both give the
    same table.

    Parameters
    ----------
    root : str or Path
        The dataset's top folder.
    use_pybids : bool or None, default None
        None: pybids when it is importable, else the file-name rules. True: pybids
        (an error if it is missing). False: the file-name rules.
    **filters
        Entity filters by their file-name keys, a value or a list of values:
        ``sub="01"``, ``task="faces"``, ``run=[1, 2]``. ``run`` and ``echo`` are integers.

    Returns
    -------
    DataFrame
        Columns: the entities present (``sub``, ``ses``, ``task``, ``run`` ...; missing ones
        are NaN) and ``path``, sorted by path.

    Raises
    ------
    DataFormatError
        ``root`` is not a folder, or no run matches (the message lists what the dataset
        has).
    OptionalDependencyError
        ``use_pybids=True`` without pybids.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("sub-01/func/sub-01_task-a_run-1_bold.nii.gz", "sub-02/func/sub-02_task-a_run-1_bold.nii.gz"):
    ...     (root / name).parent.mkdir(parents=True, exist_ok=True); _ = (root / name).write_bytes(b"")
    >>> bids_runs(root, use_pybids=False, sub="02")[["sub", "task", "run"]].values.tolist()
    [['02', 'a', 1]]
    """
    root = Path(root)
    if not root.is_dir():
        raise DataFormatError(f"{root}: not a folder; expected the top folder of a BIDS dataset")
    if use_pybids is None:
        try:
            import bids  # noqa: F401

            use_pybids = True
        except ImportError:
            use_pybids = False
    elif use_pybids:
        try:
            import bids  # noqa: F401
        except ImportError:
            from ..errors import OptionalDependencyError

            raise OptionalDependencyError(
                "use_pybids=True needs pybids, which is not installed; expected `pip install neurotk[bids]` "
                "(or use_pybids=False: the file-name rules need nothing more)"
            ) from None
    runs = _runs_by_pybids(root) if use_pybids else _runs_by_names(root)
    rows = [{**{k: _entity_value(k, v) for k, v in entities.items()}, "path": path} for entities, path in runs]
    table = pd.DataFrame(rows)
    if table.empty:
        raise DataFormatError(f"{root}: no *_bold.nii[.gz] run named by BIDS in this folder; expected a BIDS dataset")
    order = [k for k in ("sub", "ses", "task", "acq", "ce", "dir", "rec", "run", "echo", "part", "space", "desc")
             if k in table] + [c for c in table.columns if c not in _PYBIDS_KEYS.values() and c != "path"]
    table = table[order + ["path"]]
    keep = np.ones(len(table), bool)
    for key, wanted in filters.items():
        if key not in table:
            raise ArgumentError(f"filter {key}={wanted!r}: the runs have no entity {key!r}; expected one of "
                                f"{[c for c in table.columns if c != 'path']}")
        values = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
        keep &= table[key].isin([_entity_value(key, v) for v in values]).to_numpy()
    if not keep.any():
        summary = {c: sorted(table[c].dropna().unique().tolist(), key=str) for c in table.columns if c != "path"}
        raise DataFormatError(f"{root}: no run matches {filters}; the dataset has {summary}")
    return table[keep].reset_index(drop=True)
