"""The dynamic functional connectome: affinities -> NTF -> communities, in one estimator.

:class:`DynamicConnectome` takes a list of Recordings (one per animal or session, the
same protocol and time base, neurons identified by ``unit_id``) and runs the steps of
Dyballa et al. (ICLR 2024):

1. the pairwise affinity of every pair of neurons in time windows
   (:func:`~neurotk.connectome.comovement_affinity`, neurotk's own measure, or the
   :func:`~neurotk.connectome.sliding_correlation` baseline), stacked into a non-negative
   pairs x windows x animals tensor with the pairs of missing neurons masked
   (:func:`~neurotk.connectome.affinity_tensor`);
2. non-negative CP of that tensor (:func:`~neurotk.connectome.ntf`);
3. per component, the pair loadings folded back into a neuron x neuron weighted graph and
   split into communities (:func:`~neurotk.connectome.find_communities`).

Each component becomes a :class:`Motif`: which neurons interact (its communities and
weighted edges), when (its time course and active intervals) and in which animals (its
animal loadings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._params import Parameters
from .._validation import check_fitted, check_float, check_int
from ..results import Result
from .affinity import affinity_tensor, pairs_to_matrix
from .communities import Communities, find_communities
from .factorisation import NTFResult, ntf, rank_ensemble

__all__ = ["DynamicConnectome", "Motif"]

_FIT_FIRST = "call fit(recordings) first"


def _runs(active: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` index pairs of the runs of True in a boolean vector."""
    padded = np.concatenate([[False], np.asarray(active, dtype=bool), [False]]).astype(np.int8)
    change = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(change[::2], change[1::2])]


def _otsu(values: np.ndarray) -> float:
    """Two-class Otsu threshold of ``values`` (midpoint of the best split of the sorted values)."""
    order = np.sort(values)
    if order.size < 2 or order[0] == order[-1]:
        return float(order[0]) if order.size else 0.0
    k = np.arange(1, order.size)
    csum = np.cumsum(order)[:-1]
    between = k * (order.size - k) * (csum / k - (order.sum() - csum) / (order.size - k)) ** 2
    best = int(np.argmax(between))
    return float((order[best] + order[best + 1]) / 2)


def _window_spans(windows: pd.DataFrame):
    """The stretch each window stands for: its own span when windows tile the recording;
    for overlapping windows (step < window) the step-wide stretch around its centre, so
    consecutive windows tile the time axis without overlap."""
    start = windows["start"].to_numpy()
    stop = windows["stop"].to_numpy()
    t0 = windows["time_start"].to_numpy(dtype=float)
    t1 = windows["time_stop"].to_numpy(dtype=float)
    if start.size > 1:
        step = int(start[1] - start[0])
        width = int(stop[0] - start[0])
        if step < width:
            scale = (t1[0] - t0[0]) / width  # time per sample
            lo = (width - step) // 2
            start, stop = start + lo, start + lo + step
            t0, t1 = t0 + lo * scale, t0 + (lo + step) * scale
            start[0], t0[0] = windows["start"].iloc[0], windows["time_start"].iloc[0]
            stop[-1], t1[-1] = windows["stop"].iloc[-1], windows["time_stop"].iloc[-1]
    return start, stop, t0, t1


@dataclass(eq=False)
class Motif(Result):
    """One NTF component of a dynamic connectome: who interacts, when, and in which animals.

    Attributes
    ----------
    component : int
        Index of the component (0 = largest).
    pair_loadings : ndarray, shape (n_pairs,)
        The component's loading of every neuron pair (pairs layout, ``i < j``).
    time_course : ndarray, shape (n_windows,)
        Its loading of every time window.
    animal_loadings : ndarray, shape (n_animals,)
        Its loading of every animal (recording).
    communities : Communities
        Communities of the neuron x neuron graph of ``pair_loadings`` (-1: background).
    unit_ids : ndarray, shape (n_neurons,)
    windows : pandas.DataFrame
        The time windows (``start``, ``stop`` in samples; ``time_start``, ``time_stop``,
        ``time``).
    animals : list of str
        Names of the recordings.
    weight : float
        Size of the component (product of its loading norms).
    """

    component: int
    pair_loadings: np.ndarray
    time_course: np.ndarray
    animal_loadings: np.ndarray
    communities: Communities
    unit_ids: np.ndarray
    windows: pd.DataFrame
    animals: list
    weight: float
    params: dict = field(default_factory=dict)

    @property
    def n_neurons(self) -> int:
        return int(self.unit_ids.size)

    def matrix(self) -> np.ndarray:
        """The component's neuron x neuron weighted graph (symmetric, zero diagonal)."""
        return pairs_to_matrix(self.pair_loadings, self.n_neurons)

    def active(self, threshold: float | None = None, smooth: float = 2.0) -> np.ndarray:
        """Boolean per window: whether the motif is active.

        The time course is smoothed by a Gaussian of ``smooth`` windows (0: none; window
        affinities are noisy) and thresholded: by default at the two-class Otsu threshold
        of the smoothed values (the split into "on" and "off" windows with the largest
        between-class variance), or at ``threshold`` times its maximum.
        """
        from scipy.ndimage import gaussian_filter1d

        threshold = check_float(threshold, "threshold", low=0, high=1, low_open=True, high_open=True,
                                allow_none=True)
        smooth = check_float(smooth, "smooth", low=0, unit="windows (a standard deviation)")
        tc = self.time_course.astype(np.float64)
        if smooth > 0 and tc.size > 1:
            tc = gaussian_filter1d(tc, float(smooth), mode="nearest")
        peak = tc.max()
        if not peak > 0:
            return np.zeros(tc.size, dtype=bool)
        if threshold is not None:
            return tc > threshold * peak
        return tc > _otsu(tc)

    def intervals(self, threshold: float | None = None, smooth: float = 2.0) -> pd.DataFrame:
        """Active intervals: runs of :meth:`active` windows, as ``time_start``,
        ``time_stop`` (recording time) and ``start``, ``stop`` (samples, stop exclusive)."""
        start, stop, t0, t1 = _window_spans(self.windows)
        rows = [{"start": int(start[a]), "stop": int(stop[b - 1]), "time_start": float(t0[a]),
                 "time_stop": float(t1[b - 1])} for a, b in _runs(self.active(threshold, smooth))]
        return pd.DataFrame(rows, columns=["start", "stop", "time_start", "time_stop"])

    def active_samples(self, threshold: float | None = None, smooth: float = 2.0) -> np.ndarray:
        """Boolean per sample of the recordings: inside an active interval (:meth:`active`)."""
        start, stop, _, _ = _window_spans(self.windows)
        n = int(self.windows["stop"].iloc[-1])
        out = np.zeros(n, dtype=bool)
        act = self.active(threshold, smooth)
        # coverage by difference array (no loop over samples)
        delta = np.zeros(n + 1, dtype=np.int64)
        np.add.at(delta, start[act], 1)
        np.add.at(delta, stop[act], -1)
        out[:] = np.cumsum(delta)[:n] > 0
        return out

    def edges(self, min_weight: float = 0.0, within: bool = False) -> pd.DataFrame:
        """The motif as a weighted edge list, strongest first.

        Parameters
        ----------
        min_weight : float, default 0.0
            Keep edges with a loading above this.
        within : bool, default False
            Keep only edges between two neurons of the same community.

        Returns
        -------
        pandas.DataFrame
            ``unit_i``, ``unit_j``, ``weight``, ``community_i``, ``community_j``; write it
            with ``to_csv`` for Gephi, Cytoscape or networkx.
        """
        i, j = np.triu_indices(self.n_neurons, 1)
        labels = self.communities.labels
        keep = self.pair_loadings > float(min_weight)
        if within:
            keep &= (labels[i] == labels[j]) & (labels[i] >= 0)
        order = np.argsort(-self.pair_loadings[keep], kind="stable")
        i, j = i[keep][order], j[keep][order]
        return pd.DataFrame({"unit_i": self.unit_ids[i], "unit_j": self.unit_ids[j],
                             "weight": self.pair_loadings[keep][order],
                             "community_i": labels[i], "community_j": labels[j]})

    def to_frame(self) -> pd.DataFrame:
        """One row per neuron: ``unit_id``, ``community``, ``strength`` (weighted degree)."""
        df = self.communities.to_frame(self.unit_ids)
        df.insert(0, "motif", self.component)
        return df

    def plot(self, ax=None, **kwargs):
        """Network drawing of the motif; see :func:`neurotk.plotting.connectome.plot_motif`."""
        from ..plotting.connectome import plot_motif

        return plot_motif(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (f"Motif(component={self.component}, n_communities={self.communities.n_communities}, "
                f"n_active_windows={int(self.active().sum())}, weight={self.weight:.4g})")


class DynamicConnectome(Parameters):
    """Dynamic functional connectome of several recordings by non-negative tensor factorisation.

    Parameters
    ----------
    rank : int, default 5
        Number of NTF components (motifs). Choose it with :meth:`rank_selection`.
    method : {"comovement", "correlation"}, default "comovement"
        Affinity: :func:`~neurotk.connectome.comovement_affinity` or the
        :func:`~neurotk.connectome.sliding_correlation` baseline.
    window : int, default 20
        Samples per affinity window (longer windows: less noisy affinities, coarser time).
    step : int, optional
        Samples between windows (default ``window``).
    affinity_params : dict, optional
        Further arguments of the affinity function (``smooth``, ``saturation``, ``chance``,
        ``negative`` ...).
    n_restarts : int, default 5
        NTF random restarts (the best is kept).
    tol, max_iter, init
        As in :func:`~neurotk.connectome.ntf`.
    community_method : str, default "auto"
        As ``method`` of :func:`~neurotk.connectome.find_communities` (graph-tool's nested
        SBM when importable, else Leiden, else spectral).
    community_params : dict, optional
        Further arguments of :func:`~neurotk.connectome.find_communities`.
    random_state : None, int or Generator
    n_jobs : int, default 1
        NTF restarts in parallel (joblib).
    max_memory : int or str, optional
        Working-memory budget of the affinity chunks.
    progress : bool, default False

    Attributes
    ----------
    tensor_ : AffinityTensor
        The pairs x windows x animals affinities (NaN and masked where a neuron is missing).
    ntf_ : NTFResult
        The factorisation.
    motifs_ : list of Motif
        One per component, largest first.
    unit_ids_ : ndarray
        The neurons (union over recordings, sorted).
    windows_ : pandas.DataFrame
        The time windows.

    Examples
    --------
    >>> from neurotk.datasets import simulate_calcium_population
    >>> from neurotk.connectome import DynamicConnectome
    >>> sim = simulate_calcium_population(n_neurons=16, n_timepoints=600, n_communities=2,
    ...                                   random_state=0)
    >>> dc = DynamicConnectome(rank=2, n_restarts=2, random_state=0).fit(sim.recordings)
    >>> len(dc.motifs_), dc.ntf_.factors[0].shape
    (2, (120, 2))
    """

    def __init__(self, rank: int = 5, method: str = "comovement", window: int = 20, step: int | None = None,
                 affinity_params: dict | None = None, n_restarts: int = 5, tol: float = 1e-6,
                 max_iter: int = 500, init: str = "random", community_method: str = "auto",
                 community_params: dict | None = None, random_state=None, n_jobs=1, max_memory=None,
                 progress: bool = False):
        self.rank = rank
        self.method = method
        self.window = window
        self.step = step
        self.affinity_params = affinity_params
        self.n_restarts = n_restarts
        self.tol = tol
        self.max_iter = max_iter
        self.init = init
        self.community_method = community_method
        self.community_params = community_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.progress = progress

    def _tensor(self, recordings):
        return affinity_tensor(recordings, method=self.method, window=self.window, step=self.step,
                               max_memory=self.max_memory, progress=self.progress,
                               **(self.affinity_params or {}))

    def fit(self, recordings) -> "DynamicConnectome":
        """Compute the affinity tensor of ``recordings``, factorise it and find each
        component's communities.

        Parameters
        ----------
        recordings : Recording, array or list of them
            One per animal or session, with the same number of time points; neurons matched
            across recordings by ``unit_id``.

        Returns
        -------
        self

        Raises
        ------
        NeurotkError
            Bad parameters (``rank < 1`` ...), fewer than 3 neurons, NaN traces, windows
            longer than the recordings, recordings whose neurons cannot be matched.
        """
        check_int(self.rank, "rank", 1)
        tensor = self._tensor(recordings)
        values = tensor.values if tensor.mask is None else np.where(tensor.mask, tensor.values, 0.0)
        fit = ntf(values, self.rank, n_restarts=self.n_restarts, mask=tensor.mask, tol=self.tol,
                  max_iter=self.max_iter, random_state=self.random_state, init=self.init,
                  n_jobs=self.n_jobs, progress=self.progress)
        self.tensor_ = tensor
        self.ntf_ = fit
        self.unit_ids_ = tensor.unit_ids
        self.windows_ = tensor.windows
        self.motifs_ = self._motifs(fit, tensor)
        return self

    def _motifs(self, fit: NTFResult, tensor) -> list:
        params = dict(self.community_params or {})
        params.setdefault("random_state", 0 if self.random_state is None else self.random_state)
        pairs, time, animals = fit.factors
        weights = fit.weights
        motifs = []
        for r in range(fit.rank):  # one graph per component (a handful), not per neuron
            comm = find_communities(pairs[:, r], method=self.community_method, **params)
            motifs.append(Motif(r, pairs[:, r].copy(), time[:, r].copy(), animals[:, r].copy(), comm,
                                tensor.unit_ids, tensor.windows, list(tensor.names), float(weights[r])))
        return motifs

    @property
    def error_(self) -> float:
        """Relative reconstruction error of the NTF (observed entries)."""
        check_fitted(self, "motifs_", _FIT_FIRST)
        return self.ntf_.error

    def membership(self) -> pd.DataFrame:
        """Neurons x motifs table of community labels (-1: not in a community of that motif)."""
        check_fitted(self, "motifs_", _FIT_FIRST)
        return pd.DataFrame({f"motif {m.component}": m.communities.labels for m in self.motifs_},
                            index=pd.Index(self.unit_ids_, name="unit_id"))

    def summary(self, threshold: float | None = None, smooth: float = 2.0) -> pd.DataFrame:
        """The dynamic connectome: which groups of neurons interact when, and in which animals.

        One row per (motif, community, active interval): ``motif``, ``community``,
        ``n_neurons``, ``unit_ids`` (list), ``time_start``, ``time_stop`` (the motif's active
        intervals, :meth:`Motif.intervals` with ``threshold`` and ``smooth``), ``weight`` (mean pair loading
        inside the community) and one column ``loading <animal name>`` per animal.
        """
        check_fitted(self, "motifs_", _FIT_FIRST)
        rows = []
        for m in self.motifs_:
            mat = m.matrix()
            intervals = m.intervals(threshold, smooth)
            load = {f"loading {name}": float(v) for name, v in zip(m.animals, m.animal_loadings)}
            for c in range(m.communities.n_communities):
                members = m.communities.members(c)
                inside = mat[np.ix_(members, members)]
                w = float(inside.sum() / max(members.size * (members.size - 1), 1))
                for _, iv in intervals.iterrows():
                    rows.append({"motif": m.component, "community": c, "n_neurons": int(members.size),
                                 "unit_ids": list(m.unit_ids[members]), "time_start": iv["time_start"],
                                 "time_stop": iv["time_stop"], "weight": w, **load})
        return pd.DataFrame(rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per (motif, neuron): community and strength."""
        check_fitted(self, "motifs_", _FIT_FIRST)
        return pd.concat([m.to_frame() for m in self.motifs_], ignore_index=True)

    def edge_lists(self, min_weight: float = 0.0, within: bool = False) -> dict:
        """Each motif as a weighted edge list: ``{component: DataFrame}`` (see :meth:`Motif.edges`)."""
        check_fitted(self, "motifs_", _FIT_FIRST)
        return {m.component: m.edges(min_weight=min_weight, within=within) for m in self.motifs_}

    def rank_selection(self, recordings=None, ranks=range(1, 9), n_restarts: int = 5):
        """Fit NTF at several ranks on the affinity tensor (of ``recordings``, default the
        fitted one); returns a :class:`~neurotk.connectome.RankEnsemble` whose ``plot()``
        draws error and restart similarity vs rank."""
        if recordings is None:
            check_fitted(self, "motifs_", _FIT_FIRST)
            tensor = self.tensor_
        else:
            tensor = self._tensor(recordings)
        values = tensor.values if tensor.mask is None else np.where(tensor.mask, tensor.values, 0.0)
        return rank_ensemble(values, list(ranks), n_restarts=n_restarts, mask=tensor.mask, tol=self.tol,
                             max_iter=self.max_iter, random_state=self.random_state, init=self.init,
                             n_jobs=self.n_jobs, progress=self.progress)

    def plot(self, axes=None, epochs=None):
        """Factors per mode, one row per motif: neuron strengths sorted by community, time
        course with stimulus epochs shaded, animal bars; see
        :func:`neurotk.plotting.connectome.plot_connectome`."""
        check_fitted(self, "motifs_", _FIT_FIRST)
        from ..plotting.connectome import plot_connectome

        return plot_connectome(self, axes=axes, epochs=epochs)

    def __repr__(self) -> str:
        if not hasattr(self, "motifs_"):
            return f"DynamicConnectome(rank={self.rank}, method={self.method!r}, window={self.window})"
        return (f"DynamicConnectome(rank={self.rank}, n_neurons={self.unit_ids_.size}, "
                f"n_windows={len(self.windows_)}, n_animals={len(self.tensor_.names)}, "
                f"error={self.ntf_.error:.4g})")
