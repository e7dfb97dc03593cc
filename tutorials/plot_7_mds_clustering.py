"""
Most discriminative stimuli: functional cell types from a model of the responses
================================================================================

**Take-away.** MDS clustering (Burg et al., ICLR 2024) types neurons through a predictive
model, alternating between optimising one image per cluster that drives that cluster's
neurons more than the other clusters' images do and moving every neuron to the image it
prefers, and splitting clusters from one upward for as long as a split separates two
groups. Its result is a handful of images, one picture of each type, that type new neurons
from a single presentation of each, where clustering raw responses needs each new neuron's
responses to the whole stimulus set.
"""

# %%
# Five planted cell types
# -----------------------
# ``simulate_cell_types`` plants linear-nonlinear neurons of a few functional types: each
# type has a smooth filter (a Gabor or a centre-surround difference of Gaussians), and each
# neuron is a slightly jittered copy of its type's filter with its own gain and bias.
# 300 neurons of 5 types see 1,500 smoothed white-noise images of 16 x 16 pixels and
# answer with Poisson spike counts. The labels are the ground truth we try to recover.
import time
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from neurotk.clustering import GaussianMixtureClustering, KMeansClustering, LNModel, MDSClustering
from neurotk.datasets import simulate_cell_types
from neurotk.plotting.clustering import plot_mds_stimuli, plot_objective, plot_response_matrix

start = time.perf_counter()
N_TYPES, SHAPE = 5, (16, 16)
sim = simulate_cell_types(n_neurons=300, n_types=N_TYPES, image_shape=SHAPE, n_stimuli=1500,
                          noise="poisson", random_state=0)
print(sim.responses)
print(sim.type_params[["type", "kind", "theta", "wavelength", "polarity"]].round(2).to_string(index=False))

fig, axes = plt.subplots(1, N_TYPES + 1, figsize=(12, 2.6), constrained_layout=True)
axes[0].imshow(sim.stimuli[0], cmap="gray")
axes[0].set_title("a stimulus", fontsize=9)
limit = np.abs(sim.type_filters).max()
for t, ax in enumerate(axes[1:]):
    image = ax.imshow(sim.type_filters[t], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"planted type {t} ({sim.type_params['kind'][t]})", fontsize=9)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(image, ax=list(axes[1:]), shrink=0.8, label="filter weight")

# %%
# A predictive model, checked on held-out images
# ----------------------------------------------
# MDS clustering works on a model, not on the data: it needs each neuron's predicted
# response to *any* image and its gradient. ``LNModel`` fits a linear filter per neuron
# (ridge plus a smoothness penalty, the penalty chosen per neuron by generalised
# cross-validation) and then a softplus output nonlinearity on the Poisson likelihood.
# We fit it on 1,200 images and test it on the other 300: against the measured counts
# the correlation is limited by the Poisson noise; against the noiseless rates (which
# only a simulation knows) it shows how close the model is to the truth.
train, test = np.arange(1200), np.arange(1200, 1500)
model = LNModel().fit(sim.stimuli[train], sim.responses.data[train])
r_counts = model.score(sim.stimuli[test], sim.responses.data[test])
r_rates = model.score(sim.stimuli[test], sim.rates[test])
print(model)
print(f"held-out correlation, median over neurons: with the counts {np.median(r_counts):.2f}, "
      f"with the true rates {np.median(r_rates):.2f}")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), constrained_layout=True,
                         gridspec_kw={"width_ratios": [2, 1, 1]})
bins = np.linspace(0, 1, 41)
axes[0].hist(r_counts, bins=bins, alpha=0.7, label="vs measured counts")
axes[0].hist(r_rates, bins=bins, alpha=0.7, label="vs true rates")
axes[0].set_xlabel("held-out correlation (300 images)")
axes[0].set_ylabel("number of neurons")
axes[0].legend(loc="upper left", fontsize=8)
neuron = 0
for ax, filt, title in ((axes[1], sim.filters[neuron], "true filter"),
                        (axes[2], model.filters_[neuron], "LN model's filter")):
    ax.imshow(filt, cmap="RdBu_r", vmin=-np.abs(filt).max(), vmax=np.abs(filt).max())
    ax.set_title(f"neuron {neuron}: {title}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])

# %%
# MDS clustering, with the number of clusters found by splitting
# --------------------------------------------------------------
# With ``n_clusters=None`` the clustering starts from one cluster, whose stimulus is the
# population's most exciting image, and tries to split clusters in two. After each split
# the EM-like alternation re-optimises all stimuli (gradient ascent on the mean
# log-probability that a neuron's own cluster's stimulus drives it most, a softmax over
# the clusters' stimuli) and reassigns the neurons. A split is kept when the two halves'
# neurons are separated along their discriminating response by at least
# ``min_separation`` (7.5) pooled standard deviations: two types give two clean groups,
# one type cut in two gives a continuum. Splitting stops when no tried split pays.
mds = MDSClustering(n_clusters=None, random_state=0).fit(model)
print(mds)
print(mds.splits_.round(3).to_string())
print("clusters found by each restart:", mds.restart_n_clusters_)

# %%
# The objective during the fit (left) rises within each number of clusters and drops when
# a split adds a competitor; with K = 1 it is 0 by construction (every neuron's only
# stimulus is its own). The K = 6 stretch holds the three rejected tries at a sixth
# cluster (each sharp drop starts one), after which the fit returns to its five clusters
# for a last round of EM. On the right, every split tried: the separation of the two halves,
# against the threshold. The first split's separation is infinite: the discriminating
# contrast is bounded by +-1 and reaches it for every neuron, each driven above its mean
# by its own stimulus and below by the other, so the two groups do not overlap at all.
splits = mds.splits_
sep = splits["separation"].to_numpy(dtype=float)
finite_top = np.nanmax(sep[np.isfinite(sep)]) if np.isfinite(sep).any() else 10.0
shown = np.where(np.isfinite(sep), sep, 2.0 * finite_top)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), constrained_layout=True,
                         gridspec_kw={"width_ratios": [3, 2]})
plot_objective(mds, ax=axes[0])
axes[0].set_title("MDS objective of the chosen restart", pad=14)
colours = np.where(splits["accepted"], "C2", "C3")
axes[1].bar(np.arange(len(splits)), shown, color=colours)
for i, (value, ok) in enumerate(zip(sep, splits["accepted"])):
    axes[1].text(i, shown[i] * 1.08, "inf" if not np.isfinite(value) else f"{value:.1f}",
                 ha="center", fontsize=8)
axes[1].axhline(mds.min_separation, color="0.3", ls="--", lw=1)
axes[1].text(len(splits) - 0.5, mds.min_separation * 1.1, f"min_separation = {mds.min_separation}",
             ha="right", fontsize=8, color="0.3")
axes[1].set_yscale("log")
axes[1].set_ylim(1, shown.max() * 2.5)
axes[1].set_xticks(np.arange(len(splits)))
axes[1].set_xticklabels([f"{k - 1}->{k}\n(split {p})" for k, p in zip(splits["n_clusters"], splits["parent"])],
                        fontsize=8)
axes[1].set_xlabel("split tried: clusters before -> after (cluster split)")
axes[1].set_ylabel("separation of the halves (d')")
axes[1].set_title("split decisions (green kept, red rejected)")

# %%
# Each cluster's most discriminative stimulus
# -------------------------------------------
# Top row: the learned stimulus of each cluster; bottom row: the planted filter of the
# type most of the cluster's neurons belong to, with the correlation between the two. A
# discriminative stimulus resembles its type's filter but is not a copy of it: it also
# steers away from what drives the other types.
k = mds.n_clusters_
majority = np.array([np.bincount(sim.labels[mds.labels_ == c], minlength=N_TYPES).argmax()
                     for c in range(k)])
stim = (mds.stimuli_ - mds.centre_).reshape(k, -1)
corr = np.array([np.corrcoef(s, sim.type_filters[t].ravel())[0, 1] for s, t in zip(stim, majority)])
for c in range(k):
    purity = np.mean(sim.labels[mds.labels_ == c] == majority[c])
    print(f"cluster {c}: {np.sum(mds.labels_ == c)} neurons, {purity:.0%} of planted type {majority[c]}, "
          f"stimulus-filter correlation {corr[c]:.2f}")

fig, axes = plt.subplots(2, k, figsize=(2.1 * k + 1.2, 4.6), constrained_layout=True, squeeze=False)
plot_mds_stimuli(mds, axes=axes[0])
limit = np.abs(sim.type_filters).max()
for c, ax in enumerate(axes[1]):
    image = ax.imshow(sim.type_filters[majority[c]], cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.set_title(f"planted type {majority[c]}, r = {corr[c]:.2f}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
axes[0, 0].set_ylabel("MDS stimulus")
axes[1, 0].set_ylabel("planted filter")
fig.colorbar(image, ax=list(axes[1]), shrink=0.8, label="filter weight")

# %%
# The response matrix, neurons sorted by cluster
# ----------------------------------------------
# Every neuron's predicted response to every cluster's stimulus, in units of its standard
# deviation on typical images. The block diagonal is the clustering: each block of neurons
# responds strongly to its own stimulus and weakly (often below its mean) to the others.
ax = mds.plot(title="predicted responses to the MDS stimuli")
ax.figure.set_size_inches(8, 3.2)

# %%
# Against the planted types, and against the baselines
# ----------------------------------------------------
# The adjusted Rand index (ARI) is 1 for a perfect recovery and about 0 for chance. The
# usual model-free baselines cluster the neurons' response profiles (z-scored, reduced by
# PCA) with k-means or a Gaussian mixture, either told the number of types or choosing it
# (silhouette for k-means, BIC for the mixture; MDS chose it by splitting).
#
# (The baselines run on one thread: for problems this small, BLAS/OpenMP threads only add
# overhead, 20-30x on a busy two-core machine.)
data = sim.responses.data[train]
with threadpool_limits(limits=1):
    baselines = {
        "k-means, K given": KMeansClustering(n_clusters=N_TYPES).fit(data),
        "k-means, K by silhouette": KMeansClustering(max_clusters=8).fit(data),
        "GMM, K given": GaussianMixtureClustering(n_clusters=N_TYPES).fit(data),
        "GMM, K by BIC": GaussianMixtureClustering(max_clusters=8).fit(data),
    }
scores = {"MDS, K by splitting": (mds.n_clusters_, adjusted_rand_score(sim.labels, mds.labels_))}
for name, est in baselines.items():
    scores[name] = (est.n_clusters_, adjusted_rand_score(sim.labels, est.labels_))
for name, (n, score) in scores.items():
    print(f"{name:26s} K = {n}   ARI = {score:.3f}")

# %%
# Be honest about this table: on this simulation, with 1,200 presentations per neuron,
# the planted types are so distinct that clustering the raw responses recovers them as
# well as MDS does: k-means ties with MDS whether it is told K or picks it by the
# silhouette, and so does the mixture when told K. Only the mixture choosing K by its BIC
# over-splits (it picks the largest K allowed), where MDS's split test stopped at the
# planted five. What the model buys is shown next.

# %%
# Typing new neurons on the fly
# -----------------------------
# The experimenter's use case: a new session records new neurons of the same types, and
# there is time for a few presentations only. Simulating again with the same seed draws
# the same planted types first (checked below) and then other neurons (another number of
# them, other jitter, gains and biases). Each new neuron sees each of the K learned
# stimuli once, and ``predict`` assigns it to the stimulus it responds to most.
new = simulate_cell_types(n_neurons=200, n_types=N_TYPES, image_shape=SHAPE, n_stimuli=10,
                          noise="poisson", random_state=0)
assert np.allclose(new.type_filters, sim.type_filters)  # same types, other neurons
rng = np.random.default_rng(1)
measured = rng.poisson(new.predict(mds.stimuli_)).astype(float)  # (K stimuli, 200 neurons), 1 repeat
new_labels = mds.predict(measured)
ari_new = adjusted_rand_score(new.labels, new_labels)

# The same budget spent on K random images from the training set: k-means on the old
# neurons' responses to them, then the new neurons typed from one presentation of each
# (20 different draws of the K images, since one draw can be lucky or unlucky).
ari_random = []
with threadpool_limits(limits=1):
    for _ in range(20):
        pick = rng.choice(train, size=k, replace=False)
        km_random = KMeansClustering(n_clusters=N_TYPES).fit(sim.responses.data[pick])
        typed = km_random.predict(rng.poisson(new.predict(sim.stimuli[pick])))
        ari_random.append(adjusted_rand_score(new.labels, typed))
    ari_random = np.array(ari_random)
    # And k-means with its whole stimulus set: 1,200 presentations per new neuron.
    km_all = baselines["k-means, K given"]
    ari_all = adjusted_rand_score(new.labels, km_all.predict(rng.poisson(new.predict(sim.stimuli[train]))))
print(f"new neurons typed from {k} presentations of the MDS stimuli: ARI = {ari_new:.3f}")
print(f"new neurons typed from {k} presentations of random images (k-means, 20 draws): ARI = "
      f"{ari_random.mean():.3f} (range {ari_random.min():.3f} to {ari_random.max():.3f})")
print(f"new neurons typed from {len(train)} presentations (k-means on all images): ARI = {ari_all:.3f}")

# %%
# The figure
# ----------
# Left: the new neurons' measured spike counts to the K learned stimuli, one presentation
# each, sorted by the type ``predict`` gave them; the block diagonal is there in raw
# counts. Right: how well new neurons are typed for a given number of presentations: the
# K MDS stimuli do as well as k-means given 1,200 presentations per neuron, while K
# random images (mean and range over 20 draws) type the new neurons poorly.
fig, axes = plt.subplots(1, 2, figsize=(13, 4), constrained_layout=True,
                         gridspec_kw={"width_ratios": [3, 2]})
plot_response_matrix(SimpleNamespace(labels_=new_labels), ax=axes[0], responses=measured,
                     title=f"{new.labels.size} new neurons, one presentation of each MDS stimulus")
axes[0].images[0].colorbar.set_label("spike count")
names = [f"MDS stimuli\n({k} presentations)", f"random images\n({k} presentations)",
         f"all images\n({len(train)} presentations)"]
values = [ari_new, ari_random.mean(), ari_all]
axes[1].bar(np.arange(3), values, color=["C0", "C7", "C1"])
axes[1].errorbar(1, values[1], yerr=[[values[1] - ari_random.min()], [ari_random.max() - values[1]]],
                 fmt="none", color="k", capsize=4)
for i, v in enumerate(values):
    axes[1].text(i + 0.05, v + 0.02, f"{v:.2f}", ha="left" if i == 1 else "center", fontsize=9)
axes[1].set_xticks(np.arange(3))
axes[1].set_xticklabels(names, fontsize=9)
axes[1].set_ylim(0, 1.12)
axes[1].set_ylabel("ARI of the new neurons' types")
axes[1].set_title("typing new neurons: ARI against the planted types")
print(f"tutorial ran in {time.perf_counter() - start:.1f} s")
plt.show()
