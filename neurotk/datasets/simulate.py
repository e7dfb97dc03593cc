"""Simulated recordings with planted ground truth.

Three generators, each deterministic under ``random_state`` and fast at its default size:

- :func:`simulate_calcium_population`: calcium-imaging dF/F traces of the same neurons in
  several animals, with communities of neurons that are co-active during known intervals
  (ground truth for the dynamic functional connectome, :mod:`neurotk.connectome`).
- :func:`simulate_cell_types`: linear-nonlinear model neurons of a few functional types
  responding to smooth-noise images (ground truth for most-discriminative-stimuli
  clustering, :mod:`neurotk.clustering`).
- :func:`simulate_fmri`: 4-D NIfTI runs with a mask, an ROI atlas and a BIDS events
  table, with known voxel-wise responses to each condition (ground truth for the fMRI
  GLM and encoding models).

Each returns a small dataclass holding the data (as :class:`~neurotk.Recording` objects,
and images for fMRI) next to the truth that generated it.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ArgumentError, ShapeMismatchError
from ..recording import Recording
from ..utils import as_rng, atomic_path

__all__ = [
    "CalciumPopulation",
    "CellTypePopulation",
    "FMRISimulation",
    "simulate_calcium_population",
    "simulate_cell_types",
    "simulate_fmri",
]


# --------------------------------------------------------------------------- validation
def _int_arg(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ArgumentError(f"{name}={value!r}; expected an integer >= {minimum}")
    return int(value)


def _float_arg(value, name: str, low: float = 0.0, high: float = np.inf,
               low_open: bool = True, high_open: bool = True) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ArgumentError(f"{name}={value!r}; expected a number in {lo}{low:g}, {high:g}{hi}")
    return float(value)


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], coefficient: float) -> np.ndarray:
    """Stationary unit-variance AR(1) series along axis 0 (all columns at once)."""
    from scipy.signal import lfilter

    noise = rng.standard_normal(shape)
    scale = np.sqrt(1.0 - coefficient**2)
    noise[0] /= scale  # start in the stationary distribution
    return lfilter([scale], [1.0, -coefficient], noise, axis=0)


def _short_repr(obj, fields: dict[str, Any]) -> str:
    inner = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{type(obj).__name__}({inner})"


# =========================================================================== calcium
@dataclass(eq=False, repr=False)
class CalciumPopulation:
    """Calcium traces of several animals with planted, time-varying communities.

    Returned by :func:`simulate_calcium_population`.

    Attributes
    ----------
    recordings : list of Recording
        One per animal: ``(n_timepoints, n_present)`` dF/F; samples columns ``time``
        (s) and ``frame``; units column ``unit_id`` (the neuron's identity, shared
        across animals); meta ``animal``, ``name``, ``sampling_rate`` (Hz),
        ``units_of_measure`` ("dF/F").
    membership : ndarray of int, shape (n_neurons,)
        Community of each neuron (indexed by ``unit_id``), -1 for unaffiliated neurons.
    active : ndarray of bool, shape (n_communities, n_timepoints)
        When each community is active (the same frames in every animal).
    intervals : list of list of (float, float)
        Per community, its active intervals as ``(start_s, stop_s)``; frame ``f`` is
        active when ``start_s <= f / sampling_rate < stop_s``.
    animal_weights : ndarray, shape (n_communities, n_animals)
        Strength of each community in each animal: the fraction of its members'
        log-rate variance that is shared while it is active is
        ``coupling * animal_weights``.
    present : ndarray of bool, shape (n_animals, n_neurons)
        Which neurons were recorded in which animal.
    spikes : ndarray of int, shape (n_animals, n_timepoints, n_neurons)
        The spike counts behind the traces (also for neurons that were not recorded).
    sampling_rate : float
        Frames per second.
    params : dict
        The simulation's parameters.

    Examples
    --------
    >>> from neurotk.datasets import simulate_calcium_population
    >>> sim = simulate_calcium_population(n_neurons=20, n_timepoints=500)
    >>> len(sim.recordings), sim.active.shape
    (3, (3, 500))
    """

    recordings: list
    membership: np.ndarray
    active: np.ndarray
    intervals: list
    animal_weights: np.ndarray
    present: np.ndarray
    spikes: np.ndarray
    sampling_rate: float
    params: dict = field(default_factory=dict)

    @property
    def n_communities(self) -> int:
        """Number of planted communities."""
        return self.active.shape[0]

    @property
    def n_neurons(self) -> int:
        """Number of neurons (identities) across all animals."""
        return self.membership.shape[0]

    @property
    def time(self) -> np.ndarray:
        """Frame times in seconds, shape (n_timepoints,)."""
        return np.arange(self.active.shape[1]) / self.sampling_rate

    def __repr__(self) -> str:
        return _short_repr(self, {
            "n_animals": len(self.recordings), "n_neurons": self.n_neurons,
            "n_timepoints": self.active.shape[1], "n_communities": self.n_communities,
            "sampling_rate": self.sampling_rate,
        })


def _interval_layout(rng, n_timepoints: int, n_communities: int, n_intervals: int,
                     rest_weight: float = 0.6) -> np.ndarray:
    """Boolean (n_communities, n_timepoints): rest, active, rest, active, ..., rest.

    Every community is active once per round (in a random order each round); pieces have
    jittered lengths around their share of the recording.
    """
    order = np.concatenate([rng.permutation(n_communities) for _ in range(n_intervals)])
    n_active = order.size
    weights = np.full(2 * n_active + 1, rest_weight)
    weights[1::2] = 1.0
    weights *= rng.uniform(0.8, 1.2, weights.size)
    edges = np.rint(np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * n_timepoints).astype(int)
    piece = np.repeat(np.arange(weights.size), np.diff(edges))  # piece index of each frame
    active = np.zeros((n_communities, n_timepoints), dtype=bool)
    is_active_piece = piece % 2 == 1
    frames = np.flatnonzero(is_active_piece)
    active[order[(piece[frames] - 1) // 2], frames] = True
    return active


def _intervals_of(active_row: np.ndarray, sampling_rate: float) -> list[tuple[float, float]]:
    padded = np.concatenate([[False], active_row, [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return [(float(a / sampling_rate), float(b / sampling_rate)) for a, b in zip(change[::2], change[1::2])]


def simulate_calcium_population(
    n_neurons: int = 60,
    n_timepoints: int = 2000,
    n_animals: int = 3,
    n_communities: int = 3,
    sampling_rate: float = 5.0,
    missing_fraction: float = 0.0,
    random_state=0,
    *,
    intervals_per_community: int = 2,
    unaffiliated_fraction: float = 0.25,
    coupling: float = 0.9,
    firing_rate: float = 10.0,
    rate_variability: float = 1.2,
    drive_timescale: float = 1.0,
    calcium_tau: float = 1.0,
    spike_amplitude: float = 0.1,
    noise_level: float = 0.05,
) -> CalciumPopulation:
    r"""Simulate calcium-imaging traces of the same neurons in several animals, with
    communities of neurons that switch on and off together.

    Each neuron fires Poisson spike counts per frame at a rate
    :math:`r_i \exp(\sigma z_i(t) - \sigma^2/2)`, where :math:`z_i` is a unit-variance
    Gaussian process (AR(1) with time constant ``drive_timescale``). Outside its
    community's active intervals, and always for unaffiliated neurons, :math:`z_i` is the
    neuron's private process :math:`p_i`; while community :math:`c` is active,
    :math:`z_i = \sqrt{\rho}\, s_c(t) + \sqrt{1-\rho}\, p_i(t)` with a drive :math:`s_c`
    shared by the community's members and :math:`\rho` = ``coupling`` times the animal's
    weight for that community, so members' rates rise and fall together while the
    marginal statistics of every neuron stay the same. Spikes are turned into calcium by
    an exponential kernel (time constant ``calcium_tau``, ``spike_amplitude`` dF/F per
    spike) and Gaussian noise (sd ``noise_level``) is added.

    Communities are disjoint; ``unaffiliated_fraction`` of the neurons belong to none.
    The timeline alternates rest and activity: each community is active in
    ``intervals_per_community`` intervals, one per round in a random order, never two at
    once, and the intervals are the same frames in every animal (as for a shared stimulus
    protocol); each animal has its own weight per community and its own spikes.

    Parameters
    ----------
    n_neurons : int, default 60
        Neuron identities (``unit_id`` 0 .. n_neurons - 1, shared across animals).
    n_timepoints : int, default 2000
        Frames per animal.
    n_animals : int, default 3
    n_communities : int, default 3
    sampling_rate : float, default 5.0
        Frames per second.
    missing_fraction : float, default 0.0
        Fraction of the neurons missing from each animal (chosen at random per animal,
        at most ``n_neurons - 1``); missing neurons are absent from that animal's
        Recording and marked in ``present``.
    random_state : None, int or Generator, default 0
    intervals_per_community : int, default 2
    unaffiliated_fraction : float, default 0.25
        Fraction of neurons in no community.
    coupling : float, default 0.9
        Shared fraction of the log-rate variance for an animal weight of one.
    firing_rate : float, default 10.0
        Mean firing rate in Hz (each neuron's is drawn from 0.5x to 1.5x of it).
    rate_variability : float, default 1.2
        :math:`\sigma`, the standard deviation of the log rate.
    drive_timescale : float, default 1.0
        Time constant of the rate fluctuations in seconds.
    calcium_tau : float, default 1.0
        Decay time constant of the calcium indicator in seconds.
    spike_amplitude : float, default 0.1
        dF/F added by one spike.
    noise_level : float, default 0.05
        Standard deviation of the additive measurement noise (dF/F).

    Returns
    -------
    CalciumPopulation
        ``recordings`` (one per animal) and the ground truth ``membership``,
        ``active``, ``intervals``, ``animal_weights``, ``present`` and ``spikes``.

    Raises
    ------
    ArgumentError
        A count that is not a positive integer, a fraction outside its range, too few
        neurons for two per community, or too few frames for the intervals.

    Examples
    --------
    >>> from neurotk.datasets import simulate_calcium_population
    >>> sim = simulate_calcium_population(n_neurons=40, n_timepoints=1000, random_state=1)
    >>> rec = sim.recordings[0]
    >>> rec.shape, rec.meta["units_of_measure"]
    ((1000, 40), 'dF/F')
    >>> sorted(set(sim.membership.tolist()))
    [-1, 0, 1, 2]
    """
    from scipy.signal import lfilter

    n_neurons = _int_arg(n_neurons, "n_neurons", 2)
    n_timepoints = _int_arg(n_timepoints, "n_timepoints", 2)
    n_animals = _int_arg(n_animals, "n_animals", 1)
    n_communities = _int_arg(n_communities, "n_communities", 1)
    intervals_per_community = _int_arg(intervals_per_community, "intervals_per_community", 1)
    sampling_rate = _float_arg(sampling_rate, "sampling_rate")
    missing_fraction = _float_arg(missing_fraction, "missing_fraction", 0.0, 1.0, low_open=False)
    unaffiliated_fraction = _float_arg(unaffiliated_fraction, "unaffiliated_fraction", 0.0, 1.0, low_open=False)
    coupling = _float_arg(coupling, "coupling", 0.0, 1.0, low_open=False, high_open=False)
    firing_rate = _float_arg(firing_rate, "firing_rate")
    rate_variability = _float_arg(rate_variability, "rate_variability", 0.0, low_open=False)
    drive_timescale = _float_arg(drive_timescale, "drive_timescale")
    calcium_tau = _float_arg(calcium_tau, "calcium_tau")
    spike_amplitude = _float_arg(spike_amplitude, "spike_amplitude")
    noise_level = _float_arg(noise_level, "noise_level", 0.0, low_open=False)

    community_size = int(np.floor(n_neurons * (1.0 - unaffiliated_fraction) / n_communities))
    if community_size < 2:
        raise ArgumentError(
            f"n_neurons={n_neurons} with n_communities={n_communities} and "
            f"unaffiliated_fraction={unaffiliated_fraction:g} leaves {community_size} neurons "
            f"per community; expected at least 2 (use more neurons or fewer communities)"
        )
    n_pieces = 2 * n_communities * intervals_per_community + 1
    if n_timepoints < 4 * n_pieces:
        raise ArgumentError(
            f"n_timepoints={n_timepoints} is too short for {n_communities} communities x "
            f"{intervals_per_community} intervals with rests between them; expected at "
            f"least {4 * n_pieces} frames"
        )

    rng = as_rng(random_state)
    dt = 1.0 / sampling_rate

    # ---- ground truth: who belongs where, when, and how strongly per animal
    labels = np.full(n_neurons, -1)
    labels[: community_size * n_communities] = np.repeat(np.arange(n_communities), community_size)
    membership = rng.permutation(labels)
    active = _interval_layout(rng, n_timepoints, n_communities, intervals_per_community)
    intervals = [_intervals_of(row, sampling_rate) for row in active]
    animal_weights = rng.uniform(0.7, 1.0, size=(n_communities, n_animals))
    n_missing = min(int(round(missing_fraction * n_neurons)), n_neurons - 1)
    present = np.ones((n_animals, n_neurons), dtype=bool)
    if n_missing:
        drop = np.argsort(rng.random((n_animals, n_neurons)), axis=1)[:, :n_missing]
        np.put_along_axis(present, drop, False, axis=1)

    # ---- activity: (animals, time, neurons) at once
    coefficient = float(np.exp(-dt / drive_timescale))
    private = _ar1(rng, (n_timepoints, n_animals * n_neurons), coefficient)
    private = private.reshape(n_timepoints, n_animals, n_neurons).transpose(1, 0, 2)
    shared = _ar1(rng, (n_timepoints, n_animals * n_communities), coefficient)
    shared = shared.reshape(n_timepoints, n_animals, n_communities).transpose(1, 0, 2)

    member = membership >= 0
    community = np.where(member, membership, 0)
    # rho[a, t, i]: shared variance fraction of neuron i at time t in animal a
    rho = coupling * animal_weights.T[:, None, community] * active[community].T[None, :, :]
    rho = rho * member[None, None, :]
    drive = np.sqrt(rho) * shared[:, :, community] + np.sqrt(1.0 - rho) * private

    base_rate = firing_rate * rng.uniform(0.5, 1.5, size=(n_animals, 1, n_neurons))
    rate = base_rate * np.exp(rate_variability * drive - 0.5 * rate_variability**2)
    spikes = rng.poisson(rate * dt)

    decay = float(np.exp(-dt / calcium_tau))
    calcium = lfilter([spike_amplitude], [1.0, -decay], spikes.astype(float), axis=1)
    traces = calcium + noise_level * rng.standard_normal(calcium.shape)

    time = np.arange(n_timepoints) * dt
    samples = pd.DataFrame({"time": time, "frame": np.arange(n_timepoints)})
    recordings = []
    for a in range(n_animals):
        keep = np.flatnonzero(present[a])
        recordings.append(Recording(
            traces[a][:, keep], samples=samples, units={"unit_id": keep},
            meta={
                "name": f"animal-{a}", "animal": a, "sampling_rate": sampling_rate,
                "units_of_measure": "dF/F", "source": "simulate_calcium_population",
            },
            copy=False,
        ))

    params = dict(
        n_neurons=n_neurons, n_timepoints=n_timepoints, n_animals=n_animals,
        n_communities=n_communities, sampling_rate=sampling_rate,
        missing_fraction=missing_fraction, intervals_per_community=intervals_per_community,
        unaffiliated_fraction=unaffiliated_fraction, coupling=coupling,
        firing_rate=firing_rate, rate_variability=rate_variability,
        drive_timescale=drive_timescale, calcium_tau=calcium_tau,
        spike_amplitude=spike_amplitude, noise_level=noise_level,
    )
    return CalciumPopulation(
        recordings=recordings, membership=membership, active=active, intervals=intervals,
        animal_weights=animal_weights, present=present, spikes=spikes,
        sampling_rate=sampling_rate, params=params,
    )


# =========================================================================== cell types
_NONLINEARITIES = ("softplus", "exp")
_NOISES = ("poisson", "gaussian", None)


def _apply_nonlinearity(name: str, drive: np.ndarray) -> np.ndarray:
    if name == "softplus":
        return np.logaddexp(0.0, drive)
    return np.exp(drive)


def _filter_bank(h: int, w: int, x0, y0, theta, sigma, wavelength, phase, polarity, kind) -> np.ndarray:
    """Unit-norm filters, shape (n, h, w): Gabors (kind 0) or centre-surround DoGs (kind 1)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    dx = xx[None] - np.asarray(x0)[:, None, None]
    dy = yy[None] - np.asarray(y0)[:, None, None]
    theta = np.asarray(theta)[:, None, None]
    sigma = np.asarray(sigma)[:, None, None]
    along = dx * np.cos(theta) + dy * np.sin(theta)
    across = -dx * np.sin(theta) + dy * np.cos(theta)
    r2 = along**2 + (across / 1.3) ** 2
    gabor = np.exp(-r2 / (2 * sigma**2)) * np.cos(
        2 * np.pi * along / np.asarray(wavelength)[:, None, None] + np.asarray(phase)[:, None, None]
    )
    d2 = dx**2 + dy**2
    dog = np.exp(-d2 / (2 * sigma**2)) - 0.45 * np.exp(-d2 / (2 * (1.8 * sigma) ** 2))
    bank = np.where(np.asarray(kind)[:, None, None] == 0, gabor, dog) * np.asarray(polarity)[:, None, None]
    bank -= bank.mean(axis=(1, 2), keepdims=True)
    return bank / np.linalg.norm(bank.reshape(len(bank), -1), axis=1)[:, None, None]


@dataclass(eq=False, repr=False)
class CellTypePopulation:
    """Linear-nonlinear model neurons of planted functional types and their responses.

    Returned by :func:`simulate_cell_types`. Neuron ``i`` responds to an image ``s`` with
    the rate ``rate_scale * f(gains[i] * <filters[i], s> + biases[i])``, ``f`` being
    ``nonlinearity``; :meth:`predict` evaluates it for any images.

    Attributes
    ----------
    stimuli : ndarray, shape (n_stimuli, h, w)
        The smooth-noise images shown (unit pixel standard deviation).
    responses : Recording
        ``(n_stimuli, n_neurons)`` noisy responses; samples column ``stimulus``; units
        columns ``unit_id`` and ``type``; meta ``nonlinearity``, ``noise``,
        ``units_of_measure``.
    labels : ndarray of int, shape (n_neurons,)
        Planted type of each neuron.
    type_filters : ndarray, shape (n_types, h, w)
        Each type's filter (unit norm).
    filters : ndarray, shape (n_neurons, h, w)
        Each neuron's filter (unit norm): its type's filter with jittered position,
        orientation, size and phase.
    gains, biases : ndarray, shape (n_neurons,)
    nonlinearity : str
        ``"softplus"`` (``log(1 + e^x)``) or ``"exp"``.
    rate_scale : float
    noise : str or None
    rates : ndarray, shape (n_stimuli, n_neurons)
        Noiseless rates behind ``responses``.
    type_params : DataFrame
        The parameters of each type's filter (kind, centre, orientation, ...).

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> sim = simulate_cell_types(n_neurons=60, n_types=3, n_stimuli=100)
    >>> sim.predict(sim.type_filters).shape
    (3, 60)
    """

    stimuli: np.ndarray
    responses: Recording
    labels: np.ndarray
    type_filters: np.ndarray
    filters: np.ndarray
    gains: np.ndarray
    biases: np.ndarray
    nonlinearity: str
    rate_scale: float
    noise: str | None
    rates: np.ndarray
    type_params: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def n_types(self) -> int:
        """Number of planted types."""
        return self.type_filters.shape[0]

    @property
    def image_shape(self) -> tuple[int, int]:
        """``(h, w)`` of the stimuli and filters."""
        return tuple(self.filters.shape[1:])

    def predict(self, stimuli) -> np.ndarray:
        """Noiseless rates of every neuron to ``stimuli``.

        Parameters
        ----------
        stimuli : array-like, shape (n, h, w) or (h, w)

        Returns
        -------
        rates : ndarray, shape (n, n_neurons)

        Raises
        ------
        ShapeMismatchError
            Images of another size than the filters.

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> sim = simulate_cell_types(n_neurons=12, n_types=2, n_stimuli=10, noise=None)
        >>> bool(abs(sim.predict(sim.stimuli) - sim.responses.data).max() < 1e-9)
        True
        """
        arr = np.asarray(stimuli, dtype=float)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3 or arr.shape[1:] != self.filters.shape[1:]:
            raise ShapeMismatchError(
                f"stimuli has shape {arr.shape}; expected (n, {self.filters.shape[1]}, "
                f"{self.filters.shape[2]}) images of the filters' size"
            )
        projection = arr.reshape(len(arr), -1) @ self.filters.reshape(len(self.filters), -1).T
        return self.rate_scale * _apply_nonlinearity(self.nonlinearity, projection * self.gains + self.biases)

    def __repr__(self) -> str:
        return _short_repr(self, {
            "n_neurons": self.labels.size, "n_types": self.n_types,
            "image_shape": self.image_shape, "n_stimuli": self.stimuli.shape[0],
            "nonlinearity": repr(self.nonlinearity), "noise": repr(self.noise),
        })


def simulate_cell_types(
    n_neurons: int = 400,
    n_types: int = 6,
    image_shape: tuple[int, int] = (20, 20),
    n_stimuli: int = 2000,
    noise: str | None = "poisson",
    random_state=0,
    *,
    nonlinearity: str = "softplus",
    rate_scale: float = 2.0,
    drive_sd: float = 1.5,
    jitter: float = 1.0,
    stimulus_smoothness: float = 1.5,
    noise_level: float = 1.0,
) -> CellTypePopulation:
    r"""Simulate linear-nonlinear neurons of a few planted functional types.

    Each type has a spatially smooth, unit-norm filter: a Gabor (position, orientation,
    wavelength, phase) or a centre-surround difference of Gaussians, with either
    polarity; types are drawn until no two filters have a cosine similarity above 0.35.
    Each neuron's filter is its type's filter re-drawn with small individual changes
    (normal draws clipped at two standard deviations: position by ``0.06 * jitter``
    wavelengths, orientation by ``6 * jitter`` degrees, size by ``6 * jitter`` %, phase
    by ``0.15 * jitter`` rad), so types are distinct but not identical within. Neuron ``i`` fires at the rate

    .. math:: \lambda_i(s) = \text{rate\_scale}\; f\big(g_i \langle w_i, s\rangle + b_i\big)

    with :math:`f` = ``nonlinearity``, gains :math:`g_i` that give the drive a standard
    deviation of about ``drive_sd`` on the stimuli (times a log-normal individual factor)
    and biases :math:`b_i` around a per-type value. Stimuli are white noise smoothed by a
    Gaussian of ``stimulus_smoothness`` pixels, scaled to unit pixel variance. Responses
    are Poisson counts with mean :math:`\lambda`, :math:`\lambda` plus Gaussian noise of
    standard deviation ``noise_level``, or :math:`\lambda` itself (``noise=None``).
    Neurons are listed in a random order of types, and types are balanced (sizes differ
    by at most one).

    Parameters
    ----------
    n_neurons : int, default 400
    n_types : int, default 6
    image_shape : (int, int), default (20, 20)
        ``(h, w)`` of the stimuli and filters, each at least 8 pixels.
    n_stimuli : int, default 2000
    noise : {"poisson", "gaussian", None}, default "poisson"
    random_state : None, int or Generator, default 0
    nonlinearity : {"softplus", "exp"}, default "softplus"
    rate_scale : float, default 2.0
        Multiplies the nonlinearity's output (rates in spikes per presentation): the
        rate at zero drive is ``rate_scale * log(2)`` (softplus) or ``rate_scale`` (exp).
    drive_sd : float, default 1.5
        Typical standard deviation of the drive over the stimuli.
    jitter : float, default 1.0
        Scales the within-type variation of the filters (0: identical filters).
    stimulus_smoothness : float, default 1.5
        Standard deviation, in pixels, of the Gaussian that smooths the stimuli.
    noise_level : float, default 1.0
        Standard deviation of the Gaussian noise (``noise="gaussian"`` only).

    Returns
    -------
    CellTypePopulation
        ``stimuli``, ``responses`` (a Recording) and the ground truth ``labels``,
        ``type_filters``, ``filters``, ``gains``, ``biases``, ``rates`` and a
        :meth:`~CellTypePopulation.predict` method.

    Raises
    ------
    ArgumentError
        Non-positive counts, fewer neurons than types, an image side below 8 pixels, an
        unknown ``noise`` or ``nonlinearity``.

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> sim = simulate_cell_types(n_neurons=120, n_types=4, n_stimuli=500)
    >>> sim.responses.shape, sim.stimuli.shape
    ((500, 120), (500, 20, 20))
    >>> [int(n) for n in np.bincount(sim.labels)]
    [30, 30, 30, 30]
    """
    from scipy.ndimage import gaussian_filter

    n_types = _int_arg(n_types, "n_types", 1)
    n_neurons = _int_arg(n_neurons, "n_neurons", 1)
    if n_neurons < n_types:
        raise ArgumentError(
            f"n_neurons={n_neurons} is smaller than n_types={n_types}; expected at least "
            f"one neuron per type"
        )
    n_stimuli = _int_arg(n_stimuli, "n_stimuli", 1)
    try:
        h, w = (int(v) for v in image_shape)
        valid = len(tuple(image_shape)) == 2 and all(float(v) == int(v) for v in image_shape)
    except (TypeError, ValueError):
        valid = False
    if not valid or min(h, w) < 8:
        raise ArgumentError(f"image_shape={image_shape!r}; expected two integers (h, w), each >= 8")
    if noise not in _NOISES:
        raise ArgumentError(f"noise={noise!r}; expected one of {list(_NOISES)}")
    if nonlinearity not in _NONLINEARITIES:
        raise ArgumentError(f"nonlinearity={nonlinearity!r}; expected one of {list(_NONLINEARITIES)}")
    rate_scale = _float_arg(rate_scale, "rate_scale")
    drive_sd = _float_arg(drive_sd, "drive_sd")
    jitter = _float_arg(jitter, "jitter", 0.0, low_open=False)
    stimulus_smoothness = _float_arg(stimulus_smoothness, "stimulus_smoothness", 0.0, low_open=False)
    noise_level = _float_arg(noise_level, "noise_level", 0.0, low_open=False)

    rng = as_rng(random_state)
    side = min(h, w)

    # ---- type filters: draw candidates in batches, keep those unlike the ones kept
    def draw(n):
        kind = (rng.random(n) < 0.3).astype(int)
        sigma = rng.uniform(0.09, 0.15, n) * side
        return dict(
            kind=kind,
            x0=rng.uniform(0.3, 0.7, n) * (w - 1), y0=rng.uniform(0.3, 0.7, n) * (h - 1),
            theta=rng.uniform(0, np.pi, n), sigma=sigma,
            wavelength=sigma * rng.uniform(2.2, 3.2, n),
            phase=rng.choice([0.0, np.pi / 2], n), polarity=rng.choice([-1.0, 1.0], n),
        )

    chosen = {k: [] for k in ("kind", "x0", "y0", "theta", "sigma", "wavelength", "phase", "polarity")}
    kept = np.empty((0, h * w))
    threshold = 0.35
    for attempt in range(200):
        cand = draw(64)
        bank = _filter_bank(h, w, **cand).reshape(64, -1)
        for j in range(64):
            if len(kept) == n_types:
                break
            if len(kept) == 0 or (kept @ bank[j]).max() < threshold:
                kept = np.vstack([kept, bank[j]])
                for k in chosen:
                    chosen[k].append(cand[k][j])
        if len(kept) == n_types:
            break
        if attempt % 20 == 19:
            threshold += 0.1  # many types on small images: relax the distinctness rule
    type_params = pd.DataFrame({k: np.asarray(v) for k, v in chosen.items()})
    type_params.insert(0, "type", np.arange(n_types))
    type_params["kind"] = np.where(type_params["kind"] == 0, "gabor", "dog")
    type_filters = kept.reshape(n_types, h, w)

    # ---- neurons: balanced labels in random order, jittered copies of their type's filter
    labels = rng.permutation(np.arange(n_neurons) % n_types)
    p = {k: np.asarray(v)[labels] for k, v in chosen.items()}
    def bounded(scale):  # normal jitter clipped at two standard deviations
        return scale * jitter * np.clip(rng.standard_normal(n_neurons), -2.0, 2.0)

    size_factor = np.exp(bounded(0.06))
    shift = p["wavelength"] * 0.06
    filters = _filter_bank(
        h, w,
        x0=p["x0"] + shift * bounded(1.0), y0=p["y0"] + shift * bounded(1.0),
        theta=p["theta"] + bounded(np.deg2rad(6.0)),
        sigma=p["sigma"] * size_factor, wavelength=p["wavelength"] * size_factor,
        phase=p["phase"] + bounded(0.15), polarity=p["polarity"], kind=p["kind"],
    )

    # ---- stimuli with unit pixel variance; gains from the exact projection variance
    delta = np.zeros((h, w))
    delta[h // 2, w // 2] = 1.0
    pixel_sd = np.linalg.norm(gaussian_filter(delta, stimulus_smoothness, mode="wrap"))
    white = rng.standard_normal((n_stimuli, h, w))
    stimuli = gaussian_filter(white, (0, stimulus_smoothness, stimulus_smoothness), mode="wrap") / pixel_sd
    projection_sd = np.linalg.norm(
        gaussian_filter(filters, (0, stimulus_smoothness, stimulus_smoothness), mode="wrap").reshape(n_neurons, -1),
        axis=1,
    ) / pixel_sd
    gains = drive_sd / projection_sd * np.exp(0.2 * rng.standard_normal(n_neurons))
    type_bias = rng.uniform(-1.0, 0.5, n_types)
    biases = type_bias[labels] + 0.25 * rng.standard_normal(n_neurons)

    sim = CellTypePopulation(
        stimuli=stimuli, responses=None, labels=labels, type_filters=type_filters,
        filters=filters, gains=gains, biases=biases, nonlinearity=nonlinearity,
        rate_scale=rate_scale, noise=noise, rates=None, type_params=type_params,
    )
    rates = sim.predict(stimuli)
    if noise == "poisson":
        data = rng.poisson(rates).astype(float)
        unit_of_measure = "spike count"
    elif noise == "gaussian":
        data = rates + noise_level * rng.standard_normal(rates.shape)
        unit_of_measure = "rate"
    else:
        data = rates.copy()
        unit_of_measure = "rate"
    sim.rates = rates
    sim.responses = Recording(
        data, samples={"stimulus": np.arange(n_stimuli)},
        units={"unit_id": np.arange(n_neurons), "type": labels},
        meta={
            "name": "cell-types", "nonlinearity": nonlinearity, "noise": noise,
            "units_of_measure": unit_of_measure, "source": "simulate_cell_types",
        },
        copy=False,
    )
    sim.params = dict(
        n_neurons=n_neurons, n_types=n_types, image_shape=(h, w), n_stimuli=n_stimuli,
        noise=noise, nonlinearity=nonlinearity, rate_scale=rate_scale, drive_sd=drive_sd,
        jitter=jitter, stimulus_smoothness=stimulus_smoothness, noise_level=noise_level,
    )
    return sim


# =========================================================================== fMRI
_CONDITION_NAMES = ("faces", "houses", "tools", "bodies", "words", "scenes", "animals", "scrambled")
_ROI_NAMES = ("occipital_left", "occipital_right", "temporal_left", "temporal_right",
              "parietal_left", "parietal_right", "frontal_left", "frontal_right")


@dataclass(eq=False, repr=False)
class FMRISimulation:
    """Simulated BOLD runs with a mask, an ROI atlas, events and the planted responses.

    Returned by :func:`simulate_fmri`. Voxel values follow
    ``baseline + design @ betas + drift + noise`` with ``design`` from
    :func:`neurotk.signal.event_regressors` (canonical HRF, unit sum).

    Attributes
    ----------
    images : list of nibabel.Nifti1Image
        One 4-D float32 image per run, ``shape + (n_volumes,)``; the header's zooms are
        ``(3, 3, 3, tr)`` (mm, mm, mm, s).
    mask : nibabel.Nifti1Image
        3-D uint8 brain mask (1 inside).
    atlas : nibabel.Nifti1Image
        3-D int16 ROI labels (0 = no ROI).
    atlas_labels : dict of int -> str
        Name of each ROI label.
    events : DataFrame
        BIDS columns ``onset``, ``duration`` (s), ``trial_type``, plus ``run`` (1-based).
    recording : Recording
        The in-mask voxels of all runs, ``(n_runs * n_volumes, n_voxels)``: samples
        columns ``run``, ``volume``, ``time`` (s from the run's start); units columns
        ``unit_id``, ``i``, ``j``, ``k`` (voxel indices) and ``roi`` (name, "" outside
        ROIs).
    betas : ndarray, shape (n_conditions, n_voxels)
        Planted response amplitudes of the in-mask voxels, in image units, in the order
        of ``mask_data[mask_data > 0]`` (C order), the order of ``recording``'s units.
    beta_images : nibabel.Nifti1Image
        The same as a 4-D image ``shape + (n_conditions,)`` (zero outside the mask).
    active : ndarray of bool, shape (n_voxels,)
        In-mask voxels with a planted response.
    active_image : nibabel.Nifti1Image
        ``active`` as a 3-D uint8 image.
    conditions : list of str
        Condition names (``trial_type`` values), the row order of ``betas``.
    tr : float
        Repetition time in seconds.
    baseline : ndarray, shape (n_voxels,)
        Mean signal of each in-mask voxel.
    noise_sd : ndarray, shape (n_voxels,)
        Standard deviation of each in-mask voxel's noise.
    paths : dict
        Files written (``bold``, ``events``: lists per run; ``mask``, ``atlas``,
        ``atlas_labels``), empty without ``path``.

    Examples
    --------
    >>> from neurotk.datasets import simulate_fmri
    >>> sim = simulate_fmri(n_runs=1)
    >>> sim.images[0].shape, sim.betas.shape[0]
    ((12, 12, 6, 150), 4)
    """

    images: list
    mask: Any
    atlas: Any
    atlas_labels: dict
    events: pd.DataFrame
    recording: Recording
    betas: np.ndarray
    beta_images: Any
    active: np.ndarray
    active_image: Any
    conditions: list
    tr: float
    baseline: np.ndarray
    noise_sd: np.ndarray
    paths: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return len(self.images)

    @property
    def mask_data(self) -> np.ndarray:
        """The mask as a boolean 3-D array."""
        return np.asarray(self.mask.dataobj) > 0

    def __repr__(self) -> str:
        return _short_repr(self, {
            "shape": tuple(self.images[0].shape), "n_runs": self.n_runs, "tr": self.tr,
            "conditions": self.conditions, "n_voxels": self.betas.shape[1],
            "n_active": int(self.active.sum()),
        })


def _event_table(rng, n_runs: int, run_seconds: float, conditions: list[str],
                 trials_per_condition: int, duration: float) -> pd.DataFrame:
    """Randomly ordered, jittered trials in equal slots of each run (onsets on a 0.5 s grid)."""
    n_trials = trials_per_condition * len(conditions)
    lead, tail = 4.0, 16.0
    slot = (run_seconds - lead - tail) / n_trials
    if slot < duration + 1.0:
        raise ArgumentError(
            f"a run of {run_seconds:g} s cannot hold {n_trials} trials of {duration:g} s "
            f"with gaps; expected n_volumes * tr >= {lead + tail + n_trials * (duration + 1.0):g} s "
            f"(use more volumes or fewer conditions)"
        )
    codes = np.stack([rng.permutation(np.arange(n_trials) % len(conditions)) for _ in range(n_runs)])
    jitter = rng.uniform(0.0, slot - duration - 1.0, size=(n_runs, n_trials))
    onsets = np.floor((lead + np.arange(n_trials) * slot + jitter) * 2.0) / 2.0
    return pd.DataFrame({
        "onset": onsets.ravel(),
        "duration": np.full(onsets.size, duration),
        "trial_type": np.asarray(conditions, dtype=object)[codes.ravel()],
        "run": np.repeat(np.arange(1, n_runs + 1), n_trials),
    })


def simulate_fmri(
    shape: tuple[int, int, int] = (12, 12, 6),
    n_runs: int = 2,
    n_volumes: int = 150,
    tr: float = 2.0,
    n_conditions: int = 4,
    random_state=0,
    path=None,
    *,
    n_rois: int = 4,
    trials_per_condition: int = 4,
    trial_duration: float = 10.0,
    signal_change: float = 3.0,
    noise_level: float = 1.0,
    ar_coefficient: float = 0.3,
    drift_level: float = 2.0,
    voxel_size: float = 3.0,
) -> FMRISimulation:
    """Simulate 4-D BOLD runs with a planted stimulus-driven response in known voxels.

    Within an ellipsoidal brain mask, ``n_rois`` spherical ROIs are placed at distinct
    positions (named, e.g., ``"occipital_left"``). Every ROI but the last responds: ROI
    ``r`` prefers condition ``r mod n_conditions`` (full ``signal_change`` % of the
    baseline) and responds weakly to the others; each voxel scales its ROI's profile by
    an individual factor. All other voxels, and the last ROI (a control region), do not
    respond. Each in-mask voxel's time series is

    ``baseline + event_regressors(...) @ betas + drift + noise``

    with a baseline of about 1000, a drift made of the first three cosines of the run
    (DCT-II basis, amplitudes ~``drift_level`` % of baseline), and AR(1) noise
    (coefficient ``ar_coefficient``, standard deviation ``noise_level`` % of baseline).
    Voxels outside the mask hold low-level white noise. Each run shows every condition
    ``trials_per_condition`` times for ``trial_duration`` s, in a random order with
    jittered onsets (on a 0.5 s grid).

    Parameters
    ----------
    shape : (int, int, int), default (12, 12, 6)
        Volume size in voxels, each side at least 4.
    n_runs : int, default 2
    n_volumes : int, default 150
        Volumes per run.
    tr : float, default 2.0
        Repetition time in seconds (stored in the header's fourth zoom).
    n_conditions : int, default 4
    random_state : None, int or Generator, default 0
    path : str or Path, optional
        Directory to write ``sub-01_run-<k>_bold.nii.gz``, ``run-<k>_events.tsv``
        (k = 1 .. n_runs), ``mask.nii.gz``, ``atlas.nii.gz`` and ``atlas.tsv`` (columns
        ``index``, ``name``) into; each file is written atomically.
    n_rois : int, default 4
        ROIs in the atlas (at most 8), at least 2.
    trials_per_condition : int, default 4
        Trials of each condition per run.
    trial_duration : float, default 10.0
        Seconds each trial lasts.
    signal_change : float, default 3.0
        Response to the preferred condition, in % of the baseline.
    noise_level : float, default 1.0
        Noise standard deviation in % of the baseline.
    ar_coefficient : float, default 0.3
        Lag-one autocorrelation of the noise, in [0, 1).
    drift_level : float, default 2.0
        Typical drift amplitude in % of the baseline.
    voxel_size : float, default 3.0
        Voxel side in mm.

    Returns
    -------
    FMRISimulation
        ``images``, ``mask``, ``atlas``, ``atlas_labels``, ``events``, ``recording`` and
        the ground truth ``betas``, ``beta_images``, ``active``, ``active_image``,
        ``conditions``, ``tr``; ``paths`` lists the files written.

    Raises
    ------
    ArgumentError
        Bad sizes or counts, a negative level, or runs too short for the trials.

    Examples
    --------
    >>> import tempfile
    >>> from neurotk.datasets import simulate_fmri
    >>> folder = tempfile.TemporaryDirectory()
    >>> sim = simulate_fmri(path=folder.name)
    >>> [float(z) for z in sim.images[0].header.get_zooms()]
    [3.0, 3.0, 3.0, 2.0]
    >>> sorted(sim.events.columns)
    ['duration', 'onset', 'run', 'trial_type']
    >>> [p.name for p in sim.paths["bold"]]
    ['sub-01_run-1_bold.nii.gz', 'sub-01_run-2_bold.nii.gz']
    >>> folder.cleanup()
    """
    import nibabel as nib

    from ..signal import event_regressors

    try:
        shape = tuple(int(v) for v in shape)
        valid = len(shape) == 3 and min(shape) >= 4
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ArgumentError(f"shape={shape!r}; expected three integers (x, y, z), each >= 4")
    n_runs = _int_arg(n_runs, "n_runs", 1)
    n_volumes = _int_arg(n_volumes, "n_volumes", 2)
    tr = _float_arg(tr, "tr")
    n_conditions = _int_arg(n_conditions, "n_conditions", 1)
    n_rois = _int_arg(n_rois, "n_rois", 2)
    if n_rois > len(_ROI_NAMES):
        raise ArgumentError(f"n_rois={n_rois}; expected at most {len(_ROI_NAMES)}")
    trials_per_condition = _int_arg(trials_per_condition, "trials_per_condition", 1)
    trial_duration = _float_arg(trial_duration, "trial_duration", 0.0, low_open=False)
    signal_change = _float_arg(signal_change, "signal_change", 0.0, low_open=False)
    noise_level = _float_arg(noise_level, "noise_level", 0.0, low_open=False)
    ar_coefficient = _float_arg(ar_coefficient, "ar_coefficient", 0.0, 1.0, low_open=False)
    drift_level = _float_arg(drift_level, "drift_level", 0.0, low_open=False)
    voxel_size = _float_arg(voxel_size, "voxel_size")
    if path is not None:
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise ArgumentError(f"path={str(path)!r} is a file; expected a directory to write into")

    rng = as_rng(random_state)
    conditions = [
        _CONDITION_NAMES[c] if n_conditions <= len(_CONDITION_NAMES) else f"condition_{c + 1}"
        for c in range(n_conditions)
    ]

    # ---- anatomy: ellipsoidal mask, spherical ROIs spread over it
    grid = np.stack(np.meshgrid(*[np.arange(n, dtype=float) for n in shape], indexing="ij"), axis=-1)
    centre = (np.asarray(shape) - 1) / 2.0
    radii = np.asarray(shape) / 2.0 - 0.3
    mask3 = (((grid - centre) / radii) ** 2).sum(-1) <= 1.0
    # ROI centres: alternate left/right (x), spread front to back (y), mid-height (z)
    sides = np.where(np.arange(n_rois) % 2 == 0, -1.0, 1.0)
    rows = np.arange(n_rois) // 2
    n_rows = int(np.ceil(n_rois / 2))
    roi_centres = np.stack([
        centre[0] + sides * radii[0] * 0.45,
        centre[1] + (rows - (n_rows - 1) / 2.0) * (radii[1] * 1.2 / max(n_rows, 1)),
        np.full(n_rois, centre[2]),
    ], axis=1)
    roi_radius = max(1.0, min(radii[0] * 0.35, radii[1] * 0.6 / max(n_rows, 1), radii[2] * 0.9))
    distance = np.linalg.norm(grid[..., None, :] - roi_centres, axis=-1)  # (x, y, z, n_rois)
    nearest = distance.argmin(-1)
    atlas3 = np.where((distance.min(-1) <= roi_radius) & mask3, nearest + 1, 0).astype(np.int16)
    atlas_labels = {r + 1: _ROI_NAMES[r] for r in range(n_rois)}

    voxels = np.argwhere(mask3)  # C order, the order of mask3[mask3]
    n_voxels = len(voxels)
    roi_of = atlas3[mask3].astype(int)  # 0 = none

    # ---- planted responses: ROI r prefers condition r mod C; the last ROI is a control
    profile = np.full((n_rois + 1, n_conditions), 0.0)
    responsive = np.arange(1, n_rois)  # labels 1 .. n_rois-1
    weak = rng.uniform(0.1, 0.4, size=(n_rois - 1, n_conditions))
    weak[np.arange(n_rois - 1), np.arange(n_rois - 1) % n_conditions] = 1.0
    profile[responsive] = weak
    active = np.isin(roi_of, responsive)
    baseline = 1000.0 * rng.uniform(0.8, 1.2, n_voxels)
    voxel_gain = rng.uniform(0.7, 1.3, n_voxels)
    betas = (signal_change / 100.0) * baseline * voxel_gain * profile[roi_of].T  # (C, V)
    noise_sd = (noise_level / 100.0) * baseline

    # ---- events, design and data for every run at once
    run_seconds = n_volumes * tr
    events = _event_table(rng, n_runs, run_seconds, conditions, trials_per_condition, trial_duration)
    times = np.arange(n_volumes) * tr
    dct = np.cos(np.pi * np.outer(times / tr + 0.5, np.arange(1, 4)) / n_volumes)  # (T, 3)
    runs = []
    for run in range(1, n_runs + 1):
        ev = events[events["run"] == run]
        design = event_regressors(ev["onset"], ev["duration"], n_volumes, tr,
                                  trial_types=ev["trial_type"], conditions=conditions)
        drift = dct @ (rng.standard_normal((3, n_voxels)) * (drift_level / 100.0) * baseline / np.sqrt(3))
        noise = _ar1(rng, (n_volumes, n_voxels), ar_coefficient) * noise_sd
        runs.append(baseline + design @ betas + drift + noise)

    affine = np.diag([voxel_size] * 3 + [1.0])
    affine[:3, 3] = -voxel_size * centre

    def image(data, dtype, zooms=None, units=True):
        img = nib.Nifti1Image(np.asarray(data, dtype=dtype), affine)
        img.header.set_data_dtype(dtype)
        if zooms is not None:
            img.header.set_zooms(zooms)
        if units:
            img.header.set_xyzt_units("mm", "sec")
        img.set_qform(affine, code=1)
        img.set_sform(affine, code=1)
        return img

    outside = ~mask3
    images = []
    for series in runs:
        volume = np.zeros(shape + (n_volumes,), dtype=np.float32)
        volume[mask3] = series.T
        volume[outside] = 20.0 + 2.0 * rng.standard_normal((int(outside.sum()), n_volumes))
        images.append(image(volume, np.float32, zooms=(voxel_size,) * 3 + (tr,)))
    mask_img = image(mask3, np.uint8)
    atlas_img = image(atlas3, np.int16)
    beta_volume = np.zeros(shape + (n_conditions,), dtype=np.float32)
    beta_volume[mask3] = betas.T
    beta_img = image(beta_volume, np.float32)
    active_volume = np.zeros(shape, dtype=np.uint8)
    active_volume[mask3] = active
    active_img = image(active_volume, np.uint8)

    names = np.asarray([""] + [atlas_labels[r] for r in range(1, n_rois + 1)], dtype=object)
    recording = Recording(
        np.concatenate(runs, axis=0),
        samples={
            "run": np.repeat(np.arange(1, n_runs + 1), n_volumes),
            "volume": np.tile(np.arange(n_volumes), n_runs),
            "time": np.tile(times, n_runs),
        },
        units={"unit_id": np.arange(n_voxels), "i": voxels[:, 0], "j": voxels[:, 1],
               "k": voxels[:, 2], "roi": names[roi_of]},
        meta={"name": "sub-01", "subject": "01", "tr": tr, "units_of_measure": "BOLD (a.u.)",
              "conditions": list(conditions), "source": "simulate_fmri"},
        copy=False,
    )

    paths: dict = {}
    if path is not None:
        paths = {"bold": [], "events": []}
        for run, img in enumerate(images, start=1):
            target = path / f"sub-01_run-{run}_bold.nii.gz"
            with atomic_path(target) as tmp:
                nib.save(img, tmp)
            paths["bold"].append(target)
            target = path / f"run-{run}_events.tsv"
            table = events.loc[events["run"] == run, ["onset", "duration", "trial_type"]]
            with atomic_path(target) as tmp:
                table.to_csv(tmp, sep="\t", index=False, float_format="%.3f")
            paths["events"].append(target)
        for key, img in (("mask", mask_img), ("atlas", atlas_img)):
            target = path / f"{key}.nii.gz"
            with atomic_path(target) as tmp:
                nib.save(img, tmp)
            paths[key] = target
        target = path / "atlas.tsv"
        with atomic_path(target) as tmp:
            pd.DataFrame({"index": list(atlas_labels), "name": list(atlas_labels.values())}).to_csv(
                tmp, sep="\t", index=False
            )
        paths["atlas_labels"] = target

    params = dict(
        shape=shape, n_runs=n_runs, n_volumes=n_volumes, tr=tr, n_conditions=n_conditions,
        n_rois=n_rois, trials_per_condition=trials_per_condition,
        trial_duration=trial_duration, signal_change=signal_change, noise_level=noise_level,
        ar_coefficient=ar_coefficient, drift_level=drift_level, voxel_size=voxel_size,
    )
    return FMRISimulation(
        images=images, mask=mask_img, atlas=atlas_img, atlas_labels=atlas_labels,
        events=events, recording=recording, betas=betas, beta_images=beta_img,
        active=active, active_image=active_img, conditions=list(conditions), tr=tr,
        baseline=baseline, noise_sd=noise_sd, paths=paths, params=params,
    )
