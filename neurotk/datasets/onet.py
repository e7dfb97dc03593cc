"""A real pretrained convolutional network that ships: the O-Net of MTCNN (face detection).

:func:`pretrained_onet` returns an :class:`ONet`, the output network of the three-stage
MTCNN face detector of Zhang et al. (2016), with the pretrained weights of the ``mtcnn``
package (ipazc/mtcnn 0.1.1, MIT licence; ``neurotk/datasets/data/onet_weights.npz``, with
the licence and the citation in ``LICENSE_mtcnn_MIT.txt`` beside it). The forward pass is
written out in numpy (no deep-learning framework, nothing downloaded) and its layers'
activations are Recordings (``source="model"``), with the interface of the bundled
:func:`~neurotk.datasets.digits_network`, so they are compared with brain recordings of
the same images exactly as two brain areas are compared.

The network, as the reference builds it (ipazc/mtcnn, ``mtcnn/network/factory.py``,
``build_onet``, a Keras model; its input prepared in ``mtcnn/mtcnn.py``, ``__stage3``):

- input: 48 x 48 RGB crops on the 0..255 scale (the reference resizes each crop with
  OpenCV's ``INTER_AREA``), scaled ``(x - 127.5) / 128`` (the reference's ``* 0.0078125``)
  and transposed to (width, height, channels) ``np.transpose(img, (3, 1, 0, 2))``, the
  orientation the weights converted from the original Caffe model expect;
- ``conv1``: 32 3 x 3 filters, "valid", PReLU (one slope per channel) -> 46 x 46; max-pool
  3 x 3 stride 2 "same" -> 23 x 23;
- ``conv2``: 64 3 x 3, "valid", PReLU -> 21 x 21; max-pool 3 x 3 stride 2 "valid" -> 10 x 10;
- ``conv3``: 64 3 x 3, "valid", PReLU -> 8 x 8; max-pool 2 x 2 stride 2 "same" -> 4 x 4;
- ``conv4``: 128 2 x 2, "valid", PReLU -> 3 x 3;
- flatten in the Keras order of the transposed map (index ``(i * 3 + j) * 128 + c`` for
  transposed row ``i`` = image column, transposed column ``j`` = image row, channel ``c``)
  -> ``fc5``: 256 units, PReLU (one slope per unit) -> ``fc6_1``: 2 units, softmax; the
  face probability is the second output (the reference's ``score = out2[1, :]``).

Keras' convolutions are cross-correlations and its "same" pooling pads at the end
(``pad_total // 2`` before, the rest after) with values that never win the maximum.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .._console import caller_stacklevel
from .._validation import check_array, check_int
from ..errors import ArgumentError, DataFormatError, NeurotkWarning, ShapeMismatchError
from .network import check_layer_names, check_stimulus_ids, layer_recording

__all__ = ["ONet", "pretrained_onet"]

#: Layers whose activations are exposed, early -> late.
LAYERS = ("conv1", "conv2", "conv3", "conv4", "fc5", "face_prob")
#: Side of the network's input in pixels.
INPUT_SIDE = 48
#: The largest pixel value of the expected input scale.
PIXEL_MAX = 255.0
#: The shipped weights and their licence.
WEIGHTS_FILE = Path(__file__).with_name("data") / "onet_weights.npz"
LICENSE_FILE = Path(__file__).with_name("data") / "LICENSE_mtcnn_MIT.txt"
#: Arrays of the weights file and their shapes (height, width, in, out for the kernels).
_SHAPES = {
    "conv1_kernel": (3, 3, 3, 32), "conv1_bias": (32,), "prelu1": (1, 1, 32),
    "conv2_kernel": (3, 3, 32, 64), "conv2_bias": (64,), "prelu2": (1, 1, 64),
    "conv3_kernel": (3, 3, 64, 64), "conv3_bias": (64,), "prelu3": (1, 1, 64),
    "conv4_kernel": (2, 2, 64, 128), "conv4_bias": (128,), "prelu4": (1, 1, 128),
    "fc5_weight": (1152, 256), "fc5_bias": (256,), "prelu5": (256,),
    "fc6_1_weight": (256, 2), "fc6_1_bias": (2,),
    "fc6_2_weight": (256, 4), "fc6_2_bias": (4,),
    "fc6_3_weight": (256, 10), "fc6_3_bias": (10,),
}
_EXPECTED = "RGB images of shape (n, height, width, 3) on a 0..255 scale"
_CITATION = ("Zhang K, Zhang Z, Li Z, Qiao Y (2016). Joint face detection and alignment using "
             "multitask cascaded convolutional networks. IEEE Signal Process Lett 23(10):1499-1503")


@functools.lru_cache(maxsize=1)
def _weights() -> dict:
    """The shipped O-Net weights as read-only float64 arrays, checked against ``_SHAPES``."""
    with np.load(WEIGHTS_FILE, allow_pickle=False) as z:
        found = {k: z[k] for k in z.files}
    bad = {k: found[k].shape if k in found else None for k, s in _SHAPES.items()
           if k not in found or found[k].shape != s}
    if bad:
        raise DataFormatError(f"{WEIGHTS_FILE} has unexpected arrays {bad} (name: shape, None if missing); "
                              f"expected {_SHAPES}; reinstall neurotk")
    out = {}
    for k in _SHAPES:
        arr = found[k].astype(np.float64)
        arr.flags.writeable = False
        out[k] = arr
    return out


# --------------------------------------------------------------------------- input
def check_rgb_images(images, name: str = "images") -> np.ndarray:
    """``images`` as a checked float (n, height, width, 3) array on the 0..255 scale.

    Refuses a single (height, width, 3) image (with the hint ``images[None]``), grey
    images (n, height, width), another number of channels, text, NaN or infinite pixels
    and values outside 0..255; warns when the pixels peak at 1 or less (images on a 0..1
    scale, which the network would see as nearly black).

    Examples
    --------
    >>> import numpy as np
    >>> check_rgb_images(np.zeros((2, 5, 7, 3), dtype=np.uint8)).shape
    (2, 5, 7, 3)
    >>> check_rgb_images(np.zeros((5, 7, 3)))
    Traceback (most recent call last):
    ...
    neurotk.errors.ShapeMismatchError: images has shape (5, 7, 3), a single image; expected a stack of RGB images of shape (n, height, width, 3) on a 0..255 scale (use images[None] for one image)
    """
    shape = np.shape(images)
    if len(shape) == 3 and shape[-1] == 3:
        raise ShapeMismatchError(f"{name} has shape {shape}, a single image; expected a stack of {_EXPECTED} "
                                 f"(use {name}[None] for one image)")
    if len(shape) == 3:
        raise ShapeMismatchError(f"{name} has shape {shape}; expected {_EXPECTED} (for grey images use "
                                 f"np.repeat({name}[..., None], 3, axis=-1))")
    arr = check_array(images, name, ndim=4, axes=("images", "rows", "columns", "channels"), recording=False,
                      expected=_EXPECTED, finite_hint="pixels are on a 0..255 scale")
    if arr.shape[-1] != 3:
        raise ShapeMismatchError(f"{name} has shape {arr.shape} with {arr.shape[-1]} channels; expected "
                                 f"{_EXPECTED} (RGB, channels last)")
    low, high = float(arr.min()), float(arr.max())
    if low < 0 or high > PIXEL_MAX:
        raise ArgumentError(f"{name} has pixel values from {low:.4g} to {high:.4g}; expected {_EXPECTED} "
                            f"(0..255, as uint8 images are)")
    if 0 < high <= 1.0:
        warnings.warn(f"{name} peak at {high:.3g}: the O-Net expects pixels on a 0..255 scale; multiply "
                      f"images on a 0..1 scale by 255", NeurotkWarning, stacklevel=caller_stacklevel())
    return arr


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area resampling: output pixel ``i`` covers input
    ``[i * s, (i + 1) * s)`` with ``s = n_in / n_out`` and averages the input pixels it
    overlaps, each weighted by the length of the overlap."""
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    edges = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(lo + scale, edges + 1) - np.maximum(lo, edges), 0.0, None)
    return overlap / scale


def resize_area(images: np.ndarray, side: int = INPUT_SIDE) -> np.ndarray:
    """Resize (n, height, width, channels) images to ``side`` x ``side`` by area averaging.

    Each output pixel is the mean of the input pixels under its footprint, each weighted
    by the area it shares with that footprint (separable: rows, then columns). When
    shrinking, this is what OpenCV's ``cv2.resize(..., interpolation=cv2.INTER_AREA)``
    computes, the resampling the reference MTCNN applies to its crops. When enlarging
    (an image smaller than 48 pixels on a side) it is a nearest-neighbour enlargement
    with blended edge pixels, where OpenCV's ``INTER_AREA`` interpolates bilinearly: the
    results then differ from the reference's near pixel edges. Images already ``side`` x
    ``side`` come back unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16.0).reshape(1, 4, 4, 1)
    >>> resize_area(x, 2)[0, :, :, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    h, w = images.shape[1:3]
    if (h, w) == (side, side):
        return images
    rows = _area_matrix(h, side)
    cols = _area_matrix(w, side)
    out = np.tensordot(rows, images, axes=(1, 1))          # (side, n, w, c)
    out = np.tensordot(cols, out, axes=(1, 2))             # (side_w, side_h, n, c)
    return np.ascontiguousarray(out.transpose(2, 1, 0, 3))


# --------------------------------------------------------------------------- numerics
def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Keras ``Conv2D`` (cross-correlation, "valid", stride 1) on (n, H, W, C) input."""
    kh, kw = kernel.shape[:2]
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # (n, H', W', C, kh, kw)
    return np.tensordot(windows, kernel, axes=((4, 5, 3), (0, 1, 2))) + bias


def _prelu(x: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, alpha * x)


def _max_pool(x: np.ndarray, size: int, stride: int, padding: str) -> np.ndarray:
    """Keras ``MaxPooling2D`` on (n, H, W, C); "same" pads ``total // 2`` before, the rest after."""
    if padding == "same":
        pads = []
        for length in x.shape[1:3]:
            n_out = -(-length // stride)
            total = max((n_out - 1) * stride + size - length, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf)
    windows = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(-2, -1))


def _forward(w: dict, x: np.ndarray) -> dict:
    """Forward pass on prepared input ``x`` (n, 48, 48, 3) in the network's (transposed)
    orientation, already scaled; conv maps stay (n, H, W, C) in that orientation."""
    c1 = _prelu(_conv(x, w["conv1_kernel"], w["conv1_bias"]), w["prelu1"])
    c2 = _prelu(_conv(_max_pool(c1, 3, 2, "same"), w["conv2_kernel"], w["conv2_bias"]), w["prelu2"])
    c3 = _prelu(_conv(_max_pool(c2, 3, 2, "valid"), w["conv3_kernel"], w["conv3_bias"]), w["prelu3"])
    c4 = _prelu(_conv(_max_pool(c3, 2, 2, "same"), w["conv4_kernel"], w["conv4_bias"]), w["prelu4"])
    f5 = _prelu(c4.reshape(len(x), -1) @ w["fc5_weight"] + w["fc5_bias"], w["prelu5"])
    z = f5 @ w["fc6_1_weight"] + w["fc6_1_bias"]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    prob = z / z.sum(axis=1, keepdims=True)
    return {"conv1": c1, "conv2": c2, "conv3": c3, "conv4": c4, "fc5": f5, "prob": prob,
            "box": f5 @ w["fc6_2_weight"] + w["fc6_2_bias"],
            "landmarks": f5 @ w["fc6_3_weight"] + w["fc6_3_bias"]}


# --------------------------------------------------------------------------- the network
class ONet:
    """The O-Net of MTCNN with its pretrained weights, as a numpy forward pass.

    The output stage of the MTCNN face detector (Zhang et al. 2016), with the weights of
    ipazc/mtcnn 0.1.1 (MIT); the architecture is in the module docstring
    (:mod:`neurotk.datasets.onet`). Use :func:`pretrained_onet` to get one.

    Input: RGB images (n, height, width, 3) on the 0..255 scale, uint8 or float. The
    network applies the ``(x - 127.5) / 128`` scaling and the height/width transpose
    itself. Images of any other size are resized to 48 x 48 by area averaging
    (:func:`resize_area`: OpenCV's ``INTER_AREA``, as the reference, when shrinking);
    48 x 48 images are used as they are. Aspect ratios are not kept: crop first. The
    arithmetic is float64 (the reference runs in float32: on the 92 images of
    :func:`~neurotk.datasets.load_92_objects` the face probabilities of the two differ by at
    most 1.2e-6).

    The O-Net was trained on tight face crops: on whole images of heads on a background
    its face probability is low (on the 92 images, 0.15 on average on the 24 faces, 0.07 on
    the rest); on central crops of the 12 human faces it is 0.99.

    Parameters
    ----------
    batch_size : int, default 64
        Images per batch of the forward pass (bounds memory; the results do not depend
        on it).

    Attributes
    ----------
    layers : list of str
        ``["conv1", "conv2", "conv3", "conv4", "fc5", "face_prob"]``, early -> late.
    weights_ : dict of ndarray
        The pretrained weights (read-only), named as in the weights file.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.datasets import pretrained_onet
    >>> net = pretrained_onet()
    >>> images = np.full((2, 48, 48, 3), 128, dtype=np.uint8)
    >>> {k: v.shape for k, v in net.forward(images).items()}["conv1"]
    (2, 32, 46, 46)
    >>> net.face_probability(images).shape
    (2,)
    """

    def __init__(self, batch_size: int = 64):
        self.batch_size = batch_size
        self.weights_ = _weights()

    @property
    def layers(self) -> list[str]:
        """The layers whose activations are exposed, early -> late.

        Examples
        --------
        >>> ONet().layers
        ['conv1', 'conv2', 'conv3', 'conv4', 'fc5', 'face_prob']
        """
        return list(LAYERS)

    def __repr__(self) -> str:
        return f"ONet(layers={self.layers}, input 48x48 RGB 0..255; MTCNN pretrained, Zhang et al. 2016)"

    def _network_input(self, images) -> np.ndarray:
        """Checked images resized to 48 x 48, scaled and transposed: (n, 48 columns, 48 rows, 3)."""
        arr = resize_area(check_rgb_images(images))
        return ((arr - 127.5) / 128.0).transpose(0, 2, 1, 3)

    def _run(self, images) -> dict:
        x = self._network_input(images)
        batch = check_int(self.batch_size, "batch_size")
        parts = [_forward(self.weights_, x[start:start + batch]) for start in range(0, len(x), batch)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def forward(self, images) -> dict:
        """Activations of every layer, keeping spatial shape, in image orientation.

        Parameters
        ----------
        images : array-like, shape (n, height, width, 3)
            RGB images on the 0..255 scale (uint8 or float); resized to 48 x 48 if needed.

        Returns
        -------
        dict
            Layer name -> ndarray: ``conv1`` .. ``conv4`` after PReLU (before pooling),
            shaped (n, channels, rows, columns) with rows and columns those of the image
            (the network's internal transpose is undone): (32, 46, 46), (64, 21, 21),
            (64, 8, 8), (128, 3, 3); ``fc5`` (n, 256) after PReLU; ``face_prob`` (n,).

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import pretrained_onet
        >>> out = pretrained_onet().forward(np.zeros((1, 60, 50, 3)))
        >>> out["conv4"].shape, out["fc5"].shape
        ((1, 128, 3, 3), (1, 256))
        """
        raw = self._run(images)
        out = {name: raw[name].transpose(0, 3, 2, 1) for name in ("conv1", "conv2", "conv3", "conv4")}
        out["fc5"] = raw["fc5"]
        out["face_prob"] = raw["prob"][:, 1]
        return out

    def predict_proba(self, images) -> np.ndarray:
        """Softmax of ``fc6_1``, shape (n, 2): column 0 not a face, column 1 a face.

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import pretrained_onet
        >>> p = pretrained_onet().predict_proba(np.zeros((3, 48, 48, 3)))
        >>> p.shape, np.allclose(p.sum(axis=1), 1)
        ((3, 2), True)
        """
        return self._run(images)["prob"]

    def face_probability(self, images) -> np.ndarray:
        """The probability that each image is a face (the detector's score), shape (n,).

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import pretrained_onet
        >>> bool(pretrained_onet().face_probability(np.zeros((1, 48, 48, 3)))[0] < 0.5)
        True
        """
        return self.predict_proba(images)[:, 1]

    def regressions(self, images) -> dict:
        """The detector's other outputs: ``box`` (n, 4), ``fc6_2``, the bounding-box
        corrections, and ``landmarks`` (n, 10), ``fc6_3``, five facial points (x then y,
        relative to the crop, in the reference's convention).

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import pretrained_onet
        >>> out = pretrained_onet().regressions(np.zeros((2, 48, 48, 3)))
        >>> out["box"].shape, out["landmarks"].shape
        ((2, 4), (2, 10))
        """
        raw = self._run(images)
        return {"box": raw["box"], "landmarks": raw["landmarks"]}

    def _check_layers(self, layers) -> list[str]:
        return check_layer_names(layers, self.layers)

    def activations(self, images, layers=None, stimulus_ids=None) -> dict:
        """Layer activations as Recordings, one per layer (samples = images).

        Parameters
        ----------
        images : array-like, shape (n, height, width, 3)
            RGB images on the 0..255 scale (uint8 or float); resized to 48 x 48 if needed.
        layers : str or list of str, optional
            Layers to return (default: all, early -> late).
        stimulus_ids : array-like, shape (n,), optional
            Values of the samples column ``stimulus`` (default 0..n-1), so that the
            activations align with brain recordings of the same stimuli.

        Returns
        -------
        dict
            Layer name -> :class:`~neurotk.Recording` with samples column ``stimulus`` and
            units columns ``unit_id`` (``"<layer>:<index>"``, unique across layers),
            ``source`` ("model"), ``layer``, ``channel`` and, for the conv layers, ``y``
            (image row) and ``x`` (image column) of the unit's map position. ``face_prob``
            has one unit, the face probability.

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import pretrained_onet
        >>> images = np.random.default_rng(0).integers(0, 256, size=(4, 48, 48, 3), dtype=np.uint8)
        >>> recs = pretrained_onet().activations(images, layers=["conv4", "face_prob"])
        >>> recs["conv4"].shape, recs["face_prob"].shape, recs["conv4"].units["source"].iloc[0]
        ((4, 1152), (4, 1), 'model')
        """
        names = self._check_layers(layers)
        n = len(check_rgb_images(images))
        samples = pd.DataFrame({"stimulus": check_stimulus_ids(stimulus_ids, n)})
        outputs = self.forward(images)
        return {name: layer_recording(outputs[name], name, samples, {  # one iteration per layer
                    "name": f"O-Net {name}",
                    "units_of_measure": "probability" if name == "face_prob" else "activation (a.u.)",
                    "input_side": INPUT_SIDE, "citation": _CITATION, "licence": "MIT (ipazc/mtcnn)",
                    "provenance": "neurotk.datasets.pretrained_onet"})
                for name in names}


def pretrained_onet(batch_size: int = 64) -> ONet:
    """The pretrained O-Net of MTCNN (face detection; Zhang et al. 2016), shipped with neurotk.

    A real convolutional network trained on real faces, ready offline: the output stage
    of the MTCNN face detector with the pretrained weights of the ``mtcnn`` package
    (ipazc/mtcnn 0.1.1, MIT licence; the notice and the citation are in
    ``neurotk/datasets/data/LICENSE_mtcnn_MIT.txt``). Four convolutional layers, a
    256-unit layer and a face / not-face output, run in numpy on 48 x 48 RGB images; see
    :class:`ONet` for the input it expects and :mod:`neurotk.datasets.onet` for the
    architecture.

    Cite: Zhang K, Zhang Z, Li Z, Qiao Y (2016). Joint face detection and alignment using
    multitask cascaded convolutional networks. IEEE Signal Processing Letters
    23(10):1499-1503.

    Parameters
    ----------
    batch_size : int, default 64
        Images per batch of the forward pass.

    Returns
    -------
    ONet

    Examples
    --------
    >>> from neurotk.datasets import pretrained_onet
    >>> net = pretrained_onet()
    >>> net.layers
    ['conv1', 'conv2', 'conv3', 'conv4', 'fc5', 'face_prob']
    """
    check_int(batch_size, "batch_size")
    return ONet(batch_size=batch_size)
