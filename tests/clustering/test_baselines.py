"""k-means / Gaussian-mixture baselines: agreement with scikit-learn pipelines built here,
planted clusters, selection of the number of clusters, bad input."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from neurotk import ArgumentError, Recording, ShapeMismatchError
from neurotk.clustering import GaussianMixtureClustering, KMeansClustering


def _planted(n_neurons=90, n_stimuli=60, k=3, noise=0.4, seed=0, gains=(0.5, 3.0), baselines=(5.0, 5.0)):
    """Responses (stimuli x neurons) of k groups of neurons sharing a response profile."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_neurons) % k)
    profiles = rng.normal(size=(k, n_stimuli))
    gain = rng.uniform(*gains, n_neurons)  # response scale differs within a group
    base = rng.uniform(*baselines, n_neurons)  # and so may the baseline rate
    r = (profiles[labels] * gain[:, None] + base[:, None] + noise * rng.normal(size=(n_neurons, n_stimuli))).T
    return r, labels


def _sklearn_embedding(r, d):
    x = r.T
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return PCA(n_components=d, random_state=0).fit_transform(x)


def test_kmeans_matches_a_scikit_learn_pipeline_and_the_planted_groups():
    r, labels = _planted()
    est = KMeansClustering(n_clusters=3, n_components=5).fit(r)
    ref = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(_sklearn_embedding(r, 5))
    assert adjusted_rand_score(ref, est.labels_) == pytest.approx(1.0)
    assert adjusted_rand_score(labels, est.labels_) == pytest.approx(1.0)
    assert est.embedding_.shape == (90, 5) and est.n_clusters_ == 3


def test_gmm_matches_a_scikit_learn_pipeline_and_selects_k_by_bic():
    r, labels = _planted(k=4, seed=1, gains=(1.0, 1.0))  # Gaussian blobs, as the mixture assumes
    est = GaussianMixtureClustering(n_clusters=4, n_components=6).fit(Recording(r))
    emb = _sklearn_embedding(r, 6)
    ref = GaussianMixture(4, covariance_type="diag", n_init=5, random_state=0).fit(emb).predict(emb)
    assert adjusted_rand_score(ref, est.labels_) == pytest.approx(1.0)
    auto = GaussianMixtureClustering(max_clusters=8, n_components=6).fit(r)
    bic = {k: GaussianMixture(k, covariance_type="diag", n_init=5, random_state=0).fit(emb).bic(emb)
           for k in range(1, 9)}
    assert auto.n_clusters_ == min(bic, key=bic.get) == 4
    assert adjusted_rand_score(labels, auto.labels_) == pytest.approx(1.0)


def test_kmeans_selects_k_by_silhouette():
    r, labels = _planted(k=5, seed=2, noise=0.3)
    est = KMeansClustering(max_clusters=8, n_components=8).fit(r)
    assert est.n_clusters_ == 5 and set(est.selection_) == set(range(2, 9))
    assert adjusted_rand_score(labels, est.labels_) == pytest.approx(1.0)


def test_standardize_clusters_by_pattern_not_rate():
    r, labels = _planted(seed=3, baselines=(0.0, 30.0))
    z = KMeansClustering(n_clusters=3, n_components=5).fit(r)
    raw = KMeansClustering(n_clusters=3, n_components=5, standardize=False).fit(r)
    assert adjusted_rand_score(labels, z.labels_) == pytest.approx(1.0)
    assert adjusted_rand_score(labels, raw.labels_) < 0.5


def test_predict_types_new_neurons():
    r, labels = _planted(n_neurons=120, seed=4)
    est = GaussianMixtureClustering(n_clusters=3, n_components=5).fit(r[:, :90])
    new = est.predict(r[:, 90:])
    assert adjusted_rand_score(labels[90:], new) == pytest.approx(1.0)
    with pytest.raises(ShapeMismatchError, match="59 stimuli"):
        est.predict(r[:59, 90:])


def test_bad_input_raises_clear_errors():
    r, _ = _planted(n_neurons=10)
    with pytest.raises(ArgumentError, match="n_clusters=11"):
        KMeansClustering(n_clusters=11).fit(r)
    with pytest.raises(ShapeMismatchError):
        KMeansClustering(n_clusters=2).fit(r[:, 0])
    with pytest.raises(ArgumentError, match="covariance_type"):
        GaussianMixtureClustering(n_clusters=2, covariance_type="round").fit(r)
    with pytest.raises(ArgumentError, match="not fitted"):
        KMeansClustering().predict(r)
    with pytest.raises(ArgumentError, match="not a parameter"):
        GaussianMixtureClustering().set_params(k=3)
