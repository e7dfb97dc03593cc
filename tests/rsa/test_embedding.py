"""Classical and metric MDS of RDMs."""

import matplotlib
import numpy as np
import pytest
from scipy.spatial.distance import pdist

from neurotk.errors import ArgumentError, NeurotkError, ShapeMismatchError
from neurotk.rsa import RDM, classical_mds

matplotlib.use("Agg")


def config(n=10, dims=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dims))


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_classical_mds_recovers_euclidean_configuration(dims):
    x = config(12, dims) * [3.0, 1.0, 0.5][:dims]
    d = RDM(pdist(x))
    emb = classical_mds(d, n_components=dims)
    np.testing.assert_allclose(pdist(emb.coordinates), d.vector, atol=1e-10)
    assert emb.stress < 1e-10 and emb.strain < 1e-10
    assert emb.explained == pytest.approx(1.0)
    # centred, and the same Gram matrix as the centred configuration (rotation only)
    np.testing.assert_allclose(emb.coordinates.mean(axis=0), 0, atol=1e-10)
    xc = x - x.mean(axis=0)
    np.testing.assert_allclose(emb.coordinates @ emb.coordinates.T, xc @ xc.T, atol=1e-9)


def test_eigenvalue_based_strain_and_explained():
    x = config(15, 4, seed=1) * [4.0, 2.0, 1.0, 0.5]
    emb = classical_mds(pdist(x), n_components=2)
    lam = emb.eigenvalues
    assert np.all(np.diff(lam) <= 1e-12)  # descending
    xc = x - x.mean(axis=0)
    np.testing.assert_allclose(lam[:4], np.linalg.eigvalsh(xc.T @ xc)[::-1], rtol=1e-9)
    np.testing.assert_allclose(lam[4:], 0, atol=1e-9)
    assert emb.strain == pytest.approx(np.sqrt(np.sum(lam[2:] ** 2) / np.sum(lam**2)), rel=1e-9)
    assert emb.explained == pytest.approx(lam[:2].sum() / lam[lam > 0].sum(), rel=1e-12)
    # stress-1 of the embedding distances
    dhat = pdist(emb.coordinates)
    d = pdist(x)
    assert emb.stress == pytest.approx(np.sqrt(np.sum((d - dhat) ** 2) / np.sum(d**2)))
    assert 0 < emb.stress < 1


def test_metric_mds_does_not_increase_stress_and_is_seeded():
    rng = np.random.default_rng(3)
    d = RDM(np.abs(rng.normal(size=45)) + 0.5)  # not Euclidean-embeddable in 2-D
    classical = classical_mds(d)
    metric = classical_mds(d, metric=True, random_state=0)
    assert metric.coordinates.shape == (10, 2) and metric.metric
    assert metric.stress <= classical.stress + 1e-9
    np.testing.assert_array_equal(classical_mds(d, metric=True, random_state=0).coordinates, metric.coordinates)


def test_result_conversions_and_plot():
    d = RDM(pdist(config(6, 3)), conditions=list("abcdef"), names=["V1"])
    emb = classical_mds(d)
    assert np.asarray(emb).shape == (6, 2)
    frame = emb.to_frame()
    assert frame["condition"].tolist() == list("abcdef")
    ax = emb.plot()
    assert [t.get_text() for t in ax.texts] == list("abcdef")
    assert "V1" in ax.get_title()
    assert "classical" in repr(emb)
    classical_mds(d, n_components=1).plot(labels=[])


@pytest.mark.parametrize(
    "rdm, kwargs, exc, words",
    [
        (RDM(np.ones((2, 6))), {}, ShapeMismatchError, "2 RDMs"),
        (RDM([1.0]), {}, ShapeMismatchError, "2 conditions"),
        (RDM(np.arange(1.0, 7.0)), {"n_components": 5}, ArgumentError, "n_components=5"),
        (RDM(np.arange(1.0, 7.0)), {"n_components": 0}, ArgumentError, "n_components=0"),
    ],
)
def test_bad_input(rdm, kwargs, exc, words):
    with pytest.raises(exc, match=words) as info:
        classical_mds(rdm, **kwargs)
    assert isinstance(info.value, NeurotkError)


def test_embedding_is_a_result_and_classical_coordinates_is_its_kernel(tmp_path):
    import matplotlib.pyplot as plt
    import pandas as pd

    from neurotk.results import Result
    from neurotk.rsa import Embedding
    from neurotk.rsa.embedding import classical_coordinates

    d = RDM(pdist(config(7, 3, seed=4)), conditions=list("abcdefg"), names=["IT"])
    emb = classical_mds(d, n_components=2)
    assert isinstance(emb, Embedding) and isinstance(emb, Result)
    coords, eigenvalues, _ = classical_coordinates(d.vector, 2)
    np.testing.assert_array_equal(coords, emb.coordinates)
    np.testing.assert_array_equal(eigenvalues, emb.eigenvalues)
    assert classical_coordinates(d.vector)[0].shape == (7, 3)  # every positive eigenvalue
    assert pd.read_csv(emb.save(tmp_path / "emb.csv"))["condition"].tolist() == list("abcdefg")
    assert emb.save(tmp_path / "emb.svg").stat().st_size > 0
    plt.close("all")
    assert repr(emb).startswith("Embedding(classical, 7 conditions x 2 dimensions")
