"""Dynamic functional connectomes: affinities, non-negative tensor factorisation, communities.

After Dyballa et al., "Learning dynamic representations of the functional connectome in
neurobiological networks" (ICLR 2024): the :func:`comovement_affinity` of every pair of
neurons in time windows (neurotk's own measure, as the paper's definition was not
available; or the :func:`sliding_correlation` baseline) is stacked into a
pairs x time x animals tensor (:func:`affinity_tensor`), factorised by non-negative CP
(:func:`ntf`, :func:`rank_ensemble`), and each component's pair loadings are split into
communities (:func:`find_communities`). :class:`DynamicConnectome` runs all steps on a list
of Recordings. Names load lazily, on first use.

Examples
--------
>>> import numpy as np
>>> from neurotk import connectome
>>> traces = np.random.default_rng(0).normal(size=(200, 5)).cumsum(axis=0)
>>> connectome.comovement_affinity(traces, window=50).values.shape
(10, 4)
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    # affinity.py: pairwise affinities in time windows
    "comovement_affinity": "affinity", "sliding_correlation": "affinity", "Affinity": "affinity",
    "affinity_tensor": "affinity", "AffinityTensor": "affinity", "pair_rows": "affinity",
    "pairs_to_matrix": "affinity",
    # factorisation.py: non-negative tensor factorisation
    "ntf": "factorisation", "NTFResult": "factorisation", "rank_ensemble": "factorisation",
    "RankEnsemble": "factorisation", "factor_match_score": "factorisation", "khatri_rao": "factorisation",
    "reconstruct": "factorisation",
    # communities.py: communities of each component
    "find_communities": "communities", "Communities": "communities",
    # dynamic.py: the whole pipeline
    "DynamicConnectome": "dynamic", "Motif": "dynamic",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
