"""torch_activations and onnx_activations (neurotk.io.networks) against manual forward passes.

The torch reference is a forward pass written here in numpy from the module's weights
(convolution as an explicit sum over kernel offsets, batch norm from its running
statistics); the ONNX references are torch itself on the model the test exports, and
numpy on a graph built with ``onnx.helper``.
"""

import numpy as np
import pytest

from neurotk.errors import (
    ArgumentError,
    DataFormatError,
    NonFiniteDataError,
    ShapeMismatchError,
)
from neurotk.io import activations, onnx_activations, torch_activations

torch = pytest.importorskip("torch")


# --------------------------------------------------------------------------- numpy reference
def _conv2d(x, w, b, padding):
    """Cross-correlation (what torch calls convolution), stride 1: a sum over kernel offsets."""
    n, _, h, wd = x.shape
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    oh, ow = h + 2 * padding - k + 1, wd + 2 * padding - k + 1
    out = np.zeros((n, w.shape[0], oh, ow))
    for dy in range(k):
        for dx in range(k):
            out += np.einsum("nchw,oc->nohw", xp[:, :, dy : dy + oh, dx : dx + ow], w[:, :, dy, dx])
    return out + b[None, :, None, None]


def _maxpool2(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(4, 6, 3), torch.nn.ReLU(),
        )
        self.dropout = torch.nn.Dropout(0.5)
        self.fc = torch.nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        return self.fc(self.dropout(torch.flatten(self.features(x), 1)))


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = Net()
    bn = model.features[1]
    with torch.no_grad():  # non-trivial running statistics, so eval and training mode differ
        bn.running_mean.copy_(torch.linspace(-0.5, 0.5, 4))
        bn.running_var.copy_(torch.linspace(0.5, 2.0, 4))
        bn.weight.copy_(torch.linspace(0.8, 1.2, 4))
        bn.bias.copy_(torch.linspace(-0.1, 0.1, 4))
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).normal(size=(10, 3, 8, 8))


def _reference(model, x):
    """The eval-mode forward pass in numpy: every layer's output."""
    p = {k: v.detach().double().numpy() for k, v in model.state_dict().items()}
    conv1 = _conv2d(x, p["features.0.weight"], p["features.0.bias"], 1)
    bn = ((conv1 - p["features.1.running_mean"][None, :, None, None])
          / np.sqrt(p["features.1.running_var"][None, :, None, None] + 1e-5)
          * p["features.1.weight"][None, :, None, None] + p["features.1.bias"][None, :, None, None])
    relu1 = np.maximum(bn, 0)
    pool = _maxpool2(relu1)
    conv2 = _conv2d(pool, p["features.4.weight"], p["features.4.bias"], 0)
    relu2 = np.maximum(conv2, 0)
    fc = relu2.reshape(len(x), -1) @ p["fc.weight"].T + p["fc.bias"]
    return {"features.0": conv1, "features.2": relu1, "features.3": pool, "features.5": relu2, "fc": fc}


# --------------------------------------------------------------------------- torch
def test_torch_activations_match_a_manual_forward_pass(net, images, capsys):
    ref = _reference(net, images.astype(np.float32).astype(np.float64))
    names = list(ref)
    net.train()  # the pass runs in eval mode (batch norm statistics, no dropout) and restores this
    acts = torch_activations(net, images, layers=names, batch_size=3, stimulus_ids=np.arange(100, 110))
    assert net.training and all(not m._forward_hooks for m in net.modules())
    assert "torch activations" in capsys.readouterr().err  # the progress bar
    assert list(acts) == names
    for name in names:
        rec = acts[name]
        np.testing.assert_allclose(rec.data, ref[name].reshape(10, -1), rtol=1e-5, atol=1e-5)
        assert rec.dtype == np.float64 and rec.meta["layer_shape"] == ref[name].shape[1:]
        assert rec.samples["stimulus"].tolist() == list(range(100, 110))
        assert (rec.units["source"] == "model").all() and (rec.units["layer"] == name).all()
    units = acts["features.3"].units  # spatial units keep channel, y, x in C-order
    assert units[["channel", "y", "x"]].iloc[17].tolist() == [1, 0, 1] and units["unit_id"].iloc[0] == "features.3:0"


@pytest.mark.parametrize("pooling", ["mean", "max", 2])
def test_torch_activations_pool_spatial_maps(net, images, pooling):
    ref = _reference(net, images.astype(np.float32).astype(np.float64))["features.2"]  # (10, 4, 8, 8)
    if pooling == "mean":
        expected = ref.mean(axis=(2, 3))
    elif pooling == "max":
        expected = ref.max(axis=(2, 3))
    else:  # 2 x 2 grid of 4 x 4 blocks: adaptive average pooling, from torch
        expected = torch.nn.functional.adaptive_avg_pool2d(torch.as_tensor(ref), 2).numpy().reshape(10, -1)
    rec = torch_activations(net, images, layers="features.2", pooling=pooling, batch_size=4, progress=False)["features.2"]
    np.testing.assert_allclose(rec.data, expected, rtol=1e-5, atol=1e-5)
    assert rec.meta["pooling"] == pooling and rec.meta["layer_shape"] == (4, 8, 8)


def test_torch_activations_defaults_tensors_and_the_activations_entry_point(net, images):
    x = torch.as_tensor(images, dtype=torch.float32)
    acts = torch_activations(net, x, progress=False, dtype=np.float32)
    assert list(acts) == ["features", "dropout", "fc"]  # top-level children
    assert acts["fc"].dtype == np.float32
    via = activations(net, images, layers=["fc"], batch_size=4, progress=False)["fc"]
    np.testing.assert_allclose(via.data, acts["fc"].data, rtol=1e-6, atol=1e-6)


def test_torch_activations_errors(net, images):
    with pytest.raises(ArgumentError, match=r"not submodules.*available: .*features\.0"):
        torch_activations(net, images, layers=["conv9"], progress=False)
    with pytest.raises(ArgumentError, match="names a layer twice"):
        torch_activations(net, images, layers=["fc", "fc"], progress=False)
    with pytest.raises(ArgumentError, match="pooling='median'"):
        torch_activations(net, images, layers="fc", pooling="median", progress=False)
    with pytest.raises(ArgumentError, match="expected a torch.nn.Module"):
        torch_activations(lambda x: x, images, progress=False)
    with pytest.raises(ArgumentError, match="batch_size"):
        torch_activations(net, images, batch_size=0, progress=False)
    bad = images.copy()
    bad[2, 0, 0, 0] = np.nan
    with pytest.raises(NonFiniteDataError, match="images"):
        torch_activations(net, bad, progress=False)
    relu = torch.nn.ReLU()
    shared = torch.nn.Sequential(torch.nn.Linear(4, 4), relu, torch.nn.Linear(4, 4), relu)
    with pytest.raises(ArgumentError, match=r"layer '1' ran 2 times in one forward pass"):
        torch_activations(shared, np.zeros((3, 4)), layers=["1"], progress=False)
    assert not relu._forward_hooks  # removed after the failure too


# --------------------------------------------------------------------------- ONNX
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper


def _export(model, path, n_channels=3, side=8):
    import warnings

    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, (torch.zeros(2, n_channels, side, side),), str(path), dynamo=False,
                          input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "n"}, "logits": {0: "n"}})
    return onnx.load(str(path))


def test_onnx_activations_match_torch_on_an_exported_model(net, images, tmp_path):
    path = tmp_path / "net.onnx"
    graph = _export(net, path).graph
    relu_nodes = [n.name for n in graph.node if n.op_type == "Relu"]
    pool_node = next(n.name for n in graph.node if n.op_type == "MaxPool")
    assert len(relu_nodes) == 2
    acts = onnx_activations(path, images, layers=[*relu_nodes, pool_node, "logits"], batch_size=4, progress=False)
    ref = torch_activations(net, images, layers=["features.2", "features.5", "features.3", "fc"], progress=False)
    for got, want in zip(acts.values(), ref.values()):
        np.testing.assert_allclose(got.data, want.data, rtol=1e-5, atol=1e-5)
        assert got.meta["layer_shape"] == want.meta["layer_shape"]
        same_columns = ["unit_id", "layer"]  # the rest of the units tables (channel, y, x ...) agree
        assert got.units.drop(columns=same_columns).equals(want.units.drop(columns=same_columns))
    assert list(acts) == [*relu_nodes, pool_node, "logits"]
    # the default is the model's outputs; pooling matches torch's; the file is not modified
    before = path.read_bytes()
    default = onnx_activations(path, images, progress=False)
    assert list(default) == ["logits"] and path.read_bytes() == before
    pooled = onnx_activations(path, images, layers=relu_nodes[0], pooling="mean", progress=False)[relu_nodes[0]]
    np.testing.assert_allclose(pooled.data, torch_activations(net, images, layers="features.2", pooling="mean",
                                                              progress=False)["features.2"].data, rtol=1e-5, atol=1e-5)
    via = activations(str(path), images, layers=["logits"], progress=False)["logits"]
    np.testing.assert_allclose(via.data, default["logits"].data)


def _tiny_model(path, batch=1):
    """relu(x @ W + b) -> y = h @ V, batch dimension fixed to ``batch``."""
    rng = np.random.default_rng(0)
    w, b, v = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2))
    inits = [helper.make_tensor(name, TensorProto.FLOAT, arr.shape, arr.astype(np.float32).ravel())
             for name, arr in (("W", w), ("b", b), ("V", v))]
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
             helper.make_node("Add", ["xw", "b"], ["z"], name="add"),
             helper.make_node("Relu", ["z"], ["h"], name="relu"),
             helper.make_node("MatMul", ["h", "V"], ["y"], name="readout")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 2])], initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return w, b, v


def test_onnx_activations_on_a_graph_built_with_onnx_helper(tmp_path):
    path = tmp_path / "tiny.onnx"
    w, b, v = _tiny_model(path, batch=1)  # a fixed batch of 1: runs one image at a time
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32).astype(np.float64)
    z = x @ w.astype(np.float32) + b.astype(np.float32)
    h = np.maximum(z, 0)
    acts = onnx_activations(path, x, layers=["add", "h", "y"], stimulus_ids=list("abcde"), progress=False)
    np.testing.assert_allclose(acts["add"].data, z, rtol=1e-5, atol=1e-5)  # node name -> its output
    np.testing.assert_allclose(acts["h"].data, h, rtol=1e-5, atol=1e-5)  # a tensor name
    np.testing.assert_allclose(acts["y"].data, h @ v.astype(np.float32), rtol=1e-5, atol=1e-5)
    assert acts["y"].samples["stimulus"].tolist() == list("abcde")
    path3 = tmp_path / "tiny3.onnx"
    _tiny_model(path3, batch=3)  # fixed batch of 3 for 5 images: the last batch is padded, then trimmed
    np.testing.assert_allclose(onnx_activations(path3, x, layers="h", progress=False)["h"].data, h, rtol=1e-5, atol=1e-5)


def test_onnx_activations_errors(tmp_path):
    path = tmp_path / "tiny.onnx"
    _tiny_model(path, batch=1)
    x = np.zeros((2, 4))
    with pytest.raises(DataFormatError, match="no such file"):
        onnx_activations(tmp_path / "missing.onnx", x)
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01junk")
    with pytest.raises(DataFormatError, match="junk.onnx"):
        onnx_activations(tmp_path / "junk.onnx", x)
    with pytest.raises(ArgumentError, match=r"neither nodes nor tensors.*node names: .*matmul"):
        onnx_activations(path, x, layers=["conv9"], progress=False)
    with pytest.raises(ShapeMismatchError, match=r"images has shape \(2, 2, 2\)"):
        onnx_activations(path, np.zeros((2, 2, 2)), progress=False)
    with pytest.raises(ArgumentError, match="input_name='z'"):
        onnx_activations(path, x, input_name="z", progress=False)
    with pytest.raises(ArgumentError, match="pooling=3.5"):
        onnx_activations(path, x, pooling=3.5, progress=False)
    two = helper.make_graph([helper.make_node("Add", ["a", "c"], ["s"], name="add")], "two",
                            [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 2]) for n in "ac"],
                            [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["n", 2])])
    onnx.save(helper.make_model(two, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "two.onnx"))
    with pytest.raises(ArgumentError, match=r"inputs \['a', 'c'\]; pass input_name="):
        onnx_activations(tmp_path / "two.onnx", np.zeros((2, 2)), progress=False)
