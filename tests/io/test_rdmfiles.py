"""neurotk.io.read_rdms: RDMs saved by other tools (MATLAB .mat, numpy) -> an RDM stack.

References, written here independently of the reader: scipy.io.loadmat read by hand with
the *other* parser settings (``squeeze_me=False, struct_as_record=True``, so the structs
come back as record arrays, not objects), and MATLAB's ``squareform`` rule for condensed
vectors (the lower triangle taken column by column, ``Z(tril(true(n), -1))``). Files are
written with scipy.io.savemat / np.save; the 92-object RDMs of Kriegeskorte et al. 2008
in ../shared/realdata/rsa92 are read when present.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from neurotk import ArgumentError, DataFormatError, NeurotkWarning, ShapeMismatchError
from neurotk.io import read_rdms

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
RSA92 = REALDATA / "rsa92"
REAL_MATS = sorted(RSA92.glob("*.mat")) if RSA92.is_dir() else []
needs_rsa92 = pytest.mark.skipif(not REAL_MATS, reason=f"{RSA92} is absent")


def matlab_squareform(matrix: np.ndarray) -> np.ndarray:
    """MATLAB's squareform(M): the strictly lower triangle in column-major (MATLAB) order."""
    n = matrix.shape[0]
    lower = np.tril(np.ones((n, n), dtype=bool), -1)
    return matrix.ravel(order="F")[lower.ravel(order="F")]


def random_rdm(n, rng):
    x = rng.normal(size=(n, 4))
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def raw_field(record, field):
    """A field of a record read with squeeze_me=False: arrays stay wrapped in (1, 1) cells."""
    value = record[field]
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.item()
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return str(value.item()) if value.size == 1 else "".join(value.ravel())
    return np.asarray(value)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- the real files
@needs_rsa92
@pytest.mark.parametrize("path", REAL_MATS, ids=lambda p: p.name)
def test_every_real_file_loads_into_a_92_condition_stack(path):
    before = digest(path)
    with pytest.warns(NeurotkWarning) if path.name == "rdm92_V1model.mat" else _no_warning():
        rdms = read_rdms(path)
    assert rdms.n_conditions == 92 and rdms.n_rdms >= 2
    assert digest(path) == before


class _no_warning:
    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("error", NeurotkWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@needs_rsa92
def test_kriegeskorte_mIT_hIT_match_loadmat_by_hand():
    path = RSA92 / "Kriegeskorte_Neuron2008_supplementalData.mat"
    raw = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)["RDMs_mIT_hIT_fig1"]
    assert raw.shape == (1, 2)
    rdms = read_rdms(path)
    assert rdms.names == [raw_field(raw[0, k], "name") for k in range(2)] == ["mIT_674neurons", "hITvisStim_316vx"]
    for k in range(2):
        np.testing.assert_array_equal(rdms.vectors[k], raw_field(raw[0, k], "RDM").ravel())
    assert rdms.descriptors["index_1"].tolist() == [0, 1]
    # the condensed hIT vector is MATLAB squareform order: it matches the square rdm_hIT
    # stored in another file of the same data set
    square = scipy.io.loadmat(RSA92 / "faceAnimateInaniClustersRDM.mat")["rdm_hIT"]
    np.testing.assert_array_equal(matlab_squareform(square), rdms["hITvisStim_316vx"].vector)
    np.testing.assert_array_equal(rdms["hITvisStim_316vx"].matrix, square)


@needs_rsa92
def test_brain_rdms_subject_by_session_array():
    path = RSA92 / "92_brainRDMs.mat"
    raw = scipy.io.loadmat(path, squeeze_me=False, struct_as_record=True)["RDMs"]
    assert raw.shape == (1, 4, 2)
    rdms = read_rdms(path)
    assert rdms.n_rdms == 8 and rdms.meta["variables"] == {"RDMs": (1, 4, 2)}
    desc = rdms.descriptors
    for k, (i, j) in enumerate(np.ndindex(4, 2)):  # row-major: subject, then session
        assert (desc["index_0"][k], desc["index_1"][k], desc["index_2"][k]) == (0, i, j)
        assert desc["name"][k] == raw_field(raw[0, i, j], "name")
        np.testing.assert_array_equal(rdms.matrices[k], raw_field(raw[0, i, j], "RDM").astype(np.float64))
    assert desc["name"][3] == "hIT | KO | Session: 2"


@needs_rsa92
def test_model_rdms_and_mixed_sizes():
    raw = scipy.io.loadmat(RSA92 / "92_modelRDMs.mat", squeeze_me=False, struct_as_record=True)["Models"]
    models = read_rdms(RSA92 / "92_modelRDMs.mat")
    assert models.names == [raw_field(raw[0, k], "name") for k in range(raw.shape[1])]
    assert models.names[:3] == ["animacy", "FaceBodyManmadeNatobj", "monkeyIT"]
    np.testing.assert_array_equal(models["animacy"].matrix, raw_field(raw[0, 0], "RDM").astype(float))
    path = RSA92 / "rdm92_V1model.mat"
    with pytest.warns(NeurotkWarning, match=r"read the 4 over 92 conditions and left out V1modelSimMat \(96"):
        main = read_rdms(path)
    assert main.names == ["hITvisStim_316vx", "mIT_674neurons", "rdm92_V1model", "rdm92_HMAXnatImPatch"]
    other = read_rdms(path, variables=["V1modelSimMat"])
    np.testing.assert_array_equal(other.matrix, scipy.io.loadmat(path)["V1modelSimMat"])


# --------------------------------------------------------------------------- files written here
def test_toolbox_struct_array_square_and_condensed(tmp_path):
    rng = np.random.default_rng(0)
    mats = [random_rdm(5, rng) for _ in range(6)]
    structs = np.empty((2, 3), dtype=[("RDM", object), ("name", object), ("color", object)])
    for k, (i, j) in enumerate(np.ndindex(2, 3)):
        structs[i, j] = (mats[k], f"subject {i} session {j}", np.array([1.0, 0.0, 0.0]))
    square, condensed = random_rdm(5, rng), random_rdm(5, rng)
    path = tmp_path / "toolbox.mat"
    scipy.io.savemat(path, {"RDMs": structs, "square": square, "condensed": matlab_squareform(condensed)[None, :],
                            "mask": np.array([True, False, True]), "notes": "a string"})
    before = digest(path)
    rdms = read_rdms(path)
    assert rdms.n_rdms == 8 and digest(path) == before
    assert rdms.names[:6] == [f"subject {i} session {j}" for i, j in np.ndindex(2, 3)]
    assert rdms.names[6:] == ["square", "condensed"]
    np.testing.assert_allclose(rdms.matrices, np.stack(mats + [square, condensed]), atol=1e-12)
    desc = rdms.descriptors
    assert desc["index_0"][:6].tolist() == [0, 0, 0, 1, 1, 1] and desc["index_1"][:6].tolist() == [0, 1, 2] * 2
    assert desc["variable"].tolist() == ["RDMs"] * 6 + ["square", "condensed"]
    assert rdms.meta["variables"]["RDMs"] == (2, 3) and rdms.metric is None
    assert {"variable": "mask", "shape": (3,), "reason": "a vector not taken for a condensed RDM"} in rdms.meta["skipped"]


def test_nested_structs_matlab_stacks_nan_and_conditions(tmp_path):
    rng = np.random.default_rng(1)
    a, b, c = (random_rdm(4, rng) for _ in range(3))
    a[0, 3] = a[3, 0] = np.nan  # the toolbox marks missing pairs with NaN
    path = tmp_path / "nested.mat"
    cells = np.empty(2, dtype=object)  # a MATLAB cell array {b, c}
    cells[0], cells[1] = b, c
    scipy.io.savemat(path, {"exp": {"area": {"RDM": a, "name": "V1"}, "cells": cells},
                            "stack": np.stack([b, c], axis=2)})  # MATLAB's (n, n, k)
    rdms = read_rdms(path, conditions=list("wxyz"))
    assert rdms.names == ["V1", "exp.cells[0]", "exp.cells[1]", "stack[:,:,0]", "stack[:,:,1]"]
    assert rdms.allow_nan and np.isnan(rdms.matrices[0, 0, 3])
    np.testing.assert_array_equal(rdms.matrices[1:], np.stack([b, c, b, c]))
    assert rdms.conditions.tolist() == list("wxyz")
    with pytest.raises(ShapeMismatchError, match=r"nested.mat: conditions has shape \(3,\); expected \(4,\)"):
        read_rdms(path, conditions=list("xyz"))
    with pytest.raises(ArgumentError, match=r"\['nope'\] not in"):
        read_rdms(path, variables="nope")


def test_numpy_files(tmp_path):
    rng = np.random.default_rng(2)
    mats = np.stack([random_rdm(6, rng) for _ in range(3)])
    i, j = np.triu_indices(6, 1)
    np.save(tmp_path / "stack.npy", mats)
    np.save(tmp_path / "rows.npy", mats[:, i, j])
    np.savez(tmp_path / "two.npz", V1=mats[0], IT=mats[1][i, j])
    np.testing.assert_allclose(read_rdms(tmp_path / "stack.npy").matrices, mats)
    np.testing.assert_allclose(read_rdms(tmp_path / "rows.npy").matrices, mats)
    two = read_rdms(tmp_path / "two.npz")
    assert two.names == ["V1", "IT"] and two.meta["source"] == "npz"
    np.testing.assert_allclose(two.matrices, mats[:2])
    np.save(tmp_path / "objects.npy", np.array([mats[0], None], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="objects.npy: holds Python objects, which need unpickling"):
        read_rdms(tmp_path / "objects.npy")


def test_a_file_without_rdms_lists_its_variables(tmp_path):
    path = tmp_path / "bad.mat"
    sim = np.eye(4) + 0.1
    scipy.io.savemat(path, {"features": np.ones((3, 4)), "similarity": sim, "label": "x"})
    with pytest.raises(DataFormatError) as err:
        read_rdms(path)
    msg = str(err.value)
    assert "bad.mat: no matrix of RDM shape" in msg
    assert "features (3, 4) double" in msg and "similarity (4, 4) double" in msg and "label (1,) char" in msg
    assert "similarity (4, 4): non-zero diagonal" in msg
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataFormatError, match="junk.mat: not a readable MATLAB .mat file"):
        read_rdms(tmp_path / "junk.mat")
    with pytest.raises(DataFormatError, match="unknown RDM file suffix '.csv'"):
        (tmp_path / "x.csv").write_text("1,2")
        read_rdms(tmp_path / "x.csv")
    with pytest.raises(DataFormatError, match="no such file"):
        read_rdms(tmp_path / "missing.mat")
