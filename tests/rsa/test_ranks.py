"""Ranking helpers (rsa/ranks.py) against scipy.stats.rankdata."""

import numpy as np
import scipy.stats

from neurotk.rsa.ranks import average_ranks, percentile_ranks


def test_average_ranks_matches_scipy():
    rng = np.random.default_rng(10)
    x = rng.integers(0, 5, size=(4, 30)).astype(float)
    np.testing.assert_array_equal(average_ranks(x), scipy.stats.rankdata(x, axis=1))


def test_percentile_ranks_match_scipy_and_propagate_nan_per_row():
    rng = np.random.default_rng(11)
    x = np.vstack([rng.random(21), rng.integers(0, 4, size=21).astype(float), rng.random(21)])
    x[2, 5] = np.nan
    want = scipy.stats.rankdata(x, axis=1) / 21 * 100  # a row with NaN is all NaN
    np.testing.assert_array_equal(percentile_ranks(x), want)
    assert np.isnan(percentile_ranks(x)[2]).all() and not np.isnan(percentile_ranks(x)[:2]).any()
