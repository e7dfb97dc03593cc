"""Scale-out helpers shared by every analysis: joblib loops and memory-bounded chunks.

Every embarrassingly parallel loop in neurotk (bootstrap samples, target chunks of an
encoding model, NTF restarts ...) goes through :func:`map_chunks`, which runs on joblib.
Inside ``joblib.parallel_config(backend="dask")`` with a ``dask.distributed.Client`` the
same call runs on a Dask cluster unchanged. Chunk sizes follow a memory budget through
:func:`chunk_size`.

Examples
--------
>>> from neurotk.parallel import chunk_slices, map_chunks
>>> chunk_slices(10, 4)
[slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
>>> map_chunks(lambda s: s.stop - s.start, chunk_slices(10, 4))
[4, 4, 2]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from .errors import ArgumentError

__all__ = ["DEFAULT_MAX_MEMORY", "parse_memory", "chunk_size", "chunk_slices", "map_chunks"]

#: Default working-memory budget of one chunked computation, in bytes (512 MiB).
DEFAULT_MAX_MEMORY = 512 * 2**20

_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20,
          "mib": 2**20, "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


def parse_memory(max_memory, name: str = "max_memory") -> int:
    """Read a memory budget given as bytes (int/float) or a string like ``"2GB"``/``"500 MiB"``.

    ``None`` means :data:`DEFAULT_MAX_MEMORY`. Units are binary (1 GB = 2**30 bytes).

    Examples
    --------
    >>> parse_memory("1.5 GB") == int(1.5 * 2**30)
    True
    >>> parse_memory(4096)
    4096
    """
    if max_memory is None:
        return DEFAULT_MAX_MEMORY
    if isinstance(max_memory, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", max_memory)
        if m is None or m.group(2).lower() not in _UNITS:
            raise ArgumentError(
                f"{name}={max_memory!r} is not a memory size; expected bytes or a string such "
                f"as '512MB' or '2GB'"
            )
        value = float(m.group(1)) * _UNITS[m.group(2).lower()]
    else:
        try:
            value = float(max_memory)
        except (TypeError, ValueError):
            raise ArgumentError(
                f"{name} has type {type(max_memory).__name__}; expected bytes or a string such "
                f"as '2GB'"
            ) from None
    if not value > 0 or value == float("inf"):
        raise ArgumentError(f"{name}={max_memory!r}; expected a positive, finite memory size")
    return int(value)


def chunk_size(n_items: int, bytes_per_item: float, max_memory=None, minimum: int = 1) -> int:
    """How many items fit in ``max_memory`` when each needs ``bytes_per_item`` bytes.

    The result lies in ``[minimum, max(n_items, minimum)]``: a budget too small for one
    item still processes one item at a time rather than failing.

    Examples
    --------
    >>> chunk_size(100_000, bytes_per_item=8 * 1000, max_memory="8MB")
    1048
    """
    budget = parse_memory(max_memory)
    fit = int(budget // max(float(bytes_per_item), 1.0))
    return int(max(minimum, min(max(int(n_items), minimum), fit)))


def chunk_slices(n_items: int, size: int) -> list[slice]:
    """Consecutive slices of at most ``size`` items covering ``range(n_items)``.

    Examples
    --------
    >>> chunk_slices(5, 2)
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    size = max(int(size), 1)
    return [slice(start, min(start + size, n_items)) for start in range(0, int(n_items), size)]


def map_chunks(fn: Callable, chunks: Iterable, n_jobs: int | None = 1, progress: bool = False,
               desc: str | None = None, total: int | None = None,
               weights: Sequence[int] | None = None, shared: Sequence = ()) -> list:
    """Apply ``fn`` to every chunk, in order, through joblib when ``n_jobs != 1``.

    Parameters
    ----------
    fn : callable
        Called as ``fn(*shared, chunk)``; when a chunk is a tuple it is unpacked,
        ``fn(*shared, *chunk)``.
    chunks : iterable
        The work items (slices, index arrays, seeds, tuples of arguments).
    n_jobs : int or None
        Parallel workers (joblib semantics: -1 = all cores). ``1`` runs serially in this
        process; ``None`` leaves the choice to ``joblib.parallel_config``. Any joblib
        backend set by ``joblib.parallel_config`` (e.g. ``"dask"``) is used unchanged.
    shared : sequence, optional
        Arguments that every call receives first (typically the large arrays). They are
        handed to joblib as separate arguments, so its backends send each one to the
        workers once rather than with every task: loky memory-maps large numpy arrays,
        and the Dask backend scatters each array once to the cluster.
    progress : bool
        Show a tqdm progress bar.
    desc : str, optional
        Label of the progress bar.
    total : int, optional
        Total progress units; with ``weights`` each finished chunk advances the bar by its
        weight (e.g. the number of targets it holds), otherwise by one.
    weights : sequence of int, optional
        Progress units per chunk.

    Returns
    -------
    list
        ``fn``'s results in the order of ``chunks``.

    Examples
    --------
    >>> map_chunks(pow, [(2, 3), (3, 2)])
    [8, 9]
    >>> import numpy as np
    >>> map_chunks(lambda x, s: float(x[s].sum()), chunk_slices(4, 2), shared=[np.arange(4.0)])
    [1.0, 5.0]
    """
    chunks = list(chunks)
    if n_jobs is not None and (not isinstance(n_jobs, (int,)) or n_jobs == 0):
        raise ArgumentError(f"n_jobs={n_jobs!r}; expected a non-zero integer (-1 = all cores) or None")
    weights = [1] * len(chunks) if weights is None else list(weights)
    total = sum(weights) if total is None else total

    shared = tuple(shared)

    def args(chunk) -> tuple:
        return shared + (chunk if isinstance(chunk, tuple) else (chunk,))

    from ._console import progress_bar

    bar = progress_bar(total=total, desc=desc, disable=not progress, leave=False)
    results = []
    try:
        if n_jobs == 1 or len(chunks) <= 1:
            for chunk, w in zip(chunks, weights):
                results.append(fn(*args(chunk)))
                bar.update(w)
        else:
            from joblib import Parallel, delayed

            gen = Parallel(n_jobs=n_jobs, return_as="generator")(delayed(fn)(*args(c)) for c in chunks)
            for res, w in zip(gen, weights):
                results.append(res)
                bar.update(w)
    finally:
        bar.close()
    return results
