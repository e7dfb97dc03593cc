"""Shared checks on input paths, made before any loader opens a file.

Opening a FIFO, a socket or a character device (``/dev/zero``, a terminal) blocks or
never ends, whatever its name; so every loader calls :func:`check_input_path` first, and
anything that is not a regular file (or a folder, where the format is a folder) is refused
with a :class:`~neurotk.DataFormatError` that names the path, what it is and what was
expected. The check follows symbolic links (a link to a regular file is fine; a link to a
FIFO is refused) and uses ``os.stat``, which never opens the file.

The module is private to :mod:`neurotk.io`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ArgumentError, DataFormatError

__all__ = ["check_input_path", "file_kind"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISREG, "a regular file"),
)


def file_kind(mode: int) -> str:
    """What an ``os.stat`` mode describes, in words.

    Examples
    --------
    >>> import os
    >>> file_kind(os.stat(".").st_mode)
    'a directory'
    """
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"  # pragma: no cover - door files, whiteouts ...


def check_input_path(path, what: str, folder_ok: bool = False) -> Path:
    """``path`` as a Path, after checking that it is a regular file (or a folder where allowed).

    Nothing is opened: the check is an ``os.stat`` (which follows symbolic links), so a
    FIFO, socket or device named like a data file cannot block the caller.

    Parameters
    ----------
    path : str or path-like
        The path to check.
    what : str
        What the path should be, for the message (e.g. ``"an NWB file"``).
    folder_ok : bool, default False
        Accept a directory too (formats stored as folders, e.g. a Suite2p output).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ArgumentError
        ``path`` is not a str or path-like.
    DataFormatError
        Missing, or not a regular file (FIFO, socket, device, directory where
        ``folder_ok`` is False), or not statable (permission, a loop of links).

    Examples
    --------
    >>> import os, tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "a.nwb").write_bytes(b"")
    0
    >>> check_input_path(folder / "a.nwb", "an NWB file").name
    'a.nwb'
    >>> os.mkfifo(folder / "pipe.nwb")
    >>> check_input_path(folder / "pipe.nwb", "an NWB file")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    neurotk.errors.DataFormatError: .../pipe.nwb is a FIFO (named pipe); expected an NWB file (a regular file). ...
    """
    try:
        path = Path(os.fspath(path))
    except TypeError:
        raise ArgumentError(
            f"path is {type(path).__name__} {path!r}; expected a str or path-like naming {what}"
        ) from None
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        hint = "" if path.parent.exists() else f" (its folder {str(path.parent)!r} does not exist either)"
        raise DataFormatError(f"{path} does not exist{hint}; expected {what}") from None
    except OSError as exc:
        raise DataFormatError(
            f"{path} cannot be examined ({type(exc).__name__}: {exc.strerror or exc}); expected {what}"
        ) from exc
    if stat.S_ISREG(mode) or (folder_ok and stat.S_ISDIR(mode)):
        return path
    expected = "a regular file or a folder" if folder_ok else "a regular file"
    raise DataFormatError(
        f"{path} is {file_kind(mode)}; expected {what} ({expected}). "
        f"neurotk reads only regular files, since opening a pipe, socket or device can block forever"
    )
