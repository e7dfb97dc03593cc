"""
The classic: human and monkey IT see the same categories
========================================================

**Take-away.** Kriegeskorte et al. (2008, Neuron 60:1126) showed 92 images of faces,
bodies and objects to humans (fMRI of inferior temporal cortex, hIT) and monkeys (674
IT neurons, mIT) and found that the two species' representational dissimilarity
matrices (RDMs) agree, both dominated by an animate / inanimate split. The same data ship
with neurotk: here the agreement is measured (Kendall's tau-a), the RDMs are shown with
their categories, the toolbox's model RDMs and the layers of a real pretrained network
(the O-Net of MTCNN, a face detector) are scored against the 4 human subjects with
bootstrap intervals, and the noise ceiling says how far each is from the best any model
could do. The printed numbers are the ones the text discusses.
"""

# %%
# The 92 images and their categories
# ----------------------------------
# ``load_92_objects`` returns the original RDMs (correlation distance ``1 - r``) in the
# original condition order, the 4 subjects x 2 sessions of human IT, the category labels
# and the images, downsampled from 175 x 175 to 64 x 64 pixels so that the package stays
# small. Nothing is downloaded.
import time

import matplotlib.pyplot as plt
import numpy as np

from neurotk import rsa
from neurotk.datasets import load_92_objects, pretrained_onet
from neurotk.plotting.rsa import plot_model_comparison, plot_rdm

start = time.perf_counter()
data = load_92_objects()
print(data)
print(data.meta["citation"])
cats = data.categories
print(cats["category"].value_counts().to_string())

# The images are already grouped by category (0-11 human bodyparts, 12-23 human faces, ...).
side = data.images.shape[1]
padded = np.concatenate([data.images, np.full((96 - 92, side, side, 3), 255, dtype=np.uint8)])  # 8 rows of 12
grid = padded.reshape(8, 12, side, side, 3).transpose(0, 2, 1, 3, 4).reshape(8 * side, 12 * side, 3)
fig, ax = plt.subplots(figsize=(9, 6.2), constrained_layout=True)
ax.imshow(grid)
ax.set_xticks([])
ax.set_yticks([])
ax.set_title("the 92 stimuli, in the original order (64 x 64 pixels each, read left to right)")

# %%
# Human IT and monkey IT agree
# ----------------------------
# Kendall's tau-a compares the two RDMs' rank orders of the 4186 image pairs (it counts
# tied pairs as zero, which is fair to the categorical models below, which predict many
# ties). A stimulus-label permutation test asks whether the agreement could be chance.
hit, mit = data.rdms["hIT"], data.rdms["mIT"]
tau = rsa.compare(hit, mit, method="kendall")
perm = rsa.permutation_test(hit, mit, method="kendall", n_permutations=500, random_state=0)
print(f"hIT vs mIT: Kendall tau-a = {tau:.3f}, permutation p = {perm.p_values[0]:.4f} "
      f"(500 permutations; the smallest possible p is {1 / 501:.4f})")

# How categorical are they? The mean dissimilarity between two animate images, between
# two inanimate images, and across the animate / inanimate boundary.
animate = cats["animate"].to_numpy()
upper = np.triu_indices(len(animate), 1)
same_a = animate[upper[0]] & animate[upper[1]]
same_i = ~animate[upper[0]] & ~animate[upper[1]]
across = animate[upper[0]] != animate[upper[1]]
for name, rdm in (("hIT", hit), ("mIT", mit)):
    v = rdm.vectors[0]
    print(f"{name}: mean 1 - r within animate {v[same_a].mean():.3f}, within inanimate "
          f"{v[same_i].mean():.3f}, across {v[across].mean():.3f}; tau-a with the animacy model "
          f"{rsa.compare(rdm, data.rdms['animacy'], method='kendall'):.3f}")

# %%
# The RDMs, as ranks (percentiles of the dissimilarity, the paper's display), with the
# six categories as coloured bands. Both show the dark (similar) animate block in the
# upper left, with the faces (human and nonhuman) as the darkest blocks inside it, and the
# inanimate images dissimilar from the animate ones (bright off-diagonal blocks).
short = cats["category"].str.replace(" inanimate", "").str.replace("bodypart", "body").to_numpy()
fig, axes = plt.subplots(1, 2, figsize=(12, 6), constrained_layout=True)
plot_rdm(hit, ax=axes[0], categories=short, rank=True, title="human IT (fMRI, 316 voxels, 4 subjects)")
plot_rdm(mit, ax=axes[1], categories=short, rank=True, title="monkey IT (674 neurons; Kiani et al. 2007)")
for ax in axes:
    ax.tick_params(axis="x", labelrotation=90)
    ax.set_xlabel("image (grouped by category)")
    ax.set_ylabel("image")
fig.suptitle(f"dissimilarity (percentile of 1 - r): hIT vs mIT Kendall tau-a = {tau:.3f}")

# %%
# The noise ceiling comes from the 4 subjects
# -------------------------------------------
# ``data.rdms["hIT"]`` is the mean of the 8 subject x session RDMs in ``data.subjects``,
# so it cannot also serve to estimate the noise. Each subject's two sessions are averaged
# into one RDM per subject; the ceiling's lower bound correlates each subject with the
# mean of the other three, the upper bound with the mean of all four (rank-transformed
# first, as for Kendall's tau-a). A model inside the band is as good as these 4 subjects'
# noise allows.
subject_of = data.subjects.descriptors["subject"].to_numpy()
names = list(dict.fromkeys(subject_of))
subjects = rsa.RDM(np.vstack([data.subjects.vectors[subject_of == s].mean(axis=0) for s in names]),
                   data.conditions, names)
ceiling = rsa.noise_ceiling(subjects, method="kendall")
per_session = rsa.noise_ceiling(data.subjects, method="kendall")
print(f"noise ceiling (Kendall tau-a, 4 subjects): lower {ceiling.lower:.3f}, upper {ceiling.upper:.3f}")
print(f"(from the 8 single sessions instead: lower {per_session.lower:.3f}, upper {per_session.upper:.3f}: "
      f"one session is noisier than two)")

# %%
# A real pretrained network on the same images
# --------------------------------------------
# ``pretrained_onet`` is the output stage of MTCNN (Zhang et al. 2016), a face detector
# trained on tight face crops, with its pretrained weights and a numpy forward pass. It
# resizes the 64 x 64 images to its 48 x 48 input. Its layers' activations are
# Recordings, so their RDMs are made exactly like the brain's (correlation distance; the
# one-unit face probability gets the absolute difference). First a sanity check: is its
# face probability higher on the 24 face images?
net = pretrained_onet()
acts = net.activations(data.images, stimulus_ids=data.conditions)
face = cats["face"].to_numpy()
p_face = acts["face_prob"].data[:, 0]
print(f"O-Net face probability: faces {p_face[face].mean():.3f}, other images {p_face[~face].mean():.3f}")
layer_rdms = rsa.stack_rdms(
    [rsa.rdm(rec, metric="euclidean" if rec.n_units == 1 else "correlation") for rec in acts.values()],
    names=list(acts))
print(layer_rdms)

fig, ax = plt.subplots(figsize=(8, 3.8), constrained_layout=True)
order = list(dict.fromkeys(short))
for k, c in enumerate(order):
    vals = p_face[short == c]
    ax.scatter(np.full(vals.size, k) + np.linspace(-0.15, 0.15, vals.size), vals, s=14, color=f"C{k}")
    ax.hlines(vals.mean(), k - 0.3, k + 0.3, color="k", lw=2)
ax.set_xticks(range(len(order)), order, rotation=20)
ax.set_ylabel("O-Net face probability")
ax.set_xlabel("image category")
ax.set_title("O-Net face probability per image (black: category mean)")
print("mean face probability per category:",
      ", ".join(f"{c} {p_face[short == c].mean():.3f}" for c in order))

# %%
# Higher on faces, but weakly, and not only on faces: the human bodypart images average
# about as high as the human faces, through a few images scored near 1, and most faces
# score near 0. Whole images of heads, bodies and objects on a plain background are not
# the tight face crops the O-Net was trained on (in MTCNN it only sees windows that two
# earlier stages proposed), so do not read its face probability here as a face
# detector's verdict.

# %%
# Which model, which layer comes closest to human IT?
# ---------------------------------------------------
# Every candidate RDM is scored as the mean over the 4 subjects of its Kendall tau-a
# with each subject's RDM. The toolbox's model RDM ``monkeyIT`` is the same RDM as
# ``mIT`` (checked below), so it is scored once, as mIT. The bootstrap resamples both
# subjects and images (``resample="both"``), so the intervals cover generalisation to
# new subjects and new images of these categories.
print("monkeyIT model RDM identical to mIT:", np.array_equal(data.rdms["monkeyIT"].vectors, mit.vectors))
model_names = [n for n in data.rdms if n not in ("hIT", "monkeyIT")]
candidates = rsa.stack_rdms([data.rdms[n] for n in model_names] + [layer_rdms],
                            names=model_names + [f"O-Net {n}" for n in layer_rdms.names])
result = rsa.bootstrap(subjects, candidates, method="kendall", n_bootstrap=200, resample="both",
                       random_state=0, progress=False)
table = result.to_frame()
print(table.round(3).to_string(index=False))
# Differences come from the same bootstrap samples (paired): the interval of the
# difference between two candidates, or between a candidate and the lower ceiling.
# These two comparisons were chosen after looking at the scores, so their intervals are
# uncorrected and descriptive.
pairs = rsa.compare_models(result, correction="none", noise_ceiling_lower=ceiling.lower)
best = table.sort_values("score", ascending=False).iloc[0]
best_layer = table[table["model"].str.startswith("O-Net")].sort_values("score", ascending=False).iloc[0]
vs_ceiling = pairs[(pairs["model_a"] == best["model"]) & (pairs["model_b"] == "noise_ceiling_lower")].iloc[0]
vs_layer = pairs[(pairs["model_a"] == best["model"]) & (pairs["model_b"] == best_layer["model"])].iloc[0]
print(f"closest model: {best['model']} (tau-a {best['score']:.3f}, 95% CI {best['ci_low']:.3f} to "
      f"{best['ci_high']:.3f}); minus the lower ceiling: {vs_ceiling['difference']:.3f} "
      f"(95% CI {vs_ceiling['ci_low']:.3f} to {vs_ceiling['ci_high']:.3f})")
print(f"closest O-Net layer: {best_layer['model']} (tau-a {best_layer['score']:.3f}, 95% CI "
      f"{best_layer['ci_low']:.3f} to {best_layer['ci_high']:.3f}), {best_layer['score'] / ceiling.lower:.0%} "
      f"of the lower ceiling; {best['model']} minus {best_layer['model']}: {vs_layer['difference']:.3f} "
      f"(95% CI {vs_layer['ci_low']:.3f} to {vs_layer['ci_high']:.3f})")

fig, ax = plt.subplots(figsize=(12, 4.8), constrained_layout=True)
plot_model_comparison(table, ax=ax, noise_ceiling=(ceiling.lower, ceiling.upper),
                      significant=table["ci_low"].to_numpy() > 0, method="kendall",
                      xlabel="model RDM (left) and O-Net layer (right)",
                      title="How well does each RDM explain human IT? (mean over 4 subjects, 95% bootstrap CI; "
                            "*: interval above 0)")
ax.set_ylabel("Kendall tau-a with a subject's hIT RDM")
ax.tick_params(axis="x", labelrotation=30)
plt.show()

# %%
# The O-Net against monkey IT
# ---------------------------
# Monkey IT is one RDM (no subjects, so no ceiling), but it is less noisy than one human
# subject: the O-Net's layers compared with it directly.
mit_scores = rsa.compare(mit, layer_rdms, method="kendall")[0]
print("O-Net layers vs mIT, Kendall tau-a:",
      ", ".join(f"{n} {s:.3f}" for n, s in zip(layer_rdms.names, mit_scores)))
print(f"run time: {time.perf_counter() - start:.1f} s")

# %%
# Reading the numbers
# -------------------
# Human and monkey IT agree far beyond chance (tau-a 0.304, with the permutation test's
# smallest possible p), and both put the animate / inanimate boundary first: two animate
# or two inanimate images are more alike, in both species, than an animate and an
# inanimate one. Against the 4 human subjects, the plain categorical animacy model and
# monkey IT come closest (tau-a 0.22 and 0.20). Both lie below the lower noise ceiling
# (0.25), but the interval of the difference (animacy minus the ceiling, -0.03, 95% CI
# -0.11 to 0.07) includes zero: with 4 subjects we cannot tell whether a better model of
# human IT exists than a two-category one. The early-vision models (V1, RADON,
# silhouette) are near zero. The O-Net's layers rise from conv1 to conv4 (0.11, 43% of the
# lower ceiling, reliably below the animacy model: difference 0.11, 95% CI 0.03 to 0.20)
# and fall again at fc5 and the face probability, the stages most specialised for its
# task. A face detector's late stages are not a model of IT's categories; its middle
# stages carry some of IT's structure, more so against monkey IT (conv4: 0.185). Scored
# against ``data.rdms["hIT"]`` instead of the subjects, every number is higher (the mean
# of 8 RDMs is less noisy than one subject's) and not comparable with the ceiling: score
# against the subjects, as here.
