"""Factorised spatial x feature readout of convolutional activations (Klindt et al., 2017).

A flattened convolutional layer has ``channels * height * width`` features (10^5 for a
mid-level layer), far more than stimuli. The factorised readout predicts each target
``t`` (a neuron, a voxel) from a spatial mask ``m_t`` (height x width, "where") times
channel weights ``w_t`` (channels, "what")::

    y[n, t] ~ sum_{c, h, w} x[n, c, h, w] * m_t[h, w] * w_t[c] + b_t

so a target has ``height * width + channels`` weights instead of their product. With
``rank=K`` the weight map is a sum of ``K`` such products.

The fit alternates two ridge regressions per target, vectorised over targets: with the
mask fixed, the channel weights solve a ``channels``-dimensional ridge on the
mask-pooled activations; with the channel weights fixed, the mask solves a
``height * width``-dimensional ridge on the channel-weighted activations. Each step
builds one batch of Gram matrices (``np.matmul`` on target-stacked arrays) and solves
them with ``np.linalg.solve``, so no ridge over the 10^5 flattened features is ever
formed. Targets are independent, so they are processed in chunks sized by
``max_memory`` through :func:`neurotk.parallel.map_chunks` (joblib, ``n_jobs``). The
mask starts from the leading singular vectors of each target's (channels x positions)
map of correlations with the activations (``init="svd"``) or from the correlation map of
the channel-pooled activations (``init="pooled"``). Only the product ``m_t w_t^T``
matters for predictions; masks are returned with unit norm and the channel weights carry
the scale.

Reference: Klindt, Ecker, Euler & Bethge (2017), "Neural system identification for large
populations separating what and where", NeurIPS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._params import Parameters
from .._validation import (
    check_choice,
    check_feature_maps,
    check_fitted,
    check_float,
    check_int,
    check_matrix,
    check_positive,
)
from ..errors import ArgumentError, DataFormatError, ShapeMismatchError
from ..parallel import chunk_size, chunk_slices, map_chunks
from ..recording import Recording
from .scoring import METRICS, check_same_samples, check_targets_vary, cv_folds, r2_scores, target_scores

__all__ = ["FactorizedReadout"]

_INITS = ("svd", "pooled")


# --------------------------------------------------------------------------- inputs
def _as_4d(X, name: str = "X") -> np.ndarray:
    """Activations as a float64 (n_samples, channels, height, width) array."""
    if isinstance(X, Recording):
        units = X.units
        missing = [c for c in ("channel", "y", "x") if c not in units.columns]
        if missing:
            raise DataFormatError(
                f"{name} is a Recording whose units table lacks the columns {missing}; expected "
                f"the 'channel', 'y' and 'x' of every unit, as neurotk.io.activations gives "
                f"convolutional layers (or pass a (n, channels, height, width) array)"
            )
        data = check_matrix(X, name, rows="samples", cols="units")
        codes = []
        for col in ("channel", "y", "x"):
            c, uniq = pd.factorize(units[col], sort=True)
            if (c < 0).any():
                raise DataFormatError(f"{name}: units column {col!r} has missing values")
            codes.append((c, uniq.size))
        (ch, n_c), (yy, n_h), (xx, n_w) = codes
        flat = (ch * n_h + yy) * n_w + xx
        if n_c * n_h * n_w != data.shape[1] or np.unique(flat).size != flat.size:
            raise DataFormatError(
                f"{name}: the units' (channel, y, x) do not form a complete grid: {data.shape[1]} "
                f"units for {n_c} channels x {n_h} x {n_w} positions; expected every combination "
                f"exactly once"
            )
        out = np.empty_like(data)
        out[:, flat] = data
        return out.reshape(data.shape[0], n_c, n_h, n_w)
    return check_feature_maps(X, name)


# --------------------------------------------------------------------------- the solver
def _bytes_per_target(n: int, c: int, p: int, rank: int) -> float:
    """Working memory of one target in the alternating solver (float64)."""
    return 8.0 * (n * p + 2 * p * p + 3 * n * c + 2 * c * c + (rank + 3) * n + 2 * c * p)


def _init_masks(xc: np.ndarray, y: np.ndarray, rank: int, init: str) -> np.ndarray:
    """Initial masks (Tc, rank, P) from the correlation maps of the activations with y."""
    c, n, p = xc.shape
    sd_x = np.sqrt(np.einsum("cnp,cnp->cp", xc, xc))
    sd_x[sd_x == 0] = 1.0
    yn = y / np.sqrt(np.einsum("nt,nt->t", y, y))
    masks = np.empty((y.shape[1], rank, p))
    first = 0
    if init == "pooled":
        pooled = xc.mean(axis=0)  # (n, P): activations averaged over channels
        sd = np.sqrt(np.einsum("np,np->p", pooled, pooled))
        sd[sd == 0] = 1.0
        m0 = (yn.T @ pooled) / sd  # (Tc, P) correlation map of the pooled activations
        norm = np.linalg.norm(m0, axis=1, keepdims=True)
        masks[:, 0] = m0 / np.where(norm > 0, norm, 1.0)
        first = 1
    if first < rank:
        # (C, Tc, P) correlations of every unit with every target, one BLAS product per channel
        corr = np.matmul(yn.T[None], xc) / sd_x[:, None, :]
        _, _, vh = np.linalg.svd(corr.transpose(1, 0, 2), full_matrices=False)
        masks[:, first:] = vh[:, first:rank]
        del corr
    return masks


def _solve_stack(gram: np.ndarray, rhs: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Solve (gram + alpha I) b = rhs for a stack of systems (T, d, d), (T, d)."""
    from threadpoolctl import threadpool_limits

    d = gram.shape[1]
    idx = np.arange(d)
    gram[:, idx, idx] += alpha[:, None]
    # many small systems: one BLAS thread each is fastest (threaded LU of small matrices
    # mostly waits on its threads, badly so on a busy machine)
    with threadpool_limits(1, user_api="blas"):
        return np.linalg.solve(gram, rhs[:, :, None])[:, :, 0]


def _sweep(x_cn, x_c, y, masks, weights, parts, a_s, a_f):
    """One alternating sweep over the components, in place, for targets (columns of y)."""
    c, p = x_c.shape[0], x_cn.shape[1]
    n, t = y.shape
    rank = masks.shape[1]
    for k in range(rank):  # block coordinate descent over components
        resid = y - (parts.sum(axis=0) - parts[k])
        # channel step: z[t, n, c] = sum_p x[c, n, p] m[t, p]
        z = (x_cn @ masks[:, k].T).reshape(c, n, t).transpose(2, 1, 0).copy()
        zt = z.transpose(0, 2, 1)
        w = _solve_stack(np.matmul(zt, z), np.matmul(zt, resid.T[:, :, None])[:, :, 0], a_f)
        del z, zt
        # spatial step: u[t, n, p] = sum_c w[t, c] x[c, n, p]
        u = (w @ x_c).reshape(t, n, p)
        ut = u.transpose(0, 2, 1)
        m = _solve_stack(np.matmul(ut, u), np.matmul(ut, resid.T[:, :, None])[:, :, 0], a_s)
        parts[k] = np.matmul(u, m[:, :, None])[:, :, 0].T
        del u, ut
        # rebalance the scale between mask and weights (same product, smaller penalty)
        nm = np.einsum("tp,tp->t", m, m)
        nw = np.einsum("tc,tc->t", w, w)
        ok = (nm > 0) & (nw > 0)
        scale = np.ones(t)
        scale[ok] = (a_f[ok] * nw[ok] / (a_s[ok] * nm[ok])) ** 0.25
        masks[:, k] = m * scale[:, None]
        weights[:, k] = w / scale[:, None]


def _als(xc: np.ndarray, y: np.ndarray, a_s: np.ndarray, a_f: np.ndarray, rank: int, n_iter: int,
         tol: float, init: str):
    """Alternating ridge for a chunk of targets; xc (C, n, P) and y (n, Tc) are centred.

    A target stops (its weights freeze) once a sweep lowers its objective by less than
    ``tol`` (relative), so results do not depend on how targets are chunked.
    """
    c, n, p = xc.shape
    t = y.shape[1]
    x_cn = xc.reshape(c * n, p)  # rows (channel, sample), columns positions
    x_c = xc.reshape(c, n * p)  # rows channels, columns (sample, position)
    masks = _init_masks(xc, y, rank, init)
    weights = np.zeros((t, rank, c))
    parts = np.zeros((rank, n, t))  # prediction of each component
    loss_old = np.full(t, np.inf)
    active = np.arange(t)
    n_done = 0
    for it in range(n_iter):
        a = active
        ya, m_a, w_a, p_a = y[:, a], masks[a], weights[a], parts[:, :, a]
        _sweep(x_cn, x_c, ya, m_a, w_a, p_a, a_s[a], a_f[a])
        masks[a], weights[a], parts[:, :, a] = m_a, w_a, p_a
        n_done = it + 1
        resid = ya - p_a.sum(axis=0)
        loss = (np.einsum("nt,nt->t", resid, resid) + a_s[a] * np.einsum("tkp,tkp->t", m_a, m_a)
                + a_f[a] * np.einsum("tkc,tkc->t", w_a, w_a))
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(loss_old[a] > 0, (loss_old[a] - loss) / loss_old[a], 0.0)
        loss_old[a] = loss
        if it > 0:
            active = a[~(np.abs(change) < tol)]
            if active.size == 0:
                break
    return masks, weights, n_done


def _fit_targets(xc: np.ndarray, y: np.ndarray, a_s: np.ndarray, a_f: np.ndarray, rank: int, n_iter: int,
                 tol: float, init: str, n_jobs, max_memory, progress: bool):
    """Fit every column of ``y`` (centred) in target chunks; returns masks, weights, iterations."""
    c, n, p = xc.shape
    t = y.shape[1]
    size = chunk_size(t, _bytes_per_target(n, c, p, rank), max_memory)
    slices = chunk_slices(t, size)

    def run(sl):
        return _als(xc, y[:, sl], a_s[sl], a_f[sl], rank, n_iter, tol, init)

    out = map_chunks(run, slices, n_jobs=n_jobs, progress=progress, desc="factorised readout",
                     weights=[s.stop - s.start for s in slices])
    masks = np.concatenate([o[0] for o in out])
    weights = np.concatenate([o[1] for o in out])
    return masks, weights, max(o[2] for o in out)


def _predict(xc: np.ndarray, masks: np.ndarray, weights: np.ndarray, max_memory) -> np.ndarray:
    """sum_{k,c,p} x[c, n, p] m[t, k, p] w[t, k, c] for (C, n, P) activations, in target chunks."""
    c, n, p = xc.shape
    t, rank, _ = masks.shape
    x_cn = xc.reshape(c * n, p)
    out = np.zeros((n, t))
    size = chunk_size(t, 8.0 * (2 * c * n + n), max_memory)
    for sl in chunk_slices(t, size):
        for k in range(rank):
            z = (x_cn @ masks[sl, k].T).reshape(c, n, -1)
            out[:, sl] += np.einsum("cnt,tc->nt", z, weights[sl, k])
    return out


# --------------------------------------------------------------------------- estimator
class FactorizedReadout(Parameters):
    """Factorised spatial x feature readout of convolutional activations, one per target.

    Each target ``t`` is predicted as ``sum_{c,h,w} x[n, c, h, w] m_t[h, w] w_t[c] + b_t``
    (a sum of ``rank`` such terms), fitted by alternating ridge regressions vectorised over
    targets (see the module notes). The objective per target is::

        ||y_t - prediction||^2 + alpha_spatial * ||m_t||^2 + alpha_feature * ||w_t||^2

    Only the product ``alpha_spatial * alpha_feature`` changes the fitted weight map (the
    split between mask and weights is a rescaling). With ``alphas`` the penalties are
    multiplied by each value of the grid and the best multiplier is chosen per target by
    cross-validated R^2, then the readout is refitted on all samples.

    Parameters
    ----------
    alpha_spatial, alpha_feature : float, default 1.0
        Ridge penalties of the spatial masks and of the channel weights (> 0).
    n_iter : int, default 20
        Maximum alternating sweeps.
    tol : float, default 1e-4
        Stop when no target's objective decreased by more than this fraction in a sweep.
    rank : int, default 1
        Number of mask x weights terms per target.
    alphas : array-like, optional
        Grid of penalty multipliers chosen per target by cross-validation (default: no
        search, the given penalties).
    cv : int, splitter or list of (train, test), default 5
        Folds of the search (ignored without ``alphas``); use
        :func:`~neurotk.encoding.run_folds` for fMRI runs.
    init : {"svd", "pooled"}, default "svd"
        Initial masks: the leading right singular vectors of each target's
        (channels x positions) correlation map with the activations, or the correlation
        map of the channel-averaged activations.
    fit_intercept : bool, default True
        Centre activations and targets (and learn ``intercept_``).
    n_jobs : int, default 1
        Parallel target chunks (joblib).
    max_memory : int or str, optional
        Working-memory budget per chunk (default 512 MiB), on top of a centred copy of the
        activations.
    random_state : int, optional
        Unused (the fit is deterministic); accepted for API symmetry.
    progress : bool, default False
        Progress bar over target chunks.

    Attributes
    ----------
    spatial_ : ndarray (n_targets, height, width), or (n_targets, rank, height, width)
        Masks with unit L2 norm (sign: largest-magnitude entry positive).
    feature_ : ndarray (n_targets, channels), or (n_targets, rank, channels)
        Channel weights (carry the scale).
    intercept_ : ndarray (n_targets,)
    alpha_spatial_, alpha_feature_ : ndarray (n_targets,)
        Penalties used per target.
    cv_scores_ : ndarray (n_alphas, n_targets) or None
        Mean cross-validated R^2 per multiplier (with ``alphas``).
    n_iter_ : int
        Sweeps run in the final fit (largest over target chunks).
    input_shape_ : tuple (channels, height, width)
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4, 6, 6))
    >>> mask, w = np.zeros((6, 6)), rng.normal(size=4)
    >>> mask[2:4, 2:4] = 1.0
    >>> Y = np.einsum("nchw,hw,c->n", X, mask, w)[:, None] + 0.1 * rng.normal(size=(200, 1))
    >>> model = FactorizedReadout().fit(X, Y)
    >>> model.spatial_.shape, round(model.score(X, Y), 2)
    ((1, 6, 6), 1.0)
    """

    def __init__(self, alpha_spatial=1.0, alpha_feature=1.0, n_iter=20, tol=1e-4, rank=1, alphas=None, cv=5,
                 init="svd", fit_intercept=True, n_jobs=1, max_memory=None, random_state=None, progress=False):
        self.alpha_spatial = alpha_spatial
        self.alpha_feature = alpha_feature
        self.n_iter = n_iter
        self.tol = tol
        self.rank = rank
        self.alphas = alphas
        self.cv = cv
        self.init = init
        self.fit_intercept = fit_intercept
        self.n_jobs = n_jobs
        self.max_memory = max_memory
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ helpers
    def _settings(self):
        a_s = float(check_positive(self.alpha_spatial, "alpha_spatial")[0])
        a_f = float(check_positive(self.alpha_feature, "alpha_feature")[0])
        if np.size(self.alpha_spatial) != 1 or np.size(self.alpha_feature) != 1:
            raise ArgumentError("alpha_spatial and alpha_feature must be single numbers; use alphas=[...] for a grid")
        n_iter = check_int(self.n_iter, "n_iter", minimum=1)
        rank = check_int(self.rank, "rank", minimum=1)
        tol = check_float(self.tol, "tol", low=0)
        check_choice(self.init, "init", _INITS)
        mults = None if self.alphas is None else np.sort(check_positive(self.alphas, "alphas"))
        return a_s, a_f, n_iter, rank, tol, mults

    def _centred(self, x4: np.ndarray, rows=None):
        """(C, n, P) float64 copy of the activations (rows selected), centred, and its mean."""
        n, c, h, w = x4.shape
        x = x4 if rows is None else x4[rows]
        xc = np.ascontiguousarray(x.reshape(x.shape[0], c, h * w).transpose(1, 0, 2), dtype=np.float64)
        if self.fit_intercept:
            mean = xc.mean(axis=1)  # (C, P)
            xc -= mean[:, None, :]
        else:
            mean = np.zeros((c, h * w))
        return xc, mean

    def _fit_block(self, x4, y, rows, a_s, a_f, rank, n_iter, tol):
        xc, x_mean = self._centred(x4, rows)
        yy = y if rows is None else y[rows]
        y_mean = yy.mean(axis=0) if self.fit_intercept else np.zeros(yy.shape[1])
        yy = yy - y_mean
        if rank > min(xc.shape[0], xc.shape[2]):
            raise ArgumentError(
                f"rank={rank}; expected at most min(channels, height * width) = "
                f"{min(xc.shape[0], xc.shape[2])}"
            )
        masks, weights, n_done = _fit_targets(xc, yy, a_s, a_f, rank, n_iter, tol, self.init, self.n_jobs,
                                              self.max_memory, self.progress)
        intercept = y_mean - np.einsum("cp,tkp,tkc->t", x_mean, masks, weights)
        return masks, weights, intercept, n_done

    # ------------------------------------------------------------------ API
    def fit(self, X, Y):
        """Fit the readout of every target.

        Parameters
        ----------
        X : array-like (n_samples, channels, height, width) or Recording
            Activations; a Recording of flattened conv units needs ``channel``, ``y`` and
            ``x`` columns in its units table (as :func:`neurotk.io.activations` makes them).
        Y : Recording or array-like, shape (n_samples, n_targets)
            Responses.

        Returns
        -------
        self
        """
        a_s0, a_f0, n_iter, rank, tol, mults = self._settings()
        x4 = _as_4d(X, "X")
        y = check_matrix(Y, "Y", rows="samples", cols="targets")
        check_same_samples(X, Y, x4.shape[0], y.shape[0])
        if x4.shape[0] < 3:
            raise ShapeMismatchError(f"X has {x4.shape[0]} samples; expected at least 3")
        check_targets_vary(y, "Y", Y)
        n, c, h, w = x4.shape
        t = y.shape[1]
        self.cv_scores_ = None
        a_s = np.full(t, a_s0)
        a_f = np.full(t, a_f0)
        if mults is not None and mults.size > 1:
            folds = cv_folds(self.cv, n, None, (X, Y))
            # every (multiplier, target) pair is one "virtual target" of a single solver call
            a_idx = np.repeat(np.arange(mults.size), t)
            t_idx = np.tile(np.arange(t), mults.size)
            scores = np.zeros((mults.size, t))
            for train, test in folds:
                masks, weights, intercept, _ = self._fit_block(
                    x4, y[:, t_idx], train, a_s0 * mults[a_idx], a_f0 * mults[a_idx], rank, n_iter, tol)
                xt = np.ascontiguousarray(x4[test].reshape(len(test), c, h * w).transpose(1, 0, 2))
                pred = _predict(xt, masks, weights, self.max_memory) + intercept
                scores += r2_scores(y[test][:, t_idx], pred).reshape(mults.size, t)
            self.cv_scores_ = scores / len(folds)
            best = np.argmax(self.cv_scores_, axis=0)
            a_s, a_f = a_s0 * mults[best], a_f0 * mults[best]
        elif mults is not None:
            a_s, a_f = a_s * mults[0], a_f * mults[0]
        masks, weights, intercept, n_done = self._fit_block(x4, y, None, a_s, a_f, rank, n_iter, tol)
        # unit-norm masks, largest entry positive; the weights carry scale and sign
        norm = np.linalg.norm(masks, axis=2)
        peak = np.take_along_axis(masks, np.abs(masks).argmax(axis=2)[:, :, None], axis=2)[:, :, 0]
        scale = np.where(norm > 0, norm, 1.0) * np.where(peak < 0, -1.0, 1.0)
        masks = masks / scale[:, :, None]
        weights = weights * scale[:, :, None]
        self._masks, self._weights = masks, weights
        self.spatial_ = masks.reshape(t, rank, h, w)
        self.feature_ = weights
        if rank == 1:
            self.spatial_ = self.spatial_[:, 0]
            self.feature_ = self.feature_[:, 0]
        self.intercept_ = intercept
        self.alpha_spatial_ = a_s
        self.alpha_feature_ = a_f
        self.n_iter_ = n_done
        self.input_shape_ = (c, h, w)
        self.n_features_in_ = c * h * w
        self.n_targets_ = t
        return self

    def _check_fitted(self):
        check_fitted(self, "intercept_", action="call fit(X, Y) first")

    @property
    def coef_(self) -> np.ndarray:
        """Full weight map per target, flattened channel-major: (n_targets, channels * height * width).

        Built on demand (``n_targets * channels * height * width`` floats).
        """
        self._check_fitted()
        c, h, w = self.input_shape_
        full = np.einsum("tkc,tkp->tcp", self._weights, self._masks)
        return full.reshape(self.n_targets_, c * h * w)

    def predict(self, X) -> np.ndarray:
        """Predicted responses, shape (n_samples, n_targets).

        Parameters
        ----------
        X : array-like (n_samples, channels, height, width) or Recording
        """
        self._check_fitted()
        x4 = _as_4d(X, "X")
        if x4.shape[1:] != self.input_shape_:
            raise ShapeMismatchError(
                f"X has activations of shape {x4.shape[1:]} (channels, height, width); expected "
                f"{self.input_shape_}, as in fit"
            )
        n, c, h, w = x4.shape
        xc = np.ascontiguousarray(x4.reshape(n, c, h * w).transpose(1, 0, 2))
        return _predict(xc, self._masks, self._weights, self.max_memory) + self.intercept_

    def score_targets(self, X, Y, metric: str = "r2") -> np.ndarray:
        """Prediction accuracy per target: R^2 (default) or Pearson r (not ceiling-normalised).

        Parameters
        ----------
        X : array-like (n_samples, channels, height, width) or Recording
        Y : Recording or array-like, shape (n_samples, n_targets)
        metric : {"r2", "pearson"}

        Returns
        -------
        ndarray, shape (n_targets,)
        """
        check_choice(metric, "metric", METRICS)
        pred = self.predict(X)
        y = check_matrix(Y, "Y", rows="samples", cols="targets")
        if y.shape != pred.shape:
            raise ShapeMismatchError(f"Y has shape {y.shape}; expected {pred.shape} (samples of X, targets of fit)")
        check_same_samples(X, Y, pred.shape[0], y.shape[0])
        return target_scores(y, pred, metric)

    def score(self, X, Y) -> float:
        """Mean R^2 over targets (as scikit-learn's ``r2_score`` with uniform average)."""
        return float(np.mean(self.score_targets(X, Y)))
