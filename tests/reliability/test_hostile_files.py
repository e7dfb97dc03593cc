"""Hostile files for the HDF5/NWB loaders and ``neurotk.load`` (issue 18, "Hangs" family).

Each hostile file is built here. Where a regression would hang (a FIFO opened for reading
blocks until a writer comes, which never does), the case runs in a subprocess with a
timeout, so a hang fails the test instead of freezing the suite.

Covered:

- FIFOs, sockets and character devices named ``*.nwb`` / ``*.nii``: refused before opening
  by ``read_spikes``, ``read_intervals``, ``read_ophys``, ``load_allen`` and ``neurotk.load``
  (:func:`test_non_regular_files_are_refused_without_blocking`);
- external links: refused by default, naming the link and its target, also when the
  target is a FIFO (:func:`test_external_link_to_a_fifo_is_refused_without_blocking`,
  :func:`test_external_links_refused_by_default_everywhere`);
- where allowed, only targets inside the file's folder (symbolic links resolved, chains of
  links followed) (:func:`test_allowed_links_stay_inside_the_folder`);
- the "name confusion" case: ``/units`` links to ``B.nwb:/other`` and A has its own
  ``/other``; spike times must come from B (:func:`test_linked_units_read_from_the_linked_file`);
- a file locked by a writer is reported as locked (:func:`test_file_locked_by_a_writer`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

import neurotk
from neurotk.errors import DataFormatError
from neurotk.io import read_intervals, read_spikes
from neurotk.io._files import check_input_path

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")

TIMEOUT = 60


def _run(code: str, timeout: float = TIMEOUT, env=None) -> str:
    """Run ``code`` in a fresh interpreter; a hang becomes a test failure after ``timeout`` s."""
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=False, capture_output=True, text=True,
                              timeout=timeout, env=env)
    except subprocess.TimeoutExpired:  # pragma: no cover - only on a regression
        pytest.fail(f"the case hung for more than {timeout} s:\n{code}")
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def write_units(path, spike_times, ends, ids=None, where="units"):
    """A minimal NWB-2-like file with a Units table at ``where`` (hdmf DynamicTable layout)."""
    ends = np.asarray(ends, dtype=np.int64)
    with h5py.File(path, "a") as f:
        g = f.create_group(where)
        g.attrs["colnames"] = ["spike_times"]
        g.create_dataset("id", data=np.arange(len(ends)) if ids is None else ids)
        g.create_dataset("spike_times", data=np.asarray(spike_times, dtype=np.float64))
        g.create_dataset("spike_times_index", data=ends)
    return path


# --------------------------------------------------------------------------- non-regular files
def test_check_input_path_names_what_it_found(tmp_path):
    (tmp_path / "ok.nwb").write_bytes(b"x")
    assert check_input_path(tmp_path / "ok.nwb", "an NWB file") == tmp_path / "ok.nwb"
    assert check_input_path(tmp_path, "a folder", folder_ok=True) == tmp_path
    os.mkfifo(tmp_path / "pipe.nwb")
    with pytest.raises(DataFormatError, match=r"pipe\.nwb is a FIFO \(named pipe\); expected an NWB file"):
        check_input_path(tmp_path / "pipe.nwb", "an NWB file")
    with pytest.raises(DataFormatError, match="is a directory; expected an NWB file"):
        check_input_path(tmp_path, "an NWB file")
    with pytest.raises(DataFormatError, match=r"missing\.nwb does not exist; expected an NWB file"):
        check_input_path(tmp_path / "missing.nwb", "an NWB file")
    if os.path.exists("/dev/null"):
        os.symlink("/dev/null", tmp_path / "device.nwb")  # a link is followed: the device is refused
        with pytest.raises(DataFormatError, match="is a character device"):
            check_input_path(tmp_path / "device.nwb", "an NWB file")
    sock_path = tmp_path / "s.nwb"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(str(sock_path))
        except OSError:  # pragma: no cover - path too long for AF_UNIX on some systems
            return
        with pytest.raises(DataFormatError, match="is a socket"):
            check_input_path(sock_path, "an NWB file")


def test_non_regular_files_are_refused_without_blocking(tmp_path):
    out = _run(f"""
        import os, pathlib, neurotk
        from neurotk.errors import DataFormatError
        from neurotk.io import read_spikes, read_intervals, read_ophys, load_allen
        folder = pathlib.Path({str(tmp_path)!r})
        for name in ("a.nwb", "b.nii", "c.h5"):
            os.mkfifo(folder / name)
        calls = [
            ("read_spikes", lambda: read_spikes(folder / "a.nwb")),
            ("read_intervals", lambda: read_intervals(folder / "a.nwb")),
            ("read_ophys", lambda: read_ophys(folder / "a.nwb")),
            ("load_allen", lambda: load_allen(folder / "a.nwb")),
            ("load nwb", lambda: neurotk.load(folder / "a.nwb")),
            ("load h5", lambda: neurotk.load(folder / "c.h5")),
            ("load nii", lambda: neurotk.load(folder / "b.nii")),
        ]
        for what, call in calls:
            try:
                call()
            except DataFormatError as err:
                assert "FIFO" in str(err) and "expected" in str(err), (what, err)
                print(what, "refused")
            else:
                raise AssertionError(what + " read a FIFO")
    """)
    assert out.count("refused") == 7


# --------------------------------------------------------------------------- external links
def test_external_link_to_a_fifo_is_refused_without_blocking(tmp_path):
    out = _run(f"""
        import os, pathlib, h5py, numpy as np, neurotk
        from neurotk.errors import DataFormatError
        from neurotk.io import read_spikes
        folder = pathlib.Path({str(tmp_path)!r})
        os.mkfifo(folder / "pipe.h5")
        with h5py.File(folder / "a.nwb", "w") as f:
            g = f.create_group("units")
            g["id"] = np.arange(2)
            g["spike_times_index"] = np.array([1, 2])
            g["spike_times"] = h5py.ExternalLink("pipe.h5", "/data")
        for allow in (False, True):
            try:
                read_spikes(folder / "a.nwb", allow_external_links=allow)
            except DataFormatError as err:
                text = str(err)
                assert "'/units/spike_times'" in text and "pipe.h5" in text, text
                if allow:
                    assert "FIFO" in text, text
                print("refused", allow)
        try:
            neurotk.load(folder / "a.nwb")
        except DataFormatError as err:
            assert "external link" in str(err), err
            print("refused load")
    """)
    assert out.split() == ["refused", "False", "refused", "True", "refused", "load"]


def test_external_links_refused_by_default_everywhere(tmp_path):
    target = write_units(tmp_path / "b.nwb", [0.1, 0.2, 0.3], [2, 3])
    a = tmp_path / "a.nwb"
    with h5py.File(a, "w") as f:
        f["units"] = h5py.ExternalLink(target.name, "/units")
        f.create_group("intervals")["trials"] = h5py.ExternalLink(target.name, "/units")
    message = r"field '/(units|intervals/trials)' is an HDF5 external link to 'b.nwb':/units \(and 1 more\)"
    for call in (lambda: read_spikes(a), lambda: read_intervals(a), lambda: neurotk.load(a),
                 lambda: neurotk.io.load_allen(a), lambda: neurotk.io.read_ophys(a)):
        with pytest.raises(DataFormatError, match=message):
            call()
    # the file itself, read with the links allowed, gives the linked spikes
    spikes = read_spikes(a, allow_external_links=True)
    np.testing.assert_array_equal(spikes.times(1), [0.3])


def test_allowed_links_stay_inside_the_folder(tmp_path):
    inside, outside = tmp_path / "session", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    secret = write_units(outside / "secret.nwb", [1.0], [1])
    cases = {
        "absolute": (str(secret), "outside the file's folder"),
        "parent": ("../elsewhere/secret.nwb", "outside the file's folder"),
        "missing": ("nothing.nwb", "does not exist"),
    }
    os.symlink(secret, inside / "alias.nwb")  # inside by name, outside once resolved
    cases["symlink"] = ("alias.nwb", "outside the file's folder")
    # a chain: a.nwb -> hop.nwb (inside) -> secret.nwb (outside)
    with h5py.File(inside / "hop.nwb", "w") as f:
        f["units"] = h5py.ExternalLink(str(secret), "/units")
    cases["chain"] = ("hop.nwb", "outside the file's folder")
    for label, (target, message) in cases.items():
        path = inside / f"{label}.nwb"
        with h5py.File(path, "w") as f:
            f["units"] = h5py.ExternalLink(target, "/units")
        with pytest.raises(DataFormatError, match=message):
            read_spikes(path, allow_external_links=True)
        with pytest.raises(DataFormatError, match="external link"):
            read_spikes(path)


def test_linked_units_read_from_the_linked_file(tmp_path):
    """/units -> B.nwb:/other while A has its own /other: every value must come from B."""
    b_times, b_ends = np.array([0.5, 1.5, 2.5, 3.5, 4.5]), np.array([2, 5])
    a_times = -np.arange(5.0) - 100  # A's own /other: must never be read
    write_units(tmp_path / "B.nwb", b_times, b_ends, ids=[7, 8], where="other")
    write_units(tmp_path / "A.nwb", a_times, [3, 5], ids=[7, 8], where="other")
    with h5py.File(tmp_path / "A.nwb", "a") as f:
        f["units"] = h5py.ExternalLink("B.nwb", "/other")
    with pytest.raises(DataFormatError, match="'/units' is an HDF5 external link to 'B.nwb':/other"):
        read_spikes(tmp_path / "A.nwb")
    spikes = read_spikes(tmp_path / "A.nwb", allow_external_links=True)
    # reference: units split by the ends written into B (independent of neurotk's reader)
    expected = np.split(b_times, b_ends[:-1])
    for unit_id, want in zip([7, 8], expected):
        np.testing.assert_array_equal(spikes.times(unit_id), want)
    chunks = np.concatenate([times for times, _, _ in spikes.chunks()])
    np.testing.assert_array_equal(np.sort(chunks), b_times)
    counts = neurotk.io.bin_spikes(spikes, 1.0, start=0.0, stop=5.0).data
    np.testing.assert_array_equal(counts.sum(axis=0), [2, 3])
    assert spikes.meta["units_table"] == "/units"


def test_file_locked_by_a_writer(tmp_path):
    path = tmp_path / "busy.nwb"
    env = {k: v for k, v in os.environ.items() if k != "HDF5_USE_FILE_LOCKING"}
    writer = subprocess.Popen(
        [sys.executable, "-c", (f"import h5py, sys\nf = h5py.File({str(path)!r}, 'w')\nf['x'] = 1\n"
                                "f.flush()\nprint('open', flush=True)\nsys.stdin.read()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert writer.stdout.readline().strip() == "open"
        out = _run(f"""
            from neurotk.errors import DataFormatError
            from neurotk.io import read_spikes
            try:
                read_spikes({str(path)!r})
            except DataFormatError as err:
                print("locked" if "is locked by another process" in str(err) else "other: " + str(err))
        """, env=env)
    finally:
        writer.stdin.close()
        writer.wait(timeout=TIMEOUT)
    if out.startswith("other") and "lock" not in out:  # pragma: no cover - no file locking here
        pytest.skip(f"this file system does not lock HDF5 files: {out}")
    assert out.strip() == "locked"


# --------------------------------------------------------------------------- open_untrusted
LOADERS = '''
import os, signal, time


def hang(path):
    time.sleep(600)  # stands for HDF5 looping forever in C on a corrupt compact dataset


def crash(path):
    os.kill(os.getpid(), signal.SIGSEGV)
'''


def test_open_untrusted_turns_hangs_and_crashes_into_errors(tmp_path, monkeypatch):
    import importlib
    import time

    (tmp_path / "hostile_loaders.py").write_text(LOADERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    loaders = importlib.import_module("hostile_loaders")
    path = tmp_path / "x.nwb"
    path.write_bytes(b"")
    began = time.perf_counter()
    with pytest.raises(DataFormatError, match=r"x\.nwb: reading did not finish within timeout=1 s"):
        neurotk.io.open_untrusted(path, timeout=1, loader=loaders.hang)
    assert time.perf_counter() - began < 30  # the sleeping child was killed, not waited for
    with pytest.raises(DataFormatError, match=r"reader process died \(exit code -11\)"):
        neurotk.io.open_untrusted(path, timeout=30, loader=loaders.crash)


def test_open_untrusted_reads_and_reraises(tmp_path):
    os.mkfifo(tmp_path / "pipe.nwb")
    with pytest.raises(DataFormatError, match="is a FIFO"):  # the loader's own error, refused in the child
        neurotk.io.open_untrusted(tmp_path / "pipe.nwb", timeout=30)
    target = write_units(tmp_path / "b.nwb", [0.25, 0.5, 2.5], [2, 3], ids=[4, 9])
    spikes = neurotk.io.open_untrusted(target, timeout=30, loader="read_spikes")
    np.testing.assert_array_equal(spikes.unit_ids, [4, 9])
    np.testing.assert_array_equal(spikes.times(9), [2.5])
    with pytest.raises(neurotk.errors.ArgumentError, match="timeout"):
        neurotk.io.open_untrusted(target, timeout=0)
    with pytest.raises(neurotk.errors.ArgumentError, match="loader='nope'"):
        neurotk.io.open_untrusted(target, loader="nope")


def test_external_storage_and_virtual_datasets_are_refused(tmp_path):
    out = _run(f"""
        import os, pathlib, h5py, numpy as np
        from neurotk.errors import DataFormatError
        from neurotk.io import read_spikes
        folder = pathlib.Path({str(tmp_path)!r})
        os.mkfifo(folder / "raw.bin")
        with h5py.File(folder / "b.h5", "w") as f:
            f["t"] = np.arange(3.0)
        for kind in ("external", "virtual"):
            path = folder / (kind + ".nwb")
            with h5py.File(path, "w") as f:
                g = f.create_group("units")
                g["id"] = np.arange(1)
                g["spike_times_index"] = np.array([3])
                if kind == "external":  # values in a raw file that is a FIFO
                    g.create_dataset("spike_times", shape=(3,), dtype="f8", external=[(str(folder / "raw.bin"), 0, 24)])
                else:
                    layout = h5py.VirtualLayout(shape=(3,), dtype="f8")
                    layout[:] = h5py.VirtualSource(str(folder / "b.h5"), "t", shape=(3,))
                    g.create_virtual_dataset("spike_times", layout)
            try:
                read_spikes(path, allow_external_links=True).times(0)
            except DataFormatError as err:
                assert "'/units/spike_times'" in str(err) and ("raw.bin" in str(err) or "b.h5" in str(err)), err
                print("refused", kind)
    """)
    assert out.split() == ["refused", "external", "refused", "virtual"]


def test_an_empty_units_table_is_named_as_such(tmp_path):
    """A valid file with 0 units is not 'truncated or corrupt': the message says the table is empty."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    import neurotk
    from neurotk.io import read_spikes

    nwb = NWBFile("s", "id", datetime(2020, 1, 1, tzinfo=timezone.utc))
    nwb.units = Units(name="units", description="none")
    path = tmp_path / "empty.nwb"
    with NWBHDF5IO(path, "w") as io:
        io.write(nwb)
    for call in (lambda: read_spikes(path), lambda: neurotk.load(path)):
        with pytest.raises(neurotk.DataFormatError, match="Units table with 0 units") as err:
            call()
        assert "corrupt" not in str(err.value) and "empty.nwb" in str(err.value)
