"""Simulated data with known ground truth, the bundled digits network and demo files.

Everything here is generated on the fly (nothing is downloaded), deterministic under
``random_state`` and fast enough for tests and classrooms. Names load lazily. One module
per simulator: ``hierarchy`` (a visual hierarchy viewing digits), ``calcium`` (calcium
imaging with planted communities), ``cell_types`` (linear-nonlinear cell types) and
``fmri_runs`` (BOLD runs with planted responses); ``digits`` (scikit-learn's digits, their
fixed split and the image check), ``network`` (the bundled digits network) and ``demo``
(files written for the demo). ``packaged`` loads the small real datasets shipped in
``datasets/data/`` with their licences: the 92-object RDMs and images of Kriegeskorte et
al. 2008, a block of a studyforrest fMRI localizer run and a suite2p calcium excerpt.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "simulate_visual_hierarchy": "hierarchy",
    "VisualHierarchy": "hierarchy",
    "digits_network": "network",
    "DigitsNetwork": "network",
    "pretrained_onet": "onet",
    "ONet": "onet",
    "make_demo_session": "demo",
    "make_allen_demo": "demo",
    "simulate_calcium_population": "calcium",
    "CalciumPopulation": "calcium",
    "simulate_cell_types": "cell_types",
    "CellTypePopulation": "cell_types",
    "simulate_fmri": "fmri_runs",
    "FMRISimulation": "fmri_runs",
    "load_92_objects": "packaged",
    "Objects92": "packaged",
    "load_category_localizer": "packaged",
    "load_calcium_excerpt": "packaged",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
