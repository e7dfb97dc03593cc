"""Fixtures of the io tests: the NWB files that test_nwb.py reads and test_spikes.py bins."""

import datetime

import numpy as np
import pytest
from nwb_files import DEMO_KW

from neurotk.datasets import make_demo_session


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_session(tmp_path_factory.mktemp("demo") / "s.nwb", random_state=0, **DEMO_KW)


@pytest.fixture(scope="module")
def handmade(tmp_path_factory):
    """A file written with pynwb's own API: add_unit, add_trial, add_time_intervals."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.epoch import TimeIntervals

    rng = np.random.default_rng(3)
    nwb = NWBFile(session_description="handmade", identifier="handmade-1",
                  session_start_time=datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc))
    device = nwb.create_device(name="probe")
    groups = [nwb.create_electrode_group(name=f"shank{i}", description="shank", location=loc, device=device)
              for i, loc in enumerate(["VISp", "CA1"])]
    for e in range(8):
        nwb.add_electrode(group=groups[e // 4], location=groups[e // 4].location, x=0.0, y=float(e), z=0.0)
    nwb.add_unit_column(name="quality", description="sorting quality")
    nwb.add_unit_column(name="depth", description="um")
    trains = []
    for u in range(7):
        n = [0, 1, 50, 400, 3, 1000, 120][u]
        # 30 kHz sample times: many spikes fall exactly on 10 ms bin edges
        t = np.sort(rng.choice(30000 * 20, size=n, replace=False)) / 30000.0
        trains.append(t)
        nwb.add_unit(spike_times=t, quality=["good", "mua"][u % 2], depth=100.0 * u,
                     electrodes=[u % 8], id=100 + u)
    nwb.add_trial_column(name="stimulus", description="stimulus id")
    nwb.add_trial_column(name="correct", description="response")
    for k in range(30):
        nwb.add_trial(start_time=0.5 * k, stop_time=0.5 * k + 0.3, stimulus=k % 4, correct=bool(k % 3))
    pres = TimeIntervals(name="grating_presentations", description="gratings")
    pres.add_column(name="orientation", description="deg")
    for k in range(25):  # overlapping windows: 0.4 s apart, counted in 0.5 s windows below
        pres.add_interval(start_time=1.0 + 0.4 * k, stop_time=1.2 + 0.4 * k, orientation=45.0 * (k % 4))
    nwb.add_time_intervals(pres)
    path = tmp_path_factory.mktemp("handmade") / "handmade.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path, trains
