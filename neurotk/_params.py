"""The base of neurotk's estimators: scikit-learn's ``BaseEstimator`` with neurotk's errors."""

from __future__ import annotations

from sklearn.base import BaseEstimator

from .errors import ArgumentError

__all__ = ["Parameters"]


class Parameters(BaseEstimator):
    """scikit-learn's :class:`~sklearn.base.BaseEstimator`, with a clear error for unknown names.

    As in scikit-learn, every ``__init__`` argument is stored unchanged under its own name,
    so :func:`sklearn.base.clone` and grid searches work; an unknown name in
    ``set_params`` raises :class:`~neurotk.ArgumentError` naming the valid ones (where
    scikit-learn raises a bare ``ValueError``).

    Examples
    --------
    >>> class Model(Parameters):
    ...     def __init__(self, alpha=1.0, rank=2):
    ...         self.alpha, self.rank = alpha, rank
    >>> Model().set_params(rank=3).get_params()
    {'alpha': 1.0, 'rank': 3}
    >>> Model().set_params(ranks=3)
    Traceback (most recent call last):
    ...
    neurotk.errors.ArgumentError: 'ranks' is not a parameter of Model; expected one of ['alpha', 'rank']
    """

    def set_params(self, **params):
        """Set hyper-parameters (scikit-learn style, ``step__name`` for nested ones); returns self."""
        valid = self._get_param_names()
        for key in params:
            if key.split("__", 1)[0] not in valid:
                raise ArgumentError(f"{key!r} is not a parameter of {type(self).__name__}; expected one "
                                    f"of {valid}")
        return super().set_params(**params)
