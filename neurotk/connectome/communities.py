"""Communities of neurons in a weighted graph (one NTF component's pair loadings).

:func:`find_communities` splits a neuron x neuron weighted graph into communities with the
best method that is importable. **In a pip install of neurotk the default is Leiden, not
the paper's method**: the paper's nested SBM needs graph-tool, which is not on PyPI.

1. ``"sbm"``: the method of Dyballa et al. (ICLR 2024), as in the authors' repository
   (github.com/dyballa/dynamic-connectomes, ``benchmark.ipynb``): graph-tool's
   ``minimize_nested_blockmodel_dl`` with the weights as edge covariates
   (``recs=[weight]``, ``rec_types=["real-exponential"]``), fitted once with and once
   without degree correction, keeping the degree-corrected fit only when its description
   length is lower; the communities are the blocks of the hierarchy's lowest level
   (skipping a level of one neuron per block, which the greedy fit sometimes returns).
   graph-tool is not on PyPI (Debian: ``python3-graph-tool`` for the system Python;
   conda-forge: ``graph-tool``); ``.ci/sbm.sh`` tests this path in a virtual environment
   made from Debian's Python.
2. ``"leiden"``: the Leiden algorithm (Traag et al. 2019) maximising weighted modularity
   (``resolution`` = 1) with leidenalg + python-igraph (``pip install "neurotk[leiden]"``).
   Unlike the SBM it looks only for assortative groups (dense inside, sparse between) and
   has a resolution limit; it has no notion of a "background" block, hence the background
   step below. Not the paper's method.
3. ``"spectral"``: dependency-free fallback: spectral clustering (scikit-learn) of the
   graph, with the number of communities chosen by the largest eigengap of the normalised
   Laplacian (up to ``max_communities``). Faster but cruder; it needs a clear gap.

For Leiden and spectral clustering, neurons with weak total weight (``background``) are
first set apart as label -1: an NTF component's loadings are large only for the pairs
that interact in it, and the many neurons that do not take part would otherwise be forced
into some community. The split is a two-class Otsu threshold on the neurons' strengths
(weighted degrees), applied only when the strengths are clearly bimodal. The SBM, as in the
paper, gets the whole graph by default (``background=None``): it can give the weakly
connected neurons a block of their own.

The result, :class:`Communities`, is a :class:`~neurotk.results.Result` (``to_frame()``,
``plot()``, ``save()``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_array, check_choice, check_float, check_int
from ..errors import ArgumentError, OptionalDependencyError, ShapeMismatchError
from ..results import Result
from ..utils import as_rng
from .affinity import pairs_to_matrix

__all__ = ["Communities", "available_methods", "background_split", "find_communities"]

_METHODS = ("auto", "sbm", "leiden", "spectral")


def available_methods() -> list[str]:
    """Community methods importable here, best first.

    Examples
    --------
    >>> "spectral" in available_methods()
    True
    """
    out = []
    if importlib.util.find_spec("graph_tool") is not None:
        out.append("sbm")
    if importlib.util.find_spec("leidenalg") is not None and importlib.util.find_spec("igraph") is not None:
        out.append("leiden")
    out.append("spectral")
    return out


@dataclass(eq=False)
class Communities(Result):
    """Community labels of the neurons of one weighted graph.

    Attributes
    ----------
    labels : ndarray of int, shape (n_neurons,)
        Community of each neuron, 0, 1, ... by decreasing total weight inside (for
        ``"sbm"``: by decreasing mean weight of the pairs inside, so that the block of
        weakly connected neurons the SBM forms comes last, not first); -1 for background
        neurons (weakly connected, in no community) and for communities under ``min_size``.
    method : str
        The method used (``"sbm"``, ``"leiden"`` or ``"spectral"``).
    strength : ndarray, shape (n_neurons,)
        Each neuron's weighted degree.
    params : dict

    Examples
    --------
    >>> import numpy as np
    >>> w = np.full((6, 6), 0.01)
    >>> w[:3, :3] = w[3:, 3:] = 1.0
    >>> found = find_communities(w, method="spectral", background=False)
    >>> found
    Communities(method='spectral', n_communities=2, n_background=0)
    >>> found.members(1).tolist(), found.to_frame().columns.tolist()
    ([3, 4, 5], ['unit_id', 'community', 'strength'])
    """

    labels: np.ndarray
    method: str
    strength: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_communities(self) -> int:
        """Number of communities (background not counted)."""
        return int(self.labels.max() + 1) if (self.labels >= 0).any() else 0

    def members(self, community: int) -> np.ndarray:
        """Indices of the neurons in ``community``."""
        return np.flatnonzero(self.labels == community)

    def order(self) -> np.ndarray:
        """The neurons sorted by community (0, 1, ..., background last), strongest first
        within each: the order figures draw them in.

        Examples
        --------
        >>> import numpy as np
        >>> Communities(np.array([1, -1, 0, 1]), "spectral", np.array([1.0, 0.5, 2.0, 3.0])).order().tolist()
        [2, 3, 0, 1]
        """
        labels = self.labels
        return np.lexsort((-self.strength, np.where(labels < 0, labels.max() + 1, labels)))

    def to_frame(self, unit_ids=None) -> pd.DataFrame:
        """One row per neuron: ``unit_id``, ``community``, ``strength``."""
        ids = np.arange(self.labels.size) if unit_ids is None else np.asarray(unit_ids)
        return pd.DataFrame({"unit_id": ids, "community": self.labels, "strength": self.strength})

    def plot(self, ax=None, **kwargs):
        """Each neuron's strength, neurons sorted by community (:meth:`order`) and coloured
        by it; see :func:`neurotk.plotting.connectome.plot_communities`. Returns the Axes."""
        from ..plotting.connectome import plot_communities

        return plot_communities(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        return (f"Communities(method={self.method!r}, n_communities={self.n_communities}, "
                f"n_background={int((self.labels < 0).sum())})")


def _as_graph(graph) -> np.ndarray:
    # non-finite weights are refused below with the negative ones (one message for both)
    w = check_array(graph, "graph", ndim=None, min_shape=(), allow_nan=True, recording=False,
                    expected="a square (n, n) weight matrix or a pairs vector of length n(n-1)/2")
    if w.ndim == 1:
        w = pairs_to_matrix(w)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ShapeMismatchError(
            f"graph has shape {w.shape}; expected a square (n, n) weight matrix or a pairs "
            f"vector of length n(n-1)/2"
        )
    if w.shape[0] < 3:
        raise ShapeMismatchError(f"graph has {w.shape[0]} neurons; expected at least 3")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ArgumentError("graph has negative or non-finite weights; expected weights >= 0")
    w = (w + w.T) / 2
    np.fill_diagonal(w, 0.0)
    return w


def background_split(strength, min_separation: float = 0.85) -> np.ndarray:
    """Boolean mask of foreground neurons: strengths above a two-class Otsu threshold.

    The split is used only when it explains at least ``min_separation`` of the variance
    of the strengths (a clearly bimodal distribution); otherwise every neuron is kept.
    For reference, the best two-class split explains 64% of the variance of a normal
    distribution and 75% of a uniform one, neither of which has two groups.

    Examples
    --------
    >>> import numpy as np
    >>> background_split(np.array([0.1, 0.2, 0.15, 5.0, 5.5, 4.8])).tolist()
    [False, False, False, True, True, True]
    """
    s = np.asarray(strength, dtype=np.float64)
    keep = np.ones(s.size, dtype=bool)
    if s.size < 4 or np.ptp(s) <= 0:
        return keep
    order = np.sort(s)
    # between-class variance of every split of the sorted strengths (Otsu)
    k = np.arange(1, s.size)
    csum = np.cumsum(order)[:-1]
    m0 = csum / k
    m1 = (order.sum() - csum) / (s.size - k)
    between = k * (s.size - k) * (m0 - m1) ** 2 / s.size**2
    best = int(np.argmax(between))
    if between[best] < min_separation * s.var():
        return keep
    return s > (order[best] + order[best + 1]) / 2


def _leiden(w, resolution, seed):
    import igraph as ig
    import leidenalg

    i, j = np.nonzero(np.triu(w, 1))
    g = ig.Graph(n=w.shape[0], edges=list(zip(i.tolist(), j.tolist())), directed=False)
    g.es["weight"] = w[i, j].tolist()
    part = leidenalg.find_partition(g, leidenalg.RBConfigurationVertexPartition, weights="weight",
                                    resolution_parameter=float(resolution), seed=int(seed))
    return np.asarray(part.membership)


def _sbm(w, seed, n_init=1):
    """Lowest-level blocks of the paper's nested weighted SBM, and the fit's description.

    As ``benchmark.ipynb`` of github.com/dyballa/dynamic-connectomes: one undirected edge
    per pair with a positive weight, the weight a ``"real-exponential"`` edge covariate;
    ``minimize_nested_blockmodel_dl`` with ``deg_corr=True`` and then ``deg_corr=False``
    after one ``seed_rng``; the degree-corrected fit is kept when the other's description
    length exceeds it (``entropy()``, nats), else the non-corrected one. The communities
    are the blocks of the lowest level of the hierarchy, skipping a level where every
    neuron is a block of its own (which groups nothing; the reference's level walk stops
    there with no partition at all).

    ``n_init > 1`` repeats that pair of fits with seeds ``seed + 1``, ``seed + 2``, ... and
    keeps the fit of lowest description length over all of them (the greedy minimisation is
    a stochastic local search; graph-tool's documentation advises several runs). With
    ``n_init=1`` (the default) this is the reference's single run.
    """
    import warnings

    with warnings.catch_warnings():   # graph-tool warns when its drawing part (cairo) is missing
        warnings.filterwarnings("ignore", message="Error importing", category=RuntimeWarning)
        import graph_tool
        from graph_tool.inference import minimize_nested_blockmodel_dl

    i, j = np.nonzero(np.triu(w, 1))
    g = graph_tool.Graph(directed=False)
    g.add_vertex(w.shape[0])
    weight = g.new_edge_property("double")
    g.add_edge_list(np.column_stack([i, j, w[i, j]]), eprops=[weight])
    # graph-tool draws from its own generator and, in places, numpy's global one: seed
    # both, as the reference does, and give numpy's state back afterwards
    np_state = np.random.get_state()
    runs = []   # per run: states and description lengths keyed by deg_corr, and the model chosen
    try:
        for r in range(n_init):
            np.random.seed((seed + r) % 2**32)
            graph_tool.seed_rng(seed + r)
            states, dls = {}, {}
            for deg_corr in (True, False):
                states[deg_corr] = minimize_nested_blockmodel_dl(
                    g, state_args={"deg_corr": deg_corr, "recs": [weight], "rec_types": ["real-exponential"]})
                dls[deg_corr] = float(states[deg_corr].entropy())
            # True: the degree-corrected model describes it shorter (the reference's choice)
            runs.append((states, dls, dls[False] - dls[True] > 0))
    finally:
        np.random.set_state(np_state)
    per_run = [dls[chosen] for _, dls, chosen in runs]
    run = int(np.argmin(per_run))   # over runs, the shortest description (the first on ties)
    states, dls, chosen = runs[run]
    state = states[chosen]
    n_blocks = [int(lv.get_nonempty_B()) for lv in state.levels]
    top = next((k + 1 for k, b in enumerate(n_blocks) if b == 1), len(n_blocks))
    # each neuron's block at each level: level l's blocks are indexed by level l-1's blocks
    # (as the reference walks them); hold each map while reading its .a, a view of its memory
    labels, level = None, 0
    for level in range(top):
        blocks = state.levels[level].get_blocks()
        ids = np.array(blocks.a, dtype=np.int64)
        labels = ids if labels is None else ids[labels]
        # the greedy fit now and then leaves every neuron alone at the lowest level; such a
        # level groups nothing, so the communities are the lowest level that groups neurons
        if np.unique(labels).size < w.shape[0] or n_blocks[level] == 1:
            break
    info = {"deg_corr": bool(chosen), "level": int(level), "description_length": dls[chosen],
            "description_length_deg_corr": dls[True], "description_length_no_deg_corr": dls[False],
            "blocks_per_level": n_blocks[:top], "n_init": int(n_init), "run": int(run),
            "description_length_per_run": per_run}
    return labels, info


def _spectral(w, max_communities, seed):
    from scipy.linalg import eigh
    from sklearn.cluster import SpectralClustering

    n = w.shape[0]
    deg = w.sum(axis=1)
    inv = np.where(deg > 0, 1.0 / np.sqrt(np.where(deg > 0, deg, 1.0)), 0.0)
    lap = np.eye(n) - inv[:, None] * w * inv[None, :]
    kmax = int(min(max_communities, n - 1))
    vals = eigh(lap, eigvals_only=True, subset_by_index=[0, min(kmax, n - 1)])
    gaps = np.diff(vals)
    k = int(np.argmax(gaps[:kmax]) + 1)
    if k <= 1:
        return np.zeros(n, dtype=int)
    model = SpectralClustering(n_clusters=k, affinity="precomputed", random_state=int(seed),
                               assign_labels="cluster_qr")
    return model.fit_predict(w + 1e-12)


def find_communities(graph, method: str = "auto", *, background: bool | None = None, resolution: float = 1.0,
                     max_communities: int = 10, min_size: int = 2, n_init: int = 1,
                     random_state=0) -> Communities:
    """Communities of a weighted graph of neurons.

    With ``method="auto"`` (the default) this is the paper's nested weighted SBM when
    graph-tool is importable, and otherwise (a pip install) **the Leiden algorithm, which
    is not the paper's method** (Dyballa et al., ICLR 2024, use graph-tool's
    ``minimize_nested_blockmodel_dl`` with real-exponential edge weights; see the module
    docstring). ``Communities.method`` says which one ran.

    Parameters
    ----------
    graph : array-like, shape (n, n) or (n * (n - 1) / 2,)
        Non-negative weights: a symmetric matrix or one column of the pairs layout (e.g.
        an NTF component's pair loadings).
    method : {"auto", "sbm", "leiden", "spectral"}, default "auto"
        ``"auto"`` takes the first of :func:`available_methods` (graph-tool's nested SBM,
        then Leiden, then spectral clustering); see the module docstring for how they differ.
    background : bool, optional
        Set weakly connected neurons apart as label -1 (:func:`background_split`) before
        the method runs. Default: off for ``"sbm"`` (the paper fits the whole graph; the
        SBM can put weak neurons in a block of their own), on for Leiden and spectral
        clustering, which would otherwise force every neuron into an assortative group.
    resolution : float, default 1.0
        Leiden's resolution (higher: smaller communities).
    max_communities : int, default 10
        Upper bound for the spectral method's eigengap search.
    min_size : int, default 2
        Communities smaller than this become background (-1).
    n_init : int, default 1
        SBM only: runs of graph-tool's greedy minimisation (each with its own seed); the
        fit of lowest description length is kept. The default, one run, is what the
        paper's code does; the search is a stochastic local one and now and then stops in
        a worse fit (e.g. one block where two describe the graph shorter), so several runs,
        as graph-tool's documentation advises, give more reliable communities at
        ``n_init`` times the cost.
    random_state : int, default 0

    Returns
    -------
    Communities
        For ``"sbm"``, ``params["sbm"]`` has the chosen ``deg_corr``, the description
        lengths (nats) of both fits and the number of blocks per level of the hierarchy.

    Raises
    ------
    OptionalDependencyError
        ``method="sbm"`` without graph-tool, or ``"leiden"`` without leidenalg/igraph.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.full((8, 8), 0.01)
    >>> w[:4, :4] = w[4:, 4:] = 1.0
    >>> find_communities(w, method="spectral", background=False).labels.tolist()
    [0, 0, 0, 0, 1, 1, 1, 1]
    """
    check_choice(method, "method", _METHODS)
    avail = available_methods()
    if method == "auto":
        method = avail[0]
    elif method == "sbm" and method not in avail:
        raise OptionalDependencyError(
            "find_communities(method='sbm') needs graph-tool, which is not installed (it is not on "
            "PyPI); expected an importable graph_tool: Debian's python3-graph-tool for the system "
            "Python (a venv made with --system-site-packages sees it; .ci/sbm.sh shows how) or "
            "conda-forge's graph-tool. Without it use method='leiden' or 'spectral'."
        )
    elif method not in avail:
        from ..errors import require

        require("leidenalg", "find_communities(method='leiden')", "leiden")
        require("igraph", "find_communities(method='leiden')", "leiden")
    resolution = check_float(resolution, "resolution", low=0, low_open=True)
    n_init = check_int(n_init, "n_init", 1)
    w = _as_graph(graph)
    n = w.shape[0]
    seed = int(as_rng(random_state).integers(2**31 - 1))
    if background is None:
        background = method != "sbm"
    background = bool(background)
    strength = w.sum(axis=1)
    fg = background_split(strength) if background else np.ones(n, dtype=bool)
    labels = np.full(n, -1)
    extra = {}
    if fg.sum() >= 2 and w[np.ix_(fg, fg)].sum() > 0:
        sub = w[np.ix_(fg, fg)]
        if method == "leiden":
            raw = _leiden(sub, resolution, seed)
        elif method == "sbm":
            raw, extra["sbm"] = _sbm(sub, seed, n_init)
        else:
            raw = _spectral(sub, max_communities, seed)
        labels[fg] = raw
    # relabel by total internal weight (the SBM: by mean internal pair weight, since its
    # blocks include the large, weakly connected rest); drop tiny communities
    found = [c for c in np.unique(labels) if c >= 0]
    sizes = {c: int((labels == c).sum()) for c in found}
    inside = {c: float(w[np.ix_(labels == c, labels == c)].sum()) for c in found}
    if method == "sbm":
        inside = {c: inside[c] / max(sizes[c] * (sizes[c] - 1), 1) for c in found}
    # ties (equal internal weight) are broken by the lowest neuron index, so labels are
    # deterministic
    first = {c: int(np.flatnonzero(labels == c)[0]) for c in found}
    keep = sorted((c for c in found if sizes[c] >= min_size), key=lambda c: (-inside[c], first[c]))
    new = np.full(n, -1)
    for k, c in enumerate(keep):
        new[labels == c] = k
    return Communities(new, method, strength, dict(background=background, resolution=float(resolution),
                                                    min_size=int(min_size), **extra))
