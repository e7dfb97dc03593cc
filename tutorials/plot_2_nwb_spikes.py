"""
Spikes from an NWB file: binning, stimulus-aligned counts and PSTHs
===================================================================

**Take-away.** An NWB file keeps every unit's spike times and the times of every stimulus
presentation; neurotk reads them lazily and turns them into Recordings, either time bins
x units (for a population raster) or presentations x units (for tuning and for comparing
with a network). Peri-stimulus time histograms, averaged per digit, show which units
respond to every image alike and which tell the digits apart.
"""

# %%
# Write a session, then open it as any NWB file
# ---------------------------------------------
# ``make_demo_session`` writes a genuine NWB 2 file (it validates with pynwb): a
# ``Units`` table with spike times of 144 units in three simulated areas, and the
# presentations of 100 digit images, 4 repeats each, as an intervals table. A lab's own
# file is opened the same way. Nothing is read until it is needed.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from neurotk.datasets import make_demo_session
from neurotk.io import bin_spikes, count_spikes, psth, read_spikes

path = make_demo_session(Path(tempfile.mkdtemp()) / "session.nwb", random_state=0)
spikes = read_spikes(path)
print(spikes.units.head())
print(f"{spikes.n_units} units, {spikes.n_spikes:,} spikes, intervals: {spikes.interval_names}")
presentations = spikes.intervals("stimulus_presentations")
print(presentations.head())

# %%
# A population raster
# -------------------
# ``bin_spikes`` counts the spikes of every unit in 10 ms bins: a Recording of time bins
# x units. Shown for the first 8 s, units sorted by area, with the image presentations
# shaded: responses follow each image onset, and the blank gaps are quieter.
binned = bin_spikes(spikes, 0.01, start=0.0, stop=8.0)
rate = binned.data / 0.01  # spikes per second
fig, ax = plt.subplots(figsize=(10, 4.5))
image = ax.imshow(rate.T, aspect="auto", cmap="Greys", vmax=np.percentile(rate, 99),
                  extent=[0, 8, spikes.n_units, 0], interpolation="nearest")
shown = presentations[presentations["start_time"] < 8]
for start, stop in zip(shown["start_time"], shown["stop_time"]):
    ax.axvspan(start, stop, color="C1", alpha=0.15, lw=0)
areas = binned.units["area"].to_numpy()
edges = np.flatnonzero(areas[1:] != areas[:-1]) + 1
ax.hlines(edges, 0, 8, color="C0", lw=1)
ax.set_yticks([(a + b) / 2 for a, b in zip([0, *edges], [*edges, len(areas)])],
              [areas[k] for k in [0, *edges]])
ax.set_xlabel("time (s)")
ax.set_ylabel("unit (by area)")
ax.set_title("Population raster, 10 ms bins (orange: image on screen)")
fig.colorbar(image, ax=ax, label="firing rate (spikes/s)")

# %%
# Peri-stimulus time histograms by digit
# --------------------------------------
# ``psth`` aligns the bins to every presentation onset and, with ``by="category"``,
# averages the trials of each digit. A V1-like unit's response depends on the pixels of
# each image more than on its digit, so the ten curves overlap; an IT-like unit's
# response depends on which digit it sees. (The simulation has no response latency:
# rates step up at the onset, where real neurons lag by 30-100 ms.)
curves = psth(spikes, window=(-0.1, 0.4), bin_size=0.01, by="category", rate=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
for ax, area in zip(axes, ["V1", "IT"]):
    unit = int(np.flatnonzero(curves.units["area"] == area)[0])
    for digit in range(10):
        rows = (curves.samples["category"] == digit).to_numpy()
        ax.plot(curves.samples["time"][rows] + 0.005, curves.data[rows, unit],
                color=plt.cm.tab10(digit), label=str(digit))
    ax.axvspan(0, 0.25, color="0.9", zorder=0)
    ax.set_title(f"{area} unit {curves.units['unit_id'].iloc[unit]}")
    ax.set_xlabel("time from image onset (s)")
axes[0].set_ylabel("firing rate (spikes/s)")
axes[1].legend(title="digit", ncol=2, fontsize="small")
fig.tight_layout()

# %%
# Counts per presentation, aligned to the stimuli
# -----------------------------------------------
# For tuning and for comparing with a network, each presentation becomes one sample:
# ``count_spikes`` counts every unit's spikes in a window after each onset. Averaging the
# repeats gives one row per image, which ``align`` puts in the order of any other
# Recording of the same images, such as a network layer.
counts = count_spikes(spikes, intervals="stimulus_presentations", window=(0.05, 0.25), rate=True)
means = counts.average("stimulus")
print(counts)
order = np.argsort(means.samples["category"].to_numpy(), kind="stable")
fig, ax = plt.subplots(figsize=(10, 4))
image = ax.imshow(means.data[order].T, aspect="auto", cmap="viridis", interpolation="nearest")
ax.hlines(edges - 0.5, -0.5, means.n_samples - 0.5, color="w", lw=1)
ax.set_yticks([(a + b) / 2 for a, b in zip([0, *edges], [*edges, len(areas)])],
              [areas[k] for k in [0, *edges]])
cats = means.samples["category"].to_numpy()[order]
starts = np.flatnonzero(np.r_[True, cats[1:] != cats[:-1]])
ax.set_xticks(starts + 4.5, [str(c) for c in cats[starts]])
ax.set_xlabel("image (sorted by digit)")
ax.set_ylabel("unit (by area)")
ax.set_title("Mean rate 50-250 ms after onset: IT units respond in blocks of one digit")
fig.colorbar(image, ax=ax, label="firing rate (spikes/s)")
plt.show()
