"""The first-level (event) GLM of fMRI runs: one beta or t-value per condition or trial.

:func:`glm` fits a least-squares general linear model with a canonical HRF
(:func:`neurotk.signal.canonical_hrf`, regressors from
:func:`neurotk.signal.event_regressors`), SPM's cosine drifts, confounds and an
intercept to a Recording of volumes x voxels (or ROIs), and returns a Recording of
estimates x voxels (betas, t-values or contrasts), ready for RSA or encoding models. The
regressors follow SPM's sampling scheme by default; ``hrf_convention="nilearn"`` builds
them as nilearn's ``FirstLevelModel`` does, to reproduce its betas. Images are loaded by
:func:`neurotk.io.load_fmri` first: an analysis never reads files of images itself.
Events tables are DataFrames or BIDS ``events.tsv`` files.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._console import caller_stacklevel
from .._validation import check_choice, check_float, check_int
from ..errors import ArgumentError, DataFormatError, NeurotkWarning, describe_values
from ..recording import Recording, concat
from ..signal import canonical_hrf, event_regressors
from ..utils import label_key

__all__ = ["glm"]


def _as_recording(recording) -> Recording:
    """The recording to fit: a Recording, or a list of them (one per run) joined along samples."""
    if isinstance(recording, Recording):
        return recording
    if isinstance(recording, (list, tuple)) and recording and all(isinstance(r, Recording) for r in recording):
        with_run = ["run" in r.samples.columns for r in recording]
        if all(with_run):
            return concat(recording)
        if not any(with_run):
            return concat(recording, keys=list(range(1, len(recording) + 1)), key_name="run")
        raise ArgumentError(
            f"recording is a list of {len(recording)} Recordings of which {sum(with_run)} have a samples "
            f"column 'run'; expected all or none of them (none: runs are labelled 1, 2, ...)"
        )
    items = list(recording) if isinstance(recording, (list, tuple)) else [recording]
    if items and all(isinstance(r, (str, os.PathLike)) or hasattr(r, "dataobj") for r in items):
        raise ArgumentError(
            f"recording is {'a list of images' if isinstance(recording, (list, tuple)) else 'an image'} "
            f"({type(items[0]).__name__}); glm fits a Recording of volumes x voxels: load the images first "
            f"with neurotk.io.load_fmri(img, mask=...) and pass the Recording"
        )
    raise ArgumentError(
        f"recording has type {type(recording).__name__}; expected a Recording of volumes x voxels (from "
        f"neurotk.io.load_fmri) or a list of them, one per run"
    )


def _read_events(events, what: str = "events") -> tuple[pd.DataFrame, str]:
    if isinstance(events, pd.DataFrame):
        table, name = events.reset_index(drop=True), "events table"
    elif isinstance(events, (str, os.PathLike)):
        path = Path(events)
        if not path.exists():
            raise DataFormatError(f"{what} {path}: no such file")
        try:
            table = pd.read_csv(path, sep="\t", na_values=["n/a"])
        except Exception as exc:
            raise DataFormatError(f"{what} {path}: not a readable tab-separated table ({exc})") from exc
        name = str(path)
    else:
        raise ArgumentError(
            f"{what} has type {type(events).__name__}; expected a DataFrame or a BIDS events .tsv "
            f"path (or a list of them, one per run)"
        )
    missing = [c for c in ("onset", "duration", "trial_type") if c not in table.columns]
    if missing:
        raise DataFormatError(
            f"{name} lacks columns {missing} (has {list(table.columns)}); expected the BIDS "
            f"events columns onset, duration, trial_type"
        )
    for col in ("onset", "duration"):
        values = pd.to_numeric(table[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
        if bad.size:
            raise DataFormatError(
                f"{name}, row {int(bad[0])}: {col} = {table[col].iloc[bad[0]]!r}; expected a "
                f"finite number of seconds >= 0 ({bad.size} bad rows)"
            )
        table = table.assign(**{col: values})
    if table["trial_type"].isna().any():
        row = int(np.flatnonzero(table["trial_type"].isna().to_numpy())[0])
        raise DataFormatError(f"{name}, row {row}: trial_type is missing; expected a condition name")
    return table, name


def _cosine_drift(n_scans: int, tr: float, high_pass: float) -> np.ndarray:
    """DCT-II cosines with frequency k / (2 n tr) <= high_pass (SPM's high-pass basis)."""
    n_cos = min(int(np.floor(2.0 * n_scans * tr * high_pass + 1e-9)), n_scans - 2)
    if n_cos <= 0:
        return np.zeros((n_scans, 0))
    k = np.arange(1, n_cos + 1)
    return np.sqrt(2.0 / n_scans) * np.cos(np.pi * np.outer(np.arange(n_scans) + 0.5, k) / n_scans)


def _hrf_kernel(hrf, tr, oversampling, convention="spm"):
    if isinstance(hrf, str):
        if hrf.lower() in ("spm", "canonical"):
            return canonical_hrf(tr, oversampling) if convention == "spm" else _nilearn_spm_hrf(tr, oversampling)
        raise ArgumentError(f"hrf={hrf!r}; expected 'spm', an array sampled every tr / oversampling s, or a callable")
    if callable(hrf):
        return np.asarray(hrf(tr, oversampling), dtype=float)
    return np.asarray(hrf, dtype=float)


#: Seconds before the first scan where nilearn's high-resolution event grid starts
#: (``min_onset`` of ``nilearn.glm.first_level.compute_regressor``).
_NILEARN_MIN_ONSET = -24.0


def _nilearn_spm_hrf(tr: float, oversampling: int) -> np.ndarray:
    """nilearn's "spm" HRF (``hemodynamic_models._gamma_difference_hrf``).

    The same double gamma as :func:`~neurotk.signal.canonical_hrf`, but sampled as nilearn
    samples it: ``round(32 / dt)`` points spread over ``linspace(0, 32)`` (a spacing of
    ``32 / (n - 1)``, slightly more than ``dt = tr / oversampling``), both gammas shifted
    by ``dt`` (scipy's ``loc=dt``), an undershoot ratio of 0.167 (SPM: 1/6), and the
    samples scaled to sum to one.
    """
    from scipy.stats import gamma

    dt = tr / oversampling
    t = np.linspace(0.0, 32.0, int(np.rint(32.0 / dt)))
    hrf = gamma.pdf(t, 6.0, loc=dt, scale=1.0) - 0.167 * gamma.pdf(t, 16.0, loc=dt, scale=1.0)
    return hrf / hrf.sum()


def _nilearn_regressors(onsets, durations, codes, n_conditions, n_scans, tr, oversampling, kernel) -> np.ndarray:
    """Event regressors built the way nilearn's ``compute_regressor`` builds them.

    The events are placed on nilearn's high-resolution grid (``linspace`` from 24 s
    before the first scan to ``n_scans * tr``, about ``oversampling`` points per TR), an
    event covering the grid points from the first at or after its onset up to (not
    including) the first at or after its end (at least one point), convolved with
    ``kernel`` and read at the scan times ``k * tr`` by linear interpolation.
    """
    from scipy.signal import fftconvolve

    frame_times = np.arange(n_scans) * tr
    # nilearn's expressions, term for term (its grid points fall on event onsets to the last bit)
    last = float(frame_times[-1]) if n_scans > 1 else tr
    t_max = last * (1 + 1.0 / max(n_scans - 1, 1))
    n_high = max(n_scans - 1, 1) * 1.0 / last * (t_max - 0.0 - _NILEARN_MIN_ONSET) * oversampling + 1
    grid = np.linspace(_NILEARN_MIN_ONSET, t_max, int(np.rint(n_high)))
    n_grid = grid.size
    start = np.minimum(np.searchsorted(grid, onsets), n_grid - 1)
    stop = np.minimum(np.searchsorted(grid, onsets + durations), n_grid - 1)
    stop = np.where((stop == start) & (start < n_grid - 1), stop + 1, stop)
    steps = np.zeros((n_conditions, n_grid))
    np.add.at(steps, (codes, start), 1.0)
    np.add.at(steps, (codes, stop), -1.0)
    boxcars = np.cumsum(steps, axis=1)
    convolved = fftconvolve(boxcars, kernel[None, :], axes=1)[:, :n_grid]
    # linear interpolation at the scan times (scipy's interp1d), all conditions at once
    right = np.clip(np.searchsorted(grid, frame_times, side="right"), 1, n_grid - 1)
    weight = (frame_times - grid[right - 1]) / (grid[right] - grid[right - 1])
    design = convolved[:, right - 1] * (1.0 - weight) + convolved[:, right] * weight
    design = design.T
    design[np.abs(design) < 1e-12 * max(1.0, np.abs(design).max(initial=0.0))] = 0.0
    return np.ascontiguousarray(design)


def _task_regressors(table, conditions, n_scans, tr, oversampling, kernel, convention) -> np.ndarray:
    """One regressor per entry of ``conditions`` (trial types of ``table``, or its row positions)."""
    onsets = table["onset"].to_numpy(dtype=float)
    durations = table["duration"].to_numpy(dtype=float)
    trial_types = table["trial_type"].tolist() if conditions is not None else list(range(len(table)))
    if conditions is None:
        conditions = list(range(len(table)))
    if convention == "spm":
        return event_regressors(onsets, durations, n_scans, tr, trial_types=trial_types, conditions=conditions,
                                oversampling=oversampling, hrf=kernel)
    lookup = {c: i for i, c in enumerate(conditions)}
    codes = np.fromiter((lookup[t] for t in trial_types), dtype=np.intp, count=len(trial_types))
    return _nilearn_regressors(onsets, durations, codes, len(conditions), n_scans, tr, oversampling, kernel)


def glm(
    recording,
    events,
    tr: float | None = None,
    hrf="spm",
    per: str = "condition",
    confounds=None,
    drift: str | None = "cosine",
    high_pass: float = 1.0 / 128,
    *,
    pool_runs: bool = False,
    stat: str = "beta",
    oversampling: int | None = None,
    hrf_convention: str = "spm",
    contrasts=None,
) -> Recording:
    """Least-squares GLM: one beta (or t-value, or contrast) per condition or trial, per run, for all voxels.

    For each run the design holds one HRF-convolved regressor per condition (or per
    event) from :func:`neurotk.signal.event_regressors`, cosine drifts (SPM's DCT
    high-pass basis), the confounds and an intercept. All voxels are fitted at once with
    one pseudo-inverse per run: ``B = pinv(X) @ Y``. Runs are fitted separately, so the
    betas of different runs are independent estimates (cross-validation folds); with
    ``pool_runs=True`` one design spans all runs (shared task regressors, a separate
    intercept and drift per run).

    Parameters
    ----------
    recording : Recording or list of Recordings
        Volumes x voxels (e.g. from :func:`neurotk.io.load_fmri`), with samples columns
        ``run`` (optional) and ``volume`` (optional; the scan index within the run,
        default 0, 1, ...). A list holds one Recording per run, joined with
        :func:`neurotk.concat` (runs labelled 1, 2, ... unless they have a ``run``
        column). Images are not loaded here: load them first with
        ``neurotk.io.load_fmri(img, mask=...)``.
    events : DataFrame, path, or a list of them (one per run)
        BIDS events: columns ``onset``, ``duration`` (s, from the start of the run),
        ``trial_type`` and, with several runs in one table, ``run``.
    tr : float, optional
        Repetition time (s); defaults to ``meta["tr"]``.
    hrf : "spm", array or callable, default "spm"
        The haemodynamic kernel: SPM's canonical HRF
        (:func:`neurotk.signal.canonical_hrf`), a kernel sampled every
        ``tr / oversampling`` seconds, or ``f(tr, oversampling) -> kernel``.
    per : {"condition", "trial"}, default "condition"
        One regressor per trial type, or one per event (single-trial betas, least
        squares all).
    confounds : array-like or DataFrame, shape (n_samples, n_confounds), optional
        Nuisance regressors (motion ...), row for row with the recording.
    drift : {"cosine", None}, default "cosine"
        Slow drift model: cosines up to ``high_pass`` Hz, or none.
    high_pass : float, default 1/128
        Cut-off frequency (Hz) of the cosine drifts.
    pool_runs : bool, default False
        Fit one model over all runs (one beta per condition) instead of one per run.
    stat : {"beta", "t"}, default "beta"
        Return betas or their t-values (``beta / se``, residual variance with
        ``n_scans - rank(X)`` degrees of freedom).
    oversampling : int, optional
        Time grid points per TR on which regressors are built: by default 16 (SPM's
        microtime resolution ``fMRI_T``) with ``hrf_convention="spm"`` and 50 (nilearn's
        default) with ``"nilearn"``.
    hrf_convention : {"spm", "nilearn"}, default "spm"
        How the task regressors are sampled. ``"spm"`` (the default, SPM's
        ``spm_get_bf``/``spm_fMRI_design`` scheme): the HRF
        (:func:`~neurotk.signal.canonical_hrf`) sampled at ``0, dt, 2 dt, ...`` with
        ``dt = tr / oversampling``, boxcars on the grid ``k * dt`` from scan 0 (onsets
        rounded to the nearest grid point), and the convolved regressors read at the grid
        points of the scans. ``"nilearn"`` reproduces ``nilearn.glm.first_level``
        (``FirstLevelModel`` / ``make_first_level_design_matrix`` with
        ``hrf_model="spm"``, ``slice_time_ref=0``; nilearn's
        ``glm/first_level/hemodynamic_models.py``): the HRF sampled on
        ``linspace(0, 32, round(32 / dt))`` with both gammas delayed by ``dt`` and an
        undershoot ratio of 0.167, an event grid that starts 24 s before the first scan,
        onsets moved to the next grid point, 50x oversampling, and the scans read off
        the grid by linear interpolation. It is offered to reproduce nilearn's betas
        (their correlation with the default's is about 0.9998 on a real localizer run;
        see the docs of :func:`neurotk.io.read_bids_run`); the drift, intercept and
        least-squares fit are the same in both.
    contrasts : dict, optional
        Linear contrasts of the conditions, ``{name: {condition: weight}}`` (e.g.
        ``{"face > house": {"face": 1, "house": -1}}``); with them the result holds one
        row per contrast (per run) instead of one per condition: the contrast of the
        betas ``c @ beta`` or, with ``stat="t"``, its t-value
        ``c @ beta / sqrt(sigma2 * c @ pinv(X) @ pinv(X).T @ c)`` (SPM's and nilearn's
        t-contrast). Needs ``per="condition"``.

    Returns
    -------
    Recording
        ``(n_estimates, n_voxels)`` with the recording's units. ``samples``:
        ``condition`` and ``stimulus`` (the trial type, for RSA), ``run`` (not when
        pooling conditions), ``n_events``; per trial also ``trial`` (the event's row in
        the events table, per run for a list), ``onset`` and ``duration``. ``meta``
        records the model (``glm``) and ``units_of_measure``.

    Raises
    ------
    DataFormatError
        Events without onset/duration/trial_type, with negative or missing times, with
        an onset beyond the end of the run (naming the events file and row), or with run
        labels the recording does not have.
    ArgumentError
        No TR, a bad option, confounds with the wrong number of rows, or an image (or
        its path) instead of a Recording.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurotk import Recording
    >>> from neurotk.encoding import glm
    >>> from neurotk.signal import event_regressors
    >>> events = pd.DataFrame({"onset": [10.0, 50.0, 90.0, 130.0], "duration": 8.0,
    ...                        "trial_type": ["face", "house", "face", "house"]})
    >>> X = event_regressors(events.onset, events.duration, 100, 2.0, events.trial_type)
    >>> Y = 100 + X @ np.array([[2.0, 0.0], [0.5, 1.0]])      # 100 scans x 2 voxels
    >>> rec = Recording(Y, samples={"volume": np.arange(100)}, meta={"tr": 2.0})
    >>> betas = glm(rec, events)
    >>> betas.samples["condition"].tolist()
    ['face', 'house']
    >>> (np.round(betas.data, 6) + 0.0).tolist()
    [[2.0, 0.0], [0.5, 1.0]]
    >>> diff = glm(rec, events, contrasts={"face - house": {"face": 1, "house": -1}})
    >>> diff.samples["condition"].tolist(), (np.round(diff.data, 6) + 0.0).tolist()
    (['face - house'], [[1.5, -1.0]])
    """
    check_choice(per, "per", ("condition", "trial"))
    check_choice(stat, "stat", ("beta", "t"))
    check_choice(drift, "drift", ("cosine", None, "none"))
    check_float(high_pass, "high_pass", low=0, unit="Hz")
    check_choice(hrf_convention, "hrf_convention", ("spm", "nilearn"))
    if oversampling is None:
        oversampling = 16 if hrf_convention == "spm" else 50
    oversampling = check_int(oversampling, "oversampling")
    rec = _as_recording(recording)
    if tr is None:
        tr = rec.meta.get("tr")
    if tr is None or not isinstance(tr, numbers.Real) or not np.isfinite(tr) or tr <= 0:
        raise ArgumentError(
            f"tr={tr!r}: the repetition time is unknown; pass tr= (seconds) or a Recording with meta['tr']"
        )
    tr = float(tr)

    samples = rec.samples
    if "run" in samples.columns:
        run_values = samples["run"].to_numpy()
        run_keys = np.array([label_key(v) for v in run_values], dtype=object)
        order = list(dict.fromkeys(run_keys.tolist()))
        labels = {k: v for k, v in zip(run_keys.tolist(), run_values.tolist())}
    else:
        run_keys = np.full(rec.n_samples, 1, dtype=object)
        order = [1]
        labels = {1: 1}
    rows_of = {k: np.flatnonzero(run_keys == k) for k in order}
    if "volume" in samples.columns:
        volume = samples["volume"].to_numpy()
        if not np.issubdtype(volume.dtype, np.integer) and not np.all(np.mod(volume, 1) == 0):
            raise DataFormatError("samples column 'volume' has non-integer values; expected scan indices")
        volume = volume.astype(np.int64)
    else:
        volume = np.empty(rec.n_samples, dtype=np.int64)
        for rows in rows_of.values():
            volume[rows] = np.arange(rows.size)

    # ---- events per run
    if isinstance(events, (list, tuple)):
        if len(events) != len(order):
            raise DataFormatError(
                f"events is a list of {len(events)} tables but the recording has {len(order)} "
                f"runs {describe_values([labels[k] for k in order])}; expected one events table per run"
            )
        per_run = {}
        for k, ev in zip(order, events):
            table, name = _read_events(ev)
            per_run[k] = (table, name)
    else:
        table, name = _read_events(events)
        if "run" in table.columns:
            keys = np.array([label_key(v) for v in table["run"].tolist()], dtype=object)
            unknown = sorted({k for k in keys.tolist() if k not in rows_of}, key=str)
            if unknown:
                raise DataFormatError(
                    f"{name}: run labels {describe_values(unknown)} in column 'run' are not runs of "
                    f"the recording, which has runs {describe_values([labels[k] for k in order])}"
                )
            per_run = {k: (table[keys == k], name) for k in order}
        elif len(order) > 1:
            raise DataFormatError(
                f"{name} has no 'run' column but the recording has {len(order)} runs "
                f"{describe_values([labels[k] for k in order])}; expected a run column or a list "
                f"of one events table per run"
            )
        else:
            per_run = {order[0]: (table, name)}

    all_types = pd.concat([t["trial_type"] for t, _ in per_run.values()], ignore_index=True)
    conditions = pd.unique(all_types).tolist()
    try:
        conditions = sorted(conditions)
    except TypeError:  # mixed types
        conditions = sorted(conditions, key=str)
    kernel = _hrf_kernel(hrf, tr, oversampling, hrf_convention)

    if confounds is not None:
        conf = confounds.to_numpy(dtype=float) if isinstance(confounds, pd.DataFrame) else np.asarray(confounds, dtype=float)
        if conf.ndim == 1:
            conf = conf[:, None]
        if conf.ndim != 2 or conf.shape[0] != rec.n_samples:
            raise ArgumentError(
                f"confounds have shape {conf.shape}; expected ({rec.n_samples}, n_confounds), one row per sample"
            )
        if not np.isfinite(conf).all():
            raise ArgumentError("confounds contain NaN or infinite values; expected finite numbers")
    else:
        conf = None

    # ---- design blocks per run: task columns (with their sample rows) and nuisance columns
    task_blocks, nuisance_blocks, estimate_tables = [], [], []
    for k in order:
        rows = rows_of[k]
        table, name = per_run[k]
        n_scans = int(volume[rows].max()) + 1
        end = n_scans * tr
        late = np.flatnonzero(table["onset"].to_numpy() >= end)
        if late.size:
            i = late[0]
            raise DataFormatError(
                f"{name}, row {int(table.index[i])}: onset {table['onset'].iloc[i]:g} s is beyond "
                f"the end of run {labels[k]!r} ({n_scans} volumes x TR {tr:g} s = {end:g} s); "
                f"expected events inside the run"
            )
        if per == "condition":
            present = [c for c in conditions if (table["trial_type"] == c).any()]
            X = _task_regressors(table, present, n_scans, tr, oversampling, kernel, hrf_convention)
            counts = table["trial_type"].value_counts()
            est = pd.DataFrame({"condition": present, "stimulus": present,
                                "run": [labels[k]] * len(present),
                                "n_events": [int(counts[c]) for c in present]})
        else:
            n_ev = len(table)
            if n_ev == 0:
                X = np.zeros((n_scans, 0))
            else:
                X = _task_regressors(table, None, n_scans, tr, oversampling, kernel, hrf_convention)
            tt = table["trial_type"].tolist()
            est = pd.DataFrame({"condition": tt, "stimulus": tt, "run": [labels[k]] * n_ev,
                                "trial": table.index.to_numpy(), "onset": table["onset"].to_numpy(),
                                "duration": table["duration"].to_numpy(), "n_events": 1})
        X = X[volume[rows]]
        parts = []
        if drift == "cosine":
            parts.append(_cosine_drift(n_scans, tr, high_pass)[volume[rows]])
        if conf is not None:
            parts.append(conf[rows])
        parts.append(np.ones((rows.size, 1)))
        task_blocks.append(X)
        nuisance_blocks.append(np.hstack(parts))
        estimate_tables.append(est)
        if X.shape[1] == 0 and not pool_runs:
            raise DataFormatError(f"{name}: run {labels[k]!r} has no events; expected at least one")

    data = rec.data
    if pool_runs:
        if per == "condition":
            n_task = len(conditions)
            all_rows = np.concatenate([rows_of[k] for k in order])
            task = np.zeros((all_rows.size, n_task))
            offset = 0
            for k, X, est in zip(order, task_blocks, estimate_tables):
                cols = [conditions.index(c) for c in est["condition"]]
                task[offset : offset + X.shape[0], cols] = X
                offset += X.shape[0]
            counts = pd.concat(estimate_tables).groupby("condition", sort=False)["n_events"].sum()
            est_table = pd.DataFrame({"condition": conditions, "stimulus": conditions,
                                      "n_events": [int(counts[c]) for c in conditions]})
        else:
            all_rows = np.concatenate([rows_of[k] for k in order])
            task = _block_diag(task_blocks)
            est_table = pd.concat(estimate_tables, ignore_index=True)
        design = np.hstack([task, _block_diag(nuisance_blocks)])
        fits = [(all_rows, design, task.shape[1])]
        tables = [est_table]
    else:
        fits = [(rows_of[k], np.hstack([X, N]), X.shape[1]) for k, X, N in zip(order, task_blocks, nuisance_blocks)]
        tables = estimate_tables

    weights = [None] * len(fits)
    if contrasts is not None:
        weights, tables = _contrast_weights(contrasts, tables, per)

    results = []
    rank_warned = False
    for (rows, X, n_task), W in zip(fits, weights):
        pinv = np.linalg.pinv(X)
        rank = np.linalg.matrix_rank(X)
        if rank < X.shape[1] and not rank_warned:
            warnings.warn(
                f"the design of {X.shape[1]} columns has rank {rank} (collinear regressors); "
                f"the betas are minimum-norm estimates",
                NeurotkWarning,
                stacklevel=caller_stacklevel(),
            )
            rank_warned = True
        if rows.size <= rank and stat == "t":
            raise ArgumentError(
                f"{rows.size} scans for {rank} independent regressors leave no degrees of "
                f"freedom for t-values; use stat='beta'"
            )
        if W is None:
            W = np.eye(n_task)
        C = W @ pinv[:n_task]  # the estimates are C @ Y
        out = np.empty((W.shape[0], rec.n_units))
        step = max(1, (1 << 22) // max(rows.size, 1))
        contiguous = np.array_equal(rows, np.arange(rows[0], rows[0] + rows.size))
        for c0 in range(0, rec.n_units, step):
            Y = data[rows[0] : rows[0] + rows.size, c0 : c0 + step] if contiguous else data[rows, c0 : c0 + step]
            B = pinv @ Y
            effect = W @ B[:n_task]
            if stat == "beta":
                out[:, c0 : c0 + step] = effect
            else:
                resid = Y - X @ B
                sigma2 = np.einsum("ij,ij->j", resid, resid) / (rows.size - rank)
                var = np.einsum("ij,ij->i", C, C)
                with np.errstate(divide="ignore", invalid="ignore"):
                    out[:, c0 : c0 + step] = effect / np.sqrt(np.outer(var, sigma2))
        results.append(out)

    values = np.concatenate(results, axis=0).astype(rec.dtype, copy=False)
    est_samples = pd.concat(tables, ignore_index=True)
    meta = rec.meta
    meta["glm"] = {"per": per, "hrf": hrf if isinstance(hrf, str) else "custom", "drift": drift,
                   "hrf_convention": hrf_convention, "oversampling": int(oversampling),
                   "high_pass": float(high_pass), "pool_runs": bool(pool_runs), "stat": stat,
                   "tr": tr, "conditions": conditions,
                   "contrasts": None if contrasts is None else {str(k): dict(v) for k, v in contrasts.items()}}
    meta["units_of_measure"] = "t" if stat == "t" else f"beta ({rec.meta.get('units_of_measure', 'a.u.')} per unit regressor)"
    meta["history"] = [*meta.get("history", []), f"glm(per={per!r}, stat={stat!r})"]
    return Recording(values, est_samples, rec.units, meta, allow_nan=stat == "t" or rec.allow_nan, copy=False)


def _contrast_weights(contrasts, tables, per):
    """Weight matrices (contrasts x task columns) and estimate tables, one per fit."""
    if per != "condition":
        raise ArgumentError(f"contrasts= needs per='condition' (got per={per!r}); contrasts weigh conditions")
    if not isinstance(contrasts, Mapping) or not contrasts:
        raise ArgumentError(
            f"contrasts has type {type(contrasts).__name__}; expected a non-empty dict of name -> "
            f"{{condition: weight}}, e.g. {{'face > house': {{'face': 1, 'house': -1}}}}"
        )
    for name, spec in contrasts.items():
        if not isinstance(spec, Mapping) or not spec:
            raise ArgumentError(
                f"contrasts[{name!r}] has type {type(spec).__name__}; expected a non-empty dict of "
                f"condition -> weight"
            )
        for cond, w in spec.items():
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w):
                raise ArgumentError(f"contrasts[{name!r}][{cond!r}] = {w!r}; expected a finite number")
    weights, new_tables = [], []
    for est in tables:
        present = est["condition"].tolist()
        W = np.zeros((len(contrasts), len(present)))
        for i, (name, spec) in enumerate(contrasts.items()):
            for cond, w in spec.items():
                if cond not in present:
                    where = f" in run {est['run'].tolist()[0]!r}" if "run" in est.columns and len(est) else ""
                    raise ArgumentError(
                        f"contrasts[{name!r}] weighs condition {cond!r}, which has no events{where}; "
                        f"expected one of the conditions {describe_values(present)}"
                    )
                W[i, present.index(cond)] = float(w)
        counts = dict(zip(present, est["n_events"].tolist()))
        table = {"condition": [str(n) for n in contrasts], "stimulus": [str(n) for n in contrasts]}
        if "run" in est.columns:
            table["run"] = [est["run"].tolist()[0]] * len(contrasts)
        table["n_events"] = [int(sum(counts[c] for c in spec)) for spec in contrasts.values()]
        weights.append(W)
        new_tables.append(pd.DataFrame(table))
    return weights, new_tables


def _block_diag(blocks: Sequence[np.ndarray]) -> np.ndarray:
    from scipy.linalg import block_diag

    return block_diag(*blocks) if blocks else np.zeros((0, 0))
