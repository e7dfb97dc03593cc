"""Every file neurotk writes goes to a temporary name and is renamed: an interrupted write
leaves no half-written file under the final name, keeps an existing file intact and
leaves no temporary files behind. And no data file is ever unpickled.

Each writer is interrupted by making the library call that does the writing (nibabel's
save, matplotlib's savefig, pandas' to_csv, pynwb's write, h5py's create_dataset, or
os.replace itself) write part of the file and then raise, as a crash or Ctrl-C would.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import neurotk  # noqa: E402
from neurotk import Recording  # noqa: E402
from neurotk.utils import atomic_path  # noqa: E402

PACKAGE = Path(neurotk.__file__).resolve().parent


class Interrupted(Exception):
    """Stands in for a crash in the middle of a write."""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def listing(folder: Path) -> set[str]:
    return {p.name for p in Path(folder).iterdir()}


def half_write_then(exc=Interrupted):
    """A replacement writer: puts some bytes at the path it was given, then raises ``exc``."""
    calls = []

    def writer(*args, **kwargs):
        target = next(a for a in args if isinstance(a, (str, os.PathLike)))
        calls.append(Path(target))
        Path(target).write_bytes(b"half a file")
        raise exc("interrupted mid-write")

    writer.calls = calls
    return writer


# --------------------------------------------------------------------------- the helper
@pytest.mark.parametrize("exc", [Interrupted, KeyboardInterrupt])
def test_atomic_path_failure_leaves_nothing(tmp_path, exc):
    target = tmp_path / "out.csv"
    with pytest.raises(exc):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise exc()
    assert listing(tmp_path) == set()


def test_atomic_path_keeps_the_old_file_when_replace_fails(tmp_path, monkeypatch):
    target = tmp_path / "map.nii.gz"
    target.write_bytes(b"old")

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"new")
            assert tmp.parent == target.parent and tmp.name != target.name
            assert tmp.name.endswith(".nii.gz")  # writers that pick the format from the suffix still can
    assert target.read_bytes() == b"old"
    assert listing(tmp_path) == {"map.nii.gz"}


# --------------------------------------------------------------------------- NIfTI maps
def _voxel_recording():
    nib = pytest.importorskip("nibabel")
    from neurotk.io import load_fmri

    data = np.random.default_rng(0).normal(size=(3, 4, 2, 5)).astype(np.float32)
    return load_fmri(nib.Nifti1Image(data, np.eye(4)), tr=2.0)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_to_nifti_interrupted(tmp_path, monkeypatch, suffix):
    nib = pytest.importorskip("nibabel")
    from neurotk.io import to_nifti

    rec = _voxel_recording()
    scores = np.arange(rec.n_units, dtype=np.float64)
    target = tmp_path / f"scores{suffix}"
    to_nifti(scores, rec, path=target)  # a complete earlier result
    before = sha256(target)
    writer = half_write_then()
    monkeypatch.setattr(nib, "save", writer)
    with pytest.raises(Interrupted):
        to_nifti(scores + 1, rec, path=target)
    assert writer.calls and all(c != target for c in writer.calls), "nibabel wrote to the final name"
    assert sha256(target) == before
    assert listing(tmp_path) == {target.name}
    monkeypatch.undo()
    np.testing.assert_array_equal(np.asarray(nib.load(target).dataobj)[rec.units["i"], rec.units["j"],
                                                                       rec.units["k"]], scores)


def test_simulate_fmri_interrupted(tmp_path, monkeypatch):
    nib = pytest.importorskip("nibabel")
    from neurotk.datasets import simulate_fmri

    out = tmp_path / "bids"
    writer = half_write_then()
    monkeypatch.setattr(nib, "save", writer)
    with pytest.raises(Interrupted):
        simulate_fmri(shape=(4, 4, 4), n_runs=1, n_volumes=40, n_rois=2, trials_per_condition=1, path=out)
    assert writer.calls and not any(c.name.endswith("_bold.nii.gz") and c.parent == out and c.name.startswith("sub-")
                                    for c in writer.calls)
    assert listing(out) == set(), f"left {listing(out)}"

    monkeypatch.undo()
    writer = half_write_then()
    monkeypatch.setattr(pd.DataFrame, "to_csv", writer)
    with pytest.raises(Interrupted):
        simulate_fmri(shape=(4, 4, 4), n_runs=1, n_volumes=40, n_rois=2, trials_per_condition=1, path=out)
    # the BOLD run was complete before the events table failed; the events file is absent
    assert listing(out) == {"sub-01_run-1_bold.nii.gz"}
    assert nib.load(out / "sub-01_run-1_bold.nii.gz").shape == (4, 4, 4, 40)


# --------------------------------------------------------------------------- NWB files
def test_make_demo_session_interrupted(tmp_path, monkeypatch):
    pynwb = pytest.importorskip("pynwb")
    from neurotk.datasets import make_demo_session

    def failing_write(self, *args, **kwargs):
        raise Interrupted("interrupted while writing the NWB file")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", failing_write)
    target = tmp_path / "session.nwb"
    with pytest.raises(Interrupted):
        make_demo_session(target, n_stimuli=4, n_repeats=1, n_units_per_area=2)
    assert listing(tmp_path) == set(), f"left {listing(tmp_path)}"  # NWBHDF5IO had created the temporary file


def test_make_allen_demo_interrupted(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    from neurotk.datasets import make_allen_demo

    real = h5py.Group.create_dataset
    calls = []

    def create_dataset(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("name"))
        if len(calls) == 3:  # some datasets are already in the file
            raise Interrupted("interrupted while writing the HDF5 file")
        return real(self, *args, **kwargs)

    target = tmp_path / "allen.nwb"
    target.write_bytes(b"an older file")
    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    with pytest.raises(Interrupted):
        make_allen_demo(target)
    assert len(calls) == 3
    assert target.read_bytes() == b"an older file"
    assert listing(tmp_path) == {"allen.nwb"}


# --------------------------------------------------------------------------- the report folder
@pytest.fixture(scope="module")
def small_report():
    from neurotk.report import compare_recordings

    rng = np.random.default_rng(0)
    n_stim = 12
    samples = {"stimulus": np.arange(n_stim), "category": np.arange(n_stim) % 3}
    latent = rng.normal(size=(n_stim, 4))
    brain = {a: Recording(latent @ rng.normal(size=(4, 6)) + rng.normal(size=(n_stim, 6)), samples)
             for a in ("V1", "LM")}
    layers = {k: Recording(latent @ rng.normal(size=(4, 5)), samples) for k in ("conv", "fc")}
    return compare_recordings(brain, layers, n_bootstrap=5, progress=False)


@pytest.mark.parametrize("what", ["savefig", "to_csv", "write_text", "KeyboardInterrupt"])
def test_report_save_interrupted(small_report, tmp_path, monkeypatch, what):
    import matplotlib.figure
    import matplotlib.pyplot as plt

    out = tmp_path / "report"
    if what != "to_csv":  # the write path is what is tested: one small figure is enough (and fast)
        monkeypatch.setattr(small_report, "figures", lambda: {"tiny": plt.figure(figsize=(1, 1))})
    if what in ("savefig", "KeyboardInterrupt"):
        writer = half_write_then(KeyboardInterrupt if what == "KeyboardInterrupt" else Interrupted)
        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, *a, **k: writer(*a, **k))
        final = set()  # the first figure fails: nothing is complete
    elif what == "to_csv":
        writer = half_write_then()
        monkeypatch.setattr(pd.DataFrame, "to_csv", writer)
        final = None  # the figures were complete before the table failed
    else:
        writer = half_write_then()
        monkeypatch.setattr(Path, "write_text", lambda self, *a, **k: writer(self))
        final = None
    with pytest.raises(KeyboardInterrupt if what == "KeyboardInterrupt" else Interrupted):
        small_report.save(out)
    names = listing(out)
    assert writer.calls and all(c.name not in ("scores.csv", "index.html") and not c.name[0].isalnum()
                                for c in writer.calls), "a writer was handed the final name"
    assert not any(n.startswith(".") for n in names), f"temporary files left: {names}"
    if final is not None:
        assert names == final
    else:
        # complete figures and tables (scores.csv, pairwise.csv ...) may stand; the page, written last, may not
        assert "index.html" not in names and all(n.endswith((".png", ".csv")) for n in names)
        if what == "to_csv":
            assert "scores.csv" not in names
    monkeypatch.undo()
    if what == "to_csv":
        small_report.save(out)  # a rerun completes the folder
        assert {"scores.csv", "index.html", "layer_area.png"} <= listing(out)
        assert not any(n.startswith(".") for n in listing(out))
        assert pd.read_csv(out / "scores.csv").shape == small_report.scores.shape


# --------------------------------------------------------------------------- never unpickle
#: Calls that unpickle what they read (unless told not to).
_UNPICKLERS = {("pickle", "load"), ("pickle", "loads"), ("cPickle", "load"), ("dill", "load"), ("dill", "loads"),
               ("cloudpickle", "load"), ("cloudpickle", "loads"), ("joblib", "load"), ("pd", "read_pickle"),
               ("pandas", "read_pickle"), ("shelve", "open"), ("np", "fromfile")}


def unsafe_loads(source: str, filename: str = "<string>") -> list[str]:
    """Places in ``source`` that load pickles, or call np.load without allow_pickle=False."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value
        owner = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", None)
        name = node.func.attr
        where = f"{filename}:{node.lineno} {owner}.{name}"
        kwargs = {k.arg: k.value for k in node.keywords}
        if (owner, name) in _UNPICKLERS:
            found.append(where)
        elif owner in ("np", "numpy") and name == "load":
            flag = kwargs.get("allow_pickle")
            # allow_pickle=allow_pickle: the user's own explicit opt-in (a parameter whose
            # default is False, checked by test_pickles_only_on_the_users_explicit_flag)
            user_flag = isinstance(flag, ast.Name) and flag.id == "allow_pickle"
            if not (isinstance(flag, ast.Constant) and flag.value is False) and not user_flag:
                found.append(f"{where} without allow_pickle=False")
        elif owner == "torch" and name == "load":
            flag = kwargs.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"{where} without weights_only=True")
    return found


def test_pickles_only_on_the_users_explicit_flag():
    """Every public loader with an ``allow_pickle`` parameter defaults it to False."""
    import inspect

    import neurotk.io

    flagged = {}
    for name in dir(neurotk.io):
        obj = getattr(neurotk.io, name)
        if callable(obj):
            try:
                params = inspect.signature(obj).parameters
            except (TypeError, ValueError):
                continue
            if "allow_pickle" in params:
                flagged[name] = params["allow_pickle"].default
    assert "read_suite2p" in flagged
    assert all(default is False for default in flagged.values()), flagged


def test_the_pickle_checker_finds_unsafe_loads():
    bad = ("import numpy as np, pickle\nnp.load(p)\nnp.load(p, allow_pickle=True)\npickle.load(f)\n"
           "pd.read_pickle(p)\nnp.load(p, allow_pickle=False)\n")
    assert len(unsafe_loads(bad)) == 4


def test_no_pickle_is_loaded_from_data_files():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    found = [hit for path in sources for hit in unsafe_loads(path.read_text(encoding="utf-8"), str(path))]
    assert not found, "data files must never be unpickled:\n" + "\n".join(found)
    # no call anywhere passes allow_pickle=True itself (only the user's own flag may turn it on)
    forced = [f"{path}:{node.lineno}" for path in sources
              for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
              if isinstance(node, ast.keyword) and node.arg == "allow_pickle"
              and isinstance(node.value, ast.Constant) and node.value.value is True]
    assert not forced, forced


def test_from_arrays_refuses_object_arrays(tmp_path):
    """The .npz loader really does refuse pickled object arrays (allow_pickle=False at work)."""
    from neurotk.io import from_arrays

    path = tmp_path / "layers.npz"
    np.savez(path, fc=np.array([object(), object()], dtype=object).reshape(2, 1))
    with pytest.raises(neurotk.DataFormatError, match="layers.npz: holds object arrays, which neurotk never unpickles"):
        from_arrays(path)
    path = tmp_path / "layer.npy"
    np.save(path, np.array([[{"a": 1}]], dtype=object))
    with pytest.raises(neurotk.DataFormatError, match="layer.npy: holds object arrays, which neurotk never unpickles"):
        neurotk.load(path)
