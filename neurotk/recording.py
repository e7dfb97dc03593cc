"""The one data model: a labelled (n_samples, n_units) array.

A :class:`Recording` holds responses (``data``), a ``samples`` table with one row per
sample (a stimulus presentation, a condition or a time bin: stimulus id, time, trial,
repeat, run ...), a ``units`` table with one row per unit (a neuron, a voxel, an ROI or a
network channel: unit id, area, depth, layer ...) and a ``meta`` dict. Every loader
produces Recordings and every analysis accepts them, so a mouse V1 session and a network
layer are compared as two Recordings.

Recordings are immutable in spirit: operations return new Recordings, ``data`` is a
read-only array, and the caller's arrays and tables are never changed.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import (
    AlignmentError,
    ArgumentError,
    DataFormatError,
    DuplicateIdError,
    NonFiniteDataError,
    ShapeMismatchError,
    describe_values,
)
from .tables import table_columns, table_positions
from .utils import natural_key

__all__ = ["Recording", "concat"]

#: Elements scanned at once when checking finiteness, so the check never holds a
#: boolean copy of a large array.
_CHUNK_ELEMENTS = 1 << 22


# --------------------------------------------------------------------------- helpers
def _as_data(data, copy: bool, name: str = "data") -> np.ndarray:
    """Validate and convert ``data`` to a 2-D floating array (float32 stays float32)."""
    if isinstance(data, Recording):
        raise ArgumentError(f"{name} is already a Recording; pass recording.data or use replace()")
    try:
        arr = np.asarray(data)
    except Exception as exc:  # ragged lists and the like
        raise DataFormatError(
            f"{name} could not be read as a numeric array ({exc}); expected a 2-D array "
            f"of shape (n_samples, n_units)"
        ) from exc
    if arr.ndim != 2:
        hint = ""
        if arr.ndim == 1:
            hint = (
                " For a single unit use x[:, None]; for a single sample use x[None, :]."
            )
        elif arr.ndim == 3:
            hint = (
                " For trials x time x units use Recording.from_trials(x); otherwise "
                "reshape to (n_samples, n_units)."
            )
        raise ShapeMismatchError(
            f"{name} must be 2-D (n_samples, n_units); got a {arr.ndim}-D array of shape "
            f"{arr.shape}.{hint}"
        )
    if 0 in arr.shape:
        raise ShapeMismatchError(
            f"{name} has shape {arr.shape}; expected at least one sample and one unit"
        )
    kind = arr.dtype.kind
    if kind == "f":
        out = arr.astype(np.float32) if arr.dtype.itemsize < 4 else arr
        if out is arr and copy:
            out = arr.copy()
    elif kind in "iub":
        out = arr.astype(np.float64)
    elif kind == "c":
        raise DataFormatError(
            f"{name} is complex ({arr.dtype}); expected real numbers (take np.abs or .real)"
        )
    else:
        try:
            out = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise DataFormatError(
                f"{name} has dtype {arr.dtype} and could not be converted to numbers "
                f"({exc}); expected a numeric 2-D array"
            ) from exc
    view = out.view()
    view.flags.writeable = False
    return view


def _check_finite(data: np.ndarray, allow_nan: bool, units: pd.DataFrame, name: str = "data"):
    """Raise :class:`NonFiniteDataError` for NaN (unless allowed) or infinite values."""
    n_nan = n_inf = 0
    first = None
    rows_per_chunk = max(1, _CHUNK_ELEMENTS // data.shape[1])
    for start in range(0, data.shape[0], rows_per_chunk):
        block = data[start : start + rows_per_chunk]
        finite = np.isfinite(block)
        if finite.all():
            continue
        isnan = np.isnan(block)
        bad = ~finite if not allow_nan else np.isinf(block)
        n_nan += int(isnan.sum())
        n_inf += int((~finite & ~isnan).sum())
        if first is None and bad.any():
            r, c = np.argwhere(bad)[0]
            first = (start + int(r), int(c))
    if first is None:
        return
    sample, unit = first
    unit_id = units["unit_id"].iloc[unit]
    unit_id = unit_id.item() if isinstance(unit_id, np.generic) else unit_id
    what = f"{n_nan} NaN and {n_inf} infinite values" if not allow_nan else f"{n_inf} infinite values"
    advice = (
        "Pass allow_nan=True to keep NaN entries as missing values, or remove them with "
        "select()" if not allow_nan else "Infinite values are never valid; replace or drop them"
    )
    raise NonFiniteDataError(
        f"{name} contains {what} (first at sample {sample}, unit {unit_id!r}); expected "
        f"finite values. {advice}."
    )


def _as_table(table, n_rows: int, name: str) -> pd.DataFrame:
    """Return a private copy of ``table`` as a DataFrame with a 0..n-1 RangeIndex."""
    if table is None:
        return pd.DataFrame(index=pd.RangeIndex(n_rows))
    if isinstance(table, pd.Series):
        table = table.to_frame()
    if not isinstance(table, pd.DataFrame):
        if isinstance(table, Mapping):
            lengths = {k: (1 if np.ndim(v) == 0 else len(v)) for k, v in table.items()}
            bad = {k: n for k, n in lengths.items() if n not in (n_rows, 1)}
            if bad:
                k, n = next(iter(bad.items()))
                raise ShapeMismatchError(
                    f"{name} column {k!r} has {n} values but data has {n_rows} "
                    f"{'samples' if name == 'samples' else 'units'}; expected one value each"
                )
            try:
                table = pd.DataFrame(dict(table), index=pd.RangeIndex(n_rows))
            except Exception as exc:
                raise DataFormatError(f"{name} could not be made into a table ({exc})") from exc
        else:
            raise ArgumentError(
                f"{name} must be a pandas DataFrame or a dict of columns; got "
                f"{type(table).__name__}"
            )
    if len(table) != n_rows:
        axis = "samples (rows)" if name == "samples" else "units (columns)"
        raise ShapeMismatchError(
            f"{name} table has {len(table)} rows but data has {n_rows} {axis}; expected "
            f"one row per {'sample' if name == 'samples' else 'unit'}"
        )
    table = table.copy()
    if not isinstance(table.index, pd.RangeIndex) and table.index.name is not None:
        table = table.reset_index()  # a named index is information: keep it as a column
    table = table.reset_index(drop=True)
    table.columns = [str(c) for c in table.columns]
    dup = table.columns[table.columns.duplicated()].tolist()
    if dup:
        raise DataFormatError(f"{name} table has duplicated column names {dup}; expected unique names")
    return table


def _ensure_unit_ids(units: pd.DataFrame) -> pd.DataFrame:
    if "unit_id" not in units.columns:
        units.insert(0, "unit_id", np.arange(len(units)))
        return units
    ids = units["unit_id"]
    if ids.isna().any():
        where = np.flatnonzero(ids.isna().to_numpy())
        raise DuplicateIdError(
            f"units column 'unit_id' has missing values at positions {describe_values(where)}; "
            f"expected one unique id per unit"
        )
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise DuplicateIdError(
            f"units column 'unit_id' has duplicated ids {describe_values(pd.unique(dup))}; "
            f"expected unique ids (use concat(..., relabel=True) when joining recordings)"
        )
    return units


def _group_codes(table: pd.DataFrame, cols: list[str], sort: bool = True) -> tuple[np.ndarray, int]:
    """Group code of every row: groups in natural order of their keys (``sort``) or by first appearance."""
    try:
        codes = table.groupby(cols, sort=False, dropna=False).ngroup().to_numpy().astype(np.intp)
    except TypeError as exc:
        raise ArgumentError(f"cannot group by {cols}: values are not hashable ({exc})") from exc
    n_groups = int(codes.max()) + 1
    if sort and n_groups > 1:  # natural order ("s2" before "s10"), sorting the groups, not the rows
        _, first = np.unique(codes, return_index=True)
        keys = table[cols].iloc[first].itertuples(index=False, name=None)
        order = sorted(range(n_groups), key=[natural_key(k) for k in keys].__getitem__)
        rank = np.empty(n_groups, dtype=np.intp)
        rank[order] = np.arange(n_groups)
        codes = rank[codes]
    return codes, n_groups


def _row_chunks(n_rows: int, n_cols: int) -> Iterator[slice]:
    """Slices of rows holding about ``_CHUNK_ELEMENTS`` elements each."""
    step = max(1, _CHUNK_ELEMENTS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        yield slice(start, min(start + step, n_rows))


def _indicator(codes: np.ndarray, n_groups: int, dtype):
    """Sparse (n_groups x n_samples) matrix with a 1 where sample j belongs to group i."""
    from scipy import sparse

    n = codes.size
    return sparse.csr_matrix((np.ones(n, dtype=dtype), (codes, np.arange(n))), shape=(n_groups, n))


def _group_sums(data: np.ndarray, codes: np.ndarray, n_groups: int, may_have_nan: bool):
    """Per-group sums and counts of non-NaN values: (n_groups, n_units) each.

    One sparse indicator (n_groups x n_samples) times the data: BLAS speed, no loop over
    samples or units. NaN entries count as missing when ``may_have_nan``.
    """
    indicator = _indicator(codes, n_groups, data.dtype)
    if may_have_nan and np.isnan(data).any():
        sums = np.zeros((n_groups, data.shape[1]), dtype=data.dtype)
        counts = np.zeros_like(sums)
        for rows in _row_chunks(*data.shape):
            block = data[rows]
            present = ~np.isnan(block)
            sums += indicator[:, rows] @ np.where(present, block, 0)
            counts += indicator[:, rows] @ present.astype(data.dtype)
        return sums, counts
    sums = np.asarray(indicator @ data)
    counts = np.bincount(codes, minlength=n_groups).astype(data.dtype)[:, None]
    return sums, np.broadcast_to(counts, sums.shape)


# --------------------------------------------------------------------------- the class
class Recording:
    """Responses of units to samples, with the tables that say what each row and column is.

    Parameters
    ----------
    data : array-like, shape (n_samples, n_units)
        Responses. Integers and booleans become float64; float32 stays float32.
    samples : DataFrame or dict of columns, optional
        One row per sample: stimulus id (``stimulus``), ``time`` (s), ``trial``,
        ``repeat``, ``run`` ... Defaults to a table with no columns.
    units : DataFrame or dict of columns, optional
        One row per unit: ``unit_id`` (unique; filled with 0..n-1 when absent),
        ``area``, ``depth``, ``layer``, ``source`` ("brain" or "model") ...
    meta : dict, optional
        Subject, session, sampling rate, units of measure, provenance.
    allow_nan : bool, default False
        Accept NaN entries as missing values. Infinite values are always rejected.
    copy : bool, default True
        Copy ``data``. With ``copy=False`` a float array (or memory map) is wrapped
        without copying; it is still never written to.
    check_finite : bool, default True
        Scan ``data`` for NaN and infinite values (one pass over it, in blocks). ``False``
        skips the scan, for data finite by construction (spike counts, for example), where
        it would cost a full pass over a large array for nothing; the caller then vouches
        that ``data`` has no infinite values (and no NaN unless ``allow_nan``), which every
        operation assumes. Shape, dtype and table checks always run.

    Attributes
    ----------
    data : ndarray, read-only
    samples, units : DataFrame (copies; change them through :meth:`replace`)
    meta : dict (a copy)

    Raises
    ------
    ShapeMismatchError
        ``data`` is not 2-D, or a table's length does not match it.
    NonFiniteDataError
        NaN (without ``allow_nan``) or infinite values in ``data`` (with ``check_finite``).
    DuplicateIdError
        Repeated or missing unit ids.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording
    >>> rec = Recording(np.ones((4, 2)), samples={"stimulus": [0, 1, 0, 1]},
    ...                 units={"area": ["V1", "V1"]}, meta={"subject": "m1"})
    >>> rec.average(by="stimulus").shape
    (2, 2)
    """

    __array_priority__ = 10

    def __init__(
        self,
        data,
        samples=None,
        units=None,
        meta: Mapping[str, Any] | None = None,
        *,
        allow_nan: bool = False,
        copy: bool = True,
        check_finite: bool = True,
    ):
        arr = _as_data(data, copy)
        samples = _as_table(samples, arr.shape[0], "samples")
        units = _ensure_unit_ids(_as_table(units, arr.shape[1], "units"))
        if meta is not None and not isinstance(meta, Mapping):
            raise ArgumentError(f"meta must be a dict; got {type(meta).__name__}")
        if check_finite:
            _check_finite(arr, allow_nan, units)
        self._set(arr, samples, units, dict(meta or {}), bool(allow_nan))

    # construction without re-validation, for results of operations on valid Recordings
    def _set(self, data, samples, units, meta, allow_nan):
        self._data = data
        self._samples = samples
        self._units = units
        self._meta = meta
        self._allow_nan = allow_nan

    def _derive(self, data, samples=None, units=None, meta=None, step: str | None = None) -> "Recording":
        new = object.__new__(Recording)
        if data.flags.writeable:
            data = data.view()
            data.flags.writeable = False
        meta = dict(self._meta if meta is None else meta)
        if step is not None:
            meta["history"] = [*meta.get("history", []), step]
        new._set(
            data,
            self._samples if samples is None else samples.reset_index(drop=True),
            self._units if units is None else units.reset_index(drop=True),
            meta,
            self._allow_nan,
        )
        return new

    # ------------------------------------------------------------------ properties
    @property
    def data(self) -> np.ndarray:
        """The responses, shape (n_samples, n_units), read-only."""
        return self._data

    @property
    def samples(self) -> pd.DataFrame:
        """A copy of the samples table (one row per sample)."""
        return self._samples.copy()

    @property
    def units(self) -> pd.DataFrame:
        """A copy of the units table (one row per unit; always has ``unit_id``)."""
        return self._units.copy()

    @property
    def meta(self) -> dict:
        """A copy of the metadata dict."""
        return dict(self._meta)

    @property
    def allow_nan(self) -> bool:
        """Whether NaN entries (missing values) are allowed in ``data``."""
        return self._allow_nan

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_units)``."""
        return self._data.shape

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return self._data.shape[0]

    @property
    def n_units(self) -> int:
        """Number of units (columns)."""
        return self._data.shape[1]

    @property
    def dtype(self) -> np.dtype:
        """The floating dtype of ``data``."""
        return self._data.dtype

    @property
    def unit_ids(self) -> np.ndarray:
        """The ``unit_id`` column as an array."""
        return self._units["unit_id"].to_numpy()

    @property
    def name(self) -> str | None:
        """``meta["name"]`` if set."""
        return self._meta.get("name")

    def column(self, name, *, table: str = "samples", argument: str = "column", expected: str | None = None) -> np.ndarray:
        """The values of one column of the ``samples`` (or ``units``) table, or a clear error.

        Analyses that read labels from a Recording (stimulus ids, runs, folds) look them
        up here, so a missing column is reported the same way everywhere: naming the
        argument, the table's columns and what the column should hold.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((2, 1)), samples={"run": [1, 2]})
        >>> rec.column("run", argument="runs")
        array([1, 2])
        >>> rec.column("fold", argument="folds", expected="the fold of each sample")
        Traceback (most recent call last):
        ...
        neurotk.errors.ArgumentError: folds='fold' is not a column of the samples table (its columns are ['run']); expected the fold of each sample
        """
        frame = {"samples": self._samples, "units": self._units}[table]
        if not isinstance(name, str) or name not in frame.columns:
            raise ArgumentError(
                f"{argument}={name!r} is not a column of the {table} table (its columns are "
                f"{list(frame.columns)}); expected {expected or 'one of those columns'}"
            )
        return frame[name].to_numpy()

    def codes(self, name, *, table: str = "samples", sort: bool = True, argument: str = "column",
              expected: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Integer codes of a column's values and the values they stand for.

        ``codes[i]`` is the position of row i's value in ``values`` (in natural order,
        :func:`neurotk.utils.natural_key`: ``"s2"`` before ``"s10"``; or in order of first
        appearance with ``sort=False``). Missing values are refused.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((3, 1)), samples={"stimulus": ["b", "a", "b"]})
        >>> codes, values = rec.codes("stimulus")
        >>> codes.tolist(), values.tolist()
        ([1, 0, 1], ['a', 'b'])
        """
        values = self.column(name, table=table, argument=argument, expected=expected)
        try:
            codes, uniques = pd.factorize(values, sort=False)
        except TypeError as exc:
            raise ArgumentError(f"{argument}={name!r}: the values cannot be coded ({exc}); expected hashable "
                                f"values") from exc
        uniques = np.asarray(uniques)
        if sort and uniques.size > 1:  # natural order: "s2" before "s10"
            order = sorted(range(uniques.size), key=lambda k: natural_key(uniques[k]))
            rank = np.empty(uniques.size, dtype=np.intp)
            rank[order] = np.arange(uniques.size)
            codes = np.where(codes < 0, codes, rank[np.maximum(codes, 0)])
            uniques = uniques[order]
        if (codes < 0).any():
            raise ArgumentError(
                f"{argument}={name!r}: the {table} column has missing values at rows "
                f"{describe_values(np.flatnonzero(codes < 0))}; expected a value in every row"
            )
        return codes.astype(np.intp), uniques

    def __array__(self, dtype=None, copy=None):
        if dtype is None:
            return self._data if not copy else self._data.copy()
        return self._data.astype(dtype)

    # ------------------------------------------------------------------ alternatives
    @classmethod
    def from_trials(
        cls,
        data,
        time=None,
        trials=None,
        units=None,
        meta: Mapping[str, Any] | None = None,
        *,
        allow_nan: bool = False,
    ) -> "Recording":
        """Build a Recording from a trials x time x units array.

        Samples are the (trial, time) pairs in trial-major order; ``samples`` gets a
        ``trial`` column, a ``time`` column and the columns of ``trials`` repeated per
        time point, so ``rec.select(samples="time < 0.1")`` and ``average(by="time")``
        work as expected.

        Parameters
        ----------
        data : array-like, shape (n_trials, n_times, n_units)
        time : array-like, shape (n_times,), optional
            Time of each bin (s). Defaults to 0..n_times-1.
        trials : DataFrame or dict, optional
            One row per trial (stimulus id, condition ...).
        units, meta, allow_nan
            As for :class:`Recording`.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording.from_trials(np.zeros((5, 10, 3)), time=np.arange(10) * 0.01)
        >>> rec.shape, list(rec.samples.columns)
        ((50, 3), ['trial', 'time'])
        """
        arr = np.asarray(data)
        if arr.ndim != 3:
            raise ShapeMismatchError(
                f"data must be 3-D (n_trials, n_times, n_units) for from_trials; got shape {arr.shape}"
            )
        n_trials, n_times, n_units = arr.shape
        time = np.arange(n_times) if time is None else np.asarray(time)
        if time.shape != (n_times,):
            raise ShapeMismatchError(f"time has shape {time.shape}; expected ({n_times},), one per time bin")
        table = _as_table(trials, n_trials, "trials")
        samples = table.loc[np.repeat(np.arange(n_trials), n_times)].reset_index(drop=True)
        samples.insert(0, "time", np.tile(time, n_trials))
        samples.insert(0, "trial", np.repeat(np.arange(n_trials), n_times))
        return cls(arr.reshape(n_trials * n_times, n_units), samples, units, meta, allow_nan=allow_nan)

    def replace(self, data=None, samples=None, units=None, meta=None) -> "Recording":
        """A new Recording with some parts replaced (and validated again).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.ones((2, 2)))
        >>> float(rec.replace(data=np.zeros((2, 2))).data.sum())
        0.0
        """
        return Recording(
            self._data if data is None else data,
            self._samples if samples is None else samples,
            self._units if units is None else units,
            self._meta if meta is None else meta,
            allow_nan=self._allow_nan,
            copy=data is not None,
        )

    # ------------------------------------------------------------------ operations
    def select(self, samples=None, units=None) -> "Recording":
        """Keep the samples and units that match.

        Each selector may be a pandas query string (``"area == 'V1' and depth < 500"``),
        a dict of column -> value or list of values, a boolean mask, integer positions, a
        slice, or a callable that takes the table and returns one of those.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((3, 3)), units={"area": ["V1", "LM", "V1"]})
        >>> rec.select(units={"area": "V1"}).n_units
        2
        >>> rec.select(samples=[0, 2], units="area == 'LM'").shape
        (2, 1)
        """
        rows = table_positions(samples, self._samples, "samples")
        cols = table_positions(units, self._units, "units")
        for axis, pos in (("samples", rows), ("units", cols)):
            if not isinstance(pos, slice) and len(pos) == 0:
                raise ArgumentError(
                    f"select({axis}={samples if axis == 'samples' else units!r}) matched no "
                    f"{axis}; expected at least one"
                )
        if isinstance(rows, slice) and isinstance(cols, slice):
            return self
        if isinstance(rows, slice):
            data = self._data[:, cols]
        elif isinstance(cols, slice):
            data = self._data[rows]
        else:
            data = self._data[np.ix_(rows, cols)]
        return self._derive(
            data,
            self._samples.iloc[rows],
            self._units.iloc[cols],
        )

    def average(self, by="stimulus", sort: bool = True) -> "Recording":
        """Average samples that share the values of ``by`` (e.g. repeats -> per-stimulus means).

        The new ``samples`` table has the ``by`` columns, every other column whose value is
        constant within each group, and ``n_averaged`` (the number of samples averaged).
        With ``allow_nan``, NaN entries are ignored (the mean of the values present).

        Parameters
        ----------
        by : str or list of str, default "stimulus"
            Samples columns to group by.
        sort : bool, default True
            Order groups by their key, in natural order (:func:`neurotk.utils.natural_key`:
            ``"s2"`` before ``"s10"``, numbers by value); otherwise by first appearance.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.array([[1.0], [3.0], [10.0]]), samples={"stimulus": ["a", "a", "b"]})
        >>> rec.average().data.ravel().tolist()
        [2.0, 10.0]
        """
        cols = table_columns(by, self._samples, "average(by)")
        codes, n_groups = _group_codes(self._samples, cols, sort)
        sums, counts = _group_sums(self._data, codes, n_groups, self._allow_nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        _, first = np.unique(codes, return_index=True)
        table = self._samples.iloc[first].reset_index(drop=True)
        grouped = self._samples.groupby(codes, sort=True)
        keep = list(cols)
        for col in self._samples.columns:
            if col in cols:
                continue
            try:
                if (grouped[col].nunique(dropna=False) == 1).all():
                    keep.append(col)
            except TypeError:  # unhashable values: drop the column
                continue
        table = table[keep].copy()
        table["n_averaged"] = np.bincount(codes, minlength=n_groups)
        return self._derive(means, table, step=f"average(by={by!r})")

    def split(self, by) -> dict[Any, "Recording"]:
        """Split samples into one Recording per value of ``by`` (e.g. runs, sessions).

        Returns a dict ordered by key.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((4, 1)), samples={"run": [1, 1, 2, 2]})
        >>> {k: r.n_samples for k, r in rec.split("run").items()}
        {1: 2, 2: 2}
        """
        cols = table_columns(by, self._samples, "split(by)")
        codes, n_groups = _group_codes(self._samples, cols)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(n_groups + 1))
        out = {}
        for g in range(n_groups):  # one iteration per group (run/fold), not per sample
            rows = order[bounds[g] : bounds[g + 1]]
            key_row = self._samples.iloc[rows[0]][cols]
            key = key_row.iloc[0] if len(cols) == 1 else tuple(key_row)
            key = key.item() if isinstance(key, np.generic) else key
            out[key] = self._derive(self._data[rows], self._samples.iloc[rows])
        return out

    def leave_one_out(self, by="run") -> Iterator[tuple[Any, "Recording", "Recording"]]:
        """Cross-validation folds: for each value of ``by``, (key, train, test).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Recording(np.zeros((6, 1)), samples={"run": [0, 0, 1, 1, 2, 2]})
        >>> [(k, tr.n_samples, te.n_samples) for k, tr, te in rec.leave_one_out("run")]
        [(0, 4, 2), (1, 4, 2), (2, 4, 2)]
        """
        cols = table_columns(by, self._samples, "leave_one_out(by)")
        codes, n_groups = _group_codes(self._samples, cols)
        if n_groups < 2:
            raise ArgumentError(
                f"leave_one_out(by={by!r}) found {n_groups} group; expected at least 2 folds"
            )
        for g in range(n_groups):
            test = codes == g
            key_row = self._samples.loc[np.flatnonzero(test)[0], cols]
            key = key_row.iloc[0] if len(cols) == 1 else tuple(key_row)
            key = key.item() if isinstance(key, np.generic) else key
            yield key, self.select(samples=~test), self.select(samples=test)

    def zscore(self, by=None, ddof: int = 0) -> "Recording":
        """Z-score each unit across samples (within each group of ``by`` if given).

        Units with zero variance become 0 (as scikit-learn's ``StandardScaler``). With
        ``allow_nan``, NaN entries are ignored and stay NaN.

        Examples
        --------
        >>> import numpy as np
        >>> z = Recording(np.array([[1.0], [2.0], [3.0]])).zscore()
        >>> np.round(z.data.ravel(), 3).tolist()
        [-1.225, 0.0, 1.225]
        """
        if by is None:
            codes, n_groups = np.zeros(self.n_samples, dtype=np.intp), 1
        else:
            codes, n_groups = _group_codes(self._samples, table_columns(by, self._samples, "zscore(by)"))
        data = self._data
        sums, counts = _group_sums(data, codes, n_groups, self._allow_nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = sums / counts
        # Squared deviations and the output are built a block of rows at a time, so the
        # peak memory is the output plus one block (not several copies of the data).
        indicator = _indicator(codes, n_groups, data.dtype)
        squares = np.zeros_like(mean)
        for rows in _row_chunks(*data.shape):
            block = data[rows] - mean[codes[rows]]
            np.square(block, out=block)
            if self._allow_nan:
                block[np.isnan(block)] = 0
            squares += indicator[:, rows] @ block
        sd = np.sqrt(squares / np.maximum(counts - ddof, 1))
        sd = np.where(np.isfinite(sd) & (sd > 0), sd, 1.0).astype(data.dtype)
        out = np.empty_like(data)
        for rows in _row_chunks(*data.shape):
            np.subtract(data[rows], mean[codes[rows]], out=out[rows])
            out[rows] /= sd[codes[rows]]
        return self._derive(out, step=f"zscore(by={by!r})")

    def align(self, other, on: str = "stimulus") -> "Recording":
        """Reorder samples to match ``other``'s values of ``on``, sample for sample.

        Samples whose key ``other`` lacks are dropped; a key in ``other`` missing here is
        an :class:`AlignmentError` that lists them. ``other`` may repeat keys (e.g. model
        activations aligned to brain presentations with repeats), but this Recording must
        not: average repeats first.

        Parameters
        ----------
        other : Recording or array-like
            The recording (or the sequence of keys) to match.
        on : str, default "stimulus"
            The samples column holding the keys.

        Examples
        --------
        >>> import numpy as np
        >>> model = Recording(np.eye(3), samples={"stimulus": [0, 1, 2]})
        >>> brain = Recording(np.zeros((2, 4)), samples={"stimulus": [2, 0]})
        >>> model.align(brain).samples["stimulus"].tolist()
        [2, 0]
        """
        table_columns(on, self._samples, "align(on)")
        if isinstance(other, Recording):
            table_columns(on, other._samples, "align(on) (in other)")
            target = other._samples[on]
        else:
            target = pd.Series(np.asarray(other))
        keys = self._samples[on]
        dup = keys[keys.duplicated(keep=False)]
        if len(dup):
            raise AlignmentError(
                f"align(on={on!r}): this recording repeats {on} values "
                f"{describe_values(pd.unique(dup))}; expected one sample per {on}. "
                f"Average the repeats first: recording.average(by={on!r})"
            )
        index = pd.Index(keys)
        pos = index.get_indexer(target)
        if (pos < 0).any():
            missing = pd.unique(target[pos < 0])
            raise AlignmentError(
                f"align(on={on!r}): {len(missing)} of the {target.nunique()} {on} values in "
                f"the other recording are missing here: {describe_values(missing)} "
                f"(this recording has {len(keys)} values, dtype {keys.dtype}; the other's "
                f"dtype is {target.dtype}); expected every value to be present"
            )
        if np.array_equal(pos, np.arange(len(keys))):
            return self
        return self._derive(self._data[pos], self._samples.iloc[pos], step=f"align(on={on!r})")

    # ------------------------------------------------------------------ conversions
    def to_xarray(self):
        """Convert to an ``xarray.DataArray`` with dims ``("sample", "unit")``.

        Table columns become coordinates along their dimension; ``meta`` becomes
        ``attrs``. A column name present in both tables is stored as ``sample_<name>``
        and ``unit_<name>``; :meth:`from_xarray` undoes this.

        Examples
        --------
        >>> import numpy as np
        >>> da = Recording(np.zeros((2, 3)), units={"area": ["V1"] * 3}).to_xarray()
        >>> da.dims, da.coords["area"].dims
        (('sample', 'unit'), ('unit',))
        """
        import xarray as xr

        both = set(self._samples.columns) & set(self._units.columns)
        coords = {}
        for dim, table in (("sample", self._samples), ("unit", self._units)):
            for col in table.columns:
                name = f"{dim}_{col}" if col in both else col
                coords[name] = (dim, table[col].to_numpy())
        attrs = dict(self._meta)
        attrs["neurotk_allow_nan"] = int(self._allow_nan)
        if both:
            attrs["neurotk_shared_columns"] = sorted(both)
        return xr.DataArray(
            np.asarray(self._data), dims=("sample", "unit"), coords=coords, attrs=attrs, name=self.name
        )

    @classmethod
    def from_xarray(cls, array, sample_dim: str | None = None, unit_dim: str | None = None) -> "Recording":
        """Build a Recording from a 2-D ``xarray.DataArray``.

        Coordinates along the sample (first) dimension become ``samples`` columns,
        those along the unit (second) dimension become ``units`` columns, and ``attrs``
        become ``meta``.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> da = xr.DataArray(np.zeros((2, 3)), dims=("stim", "neuron"),
        ...                   coords={"stimulus": ("stim", [5, 6])})
        >>> Recording.from_xarray(da).samples["stimulus"].tolist()
        [5, 6]
        """
        import xarray as xr

        if not isinstance(array, xr.DataArray):
            raise ArgumentError(f"array must be an xarray.DataArray; got {type(array).__name__}")
        if array.ndim != 2:
            raise ShapeMismatchError(
                f"array must be 2-D (samples, units); got dims {array.dims} with shape {array.shape}"
            )
        sample_dim = sample_dim or array.dims[0]
        unit_dim = unit_dim or array.dims[1]
        if {sample_dim, unit_dim} != set(array.dims):
            raise ArgumentError(
                f"sample_dim={sample_dim!r} and unit_dim={unit_dim!r} must be the array's "
                f"two dims {array.dims}"
            )
        array = array.transpose(sample_dim, unit_dim)
        meta = dict(array.attrs)
        allow_nan = bool(meta.pop("neurotk_allow_nan", False))
        shared = set(meta.pop("neurotk_shared_columns", []))
        tables: dict[str, dict] = {sample_dim: {}, unit_dim: {}}
        prefix = {sample_dim: "sample_", unit_dim: "unit_"}
        for name, coord in array.coords.items():
            if coord.ndim != 1 or coord.dims[0] not in tables:
                continue
            dim = coord.dims[0]
            col = str(name)
            if col.startswith(prefix[dim]) and col[len(prefix[dim]) :] in shared:
                col = col[len(prefix[dim]) :]
            tables[dim][col] = coord.to_numpy()
        return cls(
            array.to_numpy(),
            pd.DataFrame(tables[sample_dim], index=pd.RangeIndex(array.shape[0])),
            pd.DataFrame(tables[unit_dim], index=pd.RangeIndex(array.shape[1])),
            meta,
            allow_nan=allow_nan,
        )

    # ------------------------------------------------------------------ comparison, display
    def equals(self, other) -> bool:
        """True when data (NaN equal to NaN), both tables and meta are the same.

        Examples
        --------
        >>> import numpy as np
        >>> Recording(np.ones((1, 1))).equals(Recording(np.ones((1, 1))))
        True
        """
        return (
            isinstance(other, Recording)
            and self.shape == other.shape
            and np.array_equal(self._data, other._data, equal_nan=True)
            and self._samples.equals(other._samples)
            and self._units.equals(other._units)
            and self._meta == other._meta
        )

    def __repr__(self) -> str:
        title = f"Recording{' ' + repr(self.name) if self.name else ''}: "
        lines = [f"{title}{self.n_samples} samples x {self.n_units} units ({self.dtype})"]
        for label, table in (("samples", self._samples), ("units", self._units)):
            lines.append(f"  {label + ':':9}{_describe_table(table)}")
        meta = {k: v for k, v in self._meta.items() if k not in ("history", "name")}
        if meta:
            items = [f"{k}={_short(v)}" for k, v in list(meta.items())[:6]]
            more = f", ... ({len(meta) - 6} more)" if len(meta) > 6 else ""
            lines.append(f"  {'meta:':9}{', '.join(items)}{more}")
        if self._allow_nan:
            lines.append(f"  {'missing:':9}{int(np.isnan(self._data).sum())} NaN entries")
        return "\n".join(lines)


def _short(value, width: int = 30, quote: bool = True) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    text = repr(value) if quote else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe_table(table: pd.DataFrame, max_columns: int = 8) -> str:
    if table.shape[1] == 0:
        return "(no columns)"
    parts = []
    for col in table.columns[:max_columns]:
        try:
            counts = table[col].value_counts(dropna=False, sort=False)
        except TypeError:
            parts.append(col)
            continue
        if len(counts) <= 4 and len(counts) < len(table):
            inner = ", ".join(f"{_short(k, 12, quote=False)}: {n}" for k, n in counts.items())
            parts.append(f"{col} ({inner})")
        else:
            parts.append(f"{col} ({len(counts)} values)")
    if table.shape[1] > max_columns:
        parts.append(f"... ({table.shape[1] - max_columns} more)")
    return ", ".join(parts)


# --------------------------------------------------------------------------- concat
def concat(
    recordings: Sequence[Recording],
    axis: str = "samples",
    keys: Sequence | None = None,
    key_name: str = "recording",
    relabel: bool = False,
) -> Recording:
    """Join Recordings along samples (same units) or along units (same samples).

    Parameters
    ----------
    recordings : sequence of Recording
    axis : {"samples", "units"}
        ``"samples"``: stack rows (e.g. sessions or runs of the same units); unit ids
        must agree. ``"units"``: stack columns (e.g. areas recorded together); sample
        tables must agree on their shared columns.
    keys : sequence, optional
        One label per recording, stored in a new ``key_name`` column of the table that
        grows (samples for ``axis="samples"``, units for ``axis="units"``).
    relabel : bool, default False
        For ``axis="units"``: when unit ids collide, renumber them 0..n-1 and keep the
        old ids in ``original_unit_id`` instead of raising.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk import Recording, concat
    >>> v1 = Recording(np.zeros((3, 2)), units={"area": ["V1", "V1"]})
    >>> lm = Recording(np.ones((3, 4)), units={"area": ["LM"] * 4})
    >>> concat([v1, lm], axis="units", relabel=True).shape
    (3, 6)
    """
    recordings = list(recordings)
    if not recordings or not all(isinstance(r, Recording) for r in recordings):
        raise ArgumentError("concat needs a non-empty sequence of Recordings")
    if axis not in ("samples", "units"):
        raise ArgumentError(f"axis={axis!r}; expected 'samples' or 'units'")
    if keys is not None and len(keys) != len(recordings):
        raise ShapeMismatchError(f"keys has {len(keys)} labels for {len(recordings)} recordings; expected one each")
    first = recordings[0]
    grow, fixed = ("_samples", "_units") if axis == "samples" else ("_units", "_samples")
    for k, rec in enumerate(recordings[1:], start=1):
        if axis == "samples":
            if rec.n_units != first.n_units or not np.array_equal(rec.unit_ids, first.unit_ids):
                theirs, ours = set(rec.unit_ids.tolist()), set(first.unit_ids.tolist())
                raise AlignmentError(
                    f"concat(axis='samples'): recording {k} has units {rec.n_units} "
                    f"(ids missing from recording 0: {describe_values(sorted(theirs - ours, key=str))}; "
                    f"absent from it: {describe_values(sorted(ours - theirs, key=str))}); "
                    f"expected the same unit ids in the same order as recording 0"
                )
        else:
            if rec.n_samples != first.n_samples:
                raise ShapeMismatchError(
                    f"concat(axis='units'): recording {k} has {rec.n_samples} samples but "
                    f"recording 0 has {first.n_samples}; expected the same samples"
                )
            for col in set(rec._samples.columns) & set(first._samples.columns):
                if not rec._samples[col].reset_index(drop=True).equals(first._samples[col]):
                    raise AlignmentError(
                        f"concat(axis='units'): samples column {col!r} of recording {k} differs "
                        f"from recording 0; expected the same samples (align() them first)"
                    )
    pieces = []
    for k, rec in enumerate(recordings):
        table = getattr(rec, grow).copy()
        if keys is not None:
            table[key_name] = keys[k]
        pieces.append(table)
    grown = pd.concat(pieces, ignore_index=True)
    if axis == "units":
        fixed_table = first._samples.copy()
        for rec in recordings[1:]:
            for col in rec._samples.columns:
                if col not in fixed_table.columns:
                    fixed_table[col] = rec._samples[col].to_numpy()
        if grown["unit_id"].duplicated().any():
            if not relabel:
                dup = grown["unit_id"][grown["unit_id"].duplicated()]
                raise DuplicateIdError(
                    f"concat(axis='units'): unit ids {describe_values(pd.unique(dup))} occur in "
                    f"more than one recording; expected unique ids. Pass relabel=True to "
                    f"renumber them (the old ids are kept in 'original_unit_id')"
                )
            grown.insert(1, "original_unit_id", grown["unit_id"])
            grown["unit_id"] = np.arange(len(grown))
        data = np.concatenate([r._data for r in recordings], axis=1)
        samples, units = fixed_table, grown
    else:
        data = np.concatenate([r._data for r in recordings], axis=0)
        samples, units = grown, first._units
    out = object.__new__(Recording)
    out._set(data, samples, units, first.meta, any(r._allow_nan for r in recordings))
    data.flags.writeable = False
    return out


Recording.concat = staticmethod(concat)
