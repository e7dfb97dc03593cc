"""Names that load on first use, so ``import neurotk`` (and its subpackages) stays fast."""

from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, exports: dict[str, str]):
    """Return ``(__getattr__, __dir__)`` for a package whose public names live in submodules.

    ``exports`` maps a public name to the submodule (relative to ``package``) that defines
    it; the submodule is imported the first time the name is used.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("neurotk.datasets", {"simulate_fmri": "fmri_runs"})
    >>> getattr_("simulate_fmri").__name__
    'simulate_fmri'
    """

    def __getattr__(name):
        if name in exports:
            value = getattr(importlib.import_module(f".{exports[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
