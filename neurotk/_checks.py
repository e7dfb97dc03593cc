"""Transitional: the validators moved to :mod:`neurotk._validation` (removed once every module imports it)."""

from ._validation import check_int, check_matrix as as_matrix, check_positive  # noqa: F401
