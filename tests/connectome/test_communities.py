"""Communities of planted weighted block graphs (ground truth), per available method."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from neurotk.connectome import find_communities
from neurotk.connectome.communities import available_methods, background_split
from neurotk.errors import ArgumentError, NeurotkError, ShapeMismatchError


def block_graph(sizes, n_background=0, inside=1.0, outside=0.05, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.full(s, k) for k, s in enumerate(sizes)] + [np.full(n_background, -1)])
    same = (labels[:, None] == labels[None, :]) & (labels[:, None] >= 0)
    w = np.where(same, inside, outside) * rng.uniform(0.5, 1.5, (labels.size,) * 2)
    w = np.triu(w, 1)
    w = w + w.T
    perm = rng.permutation(labels.size)
    return w[np.ix_(perm, perm)], labels[perm]


@pytest.mark.parametrize("method", [m for m in available_methods()])
def test_planted_blocks_are_found(method):
    w, truth = block_graph([8, 6, 5])
    found = find_communities(w, method=method, background=False)
    assert found.method == method
    assert adjusted_rand_score(truth, found.labels) == pytest.approx(1.0)


@pytest.mark.parametrize("method", [m for m in available_methods()])
def test_background_neurons_are_set_apart(method):
    w, truth = block_graph([8, 7], n_background=12, outside=0.01, seed=1)
    found = find_communities(w, method=method, background=True)
    assert adjusted_rand_score(truth, found.labels) == pytest.approx(1.0)
    assert ((found.labels == -1) == (truth == -1)).all()


def test_pairs_vector_input_and_label_order():
    w, _ = block_graph([4, 4], seed=2)
    w[:4, :4] *= 3  # not in order after the permutation: relabelled by internal weight
    i, j = np.triu_indices(8, 1)
    a = find_communities(w, method="spectral", background=False)
    b = find_communities(w[i, j], method="spectral", background=False)
    assert (a.labels == b.labels).all()
    inside = [w[np.ix_(a.members(c), a.members(c))].sum() for c in range(a.n_communities)]
    assert inside == sorted(inside, reverse=True)
    df = a.to_frame(unit_ids=np.arange(8) + 100)
    assert df["unit_id"].tolist() == list(range(100, 108))


def test_background_default_is_off_only_for_the_sbm():
    w, _ = block_graph([8, 7], n_background=12, outside=0.01, seed=1)
    assert find_communities(w, method="spectral").params["background"] is True
    assert (find_communities(w, method="spectral").labels == -1).sum() == 12


def test_sbm_without_graph_tool_says_how_to_get_it(monkeypatch):
    import importlib.util

    from neurotk.errors import OptionalDependencyError

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "graph_tool" else real(name, *a))
    with pytest.raises(OptionalDependencyError, match="python3-graph-tool.*expected|expected.*python3-graph-tool"):
        find_communities(block_graph([4, 4])[0], method="sbm")


def test_background_split_needs_bimodal_strengths():
    assert background_split(np.linspace(1, 2, 20)).all()
    s = np.r_[np.full(10, 0.1), np.full(5, 3.0)]
    assert background_split(s).tolist() == [False] * 10 + [True] * 5


@pytest.mark.parametrize("graph,kw,err", [
    (np.ones((3, 4)), {}, ShapeMismatchError),
    (np.ones((2, 2)), {}, ShapeMismatchError),
    (-np.ones((4, 4)), {}, ArgumentError),
    (np.ones((4, 4)), {"method": "louvain"}, ArgumentError),
    (np.ones((4, 4)), {"resolution": 0}, ArgumentError),
    (np.full((4, 4), np.nan), {}, ArgumentError),
])
def test_bad_graphs(graph, kw, err):
    with pytest.raises(err) as info:
        find_communities(graph, **kw)
    assert isinstance(info.value, NeurotkError) and "expected" in str(info.value)


def test_order_sorts_by_community_then_strength_with_background_last():
    from neurotk.connectome import Communities

    found = Communities(np.array([1, -1, 0, 1, 0]), "spectral", np.array([1.0, 9.0, 2.0, 3.0, 5.0]))
    assert found.order().tolist() == [4, 2, 3, 0, 1]
    assert repr(found) == "Communities(method='spectral', n_communities=2, n_background=1)"
