"""Representational similarity analysis (RSA) and topological RSA.

Compute RDMs from any Recording (neurons, voxels or network units) with :func:`rdm`,
compare them with :func:`compare`, go beyond RDMs with :func:`cka`, :func:`ssm`,
shape distances and kernel analysis, transform them topologically with
:func:`geotopological` / :func:`geodesic`, and draw inference with :func:`bootstrap`,
permutation tests and noise ceilings. Names load lazily, on first use.

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

# Imported eagerly: ``rdm`` and ``compare`` name both a submodule and its main function, and importing
# the submodule first makes the package attribute the function (later imports of
# ``neurotk.rsa.rdm`` by sibling modules then leave it alone).
from .compare import compare, compare_vectors
from .rdm import RDM, as_rdm, noise_covariance, pair_index, rdm, stack_rdms

_EXPORTS = {
    # similarity.py: representational similarity beyond RDMs
    "cka": "similarity", "ssm": "similarity", "shape_distance": "similarity",
    "procrustes_distance": "similarity", "kernel_analysis": "similarity",
    # topology.py: topological RSA
    "geotopological": "topology", "geodesic": "topology", "topological_family": "topology",
    "model_selection_accuracy": "topology",
    # inference.py: bootstrap, permutation, noise ceilings, model comparison
    "bootstrap": "inference", "permutation_test": "inference", "noise_ceiling": "inference",
    "compare_models": "inference",
    # embedding.py
    "mds": "embedding",
}

__all__ = sorted([*_EXPORTS, "RDM", "as_rdm", "noise_covariance", "pair_index", "rdm", "stack_rdms", "compare", "compare_vectors"])


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
