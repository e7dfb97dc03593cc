"""Ranks of dissimilarities, shared by the RDM comparisons, the similarity measures and figures.

- :func:`average_ranks`: ranks 1..n along each row, ties given their average rank (what
  Spearman's correlation, rho-a and the SSM correlate);
- :func:`percentile_ranks`: the same as percentiles, ``rank / n * 100``, as RSA figures
  show RDMs (:meth:`neurotk.rsa.RDM.ranks`).

Both equal :func:`scipy.stats.rankdata` (``method="average"``, along the rows), without a
Python loop over rows.

Examples
--------
>>> import numpy as np
>>> from neurotk.rsa.ranks import average_ranks, percentile_ranks
>>> average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
[[3.5, 1.0, 3.5, 2.0]]
>>> percentile_ranks(np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
[[87.5, 25.0, 87.5, 50.0]]
"""

from __future__ import annotations

import numpy as np

__all__ = ["average_ranks", "percentile_ranks"]


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n along each row, ties given their average rank (``rankdata(x, axis=1)``).

    One argsort per row and a few vectorised passes, no per-row Python loop.

    Parameters
    ----------
    x : array-like, shape (n_rows, n)

    Returns
    -------
    ndarray, shape (n_rows, n)

    Examples
    --------
    >>> average_ranks(np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
    [[3.5, 1.0, 3.5, 2.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    n_rows, n = x.shape
    order = np.argsort(x, axis=1)  # stability is irrelevant: ties get their average
    xs = np.take_along_axis(x, order, axis=1)
    pos = np.broadcast_to(np.arange(n, dtype=np.float64), x.shape)
    if n > 1 and not (xs[:, 1:] == xs[:, :-1]).any():
        ranks_sorted = pos + 1.0
    else:
        new = np.ones(x.shape, dtype=bool)
        new[:, 1:] = xs[:, 1:] != xs[:, :-1]
        last = np.ones(x.shape, dtype=bool)
        last[:, :-1] = new[:, 1:]
        start = np.maximum.accumulate(np.where(new, pos, 0.0), axis=1)
        end = np.minimum.accumulate(np.where(last, pos, float(n))[:, ::-1], axis=1)[:, ::-1]
        ranks_sorted = (start + end) / 2.0 + 1.0
    ranks = np.empty(x.shape)
    np.put_along_axis(ranks, order, ranks_sorted, axis=1)
    return ranks


def percentile_ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks along each row as percentiles of the row length, ``rank / n * 100``.

    A row holding NaN becomes all NaN (as :func:`scipy.stats.rankdata` propagates it).

    Parameters
    ----------
    x : array-like, shape (n_rows, n)

    Returns
    -------
    ndarray, shape (n_rows, n)
        Values in ``(0, 100]``.

    Examples
    --------
    >>> percentile_ranks(np.array([[0.2, 0.1], [1.0, np.nan]])).tolist()
    [[100.0, 50.0], [nan, nan]]
    """
    x = np.asarray(x, dtype=np.float64)
    out = average_ranks(x) / x.shape[1] * 100
    out[np.isnan(x).any(axis=1)] = np.nan
    return out
