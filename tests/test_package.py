"""The package contract: light import, error hierarchy, helpers, the command line."""

import subprocess
import sys

import numpy as np
import pytest

import neurotk
from neurotk.errors import (
    ArgumentError,
    NeurotkError,
    OptionalDependencyError,
    describe_values,
    require,
)
from neurotk.utils import as_rng, atomic_path


def test_import_neurotk_loads_no_heavy_module():
    code = (
        "import sys, neurotk; neurotk.Recording; "
        "heavy = [m for m in ('pynwb', 'matplotlib', 'torch', 'sklearn', 'nibabel', 'h5py', 'xarray', 'tensorly') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_error_is_a_neurotk_error_and_a_standard_one():
    for name in ("ArgumentError", "ShapeMismatchError", "DataFormatError", "NonFiniteDataError", "DuplicateIdError", "AlignmentError"):
        cls = getattr(neurotk, name)
        assert issubclass(cls, NeurotkError) and issubclass(cls, ValueError)
    assert issubclass(OptionalDependencyError, ImportError)


def test_describe_values_truncates_and_unwraps_numpy():
    assert describe_values(np.array([1, 2, 3]), limit=2) == "[1, 2] and 1 more"
    assert describe_values(["a"]) == "['a']"


def test_require_names_the_extra():
    with pytest.raises(OptionalDependencyError, match=r'pip install "neurotk\[torch\]"'):
        require("a_module_that_does_not_exist_xyz", "Torch activations", extra="torch")


def test_as_rng_is_deterministic_and_validates():
    assert np.array_equal(as_rng(5).normal(size=3), as_rng(5).normal(size=3))
    gen = np.random.default_rng(1)
    assert as_rng(gen) is gen
    with pytest.raises(ArgumentError, match="random_state"):
        as_rng("seed")
    with pytest.raises(ArgumentError, match="non-negative"):
        as_rng(-1)


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "result.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("a,b\n")
    assert target.read_text() == "a,b\n"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "a,b\n"  # the old file is untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.csv"]  # no leftovers


def test_cli_help_and_info():
    out = subprocess.run([sys.executable, "-m", "neurotk.cli", "--help"], capture_output=True, text=True, check=True)
    assert "demo" in out.stdout and "info" in out.stdout
    out = subprocess.run([sys.executable, "-m", "neurotk.cli", "info"], capture_output=True, text=True, check=True)
    assert "numpy" in out.stdout and neurotk.__version__ in out.stdout
