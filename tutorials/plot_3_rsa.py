"""
Representational similarity analysis: which network layer looks like IT?
========================================================================

**Take-away.** RSA compares a brain area and a network layer through the geometry of
their responses: each gets a matrix of dissimilarities between stimuli (an RDM), and the
two RDMs are correlated. Bootstrapping subjects and stimuli gives confidence intervals,
and the noise ceiling says how well any model could do given the data's noise.
"""

# %%
# Five subjects see the same 60 digits
# -------------------------------------
# We simulate the same visual hierarchy in five "subjects" (different neurons and noise,
# same images), and keep the category-like area IT.
import matplotlib.pyplot as plt
import numpy as np

from neurotk import rsa
from neurotk.datasets import digits_network, simulate_visual_hierarchy
from neurotk.plotting.rsa import plot_embedding, plot_model_comparison, plot_rdm

first = simulate_visual_hierarchy(n_stimuli=60, random_state=0)
subjects = [first] + [
    simulate_visual_hierarchy(images=first.images, categories=first.categories, random_state=seed)
    for seed in range(1, 5)
]
subject_rdms = rsa.stack_rdms(
    [rsa.rdm(s.area("IT"), metric="correlation") for s in subjects],
    names=[f"subject {k}" for k in range(len(subjects))],
)
print(subject_rdms)

# %%
# RDMs of the network's layers
# ----------------------------
# The bundled network sees the very same images; ``rdm`` works on its layers exactly as
# on the brain, because both are Recordings.
net = digits_network(0)
layers = net.activations(first.images, stimulus_ids=first.stimulus_ids)
layer_rdms = rsa.stack_rdms([rsa.rdm(rec) for rec in layers.values()], names=list(layers))

# %%
# Compare, with confidence intervals and a noise ceiling
# ------------------------------------------------------
# Each layer's RDM is compared with every subject's IT RDM (Spearman correlation); the
# bootstrap resamples subjects and stimuli. The noise ceiling's lower bound correlates
# each subject with the mean of the others: a model inside the grey band is as good as
# the data allow.
result = rsa.bootstrap(subject_rdms, layer_rdms, method="spearman", n_bootstrap=300,
                       resample="both", random_state=0, progress=False)
ceiling = rsa.noise_ceiling(subject_rdms, method="spearman")
table = result.to_frame()
pairs = rsa.compare_models(result, correction="holm")
print(table)
print(ceiling)
print(pairs.head(6))  # pairwise layer differences, Holm-corrected

# %%
# The figure
# ----------
# Left: IT's RDM with the digit classes as coloured bands (dark = similar). Middle: its
# classical MDS embedding, where digits cluster. Right: each layer's score with its 95%
# interval; a star marks layers whose score is reliably above zero.
order = np.argsort(first.categories, kind="stable")
mean_it = rsa.RDM(subject_rdms.vectors.mean(axis=0), subject_rdms.conditions, ["IT (mean of subjects)"],
                  metric="correlation")
fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), constrained_layout=True)
plot_rdm(mean_it.subset(mean_it.conditions[order]), ax=axes[0], categories=first.categories[order], rank=True)
plot_embedding(rsa.classical_mds(mean_it), categories=first.categories, ax=axes[1], title="MDS of IT")
above_zero = table["ci_low"].to_numpy() > 0
plot_model_comparison(table, ax=axes[2], noise_ceiling=(ceiling.lower, ceiling.upper),
                      significant=above_zero, method="spearman", xlabel="network layer",
                      title="Which layer explains IT?")
plt.show()

# %%
# Kernel analysis: how simply do the labels follow from each representation?
# --------------------------------------------------------------------------
# The Neural Representation Benchmark (Cadieu et al. 2013) asks a different question: how
# many kernel principal components does a representation need before the digit classes
# can be read out? ``kernel_analysis`` computes the benchmark's own definition (the best of
# three Gaussian widths at each complexity, KA-AUC = 1 - mean loss over d = 0..n); ``cv=5``
# adds its cross-validated prediction curve (dashed) and the "generalization accuracy",
# the best held-out precision. A higher curve at low complexity is a simpler readout. Here
# (60 digits) IT and the late layer fc2 reach high precision with few components; the
# first layer conv1 fits its training digits nearly as well but predicts held-out digits
# far worse: its readout is complex.
it = subjects[0].area("IT").average("stimulus")
digit = it.samples["category"].to_numpy()
fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
for name, rep in [("IT", it), ("conv1", layers["conv1"]), ("fc2", layers["fc2"])]:
    rep = rep.align(it, on="stimulus")  # the same stimuli in the same order as IT's labels
    ka = rsa.kernel_analysis(rep.data, digit, cv=5, random_state=0)
    print(f"{name:>6}: KA-AUC {ka.auc:.3f}, cross-validated AUC {ka.cv_auc:.3f}, "
          f"generalization {ka.generalization:.3f}")
    ka.plot(ax=ax, label=f"{name}, KA-AUC = {ka.auc:.3f}")
ax.set_title("Kernel analysis of the digit classes")
plt.show()
