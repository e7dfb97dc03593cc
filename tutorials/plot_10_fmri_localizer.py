"""
A real fMRI localizer: where does this brain prefer faces to houses?
====================================================================

**Take-away.** A category localizer shows blocks of faces, bodies, houses, objects,
scenes and scrambled images; a general linear model (GLM) with one regressor per
category and the contrast face > house maps the voxels that respond more to faces. On a
real run of the studyforrest localizer (subject 02, run 1, shipped with neurotk as a
block of the posterior, inferior brain), the contrast finds face-selective clusters that
survive a Bonferroni correction, among them a pair on the two sides of the ventral
temporal cortex, where the fusiform face area usually lies. Everything here is one run of
one subject in the scanner's coordinates with no anatomical scan, so the anatomy is a
reading of the mean functional image, not a label.
"""

# %%
# The run and its events
# ----------------------
# ``load_category_localizer`` returns the run as a Recording (volumes x voxels, every
# voxel of the block that varies in time) and the BIDS events table: 192 images, 32 per
# category, in blocks of 16 images.
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy import ndimage, stats

from neurotk.datasets import load_category_localizer
from neurotk.encoding import glm
from neurotk.signal import event_regressors

start = time.perf_counter()
rec, events = load_category_localizer()
tr, n_scans = rec.meta["tr"], rec.n_samples
print(rec)
print(rec.meta["citation"])
print(f"TR {tr} s, {n_scans} volumes ({n_scans * tr:.0f} s), voxels {rec.meta['zooms']} mm, "
      f"block of {rec.meta['shape']} voxels cut from {rec.meta['original_shape'][:3]}")
print(events.groupby("trial_type")["duration"].agg(["count", "mean"]).round(2).to_string())
# A block starts where the gap since the previous image's end exceeds 3 s.
gap = events["onset"] - (events["onset"] + events["duration"]).shift()
block_id = (gap.isna() | (gap > 3)).cumsum()
blocks = events.groupby(block_id).agg(trial_type=("trial_type", "first"), onset=("onset", "first"),
                                      n_images=("onset", "size"))
blocks["stop"] = (events["onset"] + events["duration"]).groupby(block_id).last()
print(f"{len(blocks)} blocks of {blocks['n_images'].unique().tolist()} images, "
      f"{(blocks['stop'] - blocks['onset']).mean():.1f} s each on average")

# %%
# The design matrix
# -----------------
# ``glm`` builds, for the run, one regressor per category (each image's 0.9 s boxcar,
# convolved with SPM's canonical haemodynamic response and read at the scan times, which
# is :func:`neurotk.signal.event_regressors`), SPM's cosine drifts up to 1/128 Hz
# (discrete cosines :math:`\sqrt{2/n} \cos(\pi (t + 1/2) k / n)` for
# :math:`k / (2 n \, TR) \le 1/128`) and an intercept, and fits all voxels by least
# squares. ``glm`` does not return its design, so here it is built from the same pieces
# and checked: fitted by hand, it gives ``glm``'s betas.
conditions = sorted(events["trial_type"].unique())
task = event_regressors(events["onset"], events["duration"], n_scans, tr,
                        trial_types=events["trial_type"], conditions=conditions)
n_cos = int(np.floor(2 * n_scans * tr / 128))
scan = np.arange(n_scans)
drift = np.sqrt(2 / n_scans) * np.cos(np.pi * np.outer(scan + 0.5, np.arange(1, n_cos + 1)) / n_scans)
design = np.column_stack([task, drift, np.ones(n_scans)])
columns = conditions + [f"cosine {k}" for k in range(1, n_cos + 1)] + ["intercept"]

betas = glm(rec, events)  # one beta per category and voxel
by_hand = np.linalg.lstsq(design, rec.data, rcond=None)[0][: len(conditions)]
assert betas.samples["condition"].tolist() == conditions
print(f"design: {design.shape[0]} scans x {design.shape[1]} columns ({', '.join(columns)}); "
      f"largest difference from glm's betas: {np.abs(by_hand - betas.data).max():.1e}")

fig, axes = plt.subplots(1, 2, figsize=(12, 5), constrained_layout=True,
                         gridspec_kw={"width_ratios": [1, 2.2]})
shown = design / np.abs(design).max(axis=0)
im = axes[0].imshow(shown, aspect="auto", cmap="gray", interpolation="nearest",
                    extent=(-0.5, design.shape[1] - 0.5, n_scans * tr, 0))
axes[0].set_xticks(range(len(columns)), columns, rotation=90)
axes[0].set_ylabel("time (s)")
axes[0].set_title("design matrix (columns scaled to max 1)")
fig.colorbar(im, ax=axes[0], label="regressor (scaled)")
t_scan = scan * tr
for k, c in enumerate(conditions):
    axes[1].plot(t_scan, task[:, k] + 1.2 * k, color=f"C{k}", lw=1.5)
    for _, b in blocks[blocks["trial_type"] == c].iterrows():
        axes[1].axvspan(b["onset"], b["stop"], ymin=0, ymax=1, color=f"C{k}", alpha=0.12, lw=0)
axes[1].set_yticks(1.2 * np.arange(len(conditions)), conditions)
axes[1].set_xlabel("time (s)")
axes[1].set_ylabel("category regressor (offset)")
axes[1].set_xlim(0, n_scans * tr)
axes[1].set_title("task regressors; shading: the blocks of each category")

# %%
# Face > house
# ------------
# The contrast's t-value in every voxel (SPM's and nilearn's t-contrast), thresholded at
# p < 0.05 Bonferroni-corrected over the voxels tested (one-sided), with the degrees of
# freedom of the design. No spatial smoothing.
others = [c for c in conditions if c != "face"]
contrasts = {"face > house": {"face": 1, "house": -1},
             "face > others": {"face": 1, **{c: -1 / len(others) for c in others}}}
t_both = glm(rec, events, contrasts=contrasts, stat="t")
t, t_others = t_both.data  # one row per contrast
dof = n_scans - np.linalg.matrix_rank(design)
threshold = stats.t.isf(0.05 / rec.n_units, dof)
print(f"{rec.n_units} voxels, {dof} degrees of freedom: Bonferroni threshold t > {threshold:.2f}; "
      f"{np.sum(t > threshold)} voxels prefer faces, {np.sum(t < -threshold)} prefer houses")

shape = rec.meta["shape"]
ijk = rec.units[["i", "j", "k"]].to_numpy()


def to_volume(values, fill=np.nan):
    """Voxel values back on the block's 3-D grid."""
    out = np.full(shape, fill)
    out[tuple(ijk.T)] = values
    return out


t_map = to_volume(t)
mean_img = to_volume(rec.data.mean(axis=0), 0.0)
labels, n_clusters = ndimage.label(np.nan_to_num(t_map) > threshold)  # face-selective clusters
sizes = np.bincount(labels.ravel())[1:]
affine = np.asarray(rec.meta["affine"])
voxel_mm3 = float(np.prod(rec.meta["zooms"]))
t_others_map = to_volume(t_others)
print(f"{n_clusters} face > house clusters (6-connected); the five largest (with face > others at "
      f"the same peak):")
rows = []
for c in np.argsort(sizes)[::-1][:5]:
    inside = np.argwhere(labels == c + 1)
    peak = inside[np.argmax(t_map[tuple(inside.T)])]
    xyz = affine @ np.r_[peak, 1.0]
    rows.append(peak)
    print(f"  {sizes[c]:3d} voxels ({sizes[c] * voxel_mm3:5.0f} mm3), peak t {t_map[tuple(peak)]:5.2f} "
          f"(face > others {t_others_map[tuple(peak)]:5.2f}) at block voxel {tuple(int(v) for v in peak)}, "
          f"scanner x, y, z = {xyz[0]:5.1f}, {xyz[1]:5.1f}, {xyz[2]:5.1f} mm")

# %%
# The clusters on the mean functional image
# -----------------------------------------
# The run has no anatomical scan, so the map is drawn on the mean of its own volumes.
# Axial slices of the block, from inferior to superior; anterior is up and the subject's
# right is on the left (the image's first axis points to the subject's left). Warm:
# face > house, cool: house > face, both above the Bonferroni threshold.
slices = range(2, 8)
fig, axes = plt.subplots(2, 3, figsize=(11, 7.6), constrained_layout=True)
vmax = np.nanmax(np.abs(t_map))
for ax, k in zip(axes.flat, slices):
    ax.imshow(mean_img[:, :, k].T, cmap="gray", origin="upper", interpolation="nearest")
    face_t = np.where(t_map[:, :, k] > threshold, t_map[:, :, k], np.nan)
    house_t = np.where(t_map[:, :, k] < -threshold, -t_map[:, :, k], np.nan)
    hot = ax.imshow(face_t.T, cmap="autumn", vmin=threshold, vmax=vmax, interpolation="nearest")
    cool = ax.imshow(house_t.T, cmap="winter", vmin=threshold, vmax=vmax, interpolation="nearest")
    z = (affine @ np.r_[shape[0] / 2, shape[1] / 2, k, 1.0])[2]
    ax.set_title(f"slice k = {k} (scanner z about {z:.0f} mm)", fontsize=10)
    ax.set_xticks([0, shape[0] - 1], ["R", "L"])
    ax.set_yticks([0, shape[1] - 1], ["ant.", "post."])
fig.colorbar(hot, ax=axes, shrink=0.7, label="t, face > house")
fig.colorbar(cool, ax=axes, shrink=0.7, label="t, house > face")
fig.suptitle(f"face > house on the mean functional image (|t| > {threshold:.2f}, Bonferroni p < 0.05)")

# %%
# Face > house, or face-selective?
# --------------------------------
# A voxel can pass face > house by responding to everything except houses. The second
# contrast, face > the mean of the five other categories, asks for more. Below, the
# signal (percent of its mean) of the peak of the largest cluster and of the peak of the
# right lateral one, with every block shaded in its category's colour as in the design
# figure.
print(f"face > others: {np.sum(t_others > threshold)} voxels above the threshold, "
      f"{np.sum((t > threshold) & (t_others > threshold))} of them also face > house")
fig, axes = plt.subplots(2, 1, figsize=(11, 6), sharex=True, constrained_layout=True)
for ax, peak in zip(axes, (rows[0], rows[1])):
    unit = np.flatnonzero((ijk == peak).all(axis=1))[0]
    signal = rec.data[:, unit]
    for k, c in enumerate(conditions):
        for n, (_, b) in enumerate(blocks[blocks["trial_type"] == c].iterrows()):
            ax.axvspan(b["onset"], b["stop"], color=f"C{k}", alpha=0.25, lw=0, label=c if n == 0 else None)
    ax.plot(t_scan, 100 * (signal / signal.mean() - 1), color="k", lw=1)
    ax.set_ylabel("BOLD signal (% of mean)")
    ax.set_title(f"block voxel {tuple(int(v) for v in peak)}: face > house t = {t_map[tuple(peak)]:.2f}, "
                 f"face > others t = {t_others_map[tuple(peak)]:.2f}", fontsize=10)
axes[0].legend(loc="upper right", fontsize=8, ncol=6)
axes[-1].set_xlabel("time (s)")
axes[-1].set_xlim(0, n_scans * tr)
print(f"run time: {time.perf_counter() - start:.1f} s")
plt.show()

# %%
# Reading the map
# ---------------
# The contrast is strong: several clusters pass a Bonferroni correction over about
# 20 000 voxels, with peak t up to about 11. The largest sits near the midline at the back
# and bottom of the block, where early visual cortex or the cerebellum could be (without
# an anatomical scan we cannot tell), and its peak is high in most blocks and low in the
# house blocks: it prefers faces to houses but is barely face-selective (face > others
# t 4.9, just above the threshold). The next one, on the subject's right (scanner x about
# +42 mm), and a smaller one at the same depth on the left (x about -36 mm) are
# face-selective: face > others t of about 11.5 at both peaks; the right one's signal
# is highest in the face blocks, with smaller rises in the body blocks. That pair, on
# the two sides of the ventral temporal cortex with the larger one on the right, is where
# and how the fusiform face area usually appears.
# House > face voxels (cool) are more numerous. What this cannot show: the anatomy (no
# anatomical scan; the coordinates are the scanner's, not a standard space), whether the
# clusters replicate (one run; a localizer is normally defined on some runs and tested on
# others), and the rest of the brain (the package ships only this block).
