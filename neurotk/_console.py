"""What neurotk shows on the console: progress bars and the stack level of its warnings.

:func:`progress_bar` is a tqdm bar when the stream it writes to (stderr) is a terminal; in a
log file, a CI job or a pipe it writes a few plain lines instead (start, each quarter,
end), never carriage returns. :func:`caller_stacklevel` is the ``stacklevel`` that makes a
warning point at the first frame outside neurotk (the user's line), however deep inside
neurotk it is raised.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["PlainProgress", "caller_stacklevel", "progress_bar"]

_PACKAGE = str(Path(__file__).resolve().parent)


def caller_stacklevel() -> int:
    """The ``stacklevel`` of :func:`warnings.warn` that names the first caller outside neurotk.

    Call it as the argument of ``warnings.warn(..., stacklevel=caller_stacklevel())``
    (what pandas' ``find_stack_level`` does): level 1 is the line calling
    ``warnings.warn``; frames are skipped while their file lies inside the neurotk package.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("x", UserWarning, stacklevel=caller_stacklevel())
    >>> caught[0].filename.startswith("<doctest")  # the caller's line, not this module
    True
    """
    frame = sys._getframe(1)  # the frame calling warnings.warn
    level = 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level


class PlainProgress:
    """A progress report in a few plain lines, for streams that are not terminals.

    The subset of tqdm's interface that neurotk uses: iteration, ``update``, ``close``
    and use as a context manager. Writes one line at the start, one when an update passes
    a quarter of ``total`` and one at the end (with the elapsed time); with
    ``leave=False`` (a transient bar) only the last, and only when the work took at least
    :attr:`quiet_below_seconds`.

    Examples
    --------
    >>> import io
    >>> stream = io.StringIO()
    >>> for _ in PlainProgress(range(8), desc="work", file=stream):
    ...     pass
    >>> [line.split(" (")[0] for line in stream.getvalue().splitlines()]
    ['work: 0/8 it', 'work: 2/8 it', 'work: 4/8 it', 'work: 6/8 it', 'work: 8/8 it done']
    """

    def __init__(self, iterable=None, total=None, desc="", unit="it", file=None, leave=True, **_ignored):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total = total
        self.desc = desc or "progress"
        self.unit = unit
        self.file = file
        self.n = 0
        self._start = time.perf_counter()
        self._next_quarter = 1
        self._closed = False
        self.leave = leave  # a transient bar (leave=False) writes only its "done" line
        if leave:
                self._write(f"{self.desc}: 0/{self.total if self.total is not None else '?'} {self.unit}")

    def _write(self, text: str) -> None:
        stream = self.file if self.file is not None else sys.stderr
        print(text, file=stream, flush=True)

    def _elapsed(self) -> str:
        return f"{time.perf_counter() - self._start:.1f} s"

    def update(self, n=1) -> None:
        self.n += n
        if not self.total:
            return
        crossed = False
        while self._next_quarter < 4 and self.n >= self._next_quarter * self.total / 4:
            self._next_quarter += 1
            crossed = True
        if crossed and self.n < self.total and self.leave:
            self._write(f"{self.desc}: {self.n}/{self.total} {self.unit} ({self._elapsed()})")

    #: A transient bar (``leave=False``) that finishes sooner than this writes nothing: a log
    #: of many quick steps (the demo's bootstraps) should not fill with "done in 0.0 s" lines.
    quiet_below_seconds = 1.0

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if not self.leave and time.perf_counter() - self._start < self.quiet_below_seconds:
                return
            total = self.total if self.total is not None else self.n
            self._write(f"{self.desc}: {self.n}/{total} {self.unit} done ({self._elapsed()})")

    def set_postfix(self, *args, **kwargs) -> None:  # tqdm compatibility; nothing to show
        return None

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return self.total or 0


def progress_bar(iterable=None, *, total=None, desc="", disable=False, unit="it", leave=True, file=None):
    """A tqdm bar on a terminal, :class:`PlainProgress` lines elsewhere, nothing when ``disable``.

    Parameters
    ----------
    iterable : iterable, optional
    total : int, optional
    desc, unit : str
    disable : bool, default False
    leave : bool, default True
        Keep the tqdm bar on screen when done.
    file : stream, optional
        Where to write (default: ``sys.stderr``).

    Examples
    --------
    >>> import io
    >>> list(progress_bar(range(3), disable=True))
    [0, 1, 2]
    >>> stream = io.StringIO()
    >>> _ = list(progress_bar(range(3), desc="x", file=stream))  # not a terminal: plain lines
    >>> "\\r" in stream.getvalue(), stream.getvalue().splitlines()[0]
    (False, 'x: 0/3 it')
    """
    from tqdm.auto import tqdm

    stream = file if file is not None else sys.stderr
    if disable:
        return tqdm(iterable, total=total, disable=True)
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, file=stream)
    return PlainProgress(iterable, total=total, desc=desc, unit=unit, file=file, leave=leave)
