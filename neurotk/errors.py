"""The neurotk error hierarchy.

Every error neurotk raises on bad input is a :class:`NeurotkError`. Messages name the file
or argument at fault, what was found and what was expected, so a user can fix the input
without reading neurotk's source.

Examples
--------
>>> import numpy as np, neurotk
>>> try:
...     neurotk.Recording(np.zeros(5))
... except neurotk.ShapeMismatchError as err:
...     print(type(err).__name__)
ShapeMismatchError
"""

from __future__ import annotations

__all__ = [
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
]


class NeurotkError(Exception):
    """Base class of every error neurotk raises on bad input."""


class ArgumentError(NeurotkError, ValueError):
    """An argument has a value, type or combination that the function cannot use."""


class ShapeMismatchError(NeurotkError, ValueError):
    """Arrays or tables whose shapes or lengths do not agree."""


class DataFormatError(NeurotkError, ValueError):
    """A file (or an in-memory table standing in for one) is not in the expected format."""


class NonFiniteDataError(NeurotkError, ValueError):
    """Data contain NaN or infinite values where finite values are required."""


class DuplicateIdError(NeurotkError, ValueError):
    """Identifiers (unit ids, stimulus ids ...) that must be unique are repeated."""


class AlignmentError(NeurotkError, ValueError):
    """Two recordings cannot be matched sample for sample (e.g. missing stimuli)."""


class NotFittedError(ArgumentError, AttributeError):
    """An estimator or model was used before ``fit``.

    Like scikit-learn's ``NotFittedError`` it is both a ``ValueError`` and an
    ``AttributeError``, so code written for scikit-learn estimators catches it too.
    """


class OptionalDependencyError(NeurotkError, ImportError):
    """A feature needs an optional package that is not installed."""


class NeurotkWarning(UserWarning):
    """Warnings about questionable but usable input."""


def describe_values(values, limit: int = 10) -> str:
    """Format a list of offending values for an error message, truncated after ``limit``.

    Examples
    --------
    >>> describe_values([3, 1, 2], limit=2)
    '[3, 1] and 1 more'
    """
    values = [v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v for v in values]
    shown = ", ".join(repr(v) for v in values[:limit])
    extra = len(values) - limit
    return f"[{shown}]" + (f" and {extra} more" if extra > 0 else "")


def require(module: str, feature: str, extra: str | None = None):
    """Import an optional module or raise :class:`OptionalDependencyError` saying how to get it.

    Examples
    --------
    >>> require("math", "trigonometry").__name__
    'math'
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        hint = f'pip install "neurotk[{extra}]"' if extra else f"pip install {module}"
        raise OptionalDependencyError(
            f"{feature} needs the optional package '{module}', which is not installed "
            f"({exc}). Install it with: {hint}"
        ) from exc
