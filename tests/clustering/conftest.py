"""Shared, session-scoped fits for the clustering tests (each is fitted once)."""

import numpy as np
import pytest

from neurotk.clustering import LNModel, MDSClustering
from neurotk.datasets import simulate_cell_types


@pytest.fixture(scope="session")
def spec_sim():
    """The issue's benchmark population: 400 neurons of 6 planted types, 20 x 20, Poisson."""
    return simulate_cell_types(n_neurons=400, n_types=6, image_shape=(20, 20), n_stimuli=2000,
                               noise="poisson", random_state=0)


@pytest.fixture(scope="session")
def spec_model(spec_sim):
    return LNModel().fit(spec_sim.stimuli, spec_sim.responses)


@pytest.fixture(scope="session")
def spec_mds(spec_model):
    """MDS with the number of clusters found by splitting (n_clusters=None)."""
    return MDSClustering(n_clusters=None, random_state=0).fit(spec_model)


@pytest.fixture(scope="session")
def small_fit():
    """A quick 3-type fit for plots and API checks."""
    sim = simulate_cell_types(n_neurons=45, n_types=3, image_shape=(10, 10), n_stimuli=600, random_state=1)
    model = LNModel().fit(sim.stimuli, sim.responses)
    mds = MDSClustering(n_clusters=3, n_restarts=1, random_state=0).fit(model)
    return sim, model, mds


@pytest.fixture(scope="session")
def finite_difference():
    """Central-difference gradient of a scalar function (a test-only reference)."""
    return _finite_difference


def _finite_difference(fn, x, eps=1e-5):
    """Central-difference gradient of a scalar ``fn`` at ``x`` (every entry)."""
    x = np.asarray(x, dtype=float)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):  # a test-only reference; small inputs
        old = flat[i]
        flat[i] = old + eps
        up = fn(x)
        flat[i] = old - eps
        down = fn(x)
        flat[i] = old
        gflat[i] = (up - down) / (2 * eps)
    return grad
