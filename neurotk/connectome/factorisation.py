"""Non-negative tensor factorisation (non-negative CP) by a fast HALS solver.

:func:`ntf` fits :math:`X \\approx \\sum_r a_r \\circ b_r \\circ c_r \\circ \\dots` with every
factor non-negative, by least squares, with hierarchical alternating least squares (HALS;
Cichocki & Phan 2009): each factor column is updated in closed form while the others stay
fixed. What makes it fast:

- Matricised-tensor-times-Khatri-Rao products (MTTKRP), the expensive step, cost two
  passes over the data per iteration instead of one per mode: the largest mode is put
  first, its MTTKRP is one matrix product with the (small) Khatri-Rao product of the other
  factors, and ``Z = A^T X_(1)`` (one more matrix product) gives every other mode's MTTKRP
  by cheap contractions of ``Z``.
- Gram matrices are Hadamard products of the factors' small ``rank x rank`` Grams, several
  HALS sweeps run per MTTKRP (stopping early once a sweep changes little, as in Gillis &
  Glineur 2012), the columns are rescaled to equal norms across modes after each iteration
  (no scale drift), and the relative error comes for free from ``||X||^2``, the last
  MTTKRP and the Grams.
- Missing entries (``mask``) are imputed by expectation-maximisation: after every
  iteration they are replaced by the current model, which minimises the error on the
  observed entries.

:func:`rank_ensemble` fits several random restarts for each of several ranks and gives the
two curves users of tensor component analysis expect (Williams et al. 2018): error vs rank
and restart similarity (:func:`factor_match_score`) vs rank. Their results,
:class:`NTFResult` and :class:`RankEnsemble`, are :class:`~neurotk.results.Result`
objects (``to_frame()``, ``plot()``, ``save()``).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_array, check_choice, check_float, check_int
from ..errors import ArgumentError, NonFiniteDataError, ShapeMismatchError
from ..results import Result
from ..utils import as_rng

__all__ = ["ntf", "NTFResult", "rank_ensemble", "RankEnsemble", "factor_match_score", "khatri_rao",
           "reconstruct"]

_INITS = ("random", "svd")


# --------------------------------------------------------------------------- small tools
def khatri_rao(factors) -> np.ndarray:
    """Column-wise Kronecker product of ``factors``, rows in C order (last factor fastest).

    Parameters
    ----------
    factors : list of ndarray, each (dim_k, rank)

    Returns
    -------
    ndarray, shape (prod(dim_k), rank)
        Row ``(i, j, ...)`` (C order) holds ``factors[0][i] * factors[1][j] * ...``, so
        ``X.reshape(dim_0, -1) @ khatri_rao(factors[1:])`` is the mode-0 MTTKRP of a
        C-ordered tensor.

    Examples
    --------
    >>> import numpy as np
    >>> khatri_rao([np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]])]).ravel().tolist()
    [3.0, 4.0, 6.0, 8.0]
    """
    out = np.asarray(factors[0], dtype=np.float64)
    for f in factors[1:]:
        f = np.asarray(f, dtype=np.float64)
        out = (out[:, None, :] * f[None, :, :]).reshape(-1, f.shape[1])
    return out


def _kr(fts) -> np.ndarray:
    """Khatri-Rao product of transposed factors ``fts`` (each (rank, dim)), in their dtype:
    :func:`khatri_rao` for float64 (the same numbers), the same product in float32 otherwise."""
    if all(ft.dtype == np.float64 for ft in fts):
        return khatri_rao([ft.T for ft in fts])
    out = fts[0].T
    for ft in fts[1:]:
        out = (out[:, None, :] * ft.T[None, :, :]).reshape(-1, ft.shape[0])
    return out


def _gram(ft: np.ndarray) -> np.ndarray:
    """``ft @ ft.T`` in float64 (computed in float64 for a float32 factor)."""
    if ft.dtype == np.float64:
        return ft @ ft.T
    f = ft.astype(np.float64)
    return f @ f.T


def _dot64(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` accumulated in float64 (in row chunks for float32 arrays)."""
    if a.dtype == np.float64 and b.dtype == np.float64:
        return float(np.einsum("ij,ij->", a, b))
    a, b = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    step = max(1, 2**20 // max(a.shape[1], 1))
    total = 0.0
    for start in range(0, a.shape[0], step):
        ca = a[start:start + step].astype(np.float64)
        cb = ca if b is a else b[start:start + step].astype(np.float64)
        total += float(np.einsum("ij,ij->", ca, cb))
    return total


def reconstruct(factors) -> np.ndarray:
    """The full tensor ``sum_r factors[0][:, r] o factors[1][:, r] o ...``.

    Examples
    --------
    >>> import numpy as np
    >>> reconstruct([np.ones((2, 1)), np.ones((3, 1)), 2 * np.ones((4, 1))]).shape
    (2, 3, 4)
    """
    factors = [np.asarray(f, dtype=np.float64) for f in factors]
    shape = tuple(f.shape[0] for f in factors)
    if len(factors) == 1:
        return factors[0].sum(axis=1)
    return (factors[0] @ khatri_rao(factors[1:]).T).reshape(shape)


def _normalized(factors):
    """Unit-norm columns and the weights (products of the column norms)."""
    norms = [np.linalg.norm(f, axis=0) for f in factors]
    weights = np.prod(norms, axis=0)
    unit = [f / np.where(n > 0, n, 1.0) for f, n in zip(factors, norms)]
    return unit, weights


def factor_match_score(factors_a, factors_b, weights: bool = True) -> float:
    """Similarity of two CP models, 0 (unrelated) to 1 (the same up to permutation and scale).

    Components are matched one to one (Hungarian algorithm) to maximise the mean over
    matched pairs of :math:`\\prod_k \\cos(u_k, v_k)` (the cosine of the columns in every
    mode), multiplied, with ``weights``, by :math:`1 - |\\lambda_u - \\lambda_v| /
    \\max(\\lambda_u, \\lambda_v)`, where :math:`\\lambda` is the product of the column norms
    (the factor match score of Acar et al. 2011 and Williams et al. 2018). tensortools'
    ``kruskal_align`` instead averages the absolute cosines over the modes, without the
    size penalty, which is more lenient (at least as high as ``weights=False`` here).
    With different ranks the unmatched components of the larger model count zero,
    divided by the larger rank.

    Parameters
    ----------
    factors_a, factors_b : list of ndarray, each (dim_k, rank)
        Two models with the same mode sizes.
    weights : bool, default True
        Penalise different component sizes.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> f = [rng.random((n, 3)) for n in (5, 6, 7)]
    >>> g = [2 * f[0][:, ::-1], f[1][:, ::-1], f[2][:, ::-1] / 2]  # permuted and rescaled
    >>> round(factor_match_score(f, g), 6)
    1.0
    """
    from scipy.optimize import linear_sum_assignment

    if len(factors_a) != len(factors_b) or any(
        np.shape(a)[0] != np.shape(b)[0] for a, b in zip(factors_a, factors_b)
    ):
        raise ShapeMismatchError(
            f"the two models have mode sizes {[np.shape(a)[0] for a in factors_a]} and "
            f"{[np.shape(b)[0] for b in factors_b]}; expected the same"
        )
    ua, la = _normalized([np.asarray(f, dtype=np.float64) for f in factors_a])
    ub, lb = _normalized([np.asarray(f, dtype=np.float64) for f in factors_b])
    sim = np.ones((la.size, lb.size))
    for a, b in zip(ua, ub):
        sim *= a.T @ b
    if weights:
        big = np.maximum(la[:, None], lb[None, :])
        sim *= 1.0 - np.abs(la[:, None] - lb[None, :]) / np.where(big > 0, big, 1.0)
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return float(sim[rows, cols].sum() / max(la.size, lb.size))


# --------------------------------------------------------------------------- the solver
def _hals_update(ft: np.ndarray, mt: np.ndarray, gram: np.ndarray, n_sweeps: int,
                 rel_stop: float = 0.01) -> None:
    """HALS sweeps on one factor, in place. ``ft`` (rank, dim) is the factor transposed
    (rows = components, contiguous), ``mt`` the MTTKRP transposed, ``gram`` the Hadamard
    product of the other factors' Grams. Stops when a sweep moves the factor by less than
    ``rel_stop`` times the first sweep's move.

    Column ``r`` becomes ``max(0, (mt[r] - sum_{s != r} gram[r, s] ft[s]) / gram[r, r])``,
    the exact minimiser over that column with the others fixed; with the rows of ``gram``
    and ``mt`` divided by the diagonal once, each column costs one product and two
    in-place operations.
    """
    rank = ft.shape[0]
    diag = np.diag(gram).copy()
    diag[diag <= 0] = 1.0
    gs = gram / diag[:, None]
    np.fill_diagonal(gs, 0.0)
    ms = mt / diag[:, None]
    if ft.dtype != np.float64:  # a float32 fit: the column updates run in float32
        gs, ms = gs.astype(ft.dtype), ms.astype(ft.dtype)
    first = None
    buf = np.empty(ft.shape[1], dtype=ft.dtype)
    old = np.empty_like(ft) if n_sweeps > 1 else None
    for sweep in range(n_sweeps):
        if old is not None:
            np.copyto(old, ft)
        for r in range(rank):
            np.dot(gs[r], ft, out=buf)
            np.subtract(ms[r], buf, out=buf)
            np.maximum(buf, 0.0, out=ft[r])
        if old is not None:
            old -= ft
            moved = float(np.einsum("ij,ij->", old, old))
            if first is None:
                first = moved
            elif moved <= rel_stop * first:
                break


def _mttkrp_rest(z: np.ndarray, fts: list, n: int) -> np.ndarray:
    """MTTKRP of mode ``n >= 1`` from ``z = A^T X_(0)`` of shape (rank, dim_1, ..., dim_K),
    transposed: (rank, dim_n)."""
    nd = z.ndim - 1
    if nd == 1:
        return z
    if nd == 2:
        if n == 1:  # sum_k z[r, j, k] c[k, r]
            return np.matmul(z, fts[2][:, :, None])[:, :, 0]
        return np.matmul(fts[1][:, None, :], z)[:, 0, :]
    letters = "abcdefghijklmnopqstuvwxyz"[:nd]
    operands = [z]
    subs = ["r" + letters]
    for m in range(1, nd + 1):
        if m != n:
            operands.append(fts[m])
            subs.append("r" + letters[m - 1])
    return np.einsum(",".join(subs) + "->r" + letters[n - 1], *operands, optimize=True)


@dataclass
class _Fit:
    factors: list
    errors: list
    n_iter: int
    converged: bool


def _model_at(fts, index) -> np.ndarray:
    """Model values at the entries ``index`` (tuple of int arrays), in chunks."""
    n = index[0].size
    out = np.empty(n)
    step = max(1, 2**22 // max(fts[0].shape[0], 1))
    for start in range(0, n, step):
        sl = slice(start, min(start + step, n))
        prod = fts[0][:, index[0][sl]].copy()
        for ft, idx in zip(fts[1:], index[1:]):
            prod *= ft[:, idx[sl]]
        out[sl] = prod.sum(axis=0)
    return out


def _lead_blocks(shape, itemsize: int = 8) -> list:
    """Row blocks of the lead mode, sized so a block of the unfolded tensor stays in cache."""
    row_bytes = float(itemsize) * float(np.prod(shape[1:]))
    n_blocks = int(np.clip(np.ceil(shape[0] * row_bytes / _BLOCK_BYTES), 1, _MAX_BLOCKS))
    n_blocks = min(n_blocks, max(1, shape[0] // 64))
    edges = np.linspace(0, shape[0], n_blocks + 1).astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


_BLOCK_BYTES = 6 * 2**20
_MAX_BLOCKS = 16


def _hals_pass(x0, shape, fts, grams, n_sweeps, blocks):
    """One HALS iteration over all modes, in place; returns ``<X, model>`` of the result.

    The lead mode's MTTKRP, its (row-separable) HALS update and ``Z = A^T X_(0)`` are fused
    per row block, so the data are read once per iteration while a block is in cache.
    """
    nmodes = len(shape)
    rank = fts[0].shape[0]
    kr = _kr(fts[1:])
    gram = np.prod(grams[1:], axis=0)
    z = np.zeros((rank, x0.shape[1]), dtype=x0.dtype)
    for blk in blocks:
        xb = x0[blk]
        mt = (xb @ kr).T
        fb = fts[0][:, blk].copy()
        _hals_update(fb, mt, gram, n_sweeps)
        fts[0][:, blk] = fb
        z += fb @ xb
    grams[0] = _gram(fts[0])
    z = z.reshape((rank,) + tuple(shape[1:]))
    for n in range(1, nmodes):
        mt = _mttkrp_rest(z, fts, n)
        gram = np.prod([grams[m] for m in range(nmodes) if m != n], axis=0)
        _hals_update(fts[n], mt, gram, n_sweeps)
        grams[n] = _gram(fts[n])
    return _dot64(fts[-1], mt)


def _balance(fts, grams) -> None:
    """Rescale columns to equal norms in every mode (the model is unchanged), in place."""
    nmodes = len(fts)
    norms = np.sqrt(np.maximum(np.stack([np.diag(g) for g in grams]), 0.0))
    target = np.prod(norms, axis=0) ** (1.0 / nmodes)
    for n in range(nmodes):
        ok = norms[n] > 0
        scale = np.where(ok, target / np.where(ok, norms[n], 1.0), 1.0)
        fts[n] *= scale[:, None]
        grams[n] *= scale[:, None] * scale[None, :]


def _fit_hals(x: np.ndarray, fts: list, missing, tol: float, max_iter: int, n_sweeps: int,
              extrapolate: bool = True) -> _Fit:
    """HALS on ``x`` (lead mode first, C order) from the transposed factors ``fts``.

    ``missing`` is None or a tuple of index arrays of unobserved entries (``x`` holds a fill
    there, updated in place with the model after every iteration). ``extrapolate`` uses
    heuristic extrapolation with restarts (Ang & Gillis 2019): after each iteration the
    factors are moved on along their last step by ``beta``, which grows while the error
    falls; an iteration whose error rises is discarded, restarted from the last iterate and
    ``beta`` shrinks. It is switched off with a mask (the imputed entries move too).
    """
    shape = x.shape
    nmodes = len(shape)
    x0 = x.reshape(shape[0], -1)
    blocks = _lead_blocks(shape, x.dtype.itemsize)
    extrapolate = extrapolate and missing is None
    exact = x.dtype == np.float64
    if missing is None:
        norm_obs = _dot64(x0, x0)
        norm2 = norm_obs
    else:
        x_flat = x.reshape(-1)
        flat = np.ravel_multi_index(missing, shape)
        fill = x_flat[flat] if exact else x_flat[flat].astype(np.float64)
        norm2 = _dot64(x0, x0)
        norm_obs = norm2 - float(fill @ fill)
    grams = [_gram(ft) for ft in fts]
    beta, beta_max = 0.5, 1.0
    prev = prev_grams = None
    errors = []
    converged = False
    extrapolated = False  # whether ``fts`` holds an extrapolated point rather than ``prev``
    it = 0
    for it in range(1, max_iter + 1):
        inner = _hals_pass(x0, shape, fts, grams, n_sweeps, blocks)
        model2 = float(np.prod(grams, axis=0).sum())
        resid2 = max(norm2 - 2.0 * inner + model2, 0.0)
        _balance(fts, grams)
        if missing is not None:
            new = _model_at(fts, missing)
            # error on the observed entries: the filled entries contributed (fill - new)^2
            resid2 = max(resid2 - float((fill - new) @ (fill - new)), 0.0)
            x_flat[flat] = new
            if not exact:  # what x holds there: the model rounded to float32
                new = x_flat[flat].astype(np.float64)
            norm2 = norm_obs + float(new @ new)
            fill = new
        err = float(np.sqrt(resid2 / norm_obs)) if norm_obs > 0 else 0.0
        if extrapolate and errors and err > errors[-1]:
            # the extrapolated start made things worse: restart from the last iterate
            beta_max, beta = beta, beta / 1.5
            fts[:] = [f.copy() for f in prev]
            grams[:] = [g.copy() for g in prev_grams]
            extrapolated = False
            continue
        errors.append(err)
        extrapolated = False  # ``fts`` is the iterate whose error was just recorded
        if len(errors) > 1 and abs(errors[-2] - errors[-1]) < tol:
            converged = True
            break
        if extrapolate:
            if prev is not None:
                beta = min(beta_max, 1.05 * beta)
                beta_max = min(1.0, 1.01 * beta_max)
            new_prev = [f.copy() for f in fts]
            prev_grams = [g.copy() for g in grams]
            if prev is not None:
                for n in range(nmodes):
                    f = fts[n]
                    f -= prev[n]
                    f *= beta
                    f += new_prev[n]
                    np.maximum(f, 0.0, out=f)
                    grams[n] = _gram(f)
                extrapolated = True
            prev = new_prev
    if extrapolated:
        # the loop ended on max_iter right after an extrapolation step: return the iterate
        # whose error was recorded, not the extrapolated point
        fts[:] = prev
    if not exact and errors:
        # float32 fit: the running error (float64 sums of float32 products) steered the
        # stopping; the reported final error is recomputed exactly, in float64
        errors[-1] = _exact_error(x0, fts, norm_obs, missing, shape)
    return _Fit([np.array(ft.T, dtype=np.float64, order="C") for ft in fts], errors, it, converged)


def _exact_error(x0, fts, norm_obs, missing, shape) -> float:
    """``||X - model|| / ||X||`` over the observed entries, in float64, by lead-mode rows."""
    f64 = [ft.astype(np.float64) for ft in fts]
    kr = khatri_rao([ft.T for ft in f64[1:]])
    resid2 = 0.0
    for blk in _lead_blocks(shape):
        r = x0[blk].astype(np.float64)
        r -= f64[0][:, blk].T @ kr.T
        resid2 += float(np.einsum("ij,ij->", r, r))
    if missing is not None:  # x holds the model there (to float32 rounding): take it out
        flat = np.ravel_multi_index(missing, shape)
        r = x0.reshape(-1)[flat].astype(np.float64) - _model_at(f64, missing)
        resid2 -= float(r @ r)
    return float(np.sqrt(max(resid2, 0.0) / norm_obs)) if norm_obs > 0 else 0.0


# --------------------------------------------------------------------------- public API
def _check_tensor(X, mask, dtype=np.float64):
    if isinstance(X, NTFResult):
        raise ArgumentError("X is an NTFResult; expected the data tensor (an ndarray)")
    # NaN allowed here: only the observed entries (mask) must be finite, checked below
    with np.errstate(over="ignore"):  # float32: values beyond its range become inf, refused below
        x = np.ascontiguousarray(check_array(X, "X", ndim=None, min_ndim=2, min_shape=(), allow_nan=True,
                                             recording=False, expected="a tensor with at least 2 modes",
                                             copy=True, dtype=dtype))  # a C-ordered copy: the solver writes into it
    if min(x.shape) < 1:
        raise ShapeMismatchError(f"X has shape {x.shape}; expected every mode to be non-empty")
    observed = None
    if mask is not None:
        observed = np.asarray(mask)
        if observed.shape != x.shape:
            raise ShapeMismatchError(f"mask has shape {observed.shape}; expected X's shape {x.shape}")
        if observed.dtype != bool:
            if not np.isin(observed, (0, 1)).all():
                raise ArgumentError("mask holds values other than 0/1 or True/False; expected "
                                    "True (or 1) where X is observed")
            observed = observed.astype(bool)
        if not observed.any():
            raise ArgumentError("mask marks no entry of X as observed; expected some True values")
        if observed.all():
            observed = None
    bad = ~np.isfinite(x)
    if observed is not None:
        bad &= observed
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteDataError(
            f"X contains {int(bad.sum())} NaN or infinite observed values (first at index "
            f"{where}); expected finite values, or pass mask=False at missing entries"
            + (" (with dtype='float32' also values beyond float32's range, |x| > 3.4e38)"
               if np.dtype(dtype) == np.float32 else "")
        )
    return x, observed


def _init_factors(x, observed, rank, init, rng, norm2=None, shape=None):
    """Transposed factors (rank, dim_k), float64, scaled so the initial model has X's norm.

    Always computed in numpy (so every backend and dtype starts from the same factors);
    ``x`` may be None for ``init="random"`` when ``shape`` and ``norm2`` (the squared norm
    of the observed entries) are given.
    """
    shape = x.shape if shape is None else tuple(shape)
    if init == "random":
        fts = [rng.random((rank, n)) for n in shape]
    else:  # "svd": absolute leading singular vectors of each unfolding (+ a little noise)
        from sklearn.utils.extmath import randomized_svd

        xs = np.where(observed, x, 0.0) if observed is not None else x
        fts = []
        for n, dim in enumerate(shape):
            unfolded = np.moveaxis(xs, n, 0).reshape(dim, -1)
            k = min(rank, min(unfolded.shape))
            u, s, _ = randomized_svd(unfolded, k, random_state=int(rng.integers(2**31 - 1)))
            f = np.abs(u * np.sqrt(s)).T
            if k < rank:
                f = np.vstack([f, rng.random((rank - k, dim)) * f.mean()])
            fts.append(f + 1e-3 * f.mean() * rng.random(f.shape))
    grams = [ft @ ft.T for ft in fts]
    model2 = float(np.prod(grams, axis=0).sum())
    if norm2 is None:
        xs = np.where(observed, x, 0.0) if observed is not None else x
        norm2 = float(np.einsum("i,i->", xs.ravel(), xs.ravel()))
    if model2 > 0 and norm2 > 0:
        scale = (norm2 / model2) ** (0.5 / len(shape))
        fts = [ft * scale for ft in fts]
    return fts


def _blas_limits(n_threads):
    """A context limiting BLAS to ``n_threads`` threads (None: leave BLAS as it is)."""
    import contextlib

    if n_threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=n_threads, user_api="blas")


def _fit_one(x, observed, rank, init, seed, tol, max_iter, n_sweeps, extrapolate, n_threads=1):
    """One restart on the original mode order; returns (factors, errors, n_iter, converged).

    ``x`` (float64 or float32) is not modified. Factors come back in float64.
    """
    rng = as_rng(seed)
    lead = int(np.argmax(x.shape))
    order = [lead] + [m for m in range(x.ndim) if m != lead]
    if lead:
        xt = np.ascontiguousarray(np.transpose(x, order))
    else:  # the solver writes into its tensor only to impute missing entries
        xt = x.copy() if observed is not None else x
    missing = None
    if observed is not None:
        obs_t = np.transpose(observed, order)
        missing = np.nonzero(~obs_t)
        # start the missing entries at the observed mean
        xt[missing] = float(xt[obs_t].mean())
    if x.dtype == np.float64:
        fts = _init_factors(x if observed is None else np.where(observed, x, 0.0), observed, rank, init, rng)
    else:  # random init: the same start as float64 (x is zero at the missing entries)
        fts = _init_factors(x, observed, rank, init, rng, norm2=_dot64(x.reshape(x.shape[0], -1),
                                                                        x.reshape(x.shape[0], -1)))
    fts = [fts[m] if x.dtype == np.float64 else fts[m].astype(x.dtype) for m in order]
    # BLAS threads per fit (default one): the products are thin (rank columns), where more
    # threads add little and thrash on busy cores (measured: 2-5x slower on 2 shared cores
    # for a 11,175 x 100 x 10 tensor); use n_jobs to run restarts in parallel instead
    with _blas_limits(n_threads):
        fit = _fit_hals(xt, fts, missing, tol, max_iter, n_sweeps, extrapolate)
    factors = [None] * x.ndim
    for pos, m in enumerate(order):
        factors[m] = fit.factors[pos]
    return factors, fit.errors, fit.n_iter, fit.converged


def _sorted_factors(factors):
    """Components sorted by size (product of column norms), largest first."""
    _, weights = _normalized(factors)
    order = np.argsort(-weights, kind="stable")
    return [np.ascontiguousarray(f[:, order]) for f in factors]


@dataclass(eq=False)
class NTFResult(Result):
    """A fitted non-negative CP model, returned by :func:`ntf`.

    Attributes
    ----------
    factors : list of ndarray, each (dim_k, rank)
        Non-negative factor matrices, one per mode; ``reconstruct(factors)`` is the model.
        Columns have equal norms across modes, and components are sorted by their
        :attr:`weights`, largest first.
    error : float
        Relative reconstruction error ``||X - model|| / ||X||`` over the observed entries.
    errors : ndarray
        The relative error after every iteration of the kept restart.
    n_iter : int
        Iterations of the kept restart.
    converged : bool
        Whether the kept restart stopped on ``tol`` (rather than ``max_iter``).
    restart_errors : ndarray, shape (n_restarts,)
        Final error of every restart, in the order they were run.
    similarity : ndarray, shape (n_restarts,)
        :func:`factor_match_score` of every restart against the kept (best) one.
    restart_factors : list
        The factors of every restart (sorted like :attr:`factors`).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fit = ntf(reconstruct([rng.random((n, 2)) for n in (6, 5, 4)]), 2, random_state=0)
    >>> fit.rank, fit.shape
    (2, (6, 5, 4))
    >>> fit.to_frame().columns.tolist()
    ['mode', 'index', 'component', 'loading']
    """

    factors: list
    error: float
    errors: np.ndarray
    n_iter: int
    converged: bool
    restart_errors: np.ndarray
    similarity: np.ndarray
    restart_factors: list = field(default_factory=list, repr=False)

    @property
    def rank(self) -> int:
        """Number of components."""
        return self.factors[0].shape[1]

    @property
    def shape(self) -> tuple:
        """The shape of the fitted tensor."""
        return tuple(f.shape[0] for f in self.factors)

    @property
    def weights(self) -> np.ndarray:
        """Size of each component: the product of its column norms over the modes."""
        return _normalized(self.factors)[1]

    def reconstruct(self) -> np.ndarray:
        """The model tensor ``sum_r a_r o b_r o ...``."""
        return reconstruct(self.factors)

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (mode, index, component) with the loading."""
        rows = []
        for mode, f in enumerate(self.factors):
            idx, comp = np.meshgrid(np.arange(f.shape[0]), np.arange(f.shape[1]), indexing="ij")
            rows.append(pd.DataFrame({"mode": mode, "index": idx.ravel(), "component": comp.ravel(),
                                      "loading": f.ravel()}))
        return pd.concat(rows, ignore_index=True)

    def plot(self, axes=None, mode_names=None):
        """Draw the factors, one row per component and one column per mode.

        See :func:`neurotk.plotting.connectome.plot_factors`.
        """
        from ..plotting.connectome import plot_factors

        return plot_factors(self, axes=axes, mode_names=mode_names)

    def __repr__(self) -> str:
        return (f"NTFResult(shape={self.shape}, rank={self.rank}, error={self.error:.4g}, "
                f"n_iter={self.n_iter}, n_restarts={self.restart_errors.size})")


def _check_common(rank, n_restarts, tol, max_iter, init, n_sweeps):
    rank = check_int(rank, "rank", 1)
    n_restarts = check_int(n_restarts, "n_restarts", 1)
    max_iter = check_int(max_iter, "max_iter", 1)
    n_sweeps = check_int(n_sweeps, "n_sweeps", 1)
    tol = check_float(tol, "tol", low=0)
    check_choice(init, "init", _INITS)
    return rank, n_restarts, tol, max_iter, n_sweeps


def ntf(X, rank, n_restarts=1, mask=None, tol=1e-6, max_iter=500, random_state=None, *,
        init: str = "random", n_sweeps: int = 3, extrapolate: bool = True, n_jobs=1,
        progress: bool = False, n_threads=1, dtype="float64", backend=None, device=None,
        return_backend: bool = False) -> NTFResult:
    """Non-negative tensor factorisation (non-negative CP decomposition) by fast HALS.

    Fits :math:`X \\approx \\sum_{r=1}^{R} a_r \\circ b_r \\circ c_r \\circ \\dots` with all
    factors non-negative, minimising the squared error over the observed entries.

    Parameters
    ----------
    X : array-like, shape (dim_0, dim_1, ...)
        The data tensor (at least two modes), e.g. pairs x time x animals. Negative values
        (noise) are allowed; the factors stay non-negative. A torch tensor or a CuPy array
        is fitted in its own library, on its device (see ``backend``).
    rank : int
        Number of components, >= 1.
    n_restarts : int, default 1
        Random restarts; the one with the lowest error is kept.
    mask : array-like of bool, shape like X, optional
        True where ``X`` is observed. Missing entries (may hold NaN) are imputed by the model
        (EM), so they do not count as zeros.
    tol : float, default 1e-6
        Stop when the relative error changes by less than ``tol`` between iterations.
    max_iter : int, default 500
        Most iterations per restart.
    random_state : None, int or Generator
        Seeds the restarts.
    init : {"random", "svd"}, default "random"
        Uniform random factors, or the absolute leading singular vectors of each
        unfolding (deterministic up to a small jitter, costs more than a fit). The start
        is always computed in numpy, in float64, so every backend and dtype starts from
        the same factors (``"svd"`` copies a device tensor to the host for that).
    n_sweeps : int, default 3
        Most HALS sweeps over the columns per factor update (stops early when a sweep
        changes little).
    extrapolate : bool, default True
        Heuristic extrapolation with restarts (Ang & Gillis 2019), off with a mask.
    n_jobs : int, default 1
        Restarts run in parallel through :func:`neurotk.parallel.map_chunks` (joblib),
        each fit with ``n_threads`` BLAS threads. With a non-numpy backend the restarts
        run one after the other (the device is shared).
    progress : bool, default False
        Progress bar over restarts.
    n_threads : int or None, default 1
        BLAS threads per fit (None leaves BLAS's own setting; with torch on the CPU, its
        intra-op threads during the fit). The default, one, gives bit-identical results
        whatever ``n_jobs`` and the machine's core count, and is the fastest on busy
        cores; on a large tensor (tens of MB) and quiet cores, 2 threads cut the wall time
        of a fit by about 1.3x (benchmarks: 300 x 300 x 200 and 11175 x 100 x 10), but
        the last bits of the result may then differ from run to run of a different thread
        count (BLAS splits its sums among the threads), and ``n_jobs * n_threads`` should
        not exceed the cores.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the tensor and the factor updates. ``"float32"`` halves the memory of
        the copy of ``X`` and the memory traffic of every iteration (1.6-1.7x faster on
        the benchmarks' large tensors); norms, Grams, the inner products behind the error
        and the stopping rule are accumulated in float64, and the final error is
        recomputed exactly in float64. The running error that steers the stop comes from
        a difference of squared norms, so in float32 its resolution is about
        ``1e-7 / error`` (absolute): with a close fit (relative error of a few percent)
        and ``tol=1e-6`` the stop may then come early or late, and float64 is the safer choice; at 10% error the factors
        agree with float64's to about 1e-3 and the final errors to about 1e-4 (relative).
        Values beyond float32's range (3.4e38) are refused.
    backend : {None, "numpy", "torch", "cupy"}, optional
        Array library for the fit (see :mod:`neurotk._backend`): None uses the library of
        ``X`` (numpy for arrays and lists, torch for a torch tensor, on its device). The
        numpy path is unchanged by this option.
    device : optional
        Device for ``backend="torch"``/``"cupy"`` (default: CUDA when available).
    return_backend : bool, default False
        Return the factors as arrays of the backend (on its device) instead of numpy.

    Returns
    -------
    NTFResult
        ``.factors`` (list of (dim_k, rank) arrays), ``.error`` (relative error), the
        error history, every restart's error and its similarity to the best.

    Raises
    ------
    ArgumentError
        ``rank < 1``, bad ``tol``/``init``/``dtype``/``n_threads``/``backend`` or a mask
        with no observed entry.
    ShapeMismatchError
        A tensor with fewer than two modes, or a mask of another shape.
    NonFiniteDataError
        NaN or infinite observed values.

    See Also
    --------
    rank_ensemble : fits over several ranks, for choosing the rank.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.connectome import ntf, reconstruct
    >>> rng = np.random.default_rng(0)
    >>> truth = [rng.random((n, 2)) for n in (20, 15, 10)]
    >>> fit = ntf(reconstruct(truth), rank=2, n_restarts=2, random_state=0)
    >>> [f.shape for f in fit.factors], fit.error < 1e-3
    ([(20, 2), (15, 2), (10, 2)], True)
    >>> fit32 = ntf(reconstruct(truth), rank=2, random_state=0, dtype="float32", n_threads=2)
    >>> bool(fit32.error < 1e-3)
    True
    """
    from .._backend import resolve_backend
    from ..parallel import map_chunks

    rank, n_restarts, tol, max_iter, n_sweeps = _check_common(rank, n_restarts, tol, max_iter, init, n_sweeps)
    dtype, n_threads = _check_speed(dtype, n_threads)
    b = resolve_backend([X, mask], backend, device)
    if not b.is_numpy:
        with b.cpu_threads(n_threads):
            return _ntf_backend(b, X, rank, n_restarts, mask, tol, max_iter, random_state, init, n_sweeps,
                                extrapolate, progress, dtype, return_backend)
    x, observed = _check_tensor(X, mask, dtype)
    if observed is not None:
        x[~observed] = 0.0
    # extreme but finite scales (1e300) overflow the squared norms: fit at unit peak and scale
    # the first factor back (the relative error does not depend on the scale)
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0
    scale = peak if (peak > 1e100 or 0.0 < peak < 1e-100) else 1.0
    if scale != 1.0:
        x /= scale
    seeds = as_rng(random_state).integers(0, 2**63 - 1, size=n_restarts)

    def one(seed):
        return _fit_one(x, observed, rank, init, int(seed), tol, max_iter, n_sweeps, extrapolate, n_threads)

    fits = map_chunks(one, list(seeds), n_jobs=n_jobs, progress=progress, desc="NTF restarts")
    return _ntf_result(fits, scale)


def _ntf_result(fits, scale, to_backend=None) -> NTFResult:
    """The NTFResult of the restarts ``fits`` ((factors, errors, n_iter, converged) each)."""
    factors = [_sorted_factors(f[0]) for f in fits]
    # the solver's error is exact (||X||^2 - 2<X, M> + ||M||^2 on the observed entries)
    errors = np.array([f[1][-1] if len(f[1]) else np.nan for f in fits])
    best = int(np.argmin(errors))
    similarity = np.array([factor_match_score(f, factors[best]) for f in factors])
    if scale != 1.0:  # scale-free quantities (error, similarity) come from the unit-peak fit
        factors = [[f[0] * scale, *f[1:]] for f in factors]
    if to_backend is not None:
        factors = [[to_backend(m) for m in f] for f in factors]
    return NTFResult(
        factors=factors[best], error=float(errors[best]), errors=np.asarray(fits[best][1]),
        n_iter=int(fits[best][2]), converged=bool(fits[best][3]), restart_errors=errors,
        similarity=similarity, restart_factors=factors,
    )


def _check_speed(dtype, n_threads):
    """The ``dtype`` (numpy float64/float32) and ``n_threads`` (int >= 1 or None) options."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ArgumentError(f"dtype={dtype!r}; expected 'float64' or 'float32'")
    if n_threads is not None:
        n_threads = check_int(n_threads, "n_threads", 1)
    return dt, n_threads


# --------------------------------------------------------------------------- other backends
def _ntf_backend(b, X, rank, n_restarts, mask, tol, max_iter, random_state, init, n_sweeps, extrapolate,
                 progress, dtype, return_backend) -> NTFResult:
    """:func:`ntf` in the array library of ``b`` (torch, CuPy ...), on its device.

    The same algorithm as the numpy path, step for step (lead mode first, the same row
    blocks and early-stopped sweeps, the same extrapolation), written with array-API
    operations; the small ``rank x rank`` Gram matrices live on the host in float64. The
    start comes from numpy (:func:`_init_factors`), so it equals the numpy fit's.
    """
    from .._backend import is_numpy_like
    from .._console import progress_bar

    xp = b.xp
    if isinstance(X, NTFResult):
        raise ArgumentError("X is an NTFResult; expected the data tensor (an array)")
    x = b.check(b.asarray(X), "X", allow_nan=True)
    if x.ndim < 2:
        raise ShapeMismatchError(f"X has shape {tuple(x.shape)}; expected a tensor with at least 2 modes")
    shape = tuple(int(s) for s in x.shape)
    wanted = xp.float32 if dtype == np.float32 else xp.float64
    obs = None
    if mask is not None:
        obs = b.asarray(mask, dtype=bool) if is_numpy_like(mask) and np.asarray(mask).dtype == bool \
            else b.asarray(mask)
        if tuple(int(s) for s in obs.shape) != shape:
            raise ShapeMismatchError(f"mask has shape {tuple(obs.shape)}; expected X's shape {shape}")
        if obs.dtype != xp.bool:
            if not bool(xp.all((obs == 0) | (obs == 1))):
                raise ArgumentError("mask holds values other than 0/1 or True/False; expected "
                                    "True (or 1) where X is observed")
            obs = obs != 0
        if not bool(xp.any(obs)):
            raise ArgumentError("mask marks no entry of X as observed; expected some True values")
        if bool(xp.all(obs)):
            obs = None
    x = xp.astype(x, wanted)
    finite = xp.isfinite(x)
    bad = ~finite if obs is None else (~finite) & obs
    if bool(xp.any(bad)):
        raise NonFiniteDataError(f"X contains {int(xp.sum(xp.astype(bad, xp.int64)))} NaN or infinite observed "
                                 "values; expected finite values, or pass mask=False at missing entries")
    if obs is not None:
        x = xp.where(obs, x, xp.zeros_like(x))
    peak = float(xp.max(xp.abs(x)))
    scale = peak if (peak > 1e100 or 0.0 < peak < 1e-100) else 1.0
    if scale != 1.0:
        x = x / scale
    lead = int(np.argmax(shape))
    order = [lead] + [m for m in range(len(shape)) if m != lead]
    xt = xp.permute_dims(x, tuple(order)) if lead else x
    x0 = xp.reshape(xt, (shape[lead], -1))
    if x0 is x or x0 is X:
        x0 = xp.asarray(x0, copy=True)
    obs0 = None if obs is None else xp.reshape(xp.permute_dims(obs, tuple(order)) if lead else obs,
                                               (shape[lead], -1))
    xs64 = xp.astype(x0, xp.float64)
    norm2 = float(xp.sum(xs64 * xs64))
    del xs64
    host = b.to_numpy(x) if init == "svd" else None
    host_obs = None if (obs is None or host is None) else b.to_numpy(obs)
    seeds = as_rng(random_state).integers(0, 2**63 - 1, size=n_restarts)
    fits = []
    for seed in progress_bar(list(seeds), disable=not progress, desc="NTF restarts"):
        rng = as_rng(int(seed))
        fts = _init_factors(host, host_obs, rank, init, rng, norm2=norm2, shape=shape)
        fts = [b.asarray(fts[m], dtype=dtype) for m in order]
        xfit = x0
        if obs0 is not None:  # start the missing entries at the observed mean
            n_obs = float(xp.sum(xp.astype(obs0, xp.float64)))
            mean = float(xp.sum(xp.astype(xp.where(obs0, x0, xp.zeros_like(x0)), xp.float64))) / n_obs
            xfit = xp.where(obs0, x0, xp.full_like(x0, mean))
        fit = _fit_hals_xp(b, xfit, shape=tuple(shape[m] for m in order), fts=fts, obs=obs0, tol=tol,
                           max_iter=max_iter, n_sweeps=n_sweeps, extrapolate=extrapolate)
        factors = [None] * len(shape)
        for pos, m in enumerate(order):
            factors[m] = fit.factors[pos]
        fits.append((factors, fit.errors, fit.n_iter, fit.converged))
    return _ntf_result(fits, scale, to_backend=(lambda m: b.asarray(m, dtype=dtype)) if return_backend else None)


def _hals_update_xp(xp, ft, mt, gram: np.ndarray, n_sweeps: int, to_dev, rel_stop: float = 0.01):
    """:func:`_hals_update` in the array library ``xp`` (``gram`` on the host); returns ``ft``."""
    rank = ft.shape[0]
    diag = np.diag(gram).copy()
    diag[diag <= 0] = 1.0
    gs = gram / diag[:, None]
    np.fill_diagonal(gs, 0.0)
    gs = to_dev(gs)
    ms = mt / to_dev(diag)[:, None]
    first = None
    for sweep in range(n_sweeps):
        old = xp.asarray(ft, copy=True) if n_sweeps > 1 else None
        for r in range(rank):
            ft[r, :] = xp.maximum(ms[r, :] - xp.matmul(gs[r, :], ft), 0.0)
        if old is not None:
            d = old - ft
            moved = float(xp.sum(d * d))
            if first is None:
                first = moved
            elif moved <= rel_stop * first:
                break
    return ft


def _kr_xp(xp, fts):
    """Khatri-Rao product of transposed factors (rank, dim) in ``xp``: (prod(dims), rank)."""
    out = fts[0].T
    for ft in fts[1:]:
        out = xp.reshape(out[:, None, :] * ft.T[None, :, :], (-1, ft.shape[0]))
    return out


def _mttkrp_rest_xp(xp, z, fts, n):
    """:func:`_mttkrp_rest` in ``xp``: (rank, dim_n) from ``z`` (rank, dim_1, ..., dim_K)."""
    nd = z.ndim - 1
    t = z
    for m in range(nd, 0, -1):  # contract the other modes, last first
        if m == n:
            continue
        shape = [1] * t.ndim
        shape[0], shape[m] = fts[m].shape[0], fts[m].shape[1]
        t = xp.sum(t * xp.reshape(fts[m], tuple(shape)), axis=m)
    return xp.reshape(t, (t.shape[0], -1))


def _fit_hals_xp(b, x0, shape, fts, obs, tol, max_iter, n_sweeps, extrapolate) -> _Fit:
    """:func:`_fit_hals` in the backend ``b``: ``x0`` is the lead-first unfolding (dim_0, rest),
    ``obs`` None or its boolean mask (missing entries hold the current fill)."""
    xp = b.xp
    f64 = xp.float64
    dtype = x0.dtype
    nmodes = len(shape)
    blocks = _lead_blocks(shape, 4 if dtype == xp.float32 else 8)

    def to_dev(a):
        return b.asarray(np.asarray(a), dtype=dtype)

    def gram(ft):
        f = xp.astype(ft, f64)
        return b.to_numpy(xp.matmul(f, f.T))

    def dot64(a, c):
        return float(xp.sum(xp.astype(a, f64) * xp.astype(c, f64)))

    extrapolate = extrapolate and obs is None
    if obs is None:
        norm_obs = norm2 = dot64(x0, x0)
    else:
        miss = ~obs
        fill = xp.where(miss, x0, xp.zeros_like(x0))
        norm2 = dot64(x0, x0)
        norm_obs = norm2 - dot64(fill, fill)
    grams = [gram(ft) for ft in fts]
    beta, beta_max = 0.5, 1.0
    prev = prev_grams = None
    errors = []
    converged = False
    extrapolated = False
    it = 0
    for it in range(1, max_iter + 1):
        # --- one HALS pass (as _hals_pass)
        rank = fts[0].shape[0]
        kr = _kr_xp(xp, fts[1:])
        g = np.prod(grams[1:], axis=0)
        z = xp.zeros((rank, x0.shape[1]), dtype=dtype, device=b.device)
        for blk in blocks:
            xb = x0[blk, :]
            mt = xp.matmul(xb, kr).T
            fb = _hals_update_xp(xp, xp.asarray(fts[0][:, blk], copy=True), mt, g, n_sweeps, to_dev)
            fts[0][:, blk] = fb
            z = z + xp.matmul(fb, xb)
        grams[0] = gram(fts[0])
        z = xp.reshape(z, (rank,) + tuple(shape[1:]))
        for n in range(1, nmodes):
            mt = _mttkrp_rest_xp(xp, z, fts, n)
            g = np.prod([grams[m] for m in range(nmodes) if m != n], axis=0)
            fts[n] = _hals_update_xp(xp, fts[n], mt, g, n_sweeps, to_dev)
            grams[n] = gram(fts[n])
        inner = dot64(fts[-1], mt)
        # --- error, balance, imputation, extrapolation (as _fit_hals)
        model2 = float(np.prod(grams, axis=0).sum())
        resid2 = max(norm2 - 2.0 * inner + model2, 0.0)
        _balance_xp(b, fts, grams, to_dev)
        if obs is not None:
            model = xp.matmul(fts[0].T, _kr_xp(xp, fts[1:]).T)
            new = xp.where(miss, model, xp.zeros_like(model))
            resid2 = max(resid2 - dot64(fill - new, fill - new), 0.0)
            x0 = xp.where(obs, x0, model)
            fill = new
            norm2 = norm_obs + dot64(new, new)
        err = float(np.sqrt(resid2 / norm_obs)) if norm_obs > 0 else 0.0
        if extrapolate and errors and err > errors[-1]:
            beta_max, beta = beta, beta / 1.5
            fts[:] = [xp.asarray(f, copy=True) for f in prev]
            grams[:] = [gr.copy() for gr in prev_grams]
            extrapolated = False
            continue
        errors.append(err)
        extrapolated = False
        if len(errors) > 1 and abs(errors[-2] - errors[-1]) < tol:
            converged = True
            break
        if extrapolate:
            if prev is not None:
                beta = min(beta_max, 1.05 * beta)
                beta_max = min(1.0, 1.01 * beta_max)
            new_prev = [xp.asarray(f, copy=True) for f in fts]
            prev_grams = [gr.copy() for gr in grams]
            if prev is not None:
                for n in range(nmodes):
                    fts[n] = xp.maximum((fts[n] - prev[n]) * beta + new_prev[n], 0.0)
                    grams[n] = gram(fts[n])
                extrapolated = True
            prev = new_prev
    if extrapolated:
        fts[:] = prev
    if dtype != f64 and errors:  # the exact final error, in float64
        kr = _kr_xp(xp, [xp.astype(f, f64) for f in fts[1:]])
        resid2 = 0.0
        for blk in blocks:
            r = xp.astype(x0[blk, :], f64) - xp.matmul(xp.astype(fts[0][:, blk], f64).T, kr.T)
            if obs is not None:
                r = xp.where(obs[blk, :], r, xp.zeros_like(r))
            resid2 += float(xp.sum(r * r))
        errors[-1] = float(np.sqrt(max(resid2, 0.0) / norm_obs)) if norm_obs > 0 else 0.0
    return _Fit([np.array(b.to_numpy(ft).T, dtype=np.float64, order="C") for ft in fts], errors, it, converged)


def _balance_xp(b, fts, grams, to_dev) -> None:
    """:func:`_balance` with the factors in a backend (the Grams on the host)."""
    nmodes = len(fts)
    norms = np.sqrt(np.maximum(np.stack([np.diag(g) for g in grams]), 0.0))
    target = np.prod(norms, axis=0) ** (1.0 / nmodes)
    for n in range(nmodes):
        ok = norms[n] > 0
        scale = np.where(ok, target / np.where(ok, norms[n], 1.0), 1.0)
        fts[n] = fts[n] * to_dev(scale)[:, None]
        grams[n] *= scale[:, None] * scale[None, :]


@dataclass(eq=False)
class RankEnsemble(Result):
    """NTF fits over several ranks with several restarts each, from :func:`rank_ensemble`.

    Attributes
    ----------
    results : dict of int -> NTFResult
        The fit at each rank (best restart kept; every restart's error and similarity to
        the best in ``restart_errors`` and ``similarity``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ens = rank_ensemble(reconstruct([rng.random((n, 2)) for n in (6, 5, 4)]), 2, n_restarts=2)
    >>> ens
    RankEnsemble(ranks=[1, 2])
    >>> ens.summary().columns.tolist()
    ['rank', 'error', 'similarity']
    """

    results: dict

    @property
    def ranks(self) -> list:
        """The ranks fitted, ascending."""
        return sorted(self.results)

    def to_frame(self) -> pd.DataFrame:
        """One row per (rank, restart): ``error`` and ``similarity`` (factor match score
        with the best restart of that rank); ``best`` marks the kept restart."""
        rows = []
        for rank in self.ranks:
            res = self.results[rank]
            best = int(np.argmin(res.restart_errors))
            for k, (err, sim) in enumerate(zip(res.restart_errors, res.similarity)):
                rows.append({"rank": rank, "restart": k, "error": float(err), "similarity": float(sim),
                             "best": k == best})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Per rank: the best error and the median similarity of the other restarts."""
        df = self.to_frame()
        others = df[~df["best"]].groupby("rank")["similarity"].median()
        out = df.groupby("rank")["error"].min().to_frame("error")
        out["similarity"] = others.reindex(out.index)
        return out.reset_index()

    def plot(self, axes=None):
        """Error vs rank and similarity vs rank; see
        :func:`neurotk.plotting.connectome.plot_rank_selection`."""
        from ..plotting.connectome import plot_rank_selection

        return plot_rank_selection(self, axes=axes)

    def __repr__(self) -> str:
        return f"RankEnsemble(ranks={self.ranks})"


def rank_ensemble(X, ranks, n_restarts: int = 5, mask=None, tol: float = 1e-6, max_iter: int = 500,
                  random_state=None, *, init: str = "random", n_sweeps: int = 3,
                  extrapolate: bool = True, n_jobs=1, progress: bool = False, n_threads=1,
                  dtype="float64") -> RankEnsemble:
    """Fit :func:`ntf` at several ranks with several random restarts each.

    The usual way to choose the rank of a tensor component analysis (Williams et al. 2018):
    the error falls with the rank, while the restarts keep finding the same factors (high
    :func:`factor_match_score` with the best restart) only up to the rank the data support.

    Parameters
    ----------
    X, mask, tol, max_iter, init, n_sweeps, extrapolate, n_threads, dtype
        As in :func:`ntf` (numpy arrays only).
    ranks : int or iterable of int
        The ranks to fit (an int ``k`` means ``1 .. k``).
    n_restarts : int, default 5
        Restarts per rank (at least 2 for a similarity).
    random_state : None, int or Generator
    n_jobs : int, default 1
        All (rank, restart) fits run through :func:`neurotk.parallel.map_chunks`.
    progress : bool, default False

    Returns
    -------
    RankEnsemble
        ``.to_frame()`` (rank, restart, error, similarity), ``.summary()`` and ``.plot()``.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.connectome import rank_ensemble, reconstruct
    >>> rng = np.random.default_rng(0)
    >>> x = reconstruct([rng.random((n, 2)) for n in (12, 10, 8)])
    >>> ens = rank_ensemble(x, [1, 2, 3], n_restarts=3, random_state=0)
    >>> errors = ens.summary()["error"]
    >>> bool(errors[0] > 0.1), bool(errors[1] < 1e-4)   # rank 2 fits exactly, rank 1 does not
    (True, True)
    """
    from ..parallel import map_chunks

    if isinstance(ranks, numbers.Integral) and not isinstance(ranks, bool):
        ranks = list(range(1, check_int(ranks, "ranks", 1) + 1))
    try:
        ranks = sorted({check_int(r, "ranks", 1) for r in ranks})
    except TypeError:
        raise ArgumentError(f"ranks={ranks!r}; expected an int or a list of ints >= 1") from None
    if not ranks:
        raise ArgumentError("ranks is empty; expected at least one rank")
    _, n_restarts, tol, max_iter, n_sweeps = _check_common(ranks[0], n_restarts, tol, max_iter, init, n_sweeps)
    dtype, n_threads = _check_speed(dtype, n_threads)
    x, observed = _check_tensor(X, mask, dtype)
    if observed is not None:
        x[~observed] = 0.0
    seeds = as_rng(random_state).integers(0, 2**63 - 1, size=(len(ranks), n_restarts))
    jobs = [(r, int(s)) for r, row in zip(ranks, seeds) for s in row]

    def one(rank, seed):
        return _fit_one(x, observed, rank, init, seed, tol, max_iter, n_sweeps, extrapolate, n_threads)

    fits = map_chunks(one, jobs, n_jobs=n_jobs, progress=progress, desc="NTF rank ensemble")
    results = {}
    for k, rank in enumerate(ranks):
        chunk = fits[k * n_restarts:(k + 1) * n_restarts]
        factors = [_sorted_factors(f[0]) for f in chunk]
        errors = np.array([f[1][-1] for f in chunk])
        best = int(np.argmin(errors))
        results[rank] = NTFResult(
            factors=factors[best], error=float(errors[best]), errors=np.asarray(chunk[best][1]),
            n_iter=int(chunk[best][2]), converged=bool(chunk[best][3]), restart_errors=errors,
            similarity=np.array([factor_match_score(f, factors[best]) for f in factors]),
            restart_factors=factors,
        )
    return RankEnsemble(results)
