"""Every tutorial runs top to bottom as a plain script (non-interactive backend)."""

import runpy
from pathlib import Path

import pytest

TUTORIALS = sorted((Path(__file__).resolve().parents[1] / "tutorials").glob("plot_*.py"))


@pytest.mark.parametrize("path", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs(path, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)  # anything a tutorial writes stays in a temporary folder
    try:
        runpy.run_path(str(path), run_name="__main__")
        assert plt.get_fignums(), f"{path.name} drew no figure"
    finally:
        plt.close("all")


def test_tutorials_exist_and_state_their_take_away():
    assert TUTORIALS, "no tutorials found"
    for path in TUTORIALS:
        assert "Take-away" in path.read_text(), f"{path.name} does not state its take-away"
