"""
Encoding models: which layer predicts each neuron, and each voxel?
==================================================================

**Take-away.** An encoding model predicts every neuron (or voxel) from the features of a
stimulus by cross-validated ridge regression, with the regularisation chosen per unit;
divided by the unit's noise ceiling, its held-out accuracy says what fraction of the
explainable response the features explain. Doing this for every layer of a network maps
the layers onto brain areas (early layers for V1, late ones for IT), and the same model on
fMRI time series, with delayed features, gives a map of where a stimulus is encoded.
"""

# %%
# Three areas see 100 digits, four times each
# -------------------------------------------
# The simulator plants a hierarchy: V1-like units are Gabor filters of the image, V4-like
# units conjunctions of them, IT-like units read a (non-linear) belief about the digit's
# class. The bundled network gives four layers of features for the same images.
import warnings

import matplotlib.pyplot as plt
import numpy as np

from neurotk import NeurotkWarning
from neurotk.datasets import digits_network, simulate_visual_hierarchy
from neurotk.encoding import RidgeCV, map_layers, noise_ceiling
from neurotk.plotting.encoding import plot_pseudo_depth, plot_ridge_path

sim = simulate_visual_hierarchy(random_state=0)
layers = digits_network(random_state=0).activations(sim.images, stimulus_ids=sim.stimulus_ids)
print(sim.recording)
print({name: rec.n_units for name, rec in layers.items()})

# %%
# How much of each neuron's response is explainable?
# --------------------------------------------------
# Repeats of the same image differ by noise alone. The explainable variance (variance of
# the repeat mean over the mean per-repeat variance, bias corrected) is the part of the
# response any model of the stimulus could hope to explain. Expressed for the repeat means
# that the models are tested on (``target="mean"``), it is the ceiling of their R^2.
it = sim.recording.select(units={"area": "IT"})
ceiling = noise_ceiling(it, method="explainable_variance", target="mean")
print(ceiling.to_frame()["ceiling"].describe().round(2))

# %%
# One ridge model per neuron, one alpha per neuron
# ------------------------------------------------
# ``RidgeCV`` chooses the regularisation of each neuron by 5-fold cross-validation over a
# grid of alphas, for all neurons at once. The ridge path shows the cross-validated score
# of each neuron against alpha, and how often each alpha was chosen.
means = it.average("stimulus")
fc2 = layers["fc2"].align(means)
order = np.random.default_rng(0).permutation(means.n_samples)  # stimuli come sorted by digit
train, test = order[:70], order[70:]
model = RidgeCV(alphas=np.logspace(-1, 5, 13), cv=5).fit(fc2.data[train], means.data[train])
raw = model.score_targets(fc2.data[test], means.data[test])
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NeurotkWarning)  # neurons with a near-zero ceiling -> NaN
    fraction = model.score_targets(fc2.data[test], means.data[test], ceiling=ceiling)
print(f"held-out R^2 from fc2: median {np.median(raw):.2f}; as a fraction of the ceiling: "
      f"median {np.nanmedian(fraction):.2f}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_ridge_path(model, ax=axes[0], title="IT neurons from layer fc2")
ceiling.plot(ax=axes[1])
fig.tight_layout()

# %%
# Map every layer onto every area
# -------------------------------
# ``map_layers`` repeats this for every (area, layer) pair by nested cross-validation
# (outer folds score, inner folds choose alpha), normalises each neuron's score by its
# ceiling and bootstraps over neurons. The heatmap outlines each area's best layer; the
# pseudo-depth is the mean index of the neurons' own best layers.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", NeurotkWarning)
    mapping = map_layers(sim.recording, layers, cv=3, inner_cv=3, alphas=np.logspace(-1, 5, 10),
                         n_bootstrap=200, random_state=0)
print(mapping.best[["area", "best_layer", "score", "ci_low", "ci_high", "p_best"]])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
mapping.plot(ax=axes[0], title="encoding score (fraction of the ceiling)")
plot_pseudo_depth(mapping, ax=axes[1], title="pseudo-depth of each area")
fig.tight_layout()

# %%
# Voxelwise: a real functional image and a simulated event design
# ----------------------------------------------------------------
# nibabel ships a small real BOLD image (17 x 21 x 3 voxels of 4 x 4 x 8 mm, TR 2 s).
# We keep its anatomy, voxel grid, mean and noise level per voxel, and plant responses
# to four stimulus categories in two blobs, over three runs of 120 volumes, so the map we
# recover can be checked against the truth. The written runs are read back through
# ``neurotk.io.load_fmri`` as any BOLD file would be.
import tempfile
from pathlib import Path

import nibabel as nib

from neurotk.encoding import delay_features
from neurotk.io import load_fmri, to_nifti
from neurotk.signal import event_regressors

real = nib.load(Path(nib.__file__).parent / "tests" / "data" / "functional.nii")
bold = real.get_fdata()
mean_img, sd_img = bold.mean(axis=3), bold.std(axis=3)
brain = mean_img > np.percentile(mean_img, 40)
rng = np.random.default_rng(0)
tr, n_vol, n_runs, n_cond = 2.0, 120, 3, 4
ii, jj, kk = np.indices(mean_img.shape)
blobs = [((ii - 5) ** 2 + (jj - 7) ** 2 < 10) & brain, ((ii - 11) ** 2 + (jj - 13) ** 2 < 10) & brain]
betas = np.zeros(mean_img.shape + (n_cond,))
betas[blobs[0]] = [3.0, 0.0, 1.5, 0.0]  # % signal change per category: blob 1 likes 0 and 2,
betas[blobs[1]] = [0.0, 3.0, 0.0, 1.5]  # blob 2 likes 1 and 3

folder = Path(tempfile.mkdtemp())
files, designs = [], []
for run in range(n_runs):
    onsets = np.sort(rng.choice(np.arange(0, n_vol * tr - 20, 6.0), size=24, replace=False))
    kinds = rng.permutation(np.repeat(np.arange(n_cond), 6))
    onehot = np.zeros((n_vol, n_cond))  # the stimulus features per TR: which category is on
    onehot[(onsets // tr).astype(int), kinds] = 1.0
    designs.append(onehot)
    response = event_regressors(onsets, 6.0, n_vol, tr, trial_types=kinds, conditions=range(n_cond))
    signal = mean_img[..., None] * (1 + betas @ response.T / 100)
    noise = sd_img[..., None] * rng.normal(size=mean_img.shape + (n_vol,))
    img = nib.Nifti1Image((signal + noise).astype(np.float32), real.affine)
    img.header.set_zooms(real.header.get_zooms()[:3] + (tr,))
    files.append(folder / f"run-{run + 1}_bold.nii.gz")
    nib.save(img, files[-1])

voxels = load_fmri(files, mask=brain)
print(voxels)

# %%
# Delayed features and leave-one-run-out
# --------------------------------------
# The BOLD response lags the stimulus by a few seconds, so the features are the stimulus
# categories delayed by 1 to 4 TRs (a finite-impulse-response model; delays never cross
# a run boundary). fMRI samples are autocorrelated, so alphas are chosen by leaving one
# run out (``cv="run"``), never by shuffled folds. The last run is held out for scoring.
runs = voxels.samples["run"].to_numpy()
features = delay_features(np.vstack(designs), delays=(1, 2, 3, 4), runs=runs)
fit_rows, test_rows = runs < n_runs, runs == n_runs
vox_train = voxels.select(samples=fit_rows)
encoder = RidgeCV(alphas=np.logspace(-1, 4, 11), cv="run").fit(features[fit_rows], vox_train)
score = encoder.score_targets(features[test_rows], voxels.data[test_rows])
score_img = to_nifti(score, voxels, path=folder / "encoding_r2.nii.gz")  # written atomically
truth = np.isin(voxels.units["unit_id"], voxels.units["unit_id"][np.any(betas[brain] != 0, axis=1)])
print(f"held-out R^2: planted voxels {np.median(score[truth]):.2f} (median), others "
      f"{np.median(score[~truth]):.2f}")

# %%
# The score map, slice by slice
# -----------------------------
# Held-out R^2 per voxel over the real mean image: the two planted blobs light up, the
# rest of the brain stays near zero (negative R^2 is worse than predicting the mean).
# Voxels below R^2 = 0.05 are left transparent so the anatomy shows through.
map_data = score_img.get_fdata()
map_data[~(map_data >= 0.05)] = np.nan
fig, axes = plt.subplots(1, 3, figsize=(11, 4))
for k, ax in enumerate(axes):
    ax.imshow(mean_img[:, :, k].T, cmap="gray", origin="lower")
    shown = ax.imshow(np.ma.masked_invalid(map_data[:, :, k]).T, cmap="magma", vmin=0, vmax=0.5,
                      origin="lower", alpha=0.85)
    ax.contour(np.any(betas[:, :, k] != 0, axis=-1).T, levels=[0.5], colors="cyan", linewidths=1)
    ax.set_title(f"slice z = {k} (8 mm)")
    ax.set_xlabel("x (voxel, 4 mm)")
axes[0].set_ylabel("y (voxel, 4 mm)")
fig.colorbar(shown, ax=axes, label="held-out R² (run 3)", shrink=0.8)
fig.suptitle("Voxelwise encoding of stimulus category (cyan: planted responses)")
plt.show()
