"""Selecting rows and columns of the pandas tables that describe samples and units.

A :class:`~neurotk.Recording`'s ``samples`` and ``units`` tables, and the units table of
spike trains still in their file, are selected the same way: :func:`table_positions` reads
a selector (query string, dict of column -> values, mask, positions, slice, callable) and
:func:`table_columns` checks the columns named in an argument.
"""

from __future__ import annotations

import numbers
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import ArgumentError, ShapeMismatchError, describe_values

__all__ = ["spreadsheet_safe", "table_columns", "table_positions"]


def table_positions(selector, table: pd.DataFrame, axis: str = "units") -> np.ndarray | slice:
    """Row positions of ``table`` that a selector picks, as :meth:`Recording.select` reads it.

    The selector is a pandas query string, a dict of column -> value(s), a boolean mask,
    integer positions, a slice, a callable taking the table, or None (every row, as
    ``slice(None)``). Loaders whose units live outside a Recording (spike trains in a
    file) select with it, so a selector means the same everywhere; ``axis`` ("units",
    "samples") names the table in messages.

    Examples
    --------
    >>> import pandas as pd
    >>> table_positions({"area": "V1"}, pd.DataFrame({"area": ["V1", "LM", "V1"]}))
    array([0, 2])
    """
    n = len(table)
    if selector is None:
        return slice(None)
    if callable(selector) and not isinstance(selector, (str, pd.Series, np.ndarray)):
        selector = selector(table.copy())
    if isinstance(selector, str):
        try:
            idx = table.query(selector, engine="python").index.to_numpy()
        except Exception as exc:
            raise ArgumentError(
                f"select({axis}={selector!r}) could not be evaluated on the {axis} table "
                f"({type(exc).__name__}: {exc}); its columns are {list(table.columns)}"
            ) from exc
        return idx
    if isinstance(selector, Mapping):
        cols = table_columns(list(selector), table, f"select({axis}=...)", axis)
        mask = np.ones(n, dtype=bool)
        for col in cols:
            value = selector[col]
            if isinstance(value, (str, bytes, numbers.Number)) or value is None or not isinstance(value, Iterable):
                mask &= (table[col] == value).to_numpy()
            else:
                mask &= table[col].isin(list(value)).to_numpy()
        return np.flatnonzero(mask)
    if isinstance(selector, slice):
        return np.arange(n)[selector]
    arr = np.asarray(selector)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ShapeMismatchError(
                f"select({axis}=mask): boolean mask has shape {arr.shape}; expected ({n},), "
                f"one value per {axis[:-1]}"
            )
        return np.flatnonzero(arr)
    if arr.dtype.kind in "iu":
        arr = arr.reshape(-1)
        bad = arr[(arr < -n) | (arr >= n)]
        if bad.size:
            raise ArgumentError(
                f"select({axis}=positions): positions {describe_values(bad)} are out of range "
                f"for {n} {axis}"
            )
        return np.where(arr < 0, arr + n, arr)
    raise ArgumentError(
        f"select({axis}=...) got {type(selector).__name__}; expected a query string, a dict "
        f"of column -> value(s), a boolean mask, integer positions or a callable"
    )


def table_columns(by, table: pd.DataFrame, argument: str, tablename: str = "samples") -> list[str]:
    """``by`` (a column name or a list of them) as a list of columns of ``table``, or a clear error.

    ``argument`` ("average(by)") and ``tablename`` name what was asked in the message.

    Examples
    --------
    >>> import pandas as pd
    >>> table_columns("run", pd.DataFrame({"run": [1], "trial": [0]}), "split(by)")
    ['run']
    """
    cols = [by] if isinstance(by, str) else list(by)
    if not cols:
        raise ArgumentError(f"{argument} is empty; expected one or more {tablename} column names")
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ArgumentError(
            f"{argument}={by!r}: no column {describe_values(missing)} in the {tablename} table; "
            f"its columns are {list(table.columns)}"
        )
    return cols


#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (an area
    or condition name taken from a data file, say) gets a leading ``'``, as OWASP
    recommends against CSV injection; numbers are left alone. neurotk writes every CSV
    table through this.

    Examples
    --------
    >>> import pandas as pd
    >>> spreadsheet_safe(pd.DataFrame({"area": ["V1", "=HYPERLINK(1)"], "score": [-0.5, 0.2]})).values.tolist()
    [['V1', -0.5], ["'=HYPERLINK(1)", 0.2]]
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind in "OSU" or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_STARTS) else v)
    if out.columns.dtype.kind == "O":
        out.columns = ["'" + c if isinstance(c, str) and c.startswith(_FORMULA_STARTS) else c for c in out.columns]
    return out
