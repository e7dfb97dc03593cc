"""A small but genuine NWB file of the simulated visual hierarchy, for demos and tests.

:func:`make_demo_session` turns :func:`~neurotk.datasets.simulate_visual_hierarchy` into an
extracellular session as a lab would share it: a Units table with spike times, an
electrodes table with one electrode group (probe) per area, the stimulus presentations as
an intervals table and the digit images as a stimulus template. Binning each unit's
spikes in the presentation windows gives back exactly the simulated spike counts.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ArgumentError
from ..utils import as_rng, atomic_path
from .hierarchy import simulate_visual_hierarchy

__all__ = ["make_demo_session", "make_allen_demo"]

_STIMULUS_S = None  # presentation length: the simulation's counting window
_BLANK_S = 0.25  # grey screen between presentations
_LEAD_S = 1.0  # recording before the first and after the last presentation
_CHANNELS_PER_AREA = 16
_CHANNEL_PITCH_UM = 50.0
_MUA_QUANTILE = 0.1  # units below this quantile of evoked rate are labelled "mua"


def _layout(n_stimuli: int, n_repeats: int, window: float, rng: np.random.Generator):
    """Presentation order (shuffled within each repeat) and start times."""
    order = np.argsort(rng.random((n_repeats, n_stimuli)), axis=1)  # one permutation per repeat
    stimulus = order.ravel()
    repeat = np.repeat(np.arange(n_repeats), n_stimuli)
    start = _LEAD_S + np.arange(n_stimuli * n_repeats) * (window + _BLANK_S)
    return stimulus, repeat, start, start + window


def _spike_trains(counts: np.ndarray, starts: np.ndarray, durations: np.ndarray, rng: np.random.Generator):
    """Spike times given counts per (interval, unit): uniform within each interval.

    A Poisson process conditioned on its count places spikes independently and
    uniformly, so this is a Poisson spike train with the given counts. Returns the
    spike times sorted by unit then time, and the end index of each unit's spikes.
    """
    n_intervals, n_units = counts.shape
    per_unit = counts.T.ravel()  # unit-major
    interval = np.repeat(np.tile(np.arange(n_intervals), n_units), per_unit)
    unit = np.repeat(np.repeat(np.arange(n_units), n_intervals), per_unit)
    times = starts[interval] + rng.random(len(interval)) * durations[interval]
    order = np.lexsort((times, unit))
    ends = np.cumsum(counts.sum(axis=0))
    return times[order], ends


def make_demo_session(path, random_state=0, **hierarchy_kwargs) -> Path:
    """Write a small NWB file of Poisson spikes from the simulated visual hierarchy.

    The session has one probe (``ElectrodeGroup``, location = area name) of 16 channels
    per area, a ``Units`` table (columns ``spike_times``, ``area``, ``depth`` in µm,
    ``quality`` = "good", or "mua" for the lowest-rate tenth of units, and
    ``electrodes``), the presentations in the intervals table
    ``"stimulus_presentations"`` (``start_time``, ``stop_time``, ``stimulus``,
    ``category``, ``repeat``; 250 ms images separated by 250 ms blanks, in a new random
    order for every repeat) and the images as the stimulus template ``"digit_images"``
    (frame ``i`` is stimulus id ``i``).

    The number of spikes of each unit inside each presentation window equals the count
    in ``simulate_visual_hierarchy(random_state=random_state, **hierarchy_kwargs)
    .recording`` (Poisson around the simulated rates); between presentations units fire
    at a spontaneous rate (their lowest evoked rate). The file is written to a
    temporary name and renamed on success, so a failure leaves nothing behind.

    Parameters
    ----------
    path : str or Path
        Where to write the ``.nwb`` file (parent folders are created).
    random_state : int, default 0
        Seed of the simulation, the presentation order and the spike times.
    **hierarchy_kwargs
        Passed to :func:`~neurotk.datasets.simulate_visual_hierarchy` (``n_stimuli``,
        ``n_repeats``, ``n_units_per_area``, ``areas``, ``window`` ...).

    Returns
    -------
    pathlib.Path
        The path of the written file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_demo_session
    >>> path = make_demo_session(pathlib.Path(tempfile.mkdtemp()) / "demo.nwb")
    >>> from pynwb import NWBHDF5IO
    >>> with NWBHDF5IO(path, "r") as io:
    ...     nwb = io.read()
    ...     print(len(nwb.units), len(nwb.intervals["stimulus_presentations"]))
    144 400
    """
    if "random_state" in hierarchy_kwargs:
        raise ArgumentError("pass random_state once, as make_demo_session(random_state=...)")
    if not isinstance(path, (str, Path)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected a str or pathlib.Path")
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ArgumentError(f"path {str(path)!r} is a folder; expected a file name such as 'demo.nwb'")
    sim = simulate_visual_hierarchy(random_state=random_state, **hierarchy_kwargs)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0:
        rng = np.random.default_rng([int(random_state), 1])  # a stream independent of the simulation's
    else:
        rng = as_rng(random_state)

    from hdmf.common import DynamicTableRegion, VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectrodesTable
    from pynwb.epoch import TimeIntervals
    from pynwb.file import Subject
    from pynwb.image import ImageSeries
    from pynwb.misc import Units

    rec = sim.recording
    window = sim.window
    n_stimuli, n_units = sim.rates.shape
    n_repeats = rec.n_samples // n_stimuli
    stimulus, repeat, start, stop = _layout(n_stimuli, n_repeats, window, rng)
    # counts of presentation k: the recording row of (repeat, stimulus) (rows are repeat-major)
    evoked = rec.data[repeat * n_stimuli + stimulus].astype(np.int64)

    # spontaneous firing between presentations (and before / after them)
    spontaneous_hz = sim.rates.min(axis=0) / window
    session_end = stop[-1] + _LEAD_S
    gap_start = np.concatenate([[0.0], stop])
    gap_stop = np.concatenate([start, [session_end]])
    gap_counts = rng.poisson((gap_stop - gap_start)[:, None] * spontaneous_hz[None, :])
    spike_times, ends = _spike_trains(
        np.concatenate([evoked, gap_counts]),
        np.concatenate([start, gap_start]),
        np.concatenate([stop - start, gap_stop - gap_start]),
        rng,
    )

    units_table = rec.units
    areas = list(sim.areas)
    area_of_unit = units_table["area"].to_numpy().astype(str)
    area_index = pd.Index(areas).get_indexer(area_of_unit)  # position of each unit's area in `areas`
    channel = rng.integers(0, _CHANNELS_PER_AREA, size=n_units)
    electrode_of_unit = area_index * _CHANNELS_PER_AREA + channel
    channel_depth = 100.0 + _CHANNEL_PITCH_UM * np.arange(_CHANNELS_PER_AREA)
    depth = channel_depth[channel] + rng.uniform(-_CHANNEL_PITCH_UM / 2, _CHANNEL_PITCH_UM / 2, n_units)
    evoked_hz = sim.rates.mean(axis=0) / window
    quality = np.where(evoked_hz <= np.quantile(evoked_hz, _MUA_QUANTILE), "mua", "good")

    nwbfile = NWBFile(
        session_description="Simulated extracellular recording of visual areas "
        f"({', '.join(areas)}) viewing 8x8 digit images (neurotk demo session)",
        identifier=f"neurotk-demo-session-{random_state}",
        session_start_time=datetime.datetime(2024, 1, 1, 9, 0, tzinfo=datetime.timezone.utc),
        session_id=f"demo-{random_state}",
        experimenter=["neurotk simulator"],
        lab="neurotk",
        institution="neurotk (simulated data)",
        experiment_description="Poisson spike trains whose counts in each 250 ms presentation "
        "follow neurotk.datasets.simulate_visual_hierarchy; ground truth in the simulation.",
        keywords=["simulation", "visual hierarchy", "RSA", "digits"],
        source_script="neurotk.datasets.make_demo_session",
        source_script_file_name="neurotk/datasets/demo.py",
    )
    nwbfile.subject = Subject(
        subject_id=f"sim-{random_state}", species="Macaca mulatta", sex="M", age="P6Y",
        description="simulated subject",
    )
    device = nwbfile.create_device(name="probe", description="simulated 16-channel linear probe, one per area")
    groups = [nwbfile.create_electrode_group(name=f"probe_{a}", description=f"linear probe in {a}",
                                             location=a, device=device) for a in areas]  # one per area

    n_electrodes = len(areas) * _CHANNELS_PER_AREA
    electrode_area = np.repeat(np.arange(len(areas)), _CHANNELS_PER_AREA)
    electrodes = ElectrodesTable(
        id=np.arange(n_electrodes),
        columns=[
            VectorData(name="location", description="brain area", data=[areas[i] for i in electrode_area]),
            VectorData(name="group", description="electrode group (probe)", data=[groups[i] for i in electrode_area]),
            VectorData(name="group_name", description="name of the electrode group",
                       data=[groups[i].name for i in electrode_area]),
            VectorData(name="rel_y", description="depth of the channel below the surface (um)",
                       data=np.tile(channel_depth, len(areas))),
        ],
    )
    nwbfile.set_electrode_table(electrodes)

    spike_col = VectorData(name="spike_times", description="the spike times for each unit in seconds",
                           data=spike_times)
    electrode_col = DynamicTableRegion(name="electrodes", description="the peak channel of each unit",
                                       data=electrode_of_unit, table=electrodes)
    units = Units(
        name="units",
        description="simulated single units (quality 'good') and multi-unit activity ('mua')",
        id=units_table["unit_id"].to_numpy().astype(np.int64),
        columns=[
            spike_col,
            VectorIndex(name="spike_times_index", data=ends, target=spike_col),
            VectorData(name="area", description="brain area of the unit", data=area_of_unit.tolist()),
            VectorData(name="depth", description="depth below the surface (um)", data=depth),
            VectorData(name="quality", description="sorting quality: good or mua", data=quality.tolist()),
            electrode_col,
            VectorIndex(name="electrodes_index", data=np.arange(1, n_units + 1), target=electrode_col),
        ],
        electrode_table=electrodes,
    )
    nwbfile.units = units

    categories = np.asarray(sim.categories)
    presentations = TimeIntervals(
        name="stimulus_presentations",
        description="digit image presentations: 250 ms image, 250 ms blank, shuffled within each repeat",
        id=np.arange(len(start)),
        columns=[
            VectorData(name="start_time", description="onset of the image (s)", data=start),
            VectorData(name="stop_time", description="offset of the image (s)", data=stop),
            VectorData(name="stimulus", description="stimulus id: frame of the 'digit_images' template",
                       data=stimulus.astype(np.int64)),
            VectorData(name="category", description="digit shown (0..9)", data=categories[stimulus].astype(np.int64)),
            VectorData(name="repeat", description="repeat number", data=repeat.astype(np.int64)),
        ],
    )
    nwbfile.add_time_intervals(presentations)
    nwbfile.add_stimulus_template(
        ImageSeries(
            name="digit_images",
            description="8x8 digit images from sklearn.datasets.load_digits (0..16 scale); frame i is stimulus id i",
            data=np.asarray(sim.images, dtype=np.float64),
            unit="n.a.",
            format="raw",
            rate=1.0,
            starting_time=0.0,
        )
    )

    with atomic_path(path) as tmp:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
    return path


# --------------------------------------------------------------------------- an Allen two-photon file
# HDF5 paths of the Allen Brain Observatory two-photon (NWB 1) layout, as neurotk.io.allen reads it.
_ALLEN_PIPELINE = "processing/brain_observatory_pipeline"
_ALLEN_DFF = f"{_ALLEN_PIPELINE}/DfOverF/imaging_plane_1"
_ALLEN_SEGMENTATION = f"{_ALLEN_PIPELINE}/ImageSegmentation"
_ALLEN_PRESENTATION = "stimulus/presentation"


def make_allen_demo(path, n_cells: int = 5, n_scenes: int = 6, n_repeats: int = 4, random_state=0) -> Path:
    """Write a tiny synthetic file in the exact Allen two-photon (NWB 1) layout.

    Holds dF/F traces at 30 Hz (``float32``, cells x frames), cell specimen ids and the
    tables of natural scenes (``n_scenes`` images x ``n_repeats``), static gratings (8
    presentations), drifting gratings (4), natural movie one (2 repeats of 3 frames) and
    one spontaneous epoch, with the HDF5 paths and dtypes of real files, for
    :func:`neurotk.io.load_allen`. Cell ``i`` responds (dF/F 1.0, else 0.0) to natural
    scene ``i % n_scenes``. Written to a temporary name and renamed on success.

    Parameters
    ----------
    path : str or Path
    n_cells, n_scenes, n_repeats : int
    random_state : int, default 0
        Seed of the presentation order.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from neurotk.datasets import make_allen_demo
    >>> make_allen_demo(pathlib.Path(tempfile.mkdtemp()) / "ophys.nwb").name
    'ophys.nwb'
    """
    import os

    import h5py

    rng = as_rng(random_state)
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"path has type {type(path).__name__}; expected the path of an Allen NWB file")
    path = Path(path)
    frames_per = 7  # 0.25 s at 30 Hz, as Allen natural scenes
    scenes = np.concatenate([rng.permutation(n_scenes) for _ in range(n_repeats)])
    t = 30  # first frame of the next presentation
    plan = {}
    for name, n, each in (("natural_scenes", len(scenes), frames_per), ("static_gratings", 8, frames_per),
                          ("drifting_gratings", 4, 60), ("natural_movie_one", 6, 1)):
        starts = t + np.arange(n) * each
        plan[name] = np.stack([starts, starts + each], axis=1).astype(np.int64)
        t = int(starts[-1] + each + 30)
    spont = np.array([[t, t], [t + 60, t + 60]], dtype=np.int64)
    T = t + 90
    ts = np.arange(T) / 30.0 + 0.5
    dff = np.zeros((n_cells, T), dtype=np.float32)
    cells = np.arange(n_cells)
    for (s, e), scene in zip(plan["natural_scenes"], scenes):
        dff[cells[cells % n_scenes == scene], s:e] = 1.0
    ori = np.tile([0.0, 30.0, 60.0, 90.0], 2)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("nwb_version", data="NWB-1.0.5", dtype=h5py.string_dtype())
        f.create_dataset("identifier", data="Brain Observatory Visual Coding Experiment 1; NWB-1.0.5",
                         dtype=h5py.string_dtype())
        for key, value in (("session_id", "1"), ("targeted_structure", "VISp"), ("session_type", "three_session_B"),
                           ("experiment_container_id", "2"), ("specimen_name", "Cux2-CreERT2;Camk2a-tTA;Ai93-1"),
                           ("subject/genotype", "Cux2-CreERT2/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt"),
                           ("optophysiology/imaging_plane_1/imaging depth", "175 microns"),
                           ("optophysiology/imaging_plane_1/indicator", "GCaMP6f")):
            f.create_dataset(f"general/{key}", data=np.bytes_(value))
        f.create_dataset(f"{_ALLEN_DFF}/data", data=dff)
        f.create_dataset(f"{_ALLEN_DFF}/timestamps", data=ts)
        f.create_dataset(f"{_ALLEN_DFF}/roi_names", data=np.array([str(i).encode() for i in cells], dtype="S9"))
        f.create_dataset(f"{_ALLEN_SEGMENTATION}/cell_specimen_ids", data=(517000000 + cells).astype(np.int64))
        group = f.create_group(f"{_ALLEN_PRESENTATION}/natural_scenes_stimulus")
        group.create_dataset("data", data=scenes.astype(np.int64))
        group.create_dataset("frame_duration", data=plan["natural_scenes"])
        group.create_dataset("timestamps", data=ts[plan["natural_scenes"][:, 0]])
        group = f.create_group(f"{_ALLEN_PRESENTATION}/static_gratings_stimulus")
        group.create_dataset("data", data=np.stack([ori, np.full(8, 0.04), np.repeat([0.0, 0.5], 4)], 1).astype(np.float32))
        group.create_dataset("features", data=np.array([b"orientation", b"spatial_frequency", b"phase"], dtype="S18"))
        group.create_dataset("frame_duration", data=plan["static_gratings"].astype(np.float32))
        group = f.create_group(f"{_ALLEN_PRESENTATION}/drifting_gratings_stimulus")
        group.create_dataset("data", data=np.array([[2, 0, 0], [2, 90, 0], [np.nan, np.nan, 1], [4, 0, 0]], np.float32))
        group.create_dataset("features", data=np.array([b"temporal_frequency", b"orientation", b"blank_sweep"], "S18"))
        group.create_dataset("frame_duration", data=plan["drifting_gratings"].astype(np.float32))
        group = f.create_group(f"{_ALLEN_PRESENTATION}/natural_movie_one_stimulus")
        group.create_dataset("data", data=np.tile(np.arange(3, dtype=np.int64), 2))
        group.create_dataset("frame_duration", data=plan["natural_movie_one"])
        group = f.create_group(f"{_ALLEN_PRESENTATION}/spontaneous_stimulus")
        group.attrs["ancestry"] = np.array([b"TimeSeries", b"IntervalSeries"])
        group.create_dataset("data", data=np.array([1, -1], dtype=np.int8))
        group.create_dataset("frame_duration", data=spont)
    return path
