"""The array-API path of rsa.rdm and rsa.bootstrap: torch (CPU) and array_api_strict against numpy."""

import numpy as np
import pytest

from neurotk import Recording, rsa
from neurotk._backend import Backend
from neurotk.errors import ArgumentError, NonFiniteDataError, ShapeMismatchError
from neurotk.rsa import RDM, bootstrap
from neurotk.rsa import calc, inference

torch = pytest.importorskip("torch")
xps = pytest.importorskip("array_api_strict")

TOL = 1e-12


def to_torch(a):
    return torch.from_numpy(np.array(a))


def to_strict(a):
    return xps.asarray(np.array(a))


LIBS = [pytest.param(to_torch, id="torch"), pytest.param(to_strict, id="array_api_strict")]


def design(n_cond=8, n_folds=3, n_channels=11, per_cell=1, seed=0):
    rng = np.random.default_rng(seed)
    cond = np.tile(np.arange(n_cond), n_folds * per_cell)
    fold = np.repeat(np.arange(n_folds), n_cond * per_cell)
    perm = rng.permutation(cond.size)
    cond, fold = cond[perm], fold[perm]
    x = rng.normal(size=(n_cond, n_channels))[cond] + rng.normal(size=(cond.size, n_channels))
    return x, cond, fold


def close(a, b, tol=TOL):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.abs(a - b).max() <= tol * max(1.0, np.abs(b).max())


# --------------------------------------------------------------------------- rdm
@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "correlation", "cosine", "crossnobis"])
@pytest.mark.parametrize("per_cell", [1, 2])
def test_rdm_matches_numpy(lib, metric, per_cell):
    x, cond, fold = design(per_cell=per_cell)
    ref = rsa.rdm(x, metric, cond, fold)
    out = rsa.rdm(lib(x), metric, cond, fold)
    close(out.vector, ref.vector)
    assert isinstance(out.vector, np.ndarray) and out.vector.dtype == np.float64
    assert out.meta["backend"] in ("torch", "array_api_strict") and "backend" not in ref.meta
    assert out.meta["noise"] == ref.meta["noise"] and out.meta["normalize"] == ref.meta["normalize"]
    assert out.conditions.tolist() == ref.conditions.tolist()


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("metric", ["correlation", "sqeuclidean", "crossnobis"])
def test_rdm_unbalanced_groups(lib, metric):
    """Different numbers of repeats per condition (and per fold): the indicator-product path."""
    x, cond, fold = design(n_cond=6, n_folds=3, per_cell=2, seed=1)
    keep = np.ones(cond.size, dtype=bool)
    keep[np.flatnonzero(cond == 2)[:2]] = False  # condition 2 loses two repeats
    keep[np.flatnonzero(cond == 4)[:1]] = False
    x, cond, fold = x[keep], cond[keep], fold[keep]
    ref = rsa.rdm(x, metric, cond, fold)
    close(rsa.rdm(lib(x), metric, cond, fold).vector, ref.vector)


@pytest.mark.parametrize("lib", LIBS)
def test_rdm_small_blocks(lib, monkeypatch):
    """Rows gathered in many blocks give the same sums as in one."""
    x, cond, fold = design(n_cond=7, per_cell=2)
    ref = rsa.rdm(x, "correlation", cond).vector
    monkeypatch.setattr(calc, "_XP_BLOCK", 30)  # a block of about one group
    close(rsa.rdm(lib(x), "correlation", cond).vector, ref)
    c2 = cond.copy()
    c2[0] = (c2[0] + 1) % 7  # unbalanced
    close(rsa.rdm(lib(x), "correlation", c2).vector, rsa.rdm(x, "correlation", c2).vector)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("metric", ["mahalanobis", "crossnobis"])
def test_rdm_given_precision(lib, metric):
    x, cond, fold = design()
    rng = np.random.default_rng(3)
    a = rng.normal(size=(x.shape[1], x.shape[1]))
    for prec in (np.abs(rng.normal(size=x.shape[1])) + 0.5, a @ a.T + np.eye(x.shape[1])):
        ref = rsa.rdm(x, metric, cond, fold, noise=prec)
        out = rsa.rdm(lib(x), metric, cond, fold, noise=lib(prec))
        close(out.vector, ref.vector)
        assert out.meta["noise"] == "given precision"
    close(rsa.rdm(lib(x), metric, cond, fold, noise="identity").vector,
          rsa.rdm(x, metric, cond, fold, noise="identity").vector)


def test_rdm_backend_argument_and_labels():
    x, cond, _ = design()
    ref = rsa.rdm(x, "cosine", cond)
    # numpy data moved to torch by name; labels as tensors; a Recording
    out = rsa.rdm(x, "cosine", to_torch(cond), backend="torch", device="cpu")
    close(out.vector, ref.vector)
    assert out.meta["backend"] == "torch"
    rec = Recording(x, samples={"stimulus": cond}, meta={"name": "V1"})
    out = rsa.rdm(rec, "cosine", backend="torch")
    close(out.vector, ref.vector)
    assert out.names == ["V1"] and out.meta["conditions"] == "stimulus"
    # a tensor with backend="numpy" takes the numpy path; float32 and integer tensors become float64
    assert "backend" not in rsa.rdm(to_torch(x), "cosine", cond, backend="numpy").meta
    close(rsa.rdm(to_torch(x).float(), "cosine", cond).vector, rsa.rdm(x.astype(np.float32), "cosine", cond).vector)
    xi = np.round(x * 3)
    close(rsa.rdm(to_torch(xi).long(), "correlation", cond).vector, rsa.rdm(xi, "correlation", cond).vector)


@pytest.mark.parametrize("lib", LIBS)
def test_rdm_does_not_copy_data_to_the_host(lib, monkeypatch):
    """Only the Gram matrix (n_cond x n_cond) and per-row flags come back; numpy kernels unused."""
    x, cond, fold = design(n_cond=6, n_channels=40, per_cell=2)
    moved = []
    original = Backend.to_numpy

    def spy(self, a):
        moved.append(tuple(a.shape))
        return original(self, a)

    def refuse(*args, **kwargs):
        raise AssertionError("the numpy kernel was used for a non-numpy input")

    monkeypatch.setattr(Backend, "to_numpy", spy)
    for name in ("check_matrix", "_group_means", "_plain", "_cross_validated"):
        monkeypatch.setattr(calc, name, refuse)
    for metric in ("correlation", "euclidean", "crossnobis"):
        rsa.rdm(lib(x), metric, cond, fold)
    assert moved and set(moved) <= {(6, 6), (6,), (x.shape[0],)}, moved  # Gram, flags per condition / row


def test_rdm_unsupported_metric_and_noise():
    x, cond, fold = design()
    for metric in ("poisson", "poisson_cv"):
        with pytest.raises(ArgumentError, match=r"not available in torch.*'correlation'.*'crossnobis'"):
            rsa.rdm(to_torch(np.abs(x)), metric, cond, fold)
    with pytest.raises(ArgumentError, match="shrinkage_diag.*numpy only"):
        rsa.rdm(to_torch(x), "mahalanobis", cond)  # its default noise is an estimator
    with pytest.raises(ArgumentError, match="noise='diag'"):
        rsa.rdm(to_torch(x), "crossnobis", cond, fold, noise="diag")
    with pytest.raises(ArgumentError, match="noise is only used"):
        rsa.rdm(to_torch(x), "correlation", cond, noise="identity")
    with pytest.raises(ArgumentError, match="backend='jax'"):
        rsa.rdm(x, "correlation", cond, backend="jax")
    with pytest.raises(ArgumentError, match="needs folds"):
        rsa.rdm(to_torch(x), "crossnobis", cond)
    assert set(calc.DEVICE_METRICS) <= set(calc.METRICS)


def test_rdm_bad_values_on_device():
    x, cond, _ = design()
    bad = x.copy()
    bad[[2, 5], 1] = np.nan
    with pytest.raises(NonFiniteDataError, match=r"2 rows .*rows \[2, 5\]"):
        rsa.rdm(to_torch(bad), "correlation", cond)
    flat = x.copy()
    flat[cond == 3] = 1.0  # condition 3 constant across channels
    with pytest.raises(NonFiniteDataError, match="conditions \\[3\\]"):
        rsa.rdm(to_torch(flat), "correlation", cond)
    with pytest.raises(ShapeMismatchError, match="2-D"):
        rsa.rdm(torch.zeros(3, 4, 5), "correlation")
    with pytest.raises(ArgumentError, match="complex"):
        rsa.rdm(torch.zeros(4, 3, dtype=torch.complex128), "correlation")


# --------------------------------------------------------------------------- bootstrap
def rdms(n=14, n_subj=3, seed=0):
    rng = np.random.default_rng(seed)
    p = n * (n - 1) // 2
    truth = rng.random(p)
    data = truth[None] + 0.3 * rng.random((n_subj, p))
    models = np.vstack([truth, rng.random(p), np.round(truth * 3), np.round(rng.random(p) * 2)])  # ties too
    return data, models


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine", "rho-a"])
@pytest.mark.parametrize("resample", ["conditions", "both"])
def test_bootstrap_matches_numpy(lib, method, resample):
    data, models = rdms()
    kw = dict(method=method, n_bootstrap=60, resample=resample, random_state=7, progress=False)
    ref = bootstrap(RDM(data), RDM(models), **kw)
    out = bootstrap(lib(data), lib(models), **kw)
    assert out.backend != "numpy" and ref.backend == "numpy"
    close(out.samples, ref.samples)
    assert np.array_equal(out.scores, ref.scores)  # point estimates: the same numpy code
    close(out.ci, ref.ci)
    assert out.noise_ceiling == ref.noise_ceiling


def test_bootstrap_backend_by_name_blocks_and_degenerate(monkeypatch):
    data, models = rdms(n=5, n_subj=1)
    kw = dict(n_bootstrap=80, random_state=0, progress=False)
    ref = bootstrap(RDM(data), RDM(models), **kw)
    assert np.isnan(ref.samples).any()  # 5 conditions: some samples draw fewer than 3
    monkeypatch.setattr(inference, "_XP_BLOCK", 1)  # one sample per block
    out = bootstrap(RDM(data), RDM(models), backend="torch", device="cpu", **kw)
    assert out.backend == "torch"
    assert np.array_equal(np.isnan(out.samples), np.isnan(ref.samples))
    close(np.nan_to_num(out.samples), np.nan_to_num(ref.samples))


def test_bootstrap_constant_model_is_nan_like_numpy():
    data, models = rdms(n=10, n_subj=2)
    models = np.vstack([models, np.full(models.shape[1], 2.0)])
    for method in ("spearman", "pearson", "cosine"):
        kw = dict(method=method, n_bootstrap=30, random_state=1, progress=False)
        ref = bootstrap(RDM(data), RDM(models), **kw)
        out = bootstrap(RDM(data), RDM(models), backend="torch", **kw)
        assert np.array_equal(np.isnan(out.samples), np.isnan(ref.samples)), method
        close(np.nan_to_num(out.samples), np.nan_to_num(ref.samples))


def test_bootstrap_uses_the_device_evaluator(monkeypatch):
    """A torch input runs the block evaluator, never the numpy per-sample loop, and vice versa."""
    data, models = rdms()

    def refuse(*args, **kwargs):
        raise AssertionError("wrong evaluator")

    monkeypatch.setattr(inference._Evaluator, "sample", refuse)
    out = bootstrap(to_torch(data), RDM(models), n_bootstrap=20, random_state=0, progress=False)
    assert out.backend == "torch"
    monkeypatch.undo()
    monkeypatch.setattr(inference._ArrayEvaluator, "block", refuse)
    assert bootstrap(RDM(data), RDM(models), n_bootstrap=20, random_state=0, progress=False).backend == "numpy"


def test_bootstrap_subjects_and_errors():
    data, models = rdms()
    kw = dict(n_bootstrap=25, resample="subjects", random_state=2, progress=False)
    ref = bootstrap(RDM(data), RDM(models), **kw)
    out = bootstrap(to_torch(data), to_torch(models), **kw)
    close(out.samples, ref.samples)
    with pytest.raises(ArgumentError, match=r"method='kendall' is not available in torch.*'spearman'"):
        bootstrap(to_torch(data), RDM(models), method="kendall", progress=False)
    with pytest.raises(ArgumentError, match="not available"):
        bootstrap(RDM(data), RDM(models), method="corr_cov", backend="torch", progress=False)
    holey = data.copy()
    holey[0, 3] = np.nan
    with pytest.raises(ArgumentError, match="missing"):
        bootstrap(RDM(holey, allow_nan=True), RDM(models), backend="torch", progress=False)
