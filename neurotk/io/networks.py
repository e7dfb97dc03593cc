"""Network activations as Recordings: from array files, the bundled network, MLPs or torch modules.

:func:`activations` runs stimuli through a network, :func:`from_arrays` reads layers
saved as arrays and :func:`pool_spatial` pools convolutional layers. Each layer becomes a
Recording (stimuli x units) whose ``units`` table says ``source="model"`` and the layer
name, and whose ``samples`` table holds the stimulus ids, so it aligns with brain
recordings of the same stimuli.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ArgumentError, DataFormatError, NeurotkError, ShapeMismatchError, describe_values, require
from ..recording import Recording

__all__ = ["from_arrays", "activations", "pool_spatial"]

#: Keys of an ``.npz`` file that label stimuli rather than hold a layer.
_LABEL_KEYS = ("stimulus", "stimulus_ids", "category", "categories")


def _labels(values) -> np.ndarray:
    """Stimulus ids or categories as a 1-D array, keeping each id's type.

    ``np.asarray([0, "a"])`` would turn the id 0 into the string "0"; a list of mixed
    types stays an object array instead (arrays are used as they are).
    """
    if isinstance(values, np.ndarray):
        return values
    if np.ndim(values) == 0:  # a single id: one stimulus (else a length mismatch below)
        return np.atleast_1d(values)
    return pd.Series(list(values), dtype=None).to_numpy()


def _layer_recording(name: str, values: np.ndarray, stimulus_ids, extra: Mapping | None, meta: dict, source: str) -> Recording:
    values = np.asarray(values)
    where = meta.get("path", "arrays")
    if values.ndim < 2:
        raise ShapeMismatchError(
            f"{where}: layer {name!r} has shape {values.shape}; expected (n_stimuli, n_units) or "
            f"(n_stimuli, channels, height, width)"
        )
    if 0 in values.shape:
        raise ShapeMismatchError(
            f"{where}: layer {name!r} has shape {values.shape}; expected at least one stimulus and one unit"
        )
    n = values.shape[0]
    units = {"unit_id": [f"{name}:{k}" for k in range(int(np.prod(values.shape[1:])))], "source": source, "layer": name}
    if values.ndim == 4:  # channels x height x width: keep the spatial position of each unit
        c, h, w = values.shape[1:]
        ch, yy, xx = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
        units.update(channel=ch.ravel(), y=yy.ravel(), x=xx.ravel())
    samples = {"stimulus": np.arange(n) if stimulus_ids is None else _labels(stimulus_ids)}
    if len(samples["stimulus"]) != n:
        raise ShapeMismatchError(
            f"stimulus ids have {len(samples['stimulus'])} entries but layer {name!r} has {n} "
            f"stimuli (rows); expected one id per stimulus"
        )
    for key, col in (extra or {}).items():
        samples[key] = _labels(col)
    try:
        return Recording(values.reshape(n, -1), samples, units, {**meta, "name": name, "layer": name})
    except NeurotkError as exc:  # NaN/inf activations, bad labels ...: say which file and layer
        raise type(exc)(f"{where}: layer {name!r}: {exc}") from exc


def pool_spatial(values: np.ndarray, pool=None) -> np.ndarray:
    """Pool the spatial dimensions of (n, channels, height, width) activations.

    ``pool=None`` keeps every unit (flattened later); ``"mean"`` / ``"max"`` pool over all
    positions (one unit per channel); an integer ``k`` averages over a k x k grid of
    (nearly) equal blocks, as adaptive average pooling does. Arrays with fewer than three
    dimensions are returned unchanged.

    Examples
    --------
    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> pool_spatial(x, "mean").ravel().tolist(), pool_spatial(x, 2).ravel().tolist()
    ([7.5], [2.5, 4.5, 10.5, 12.5])
    """
    values = np.asarray(values)
    if pool is None or values.ndim < 3:
        return values
    spatial = tuple(range(2, values.ndim))
    if pool == "mean":
        return values.mean(axis=spatial)
    if pool == "max":
        return values.max(axis=spatial)
    if isinstance(pool, (int, np.integer)) and not isinstance(pool, bool) and pool >= 1 and values.ndim == 4:
        h, w = values.shape[2:]
        if pool > min(h, w):
            raise ArgumentError(f"pool={pool}; expected at most {min(h, w)}, the smaller spatial size")
        rows = np.linspace(0, h, pool + 1).astype(int)
        cols = np.linspace(0, w, pool + 1).astype(int)
        sums = np.add.reduceat(np.add.reduceat(values, rows[:-1], axis=2), cols[:-1], axis=3)
        return sums / (np.diff(rows)[:, None] * np.diff(cols)[None, :])
    raise ArgumentError(f"pool={pool!r}; expected None, 'mean', 'max' or a positive integer grid size (4-D activations)")


def from_arrays(source, stimulus_ids=None, layers: Sequence[str] | None = None, source_label: str = "model",
                pool=None) -> dict:
    """Layers stored as arrays (``.npz``/``.npy`` file or a dict) -> dict of name -> Recording.

    Files are read with ``allow_pickle=False``: object arrays are refused, never unpickled.
    In an ``.npz`` file every array is a layer (rows = stimuli) except the keys
    ``stimulus``/``stimulus_ids`` (stimulus ids) and ``category``/``categories``, which
    label the rows. A ``.npy`` file is one layer named after the file.

    Parameters
    ----------
    source : str, Path or dict of name -> array
    stimulus_ids : array-like, optional
        Stimulus id of each row (overrides one stored in the file).
    layers : sequence of str, optional
        Keep only these layers, in this order.
    source_label : str, default "model"
        Value of the ``source`` column of the units tables.
    pool : None, "mean", "max" or int
        Spatial pooling of 4-D (n, channels, height, width) layers; see :func:`pool_spatial`.

    Returns
    -------
    dict of str -> Recording
        In file order (or ``layers`` order).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> np.savez(path, conv1=np.ones((4, 2, 3, 3)), fc=np.zeros((4, 5)), stimulus=[7, 8, 9, 10])
    >>> layers = from_arrays(path)
    >>> list(layers), layers["conv1"].shape, layers["fc"].samples["stimulus"].tolist()
    (['conv1', 'fc'], (4, 18), [7, 8, 9, 10])
    """
    meta = {}
    if isinstance(source, Mapping):
        arrays = dict(source)
        meta["source"] = "arrays"
    else:
        path = Path(source)
        if not path.exists():
            raise DataFormatError(f"{path}: no such file; expected an .npz or .npy file of layer activations")
        meta["path"] = str(path)
        try:
            if path.suffix == ".npy":
                arrays = {path.stem: np.load(path, allow_pickle=False, mmap_mode="r")}
            else:
                with np.load(path, allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files}
        except ValueError as exc:
            # numpy: "Object arrays cannot be loaded when allow_pickle=False" (np.load), "Array can't
            # be memory-mapped: Python objects in dtype." (mmap_mode of .npy files)
            if "allow_pickle" in str(exc) or "Python objects" in str(exc):
                raise DataFormatError(
                    f"{path}: holds object arrays, which neurotk never unpickles ({exc}); expected "
                    f"numeric arrays"
                ) from exc
            raise DataFormatError(  # a truncated header or data (mmap length ...), a bad header ...
                f"{path}: could not be read as .npz/.npy (ValueError: {exc}); expected a numeric .npy "
                f"array or .npz archive. The file may be truncated or corrupt"
            ) from exc
        except Exception as exc:  # zip errors, truncated files (OSError, EOFError, BadZipFile, zlib.error ...)
            raise DataFormatError(
                f"{path}: could not be read as .npz/.npy ({type(exc).__name__}: {exc}); expected a numeric "
                f".npy array or .npz archive. The file may be truncated or corrupt"
            ) from exc
    labels = {k: arrays.pop(k) for k in list(arrays) if k in _LABEL_KEYS}
    if stimulus_ids is None:
        stimulus_ids = labels.get("stimulus", labels.get("stimulus_ids"))
    extra = {}
    cats = labels.get("category", labels.get("categories"))
    if cats is not None:
        extra["category"] = cats
    if layers is not None:
        missing = [name for name in layers if name not in arrays]
        if missing:
            raise ArgumentError(f"layers {describe_values(missing)} not found; available: {list(arrays)}")
        arrays = {name: arrays[name] for name in layers}
    if not arrays:
        raise DataFormatError(f"{meta.get('path', 'arrays')}: no layer arrays found (only {list(labels)})")
    bad = {k: v.dtype for k, v in arrays.items() if np.asarray(v).dtype.kind not in "biuf"}
    if bad:
        raise DataFormatError(f"{meta.get('path', 'arrays')}: layers {bad} are not numeric; expected numbers")
    return {
        name: _layer_recording(name, pool_spatial(values, pool), stimulus_ids, extra, meta, source_label)
        for name, values in arrays.items()
    }


def _mlp_activations(model, x: np.ndarray) -> dict:
    """Hidden-layer and output activations of a fitted scikit-learn MLP."""
    activation = {
        "relu": lambda z: np.maximum(z, 0),
        "tanh": np.tanh,
        "logistic": lambda z: 1 / (1 + np.exp(-z)),
        "identity": lambda z: z,
    }[model.activation]
    out = {}
    h = x
    n_layers = len(model.coefs_)
    for k, (w, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        z = h @ w + b
        if k < n_layers - 1:
            h = activation(z)
            out[f"hidden{k + 1}"] = h
        else:
            out["output"] = z  # pre-softmax (logits) or regression output
    return out


def _torch_activations(model, stimuli, layers, batch_size: int, pool, progress: bool) -> dict:
    """Activations of named submodules of a torch module through forward hooks, batched."""
    torch = require("torch", "Activations of torch modules", extra="torch")
    from tqdm.auto import tqdm

    modules = dict(model.named_modules())
    if layers is None:
        layers = [name for name, _ in model.named_children()]
    missing = [name for name in layers if name not in modules]
    if missing:
        raise ArgumentError(
            f"layers {describe_values(missing)} are not submodules of the model; available: "
            f"{describe_values([n for n in modules if n], limit=30)}"
        )
    stored: dict = {name: [] for name in layers}

    def hook_for(name):
        def hook(_module, _inputs, output):
            if isinstance(output, (tuple, list)):
                output = output[0]
            stored[name].append(pool_spatial(output.detach().cpu().numpy(), pool))

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in layers]
    x = np.asarray(stimuli)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for start in tqdm(range(0, len(x), batch_size), disable=not progress, desc="activations", unit="batch"):
                model(torch.as_tensor(x[start : start + batch_size], dtype=torch.float32))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return {name: np.concatenate(stored[name]) for name in layers}


def activations(model, stimuli, layers: Sequence[str] | None = None, stimulus_ids=None, batch_size: int = 256,
                pool=None, progress: bool = True) -> dict:
    """Activations of a network's layers to ``stimuli`` -> dict of layer name -> Recording.

    Supported models: the bundled :func:`~neurotk.datasets.digits_network`, any fitted
    scikit-learn ``MLPClassifier``/``MLPRegressor`` (layers ``hidden1``, ``hidden2`` ...,
    ``output``), any ``torch.nn.Module`` with the optional ``torch`` extra (forward hooks on
    the named submodules, default: its top-level children; stimuli go in as float32 tensors
    in batches, with a progress bar), and a mapping of precomputed arrays (see
    :func:`from_arrays`).

    Parameters
    ----------
    model : DigitsNetwork, fitted sklearn MLP, or dict of arrays
    stimuli : array-like, shape (n_stimuli, ...)
        Inputs; flattened per stimulus for MLPs.
    layers : sequence of str, optional
        Layers to return (default: all, early -> late).
    stimulus_ids : array-like, optional
        Stimulus id of each row (default 0..n-1), stored in ``samples["stimulus"]``.
    batch_size : int
        Stimuli per forward pass, bounding memory.
    pool : None, "mean", "max" or int
        Spatial pooling of convolutional (n, channels, height, width) layers, applied per
        batch (see :func:`pool_spatial`); None keeps every unit.
    progress : bool, default True
        Progress bar over batches (torch models).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> mlp = MLPClassifier(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(X / 16, y)
    >>> acts = activations(mlp, X[:5] / 16)
    >>> list(acts), acts["hidden1"].shape
    (['hidden1', 'output'], (5, 16))
    """
    if isinstance(model, Mapping):
        return from_arrays(model, stimulus_ids=stimulus_ids, layers=layers, pool=pool)
    if hasattr(model, "activations") and hasattr(model, "layers"):  # the bundled DigitsNetwork
        if pool is None:
            return model.activations(stimuli, layers=layers, stimulus_ids=stimulus_ids)
        outputs = model.forward(stimuli)
        names = list(model.layers) if layers is None else list(layers)
        return from_arrays({n: outputs[n] for n in names}, stimulus_ids=stimulus_ids, pool=pool)
    if type(model).__module__.startswith("torch") or any(c.__module__.startswith("torch.nn") for c in type(model).__mro__):
        arrays = _torch_activations(model, stimuli, layers, batch_size, pool, progress)
        return from_arrays(arrays, stimulus_ids=stimulus_ids, pool=None)
    if hasattr(model, "coefs_") and hasattr(model, "intercepts_"):
        x = np.asarray(stimuli, dtype=float)
        x = x.reshape(len(x), -1)
        if x.shape[1] != model.coefs_[0].shape[0]:
            raise ShapeMismatchError(
                f"stimuli have {x.shape[1]} values each but the MLP expects "
                f"{model.coefs_[0].shape[0]} inputs"
            )
        chunks = [_mlp_activations(model, x[s : s + batch_size]) for s in range(0, len(x), batch_size)]
        arrays = {name: np.concatenate([c[name] for c in chunks]) for name in chunks[0]}
        return from_arrays(arrays, stimulus_ids=stimulus_ids, layers=layers, pool=pool)
    raise ArgumentError(
        f"model of type {type(model).__name__} is not supported; expected the bundled digits "
        f"network, a fitted scikit-learn MLP, a torch.nn.Module, or a dict of layer arrays"
    )
