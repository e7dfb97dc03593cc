"""The contract every result of an analysis keeps: numbers as arrays and tables, a tidy
table, a figure, a file and a readable repr.

Every result class neurotk exports (an RDM stack, a bootstrap, a noise ceiling, an NTF
fit, a layer mapping ...) derives from :class:`Result` and so offers:

- ``to_frame()``: a tidy :class:`pandas.DataFrame`, one row per observation;
- ``plot(ax=None)``: a matplotlib figure of it, returning the Axes drawn on (results
  drawn on several panels take ``axes=`` and return an array of Axes);
- ``save(path)``: the table (``.csv``, ``.tsv``, ``.json``) or the figure (``.png``,
  ``.pdf``, ``.svg``), chosen by the file's suffix, written to a temporary name and
  renamed, so an interrupted save never leaves half a file;
- a short ``repr``.

Subclasses implement ``to_frame`` and ``plot`` (drawing through :mod:`neurotk.plotting`,
which computes nothing) and usually their own ``__repr__``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from neurotk.results import Result
>>> class Scores(Result):
...     def __init__(self, values):
...         self.values = np.asarray(values)
...     def to_frame(self):
...         return pd.DataFrame({"unit": np.arange(self.values.size), "score": self.values})
>>> Scores([0.5, 0.25])
Scores(2 rows: unit, score)
"""

from __future__ import annotations

from pathlib import Path

from .errors import ArgumentError

__all__ = ["Result"]

_TABLES = {".csv": ",", ".tsv": "\t"}
_FIGURES = (".png", ".pdf", ".svg")


class Result:
    """Base class of neurotk's analysis results (see the module docstring for the contract)."""

    def to_frame(self):
        """The result as a tidy :class:`pandas.DataFrame`."""
        raise NotImplementedError(f"{type(self).__name__} does not define to_frame()")

    def plot(self, ax=None, **kwargs):
        """Draw the result; returns the matplotlib Axes drawn on."""
        raise NotImplementedError(f"{type(self).__name__} does not define plot()")

    def save(self, path, **kwargs) -> Path:
        """Write the table or the figure to ``path``, by its suffix; returns the path.

        ``.csv``/``.tsv``/``.json`` hold :meth:`to_frame`; ``.png``/``.pdf``/``.svg``
        hold :meth:`plot` (``kwargs`` go to ``plot``). The file is written to a temporary
        name beside ``path`` and renamed, so an existing file is replaced only by a
        complete one.

        Examples
        --------
        >>> import tempfile, pathlib, numpy as np
        >>> from neurotk import rsa
        >>> r = rsa.rdm(np.random.default_rng(0).normal(size=(4, 6)))
        >>> out = r.save(pathlib.Path(tempfile.mkdtemp()) / "rdm.csv")
        >>> out.name
        'rdm.csv'
        """
        from .tables import spreadsheet_safe
        from .utils import atomic_path

        path = Path(path)
        suffix = path.suffix.lower()
        if path.is_dir():
            raise ArgumentError(f"path={str(path)!r} is a directory; expected a file name ending in "
                                f"{sorted([*_TABLES, '.json', *_FIGURES])}")
        if suffix in _TABLES or suffix == ".json":
            frame = self.to_frame()
            with atomic_path(path) as tmp:
                if suffix == ".json":
                    frame.to_json(tmp, orient="records", indent=1)
                else:
                    spreadsheet_safe(frame).to_csv(tmp, sep=_TABLES[suffix], index=False)
            return path
        if suffix in _FIGURES:
            import matplotlib.pyplot as plt
            import numpy as np

            drawn = self.plot(**kwargs)
            first = np.ravel(np.asarray(drawn, dtype=object))[0]
            fig = first.figure
            try:
                with atomic_path(path) as tmp:
                    fig.savefig(tmp, format=suffix[1:], dpi=110)
            finally:
                plt.close(fig)
            return path
        raise ArgumentError(
            f"path={str(path)!r} has the suffix {suffix or '(none)'!r}; expected one of "
            f"{sorted([*_TABLES, '.json', *_FIGURES])}"
        )

    def __repr__(self) -> str:
        try:
            frame = self.to_frame()
        except Exception:  # a repr must never fail
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}({len(frame)} rows: {', '.join(map(str, frame.columns))})"
