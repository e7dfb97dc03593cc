"""Simulated data with known ground truth, the bundled digits network and demo files.

Everything here is generated on the fly (nothing is downloaded), deterministic under
``random_state`` and fast enough for tests and classrooms. Names load lazily.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "simulate_visual_hierarchy": "hierarchy",
    "VisualHierarchy": "hierarchy",
    "digits_network": "network",
    "DigitsNetwork": "network",
    "make_demo_session": "demo",
    "make_allen_demo": "demo",
    "simulate_calcium_population": "simulate",
    "simulate_cell_types": "simulate",
    "simulate_fmri": "simulate",
    "CalciumPopulation": "simulate",
    "CellTypePopulation": "simulate",
    "FMRISimulation": "simulate",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
