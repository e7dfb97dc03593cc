"""neurotk: neuroscience data analysis where every source of responses is a Recording.

Loaders (:mod:`neurotk.io`) turn NWB spikes, fMRI volumes, Allen Brain Observatory files and
network activations into :class:`Recording` objects; analyses (:mod:`neurotk.rsa`,
:mod:`neurotk.connectome`, :mod:`neurotk.encoding`, :mod:`neurotk.clustering`) take
Recordings and return results with ``.plot()`` and ``.to_frame()``.

Heavy submodules load lazily, on first use, so ``import neurotk`` stays fast.

Examples
--------
>>> import numpy as np, neurotk
>>> rec = neurotk.Recording(np.arange(6.0).reshape(3, 2))
>>> rec.shape
(3, 2)
"""

from __future__ import annotations

import importlib

from .errors import (
    AlignmentError,
    ArgumentError,
    DataFormatError,
    DuplicateIdError,
    NeurotkError,
    NeurotkWarning,
    NonFiniteDataError,
    NotFittedError,
    OptionalDependencyError,
    ShapeMismatchError,
)
from .recording import Recording, concat

__version__ = "0.1.0"

# Subpackages imported on first attribute access (the later ones arrive with their issues).
_SUBMODULES = {"datasets", "signal", "io", "rsa", "encoding", "connectome", "clustering", "plotting", "report", "parallel", "cli"}

__all__ = [
    "Recording",
    "concat",
    "NeurotkError",
    "ArgumentError",
    "ShapeMismatchError",
    "DataFormatError",
    "NonFiniteDataError",
    "DuplicateIdError",
    "AlignmentError",
    "NotFittedError",
    "OptionalDependencyError",
    "NeurotkWarning",
    "load",
    *sorted(_SUBMODULES),
]


def __getattr__(name):
    if name == "load":  # neurotk.load(path): the loader for the file's format
        from .io.dispatch import load

        globals()["load"] = load
        return load
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'neurotk' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | {"load"})
