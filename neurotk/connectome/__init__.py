"""Dynamic functional connectomes: affinities, non-negative tensor factorisation, communities.

After Dyballa et al., "Learning dynamic representations of the functional connectome in
neurobiological networks" (ICLR 2024): the :func:`differential_affinity` of every pair of
neurons in time windows (or the :func:`sliding_correlation` baseline) is stacked into a
pairs x time x animals tensor (:func:`affinity_tensor`), factorised by non-negative CP
(:func:`ntf`, :func:`rank_ensemble`), and each component's pair loadings are split into
communities (:func:`find_communities`). :class:`DynamicConnectome` runs all steps on a list
of Recordings. Names load lazily, on first use.

Examples
--------
>>> import numpy as np
>>> from neurotk import connectome
>>> traces = np.random.default_rng(0).normal(size=(200, 5)).cumsum(axis=0)
>>> connectome.differential_affinity(traces, window=50).values.shape
(10, 4)
"""

from __future__ import annotations

from .._lazy import lazy_exports

# Imported eagerly: ``ntf`` names both a submodule and its main function; importing the
# submodule first makes the package attribute the function. ntf.py needs only numpy/pandas.
from .ntf import NTFResult, RankEnsemble, factor_match_score, khatri_rao, ntf, rank_ensemble, reconstruct

_EXPORTS = {
    # affinity.py: pairwise affinities in time windows
    "differential_affinity": "affinity", "sliding_correlation": "affinity", "Affinity": "affinity",
    "affinity_tensor": "affinity", "AffinityTensor": "affinity", "pair_index": "affinity",
    "pairs_to_matrix": "affinity",
    # communities.py: communities of each component
    "find_communities": "communities", "Communities": "communities",
    # dynamic.py: the whole pipeline
    "DynamicConnectome": "dynamic", "Motif": "dynamic",
}

__all__ = sorted([*_EXPORTS, "NTFResult", "RankEnsemble", "factor_match_score", "khatri_rao", "ntf",
                  "rank_ensemble", "reconstruct"])

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
