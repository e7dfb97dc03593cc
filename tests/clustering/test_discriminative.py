"""MDS clustering: the objective's gradient against finite differences, recovery of planted
types (adjusted Rand index against the simulator's ground truth and against scikit-learn
baselines), learned stimuli against the planted filters, typing new neurons, bad input."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from neurotk import ArgumentError, ShapeMismatchError
from neurotk.clustering import LNModel, MDSClustering
from neurotk.clustering.discriminative import _Problem
from neurotk.datasets import simulate_cell_types


def test_objective_gradient_matches_finite_differences(small_fit, finite_difference):
    _, model, _ = small_fit
    rng = np.random.default_rng(0)
    ref = model.reference_stimuli
    z_ref = model.predict(ref)
    problem = _Problem(model, z_ref.mean(0), z_ref.std(0), temperature=0.7, norm=10.0, centre=0.0,
                       pixel_range=None, smoothing=0.0)
    x = rng.normal(size=(3, 10, 10))
    labels = rng.integers(0, 3, size=model.n_neurons)

    def objective(s):
        z = (model.predict(s) - z_ref.mean(0)) / z_ref.std(0)
        logits = z / 0.7
        logp = logits[labels, np.arange(z.shape[1])] - np.log(np.exp(logits).sum(axis=0))
        return float(logp.mean())

    value, _ = problem.objective(problem.z(x), labels)
    assert value == pytest.approx(objective(x), rel=1e-12)
    analytic = problem.gradient(x, problem.z(x), labels)
    np.testing.assert_allclose(analytic, finite_difference(objective, x.copy()), rtol=1e-5, atol=1e-9)


def test_recovers_the_planted_types(spec_sim, spec_mds):
    assert spec_mds.n_clusters_ == 6  # found by splitting, n_clusters=None
    assert adjusted_rand_score(spec_sim.labels, spec_mds.labels_) >= 0.9
    assert spec_mds.labels_.shape == (400,) and spec_mds.stimuli_.shape == (6, 20, 20)


def test_at_least_as_good_as_kmeans_and_gmm_on_pca(spec_sim, spec_mds):
    # baselines built directly from scikit-learn (independent of neurotk's wrappers)
    r = spec_sim.responses.data.T
    r = (r - r.mean(1, keepdims=True)) / r.std(1, keepdims=True)
    emb = PCA(n_components=20, random_state=0).fit_transform(r)
    km = KMeans(n_clusters=6, n_init=10, random_state=0).fit_predict(emb)
    gmm = GaussianMixture(n_components=6, covariance_type="diag", n_init=5, random_state=0).fit(emb[:, :10])
    ari_mds = adjusted_rand_score(spec_sim.labels, spec_mds.labels_)
    assert ari_mds >= adjusted_rand_score(spec_sim.labels, km) - 1e-12
    assert ari_mds >= adjusted_rand_score(spec_sim.labels, gmm.predict(emb[:, :10])) - 1e-12


def test_stimuli_resemble_the_planted_types_filters(spec_sim, spec_mds):
    k = spec_mds.n_clusters_
    majority = np.array([np.bincount(spec_sim.labels[spec_mds.labels_ == c], minlength=6).argmax()
                         for c in range(k)])
    assert sorted(majority) == list(range(6))
    stim = (spec_mds.stimuli_ - spec_mds.centre_).reshape(k, -1)
    planted = spec_sim.type_filters.reshape(6, -1)[majority]
    corr = np.array([np.corrcoef(s, t)[0, 1] for s, t in zip(stim, planted)])
    # a discriminative stimulus also steers away from the other types, so it need not be
    # the type's filter itself; it must still clearly resemble it
    assert corr.min() > 0.5 and corr.mean() > 0.75
    # the norm constraint holds
    assert np.all(np.linalg.norm(stim, axis=1) <= spec_mds.norm_ * (1 + 1e-9))


def test_predict_types_new_neurons_from_one_noisy_presentation(spec_sim, spec_mds):
    new = simulate_cell_types(n_neurons=300, n_types=6, image_shape=(20, 20), random_state=0)
    assert np.allclose(new.type_filters, spec_sim.type_filters)  # same types, other neurons
    rng = np.random.default_rng(1)
    measured = rng.poisson(new.predict(spec_mds.stimuli_)).astype(float)  # 6 stimuli, 1 repeat
    assert adjusted_rand_score(new.labels, spec_mds.predict(measured)) >= 0.9
    # for the model's own predictions, predict is the fit's assignment rule
    np.testing.assert_array_equal(spec_mds.predict(spec_mds.responses_), spec_mds.labels_)


def test_fixed_number_of_clusters_and_reproducibility(small_fit):
    sim, model, mds = small_fit
    assert mds.n_clusters_ == 3 and np.bincount(mds.labels_, minlength=3).min() > 0
    assert adjusted_rand_score(sim.labels, mds.labels_) >= 0.9
    again = MDSClustering(n_clusters=3, n_restarts=1, random_state=0).fit(model)
    np.testing.assert_array_equal(again.labels_, mds.labels_)
    np.testing.assert_allclose(again.stimuli_, mds.stimuli_)
    table = mds.to_frame()
    assert len(table) == 45 and table["cluster"].tolist() == mds.labels_.tolist()
    np.testing.assert_allclose(mds.responses_, model.predict(mds.stimuli_))


def test_one_type_is_not_split():
    sim = simulate_cell_types(n_neurons=40, n_types=1, image_shape=(10, 10), n_stimuli=600, random_state=2)
    mds = MDSClustering(n_restarts=1).fit(LNModel().fit(sim.stimuli, sim.responses))
    assert mds.n_clusters_ == 1 and not mds.splits_["accepted"].any()


def test_pixel_range_and_parallel_restarts(small_fit):
    _, model, _ = small_fit
    lo, hi = -1.0, 1.0
    one = MDSClustering(n_clusters=3, n_restarts=2, pixel_range=(lo, hi), n_steps=10, max_rounds=2).fit(model)
    assert one.stimuli_.min() >= lo and one.stimuli_.max() <= hi
    two = MDSClustering(n_clusters=3, n_restarts=2, pixel_range=(lo, hi), n_steps=10, max_rounds=2,
                        n_jobs=2).fit(model)
    np.testing.assert_allclose(two.stimuli_, one.stimuli_)
    assert one.restart_objectives_.shape == (2,)


class _WrongShape:
    n_neurons, image_shape = 5, (4, 4)

    def predict(self, stimuli):
        return np.zeros((len(stimuli), 3))

    def gradient(self, stimuli, weights):
        return np.zeros_like(stimuli)


def test_bad_input_raises_clear_errors(small_fit):
    _, model, mds = small_fit
    with pytest.raises(ArgumentError, match="n_clusters=46"):
        MDSClustering(n_clusters=46).fit(model)
    with pytest.raises(ShapeMismatchError, match="expected \\(2, 5\\)"):
        MDSClustering(n_clusters=2).fit(_WrongShape())
    with pytest.raises(ArgumentError, match="lacks"):
        MDSClustering().fit(np.zeros((10, 4)))
    with pytest.raises(ArgumentError, match="pixel_range"):
        MDSClustering(pixel_range=(5.0, 6.0)).fit(model)
    with pytest.raises(ArgumentError, match="temperature"):
        MDSClustering(temperature=0).fit(model)
    with pytest.raises(ShapeMismatchError, match="one row per learned stimulus"):
        mds.predict(np.zeros((4, 10)))
    with pytest.raises(ArgumentError, match="not fitted"):
        MDSClustering().predict(np.zeros((3, 10)))
    with pytest.raises(ArgumentError, match="not a parameter"):
        MDSClustering().set_params(n_cluster=3)
    assert MDSClustering().set_params(n_clusters=4).get_params()["n_clusters"] == 4


def test_split_separates_two_groups_and_not_one():
    from neurotk.clustering.discriminative import _split_cluster

    rng = np.random.default_rng(3)
    truth = rng.permutation(np.arange(80) % 2)
    profiles = rng.normal(size=(2, 200))
    two = (profiles[truth] + 0.3 * rng.normal(size=(80, 200))).T  # (n_reference, n_members)
    upper, sep = _split_cluster(two)
    assert adjusted_rand_score(truth, upper) == pytest.approx(1.0)
    assert sep > MDSClustering().min_separation
    one = (profiles[0] + 0.3 * rng.normal(size=(80, 200))).T
    _, sep_one = _split_cluster(one)
    assert sep_one < MDSClustering().min_separation


def test_scaled_responses_are_the_competing_scale(small_fit):
    _, model, mds = small_fit
    z = mds.scaled_responses()
    np.testing.assert_allclose(z, (mds.responses_ - mds.response_offset_) / mds.response_scale_)
    # the log-probabilities the fit reports come from this scale
    logits = z / mds.temperature_
    logp = logits[mds.labels_, np.arange(z.shape[1])] - np.log(np.exp(logits).sum(axis=0))
    np.testing.assert_allclose(logp, mds.log_proba_, rtol=1e-10, atol=1e-12)
    with pytest.raises(ArgumentError, match="not fitted"):
        MDSClustering().scaled_responses()
