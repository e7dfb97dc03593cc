"""Loaders: real file formats -> :class:`~neurotk.Recording`.

One module per source: ``nwb`` for the spike trains of NWB files (read lazily) and
``spikes`` for binning, counting and PSTHs of them, ``fmri`` for NIfTI volumes, masks,
atlases and the way back to images, ``allen`` for Allen Brain Observatory two-photon and
Neuropixels files, ``networks`` for network layers (array files, the bundled network,
scikit-learn MLPs, torch modules, ONNX files); ``neurotk.load`` picks the loader. Names load
lazily, on first use, so ``import neurotk.io`` does not import h5py or pynwb.

Examples
--------
>>> import neurotk.io
>>> "bin_spikes" in dir(neurotk.io)
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

# public name -> module (relative to this package) that defines it
_EXPORTS = {
    "read_spikes": "nwb",
    "SpikeTrains": "nwb",
    "bin_spikes": "spikes",
    "count_spikes": "spikes",
    "psth": "spikes",
    "read_intervals": "nwb",
    "read_ophys": "ophys",
    "ophys_series": "ophys",
    "event_average": "ophys",
    "load_fmri": "fmri",
    "to_nifti": "fmri",
    "roi_average": "fmri",
    "read_bids_run": "bids",
    "bids_runs": "bids",
    "load_allen": "allen",
    "allen_info": "allen",
    "allen_stimulus_table": "allen",
    "download_allen_session": "allen",
    "activations": "networks",
    "from_arrays": "networks",
    "pool_spatial": "networks",
    "torch_activations": "networks",
    "onnx_activations": "networks",
    "read_suite2p": "suite2p",
    "read_rdms": "rdmfiles",
    "open_untrusted": "dispatch",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
