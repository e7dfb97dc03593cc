"""Encoding models: predict every neuron and voxel from stimulus features or network layers.

Fit regularised linear maps from features (a network layer, hand-made features, delayed
regressors) to each unit's responses with :class:`RidgeCV` (one alpha per target, chosen
by K-fold or leave-one-run-out cross-validation) or :class:`BandedRidgeCV` (one alpha per
feature space and target), read the scores against the noise ceiling
(:func:`noise_ceiling`), and map network layers onto brain areas
(:func:`map_layers`). Names load lazily, on first use.

Modules: ``ridge.py`` (:class:`RidgeCV`), ``banded.py`` (:class:`BandedRidgeCV`),
``solver.py`` (the cross-validated ridge solver both use), ``readout.py``
(:class:`FactorizedReadout`), ``ceiling.py`` (noise ceilings), ``features.py`` (delays and
run folds), ``mapping.py`` (layer -> area), ``firstlevel.py`` (:func:`glm`) and
``scoring.py`` (folds, per-target scores and input checks the models share).

Examples
--------
>>> import numpy as np
>>> from neurotk.encoding import RidgeCV
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(100, 5))
>>> Y = X @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(100, 3))
>>> RidgeCV(alphas=[0.1, 1.0, 10.0]).fit(X, Y).score(X, Y) > 0.9
True
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    # ridge.py: ridge regression with per-target alphas; banded.py: one alpha per feature space
    "RidgeCV": "ridge", "BandedRidgeCV": "banded",
    # ceiling.py: noise ceilings from repeats
    "split_half_reliability": "ceiling", "explainable_variance": "ceiling",
    "noise_ceiling": "ceiling", "normalise_scores": "ceiling", "NoiseCeiling": "ceiling",
    # features.py: delays and folds for time series
    "delay_features": "features", "leave_one_run_out": "features", "run_folds": "features",
    # readout.py: factorised spatial x feature readout for convolutional layers
    "FactorizedReadout": "readout",
    # mapping.py: layer -> area mapping
    "map_layers": "mapping", "LayerMapping": "mapping",
    # firstlevel.py: the first-level (event) GLM of fMRI runs
    "glm": "firstlevel",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
