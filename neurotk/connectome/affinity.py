r"""Pairwise affinities between neurons in time windows, in the pairs layout.

Every affinity here is a matrix ``(n_pairs, n_windows)``: one row per neuron pair
``(i, j)`` with ``i < j`` in ``np.triu_indices(n, 1)`` order (scipy's condensed order) and
one column per time window. All pairs of a window come from matrix products over the
window's time points (batched over windows with ``np.matmul``), never from a loop over
pairs; windows are processed in chunks that fit in ``max_memory``.

- :func:`comovement_affinity`: co-rising and co-falling of the smoothed traces. This is
  **neurotk's own construction**, named for what it measures: it is inspired by the
  "differential affinity" of Dyballa et al. (ICLR 2024) but is **not the paper's
  equation**, whose definition was not available when it was written (see its
  docstring, which gives the exact formula).
- :func:`sliding_correlation`: Pearson correlation in sliding windows, the usual baseline.
- :func:`affinity_tensor`: the affinities of several Recordings (animals, sessions) stacked
  into a pairs x windows x animals tensor, with neurons matched by ``unit_id`` and the
  pairs of neurons missing from an animal masked (not zero).

The results, :class:`Affinity` and :class:`AffinityTensor`, are
:class:`~neurotk.results.Result` objects (``to_frame()``, ``plot()``, ``save()``);
:func:`pair_rows` and :func:`pairs_to_matrix` move between the pairs layout and neuron x
neuron matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_int, check_matrix
from ..errors import AlignmentError, ArgumentError, ShapeMismatchError, describe_values
from ..recording import Recording
from ..results import Result

__all__ = [
    "comovement_affinity",
    "sliding_correlation",
    "affinity_tensor",
    "Affinity",
    "AffinityTensor",
    "pair_rows",
    "pairs_to_matrix",
]

_NEGATIVE = ("clip", "abs", "shift", "keep")


# --------------------------------------------------------------------------- pairs layout
def pair_rows(i, j, n: int) -> np.ndarray:
    """Row of the pair ``(i, j)`` (either order, ``i != j``) in the pairs layout of ``n`` neurons.

    The pairs layout is ``np.triu_indices(n, 1)`` order (scipy's condensed order), the
    rows of :attr:`Affinity.values` and of the first mode of :func:`affinity_tensor`.

    Parameters
    ----------
    i, j : int or array-like of int
        Neuron indices, ``0 .. n - 1``, ``i != j`` element-wise.
    n : int
        Number of neurons.

    Returns
    -------
    ndarray of int64
        The row of every pair.

    Raises
    ------
    ArgumentError
        A pair of one neuron with itself, or an index outside ``0 .. n - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> pair_rows([0, 2, 1], [1, 1, 3], 4).tolist()  # rows of (0,1), (1,2), (1,3)
    [0, 3, 4]
    >>> rows, cols = np.triu_indices(4, 1)
    >>> pair_rows(rows, cols, 4).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    if np.any(lo == hi) or np.any(lo < 0) or np.any(hi >= n):
        raise ArgumentError(f"pairs must be two different neurons in 0..{n - 1}")
    return n * lo - lo * (lo + 1) // 2 + hi - lo - 1


def pairs_to_matrix(values, n: int | None = None, diagonal: float = 0.0) -> np.ndarray:
    """Symmetric ``(n, n)`` matrix from one column of the pairs layout.

    Examples
    --------
    >>> pairs_to_matrix([1.0, 2.0, 3.0]).tolist()
    [[0.0, 1.0, 2.0], [1.0, 0.0, 3.0], [2.0, 3.0, 0.0]]
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if n is None:
        n = int(round((1 + np.sqrt(1 + 8 * values.size)) / 2))
    if n * (n - 1) // 2 != values.size:
        raise ShapeMismatchError(
            f"values has {values.size} entries; expected n(n-1)/2 for n neurons (pairs layout)"
        )
    out = np.full((n, n), float(diagonal))
    rows, cols = np.triu_indices(n, 1)
    out[rows, cols] = values
    out[cols, rows] = values
    return out


# --------------------------------------------------------------------------- results
@dataclass(eq=False)
class Affinity(Result):
    """Affinities of every neuron pair in time windows (pairs layout).

    Attributes
    ----------
    values : ndarray, shape (n_pairs, n_windows)
        Row ``k`` is the pair ``(pairs[0][k], pairs[1][k])``.
    unit_ids : ndarray, shape (n_neurons,)
        The neurons, in the order the pair indices refer to.
    windows : pandas.DataFrame
        One row per window: ``start``, ``stop`` (samples, stop exclusive), ``time``
        (window centre, in seconds when the sampling rate or a ``time`` column is known,
        otherwise in samples).
    method : str
        ``"comovement"`` or ``"correlation"``.
    params : dict
        The parameters used.

    Examples
    --------
    >>> import numpy as np
    >>> aff = comovement_affinity(np.random.default_rng(0).normal(size=(100, 4)), window=50)
    >>> aff
    Affinity(method='comovement', n_neurons=4, n_pairs=6, n_windows=2)
    >>> aff.to_frame().columns.tolist()
    ['unit_i', 'unit_j', 'window', 'time', 'affinity']
    """

    values: np.ndarray
    unit_ids: np.ndarray
    windows: pd.DataFrame
    method: str
    params: dict = field(default_factory=dict)

    @property
    def n_neurons(self) -> int:
        """Number of neurons."""
        return int(self.unit_ids.size)

    @property
    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """Neuron indices ``(i, j)``, ``i < j``, of every row."""
        return np.triu_indices(self.n_neurons, 1)

    def matrix(self, window: int | None = None) -> np.ndarray:
        """Neuron x neuron affinities in one window (default: the mean over windows)."""
        col = self.values.mean(axis=1) if window is None else self.values[:, window]
        return pairs_to_matrix(col, self.n_neurons)

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``unit_i``, ``unit_j``, ``window``, ``time``, ``affinity``."""
        i, j = self.pairs
        n_win = self.values.shape[1]
        return pd.DataFrame({
            "unit_i": np.repeat(self.unit_ids[i], n_win),
            "unit_j": np.repeat(self.unit_ids[j], n_win),
            "window": np.tile(np.arange(n_win), i.size),
            "time": np.tile(self.windows["time"].to_numpy(), i.size),
            "affinity": self.values.ravel(),
        })

    def plot(self, ax=None, window: int | None = None):
        """Neuron x neuron matrix of one window (default: mean over windows); returns the Axes."""
        from ..plotting.connectome import plot_affinity

        return plot_affinity(self, ax=ax, window=window)

    def __repr__(self) -> str:
        return (f"Affinity(method={self.method!r}, n_neurons={self.n_neurons}, "
                f"n_pairs={self.values.shape[0]}, n_windows={self.values.shape[1]})")


# --------------------------------------------------------------------------- helpers
def _check_traces(traces, name="traces"):
    arr = check_matrix(traces, name, rows="time points", cols="neurons", min_rows=2)
    if arr.shape[1] < 3:
        raise ShapeMismatchError(
            f"{name} has {arr.shape[1]} neurons; expected at least 3 (a connectome needs "
            f"pairs among three or more neurons). Traces are (time points, neurons)."
        )
    if isinstance(traces, Recording):
        ids = np.asarray(traces.unit_ids)
    else:
        ids = np.arange(arr.shape[1])
    return arr, ids


def _window_starts(n_samples: int, window, step, name="window"):
    window = check_int(window, name, 1)
    if window > n_samples:
        raise ArgumentError(
            f"{name}={window} samples is longer than the recording ({n_samples} samples); "
            f"expected a window of at most {n_samples} samples"
        )
    step = check_int(window if step is None else step, "step", 1)
    return window, np.arange(0, n_samples - window + 1, step)


def _sampling_rate(traces, sampling_rate):
    if sampling_rate is not None:
        return check_float(sampling_rate, "sampling_rate", low=0, low_open=True, unit="Hz")
    if isinstance(traces, Recording):
        sr = traces.meta.get("sampling_rate")
        if sr is not None:
            return float(sr)
    return None


def _window_table(traces, starts, window, sampling_rate) -> pd.DataFrame:
    stops = starts + window
    if isinstance(traces, Recording) and "time" in traces.samples:
        t = traces.samples["time"].to_numpy(dtype=np.float64)
        dt = float(np.median(np.diff(t))) if t.size > 1 else 1.0
        start_t = t[starts]
        stop_t = t[stops - 1] + dt
    elif sampling_rate is not None:
        start_t, stop_t = starts / sampling_rate, stops / sampling_rate
    else:
        start_t, stop_t = starts.astype(float), stops.astype(float)
    table = pd.DataFrame({"start": starts, "stop": stops, "time": (start_t + stop_t) / 2,
                          "time_start": start_t, "time_stop": stop_t})
    if isinstance(traces, Recording) and "stimulus" in traces.samples:
        stim = traces.samples["stimulus"].to_numpy()
        table["stimulus"] = stim[starts + window // 2]
    return table


def _windowed_products(parts, starts, window: int, n_pairs_out, max_memory, dtype, progress,
                       transform=None):
    """``sum_k parts[k][window].T @ parts[k][window]`` per window, in the pairs layout.

    ``parts`` are (time, neurons) arrays; ``transform`` maps each (chunk, n, n) block of
    window sums before the pairs are taken (e.g. normalisation).
    """
    from threadpoolctl import threadpool_limits

    from .._console import progress_bar
    from ..parallel import chunk_size, chunk_slices

    n = parts[0].shape[1]
    rows, cols = np.triu_indices(n, 1)
    n_win = starts.size
    out = np.empty((n_pairs_out, n_win), dtype=dtype)
    # per window: the gathered window of every part plus two n x n blocks
    per_window = 8.0 * (len(parts) * window * n + 2 * n * n + rows.size)
    size = chunk_size(n_win, per_window, max_memory)
    offsets = np.arange(window)
    # many small products: multithreaded BLAS only adds overhead (and thrashes on busy cores)
    with threadpool_limits(limits=1, user_api="blas"):
        for sl in progress_bar(chunk_slices(n_win, size), disable=not progress, desc="affinity", leave=False):
            idx = starts[sl, None] + offsets[None, :]
            # all parts of a window stacked along time: one product sums them
            block = np.concatenate([part[idx] for part in parts], axis=1)   # (chunk, k * window, n)
            total = np.matmul(block.transpose(0, 2, 1), block)
            if transform is not None:
                total = transform(total, idx)
            out[:, sl] = total[:, rows, cols].T
    return out


def _backend_of(traces, backend, device):
    """The backend of ``traces`` (or the one asked for) and ``traces`` as a host array or
    Recording: the traces are small next to the pairs x windows output, so they are checked
    and smoothed on the host; only the window products run on the backend's device."""
    from .._backend import is_numpy_like, resolve_backend

    b = resolve_backend([traces], backend, device)
    if not b.is_numpy and not is_numpy_like(traces):
        traces = b.to_numpy(traces)
    return b, traces


def _windowed_products_xp(b, parts, starts, window: int, n_pairs_out, max_memory, dtype, progress,
                          transform=None):
    """:func:`_windowed_products` in the backend ``b`` (torch, CuPy ...), on its device.

    ``parts`` are host (time, neurons) float64 arrays, moved to the device once; the window
    sums are computed in float64 there (as on the host) and stored in ``dtype``.
    ``transform(total, s, e)`` gets the device block and the window bounds (device int
    arrays). Returns a device array (n_pairs, n_windows).
    """
    from ..parallel import chunk_size

    xp = b.xp
    n = parts[0].shape[1]
    rows, cols = np.triu_indices(n, 1)
    flat_pairs = b.asarray(rows * n + cols, dtype=np.int64)
    n_win = starts.size
    out = xp.empty((n_pairs_out, n_win), dtype=b.float_dtype(dtype), device=b.device)
    per_window = 8.0 * (len(parts) * window * n + 2 * n * n + rows.size)
    size = chunk_size(n_win, per_window, max_memory)
    dev_parts = [b.asarray(part, dtype=np.float64) for part in parts]
    offsets = np.arange(window)
    with b.cpu_threads(1):   # as on the host: one thread for the many small products
        return _window_loop(b, dev_parts, starts, window, n, size, offsets, flat_pairs, out, transform, progress)


def _window_loop(b, dev_parts, starts, window, n, size, offsets, flat_pairs, out, transform, progress):
    from .._console import progress_bar
    from ..parallel import chunk_slices

    xp = b.xp
    for sl in progress_bar(chunk_slices(starts.size, size), disable=not progress, desc="affinity", leave=False):
        idx = (starts[sl, None] + offsets[None, :]).ravel()
        chunk = int(starts[sl].size)
        didx = b.asarray(idx, dtype=np.int64)
        block = xp.concat([xp.reshape(xp.take(part, didx, axis=0), (chunk, window, n)) for part in dev_parts],
                          axis=1)   # (chunk, k * window, n)
        total = xp.matmul(xp.permute_dims(block, (0, 2, 1)), block)
        if transform is not None:
            s = b.asarray(starts[sl], dtype=np.int64)
            total = transform(total, s, s + window)
        pairs = xp.take(xp.reshape(total, (chunk, n * n)), flat_pairs, axis=1)   # (chunk, n_pairs)
        out[:, sl.start:sl.stop] = xp.astype(pairs.T, out.dtype)
    return out


def _affinity_values(b, values, return_backend):
    """``values`` (a backend array) as numpy, unless the caller asked for the backend's array."""
    return values if return_backend else b.to_numpy(values)


# --------------------------------------------------------------------------- affinities
def comovement_affinity(traces, window: int = 20, step: int | None = None, *, smooth: float = 1.0,
                        saturation: float = 1.0, chance: str = "subtract", sampling_rate=None, max_memory=None,
                        dtype=np.float64, progress: bool = False, backend=None, device=None,
                        return_backend: bool = False) -> Affinity:
    r"""Comovement affinity of every pair of neurons (co-rising, co-falling), averaged in time windows.

    Two neurons are affine at time :math:`t` when their (smoothed) activity rises together
    or falls together.

    **Provenance: neurotk's construction, not the paper's equation.** Dyballa et al.,
    "Learning dynamic representations of the functional connectome in neurobiological
    networks" (ICLR 2024, arXiv 2402.14102) build their tensor from a "differential
    affinity" (Figure 3: "the differential affinity computation compares traces"; the
    abstract: "pairwise non-linear affinities between neuronal traces"). The section that
    defines it was not available to neurotk (only the abstract and the start of the
    introduction could be read; the authors' repository, github.com/dyballa/dynamic-connectomes,
    as available held only its README and ``benchmark.ipynb``, the community-detection
    benchmark, with no affinity code). So this measure follows that description
    (non-linear, comparing the traces' changes, non-negative for NTF), and neurotk does not
    claim it reproduces the paper's affinities; it was called ``differential_affinity``
    until issue 14 and was renamed so that its name does not claim the paper's measure.
    Its tests check it against the formula below. The exact formula:

    1. Smoothed derivative: :math:`d_i = (g_\sigma' * x_i)`, the trace convolved with the
       derivative of a Gaussian of standard deviation ``smooth`` samples (with
       ``smooth=0``: central differences of the raw trace), per sample.
    2. Scale: :math:`u_i(t) = d_i(t) / s_i` with :math:`s_i` the root mean square of
       :math:`d_i` over the recording (0 for a flat trace), so every neuron counts alike.
    3. Rising and falling parts, saturated: :math:`p_i = \tanh(\max(u_i, 0) / \kappa)`,
       :math:`q_i = \tanh(\max(-u_i, 0) / \kappa)` with :math:`\kappa` = ``saturation``.
    4. Affinity per time point: :math:`a_{ij}(t) = p_i(t) p_j(t) + q_i(t) q_j(t)`, in
       :math:`[0, 1)`: high when both rise or both fall steeply, zero when one rises while
       the other falls or either is flat; non-linear (rectified and saturating) in the
       derivatives, so a single large transient cannot dominate.
    5. Window value: the mean of :math:`a_{ij}(t)` over the window's :math:`w` samples,
       computed for all pairs at once as :math:`(P_w^\top P_w + Q_w^\top Q_w) / w`.
    6. With ``chance="subtract"`` (the default) the value expected by chance from each
       neuron's own rising and falling in that window, :math:`\bar p_i \bar p_j + \bar q_i
       \bar q_j` (window means), is subtracted and the result clipped at 0, so two neurons
       that are merely both active, without moving together, score about 0:
       :math:`A_{ij}(w) = \max(\overline{p_i p_j} + \overline{q_i q_j} - \bar p_i \bar p_j
       - \bar q_i \bar q_j, 0)`. ``chance="keep"`` returns step 5 as is.

    Parameters
    ----------
    traces : Recording or array-like, shape (n_time, n_neurons)
        Calcium traces (dF/F) or binned rates; samples are time points, units neurons.
    window : int, default 20
        Samples per window (1 = per time point, memory ``n_pairs x n_time``; use
        ``chance="keep"`` then, as a one-sample window has no chance level).
    step : int, optional
        Samples between window starts (default ``window``: adjacent windows).
    smooth : float, default 1.0
        Gaussian smoothing (standard deviation, samples) of the derivative.
    saturation : float, default 1.0
        :math:`\kappa`, in units of each neuron's derivative RMS.
    chance : {"subtract", "keep"}, default "subtract"
        Subtract the chance level per window (step 6) or not.
    sampling_rate : float, optional
        Hz, for the window times (default: the Recording's ``meta["sampling_rate"]``).
    max_memory : int or str, optional
        Working-memory budget of one chunk of windows (default 512 MiB).
    dtype : numpy dtype, default float64
        Of the output (float32 halves its memory).
    progress : bool, default False
    backend : {None, "numpy", "torch", "cupy"}, optional
        Array library of the window products, the costly part (see
        :mod:`neurotk._backend`): None uses the library of ``traces`` (a torch tensor runs
        in torch, on its device). The traces themselves are checked and smoothed on the
        host (they are small next to the output); the numpy path is unchanged.
    device : optional
        Device for ``backend="torch"``/``"cupy"`` (default: CUDA when available).
    return_backend : bool, default False
        Keep ``values`` as an array of the backend, on its device, instead of numpy.

    Returns
    -------
    Affinity
        ``values`` (n_pairs, n_windows) in [0, 1), ``unit_ids`` and a ``windows`` table.
        Memory: the output plus, per chunk of windows, the gathered windows and two
        ``n x n`` blocks per window, within ``max_memory``.

    Raises
    ------
    ShapeMismatchError
        Fewer than 3 neurons.
    NonFiniteDataError
        NaN or infinite values in the traces.
    ArgumentError
        A window longer than the recording, or bad parameters.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> shared = rng.normal(size=(300, 1)).cumsum(axis=0)
    >>> traces = np.hstack([shared, shared + 0.1 * rng.normal(size=(300, 1)),
    ...                     rng.normal(size=(300, 1)).cumsum(axis=0)])
    >>> aff = comovement_affinity(traces, window=100)
    >>> aff.values.shape          # 3 pairs x 3 windows
    (3, 3)
    >>> bool(aff.values[0].mean() > aff.values[1:].mean())   # pair (0, 1) moves together
    True
    """
    from scipy.ndimage import gaussian_filter1d

    b, traces = _backend_of(traces, backend, device)
    x, ids = _check_traces(traces)
    window, starts = _window_starts(x.shape[0], window, step)
    smooth = check_float(smooth, "smooth", low=0, unit="samples (a standard deviation)")
    saturation = check_float(saturation, "saturation", low=0, low_open=True)
    check_choice(chance, "chance", ("subtract", "keep"))
    sr = _sampling_rate(traces, sampling_rate)
    if smooth > 0:
        d = gaussian_filter1d(x, float(smooth), axis=0, order=1, mode="nearest")
    else:
        d = np.gradient(x, axis=0)
    rms = np.sqrt(np.mean(d * d, axis=0))
    d /= np.where(rms > 0, rms, np.inf)
    d /= float(saturation)
    rise = np.tanh(np.maximum(d, 0.0))
    fall = np.tanh(np.maximum(-d, 0.0))
    n = x.shape[1]
    transform = None
    if chance == "subtract":
        zero = np.zeros((1, n))
        csum_r = np.vstack([zero, np.cumsum(rise, axis=0)])
        csum_f = np.vstack([zero, np.cumsum(fall, axis=0)])

        def transform(total, idx):
            s, e = idx[:, 0], idx[:, -1] + 1
            mr = (csum_r[e] - csum_r[s]) / window
            mf = (csum_f[e] - csum_f[s]) / window
            total /= window
            total -= mr[:, :, None] * mr[:, None, :]
            total -= mf[:, :, None] * mf[:, None, :]
            return np.maximum(total, 0.0, out=total)

    if not b.is_numpy:
        values = _comovement_xp(b, rise, fall, starts, window, chance, max_memory, dtype, progress)
        values = _affinity_values(b, values, return_backend)
    else:
        values = _windowed_products([rise, fall], starts, window, n * (n - 1) // 2, max_memory, dtype,
                                    progress, transform=transform)
        if transform is None:
            values /= window
    return Affinity(values, ids, _window_table(traces, starts, window, sr), "comovement",
                    dict(window=window, step=int(starts[1] - starts[0]) if starts.size > 1 else window,
                         smooth=float(smooth), saturation=float(saturation)))


def _comovement_xp(b, rise, fall, starts, window, chance, max_memory, dtype, progress):
    """Steps 5-6 of :func:`comovement_affinity` in the backend ``b`` (a device array)."""
    xp = b.xp
    n = rise.shape[1]
    transform = None
    if chance == "subtract":
        zero = np.zeros((1, n))
        csum_r = b.asarray(np.vstack([zero, np.cumsum(rise, axis=0)]), dtype=np.float64)
        csum_f = b.asarray(np.vstack([zero, np.cumsum(fall, axis=0)]), dtype=np.float64)

        def transform(total, s, e):
            mr = (xp.take(csum_r, e, axis=0) - xp.take(csum_r, s, axis=0)) / window
            mf = (xp.take(csum_f, e, axis=0) - xp.take(csum_f, s, axis=0)) / window
            total = total / window - mr[:, :, None] * mr[:, None, :] - mf[:, :, None] * mf[:, None, :]
            return xp.maximum(total, 0.0)

    values = _windowed_products_xp(b, [rise, fall], starts, window, n * (n - 1) // 2, max_memory, dtype,
                                   progress, transform=transform)
    return values / window if transform is None else values


def _correlation_xp(b, xc, csum, csq, starts, window, negative, max_memory, dtype, progress):
    """The windowed correlations of :func:`sliding_correlation` in the backend ``b``."""
    xp = b.xp
    n = xc.shape[1]
    csum_d = b.asarray(csum, dtype=np.float64)
    csq_d = b.asarray(csq, dtype=np.float64)

    def normalise(total, s, e):
        mean = (xp.take(csum_d, e, axis=0) - xp.take(csum_d, s, axis=0)) / window
        var = xp.maximum((xp.take(csq_d, e, axis=0) - xp.take(csq_d, s, axis=0)) / window - mean**2, 0.0)
        cov = total / window - mean[:, :, None] * mean[:, None, :]
        sd = xp.sqrt(var)
        tiny = 1e-12 * xp.maximum(xp.abs(mean), 1.0)
        big = sd > tiny
        inv = xp.where(big, 1.0 / xp.where(big, sd, xp.ones_like(sd)), xp.zeros_like(sd))
        return xp.clip(cov * inv[:, :, None] * inv[:, None, :], -1.0, 1.0)

    values = _windowed_products_xp(b, [xc], starts, window, n * (n - 1) // 2, max_memory, dtype, progress,
                                   transform=normalise)
    if negative == "clip":
        values = xp.maximum(values, 0.0)
    elif negative == "abs":
        values = xp.abs(values)
    elif negative == "shift":
        values = (values + 1.0) / 2.0
    return values


def sliding_correlation(traces, window: int = 50, step: int | None = None, *, negative: str = "clip",
                        smooth: float = 0.0, sampling_rate=None, max_memory=None, dtype=np.float64,
                        progress: bool = False, backend=None, device=None,
                        return_backend: bool = False) -> Affinity:
    """Pearson correlation of every pair of neurons in sliding windows (the baseline).

    In each window the traces (optionally Gaussian-smoothed by ``smooth`` samples) are
    centred and scaled to unit norm, and all correlations come from one matrix product.
    A neuron that is flat within a window correlates 0 with every other neuron there.

    Parameters
    ----------
    traces : Recording or array-like, shape (n_time, n_neurons)
    window : int, default 50
        Samples per window (at least 3).
    step : int, optional
        Samples between window starts (default ``window``).
    negative : {"clip", "abs", "shift", "keep"}, default "clip"
        Making the values non-negative for NTF: ``max(r, 0)``, ``|r|``, ``(1 + r) / 2``, or
        keep ``r`` as is.
    smooth : float, default 0.0
        Gaussian smoothing of the traces (standard deviation, samples).
    sampling_rate, max_memory, dtype, progress, backend, device, return_backend
        As in :func:`comovement_affinity`.

    Returns
    -------
    Affinity

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).normal(size=(100, 4))
    >>> aff = sliding_correlation(x, window=50, negative="keep")
    >>> r = np.corrcoef(x[:50].T)[0, 1]
    >>> bool(np.isclose(aff.values[0, 0], r))
    True
    """
    from scipy.ndimage import gaussian_filter1d

    b, traces = _backend_of(traces, backend, device)
    x, ids = _check_traces(traces)
    window, starts = _window_starts(x.shape[0], window, step)
    if window < 3:
        raise ArgumentError(f"window={window}; expected at least 3 samples for a correlation")
    check_choice(negative, "negative", _NEGATIVE)
    smooth = check_float(smooth, "smooth", low=0, unit="samples (a standard deviation)")
    sr = _sampling_rate(traces, sampling_rate)
    if smooth > 0:
        x = gaussian_filter1d(x, float(smooth), axis=0, mode="nearest")
    n = x.shape[1]
    # centre once to keep the raw products well conditioned; window sums (cumulative sums)
    # and the raw products of each window give its covariance, then its correlation
    xc = x - x.mean(axis=0)
    csum = np.vstack([np.zeros((1, n)), np.cumsum(xc, axis=0)])
    csq = np.vstack([np.zeros((1, n)), np.cumsum(xc * xc, axis=0)])

    def normalise(total, idx):
        s, e = idx[:, 0], idx[:, -1] + 1
        mean = (csum[e] - csum[s]) / window                      # (chunk, n)
        var = np.maximum((csq[e] - csq[s]) / window - mean**2, 0.0)
        cov = total / window - mean[:, :, None] * mean[:, None, :]
        sd = np.sqrt(var)
        tiny = 1e-12 * np.maximum(np.abs(mean), 1.0)
        inv = np.where(sd > tiny, 1.0 / np.where(sd > tiny, sd, 1.0), 0.0)
        return np.clip(cov * inv[:, :, None] * inv[:, None, :], -1.0, 1.0)

    if not b.is_numpy:
        values = _correlation_xp(b, xc, csum, csq, starts, window, negative, max_memory, dtype, progress)
        return Affinity(_affinity_values(b, values, return_backend), ids,
                        _window_table(traces, starts, window, sr), "correlation",
                        dict(window=window, step=int(starts[1] - starts[0]) if starts.size > 1 else window,
                             negative=negative, smooth=float(smooth)))
    values = _windowed_products([xc], starts, window, n * (n - 1) // 2, max_memory, dtype, progress,
                                transform=normalise)
    if negative == "clip":
        np.maximum(values, 0.0, out=values)
    elif negative == "abs":
        np.abs(values, out=values)
    elif negative == "shift":
        values += 1.0
        values /= 2.0
    return Affinity(values, ids, _window_table(traces, starts, window, sr), "correlation",
                    dict(window=window, step=int(starts[1] - starts[0]) if starts.size > 1 else window,
                         negative=negative, smooth=float(smooth)))


# --------------------------------------------------------------------------- tensor
@dataclass(eq=False)
class AffinityTensor(Result):
    """Affinities of several recordings stacked as pairs x windows x recordings.

    Attributes
    ----------
    values : ndarray, shape (n_pairs, n_windows, n_recordings)
        NaN where a pair was not recorded (one of its neurons missing in that animal).
    mask : ndarray of bool or None
        True where observed; None when every pair was recorded in every animal.
    unit_ids : ndarray, shape (n_neurons,)
        The union of the neurons, sorted; pairs refer to positions in it.
    windows : pandas.DataFrame
        The windows (of the first recording; all recordings share them).
    names : list of str
        One name per recording (``meta["name"]``, else ``"recording k"``).
    present : ndarray of bool, shape (n_recordings, n_neurons)
        Which neurons each recording has.
    method : str
    params : dict

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> tensor = affinity_tensor([rng.normal(size=(100, 4)), rng.normal(size=(100, 4))], window=50)
    >>> tensor
    AffinityTensor(method='comovement', shape=(6, 2, 2), n_neurons=4, missing=0.0%)
    >>> tensor.matrix(recording="recording 1").shape
    (4, 4)
    >>> tensor.to_frame().columns.tolist()
    ['recording', 'unit_i', 'unit_j', 'window', 'time', 'affinity']
    """

    values: np.ndarray
    mask: np.ndarray | None
    unit_ids: np.ndarray
    windows: pd.DataFrame
    names: list
    present: np.ndarray
    method: str
    params: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple:
        return self.values.shape

    @property
    def n_neurons(self) -> int:
        return int(self.unit_ids.size)

    def _recording(self, recording) -> int:
        """Position of ``recording`` (an index or a name) among the recordings."""
        names = [str(n) for n in self.names]
        if isinstance(recording, str):
            if recording not in names:
                raise ArgumentError(f"recording={recording!r}; expected one of {names} or an index")
            return names.index(recording)
        return check_int(recording, "recording", 0, len(names) - 1)

    def matrix(self, recording=None, window: int | None = None) -> np.ndarray:
        """Neuron x neuron affinities: one recording or the mean over recordings, one window
        or the mean over windows; NaN for pairs never observed there.

        Parameters
        ----------
        recording : int or str, optional
            A recording's position or name (default: the mean over the recordings where
            each pair was observed).
        window : int, optional
            A window (default: the mean over windows).

        Returns
        -------
        ndarray, shape (n_neurons, n_neurons)
            Symmetric, zero diagonal.
        """
        values = self.values
        observed = np.ones(values.shape, dtype=bool) if self.mask is None else self.mask
        if recording is not None:
            k = self._recording(recording)
            values, observed = values[:, :, k:k + 1], observed[:, :, k:k + 1]
        if window is not None:
            w = check_int(window, "window", 0, self.values.shape[1] - 1)
            values, observed = values[:, w:w + 1], observed[:, w:w + 1]
        total = np.where(observed, values, 0.0).sum(axis=(1, 2))
        count = observed.sum(axis=(1, 2))
        col = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return pairs_to_matrix(col, self.n_neurons)

    def to_frame(self) -> pd.DataFrame:
        """Long table of the observed entries: ``recording``, ``unit_i``, ``unit_j``,
        ``window``, ``time``, ``affinity`` (pairs, then windows, then recordings)."""
        i, j = np.triu_indices(self.n_neurons, 1)
        if self.mask is None:
            p, w, r = (a.ravel() for a in np.indices(self.values.shape))
        else:
            p, w, r = np.nonzero(self.mask)
        return pd.DataFrame({
            "recording": np.asarray([str(n) for n in self.names], dtype=object)[r],
            "unit_i": self.unit_ids[i[p]],
            "unit_j": self.unit_ids[j[p]],
            "window": w,
            "time": self.windows["time"].to_numpy()[w],
            "affinity": self.values[p, w, r],
        })

    def plot(self, ax=None, recording=None, window: int | None = None, **kwargs):
        """Neuron x neuron matrix (:meth:`matrix`) of one recording or the mean over them;
        see :func:`neurotk.plotting.connectome.plot_affinity_tensor`. Returns the Axes."""
        from ..plotting.connectome import plot_affinity_tensor

        return plot_affinity_tensor(self, ax=ax, recording=recording, window=window, **kwargs)

    def __repr__(self) -> str:
        missing = 0.0 if self.mask is None else float(1 - self.mask.mean())
        return (f"AffinityTensor(method={self.method!r}, shape={self.values.shape}, "
                f"n_neurons={self.n_neurons}, missing={missing:.1%})")


def _unit_ids(rec, k):
    if isinstance(rec, Recording):
        return np.asarray(rec.unit_ids)
    return None


def affinity_tensor(recordings, method: str = "comovement", window: int = 20, step: int | None = None,
                    *, max_memory=None, dtype=np.float64, progress: bool = False, backend=None, device=None,
                    return_backend: bool = False, **kwargs) -> AffinityTensor:
    """Stack the affinities of several recordings into a pairs x windows x recordings tensor.

    Neurons are matched across recordings by ``unit_id``: the tensor's pairs are the pairs
    of the union of all neurons, and a pair whose neurons were not both recorded in an
    animal is missing there (NaN in ``values``, False in ``mask``), not zero.

    Parameters
    ----------
    recordings : Recording, array or list of them
        One per animal or session, all with the same number of time points (the same
        protocol). Arrays (time, neurons) are matched by column position and must then all
        have the same number of neurons.
    method : {"comovement", "correlation"}, default "comovement"
        :func:`comovement_affinity` or :func:`sliding_correlation`.
    window, step, max_memory, dtype, progress
        As in :func:`comovement_affinity`.
    backend : {None, "numpy", "torch", "cupy"}, optional
        Array library of the affinities (None: that of the recordings' arrays, numpy for
        Recordings); see :func:`comovement_affinity`.
    device : optional
        Device for ``backend="torch"``/``"cupy"``.
    return_backend : bool, default False
        Keep ``values`` as an array of the backend, on its device (torch and CuPy: the
        tensor is assembled there), e.g. to pass it on to :func:`~neurotk.connectome.ntf`
        on the same device; ``mask`` stays a numpy array.
    **kwargs
        Further arguments of the affinity function (``smooth``, ``saturation``,
        ``negative`` ...).

    Returns
    -------
    AffinityTensor

    Raises
    ------
    AlignmentError
        Recordings of different lengths, arrays with different numbers of neurons, or a
        recording that shares fewer than 3 neurons with the others.

    Examples
    --------
    >>> from neurotk.datasets import simulate_calcium_population
    >>> sim = simulate_calcium_population(n_neurons=12, n_timepoints=400, n_communities=2,
    ...                                   missing_fraction=0.1, random_state=0)
    >>> tensor = affinity_tensor(sim.recordings, window=20)
    >>> tensor.values.shape, bool(tensor.mask.all())
    ((66, 20, 3), False)
    """
    from .._backend import is_numpy_like, resolve_backend

    check_choice(method, "method", ("comovement", "correlation"))
    fn = comovement_affinity if method == "comovement" else sliding_correlation
    if isinstance(recordings, (Recording, np.ndarray)) or not is_numpy_like(recordings):
        recordings = [recordings]
    if isinstance(recordings, (str, bytes)) or not hasattr(recordings, "__iter__"):
        raise ArgumentError(f"recordings has type {type(recordings).__name__}; expected a Recording, an array "
                            f"(time points x neurons) or a list of them, one per animal or session")
    recordings = list(recordings)
    if not recordings:
        raise ArgumentError("recordings is empty; expected at least one Recording")
    b = resolve_backend(recordings, backend, device)
    if not b.is_numpy:  # the traces are small: matched on the host, affinities on the device
        recordings = [r if is_numpy_like(r) else b.to_numpy(r) for r in recordings]
        kwargs = dict(kwargs, backend=b.name, device=b.device, return_backend=True)
    for k, rec in enumerate(recordings):  # >= 3 neurons and finite values, before matching ids
        _check_traces(rec, name=f"recordings[{k}]")
    lengths = [np.shape(r)[0] if not isinstance(r, Recording) else r.n_samples for r in recordings]
    if len(set(lengths)) > 1:
        raise AlignmentError(
            f"the recordings have {describe_values(lengths)} time points; expected the same "
            f"number in every recording (select a common stretch first, e.g. Recording.select)"
        )
    ids = [_unit_ids(r, k) for k, r in enumerate(recordings)]
    if any(i is None for i in ids):
        widths = [np.shape(r)[1] if np.ndim(r) == 2 else None for r in recordings]
        if any(i is not None for i in ids) or len(set(widths)) > 1:
            raise AlignmentError(
                f"recordings without unit ids (arrays) are matched by column, but they have "
                f"{describe_values(widths)} neurons; expected the same number, or Recordings "
                f"whose units table has a unit_id identifying each neuron across animals"
            )
        ids = [np.arange(widths[0])] * len(recordings)
    try:
        union = pd.Index(np.concatenate(ids)).unique().sort_values()
    except TypeError as exc:
        raise AlignmentError(
            f"the recordings' unit_id values cannot be compared ({exc}); expected ids of one "
            f"type (all integers or all strings) identifying the same neuron across animals"
        ) from exc
    n = len(union)
    present = np.zeros((len(recordings), n), dtype=bool)
    positions = []
    for k, rid in enumerate(ids):
        pos = union.get_indexer(rid)
        present[k, pos] = True
        positions.append(pos)
    if len(recordings) > 1:
        for k in range(len(recordings)):
            others = present[np.arange(len(recordings)) != k].any(axis=0)
            shared = int((present[k] & others).sum())
            if shared < 3:
                name = _name(recordings[k], k)
                raise AlignmentError(
                    f"{name} shares {shared} neurons (unit_id) with the other recordings; "
                    f"expected at least 3 in common: are the unit ids the same identities "
                    f"across animals? Its ids start {describe_values(list(ids[k]), 5)}"
                )
    n_pairs = n * (n - 1) // 2
    values = None
    mask = np.zeros((n_pairs, 0, len(recordings)), dtype=bool)
    windows = None
    for k, rec in enumerate(recordings):
        order = np.argsort(positions[k], kind="stable")
        traces = rec.select(units=order) if isinstance(rec, Recording) else np.asarray(rec)[:, order]
        aff = fn(traces, window=window, step=step, max_memory=max_memory, dtype=dtype,
                 progress=progress, **kwargs)
        if values is None:
            windows = aff.windows
            shape = (n_pairs, aff.values.shape[1], len(recordings))
            on_device = not b.is_numpy and return_backend and b.name in ("torch", "cupy")
            if on_device:
                values = b.xp.full(shape, float("nan"), dtype=aff.values.dtype, device=b.device)
            else:
                values = np.full(shape, np.nan, dtype=dtype)
            mask = np.zeros(shape, dtype=bool)
        gpos = positions[k][order]
        i, j = np.triu_indices(gpos.size, 1)
        rows = pair_rows(gpos[i], gpos[j], n)
        if b.is_numpy:
            values[rows, :, k] = aff.values
        elif on_device:  # torch and CuPy index with integer arrays
            values[b.asarray(rows, dtype=np.int64), :, k] = aff.values
        else:
            values[rows, :, k] = b.to_numpy(aff.values)
        mask[rows, :, k] = True
        params = aff.params
    if not b.is_numpy and return_backend and not on_device:
        values = b.asarray(values)
    return AffinityTensor(values, None if mask.all() else mask, np.asarray(union), windows,
                          [_name(r, k) for k, r in enumerate(recordings)], present, method, params)


def _name(rec, k) -> str:
    if isinstance(rec, Recording) and rec.meta.get("name"):
        return str(rec.meta["name"])
    return f"recording {k}"
