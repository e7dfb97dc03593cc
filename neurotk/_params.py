"""scikit-learn style hyper-parameters for neurotk's estimators, with neurotk's errors."""

from __future__ import annotations

import inspect

from .errors import ArgumentError

__all__ = ["Parameters"]


class Parameters:
    """``get_params``/``set_params`` read from the ``__init__`` signature.

    As in scikit-learn, every ``__init__`` argument is stored unchanged under its own name,
    so :func:`sklearn.base.clone` and grid searches work; an unknown name in
    ``set_params`` raises :class:`~neurotk.ArgumentError` naming the valid ones.

    Examples
    --------
    >>> class Model(Parameters):
    ...     def __init__(self, alpha=1.0, rank=2):
    ...         self.alpha, self.rank = alpha, rank
    >>> Model().set_params(rank=3).get_params()
    {'alpha': 1.0, 'rank': 3}
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        """Hyper-parameters (the constructor's arguments), as scikit-learn estimators report them."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set hyper-parameters (scikit-learn style); returns self."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ArgumentError(f"{key!r} is not a parameter of {type(self).__name__}; expected one "
                                    f"of {valid}")
            setattr(self, key, value)
        return self
