"""Hostile sizes (issue 18): memory bombs, overflowing numbers and colliding names.

Every hostile file or input is built here. Where a hang or a memory bomb is possible the
call runs in a subprocess with a timeout and, for memory bombs, an address-space limit
(``RLIMIT_AS``) set in that subprocess only, a little above what it has already mapped; the
call must end, within the timeout, in a clear :class:`neurotk.NeurotkError` naming what was
declared (never a MemoryError, an OverflowError, a hang or an out-of-memory kill). Results
that must still come out (a legitimate, highly compressed image; a PSTH of a table with a
``trial`` column; chunked counts) are compared with plain loops or nibabel written here.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neurotk
from neurotk import ArgumentError, DataFormatError
from neurotk.io import bin_spikes, count_spikes, from_arrays, load_fmri, psth

nib = pytest.importorskip("nibabel")
h5py = pytest.importorskip("h5py")

LINUX = sys.platform.startswith("linux")
needs_linux = pytest.mark.skipif(not LINUX, reason="RLIMIT_AS, /proc and FIFOs as on Linux")
REPO = Path(__file__).resolve().parents[2]

#: A call on these small inputs takes well under a second; one still running after this is a hang.
TIMEOUT_S = 60

PRELUDE = """
import os, resource, sys
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import neurotk
from neurotk.io import bin_spikes, count_spikes, from_arrays, load_fmri, psth


def limit_memory(headroom):
    used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    resource.setrlimit(resource.RLIMIT_AS, (used + headroom, hard))


def report(call):
    try:
        call()
    except neurotk.NeurotkError as exc:
        print("NEUROTK", type(exc).__name__, exc)
    except BaseException as exc:
        print("OTHER", type(exc).__name__, exc)
    else:
        print("RETURNED")
"""


def isolated(code: str, timeout: float = TIMEOUT_S) -> str:
    """Run ``code`` (after PRELUDE) in a fresh interpreter; its stdout, or a failure on a hang or crash."""
    try:
        proc = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], capture_output=True,
                              text=True, timeout=timeout, cwd=REPO, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hang: still running after {timeout} s:\n{code}")
    assert proc.returncode == 0, f"crashed (rc {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout.strip()


def assert_neurotk(out: str, error: str, *fragments: str):
    assert out.startswith(f"NEUROTK {error} "), out
    for fragment in fragments:
        assert fragment in out, (fragment, out)


# --------------------------------------------------------------------------- NIfTI headers
def _header_bytes(header) -> bytes:
    bio = io.BytesIO()
    header.write_to(bio)
    return bio.getvalue() + b"\0" * 4  # the NIfTI extension flag


@needs_linux
def test_gzip_nifti_declaring_16_gib_is_refused_before_allocating(tmp_path):
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_data_shape((2048, 2048, 1024, 1))
    path = tmp_path / "bomb.nii.gz"
    path.write_bytes(gzip.compress(_header_bytes(header)))
    assert path.stat().st_size < 400  # a few hundred bytes declaring 16 GiB
    out = isolated(f"limit_memory(1 << 30)\nreport(lambda: load_fmri({str(path)!r}))")
    assert_neurotk(out, "DataFormatError", "bomb.nii.gz", "(2048, 2048, 1024, 1)", "16 GiB", "gzip")


@needs_linux
def test_nifti2_header_declaring_exbibytes_is_refused(tmp_path):
    header = nib.Nifti2Header()
    header.set_data_dtype(np.float64)
    header.set_data_shape((2**20, 2**20, 2**20, 8))
    path = tmp_path / "bomb2.nii"
    path.write_bytes(_header_bytes(header))
    out = isolated(f"limit_memory(1 << 30)\nreport(lambda: load_fmri({str(path)!r}))")
    assert_neurotk(out, "DataFormatError", "bomb2.nii", "(1048576, 1048576, 1048576, 8)", "EiB")


def test_uncompressed_header_larger_than_its_file(tmp_path):
    path = tmp_path / "short.nii"
    nib.save(nib.Nifti1Image(np.ones((4, 4, 4, 6), np.float32), np.eye(4)), path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 4 * 4 * 4 * 4])  # one volume short: 4 * 4 * 4 values of 4 bytes
    with pytest.raises(DataFormatError, match=r"short\.nii.*\(4, 4, 4, 6\).*float32"):
        load_fmri(path)


def test_gzip_bound_still_accepts_a_highly_compressed_image(tmp_path):
    """Zeros compress about as well as deflate can (~1030:1): the bound must not refuse them."""
    data = np.zeros((64, 64, 64, 8), np.float32)
    data[10, 20, 30] = np.arange(8)
    plain = tmp_path / "zeros.nii"
    nib.save(nib.Nifti1Image(data, np.eye(4)), plain)
    path = tmp_path / "zeros.nii.gz"
    path.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=9))
    assert data.nbytes / path.stat().st_size > 900  # close to the deflate limit
    mask = np.zeros(data.shape[:3], bool)
    mask[10, 20, 30] = mask[0, 0, 0] = True
    rec = load_fmri(path, mask=mask)
    reference = nib.load(path).get_fdata()[mask].T  # nibabel's own reading
    np.testing.assert_array_equal(rec.data, reference)
    np.testing.assert_array_equal(rec.data[:, 1], np.arange(8))


def _write_nifti_with_dim(path: Path, dims):
    header = nib.Nifti1Header()
    header.set_data_dtype(np.float32)
    header.set_data_shape((2, 2, 2, 3))
    raw = bytearray(_header_bytes(header))
    struct.pack_into("<8h", raw, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    path.write_bytes(bytes(raw) + bytes(4 * 2 * 2 * 2 * 3))


def test_negative_dimension(tmp_path):
    path = tmp_path / "neg.nii"
    _write_nifti_with_dim(path, (2, 2, -3, 3))
    with pytest.raises(DataFormatError, match=r"neg\.nii.*\(2, 2, -3, 3\).*negative"):
        load_fmri(path)


def test_complex_image(tmp_path):
    path = tmp_path / "complex.nii"
    nib.save(nib.Nifti1Image((np.ones((2, 2, 2, 3)) * (1 + 2j)).astype(np.complex64), np.eye(4)), path)
    with pytest.raises(DataFormatError, match=r"complex\.nii.*complex values \(complex64\).*real numbers"):
        load_fmri(path)
    with pytest.raises(DataFormatError, match="complex"):  # the same rule for an in-memory image
        load_fmri(nib.load(path))


RGB = np.dtype([("R", "u1"), ("G", "u1"), ("B", "u1")])


def test_rgb_images_masks_and_atlases(tmp_path):
    good = tmp_path / "good.nii"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).normal(size=(2, 2, 2, 3)).astype(np.float32), np.eye(4)), good)
    rgb_run = tmp_path / "rgb_run.nii"
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2, 3), RGB), np.eye(4)), rgb_run)
    rgb_mask = tmp_path / "rgb_mask.nii"
    nib.save(nib.Nifti1Image(np.ones((2, 2, 2), RGB), np.eye(4)), rgb_mask)
    with pytest.raises(DataFormatError, match=r"image .*rgb_run\.nii.*colour or record values \(R/G/B"):
        load_fmri(rgb_run)
    with pytest.raises(DataFormatError, match=r"mask .*rgb_mask\.nii.*colour"):
        load_fmri(good, mask=rgb_mask)
    with pytest.raises(DataFormatError, match=r"atlas .*rgb_mask\.nii.*colour"):
        load_fmri(good, atlas=rgb_mask)
    with pytest.raises(DataFormatError, match=r"mask array.*colour"):
        load_fmri(good, mask=np.ones((2, 2, 2), RGB))


def test_analyze_header_without_its_image_file(tmp_path):
    path = tmp_path / "run.hdr"
    nib.save(nib.AnalyzeImage(np.ones((2, 2, 2, 3), np.float32), np.eye(4)), path)
    (tmp_path / "run.img").unlink()
    with pytest.raises(DataFormatError, match=r"run\.hdr.*run\.img is missing"):
        load_fmri(path)


def test_huge_scale_factor_names_the_file(tmp_path):
    path = tmp_path / "slope.nii"
    img = nib.Nifti1Image((np.arange(2 * 3 * 4 * 3, dtype=np.int16) + 1).reshape(2, 3, 4, 3), np.eye(4))
    img.header.set_slope_inter(1e38, 0)
    nib.save(img, path)
    with pytest.raises(DataFormatError, match=r"slope\.nii: .*scl_slope 1e\+38.*float32.*dtype=np\.float64"):
        load_fmri(path, dtype=np.float32)
    rec = load_fmri(path)  # float64 holds 7.2e39: the values nibabel gives
    np.testing.assert_array_equal(rec.data, nib.load(path).get_fdata()[np.ones((2, 3, 4), bool)].T)


@needs_linux
def test_fifo_named_like_an_image_or_array_file_is_refused(tmp_path):
    for name in ("run.nii", "run.nii.gz", "layers.npz", "layer.npy"):
        os.mkfifo(tmp_path / name)
    out = isolated(f"""
        for name in ("run.nii", "run.nii.gz"):
            report(lambda: load_fmri(os.path.join({str(tmp_path)!r}, name)))
        for name in ("layers.npz", "layer.npy"):
            report(lambda: from_arrays(os.path.join({str(tmp_path)!r}, name)))
    """)
    lines = out.splitlines()
    assert len(lines) == 4, out
    for line, name in zip(lines, ("run.nii", "run.nii.gz", "layers.npz", "layer.npy")):
        assert_neurotk(line, "DataFormatError", name, "FIFO")


# --------------------------------------------------------------------------- .npz zip bombs
@needs_linux
def test_zip_bomb_npz_is_refused_before_decompressing(tmp_path):
    """1 GiB of zeros in a 5 MB .npz, read with 512 MiB of address space to spare."""
    path = tmp_path / "bomb.npz"
    n = 1 << 30
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("layer.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False,
                                                 "shape": (n // 8 // 1024, 1024)})
        for _ in range(n // len(chunk)):
            f.write(chunk)
    assert path.stat().st_size < 20 << 20
    out = isolated(f"""
        limit_memory(512 << 20)
        report(lambda: from_arrays({str(path)!r}))
        report(lambda: np.load({str(path)!r})["layer"])  # what numpy alone does: the bomb goes off
    """)
    ours, numpy_alone = out.splitlines()
    assert_neurotk(ours, "DataFormatError", "bomb.npz", "layer.npy", "1 GiB", "available to this process")
    assert numpy_alone.startswith("OTHER MemoryError"), numpy_alone  # the test can fail: the limit bites


def test_npz_member_header_declaring_more_than_it_holds(tmp_path):
    path = tmp_path / "liar.npz"
    bio = io.BytesIO()
    np.lib.format.write_array_header_1_0(bio, {"descr": "<f8", "fortran_order": False, "shape": (1 << 22, 1 << 10)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fc.npy", bio.getvalue() + bytes(80))
    with pytest.raises(DataFormatError, match=r"liar\.npz.*'fc\.npy'.*\(4194304, 1024\).*32 GiB.*80 B"):
        from_arrays(path)


def test_npz_members_of_any_name_count(tmp_path, monkeypatch):
    """numpy reads a member not named .npy whole, as bytes: its size counts too."""
    from neurotk.io import _memory

    path = tmp_path / "extra.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes", bytes(4 << 20))  # 4 MiB of zeros in a few kB
    monkeypatch.setattr(_memory, "available_memory", lambda: 1 << 20)
    with pytest.raises(DataFormatError, match=r"extra\.npz.*'notes' declares 4 MiB.*more than the 1 MiB"):
        from_arrays(path)


def test_npz_guard_leaves_ordinary_files_alone(tmp_path):
    path = tmp_path / "net.npz"
    rng = np.random.default_rng(1)
    conv, fc = rng.normal(size=(5, 2, 3, 3)), rng.normal(size=(5, 4)).astype(np.float32)
    np.savez_compressed(path, conv=conv, fc=fc, stimulus=np.arange(5))
    layers = from_arrays(path)
    np.testing.assert_array_equal(layers["conv"].data, conv.reshape(5, -1))
    np.testing.assert_array_equal(layers["fc"].data, fc)


def test_available_memory_counts_the_address_space_limit():
    if not LINUX:
        pytest.skip("RLIMIT_AS and /proc as on Linux")
    out = isolated("""
        from neurotk.io._memory import available_memory
        limit_memory(300 << 20)
        print(available_memory())
    """)
    assert 200 << 20 < int(out) <= 300 << 20


# --------------------------------------------------------------------------- spikes: overflow
@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from neurotk.datasets import make_demo_session

    return make_demo_session(tmp_path_factory.mktemp("demo") / "s.nwb", n_stimuli=6, n_repeats=2,
                             n_units_per_area=2, random_state=0)


def _with_times(demo, folder, first, last, name) -> Path:
    path = folder / name
    path.write_bytes(demo.read_bytes())
    with h5py.File(path, "r+") as f:
        times = f["units/spike_times"]
        if first is not None:
            times[0] = first
        if last is not None:
            times[-1] = last
    return path


@needs_linux
def test_bin_spikes_at_the_ends_of_the_float_range(demo, tmp_path):
    """Spike times near +-1.7e308, a bin of 5e-324 s, start/stop at +-1.7e308, a spike at -1e300
    (which looped forever) and bins below float resolution: ArgumentError, never OverflowError."""
    extreme = _with_times(demo, tmp_path, -1.7e308, 1.7e308, "extreme.nwb")
    early = _with_times(demo, tmp_path, -1e300, None, "early.nwb")
    out = isolated(f"""
        limit_memory(1 << 30)
        report(lambda: bin_spikes({str(extreme)!r}, 0.01))
        report(lambda: bin_spikes({str(extreme)!r}, 0.01, start=0.0))
        report(lambda: bin_spikes({str(extreme)!r}, 0.01, stop=5.0))
        report(lambda: bin_spikes({str(demo)!r}, 5e-324, start=0.0, stop=1.0))
        report(lambda: bin_spikes({str(demo)!r}, 0.01, start=-1.7e308, stop=1.7e308))
        report(lambda: bin_spikes({str(demo)!r}, 0.01, start=-1.7e308, stop=0.0))
        report(lambda: bin_spikes({str(demo)!r}, 1e307, start=1.7e308, stop=1.7976e308))  # last edge: inf
        report(lambda: bin_spikes({str(early)!r}, 0.01))
        report(lambda: bin_spikes({str(demo)!r}, 0.5, start=1e16, stop=1e16 + 100))
        report(lambda: psth({str(demo)!r}, window=(-1.7e308, 1.7e308), bin_size=0.01))
        report(lambda: psth({str(demo)!r}, window=(0.0, 1.0), bin_size=5e-324))
        report(lambda: count_spikes({str(demo)!r}, np.array([1.7e308]), window=(0.0, 1e308)))
    """)
    lines = out.splitlines()
    assert len(lines) == 12, out
    for line in lines:
        assert_neurotk(line, "ArgumentError")
    assert "bins" in lines[0] and "extreme.nwb" in lines[0]
    assert "5e-324" in lines[3]
    assert "leave the range of float64" in lines[6] and "resolution of float64" in lines[8]
    assert "s.nwb" in lines[9] and "leave the range of float64" in lines[11]


def test_bin_spikes_still_exact_near_the_guards(demo):
    """The checks refuse only what cannot be computed: counts stay those of np.histogram."""
    with h5py.File(demo, "r") as f:
        times, ends = f["units/spike_times"][:], f["units/spike_times_index"][:].astype(int)
    trains = np.split(times, ends[:-1])
    rec = bin_spikes(demo, 0.125, start=-3.0, stop=40.0)
    edges = np.append(rec.samples["time"].to_numpy(), rec.samples["bin_stop"].iloc[-1])
    reference = np.column_stack([np.histogram(t[t < edges[-1]], bins=edges)[0] for t in trains])
    np.testing.assert_array_equal(rec.data, reference)


# --------------------------------------------------------------------------- psth, count_spikes
def _reference_windows(trains, a, b):
    """(n_windows, n_units) spikes in [a, b): a plain loop, the definition."""
    out = np.zeros((len(a), len(trains)))
    for u, t in enumerate(trains):
        for k in range(len(a)):
            out[k, u] = np.count_nonzero((t >= a[k]) & (t < b[k]))
    return out


def _trains(path):
    with h5py.File(path, "r") as f:
        times, ends = f["units/spike_times"][:], f["units/spike_times_index"][:].astype(int)
    return np.split(times, ends[:-1])


def test_psth_keeps_interval_columns_named_trial_and_time(demo):
    table = pd.DataFrame({"start_time": [1.0, 2.5, 4.0], "stop_time": [1.5, 3.0, 4.5],
                          "trial": [7, 8, 7], "time": [10.0, 20.0, 30.0], "bin_stop": ["x", "y", "z"]})
    rec = psth(demo, table, window=(-0.1, 0.3), bin_size=0.1)
    n_bins = 4
    assert list(rec.samples.columns[:3]) == ["trial", "time", "bin_stop"]
    assert rec.samples["trial"].tolist() == list(np.repeat([0, 1, 2], n_bins))
    assert rec.samples["trial_interval"].tolist() == list(np.repeat([7, 8, 7], n_bins))
    assert rec.samples["time_interval"].tolist() == list(np.repeat([10.0, 20.0, 30.0], n_bins))
    assert rec.samples["bin_stop_interval"].tolist() == list(np.repeat(["x", "y", "z"], n_bins))
    assert rec.meta["renamed_columns"] == {"trial": "trial_interval", "time": "time_interval",
                                           "bin_stop": "bin_stop_interval"}
    offsets = -0.1 + 0.1 * np.arange(n_bins + 1)
    a = (table["start_time"].to_numpy()[:, None] + offsets[None, :-1]).ravel()
    b = (table["start_time"].to_numpy()[:, None] + offsets[None, 1:]).ravel()
    np.testing.assert_array_equal(rec.data, _reference_windows(_trains(demo), a, b))
    by_old_name = psth(demo, table, window=(-0.1, 0.3), bin_size=0.1, by="trial")
    by_new_name = psth(demo, table, window=(-0.1, 0.3), bin_size=0.1, by="trial_interval")
    assert by_old_name.shape == (2 * n_bins, rec.n_units)
    np.testing.assert_array_equal(by_old_name.data, by_new_name.data)
    groups = by_old_name.samples["trial_interval"].to_numpy()
    first = rec.data.reshape(3, n_bins, -1)
    np.testing.assert_allclose(by_old_name.data[groups == 7], (first[0] + first[2]) / 2)


def test_psth_and_count_spikes_in_blocks_equal_plain_loops(demo, monkeypatch):
    from neurotk.io import spikes as spikes_module

    trains = _trains(demo)
    onsets = np.linspace(0.5, 20.0, 37)
    monkeypatch.setattr(spikes_module, "_CHUNK_VALUES", 5)  # blocks of one window/trial at a time
    counts = count_spikes(demo, onsets, window=(0.0, 0.7))  # overlapping windows
    np.testing.assert_array_equal(counts.data, _reference_windows(trains, onsets, onsets + 0.7))
    rec = psth(demo, onsets, window=(-0.2, 0.6), bin_size=0.2)
    offsets = -0.2 + 0.2 * np.arange(5)
    a = (onsets[:, None] + offsets[None, :-1]).ravel()
    b = (onsets[:, None] + offsets[None, 1:]).ravel()
    # the library's edges are onset + offset, as here: the comparison is exact
    np.testing.assert_array_equal(rec.data, _reference_windows(trains, a, b))


@needs_linux
def test_psth_and_count_spikes_refuse_results_larger_than_memory(demo):
    out = isolated(f"""
        limit_memory(512 << 20)
        onsets = np.arange(1000, dtype=float)
        report(lambda: psth({str(demo)!r}, onsets, window=(0.0, 1.0), bin_size=1e-4))  # 12 units x 1e7 values
        report(lambda: count_spikes({str(demo)!r}, np.arange(4e6), window=(0.0, 0.5)))  # 12 units x 4e6 windows
    """)
    first, second = out.splitlines()
    assert_neurotk(first, "ArgumentError", "1000 trials x 10000 bins", "available to this process")
    assert_neurotk(second, "ArgumentError", "4000000 windows", "available to this process")


def test_memory_guard_names_what_was_asked(monkeypatch, demo):
    from neurotk.io import _memory

    monkeypatch.setattr(_memory, "available_memory", lambda: 1 << 20)
    with pytest.raises(ArgumentError, match=r"s\.nwb: .* units x .* bins .*more than the 1 MiB"):
        bin_spikes(demo, 1e-4, start=0.0, stop=100.0)
    with pytest.raises(ArgumentError, match=r"windows.*more than the 1 MiB"):
        count_spikes(demo, np.arange(20000.0), window=(0.0, 0.5))
    assert isinstance(neurotk.ArgumentError("x"), neurotk.NeurotkError)


@needs_linux
def test_hdf5_dataset_declared_beyond_available_memory_is_refused(tmp_path):
    """A few-kB file whose units/id declares 3e8 ids (2.4 GB, unallocated chunks): refused under RLIMIT_AS."""
    import h5py

    from neurotk.datasets import make_demo_session

    path = make_demo_session(tmp_path / "s.nwb", n_stimuli=4, n_repeats=1, n_units_per_area=2)
    with h5py.File(path, "a") as f:
        del f["units/id"]
        f.create_dataset("units/id", shape=(300_000_000,), dtype="int64", chunks=(1 << 16,))
    assert path.stat().st_size < 10**7
    out = isolated(f"""
        from neurotk.io import read_spikes
        limit_memory(1 << 30)
        report(lambda: read_spikes({str(path)!r}).unit_ids)
    """)
    assert_neurotk(out, "DataFormatError", "units/id", "memory available to this process")
