"""Noise covariance and precision: how Mahalanobis and crossnobis RDMs weigh the channels.

:func:`noise_covariance` estimates the noise covariance over channels from residuals, with
the shrinkage estimators of rsatoolbox's ``cov_from_residuals``; a :class:`Precision` applies
its inverse (or a given precision matrix or diagonal) to response patterns; and
:func:`noise_precision` turns the ``noise=`` argument of :func:`neurotk.rsa.rdm` (an
estimator's name, ``"identity"`` or a precision) into one, checking a given precision with
:func:`check_precision`.

Examples
--------
>>> import numpy as np
>>> from neurotk.rsa.noise import Precision, noise_covariance
>>> residuals = np.random.default_rng(0).normal(size=(50, 3))
>>> precision = Precision.from_covariance(noise_covariance(residuals, "full"), "full")
>>> precision(np.eye(3)).shape
(3, 3)
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array
from ..errors import ArgumentError, NonFiniteDataError, ShapeMismatchError, describe_values

__all__ = ["NOISE_METHODS", "noise_covariance", "Precision", "check_precision", "noise_precision"]

#: The noise covariance estimators :func:`noise_covariance` knows.
NOISE_METHODS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def noise_covariance(residuals, method: str = "shrinkage_diag", dof: int | None = None) -> np.ndarray:
    """Noise covariance over channels from residuals, with optional shrinkage.

    Same estimators as rsatoolbox's ``cov_from_residuals``: the residuals are centred per
    channel, ``S = R^T R / dof`` is the sample covariance, and

    - ``"full"``: ``S``;
    - ``"diag"``: ``diag(S)``;
    - ``"shrinkage_eye"``: Ledoit & Wolf (2004), ``S`` shrunk towards ``m I`` (``m`` the
      mean variance) with the optimal weight;
    - ``"shrinkage_diag"``: Schäfer & Strimmer (2005), the off-diagonal of ``S`` shrunk
      towards 0 with the optimal weight ``lambda`` in [0, 1].

    The shrinkage weights are computed from row norms and Gram products, without the
    ``p x p`` matrix of squared cross products.

    Parameters
    ----------
    residuals : array-like, shape (n_residuals, n_channels)
    method : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}
    dof : int, optional
        Degrees of freedom; defaults to ``n_residuals - 1``. :func:`rdm` passes
        ``n_measurements - n_conditions`` (residuals around condition means).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(0).normal(size=(50, 4))
    >>> noise_covariance(r, "diag").shape
    (4, 4)
    """
    r = check_array(residuals, "residuals", axes=("residuals", "channels"), min_shape=(0, 1), recording=False,
                    hint="")
    if method not in NOISE_METHODS:
        raise ArgumentError(f"noise method {method!r} is unknown; expected one of {list(NOISE_METHODS)}")
    n, p = r.shape
    dof = n - 1 if dof is None else int(dof)
    if dof < 1 or n < 2:
        raise ArgumentError(
            f"noise estimation needs repeated measurements: {n} residuals with {dof} degrees of "
            f"freedom; expected at least 1 (measure some conditions more than once, or pass "
            f"noise= a precision matrix)"
        )
    r = r - r.mean(axis=0, keepdims=True)
    if method == "diag":
        return np.diag(np.einsum("ij,ij->j", r, r) / dof)
    s_sum = r.T @ r
    if method == "full":
        return s_sum / dof
    row4 = np.einsum("ij,ij->i", r, r)
    if method == "shrinkage_eye":
        s = s_sum / n
        s_fro2 = float(np.einsum("ij,ij->", s, s))
        b2 = (float(row4 @ row4) / n - s_fro2) / n
        m = float(np.trace(s)) / p
        s_minus = s.copy()
        s_minus.flat[:: p + 1] -= m
        d2 = float(np.einsum("ij,ij->", s_minus, s_minus))
        del s_minus
        b2 = min(d2, b2)
        out = s * ((d2 - b2) / d2)
        out.flat[:: p + 1] += b2 / d2 * m
        out *= n / dof
        return out
    # shrinkage_diag
    s = s_sum / dof
    var = np.diag(s).copy()
    if (var <= 0).any():
        bad = np.flatnonzero(var <= 0)
        raise NonFiniteDataError(
            f"channels {describe_values(bad)} have zero residual variance, so noise='shrinkage_diag' "
            f"cannot be estimated; expected every channel to vary across repeated measurements"
        )
    std = np.sqrt(var)
    z2 = (r / std) ** 2  # squared standardised residuals
    s_mean = s_sum / np.outer(std, std) / (n - 1)
    # sums over off-diagonal entries of s2_mean and s_mean**2 without the p x p s2 matrix
    zrow = z2.sum(axis=1)
    off_s2 = (float(zrow @ zrow) - float(np.einsum("ij,ij->", z2, z2))) / (n - 1)
    diag_mean = np.diagonal(s_mean)
    off_sq = float(np.einsum("ij,ij->", s_mean, s_mean)) - float(diag_mean @ diag_mean)
    off_var_hat = n / dof**2 * (off_s2 - off_sq)
    lamb = off_var_hat / off_sq if off_sq > 0 else 1.0
    lamb = max(min(lamb, 1.0), 0.0)
    out = s * (1.0 - lamb)
    out.flat[:: p + 1] = var
    return out


class Precision:
    """A noise precision ``P`` (inverse noise covariance) applied to row patterns: ``a @ P``.

    Parameters
    ----------
    kind : {"identity", "diag", "matrix", "cholesky"}
        How ``P`` is held: nothing (``P = I``), its diagonal, the matrix itself, or the
        Cholesky factor of the covariance it inverts (:func:`scipy.linalg.cho_factor`).
    value : None, ndarray or (ndarray, bool)
        The diagonal, the matrix or the Cholesky factor.

    Examples
    --------
    >>> import numpy as np
    >>> Precision("diag", np.array([1.0, 4.0]))(np.ones((1, 2))).tolist()
    [[1.0, 4.0]]
    >>> Precision("identity")
    Precision('identity')
    """

    def __init__(self, kind: str, value=None):
        self.kind, self.value = kind, value

    @classmethod
    def from_covariance(cls, cov: np.ndarray, method: str) -> "Precision":
        """The inverse of a covariance estimated with ``method`` (named in errors).

        A diagonal estimate (``method="diag"``) is inverted entry by entry, any other is
        Cholesky-factorised (a singular one is an :class:`~neurotk.ArgumentError`).

        Examples
        --------
        >>> import numpy as np
        >>> Precision.from_covariance(np.diag([2.0, 4.0]), "diag").value.tolist()
        [0.5, 0.25]
        """
        if method == "diag":
            return cls("diag", 1.0 / np.diag(cov))
        from scipy.linalg import LinAlgError, cho_factor

        try:
            return cls("cholesky", cho_factor(cov, lower=True, check_finite=False))
        except LinAlgError as exc:
            raise ArgumentError(
                f"the noise covariance estimated with noise={method!r} is singular ({exc}); "
                f"use noise='shrinkage_diag' or 'shrinkage_eye', or pass a precision matrix"
            ) from exc

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """``a @ P`` for rows ``a`` (P symmetric)."""
        if self.kind == "identity":
            return a
        if self.kind == "diag":
            return a * self.value
        if self.kind == "matrix":
            return a @ self.value
        from scipy.linalg import cho_solve

        return cho_solve(self.value, a.T, check_finite=False).T

    def __repr__(self) -> str:
        return f"Precision({self.kind!r})"


def check_precision(noise, n_channels: int) -> np.ndarray:
    """A given precision as a float array: a symmetric (p, p) matrix or a (p,) diagonal.

    Examples
    --------
    >>> check_precision([1.0, 2.0], 2).tolist()
    [1.0, 2.0]
    >>> check_precision(np.eye(3), 2)
    Traceback (most recent call last):
    ...
    neurotk.errors.ShapeMismatchError: noise has shape (3, 3) but x has 2 channels; expected a precision matrix (2, 2) or a diagonal (2,)
    """
    prec = np.asarray(noise, dtype=np.float64)
    if prec.shape not in ((n_channels, n_channels), (n_channels,)):
        raise ShapeMismatchError(
            f"noise has shape {prec.shape} but x has {n_channels} channels; expected a precision "
            f"matrix ({n_channels}, {n_channels}) or a diagonal ({n_channels},)"
        )
    if not np.isfinite(prec).all():
        raise NonFiniteDataError("noise contains NaN or infinite values; expected a finite precision matrix")
    if prec.ndim == 2 and not np.allclose(prec, prec.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(prec).max())):
        raise ArgumentError("noise is not symmetric; expected a precision matrix (inverse noise covariance)")
    return prec


def noise_precision(noise, x: np.ndarray, codes: np.ndarray, n_groups: int, means: np.ndarray | None = None):
    """The :class:`Precision` a ``noise=`` argument asks for, and a description for provenance.

    Parameters
    ----------
    noise : str or array-like
        ``"identity"``; an estimator of :data:`NOISE_METHODS`, applied by
        :func:`noise_covariance` to the residuals ``x - means[codes]`` with
        ``n_rows - n_groups`` degrees of freedom; or a precision matrix or diagonal
        (:func:`check_precision`).
    x : ndarray, shape (n_rows, n_channels)
        The measurements.
    codes : ndarray of int, shape (n_rows,)
        The group (condition, or condition and fold) of every row.
    n_groups : int
        The number of groups.
    means : ndarray, shape (n_groups, n_channels), optional
        The mean of each group; needed by the estimators only.

    Returns
    -------
    (Precision, str)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(8, 3))
    >>> codes = np.repeat(np.arange(4), 2)
    >>> means = np.stack([x[codes == g].mean(axis=0) for g in range(4)])
    >>> noise_precision("shrinkage_diag", x, codes, 4, means)
    (Precision('cholesky'), 'shrinkage_diag (estimated from residuals)')
    """
    if isinstance(noise, str):
        if noise == "identity":
            return Precision("identity"), "identity"
        if noise not in NOISE_METHODS:
            raise ArgumentError(
                f"noise={noise!r} is unknown; expected a precision matrix or one of "
                f"{['identity', *NOISE_METHODS]}"
            )
        residuals = x - means[codes]
        cov = noise_covariance(residuals, noise, dof=x.shape[0] - n_groups)
        return Precision.from_covariance(cov, noise), f"{noise} (estimated from residuals)"
    prec = check_precision(noise, x.shape[1])
    return Precision("diag" if prec.ndim == 1 else "matrix", prec), "given precision"
