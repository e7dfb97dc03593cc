"""Model selection with topological RSA: which layer (or region) produced this geometry?

The evaluation of Lin & Kriegeskorte ("The Topology and Geometry of Neural
Representations", 2023; reference code doerlbh/TopologicalRSA, ``utils_stats.py``,
``loo_eval``): the RDMs of several layers of several network instances (or regions of
several subjects) are transformed (:mod:`neurotk.rsa.topology`: RDM, RGTM, RGDM), noise is
added, and each held-out instance's layers are identified by nearest-centroid
classification against the other instances' (:func:`model_selection`);
:func:`layer_rdms` builds those RDMs from activations. :func:`model_selection_accuracy` is
neurotk's earlier simulation, which adds the noise to the candidate geometry itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int
from ..errors import ArgumentError, ShapeMismatchError
from ..results import Result
from ..utils import as_rng
from .comparison import compare_vectors
from .embedding import classical_coordinates
from .rdms import RDM, pair_index
from .topology import (
    KINDS,
    check_rdm,
    check_transform_options,
    thresholds,
    transform_vectors,
    warn_collapse,
)

__all__ = ["ModelSelection", "layer_rdms", "model_selection", "model_selection_accuracy"]


def _selection_grid(noise_levels, lower, upper, transforms, vectors: np.ndarray):
    """The checked noise levels, threshold pairs and transforms of a model-selection run."""
    noise_levels = np.atleast_1d(np.asarray(noise_levels, dtype=float))
    if (noise_levels.ndim != 1 or noise_levels.size == 0 or not np.isfinite(noise_levels).all()
            or (noise_levels < 0).any()):
        raise ArgumentError(f"noise_levels={noise_levels.tolist()}; expected non-negative finite numbers")
    lowers = np.atleast_1d(np.asarray(lower, dtype=float))
    uppers = np.atleast_1d(np.asarray(upper, dtype=float))
    if lowers.shape != uppers.shape or lowers.ndim != 1:
        raise ShapeMismatchError(
            f"lower has {lowers.size} values and upper {uppers.size}; expected the same number (one per setting)"
        )
    for l, u in zip(lowers, uppers):
        thresholds(vectors[:1], l, u, True)  # validates range and order
    transforms = [transforms] if isinstance(transforms, str) else list(transforms)
    for t in transforms:
        check_choice(t, "transforms", KINDS)
    return noise_levels, lowers, uppers, transforms


def _distances(x: np.ndarray) -> np.ndarray:
    """Euclidean distance vectors of a batch of patterns (n_batch, n, p) -> (n_batch, n_pairs)."""
    n = x.shape[1]
    i, j = pair_index(n)
    gram = np.einsum("bnp,bmp->bnm", x, x)
    sq = np.einsum("bnn->bn", gram)
    d2 = sq[:, i] + sq[:, j] - 2.0 * gram[:, i, j]
    return np.sqrt(np.maximum(d2, 0.0))


def model_selection_accuracy(
    model_rdms,
    noise_levels: Sequence[float] = (0.0, 0.5, 1.0, 2.0),
    n_simulations: int = 20,
    lower=0.1,
    upper=0.5,
    method: str = "spearman",
    n_channels: int | None = None,
    transforms: Sequence[str] = ("rdm", "rgtm", "rgdm"),
    random_state=None,
    ramp: str = "rank",
    below_lower: str = "no-edge",
    normalise: str = "rank",
) -> pd.DataFrame:
    """Model-identification accuracy of RDMs vs their topological transforms, simulating data.

    neurotk's own simulation, not the paper's design (that is :func:`model_selection`):
    data are simulated from each candidate model's geometry, and the candidate whose
    (transformed) RDM best matches the (transformed) data RDM is selected. Accuracy is the
    fraction of simulations in which the generating model is selected. Because the noise
    is added to the candidate geometry itself, the plain RDM is the best summary statistic
    by construction; the simulation shows what thresholding costs when nothing but
    isotropic noise separates data from model.

    Generative scheme, for each candidate RDM ``D``: classical MDS (:func:`neurotk.rsa.classical_mds`)
    embeds the conditions in the Euclidean space spanned by the positive eigenvalues, the
    coordinates are placed in ``n_channels`` channels (zero-padded), and isotropic Gaussian
    noise with standard deviation ``sigma = noise_level * sqrt(mean(D**2) / (2 *
    n_channels))`` is added, so that at ``noise_level = 1`` the expected squared noise
    displacement between two conditions equals the mean squared model dissimilarity. The
    data RDM holds the Euclidean distances of the noisy patterns. Each transform (plain
    RDM, RGTM, RGDM, with the same thresholds) is applied to the data RDM and to every
    candidate, candidates are scored with ``compare_vectors(..., method)``, and ties for
    the best score count as ``1 / n_tied`` of a correct identification (so pure guessing
    scores the chance level ``1 / n_models`` on average).

    Parameters
    ----------
    model_rdms : RDM or array-like
        Candidate RDMs (a stack of at least 2) over the same conditions.
    noise_levels : sequence of float, default (0, 0.5, 1, 2)
        Noise levels (non-negative), relative to the model dissimilarities as above.
    n_simulations : int, default 20
        Simulated data sets per candidate and noise level.
    lower, upper : float or sequence of float, default 0.1, 0.5
        Quantile thresholds of the transforms; equal-length sequences give several
        settings (one row each per noise level).
    method : str, default "spearman"
        Comparison method of :func:`neurotk.rsa.compare_vectors`.
    n_channels : int, optional
        Number of simulated measurement channels (default: the number of conditions).
    transforms : sequence of {"rdm", "rgtm", "rgdm"}
        Which summary statistics to evaluate.
    random_state : None, int or Generator
        Seed of the simulation.
    ramp, below_lower, normalise : str
        Options of the transforms (:func:`geotopological`, :func:`geodesic`).

    Returns
    -------
    DataFrame
        Tidy: ``transform``, ``lower``, ``upper`` (NaN for "rdm"), ``noise_level``,
        ``accuracy``, ``sem`` (over simulations), ``n_simulations``, ``chance``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import RDM, model_selection_accuracy
    >>> from scipy.spatial.distance import pdist
    >>> rng = np.random.default_rng(0)
    >>> models = RDM([pdist(rng.normal(size=(10, 3))) for _ in range(3)])
    >>> acc = model_selection_accuracy(models, [0.0], n_simulations=4, random_state=0)
    >>> acc[["transform", "accuracy"]].to_numpy().tolist()
    [['rdm', 1.0], ['rgtm', 1.0], ['rgdm', 1.0]]
    """
    models = check_rdm(model_rdms, "model_rdms")
    if models.n_rdms < 2:
        raise ShapeMismatchError(f"model_rdms holds {models.n_rdms} RDM; expected at least 2 candidates")
    if models.allow_nan and np.isnan(models.vectors).any():
        raise ArgumentError("model_rdms contains NaN dissimilarities; expected complete RDMs")
    noise_levels, lowers, uppers, transforms = _selection_grid(noise_levels, lower, upper, transforms,
                                                              models.vectors)
    n_simulations = check_int(n_simulations, "n_simulations")
    check_transform_options(ramp, below_lower, normalise)
    options = {"ramp": ramp, "below_lower": below_lower, "normalise": normalise}
    n = models.n_conditions
    p = check_int(n_channels, "n_channels") if n_channels is not None else n
    rng = as_rng(random_state)
    n_models = models.n_rdms

    coords = []
    for v in models.vectors:
        y = classical_coordinates(v)[0]  # using all positive eigenvalues
        width = max(p, y.shape[1])
        pad = np.zeros((n, width))
        pad[:, : y.shape[1]] = y
        coords.append(pad)
    width = max(c.shape[1] for c in coords)
    coords = np.stack([np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in coords])
    scale = np.sqrt(np.mean(models.vectors**2, axis=1) / (2.0 * width))

    settings = []
    for t in transforms:
        if t == "rdm":
            settings.append((t, np.nan, np.nan))
        else:
            settings.extend((t, float(l), float(u)) for l, u in zip(lowers, uppers))
    model_t = {
        s: transform_vectors(models.vectors, n, s[0], s[1], s[2], **options)[0] for s in settings
    }
    rows = []
    for level in noise_levels:
        noise = rng.standard_normal((n_models, n_simulations, n, width))
        data = coords[:, None] + (level * scale)[:, None, None, None] * noise
        dvec = _distances(data.reshape(n_models * n_simulations, n, width))
        truth = np.repeat(np.arange(n_models), n_simulations)
        for s in settings:
            dt = transform_vectors(dvec, n, s[0], s[1], s[2], **options)[0]
            score = np.asarray(compare_vectors(dt, model_t[s], method), dtype=float)
            score = np.where(np.isnan(score), -np.inf, score)
            best = score >= score.max(axis=1, keepdims=True) - 1e-12
            correct = best[np.arange(truth.size), truth] / best.sum(axis=1)
            rows.append(
                {
                    "transform": s[0],
                    "lower": s[1],
                    "upper": s[2],
                    "noise_level": float(level),
                    "accuracy": float(correct.mean()),
                    "sem": float(correct.std(ddof=1) / np.sqrt(correct.size)) if correct.size > 1 else np.nan,
                    "n_simulations": n_simulations,
                    "chance": 1.0 / n_models,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the paper's design
class ModelSelection(Result):
    """Accuracy of identifying layers (or regions) across instances (or subjects), by statistic and noise.

    Returned by :func:`model_selection`.

    Attributes
    ----------
    table : DataFrame
        One row per summary statistic and noise level: ``transform`` ("rdm", "rgtm",
        "rgdm"), ``lower``, ``upper`` (NaN for "rdm"), ``noise_level``, ``accuracy`` (mean
        over noise draws), ``sem`` (over draws; 0 without noise), ``n_repeats``, ``chance``.
    accuracies : ndarray, shape (n_statistics, n_noise_levels, n_repeats)
        Leave-one-instance-out accuracy of every noise draw, statistics in the order of
        ``table``; at noise level 0 (one evaluation) the value is repeated along the last axis.
    layers, instances : list
        The labels to identify and the instances held out in turn, in sorted order.
    noise_scale : float
        The standard deviation of all input dissimilarities pooled; noise level ``s`` adds
        Gaussian noise of standard deviation ``s * noise_scale``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> table = pd.DataFrame({"transform": ["rdm", "rdm"], "lower": np.nan, "upper": np.nan,
    ...                       "noise_level": [0.0, 1.0], "accuracy": [1.0, 0.5], "sem": [0.0, 0.1],
    ...                       "n_repeats": 2, "chance": 0.5})
    >>> ModelSelection(table, np.array([[[1.0, 1.0], [0.4, 0.6]]]), ["a", "b"], [0, 1, 2], 1.0)
    ModelSelection(1 statistic x 2 noise levels; 3 instances x 2 layers, chance 0.5)
    """

    def __init__(self, table, accuracies, layers, instances, noise_scale):
        self.table = table
        self.accuracies = accuracies
        self.layers = list(layers)
        self.instances = list(instances)
        self.noise_scale = float(noise_scale)

    def to_frame(self) -> pd.DataFrame:
        """The accuracy table (a copy)."""
        return self.table.copy()

    def plot(self, ax=None, **kwargs):
        """Accuracy against noise, one line per statistic; returns the Axes.

        Draws through :func:`neurotk.plotting.rsa.plot_model_selection`.
        """
        from ..plotting.rsa import plot_model_selection

        return plot_model_selection(self.to_frame(), ax=ax, **kwargs)

    def __repr__(self) -> str:
        t = self.table
        n_stats = len(t.drop_duplicates(["transform", "lower", "upper"]))
        n_levels = t["noise_level"].nunique()
        return (f"ModelSelection({n_stats} statistic{'s' if n_stats != 1 else ''} x {n_levels} noise "
                f"level{'s' if n_levels != 1 else ''}; {len(self.instances)} instances x {len(self.layers)} "
                f"layers, chance {1 / len(self.layers):.3g})")


def _group_codes(rdms: RDM, value, name: str):
    """Integer codes (sorted labels, as scikit-learn's ``classes_``) of a descriptor or array."""
    if isinstance(value, str):
        if value not in rdms.descriptors.columns:
            raise ArgumentError(
                f"{name}={value!r} is not a column of rdms.descriptors (columns: "
                f"{list(rdms.descriptors.columns)}); pass a column name or one label per RDM"
            )
        value = rdms.descriptors[value].to_numpy()
    arr = np.asarray(value)
    if arr.shape != (rdms.n_rdms,):
        raise ShapeMismatchError(f"{name} has shape {arr.shape}; expected ({rdms.n_rdms},), one label per RDM")
    codes, uniques = pd.factorize(pd.Series(arr), sort=True)
    if (codes < 0).any():
        raise ArgumentError(f"{name} has missing labels; expected one label per RDM")
    return codes, list(uniques)


def _loo_nearest_centroid(x: np.ndarray, inst: np.ndarray, lab: np.ndarray, n_inst: int, n_lab: int) -> np.ndarray:
    """Leave-one-instance-out nearest-centroid accuracy of each batch ``x`` (n_batches, n_rdms, n_pairs).

    For each instance in turn, the centroid (mean) of each label's RDMs over the other
    instances is formed, and each of the held-out instance's RDMs is assigned the label of
    the nearest centroid (Euclidean; ties to the first label, as ``argmin``). The accuracy
    is over all RDMs, as ``accuracy_score`` of the pooled predictions. A label that no
    other instance has is no candidate while its instance is held out.
    """
    cell = inst * n_lab + lab
    onehot = np.zeros((n_inst * n_lab, len(cell)))
    onehot[cell, np.arange(len(cell))] = 1.0
    counts = onehot.sum(axis=1).reshape(n_inst, n_lab)
    rest = counts.sum(axis=0)[None, :] - counts  # RDMs per label in the other instances
    absent = (rest == 0)[inst]  # (n_rdms, n_lab): labels that are no candidate
    out = np.empty(len(x))
    for b, xb in enumerate(x):  # one batch (noise draw) at a time, to bound memory
        sums = (onehot @ xb).reshape(n_inst, n_lab, -1)
        with np.errstate(invalid="ignore", divide="ignore"):
            centroids = (sums.sum(axis=0)[None] - sums) / rest[..., None]
        diff = xb[:, None, :] - centroids[inst]
        dist = np.einsum("rlp,rlp->rl", diff, diff)
        dist[absent] = np.inf
        out[b] = np.mean(np.argmin(dist, axis=1) == lab)
    return out


def layer_rdms(activations, metric: str = "correlation") -> RDM:
    """The RDM of every layer of every network instance, labelled for :func:`model_selection`.

    Parameters
    ----------
    activations : mapping
        Instance label (a network seed, a subject) -> mapping of layer (region) label ->
        responses to the same conditions: a :class:`~neurotk.Recording` (repeats of a
        condition are averaged, as :func:`neurotk.rsa.rdm` does) or an array of shape
        (n_conditions, n_units). ``DigitsNetwork.activations(images)`` gives one instance's
        mapping: ``{s: digits_network(s).activations(images) for s in seeds}``.
    metric : str, default "correlation"
        The dissimilarity of :func:`neurotk.rsa.rdm` (correlation distance, ``1 - r``, as
        Mehrer et al. 2020 used for the network instances the paper evaluates).

    Returns
    -------
    RDM
        A stack in the order of the mappings, names ``"<instance>/<layer>"``, descriptors
        ``instance`` and ``layer``.

    Raises
    ------
    ArgumentError
        An empty mapping, or an instance that is not a mapping of layers.
    ShapeMismatchError
        RDMs over different conditions.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.rsa import layer_rdms
    >>> rng = np.random.default_rng(0)
    >>> acts = {s: {"early": rng.normal(size=(6, 8)), "late": rng.normal(size=(6, 3))} for s in (1, 2)}
    >>> stack = layer_rdms(acts)
    >>> stack.names
    ['1/early', '1/late', '2/early', '2/late']
    >>> stack.descriptors["layer"].tolist()
    ['early', 'late', 'early', 'late']
    """
    from .calc import rdm as compute_rdm

    if not isinstance(activations, Mapping) or not activations:
        raise ArgumentError(
            f"activations is {type(activations).__name__}{' (empty)' if isinstance(activations, Mapping) else ''}; "
            f"expected a non-empty mapping instance -> {{layer: responses}}"
        )
    vectors, names, rows, conditions = [], [], [], None
    for inst, layers in activations.items():  # one RDM per (instance, layer), each computed with BLAS
        if not isinstance(layers, Mapping) or not layers:
            raise ArgumentError(
                f"activations[{inst!r}] is {type(layers).__name__}; expected a non-empty mapping layer -> responses"
            )
        for layer, x in layers.items():
            d = compute_rdm(x, metric=metric)
            if conditions is None:
                conditions = d.conditions
            elif len(d.conditions) != len(conditions) or not np.array_equal(d.conditions, conditions):
                raise ShapeMismatchError(
                    f"activations[{inst!r}][{layer!r}] gives an RDM over {d.n_conditions} conditions that differ "
                    f"from the first one's {len(conditions)}; expected responses to the same conditions"
                )
            vectors.append(d.vector)
            names.append(f"{inst}/{layer}")
            rows.append({"instance": inst, "layer": layer})
    return RDM(np.array(vectors), conditions, names, metric=metric, descriptors=pd.DataFrame(rows))


def model_selection(
    rdms,
    instances="instance",
    layers="layer",
    noise_levels: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4),
    n_repeats: int = 10,
    transforms: Sequence[str] = ("rdm", "rgtm", "rgdm"),
    lower=0.2,
    upper=0.8,
    ramp: str = "rank",
    below_lower: str = "no-edge",
    normalise: str = "rank",
    random_state=None,
    metric: str = "correlation",
) -> ModelSelection:
    """How well each summary statistic identifies a layer across network instances (Lin & Kriegeskorte).

    The paper's evaluation, as the authors' code runs it (doerlbh/TopologicalRSA,
    ``utils_stats.py``: ``loo_eval``; the noise of ``utils_analysis.py``'s
    ``get_dataset("cnn62_g_0p*")``). The ground truth is one layer of one network
    instance; the candidates are the same and the other layers of the other instances
    (trained from other seeds). For each instance in turn, every one of its RDMs is
    classified by nearest centroid (Euclidean distance between RDM vectors, as
    scikit-learn's ``NearestCentroid``) among the layer centroids, the mean RDM of each layer
    over the other instances; the accuracy is the fraction of all RDMs given their own
    layer. The same works for regions (``layers``) measured in subjects (``instances``).

    Noise as in the reference: Gaussian noise of standard deviation ``noise_level *
    std(all dissimilarities)`` is added to every entry of every RDM, negative values are
    set to 0, then each statistic is computed from the noisy RDMs: the RDM itself
    ("rdm", unchanged as in the reference), the RGTM (:func:`geotopological`) and the RGDM
    (:func:`geodesic`) with the same thresholds. All statistics see the same noise draws.

    Parameters
    ----------
    rdms : RDM or mapping
        A stack: the RDM of every (instance, layer), over the same conditions. Or the
        activations themselves, instance -> {layer: responses}, as :func:`layer_rdms`
        takes them (e.g. ``{s: digits_network(s).activations(images) for s in seeds}``).
    instances, layers : str or array-like, default "instance", "layer"
        Column names of ``rdms.descriptors``, or one label per RDM: the instance (network
        seed, subject) each RDM comes from, and the layer (region) to identify.
    noise_levels : sequence of float, default (0, 0.1, 0.2, 0.3, 0.4)
        Noise standard deviations in units of the pooled standard deviation of the
        dissimilarities (the reference's levels).
    n_repeats : int, default 10
        Noise draws per level (one evaluation without noise). The reference draws the
        noise once per level (and bootstraps subjects and stimuli for error bars); repeated
        draws show the spread due to the noise itself. The RGDM costs one all-pairs
        shortest-path problem (O(n_conditions^3)) per RDM and draw.
    transforms : sequence of {"rdm", "rgtm", "rgdm"}
        The statistics to evaluate.
    lower, upper : float or sequence of float, default 0.2, 0.8
        Quantile thresholds (the defaults of the reference's ``gt_transform``); equal-length
        sequences give several settings. (The paper also samples thresholds by kind, e.g.
        "topology sensitive" with both in [0.4, 0.6]; pass such settings to compare them.)
    ramp, below_lower, normalise : str
        Options of the transforms (:func:`geotopological`, :func:`geodesic`); the defaults
        are the reference's.
    random_state : None, int or Generator
        Seed of the noise.
    metric : str, default "correlation"
        The dissimilarity when ``rdms`` is a mapping of activations (:func:`layer_rdms`).

    Returns
    -------
    ModelSelection
        ``table`` of accuracies (``to_frame()``), the accuracy of every draw, a figure.

    Raises
    ------
    ShapeMismatchError
        Fewer than 2 instances or 2 layers, or labels of the wrong length.
    ArgumentError
        A negative noise level, thresholds out of range, an unknown transform or option.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from neurotk.rsa import RDM, model_selection
    >>> rng = np.random.default_rng(0)
    >>> layer = rng.uniform(size=(3, 15))         # each layer's own geometry
    >>> vectors = [layer[k] + 0.05 * rng.uniform(size=15) for s in range(4) for k in range(3)]
    >>> desc = pd.DataFrame({"instance": np.repeat(range(4), 3), "layer": ["a", "b", "c"] * 4})
    >>> res = model_selection(RDM(vectors, descriptors=desc), noise_levels=[0.0, 0.5],
    ...                       n_repeats=3, random_state=0)
    >>> res.to_frame().query("noise_level == 0")["accuracy"].tolist()
    [1.0, 1.0, 1.0]
    """
    if isinstance(rdms, Mapping):
        rdms = layer_rdms(rdms, metric=metric)
    rdms = check_rdm(rdms, "rdms")
    if rdms.allow_nan and np.isnan(rdms.vectors).any():
        raise ArgumentError("rdms contains NaN dissimilarities; expected complete RDMs")
    inst, inst_names = _group_codes(rdms, instances, "instances")
    lab, lab_names = _group_codes(rdms, layers, "layers")
    if len(inst_names) < 2 or len(lab_names) < 2:
        raise ShapeMismatchError(
            f"rdms holds {len(inst_names)} instance(s) and {len(lab_names)} layer(s); expected at least "
            f"2 of each (one instance is held out, its layers identified among the others')"
        )
    noise_levels, lowers, uppers, transforms = _selection_grid(noise_levels, lower, upper, transforms,
                                                              rdms.vectors)
    n_repeats = check_int(n_repeats, "n_repeats")
    if not transforms:
        raise ArgumentError("transforms is empty; expected some of ['rdm', 'rgtm', 'rgdm']")
    check_transform_options(ramp, below_lower, normalise)
    options = {"ramp": ramp, "below_lower": below_lower, "normalise": normalise}
    settings = []
    for t in transforms:
        settings.extend([(t, np.nan, np.nan)] if t == "rdm" else [(t, float(l), float(u)) for l, u in zip(lowers, uppers)])

    rng = as_rng(random_state)
    vectors = rdms.vectors
    n, n_rdm, n_pairs = rdms.n_conditions, rdms.n_rdms, rdms.n_pairs
    scale = float(np.std(vectors))
    acc = np.empty((len(settings), noise_levels.size, n_repeats))
    collapse = {s: (0, 0) for s in settings}
    for k, level in enumerate(noise_levels):
        draws = 1 if level == 0 else n_repeats
        noisy = vectors[None] if level == 0 else np.maximum(
            vectors[None] + level * scale * rng.standard_normal((draws, n_rdm, n_pairs)), 0.0)
        flat = noisy.reshape(draws * n_rdm, n_pairs)
        for s_idx, s in enumerate(settings):
            out, counts = transform_vectors(flat, n, s[0], s[1], s[2], **options)
            if counts is not None:
                collapse[s] = (max(collapse[s][0], int(counts[0].max())), max(collapse[s][1], int(counts[1].max())))
            acc[s_idx, k] = _loo_nearest_centroid(out.reshape(draws, n_rdm, n_pairs), inst, lab,
                                                  len(inst_names), len(lab_names))
    for s, (n_zero, n_apart) in collapse.items():
        if s[0] == "rgdm":
            warn_collapse(np.array([n_zero]), np.array([n_apart]), n_pairs, below_lower)
    rows = []
    for s_idx, s in enumerate(settings):
        for k, level in enumerate(noise_levels):
            a = acc[s_idx, k, : (1 if level == 0 else n_repeats)]  # one evaluation without noise
            rows.append({
                "transform": s[0], "lower": s[1], "upper": s[2], "noise_level": float(level),
                "accuracy": float(a.mean()),
                "sem": float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else 0.0,
                "n_repeats": n_repeats if level > 0 else 1, "chance": 1.0 / len(lab_names),
            })
    return ModelSelection(pd.DataFrame(rows), acc, lab_names, inst_names, scale)
