"""BIDS file names: entities, and the sidecars and tables that apply to an image.

The naming rules of the BIDS specification ("Common principles": "File name structure",
"The Inheritance Principle"), used by :func:`neurotk.io.read_bids_run` and, for the
repetition time of a BIDS image, by :func:`neurotk.io.load_fmri`. Nothing here reads
images, and nothing is written.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from ..errors import DataFormatError

__all__ = [
    "IMAGE_SUFFIXES",
    "applicable_files",
    "bids_repetition_time",
    "bold_parts",
    "nearest_file",
    "read_sidecar",
    "search_folders",
    "split_name",
]

IMAGE_SUFFIXES = (".nii.gz", ".nii")
_ENTITY = re.compile(r"^([a-zA-Z0-9]+)-([a-zA-Z0-9]+)$")


def split_name(name: str) -> tuple[dict, str, str] | None:
    """``(entities, suffix, extension)`` of a BIDS file name, or None if it is not one."""
    ext = next((e for e in (*IMAGE_SUFFIXES, ".json", ".tsv.gz", ".tsv") if name.lower().endswith(e)), None)
    if ext is None:
        return None
    parts = name[: -len(ext)].split("_")
    if len(parts) < 2:
        return None
    entities = {}
    for part in parts[:-1]:
        match = _ENTITY.match(part)
        if match is None:
            return None
        entities[match.group(1)] = match.group(2)
    return entities, parts[-1], ext


def bold_parts(path: Path) -> tuple[dict, str]:
    parts = split_name(path.name)
    if parts is None or parts[2] not in IMAGE_SUFFIXES:
        raise DataFormatError(
            f"{path}: not a BIDS image name; expected 'sub-<label>[_ses-<label>]_task-<label>"
            f"[_run-<index>]_bold.nii[.gz]' (key-value entities joined by '_', then a suffix)"
        )
    return parts[0], parts[1]


def search_folders(folder: Path, entities: dict) -> list[Path]:
    """The image's folder and those above it up to the dataset root, deepest first.

    The root is the first folder at or above the subject folder (``sub-<label>``) that
    holds ``dataset_description.json``, else the folder that holds the subject folder.
    Without a subject folder in the path, only the image's own folder is searched.
    """
    chain = [folder, *folder.parents]
    sub = f"sub-{entities['sub']}" if "sub" in entities else None
    at = next((i for i, f in enumerate(chain) if f.name == sub), None) if sub else None
    if at is None or at + 1 >= len(chain):
        return [folder]
    top = at + 1
    marked = next((i for i in range(top, len(chain)) if (chain[i] / "dataset_description.json").exists()), None)
    return chain[: (marked if marked is not None else top) + 1]


def applicable_files(folders: list[Path], entities: dict, suffix: str, ext: str) -> list[tuple[int, int, Path]]:
    """Files ``*_<suffix><ext>`` whose entities are a subset of ``entities``: (depth, n_entities, path)."""
    found = []
    for depth, folder in enumerate(folders):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            parts = split_name(name)
            if parts is None or parts[1] != suffix or parts[2] != ext:
                continue
            if all(entities.get(k) == v for k, v in parts[0].items()):
                found.append((depth, len(parts[0]), folder / name))
    return found


def read_sidecar(bold: Path, entities: dict, suffix: str) -> tuple[dict, list[str]]:
    """The merged JSON sidecar (inheritance principle) and the files it came from, general first."""
    folders = search_folders(bold.parent, entities)
    files = applicable_files(folders, entities, suffix, ".json")
    files.sort(key=lambda f: (-f[0], f[1]))  # top level first, then more entities: later ones override
    merged: dict = {}
    for _, _, path in files:
        try:
            with open(path, encoding="utf-8") as fh:
                content = json.load(fh)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataFormatError(f"{path}: not a readable JSON sidecar ({type(exc).__name__}: {exc})") from exc
        if not isinstance(content, dict):
            raise DataFormatError(
                f"{path}: the JSON sidecar holds a {type(content).__name__}; expected a JSON object "
                f"of metadata fields (RepetitionTime ...)"
            )
        merged.update(content)
    return merged, [str(f[2]) for f in files]


def nearest_file(bold: Path, entities: dict, suffix: str, ext: str, what: str) -> Path | None:
    """The most specific applicable file: the deepest folder, then the most entities."""
    folders = search_folders(bold.parent, entities)
    files = applicable_files(folders, entities, suffix, ext)
    if not files:
        return None
    best = min(files, key=lambda f: (f[0], -f[1]))
    ties = [f[2] for f in files if (f[0], f[1]) == (best[0], best[1])]
    if len(ties) > 1:
        raise DataFormatError(
            f"{bold}: {len(ties)} {what} files apply equally ({', '.join(map(str, ties))}); expected "
            f"one (BIDS inheritance principle); pass the one to use explicitly"
        )
    return best[2]


def bids_repetition_time(path) -> float | None:
    """The ``RepetitionTime`` of a BIDS image's JSON sidecar(s), or None (no sidecar, not a BIDS name).

    Used by :func:`neurotk.io.load_fmri` so that a BIDS bold path gets its TR from the
    sidecar, as BIDS intends. Never raises for a name that is not BIDS.
    """
    bold = Path(path)
    parts = split_name(bold.name)
    if parts is None or parts[2] not in IMAGE_SUFFIXES:
        return None
    try:
        sidecar, files = read_sidecar(bold, parts[0], parts[1])
    except DataFormatError:
        return None  # an unreadable sidecar: load_fmri falls back to the header; read_bids_run reports it
    value = sidecar.get("RepetitionTime")
    if not files or isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0):
        return None
    return float(value)
