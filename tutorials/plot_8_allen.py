"""
Allen Brain Observatory: from an experiment file to a network comparison
========================================================================

**Take-away.** An Allen Visual Coding two-photon file becomes a Recording of presentations
x cells with one call to ``load_allen``, and averaging each image's repeats gives per-image
responses that RSA compares with a network's layers exactly as for any other Recording.
On responses simulated from a known hierarchy and written in the Allen layout, the
comparison maps the first area to the first layer and the last area to the deepest ones,
which is the check a pipeline should pass before it is trusted on real data.
"""

# %%
# Real files, or files written here
# ---------------------------------
# With allensdk installed (``pip install "neurotk[allen]"``) and an internet connection,
# three lines fetch a real experiment; ``download_allen_session`` goes through allensdk's
# ``BrainObservatoryCache`` and returns the path of the NWB file it cached:
#
# .. code-block:: python
#
#     from neurotk.io import download_allen_session, load_allen
#     path = download_allen_session(EXPERIMENT_ID, "allen_cache", kind="two-photon")
#     recordings = load_allen(path, stimulus="natural_scenes")
#
# ``EXPERIMENT_ID`` is an ``ophys_experiment_id`` of a session that showed natural
# scenes (session type "three_session_B"); allensdk lists them:
#
# .. code-block:: python
#
#     from allensdk.core.brain_observatory_cache import BrainObservatoryCache
#     boc = BrainObservatoryCache(manifest_file="allen_cache/manifest.json")
#     ids = [e["id"] for e in boc.get_ophys_experiments(stimuli=["natural_scenes"])]
#
# (``download_allen_session(session_id, "allen_cache")`` fetches a Neuropixels session
# instead, and ``load_allen`` reads that layout too.)
#
# Put the paths of real files in ``ALLEN_FILES`` to run everything below on them. Left
# empty, as here, the tutorial writes its own files in the exact Allen two-photon (NWB 1)
# layout, so it runs offline in a few seconds.
import tempfile
import time
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np

from neurotk.datasets import digits_network, simulate_visual_hierarchy
from neurotk.io import allen_info, allen_stimulus_table, load_allen
from neurotk.plotting.rsa import plot_layer_area
from neurotk.report import compare_recordings

ALLEN_FILES = []  # e.g. [download_allen_session(...), ...]
start = time.perf_counter()

# %%
# Simulated experiments with a known answer
# -----------------------------------------
# Three areas of increasing abstraction (a V1-like, an intermediate and a category-like
# area) see 60 handwritten digits, each 5 times. We store them as three experiments
# labelled with the Allen names of three mouse areas, VISp, VISl and VISam; the names
# only label the simulated levels, they are not a claim about mouse cortex.
AREA_NAMES = {"V1": "VISp", "V4": "VISl", "IT": "VISam"}
sim = simulate_visual_hierarchy(n_stimuli=60, n_repeats=5, random_state=0)
print(sim)

# %%
# Writing a file in the Allen two-photon layout
# ---------------------------------------------
# neurotk's own writer, ``neurotk.datasets.make_allen_demo``, plants fixed toy responses, so we
# write the file ourselves with h5py, following the layout that allensdk's
# ``BrainObservatoryNwbDataSet`` reads (see ``ALLEN_LAYOUT.md`` in the project's shared
# notes): dF/F traces (cells x frames, float32) with their frame times, cell specimen
# ids, session metadata and the natural-scenes table, whose ``data`` holds the image
# index of each presentation (-1: a blank screen) and ``frame_duration`` its
# ``[start, end)`` two-photon frames. Each presentation lasts 0.25 s (7 frames at 30 Hz),
# back to back, as in the real experiment. A cell's dF/F during a presentation is 0.05
# per simulated spike plus frame-by-frame Gaussian noise (SD 0.1); blanks evoke nothing.
# The images themselves go into the stimulus template, as in real files.
FRAME_RATE, FRAMES_PER_IMAGE, DFF_PER_SPIKE, FRAME_NOISE = 30.0, 7, 0.05, 0.1
PIPELINE = "processing/brain_observatory_pipeline"


def write_allen_2p(path, counts, image_order, images, area, experiment_id, rng):
    """Write one Allen Visual Coding two-photon experiment (NWB 1 layout) with h5py.

    ``counts``: (n_presentations, n_cells) simulated spike counts, one row per entry of
    ``image_order`` (image index, -1 for a blank).
    """
    n_pres, n_cells = counts.shape
    first = 30  # 1 s of grey screen before the first image
    starts = first + FRAMES_PER_IMAGE * np.arange(n_pres)
    frames = np.stack([starts, starts + FRAMES_PER_IMAGE], axis=1).astype(np.int64)
    n_frames = int(frames[-1, 1]) + 30
    dff = rng.normal(0.0, FRAME_NOISE, size=(n_cells, n_frames))
    per_frame = np.repeat(DFF_PER_SPIKE * counts, FRAMES_PER_IMAGE, axis=0)  # (n_pres * 7, n_cells)
    dff[:, first:first + n_pres * FRAMES_PER_IMAGE] += per_frame.T
    text = {"session_id": str(experiment_id), "targeted_structure": area, "session_type": "three_session_B",
            "experiment_container_id": "1", "specimen_name": "Cux2-CreERT2;Camk2a-tTA;Ai93-000000",
            "subject/genotype": "Cux2-CreERT2/wt;Camk2a-tTA/wt;Ai93(TITL-GCaMP6f)/wt",
            "optophysiology/imaging_plane_1/imaging depth": "175 microns",
            "optophysiology/imaging_plane_1/indicator": "GCaMP6f"}
    with h5py.File(path, "w") as f:
        f.create_dataset("nwb_version", data="NWB-1.0.5", dtype=h5py.string_dtype())
        for key, value in text.items():
            f.create_dataset(f"general/{key}", data=np.bytes_(value))
        f.create_dataset(f"{PIPELINE}/DfOverF/imaging_plane_1/data", data=dff.astype(np.float32))
        f.create_dataset(f"{PIPELINE}/DfOverF/imaging_plane_1/timestamps", data=np.arange(n_frames) / FRAME_RATE)
        f.create_dataset(f"{PIPELINE}/ImageSegmentation/cell_specimen_ids",
                         data=(587000000 + 1000 * experiment_id + np.arange(n_cells)).astype(np.int64))
        table = f.create_group("stimulus/presentation/natural_scenes_stimulus")
        table.create_dataset("data", data=np.asarray(image_order, dtype=np.int64))
        table.create_dataset("frame_duration", data=frames)
        table.create_dataset("timestamps", data=frames[:, 0] / FRAME_RATE)
        stack = np.clip(np.asarray(images) * 16, 0, 255).astype(np.uint8)  # 0..16 digits -> 0..255 pixels
        f.create_dataset("stimulus/templates/natural_scenes_image_stack/data", data=stack)
    return Path(path)


# %%
# Presentation order: every repeat shows the images in a new random order with three
# blank screens mixed in; the simulated counts of repeat ``r`` of image ``i`` are
# ``sim.recording`` row ``r * 60 + i`` (repeat-major). The files go to a temporary
# folder that is deleted when Python exits.
if not ALLEN_FILES:
    rng = np.random.default_rng(1)
    n_images, n_repeats = len(sim.stimulus_ids), sim.recording.n_samples // len(sim.stimulus_ids)
    order = np.concatenate([rng.permutation(np.r_[np.arange(n_images), [-1, -1, -1]]) for _ in range(n_repeats)])
    repeat = np.concatenate([np.full(n_images + 3, r) for r in range(n_repeats)])
    workdir = tempfile.TemporaryDirectory(prefix="neurotk-allen-")  # removed when Python exits
    folder = Path(workdir.name) / "ophys_experiment_data"
    folder.mkdir()
    for k, (area, allen_area) in enumerate(AREA_NAMES.items()):
        spikes = sim.area(area).data
        counts = np.where(order[:, None] >= 0, spikes[repeat * n_images + np.maximum(order, 0)], 0.0)
        ALLEN_FILES.append(write_allen_2p(folder / f"{k + 1}.nwb", counts, order, sim.images, allen_area,
                                          k + 1, rng))

# %%
# What is in a file
# -----------------
# ``allen_info`` reads the metadata and the list of stimuli without touching the traces;
# ``allen_stimulus_table`` gives the presentations as allensdk's ``get_stimulus_table``
# does, with times in seconds.
info = allen_info(ALLEN_FILES[0])
print({k: info[k] for k in ("kind", "areas", "stimuli", "n_units", "session_type", "cre_line")})
print(allen_stimulus_table(ALLEN_FILES[0], "natural_scenes").head())

# %%
# Load, and average the repeats of each image
# -------------------------------------------
# ``load_allen`` returns ``{area: Recording}``: one sample per presentation (its mean
# dF/F over its own frames; pass ``window=(0.0, 0.5)`` to use a fixed window after onset
# instead), one unit per cell. Dropping the blanks and averaging by ``stimulus_id`` (the
# image index) gives one response pattern per image.
brain = {}
for path in ALLEN_FILES:
    for area, rec in load_allen(path, stimulus="natural_scenes").items():
        images_only = rec.select(samples="stimulus_id != 'blank'")  # blanks are labelled "blank"
        images_only = images_only.replace(samples=images_only.samples.astype({"stimulus_id": int}))
        brain[area] = images_only.average(by="stimulus_id")
first_area = next(iter(brain))
print(brain[first_area])
print(brain[first_area].samples.head(3))

# %%
# A check worth doing once: on the simulated files the loaded responses must be the
# planted ones, 0.05 dF/F per spike averaged over repeats, up to the frame noise
# (SD 0.1 / sqrt(7 frames x 5 repeats) = 0.017 dF/F).
if len(brain) == len(AREA_NAMES) and set(brain) == set(AREA_NAMES.values()):
    for area, allen_area in AREA_NAMES.items():
        planted = DFF_PER_SPIKE * sim.area(area).average("stimulus").data
        error = brain[allen_area].data - planted
        print(f"{allen_area}: loaded - planted dF/F: mean {error.mean():+.4f}, SD {error.std():.4f}")

# %%
# The network sees the same images, read back from the files
# ----------------------------------------------------------
# The stimulus template of the file holds the images; the bundled digits network takes
# 8 x 8 images on a 0..16 scale, so we average pixels over an 8 x 8 grid of blocks (a
# no-op for our files) and rescale. With real Allen files this runs too, but a network
# trained on digits is only a placeholder for natural scenes: use the activations of an
# image-trained network there (``neurotk.io.activations`` takes a PyTorch model and
# the images; ``neurotk.io.from_arrays`` reads saved activations).
with h5py.File(ALLEN_FILES[0], "r") as f:
    stack = f["stimulus/templates/natural_scenes_image_stack/data"][()]  # (n_images, height, width) uint8
rows = np.linspace(0, stack.shape[1], 9).astype(int)[:-1]
cols = np.linspace(0, stack.shape[2], 9).astype(int)[:-1]
blocks = np.add.reduceat(np.add.reduceat(stack, rows, axis=1, dtype=np.float64), cols, axis=2)
blocks /= np.diff(np.r_[rows, stack.shape[1]])[:, None] * np.diff(np.r_[cols, stack.shape[2]])[None, :]
images = 16.0 * blocks / max(blocks.max(), 1e-12)
image_ids = brain[first_area].samples["stimulus_id"].to_numpy()

net = digits_network(0)
layers = net.activations(images[image_ids], stimulus_ids=image_ids)
layers = {name: rec.replace(samples=rec.samples.rename(columns={"stimulus": "stimulus_id"}))
          for name, rec in layers.items()}

# %%
# Compare every area with every layer
# -----------------------------------
# ``compare_recordings`` computes an RDM per area and per layer over the shared images
# (correlation distance), correlates them (Spearman) with 95 % bootstrap intervals over
# images, and does the same after the geo-topological transform. The digit class of each
# image is known here because we chose the images; it only colours figures.
if len(image_ids) == len(sim.categories):
    for area in brain:
        brain[area] = brain[area].replace(
            samples=brain[area].samples.assign(category=sim.categories[brain[area].samples["stimulus_id"]]))
report = compare_recordings(brain, layers, condition="stimulus_id", n_bootstrap=200, random_state=0,
                            progress=False)
scores = report.to_frame()
print(scores[scores["transform"] == "none"].round(3).to_string(index=False))
print("best layer per area:", dict(zip(report.best["area"], report.best["layer"])))
print("hierarchy recovered:", report.hierarchy_recovered)
topo = scores[scores["transform"] == "rgtm"]
best_topo = topo.loc[topo.groupby("area", sort=False)["score"].idxmax()]
print("best layer per area after the geo-topological transform:",
      dict(zip(best_topo["area"], best_topo["layer"])))

# %%
# What this does and does not show
# --------------------------------
# On simulated responses with a planted hierarchy the early area matches the first
# (convolutional) layer best and the category-like area the deep layers: the loader,
# the averaging and the comparison together recover a known answer. The intermediate
# area matches every layer about equally weakly (its conjunction-of-edges neurons have
# no counterpart in the network) and its intervals overlap, so its "best layer" means
# little; the geo-topological scores (``transform == "rgtm"``) tell the same story
# (see the topological RSA tutorial for when they would differ). It says nothing
# about mouse cortex: real Allen areas respond to natural scenes, with neurons recorded
# in separate sessions, and "Comparison Against Task Driven Artificial Neural Networks
# Reveals Functional Organization of Mouse Visual Cortex", a study of this data set,
# reports a broad, parallel organisation with VISp lower-order than the other areas.
#
# The figure: left, a stretch of the file itself (dF/F of a few cells of the first
# area; grey bands mark blank screens); middle, the RDM similarity of each area with
# each layer (the best layer of each area outlined); right, the same scores with their
# bootstrap intervals.
fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), constrained_layout=True,
                         gridspec_kw={"width_ratios": [1.2, 1.1, 1]})
with h5py.File(ALLEN_FILES[0], "r") as f:
    dff = f[f"{PIPELINE}/DfOverF/imaging_plane_1/data"][:4, :600]
    times = f[f"{PIPELINE}/DfOverF/imaging_plane_1/timestamps"][:600]
table = allen_stimulus_table(ALLEN_FILES[0], "natural_scenes")
for _, row in table[(table["stimulus_id"] == "blank") & (table["start_time"] < times[-1])].iterrows():
    axes[0].axvspan(row["start_time"], row["stop_time"], color="0.85", lw=0)
for k, trace in enumerate(dff):
    axes[0].plot(times, trace + 1.5 * k, lw=0.7)
axes[0].set_xlabel("time (s)")
axes[0].set_ylabel("dF/F (cells offset by 1.5)")
axes[0].set_title(f"{first_area}: dF/F traces in the file")
plain = scores[scores["transform"] == "none"]
plot_layer_area(plain, ax=axes[1], title="RDM similarity, area x layer", label="Spearman correlation of RDMs")
axes[1].set_xlabel("network layer (shallow -> deep)")
for area, rows in plain.groupby("area", sort=False):
    x = np.arange(len(rows))
    axes[2].errorbar(x, rows["score"], yerr=[rows["score"] - rows["ci_low"], rows["ci_high"] - rows["score"]],
                     marker="o", capsize=3, label=area)
axes[2].set_xticks(np.arange(len(layers)), list(layers))
axes[2].set_xlabel("network layer (shallow -> deep)")
axes[2].set_ylabel("Spearman correlation of RDMs")
axes[2].set_title("Which layer explains each area? (95 % CI)")
axes[2].legend(title="area (simulated)")
print(f"tutorial ran in {time.perf_counter() - start:.1f} s")
plt.show()
