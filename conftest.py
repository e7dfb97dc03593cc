"""Test-suite rules shared by every test.

A reference test that compares neurotk with a peer library skips when the peer is not
installed (``pytest.importorskip``), so a user's clone runs without the peers. In CI the
``test`` extra installs them, and a skip there would silently hide a check: with
``NEUROTK_REQUIRE_TEST_EXTRA=1`` (set by ``.ci/run``) a test skipped because a package of
the ``test`` extra could not be imported fails instead.
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

import pytest

_SETUP = Path(__file__).resolve().parent / "setup.cfg"
#: Import names a requirement provides beyond its own name.
_PROVIDES = {"dask": {"dask", "distributed"}, "igraph": {"igraph"}, "leidenalg": {"leidenalg"}, "pybids": {"bids"}}


def _test_extra_modules() -> set[str]:
    """Top-level module names the ``test`` extra of setup.cfg installs."""
    cfg = configparser.ConfigParser()
    cfg.read(_SETUP)
    modules = set()
    for line in cfg.get("options.extras_require", "test", fallback="").splitlines():
        name = re.split(r"[\[<>=!~; ]", line.strip(), maxsplit=1)[0].lower().replace("-", "_")
        if name:
            modules |= _PROVIDES.get(name, {name})
    return modules


_REQUIRED = _test_extra_modules() if os.environ.get("NEUROTK_REQUIRE_TEST_EXTRA") == "1" else set()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not _REQUIRED or not report.skipped:
        return
    reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    missing = re.search(r"could not import '([\w.]+)'", reason)
    if missing and missing.group(1).split(".")[0] in _REQUIRED:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid}: skipped because {missing.group(1)!r}, a package of the test extra, "
                           f"could not be imported ({reason}); CI installs the test extra, so this reference "
                           f"check must run")
