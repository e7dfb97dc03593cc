"""Condition labels keep the order people wrote them in (issue 15, part 8): "s2" before "s10".

The reference for natural order here is an independent one: the label with its digit
run parsed by hand (``int(label[1:])``), and numeric sorting for numbers.
"""

import numpy as np
import pandas as pd
import pytest

from neurotk import Recording, rsa
from neurotk.utils import natural_codes, natural_key


def _labels(n=23, prefix="s"):
    return [f"{prefix}{i}" for i in range(n)]


def test_natural_key_orders_digit_runs_as_numbers():
    rng = np.random.default_rng(0)
    labels = _labels()
    shuffled = list(rng.permutation(labels))
    assert sorted(shuffled, key=natural_key) == sorted(shuffled, key=lambda s: int(s[1:]))
    assert sorted(shuffled) != sorted(shuffled, key=natural_key)  # lexical order differs (s10 < s2)
    # several digit runs, case, leading zeros, numbers with strings, NaN last
    assert sorted(["img2_v10", "img2_v9", "img10_v1", "Img1_v1"], key=natural_key) == [
        "Img1_v1", "img2_v9", "img2_v10", "img10_v1"]
    assert sorted(["a", 3, 1.5, "b2", float("nan"), "b10"], key=natural_key)[:5] == [1.5, 3, "a", "b2", "b10"]
    assert sorted(["x01", "x1"], key=natural_key) == ["x01", "x1"]  # ties broken by the text, stably


def test_natural_codes_match_a_hand_coding():
    rng = np.random.default_rng(1)
    values = rng.choice(_labels(15), size=60)
    unique, codes = natural_codes(values)
    expected = sorted(set(values.tolist()), key=lambda s: int(s[1:]))
    assert unique.tolist() == expected
    assert [expected[c] for c in codes] == values.tolist()
    ints = rng.integers(0, 30, size=40)
    u, c = natural_codes(ints)
    ref_u, ref_c = np.unique(ints, return_inverse=True)  # numbers: the same as numpy's sort
    np.testing.assert_array_equal(u, ref_u)
    np.testing.assert_array_equal(c, ref_c)


def test_average_split_and_codes_keep_natural_order():
    labels = _labels(12)
    rng = np.random.default_rng(2)
    order = rng.permutation(24)
    stim = np.array(labels * 2)[order]
    data = rng.normal(size=(24, 3))
    rec = Recording(data, samples={"stimulus": stim})
    avg = rec.average("stimulus")
    assert avg.samples["stimulus"].tolist() == labels
    for k, label in enumerate(labels):  # the means belong to their labels
        np.testing.assert_allclose(avg.data[k], data[stim == label].mean(axis=0))
    assert list(rec.split("stimulus")) == labels
    codes, values = rec.codes("stimulus")
    assert values.tolist() == labels and [values[c] for c in codes] == stim.tolist()
    first = rec.average("stimulus", sort=False).samples["stimulus"].tolist()
    assert first == list(pd.unique(stim))  # first appearance
    two = Recording(np.zeros((4, 1)), samples={"a": ["s10", "s2", "s10", "s2"], "b": [1, 1, 0, 0]})
    assert two.average(["a", "b"]).samples[["a", "b"]].values.tolist() == [["s2", 0], ["s2", 1], ["s10", 0],
                                                                          ["s10", 1]]


def test_rdm_conditions_and_vector_follow_natural_order():
    labels = _labels(12)
    rng = np.random.default_rng(3)
    patterns = rng.normal(size=(12, 6))
    stim = np.array(labels * 2)
    rec = Recording(np.vstack([patterns, patterns]), samples={"stimulus": stim})
    res = rsa.rdm(rec, metric="euclidean")
    assert res.conditions.tolist() == labels
    from scipy.spatial.distance import pdist

    np.testing.assert_allclose(res.vector, pdist(patterns), rtol=1e-12)  # scipy's order of the rows as given


@pytest.mark.parametrize("values", [[2, 10, 1], [0.5, 0.25], [True, False]])
def test_numbers_keep_numeric_order(values):
    u, _ = natural_codes(values)
    assert u.tolist() == sorted(values)
