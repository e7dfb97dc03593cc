"""DynamicConnectome end to end on simulate_calcium_population's planted communities."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from neurotk import Recording
from neurotk.connectome import DynamicConnectome, Motif, pairs_to_matrix
from neurotk.connectome.communities import available_methods
from neurotk.datasets import simulate_calcium_population
from neurotk.errors import AlignmentError, ArgumentError, NeurotkError, NonFiniteDataError, ShapeMismatchError


@pytest.fixture(scope="module")
def sim():
    # six animals: the time course is shared, so more animals give cleaner intervals (with
    # three animals the overlaps here are 0.82-0.88)
    return simulate_calcium_population(n_neurons=60, n_timepoints=4000, n_animals=6, n_communities=3,
                                       missing_fraction=0.1, random_state=0)


@pytest.fixture(scope="module")
def fitted(sim):
    # the background convention (-1 for neurons in no community) of Leiden / spectral
    # clustering; the paper's SBM, which gives those neurons a block instead, is tested
    # end to end in test_sbm.py
    method = next(m for m in available_methods() if m != "sbm")
    return DynamicConnectome(rank=3, window=40, step=10, n_restarts=3, community_method=method,
                             random_state=0).fit(sim.recordings)


def predicted_membership(dc, n):
    pred = np.full(n, -1)
    for m in dc.motifs_:
        for c in range(m.communities.n_communities):
            pred[m.unit_ids[m.communities.members(c)]] = 10 * m.component + c
    return pred


def test_recovers_planted_communities(sim, fitted):
    assert fitted.tensor_.mask is not None and not fitted.tensor_.mask.all()   # missing neurons masked
    assert adjusted_rand_score(sim.membership, predicted_membership(fitted, sim.n_neurons)) >= 0.9
    # one motif per planted community
    best = [max(range(3), key=lambda c: np.isin(m.unit_ids[m.communities.members(0)],
                                                 np.flatnonzero(sim.membership == c)).sum())
            for m in fitted.motifs_]
    assert sorted(best) == [0, 1, 2]


def test_recovers_active_intervals(sim, fitted):
    ious = []
    for m in fitted.motifs_:
        frames = m.active_samples()
        ious.append(max((frames & row).sum() / (frames | row).sum() for row in sim.active))
    # intersection over union of the active frames with the planted intervals
    assert min(ious) >= 0.9, ious


def test_outputs_are_consistent(sim, fitted):
    m = fitted.motifs_[0]
    assert isinstance(m, Motif)
    np.testing.assert_allclose(m.matrix(), pairs_to_matrix(fitted.ntf_.factors[0][:, 0]))
    edges = m.edges()
    assert len(edges) == (m.pair_loadings > 0).sum()
    assert edges["weight"].is_monotonic_decreasing
    k = edges.index[0]
    i, j = np.flatnonzero(m.unit_ids == edges.loc[k, "unit_i"])[0], np.flatnonzero(m.unit_ids == edges.loc[k, "unit_j"])[0]
    assert m.matrix()[i, j] == edges.loc[k, "weight"]
    inside = m.edges(within=True)
    assert (inside["community_i"] == inside["community_j"]).all() and (inside["community_i"] >= 0).all()
    summary = fitted.summary()
    assert {"motif", "community", "time_start", "time_stop", "unit_ids"} <= set(summary.columns)
    assert any(c.startswith("loading ") for c in summary.columns)
    assert (summary["time_stop"] > summary["time_start"]).all()
    assert fitted.membership().shape == (fitted.unit_ids_.size, 3)
    assert set(fitted.unit_ids_) == set(np.flatnonzero(sim.present.any(axis=0)))
    assert isinstance(fitted.to_frame(), pd.DataFrame)
    assert set(fitted.edge_lists()) == {0, 1, 2}
    assert 0 < fitted.error_ < 1


def test_correlation_baseline_runs(sim):
    dc = DynamicConnectome(rank=3, method="correlation", window=40, n_restarts=1, random_state=0).fit(sim.recordings[:2])
    assert len(dc.motifs_) == 3 and dc.tensor_.method == "correlation"


def _recs(rng, n=5, t=200, ids=None):
    return [Recording(rng.normal(size=(t, n)).cumsum(axis=0), units={"unit_id": ids if ids is not None else np.arange(n)})
            for _ in range(2)]


@pytest.mark.parametrize("make,kw,err", [
    (lambda rng: _recs(rng), dict(window=500), ArgumentError),                     # window > recording
    (lambda rng: _recs(rng, n=2), {}, ShapeMismatchError),                        # fewer than 3 neurons
    (lambda rng: [np.where(np.eye(200, 5, dtype=bool), np.nan, r.data) for r in _recs(rng)], {}, NonFiniteDataError),
    (lambda rng: _recs(rng), dict(rank=0), ArgumentError),
    (lambda rng: [_recs(rng)[0], _recs(rng, ids=np.arange(5) + 50)[0]], {}, AlignmentError),  # identities
    (lambda rng: _recs(rng), dict(method="granger"), ArgumentError),
])
def test_bad_input(make, kw, err):
    recs = make(np.random.default_rng(0))
    params = dict(rank=2, window=20, n_restarts=1)
    params.update(kw)
    with pytest.raises(err) as info:
        DynamicConnectome(**params).fit(recs)
    assert isinstance(info.value, NeurotkError) and "expected" in str(info.value)


def test_unfitted_and_params():
    dc = DynamicConnectome(rank=2)
    with pytest.raises(NeurotkError):
        dc.summary()
    assert dc.set_params(rank=4).get_params()["rank"] == 4
    with pytest.raises(ArgumentError):
        dc.set_params(bogus=1)
