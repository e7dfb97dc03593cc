"""Baselines for functional cell typing: k-means and Gaussian mixtures on PCA of responses.

The usual way to type neurons without a model is to cluster their response profiles: each
neuron is a point whose coordinates are its responses to the same stimuli. The profiles
are (optionally) z-scored per neuron, reduced by PCA across neurons, and clustered by
k-means (:class:`KMeansClustering`) or a Gaussian mixture
(:class:`GaussianMixtureClustering`). Both follow the scikit-learn estimator API of
:class:`~neurotk.clustering.MDSClustering` (``fit``, ``predict``, ``labels_``,
``n_clusters_``); with ``n_clusters=None`` the number of clusters is chosen by the
silhouette score (k-means) or the BIC (mixtures).

The input is a response matrix ``(n_stimuli, n_neurons)``, measured or predicted (e.g.
``model.predict(stimuli)``), as an array or a :class:`~neurotk.Recording`.
"""

from __future__ import annotations

import numpy as np

from .._params import Parameters
from .._validation import check_choice, check_fitted, check_int, check_matrix
from ..errors import ArgumentError, ShapeMismatchError
from ..utils import as_rng
from .models import check_n_clusters

__all__ = ["GaussianMixtureClustering", "KMeansClustering"]

_COVARIANCES = ("full", "tied", "diag", "spherical")


class _PCAClustering(Parameters):
    """Shared machinery: profiles -> (z-score) -> PCA -> clustering of neurons."""

    def __repr__(self) -> str:
        fitted = (f"; {self.n_clusters_} clusters of {self.labels_.size} neurons"
                  if hasattr(self, "labels_") else "")
        return f"{type(self).__name__}(n_clusters={self.n_clusters!r}{fitted})"

    def _profiles(self, responses, name="responses") -> np.ndarray:
        """(n_neurons, n_stimuli) profiles, z-scored per neuron when asked."""
        r = check_matrix(responses, name, rows="stimuli", cols="neurons", min_rows=2)
        x = r.T
        if self.standardize:
            mean = x.mean(axis=1, keepdims=True)
            sd = x.std(axis=1, keepdims=True)
            x = np.where(sd > 0, (x - mean) / np.where(sd > 0, sd, 1.0), 0.0)
        return x

    def _check_common(self, n_neurons: int):
        check_n_clusters(self.n_clusters, n_neurons, "neurons (columns of responses)")
        if not isinstance(self.standardize, (bool, np.bool_)):
            raise ArgumentError(f"standardize={self.standardize!r}; expected True or False")
        check_int(self.max_clusters, "max_clusters", 1)
        check_int(self.n_init, "n_init", 1)

    def fit(self, responses):
        """Cluster the neurons (columns) of ``responses``.

        Parameters
        ----------
        responses : Recording or array-like, shape (n_stimuli, n_neurons)
            Each neuron's responses to the same stimuli (measured or predicted).

        Returns
        -------
        self

        Raises
        ------
        ArgumentError
            ``n_clusters`` above the number of neurons, or bad parameters.
        ShapeMismatchError
            Not a 2-D response matrix.
        """
        from sklearn.decomposition import PCA

        x = self._profiles(responses)
        n_neurons, n_stimuli = x.shape
        self._check_common(n_neurons)
        d = min(check_int(self.n_components, "n_components", 1), n_neurons, n_stimuli)
        seed = int(as_rng(self.random_state).integers(2**31 - 1))
        pca = PCA(n_components=d, random_state=seed).fit(x)
        emb = pca.transform(x)
        if self.n_clusters is not None:
            ks = [int(self.n_clusters)]
        else:
            ks = list(range(self._k_min, min(int(self.max_clusters), n_neurons - 1) + 1)) or [1]
        fits = [self._cluster(emb, k, seed) for k in ks]
        scores = np.array([self._selection_score(est, emb, k) for est, k in zip(fits, ks)])
        best = int(np.argmax(scores))
        self.pca_ = pca
        self.estimator_ = fits[best]
        self.embedding_ = emb
        self.labels_ = np.asarray(self.estimator_.predict(emb), dtype=int)
        self.n_clusters_ = ks[best]
        self.selection_ = dict(zip(ks, scores.tolist()))
        self.explained_variance_ratio_ = pca.explained_variance_ratio_
        self.n_stimuli_ = n_stimuli
        return self

    def fit_predict(self, responses) -> np.ndarray:
        """Fit and return :attr:`labels_`."""
        return self.fit(responses).labels_

    def predict(self, responses) -> np.ndarray:
        """Type new neurons from their responses to the training stimuli.

        Parameters
        ----------
        responses : Recording or array-like, shape (n_stimuli, n_neurons)
            Responses to the same stimuli (same rows, same order) as in ``fit``.

        Returns
        -------
        ndarray of int, shape (n_neurons,)

        Raises
        ------
        ShapeMismatchError
            Another number of stimuli than in ``fit``.
        """
        check_fitted(self, "labels_", "call fit(responses) first")
        x = self._profiles(responses)
        if x.shape[1] != self.n_stimuli_:
            raise ShapeMismatchError(
                f"responses has {x.shape[1]} stimuli (rows); expected {self.n_stimuli_}, the stimuli "
                f"the clustering was fitted on"
            )
        return np.asarray(self.estimator_.predict(self.pca_.transform(x)), dtype=int)


class KMeansClustering(_PCAClustering):
    """k-means on the PCA of the neurons' response profiles.

    Parameters
    ----------
    n_clusters : int, optional
        Number of clusters; by default the best silhouette score over
        ``2 .. max_clusters``.
    max_clusters : int, default 20
    n_components : int, default 20
        Principal components kept (at most the numbers of neurons and stimuli).
    standardize : bool, default True
        z-score each neuron's responses over stimuli first (clusters by response
        pattern, not by firing rate).
    n_init : int, default 10
        k-means initialisations.
    random_state : None, int or Generator, default 0

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_neurons,)
    n_clusters_ : int
    embedding_ : ndarray, shape (n_neurons, n_components)
    explained_variance_ratio_ : ndarray
    selection_ : dict
        Silhouette score per number of clusters tried.
    estimator_ : sklearn.cluster.KMeans
    pca_ : sklearn.decomposition.PCA

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> from neurotk.clustering import KMeansClustering
    >>> from sklearn.metrics import adjusted_rand_score
    >>> sim = simulate_cell_types(n_neurons=60, n_types=3, image_shape=(10, 10), n_stimuli=800)
    >>> km = KMeansClustering(n_clusters=3).fit(sim.responses)
    >>> km.labels_.shape
    (60,)
    >>> bool(adjusted_rand_score(sim.labels, km.labels_) > 0.8)
    True
    """

    _k_min = 2

    def __init__(self, n_clusters=None, max_clusters: int = 20, n_components: int = 20,
                 standardize: bool = True, n_init: int = 10, random_state=0):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.n_components = n_components
        self.standardize = standardize
        self.n_init = n_init
        self.random_state = random_state

    def _cluster(self, emb, k, seed):
        from sklearn.cluster import KMeans

        return KMeans(n_clusters=k, n_init=int(self.n_init), random_state=seed).fit(emb)

    def _selection_score(self, est, emb, k):
        from sklearn.metrics import silhouette_score

        if self.n_clusters is not None or k < 2 or len(np.unique(est.labels_)) < 2:
            return 0.0
        return float(silhouette_score(emb, est.labels_))


class GaussianMixtureClustering(_PCAClustering):
    """Gaussian mixture on the PCA of the neurons' response profiles.

    Parameters
    ----------
    n_clusters : int, optional
        Number of components; by default the lowest BIC over ``1 .. max_clusters``.
    max_clusters : int, default 20
    n_components : int, default 10
        Principal components kept (at most the numbers of neurons and stimuli).
    covariance_type : {"full", "tied", "diag", "spherical"}, default "diag"
    standardize : bool, default True
        z-score each neuron's responses over stimuli first.
    n_init : int, default 5
        EM initialisations.
    random_state : None, int or Generator, default 0

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_neurons,)
    n_clusters_ : int
    embedding_ : ndarray, shape (n_neurons, n_components)
    explained_variance_ratio_ : ndarray
    selection_ : dict
        Minus the BIC per number of components tried.
    estimator_ : sklearn.mixture.GaussianMixture
    pca_ : sklearn.decomposition.PCA

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> from neurotk.clustering import GaussianMixtureClustering
    >>> from sklearn.metrics import adjusted_rand_score
    >>> sim = simulate_cell_types(n_neurons=60, n_types=3, image_shape=(10, 10), n_stimuli=800)
    >>> gmm = GaussianMixtureClustering(n_clusters=3).fit(sim.responses)
    >>> bool(adjusted_rand_score(sim.labels, gmm.labels_) > 0.8)
    True
    """

    _k_min = 1

    def __init__(self, n_clusters=None, max_clusters: int = 20, n_components: int = 10,
                 covariance_type: str = "diag", standardize: bool = True, n_init: int = 5,
                 random_state=0):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.standardize = standardize
        self.n_init = n_init
        self.random_state = random_state

    def _check_common(self, n_neurons):
        super()._check_common(n_neurons)
        check_choice(self.covariance_type, "covariance_type", _COVARIANCES)

    def _cluster(self, emb, k, seed):
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(n_components=k, covariance_type=self.covariance_type,
                               n_init=int(self.n_init), random_state=seed, reg_covar=1e-6).fit(emb)

    def _selection_score(self, est, emb, k):
        return -float(est.bic(emb))
