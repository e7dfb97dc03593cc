"""Simulated spike counts of a visual hierarchy (V1 -> V4 -> IT) viewing digit images.

:func:`simulate_visual_hierarchy` models areas of increasing abstraction responding to
the 8 x 8 digit images of scikit-learn's bundled ``load_digits`` (the images the bundled
:func:`~neurotk.datasets.digits_network` is trained on, so brain and network can be
compared on the very same stimuli):

* the first area (``"V1"``) is Gabor-energy complex cells (quadrature pairs at several
  orientations, wavelengths and positions) and rectified-Gabor simple cells;
* intermediate areas (``"V4"``) are rectified, squared conjunctions of V1 energies
  pooled over quadrants of the image, with a share of category units growing with rank;
* the last area (``"IT"``) reads out the evidence for each digit class, so it is driven
  mainly by class with within-class variation in typicality.

Responses are Poisson spike counts in a presentation window, with repeats; the noiseless
expected counts are returned as ground truth.
"""

from __future__ import annotations

import functools
import numbers
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from .._validation import check_float, check_int
from ..errors import ArgumentError, ShapeMismatchError
from ..recording import Recording
from ..utils import as_rng
from .digits import IMAGE_SIDE, PIXEL_MAX, check_digit_images, digits_split

__all__ = ["VisualHierarchy", "simulate_visual_hierarchy"]

_ORIENTATIONS = np.deg2rad([0.0, 45.0, 90.0, 135.0])
_WAVELENGTHS = np.array([2.5, 4.0])  # pixels per cycle
_CENTRES = np.arange(1.0, 7.0)  # a 6 x 6 grid of receptive-field centres (pixels)
_SIGMA = 0.3  # envelope width in wavelengths
_SIMPLE_FRACTION = 0.6  # share of V1 units that are phase-sensitive simple cells
_LDA_SHRINKAGE = 0.2
_BASELINE_HZ = (2.0, 8.0)  # spontaneous rate range
_GAIN_HZ = 60.0  # typical rate added by a full-strength drive
_V1_EXPONENT = 1.0
_CATEGORY_SHARPNESS = 1.5  # softmax sharpness of IT's class belief (0 would be linear in the evidence)
_CATEGORY_UNITS_PER_LEVEL = 0.4  # share of category units in an intermediate area, per level


# --------------------------------------------------------------------------- features
@functools.lru_cache(maxsize=1)
def _gabor_bank():
    """Quadrature Gabor pairs, each (n_filters, 64) with unit norm; the even ones zero-mean."""
    ori, wl, cy, cx = np.meshgrid(_ORIENTATIONS, _WAVELENGTHS, _CENTRES, _CENTRES, indexing="ij")
    ori, wl, cy, cx = (a.ravel()[:, None, None] for a in (ori, wl, cy, cx))
    yy, xx = np.mgrid[0:IMAGE_SIDE, 0:IMAGE_SIDE].astype(float)
    u = (xx - cx) * np.cos(ori) + (yy - cy) * np.sin(ori)
    v = -(xx - cx) * np.sin(ori) + (yy - cy) * np.cos(ori)
    sigma = _SIGMA * wl
    envelope = np.exp(-(u**2 + (0.8 * v) ** 2) / (2 * sigma**2))
    even = envelope * np.cos(2 * np.pi * u / wl)
    odd = envelope * np.sin(2 * np.pi * u / wl)
    even = even - (even.sum(axis=(1, 2), keepdims=True) / envelope.sum(axis=(1, 2), keepdims=True)) * envelope
    n = len(even)
    even = even.reshape(n, -1)
    odd = odd.reshape(n, -1)
    even /= np.linalg.norm(even, axis=1, keepdims=True)
    odd /= np.linalg.norm(odd, axis=1, keepdims=True)
    return even, odd


def _v1_features(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Complex-cell energies (n, n_filters) and simple-cell responses (n, 4 * n_filters).

    Energy is the amplitude of the quadrature pair; simple cells are the four
    half-wave rectified phases (+even, -even, +odd, -odd) of each filter.
    """
    even, odd = _gabor_bank()
    e, o = flat @ even.T, flat @ odd.T
    energy = np.sqrt(e**2 + o**2)
    simple = np.maximum(np.concatenate([e, -e, o, -o], axis=1), 0.0)
    return energy, simple


def _pool(energy: np.ndarray) -> np.ndarray:
    """Max of energies over overlapping neighbourhoods covering each quadrant of the grid.

    Returns (n, n_orientations * n_wavelengths * 4): each feature is one orientation
    and wavelength, pooled over about half the image in each direction.
    """
    n, g = energy.shape[0], len(_CENTRES)
    width = g // 2 + 1
    stride = g - width
    grid = energy.reshape(n, -1, g, g)
    pooled = np.stack(
        [grid[:, :, y : y + width, x : x + width].max(axis=(2, 3)) for y in (0, stride) for x in (0, stride)],
        axis=-1,
    )
    return pooled.reshape(n, -1)


@functools.lru_cache(maxsize=1)
def _reference():
    """Statistics of the whole digits set that fix the scale of every model feature."""
    images, labels, _, _ = digits_split()
    flat = images.reshape(len(images), -1) / PIXEL_MAX
    energy, simple = _v1_features(flat)
    pooled = _pool(energy)
    means = np.stack([flat[labels == k].mean(axis=0) for k in range(10)])
    residual = flat - means[labels]
    cov = residual.T @ residual / len(flat)
    cov += _LDA_SHRINKAGE * np.trace(cov) / cov.shape[0] * np.eye(cov.shape[0])
    inv = np.linalg.inv(cov)
    lda_w = inv @ means.T
    lda_b = -0.5 * np.einsum("ij,jk,ik->i", means, inv, means)
    evidence = flat @ lda_w + lda_b
    evidence -= evidence.mean(axis=1, keepdims=True)
    return {
        "energy": energy,
        "energy_ref": np.percentile(energy, 99, axis=0),
        "simple_ref": np.maximum(np.percentile(simple, 99, axis=0), 1e-6),
        "pooled": pooled,
        "pooled_ref": np.percentile(pooled, 99, axis=0),
        "class_means": means,
        "lda_w": lda_w,
        "lda_b": lda_b,
        "evidence_sd": evidence.std(),
    }


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, repr=False)
class VisualHierarchy:
    """Simulated responses of a visual hierarchy, with the ground truth that made them.

    Attributes
    ----------
    recording : Recording
        Spike counts, one sample per presentation (stimulus x repeat, repeat-major) with
        samples columns ``stimulus``, ``category`` and ``repeat``; units columns
        ``unit_id`` (unique across areas), ``area``, ``source`` ("brain") and ``level``
        (0 for the first area .. 1 for the last); ``meta`` has ``name``,
        ``units_of_measure`` ("spike count"), ``window_s`` and ``areas``.
    images : ndarray, shape (n_stimuli, 8, 8)
        The stimuli (0..16 scale); row ``i`` is stimulus id ``stimulus_ids[i]``.
    stimulus_ids : ndarray of int, shape (n_stimuli,)
    categories : ndarray of int, shape (n_stimuli,)
        Digit class of each stimulus.
    areas : tuple of str
        Area names in hierarchy order, early -> late.
    rates : ndarray, shape (n_stimuli, n_units)
        Noiseless expected spike counts per window (the Poisson means), columns in the
        order of ``recording.units``.
    window : float
        Counting window (s); ``rates / window`` are firing rates in Hz.
    digit_index : ndarray of int or None
        Index of each stimulus in ``sklearn.datasets.load_digits()`` (None for
        caller-supplied images).

    Examples
    --------
    >>> from neurotk.datasets import simulate_visual_hierarchy
    >>> sim = simulate_visual_hierarchy(random_state=0)
    >>> sim.areas
    ('V1', 'V4', 'IT')
    >>> sim.area("IT").average("stimulus").shape
    (100, 48)
    """

    recording: Recording
    images: np.ndarray
    stimulus_ids: np.ndarray
    categories: np.ndarray
    areas: tuple
    rates: np.ndarray
    window: float
    digit_index: np.ndarray | None = None
    random_state: object = field(default=None)

    def area(self, name: str) -> Recording:
        """The Recording of one area's units.

        Examples
        --------
        >>> from neurotk.datasets import simulate_visual_hierarchy
        >>> simulate_visual_hierarchy(n_units_per_area=10).area("V1").n_units
        10
        """
        if name not in self.areas:
            raise ArgumentError(f"area {name!r} is not simulated; expected one of {list(self.areas)}")
        return self.recording.select(units={"area": name})

    def area_rates(self, name: str) -> np.ndarray:
        """Noiseless expected counts of one area's units, shape (n_stimuli, n_units_area).

        Examples
        --------
        >>> from neurotk.datasets import simulate_visual_hierarchy
        >>> simulate_visual_hierarchy(n_units_per_area=10).area_rates("IT").shape
        (100, 10)
        """
        if name not in self.areas:
            raise ArgumentError(f"area {name!r} is not simulated; expected one of {list(self.areas)}")
        return self.rates[:, self.recording.units["area"].to_numpy() == name]

    def __repr__(self) -> str:
        counts = self.recording.units["area"].value_counts()
        per_area = ", ".join(f"{a}: {counts.get(a, 0)}" for a in self.areas)
        n_rep = self.recording.n_samples // len(self.stimulus_ids)
        return (f"VisualHierarchy: {len(self.stimulus_ids)} stimuli x {n_rep} repeats, "
                f"units per area ({per_area}), window {self.window} s")


# --------------------------------------------------------------------------- checks
def _check_areas(areas) -> tuple:
    if isinstance(areas, str) or not isinstance(areas, Sequence):
        raise ArgumentError(f"areas={areas!r}; expected a sequence of area names such as ('V1', 'V4', 'IT')")
    areas = tuple(areas)
    if not areas:
        raise ArgumentError("areas is empty; expected at least one area name")
    if not all(isinstance(a, str) and a for a in areas):
        raise ArgumentError(f"areas={areas!r}; expected non-empty strings")
    if len(set(areas)) != len(areas):
        raise ArgumentError(f"areas={areas!r} repeats a name; expected unique area names")
    return areas


def _check_units(n_units_per_area, n_areas: int) -> np.ndarray:
    if isinstance(n_units_per_area, numbers.Integral) and not isinstance(n_units_per_area, bool):
        return np.full(n_areas, check_int(n_units_per_area, "n_units_per_area"))
    if isinstance(n_units_per_area, Sequence) and not isinstance(n_units_per_area, str):
        if len(n_units_per_area) != n_areas:
            raise ShapeMismatchError(
                f"n_units_per_area has {len(n_units_per_area)} values for {n_areas} areas; "
                f"expected one integer or one per area"
            )
        return np.array([check_int(v, "n_units_per_area") for v in n_units_per_area])
    raise ArgumentError(f"n_units_per_area={n_units_per_area!r}; expected a positive integer or one per area")


def _choose_digits(n_stimuli: int, rng: np.random.Generator):
    """Balanced draw from the digits, held-out images first (never seen in training)."""
    images, labels, _, test = digits_split()
    if n_stimuli > len(labels):
        raise ArgumentError(
            f"n_stimuli={n_stimuli}; expected at most {len(labels)}, the number of images in "
            f"sklearn's digits (or pass your own images)"
        )
    per_class = np.full(10, n_stimuli // 10) + (np.arange(10) < n_stimuli % 10)
    held_out = np.zeros(len(labels), dtype=bool)
    held_out[test] = True
    # order every image by (class, training-or-not, random key): then take the first k per class
    order = np.lexsort((rng.random(len(labels)), ~held_out, labels))
    sorted_labels = labels[order]
    rank = np.arange(len(labels)) - np.searchsorted(sorted_labels, sorted_labels)
    available = np.bincount(labels, minlength=10)
    if (per_class > available).any():
        k = int(np.argmax(per_class > available))
        raise ArgumentError(
            f"n_stimuli={n_stimuli} needs {per_class[k]} images of digit {k} but the digits "
            f"have {available[k]}; expected fewer stimuli"
        )
    chosen = order[rank < per_class[sorted_labels]]
    return images[chosen], labels[chosen], chosen


def _nearest_class(flat: np.ndarray) -> np.ndarray:
    means = _reference()["class_means"]
    d = (flat**2).sum(1)[:, None] - 2 * flat @ means.T + (means**2).sum(1)[None]
    return d.argmin(axis=1)


# --------------------------------------------------------------------------- models
def _v1_drive(flat, n_units, rng):
    """Gabor-energy (complex) and rectified-Gabor (simple) units, expansive output."""
    ref = _reference()
    energy, simple = _v1_features(flat)
    energy = energy / ref["energy_ref"]
    simple = simple / ref["simple_ref"]
    n_simple = int(round(_SIMPLE_FRACTION * n_units))
    n_complex = n_units - n_simple
    which_c = rng.choice(energy.shape[1], size=n_complex, replace=n_complex > energy.shape[1])
    which_s = rng.choice(simple.shape[1], size=n_simple, replace=n_simple > simple.shape[1])
    drive = np.concatenate([energy[:, which_c], simple[:, which_s]], axis=1)
    return np.clip(drive, 0, None) ** _V1_EXPONENT


def _conjunction_drive(flat, n_units, rng):
    """Rectified, squared conjunctions of three position-pooled V1 energies (two + one -)."""
    ref = _reference()
    n_feat = ref["pooled"].shape[1]
    k = 3
    picks = np.argsort(rng.random((n_units, n_feat)), axis=1)[:, :k]  # k distinct features per unit
    signs = np.array([1.0, 1.0, -0.6])
    weights = np.zeros((n_feat, n_units))
    weights[picks.T, np.arange(n_units)] = signs[:, None] * rng.uniform(0.6, 1.0, size=(k, n_units))
    ref_lin = (ref["pooled"] / ref["pooled_ref"]) @ weights
    theta = np.percentile(ref_lin, 40, axis=0)
    lin = (_pool(_v1_features(flat)[0]) / ref["pooled_ref"]) @ weights
    drive = np.maximum(lin - theta, 0) ** 2
    scale = np.percentile(np.maximum(ref_lin - theta, 0) ** 2, 99, axis=0)
    return drive / np.where(scale > 0, scale, 1.0)


def _category_drive(flat, n_units, rng):
    """Rectified random read-outs of a sharpened belief about the digit class.

    The evidence is the linear discriminant score of each class (shrinkage LDA fitted on
    all of sklearn's digits); a softmax with sharpness ``_CATEGORY_SHARPNESS`` turns it
    into a graded belief, so responses are dominated by class (a non-linear function of
    the pixels, as IT's invariance is) and vary within a class with how typical an image
    is and which other digits it resembles.
    """
    ref = _reference()
    evidence = flat @ ref["lda_w"] + ref["lda_b"]
    evidence = (evidence - evidence.mean(axis=1, keepdims=True)) / ref["evidence_sd"]
    belief = np.exp(_CATEGORY_SHARPNESS * (evidence - evidence.max(axis=1, keepdims=True)))
    belief /= belief.sum(axis=1, keepdims=True)
    w = rng.standard_normal((10, n_units)) / np.sqrt(10)
    drive = np.maximum((belief - 0.1) * np.sqrt(10) @ w + 0.5, 0)
    return drive / 2.0


def _area_drive(level: float, flat, n_units, rng):
    if level == 0.0:
        return _v1_drive(flat, n_units, rng)
    if level == 1.0:
        return _category_drive(flat, n_units, rng)
    n_category = int(round(_CATEGORY_UNITS_PER_LEVEL * level * n_units))
    shape = _conjunction_drive(flat, n_units - n_category, rng)
    category = _category_drive(flat, n_category, rng)
    return np.concatenate([shape, category], axis=1)


# --------------------------------------------------------------------------- simulator
def simulate_visual_hierarchy(
    n_stimuli: int | None = None,
    n_repeats: int = 4,
    n_units_per_area=48,
    areas: Sequence[str] = ("V1", "V4", "IT"),
    images=None,
    categories=None,
    window: float = 0.25,
    random_state=0,
) -> VisualHierarchy:
    """Poisson spike counts of visual areas of increasing abstraction viewing digits.

    Area ``i`` of ``k`` sits at level ``i / (k - 1)`` of the hierarchy: level 0 is
    V1-like, Gabor-energy complex cells (quadrature pairs at 4 orientations, 2
    wavelengths and 6 x 6 positions) and, as in real V1, a share (60 %) of
    phase-sensitive simple cells (half-wave rectified single Gabors); level 1 is IT-like,
    rectified random read-outs of a sharpened (softmax) belief about the digit class
    from linear discriminant evidence (dominated by class and non-linear in the pixels,
    varying within a class with typicality and resemblance to other digits); levels in between are V4-like: rectified, squared conjunctions of V1
    energies pooled over quadrants of the image, plus a share of category units that
    grows with the level (20 % at level 0.5). Each unit adds its own baseline (2..8 Hz)
    and gain (about 60 Hz); counts in a ``window`` are Poisson with these means,
    independently per presentation.

    By default the stimuli are a class-balanced random draw from
    ``sklearn.datasets.load_digits()``, held-out images of
    :func:`~neurotk.datasets.digits.digits_split` first, so the bundled
    :func:`~neurotk.datasets.digits_network` sees the same images without having been
    trained on them.

    Parameters
    ----------
    n_stimuli : int, optional
        Number of stimuli (default 100, or ``len(images)``), balanced over the 10 digits.
    n_repeats : int, default 4
        Presentations of each stimulus.
    n_units_per_area : int or sequence of int, default 48
        Units per area (one value, or one per area).
    areas : sequence of str, default ("V1", "V4", "IT")
        Area names in hierarchy order, early -> late.
    images : array-like, shape (n, 8, 8) or (n, 64), optional
        Your own stimuli on the digits' 0..16 scale instead of the default draw.
    categories : array-like of int, shape (n,), optional
        Digit class (0..9) of each of ``images``; defaults to the nearest class mean of
        the digits.
    window : float, default 0.25
        Counting window in seconds.
    random_state : int or Generator, default 0
        Seeds the stimulus draw, the units and the noise; the same seed gives identical
        arrays.

    Returns
    -------
    VisualHierarchy

    Examples
    --------
    >>> from neurotk.datasets import simulate_visual_hierarchy
    >>> sim = simulate_visual_hierarchy(n_stimuli=20, n_repeats=2, n_units_per_area=5)
    >>> sim.recording.shape
    (40, 15)
    >>> sim.recording.units["area"].unique().tolist()
    ['V1', 'V4', 'IT']
    >>> sorted(sim.recording.samples.columns)
    ['category', 'repeat', 'stimulus']
    """
    rng = as_rng(random_state)
    areas = _check_areas(areas)
    n_repeats = check_int(n_repeats, "n_repeats")
    units_per_area = _check_units(n_units_per_area, len(areas))
    window = check_float(window, "window", low=0, low_open=True, unit="seconds")
    if images is None:
        if categories is not None:
            raise ArgumentError("categories was given without images; pass both or neither")
        n_stimuli = 100 if n_stimuli is None else check_int(n_stimuli, "n_stimuli", 2)
        stim_images, stim_categories, digit_index = _choose_digits(n_stimuli, rng)
    else:
        arr = check_digit_images(images, "images", min_images=2)
        if n_stimuli is not None and n_stimuli != len(arr):
            raise ShapeMismatchError(f"n_stimuli={n_stimuli} but images has {len(arr)} images; "
                                     f"expected them to agree (or leave n_stimuli out)")
        stim_images, digit_index = arr.copy(), None
        if categories is None:
            stim_categories = _nearest_class(arr.reshape(len(arr), -1) / PIXEL_MAX)
        else:
            stim_categories = np.asarray(categories)
            if stim_categories.shape != (len(arr),):
                raise ShapeMismatchError(f"categories has shape {stim_categories.shape}; expected "
                                         f"({len(arr)},), one per image")
            if (not np.issubdtype(stim_categories.dtype, np.integer) or stim_categories.min() < 0
                    or stim_categories.max() > 9):
                raise ArgumentError(f"categories must be integers 0..9; got "
                                    f"{np.unique(stim_categories)[:10].tolist()}")
            stim_categories = stim_categories.astype(np.int64)
    n_stimuli = len(stim_images)
    flat = stim_images.reshape(n_stimuli, -1) / PIXEL_MAX

    k = len(areas)
    levels = np.linspace(0.0, 1.0, k) if k > 1 else np.zeros(1)
    drives = [_area_drive(float(level), flat, int(n), rng)
              for level, n in zip(levels, units_per_area)]  # one iteration per area
    drive = np.concatenate(drives, axis=1)
    n_units = drive.shape[1]
    baseline = rng.uniform(_BASELINE_HZ[0], _BASELINE_HZ[1], size=n_units)
    gain = rng.lognormal(np.log(_GAIN_HZ), 0.3, size=n_units)
    rates = window * (baseline + gain * drive)

    counts = rng.poisson(np.tile(rates, (n_repeats, 1))).astype(np.float64)
    stimulus_ids = np.arange(n_stimuli)
    samples = pd.DataFrame({
        "stimulus": np.tile(stimulus_ids, n_repeats),
        "category": np.tile(stim_categories, n_repeats),
        "repeat": np.repeat(np.arange(n_repeats), n_stimuli),
    })
    units = pd.DataFrame({
        "unit_id": np.arange(n_units),
        "area": np.repeat(np.array(areas, dtype=object), units_per_area),
        "source": "brain",
        "level": np.repeat(levels, units_per_area),
    })
    meta = {
        "name": "simulated visual hierarchy",
        "units_of_measure": "spike count",
        "window_s": window,
        "areas": list(areas),
        "random_state": random_state if isinstance(random_state, (int, np.integer)) else None,
        "provenance": "neurotk.datasets.simulate_visual_hierarchy",
    }
    recording = Recording(counts, samples, units, meta, copy=False)
    for arr in (stim_images, stim_categories, rates, stimulus_ids):
        arr.flags.writeable = False
    if digit_index is not None:
        digit_index.flags.writeable = False
    return VisualHierarchy(
        recording=recording,
        images=stim_images,
        stimulus_ids=stimulus_ids,
        categories=stim_categories,
        areas=areas,
        rates=rates,
        window=window,
        digit_index=digit_index,
        random_state=random_state,
    )
