"""Functional cell types by most discriminative stimuli (MDS) clustering.

Cluster neurons into functional types through a predictive model of their responses
(Burg et al., ICLR 2024): :class:`MDSClustering` alternates between optimising one
stimulus per cluster that drives that cluster's neurons more than the other clusters'
stimuli do, and reassigning each neuron to the cluster whose stimulus it prefers. The
models (:class:`LNModel`, :class:`SharedFeatureModel`, :class:`TorchModel`) share one
small interface: predicted responses and their gradients with respect to the stimuli.
Baselines (:class:`KMeansClustering`, :class:`GaussianMixtureClustering`) cluster the
PCA of the response matrix. Names load lazily, on first use.

Examples
--------
>>> from neurotk.datasets import simulate_cell_types
>>> from neurotk.clustering import LNModel, MDSClustering
>>> sim = simulate_cell_types(n_neurons=30, n_types=2, image_shape=(10, 10), n_stimuli=400)
>>> model = LNModel().fit(sim.stimuli, sim.responses)
>>> mds = MDSClustering(n_clusters=2, n_restarts=1).fit(model)
>>> mds.stimuli_.shape
(2, 10, 10)
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    # models.py: predictive models with stimulus gradients
    "ResponseModel": "models", "LNModel": "models", "SharedFeatureModel": "models",
    "TorchModel": "models", "check_model": "models", "check_n_clusters": "models",
    "is_torch_module": "models",
    # discriminative.py: most discriminative stimuli (MDS) clustering; objective.py: its objective
    "MDSClustering": "discriminative", "contrastive_objective": "objective",
    # baselines.py: k-means / Gaussian mixtures on PCA of responses
    "KMeansClustering": "baselines", "GaussianMixtureClustering": "baselines",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
