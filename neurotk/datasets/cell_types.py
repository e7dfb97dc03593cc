"""Simulated linear-nonlinear neurons of a few planted functional cell types.

:func:`simulate_cell_types` gives model neurons of a few functional types responding to
smooth-noise images: the ground truth for most-discriminative-stimuli clustering
(:mod:`neurotk.clustering`). It is deterministic under ``random_state`` and fast at its
default size; the returned :class:`CellTypePopulation` holds the responses (a
:class:`~neurotk.Recording`) next to the filters, gains and biases that generated them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_choice, check_float, check_images, check_int
from ..errors import ArgumentError
from ..recording import Recording
from ..utils import as_rng
from ._simulation import summary_repr

__all__ = ["CellTypePopulation", "simulate_cell_types"]

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


def _mean_similarity(unit: np.ndarray) -> float:
    """Mean off-diagonal cosine similarity of the rows of ``unit`` (unit-norm rows)."""
    n = unit.shape[0]
    gram = unit @ unit.T
    return float((gram.sum() - np.trace(gram)) / (n * (n - 1)))


def _blend_types(type_filters: np.ndarray, filters: np.ndarray, target: float):
    """Type and neuron filters moved toward the types' common pattern (see ``type_similarity``)."""
    from scipy.optimize import brentq

    n_types, h, w = type_filters.shape
    t = type_filters.reshape(n_types, -1)
    common = t.sum(axis=0)
    size = np.linalg.norm(common)
    common = common / size if size > 1e-8 else t[0]  # types that cancel out: use the first

    def blend(rows, a):
        out = rows + a * common
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    if _mean_similarity(t) >= target:
        return type_filters, filters
    hi = 1.0
    while _mean_similarity(blend(t, hi)) < target:  # similarity -> 1 as a grows
        hi *= 2.0
    a = brentq(lambda v: _mean_similarity(blend(t, v)) - target, 0.0, hi, xtol=1e-12)
    return blend(t, a).reshape(n_types, h, w), blend(filters.reshape(len(filters), -1), a).reshape(filters.shape)


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
        NonFiniteDataError
            NaN or infinite pixels.

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> sim = simulate_cell_types(n_neurons=12, n_types=2, n_stimuli=10, noise=None)
        >>> bool(abs(sim.predict(sim.stimuli) - sim.responses.data).max() < 1e-9)
        True
        """
        arr = check_images(stimuli, "stimuli", image_shape=self.image_shape)
        projection = arr.reshape(len(arr), -1) @ self.filters.reshape(len(self.filters), -1).T
        return self.rate_scale * _apply_nonlinearity(self.nonlinearity, projection * self.gains + self.biases)

    def __repr__(self) -> str:
        return summary_repr(self, {
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
    position_jitter: float | None = None,
    gain_spread: float = 0.2,
    type_similarity: float | None = None,
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
    position_jitter : float, optional
        Standard deviation, in pixels, of each neuron's receptive-field shift from its
        type's position (each of x and y; normal draws clipped at two standard
        deviations). Default: ``0.06 * jitter`` wavelengths of the type's filter, about
        0.4 pixels at the default size. Larger values make a type's neurons see
        different parts of the image, which one stimulus per type cannot all drive.
    gain_spread : float, default 0.2
        Standard deviation of the log of each neuron's individual gain factor (the
        log-normal factor above): how much neurons of one type differ in how strongly
        the drive moves them.
    type_similarity : float in [0, 1), optional
        Make the types alike: the mean pairwise cosine similarity of the type filters.
        The types are drawn as above, then every filter (the types' and the neurons')
        is moved toward the types' common pattern ``c`` (their mean, scaled to unit
        norm), ``w <- (w + a c) / ||w + a c||``, with the one ``a >= 0`` that brings the
        type filters' mean pairwise similarity to ``type_similarity`` (no change if they
        are that similar already). Default: no blending (types stay as drawn, no two
        above 0.35).

    The three regime options draw no extra random numbers: for one ``random_state``
    the stimuli, labels and all other draws are those of the default regime, and with
    the defaults the output is identical to earlier releases.

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

    n_types = check_int(n_types, "n_types", 1)
    n_neurons = check_int(n_neurons, "n_neurons", 1)
    if n_neurons < n_types:
        raise ArgumentError(
            f"n_neurons={n_neurons} is smaller than n_types={n_types}; expected at least "
            f"one neuron per type"
        )
    n_stimuli = check_int(n_stimuli, "n_stimuli", 1)
    try:
        h, w = (int(v) for v in image_shape)
        valid = len(tuple(image_shape)) == 2 and all(float(v) == int(v) for v in image_shape)
    except (TypeError, ValueError):
        valid = False
    if not valid or min(h, w) < 8:
        raise ArgumentError(f"image_shape={image_shape!r}; expected two integers (h, w), each >= 8")
    check_choice(noise, "noise", _NOISES)
    check_choice(nonlinearity, "nonlinearity", _NONLINEARITIES)
    rate_scale = check_float(rate_scale, "rate_scale", low=0, low_open=True)
    drive_sd = check_float(drive_sd, "drive_sd", low=0, low_open=True)
    jitter = check_float(jitter, "jitter", low=0)
    stimulus_smoothness = check_float(stimulus_smoothness, "stimulus_smoothness", low=0)
    noise_level = check_float(noise_level, "noise_level", low=0)
    position_jitter = check_float(position_jitter, "position_jitter", low=0, unit="pixels", allow_none=True)
    gain_spread = check_float(gain_spread, "gain_spread", low=0)
    type_similarity = check_float(type_similarity, "type_similarity", low=0, high=1, high_open=True,
                                  allow_none=True)

    rng = as_rng(random_state)
    side = min(h, w)

    # ---- type filters: draw candidates in batches, keep those unlike the ones kept
    def draw(n):
        kind = (rng.random(n) < 0.3).astype(int)
        sigma = rng.uniform(0.09, 0.15, n) * side
        return {
            "kind": kind,
            "x0": rng.uniform(0.3, 0.7, n) * (w - 1), "y0": rng.uniform(0.3, 0.7, n) * (h - 1),
            "theta": rng.uniform(0, np.pi, n), "sigma": sigma,
            "wavelength": sigma * rng.uniform(2.2, 3.2, n),
            "phase": rng.choice([0.0, np.pi / 2], n), "polarity": rng.choice([-1.0, 1.0], n),
        }

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
                for k, values in chosen.items():
                    values.append(cand[k][j])
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
    if position_jitter is None:
        shift = p["wavelength"] * 0.06
        x0, y0 = p["x0"] + shift * bounded(1.0), p["y0"] + shift * bounded(1.0)
    else:  # the same draws, another scale: shifts in pixels
        x0 = p["x0"] + position_jitter * np.clip(rng.standard_normal(n_neurons), -2.0, 2.0)
        y0 = p["y0"] + position_jitter * np.clip(rng.standard_normal(n_neurons), -2.0, 2.0)
    filters = _filter_bank(
        h, w,
        x0=x0, y0=y0,
        theta=p["theta"] + bounded(np.deg2rad(6.0)),
        sigma=p["sigma"] * size_factor, wavelength=p["wavelength"] * size_factor,
        phase=p["phase"] + bounded(0.15), polarity=p["polarity"], kind=p["kind"],
    )
    if type_similarity is not None and n_types > 1:
        type_filters, filters = _blend_types(type_filters, filters, type_similarity)

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
    gains = drive_sd / projection_sd * np.exp(gain_spread * rng.standard_normal(n_neurons))
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
    sim.params = {
        "n_neurons": n_neurons, "n_types": n_types, "image_shape": (h, w), "n_stimuli": n_stimuli,
        "noise": noise, "nonlinearity": nonlinearity, "rate_scale": rate_scale, "drive_sd": drive_sd,
        "jitter": jitter, "stimulus_smoothness": stimulus_smoothness, "noise_level": noise_level,
        "position_jitter": position_jitter, "gain_spread": gain_spread, "type_similarity": type_similarity,
    }
    return sim

