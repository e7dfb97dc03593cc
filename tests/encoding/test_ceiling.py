"""Noise ceilings against closed forms on simulated signal + Gaussian noise."""

import itertools

import numpy as np
import pandas as pd
import pytest

from neurotk import Recording
from neurotk.encoding.ceiling import (
    NoiseCeiling,
    explainable_variance,
    noise_ceiling,
    normalise_scores,
    spearman_brown,
    split_half_reliability,
)
from neurotk.errors import (
    ArgumentError,
    DuplicateIdError,
    NeurotkWarning,
    NonFiniteDataError,
    ShapeMismatchError,
)


def simulate(n_repeats=4, n_stimuli=100, noise_var=(0.5, 1.0, 4.0), units_per_level=600, seed=0):
    """Signal with sample variance exactly 1 per unit (ddof=1) plus Gaussian noise.

    Returns responses (R, S, U) and the true signal fraction of one repeat per unit.
    """
    rng = np.random.default_rng(seed)
    noise_var = np.repeat(np.asarray(noise_var, float), units_per_level)
    signal = rng.normal(size=(n_stimuli, noise_var.size))
    signal = (signal - signal.mean(0)) / signal.std(0, ddof=1)
    noise = rng.normal(size=(n_repeats, n_stimuli, noise_var.size)) * np.sqrt(noise_var)
    return signal[None] + noise, 1.0 / (1.0 + noise_var)


def test_explainable_variance_recovers_true_fraction_and_bias_correction_works():
    R = 4
    x, f = simulate(n_repeats=R)
    ev = explainable_variance(x)
    raw = explainable_variance(x, bias_correction=False)
    for level in np.unique(f):
        sel = f == level
        # bias-corrected: the true signal fraction of a single repeat
        assert abs(ev[sel].mean() - level) < 0.015
        # uncorrected: (v_sig + v_noise / R) / (v_sig + v_noise) = f + (1 - f) / R
        assert abs(raw[sel].mean() - (level + (1 - level) / R)) < 0.015
        assert raw[sel].mean() - level > 0.05  # the bias the correction removes is real


def test_explainable_variance_matches_formula_per_unit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 20, 5)) + rng.normal(size=(1, 20, 5))
    for u in range(5):
        per_repeat = [np.var(x[r, :, u], ddof=1) for r in range(3)]
        ev = np.var(x[:, :, u].mean(axis=0), ddof=1) / np.mean(per_repeat)
        assert np.isclose(explainable_variance(x, bias_correction=False)[u], ev)
        assert np.isclose(explainable_variance(x)[u], ev - (1 - ev) / 2)


def test_spearman_brown_formula():
    r = np.array([-0.2, 0.0, 0.3, 0.9])
    assert np.allclose(spearman_brown(r, 2), 2 * r / (1 + r))
    assert np.allclose(spearman_brown(spearman_brown(r, 3.0), 1 / 3.0), r)
    with pytest.raises(ArgumentError, match="factor"):
        spearman_brown(0.5, 0)


def test_split_half_enumerates_all_splits_for_four_repeats():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 30, 6)) + rng.normal(size=(1, 30, 6))
    # the 3 distinct splits of 4 repeats into halves, computed directly with np.corrcoef
    rs = []
    for half in [(0, 1), (0, 2), (0, 3)]:
        other = [k for k in range(4) if k not in half]
        a, b = x[list(half)].mean(0), x[other].mean(0)
        rs.append([np.corrcoef(a[:, u], b[:, u])[0, 1] for u in range(6)])
    expected = np.mean(rs, axis=0)
    got = split_half_reliability(x, correct=False)
    assert np.allclose(got, expected)
    assert np.allclose(split_half_reliability(x), 2 * expected / (1 + expected))


def test_split_half_reliability_matches_closed_form():
    R = 6
    x, f = simulate(n_repeats=R, n_stimuli=150, noise_var=(1.0, 3.0), units_per_level=300, seed=3)
    rel = split_half_reliability(x, n_splits=20, random_state=0)
    half = split_half_reliability(x, n_splits=20, random_state=0, correct=False)
    for level in np.unique(f):
        sel = f == level
        # the correlation of two means of R/2 repeats, and of two means of R repeats
        expected_half = spearman_brown(level, R / 2)
        assert abs(half[sel].mean() - expected_half) < 0.02
        assert abs(rel[sel].mean() - spearman_brown(level, R)) < 0.02


def test_random_splits_are_seeded():
    x, _ = simulate(n_repeats=7, n_stimuli=20, units_per_level=5)
    a = split_half_reliability(x, n_splits=10, random_state=4)
    assert np.array_equal(a, split_half_reliability(x, n_splits=10, random_state=4))
    assert not np.array_equal(a, split_half_reliability(x, n_splits=10, random_state=5))


def _as_recording(x, shuffle_seed=0, repeat_column=True):
    """(R, S, U) -> Recording with string stimulus ids, rows shuffled."""
    R, S, U = x.shape
    rows = pd.DataFrame({"stimulus": np.tile([f"s{k:03d}" for k in range(S)], R),
                         "repeat": np.repeat(np.arange(R), S)})
    data = x.reshape(R * S, U)
    order = np.random.default_rng(shuffle_seed).permutation(R * S)
    if not repeat_column:  # keep the repeats in order of appearance
        order = np.lexsort((order, rows["repeat"].to_numpy()))
        rows = rows.drop(columns="repeat")
    return Recording(data[order], rows.iloc[order], units={"unit_id": [f"u{k}" for k in range(U)]})


def test_recording_and_array_inputs_agree():
    x, _ = simulate(n_repeats=4, n_stimuli=25, units_per_level=4)
    for rec in (_as_recording(x), _as_recording(x, repeat_column=False)):
        assert np.allclose(explainable_variance(rec), explainable_variance(x))
        assert np.allclose(explainable_variance(rec, bias_correction=False), explainable_variance(x, bias_correction=False))
        assert np.allclose(split_half_reliability(rec), split_half_reliability(x))
        nc = noise_ceiling(rec, method="split_half")
        assert list(nc.unit_ids) == [f"u{k}" for k in range(x.shape[2])]
        assert np.allclose(nc.values, noise_ceiling(x, method="split_half").values)


def test_noise_ceiling_targets_follow_spearman_brown():
    R = 4
    x, f = simulate(n_repeats=R, noise_var=(1.0,), units_per_level=800, seed=5)
    ev = explainable_variance(x)
    nc_mean = noise_ceiling(x)  # explainable variance of the mean of R repeats
    assert nc_mean.method == "explainable_variance" and nc_mean.target == "mean"
    assert np.allclose(nc_mean.values, R * ev / (1 + (R - 1) * ev))
    assert np.allclose(noise_ceiling(x, target="single").values, ev)
    sh = noise_ceiling(x, method="split_half")
    rel = split_half_reliability(x)
    assert np.allclose(sh.values, rel)
    assert np.allclose(noise_ceiling(x, method="split_half", target="single").values, rel / (R - (R - 1) * rel))
    # both methods estimate the same quantity: f R / (1 + (R - 1) f) for the mean
    truth = R * f[0] / (1 + (R - 1) * f[0])
    assert abs(nc_mean.values.mean() - truth) < 0.02
    assert abs(sh.values.mean() - truth) < 0.02


def test_noise_ceiling_result_table_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    x, _ = simulate(n_repeats=3, n_stimuli=20, units_per_level=3)
    nc = noise_ceiling(_as_recording(x))
    frame = nc.to_frame()
    assert list(frame.columns[:3]) == ["unit_id", "ceiling", "r_ceiling"]
    assert np.allclose(frame["ceiling"], nc.values)
    ok = nc.values >= 0
    assert np.allclose(frame["r_ceiling"][ok], np.sqrt(nc.values[ok]))
    assert np.asarray(nc).shape == (x.shape[2],) and len(nc) == x.shape[2]
    ax = nc.plot()
    assert "noise ceiling" in ax.get_xlabel()
    assert "NoiseCeiling" in repr(nc)


def test_normalise_scores():
    ceiling = np.array([0.5, 0.25, 0.01, np.nan])
    scores = np.array([[0.25, 0.2, 0.005, 0.1], [0.5, 0.0, 0.1, 0.1]])
    with pytest.warns(NeurotkWarning, match="2 of 4 units"):
        out = normalise_scores(scores, ceiling)
    assert np.allclose(out[:, :2], scores[:, :2] / ceiling[:2])
    assert np.isnan(out[:, 2:]).all()
    with pytest.warns(NeurotkWarning):
        r = normalise_scores([0.3, 0.4, 0.1, 0.1], NoiseCeiling(ceiling), kind="r")
    assert np.allclose(r[:2], np.array([0.3, 0.4]) / np.sqrt(ceiling[:2]))
    assert np.allclose(normalise_scores([0.1], [0.01], floor=0.001), [10.0])
    with pytest.raises(ArgumentError, match="kind"):
        normalise_scores([0.1], [0.5], kind="auc")
    with pytest.raises(ShapeMismatchError, match="ceiling has 2 units"):
        normalise_scores([0.1, 0.2, 0.3], [0.5, 0.5])


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ShapeMismatchError, match="at least 2 repeats"):
        explainable_variance(rng.normal(size=(1, 10, 3)))
    with pytest.raises(ShapeMismatchError, match="expected a Recording with repeats or an array"):
        explainable_variance(rng.normal(size=(10, 3)))
    x = rng.normal(size=(3, 10, 2))
    x[1, 2, 0] = np.nan
    with pytest.raises(NonFiniteDataError, match="NaN"):
        split_half_reliability(x)
    rec = Recording(np.r_[x[0], x[2]], samples={"stimulus": np.tile(np.arange(10), 2)}, allow_nan=True)
    nan_rec = Recording(np.r_[x[0], x[1]], samples={"stimulus": np.tile(np.arange(10), 2)}, allow_nan=True)
    with pytest.raises(NonFiniteDataError, match="NaN"):
        noise_ceiling(nan_rec)
    with pytest.raises(ArgumentError, match="by='image'"):
        explainable_variance(rec, by="image")
    with pytest.raises(ArgumentError, match="method"):
        noise_ceiling(rec, method="bootstrap")
    with pytest.raises(ArgumentError, match="target"):
        noise_ceiling(rec, target="all")
    with pytest.raises(ArgumentError, match="n_splits"):
        split_half_reliability(rec, n_splits=0)
    dup = Recording(np.ones((4, 1)) + np.arange(4)[:, None], samples={"stimulus": [0, 0, 1, 1], "repeat": [0, 0, 0, 1]})
    with pytest.raises(DuplicateIdError, match="same 'repeat'"):
        explainable_variance(dup)
    single = Recording(rng.normal(size=(5, 2)), samples={"stimulus": np.arange(5)})
    with pytest.raises(ShapeMismatchError, match="1 repeat"):
        noise_ceiling(single)


def test_unequal_repeat_counts_error_or_first_repeats():
    rng = np.random.default_rng(1)
    stim = np.r_[np.tile(np.arange(8), 3), [0, 1, 2]]  # stimuli 0-2 have a fourth repeat
    data = rng.normal(size=(stim.size, 3))
    rec = Recording(data, samples={"stimulus": stim})
    with pytest.raises(ShapeMismatchError, match="between 3 and 4 repeats.*n_repeats=3"):
        explainable_variance(rec)
    # the first 3 repeats of every stimulus: exactly the first 24 rows
    expected = explainable_variance(data[:24].reshape(3, 8, 3))
    assert np.allclose(explainable_variance(rec, n_repeats=3), expected)
    with pytest.warns(NeurotkWarning, match="5 of 8 stimuli"):
        got = explainable_variance(rec, n_repeats=4)
    assert np.allclose(got, explainable_variance(data[[0, 1, 2, 8, 9, 10, 16, 17, 18, 24, 25, 26]].reshape(4, 3, 3)))


def test_constant_unit_gives_nan_with_warning():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 10, 2))
    x[:, :, 1] = 5.0
    with pytest.warns(NeurotkWarning, match="1 unit"):
        ev = explainable_variance(x)
    assert np.isfinite(ev[0]) and np.isnan(ev[1])
    with pytest.warns(NeurotkWarning, match="1 unit"):
        assert np.isnan(split_half_reliability(x)[1])


def test_distinct_split_count():
    # 5 repeats: C(5, 2) = 10 distinct splits; more requested splits use each once
    x, _ = simulate(n_repeats=5, n_stimuli=20, units_per_level=2)
    a = split_half_reliability(x, n_splits=10)
    b = split_half_reliability(x, n_splits=500, random_state=1)
    assert np.allclose(a, b)
    rs = []
    for half in itertools.combinations(range(5), 2):
        other = [k for k in range(5) if k not in half]
        m1, m2 = x[list(half)].mean(0), x[other].mean(0)
        rs.append([np.corrcoef(m1[:, u], m2[:, u])[0, 1] for u in range(x.shape[2])])
    assert np.allclose(split_half_reliability(x, correct=False), np.mean(rs, axis=0))


def test_noise_ceiling_is_a_result_that_saves_its_table_and_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from neurotk.results import Result

    x, _ = simulate(n_repeats=3, n_stimuli=20, units_per_level=3)
    nc = noise_ceiling(_as_recording(x))
    assert isinstance(nc, Result)
    finite = nc.values[np.isfinite(nc.values)]
    assert nc.median == pytest.approx(np.median(finite))
    assert np.isnan(NoiseCeiling([np.nan]).median)
    table = pd.read_csv(nc.save(tmp_path / "ceiling.csv"))
    assert table["unit_id"].tolist() == list(nc.unit_ids)
    np.testing.assert_allclose(table["ceiling"], nc.values)
    assert nc.save(tmp_path / "ceiling.png").stat().st_size > 0


def test_array_input_messages_name_the_problem():
    with pytest.raises(ShapeMismatchError, match=r"For one unit use x\[\.\.\., None\]"):
        noise_ceiling(np.ones((3, 4)))
    with pytest.raises(ShapeMismatchError, match=r"\(n_repeats, n_stimuli, n_units\)\.$"):
        noise_ceiling(np.ones((2, 3, 4, 5)))
    with pytest.raises(ArgumentError, match="could not be read as numbers"):
        noise_ceiling([[["a"]]])
    bad = np.ones((3, 4, 2))
    bad[1, 2, 0] = np.inf
    with pytest.raises(NonFiniteDataError, match=r"first at repeat 1, \w+ 2, unit 0.*n_repeats="):
        noise_ceiling(bad)
    with pytest.raises(ArgumentError, match="scores could not be read as numbers"):
        normalise_scores(["a"], [0.5])
    with pytest.raises(ShapeMismatchError, match=r"ceiling has shape \(2, 1\); expected one value per unit"):
        normalise_scores([0.1], [[0.5], [0.5]])
    with pytest.raises(ArgumentError, match="floor"):
        normalise_scores([0.1], [0.5], floor=np.inf)
