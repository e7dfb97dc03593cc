"""
The Recording: one data model for brains and networks
=====================================================

**Take-away.** Spikes from a brain area and activations of a network layer become the same
object, a Recording: a samples x units array with a table describing each sample and a
table describing each unit. Selecting an area, averaging repeats and lining up stimuli are
one-line operations, so comparing a network to cortex starts with two Recordings that
match sample for sample.
"""

# %%
# Simulate an experiment with known ground truth
# ----------------------------------------------
# Three visual areas of increasing abstraction (V1-like, intermediate, category-like)
# respond to handwritten digits from scikit-learn, each image shown several times.
# Responses are spike counts with Poisson noise.
import matplotlib.pyplot as plt
import numpy as np

import neurotk
from neurotk.datasets import digits_network, simulate_visual_hierarchy

sim = simulate_visual_hierarchy(random_state=0)
brain = sim.recording
print(brain)

# %%
# The two tables say what each row and column is.
print(brain.samples.head())
print(brain.units.head())

# %%
# Select an area and average the repeats
# --------------------------------------
# ``select`` takes a query string or a dict; ``average`` groups samples by a column of
# the samples table. The result keeps the columns that are constant per stimulus (here
# the digit ``category``) and counts how many presentations went into each mean.
v1 = brain.select(units={"area": "V1"}).average(by="stimulus")
it = brain.select(units="area == 'IT'").average(by="stimulus")
print(v1)

# %%
# A network is just another recording
# -----------------------------------
# The bundled network is trained on the digits in a few seconds. Its activations to the
# very same images come back as one Recording per layer, with ``source="model"`` in the
# units table.
net = digits_network(random_state=0)
layers = net.activations(sim.images, stimulus_ids=sim.stimulus_ids)
first, last = layers[net.layers[0]], layers[net.layers[-1]]
print(first)

# %%
# ``align`` puts the layer's samples in the same stimulus order as the brain data (and
# raises an error listing any stimulus that is missing), so the two can be compared row
# by row, or joined into one Recording.
first = first.align(v1)
joined = neurotk.concat([v1, first], axis="units", relabel=True)
print(joined.units["source"].value_counts())

# %%
# Look at the population responses
# --------------------------------
# Stimuli sorted by digit: the category-like area shows blocks (all images of a digit
# evoke similar responses); the V1-like area does not. Each area is z-scored per unit so
# the colours compare across units.
order = np.argsort(v1.samples["category"].to_numpy(), kind="stable")
fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
panels = [
    (v1.zscore(), "V1-like area (brain)"),
    (it.zscore(), "category-like area IT (brain)"),
    (layers[net.layers[-2]].align(v1).zscore(), f"network layer {net.layers[-2]!r}"),
]
for ax, (rec, title) in zip(axes, panels):
    image = ax.imshow(rec.data[order], aspect="auto", cmap="RdBu_r", vmin=-3, vmax=3, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel("unit")
    labels = rec.samples["category"].to_numpy()[order] if "category" in rec.samples else v1.samples["category"].to_numpy()[order]
    ticks = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
    ax.set_yticks(ticks, [f"digit {labels[t]}" for t in ticks])
axes[0].set_ylabel("stimulus (sorted by digit)")
fig.colorbar(image, ax=axes, label="response (z-score per unit)")
plt.show()
