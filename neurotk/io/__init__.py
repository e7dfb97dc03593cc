"""Loaders: real file formats -> :class:`~neurotk.Recording`.

One module per source: ``nwb`` for spike trains in NWB files, ``fmri`` for NIfTI volumes,
masks, atlases and the event GLM, ``allen`` for Allen Brain Observatory two-photon and
Neuropixels files, ``activations`` for network layers (array files, the bundled network,
scikit-learn MLPs, torch modules); ``neurotk.load`` picks the loader. Names load
lazily, on first use, so ``import neurotk.io`` does not import h5py or pynwb.

Examples
--------
>>> import neurotk.io
>>> "bin_spikes" in dir(neurotk.io)
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

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
    "load_fmri": "fmri",
    "glm": "fmri",
    "to_nifti": "fmri",
    "roi_average": "fmri",
    "load_allen": "allen",
    "allen_info": "allen",
    "allen_stimulus_table": "allen",
    "download_allen_session": "allen",
    "make_allen_demo": "allen",
}

__all__ = sorted([*_EXPORTS, "activations", "from_arrays"])


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
