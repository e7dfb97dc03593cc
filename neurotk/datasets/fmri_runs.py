"""Simulated fMRI runs with a planted stimulus-driven response in known voxels.

:func:`simulate_fmri` gives 4-D NIfTI runs with a brain mask, an ROI atlas and a BIDS
events table, with known voxel-wise responses to each condition: the ground truth for
the fMRI GLM and the encoding models. It is deterministic under ``random_state`` and fast
at its default size; the returned :class:`FMRISimulation` holds the images (and a
:class:`~neurotk.Recording` of the in-mask voxels) next to the planted responses, and
writes the files a BIDS-style loader reads when given a ``path``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_float, check_int
from ..errors import ArgumentError
from ..recording import Recording
from ..utils import as_rng, atomic_path
from ._simulation import ar1_noise, summary_repr

__all__ = ["FMRISimulation", "simulate_fmri"]

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
        return summary_repr(self, {
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
    n_runs = check_int(n_runs, "n_runs", 1)
    n_volumes = check_int(n_volumes, "n_volumes", 2)
    tr = check_float(tr, "tr", low=0, low_open=True, unit="seconds")
    n_conditions = check_int(n_conditions, "n_conditions", 1)
    n_rois = check_int(n_rois, "n_rois", 2, len(_ROI_NAMES))
    trials_per_condition = check_int(trials_per_condition, "trials_per_condition", 1)
    trial_duration = check_float(trial_duration, "trial_duration", low=0, unit="seconds")
    signal_change = check_float(signal_change, "signal_change", low=0)
    noise_level = check_float(noise_level, "noise_level", low=0)
    ar_coefficient = check_float(ar_coefficient, "ar_coefficient", low=0, high=1, high_open=True)
    drift_level = check_float(drift_level, "drift_level", low=0)
    voxel_size = check_float(voxel_size, "voxel_size", low=0, low_open=True, unit="mm")
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
        noise = ar1_noise(rng, (n_volumes, n_voxels), ar_coefficient) * noise_sd
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
