"""What the simulators of :mod:`neurotk.datasets` share: AR(1) noise and a one-line repr.

The calcium (:mod:`~neurotk.datasets.calcium`), cell-type
(:mod:`~neurotk.datasets.cell_types`) and fMRI (:mod:`~neurotk.datasets.fmri_runs`)
simulators each import these from here rather than from one another.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ar1_noise", "summary_repr"]


def ar1_noise(rng: np.random.Generator, shape: tuple[int, ...], coefficient: float) -> np.ndarray:
    """Stationary, unit-variance AR(1) series along axis 0, every column at once.

    ``x[t] = coefficient * x[t - 1] + sqrt(1 - coefficient**2) * e[t]`` with standard
    normal ``e``; the first row is drawn from the stationary distribution, so every
    sample has unit variance and neighbouring samples correlate by ``coefficient``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the innovations (``rng.standard_normal(shape)`` is drawn once).
    shape : tuple of int
        Output shape; the series run along the first axis.
    coefficient : float
        Lag-one autocorrelation, in [0, 1).

    Returns
    -------
    ndarray of float, shape ``shape``

    Examples
    --------
    >>> import numpy as np
    >>> x = ar1_noise(np.random.default_rng(0), (20000, 2), 0.5)
    >>> x.shape, round(float(x.std()), 1)
    ((20000, 2), 1.0)
    >>> round(float(np.corrcoef(x[1:, 0], x[:-1, 0])[0, 1]), 1)
    0.5
    """
    from scipy.signal import lfilter

    noise = rng.standard_normal(shape)
    scale = np.sqrt(1.0 - coefficient**2)
    noise[0] /= scale  # start in the stationary distribution
    return lfilter([scale], [1.0, -coefficient], noise, axis=0)


def summary_repr(obj, fields: dict[str, Any]) -> str:
    """``ClassName(key=value, ...)``: the short repr of a simulation's container.

    Examples
    --------
    >>> class Simulation:
    ...     pass
    >>> summary_repr(Simulation(), {"n_neurons": 60, "sampling_rate": 5.0})
    'Simulation(n_neurons=60, sampling_rate=5.0)'
    """
    inner = ", ".join(f"{k}={v}" for k, v in fields.items())
    return f"{type(obj).__name__}({inner})"
