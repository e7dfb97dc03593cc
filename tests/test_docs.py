"""The API reference lists every public name (DESIGN.md: every public function appears in it)."""

import importlib
import re
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"
#: Modules whose ``__all__`` is the public API (the top-level package lists its subpackages
#: in ``__all__``; those are modules, not names to document one by one).
PUBLIC_MODULES = ["neurotk", "neurotk.tables", "neurotk.results", "neurotk.io", "neurotk.io.dispatch",
                  "neurotk.datasets", "neurotk.rsa", "neurotk.encoding", "neurotk.connectome", "neurotk.clustering",
                  "neurotk.plotting.rsa", "neurotk.plotting.encoding", "neurotk.plotting.connectome",
                  "neurotk.plotting.clustering", "neurotk.plotting.layout", "neurotk.report", "neurotk.signal",
                  "neurotk.parallel", "neurotk.utils"]


def _documented() -> set[str]:
    """``module.name`` for every entry of every autosummary in api.rst."""
    names, module = set(), None
    for line in API.read_text(encoding="utf-8").splitlines():
        current = re.match(r"\.\. currentmodule:: (\S+)", line)
        if current:
            module = current.group(1)
        elif re.match(r"   [A-Za-z_]\w*$", line) and module:
            names.add(f"{module}.{line.strip()}")
    return names


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_every_public_name_is_in_the_api_reference(module):
    mod = importlib.import_module(module)
    public = [n for n in mod.__all__ if not isinstance(getattr(mod, n), type(mod))]
    if module == "neurotk":
        public = [n for n in public if n != "load"]  # documented where it lives, neurotk.io.dispatch
    missing = [n for n in public if f"{module}.{n}" not in _documented()]
    assert missing == [], f"{module} exports {missing}, which docs/api.rst does not list"


def test_the_api_reference_lists_only_names_that_exist():
    stale = []
    for entry in sorted(_documented()):
        module, name = entry.rsplit(".", 1)
        if not hasattr(importlib.import_module(module), name):
            stale.append(entry)
    assert stale == []
