"""Small helpers shared across neurotk: seeding, atomic file writes, label keys and natural order."""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import re
import tempfile
from pathlib import Path

import numpy as np

from .errors import ArgumentError

__all__ = ["as_rng", "atomic_path", "label_key", "natural_codes", "natural_key"]


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


_DIGITS = re.compile(r"([0-9]+)")


def natural_key(value):
    """A sort key that orders labels as people read them: ``"s2"`` before ``"s10"``.

    Strings are split into runs of digits and of other characters, and the digit runs
    compare as numbers (natural order); numbers compare by value; NaN and None come last;
    numbers come before strings, so a column mixing both still sorts. neurotk orders
    conditions, groups and splits this way wherever it sorts labels (``Recording.average``,
    ``Recording.split``, ``rsa.rdm``), so ``s0, s1, ..., s10`` keep the order a user wrote
    them in instead of the lexical ``s0, s1, s10, s2``.

    Examples
    --------
    >>> sorted(["s10", "s2", "s1", "S3", "a"], key=natural_key)
    ['a', 's1', 's2', 'S3', 's10']
    >>> sorted([10, 2.5, float("nan"), 1], key=natural_key)
    [1, 2.5, 10, nan]
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (3, ())
    if isinstance(value, bool):
        return (0, (int(value),))
    if isinstance(value, numbers.Real):
        return (0, (float(value),))
    if isinstance(value, str):
        parts = [p for p in _DIGITS.split(value) if p]
        # case-folded text first, then the original text, so the order is total and stable
        folded = tuple((0, int(p)) if p[0] in "0123456789" else (1, p.casefold()) for p in parts)
        return (1, folded, value)
    if isinstance(value, tuple):
        return (2, tuple(natural_key(v) for v in value))
    return (2, (str(type(value).__name__), str(value)))


def natural_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """Unique labels in natural order (:func:`natural_key`) and each value's position in them.

    Like ``np.unique(values, return_inverse=True)``, but ``"s2"`` sorts before ``"s10"``;
    the sort runs over the unique labels only (a factorisation first), so it costs
    ``O(n)`` plus ``O(k log k)`` for ``k`` distinct labels.

    Examples
    --------
    >>> unique, codes = natural_codes(["s10", "s2", "s10", "s1"])
    >>> unique.tolist(), codes.tolist()
    (['s1', 's2', 's10'], [2, 1, 2, 0])
    """
    import pandas as pd

    arr = np.asarray(values)
    first_codes, uniques = pd.factorize(arr.ravel(), use_na_sentinel=False)
    uniques = np.asarray(uniques, dtype=arr.dtype if arr.dtype.kind != "O" else object)
    order = sorted(range(len(uniques)), key=lambda k: natural_key(uniques[k]))
    rank = np.empty(len(uniques), dtype=np.intp)
    rank[order] = np.arange(len(uniques))
    return uniques[order], rank[first_codes]
