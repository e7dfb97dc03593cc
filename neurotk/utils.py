"""Small helpers shared across neurotk: seeding, atomic file writes and label keys."""

from __future__ import annotations

import contextlib
import numbers
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import ArgumentError

__all__ = ["as_rng", "atomic_path", "label_key"]


def as_rng(random_state=None) -> np.random.Generator:
    """Turn ``random_state`` (None, int, Generator or RandomState) into a Generator.

    The same integer always gives the same stream, so functions taking ``random_state``
    are deterministic.

    Examples
    --------
    >>> bool(as_rng(0).integers(10) == as_rng(0).integers(10))
    True
    """
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if random_state is not None and random_state < 0:
            raise ArgumentError(f"random_state={random_state}; expected a non-negative integer")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise ArgumentError(
        f"random_state has type {type(random_state).__name__}; expected None, an integer or "
        f"a numpy Generator"
    )


@contextlib.contextmanager
def atomic_path(path, suffix: str | None = None):
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    An interrupted or failing writer leaves no half-written file behind: the temporary
    file is removed and any existing ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(path.suffixes) if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()  # writers such as h5py want to create the file themselves
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def label_key(value):
    """A label (run, ROI id ...) as a comparable key: ``"2"``, ``2.0`` and ``np.int64(2)`` all give 2.

    Whole numbers, and strings that spell one, become ints; other strings are stripped;
    other numpy scalars become Python scalars. Tables read from text files and arrays
    from images then name the same label the same way.

    Examples
    --------
    >>> import numpy as np
    >>> [label_key(v) for v in ("2", 2.0, np.int64(2), " face ", 2.5)]
    [2, 2, 2, 'face', 2.5]
    """
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
        return text
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value
