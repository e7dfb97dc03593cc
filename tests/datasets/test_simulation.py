"""Tests of what the simulators share (neurotk.datasets._simulation)."""

import numpy as np
import pytest

from neurotk.datasets._simulation import ar1_noise, summary_repr


@pytest.mark.parametrize("coefficient", [0.0, 0.3, 0.8])
def test_ar1_noise_is_stationary_with_the_given_autocorrelation(coefficient):
    x = ar1_noise(np.random.default_rng(0), (4000, 50), coefficient)
    assert x.shape == (4000, 50)
    # unit variance from the first sample on (started in the stationary distribution)
    assert x[0].std() == pytest.approx(1.0, abs=0.25)
    assert x.std() == pytest.approx(1.0, abs=0.03)
    lag1 = np.mean([np.corrcoef(col[1:], col[:-1])[0, 1] for col in x.T])
    assert lag1 == pytest.approx(coefficient, abs=0.02)


def test_ar1_noise_follows_its_recursion():
    """x[t] = c x[t-1] + sqrt(1 - c^2) e[t], written as a loop over the same draws."""
    c = 0.6
    x = ar1_noise(np.random.default_rng(4), (30, 3), c)
    e = np.random.default_rng(4).standard_normal((30, 3))
    expected = np.empty_like(e)
    expected[0] = e[0]
    for t in range(1, 30):
        expected[t] = c * expected[t - 1] + np.sqrt(1 - c**2) * e[t]
    np.testing.assert_allclose(x, expected, rtol=1e-12, atol=1e-12)


def test_summary_repr_names_the_class_and_fields():
    class Sim:
        pass

    assert summary_repr(Sim(), {"n": 3, "name": repr("a")}) == "Sim(n=3, name='a')"
    assert summary_repr(Sim(), {}) == "Sim()"
