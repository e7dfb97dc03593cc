"""Simulated data with known ground truth, the bundled digits network and demo files.

Everything here is generated on the fly (nothing is downloaded), deterministic under
``random_state`` and fast enough for tests and classrooms. Names load lazily.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "simulate_visual_hierarchy": "hierarchy",
    "VisualHierarchy": "hierarchy",
    "digits_network": "network",
    "DigitsNetwork": "network",
    "make_demo_session": "demo",
    "simulate_calcium_population": "simulate",
    "simulate_cell_types": "simulate",
    "simulate_fmri": "simulate",
    "CalciumPopulation": "simulate",
    "CellTypePopulation": "simulate",
    "FMRISimulation": "simulate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'neurotk.datasets' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
