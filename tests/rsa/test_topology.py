"""Topological RSA: geo-topological and geodesic transforms, families, model selection."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from neurotk.errors import ArgumentError, NeurotkError, ShapeMismatchError
from neurotk.rsa import RDM, geodesic, geotopological, model_selection_accuracy, topological_family


def random_rdm(n=8, k=1, seed=0):
    rng = np.random.default_rng(seed)
    return RDM([pdist(rng.normal(size=(n, 4))) for _ in range(k)], names=[f"s{i}" for i in range(k)])


def floyd_warshall(w):
    """Plain Floyd-Warshall on a dense weight matrix (np.inf = no edge)."""
    d = w.copy()
    np.fill_diagonal(d, 0.0)
    n = len(d)
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if d[i, k] + d[k, j] < d[i, j]:
                    d[i, j] = d[i, k] + d[k, j]
    return d


def test_absolute_thresholds_by_hand():
    d = RDM([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], metric="euclidean")
    out = geotopological(d, 2.0, 4.0, quantiles=False)
    assert out.vector.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    assert out.metric == "rgtm(euclidean)"
    assert out.meta["lower_distance"] == [2.0] and out.meta["upper_distance"] == [4.0]


def test_quantile_thresholds_match_numpy():
    d = random_rdm(10)
    for lo, up in [(0.1, 0.5), (0.25, 0.75), (0.0, 0.33)]:
        out = geotopological(d, lo, up)
        ql, qu = np.quantile(d.vector, [lo, up])
        assert out.meta["lower_distance"][0] == pytest.approx(ql, abs=1e-14)
        assert out.meta["upper_distance"][0] == pytest.approx(qu, abs=1e-14)
        expect = np.clip((d.vector - ql) / (qu - ql), 0, 1)
        np.testing.assert_allclose(out.vector, expect, atol=1e-14)


def test_lower_equal_upper_gives_binary_graph():
    d = random_rdm(9)
    out = geotopological(d, 0.3, 0.3)
    assert set(np.unique(out.vector)) <= {0.0, 1.0}
    q = np.quantile(d.vector, 0.3)
    np.testing.assert_array_equal(out.vector, (d.vector > q).astype(float))


def test_zero_one_on_normalised_rdm_gives_it_back():
    d = random_rdm(9)
    v = d.vector
    norm = RDM((v - v.min()) / (v.max() - v.min()))
    np.testing.assert_allclose(geotopological(norm, 0.0, 1.0).vector, norm.vector, atol=1e-14)
    np.testing.assert_allclose(geotopological(norm, 0.0, 1.0, quantiles=False).vector, norm.vector, atol=1e-14)


def test_stack_uses_per_rdm_quantiles_and_is_scale_free():
    d = random_rdm(8, k=3)
    out = geotopological(d, 0.2, 0.7)
    for k in range(3):
        np.testing.assert_allclose(out.vectors[k], geotopological(d[k], 0.2, 0.7).vector)
    scaled = RDM(d.vectors * np.array([[1.0], [10.0], [0.01]]))
    np.testing.assert_allclose(geotopological(scaled, 0.2, 0.7).vectors, out.vectors, atol=1e-12)
    assert out.names == d.names


@pytest.mark.parametrize("kwargs", [dict(lower=0.2, upper=0.6), dict(lower=0.0, upper=0.3), dict(lower=0.4, upper=0.4)])
def test_geodesic_equals_floyd_warshall(kwargs):
    d = random_rdm(7, seed=3)
    rgtm = geotopological(d, **kwargs).matrix
    w = np.where(rgtm < 1.0, rgtm, np.inf)
    fw = floyd_warshall(w)
    iu = np.triu_indices(7, 1)
    finite = np.isfinite(fw[iu])
    expect = fw[iu].copy()
    top = expect[finite].max()
    if top > 0:
        expect = expect / top
    expect[~finite] = 1.0
    np.testing.assert_allclose(geodesic(d, **kwargs).vector, expect, atol=1e-12)


def test_geodesic_chain_and_disconnected_components():
    x = np.array([0.0, 1.0, 2.0, 10.0, 11.0])[:, None]
    d = RDM(pdist(x))
    out = geodesic(d, 0.0, 1.5, quantiles=False).matrix
    # within the chain 0-1-2: hops of 1/1.5 each, normalised by the longest finite path
    assert out[0, 2] == pytest.approx(1.0)
    assert out[0, 1] == pytest.approx(0.5)
    assert out[3, 4] == pytest.approx(0.5)
    # across components: the maximum value 1
    assert out[0, 3] == 1.0 and out[2, 4] == 1.0
    assert np.all((out >= 0) & (out <= 1))


def test_geodesic_zero_length_edges_are_kept():
    # below the lower threshold entries are 0: still edges (same component), not gaps
    x = np.array([0.0, 0.1, 0.2, 5.0])[:, None]
    out = geodesic(RDM(pdist(x)), 0.5, 0.5, quantiles=False).matrix
    assert out[0, 2] == 0.0 and out[0, 3] == 1.0


def test_topological_family_names_and_descriptors():
    d = random_rdm(8)
    fam = topological_family(d, [0.0, 0.2], [0.2, 0.8], kind="rgdm")
    assert fam.names == ["l=0,u=0.2", "l=0,u=0.8", "l=0.2,u=0.2", "l=0.2,u=0.8"]
    desc = fam.descriptors
    assert desc[["lower", "upper"]].to_numpy().tolist() == [[0, 0.2], [0, 0.8], [0.2, 0.2], [0.2, 0.8]]
    assert (desc["kind"] == "rgdm").all()
    np.testing.assert_allclose(fam["l=0.2,u=0.8"].vector, geodesic(d, 0.2, 0.8).vector)
    stack = topological_family(random_rdm(8, k=2), [0.1], [0.5, 0.9])
    assert stack.names == ["s0 l=0.1,u=0.5", "s0 l=0.1,u=0.9", "s1 l=0.1,u=0.5", "s1 l=0.1,u=0.9"]
    assert stack.descriptors["source"].tolist() == ["s0", "s0", "s1", "s1"]


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda d: geotopological(d, 0.7, 0.2), ArgumentError, "lower=0.7"),
        (lambda d: geotopological(d, -0.1, 0.2), ArgumentError, "lower=-0.1"),
        (lambda d: geodesic(d, 0.1, 1.5), ArgumentError, "upper=1.5"),
        (lambda d: geotopological(RDM([1.0]), 0.1, 0.2), ShapeMismatchError, "2 conditions"),
        (lambda d: topological_family(d, [0.9], [0.1]), ArgumentError, "lower <= upper"),
        (lambda d: topological_family(d, [0.1], [0.5], kind="graph"), ArgumentError, "kind"),
        (lambda d: model_selection_accuracy(d, [0.0]), ShapeMismatchError, "at least 2"),
        (lambda d: model_selection_accuracy(random_rdm(6, 2), [-1.0]), ArgumentError, "noise_levels"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words) as info:
        call(random_rdm(6))
    assert isinstance(info.value, NeurotkError)


def test_absolute_thresholds_need_not_be_quantiles():
    d = RDM([1.0, 2.0, 3.0])
    assert geotopological(d, 1.5, 2.5, quantiles=False).vector.tolist() == [0.0, 0.5, 1.0]


def test_model_selection_accuracy_falls_from_one_to_chance():
    rng = np.random.default_rng(1)
    models = RDM([pdist(rng.normal(size=(12, 3))) for _ in range(4)])
    acc = model_selection_accuracy(
        models, [0.0, 1.5, 1e3], n_simulations=40, lower=0.1, upper=0.5, random_state=0
    )
    assert set(acc.columns) >= {"transform", "lower", "upper", "noise_level", "accuracy", "sem", "chance"}
    assert len(acc) == 9
    for transform, group in acc.groupby("transform"):
        a = group.sort_values("noise_level")["accuracy"].to_numpy()
        assert a[0] == 1.0, transform
        assert a[0] >= a[1] >= a[2] - 0.1, transform
        assert abs(a[2] - 0.25) < 0.2, transform
    again = model_selection_accuracy(models, [0.0, 1.5, 1e3], n_simulations=40, random_state=0)
    np.testing.assert_array_equal(acc["accuracy"], again["accuracy"])


def test_model_selection_several_threshold_settings():
    models = random_rdm(8, k=3)
    acc = model_selection_accuracy(models, [0.5], n_simulations=3, lower=[0.1, 0.3], upper=[0.5, 0.3],
                                   transforms=["rgtm"], random_state=0)
    assert acc[["lower", "upper"]].to_numpy().tolist() == [[0.1, 0.5], [0.3, 0.3]]


def test_scalar_arguments_are_checked():
    models = random_rdm(6, 2)
    with pytest.raises(ArgumentError, match="n_simulations=0"):
        model_selection_accuracy(models, [0.0], n_simulations=0)
    with pytest.raises(ArgumentError, match="n_channels=0"):
        model_selection_accuracy(models, [0.0], n_channels=0)
    with pytest.raises(ArgumentError, match="transforms='graph'"):
        model_selection_accuracy(models, [0.0], transforms=["graph"])
    with pytest.raises(ArgumentError, match="lower=nan"):
        geotopological(models, float("nan"), 0.5)
