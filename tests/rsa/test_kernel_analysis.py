"""Kernel analysis against the Neural Representation Benchmark's definition (issue 14, part 2).

The reference is ``kanalysis_predict_core`` in the benchmark's ``commandline_interface.py``
(Cadieu et al. 2013, after Montavon's kernel analysis code). ``_nrb`` below re-derives what
it computes, with plain loops, from its logic: +-1 targets centred and divided by their
standard deviation; widths at entry ``int(q n^2)`` of the sorted squared distances;
``exp(-D^2 / w)`` centred by ``H K H``; eigenvectors by ``|eigenvalue|`` (scipy, as the
reference), zeroed beyond the argmax of the cumulative squared spectrum; the squared loss of
``U_d U_d^T T`` for d = 0..n; the width with the lowest loss per d; held-out conditions
projected with ``diag(1 / (1e-7 + W)) U^T k_c``.
"""

import numpy as np
import pytest
import scipy.linalg

from neurotk.errors import ArgumentError
from neurotk.rsa import KernelAnalysisResult, kernel_analysis

QUANTILES = (0.1, 0.5, 0.9)


def _classes(seed, n_per=15, n_classes=4, p=6, separation=1.5):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per)
    x = separation * rng.normal(size=(n_classes, p))[labels] + rng.normal(size=(labels.size, p))
    return x, labels


def _sqdist(a, b):
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            out[i, j] = np.sum((a[i] - b[j]) ** 2)
    return out


def _nrb(x, labels, n_classes, x_test=None, labels_test=None, quantiles=QUANTILES, centring="reference"):
    """The reference's curves: (fit loss, held-out loss, width per d, widths, gap, n kept per width).

    ``gap`` is, per d, the difference between the second-lowest and the lowest fit loss over
    widths (where it is ~0 the choice of width is decided by rounding).
    """
    n = len(x)
    targets = -np.ones((n, n_classes))
    targets[np.arange(n), labels] = 1.0
    t_mean = targets.mean(axis=0)
    t = targets - t_mean
    t_std = t.std()
    t = t / t_std
    d2 = _sqdist(x, x)
    ordered = np.sort(d2.ravel())
    h = np.eye(n) - np.ones((n, n)) / n
    fits, preds, widths, kept = [], [], [], []
    for q in quantiles:
        w = ordered[int(q * n * n)]
        widths.append(w)
        k = np.exp(-d2 / w)
        kc = h @ k @ h
        lam, vec = scipy.linalg.eigh(kc)
        order = np.argsort(-np.abs(lam))
        lam, vec = lam[order], vec[:, order].copy()
        explained = np.cumsum(lam**2) / np.sum(lam**2)
        last = int(np.argmax(explained))
        vec[:, last + 1:] = 0.0
        kept.append(last + 1)
        theta = vec.T @ t
        fit = []
        for d in range(n + 1):
            fitted = vec[:, :d] @ theta[:d]
            fit.append(np.mean((fitted - t) ** 2))
        fits.append(fit)
        if x_test is None:
            continue
        m = len(x_test)
        kt = np.exp(-_sqdist(x, x_test) / w)
        ktc = np.zeros_like(kt)
        for j in range(m):
            for i in range(n):
                if centring == "reference":  # K0mean.T and K1mean: the training row mean twice
                    ktc[i, j] = kt[i, j] - k[:, i].mean() - k[i, :].mean() + k.mean()
                else:  # <phi(x_i) - mean phi, phi(x_j) - mean phi>
                    ktc[i, j] = kt[i, j] - kt[:, j].mean() - k[i, :].mean() + k.mean()
        proj = np.diag(1.0 / (1e-7 + lam)) @ vec.T @ ktc
        truth = -np.ones((m, n_classes))
        truth[np.arange(m), labels_test] = 1.0
        truth = (truth - t_mean) / t_std
        pred = []
        for d in range(n + 1):
            predicted = proj[:d].T @ theta[:d]
            pred.append(np.mean((predicted - truth) ** 2))
        preds.append(pred)
    fits = np.array(fits)
    best = np.argmin(fits, axis=0)
    steps = np.arange(n + 1)
    ranked = np.sort(fits, axis=0)
    gap = ranked[1] - ranked[0] if len(fits) > 1 else np.full(n + 1, np.inf)
    pred = None if x_test is None else np.array(preds)[best, steps]
    return fits[best, steps], pred, np.array(widths)[best], np.array(widths), gap, kept


# --------------------------------------------------------------------------- the fit curve
@pytest.mark.parametrize("seed,n_per,n_classes,p", [(0, 15, 4, 6), (1, 12, 3, 10), (2, 10, 2, 5)])
def test_default_is_the_reference_curve_widths_and_auc(seed, n_per, n_classes, p):
    x, labels = _classes(seed, n_per, n_classes, p)
    loss, _, chosen, widths, gap, _ = _nrb(x, labels, n_classes)
    res = kernel_analysis(x, labels)
    n = len(labels)
    np.testing.assert_array_equal(res.n_components, np.arange(n + 1))
    np.testing.assert_allclose(res.complexity, np.arange(n + 1) / n, rtol=0, atol=1e-15)
    np.testing.assert_allclose(res.precision, 1.0 - loss, rtol=0, atol=1e-10)
    assert res.auc == pytest.approx(1.0 - loss.mean(), abs=1e-10)
    # kernel exp(-D^2 / w) is neurotk's exp(-D^2 / (2 sigma^2)) with sigma = sqrt(w / 2)
    np.testing.assert_allclose(res.sigmas, np.sqrt(widths / 2), rtol=1e-12)
    decided = gap > 1e-9  # where the widths' losses differ by more than rounding
    assert decided.sum() > n // 2
    np.testing.assert_allclose(res.sigma[decided], np.sqrt(chosen[decided] / 2), rtol=1e-12)
    assert res.precision[0] == 0.0 and res.axis == "linear"


def test_default_is_invariant_to_scale_and_target_coding():
    x, labels = _classes(3)
    a, b = kernel_analysis(x, labels), kernel_analysis(250.0 * x, labels)
    np.testing.assert_allclose(a.precision, b.precision, rtol=0, atol=1e-10)
    named = kernel_analysis(x, np.array(list("wxyz"))[labels])
    np.testing.assert_allclose(a.precision, named.precision, rtol=0, atol=0)


def test_null_space_correction_is_the_reference_and_rank_is_the_former_rule():
    # two-dimensional conditions: the widest kernels' spectra fall below 1e-8 of their top,
    # so the reference keeps fewer components than the kernel's numerical rank
    x, labels = _classes(1, n_per=40, n_classes=3, p=2, separation=2.0)
    n = len(labels)
    loss, _, _, _, _, kept = _nrb(x, labels, 3)
    assert min(kept) < n - 10  # the correction bites
    res = kernel_analysis(x, labels)
    # tail eigenvectors (eigenvalues down to ~1e-8 of the top) are determined to ~1e-8
    np.testing.assert_allclose(res.precision, 1.0 - loss, rtol=0, atol=1e-8)
    rank = kernel_analysis(x, labels, null_space="rank")
    assert np.max(rank.precision - res.precision) > 1e-3
    assert np.all(rank.precision >= res.precision - 1e-8)


def test_quantiles_on_zero_distances_are_skipped():
    # 6 conditions: entry int(0.1 * 36) = 3 of the sorted squared distances is on the zero diagonal
    x, labels = _classes(4, n_per=3, n_classes=2, p=3)
    res = kernel_analysis(x, labels)
    loss, _, _, widths, _, _ = _nrb(x, labels, 2, quantiles=(0.5, 0.9))
    np.testing.assert_allclose(res.sigmas, np.sqrt(widths / 2), rtol=1e-12)
    np.testing.assert_allclose(res.precision, 1.0 - loss, rtol=0, atol=1e-10)
    one = kernel_analysis(x, labels, quantiles=[0.5])
    assert one.sigmas.shape == (1,)
    assert np.all(res.precision >= one.precision - 1e-12)  # the best of two widths


def test_former_definition_gives_lower_auc_than_the_reference():
    x, labels = _classes(5)
    new = kernel_analysis(x, labels)
    former = kernel_analysis(x, labels, sigma="median", axis="log", null_space="rank")
    assert former.n_components[0] == 1 and former.n_components[-1] == len(labels) - 1
    assert former.sigmas.shape == (1,) and new.sigmas.shape == (3,)
    assert new.auc > former.auc + 0.1


# --------------------------------------------------------------------------- the prediction curve
def _masks(labels, n_train_per_class, n_splits, seed):
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    counts = np.broadcast_to(n_train_per_class, classes.shape)
    masks = []
    for _ in range(n_splits):
        mask = np.zeros(labels.size, bool)
        for c, count in zip(classes, counts):
            mask[rng.choice(np.flatnonzero(labels == c), count, replace=False)] = True
        masks.append(mask)
    return masks


@pytest.mark.parametrize("centring", ["reference", "centred"])
def test_cv_curves_match_a_plain_train_test_loop(centring):
    x, labels = _classes(6, n_per=15, n_classes=4, p=6)
    # unbalanced splits: the held-out classes are not in the training proportions, so the
    # held-out loss is normalised by the training targets, not by its own d = 0 value
    masks = _masks(labels, [10, 8, 11, 9], 3, seed=0)
    res = kernel_analysis(x, labels, cv=masks, test_centring=centring)
    fits, preds, decided, fit_aucs = [], [], [], []
    for mask in masks:  # the benchmark's protocol: train on the mask, predict the rest
        loss, pred, _, _, gap, _ = _nrb(x[mask], labels[mask], 4, x[~mask], labels[~mask], centring=centring)
        fits.append(1 - loss)
        preds.append(1 - pred)
        decided.append(gap > 1e-9)
        fit_aucs.append(1 - loss.mean())
    decided = np.all(decided, axis=0)
    assert decided.sum() > 20
    n_train = int(masks[0].sum())
    np.testing.assert_array_equal(res.cv_n_components, np.arange(n_train + 1))
    np.testing.assert_allclose(res.cv_complexity, np.arange(n_train + 1) / n_train, atol=1e-15)
    np.testing.assert_allclose(res.cv_fit_precision, np.mean(fits, axis=0), rtol=0, atol=1e-10)
    np.testing.assert_allclose(res.cv_precision[decided], np.mean(preds, axis=0)[decided], rtol=0, atol=1e-10)
    assert res.cv_fit_auc == pytest.approx(np.mean(fit_aucs), abs=1e-10)
    assert res.cv_auc == pytest.approx(np.mean(res.cv_precision), abs=1e-15)
    assert res.generalization == np.max(res.cv_precision) and res.n_splits == 3
    # the fit on all conditions does not depend on cv
    np.testing.assert_allclose(res.precision, kernel_analysis(x, labels).precision, rtol=0, atol=0)


def test_cv_split_forms_agree_and_integer_folds_are_stratified_and_seeded():
    x, labels = _classes(7, n_per=12, n_classes=3, p=5)
    masks = _masks(labels, 8, 2, seed=1)
    pairs = [(np.flatnonzero(m), np.flatnonzero(~m)) for m in masks]
    a = kernel_analysis(x, labels, cv=masks)
    b = kernel_analysis(x, labels, cv=pairs)
    np.testing.assert_allclose(a.cv_precision, b.cv_precision, rtol=0, atol=0)
    from sklearn.model_selection import StratifiedKFold

    c = kernel_analysis(x, labels, cv=StratifiedKFold(4))
    d = kernel_analysis(x, labels, cv=list(StratifiedKFold(4).split(x, labels)))
    np.testing.assert_allclose(c.cv_precision, d.cv_precision, rtol=0, atol=0)
    e1 = kernel_analysis(x, labels, cv=4, random_state=3)
    e2 = kernel_analysis(x, labels, cv=4, random_state=3)
    e3 = kernel_analysis(x, labels, cv=4, random_state=4)
    np.testing.assert_array_equal(e1.cv_precision, e2.cv_precision)
    assert not np.array_equal(e1.cv_precision, e3.cv_precision)
    assert e1.n_splits == 4 and len(e1.cv_n_components) == 28  # 4 stratified folds: 27 training conditions


def test_centred_test_kernel_predicts_training_conditions_as_the_fit():
    # a training condition passed as a held-out one: the training kernel's own centring
    # reproduces the fit (the 1e-7 eigenvalue floor aside); the reference's does not
    x, labels = _classes(8, n_per=8, n_classes=3, p=20, separation=1.0)
    everything = np.arange(labels.size)
    kw = {"cv": [(everything, everything)], "sigma": 2.0 * np.sqrt(x.shape[1])}
    centred = kernel_analysis(x, labels, test_centring="centred", **kw)
    reference = kernel_analysis(x, labels, **kw)
    np.testing.assert_allclose(centred.cv_precision, centred.cv_fit_precision, rtol=0, atol=1e-5)
    assert np.max(np.abs(reference.cv_precision - reference.cv_fit_precision)) > 0.01


def test_cv_result_table_plot_and_repr(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, labels = _classes(9, n_per=10, n_classes=3, p=4)
    res = kernel_analysis(x, labels, cv=3, random_state=0)
    assert isinstance(res, KernelAnalysisResult)
    assert repr(res) == (f"KernelAnalysisResult(31 complexities, auc={res.auc:.4g}, axis='linear', 3 kernel "
                         f"widths; 3 cv splits, cv_auc={res.cv_auc:.4g}, generalization={res.generalization:.4g})")
    frame = res.to_frame()
    assert list(frame.columns) == ["curve", "n_components", "complexity", "precision", "sigma"]
    assert frame["curve"].value_counts().to_dict() == {"fit": 31, "cv fit": 21, "cv prediction": 21}
    assert frame.loc[frame["curve"] == "cv prediction", "sigma"].isna().all()
    ax = res.plot()
    assert len(ax.lines) == 2 and ax.lines[1].get_linestyle() == "--" and ax.get_xscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"KA-AUC = {res.auc:.3f}", f"prediction (cv), AUC = {res.cv_auc:.3f}"]
    assert res.save(tmp_path / "ka.csv").stat().st_size > 0
    plt.close("all")
    logres = kernel_analysis(x, labels, cv=3, random_state=0, axis="log")
    assert logres.cv_n_components.tolist() == list(range(1, 20)) and logres.n_components[-1] == 29


def test_kernel_analysis_option_errors():
    x, labels = _classes(10, n_per=6, n_classes=2, p=3)
    with pytest.raises(ArgumentError, match="quantiles"):
        kernel_analysis(x, labels, quantiles=[0.5, 1.0])
    with pytest.raises(ArgumentError, match="quantiles"):
        kernel_analysis(x, labels, quantiles=[])
    with pytest.raises(ArgumentError, match="sigma='mean'"):
        kernel_analysis(x, labels, sigma="mean")
    with pytest.raises(ArgumentError, match="null_space"):
        kernel_analysis(x, labels, null_space="svd")
    with pytest.raises(ArgumentError, match="test_centring"):
        kernel_analysis(x, labels, cv=2, test_centring="none")
    with pytest.raises(ArgumentError, match="smallest class has 6"):
        kernel_analysis(x, labels, cv=7)
    with pytest.raises(ArgumentError, match="cv has type float"):
        kernel_analysis(x, labels, cv=2.5)
    with pytest.raises(ArgumentError, match="single class"):
        kernel_analysis(x, labels, cv=[labels == 0])
    with pytest.raises(ArgumentError, match="outside the 12 conditions"):
        kernel_analysis(x, labels, cv=[(np.arange(10), np.array([12]))])
    with pytest.raises(ArgumentError, match="neither a boolean training mask"):
        kernel_analysis(x, labels, cv=[(["a", "b", "c"], [0])])
    with pytest.raises(ArgumentError, match="every kernel width"):
        kernel_analysis(np.ones((6, 2)), np.arange(6) % 2)
