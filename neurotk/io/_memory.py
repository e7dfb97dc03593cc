"""How much memory this process may still allocate, and a guard that refuses more.

A file of a few hundred bytes can declare terabytes (a NIfTI header's dimensions, the
shape in an ``.npy`` header, a zip member's size), and an argument can ask for more bins
than any machine holds. The loaders compare what a request needs with
:func:`available_memory` *before* allocating it, and refuse it with a clear
:class:`~neurotk.NeurotkError` (:func:`check_memory`) instead of a ``MemoryError`` deep in
numpy or an out-of-memory kill.

Available memory is the smallest of

- the memory the operating system reports as available (Linux ``MemAvailable`` of
  ``/proc/meminfo``, elsewhere the free physical pages), not the physical RAM;
- the headroom left under the process's address-space limit (``RLIMIT_AS``) where the
  user set one (the current virtual size subtracted);
- the headroom left in the process's cgroup (``memory.max`` minus ``memory.current``,
  cgroup v2) where one is set, as in containers.

neurotk never sets a limit itself. The module is private to :mod:`neurotk.io`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ArgumentError

__all__ = ["available_memory", "check_memory", "format_bytes"]


def _read_int(path: str) -> int | None:
    try:
        text = Path(path).read_text().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _os_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_AVPHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows, macOS
        return None


def _address_space_headroom() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (OSError, ValueError):  # pragma: no cover
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = None
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            used = int(f.read().split()[0]) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError, AttributeError):  # pragma: no cover - not Linux
        used = 0
    return max(0, soft - used)


def _cgroup_headroom() -> int | None:
    limit = _read_int("/sys/fs/cgroup/memory.max")  # "max" (no limit) reads as None
    if limit is None:
        return None
    current = _read_int("/sys/fs/cgroup/memory.current") or 0
    return max(0, limit - current)


def available_memory() -> int | None:
    """Bytes this process can still allocate (None where nothing is known).

    The smallest of the operating system's available memory, the headroom under
    ``RLIMIT_AS`` (where set) and the headroom of the cgroup (where set).

    Examples
    --------
    >>> size = available_memory()
    >>> size is None or size >= 0
    True
    """
    known = [v for v in (_os_available(), _address_space_headroom(), _cgroup_headroom()) if v is not None]
    return min(known) if known else None


def format_bytes(n: float) -> str:
    """A byte count for messages: ``'1.5 GiB'``.

    Examples
    --------
    >>> format_bytes(3 * 2**30 / 2), format_bytes(6.9 * 2**60), format_bytes(12)
    ('1.5 GiB', '6.9 EiB', '12 B')
    """
    n = float(n)
    for unit, power in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 2.0**power:
            return f"{n / 2.0**power:.3g} {unit}"
    return f"{int(n)} B"


def check_memory(need: float, what: str, hint: str, error=ArgumentError, have: int | None = None) -> None:
    """Raise ``error`` when ``need`` bytes exceed :func:`available_memory`.

    Parameters
    ----------
    need : int or float
        Bytes the request would allocate (a Python int: no overflow).
    what : str
        The request, for the message: ``"image.nii.gz: header shape (2048, 2048, 1024) of float32"``.
    hint : str
        What the user can do instead, for the message.
    error : NeurotkError subclass, default ArgumentError
        DataFormatError where a file's header asks for the memory.
    have : int, optional
        Bytes available (default: :func:`available_memory`); where unknown, only requests
        of more than 2**50 bytes (1 PiB) are refused.

    Examples
    --------
    >>> check_memory(10, "ten bytes", "ask for less")
    >>> check_memory(3 * 2**30, "3 GiB of bins", "ask for less", have=2**30)
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: 3 GiB of bins would need 3 GiB, more than the 1 GiB of memory available to this process; expected a request that fits in memory: ask for less
    """
    have = available_memory() if have is None else have
    limit = have if have is not None else 2**50
    if need <= limit:
        return
    where = f"the {format_bytes(have)} of memory available to this process" if have is not None else "1 PiB"
    raise error(f"{what} would need {format_bytes(need)}, more than {where}; expected a request that fits "
                f"in memory: {hint}")
