"""FIR delays against an explicit roll-and-zero reference; run-wise folds against scikit-learn."""

import numpy as np
import pytest

from neurotk import Recording
from neurotk.encoding.features import delay_features, flatten_spatial, leave_one_run_out, run_folds
from neurotk.errors import ArgumentError, NonFiniteDataError, ShapeMismatchError


def reference_delays(x, delays, runs):
    """Per run: np.roll each delay and zero the rows that wrapped around."""
    blocks = []
    for run in dict.fromkeys(runs):  # runs in order of appearance, each contiguous here
        xr = x[np.asarray(runs) == run]
        cols = []
        for d in delays:
            shifted = np.roll(xr, d, axis=0)
            if d > 0:
                shifted[:d] = 0
            elif d < 0:
                shifted[d:] = 0
            cols.append(shifted)
        blocks.append(np.hstack(cols))
    return np.vstack(blocks)


def test_delays_match_roll_and_zero_reference():
    rng = np.random.default_rng(0)
    runs = np.repeat([3, 1, 2], [7, 5, 9])
    x = rng.normal(size=(runs.size, 4))
    for delays in [(1, 2, 3, 4), (0, 2), (-1, 0, 1), (6,)]:
        got = delay_features(x, delays=delays, runs=runs)
        assert got.shape == (runs.size, 4 * len(delays))
        assert np.array_equal(got, reference_delays(x, delays, runs))
    # without runs: one run
    assert np.array_equal(delay_features(x, delays=(1, 3)), reference_delays(x, (1, 3), np.zeros(runs.size)))


def test_delays_never_cross_run_boundaries():
    runs = np.repeat([0, 1], 10)
    x = np.zeros((20, 1))
    x[9] = 1.0  # an impulse at the last TR of run 0
    out = delay_features(x, delays=(1, 2, 3, 4), runs=runs)
    assert out[10:].sum() == 0  # nothing leaks into run 1
    x = np.zeros((20, 1))
    x[10] = 1.0  # impulse at the first TR of run 1
    out = delay_features(x, delays=(1, 2), runs=runs)
    assert out[11, 0] == 1 and out[12, 1] == 1 and out.sum() == 2


def test_delays_with_recording():
    rng = np.random.default_rng(1)
    samples = {"run": np.repeat([1, 2], 6), "time": np.tile(np.arange(6), 2)}
    rec = Recording(rng.normal(size=(12, 3)), samples=samples, units={"unit_id": ["a", "b", "c"], "layer": "conv1"})
    out = delay_features(rec, delays=(1, 2))  # the run column is used by default
    assert isinstance(out, Recording)
    assert np.array_equal(out.data, reference_delays(rec.data, (1, 2), samples["run"]))
    units = out.units
    assert units["unit_id"].tolist() == ["a@1", "b@1", "c@1", "a@2", "b@2", "c@2"]
    assert units["source_unit"].tolist() == ["a", "b", "c"] * 2
    assert units["delay"].tolist() == [1, 1, 1, 2, 2, 2]
    assert (units["layer"] == "conv1").all()
    assert out.samples.equals(rec.samples)
    # a named column, or explicit labels, give the same; runs=None on arrays ignores runs
    assert np.array_equal(delay_features(rec, (1, 2), runs="run").data, out.data)
    one_run = delay_features(rec, (1, 2), runs=np.zeros(12))
    assert np.array_equal(one_run.data, reference_delays(rec.data, (1, 2), np.zeros(12)))


def test_leave_one_run_out_matches_sklearn():
    from sklearn.model_selection import LeaveOneGroupOut

    runs = np.array(["b", "a", "a", "c", "b", "c", "a"])
    ours = leave_one_run_out(runs)
    theirs = list(LeaveOneGroupOut().split(np.zeros((7, 1)), groups=runs))
    assert len(ours) == len(theirs) == 3
    for (tr, te), (tr2, te2) in zip(ours, theirs):
        assert np.array_equal(tr, tr2) and np.array_equal(te, te2)


def test_run_folds_usable_as_cv():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import cross_val_score

    rng = np.random.default_rng(2)
    rec = Recording(rng.normal(size=(30, 2)), samples={"run": np.repeat([1, 2, 3], 10)})
    folds = run_folds(rec)
    assert [te.tolist() for _, te in folds] == [list(range(0, 10)), list(range(10, 20)), list(range(20, 30))]
    scores = cross_val_score(Ridge(), rec.data, rng.normal(size=30), cv=folds)
    assert scores.shape == (3,)


def test_flatten_spatial_matches_activation_units():
    from neurotk.io import from_arrays

    x = np.random.default_rng(3).normal(size=(4, 3, 2, 5))
    flat = flatten_spatial(x)
    rec = from_arrays({"conv": x})["conv"]
    assert np.array_equal(flat, rec.data)
    units = rec.units
    k = 17
    c, yy, xx = units.loc[k, ["channel", "y", "x"]]
    assert np.array_equal(flat[:, k], x[:, c, yy, xx])
    assert flatten_spatial(rec) is rec.data
    with pytest.raises(ShapeMismatchError):
        flatten_spatial(np.zeros(3))


def test_bad_input():
    x = np.zeros((6, 2))
    with pytest.raises(ArgumentError, match="delays"):
        delay_features(x, delays=(1.5, 2))
    with pytest.raises(ArgumentError, match="delays"):
        delay_features(x, delays=())
    with pytest.raises(ArgumentError, match="repeats a delay"):
        delay_features(x, delays=(1, 1))
    with pytest.raises(ShapeMismatchError, match="one run label per sample"):
        delay_features(x, runs=[0, 0, 1])
    with pytest.raises(ArgumentError, match="names a samples column"):
        delay_features(x, runs="run")
    with pytest.raises(ArgumentError, match="not a column"):
        delay_features(Recording(x), runs="session")
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(NonFiniteDataError):
        delay_features(bad)
    with pytest.raises(ArgumentError, match="at least 2 runs"):
        leave_one_run_out([1, 1, 1])
    with pytest.raises(ArgumentError, match="missing values"):
        leave_one_run_out([1.0, np.nan, 2.0])
    with pytest.raises(ArgumentError, match="expected a Recording"):
        run_folds(np.zeros(3))
    with pytest.raises(ArgumentError, match="column='session'"):
        run_folds(Recording(x, samples={"run": [0, 0, 0, 1, 1, 1]}), column="session")
