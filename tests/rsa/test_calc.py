"""Computing RDMs: rsa.rdm against rsatoolbox and scipy, labels, Recordings, bad input."""

import warnings

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from neurotk import Recording, rsa
from neurotk.errors import (
    ArgumentError,
    NeurotkError,
    NonFiniteDataError,
    ShapeMismatchError,
)
from neurotk.rsa.calc import rdm
from neurotk.rsa.rdms import RDM, pair_index

TOL = 1e-10


# --------------------------------------------------------------------------- fixtures
def design(n_cond=7, n_folds=3, n_channels=12, per_cell=1, seed=0):
    """Random trials: every condition ``per_cell`` times in every fold, rows shuffled."""
    rng = np.random.default_rng(seed)
    cond = np.tile(np.arange(n_cond), n_folds * per_cell)
    fold = np.repeat(np.arange(n_folds), n_cond * per_cell)
    perm = rng.permutation(cond.size)
    cond, fold = cond[perm], fold[perm]
    x = rng.normal(size=(n_cond, n_channels))[cond] + rng.normal(size=(cond.size, n_channels))
    return x, cond, fold


def dataset(x, cond, fold=None):
    data = pytest.importorskip("rsatoolbox.data")
    desc = {"conds": cond} if fold is None else {"conds": cond, "folds": fold}
    return data.Dataset(x, obs_descriptors=desc)


def calc(ds, method, **kwargs):
    from rsatoolbox.rdm import calc_rdm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rsatoolbox's descriptor bookkeeping
        return calc_rdm(ds, method=method, descriptor="conds", **kwargs).dissimilarities[0]


def prec_unbalanced(ds, desc, method):
    noise = pytest.importorskip("rsatoolbox.data.noise")
    return noise.prec_from_unbalanced(ds, desc, method=method)


def close(a, b, tol=TOL):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.abs(a - b).max() < tol * max(1.0, np.abs(b).max())


# --------------------------------------------------------------------------- against rsatoolbox
@pytest.mark.parametrize("ours, theirs", [("sqeuclidean", "euclidean"), ("correlation", "correlation")])
def test_plain_metrics_match_rsatoolbox(ours, theirs):
    x, cond, _ = design(per_cell=1)
    close(rdm(x, ours, cond).vector, calc(dataset(x, cond), theirs))


def test_plain_metrics_without_repeats_match_rsatoolbox():
    x = np.random.default_rng(3).normal(size=(9, 20))
    ids = np.arange(9)
    close(rdm(x, "sqeuclidean").vector, calc(dataset(x, ids), "euclidean"))
    close(rdm(x, "correlation").vector, calc(dataset(x, ids), "correlation"))


@pytest.mark.parametrize("method", ["shrinkage_diag", "shrinkage_eye", "diag", "full"])
def test_mahalanobis_with_estimated_noise_matches_rsatoolbox(method):
    x, cond, _ = design(n_cond=6, n_folds=5, n_channels=8)
    ds = dataset(x, cond)
    prec = prec_unbalanced(ds, "conds", method)
    expected = calc(ds, "mahalanobis", noise=prec)
    close(rdm(x, "mahalanobis", cond, noise=method).vector, expected)
    close(rdm(x, "mahalanobis", cond, noise=prec).vector, expected)


def test_mahalanobis_default_noise_is_shrinkage_diag():
    x, cond, _ = design(n_cond=6, n_folds=5, n_channels=8)
    ds = dataset(x, cond)
    d = rdm(x, "mahalanobis", cond)
    close(d.vector, calc(ds, "mahalanobis", noise=prec_unbalanced(ds, "conds", "shrinkage_diag")))
    assert d.meta["noise"].startswith("shrinkage_diag")


def test_crossnobis_matches_rsatoolbox():
    x, cond, fold = design(n_cond=7, n_folds=4)
    close(rdm(x, "crossnobis", cond, fold).vector, calc(dataset(x, cond, fold), "crossnobis", cv_descriptor="folds"))


def test_crossnobis_unbalanced_matches_rsatoolbox():
    x, cond, fold = design(n_cond=6, n_folds=3)
    rng = np.random.default_rng(6)
    cond = np.concatenate([cond, [0, 1, 0, 4]])
    fold = np.concatenate([fold, [0, 0, 1, 2]])
    x = np.vstack([x, rng.normal(size=(4, x.shape[1]))])
    close(rdm(x, "crossnobis", cond, fold).vector, calc(dataset(x, cond, fold), "crossnobis", cv_descriptor="folds"))


@pytest.mark.parametrize("method", ["shrinkage_diag", "shrinkage_eye", "diag"])
def test_crossnobis_with_estimated_noise_matches_rsatoolbox(method):
    x, cond, fold = design(n_cond=5, n_folds=3, n_channels=6, per_cell=2)
    ds = dataset(x, cond, fold)
    ds.obs_descriptors["cell"] = cond * 100 + fold  # residuals around condition-and-fold means
    prec = prec_unbalanced(ds, "cell", method)
    expected = calc(ds, "crossnobis", cv_descriptor="folds", noise=prec)
    close(rdm(x, "crossnobis", cond, fold, noise=method).vector, expected)
    close(rdm(x, "crossnobis", cond, fold, noise=prec).vector, expected)


def test_poisson_matches_rsatoolbox():
    rng = np.random.default_rng(7)
    _, cond, _ = design(n_cond=6, n_folds=3)
    counts = rng.poisson(3.0, size=(cond.size, 15)).astype(float)
    ds = dataset(counts, cond)
    close(rdm(counts, "poisson", cond).vector, calc(ds, "poisson"))
    close(rdm(counts, "poisson", cond, prior_lambda=2.0, prior_weight=0.5).vector,
          calc(ds, "poisson", prior_lambda=2.0, prior_weight=0.5))


def test_poisson_cv_is_the_fold_average_of_rsatoolbox_terms():
    # rsatoolbox 0.3 returns the last fold's term only; with 2 folds, swapping the fold
    # labels gives the other term, and neurotk returns their average.
    rng = np.random.default_rng(8)
    _, cond, fold = design(n_cond=6, n_folds=2)
    counts = rng.poisson(4.0, size=(cond.size, 10)).astype(float)
    last = calc(dataset(counts, cond, fold), "poisson_cv", cv_descriptor="folds")
    first = calc(dataset(counts, cond, 1 - fold), "poisson_cv", cv_descriptor="folds")
    close(rdm(counts, "poisson_cv", cond, fold).vector, (first + last) / 2)


# --------------------------------------------------------------------------- against scipy
def test_metrics_match_scipy_pdist():
    x = np.random.default_rng(9).normal(size=(8, 30)) + 0.5
    close(rdm(x, "euclidean").vector, pdist(x, "euclidean"))
    close(rdm(x, "sqeuclidean", normalize=False).vector, pdist(x, "sqeuclidean"))
    close(rdm(x, "sqeuclidean").vector, pdist(x, "sqeuclidean") / 30)
    close(rdm(x, "euclidean", normalize=True).vector, pdist(x, "euclidean") / np.sqrt(30))
    close(rdm(x, "correlation").vector, pdist(x, "correlation"))
    close(rdm(x, "cosine").vector, pdist(x, "cosine"))
    a = np.random.default_rng(10).normal(size=(30, 30))
    prec = a @ a.T / 30 + np.eye(30)
    close(rdm(x, "mahalanobis", noise=prec, normalize=False).vector, pdist(x, "mahalanobis", VI=prec) ** 2)
    d = np.random.default_rng(11).random(30) + 0.5
    close(rdm(x, "mahalanobis", noise=d).vector, rdm(x, "mahalanobis", noise=np.diag(d)).vector)


def test_distances_are_non_negative_with_exact_zero_diagonal():
    x = np.random.default_rng(12).normal(size=(6, 4))
    x[3] = x[1]  # identical patterns
    for metric in ("euclidean", "sqeuclidean", "correlation", "cosine"):
        d = rdm(x, metric)
        assert (d.vector >= 0).all() and (np.diag(d.matrix) == 0).all()
        assert d.matrix[1, 3] < 1e-7


# --------------------------------------------------------------------------- crossnobis properties
def test_crossnobis_balanced_equals_average_over_fold_pairs():
    x, cond, fold = design(n_cond=6, n_folds=4, n_channels=9)
    means = np.stack([np.stack([x[(fold == f) & (cond == c)].mean(0) for c in range(6)]) for f in range(4)])
    i, j = pair_index(6)
    terms = [
        np.einsum("pk,pk->p", means[a][i] - means[a][j], means[b][i] - means[b][j]) / 9
        for a in range(4) for b in range(4) if a != b
    ]
    close(rdm(x, "crossnobis", cond, fold).vector, np.mean(terms, axis=0))


def test_crossnobis_is_unbiased_for_pure_noise():
    rng = np.random.default_rng(13)
    n_cond, n_folds, p = 20, 4, 50
    cond = np.tile(np.arange(n_cond), n_folds)
    fold = np.repeat(np.arange(n_folds), n_cond)
    cv, plain = [], []
    for _ in range(40):
        x = rng.normal(size=(cond.size, p))
        cv.append(rdm(x, "crossnobis", cond, fold).vector.mean())
        plain.append(rdm(x, "sqeuclidean", cond).vector.mean())
    assert abs(np.mean(cv)) < 0.01  # true distances are 0
    assert np.mean(plain) == pytest.approx(2 / n_folds, rel=0.05)  # biased by the noise
    assert min(np.min(cv), 0) < 0  # can be negative


def test_crossnobis_recovers_true_distances():
    rng = np.random.default_rng(14)
    n_cond, n_folds, p = 8, 6, 400
    signal = rng.normal(size=(n_cond, p))
    cond = np.tile(np.arange(n_cond), n_folds)
    fold = np.repeat(np.arange(n_folds), n_cond)
    x = signal[cond] + rng.normal(size=(cond.size, p))
    est = rdm(x, "crossnobis", cond, fold).vector
    assert np.abs(est - pdist(signal, "sqeuclidean") / p).max() < 0.2


# --------------------------------------------------------------------------- labels, Recordings
def test_conditions_are_sorted_labels_and_rows_may_come_in_any_order():
    x = np.random.default_rng(15).normal(size=(4, 5))
    labels = np.array(["dog", "cat", "emu", "ant"])
    d = rdm(x, "euclidean", labels)
    assert d.conditions.tolist() == ["ant", "cat", "dog", "emu"]
    order = np.argsort(labels)
    close(d.vector, pdist(x[order]))
    perm = np.array([2, 0, 3, 1])
    close(rdm(x[perm], "euclidean", labels[perm]).vector, d.vector)
    assert rdm(x, "euclidean").conditions.tolist() == [0, 1, 2, 3]


def test_repeats_are_averaged():
    x = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 0.0], [0.0, 4.0], [2.0, 0.0]])
    d = rdm(x, "euclidean", [0, 0, 1, 2, 1])
    # means: a = (1, 0), b = (6, 0), c = (0, 4)
    close(d.matrix, squareform([5.0, np.hypot(1, 4), np.hypot(6, 4)]))


def test_recording_input_equals_array_path():
    x, cond, fold = design(n_cond=6, n_folds=3)
    rec = Recording(x, samples={"stimulus": cond, "run": fold, "image": cond + 100}, meta={"name": "V1"})
    for metric in ("correlation", "euclidean", "crossnobis"):
        kw = {"folds": "run"} if metric == "crossnobis" else {}
        ours = rdm(rec, metric, **kw)
        ref = rdm(x, metric, cond, fold if metric == "crossnobis" else None)
        np.testing.assert_array_equal(ours.vector, ref.vector)
        assert ours.names == ["V1"] and ref.names == ["0"]
        assert ours.meta["source"] == "V1" and ours.meta["n_channels"] == 12
        assert ours.meta["conditions"] == "stimulus"
    d = rdm(rec, "crossnobis", folds="run")
    assert d.meta["folds"] == "run" and d.meta["fold_labels"] == [0, 1, 2] and d.metric == "crossnobis"
    assert rdm(rec, conditions="image").conditions.tolist() == list(range(100, 106))
    assert rdm(rec, condition="image").conditions.tolist() == list(range(100, 106))
    assert rdm(rec, name="layer1").names == ["layer1"]


def test_recording_without_condition_column_uses_one_condition_per_row():
    x = np.random.default_rng(16).normal(size=(5, 3))
    d = rdm(Recording(x), "euclidean")
    assert d.n_conditions == 5 and d.meta["conditions"] == "rows"
    close(d.vector, pdist(x))


def test_rdm_is_reachable_as_rsa_rdm_in_any_import_order():
    import importlib

    importlib.import_module("neurotk.rsa.calc")
    x = np.random.default_rng(17).normal(size=(4, 3))
    assert rsa.rdm(x, "euclidean").n_conditions == 4
    assert isinstance(rsa.RDM([1.0]), RDM)


def test_float32_recordings_give_float64_rdms():
    x = np.random.default_rng(18).normal(size=(6, 10))
    d = rdm(Recording(x.astype(np.float32)), "correlation")
    assert d.vector.dtype == np.float64
    close(d.vector, pdist(x.astype(np.float32).astype(np.float64), "correlation"))


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    x, cond, fold = design(n_cond=5, n_folds=3)
    with pytest.raises(ArgumentError, match=r"metric='manhattan' is unknown.*'crossnobis'"):
        rdm(x, "manhattan", cond)
    with pytest.raises(ArgumentError, match="at least 3 conditions"):
        rdm(x[:4], "euclidean", [0, 1, 0, 1])
    bad = x.copy()
    bad[4, 2] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"rows \[4\]"):
        rdm(bad, "euclidean", cond)
    with pytest.raises(ArgumentError, match="needs folds"):
        rdm(x, "crossnobis", cond)
    with pytest.raises(ArgumentError, match="at least 2 folds"):
        rdm(x, "crossnobis", cond, np.zeros(len(cond)))
    missing = (fold == 2) & (cond == 3)
    with pytest.raises(ArgumentError, match=r"\(2, 3\)"):
        rdm(x[~missing], "crossnobis", cond[~missing], fold[~missing])
    with pytest.raises(ShapeMismatchError, match="conditions has shape"):
        rdm(x, "euclidean", cond[:-1])
    with pytest.raises(ShapeMismatchError, match="folds has shape"):
        rdm(x, "crossnobis", cond, fold[:-2])
    with pytest.raises(ArgumentError, match="non-negative"):
        rdm(x, "poisson", cond)
    with pytest.raises(ShapeMismatchError, match="noise has shape"):
        rdm(x, "mahalanobis", cond, noise=np.eye(3))
    with pytest.raises(ArgumentError, match="noise is only used"):
        rdm(x, "correlation", cond, noise=np.eye(12))
    with pytest.raises(ArgumentError, match="unknown"):
        rdm(x, "mahalanobis", cond, noise="ledoit")
    with pytest.raises(ArgumentError, match="repeated measurements"):
        rdm(x[:5], "mahalanobis")  # no repeats, no residuals
    with pytest.raises(ArgumentError, match="Recording"):
        rdm(x, "euclidean", "stimulus")
    with pytest.raises(ArgumentError, match="no such column"):
        rdm(Recording(x, samples={"stimulus": cond}), "crossnobis", folds="run")
    with pytest.raises(ShapeMismatchError, match="2-D"):
        rdm(np.ones(5))
    flat = np.random.default_rng(0).normal(size=(4, 3))
    flat[2] = 7.0
    with pytest.raises(NonFiniteDataError, match=r"\[2\].*constant"):
        rdm(flat, "correlation")
    assert all(issubclass(e, NeurotkError) for e in (ArgumentError, ShapeMismatchError, NonFiniteDataError))


def test_crossnobis_balanced_fast_path_equals_general_path():
    x, cond, fold = design(n_cond=6, n_folds=4, n_channels=9, per_cell=2)
    d = np.random.default_rng(19).random(9) + 0.5
    fast = rdm(x, "crossnobis", cond, fold, noise=d).vector  # diagonal precision: syrk path
    general = rdm(x, "crossnobis", cond, fold, noise=np.diag(d)).vector  # matrix: per-fold products
    close(fast, general)
    close(rdm(x, "crossnobis", cond, fold).vector, rdm(x, "crossnobis", cond, fold, noise=np.eye(9)).vector)


def test_samples_columns_are_looked_up_with_clear_errors():
    x, cond, fold = design(n_cond=5, n_folds=3)
    rec = Recording(x, samples={"stimulus": cond, "run": fold})
    with pytest.raises(ArgumentError, match=r"conditions='image' is not a column of the samples table.*'run'"):
        rdm(rec, conditions="image")
    with pytest.raises(ArgumentError, match="folds='fold'.*no such column"):
        rdm(rec, "crossnobis", folds="fold")
    with pytest.raises(ArgumentError, match="x could not be read as numbers"):
        rdm([["a", "b"], ["c", "d"], ["e", "f"]])
    with pytest.raises(ShapeMismatchError, match="0 channels"):
        rdm(np.ones((4, 0)))
    # the samples table of the Recording is left as it was
    assert rec.samples.columns.tolist() == ["stimulus", "run"]
