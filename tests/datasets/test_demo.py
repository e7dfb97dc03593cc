"""Tests of make_demo_session: a genuine NWB file read back with plain pynwb."""

import numpy as np
import pytest

import neurotk
from neurotk.datasets import make_demo_session, simulate_visual_hierarchy

pynwb = pytest.importorskip("pynwb")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = make_demo_session(tmp_path_factory.mktemp("demo") / "session.nwb", random_state=0)
    return path, simulate_visual_hierarchy(random_state=0)


def test_file_is_small_and_valid(demo):
    path, _ = demo
    assert path.exists() and path.stat().st_size < 10e6
    try:
        from pynwb import validate
    except ImportError:  # pragma: no cover
        pytest.skip("no pynwb.validate")
    errors = validate(path=str(path))
    errors = errors[0] if isinstance(errors, tuple) else errors
    assert list(errors) == []


def test_tables_and_spike_counts(demo):
    path, sim = demo
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        assert nwb.subject is not None and nwb.session_description
        assert {g.location for g in nwb.electrode_groups.values()} == set(sim.areas)
        units = nwb.units.to_dataframe(index=True)
        pres = nwb.intervals["stimulus_presentations"].to_dataframe()
        electrodes = nwb.electrodes.to_dataframe()
        images = nwb.stimulus_template["digit_images"].data[:]
        index = nwb.units["spike_times"]  # the ragged column: a VectorIndex over the flat times
        flat = index.target.data[:]
        ends = index.data[:]
    n_stim, n_units = sim.rates.shape
    assert len(units) == n_units and len(pres) == n_stim * 4
    assert {"area", "depth", "quality", "electrodes"} <= set(units.columns)
    assert set(units["quality"]) == {"good", "mua"} and (units["quality"] == "mua").mean() < 0.2
    assert units["area"].tolist() == sim.recording.units["area"].tolist()
    assert len(electrodes) == 16 * len(sim.areas)
    np.testing.assert_array_equal(images, sim.images)
    # presentation layout: 250 ms images, 250 ms blanks, every stimulus once per repeat, shuffled
    np.testing.assert_allclose(pres["stop_time"] - pres["start_time"], 0.25)
    np.testing.assert_allclose(np.diff(pres["start_time"]), 0.5)
    for r, block in pres.groupby("repeat"):
        assert sorted(block["stimulus"]) == list(range(n_stim))
    assert not (pres["stimulus"].to_numpy()[:n_stim] == np.arange(n_stim)).all()
    np.testing.assert_array_equal(pres["category"], sim.categories[pres["stimulus"]])

    # count each unit's spikes in each window with numpy (ragged -> unit index per spike)
    unit_of_spike = np.repeat(np.arange(n_units), np.diff(np.concatenate([[0], ends])))
    edges = np.sort(np.concatenate([pres["start_time"], pres["stop_time"]]))
    window = np.searchsorted(edges, flat, side="right") - 1
    inside = window % 2 == 0  # [start, stop) of a presentation
    counts = np.zeros((len(pres), n_units))
    np.add.at(counts, (window[inside] // 2, unit_of_spike[inside]), 1)
    order = np.argsort(pres["start_time"].to_numpy())
    counts = counts[np.argsort(order)]
    expected = sim.rates[pres["stimulus"].to_numpy()]
    # mean counts over repeats track the ground-truth rates with Poisson-level scatter
    mean = np.zeros_like(sim.rates)
    np.add.at(mean, pres["stimulus"].to_numpy(), counts / 4)
    assert np.corrcoef(mean.ravel(), sim.rates.ravel())[0, 1] > 0.95
    z = (counts - expected) / np.sqrt(expected)
    assert abs(z.mean()) < 0.05 and 0.9 < z.var() < 1.1
    # between presentations units fire at their (low) spontaneous rate
    blank_spikes = (~inside).sum()
    assert 0 < blank_spikes < inside.sum()


def test_deterministic(tmp_path, demo):
    path, _ = demo
    again = make_demo_session(tmp_path / "again.nwb", random_state=0)
    with pynwb.NWBHDF5IO(str(path), "r") as a, pynwb.NWBHDF5IO(str(again), "r") as b:
        np.testing.assert_array_equal(a.read().units["spike_times"].target.data[:], b.read().units["spike_times"].target.data[:])


def test_failure_leaves_no_file(tmp_path, monkeypatch):
    import pynwb as pn

    def boom(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pn.NWBHDF5IO, "write", boom)
    target = tmp_path / "broken.nwb"
    with pytest.raises(RuntimeError, match="disk full"):
        make_demo_session(target, n_stimuli=10, n_repeats=1, n_units_per_area=3)
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(neurotk.ArgumentError, match="n_repeats"):
        make_demo_session(tmp_path / "x.nwb", n_repeats=0)
    assert not (tmp_path / "x.nwb").exists()
    with pytest.raises(neurotk.ArgumentError, match="folder"):
        make_demo_session(tmp_path)
