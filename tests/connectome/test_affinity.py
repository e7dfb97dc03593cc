"""Affinities against brute-force per-pair loops on tiny inputs, scipy and numpy."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.spatial.distance import squareform

from neurotk import Recording
from neurotk.connectome import (
    affinity_tensor,
    comovement_affinity,
    pair_rows,
    pairs_to_matrix,
    sliding_correlation,
)
from neurotk.errors import AlignmentError, ArgumentError, NeurotkError, NonFiniteDataError, ShapeMismatchError


def brute_comovement(x, window, step, smooth, saturation, chance):
    """The documented formula, one pair and one window at a time."""
    d = gaussian_filter1d(x, smooth, axis=0, order=1, mode="nearest") if smooth > 0 else np.gradient(x, axis=0)
    n = x.shape[1]
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            row = []
            for s in range(0, x.shape[0] - window + 1, step):
                def parts(k):
                    u = d[:, k] / np.sqrt(np.mean(d[:, k] ** 2))
                    return np.tanh(np.maximum(u, 0) / saturation), np.tanh(np.maximum(-u, 0) / saturation)
                pi, qi = parts(i)
                pj, qj = parts(j)
                w = slice(s, s + window)
                a = np.mean(pi[w] * pj[w] + qi[w] * qj[w])
                if chance == "subtract":
                    a = max(a - pi[w].mean() * pj[w].mean() - qi[w].mean() * qj[w].mean(), 0.0)
                row.append(a)
            out.append(row)
    return np.array(out)


@pytest.mark.parametrize("chance", ["subtract", "keep"])
@pytest.mark.parametrize("smooth,window,step", [(1.0, 7, 3), (0.0, 10, 10), (2.5, 1, 1)])
def test_comovement_matches_brute_force(chance, smooth, window, step):
    x = np.random.default_rng(3).normal(size=(40, 5)).cumsum(axis=0)
    got = comovement_affinity(x, window=window, step=step, smooth=smooth, saturation=0.7, chance=chance,
                                max_memory=2000)  # tiny budget: many chunks
    want = brute_comovement(x, window, step, smooth, 0.7, chance)
    np.testing.assert_allclose(got.values, want, atol=1e-12)
    assert (got.values >= 0).all() and (got.values < 1).all()


def test_comovement_high_for_co_rising_low_for_opposite():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(500, 1)).cumsum(axis=0)
    x = np.hstack([base, base + 0.05 * rng.normal(size=(500, 1)), -base, rng.normal(size=(500, 1)).cumsum(axis=0)])
    aff = comovement_affinity(x, window=100, chance="keep")
    m = aff.matrix()
    assert m[0, 1] > 0.3 and m[0, 2] < 1e-12 and m[0, 3] < m[0, 1] / 2


@pytest.mark.parametrize("negative", ["clip", "abs", "shift", "keep"])
def test_sliding_correlation_matches_corrcoef(negative):
    x = np.random.default_rng(1).normal(size=(60, 6)) + np.linspace(0, 3, 60)[:, None]
    aff = sliding_correlation(x, window=20, step=10, negative=negative, max_memory=3000)
    i, j = np.triu_indices(6, 1)
    want = np.stack([np.corrcoef(x[s:s + 20].T)[i, j] for s in range(0, 41, 10)], axis=1)
    want = {"clip": np.maximum(want, 0), "abs": np.abs(want), "shift": (1 + want) / 2, "keep": want}[negative]
    np.testing.assert_allclose(aff.values, want, atol=1e-10)


def test_pairs_layout_is_scipy_condensed_order():
    v = np.arange(10.0) + 1
    np.testing.assert_array_equal(pairs_to_matrix(v), squareform(v))
    i, j = np.triu_indices(5, 1)
    np.testing.assert_array_equal(pair_rows(j, i, 5), np.arange(10))
    with pytest.raises(ShapeMismatchError):
        pairs_to_matrix(np.ones(4))


def test_window_table_uses_recording_time():
    rec = Recording(np.random.default_rng(0).normal(size=(100, 4)), samples={"time": np.arange(100) / 10.0},
                    units={"unit_id": [5, 6, 7, 8]})
    aff = comovement_affinity(rec, window=25)
    np.testing.assert_allclose(aff.windows["time"], [1.25, 3.75, 6.25, 8.75])
    assert aff.unit_ids.tolist() == [5, 6, 7, 8]
    df = aff.to_frame()
    assert len(df) == 6 * 4 and set(df.columns) >= {"unit_i", "unit_j", "time", "affinity"}


def _rec(x, ids, name):
    return Recording(x, units={"unit_id": ids}, meta={"name": name})


def test_tensor_masks_missing_neurons_instead_of_zeros():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(80, 5)).cumsum(axis=0)
    b = rng.normal(size=(80, 4)).cumsum(axis=0)
    tensor = affinity_tensor([_rec(a, [0, 1, 2, 3, 4], "a"), _rec(b, [4, 0, 1, 3], "b")], window=20)
    assert tensor.values.shape == (10, 4, 2)
    assert tensor.unit_ids.tolist() == [0, 1, 2, 3, 4]
    i, j = np.triu_indices(5, 1)
    has2 = (i == 2) | (j == 2)
    assert tensor.mask[:, :, 0].all()
    np.testing.assert_array_equal(tensor.mask[:, 0, 1], ~has2)
    assert np.isnan(tensor.values[has2, :, 1]).all()
    # the observed entries of animal b are its own affinities, with neurons re-ordered by id
    own = comovement_affinity(b[:, [1, 2, 3, 0]], window=20).values   # ids 0, 1, 3, 4
    np.testing.assert_allclose(tensor.values[~has2, :, 1], own)
    np.testing.assert_allclose(tensor.values[:, :, 0], comovement_affinity(a, window=20).values)


@pytest.mark.parametrize("bad,err", [
    (lambda x: comovement_affinity(x, window=500), ArgumentError),          # window > recording
    (lambda x: sliding_correlation(x, window=500), ArgumentError),
    (lambda x: comovement_affinity(x[:, :2]), ShapeMismatchError),           # < 3 neurons
    (lambda x: comovement_affinity(np.where(np.eye(100, 4, dtype=bool), np.nan, x)), NonFiniteDataError),
    (lambda x: comovement_affinity(x, smooth=-1), ArgumentError),
    (lambda x: comovement_affinity(x, window=0), ArgumentError),
    (lambda x: affinity_tensor([x, x[:50]]), AlignmentError),                 # different lengths
    (lambda x: affinity_tensor([x, x[:, :3]]), AlignmentError),               # arrays of different widths
    (lambda x: affinity_tensor([_rec(x, [0, 1, 2, 3], "a"), _rec(x, [10, 11, 12, 13], "b")]), AlignmentError),
    (lambda x: affinity_tensor([_rec(x, [0, 1, 2, 3], "a"), _rec(x, ["a", "b", "c", "d"], "b")]), AlignmentError),
    (lambda x: affinity_tensor(x, method="granger"), ArgumentError),
])
def test_bad_input_raises_clear_errors(bad, err):
    x = np.random.default_rng(0).normal(size=(100, 4))
    with pytest.raises(err) as info:
        bad(x)
    assert isinstance(info.value, NeurotkError) and "expected" in str(info.value)


def test_pair_rows_refuses_self_pairs_and_out_of_range():
    assert pair_rows(3, 1, 4).tolist() == pair_rows(1, 3, 4).tolist() == 4
    for i, j in [(1, 1), (0, 4), (-1, 2)]:
        with pytest.raises(ArgumentError, match="two different neurons"):
            pair_rows(i, j, 4)


def test_tensor_matrix_and_table_keep_missing_pairs_out():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(80, 5)).cumsum(axis=0)
    b = rng.normal(size=(80, 4)).cumsum(axis=0)
    tensor = affinity_tensor([_rec(a, [0, 1, 2, 3, 4], "a"), _rec(b, [4, 0, 1, 3], "b")], window=20)
    # one recording, one window: its own values; pairs it lacks are NaN
    np.testing.assert_allclose(tensor.matrix("a", 1), pairs_to_matrix(tensor.values[:, 1, 0]))
    m_b = tensor.matrix(1)
    assert np.isnan(m_b[2, [0, 1, 3, 4]]).all() and m_b[2, 2] == 0
    # the mean over recordings averages only the recordings that observed a pair
    i, j = np.triu_indices(5, 1)
    want = np.nanmean(tensor.values, axis=(1, 2))   # NaN exactly where not observed
    np.testing.assert_allclose(tensor.matrix()[i, j], want)
    df = tensor.to_frame()
    assert len(df) == int(tensor.mask.sum()) and not df["affinity"].isna().any()
    assert set(df.loc[df["recording"] == "b", "unit_i"]) | set(df.loc[df["recording"] == "b", "unit_j"]) == {0, 1, 3, 4}
    row = df.iloc[-1]
    assert (row["unit_i"], row["unit_j"], row["window"], row["recording"]) == (3, 4, 3, "b")
    with pytest.raises(ArgumentError, match="recording='c'"):
        tensor.matrix("c")
    with pytest.raises(ArgumentError, match="window=4"):
        tensor.matrix(window=4)


def test_results_save_tables_and_figures(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    x = np.random.default_rng(5).normal(size=(60, 4))
    aff = comovement_affinity(x, window=20)
    tensor = affinity_tensor([x, x[::-1].copy()], window=20)
    for res, name in [(aff, "aff"), (tensor, "tensor")]:
        table = res.save(tmp_path / f"{name}.csv")
        assert len(table.read_text().splitlines()) == len(res.to_frame()) + 1
        assert res.save(tmp_path / f"{name}.png").stat().st_size > 0
