"""Simulated calcium imaging of several animals with planted, time-varying communities.

:func:`simulate_calcium_population` gives dF/F traces of the same neurons in several
animals, with communities of neurons that are co-active during known intervals: the
ground truth for the dynamic functional connectome (:mod:`neurotk.connectome`). It is
deterministic under ``random_state`` and fast at its default size; the returned
:class:`CalciumPopulation` holds the Recordings next to the truth that generated them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_float, check_int
from ..errors import ArgumentError
from ..recording import Recording
from ..utils import as_rng
from ._simulation import ar1_noise, summary_repr

__all__ = ["CalciumPopulation", "simulate_calcium_population"]


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
        return summary_repr(self, {
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

    n_neurons = check_int(n_neurons, "n_neurons", 2)
    n_timepoints = check_int(n_timepoints, "n_timepoints", 2)
    n_animals = check_int(n_animals, "n_animals", 1)
    n_communities = check_int(n_communities, "n_communities", 1)
    intervals_per_community = check_int(intervals_per_community, "intervals_per_community", 1)
    sampling_rate = check_float(sampling_rate, "sampling_rate", low=0, low_open=True)
    missing_fraction = check_float(missing_fraction, "missing_fraction", low=0, high=1, high_open=True)
    unaffiliated_fraction = check_float(unaffiliated_fraction, "unaffiliated_fraction", low=0, high=1, high_open=True)
    coupling = check_float(coupling, "coupling", low=0, high=1)
    firing_rate = check_float(firing_rate, "firing_rate", low=0, low_open=True)
    rate_variability = check_float(rate_variability, "rate_variability", low=0)
    drive_timescale = check_float(drive_timescale, "drive_timescale", low=0, low_open=True, unit="seconds")
    calcium_tau = check_float(calcium_tau, "calcium_tau", low=0, low_open=True, unit="seconds")
    spike_amplitude = check_float(spike_amplitude, "spike_amplitude", low=0, low_open=True)
    noise_level = check_float(noise_level, "noise_level", low=0)

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
    private = ar1_noise(rng, (n_timepoints, n_animals * n_neurons), coefficient)
    private = private.reshape(n_timepoints, n_animals, n_neurons).transpose(1, 0, 2)
    shared = ar1_noise(rng, (n_timepoints, n_animals * n_communities), coefficient)
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

