"""Every neurotk estimator reports and takes its hyper-parameters as scikit-learn expects."""

import pytest
from sklearn.base import clone

from neurotk import ArgumentError
from neurotk.clustering import GaussianMixtureClustering, KMeansClustering, LNModel, MDSClustering, SharedFeatureModel
from neurotk.connectome import DynamicConnectome
from neurotk.encoding import BandedRidgeCV, FactorizedReadout, RidgeCV

ESTIMATORS = [
    (MDSClustering, {"n_clusters": 3, "temperature": 0.5}),
    (KMeansClustering, {"n_clusters": 4}),
    (GaussianMixtureClustering, {"n_clusters": 2, "covariance_type": "diag"}),
    (LNModel, {"nonlinearity": "exp", "smoothness": 1.0}),
    (SharedFeatureModel, {"layer": "fc1"}),
    (DynamicConnectome, {"rank": 4, "window": 12}),
    (RidgeCV, {"cv": 3}),
    (BandedRidgeCV, {"n_iter": 5}),
    (FactorizedReadout, {"rank": 2}),
]


@pytest.mark.parametrize("cls, params", ESTIMATORS, ids=[c.__name__ for c, _ in ESTIMATORS])
def test_get_set_params_and_clone(cls, params):
    est = cls(**params)
    got = est.get_params()
    assert {k: got[k] for k in params} == params
    copy = clone(est)  # scikit-learn checks that every parameter round-trips unchanged
    assert copy is not est and copy.get_params() == got
    key = next(iter(params))
    assert est.set_params(**{key: got[key]}) is est


@pytest.mark.parametrize("cls", [c for c, _ in ESTIMATORS[:6]], ids=[c.__name__ for c, _ in ESTIMATORS[:6]])
def test_unknown_parameter_names_the_valid_ones(cls):
    with pytest.raises(ArgumentError, match=r"'bogus' is not a parameter of .* expected one of \["):
        cls().set_params(bogus=1)
