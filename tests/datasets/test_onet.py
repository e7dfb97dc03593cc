"""Tests of the pretrained O-Net of MTCNN (neurotk.datasets.onet).

The reference forward pass below is written from the architecture of ipazc/mtcnn
(``mtcnn/network/factory.py``, ``build_onet``; input prepared as in ``mtcnn/mtcnn.py``,
``__stage3``) and ../shared/realdata/README.md, one image at a time: each output channel a
``scipy.signal.correlate`` over (rows, columns, input channels), max-pooling by explicit
loops over output positions with windows clipped to the map (Keras' "same" pads at the
end), the flatten in Keras' (rows, columns, channels) order of the transposed map. The
resize is checked against area averaging computed by splitting every pixel into
sub-pixels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate

from neurotk import (
    ArgumentError,
    NeurotkWarning,
    NonFiniteDataError,
    Recording,
    ShapeMismatchError,
)
from neurotk.datasets import ONet, pretrained_onet
from neurotk.datasets import onet as O

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
MTCNN_NPZ = REALDATA / "mtcnn" / "mtcnn_weights.npz"
RSA92_MAT = REALDATA / "rsa92" / "Kriegeskorte_Neuron2008_supplementalData.mat"
needs_mtcnn = pytest.mark.skipif(not MTCNN_NPZ.is_file(), reason=f"{MTCNN_NPZ} is absent")


@pytest.fixture(scope="module")
def net():
    return pretrained_onet()


@pytest.fixture(scope="module")
def weights():
    """The original weights where ../shared/realdata has them, else the shipped ones."""
    if MTCNN_NPZ.is_file():
        with np.load(MTCNN_NPZ, allow_pickle=False) as z:
            return {k[len("onet/"):]: z[k].astype(np.float64) for k in z.files if k.startswith("onet/")}
    with np.load(O.WEIGHTS_FILE, allow_pickle=False) as z:
        return {k: z[k].astype(np.float64) for k in z.files}


@pytest.fixture(scope="module")
def stimuli_92():
    """The 92 images (RGB uint8) and their face / human flags: the packaged
    ``load_92_objects()`` where it exists, else the original .mat, else skip."""
    try:
        from neurotk.datasets import load_92_objects
    except ImportError:
        load_92_objects = None
    if load_92_objects is not None:
        objects = load_92_objects()
        cats = objects.categories
        return (np.asarray(objects.images), cats["face"].to_numpy().astype(bool),
                cats["human"].to_numpy().astype(bool))
    if not RSA92_MAT.is_file():
        pytest.skip(f"{RSA92_MAT} is absent and neurotk.datasets.load_92_objects does not exist")
    from scipy.io import loadmat

    stimuli = loadmat(str(RSA92_MAT))["stimuli_92objs"][0]
    images = np.stack([s["image"] for s in stimuli])
    face = np.array([int(np.asarray(s["face"]).ravel()[0]) for s in stimuli]).astype(bool)
    human = np.array([int(np.asarray(s["human"]).ravel()[0]) for s in stimuli]).astype(bool)
    return images, face, human


# --------------------------------------------------------------------------- the reference
def ref_resize(image: np.ndarray, side: int = 48) -> np.ndarray:
    """Area averaging by sub-pixels, one axis after the other: split each pixel into
    ``side`` equal parts, then average consecutive runs of ``length`` parts (one run per
    output pixel)."""
    out = image.astype(float)
    for axis in (0, 1):
        length = out.shape[axis]
        fine = np.repeat(out, side, axis=axis)
        shape = list(out.shape)
        shape[axis:axis + 1] = [side, length]
        out = fine.reshape(shape).mean(axis=axis + 1)
    return out


def ref_conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """One map (H, W, C_in), kernel (kh, kw, C_in, C_out): cross-correlation, "valid"."""
    return np.stack([correlate(x, kernel[..., o], mode="valid")[..., 0] + bias[o]
                     for o in range(kernel.shape[-1])], axis=-1)


def ref_prelu(x, alpha):
    return np.maximum(x, 0) + alpha * np.minimum(x, 0)


def ref_pool(x: np.ndarray, size: int, stride: int, same: bool) -> np.ndarray:
    """Max-pool one map (H, W, C); "same": ceil(L / stride) outputs, padding at the end
    first (TensorFlow puts the odd pixel after), windows clipped to the map."""
    length = x.shape[0]
    assert x.shape[1] == length
    if same:
        n_out = -(-length // stride)
        before = max((n_out - 1) * stride + size - length, 0) // 2
    else:
        n_out = (length - size) // stride + 1
        before = 0
    out = np.empty((n_out, n_out, x.shape[2]))
    for i in range(n_out):
        r0 = i * stride - before
        for j in range(n_out):
            c0 = j * stride - before
            block = x[max(r0, 0):min(r0 + size, length), max(c0, 0):min(c0 + size, length)]
            out[i, j] = block.max(axis=(0, 1))
    return out


def ref_forward(image: np.ndarray, w: dict) -> dict:
    """The O-Net on one RGB image (H, W, 3) on 0..255, as the reference prepares and runs it."""
    img = image.astype(float)
    if img.shape[:2] != (48, 48):
        img = ref_resize(img)
    x = (img - 127.5) * 0.0078125
    x = np.transpose(x, (1, 0, 2))  # the reference's np.transpose(tempimg, (3, 1, 0, 2)) for one crop
    c1 = ref_prelu(ref_conv(x, w["conv1_kernel"], w["conv1_bias"]), w["prelu1"])
    c2 = ref_prelu(ref_conv(ref_pool(c1, 3, 2, True), w["conv2_kernel"], w["conv2_bias"]), w["prelu2"])
    c3 = ref_prelu(ref_conv(ref_pool(c2, 3, 2, False), w["conv3_kernel"], w["conv3_bias"]), w["prelu3"])
    c4 = ref_prelu(ref_conv(ref_pool(c3, 2, 2, True), w["conv4_kernel"], w["conv4_bias"]), w["prelu4"])
    flat = np.array([c4[i, j, c] for i in range(3) for j in range(3) for c in range(128)])  # Keras Flatten
    f5 = ref_prelu(flat @ w["fc5_weight"] + w["fc5_bias"], w["prelu5"])
    z = f5 @ w["fc6_1_weight"] + w["fc6_1_bias"]
    prob = np.exp(z) / np.exp(z).sum()
    # conv maps back in image orientation, (channels, rows, columns)
    maps = {name: m.transpose(2, 1, 0) for name, m in (("conv1", c1), ("conv2", c2), ("conv3", c3), ("conv4", c4))}
    return {**maps, "fc5": f5, "face_prob": prob[1], "prob": prob,
            "box": f5 @ w["fc6_2_weight"] + w["fc6_2_bias"],
            "landmarks": f5 @ w["fc6_3_weight"] + w["fc6_3_bias"]}


def _test_images():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, size=(48, 48, 3)).astype(np.uint8)
    # a smooth blob, so that PReLU's negative side and the pooling both matter
    yy, xx = np.mgrid[:48, :48]
    blob = 255 * np.exp(-((yy - 20) ** 2 + (xx - 30) ** 2) / 150.0)
    b = np.stack([blob, 0.5 * blob + 60, 255 - blob], axis=-1)
    return a, b


# --------------------------------------------------------------------------- the weights
@needs_mtcnn
def test_shipped_weights_are_the_original_onet_weights():
    with np.load(MTCNN_NPZ, allow_pickle=False) as z:
        original = {k[len("onet/"):]: z[k] for k in z.files if k.startswith("onet/")}
    with np.load(O.WEIGHTS_FILE, allow_pickle=False) as z:
        shipped = {k: z[k] for k in z.files}
    assert set(shipped) == set(original)
    for k, value in original.items():
        assert shipped[k].dtype == np.float32
        np.testing.assert_array_equal(shipped[k], value, err_msg=k)


def test_licence_and_citation_ship_beside_the_weights():
    text = O.LICENSE_FILE.read_text(encoding="utf-8")
    assert "MIT License" in text and "Iván de Paz Centeno" in text
    assert "Zhang" in text and "onet_weights.npz" in text
    assert O.WEIGHTS_FILE.stat().st_size < 2_000_000


# --------------------------------------------------------------------------- forward pass
def test_forward_matches_the_independent_reference(net, weights):
    a, b = _test_images()
    images = np.stack([a, b.round().astype(np.uint8)])
    out = net.forward(images)
    probs = net.predict_proba(images)
    extra = net.regressions(images)
    for k, image in enumerate(images):
        ref = ref_forward(image, weights)
        for name in ("conv1", "conv2", "conv3", "conv4", "fc5"):
            assert out[name][k].shape == ref[name].shape, name
            np.testing.assert_allclose(out[name][k], ref[name], rtol=1e-9, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(out["face_prob"][k], ref["face_prob"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(probs[k], ref["prob"], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(extra["box"][k], ref["box"], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(extra["landmarks"][k], ref["landmarks"], rtol=1e-9, atol=1e-9)
    assert out["conv1"].shape == (2, 32, 46, 46) and out["conv4"].shape == (2, 128, 3, 3)
    # negative pre-activations exist, so the PReLU slopes are exercised
    assert (out["conv1"] < 0).any() and (out["fc5"] < 0).any()


def test_float_and_uint8_input_agree(net):
    a, b = _test_images()
    b8 = b.round().astype(np.uint8)
    as_uint8 = net.forward(np.stack([a, b8]))["fc5"]
    as_float = net.forward(np.stack([a, b8]).astype(np.float32))["fc5"]
    np.testing.assert_allclose(as_uint8, as_float, rtol=1e-12)
    # a float image off the integer grid is used as it is (no rounding)
    assert not np.allclose(net.forward(b[None])["fc5"], net.forward(b8[None])["fc5"])


def test_batch_size_does_not_change_the_result(net):
    a, b = _test_images()
    images = np.stack([a, b, a[::-1], b[:, ::-1]])
    whole = net.forward(images)
    small = ONet(batch_size=3).forward(images)
    for name in whole:
        np.testing.assert_allclose(small[name], whole[name], rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- resize
@pytest.mark.parametrize("shape", [(96, 96), (60, 50), (175, 175), (20, 31), (48, 70)])
def test_resize_is_area_averaging(shape):
    rng = np.random.default_rng(sum(shape))
    images = rng.uniform(0, 255, size=(2, *shape, 3))
    got = O.resize_area(images)
    assert got.shape == (2, 48, 48, 3)
    for k in range(2):
        np.testing.assert_allclose(got[k], ref_resize(images[k]), rtol=1e-10, atol=1e-9)


def test_resize_by_two_is_the_block_mean_and_48_is_untouched():
    images = np.random.default_rng(0).uniform(0, 255, size=(1, 96, 96, 3))
    block = images.reshape(1, 48, 2, 48, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(O.resize_area(images), block, rtol=1e-12)
    same = images[:, :48, :48]
    assert O.resize_area(same) is same


def test_other_sizes_are_resized_before_the_network(net, weights):
    rng = np.random.default_rng(5)
    image = rng.uniform(0, 255, size=(61, 53, 3))
    out = net.forward(image[None])
    ref = ref_forward(image, weights)
    np.testing.assert_allclose(out["fc5"][0], ref["fc5"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out["conv2"][0], ref["conv2"], rtol=1e-9, atol=1e-9)
    resized = net.forward(O.resize_area(image[None]))
    np.testing.assert_allclose(out["fc5"], resized["fc5"], rtol=1e-12)


# --------------------------------------------------------------------------- activations
def test_activations_are_recordings_with_the_digits_network_interface(net):
    a, b = _test_images()
    images = np.stack([a, b])
    recs = net.activations(images, stimulus_ids=["s1", "s2"])
    assert list(recs) == net.layers == ["conv1", "conv2", "conv3", "conv4", "fc5", "face_prob"]
    out = net.forward(images)
    sizes = {"conv1": 32 * 46 * 46, "conv2": 64 * 21 * 21, "conv3": 64 * 8 * 8, "conv4": 128 * 9,
             "fc5": 256, "face_prob": 1}
    for name, rec in recs.items():
        assert isinstance(rec, Recording)
        assert rec.shape == (2, sizes[name])
        assert rec.samples["stimulus"].tolist() == ["s1", "s2"]
        assert (rec.units["source"] == "model").all() and (rec.units["layer"] == name).all()
        assert rec.units["unit_id"].iloc[0] == f"{name}:0"
        assert rec.meta["source"] == "model" and rec.meta["layer"] == name
    # the y / x / channel columns locate each unit in forward()'s maps
    units = recs["conv2"].units
    pick = np.array([0, 5, 1000, 28000])
    c, y, x = (units[col].to_numpy()[pick] for col in ("channel", "y", "x"))
    np.testing.assert_array_equal(recs["conv2"].data[:, pick], out["conv2"][:, c, y, x])
    np.testing.assert_allclose(recs["face_prob"].data[:, 0], out["face_prob"])
    assert recs["face_prob"].meta["units_of_measure"] == "probability"
    unit_ids = np.concatenate([r.units["unit_id"].to_numpy() for r in recs.values()])
    assert len(set(unit_ids)) == len(unit_ids)
    sub = net.activations(images, layers="fc5")
    assert list(sub) == ["fc5"] and sub["fc5"].samples["stimulus"].tolist() == [0, 1]


# --------------------------------------------------------------------------- bad input
def test_bad_images_are_refused_clearly(net):
    good = np.zeros((2, 48, 48, 3))
    with pytest.raises(ShapeMismatchError, match=r"single image.*images\[None\]"):
        net.forward(good[0])
    with pytest.raises(ShapeMismatchError, match="grey"):
        net.forward(good[..., 0])
    with pytest.raises(ShapeMismatchError, match="4 channels"):
        net.forward(np.zeros((2, 48, 48, 4)))
    with pytest.raises(ShapeMismatchError, match="images"):
        net.forward(np.zeros((48, 48)))
    bad = good.copy()
    bad[1, 3, 4, 0] = np.nan
    with pytest.raises(NonFiniteDataError, match="images"):
        net.forward(bad)
    with pytest.raises(ArgumentError, match="0..255"):
        net.forward(good - 1)
    with pytest.raises(ArgumentError, match="0..255"):
        net.forward(good + 300)
    with pytest.raises(ArgumentError, match="images"):
        net.forward(np.full((1, 48, 48, 3), "a"))
    with pytest.warns(NeurotkWarning, match="255"):
        net.forward(good + 0.5)


def test_bad_arguments_are_refused_clearly(net):
    images = np.zeros((2, 48, 48, 3))
    with pytest.raises(ArgumentError, match="layers=.*pool5"):
        net.activations(images, layers=["conv1", "pool5"])
    with pytest.raises(ShapeMismatchError, match=r"stimulus_ids has shape \(3,\)"):
        net.activations(images, stimulus_ids=[1, 2, 3])
    with pytest.raises(ArgumentError, match="repeated"):
        net.activations(images, stimulus_ids=[1, 1])
    with pytest.raises(ArgumentError, match="batch_size"):
        pretrained_onet(batch_size=0)


# --------------------------------------------------------------------------- sanity on real images
def test_faces_of_the_92_objects_score_higher(net, stimuli_92):
    images, face, human = stimuli_92
    assert face.sum() == 24
    p = net.face_probability(images)
    # the whole images (heads and bodies on grey, not face crops): faces higher on average
    assert p[face].mean() > 1.5 * p[~face].mean()
    # tight central crops, what the O-Net was trained on: the 12 human faces are faces, the
    # non-faces are not (a wrong flatten order or a missing transpose fails this)
    side = images.shape[1]  # crop rows 30..150 and columns 40..135 of the original 175 x 175
    r0, r1, c0, c1 = (round(v * side / 175) for v in (30, 150, 40, 135))
    crops = images[:, r0:r1, c0:c1]
    q = net.face_probability(crops)
    human_face = face & human
    assert q[human_face].mean() > 0.9
    assert q[~face].mean() < 0.15
