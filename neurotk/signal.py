"""Haemodynamic response functions and event regressors for fMRI models.

:func:`canonical_hrf` samples SPM's canonical double-gamma haemodynamic response function
and :func:`event_regressors` turns an events table (onsets, durations, trial types) into
the columns of a general-linear-model design matrix by convolving upsampled boxcars with
it. The fMRI simulator (:func:`neurotk.datasets.simulate_fmri`) builds its planted
responses with these functions and the fMRI GLM fits them.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_array, check_choice, check_float, check_int
from .errors import ArgumentError, ShapeMismatchError

__all__ = ["canonical_hrf", "event_regressors"]


def canonical_hrf(
    tr: float,
    oversampling: int = 16,
    duration: float = 32.0,
    onset: float = 0.0,
    peak_delay: float = 6.0,
    undershoot_delay: float = 16.0,
    peak_dispersion: float = 1.0,
    undershoot_dispersion: float = 1.0,
    ratio: float = 1.0 / 6.0,
    normalize: str | None = "sum",
) -> np.ndarray:
    r"""SPM's canonical double-gamma haemodynamic response function.

    The response at time :math:`t` (seconds) after a brief neural event is the difference
    of two gamma densities,

    .. math::

        h(t) = g\!\left(t - t_0;\ \frac{a_1}{b_1}, b_1\right)
               - c\, g\!\left(t - t_0;\ \frac{a_2}{b_2}, b_2\right),
        \qquad
        g(t; k, \theta) = \frac{t^{k-1} e^{-t/\theta}}{\Gamma(k)\, \theta^{k}}\ (t > 0),

    with :math:`a_1` = ``peak_delay`` (6 s), :math:`a_2` = ``undershoot_delay`` (16 s),
    :math:`b_1, b_2` = ``peak_dispersion``, ``undershoot_dispersion`` (1 s),
    :math:`c` = ``ratio`` (1/6) and :math:`t_0` = ``onset`` (0 s), exactly as in SPM's
    ``spm_hrf``. With the defaults the response peaks near 5 s and undershoots near 15.7 s.
    It is sampled at :math:`t = 0, \Delta, 2\Delta, \dots` up to and including
    ``duration`` with :math:`\Delta` = ``tr / oversampling`` and, by default, scaled to
    sum to one (SPM's convention), so a boxcar convolved with it levels off at the
    boxcar's height.

    Parameters
    ----------
    tr : float
        Repetition time in seconds.
    oversampling : int, default 16
        Samples per ``tr`` (the "microtime" resolution).
    duration : float, default 32.0
        Length of the kernel in seconds.
    onset : float, default 0.0
        Delay :math:`t_0` of the response in seconds.
    peak_delay, undershoot_delay : float, default 6.0, 16.0
        Delays (gamma means) of the response and of the undershoot, in seconds.
    peak_dispersion, undershoot_dispersion : float, default 1.0
        Dispersions (gamma scales) of the response and of the undershoot, in seconds.
    ratio : float, default 1/6
        Ratio of the undershoot to the response.
    normalize : {"sum", "peak", None}, default "sum"
        Scale the samples to sum to one, to a maximum of one, or leave the densities
        unscaled (units of 1/s).

    Returns
    -------
    hrf : ndarray, shape (n,)
        The kernel, ``n = floor(duration / (tr / oversampling)) + 1`` samples.

    Raises
    ------
    ArgumentError
        A non-positive ``tr``, ``oversampling``, ``duration``, delay or dispersion, a
        negative ``ratio`` or an unknown ``normalize``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.signal import canonical_hrf
    >>> hrf = canonical_hrf(tr=2.0, oversampling=16)
    >>> round(float(hrf.sum()), 6)
    1.0
    >>> float(np.argmax(hrf) * 2.0 / 16)   # peak time in seconds
    5.0
    """
    from scipy.stats import gamma

    tr = check_float(tr, "tr", low=0, low_open=True, unit="seconds")
    oversampling = check_int(oversampling, "oversampling")
    duration = check_float(duration, "duration", low=0, low_open=True, unit="seconds")
    peak_delay = check_float(peak_delay, "peak_delay", low=0, low_open=True, unit="seconds")
    undershoot_delay = check_float(undershoot_delay, "undershoot_delay", low=0, low_open=True, unit="seconds")
    peak_dispersion = check_float(peak_dispersion, "peak_dispersion", low=0, low_open=True, unit="seconds")
    undershoot_dispersion = check_float(undershoot_dispersion, "undershoot_dispersion", low=0, low_open=True,
                                        unit="seconds")
    ratio = check_float(ratio, "ratio", low=0)
    onset = check_float(onset, "onset", unit="seconds")
    check_choice(normalize, "normalize", ("sum", "peak", None))

    dt = tr / oversampling
    t = np.arange(int(np.floor(duration / dt + 1e-9)) + 1) * dt - onset
    hrf = gamma.pdf(t, peak_delay / peak_dispersion, scale=peak_dispersion) - ratio * gamma.pdf(
        t, undershoot_delay / undershoot_dispersion, scale=undershoot_dispersion
    )
    if normalize == "sum":
        total = hrf.sum()
        if not total > 0:
            raise ArgumentError(
                f"the HRF sums to {total:.3g} over duration={duration} s, so it cannot be "
                f"normalised to unit sum; expected a longer duration or a smaller onset"
            )
        hrf = hrf / total
    elif normalize == "peak":
        hrf = hrf / np.abs(hrf).max()
    return hrf


def event_regressors(
    onsets,
    durations,
    n_scans: int,
    tr: float,
    trial_types=None,
    conditions=None,
    amplitudes=None,
    oversampling: int = 16,
    hrf=None,
) -> np.ndarray:
    """Design-matrix columns: one HRF-convolved boxcar per condition, sampled per scan.

    Every event switches its condition's boxcar on (height ``amplitude``, default 1) from
    its onset for its duration on a grid of ``tr / oversampling`` seconds; an event
    covers the grid points ``t`` with ``onset <= t < onset + duration`` (rounded to the
    grid) and at least one grid point, so a duration of 0 is a one-bin stick. The
    boxcars are convolved with ``hrf`` (by default :func:`canonical_hrf`, which sums to
    one, so a long block levels off at 1) and read at the scan times ``k * tr``,
    ``k = 0 .. n_scans - 1``. Overlapping events of one condition add up.

    Parameters
    ----------
    onsets, durations : array-like, shape (n_events,)
        Event onsets and durations in seconds from the start of the run. ``durations``
        may be a scalar shared by all events.
    n_scans : int
        Number of volumes in the run.
    tr : float
        Repetition time in seconds.
    trial_types : array-like, shape (n_events,), optional
        Condition of each event; all events belong to one condition when omitted.
    conditions : sequence, optional
        The conditions, in column order. Defaults to the sorted unique ``trial_types``.
        A condition without events gives a column of zeros.
    amplitudes : array-like, shape (n_events,), optional
        Height of each event's boxcar (parametric modulation); 1 when omitted.
    oversampling : int, default 16
        Grid points per ``tr``.
    hrf : array-like, shape (n,), optional
        Kernel sampled every ``tr / oversampling`` seconds; defaults to
        ``canonical_hrf(tr, oversampling)``.

    Returns
    -------
    design : ndarray, shape (n_scans, n_conditions)

    Raises
    ------
    ShapeMismatchError
        ``onsets``, ``durations``, ``trial_types`` or ``amplitudes`` differ in length.
    ArgumentError
        Negative or non-finite onsets or durations, events of a trial type missing from
        ``conditions``, or a bad ``n_scans``, ``tr``, ``oversampling`` or ``hrf``.

    Examples
    --------
    >>> from neurotk.signal import event_regressors
    >>> X = event_regressors([0, 20, 40], [10, 10, 10], n_scans=40, tr=2.0,
    ...                      trial_types=["a", "b", "a"])
    >>> X.shape
    (40, 2)
    >>> bool(X[:10, 1].max() == 0)   # condition "b" starts at 20 s
    True
    """
    n_scans = check_int(n_scans, "n_scans")
    tr = check_float(tr, "tr", low=0, low_open=True, unit="seconds")
    oversampling = check_int(oversampling, "oversampling")

    onsets = _vector(onsets, "onsets")
    n_events = onsets.size
    durations = _vector(durations, "durations", n_events, scalar=True)
    amplitudes = np.ones(n_events) if amplitudes is None else _vector(amplitudes, "amplitudes", n_events)
    if (onsets < 0).any():
        raise ArgumentError(
            f"onsets has negative values (first {onsets[onsets < 0][0]:g} s); expected "
            f"seconds from the start of the run, >= 0"
        )
    if (durations < 0).any():
        raise ArgumentError(
            f"durations has negative values (first {durations[durations < 0][0]:g} s); "
            f"expected durations >= 0"
        )

    if trial_types is None:
        codes = np.zeros(n_events, dtype=np.intp)
        n_conditions = 1 if conditions is None else len(conditions)
        if n_conditions != 1:
            raise ArgumentError(
                f"conditions has {n_conditions} entries but no trial_types were given; "
                f"expected trial_types to say which event belongs to which condition"
            )
    else:
        trial_types = np.asarray(trial_types, dtype=object).reshape(-1)
        if trial_types.size != n_events:
            raise ShapeMismatchError(
                f"trial_types has {trial_types.size} entries but onsets has {n_events}; "
                f"expected one trial type per event"
            )
        if conditions is None:
            conditions = sorted(set(trial_types.tolist()), key=str)
        conditions = list(conditions)
        lookup = {c: i for i, c in enumerate(conditions)}
        unknown = sorted({t for t in trial_types.tolist() if t not in lookup}, key=str)
        if unknown:
            raise ArgumentError(
                f"trial_types {unknown} are not in conditions={conditions}; expected every "
                f"event's trial type among the conditions"
            )
        codes = np.fromiter((lookup[t] for t in trial_types.tolist()), dtype=np.intp, count=n_events)
        n_conditions = len(conditions)

    dt = tr / oversampling
    if hrf is None:
        hrf = canonical_hrf(tr, oversampling)
    else:
        hrf = check_array(hrf, "hrf", ndim=None, min_ndim=0, min_shape=(), allow_nan=True, recording=False,
                          expected=f"a kernel sampled every tr / oversampling = {dt:g} s")
        if hrf.ndim != 1 or hrf.size == 0 or not np.isfinite(hrf).all():
            raise ArgumentError(
                f"hrf has shape {hrf.shape}; expected a non-empty 1-D array of finite "
                f"values sampled every tr / oversampling = {dt:g} s"
            )

    n_grid = n_scans * oversampling
    start = np.rint(onsets / dt).astype(np.int64)
    stop = np.maximum(np.rint((onsets + durations) / dt).astype(np.int64), start + 1)
    keep = start < n_grid
    # A boxcar is +amplitude at its first bin and -amplitude after its last: cumsum fills it.
    steps = np.zeros((n_conditions, n_grid + 1))
    np.add.at(steps, (codes[keep], start[keep]), amplitudes[keep])
    np.add.at(steps, (codes[keep], np.minimum(stop[keep], n_grid)), -amplitudes[keep])
    boxcars = np.cumsum(steps[:, :n_grid], axis=1)

    from scipy.signal import fftconvolve

    convolved = fftconvolve(boxcars, hrf[None, :], axes=1)[:, :n_grid]
    design = convolved[:, ::oversampling].T
    design[np.abs(design) < 1e-12 * max(1.0, np.abs(design).max(initial=0.0))] = 0.0
    return np.ascontiguousarray(design)


def _vector(values, name: str, n: int | None = None, scalar: bool = False) -> np.ndarray:
    """One finite value per event as a 1-D float array; with ``scalar``, one value is shared by all ``n``."""
    arr = check_array(values, name, ndim=None, min_ndim=0, min_shape=(), allow_nan=True, recording=False,
                      expected="numbers, one per event")
    if scalar and arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.ndim > 1:
        raise ShapeMismatchError(f"{name} has shape {arr.shape}; expected a 1-D array (one value per event)")
    arr = arr.reshape(-1)
    if n is not None and arr.size != n:
        raise ShapeMismatchError(
            f"{name} has {arr.size} values but onsets has {n}; expected one value per event"
        )
    if not np.isfinite(arr).all():
        raise ArgumentError(f"{name} contains NaN or infinite values; expected finite numbers")
    return arr
