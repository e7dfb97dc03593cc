"""neurotk.io.read_suite2p: suite2p output folders -> frames x cells.

The reference is suite2p's own arithmetic, re-implemented here from its code's logic:
the neuropil-corrected trace suite2p deconvolves is ``F - neucoeff * Fneu`` (float32,
``suite2p/run_s2p.py``), cells are the rows with ``iscell[:, 0] == 1``, and several planes
concatenate ROI-wise with shorter planes zero-padded at the end
(``suite2p/io/save.py: combined``). Folders are written here with ``np.save``; the real
suite2p folder of pynapple's test data in ../shared/realdata is read when present.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest

from neurotk import ArgumentError, DataFormatError, NeurotkWarning, ShapeMismatchError
from neurotk.io import read_suite2p

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
REAL_S2P = REALDATA / "suite2p_pynapple"
needs_real = pytest.mark.skipif(not (REAL_S2P / "F.npy").exists(), reason=f"{REAL_S2P} is absent")


def suite2p_reference(F, Fneu, iscell, neucoeff=0.7):
    """What suite2p computes and keeps: (F - neucoeff * Fneu) in float32, cells only, frames x cells."""
    dF = F.astype(np.float32) - np.float32(neucoeff) * Fneu.astype(np.float32)
    cells = np.asarray(iscell)[:, 0] == 1
    return dF[cells].T, np.flatnonzero(cells)


def write_plane(folder: Path, n_rois=5, n_frames=40, seed=0, cells=None, ops=None, stat=None):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {name: rng.gamma(2.0, 50.0, size=(n_rois, n_frames)).astype(np.float32) for name in ("F", "Fneu", "spks")}
    if cells is None:
        cells = rng.random(n_rois) < 0.6
        cells[0] = True
    prob = rng.random(n_rois)
    arrays["iscell"] = np.column_stack([np.asarray(cells, dtype=float), prob])
    for name, value in arrays.items():
        np.save(folder / f"{name}.npy", value)
    if ops is not None:
        np.save(folder / "ops.npy", ops, allow_pickle=True)
    if stat is not None:
        np.save(folder / "stat.npy", np.array(stat, dtype=object), allow_pickle=True)
    return arrays


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*.npy"))}


# --------------------------------------------------------------------------- the real folder
@needs_real
def test_real_folder_is_suite2ps_neuropil_corrected_cells():
    F = np.load(REAL_S2P / "F.npy")
    Fneu = np.load(REAL_S2P / "Fneu.npy")
    iscell = np.load(REAL_S2P / "iscell.npy")
    before = digest(REAL_S2P)
    rec = read_suite2p(REAL_S2P)
    expected, rois = suite2p_reference(F, Fneu, iscell)
    assert F.shape == (219, 2000) and rec.shape == (2000, 20) == expected.shape
    np.testing.assert_allclose(rec.data, expected, rtol=1e-6, atol=1e-3)
    assert rec.units["roi"].tolist() == rois.tolist()
    np.testing.assert_allclose(rec.units["cell_probability"], iscell[rois, 1])
    assert rec.units["is_cell"].all() and set(rec.units["plane"]) == {0}
    # no ops.npy: the rate is unknown, said so, and there is no time column
    assert rec.meta["sampling_rate"] is None and "fs=" in rec.meta["sampling_rate_source"]
    assert list(rec.samples.columns) == ["frame"]
    assert digest(REAL_S2P) == before  # input files are never modified


@needs_real
def test_real_folder_signals_and_options():
    F = np.load(REAL_S2P / "F.npy")
    spks = np.load(REAL_S2P / "spks.npy")
    cells = np.load(REAL_S2P / "iscell.npy")[:, 0] == 1
    np.testing.assert_array_equal(read_suite2p(REAL_S2P, signal="spks").data, spks[cells].T.astype(np.float64))
    np.testing.assert_array_equal(read_suite2p(REAL_S2P, neuropil=0).data, F[cells].T.astype(np.float64))
    everything = read_suite2p(REAL_S2P, cells_only=False, fs=30.0)
    assert everything.shape == (2000, 219) and int(everything.units["is_cell"].sum()) == 20
    np.testing.assert_allclose(everything.samples["time"], np.arange(2000) / 30.0)


# --------------------------------------------------------------------------- folders written here
def test_written_plane_matches_reference(tmp_path):
    arrays = write_plane(tmp_path / "plane0", n_rois=7, n_frames=30, seed=1)
    rec = read_suite2p(tmp_path / "plane0", neuropil=0.5)
    expected, rois = suite2p_reference(arrays["F"], arrays["Fneu"], arrays["iscell"], neucoeff=0.5)
    np.testing.assert_allclose(rec.data, expected, rtol=1e-6, atol=1e-3)
    assert rec.units["unit_id"].tolist() == rois.tolist() == rec.units["roi"].tolist()
    assert rec.meta["units_of_measure"] == "F - 0.5 * Fneu (a.u.)"


def test_several_planes_concatenate_like_suite2p_combined(tmp_path):
    root = tmp_path / "suite2p"
    a = write_plane(root / "plane0", n_rois=4, n_frames=25, seed=2, cells=[1, 0, 1, 1])
    b = write_plane(root / "plane1", n_rois=3, n_frames=25, seed=3, cells=[0, 1, 1])
    (root / "combined").mkdir()  # suite2p's own combined folder is not read twice
    F = np.vstack([a["F"], b["F"]])
    Fneu = np.vstack([a["Fneu"], b["Fneu"]])
    iscell = np.vstack([a["iscell"], b["iscell"]])
    expected, rois = suite2p_reference(F, Fneu, iscell)
    for folder in (root, tmp_path):  # the suite2p folder or the folder above it
        rec = read_suite2p(folder)
        np.testing.assert_allclose(rec.data, expected, rtol=1e-6, atol=1e-3)
        assert rec.units["unit_id"].tolist() == rois.tolist() == [0, 2, 3, 5, 6]
        assert rec.units["plane"].tolist() == [0, 0, 0, 1, 1]
        assert rec.units["roi"].tolist() == [0, 2, 3, 1, 2]
        assert rec.meta["planes"] == [0, 1]


def test_unequal_frames_pad_like_combined_or_truncate(tmp_path):
    a = write_plane(tmp_path / "plane0", n_rois=2, n_frames=20, seed=4, cells=[1, 1])
    b = write_plane(tmp_path / "plane1", n_rois=2, n_frames=18, seed=5, cells=[1, 1])
    with pytest.warns(NeurotkWarning, match="padded with zeros"):
        padded = read_suite2p(tmp_path, neuropil=0)
    # suite2p's combined: shorter planes padded with zeros at the end
    ref = np.vstack([a["F"], np.pad(b["F"], ((0, 0), (0, 2)))]).T
    np.testing.assert_array_equal(padded.data, ref)
    assert padded.meta["unequal_frames"] == {"mode": "pad", "frames_changed": {1: 2}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cut = read_suite2p(tmp_path, neuropil=0, unequal_frames="truncate")
    np.testing.assert_array_equal(cut.data, np.vstack([a["F"][:, :18], b["F"]]).T)


def test_pickled_ops_and_stat_only_with_the_flag(tmp_path):
    plane = tmp_path / "plane0"
    stat = [{"med": [10 + k, 20 - k], "npix": 30 + k, "ypix": np.arange(3)} for k in range(4)]
    write_plane(plane, n_rois=4, n_frames=12, seed=6, cells=[1, 1, 0, 1],
                ops={"fs": 15.5, "neucoeff": 0.7, "nframes": 12}, stat=stat)
    plain = read_suite2p(plane)
    assert plain.meta["sampling_rate"] is None and "y" not in plain.units
    assert sorted(Path(p).name for p in plain.meta["not_read"]) == ["ops.npy", "stat.npy"]
    rec = read_suite2p(plane, allow_pickle=True)
    assert rec.meta["sampling_rate"] == 15.5 and rec.meta["sampling_rate_source"] == "ops.npy"
    np.testing.assert_allclose(rec.samples["time"], np.arange(12) / 15.5)
    assert rec.units["y"].tolist() == [10.0, 11.0, 13.0] and rec.units["x"].tolist() == [20.0, 19.0, 17.0]
    assert rec.units["npix"].tolist() == [30, 31, 33]
    with pytest.warns(NeurotkWarning, match="overrides ops.npy"):
        assert read_suite2p(plane, fs=30.0, allow_pickle=True).meta["sampling_rate"] == 30.0


# --------------------------------------------------------------------------- bad input
def test_missing_F_names_the_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    np.save(tmp_path / "empty" / "Fneu.npy", np.zeros((2, 3)))
    with pytest.raises(DataFormatError, match=r"empty: no F.npy .*found Fneu.npy.*expected a suite2p plane folder"):
        read_suite2p(tmp_path / "empty")
    with pytest.raises(DataFormatError, match="no such folder"):
        read_suite2p(tmp_path / "nowhere")
    write_plane(tmp_path / "s2p" / "plane0")
    (tmp_path / "s2p" / "plane1").mkdir()
    with pytest.raises(DataFormatError, match=r"plane1: no F.npy in this plane folder"):
        read_suite2p(tmp_path / "s2p")


def test_object_arrays_need_the_flag(tmp_path):
    plane = tmp_path / "plane0"
    write_plane(plane)
    np.save(plane / "F.npy", np.array([np.zeros(3), np.zeros(4)], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match=r"F.npy: holds Python objects.*unpickling.*allow_pickle=True"):
        read_suite2p(plane)


def test_shapes_must_match_F(tmp_path):
    plane = tmp_path / "plane0"
    write_plane(plane, n_rois=5, n_frames=40)
    np.save(plane / "Fneu.npy", np.zeros((5, 39), dtype=np.float32))
    with pytest.raises(ShapeMismatchError, match=r"Fneu.npy has shape \(5, 39\) but F.npy beside it has \(5, 40\)"):
        read_suite2p(plane)
    write_plane(plane, n_rois=5, n_frames=40)
    np.save(plane / "iscell.npy", np.ones((4, 2)))
    with pytest.raises(ShapeMismatchError, match=r"iscell.npy has shape \(4, 2\).*expected numbers of shape \(5, 2\)"):
        read_suite2p(plane)
    np.save(plane / "iscell.npy", np.zeros((5, 2)))
    with pytest.raises(ArgumentError, match="no ROI of 5 is classified as a cell"):
        read_suite2p(plane)
    assert read_suite2p(plane, cells_only=False).shape == (40, 5)


def test_bad_options(tmp_path):
    write_plane(tmp_path / "plane0")
    with pytest.raises(ArgumentError, match="signal='dff'"):
        read_suite2p(tmp_path, signal="dff")
    with pytest.raises(ArgumentError, match="fs=-1"):
        read_suite2p(tmp_path, fs=-1)
    with pytest.raises(ArgumentError, match="neuropil=-0.1"):
        read_suite2p(tmp_path, neuropil=-0.1)
