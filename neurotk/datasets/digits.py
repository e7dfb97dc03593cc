"""scikit-learn's bundled 8 x 8 digits: the fixed train / held-out split and the image check.

The digits are the stimuli shared by the brain and the network sides of neurotk's
examples: :func:`~neurotk.datasets.digits_network` is trained on the training part of
:func:`digits_split` and :func:`~neurotk.datasets.simulate_visual_hierarchy` shows the
held-out part first, so brain and network can be compared on images the network never
saw. :func:`check_digit_images` is the one check both apply to images a caller passes.
"""

from __future__ import annotations

import functools

import numpy as np

from .._validation import check_array
from ..errors import ShapeMismatchError

__all__ = ["IMAGE_SIDE", "PIXEL_MAX", "check_digit_images", "digits_split"]

#: Side of the digit images in pixels.
IMAGE_SIDE = 8
#: The largest pixel value: the digits are on a 0..16 scale.
PIXEL_MAX = 16.0

_EXPECTED = f"digit images of shape (n, {IMAGE_SIDE}, {IMAGE_SIDE}) or (n, {IMAGE_SIDE ** 2})"


@functools.lru_cache(maxsize=1)
def _load_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.float64)
    images.flags.writeable = False
    labels = digits.target.astype(np.int64)
    labels.flags.writeable = False
    return images, labels


def digits_split():
    """Fixed train / held-out split of scikit-learn's digits used by :func:`~neurotk.datasets.digits_network`.

    Every fourth image (index ``i % 4 == 0``, 450 images, about 45 per digit) is held
    out for testing; the other 1347 train the network. The split does not depend on any
    seed, so simulated stimuli drawn from the held-out images are never seen in training.

    Returns
    -------
    images : ndarray, shape (1797, 8, 8)
        All digit images (0..16 scale, read-only).
    labels : ndarray, shape (1797,)
        Digit classes 0..9.
    train : ndarray of int
        Indices of the training images.
    test : ndarray of int
        Indices of the held-out images.

    Examples
    --------
    >>> images, labels, train, test = digits_split()
    >>> images.shape, len(train), len(test)
    ((1797, 8, 8), 1347, 450)
    """
    images, labels = _load_digits()
    index = np.arange(len(labels))
    test = index[index % 4 == 0]
    train = index[index % 4 != 0]
    return images, labels, train, test


def check_digit_images(images, name: str = "images", min_images: int = 1) -> np.ndarray:
    """``images`` as a checked float (n, 8, 8) array of digit images, or a clear error.

    Accepts a stack of images shaped (n, 8, 8) or flattened (n, 64); a single (8, 8)
    image is refused with a hint (``images[None]``), as are text, complex numbers, NaN or
    infinite pixels and fewer than ``min_images`` images. No copy is made where none is
    needed (flattened input comes back as a reshaped view).

    Parameters
    ----------
    images : array-like
        The images (any pixel scale; the digits are 0..16).
    name : str, default "images"
        The argument's name, used in messages.
    min_images : int, default 1
        The fewest images accepted.

    Returns
    -------
    ndarray of float64, shape (n, 8, 8)

    Raises
    ------
    ArgumentError
        Values that are not real numbers.
    ShapeMismatchError
        Another shape, a single image, or too few images.
    NonFiniteDataError
        NaN or infinite pixels.

    Examples
    --------
    >>> import numpy as np
    >>> check_digit_images(np.zeros((3, 64))).shape
    (3, 8, 8)
    >>> check_digit_images(np.zeros((8, 8)))
    Traceback (most recent call last):
    ...
    neurotk.errors.ShapeMismatchError: images has shape (8, 8), a single image; expected a stack of shape (n, 8, 8) (use images[None] for one image)
    """
    arr = check_array(images, name, ndim=None, min_ndim=1, min_shape=(), allow_nan=True, recording=False,
                      expected=_EXPECTED)
    shape = arr.shape
    if arr.ndim == 2 and arr.shape[1] == IMAGE_SIDE**2:
        arr = arr.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    elif arr.shape == (IMAGE_SIDE, IMAGE_SIDE):
        raise ShapeMismatchError(
            f"{name} has shape {shape}, a single image; expected a stack of shape (n, {IMAGE_SIDE}, "
            f"{IMAGE_SIDE}) (use {name}[None] for one image)"
        )
    if arr.ndim != 3 or arr.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise ShapeMismatchError(f"{name} has shape {shape}; expected {_EXPECTED}")
    return check_array(arr, name, ndim=3, axes=("images", "rows", "columns"), recording=False,
                       min_shape=(min_images, None, None), finite_hint="the digits' pixels are on a 0..16 scale")
