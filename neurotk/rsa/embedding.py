"""Low-dimensional embeddings of RDMs by multidimensional scaling (MDS).

:func:`classical_mds` places the conditions of an RDM in a few dimensions by classical
(Torgerson) scaling, optionally refined by metric MDS (SMACOF), and returns an
:class:`Embedding`; :func:`classical_coordinates` is the Torgerson kernel on one condensed
vector (topological RSA simulates data from it). Not to be confused with the most
discriminative stimuli of :mod:`neurotk.clustering`.

Examples
--------
>>> import numpy as np
>>> from neurotk.rsa import classical_mds
>>> classical_mds(np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]]))
Embedding(classical, 3 conditions x 2 dimensions, stress=0.0000)
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from .._validation import check_int
from ..errors import ArgumentError, ShapeMismatchError
from ..results import Result
from ..utils import as_rng
from .rdms import as_rdm, n_conditions_from_pairs, pair_index

__all__ = ["classical_mds", "classical_coordinates", "Embedding"]


def _square(vector: np.ndarray, n: int) -> np.ndarray:
    i, j = pair_index(n)
    m = np.zeros((n, n))
    m[i, j] = vector
    m[j, i] = vector
    return m


def classical_coordinates(vector, n_components: int | None = None):
    """Classical (Torgerson) MDS of one condensed distance vector.

    Double-centres the squared distances, ``B = -1/2 J D**2 J``, and scales its leading
    eigenvectors by the square roots of their eigenvalues (negative ones count as 0). The
    sign of each axis is fixed: its largest-magnitude coordinate is positive. This is the
    kernel of :func:`classical_mds`, without the fit statistics.

    Parameters
    ----------
    vector : array-like, shape (n_pairs,)
        Condensed distances (scipy ``squareform`` order).
    n_components : int, optional
        Dimensions kept; default: as many as there are positive eigenvalues.

    Returns
    -------
    coordinates : ndarray (n_conditions, k)
    eigenvalues : ndarray (n_conditions,)
        All eigenvalues of ``B``, descending.
    b : ndarray (n_conditions, n_conditions)
        The double-centred matrix ``B``.

    Examples
    --------
    >>> coords, eigenvalues, _ = classical_coordinates([1.0, 2.0, 1.0])  # three points on a line
    >>> coords.round(6).tolist()
    [[1.0], [0.0], [-1.0]]
    """
    vector = np.asarray(vector, dtype=np.float64)
    n = n_conditions_from_pairs(vector.shape[0], "vector")
    d2 = _square(vector, n) ** 2
    b = d2 - d2.mean(axis=0, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    b = -0.25 * (b + b.T)  # -1/2 J D^2 J, symmetrised against round-off
    evals, evecs = np.linalg.eigh(b)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    tol = max(abs(evals).max(), 1.0) * n * np.finfo(float).eps * 10
    if n_components is None:
        k = max(int((evals > tol).sum()), 1)
    else:
        k = n_components
    lam = np.clip(evals[:k], 0.0, None)
    lam[lam <= tol] = 0.0
    coords = evecs[:, :k] * np.sqrt(lam)
    # deterministic signs: the largest-magnitude entry of each axis is positive
    big = np.abs(coords).argmax(axis=0)
    signs = np.sign(coords[big, np.arange(k)])
    signs[signs == 0] = 1.0
    return coords * signs, evals, b


def _condensed_distances(coords: np.ndarray) -> np.ndarray:
    i, j = pair_index(coords.shape[0])
    diff = coords[i] - coords[j]
    return np.sqrt(np.einsum("pk,pk->p", diff, diff))


class Embedding(Result):
    """Coordinates of an MDS embedding of an RDM, with condition labels and fit statistics.

    Attributes
    ----------
    coordinates : ndarray (n_conditions, n_components)
    conditions : ndarray (n_conditions,)
    eigenvalues : ndarray (n_conditions,) or None
        Eigenvalues of the double-centred squared-distance matrix, descending (classical
        MDS; for metric MDS those of the classical solution used as start).
    stress : float
        Kruskal's stress-1, ``sqrt(sum (d - d_hat)**2 / sum d**2)`` between the RDM and
        the embedding distances.
    strain : float
        Relative eigenvalue-based residual of classical MDS, ``||B - X X^T||_F / ||B||_F``
        (equal to ``sqrt(sum of squared left-out eigenvalues / sum of all squared
        eigenvalues)``).
    explained : float
        Fraction of the positive eigenvalue mass captured by the kept dimensions.
    metric : bool
        Whether metric (SMACOF) MDS refined the classical solution.
    name : str or None
        The name of the RDM embedded.

    Examples
    --------
    >>> import numpy as np
    >>> emb = Embedding(np.eye(3)[:, :2], ["a", "b", "c"], None, 0.1, 0.2, 0.9, False, name="V1")
    >>> emb
    Embedding(classical, 3 conditions x 2 dimensions, stress=0.1000)
    """

    def __init__(self, coordinates, conditions, eigenvalues, stress, strain, explained, metric, name=None):
        self.coordinates = coordinates
        self.conditions = np.asarray(conditions)
        self.eigenvalues = eigenvalues
        self.stress = float(stress)
        self.strain = float(strain)
        self.explained = float(explained)
        self.metric = bool(metric)
        self.name = name

    @property
    def n_components(self) -> int:
        return self.coordinates.shape[1]

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.coordinates, dtype=dtype)

    def __len__(self) -> int:
        return self.coordinates.shape[0]

    def to_frame(self) -> pd.DataFrame:
        """One row per condition: ``condition``, ``dim1``, ``dim2``, ...

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.rsa import classical_mds
        >>> x = np.random.default_rng(0).normal(size=(5, 3))
        >>> d = np.linalg.norm(x[:, None] - x[None], axis=-1)
        >>> classical_mds(d).to_frame().columns.tolist()
        ['condition', 'dim1', 'dim2']
        """
        frame = pd.DataFrame(self.coordinates, columns=[f"dim{k + 1}" for k in range(self.n_components)])
        frame.insert(0, "condition", self.conditions)
        return frame

    def plot(self, ax=None, labels=None, categories=None):
        """Scatter of the first two dimensions, points labelled with their conditions.

        Delegates to :func:`neurotk.plotting.rsa.plot_embedding`.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        labels : sequence of str, optional
            Text per condition (default: the condition labels; pass ``[]`` for none).
        categories : array-like, optional
            Colour points by category.

        Returns
        -------
        matplotlib Axes

        Examples
        --------
        >>> import matplotlib, numpy as np
        >>> matplotlib.use("Agg")
        >>> from neurotk.rsa import classical_mds
        >>> x = np.random.default_rng(0).normal(size=(5, 3))
        >>> ax = classical_mds(np.linalg.norm(x[:, None] - x[None], axis=-1)).plot()
        >>> ax.get_xlabel()
        'dimension 1'
        """
        from ..plotting.rsa import plot_embedding

        xy = self.coordinates
        if self.n_components == 1:
            xy = np.column_stack([xy[:, 0], np.zeros(len(xy))])
        labels = self.conditions if labels is None else labels
        kind = "metric" if self.metric else "classical"
        title = f"{kind} MDS" + (f": {self.name}" if self.name else "") + f" (stress {self.stress:.3f})"
        return plot_embedding(xy[:, :2], categories=categories, ax=ax, title=title, labels=labels)

    def __repr__(self) -> str:
        kind = "metric" if self.metric else "classical"
        return (
            f"Embedding({kind}, {len(self)} conditions x {self.n_components} dimensions, "
            f"stress={self.stress:.4f})"
        )


def _sklearn_mds(dist: np.ndarray, n_components: int, init: np.ndarray, random_state):
    from sklearn.manifold import MDS

    params = inspect.signature(MDS).parameters
    seed = int(as_rng(random_state).integers(2**31 - 1))
    kwargs = dict(n_components=n_components, random_state=seed, max_iter=1000, eps=1e-9)
    if "metric_mds" in params:  # scikit-learn >= 1.8
        kwargs.update(metric_mds=True, metric="precomputed", init="random", n_init=1)
    else:
        kwargs.update(metric=True, dissimilarity="precomputed", n_init=1)
    model = MDS(**kwargs)
    return model.fit_transform(dist, init=init)


def classical_mds(rdm, n_components: int = 2, metric: bool = False, random_state=None) -> Embedding:
    """Embed the conditions of an RDM in ``n_components`` dimensions by classical MDS.

    Classical (Torgerson) MDS double-centres the squared dissimilarities,
    ``B = -1/2 J D**2 J``, and takes the eigenvectors of the largest eigenvalues scaled
    by their square roots (:func:`classical_coordinates`): when the RDM holds Euclidean
    distances of a configuration in ``n_components`` or fewer dimensions, it is recovered
    exactly (up to rotation, reflection and translation). With ``metric=True`` the
    classical solution is the start of metric MDS, which refines it by minimising the raw
    stress with scikit-learn's SMACOF (:class:`sklearn.manifold.MDS` on the precomputed
    dissimilarities).

    Parameters
    ----------
    rdm : RDM or array-like
        A single RDM (square matrix or condensed vector).
    n_components : int, default 2
        Number of dimensions, at most the number of conditions.
    metric : bool, default False
        Refine the classical solution by metric MDS (SMACOF).
    random_state : None, int or Generator
        Seed for the metric MDS solver.

    Returns
    -------
    Embedding
        ``.coordinates`` (n_conditions, n_components), ``.conditions``, ``.eigenvalues``,
        ``.stress``, ``.strain``, ``.explained``, ``.plot(ax=None, labels=None)``; it also
        converts with ``np.asarray``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import classical_mds
    >>> square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    >>> d = np.linalg.norm(square[:, None] - square[None], axis=-1)
    >>> emb = classical_mds(d)
    >>> emb.coordinates.shape
    (4, 2)
    >>> round(emb.stress, 10), round(emb.explained, 10)
    (0.0, 1.0)
    """
    rdm = as_rdm(rdm)
    if rdm.n_rdms != 1:
        raise ShapeMismatchError(f"rdm holds {rdm.n_rdms} RDMs; expected a single RDM (select one with rdm[k])")
    n = rdm.n_conditions
    if n < 3:
        raise ShapeMismatchError(f"rdm has {n} conditions; expected at least 3 for MDS")
    vec = rdm.vectors[0]
    if np.isnan(vec).any():
        raise ArgumentError("rdm contains NaN dissimilarities; MDS needs a complete RDM")
    n_components = check_int(n_components, "n_components", 1, n)  # at most the number of conditions
    coords, evals, b = classical_coordinates(vec, n_components)
    pos = np.clip(evals, 0.0, None)
    explained = pos[: int(n_components)].sum() / pos.sum() if pos.sum() > 0 else 1.0
    if metric:
        coords = _sklearn_mds(_square(vec, n), int(n_components), coords, random_state)
    recon = coords @ coords.T
    bc = coords - coords.mean(axis=0)
    strain_num = np.linalg.norm(b - bc @ bc.T) if metric else np.linalg.norm(b - recon)
    strain = strain_num / np.linalg.norm(b) if np.linalg.norm(b) > 0 else 0.0
    dhat = _condensed_distances(coords)
    denom = np.sum(vec**2)
    stress = np.sqrt(np.sum((vec - dhat) ** 2) / denom) if denom > 0 else 0.0
    name = rdm.names[0]
    return Embedding(coords, rdm.conditions, evals, stress, strain, explained, metric, name=name)
