"""Issue 18: one validator, one rule, and no memory limit of neurotk's own.

- Complex input is refused, naming the argument, by every public entry point that takes
  numbers (it used to lose its imaginary part silently in ``rsa.rdm``, ``rsa.compare``,
  ``RidgeCV.fit`` and ``rsa.RDM``, although ``Recording`` refused it).
- The loaders work under an address-space limit (``RLIMIT_AS``) a user sets, and nothing in
  neurotk sets one itself.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from neurotk import ArgumentError, NeurotkError, Recording, connectome, encoding, rsa

RNG = np.random.default_rng(0)
Z = RNG.normal(size=(20, 8)) + 1j * RNG.normal(size=(20, 8))
V = Z[:15, 0]

COMPLEX_CALLS = {
    "rsa.rdm": ("x", lambda: rsa.rdm(Z)),
    "rsa.compare": ("a", lambda: rsa.compare(V, V.real)),
    "rsa.cka": ("x", lambda: rsa.cka(Z, Z.real)),
    "rsa.RDM": ("vectors", lambda: rsa.RDM(V)),
    "rsa.kernel_analysis": ("x", lambda: rsa.kernel_analysis(Z, np.arange(20) % 2)),
    "rsa.noise_ceiling": ("data_rdms", lambda: rsa.noise_ceiling(np.stack([V] * 3))),
    "rsa.classical_mds": ("rdm", lambda: rsa.classical_mds(V)),
    "rsa.bootstrap": ("model_rdms", lambda: rsa.bootstrap(rsa.RDM(np.abs(Z[:15, :3].T)), np.stack([V] * 2))),
    "RidgeCV.fit X": ("X", lambda: encoding.RidgeCV().fit(Z, Z.real)),
    "RidgeCV.fit Y": ("Y", lambda: encoding.RidgeCV().fit(Z.real, Z)),
    "BandedRidgeCV.fit": ("X['space0']", lambda: encoding.BandedRidgeCV().fit([Z[:, :4], Z[:, 4:]], Z.real)),
    "connectome.ntf": ("X", lambda: connectome.ntf(np.abs(Z)[:, :, None] * np.ones(3) + 0j, 2)),
    "connectome.sliding_correlation": ("traces", lambda: connectome.sliding_correlation(Z, window=5)),
    "connectome.comovement_affinity": ("traces", lambda: connectome.comovement_affinity(Z, window=5)),
    "Recording": ("data", lambda: Recording(Z)),
}


@pytest.mark.parametrize("name", list(COMPLEX_CALLS))
def test_complex_input_is_refused_naming_the_argument(name):
    argument, call = COMPLEX_CALLS[name]
    with pytest.raises(NeurotkError, match=rf"^{__import__('re').escape(argument)} is complex \(complex128\); "
                                           r"expected real numbers"):
        call()


def test_backend_validation_states_the_same_rule():
    """Arrays of another library (torch, array-api-strict) are checked by the same rule, without a host copy."""
    strict = pytest.importorskip("array_api_strict")
    from neurotk._backend import resolve_backend

    x = strict.asarray(np.ones(3) + 1j)
    backend = resolve_backend([x])
    with pytest.raises(ArgumentError, match=r"^x is complex \(complex128\); expected real numbers"):
        backend.check(x, "x")


PROBE = """
import os, resource, sys
import numpy as np
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
import neurotk
from neurotk.io import bin_spikes, count_spikes, from_arrays, load_fmri, read_spikes
spikes = read_spikes(sys.argv[2])
binned = bin_spikes(sys.argv[2], 0.05)
counts = count_spikes(sys.argv[2])
img = load_fmri(sys.argv[3])
arrays = from_arrays(sys.argv[4])
assert resource.getrlimit(resource.RLIMIT_AS)[0] == limit, "neurotk changed the user's limit"
print("OK", spikes.n_units, binned.data.shape, counts.data.shape, img.data.shape, sorted(arrays))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS as on Linux")
def test_loaders_work_under_a_users_address_space_limit(tmp_path):
    import nibabel as nib

    from neurotk.datasets import make_demo_session

    nwb = make_demo_session(tmp_path / "s.nwb", n_stimuli=6, n_repeats=2, n_units_per_area=3, random_state=0)
    nii = tmp_path / "bold.nii.gz"
    nib.save(nib.Nifti1Image(RNG.normal(size=(4, 4, 3, 10)).astype(np.float32), np.eye(4)), nii)
    npz = tmp_path / "acts.npz"
    np.savez(npz, stimulus=np.arange(6), conv=RNG.normal(size=(6, 5)))
    limit = 3 * 2**30  # 3 GiB of address space: room for the interpreter, numpy, h5py, pandas, BLAS
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(PROBE), str(limit), str(nwb), str(nii), str(npz)],
                          capture_output=True, text=True, timeout=120,
                          env={"OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg",
                               "HOME": str(tmp_path)}, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("OK 9 "), proc.stdout


def test_neurotk_sets_no_memory_limit_of_its_own():
    """No module of the package calls setrlimit: limits are the user's choice (the tests set their own)."""
    import ast

    package = Path(__file__).resolve().parents[2] / "neurotk"
    offenders = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            func = getattr(node, "func", None)
            if isinstance(node, ast.Call) and getattr(func, "attr", getattr(func, "id", "")) in ("setrlimit", "prlimit"):
                offenders.append(f"{path.relative_to(package)}:{node.lineno}")
    assert offenders == []


def test_units_without_electrodes_are_a_valid_file(tmp_path):
    """Issue 18: "units without electrodes" were refused as truncated or corrupt; they are valid NWB."""
    from datetime import datetime, timezone

    from pynwb import NWBHDF5IO, NWBFile

    from neurotk.io import count_spikes, read_spikes

    times = [[0.1, 0.2, 0.5], [0.3], []]
    nwb = NWBFile("s", "id", datetime(2020, 1, 1, tzinfo=timezone.utc))
    for t in times:
        nwb.add_unit(spike_times=t)
    nwb.add_trial(start_time=0.0, stop_time=0.4)
    nwb.add_trial(start_time=0.4, stop_time=0.9)
    path = tmp_path / "no_electrodes.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    spikes = read_spikes(path)
    assert spikes.n_units == 3 and "electrode" not in spikes.units.columns
    counts = count_spikes(path, intervals="trials", window=(0.0, 0.4)).data
    expected = [[sum(s <= t < s + 0.4 for t in unit) for unit in times] for s in (0.0, 0.4)]
    np.testing.assert_array_equal(counts, expected)


def test_to_nifti_into_an_existing_folder_is_an_argument_error(tmp_path):
    """Issue 18: ``to_nifti(path=<existing directory>)`` raised IsADirectoryError."""
    import nibabel as nib

    from neurotk.io import load_fmri, to_nifti

    nib.save(nib.Nifti1Image(RNG.normal(size=(3, 3, 2, 4)).astype(np.float32), np.eye(4)), tmp_path / "b.nii")
    rec = load_fmri(tmp_path / "b.nii")
    with pytest.raises(ArgumentError, match=r"path=.*expected a \.nii or \.nii\.gz file name"):
        to_nifti(rec.data[0], rec, tmp_path)
    (tmp_path / "odd.nii").mkdir()
    with pytest.raises(NeurotkError, match="odd.nii"):
        to_nifti(rec.data[0], rec, tmp_path / "odd.nii")
    assert (tmp_path / "odd.nii").is_dir() and not any((tmp_path / "odd.nii").iterdir())
