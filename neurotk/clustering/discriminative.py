r"""Most discriminative stimuli (MDS) clustering of functional cell types.

Burg et al. (ICLR 2024) cluster neurons into functional types through a predictive model
of their responses. With :math:`K` clusters, one stimulus :math:`x_k` per cluster and
each neuron :math:`n` assigned to cluster :math:`c_n`, the objective is

.. math::

    J = \frac{1}{N}\sum_n \log \frac{\exp(z_n(x_{c_n}) / \tau)}{\sum_k \exp(z_n(x_k) / \tau)}

where :math:`z_n(x)` is neuron :math:`n`'s predicted response, scaled by the standard
deviation of its predicted responses to typical (reference) images, and :math:`\tau` a
temperature: each cluster's stimulus should drive its own neurons more than the other
clusters' stimuli do. The algorithm alternates, like expectation-maximisation, between

1. optimising all stimuli by projected gradient ascent on :math:`J` (gradients from the
   model, smoothed by a Gaussian preconditioner, under a norm and optional pixel-range
   constraint), and
2. reassigning each neuron to the cluster whose stimulus it responds to most
   (:math:`c_n = \arg\max_k z_n(x_k)`, which maximises :math:`J` for fixed stimuli).

Clusters grow by splitting, from one cluster (whose stimulus is the population's most
exciting image) upward: a cluster's neurons are divided along the main axis of variation
of their predicted responses to the reference images, each half gets its mean
response-weighted image as a starting stimulus, and the whole clustering is re-optimised.
A split *pays* when the two halves' neurons are separated along their discriminating
response, :math:`z_n(x_a) - z_n(x_b)`, by at least ``min_separation`` pooled standard
deviations (a bimodality test, as spike sorters use for splits): a cluster of one type
cut in two gives a continuum, two types give two well-separated groups. Without a fixed
``n_clusters`` splitting stops when no cluster's split pays. Several restarts (different
reference subsets and starting stimuli) run through :func:`neurotk.parallel.map_chunks`.

The learned stimuli type new neurons on the fly: :meth:`MDSClustering.predict` assigns
each neuron to the stimulus it responds to most, from its responses to the ``K`` stimuli
alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._params import Parameters
from .._validation import check_fitted, check_images, check_int, check_matrix, check_positive
from ..errors import ArgumentError, ShapeMismatchError
from ..utils import as_rng
from .models import TorchModel, check_model, check_n_clusters, is_torch_module

__all__ = ["MDSClustering"]

_FIT_FIRST = "call fit(model) first"


# --------------------------------------------------------------------------- helpers
def _logsumexp0(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=0)
    return top + np.log(np.exp(a - top).sum(axis=0))


def _split_1d(values: np.ndarray):
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
    return upper, _separation(values[~upper], values[upper])


def _separation(a: np.ndarray, b: np.ndarray) -> float:
    """d' of two groups of numbers: mean difference over the pooled standard deviation."""
    if a.size < 2 or b.size < 2:
        return 0.0
    pooled = np.sqrt(0.5 * (a.var(ddof=1) + b.var(ddof=1)))
    diff = abs(float(a.mean() - b.mean()))
    if pooled <= 1e-12 * max(diff, 1e-300):
        return float("inf") if diff > 0 else 0.0
    return diff / pooled


def _two_means(coords: np.ndarray, max_iter: int = 50) -> np.ndarray:
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


def _split_cluster(responses: np.ndarray, n_components: int = 8):
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
    upper = _two_means(coords)
    if upper.all() or not upper.any():
        return none
    axis = coords[upper].mean(axis=0) - coords[~upper].mean(axis=0)
    proj = coords @ axis
    return upper, _separation(proj[~upper], proj[upper])


class _Problem:
    """The model, the response scaling and the stimulus constraint of one fit."""

    def __init__(self, model, offset, scale, temperature, norm, centre, pixel_range, smoothing):
        self.model = model
        self.offset = offset
        self.scale = scale
        self.temperature = temperature
        self.norm = norm
        self.centre = centre
        self.pixel_range = pixel_range
        self.smoothing = smoothing
        self.n_neurons = scale.size
        self.n_evaluations = 0

    # responses and objective
    def z(self, stimuli):
        self.n_evaluations += 1
        return (np.asarray(self.model.predict(stimuli), dtype=np.float64) - self.offset) / self.scale

    def objective(self, z, labels):
        logits = z / self.temperature
        logp = logits[labels, np.arange(z.shape[1])] - _logsumexp0(logits)
        return float(logp.mean()), logp

    def gradient(self, stimuli, z, labels):
        logits = z / self.temperature
        p = np.exp(logits - _logsumexp0(logits))
        weights = -p
        weights[labels, np.arange(z.shape[1])] += 1.0
        weights /= self.temperature * self.scale * self.n_neurons
        return self.smooth(np.asarray(self.model.gradient(stimuli, weights), dtype=np.float64))

    def smooth(self, grad):
        if self.smoothing > 0:
            from scipy.ndimage import gaussian_filter

            grad = gaussian_filter(grad, (0, self.smoothing, self.smoothing), mode="nearest")
        return grad

    # constraint
    def project(self, stimuli):
        x = stimuli - self.centre
        norms = np.sqrt((x**2).sum(axis=(1, 2)))
        factor = np.minimum(1.0, self.norm / np.maximum(norms, 1e-300))
        x = self.centre + x * factor[:, None, None]
        if self.pixel_range is not None:
            x = np.clip(x, *self.pixel_range)  # the range holds the centre: the norm stays bounded
        return x

    def to_norm(self, images):
        """Images rescaled (about the centre) to the full norm, then projected."""
        x = images - self.centre
        norms = np.sqrt((x**2).sum(axis=(1, 2)))
        x = x * (self.norm / np.maximum(norms, 1e-300))[:, None, None]
        return self.project(self.centre + x)


def _ascend(problem: _Problem, stimuli, value_fn, grad_fn, n_steps: int, step: float, history: list):
    """Projected, normalised gradient ascent with a backtracking step size.

    ``value_fn(x) -> (value, state)``, ``grad_fn(x, state) -> gradient``. Each stimulus
    moves by ``step * norm`` along its own (preconditioned) gradient direction.
    """
    x = stimuli
    value, state = value_fn(x)
    for _ in range(n_steps):
        g = grad_fn(x, state)
        gnorm = np.sqrt((g**2).sum(axis=(1, 2)))
        active = gnorm > 1e-300
        if not active.any():
            break
        direction = np.zeros_like(g)
        direction[active] = g[active] / gnorm[active, None, None]
        for _try in range(8):  # backtracking: halve the step until the objective does not drop
            trial = problem.project(x + step * problem.norm * direction)
            new_value, new_state = value_fn(trial)
            if new_value >= value:
                break
            step *= 0.5
        else:
            break
        improvement = new_value - value
        x, value, state = trial, new_value, new_state
        history.append(value)
        step = min(step * 1.25, 0.5)
        if improvement <= 1e-10 * max(abs(value), 1e-3) and step < 1e-4:
            break
    return x, value, state, step


class _Run:
    """One restart: split from one cluster upward, with EM re-optimisation after each split."""

    def __init__(self, est: "MDSClustering", problem: _Problem, reference, z_reference, seed: int):
        self.est = est
        self.p = problem
        self.reference = reference
        self.z_reference = z_reference
        self.rng = as_rng(seed)
        self.seed = seed
        self.jitter = seed != 0
        self.history: list[float] = []
        self.history_k: list[int] = []
        self.splits: list[dict] = []

    def log(self, values, k):
        self.history.extend(values)
        self.history_k.extend([k] * len(values))

    # ---------------------------------------------------------------- the K = 1 start
    def start(self):
        p = self.p
        mean_z = self.z_reference.mean(axis=1)
        x0 = p.to_norm(self.reference[[int(np.argmax(mean_z))]])
        n = p.n_neurons

        def value(x):
            z = p.z(x)
            return float(z.mean()), z

        def grad(x, _z):
            return p.smooth(np.asarray(p.model.gradient(x, np.broadcast_to(1.0 / (p.scale * n), (1, n))),
                                       dtype=np.float64))

        values: list[float] = []
        x, _, _, _ = _ascend(p, x0, value, grad, self.est.n_steps, 0.1, values)
        return x

    # ---------------------------------------------------------------- EM
    def em(self, x, labels, rounds: int):
        p = self.p
        step = 0.1
        k = x.shape[0]
        value = -np.inf
        for _round in range(rounds):
            values: list[float] = []
            x, value, z, step = _ascend(
                p, x, lambda s: self._value(s, labels),
                lambda s, zz: p.gradient(s, zz, labels), self.est.n_steps, max(step, 0.02), values,
            )
            self.log(values, k)
            new_labels = np.argmax(z, axis=0)
            if np.array_equal(new_labels, labels):
                break
            labels = new_labels
            value = self._value(x, labels)[0]
        z = p.z(x)
        return x, labels, value, z

    def _value(self, x, labels):
        z = self.p.z(x)
        return self.p.objective(z, labels)[0], z

    # ---------------------------------------------------------------- splitting
    def candidates(self, labels, k):
        """Clusters worth splitting, best first: (cluster, d' in reference space, upper mask)."""
        est = self.est
        z_ref = self.z_reference
        rows = np.arange(z_ref.shape[0])
        if self.jitter:
            rows = self.rng.choice(rows, size=max(2, int(0.8 * rows.size)), replace=False)
        out = []
        for c in range(k):  # one SVD per cluster
            idx = np.flatnonzero(labels == c)
            if idx.size < 2 * est._min_size:
                continue
            upper, sep = _split_cluster(z_ref[np.ix_(rows, idx)])
            if upper.sum() < est._min_size or (~upper).sum() < est._min_size:
                continue
            out.append((c, sep, idx, upper, rows))
        out.sort(key=lambda item: -item[1])
        return out

    def propose(self, x, labels, cand):
        """Stimuli and labels with cluster ``c`` split in two."""
        p = self.p
        c, _sep, idx, upper, rows = cand
        k = x.shape[0]
        ref = self.reference[rows] - p.centre
        z_ref = self.z_reference[rows]
        children = []
        for group in (~upper, upper):
            profile = z_ref[:, idx[group]].mean(axis=1)
            image = np.tensordot(profile, ref, axes=(0, 0))
            if self.jitter:
                noise = self.rng.standard_normal(image.shape)
                noise = p.smooth(noise[None])[0]
                image = image + 0.3 * np.linalg.norm(image) / max(np.linalg.norm(noise), 1e-300) * noise
            children.append(image)
        new = p.to_norm(p.centre + np.stack(children))
        x_new = np.concatenate([x, new[1:]], axis=0)
        x_new[c] = new[0]
        labels_new = labels.copy()
        labels_new[idx[upper]] = k
        return x_new, labels_new

    def split_separation(self, z, labels, a, b):
        in_a, in_b = labels == a, labels == b
        contrast = (z[a] - z[b]) / np.maximum(np.abs(z[a]) + np.abs(z[b]), 1e-300)
        return _separation(contrast[in_a], contrast[in_b]), int(in_a.sum()), int(in_b.sum())

    def run(self):
        est = self.est
        n = self.p.n_neurons
        labels = np.zeros(n, dtype=int)
        x = self.start()
        value = 0.0
        self.log([value], 1)
        target = est.n_clusters
        limit = target if target is not None else est._max_clusters
        while x.shape[0] < limit:
            k = x.shape[0]
            accepted = False
            cands = self.candidates(labels, k)
            if target is None:
                cands = cands[: est.max_split_tries]
            for cand in cands:
                x_try, labels_try = self.propose(x, labels, cand)
                x_try, labels_try, value_try, z_try = self.em(x_try, labels_try, est.max_rounds)
                sizes = np.bincount(labels_try, minlength=k + 1)
                sep, size_a, size_b = self.split_separation(z_try, labels_try, cand[0], k)
                ok = sizes.min() >= est._min_size and sep >= est.min_separation
                self.splits.append({"n_clusters": k + 1, "parent": int(cand[0]),
                                    "reference_separation": float(cand[1]), "separation": float(sep),
                                    "sizes": (size_a, size_b), "objective": float(value_try),
                                    "accepted": bool(ok or target is not None)})
                if ok or target is not None:
                    x, labels, value = x_try, labels_try, value_try
                    accepted = True
                    break
            if not accepted:
                break
        if x.shape[0] > 1:
            x, labels, value, z = self.em(x, labels, est.max_rounds)
        else:
            z = self.p.z(x)
        return {"stimuli": x, "labels": labels, "objective": float(value), "z": z,
                "history": np.asarray(self.history), "history_k": np.asarray(self.history_k),
                "splits": self.splits}


def _run_restart(est, problem, reference, z_reference, seed):
    return _Run(est, problem, reference, z_reference, seed).run()


# --------------------------------------------------------------------------- estimator
class MDSClustering(Parameters):
    r"""Cluster neurons into functional types by most discriminative stimuli (Burg et al. 2024).

    See the module documentation (:mod:`neurotk.clustering.discriminative`) for the
    objective and the algorithm.

    Parameters
    ----------
    n_clusters : int, optional
        Fixed number of clusters; by default, splitting stops when no split pays.
    max_clusters : int, default 20
        Upper bound on the number of clusters when ``n_clusters`` is None.
    temperature : float, default 1.0
        Softmax temperature :math:`\tau`, in units of each neuron's response standard
        deviation on the reference images.
    norm : float, optional
        Largest L2 norm of a stimulus (about ``centre``); default: the mean norm of the
        reference images.
    pixel_range : (float, float), optional
        Bounds on every pixel (e.g. ``(0, 16)`` for the digits); must contain the
        centre (the mean pixel value of the reference images).
    smoothing : float, default 1.0
        Standard deviation, in pixels, of the Gaussian that smooths each gradient (the
        preconditioner); 0 turns it off.
    n_steps : int, default 30
        Gradient steps per EM round.
    max_rounds : int, default 6
        EM rounds (optimise, reassign) after each split.
    min_separation : float, default 7.5
        A split pays when the two halves' discriminating responses are at least this
        many pooled standard deviations apart.
    min_cluster_size : int, optional
        Smallest cluster a split may create (default: 2, or 1 % of the neurons if larger).
    max_split_tries : int, default 3
        Clusters tried, best candidates first, before deciding that no split pays.
    n_restarts : int, default 3
        Independent runs; the best objective (at the most frequent number of clusters)
        wins.
    n_jobs : int, default 1
        Parallel restarts (joblib, through :func:`neurotk.parallel.map_chunks`).
    random_state : None, int or Generator, default 0
    progress : bool, default False
        Show a progress bar over restarts.

    Attributes
    ----------
    labels_ : ndarray of int, shape (n_neurons,)
        Cluster of each neuron.
    stimuli_ : ndarray, shape (n_clusters, height, width)
        The most discriminative stimulus of each cluster.
    n_clusters_ : int
    responses_ : ndarray, shape (n_clusters, n_neurons)
        The model's predicted responses to :attr:`stimuli_`.
    log_proba_ : ndarray, shape (n_neurons,)
        Each neuron's log-probability of its own cluster (the objective's terms).
    objective_ : ndarray
        :math:`J` after every accepted gradient step of the chosen restart (splits
        included); :attr:`objective_clusters_` gives the number of clusters at each.
    objective_clusters_ : ndarray of int
    splits_ : DataFrame
        Every split tried by the chosen restart: ``n_clusters``, ``parent``,
        ``reference_separation``, ``separation``, ``sizes``, ``objective``, ``accepted``.
    restart_objectives_ : ndarray, shape (n_restarts,)
    restart_n_clusters_ : ndarray of int, shape (n_restarts,)
    response_offset_, response_scale_ : ndarray, shape (n_neurons,)
        Mean and standard deviation of each neuron's predicted responses to the
        reference images (responses are scaled by them).
    norm_ : float
    centre_ : float

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> from neurotk.clustering import LNModel, MDSClustering
    >>> sim = simulate_cell_types(n_neurons=40, n_types=3, image_shape=(10, 10), n_stimuli=500)
    >>> model = LNModel().fit(sim.stimuli, sim.responses)
    >>> mds = MDSClustering(n_restarts=1).fit(model)
    >>> mds.n_clusters_
    3
    >>> from sklearn.metrics import adjusted_rand_score
    >>> adjusted_rand_score(sim.labels, mds.labels_) > 0.9
    True
    >>> bool((mds.predict(sim.predict(mds.stimuli_)) == mds.labels_).mean() > 0.9)
    True
    """

    def __init__(self, n_clusters=None, max_clusters: int = 20, temperature: float = 1.0, norm=None,
                 pixel_range=None, smoothing: float = 1.0, n_steps: int = 30, max_rounds: int = 6,
                 min_separation: float = 7.5, min_cluster_size=None, max_split_tries: int = 3,
                 n_restarts: int = 3, n_jobs: int = 1, random_state=0, progress: bool = False):
        self.n_clusters = n_clusters
        self.max_clusters = max_clusters
        self.temperature = temperature
        self.norm = norm
        self.pixel_range = pixel_range
        self.smoothing = smoothing
        self.n_steps = n_steps
        self.max_rounds = max_rounds
        self.min_separation = min_separation
        self.min_cluster_size = min_cluster_size
        self.max_split_tries = max_split_tries
        self.n_restarts = n_restarts
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress

    def __repr__(self) -> str:
        fitted = (f"; {self.n_clusters_} clusters of {self.labels_.size} neurons"
                  if hasattr(self, "labels_") else "")
        return f"MDSClustering(n_clusters={self.n_clusters!r}, random_state={self.random_state!r}{fitted})"

    # ------------------------------------------------------------------ fitting
    def _validate(self, n_neurons: int):
        check_n_clusters(self.n_clusters, n_neurons, "neurons of the model")
        self._max_clusters = min(check_int(self.max_clusters, "max_clusters", 1), n_neurons)
        check_positive(self.temperature, "temperature")
        check_positive(self.smoothing, "smoothing", allow_zero=True)
        check_int(self.n_steps, "n_steps", 1)
        check_int(self.max_rounds, "max_rounds", 1)
        check_positive(self.min_separation, "min_separation", allow_zero=True)
        check_int(self.max_split_tries, "max_split_tries", 1)
        check_int(self.n_restarts, "n_restarts", 1)
        if self.min_cluster_size is None:
            self._min_size = max(2, int(np.ceil(0.01 * n_neurons)))
        else:
            self._min_size = check_int(self.min_cluster_size, "min_cluster_size", 1)
        self._min_size = min(self._min_size, max(1, n_neurons // 2))
        if self.n_clusters is not None:
            # a fixed number of clusters must stay reachable
            self._min_size = max(1, min(self._min_size, n_neurons // int(self.n_clusters)))

    def fit(self, model, reference_stimuli=None) -> "MDSClustering":
        """Find the clusters and their most discriminative stimuli.

        Parameters
        ----------
        model : predictive model
            A fitted :class:`LNModel`, :class:`SharedFeatureModel`, :class:`TorchModel`
            or any object with ``predict``, ``gradient``, ``n_neurons`` and
            ``image_shape``; a bare ``torch.nn.Module`` is wrapped in a
            :class:`TorchModel` (then ``reference_stimuli`` is required).
        reference_stimuli : array-like, shape (n, height, width), optional
            Typical images of the model's domain; default ``model.reference_stimuli``
            (the training images of the bundled models), else white noise.

        Returns
        -------
        self

        Raises
        ------
        ArgumentError
            A model without the interface, ``n_clusters`` above the number of neurons,
            or other bad parameters.
        ShapeMismatchError
            A model whose predictions do not have one column per neuron, or reference
            images of the wrong size.

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> from neurotk.clustering import LNModel
        >>> sim = simulate_cell_types(n_neurons=20, n_types=2, image_shape=(8, 8), n_stimuli=300)
        >>> mds = MDSClustering(n_clusters=2, n_restarts=1).fit(LNModel().fit(sim.stimuli, sim.responses))
        >>> mds.labels_.shape, mds.stimuli_.shape
        ((20,), (2, 8, 8))
        """
        from ..parallel import map_chunks

        if is_torch_module(model):
            if reference_stimuli is None:
                raise ArgumentError("model is a bare torch module; pass reference_stimuli (to learn the "
                                    "image shape) or wrap it in neurotk.clustering.TorchModel")
            ref = check_images(reference_stimuli, "reference_stimuli")
            model = TorchModel(model, image_shape=ref.shape[1:], reference_stimuli=ref)
        n_neurons, shape = check_model(model)
        self._validate(n_neurons)
        rng = as_rng(self.random_state)

        if reference_stimuli is None:
            reference_stimuli = getattr(model, "reference_stimuli", None)
        if reference_stimuli is None:
            reference = rng.standard_normal((256,) + shape)
        else:
            reference = check_images(reference_stimuli, "reference_stimuli", image_shape=shape)
            if len(reference) < 2:
                raise ShapeMismatchError(f"reference_stimuli has {len(reference)} image; expected at least 2")
        z_raw = np.asarray(model.predict(reference), dtype=np.float64)
        if z_raw.shape != (len(reference), n_neurons):
            raise ShapeMismatchError(
                f"model.predict returned shape {z_raw.shape} for {len(reference)} reference images; "
                f"expected ({len(reference)}, {n_neurons})"
            )
        offset = z_raw.mean(axis=0)
        scale = z_raw.std(axis=0)
        flat = scale <= 1e-12 * np.maximum(np.abs(offset), 1.0)
        scale = np.where(flat, max(float(np.median(scale[~flat])) if (~flat).any() else 1.0, 1e-12), scale)
        z_reference = (z_raw - offset) / scale

        centre = float(reference.mean())
        if self.norm is None:
            norm = float(np.sqrt(((reference - centre) ** 2).sum(axis=(1, 2))).mean())
        else:
            norm = float(check_positive(self.norm, "norm")[0])
        if norm <= 0:
            raise ArgumentError("the reference images are constant, so the default norm is 0; pass norm=")
        pixel_range = None
        if self.pixel_range is not None:
            try:
                lo, hi = (float(v) for v in self.pixel_range)
            except (TypeError, ValueError):
                raise ArgumentError(f"pixel_range={self.pixel_range!r}; expected (low, high)") from None
            if not lo < hi:
                raise ArgumentError(f"pixel_range={self.pixel_range!r}; expected low < high")
            if not lo <= centre <= hi:
                raise ArgumentError(
                    f"pixel_range={self.pixel_range!r} does not contain the mean pixel value of the "
                    f"reference images ({centre:.3g}); expected a range around it"
                )
            pixel_range = (lo, hi)
        problem = _Problem(model, offset, scale, float(self.temperature), norm, centre, pixel_range,
                           float(self.smoothing))

        seeds = [0] + [int(s) for s in rng.integers(1, 2**31 - 1, size=int(self.n_restarts) - 1)]
        from threadpoolctl import threadpool_limits

        # the optimisation multiplies small matrices, where BLAS threads only add overhead
        # (and stall on busy machines); restarts run in parallel through n_jobs instead
        with threadpool_limits(limits=1, user_api="blas"):
            runs = map_chunks(lambda seed: _run_restart(self, problem, reference, z_reference, seed),
                              seeds, n_jobs=self.n_jobs, progress=self.progress, desc="MDS restarts")
        ks = np.array([r["stimuli"].shape[0] for r in runs])
        values, counts = np.unique(ks, return_counts=True)
        k_best = int(values[counts == counts.max()].max())
        best = max((r for r in runs if r["stimuli"].shape[0] == k_best), key=lambda r: r["objective"])

        # clusters ordered by size (largest first), for stable, readable output
        sizes = np.bincount(best["labels"], minlength=k_best)
        order = np.lexsort((np.arange(k_best), -sizes))
        rank = np.empty(k_best, dtype=int)
        rank[order] = np.arange(k_best)
        self.stimuli_ = best["stimuli"][order]
        self.labels_ = rank[best["labels"]]
        self.n_clusters_ = k_best
        self.responses_ = best["z"][order] * scale + offset
        z = best["z"][order]
        _, self.log_proba_ = problem.objective(z, self.labels_)
        self.objective_ = best["history"]
        self.objective_clusters_ = best["history_k"]
        self.splits_ = pd.DataFrame(best["splits"])
        self.restart_objectives_ = np.array([r["objective"] for r in runs])
        self.restart_n_clusters_ = ks
        self.response_offset_ = offset
        self.response_scale_ = scale
        self.norm_ = norm
        self.centre_ = centre
        self.temperature_ = float(self.temperature)
        self.image_shape_ = shape
        return self

    def fit_predict(self, model, reference_stimuli=None) -> np.ndarray:
        """Fit and return :attr:`labels_`.

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> from neurotk.clustering import LNModel
        >>> sim = simulate_cell_types(n_neurons=20, n_types=2, image_shape=(8, 8), n_stimuli=300)
        >>> model = LNModel().fit(sim.stimuli, sim.responses)
        >>> MDSClustering(n_clusters=2, n_restarts=1).fit_predict(model).shape
        (20,)
        """
        return self.fit(model, reference_stimuli).labels_

    # ------------------------------------------------------------------ typing new neurons
    def predict(self, responses) -> np.ndarray:
        """Type neurons from their responses to the learned stimuli alone.

        Each neuron is assigned to the stimulus it responds to most (for a model's
        predictions this is exactly the rule the fit converged to).

        Parameters
        ----------
        responses : Recording, array-like of shape (n_clusters, n_neurons), or model
            Measured or predicted responses of any neurons to :attr:`stimuli_`, one row
            per stimulus in the order of :attr:`stimuli_`; a predictive model is asked
            for its predictions.

        Returns
        -------
        ndarray of int, shape (n_neurons,)

        Raises
        ------
        ShapeMismatchError
            Not one row per learned stimulus.

        Examples
        --------
        >>> import numpy as np
        >>> mds = MDSClustering()
        >>> mds.stimuli_, mds.labels_ = np.zeros((3, 4, 4)), np.zeros(5, dtype=int)
        >>> mds.predict(np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 5.0]]))
        array([1, 2])
        """
        check_fitted(self, "labels_", _FIT_FIRST)
        if hasattr(responses, "predict") and hasattr(responses, "gradient") and not isinstance(responses, np.ndarray):
            responses = responses.predict(self.stimuli_)
        r = check_matrix(responses, "responses", rows="stimuli", cols="neurons")
        k = self.stimuli_.shape[0]
        if r.shape[0] != k:
            raise ShapeMismatchError(
                f"responses has {r.shape[0]} rows; expected {k}, one row per learned stimulus "
                f"(in the order of stimuli_)"
            )
        return np.argmax(r, axis=0)

    def to_frame(self) -> pd.DataFrame:
        """One row per neuron: ``neuron``, ``cluster``, ``log_proba`` and ``response_<k>``.

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> from neurotk.clustering import LNModel
        >>> sim = simulate_cell_types(n_neurons=20, n_types=2, image_shape=(8, 8), n_stimuli=300)
        >>> mds = MDSClustering(n_clusters=2, n_restarts=1).fit(LNModel().fit(sim.stimuli, sim.responses))
        >>> mds.to_frame().columns.tolist()
        ['neuron', 'cluster', 'log_proba', 'response_0', 'response_1']
        """
        check_fitted(self, "labels_", _FIT_FIRST)
        table = pd.DataFrame({"neuron": np.arange(self.labels_.size), "cluster": self.labels_,
                              "log_proba": self.log_proba_})
        for k in range(self.n_clusters_):
            table[f"response_{k}"] = self.responses_[k]
        return table

    def scaled_responses(self) -> np.ndarray:
        """:attr:`responses_` on the scale the clusters compete on: each neuron's responses
        in units of its reference standard deviation about its reference mean.

        Returns
        -------
        ndarray, shape (n_clusters, n_neurons)

        Examples
        --------
        >>> import numpy as np
        >>> mds = MDSClustering()
        >>> mds.labels_, mds.responses_ = np.zeros(2, dtype=int), np.array([[3.0, 4.0]])
        >>> mds.response_offset_, mds.response_scale_ = np.array([1.0, 0.0]), np.array([2.0, 4.0])
        >>> mds.scaled_responses().tolist()
        [[1.0, 1.0]]
        """
        check_fitted(self, "labels_", _FIT_FIRST)
        return (self.responses_ - np.asarray(self.response_offset_)) / np.asarray(self.response_scale_)

    # ------------------------------------------------------------------ figures
    def plot_stimuli(self, axes=None, **kwargs):
        """Each cluster's stimulus as an image; see :func:`neurotk.plotting.clustering.plot_mds_stimuli`."""
        from ..plotting.clustering import plot_mds_stimuli

        check_fitted(self, "labels_", _FIT_FIRST)
        return plot_mds_stimuli(self, axes=axes, **kwargs)

    def plot_responses(self, ax=None, **kwargs):
        """Response matrix, neurons sorted by cluster; see :func:`neurotk.plotting.clustering.plot_response_matrix`."""
        from ..plotting.clustering import plot_response_matrix

        check_fitted(self, "labels_", _FIT_FIRST)
        return plot_response_matrix(self, ax=ax, **kwargs)

    def plot_objective(self, ax=None, **kwargs):
        """Objective over iterations; see :func:`neurotk.plotting.clustering.plot_objective`."""
        from ..plotting.clustering import plot_objective

        check_fitted(self, "labels_", _FIT_FIRST)
        return plot_objective(self, ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """The response matrix (the summary figure); returns the Axes.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from neurotk.datasets import simulate_cell_types
        >>> from neurotk.clustering import LNModel
        >>> sim = simulate_cell_types(n_neurons=20, n_types=2, image_shape=(8, 8), n_stimuli=300)
        >>> mds = MDSClustering(n_clusters=2, n_restarts=1).fit(LNModel().fit(sim.stimuli, sim.responses))
        >>> mds.plot().get_xlabel()
        'neuron (sorted by cluster)'
        """
        return self.plot_responses(ax=ax, **kwargs)

