"""Corrupted real files: every loader either reads them or raises a NeurotkError naming the file.

Copies of real NWB files (the demo session written by ``make_demo_session``, and the
other labs' files in ../shared/realdata when that folder exists) and of the NIfTI files
that ship with nibabel are truncated at several offsets and have bytes flipped at seeded
positions. Each copy goes through the loaders (``neurotk.load``, then ``bin_spikes`` and
``count_spikes`` on spike trains, ``load_allen`` on Allen files, ``load_fmri`` on images).
A call must either return well-formed output or raise a :class:`neurotk.NeurotkError`
whose message contains the file's name; any other exception, a hang or a crash is a bug.
The corrupted copies (and the pristine sources) must be unchanged afterwards.
"""

from __future__ import annotations

import faulthandler
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest

import neurotk
from neurotk.io import bin_spikes, count_spikes, load_allen, load_fmri, read_spikes

nibabel = pytest.importorskip("nibabel")
pytest.importorskip("h5py")

REALDATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "realdata").resolve()
NIBABEL_DATA = Path(nibabel.__file__).parent / "tests" / "data"

#: A single loader call on these small files takes well under a second; a call still
#: running after this long is a hang: faulthandler prints every thread's stack and exits.
HANG_S = 60

# (kind, parameter): truncate to a byte count (int) or a fraction of the size (float);
# flip a few bytes at seeded positions in the first 4 KiB (superblock, header, object
# headers) or anywhere in the file.
CORRUPTIONS = [
    ("truncate", 0),
    ("truncate", 16),
    ("truncate", 0.1),
    ("truncate", 0.5),
    ("truncate", 0.9),
    ("truncate", -1),
    ("flip-head", 1),
    ("flip-head", 2),
    ("flip-any", 3),
    ("flip-any", 4),
    ("flip-any", 5),
]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def corrupt(source: Path, out_dir: Path, kind: str, param) -> Path:
    """A corrupted copy of ``source`` in ``out_dir`` (deterministic for kind/param)."""
    raw = bytearray(source.read_bytes())
    tag = f"{kind}{param}".replace(".", "p").replace("-", "_")
    target = out_dir / f"{tag}_{source.name}"
    if kind == "truncate":
        n = len(raw)
        cut = (n + param if param < 0 else param) if isinstance(param, int) else int(n * param)
        raw = raw[:cut]
    else:
        rng = np.random.default_rng(param)
        limit = min(len(raw), 4096) if kind == "flip-head" else len(raw)
        n_flips = 4 if kind == "flip-head" else 32
        for pos in rng.integers(0, limit, size=n_flips):
            raw[pos] ^= 1 << int(rng.integers(0, 8))
    target.write_bytes(bytes(raw))
    return target


def check_recording(rec, path: Path):
    assert isinstance(rec, neurotk.Recording), type(rec)
    assert rec.data.ndim == 2
    assert rec.data.shape == (len(rec.samples), len(rec.units))


def guarded(call, path: Path):
    """Run ``call()``; NeurotkErrors naming the file are fine, anything else fails the test."""
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    try:
        return call(), None
    except neurotk.NeurotkError as err:
        assert path.name in str(err), f"the message does not name the file {path.name}: {err}"
        assert "expect" in str(err).lower(), f"the message does not say what was expected: {err}"
        return None, err
    finally:
        faulthandler.cancel_dump_traceback_later()


def exercise_nwb(path: Path) -> list:
    """Every NWB reader on ``path``; returns the outcomes (results or NeurotkErrors)."""
    outcomes = []
    obj, err = guarded(lambda: neurotk.load(path), path)
    outcomes.append(err)
    for rec in (obj.values() if isinstance(obj, dict) else [obj] if obj is not None else []):
        check_recording(rec, path)  # neurotk.load: a Recording, or a dict of them (Allen, several tables)
    obj, err = guarded(lambda: read_spikes(path), path)
    outcomes.append(err)
    if obj is None:
        _, err = guarded(lambda: load_allen(path), path)
        outcomes.append(err)
        return outcomes
    spikes = obj
    assert spikes.n_units == len(spikes.units)
    assert (spikes.spike_counts >= 0).all()
    rec, err = guarded(lambda: bin_spikes(spikes, 0.5), path)
    outcomes.append(err)
    if rec is not None:
        check_recording(rec, path)
        assert np.isfinite(rec.data).all()
        assert rec.data.sum() <= spikes.n_spikes
    rec, err = guarded(lambda: count_spikes(spikes, None, window=(0.0, 0.25)), path)
    outcomes.append(err)
    if rec is not None:
        check_recording(rec, path)
        assert (rec.data >= 0).all()
    return outcomes


def exercise_nifti(path: Path) -> list:
    rec, err = guarded(lambda: neurotk.load(path), path)
    if rec is not None:
        check_recording(rec, path)
        assert np.isfinite(rec.data).all()  # the default mask keeps finite voxels only
    rec2, err2 = guarded(lambda: load_fmri(path, tr=2.0, chunk_voxels=4096), path)
    if rec2 is not None:
        check_recording(rec2, path)
    return [err, err2]


def exercise_arrays(path: Path) -> list:
    layers, err = guarded(lambda: neurotk.load(path), path)
    if layers is not None:
        assert layers and all(isinstance(k, str) for k in layers)
        for rec in layers.values():
            check_recording(rec, path)
            assert np.isfinite(rec.data).all()
    return [err]


# --------------------------------------------------------------------------- sources
@pytest.fixture(scope="module")
def demo_nwb(tmp_path_factory) -> Path:
    pytest.importorskip("pynwb")
    from neurotk.datasets import make_demo_session

    path = tmp_path_factory.mktemp("demo") / "demo_session.nwb"
    return make_demo_session(path, n_stimuli=8, n_repeats=2, n_units_per_area=3)


def _real_nwb():
    return sorted(REALDATA.glob("*.nwb")) if REALDATA.is_dir() else []


NIFTI = [n for n in ("functional.nii", "example4d.nii.gz") if (NIBABEL_DATA / n).exists()]


def _run_cases(source: Path, tmp_path: Path, exercise) -> dict:
    before = sha256(source)
    outcomes = {}
    for kind, param in CORRUPTIONS:
        path = corrupt(source, tmp_path, kind, param)
        digest = sha256(path)
        outcomes[(kind, param)] = exercise(path)
        assert sha256(path) == digest, f"{path.name} was modified by the loaders"
    assert sha256(source) == before, f"{source} was modified"
    return outcomes


@pytest.fixture(scope="module")
def array_files(tmp_path_factory) -> list[Path]:
    """Network activations as a model export would store them: an .npz of layers and an .npy layer."""
    folder = tmp_path_factory.mktemp("arrays")
    rng = np.random.default_rng(0)
    np.savez(folder / "layers.npz", conv=rng.normal(size=(6, 2, 3, 3)).astype(np.float32),
             fc=rng.normal(size=(6, 4)), stimulus=np.arange(10, 16))
    np.savez_compressed(folder / "compressed.npz", fc=rng.normal(size=(6, 4)))
    np.save(folder / "fc.npy", rng.normal(size=(6, 8)))
    return sorted(folder.iterdir())


def test_pristine_files_load(demo_nwb, array_files):
    """The uncorrupted sources read without error, so the corrupted cases test something."""
    assert all(e is None for e in exercise_nwb(demo_nwb))
    for path in array_files:
        assert exercise_arrays(path) == [None]
    for name in NIFTI:
        assert all(e is None for e in exercise_nifti(NIBABEL_DATA / name))


def test_corrupted_demo_session(demo_nwb, tmp_path):
    outcomes = _run_cases(demo_nwb, tmp_path, exercise_nwb)
    # a file cut to nothing or to 16 bytes cannot be read: those must be errors, not results
    assert outcomes[("truncate", 0)][0] is not None
    assert outcomes[("truncate", 16)][0] is not None
    assert isinstance(outcomes[("truncate", 0)][0], neurotk.DataFormatError)


@pytest.mark.skipif(not _real_nwb(), reason=f"no real NWB files in {REALDATA}")
@pytest.mark.parametrize("name", [p.name for p in _real_nwb()] or ["none"])
def test_corrupted_real_nwb(name, tmp_path):
    source = REALDATA / name
    local = tmp_path / "src" / name  # the read-only originals are never opened for corruption
    local.parent.mkdir()
    shutil.copyfile(source, local)
    outcomes = _run_cases(local, tmp_path, exercise_nwb)
    assert outcomes[("truncate", 0)][0] is not None


@pytest.mark.skipif(not NIFTI, reason=f"no NIfTI test files in {NIBABEL_DATA}")
@pytest.mark.parametrize("name", NIFTI)
def test_corrupted_nifti(name, tmp_path):
    local = tmp_path / "src" / name
    local.parent.mkdir()
    shutil.copyfile(NIBABEL_DATA / name, local)
    outcomes = _run_cases(local, tmp_path, exercise_nifti)
    assert outcomes[("truncate", 0)][0] is not None
    assert outcomes[("truncate", 0.5)][0] is not None  # half the voxel data is missing


@pytest.mark.parametrize("value", [1e12, -1e12, np.nan, np.inf])
def test_corrupted_spike_time_value(demo_nwb, tmp_path, value):
    """One spike time garbled into a huge or non-finite number: an error naming the file, never
    a MemoryError from allocating bins up to that time."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / f"bad_time_{value}.nwb"
    shutil.copyfile(demo_nwb, path)
    with h5py.File(path, "r+") as f:
        f["units/spike_times"][-1] = value
    digest = sha256(path)
    outcomes = exercise_nwb(path)
    assert sha256(path) == digest
    assert any(isinstance(e, neurotk.NeurotkError) for e in outcomes)  # binning to 1e12 s cannot succeed


@pytest.mark.parametrize("where", ["beyond-data", "decreasing"])
def test_corrupted_spike_index_value(demo_nwb, tmp_path, where):
    """An index pointing past the spikes or going backwards: a DataFormatError at read_spikes."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / f"bad_index_{where}.nwb"
    shutil.copyfile(demo_nwb, path)
    with h5py.File(path, "r+") as f:
        index = f["units/spike_times_index"]
        if where == "beyond-data":
            index[-1] = np.iinfo(index.dtype).max
        else:
            index[1] = 0
    outcomes = exercise_nwb(path)
    assert isinstance(outcomes[0], neurotk.DataFormatError)


def test_corrupted_array_files(array_files, tmp_path):
    for source in array_files:
        outcomes = _run_cases(source, tmp_path, exercise_arrays)
        assert isinstance(outcomes[("truncate", 0.5)][0], neurotk.DataFormatError)
        assert "truncated or corrupt" in str(outcomes[("truncate", 0.5)][0])


def test_string_types_garbled_into_sequences(demo_nwb, tmp_path):
    """Every variable-length string type of the demo file (datasets and attributes: 160-odd),
    turned one at a time into a variable-length sequence by the one-bit flip that crashed
    the interpreter in HDF5 before neurotk checked types before reading values."""
    import re

    raw = demo_nwb.read_bytes()
    # HDF5 datatype message, version 1, class 9 (variable-length), type 1 (string), size 16
    hits = [m.start() for m in re.finditer(rb"\x19\x01.\x00\x10\x00\x00\x00", raw, re.S)]
    if not hits:
        pytest.skip("this HDF5 library writes variable-length string types differently")
    for at in hits:
        garbled = bytearray(raw)
        garbled[at + 1] = 0x05
        path = tmp_path / f"vlen{at}_demo.nwb"
        path.write_bytes(bytes(garbled))
        exercise_nwb(path)
        path.unlink()


def test_heap_walker_finds_the_collection_hdf5_would_loop_on(demo_nwb, tmp_path):
    """A global heap collection whose free-space object has size 0 makes HDF5 loop forever when
    it parses it; neurotk's walker (run before reading strings) must flag it, and only it."""
    import re
    import struct

    h5py = pytest.importorskip("h5py")
    from neurotk.io._hdf5 import _walk_heap_collection

    raw = bytearray(demo_nwb.read_bytes())
    with h5py.File(demo_nwb, "r") as f:
        collections = [m.start() for m in re.finditer(b"GCOL", raw)
                       if raw[m.start() + 4] == 1 and _walk_heap_collection(demo_nwb, m.start(), f) is None]
    assert collections, "the demo file has no global heap collection"
    address = collections[0]
    size = struct.unpack_from("<Q", raw, address + 8)[0]
    p = address + 16
    while p + 16 <= address + size:  # find the free-space object (index 0) and zero its size
        index, length = struct.unpack_from("<H", raw, p)[0], struct.unpack_from("<Q", raw, p + 8)[0]
        if index == 0:
            raw[p + 8:p + 16] = bytes(8)
            break
        p += 16 + -(-length // 8) * 8
    else:
        pytest.skip("the first collection is full (no free-space object)")
    path = tmp_path / "loops.nwb"
    path.write_bytes(bytes(raw))
    with h5py.File(path, "r") as f:
        assert "size 0" in _walk_heap_collection(path, address, f)
