"""Representational similarity analysis (RSA) and topological RSA.

Compute RDMs from any Recording (neurons, voxels or network units) with :func:`rdm`,
compare them with :func:`compare`, go beyond RDMs with :func:`cka`, :func:`ssm`,
shape distances and kernel analysis, transform them topologically with
:func:`geotopological` / :func:`geodesic`, draw inference with :func:`bootstrap`,
permutation tests and noise ceilings, and embed them with :func:`classical_mds`.
Names load lazily, on first use.

One module per idea: ``rdms.py`` (the :class:`RDM` container), ``calc.py`` (computing
RDMs), ``noise.py`` (noise covariance and precision), ``comparison.py`` (comparing RDMs),
``ranks.py`` (ranking helpers), ``similarity.py`` (CKA, SSM, shape metrics, kernel
analysis), ``topology.py`` (tRSA transforms), ``selection.py`` (tRSA model selection),
``inference.py`` (bootstrap, permutations, noise
ceilings) and ``embedding.py`` (MDS).

Examples
--------
>>> import numpy as np
>>> from neurotk import rsa
>>> x = np.random.default_rng(0).normal(size=(5, 20))
>>> rsa.rdm(x, metric="euclidean").n_conditions
5
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    # rdms.py: the RDM container
    "RDM": "rdms", "as_rdm": "rdms", "stack_rdms": "rdms", "pair_index": "rdms",
    "n_conditions_from_pairs": "rdms",
    # calc.py: computing RDMs; noise.py: their noise covariance
    "rdm": "calc", "noise_covariance": "noise",
    # comparison.py: comparing RDMs
    "compare": "comparison", "compare_vectors": "comparison",
    # similarity.py: representational similarity beyond RDMs
    "cka": "similarity", "ssm": "similarity", "SSMResult": "similarity", "shape_distance": "similarity",
    "procrustes_distance": "similarity", "kernel_analysis": "similarity", "KernelAnalysisResult": "similarity",
    # topology.py: topological RSA
    "geotopological": "topology", "geodesic": "topology", "topological_family": "topology",
    # selection.py: model selection with tRSA (the paper's evaluation)
    "model_selection_accuracy": "selection", "model_selection": "selection", "ModelSelection": "selection",
    "layer_rdms": "selection",
    # inference.py: bootstrap, permutation, noise ceilings, model comparison
    "bootstrap": "inference", "BootstrapResult": "inference", "permutation_test": "inference",
    "PermutationResult": "inference", "noise_ceiling": "inference", "RDMNoiseCeiling": "inference",
    "compare_models": "inference",
    # embedding.py: multidimensional scaling
    "classical_mds": "embedding", "Embedding": "embedding",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
