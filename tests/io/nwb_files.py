"""References shared by the io tests: file checksums, spike times read straight from the file, plain-loop counts."""

import hashlib
from pathlib import Path

import h5py
import numpy as np

DEMO_KW = dict(n_stimuli=20, n_repeats=2, n_units_per_area=5)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def flat_spikes(path, table="units"):
    """Spike times per unit straight from the file (the reference for everything)."""
    with h5py.File(path, "r") as f:
        times = f[f"{table}/spike_times"][:]
        ends = f[f"{table}/spike_times_index"][:].astype(int)
        ids = f[f"{table}/id"][:]
    return ids, np.split(times, ends[:-1])


def reference_counts(trains, a, b):
    """(n_windows, n_units) spikes in [a, b): a plain loop over units and windows."""
    out = np.zeros((len(a), len(trains)))
    for u, t in enumerate(trains):
        for k in range(len(a)):
            out[k, u] = np.count_nonzero((t >= a[k]) & (t < b[k]))
    return out
