"""A small convolutional network trained on scikit-learn's bundled digits, in numpy.

:func:`digits_network` returns a :class:`DigitsNetwork` (a scikit-learn estimator), a
network ``conv1 -> max-pool -> fc1 -> fc2 -> logits`` trained on the 8 x 8 images of
:func:`sklearn.datasets.load_digits` (the training part of
:func:`~neurotk.datasets.digits.digits_split`). The trained weights of seeds 0-4 ship with
the package (``neurotk/datasets/data/digits_net_seed<k>.npz``, written by
``tools/build_digits_weights.py``); other seeds are trained once (a second or two, no
download) and kept in a user cache folder, keyed by seed and :data:`TRAINING_VERSION`.
Training is deterministic, so shipped, cached and freshly trained (``retrain=True``)
networks are the same network. Its activations are Recordings (``source="model"``), so
they are compared with brain recordings exactly as two brain areas are compared;
:meth:`DigitsNetwork.input_gradient` gives gradients of any weighted sum of a layer's
activations with respect to the images (for most discriminative stimuli).

The forward and backward passes are written out in numpy (no deep-learning framework);
the tests check the gradients against finite differences.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from .._console import caller_stacklevel
from .._params import Parameters
from .._validation import check_array, check_fitted, check_int
from ..errors import ArgumentError, DataFormatError, NeurotkWarning, ShapeMismatchError
from ..recording import Recording
from ..utils import as_rng, atomic_path
from .digits import IMAGE_SIDE, PIXEL_MAX, check_digit_images, digits_split

__all__ = ["DigitsNetwork", "digits_network"]

#: Layers whose activations are exposed, early -> late.
LAYERS = ("conv1", "fc1", "fc2", "logits")
#: What to do with a network that has not been trained.
_UNTRAINED = "call fit() or use digits_network()"
#: Version of the training recipe (architecture, defaults, optimiser, data split). Bump it
#: whenever training would give other weights: shipped and cached weights of another version
#: are then ignored (and tools/build_digits_weights.py regenerates the shipped ones).
TRAINING_VERSION = 1
#: Seeds whose trained weights ship in ``neurotk/datasets/data`` (the tutorials use 0-4).
SHIPPED_SEEDS = (0, 1, 2, 3, 4)
#: Folder of the shipped weights.
_DATA = Path(__file__).resolve().parent / "data"
#: Arrays of a weights file besides the hyper-parameters and the version.
_PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4")


# --------------------------------------------------------------------------- input
def _network_input(images) -> np.ndarray:
    """Checked images (n, 8, 8) scaled to 0..1 for the network; warns on a 0..1 input scale."""
    arr = check_digit_images(images)
    peak = float(np.abs(arr).max())
    if 0 < peak <= 1.0:
        warnings.warn(
            f"images peak at {peak:.3g}: the network expects the digits' 0..16 pixel scale; "
            f"multiply images on a 0..1 scale by 16",
            NeurotkWarning,
            stacklevel=caller_stacklevel(),
        )
    return arr / PIXEL_MAX


# --------------------------------------------------------------------------- numerics
def _init_params(n_channels: int, hidden: tuple[int, int], rng: np.random.Generator) -> dict:
    c = n_channels
    n_flat = c * (IMAGE_SIDE // 2) ** 2
    sizes = [(9, c), (n_flat, hidden[0]), (hidden[0], hidden[1]), (hidden[1], 10)]
    params = {}
    for k, (fan_in, fan_out) in enumerate(sizes, start=1):
        params[f"W{k}"] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
        params[f"b{k}"] = np.zeros(fan_out)
    params["b1"] += 0.05  # a small positive bias keeps conv units alive at the start
    return params


def _forward(params: Mapping[str, np.ndarray], x: np.ndarray) -> dict:
    """Forward pass on scaled images ``x`` (n, 8, 8); returns every intermediate.

    ``conv1`` is kept in (n, 8, 8, C) order internally (channels last) for speed.
    """
    n = x.shape[0]
    side = IMAGE_SIDE
    c = params["W1"].shape[1]
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    patches = sliding_window_view(xp, (3, 3), axis=(1, 2)).reshape(n * side * side, 9)
    z1 = (patches @ params["W1"] + params["b1"]).reshape(n, side, side, c)
    a1 = np.maximum(z1, 0.0)
    half = side // 2
    blocks = a1.reshape(n, half, 2, half, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(n, half, half, c, 4)
    arg = blocks.argmax(axis=-1)
    pooled = np.take_along_axis(blocks, arg[..., None], axis=-1)[..., 0]
    h0 = pooled.reshape(n, -1)
    z2 = h0 @ params["W2"] + params["b2"]
    a2 = np.maximum(z2, 0.0)
    z3 = a2 @ params["W3"] + params["b3"]
    a3 = np.maximum(z3, 0.0)
    z4 = a3 @ params["W4"] + params["b4"]
    return {"patches": patches, "z1": z1, "a1": a1, "arg": arg, "h0": h0,
            "z2": z2, "a2": a2, "z3": z3, "a3": a3, "z4": z4}


def _backward(params: Mapping[str, np.ndarray], cache: dict, inject: Mapping[str, np.ndarray],
              need_params: bool = True, need_input: bool = False):
    """Back-propagate gradients injected at layer outputs.

    ``inject`` maps layer names to gradients of a scalar with respect to that layer's
    output, in the internal layouts (``conv1`` as (n, 8, 8, C)). Returns
    ``(param_grads or None, input_grad or None)``; the input gradient is with respect
    to the scaled images ``x``.
    """
    n = cache["h0"].shape[0]
    side = IMAGE_SIDE
    half = side // 2
    c = params["W1"].shape[1]
    grads = {} if need_params else None
    zero = 0.0
    g = inject.get("logits", zero)
    g_a3 = inject.get("fc2", zero)
    if np.ndim(g):
        if need_params:
            grads["W4"] = cache["a3"].T @ g
            grads["b4"] = g.sum(axis=0)
        g_a3 = g_a3 + g @ params["W4"].T
    elif need_params:
        grads["W4"] = np.zeros_like(params["W4"])
        grads["b4"] = np.zeros_like(params["b4"])
    g_a2 = inject.get("fc1", zero)
    if np.ndim(g_a3):
        g_z3 = g_a3 * (cache["z3"] > 0)
        if need_params:
            grads["W3"] = cache["a2"].T @ g_z3
            grads["b3"] = g_z3.sum(axis=0)
        g_a2 = g_a2 + g_z3 @ params["W3"].T
    elif need_params:
        grads["W3"] = np.zeros_like(params["W3"])
        grads["b3"] = np.zeros_like(params["b3"])
    g_a1 = inject.get("conv1", zero)
    if np.ndim(g_a2):
        g_z2 = g_a2 * (cache["z2"] > 0)
        if need_params:
            grads["W2"] = cache["h0"].T @ g_z2
            grads["b2"] = g_z2.sum(axis=0)
        g_pool = (g_z2 @ params["W2"].T).reshape(n, half, half, c)
        g_blocks = np.zeros((n, half, half, c, 4))
        np.put_along_axis(g_blocks, cache["arg"][..., None], g_pool[..., None], axis=-1)
        g_unpool = g_blocks.reshape(n, half, half, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(n, side, side, c)
        g_a1 = g_a1 + g_unpool
    elif need_params:
        grads["W2"] = np.zeros_like(params["W2"])
        grads["b2"] = np.zeros_like(params["b2"])
    g_x = None
    if np.ndim(g_a1):
        g_z1 = (g_a1 * (cache["z1"] > 0)).reshape(n * side * side, c)
        if need_params:
            grads["W1"] = cache["patches"].T @ g_z1
            grads["b1"] = g_z1.sum(axis=0)
        if need_input:
            g_patches = (g_z1 @ params["W1"].T).reshape(n, side, side, 3, 3)
            g_xp = np.zeros((n, side + 2, side + 2))
            for dy in range(3):  # nine kernel offsets (col2im), not a loop over data
                for dx in range(3):
                    g_xp[:, dy : dy + side, dx : dx + side] += g_patches[..., dy, dx]
            g_x = g_xp[:, 1:-1, 1:-1]
    else:
        if need_params:
            grads["W1"] = np.zeros_like(params["W1"])
            grads["b1"] = np.zeros_like(params["b1"])
        if need_input:
            g_x = np.zeros((n, side, side))
    return grads, g_x


def _loss_and_grads(params: Mapping[str, np.ndarray], x: np.ndarray, y: np.ndarray, alpha: float = 0.0):
    """Mean softmax cross-entropy (+ ``alpha/2 * sum W**2``) and its parameter gradients."""
    cache = _forward(params, x)
    z = cache["z4"]
    z = z - z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -logp[np.arange(n), y].mean()
    g = np.exp(logp)
    g[np.arange(n), y] -= 1.0
    grads, _ = _backward(params, cache, {"logits": g / n})
    if alpha:
        for k in ("W1", "W2", "W3", "W4"):
            loss += 0.5 * alpha * float((params[k] ** 2).sum())
            grads[k] = grads[k] + alpha * params[k]
    return float(loss), grads


def _layer_outputs(cache: dict) -> dict:
    """Public layer activations: conv1 as (n, C, 8, 8), the rest (n, units)."""
    return {
        "conv1": cache["a1"].transpose(0, 3, 1, 2),
        "fc1": cache["a2"],
        "fc2": cache["a3"],
        "logits": cache["z4"],
    }


# --------------------------------------------------------------------------- estimator
def check_layer_names(layers, available) -> list[str]:
    """``layers`` (None: all, a name, or names) checked against a network's ``available`` layers."""
    if layers is None:
        return list(available)
    names = [layers] if isinstance(layers, str) else list(layers)
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise ArgumentError(f"layers={layers!r}: unknown layer(s) {unknown}; expected names "
                            f"from {list(available)}")
    return names


def check_stimulus_ids(stimulus_ids, n: int) -> np.ndarray:
    """One unique id per image (default ``0 .. n - 1``)."""
    if stimulus_ids is None:
        return np.arange(n)
    ids = np.asarray(stimulus_ids)
    if ids.shape != (n,):
        raise ShapeMismatchError(f"stimulus_ids has shape {ids.shape}; expected ({n},), one per image")
    if len(np.unique(ids)) != n:
        raise ArgumentError("stimulus_ids has repeated values; expected one unique id per image")
    return ids


def layer_recording(act: np.ndarray, name: str, samples: pd.DataFrame, meta: dict) -> Recording:
    """One layer's activations (images x ...) as a Recording: units ``unit_id``, ``source``,
    ``layer``, ``channel`` and, for (images, channels, rows, columns) maps, ``y`` and ``x``."""
    if act.ndim == 1:
        act = act[:, None]
    n, n_units = act.shape[0], int(np.prod(act.shape[1:]))
    units = {"unit_id": np.char.add(f"{name}:", np.arange(n_units).astype(str)), "source": "model", "layer": name}
    if act.ndim == 4:
        c, h, w = act.shape[1:]
        units["channel"] = np.repeat(np.arange(c), h * w)
        units["y"] = np.tile(np.repeat(np.arange(h), w), c)
        units["x"] = np.tile(np.arange(w), c * h)
    else:
        units["channel"] = np.arange(n_units)
    meta = {"layer": name, "source": "model", "layer_shape": tuple(act.shape[1:]), **meta}
    return Recording(act.reshape(n, n_units), samples, pd.DataFrame(units), meta, copy=False)


class DigitsNetwork(Parameters):
    """A small numpy convolutional network for 8 x 8 digit images.

    Architecture: ``conv1`` (``n_channels`` 3 x 3 filters, zero padding, ReLU; output
    channels x 8 x 8) -> 2 x 2 max-pool -> ``fc1`` (ReLU) -> ``fc2`` (ReLU) -> ``logits``
    (10 classes). Trained with Adam on softmax cross-entropy with L2 weight decay.
    Images are on the digits' 0..16 scale, shaped (n, 8, 8) or (n, 64). A scikit-learn
    estimator: ``get_params``, ``set_params`` and :func:`sklearn.base.clone` work on the
    hyper-parameters below.

    Parameters
    ----------
    n_channels : int, default 8
        Convolutional channels.
    hidden : tuple of two ints, default (128, 64)
        Widths of ``fc1`` and ``fc2``.
    n_epochs : int, default 20
    batch_size : int, default 128
    learning_rate : float, default 5e-3
    alpha : float, default 1e-3
        L2 weight decay.
    random_state : int or Generator, default 0
        Seeds initialisation and mini-batch order; the same seed gives the same network.

    Attributes
    ----------
    layers : list of str
        ``["conv1", "fc1", "fc2", "logits"]``, early -> late (a fresh list on each access).
    params_ : dict of ndarray
        Learned weights ``W1..W4`` and biases ``b1..b4``.
    loss_curve_ : list of float
        Mean training loss per epoch.
    test_score_ : float
        Held-out accuracy (set by :func:`digits_network`).
    weights_from_ : str
        Where :func:`digits_network` took the weights: ``"training"`` or the path of the
        shipped or cached weights file (set by :func:`digits_network` and
        :meth:`from_weights`).
    training_version_ : int
        The :data:`TRAINING_VERSION` of the weights (set by :func:`digits_network` and
        :meth:`from_weights`).

    Examples
    --------
    >>> from neurotk.datasets import digits_network
    >>> net = digits_network()
    >>> images, labels, train, test = net.split
    >>> net.score(images[test], labels[test]) > 0.9
    True
    >>> net.forward(images[:2])["conv1"].shape
    (2, 8, 8, 8)
    """

    def __init__(self, n_channels: int = 8, hidden: Sequence[int] = (128, 64), n_epochs: int = 20,
                 batch_size: int = 128, learning_rate: float = 5e-3, alpha: float = 1e-3,
                 random_state=0):
        self.n_channels = n_channels
        self.hidden = hidden
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.alpha = alpha
        self.random_state = random_state

    @property
    def layers(self) -> list[str]:
        """The layers whose activations are exposed, early -> late.

        Examples
        --------
        >>> DigitsNetwork().layers
        ['conv1', 'fc1', 'fc2', 'logits']
        """
        return list(LAYERS)

    def __repr__(self) -> str:
        fitted = "fitted" if hasattr(self, "params_") else "not fitted"
        score = f", test accuracy {self.test_score_:.3f}" if hasattr(self, "test_score_") else ""
        return (f"DigitsNetwork(layers={self.layers}, n_channels={self.n_channels}, "
                f"hidden={tuple(self.hidden)}, random_state={self.random_state!r}; {fitted}{score})")

    # ------------------------------------------------------------------ training
    def fit(self, images, labels) -> DigitsNetwork:
        """Train on digit images (0..16 scale) and labels 0..9.

        Examples
        --------
        >>> from neurotk.datasets.digits import digits_split
        >>> images, labels, train, test = digits_split()
        >>> net = DigitsNetwork(n_epochs=2).fit(images[train], labels[train])
        >>> len(net.loss_curve_)
        2
        """
        x = _network_input(images)
        y = np.asarray(labels)
        if y.shape != (len(x),):
            raise ShapeMismatchError(f"labels has shape {y.shape}; expected ({len(x)},), one per image")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise ArgumentError(f"labels must be integers 0..9; got dtype {y.dtype}, "
                                f"values {np.unique(y)[:10].tolist()}")
        n_channels = check_int(self.n_channels, "n_channels")
        n_epochs = check_int(self.n_epochs, "n_epochs")
        batch_size = check_int(self.batch_size, "batch_size")
        hidden = tuple(self.hidden)
        if len(hidden) != 2 or any(not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ArgumentError(f"hidden={self.hidden!r}; expected two positive integers")
        rng = as_rng(self.random_state)
        params = _init_params(n_channels, hidden, rng)
        m = {k: np.zeros_like(v) for k, v in params.items()}
        v = {k: np.zeros_like(p) for k, p in params.items()}
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        step = 0
        n = len(y)
        self.loss_curve_ = []
        for _epoch in range(n_epochs):
            order = rng.permutation(n)
            total = 0.0
            for start in range(0, n, batch_size):
                batch = order[start : start + batch_size]
                loss, grads = _loss_and_grads(params, x[batch], y[batch], self.alpha)
                total += loss * len(batch)
                step += 1
                lr = self.learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
                for k in params:
                    m[k] = beta1 * m[k] + (1 - beta1) * grads[k]
                    v[k] = beta2 * v[k] + (1 - beta2) * grads[k] ** 2
                    params[k] = params[k] - lr * m[k] / (np.sqrt(v[k]) + eps)
            self.loss_curve_.append(total / n)
        for value in params.values():
            value.flags.writeable = False
        self.params_ = params
        return self

    # ------------------------------------------------------------------ inference
    def forward(self, images) -> dict:
        """Activations of every layer, keeping spatial shape.

        Parameters
        ----------
        images : array-like, shape (n, 8, 8) or (n, 64)
            Digit images on the 0..16 scale.

        Returns
        -------
        dict
            Layer name -> ndarray: ``conv1`` (n, channels, 8, 8) after ReLU, ``fc1`` and
            ``fc2`` (n, width) after ReLU, ``logits`` (n, 10).

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> images = net.split[0][:3]
        >>> {k: v.shape for k, v in net.forward(images).items()}["fc1"]
        (3, 128)
        """
        check_fitted(self, "params_", action=_UNTRAINED)
        return _layer_outputs(_forward(self.params_, _network_input(images)))

    def predict_proba(self, images) -> np.ndarray:
        """Class probabilities (softmax of the logits), shape (n, 10).

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> net.predict_proba(net.split[0][:2]).sum(axis=1).round(6).tolist()
        [1.0, 1.0]
        """
        z = self.forward(images)["logits"]
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def predict(self, images) -> np.ndarray:
        """Predicted digit class for each image.

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> images, labels, _, test = net.split
        >>> bool((net.predict(images[test]) == labels[test]).mean() > 0.9)
        True
        """
        return self.forward(images)["logits"].argmax(axis=1)

    def score(self, images, labels) -> float:
        """Classification accuracy on ``images`` with true ``labels``.

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> images, labels, _, test = net.split
        >>> round(net.score(images[test], labels[test]), 2) > 0.9
        True
        """
        labels = np.asarray(labels)
        pred = self.predict(images)
        if labels.shape != pred.shape:
            raise ShapeMismatchError(f"labels has shape {labels.shape}; expected {pred.shape}, one per image")
        return float((pred == labels).mean())

    def _check_layers(self, layers) -> list[str]:
        return check_layer_names(layers, self.layers)

    def activations(self, images, layers=None, stimulus_ids=None) -> dict:
        """Layer activations as Recordings, one per layer (samples = images).

        Parameters
        ----------
        images : array-like, shape (n, 8, 8) or (n, 64)
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
            ``source`` ("model"), ``layer``, ``channel`` and, for ``conv1``, ``y`` and
            ``x``.

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> recs = net.activations(net.split[0][:5], layers=["conv1", "logits"])
        >>> recs["conv1"].shape, recs["logits"].units["source"].iloc[0]
        ((5, 512), 'model')
        """
        names = self._check_layers(layers)
        outputs = self.forward(images)
        n = next(iter(outputs.values())).shape[0]
        samples = pd.DataFrame({"stimulus": check_stimulus_ids(stimulus_ids, n)})
        return {name: layer_recording(outputs[name], name, samples, {  # one iteration per layer
                    "name": f"DigitsNetwork {name}", "units_of_measure": "activation (a.u.)",
                    "random_state": self.random_state, "provenance": "neurotk.datasets.digits_network"})
                for name in names}

    def input_gradient(self, images, layer: str, weights) -> np.ndarray:
        """Gradient of ``sum(weights * activations[layer])`` with respect to the images.

        Parameters
        ----------
        images : array-like, shape (n, 8, 8) or (n, 64)
            Digit images on the 0..16 scale.
        layer : str
            One of :attr:`layers`.
        weights : array-like
            Weights on the layer's activations: shape ``(n, *layer_shape)`` (one set per
            image), ``layer_shape`` (shared by all images), ``(n, n_units)`` or
            ``(n_units,)`` with the units flattened as in :meth:`activations`.

        Returns
        -------
        ndarray
            The gradient, same shape as ``images`` (per pixel, on the 0..16 scale).

        Examples
        --------
        >>> import numpy as np
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> images = net.split[0][:2]
        >>> w = np.zeros(10); w[3] = 1.0   # the logit of class 3
        >>> net.input_gradient(images, "logits", w).shape
        (2, 8, 8)
        """
        check_fitted(self, "params_", action=_UNTRAINED)
        (name,) = self._check_layers([layer]) if isinstance(layer, str) else (None,)
        if name is None:
            raise ArgumentError(f"layer={layer!r}; expected one layer name from {self.layers}")
        x = _network_input(images)
        shape = np.shape(images)
        cache = _forward(self.params_, x)
        act = _layer_outputs(cache)[name]
        n, layer_shape = act.shape[0], act.shape[1:]
        w = check_array(weights, "weights", ndim=None, min_ndim=0, min_shape=(), recording=False,
                        expected=f"weights on the activations of layer {name!r}",
                        finite_hint="every activation needs a finite weight")
        n_units = int(np.prod(layer_shape))
        if w.shape == act.shape:
            pass
        elif w.shape == layer_shape:
            w = np.broadcast_to(w, act.shape)
        elif w.shape == (n, n_units):
            w = w.reshape(act.shape)
        elif w.shape == (n_units,):
            w = np.broadcast_to(w.reshape(layer_shape), act.shape)
        else:
            raise ShapeMismatchError(
                f"weights has shape {w.shape}; expected {act.shape}, {layer_shape}, {(n, n_units)} "
                f"or {(n_units,)} for layer {name!r}"
            )
        if name == "conv1":
            w = w.transpose(0, 2, 3, 1)
        _, g_x = _backward(self.params_, cache, {name: w}, need_params=False, need_input=True)
        return (g_x / PIXEL_MAX).reshape(shape)

    @property
    def split(self):
        """The digits and the fixed train / held-out indices (see
        :func:`~neurotk.datasets.digits.digits_split`).

        Examples
        --------
        >>> images, labels, train, test = DigitsNetwork().split
        >>> len(test)
        450
        """
        return digits_split()

    # ------------------------------------------------------------------ weights files
    def save_weights(self, path) -> Path:
        """Write the trained weights, hyper-parameters and loss curve to an ``.npz`` file.

        The file holds plain numeric arrays and a JSON string (no pickles) and is written
        atomically (to a temporary name, then renamed). :meth:`from_weights` reads it back.

        Parameters
        ----------
        path : str or Path
            The ``.npz`` file to write.

        Returns
        -------
        Path

        Examples
        --------
        >>> import tempfile, pathlib
        >>> from neurotk.datasets import digits_network
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
        >>> back = DigitsNetwork.from_weights(digits_network(0).save_weights(path))
        >>> bool((back.params_["W2"] == digits_network(0).params_["W2"]).all())
        True
        """
        check_fitted(self, "params_", action=_UNTRAINED)
        hyper = self.get_params()
        hyper["hidden"] = [int(h) for h in hyper["hidden"]]
        if not isinstance(hyper["random_state"], (int, np.integer, type(None))):
            raise ArgumentError(
                f"random_state is a {type(hyper['random_state']).__name__}; save_weights needs an integer "
                f"seed (or None) to record how the network was trained"
            )
        if hyper["random_state"] is not None:
            hyper["random_state"] = int(hyper["random_state"])
        arrays = {k: np.asarray(self.params_[k]) for k in _PARAM_KEYS}
        arrays["loss_curve"] = np.asarray(getattr(self, "loss_curve_", []), dtype=np.float64)
        arrays["test_score"] = np.float64(getattr(self, "test_score_", np.nan))
        arrays["training_version"] = np.int64(TRAINING_VERSION)
        arrays["hyper_parameters"] = np.array(json.dumps(hyper, sort_keys=True))
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        return path

    @classmethod
    def from_weights(cls, path) -> DigitsNetwork:
        """A trained network read from a file written by :meth:`save_weights`.

        Read with ``allow_pickle=False``. The weights' shapes are checked against the
        stored hyper-parameters.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        DigitsNetwork
            Fitted, with ``params_`` (read-only), ``loss_curve_``, ``test_score_`` (if
            stored), ``training_version_`` (the :data:`TRAINING_VERSION` it was trained
            with) and ``weights_from_`` (the path).

        Raises
        ------
        DataFormatError
            A missing, unreadable or inconsistent file.

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> DigitsNetwork.from_weights(digits_network(0).weights_from_).random_state
        0
        """
        path = Path(path)
        expected = "an .npz file written by DigitsNetwork.save_weights"
        if not path.is_file():
            raise DataFormatError(f"{path}: no such file; expected {expected}")
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except Exception as exc:  # zip errors, truncation, object arrays (ValueError) ...
            raise DataFormatError(
                f"{path}: could not be read ({type(exc).__name__}: {exc}); expected {expected}"
            ) from exc
        missing = [k for k in (*_PARAM_KEYS, "loss_curve", "training_version", "hyper_parameters") if k not in arrays]
        if missing:
            raise DataFormatError(f"{path}: lacks the arrays {missing}; expected {expected}")
        try:
            hyper = json.loads(str(arrays["hyper_parameters"]))
            net = cls(**{**hyper, "hidden": tuple(hyper["hidden"])})
            c, (h1, h2) = int(net.n_channels), net.hidden
        except Exception as exc:
            raise DataFormatError(
                f"{path}: hyper_parameters {str(arrays['hyper_parameters'])[:200]!r} are not those of a "
                f"DigitsNetwork ({type(exc).__name__}: {exc}); expected {expected}"
            ) from exc
        shapes = {"W1": (9, c), "b1": (c,), "W2": (c * (IMAGE_SIDE // 2) ** 2, h1), "b2": (h1,),
                  "W3": (h1, h2), "b3": (h2,), "W4": (h2, 10), "b4": (10,)}
        params = {}
        for key, shape in shapes.items():
            value = np.array(arrays[key], dtype=np.float64)
            if value.shape != shape or arrays[key].dtype.kind != "f" or not np.isfinite(value).all():
                raise DataFormatError(
                    f"{path}: {key} has shape {arrays[key].shape}, dtype {arrays[key].dtype}; expected "
                    f"finite floats of shape {shape} for n_channels={c}, hidden={(h1, h2)}"
                )
            value.flags.writeable = False
            params[key] = value
        net.params_ = params
        net.loss_curve_ = [float(v) for v in np.asarray(arrays["loss_curve"], dtype=np.float64).ravel()]
        net.training_version_ = int(arrays["training_version"])
        score = float(arrays["test_score"]) if "test_score" in arrays else np.nan
        if np.isfinite(score):
            net.test_score_ = score
        net.weights_from_ = str(path)
        return net


def _shipped_path(seed: int) -> Path:
    """The weights of ``seed`` shipped with the package (which may not exist)."""
    return _DATA / f"digits_net_seed{seed}.npz"


def _cache_path(seed: int) -> Path:
    """The user-cache file of ``seed``: ``$NEUROTK_CACHE_DIR``, else ``$XDG_CACHE_HOME/neurotk``,
    else ``~/.cache/neurotk``; then ``digits_network/v<TRAINING_VERSION>/seed<k>.npz``."""
    root = os.environ.get("NEUROTK_CACHE_DIR")
    if not root:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurotk"
    return Path(root) / "digits_network" / f"v{TRAINING_VERSION}" / f"seed{seed}.npz"


def _train(seed: int) -> DigitsNetwork:
    images, labels, train, test = digits_split()
    net = DigitsNetwork(random_state=seed).fit(images[train], labels[train])
    net.test_score_ = net.score(images[test], labels[test])
    net.weights_from_ = "training"
    net.training_version_ = TRAINING_VERSION
    return net


def _stored(path: Path, seed: int) -> DigitsNetwork | None:
    """The network stored at ``path`` if it is one of this training recipe for ``seed``, else None."""
    if not path.is_file():
        return None
    try:
        net = DigitsNetwork.from_weights(path)
    except DataFormatError:
        return None  # a corrupt or foreign file: ignored (a cache file is then rewritten)
    default = DigitsNetwork(random_state=seed).get_params()
    hyper = net.get_params()
    if (net.training_version_ != TRAINING_VERSION or not hasattr(net, "test_score_")
            or {**hyper, "hidden": tuple(hyper["hidden"])} != {**default, "hidden": tuple(default["hidden"])}):
        return None
    return net


@functools.lru_cache(maxsize=16)
def _trained(random_state: int, cache: bool) -> DigitsNetwork:
    for path in (_shipped_path(random_state), _cache_path(random_state)):
        net = _stored(path, random_state)
        if net is not None:
            return net
    net = _train(random_state)
    if cache:
        try:
            net.save_weights(_cache_path(random_state))
        except OSError:  # a read-only home or full disk: the network still works, uncached
            pass
    return net


def digits_network(random_state=0, retrain: bool = False, cache: bool = True) -> DigitsNetwork:
    """The bundled digits network: shipped trained weights, a cached training, or a fresh one.

    A :class:`DigitsNetwork` with default hyper-parameters trained on the training part of
    :func:`digits_split` (scikit-learn's bundled digits; nothing is downloaded), with its
    held-out accuracy in ``test_score_`` (about 0.97). The weights come from, in order:

    1. the package, for the seeds in :data:`SHIPPED_SEEDS` (0-4): no training, a few
       milliseconds;
    2. the user cache (``$NEUROTK_CACHE_DIR``, else ``$XDG_CACHE_HOME/neurotk``, else
       ``~/.cache/neurotk``), keyed by seed and :data:`TRAINING_VERSION`;
    3. training (a second or two), whose weights are then written to the cache.

    Training is deterministic (the same seed gives the same network: bit for bit with the
    same BLAS kernels, to about 1e-14 with others), so all three give the same
    activations; ``weights_from_`` says which was used. Files of another training version, or unreadable ones, are ignored. Networks are
    also kept per seed within the process, so treat the returned object as read-only.

    Parameters
    ----------
    random_state : int, default 0
        Seed of weight initialisation and mini-batch order.
    retrain : bool, default False
        Train a new network now, reading and writing no file (and not kept in memory).
    cache : bool, default True
        Write the weights of a network that had to be trained to the user cache.

    Returns
    -------
    DigitsNetwork

    Examples
    --------
    >>> from neurotk.datasets import digits_network
    >>> net = digits_network(random_state=0)
    >>> net.layers
    ['conv1', 'fc1', 'fc2', 'logits']
    >>> net.test_score_ > 0.9, net.weights_from_.endswith("digits_net_seed0.npz")
    (True, True)
    """
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) or random_state < 0:
        raise ArgumentError(
            f"random_state={random_state!r}; digits_network needs a non-negative integer seed "
            f"(trained networks are cached per seed)"
        )
    for name, flag in (("retrain", retrain), ("cache", cache)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ArgumentError(f"{name}={flag!r}; expected True or False")
    if retrain:
        return _train(int(random_state))
    return _trained(int(random_state), bool(cache))
