"""Loaders: real file formats -> :class:`~neurotk.Recording`.

One module per source: ``nwb`` for spike trains in NWB files, ``activations`` for network
layers (array files, the bundled network, scikit-learn MLPs); fMRI volumes and Allen Brain
Observatory files arrive in their own modules. Names load
lazily, on first use, so ``import neurotk.io`` does not import h5py or pynwb.

Examples
--------
>>> import neurotk.io
>>> "bin_spikes" in dir(neurotk.io)
True
"""

from __future__ import annotations

import importlib

# Imported eagerly (numpy/pandas only): ``activations`` names both the submodule and its
# main function, and importing the submodule first lets the function own the name.
from .activations import activations, from_arrays

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "read_spikes": "nwb",
    "bin_spikes": "nwb",
    "count_spikes": "nwb",
    "psth": "nwb",
    "SpikeTrains": "nwb",
}

__all__ = sorted([*_EXPORTS, "activations", "from_arrays"])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurotk.io' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
