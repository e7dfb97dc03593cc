"""Noise covariance and precision (rsa/noise.py), against rsatoolbox's estimators."""

import numpy as np
import pytest

from neurotk.rsa.noise import noise_covariance

TOL = 1e-10


def close(a, b, tol=TOL):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.abs(a - b).max() < tol * max(1.0, np.abs(b).max())


def test_noise_covariance_matches_rsatoolbox_cov_from_residuals():
    noise = pytest.importorskip("rsatoolbox.data.noise")
    r = np.random.default_rng(4).normal(size=(30, 6)) @ np.random.default_rng(5).normal(size=(6, 6))
    for method in ("shrinkage_diag", "shrinkage_eye", "diag", "full"):
        close(noise_covariance(r, method), noise.cov_from_residuals(r, method=method))
        close(noise_covariance(r, method, dof=20), noise.cov_from_residuals(r, dof=20, method=method))




def test_precision_applies_p_to_rows():
    from neurotk.rsa.noise import Precision

    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 3))
    cov = np.cov(rng.normal(size=(30, 3)), rowvar=False)
    close(Precision("identity")(a), a)
    close(Precision("diag", np.array([1.0, 2.0, 3.0]))(a), a * [1.0, 2.0, 3.0])
    close(Precision("matrix", np.linalg.inv(cov))(a), a @ np.linalg.inv(cov))
    close(Precision.from_covariance(cov, "full")(a), a @ np.linalg.inv(cov))
    close(Precision.from_covariance(cov, "diag")(a), a / np.diag(cov))
    assert repr(Precision("identity")) == "Precision('identity')"


def test_precision_errors():
    from neurotk.errors import ArgumentError, NonFiniteDataError, ShapeMismatchError
    from neurotk.rsa.noise import NOISE_METHODS, Precision, check_precision, noise_precision

    with pytest.raises(ArgumentError, match="singular"):
        Precision.from_covariance(np.zeros((2, 2)), "full")
    with pytest.raises(ShapeMismatchError, match="noise has shape"):
        check_precision(np.eye(3), 2)
    with pytest.raises(NonFiniteDataError, match="noise contains NaN"):
        check_precision([1.0, np.nan], 2)
    with pytest.raises(ArgumentError, match="not symmetric"):
        check_precision([[1.0, 0.5], [0.0, 1.0]], 2)
    x = np.random.default_rng(2).normal(size=(6, 2))
    with pytest.raises(ArgumentError, match="noise='ledoit' is unknown"):
        noise_precision("ledoit", x, np.arange(6) % 3, 3)
    assert noise_precision("identity", x, np.arange(6) % 3, 3)[1] == "identity"
    assert noise_precision([1.0, 2.0], x, np.arange(6) % 3, 3)[0].kind == "diag"
    assert NOISE_METHODS == ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def test_noise_covariance_bad_input():
    from neurotk.errors import ArgumentError, ShapeMismatchError

    with pytest.raises(ShapeMismatchError, match="residuals has shape"):
        noise_covariance(np.ones(5))
    with pytest.raises(ArgumentError, match="unknown"):
        noise_covariance(np.ones((5, 2)), "ledoit")
    with pytest.raises(ArgumentError, match="repeated measurements"):
        noise_covariance(np.ones((1, 2)))
