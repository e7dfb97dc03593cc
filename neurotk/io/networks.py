"""Network activations as Recordings: from array files, the bundled network, MLPs, torch or ONNX.

:func:`activations` runs stimuli through a network, :func:`torch_activations` and
:func:`onnx_activations` through your own torch module or ONNX file (models exported from
any framework), :func:`from_arrays` reads layers saved as arrays and :func:`pool_spatial`
pools convolutional layers. Each layer becomes a
Recording (stimuli x units) whose ``units`` table says ``source="model"`` and the layer
name, and whose ``samples`` table holds the stimulus ids, so it aligns with brain
recordings of the same stimuli.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_array, check_int
from ..errors import (
    ArgumentError,
    DataFormatError,
    NeurotkError,
    ShapeMismatchError,
    describe_values,
    require,
)
from ..recording import Recording
from ._files import check_input_path
from ._memory import check_memory, format_bytes

__all__ = ["activations", "from_arrays", "onnx_activations", "pool_spatial", "torch_activations"]

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


def _npy_header(fp):
    """(shape, dtype) of an .npy stream, read from its header only (nothing allocated)."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    else:  # 2.0 and 3.0 differ only in the header's length field and text encoding
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _check_npz_sizes(path: Path) -> None:
    """Refuse an .npz whose members declare more than they hold or than memory holds (zip bombs).

    Before anything is decompressed, each member's ``.npy`` header (its first bytes) gives
    the array's shape and type: the bytes they need (a Python int: no overflow) must not
    exceed the member's uncompressed size in the zip directory, and the sum over members
    (every layer is read into memory) must fit in the memory available to the process
    (:func:`~neurotk.io._memory.available_memory`: the operating system's available
    memory, and the ``RLIMIT_AS`` headroom where one is set).
    """
    import zipfile

    with zipfile.ZipFile(path) as zf:
        members = [info for info in zf.infolist() if not info.is_dir()]
        total = 0
        for info in members:
            if not info.filename.endswith(".npy"):  # numpy reads other members whole, as bytes
                total += info.file_size
                continue
            with zf.open(info) as fp:
                shape, dtype = _npy_header(fp)
                header_bytes = fp.tell()
            need = math.prod(shape) * dtype.itemsize
            if need > info.file_size - header_bytes:
                raise DataFormatError(
                    f"{path}: member {info.filename!r} declares an array of shape {shape} of {dtype} "
                    f"({format_bytes(need)}), but holds {format_bytes(max(0, info.file_size - header_bytes))} of data; "
                    f"expected the whole array its header describes. The file is truncated or corrupt"
                )
            total += max(need, info.file_size)
        check_memory(
            total,
            f"{path}: {len(members)} arrays of {format_bytes(total)} uncompressed (from "
            f"{format_bytes(path.stat().st_size)} compressed; largest member "
            f"{max(members, key=lambda i: i.file_size).filename!r} declares "
            f"{format_bytes(max(i.file_size for i in members))})" if members else f"{path}: no arrays",
            "a smaller file, or save the layers as separate .npy files (memory-mapped)",
            error=DataFormatError,
        )


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
        path = check_input_path(path, "an .npz or .npy file of layer activations")  # a FIFO would block
        meta["path"] = str(path)
        try:
            if path.suffix == ".npy":
                arrays = {path.stem: np.load(path, allow_pickle=False, mmap_mode="r")}
            else:
                _check_npz_sizes(path)
                with np.load(path, allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in npz.files}
        except NeurotkError:
            raise
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


def _check_pooling(pooling, name: str = "pooling"):
    """``pooling`` checked before any forward pass (see :func:`pool_spatial`)."""
    if pooling is None or pooling in ("mean", "max"):
        return pooling
    if isinstance(pooling, (int, np.integer)) and not isinstance(pooling, bool) and pooling >= 1:
        return int(pooling)
    raise ArgumentError(f"{name}={pooling!r}; expected None (flatten), 'mean', 'max' or a positive integer grid size")


def _check_stimuli(images, name: str = "images") -> np.ndarray:
    """A stack of network inputs (n, ...) as float32, checked at the door."""
    return check_array(images, name, ndim=None, min_ndim=2, dtype=np.float32, recording=False,
                       expected=f"a stack of network inputs of shape (n_{name}, ...), e.g. (n, channels, height, "
                                f"width)", finite_hint="network inputs must be finite")


def _layer_names(layers, default: list[str]) -> list[str]:
    if layers is None:
        return list(default)
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names or not all(isinstance(n, str) for n in names):
        raise ArgumentError(f"layers={layers!r}; expected a layer name or a non-empty list of names")
    if len(set(names)) != len(names):
        raise ArgumentError(f"layers={layers!r} names a layer twice; expected each layer once")
    return names


def _batches(n: int, batch_size: int, progress: bool, desc: str):
    from .._console import progress_bar

    return progress_bar(range(0, n, batch_size), disable=not progress, desc=desc, unit="batch")


def _recordings(arrays: dict, shapes: dict, stimulus_ids, meta: dict, pooling, dtype) -> dict:
    """Per-layer arrays (already pooled) -> dict of Recordings with the numpy networks' tables."""
    out = {}
    for name, values in arrays.items():
        layer_meta = {**meta, "layer_shape": tuple(shapes[name]), "pooling": pooling,
                      "units_of_measure": "activation (a.u.)", "source": "model"}
        out[name] = _layer_recording(name, values.astype(dtype, copy=False), stimulus_ids, None, layer_meta, "model")
    return out


def torch_activations(module, images, layers: Sequence[str] | str | None = None, pooling=None, batch_size: int = 64,
                      progress: bool = True, stimulus_ids=None, dtype=np.float64) -> dict:
    """Activations of a torch module's layers (forward hooks, batched) -> dict of layer -> Recording.

    The module is put in ``eval()`` mode for the pass (and back afterwards) and run under
    ``torch.inference_mode()`` in batches on the device of its first parameter, with a
    forward hook on each named submodule; hooks are removed even when the pass fails.
    Spatial maps (n, channels, height, width) are kept whole and flattened (the units
    table keeps ``channel``, ``y`` and ``x``), or pooled per batch with ``pooling``, so
    memory holds only the pooled activations. Needs the optional ``torch`` package.

    Parameters
    ----------
    module : torch.nn.Module
    images : array-like or torch.Tensor, shape (n, ...)
        The inputs as the module expects them (e.g. (n, channels, height, width),
        normalised), sent as float32 tensors.
    layers : str or list of str, optional
        Names of submodules, as in ``module.named_modules()`` (e.g. ``"features.3"``);
        default: the top-level children. A submodule must run exactly once per forward pass.
    pooling : None, "mean", "max" or int, default None
        None flattens spatial maps (every unit kept); otherwise see :func:`pool_spatial`.
    batch_size : int, default 64
        Images per forward pass, bounding memory.
    progress : bool, default True
        A tqdm progress bar over batches.
    stimulus_ids : array-like, shape (n,), optional
        ``samples["stimulus"]`` (default 0..n-1), to align with brain recordings.
    dtype : numpy dtype, default float64
        Of the returned activations (float32 halves memory).

    Returns
    -------
    dict of str -> Recording
        In ``layers`` order; ``source="model"`` and ``layer`` in the units tables,
        ``layer_shape`` (before pooling) and ``pooling`` in ``meta``.

    Examples
    --------
    >>> import numpy as np, pytest
    >>> torch = pytest.importorskip("torch")  # the optional torch package
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
    ...                           torch.nn.Linear(4 * 6 * 6, 2))
    >>> acts = torch_activations(net, np.zeros((5, 3, 8, 8)), layers=["1", "3"], pooling="mean",
    ...                          batch_size=2, progress=False)
    >>> acts["1"].shape, acts["3"].shape, acts["1"].meta["layer_shape"]
    ((5, 4), (5, 2), (4, 6, 6))
    """
    torch = require("torch", "Activations of torch modules", extra="torch")
    if not isinstance(module, torch.nn.Module):
        raise ArgumentError(f"module has type {type(module).__name__}; expected a torch.nn.Module")
    if torch.is_tensor(images):
        images = images.detach().cpu().numpy()
    x = _check_stimuli(images)
    batch_size = check_int(batch_size, "batch_size")
    pooling = _check_pooling(pooling)
    modules = dict(module.named_modules())
    names = _layer_names(layers, [name for name, _ in module.named_children()])
    missing = [name for name in names if name not in modules]
    if missing or not names:
        raise ArgumentError(
            f"layers {describe_values(missing)} are not submodules of the model; available: "
            f"{describe_values([n for n in modules if n], limit=30)}"
        )
    first = next(module.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    stored: dict = {name: [] for name in names}

    def hook_for(name):
        def hook(_module, _inputs, output):
            if isinstance(output, (tuple, list)) and output:
                output = output[0]
            if not torch.is_tensor(output):
                raise ArgumentError(f"layer {name!r} returned a {type(output).__name__}; expected a tensor "
                                    f"(or a tuple whose first item is one)")
            stored[name].append(output.detach().float().cpu().numpy())

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    arrays: dict = {name: [] for name in names}
    shapes: dict = {}
    was_training = module.training
    module.eval()
    try:
        with torch.inference_mode():
            for start in _batches(len(x), batch_size, progress, "torch activations"):
                batch = x[start : start + batch_size]
                module(torch.as_tensor(batch, device=device))
                for name in names:  # one iteration per layer
                    calls = stored[name]
                    if len(calls) != 1:
                        raise ArgumentError(
                            f"layer {name!r} ran {len(calls)} times in one forward pass; expected once (a "
                            f"module used twice has no single activation: hook a submodule that runs once)"
                        )
                    value = calls.pop()
                    if value.ndim < 1 or value.shape[0] != len(batch):
                        raise ShapeMismatchError(
                            f"layer {name!r} gave shape {value.shape} for a batch of {len(batch)} images; "
                            f"expected one row per image"
                        )
                    shapes[name] = value.shape[1:]
                    arrays[name].append(pool_spatial(value, pooling))
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    meta = {"model": type(module).__name__, "provenance": "neurotk.io.torch_activations"}
    return _recordings({n: np.concatenate(arrays[n]) for n in names}, shapes, stimulus_ids, meta, pooling, dtype)


#: onnxruntime's input types -> numpy dtypes.
_ORT_DTYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}


def onnx_activations(path, images, layers: Sequence[str] | str | None = None, pooling=None, batch_size: int = 64,
                     progress: bool = True, stimulus_ids=None, input_name: str | None = None,
                     dtype=np.float64) -> dict:
    """Activations of an ONNX model's layers (onnxruntime) -> dict of layer -> Recording.

    For models exported from any framework (``torch.onnx.export``, tf2onnx, skl2onnx ...).
    Intermediate values are exposed by adding them to a copy of the graph as outputs (the
    file is never modified); the model then runs once per batch on onnxruntime's CPU
    provider. A model whose batch dimension is fixed (often 1) runs in batches of that
    size, the last one padded and trimmed. Needs the optional ``onnx`` and ``onnxruntime``
    packages.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file (models over 2 GB, with external data, are not supported).
    images : array-like, shape (n, ...)
        Inputs as the model expects them, cast to the input's type (float32 usually).
    layers : str or list of str, optional
        Node names (their first output is taken; e.g. ``"/features/features.3/Relu"`` in a
        torch export) or names of tensors in the graph; default: the model's outputs.
    pooling : None, "mean", "max" or int, default None
        None flattens spatial maps; otherwise see :func:`pool_spatial`.
    batch_size : int, default 64
        Images per run (unless the model fixes its batch size).
    progress : bool, default True
        A tqdm progress bar over batches.
    stimulus_ids : array-like, shape (n,), optional
        ``samples["stimulus"]`` (default 0..n-1).
    input_name : str, optional
        The graph input fed with ``images``; needed only when the model has several.
    dtype : numpy dtype, default float64
        Of the returned activations.

    Returns
    -------
    dict of str -> Recording
        In ``layers`` order, with the same tables as :func:`torch_activations`.

    Raises
    ------
    DataFormatError
        A missing or unreadable file.
    ArgumentError
        Unknown layers or inputs (the message lists the node names).

    Examples
    --------
    >>> import pytest, tempfile, pathlib
    >>> onnx = pytest.importorskip("onnx"); _ = pytest.importorskip("onnxruntime")  # optional packages
    >>> from onnx import TensorProto, helper
    >>> x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])
    >>> y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])
    >>> graph = helper.make_graph([helper.make_node("Relu", ["x"], ["h"], name="relu"),
    ...                            helper.make_node("Neg", ["h"], ["y"], name="neg")], "g", [x], [y])
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.onnx"
    >>> onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    >>> acts = onnx_activations(path, [[1.0, -2.0, 3.0]], layers=["relu", "y"], progress=False)
    >>> acts["relu"].data.tolist(), acts["y"].data.tolist()
    ([[1.0, 0.0, 3.0]], [[-1.0, -0.0, -3.0]])
    """
    onnx = require("onnx", "Activations of ONNX models", extra="onnx")
    ort = require("onnxruntime", "Activations of ONNX models", extra="onnx")
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"{path}: no such file; expected an .onnx model file")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf DecodeError, missing external data ...
        raise DataFormatError(f"{path}: could not be read as an ONNX model ({type(exc).__name__}: {exc})") from exc
    x = _check_stimuli(images)
    batch_size = check_int(batch_size, "batch_size")
    pooling = _check_pooling(pooling)
    graph = model.graph
    outputs = [o.name for o in graph.output]
    tensors = set(outputs) | {t for node in graph.node for t in node.output if t}
    by_node = {node.name: node.output[0] for node in graph.node if node.name and node.output and node.output[0]}
    names = _layer_names(layers, outputs)
    unknown = [n for n in names if n not in tensors and n not in by_node]
    if unknown:
        raise ArgumentError(
            f"layers {describe_values(unknown)} are neither nodes nor tensors of {path.name}; node names: "
            f"{describe_values(list(by_node), limit=30)}; outputs: {describe_values(outputs)}"
        )
    tensor_of = {n: n if n in tensors else by_node[n] for n in names}
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
        known = {v.name: v for v in (*inferred.graph.value_info, *inferred.graph.output)}
    except (onnx.shape_inference.InferenceError, ValueError):  # outputs are then added without a declared type
        known = {}
    for tensor in dict.fromkeys(tensor_of.values()):
        if tensor in outputs:
            continue
        info = known.get(tensor)
        if info is not None and info.type.HasField("tensor_type"):
            graph.output.append(onnx.helper.make_tensor_value_info(tensor, info.type.tensor_type.elem_type, None))
        else:
            graph.output.append(onnx.ValueInfoProto(name=tensor))
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise DataFormatError(f"{path}: onnxruntime could not load the model ({type(exc).__name__}: {exc})") from exc
    inputs = {i.name: i for i in session.get_inputs()}
    if input_name is None:
        if len(inputs) != 1:
            raise ArgumentError(f"{path.name} has inputs {list(inputs)}; pass input_name= to say which gets images")
        input_name = next(iter(inputs))
    if input_name not in inputs:
        raise ArgumentError(f"input_name={input_name!r}; {path.name} has inputs {list(inputs)}")
    info = inputs[input_name]
    if info.type not in _ORT_DTYPES:
        raise ArgumentError(f"{path.name}: input {input_name!r} has type {info.type}; expected a float tensor")
    if len(info.shape) != x.ndim:
        raise ShapeMismatchError(
            f"images has shape {x.shape}; {path.name} expects input {input_name!r} of shape {info.shape}"
        )
    fixed = info.shape[0] if isinstance(info.shape[0], int) and info.shape[0] > 0 else None
    step = fixed or batch_size
    fetch = list(dict.fromkeys(tensor_of.values()))
    arrays: dict = {n: [] for n in names}
    shapes: dict = {}
    for start in _batches(len(x), step, progress, "onnx activations"):
        batch = x[start : start + step].astype(_ORT_DTYPES[info.type], copy=False)
        n_real = len(batch)
        if fixed and n_real < fixed:  # a fixed batch size: pad the last batch, then trim
            batch = np.concatenate([batch, np.zeros((fixed - n_real, *batch.shape[1:]), batch.dtype)])
        values = dict(zip(fetch, session.run(fetch, {input_name: batch})))
        for name in names:  # one iteration per layer
            value = np.asarray(values[tensor_of[name]])
            if value.ndim < 1 or value.shape[0] != len(batch):
                raise ShapeMismatchError(
                    f"layer {name!r} gave shape {value.shape} for a batch of {len(batch)} images; expected "
                    f"one row per image"
                )
            shapes[name] = value.shape[1:]
            arrays[name].append(pool_spatial(value[:n_real], pooling))
    meta = {"model": str(path), "provenance": "neurotk.io.onnx_activations"}
    return _recordings({n: np.concatenate(arrays[n]) for n in names}, shapes, stimulus_ids, meta, pooling, dtype)


def activations(model, stimuli, layers: Sequence[str] | None = None, stimulus_ids=None, batch_size: int = 256,
                pool=None, progress: bool = True) -> dict:
    """Activations of a network's layers to ``stimuli`` -> dict of layer name -> Recording.

    Supported models: the bundled :func:`~neurotk.datasets.digits_network`, any fitted
    scikit-learn ``MLPClassifier``/``MLPRegressor`` (layers ``hidden1``, ``hidden2`` ...,
    ``output``), any ``torch.nn.Module`` (see :func:`torch_activations`), the path of an
    ``.onnx`` file (see :func:`onnx_activations`), and a mapping of precomputed arrays (see
    :func:`from_arrays`).

    Parameters
    ----------
    model : DigitsNetwork, fitted sklearn MLP, torch.nn.Module, path of an .onnx file, or dict of arrays
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
        Progress bar over batches (torch and ONNX models).

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
        return torch_activations(model, stimuli, layers=layers, pooling=pool, batch_size=batch_size,
                                 progress=progress, stimulus_ids=stimulus_ids)
    if isinstance(model, (str, Path)) and Path(model).suffix == ".onnx":
        return onnx_activations(model, stimuli, layers=layers, pooling=pool, batch_size=batch_size,
                                progress=progress, stimulus_ids=stimulus_ids)
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
