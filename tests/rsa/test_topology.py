"""Topological RSA: geo-topological and geodesic transforms, families, model selection.

The reference is Lin & Kriegeskorte's code, doerlbh/TopologicalRSA: ``utils_transform.py``
(``gt_transform``, ``geodesic_transform(..., gd_type="twostep")``) and ``utils_stats.py``
(``loo_eval``). The ``ref_*`` functions below re-implement what those compute, plainly and
with loops, from scipy and scikit-learn; neurotk's defaults are compared with them.
"""

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata

from neurotk.errors import (
    ArgumentError,
    NeurotkError,
    NeurotkWarning,
    ShapeMismatchError,
)
from neurotk.rsa import (
    RDM,
    ModelSelection,
    geodesic,
    geotopological,
    layer_rdms,
    model_selection,
    model_selection_accuracy,
    topological_family,
)

matplotlib.use("Agg")


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
                d[i, j] = min(d[i, j], d[i, k] + d[k, j])
    return d


def test_absolute_thresholds_by_hand():
    d = RDM([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], metric="euclidean")
    out = geotopological(d, 2.0, 4.0, quantiles=False, ramp="distance")
    assert out.vector.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0, 1.0]
    assert out.metric == "rgtm(euclidean)"
    assert out.meta["lower_distance"] == [2.0] and out.meta["upper_distance"] == [4.0]


def test_quantile_thresholds_match_numpy():
    d = random_rdm(10)
    for lo, up in [(0.1, 0.5), (0.25, 0.75), (0.0, 0.33)]:
        out = geotopological(d, lo, up, ramp="distance")
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
    np.testing.assert_allclose(geotopological(norm, 0.0, 1.0, ramp="distance").vector, norm.vector, atol=1e-14)
    np.testing.assert_allclose(geotopological(norm, 0.0, 1.0, quantiles=False, ramp="distance").vector, norm.vector,
                               atol=1e-14)


def test_stack_uses_per_rdm_quantiles_and_is_scale_free():
    d = random_rdm(8, k=3)
    out = geotopological(d, 0.2, 0.7)
    for k in range(3):
        np.testing.assert_allclose(out.vectors[k], geotopological(d[k], 0.2, 0.7).vector)
    scaled = RDM(d.vectors * np.array([[1.0], [10.0], [0.01]]))
    np.testing.assert_allclose(geotopological(scaled, 0.2, 0.7).vectors, out.vectors, atol=1e-12)
    assert out.names == d.names


@pytest.mark.parametrize("kwargs", [{"lower": 0.2, "upper": 0.6}, {"lower": 0.0, "upper": 0.3}, {"lower": 0.4, "upper": 0.4}])
def test_geodesic_equals_floyd_warshall(kwargs):
    # neurotk's earlier reading, kept as options: zero-length edges below the lower
    # threshold, a distance ramp, path lengths divided by the longest finite one
    old = {"ramp": "distance", "below_lower": "zero-length", "normalise": "max"}
    d = random_rdm(7, seed=3)
    rgtm = geotopological(d, **kwargs, ramp="distance").matrix
    w = np.where(rgtm < 1.0, rgtm, np.inf)
    fw = floyd_warshall(w)
    iu = np.triu_indices(7, 1)
    finite = np.isfinite(fw[iu])
    expect = fw[iu].copy()
    top = expect[finite].max()
    if top > 0:
        expect = expect / top
    expect[~finite] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)  # l == u collapses (the test checks the numbers)
        np.testing.assert_allclose(geodesic(d, **kwargs, **old).vector, expect, atol=1e-12)


def test_geodesic_chain_and_disconnected_components():
    x = np.array([0.0, 1.0, 2.0, 10.0, 11.0])[:, None]
    d = RDM(pdist(x))
    with pytest.warns(NeurotkWarning, match="no path"):  # 6 of 10 pairs lie across the components
        out = geodesic(d, 0.0, 1.5, quantiles=False, ramp="distance", normalise="max").matrix
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
    out = geodesic(RDM(pdist(x)), 0.5, 0.5, quantiles=False, below_lower="zero-length", normalise="max").matrix
    assert out[0, 2] == 0.0 and out[0, 3] == 1.0


def test_topological_family_names_and_descriptors():
    d = random_rdm(8)
    with pytest.warns(NeurotkWarning, match="no path"):  # the narrow bands (0.2, 0.2) and (0, 0.2)
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


# --------------------------------------------------------------------------- the reference
def ref_rank_minmax(v):
    """rankdata (ties averaged), then min-max scaling: the reference's first step."""
    r = rankdata(v)
    return (r - r.min()) / (r.max() - r.min())


def ref_gt_transform(v, l, u):
    """gt_transform(v, gt_type="lu", l=l, u=u): the ramp over rank-scaled values, entry by entry."""
    data = ref_rank_minmax(v)
    gt_min, gt_max = np.quantile(data, l), np.quantile(data, u)
    out = np.empty_like(data)
    for k, x in enumerate(data):
        if x < gt_min:
            out[k] = 0.0
        elif x > gt_max:
            out[k] = 1.0
        else:
            out[k] = (x - gt_min) / (gt_max - gt_min)
    return out


def ref_geodesic_twostep(rgtm):
    """geodesic_transform(rgtm, gd_type="twostep"): graph of the non-zero entries minus those
    equal to 1 (min-max scaled first), all shortest paths, then ranks of the path lengths."""
    data = (rgtm - rgtm.min()) / (rgtm.max() - rgtm.min())
    w = squareform(data)
    n = len(w)
    dist = np.full((n, n), np.inf)
    for i in range(n):
        for j in range(n):
            if i != j and w[i, j] != 0 and w[i, j] != 1:  # from_numpy_array: no edge for 0
                dist[i, j] = w[i, j]
    paths = squareform(floyd_warshall(dist), checks=False)
    # path lengths are sums of RGTM values on a grid of ranks: equal sums computed in a
    # different order may differ in the last bits; rounding makes them the ties they are
    return rankdata(np.round(paths, 9))


def ref_rank_to_unit(ranks):
    """Ranks 1..n_pairs onto [0, 1], the same map for every RDM: (rank - 1) / (n_pairs - 1)."""
    return (ranks - 1.0) / (len(ranks) - 1.0)


def ref_loo_accuracy(vectors, instances, layers):
    """loo_eval: leave one instance out, NearestCentroid on the rest, pooled accuracy."""
    from sklearn.metrics import accuracy_score
    from sklearn.neighbors import NearestCentroid

    truth, predicted = [], []
    for s in np.unique(instances):
        held = instances == s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "zero standard deviation": irrelevant here
            clf = NearestCentroid().fit(vectors[~held], layers[~held])
        truth += list(layers[held])
        predicted += list(clf.predict(vectors[held]))
    return accuracy_score(truth, predicted)


def tied_rdm(n=12, seed=0):
    """Euclidean distances rounded to one decimal, so that many pairs tie."""
    x = np.random.default_rng(seed).normal(size=(n, 3))
    return RDM(np.round(pdist(x), 1))


# --------------------------------------------------------------------------- RGTM: the rank ramp
@pytest.mark.parametrize("lu", [(0.2, 0.8), (0.1, 0.5), (0.3, 0.6), (0.0, 0.3), (0.0, 1.0), (0.4, 0.6)])
@pytest.mark.parametrize("make", [random_rdm, tied_rdm], ids=["distinct", "ties"])
def test_rgtm_default_is_the_reference_rank_ramp(lu, make):
    d = make()
    np.testing.assert_allclose(geotopological(d, *lu).vector, ref_gt_transform(d.vector, *lu), atol=1e-12)


def test_rgtm_rank_ramp_of_a_stack_uses_each_rdms_own_quantiles():
    d = RDM(np.vstack([random_rdm(9, seed=1).vector, 10 * random_rdm(9, seed=2).vector ** 3]))
    out = geotopological(d, 0.2, 0.8)
    for k in range(2):
        np.testing.assert_allclose(out.vectors[k], ref_gt_transform(d.vectors[k], 0.2, 0.8), atol=1e-12)
    assert out.meta["ramp"] == "rank"


def test_rgtm_rank_ramp_equals_rsatoolbox_on_rank_scaled_rdms():
    transform = pytest.importorskip("rsatoolbox.rdm.transform")
    from rsatoolbox.rdm import RDMs

    d = tied_rdm(10, seed=4)
    scaled = ref_rank_minmax(d.vector)
    theirs = transform.geotopological_transform(RDMs(scaled[None].copy()), 0.2, 0.8).get_vectors()[0]
    ours = geotopological(d, 0.2, 0.8).vector
    # rsatoolbox assigns in place, so its last step (values above the upper quantile -> 1)
    # also hits ramped values that came out above the upper quantile; the authors'
    # gt_transform masks on the input and keeps them
    hit = (ours > np.quantile(scaled, 0.8)) & (ours < 1.0)
    assert hit.any()
    assert (theirs[hit] == 1.0).all()
    np.testing.assert_allclose(ours[~hit], theirs[~hit], atol=1e-12)


def test_rank_and_distance_ramps_order_pairs_alike_but_differ_in_size():
    d = RDM(pdist(np.random.default_rng(5).lognormal(size=(20, 2))))
    rank, dist = geotopological(d, 0.1, 0.9).vector, geotopological(d, 0.1, 0.9, ramp="distance").vector
    np.testing.assert_array_equal(rankdata(rank), rankdata(dist))  # same order, same ties at 0 and 1
    assert np.abs(rank - dist).max() > 0.1  # but not the same values


def test_rank_ramp_with_absolute_thresholds_runs_between_their_ranks():
    d = random_rdm(8, seed=6)
    v = d.vector
    lo, up = np.sort(v)[5], np.sort(v)[20]  # two observed distances
    r = ref_rank_minmax(v)
    expect = np.clip((r - r[v == lo][0]) / (r[v == up][0] - r[v == lo][0]), 0, 1)
    np.testing.assert_allclose(geotopological(d, lo, up, quantiles=False).vector, expect, atol=1e-12)


def test_rank_ramp_keeps_missing_pairs_missing():
    v = random_rdm(6, seed=7).vector.copy()
    v[[2, 9]] = np.nan
    out = geotopological(RDM(v, allow_nan=True), 0.2, 0.8).vector
    assert np.isnan(out[[2, 9]]).all()
    finite = np.isfinite(v)
    np.testing.assert_allclose(out[finite], ref_gt_transform(v[finite], 0.2, 0.8), atol=1e-12)


# --------------------------------------------------------------------------- RGDM: no edge below the lower threshold
@pytest.mark.parametrize("lu", [(0.2, 0.8), (0.1, 0.5), (0.3, 0.6), (0.0, 0.3), (0.0, 1.0)])
@pytest.mark.parametrize("make", [random_rdm, tied_rdm], ids=["distinct", "ties"])
def test_rgdm_default_is_the_reference_twostep_geodesic(lu, make):
    d = make()
    ranks = ref_geodesic_twostep(ref_gt_transform(d.vector, *lu))
    np.testing.assert_allclose(geodesic(d, *lu).vector, ref_rank_to_unit(ranks), atol=1e-12)


def test_rgdm_graph_is_the_networkx_graph_of_the_reference():
    nx = pytest.importorskip("networkx")
    d = random_rdm(10, seed=8)
    rgtm = ref_gt_transform(d.vector, 0.2, 0.8)
    graph = nx.from_numpy_array(squareform(rgtm))  # non-zero entries only
    graph.remove_edges_from([e[:2] for e in graph.edges.data("weight") if e[2] == 1])
    paths = squareform(np.asarray(nx.floyd_warshall_numpy(graph)), checks=False)
    ranks = rankdata(np.round(paths, 9))  # equal path lengths tie, whatever the summation order
    np.testing.assert_allclose(geodesic(d, 0.2, 0.8).vector, ref_rank_to_unit(ranks), atol=1e-12)


def test_rgdm_path_lengths_equal_scipy_shortest_paths_with_the_no_edge_rule():
    from scipy.sparse.csgraph import shortest_path

    d = random_rdm(9, seed=9)
    rgtm = squareform(geotopological(d, 0.3, 0.7).vector)
    dense = np.where((rgtm > 0) & (rgtm < 1), rgtm, 0.0)  # a dense csgraph: 0 means no edge
    paths = squareform(shortest_path(dense, directed=False), checks=False)
    expect = paths / paths[np.isfinite(paths)].max()
    expect[~np.isfinite(paths)] = 1.0
    np.testing.assert_allclose(geodesic(d, 0.3, 0.7, normalise="max").vector, expect, atol=1e-12)


def test_rgdm_no_longer_collapses_where_zero_length_edges_did():
    d = RDM(pdist(np.random.default_rng(0).normal(size=(20, 4))))
    for lu in [(0.2, 0.8), (0.3, 0.6)]:
        with pytest.warns(NeurotkWarning, match="geodesic length 0"):
            old = geodesic(d, *lu, below_lower="zero-length", normalise="max").vector
        assert (old == 0).sum() > d.n_pairs / 2
        with warnings.catch_warnings():
            warnings.simplefilter("error", NeurotkWarning)
            new = geodesic(d, *lu).vector
        assert (new == 0).sum() == 1 and np.unique(new).size > d.n_pairs / 2
    with pytest.warns(NeurotkWarning, match="190 of 190 pairs have geodesic length 0"):
        assert np.ptp(geodesic(d, 0.3, 0.6, below_lower="zero-length", normalise="max").vector) == 0  # constant


def test_rgdm_warns_when_most_pairs_have_no_path():
    with pytest.warns(NeurotkWarning, match="no path"):
        out = geodesic(random_rdm(8), 0.3, 0.3)  # lower == upper: the graph has no edge
    assert (out.vector == 0.5).all()  # all tied: the average rank, (n_pairs + 1) / 2, at the middle


def test_geodesic_options_are_checked_and_recorded():
    d = random_rdm(6)
    for kwargs, word in [({"ramp": "linear"}, "ramp"), ({"below_lower": "zero"}, "below_lower"),
                         ({"normalise": "sum"}, "normalise")]:
        with pytest.raises(ArgumentError, match=word):
            geodesic(d, 0.1, 0.6, **kwargs)
    meta = geodesic(d, 0.1, 0.6, below_lower="zero-length").meta
    assert (meta["ramp"], meta["below_lower"], meta["normalise"]) == ("rank", "zero-length", "rank")
    fam = topological_family(d, [0.1], [0.6], kind="rgdm", below_lower="zero-length")
    np.testing.assert_array_equal(fam.vectors[0], geodesic(d, 0.1, 0.6, below_lower="zero-length").vector)
    with pytest.raises(ArgumentError, match="below_lower"):
        topological_family(d, [0.1], [0.6], kind="rgtm", below_lower="zero-length")


# --------------------------------------------------------------------------- model selection: the paper's design
def planted(n_instances=4, n_layers=3, n=8, spread=0.3, seed=0):
    """RDMs of layers whose own geometry is shared across instances, plus instance noise."""
    rng = np.random.default_rng(seed)
    layer_patterns = rng.normal(size=(n_layers, n, 5))
    vectors, rows = [], []
    for s in range(n_instances):
        for k in range(n_layers):
            x = layer_patterns[k] + spread * rng.normal(size=(n, 5))
            vectors.append(pdist(x))
            rows.append({"instance": f"seed{s}", "layer": f"L{k}"})
    return RDM(np.array(vectors), descriptors=pd.DataFrame(rows))


def test_loo_nearest_centroid_by_hand():
    # 3 instances x 2 layers over 3 conditions; instance 2's layer B looks like layer A
    vectors = np.array([[1, 0, 0], [0, 1, 0], [1, 0.1, 0], [0.1, 1, 0], [0.9, 0, 0], [0.9, 0.2, 0]], dtype=float)
    rdms = RDM(vectors)
    res = model_selection(rdms, instances=[0, 0, 1, 1, 2, 2], layers=["A", "B"] * 3, noise_levels=[0.0],
                          transforms=["rdm"])
    assert res.to_frame()["accuracy"].tolist() == [pytest.approx(5 / 6)]
    assert ref_loo_accuracy(vectors, np.repeat([0, 1, 2], 2), np.array(["A", "B"] * 3)) == pytest.approx(5 / 6)


@pytest.mark.parametrize("spread", [0.3, 1.5, 3.0])
def test_model_selection_equals_the_reference_loo_eval(spread):
    rdms = planted(n_instances=5, n_layers=3, spread=spread, seed=1)
    inst = rdms.descriptors["instance"].to_numpy()
    lab = rdms.descriptors["layer"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        res = model_selection(rdms, noise_levels=[0.0], lower=[0.2, 0.1], upper=[0.8, 0.5]).to_frame()
    expect = {("rdm", None): ref_loo_accuracy(rdms.vectors, inst, lab)}
    for lu in [(0.2, 0.8), (0.1, 0.5)]:
        rgtm = np.array([ref_gt_transform(v, *lu) for v in rdms.vectors])
        expect[("rgtm", lu)] = ref_loo_accuracy(rgtm, inst, lab)
        rgdm = np.array([ref_geodesic_twostep(g) for g in rgtm])  # ranks, as the reference
        expect[("rgdm", lu)] = ref_loo_accuracy(rgdm, inst, lab)
    got = {(r.transform, None if np.isnan(r.lower) else (r.lower, r.upper)): r.accuracy for r in res.itertuples()}
    assert got == pytest.approx(expect, abs=1e-12)
    assert len(set(expect.values())) > 1 or spread == 0.3  # the cases are not all trivial


def test_model_selection_table_noise_and_chance():
    rdms = planted(n_instances=4, n_layers=4, spread=0.2, seed=2)
    res = model_selection(rdms, noise_levels=[0.0, 0.5, 1e3], n_repeats=6, transforms=["rdm", "rgtm"],
                          random_state=0)
    assert isinstance(res, ModelSelection)
    table = res.to_frame()
    assert list(table.columns) == ["transform", "lower", "upper", "noise_level", "accuracy", "sem", "n_repeats",
                                   "chance"]
    assert len(table) == 6 and (table["chance"] == 0.25).all()
    assert res.accuracies.shape == (2, 3, 6)
    for _, group in table.groupby("transform"):
        a = group.sort_values("noise_level")["accuracy"].to_numpy()
        assert a[0] == 1.0 and a[0] >= a[1] and abs(a[2] - 0.25) < 0.2
    assert res.noise_scale == pytest.approx(np.std(rdms.vectors))
    again = model_selection(rdms, noise_levels=[0.0, 0.5, 1e3], n_repeats=6, transforms=["rdm", "rgtm"],
                            random_state=0)
    np.testing.assert_array_equal(res.accuracies, again.accuracies)
    assert repr(res) == "ModelSelection(2 statistics x 3 noise levels; 4 instances x 4 layers, chance 0.25)"
    ax = res.plot()
    assert ax.get_ylabel().startswith("layer identification accuracy")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["RDM", "RGTM l=0.2, u=0.8", "chance"]


def test_model_selection_noise_is_gaussian_on_the_dissimilarities_clipped_at_zero():
    # one layer per instance pair that differs only by a constant offset: with noise far
    # below the offset every RDM is identified; the clipping keeps noisy RDMs >= 0
    base = np.random.default_rng(3).uniform(1.0, 2.0, size=15)
    vectors = np.array([base, base + 5.0] * 3)
    rdms = RDM(vectors)
    res = model_selection(rdms, instances=np.repeat([0, 1, 2], 2), layers=[0, 1] * 3, noise_levels=[0.1],
                          n_repeats=5, transforms=["rdm"], random_state=0)
    assert res.to_frame()["accuracy"].item() == 1.0  # noise SD 0.1 * 2.5: far below the offset


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        ({"instances": "subject"}, ArgumentError, "subject"),
        ({"instances": [0, 1]}, ShapeMismatchError, "instances has shape"),
        ({"instances": np.zeros(12)}, ShapeMismatchError, "1 instance"),
        ({"noise_levels": [-0.1]}, ArgumentError, "noise_levels"),
        ({"transforms": ["graph"]}, ArgumentError, "transforms"),
        ({"lower": [0.1, 0.2], "upper": [0.5]}, ShapeMismatchError, "same number"),
        ({"lower": 0.9, "upper": 0.1}, ArgumentError, "lower=0.9"),
        ({"ramp": "linear"}, ArgumentError, "ramp"),
        ({"n_repeats": 0}, ArgumentError, "n_repeats"),
    ],
)
def test_model_selection_bad_input(kwargs, exc, words):
    with pytest.raises(exc, match=words) as info:
        model_selection(planted(), **kwargs)
    assert isinstance(info.value, NeurotkError)


# --------------------------------------------------------------------------- the design from network activations
def test_layer_rdms_are_correlation_distance_rdms_labelled_by_instance_and_layer():
    rng = np.random.default_rng(11)
    acts = {s: {"early": rng.normal(size=(7, 9)), "late": rng.normal(size=(7, 4))} for s in ("a", "b")}
    stack = layer_rdms(acts)
    expect = np.array([pdist(acts[s][k], "correlation") for s in ("a", "b") for k in ("early", "late")])
    np.testing.assert_allclose(stack.vectors, expect, atol=1e-12)
    assert stack.names == ["a/early", "a/late", "b/early", "b/late"]
    assert stack.descriptors[["instance", "layer"]].to_numpy().tolist() == [
        ["a", "early"], ["a", "late"], ["b", "early"], ["b", "late"]]
    np.testing.assert_allclose(layer_rdms(acts, metric="euclidean").vectors[1], pdist(acts["a"]["late"]), atol=1e-12)


def test_model_selection_runs_the_design_from_trained_network_instances():
    # three instances of a small network (other seeds), four layers each: the RDMs of
    # their activations to the same images, classified by the reference's loo_eval
    from neurotk.datasets.digits import digits_split
    from neurotk.datasets.network import DigitsNetwork

    images, labels, train, test = digits_split()
    nets = {s: DigitsNetwork(hidden=(32, 16), n_epochs=2, random_state=s).fit(images[train[:300]],
                                                                            labels[train[:300]])
            for s in range(3)}
    acts = {s: net.activations(images[test[:20]]) for s, net in nets.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NeurotkWarning)
        res = model_selection(acts, noise_levels=[0.0]).to_frame()
    vectors = np.array([pdist(acts[s][k].data, "correlation") for s in nets for k in nets[0].layers])
    inst, lab = np.repeat(list(nets), 4), np.array(list(nets[0].layers) * 3)
    expect = {"rdm": ref_loo_accuracy(vectors, inst, lab),
              "rgtm": ref_loo_accuracy(np.array([ref_gt_transform(v, 0.2, 0.8) for v in vectors]), inst, lab),
              "rgdm": ref_loo_accuracy(np.array([ref_geodesic_twostep(ref_gt_transform(v, 0.2, 0.8))
                                                 for v in vectors]), inst, lab)}
    assert dict(zip(res["transform"], res["accuracy"])) == pytest.approx(expect, abs=1e-12)
    assert (res["chance"] == 0.25).all()


@pytest.mark.parametrize(
    "acts, exc, words",
    [
        ([np.zeros((4, 3))], ArgumentError, "mapping"),
        ({}, ArgumentError, "empty"),
        ({0: np.zeros((4, 3))}, ArgumentError, r"activations\[0\]"),
        ({0: {"a": np.eye(4)}, 1: {"a": np.eye(5)}}, ShapeMismatchError, "same conditions"),
    ],
)
def test_layer_rdms_bad_input(acts, exc, words):
    with pytest.raises(exc, match=words) as info:
        layer_rdms(acts)
    assert isinstance(info.value, NeurotkError)
