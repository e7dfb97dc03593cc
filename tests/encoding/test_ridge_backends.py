"""RidgeCV / BandedRidgeCV in float32 and in other array libraries (torch CPU, array-api-strict).

References: the float64 numpy fit (itself tested against scikit-learn in test_ridge.py) and
scikit-learn's ``Ridge`` in float32; torch and array-api-strict fits must equal the numpy
fit to float tolerance (they use their own SVD / eigh, so not bit for bit).
"""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from neurotk.encoding import BandedRidgeCV, RidgeCV
from neurotk.errors import ArgumentError, NonFiniteDataError, ShapeMismatchError

torch = pytest.importorskip("torch")
xs = pytest.importorskip("array_api_strict")

ALPHAS = np.logspace(-2, 4, 9)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Small problems: one BLAS / torch thread is fastest (and immune to a busy machine)."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(threads)

LIBS = {"torch": torch.from_numpy, "array_api_strict": xs.asarray}


def _data(n=90, p=12, t=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) + 0.3
    scale = np.logspace(-1.5, 0.5, t)  # different signal levels -> different alphas
    Y = X @ (rng.normal(size=(p, t)) * scale) + rng.normal(size=(n, t)) + 2.0
    return X, Y


def _np(a):
    return a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


# --------------------------------------------------------------------------- float32
@pytest.mark.parametrize("n,p", [(90, 12), (30, 70)])  # primal (Gram eigh) and dual (kernel)
def test_float32_matches_float64_and_sklearn_float32(n, p):
    X, Y = _data(n, p, seed=1)
    ref = RidgeCV(alphas=ALPHAS).fit(X, Y)
    f32 = RidgeCV(alphas=ALPHAS, dtype="float32").fit(X, Y)
    assert f32.coef_.dtype == np.float32 and f32.intercept_.dtype == np.float32
    assert f32.cv_scores_.dtype == np.float64
    np.testing.assert_array_equal(f32.alpha_, ref.alpha_)
    np.testing.assert_allclose(f32.cv_scores_, ref.cv_scores_, atol=2e-5)
    np.testing.assert_allclose(f32.coef_, ref.coef_, atol=2e-4 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(f32.predict(X), ref.predict(X), atol=1e-3 * np.abs(Y).max())
    # an independent float32 reference at the chosen alpha of one target
    j = 3
    sk = Ridge(alpha=float(f32.alpha_[j])).fit(X.astype(np.float32), Y[:, j].astype(np.float32))
    np.testing.assert_allclose(f32.coef_[j], sk.coef_, atol=1e-3 * np.abs(sk.coef_).max())


def test_float32_alphas_agree_on_many_targets():
    X, Y = _data(n=150, p=40, t=1500, seed=2)
    alphas = np.logspace(0, 4.5, 10)
    ref = RidgeCV(alphas=alphas, cv=5).fit(X, Y)
    f32 = RidgeCV(alphas=alphas, cv=5, dtype=np.float32).fit(X, Y.astype(np.float32))
    assert np.mean(f32.alpha_ == ref.alpha_) >= 0.999


def test_float32_pearson_and_dual_memory_path():
    X, Y = _data(n=40, p=60, t=6, seed=3)
    ref = RidgeCV(alphas=ALPHAS, scoring="pearson", max_memory=1000).fit(X, Y)
    f32 = RidgeCV(alphas=ALPHAS, scoring="pearson", max_memory=1000, dtype="float32").fit(X, Y)
    assert ref.dual_coef_ is not None and f32.dual_coef_.dtype == np.float32
    np.testing.assert_array_equal(f32.alpha_, ref.alpha_)
    np.testing.assert_allclose(f32.predict(X), ref.predict(X), atol=1e-3 * np.abs(Y).max())


def test_banded_float32_matches_float64():
    X, Y = _data(n=100, p=14, t=8, seed=4)
    spaces = {"a": X[:, :4], "b": X[:, 4:]}
    ref = BandedRidgeCV(alphas=ALPHAS, n_iter=4, random_state=0).fit(spaces, Y)
    f32 = BandedRidgeCV(alphas=ALPHAS, n_iter=4, random_state=0, dtype="float32").fit(spaces, Y)
    assert f32.coef_.dtype == np.float32
    np.testing.assert_array_equal(f32.alpha_, ref.alpha_)
    np.testing.assert_allclose(f32.coef_, ref.coef_, atol=2e-4 * np.abs(ref.coef_).max())


# --------------------------------------------------------------------------- other array libraries
@pytest.mark.parametrize("lib", list(LIBS))
@pytest.mark.parametrize("n,p,scoring,fit_intercept", [(90, 12, "r2", True), (30, 70, "r2", True),
                                                        (90, 12, "pearson", False), (30, 70, "pearson", True)])
def test_backend_fit_equals_numpy_fit(lib, n, p, scoring, fit_intercept):
    X, Y = _data(n, p, seed=5)
    conv = LIBS[lib]
    kw = {"alphas": ALPHAS, "scoring": scoring, "fit_intercept": fit_intercept}
    ref = RidgeCV(**kw).fit(X, Y)
    ours = RidgeCV(**kw).fit(conv(X), conv(Y))
    assert isinstance(ours.coef_, np.ndarray) and isinstance(ours.alpha_, np.ndarray)
    np.testing.assert_array_equal(ours.alpha_, ref.alpha_)
    np.testing.assert_allclose(ours.cv_scores_, ref.cv_scores_, atol=1e-10)
    np.testing.assert_allclose(ours.best_score_, ref.best_score_, atol=1e-10)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-9)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-9)
    pred = ours.predict(conv(X))  # device inputs are predicted in their library, returned as numpy
    assert isinstance(pred, np.ndarray)
    np.testing.assert_allclose(pred, ref.predict(X), atol=1e-9)


def test_torch_return_backend_keeps_tensors_and_scores_match():
    X, Y = _data(seed=6)
    ref = RidgeCV(alphas=ALPHAS).fit(X, Y)
    model = RidgeCV(alphas=ALPHAS, return_backend=True).fit(torch.from_numpy(X), torch.from_numpy(Y))
    for name in ("coef_", "intercept_", "alpha_", "cv_scores_", "best_score_"):
        assert isinstance(getattr(model, name), torch.Tensor), name
    pred = model.predict(X)  # numpy input, tensor model: computed in torch
    assert isinstance(pred, torch.Tensor)
    np.testing.assert_allclose(pred.numpy(), ref.predict(X), atol=1e-9)
    for metric in ("r2", "pearson"):
        scores = model.score_targets(torch.from_numpy(X), torch.from_numpy(Y), metric=metric)
        assert isinstance(scores, torch.Tensor)
        np.testing.assert_allclose(scores.numpy(), ref.score_targets(X, Y, metric=metric), atol=1e-10)
    np.testing.assert_allclose(model.score(X, Y), ref.score(X, Y), atol=1e-10)
    assert model.to_frame()["alpha"].tolist() == ref.to_frame()["alpha"].tolist()
    assert model.ridge_path()["n_chosen"].tolist() == ref.ridge_path()["n_chosen"].tolist()


def test_torch_float32_backend_matches_numpy_float32():
    X, Y = _data(n=120, p=20, t=12, seed=7)
    ref = RidgeCV(alphas=ALPHAS, dtype="float32").fit(X, Y)
    model = RidgeCV(alphas=ALPHAS, dtype="float32", backend="torch", device="cpu").fit(X, Y)
    assert model.coef_.dtype == np.float32
    np.testing.assert_array_equal(model.alpha_, ref.alpha_)
    np.testing.assert_allclose(model.coef_, ref.coef_, atol=1e-4 * np.abs(ref.coef_).max())


def test_named_backends_convert_the_inputs():
    X, Y = _data(seed=8)
    ref = RidgeCV(alphas=ALPHAS).fit(X, Y)
    back = RidgeCV(alphas=ALPHAS, backend="numpy").fit(torch.from_numpy(X), torch.from_numpy(Y))
    np.testing.assert_array_equal(back.coef_, ref.coef_)  # the numpy path itself
    on_torch = RidgeCV(alphas=ALPHAS, backend="torch").fit(X, Y)
    np.testing.assert_allclose(on_torch.coef_, ref.coef_, atol=1e-9)


@pytest.mark.parametrize("lib", list(LIBS))
def test_banded_backend_equals_numpy(lib):
    X, Y = _data(n=100, p=14, t=8, seed=9)
    conv = LIBS[lib]
    ref = BandedRidgeCV(alphas=ALPHAS, n_iter=4, random_state=0).fit({"a": X[:, :4], "b": X[:, 4:]}, Y)
    ours = BandedRidgeCV(alphas=ALPHAS, n_iter=4, random_state=0).fit(
        {"a": conv(X[:, :4]), "b": conv(X[:, 4:])}, conv(Y))
    np.testing.assert_array_equal(ours.alpha_, ref.alpha_)
    np.testing.assert_allclose(ours.cv_scores_, ref.cv_scores_, atol=1e-10)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-9)
    spaces = {"a": X[:, :4], "b": X[:, 4:]}
    np.testing.assert_allclose(ours.predict({"a": conv(X[:, :4]), "b": conv(X[:, 4:])}), ref.predict(spaces), atol=1e-9)
    np.testing.assert_allclose(ours.score_split(spaces, Y), ref.score_split(spaces, Y), atol=1e-9)


def test_banded_torch_return_backend():
    X, Y = _data(n=100, p=14, t=8, seed=10)
    ref = BandedRidgeCV(alphas=ALPHAS, n_iter=3, random_state=0).fit([X[:, :4], X[:, 4:]], Y)
    model = BandedRidgeCV(alphas=ALPHAS, n_iter=3, random_state=0, return_backend=True).fit(
        [torch.from_numpy(X[:, :4]), torch.from_numpy(X[:, 4:])], torch.from_numpy(Y))
    assert isinstance(model.coef_, torch.Tensor) and isinstance(model.alpha_, torch.Tensor)
    np.testing.assert_allclose(model.coef_.numpy(), ref.coef_, atol=1e-9)
    pred = model.predict([X[:, :4], X[:, 4:]])
    assert isinstance(pred, torch.Tensor)
    np.testing.assert_allclose(pred.numpy(), ref.predict([X[:, :4], X[:, 4:]]), atol=1e-9)
    np.testing.assert_allclose(model.score_split([X[:, :4], X[:, 4:]], Y),
                               ref.score_split([X[:, :4], X[:, 4:]], Y), atol=1e-9)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params,match", [
    ({"dtype": "float16"}, "dtype"),
    ({"dtype": "int"}, "dtype"),
    ({"backend": "jax"}, "backend"),
    ({"return_backend": "yes"}, "return_backend"),
])
def test_bad_settings(params, match):
    X, Y = _data(n=30, p=3, t=2)
    with pytest.raises(ArgumentError, match=match):
        RidgeCV(**params).fit(X, Y)
    with pytest.raises(ArgumentError, match=match):
        BandedRidgeCV(**params).fit([X[:, :1], X[:, 1:]], Y)


def test_bad_device_inputs_name_the_argument():
    X, Y = _data(n=30, p=3, t=2)
    tX, tY = torch.from_numpy(X), torch.from_numpy(Y)
    bad = tY.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(NonFiniteDataError, match="Y"):
        RidgeCV().fit(tX, bad)
    with pytest.raises(ShapeMismatchError, match="samples"):
        RidgeCV().fit(tX[:20], tY)
    with pytest.raises(ShapeMismatchError, match="X has shape"):
        RidgeCV().fit(tX[:, 0], tY)
    const = tY.clone()
    const[:, 1] = 1.0
    with pytest.raises(ArgumentError, match="constant target"):
        RidgeCV().fit(tX, const)
    with pytest.raises(ArgumentError, match="mix array libraries"):
        RidgeCV().fit(tX, xs.asarray(Y))
    model = RidgeCV().fit(tX, tY)
    with pytest.raises(ShapeMismatchError, match="features"):
        model.predict(torch.ones(5, 4, dtype=torch.float64))
