"""The MDS objective of Burg et al. (ICLR 2024, Eq. 1) and the rules that split clusters.

:func:`contrastive_objective` is the paper's objective as the reference code computes it
(ecker-lab/most-discriminative-stimuli,
``controversialstimuli/optimization/controversial_objectives.py``): for each cluster's
stimulus, a softmax over the clusters of their mean normalised responses.
:func:`split_pays` is the reference's split threshold (``SplitMerge._split``);
:func:`split_cluster` and its helpers are neurotk's former d'-based split rule
(``split_rule="separation"``). :class:`~neurotk.clustering.MDSClustering` optimises the
stimuli with these.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_float, check_matrix
from ..errors import ArgumentError, ShapeMismatchError

__all__ = ["contrastive_objective"]


# --------------------------------------------------------------------------- the objective
def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis=axis) + np.log(np.exp(a - top).sum(axis=axis))


def cluster_weights(labels: np.ndarray, k: int) -> np.ndarray:
    """(n_neurons, k) membership matrix, each column divided by its cluster's size."""
    members = (labels[:, None] == np.arange(k)[None, :]).astype(np.float64)
    return members / members.sum(axis=0)


def contrastive_values(means: np.ndarray, own: np.ndarray, temperature: float) -> np.ndarray:
    """:math:`J` of stimuli whose mean responses per cluster are ``means`` (n_stimuli, K)
    and whose own clusters are ``own`` (n_stimuli,)."""
    logits = means / temperature
    k = means.shape[1]
    return logits[np.arange(means.shape[0]), own] - logsumexp(logits, axis=1) + np.log(k)


def check_labels(labels, n_neurons: int, n_clusters: int) -> np.ndarray:
    lab = check_array(labels, "labels", ndim=1, axes=("neurons",), recording=False)
    if lab.size != n_neurons:
        raise ShapeMismatchError(f"labels has {lab.size} entries; expected {n_neurons}, one per neuron "
                                 f"(a column of responses)")
    if not np.array_equal(lab, np.round(lab)) or lab.min() < 0 or lab.max() >= n_clusters:
        raise ArgumentError(f"labels holds values outside 0..{n_clusters - 1}; expected cluster "
                            f"indices, one row of responses per cluster")
    lab = lab.astype(int)
    empty = np.flatnonzero(np.bincount(lab, minlength=n_clusters) == 0)
    if empty.size:
        raise ArgumentError(f"labels gives no neuron to cluster(s) {empty.tolist()}; expected every "
                            f"cluster to have neurons (its mean response is undefined otherwise)")
    return lab


def contrastive_objective(responses, labels, temperature: float = 1.6) -> np.ndarray:
    r"""The MDS objective of each cluster's stimulus (Burg et al. 2024, Eq. 1).

    .. math::

        J_k = \frac{m_k(x_k)}{T} - \log \sum_{j} \exp\frac{m_j(x_k)}{T} + \log K

    with :math:`m_j(x_k)` the mean of ``responses[k]`` over the neurons of cluster
    :math:`j`: how much better cluster :math:`k`'s stimulus drives its own cluster than
    the others, a softmax over clusters. :math:`J_k` lies below :math:`\log K`; it is 0
    when the stimulus drives every cluster alike. This is the reference's
    ``contrastive_neuron_objective`` as ``ContrastiveNeuronUnif`` uses it
    (ecker-lab/most-discriminative-stimuli,
    ``controversialstimuli/optimization/controversial_objectives.py``).

    Parameters
    ----------
    responses : array-like, shape (n_clusters, n_neurons)
        Normalised responses of every neuron to each cluster's stimulus, one row per
        cluster in cluster order (see :meth:`MDSClustering.scaled_responses`).
    labels : array-like of int, shape (n_neurons,)
        Cluster of each neuron, ``0 .. n_clusters - 1``; every cluster must have neurons.
    temperature : float, default 1.6
        :math:`T`, in the units of ``responses`` (1.6: the authors' example).

    Returns
    -------
    J : ndarray, shape (n_clusters,)

    Raises
    ------
    ShapeMismatchError
        ``labels`` not one per column of ``responses``.
    ArgumentError
        Labels out of range, an empty cluster, or a temperature that is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.clustering import contrastive_objective
    >>> r = np.array([[2.0, 2.0, 0.0], [0.0, 0.0, 2.0]])  # stimulus 0 drives cluster 0 only
    >>> contrastive_objective(r, [0, 0, 1], temperature=1.0).round(3)
    array([0.566, 0.566])
    >>> bool(np.allclose(contrastive_objective(np.ones((2, 3)), [0, 0, 1]), 0.0))  # drives both alike
    True
    """
    r = check_matrix(responses, "responses", rows="clusters", cols="neurons")
    k, n = r.shape
    lab = check_labels(labels, n, k)
    t = check_float(temperature, "temperature", low=0, low_open=True)
    return contrastive_values(r @ cluster_weights(lab, k), np.arange(k), t)


def neuron_log_proba(z: np.ndarray, labels: np.ndarray, temperature: float) -> np.ndarray:
    """Each neuron's log-softmax over the stimuli of its own stimulus (a diagnostic)."""
    logits = z / temperature
    return logits[labels, np.arange(z.shape[1])] - logsumexp(logits, axis=0)


def split_pays(pair: float, parent: float, threshold: float) -> bool:
    """The split rule: the pair's mean objective beats the parent's by ``threshold * |parent|``."""
    return bool(pair - parent > threshold * abs(parent))


# --------------------------------------------------------------------------- the separation rule
def split_1d(values: np.ndarray):
    """Best two-means split of 1-D ``values``: boolean mask of the upper group and d'."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    n = v.size
    if n < 2:
        return np.zeros(n, dtype=bool), 0.0
    c1 = np.cumsum(v)
    c2 = np.cumsum(v**2)
    k = np.arange(1, n)  # size of the lower group
    s_lo, q_lo = c1[:-1], c2[:-1]
    s_hi, q_hi = c1[-1] - s_lo, c2[-1] - q_lo
    within = (q_lo - s_lo**2 / k) + (q_hi - s_hi**2 / (n - k))
    cut = int(np.argmin(within)) + 1
    upper = np.zeros(n, dtype=bool)
    upper[order[cut:]] = True
    return upper, separation(values[~upper], values[upper])


def separation(a: np.ndarray, b: np.ndarray) -> float:
    """d' of two groups of numbers: mean difference over the pooled standard deviation."""
    if a.size < 2 or b.size < 2:
        return 0.0
    pooled = np.sqrt(0.5 * (a.var(ddof=1) + b.var(ddof=1)))
    diff = abs(float(a.mean() - b.mean()))
    if pooled <= 1e-12 * max(diff, 1e-300):
        return float("inf") if diff > 0 else 0.0
    return diff / pooled


def two_means(coords: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Two-means of the rows of ``coords`` (principal coordinates), started from the sign
    of the first coordinate (a principal-direction split) and refined by Lloyd steps."""
    upper = coords[:, 0] > 0
    for _ in range(max_iter):
        if upper.all() or not upper.any():
            break
        a, b = coords[~upper].mean(axis=0), coords[upper].mean(axis=0)
        # nearer to b than to a  <=>  (x - (a + b) / 2) . (b - a) > 0
        new = (coords - 0.5 * (a + b)) @ (b - a) > 0
        if np.array_equal(new, upper):
            break
        upper = new
    return upper


def split_cluster(responses: np.ndarray, n_components: int = 8):
    """Two-means split of a cluster's neurons by their (scaled) reference responses.

    ``responses`` is (n_reference, n_members). Neurons are placed in the space of the
    leading principal components of their response profiles (centred over neurons) and
    divided by two-means; returns the mask of one half and the d' of the two halves
    along the line joining their centres.
    """
    m = responses - responses.mean(axis=1, keepdims=True)
    n_rows, n_members = m.shape
    none = np.zeros(n_members, dtype=bool), 0.0
    if n_members < 2 or not np.isfinite(m).all():
        return none
    # principal coordinates of the members from the smaller Gram matrix
    if n_members <= n_rows:
        s2, v = np.linalg.eigh(m.T @ m)
        s2, v = s2[::-1], v[:, ::-1]
        coords_all = v * np.sqrt(np.clip(s2, 0.0, None))
    else:
        s2, u = np.linalg.eigh(m @ m.T)
        s2, u = s2[::-1], u[:, ::-1]
        coords_all = m.T @ u
    s2 = np.clip(s2, 0.0, None)
    if s2[0] <= 0:
        return none
    d = max(1, min(n_components, int((s2 > s2[0] * 1e-16).sum())))
    coords = coords_all[:, :d]
    upper = two_means(coords)
    if upper.all() or not upper.any():
        return none
    axis = coords[upper].mean(axis=0) - coords[~upper].mean(axis=0)
    proj = coords @ axis
    return upper, separation(proj[~upper], proj[upper])
