"""Tests of scikit-learn's digits as neurotk uses them (neurotk.datasets.digits)."""

import numpy as np
import pytest

import neurotk
from neurotk.datasets.digits import check_digit_images, digits_split


@pytest.fixture(scope="module")
def data():
    return digits_split()


def test_split_is_fixed_and_disjoint(data):
    images, labels, train, test = data
    assert images.shape == (1797, 8, 8) and labels.shape == (1797,)
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 1797
    # every digit class is represented in the held-out set
    assert np.bincount(labels[test], minlength=10).min() >= 35


def test_split_is_read_only_and_the_same_each_time(data):
    images, labels, train, test = data
    again = digits_split()
    np.testing.assert_array_equal(again[2], train)
    np.testing.assert_array_equal(again[3], test)
    assert not images.flags.writeable and not labels.flags.writeable
    np.testing.assert_array_equal(test, np.arange(0, 1797, 4))


def test_check_digit_images_accepts_stacks_and_flattened_images(data):
    images = data[0][:5]
    out = check_digit_images(images)
    assert out.shape == (5, 8, 8) and out.dtype == np.float64
    assert np.shares_memory(out, images)  # no copy where none is needed
    flat = check_digit_images(images.reshape(5, 64))
    np.testing.assert_array_equal(flat, images)
    listed = check_digit_images(images.astype(int).tolist())
    np.testing.assert_array_equal(listed, images)


@pytest.mark.parametrize(
    "images, kwargs, error, match",
    [
        (np.zeros((2, 7, 7)), {}, neurotk.ShapeMismatchError, r"images has shape \(2, 7, 7\); expected digit images"),
        (np.zeros(64), {}, neurotk.ShapeMismatchError, r"shape \(64,\)"),
        (np.zeros((8, 8)), {}, neurotk.ShapeMismatchError, r"a single image.*images\[None\]"),
        (np.zeros((0, 8, 8)), {}, neurotk.ShapeMismatchError, "0 images; expected at least 1"),
        (np.zeros((1, 64)), {"min_images": 2}, neurotk.ShapeMismatchError, "1 images; expected at least 2"),
        ([["a"] * 64], {}, neurotk.ArgumentError, "could not be read as numbers"),
        (np.zeros((2, 64)) + 1j, {}, neurotk.ArgumentError, "complex"),
        (np.full((2, 8, 8), np.nan), {"name": "stimuli"}, neurotk.NonFiniteDataError,
         r"stimuli contains 128 NaN or infinite values \(first at image 0, row 0, column 0\)"),
    ],
)
def test_check_digit_images_errors(images, kwargs, error, match):
    with pytest.raises(error, match=match):
        check_digit_images(images, **kwargs)
