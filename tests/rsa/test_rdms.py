"""The RDM container: construction, selection, subsets, stacking, ranks, tables."""

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from neurotk.errors import (
    AlignmentError,
    ArgumentError,
    DuplicateIdError,
    NonFiniteDataError,
    ShapeMismatchError,
)
from neurotk.rsa.rdms import RDM, as_rdm, n_conditions_from_pairs, pair_index, stack_rdms


# --------------------------------------------------------------------------- container
def test_vector_matrix_round_trip_matches_scipy_squareform():
    v = np.random.default_rng(0).random(10)
    d = RDM(v)
    assert d.n_conditions == 5 and d.n_pairs == 10 and d.n_rdms == 1
    np.testing.assert_array_equal(d.matrix, squareform(v))
    np.testing.assert_array_equal(RDM.from_matrix(squareform(v)).vector, v)
    np.testing.assert_array_equal(squareform(d.matrix), d.vector)
    assert [a.tolist() for a in pair_index(4)] == [list(a) for a in np.triu_indices(4, 1)]


def test_vectors_are_read_only_copies():
    v = np.arange(3.0)
    d = RDM(v)
    v[0] = 99
    assert d.vector[0] == 0
    with pytest.raises(ValueError):
        d.vectors[0, 0] = 1


def test_stack_shapes_and_iteration():
    v = np.random.default_rng(1).random((3, 6))
    d = RDM(v, names=["a", "b", "c"])
    assert d.matrix.shape == (3, 4, 4) and d.vector.shape == (3, 6) and len(d) == 3
    assert [r.names[0] for r in d] == ["a", "b", "c"]
    for k in range(3):
        np.testing.assert_array_equal(d.matrix[k], squareform(v[k]))


def test_from_matrix_validation():
    m = squareform(np.arange(1.0, 4.0))
    bad = m.copy()
    bad[0, 1] += 1
    with pytest.raises(ShapeMismatchError, match="not symmetric"):
        RDM.from_matrix(bad)
    diag = m + np.eye(3)
    with pytest.raises(ShapeMismatchError, match="non-zero diagonal"):
        RDM.from_matrix(diag)
    with pytest.raises(ShapeMismatchError, match="square"):
        RDM.from_matrix(np.zeros((3, 4)))
    assert RDM.from_matrix(np.stack([m, 2 * m]), names=["x", "y"]).n_rdms == 2


def test_constructor_validation():
    with pytest.raises(ShapeMismatchError, match="n\\(n-1\\)/2"):
        RDM(np.ones(4))
    with pytest.raises(ShapeMismatchError, match="conditions"):
        RDM(np.ones(3), conditions=["a", "b"])
    with pytest.raises(DuplicateIdError):
        RDM(np.ones(3), conditions=["a", "a", "b"])
    with pytest.raises(NonFiniteDataError):
        RDM([1.0, np.nan, 2.0])
    assert RDM([1.0, np.nan, 2.0], allow_nan=True).allow_nan
    with pytest.raises(ShapeMismatchError, match="names"):
        RDM(np.ones((2, 3)), names=["one"])
    with pytest.raises(ShapeMismatchError):
        n_conditions_from_pairs(5)


def test_getitem_by_position_slice_mask_and_name():
    d = RDM(np.arange(9.0).reshape(3, 3), names=["V1", "V4", "IT"], descriptors={"area": ["V1", "V4", "IT"], "rank": [1, 2, 3]})
    assert d["V4"].names == ["V4"] and d["V4"].vector.tolist() == [3.0, 4.0, 5.0]
    assert d[["IT", "V1"]].names == ["IT", "V1"]
    assert d[1:].names == ["V4", "IT"]
    assert d[np.array([True, False, True])].names == ["V1", "IT"]
    assert d[-1].names == ["IT"]
    assert d[[0, 2]].descriptors["rank"].tolist() == [1, 3]
    with pytest.raises(ArgumentError, match="no RDM named"):
        d["LM"]
    with pytest.raises(ArgumentError, match="out of range"):
        d[5]
    with pytest.raises(ShapeMismatchError):
        d[np.array([True, False])]


def test_subset_reorders_and_reports_missing():
    x = np.random.default_rng(2).normal(size=(5, 3))
    d = RDM(pdist(x), conditions=list("abcde"))
    sub = d.subset(["d", "a", "c"])
    np.testing.assert_array_equal(sub.matrix, squareform(pdist(x[[3, 0, 2]])))
    assert sub.conditions.tolist() == ["d", "a", "c"]
    with pytest.raises(AlignmentError, match="'z'"):
        d.subset(["a", "z"])


def test_stack_rdms_and_mismatched_conditions():
    a = RDM([1.0, 2.0, 3.0], conditions=list("abc"), names=["s1"], metric="correlation")
    b = RDM([4.0, 5.0, 6.0], conditions=list("abc"), names=["s2"], metric="correlation")
    s = stack_rdms([a, b])
    assert s.names == ["s1", "s2"] and s.metric == "correlation" and s.vectors.shape == (2, 3)
    assert stack_rdms([a, b], names=["x", "y"]).names == ["x", "y"]
    c = RDM([1.0, 2.0, 3.0], conditions=list("abd"))
    with pytest.raises(ShapeMismatchError, match="same conditions"):
        stack_rdms([a, c])
    with pytest.raises(ArgumentError):
        stack_rdms([])


def test_to_frame_and_as_rdm():
    d = RDM(np.arange(6.0).reshape(2, 3), conditions=list("abc"), names=["m1", "m2"])
    f = d.to_frame()
    assert list(f.columns) == ["name", "condition_1", "condition_2", "dissimilarity"]
    assert f.shape == (6, 4)
    assert f.iloc[4].tolist() == ["m2", "a", "c", 4.0]
    m = squareform([1.0, 2.0, 3.0])
    assert as_rdm(m).vector.tolist() == [1.0, 2.0, 3.0]
    assert as_rdm(d) is d
    assert as_rdm([1.0, 2.0, 3.0]).n_conditions == 3



# --------------------------------------------------------------------------- ranks, result contract
def test_ranks_are_percentiles_within_each_rdm():
    import scipy.stats

    rng = np.random.default_rng(3)
    v = np.round(rng.random((2, 15)), 1)  # ties
    d = RDM(v, conditions=list("abcdef"), names=["x", "y"], metric="correlation", descriptors={"k": [1, 2]})
    ranked = d.ranks()
    np.testing.assert_array_equal(ranked.vectors, scipy.stats.rankdata(v, axis=1) / 15 * 100)
    assert ranked.names == ["x", "y"] and ranked.conditions.tolist() == list("abcdef")
    assert ranked.descriptors["k"].tolist() == [1, 2]
    assert ranked.metric == "percentile(correlation)" and ranked.meta["transform"] == "percentile ranks"
    assert RDM([1.0, 2.0, 3.0]).ranks().metric == "percentile"
    missing = RDM([[1.0, np.nan, 2.0], [3.0, 1.0, 2.0]], allow_nan=True).ranks()
    assert np.isnan(missing.vectors[0]).all() and missing.vectors[1].tolist() == [3 / 3 * 100, 1 / 3 * 100, 2 / 3 * 100]


def test_rdm_is_a_result_with_table_figure_and_file(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from neurotk.results import Result

    d = RDM(np.arange(6.0).reshape(2, 3), conditions=list("abc"), names=["m1", "m2"], metric="euclidean")
    assert isinstance(d, Result)
    ax = d.plot(index=1)
    assert ax.get_title() == "m2"
    plt.close("all")
    back = pd.read_csv(d.save(tmp_path / "rdm.csv"))
    assert back["dissimilarity"].tolist() == list(np.arange(6.0))
    assert d.save(tmp_path / "rdm.png").stat().st_size > 0
    assert repr(d).startswith("RDM: 2 x 3 conditions")


# --------------------------------------------------------------------------- rsatoolbox
def test_from_rsatoolbox_round_trip():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(5)
    v = rng.random((3, 10))
    src = rsatoolbox.rdm.RDMs(
        v, dissimilarity_measure="crossnobis", descriptors={"subject": "s01", "noise": 0.5},
        rdm_descriptors={"name": ["V1", "V4", "IT"], "session": [1, 2, 2]},
        pattern_descriptors={"conds": ["face", "house", "car", "dog", "tree"], "category": list("aabbc")},
    )
    d = RDM.from_rsatoolbox(src)
    # the values against rsatoolbox's own square matrices (its squareform, not neurotk's)
    np.testing.assert_array_equal(d.matrices, src.get_matrices())
    assert d.metric == "crossnobis" and d.names == ["V1", "V4", "IT"]
    assert d.conditions.tolist() == ["face", "house", "car", "dog", "tree"]
    assert d.descriptors["session"].tolist() == [1, 2, 2] and d.descriptors["index"].tolist() == [0, 1, 2]
    assert d.meta["subject"] == "s01" and d.meta["pattern_descriptors"]["category"] == list("aabbc")
    back = d.to_rsatoolbox()
    assert isinstance(back, rsatoolbox.rdm.RDMs)
    np.testing.assert_array_equal(back.dissimilarities, src.dissimilarities)
    assert back.dissimilarity_measure == src.dissimilarity_measure
    assert back.descriptors == src.descriptors
    assert back.rdm_descriptors == src.rdm_descriptors
    assert back.pattern_descriptors == src.pattern_descriptors
    # a sub-selection by rsatoolbox gives the same as neurotk's own selection
    np.testing.assert_array_equal(RDM.from_rsatoolbox(src.subset("session", 2)).vectors, d[[1, 2]].vectors)


def test_to_rsatoolbox_round_trip_and_errors():
    rsatoolbox = pytest.importorskip("rsatoolbox")
    v = np.array([[1.0, np.nan, 3.0], [2.0, 5.0, 4.0]])
    d = RDM(v, conditions=[10, 20, 30], names=["a", "b"], metric="euclidean", meta={"source": "test"},
            descriptors={"layer": ["conv1", "fc"]}, allow_nan=True)
    r = d.to_rsatoolbox()
    assert r.n_rdm == 2 and r.n_cond == 3 and r.descriptors == {"source": "test"}
    np.testing.assert_array_equal(r.get_matrices()[1], d.matrices[1])
    assert r.rdm_descriptors["layer"] == ["conv1", "fc"] and r.pattern_descriptors["conds"] == [10, 20, 30]
    again = RDM.from_rsatoolbox(r)
    np.testing.assert_array_equal(again.vectors, d.vectors)  # NaN pairs kept
    assert again.allow_nan and again.conditions.tolist() == [10, 20, 30] and again.names == ["a", "b"]
    assert again.metric == "euclidean" and again.meta["source"] == "test"
    assert again.descriptors[["name", "layer"]].equals(d.descriptors[["name", "layer"]])
    with pytest.raises(ArgumentError, match="is not a pattern descriptor"):
        RDM.from_rsatoolbox(r, conditions="stimulus")
    with pytest.raises(ArgumentError, match="expected an rsatoolbox.rdm.RDMs object"):
        RDM.from_rsatoolbox(np.ones(3))
    only_index = rsatoolbox.rdm.RDMs(np.ones((1, 3)))
    assert RDM.from_rsatoolbox(only_index).conditions.tolist() == [0, 1, 2]
