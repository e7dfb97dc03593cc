"""What the encoding models share: folds against scikit-learn, scores against scikit-learn and scipy, input checks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, KFold, LeaveOneGroupOut

from neurotk import Recording
from neurotk.encoding.scoring import (
    METRICS,
    check_features_targets,
    check_same_samples,
    check_targets_vary,
    correlation_scores,
    cv_folds,
    r2_scores,
    target_ids,
    target_scores,
)
from neurotk.errors import AlignmentError, ArgumentError, NonFiniteDataError, ShapeMismatchError


def _same(ours, theirs):
    theirs = list(theirs)
    assert len(ours) == len(theirs)
    for (tr, te), (tr2, te2) in zip(ours, theirs):
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(te, te2)


def test_cv_folds_match_scikit_learn():
    X = np.zeros((12, 1))
    groups = np.repeat([0, 1, 2, 3], 3)
    _same(cv_folds(4, 12, None, ()), KFold(4).split(X))  # contiguous, not shuffled
    _same(cv_folds(2, 12, groups, ()), GroupKFold(2).split(X, groups=groups))
    rec = Recording(np.zeros((12, 1)), samples={"run": groups})
    _same(cv_folds("run", 12, None, (np.zeros(3), rec)), LeaveOneGroupOut().split(X, groups=groups))
    _same(cv_folds(KFold(3, shuffle=True, random_state=0), 12, None, ()),
          KFold(3, shuffle=True, random_state=0).split(X))
    # explicit folds, as index arrays or boolean masks
    mask = np.arange(12) < 6
    _same(cv_folds([(mask, ~mask)], 12, None, ()), [(np.arange(6), np.arange(6, 12))])


@pytest.mark.parametrize("cv,match", [
    (1, "cv=1"),
    (13, "cv=13"),
    ("session", "session"),
    ([(np.arange(11), np.array([11]))], "1 test samples"),
    ([(np.arange(6), np.arange(6, 13))], "outside the 12 samples"),
    ([], "no folds"),
    (3.5, "cv has type float"),
])
def test_cv_folds_bad_input(cv, match):
    with pytest.raises(ArgumentError, match=match):
        cv_folds(cv, 12, None, (Recording(np.zeros((12, 1)), samples={"run": np.zeros(12)}),))


def test_cv_folds_column_with_one_value():
    rec = Recording(np.zeros((6, 1)), samples={"run": np.zeros(6)})
    with pytest.raises(ArgumentError, match="single value"):
        cv_folds("run", 6, None, (rec,))


def test_r2_and_correlation_scores_match_scikit_learn_and_scipy():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(30, 4))
    pred = y + rng.normal(size=(30, 4))
    np.testing.assert_allclose(r2_scores(y, pred), r2_score(y, pred, multioutput="raw_values"))
    np.testing.assert_allclose(correlation_scores(y, pred),
                               [stats.pearsonr(y[:, k], pred[:, k]).statistic for k in range(4)])
    # scikit-learn's convention for a constant target: 1 if predicted exactly, else 0
    const = np.c_[np.ones(30), np.ones(30)]
    np.testing.assert_array_equal(r2_scores(const, np.c_[np.ones(30), np.zeros(30)]), [1.0, 0.0])
    assert np.isnan(correlation_scores(const, pred[:, :2])).all()


def test_target_scores_pick_the_metric():
    rng = np.random.default_rng(1)
    y, pred = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    assert METRICS == ("r2", "pearson")
    np.testing.assert_array_equal(target_scores(y, pred), r2_scores(y, pred))
    np.testing.assert_array_equal(target_scores(y, pred, "pearson"), correlation_scores(y, pred))
    with pytest.raises(ArgumentError, match=r"metric='mse'; expected one of \['r2', 'pearson'\]"):
        target_scores(y, pred, "mse")


def test_input_checks():
    x, y = check_features_targets([[1.0, 2.0], [3.0, 4.0]], np.ones((2, 1)))
    assert x.dtype == y.dtype == np.float64 and x.shape == (2, 2)
    with pytest.raises(ShapeMismatchError, match="X has 2 samples but Y has 3"):
        check_features_targets(np.ones((2, 2)), np.ones((3, 1)))
    with pytest.raises(NonFiniteDataError, match="Y"):
        check_features_targets(np.ones((2, 2)), [[1.0], [np.nan]])
    a = Recording(np.ones((3, 1)), samples={"stimulus": [0, 1, 2]})
    b = Recording(np.ones((3, 1)), samples={"stimulus": [0, 2, 1]})
    with pytest.raises(AlignmentError, match="stimulus 1 vs 2 at row 1"):
        check_same_samples(a, b, 3, 3)
    check_same_samples(a, a, 3, 3)


def test_constant_targets_are_named():
    units = pd.DataFrame({"unit_id": ["a", "b", "c"]})
    rec = Recording(np.c_[np.arange(4.0), np.ones(4), np.ones(4)], units=units)
    assert target_ids(rec, 3).tolist() == ["a", "b", "c"] and target_ids(rec.data, 3).tolist() == [0, 1, 2]
    with pytest.raises(ArgumentError, match=r"Y has 2 constant target\(s\) \(e.g. \['b', 'c'\]\)"):
        check_targets_vary(rec.data, "Y", rec)
    with pytest.raises(ArgumentError, match=r"\(e.g. \[1, 2\]\)"):
        check_targets_vary(rec.data)
    check_targets_vary(np.arange(4.0)[:, None])
