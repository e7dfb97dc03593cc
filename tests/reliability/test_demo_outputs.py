"""neurotk demo never leaves a mixed output folder, and two runs into one folder do not interleave (issue 18)."""

import subprocess
import sys

import pytest

from neurotk import cli


def _previous_run(out):
    out.mkdir()
    files = {"demo_session.nwb": "previous nwb", "index.html": "previous page", "scores.csv": "previous scores",
             "notes.txt": "the user's own file"}
    for name, text in files.items():
        (out / name).write_text(text)
    return files


def _unchanged(out, files):
    assert {p.name: p.read_text() for p in out.iterdir()} == files
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    assert leftovers == [], f"temporary folder or lock left: {leftovers}"


def test_interrupted_demo_leaves_the_previous_run_intact(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    files = _previous_run(out)

    def interrupt(*args, **kwargs):  # after the new NWB file has been written
        raise KeyboardInterrupt

    monkeypatch.setattr("neurotk.report.compare_recordings", interrupt)
    with pytest.raises(KeyboardInterrupt):
        cli.main(["demo", "--out", str(out), "--quiet"])
    _unchanged(out, files)


def test_a_second_run_into_the_same_folder_fails_clearly(tmp_path, capsys):
    out = tmp_path / "demo"
    files = _previous_run(out)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / ".demo.neurotk-lock").write_text(str(other.pid))  # a live run holds the folder
        assert cli.main(["demo", "--out", str(out), "--quiet"]) != 0
        assert "being written by another neurotk run" in capsys.readouterr().err
        assert {p.name: p.read_text() for p in out.iterdir()} == files
    finally:
        other.kill()
        other.wait()


def test_a_lock_left_by_a_dead_run_is_taken_over(tmp_path, monkeypatch):
    out = tmp_path / "demo"
    files = _previous_run(out)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / ".demo.neurotk-lock").write_text(dead.stdout.strip())
    monkeypatch.setattr("neurotk.report.compare_recordings", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):  # the run started (it got past the lock) and was interrupted
        cli.main(["demo", "--out", str(out), "--quiet"])
    _unchanged(out, files)
