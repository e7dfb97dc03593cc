"""The packaged real datasets (neurotk.datasets.packaged) against the original files.

References, written here independently of the loaders and of tools/build_datasets.py:

- the RDMs: ``scipy.io.loadmat`` with the *other* parser settings (``squeeze_me=False,
  struct_as_record=True``: record arrays, cells kept as (1, 1) arrays), square matrices
  condensed with scipy's ``squareform``, and neurotk.io.read_rdms of the same files;
- the images: area averaging by supersampling (each input pixel repeated 64 times along
  an axis, then blocks of 175 averaged: the exact area average of 175 -> 64);
- the localizer block: the original image read with nibabel, the block's offset found from
  the two affines, the voxels compared one for one;
- the calcium excerpt: neurotk.io.read_suite2p of the original folder.

They run when ../shared/realdata is present and skip otherwise; the tests after them run
on the packaged files alone (shapes, dtypes, licences, and face > house on the packaged
block, found with a least-squares GLM written here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io
from scipy import ndimage
from scipy.spatial.distance import squareform

from neurotk import ArgumentError, DataFormatError, Recording
from neurotk.datasets import (
    Objects92,
    load_92_objects,
    load_calcium_excerpt,
    load_category_localizer,
)
from neurotk.rsa import RDM

ROOT = Path(__file__).resolve().parents[2]
REALDATA = (ROOT / ".." / "shared" / "realdata").resolve()
RSA92 = REALDATA / "rsa92"
LOCALIZER = REALDATA / "studyforrest_localizer"
S2P = REALDATA / "suite2p_pynapple"
needs_rsa92 = pytest.mark.skipif(not (RSA92 / "92_brainRDMs.mat").is_file(), reason=f"{RSA92} is absent")
needs_localizer = pytest.mark.skipif(not LOCALIZER.is_dir(), reason=f"{LOCALIZER} is absent")
needs_s2p = pytest.mark.skipif(not (S2P / "F.npy").is_file(), reason=f"{S2P} is absent")

MODEL_NAMES = ["animacy", "FaceBodyManmadeNatobj", "monkeyIT", "EVA", "HMAX", "V1", "Silhouette", "RADON"]
STEM = "sub-02_task-oneback_run-1"


@pytest.fixture(scope="module")
def objects():
    return load_92_objects()


@pytest.fixture(scope="module")
def localizer():
    return load_category_localizer()


def unwrap(value):
    """A field of a record array read with squeeze_me=False: strip the (1, 1) cell wrappers."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return "".join(value.ravel())
    return value


def raw_mat(name):
    return scipy.io.loadmat(str(RSA92 / name), squeeze_me=False, struct_as_record=True)


def supersample_mean(images: np.ndarray, side: int) -> np.ndarray:
    """Exact area average by supersampling, in integers.

    Every pixel is repeated ``side`` times along an axis and blocks of ``h`` (``w``) are
    summed: the block sums are ``h * w`` times the area averages. They are rounded to the
    nearest integer (``h * w`` is odd for the sizes used here, so there are no ties).
    """
    n_img, h, w, c = images.shape
    total = np.empty((n_img, side, side, c), dtype=np.int64)
    for k in range(n_img):  # one image at a time keeps the supersampled arrays small
        rows = np.repeat(images[k], side, axis=0).reshape(side, h, w, c).sum(axis=1, dtype=np.int64)
        total[k] = np.repeat(rows, side, axis=1).reshape(side, side, w, c).sum(axis=2)
    quotient, remainder = np.divmod(total, h * w)
    return (quotient + (2 * remainder > h * w)).astype(np.uint8)


def face_house_t(rec: Recording, events: pd.DataFrame, tr: float) -> np.ndarray:
    """t of face - house per voxel: boxcars convolved with SPM's double-gamma HRF, cosine drifts, OLS."""
    from scipy.stats import gamma

    n = rec.n_samples
    dt = tr / 16
    grid = np.arange(n * 16) * dt
    t = np.arange(0, 32, dt)
    hrf = gamma.pdf(t, 6) - gamma.pdf(t, 16) / 6
    columns = []
    for kind in sorted(events["trial_type"].unique()):
        box = np.zeros(grid.size)
        for onset, duration in events.loc[events["trial_type"] == kind, ["onset", "duration"]].to_numpy():
            box[(grid >= onset) & (grid < onset + duration)] = 1.0
        columns.append(np.convolve(box, hrf)[: grid.size][::16])
    kinds = sorted(events["trial_type"].unique())
    n_cos = int(np.floor(2 * n * tr / 128))
    cosines = [np.cos(np.pi * (np.arange(n) + 0.5) * k / n) for k in range(1, n_cos + 1)]
    X = np.column_stack(columns + cosines + [np.ones(n)])
    beta, *_ = np.linalg.lstsq(X, rec.data, rcond=None)
    resid = rec.data - X @ beta
    dof = n - np.linalg.matrix_rank(X)
    c = np.zeros(X.shape[1])
    c[kinds.index("face")], c[kinds.index("house")] = 1, -1
    var_c = c @ np.linalg.pinv(X.T @ X) @ c
    return (c @ beta) / np.sqrt((resid**2).sum(0) / dof * var_c)


def as_volume(values: np.ndarray, rec: Recording) -> np.ndarray:
    u = rec.units
    vol = np.zeros((u["i"].max() + 1, u["j"].max() + 1, u["k"].max() + 1))
    vol[u["i"], u["j"], u["k"]] = values
    return vol


# =========================================================================== against the originals
@needs_rsa92
def test_92_rdms_equal_the_mat_files_read_by_hand(objects):
    supp = raw_mat("Kriegeskorte_Neuron2008_supplementalData.mat")["RDMs_mIT_hIT_fig1"]
    fig1 = {unwrap(rec["name"]): np.asarray(unwrap(rec["RDM"]), dtype=np.float64).ravel() for rec in supp.ravel()}
    np.testing.assert_array_equal(objects.rdms["hIT"].vector, fig1["hITvisStim_316vx"])
    np.testing.assert_array_equal(objects.rdms["mIT"].vector, fig1["mIT_674neurons"])

    models = raw_mat("92_modelRDMs.mat")["Models"].ravel()
    assert [unwrap(m["name"]) for m in models] == MODEL_NAMES
    for m in models:
        square = np.asarray(unwrap(m["RDM"]), dtype=np.float64)
        np.testing.assert_array_equal(objects.rdms[unwrap(m["name"])].vector, squareform(square, checks=False))

    brain = raw_mat("92_brainRDMs.mat")["RDMs"]  # (1, 4, 2): subject x session
    expected = [brain[0, s, r] for s in range(brain.shape[1]) for r in range(brain.shape[2])]
    assert objects.subjects.names == [unwrap(e["name"]) for e in expected]
    np.testing.assert_array_equal(
        objects.subjects.vectors,
        np.vstack([squareform(np.asarray(unwrap(e["RDM"]), dtype=np.float64), checks=False) for e in expected]))
    assert objects.subjects.descriptors["subject"].tolist() == [n.split(" | ")[1] for n in objects.subjects.names]


@needs_rsa92
def test_92_rdms_equal_read_rdms_of_the_originals(objects):
    from neurotk.io import read_rdms

    fig1 = read_rdms(RSA92 / "Kriegeskorte_Neuron2008_supplementalData.mat")
    models = read_rdms(RSA92 / "92_modelRDMs.mat")
    brain = read_rdms(RSA92 / "92_brainRDMs.mat")
    np.testing.assert_array_equal(objects.rdms["hIT"].vector, fig1[fig1.names.index("hITvisStim_316vx")].vector)
    np.testing.assert_array_equal(objects.rdms["mIT"].vector, fig1[fig1.names.index("mIT_674neurons")].vector)
    for k, name in enumerate(models.names):
        np.testing.assert_array_equal(objects.rdms[name].vector, models.vectors[k])
    np.testing.assert_array_equal(objects.subjects.vectors, brain.vectors)
    assert objects.subjects.names == brain.names
    np.testing.assert_array_equal(objects.conditions, brain.conditions)


@needs_rsa92
def test_92_images_are_the_area_averaged_originals(objects):
    stimuli = raw_mat("Kriegeskorte_Neuron2008_supplementalData.mat")["stimuli_92objs"].ravel()
    originals = np.stack([np.asarray(unwrap(s["image"])) for s in stimuli])
    assert originals.shape == (92, 175, 175, 3)
    np.testing.assert_array_equal(objects.images, supersample_mean(originals, 64))


@needs_rsa92
def test_92_categories_are_the_mat_labels(objects):
    raw = raw_mat("Kriegeskorte_Neuron2008_supplementalData.mat")
    labels = [unwrap(x) for x in raw["categoryLabels"].ravel()]
    vectors = raw["categoryVectors"].astype(bool)
    stimuli = raw["stimuli_92objs"].ravel()
    cat = objects.categories
    for column, label in [("animate", "animate"), ("inanimate", "inanim"), ("human", "human"),
                          ("nonhuman", "nonhumani"), ("face", "face"), ("body", "body"),
                          ("natural_object", "natObj"), ("artificial", "artiObj"), ("monkey_ape", "monkeyape")]:
        np.testing.assert_array_equal(cat[column].to_numpy(), vectors[:, labels.index(label)], err_msg=column)
    assert cat["category"].tolist() == [unwrap(s["category"]) for s in stimuli]
    for column in ("human", "face", "natural"):
        np.testing.assert_array_equal(cat[column].to_numpy(), [bool(unwrap(s[column])) for s in stimuli])


@needs_localizer
def test_localizer_block_is_the_original_voxels():
    import nibabel as nib

    original = nib.load(str(LOCALIZER / f"{STEM}_bold.nii.gz"))
    rec, events = load_category_localizer()
    block = nib.load(rec.meta["path"])
    # the block's corner in the original grid, from the two affines alone
    shift = np.linalg.solve(original.affine, block.affine)
    offset = np.rint(shift[:3, 3]).astype(int)
    np.testing.assert_allclose(shift[:3, :3], np.eye(3), atol=1e-6)
    np.testing.assert_allclose(shift[:3, 3], offset, atol=1e-4)
    i, j, k = (slice(o, o + s) for o, s in zip(offset, block.shape[:3]))
    expected = np.asarray(original.dataobj[i, j, k, :])
    got = np.asarray(block.dataobj)
    assert got.dtype == expected.dtype == np.uint16
    np.testing.assert_array_equal(got, expected)
    assert block.header.get_zooms() == original.header.get_zooms()
    u = rec.units
    np.testing.assert_array_equal(rec.data, expected[u["i"], u["j"], u["k"], :].T.astype(np.float64))
    assert rec.meta["crop"] == {axis: (int(o), int(o + s)) for axis, o, s in zip("ijk", offset, block.shape)}
    assert rec.meta["original_shape"] == tuple(original.shape)
    pd.testing.assert_frame_equal(events.reset_index(drop=True),
                                  pd.read_csv(LOCALIZER / f"{STEM}_events.tsv", sep="\t"), check_dtype=False)
    assert rec.meta["tr"] == pytest.approx(float(original.header.get_zooms()[3]), rel=1e-5)


@needs_s2p
@pytest.mark.parametrize("options", [{}, {"signal": "spks"}, {"neuropil": 0.0}, {"neuropil": 0.5}])
def test_calcium_excerpt_equals_read_suite2p_of_the_original(options):
    from neurotk.io import read_suite2p

    expected = read_suite2p(S2P, **options)
    got = load_calcium_excerpt(**options)
    np.testing.assert_array_equal(got.data, expected.data)
    pd.testing.assert_frame_equal(got.samples, expected.samples)
    pd.testing.assert_frame_equal(got.units, expected.units)
    for key in ("signal", "neuropil", "sampling_rate", "n_rois", "units_of_measure", "planes"):
        assert got.meta[key] == expected.meta[key], key
    assert got.meta["n_frames"] == np.load(S2P / "F.npy").shape[1]


# =========================================================================== the packaged files alone
def test_92_objects_public_shape(objects):
    assert isinstance(objects, Objects92)
    assert list(objects.rdms) == ["hIT", "mIT", *MODEL_NAMES]
    for name, rdm in objects.rdms.items():
        assert isinstance(rdm, RDM) and rdm.n_rdms == 1 and rdm.names == [name]
        np.testing.assert_array_equal(rdm.conditions, objects.conditions)
    assert isinstance(objects.subjects, RDM) and objects.subjects.n_rdms == 8
    np.testing.assert_array_equal(objects.subjects.conditions, np.arange(92))
    assert objects.subjects.descriptors["session"].tolist() == [1, 2] * 4
    assert objects.images.shape == (92, 64, 64, 3) and objects.images.dtype == np.uint8
    cat = objects.categories
    assert len(cat) == 92 and cat["condition"].tolist() == list(range(92))
    assert {c: int(cat[c].sum()) for c in ("animate", "inanimate", "face", "body", "human", "natural_object",
                                           "artificial")} == \
        {"animate": 48, "inanimate": 44, "face": 24, "body": 24, "human": 24, "natural_object": 23, "artificial": 21}
    # the labels agree with one another
    np.testing.assert_array_equal(cat["animate"], cat["face"] | cat["body"])
    np.testing.assert_array_equal(cat["inanimate"], ~cat["animate"])
    np.testing.assert_array_equal(cat["inanimate"], cat["natural_object"] | cat["artificial"])
    np.testing.assert_array_equal(cat["natural"], ~cat["artificial"])
    np.testing.assert_array_equal(cat["face"], cat["category"].str.endswith("face"))
    assert "Kriegeskorte" in repr(objects.meta["citation"]) and "Objects92(n_conditions=92" in repr(objects)


def test_92_objects_hold_the_papers_structure(objects):
    # Kriegeskorte et al. 2008 report a correlation of 0.49 between the hIT and mIT RDMs
    r = np.corrcoef(objects.rdms["hIT"].vector, objects.rdms["mIT"].vector)[0, 1]
    assert 0.47 < r < 0.51
    # hIT (Figure 1) is the mean of the 8 subject x session RDMs; the file's "monkeyIT" model is the mIT RDM; faces are closer to faces than to objects in both
    np.testing.assert_allclose(objects.rdms["hIT"].vector, objects.subjects.vectors.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(objects.rdms["monkeyIT"].vector, objects.rdms["mIT"].vector)
    face = objects.categories["face"].to_numpy()
    inanimate = objects.categories["inanimate"].to_numpy()
    for name in ("hIT", "mIT"):
        m = objects.rdms[name].matrix
        within = m[np.ix_(face, face)][np.triu_indices(face.sum(), 1)].mean()
        assert within < m[np.ix_(face, inanimate)].mean(), name
    # the images are images: faces are not uniform, and no two images are the same
    flat = objects.images.reshape(92, -1).astype(float)
    assert (flat.std(axis=1) > 10).all()
    assert len({im.tobytes() for im in objects.images}) == 92


def test_loaders_return_fresh_arrays(objects):
    again = load_92_objects()
    again.images[0] = 0
    again.categories.loc[0, "face"] = True
    assert objects.images[0].any() and not objects.categories.loc[0, "face"]


def test_licences_and_citations_ship_beside_the_data(objects, localizer):
    from neurotk.datasets import packaged as real

    for folder, marker in [("rsa92", "MIT License"), ("studyforrest_localizer", "Public Domain"),
                           ("suite2p_excerpt", "MIT License")]:
        files = list((real.DATA / folder).glob("LICENSE*"))
        assert len(files) == 1 and marker.lower() in files[0].read_text(encoding="utf-8").lower()
        readme = (real.DATA / folder / "README.txt").read_text(encoding="utf-8")
        assert "Source:" in readme and "Licence:" in readme and "Cite:" in readme and "Reduced:" in readme
    assert "Permission is hereby granted" in objects.meta["licence"]
    rec, _ = localizer
    assert "Public Domain" in rec.meta["licence"] and "Sengupta" in rec.meta["citation"]
    calcium = load_calcium_excerpt()
    assert "Permission is hereby granted" in calcium.meta["licence"] and "Pachitariu" in calcium.meta["citation"]
    for loader in (real.load_92_objects, real.load_category_localizer, real.load_calcium_excerpt):
        doc = loader.__doc__
        assert "Source:" in doc and "Licence:" in doc and "Cite:" in doc, loader.__name__


def test_packaged_files_are_small():
    from neurotk.datasets import packaged as real

    sizes = {p.relative_to(real.DATA).as_posix(): p.stat().st_size
             for folder in ("rsa92", "studyforrest_localizer", "suite2p_excerpt") for p in (real.DATA / folder).iterdir()}
    assert sizes[f"studyforrest_localizer/{STEM}_bold.nii.gz"] < 4e6
    assert sum(sizes.values()) < 5.5e6


def test_localizer_shape_and_events(localizer):
    rec, events = localizer
    assert rec.n_samples == 156 and rec.meta["tr"] == 2.0 and rec.meta["tr_source"] == "sidecar"
    assert rec.data.dtype == np.float64 and rec.n_units > 10000
    assert set(rec.units.columns) >= {"i", "j", "k"}
    assert rec.meta["crop"] == {"i": (14, 66), "j": (42, 80), "k": (2, 12)}
    assert len(events) == 192 and events["trial_type"].value_counts().to_dict() == {
        kind: 32 for kind in ("body", "face", "house", "object", "scene", "scramble")}
    assert (events["onset"] + events["duration"] < 156 * 2.0).all()
    rec32, _ = load_category_localizer(dtype=np.float32)
    assert rec32.data.dtype == np.float32


def test_face_over_house_is_found_in_the_packaged_block(localizer):
    rec, events = localizer
    t = face_house_t(rec, events, rec.meta["tr"])
    labels, n = ndimage.label(as_volume(t, rec) > 4)
    sizes = np.bincount(labels.ravel())[1:]
    assert n >= 1 and sizes.max() >= 20  # a contiguous face-selective cluster, not scattered voxels
    assert t.max() > 8
    # neurotk's own GLM finds the same map
    from neurotk.encoding import glm

    con = glm(rec, events, stat="t", contrasts={"face > house": {"face": 1, "house": -1}})
    assert np.corrcoef(con.data[0], t)[0, 1] > 0.99
    assert (con.data[0] > 4).sum() >= 50


def test_calcium_excerpt_shape_and_caveat():
    rec = load_calcium_excerpt()
    assert rec.shape == (2000, 20) and rec.data.dtype == np.float64
    assert rec.meta["n_frames"] == 2000 and rec.meta["n_rois"] == 219
    assert rec.meta["sampling_rate"] is None and "not recorded" in rec.meta["sampling_rate_source"]
    assert "time" not in rec.samples.columns
    assert rec.units["is_cell"].all() and rec.units["roi"].is_monotonic_increasing
    raw = load_calcium_excerpt(neuropil=0)
    spks = load_calcium_excerpt(signal="spks")
    assert not np.allclose(raw.data, rec.data) and (spks.data >= 0).all()
    assert spks.meta["neuropil"] is None and spks.meta["units_of_measure"].startswith("deconvolved")


def test_calcium_excerpt_bad_options():
    with pytest.raises(ArgumentError, match="signal"):
        load_calcium_excerpt(signal="dff")
    with pytest.raises(ArgumentError, match="neuropil"):
        load_calcium_excerpt(neuropil=-0.1)


def test_a_missing_data_file_is_a_clear_error(monkeypatch, tmp_path):
    from neurotk.datasets import packaged as real

    monkeypatch.setattr(real, "DATA", tmp_path)
    for loader in (real.load_92_objects, real.load_category_localizer, real.load_calcium_excerpt):
        with pytest.raises(DataFormatError, match="missing from the installed package"):
            loader()


def test_the_build_scripts_area_average_is_exact():
    spec = importlib.util.spec_from_file_location("build_datasets", ROOT / "tools" / "build_datasets.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 35, 35, 3), dtype=np.uint8)
    np.testing.assert_array_equal(build.area_downsample(images, 16), supersample_mean(images, 16))
    np.testing.assert_allclose(build.area_weights(175, 64).sum(axis=1), 1.0)
    flat = np.full((1, 175, 175, 3), 77, dtype=np.uint8)
    assert (build.area_downsample(flat, 64) == 77).all()
