"""Predictive models of many neurons' responses to images, with stimulus gradients.

Most discriminative stimulus clustering (:class:`~neurotk.clustering.MDSClustering`)
needs one thing from a model of a population: the predicted responses of all neurons to
a batch of images, and the gradient of any weighted sum of those responses with respect
to the images. Every model here offers exactly that interface:

- ``predict(stimuli)``: ``(n_stimuli, height, width)`` images -> ``(n_stimuli,
  n_neurons)`` predicted responses;
- ``gradient(stimuli, weights)``: the gradient of ``sum(weights * predict(stimuli))``
  with respect to ``stimuli`` (``weights`` of shape ``(n_stimuli, n_neurons)``), shape
  ``(n_stimuli, height, width)``;
- ``n_neurons`` and ``image_shape``, and optionally ``reference_stimuli``: typical
  images of the model's domain (MDS clustering scales responses and the stimulus norm
  by them). The models here learn them in ``fit`` (``n_neurons_``, ``image_shape_``,
  ``reference_stimuli_``) and show them under the interface's names, read-only.

Three models ship:

- :class:`LNModel`: a linear filter per neuron followed by an output nonlinearity,
  fitted to responses to known stimuli with ridge and smoothness (Laplacian)
  regularisation; one solve serves all neurons, and each neuron's penalty is chosen by
  generalised cross-validation;
- :class:`SharedFeatureModel`: a fixed feature map (a layer of the bundled digits
  network by default) with a per-neuron linear readout fitted by
  :class:`neurotk.encoding.RidgeCV`;
- :class:`TorchModel`: any differentiable PyTorch module (gradients by autograd), so a
  lab's own digital twin plugs in unchanged (needs the optional ``torch`` extra).

Any other object with the same four members works as well (duck typing); analytic
gradients are checked against finite differences in the tests. :func:`check_model`
checks that interface, :func:`is_torch_module` recognises a bare PyTorch module (which
MDS clustering wraps in a :class:`TorchModel`), and :func:`check_n_clusters` is the
check of a number of clusters that every clustering here shares.
"""

from __future__ import annotations

import numpy as np

from .._params import Parameters
from .._validation import (
    check_array,
    check_choice,
    check_fitted,
    check_images,
    check_int,
    check_matrix,
    check_positive,
)
from ..encoding.scoring import correlation_scores
from ..errors import ArgumentError, ShapeMismatchError

__all__ = [
    "LNModel",
    "ResponseModel",
    "SharedFeatureModel",
    "TorchModel",
    "check_model",
    "check_n_clusters",
    "is_torch_module",
]

_NONLINEARITIES = ("softplus", "exp", "linear")
_LOSSES = ("auto", "poisson", "squared")


# --------------------------------------------------------------------------- helpers
def check_n_clusters(n_clusters, n_neurons: int, neurons: str = "neurons"):
    """``n_clusters`` (None, or 1 .. ``n_neurons``) checked, with a clear error.

    ``neurons`` says where the neurons were counted, for the message.

    Examples
    --------
    >>> check_n_clusters(3, 10)
    3
    """
    if n_clusters is None:
        return None
    k = check_int(n_clusters, "n_clusters", 1)
    if k > n_neurons:
        raise ArgumentError(
            f"n_clusters={k} is larger than the {n_neurons} {neurons}; expected at most one "
            f"cluster per neuron"
        )
    return k


def is_torch_module(obj) -> bool:
    """Whether ``obj`` is a PyTorch module (``torch.nn.Module``), without importing torch.

    torch is only consulted when it is already imported (an object cannot be a torch module
    otherwise), so the check is free when torch is not installed.

    Examples
    --------
    >>> is_torch_module(np.zeros(3))
    False
    """
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _as_weights(weights, n_stimuli: int, n_neurons: int) -> np.ndarray:
    shape = f"({n_stimuli}, {n_neurons}), one weight per stimulus and neuron"
    w = check_array(weights, "weights", ndim=2, axes=("stimuli", "neurons"), min_shape=(), recording=False,
                    expected=f"an array of shape {shape}", hint="")
    if w.shape != (n_stimuli, n_neurons):
        raise ShapeMismatchError(f"weights has shape {w.shape}; expected {shape}")
    return w


def _as_responses(responses, n_stimuli: int) -> np.ndarray:
    y = check_matrix(responses, "responses", rows="stimuli", cols="neurons")
    if y.shape[0] != n_stimuli:
        raise ShapeMismatchError(
            f"responses has {y.shape[0]} stimuli (rows) but stimuli has {n_stimuli} images; "
            f"expected one row of responses per image"
        )
    return y


def _softplus(x):
    return np.logaddexp(0.0, x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _nonlinearity(name: str, drive: np.ndarray):
    """``f(drive)`` and ``f'(drive)``."""
    if name == "softplus":
        return _softplus(drive), _sigmoid(drive)
    if name == "exp":
        value = np.exp(np.minimum(drive, 700.0))
        return value, value
    return drive, np.ones_like(drive)


def _eigh(gram: np.ndarray):
    """``np.linalg.eigh``; single-threaded below 1,500 rows, where BLAS threads only add
    overhead (and, on a busy machine, spin: 20x slower measured on 2 shared cores)."""
    if gram.shape[0] >= 1500:
        return np.linalg.eigh(gram)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return np.linalg.eigh(gram)


def _path_laplacian_eig(m: int):
    """Eigenvalues and orthonormal eigenvectors (DCT-II) of the path-graph Laplacian."""
    k = np.arange(m)
    values = 2.0 - 2.0 * np.cos(np.pi * k / m)
    vectors = np.cos(np.pi * np.outer(np.arange(m) + 0.5, k) / m)
    vectors /= np.linalg.norm(vectors, axis=0)
    return values, vectors


# --------------------------------------------------------------------------- interface
class ResponseModel:
    """Base class of the predictive models: predicted responses and their stimulus gradients.

    Subclasses set ``n_neurons_`` and ``image_shape_`` (and optionally
    ``reference_stimuli_``) when fitted, which the interface shows, read-only, as
    :attr:`n_neurons`, :attr:`image_shape` and :attr:`reference_stimuli`, and implement
    ``_predict(images)`` and ``_gradient(images, weights)`` on validated float64 arrays.
    Any object with ``predict``, ``gradient``, ``n_neurons`` and ``image_shape`` can be
    used in their place.

    Examples
    --------
    >>> class Linear(ResponseModel):
    ...     def __init__(self, w):
    ...         self.w, self.n_neurons_, self.image_shape_ = w, w.shape[0], w.shape[1:]
    ...     def _check_fitted(self):  # ready from construction
    ...         pass
    ...     def _predict(self, images):
    ...         return images.reshape(len(images), -1) @ self.w.reshape(len(self.w), -1).T
    >>> model = Linear(np.ones((2, 3, 3)))
    >>> model.n_neurons, model.image_shape, model.predict(np.ones((1, 3, 3))).tolist()
    (2, (3, 3), [[9.0, 9.0]])
    """

    @property
    def n_neurons(self) -> int | None:
        """Number of neurons modelled (None before fitting)."""
        return getattr(self, "n_neurons_", None)

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(height, width) of the images (None before fitting)."""
        return getattr(self, "image_shape_", None)

    @property
    def reference_stimuli(self) -> np.ndarray | None:
        """Typical images of the model's domain (or None)."""
        return getattr(self, "reference_stimuli_", None)

    def _check_fitted(self):
        check_fitted(self, "n_neurons_")

    def predict(self, stimuli) -> np.ndarray:
        """Predicted responses of every neuron to ``stimuli``.

        Parameters
        ----------
        stimuli : array-like, shape (n_stimuli, height, width)

        Returns
        -------
        ndarray, shape (n_stimuli, n_neurons)
        """
        self._check_fitted()
        return self._predict(check_images(stimuli, "stimuli", image_shape=self.image_shape))

    def gradient(self, stimuli, weights) -> np.ndarray:
        """Gradient of ``sum(weights * predict(stimuli))`` with respect to ``stimuli``.

        Parameters
        ----------
        stimuli : array-like, shape (n_stimuli, height, width)
        weights : array-like, shape (n_stimuli, n_neurons)

        Returns
        -------
        ndarray, shape (n_stimuli, height, width)
        """
        self._check_fitted()
        images = check_images(stimuli, "stimuli", image_shape=self.image_shape)
        return self._gradient(images, _as_weights(weights, len(images), self.n_neurons))

    def _predict(self, images):  # pragma: no cover - abstract
        raise NotImplementedError

    def _gradient(self, images, weights):  # pragma: no cover - abstract
        raise NotImplementedError


def check_model(model, probe=None) -> tuple[int, tuple[int, int]]:
    """Check that ``model`` offers the predictive-model interface and consistent shapes.

    Parameters
    ----------
    model : object
        Needs ``predict``, ``gradient``, ``n_neurons`` and ``image_shape``.
    probe : array-like, shape (n, height, width), optional
        Images to try the model on (default: two zero images).

    Returns
    -------
    n_neurons : int
    image_shape : (int, int)

    Raises
    ------
    ArgumentError
        A member is missing or unusable.
    ShapeMismatchError
        ``predict`` or ``gradient`` returns arrays of another shape than announced.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.clustering import LNModel
    >>> rng = np.random.default_rng(0)
    >>> model = LNModel().fit(rng.normal(size=(50, 6, 6)), rng.poisson(2.0, size=(50, 3)))
    >>> check_model(model)
    (3, (6, 6))
    """
    missing = [name for name in ("predict", "gradient", "n_neurons", "image_shape")
               if not hasattr(model, name)]
    if missing:
        raise ArgumentError(
            f"model of type {type(model).__name__} lacks {missing}; expected a fitted predictive "
            f"model with predict(stimuli), gradient(stimuli, weights), n_neurons and image_shape "
            f"(e.g. LNModel, SharedFeatureModel or TorchModel)"
        )
    n_neurons = model.n_neurons
    if n_neurons is None:
        raise ArgumentError(f"model of type {type(model).__name__} is not fitted yet; call fit() first")
    n_neurons = check_int(n_neurons, "model.n_neurons", 1)
    try:
        shape = tuple(int(v) for v in model.image_shape)
    except (TypeError, ValueError):
        shape = ()
    if len(shape) != 2 or min(shape) < 1:
        raise ArgumentError(f"model.image_shape={model.image_shape!r}; expected (height, width)")
    probe = np.zeros((2,) + shape) if probe is None else check_images(probe, "probe", image_shape=shape)[:2]
    out = np.asarray(model.predict(probe))
    if out.shape != (len(probe), int(n_neurons)):
        raise ShapeMismatchError(
            f"model.predict returned shape {out.shape} for {len(probe)} images; expected "
            f"({len(probe)}, {int(n_neurons)}), one column per neuron (model.n_neurons={int(n_neurons)})"
        )
    grad = np.asarray(model.gradient(probe, np.ones((len(probe), int(n_neurons)))))
    if grad.shape != probe.shape:
        raise ShapeMismatchError(
            f"model.gradient returned shape {grad.shape}; expected {probe.shape}, the shape of "
            f"the stimuli"
        )
    return int(n_neurons), shape


# --------------------------------------------------------------------------- LN model
class LNModel(ResponseModel, Parameters):
    r"""Linear-nonlinear model of every neuron, fitted with ridge and smoothness penalties.

    Neuron :math:`i` responds to an image :math:`s` with

    .. math:: r_i(s) = \gamma_i\, f(\langle k_i, s\rangle + b_i)

    (``f`` = ``nonlinearity``). The filters are fitted in two stages, vectorised over
    neurons:

    1. the linear filter direction by penalised least squares, minimising
       :math:`\|y_i - X k_i\|^2 + \alpha_i (\|k_i\|^2 + \lambda\, k_i^\top L k_i)`
       with :math:`L` the pixel-grid graph Laplacian (:math:`\lambda` =
       ``smoothness``): the penalty is diagonalised once by the 2-D discrete cosine
       basis, one eigendecomposition of the whitened design serves every neuron, and
       each neuron's :math:`\alpha_i` is chosen from ``alphas`` by generalised
       cross-validation. For Gaussian stimuli this direction is proportional to the
       true filter of an LN neuron (Bussgang's theorem);
    2. the output nonlinearity: a slope, an offset and (softplus) a gain per neuron,
       fitted by damped Fisher scoring on the Poisson likelihood (counts) or on squared
       error, all neurons at once.

    Parameters
    ----------
    nonlinearity : {"softplus", "exp", "linear"}, default "softplus"
    alphas : array-like, default ``np.logspace(-2, 6, 17)``
        Candidate ridge penalties, relative to the design's scale
        :math:`\operatorname{tr}(X P^{-1} X^\top) / n_\text{pixels}` (``X`` the centred
        stimuli, :math:`P = I + \lambda L`; about the number of stimuli times the
        pixel variance), so the grid suits any pixel scale and image size.
    smoothness : float, default 2.0
        Weight :math:`\lambda` of the Laplacian (smoothness) penalty relative to the
        ridge penalty; 0 is plain ridge.
    loss : {"auto", "poisson", "squared"}, default "auto"
        Likelihood of the nonlinearity fit; "auto" is Poisson for non-negative
        responses with a positive nonlinearity, squared error otherwise.
    max_iter : int, default 30
        Fisher-scoring iterations of the nonlinearity fit.
    n_reference : int, default 500
        Training images kept as :attr:`reference_stimuli_`.

    Attributes
    ----------
    filters_ : ndarray, shape (n_neurons, height, width)
        :math:`k_i`.
    biases_, gains_ : ndarray, shape (n_neurons,)
        :math:`b_i`, :math:`\gamma_i` (gains are 1 except for softplus).
    alpha_ : ndarray, shape (n_neurons,)
        The ridge penalty chosen for each neuron.
    linear_filters_ : ndarray, shape (n_neurons, height, width)
        Stage-1 filters (the linear regression of responses on pixels).
    reference_stimuli_ : ndarray, shape (n_reference, height, width)
        The first ``n_reference`` training images (also :attr:`reference_stimuli`).
    n_neurons_ : int
        Number of neurons (columns of the responses); also :attr:`n_neurons`.
    image_shape_ : (int, int)
        (height, width) of the training images; also :attr:`image_shape`.

    Examples
    --------
    >>> from neurotk.datasets import simulate_cell_types
    >>> from neurotk.clustering import LNModel
    >>> sim = simulate_cell_types(n_neurons=20, n_types=2, image_shape=(12, 12), n_stimuli=800)
    >>> model = LNModel().fit(sim.stimuli[:600], sim.responses.data[:600])
    >>> model.predict(sim.stimuli[:5]).shape
    (5, 20)

    Held-out predictions follow the simulator's true firing rates:

    >>> bool(model.score(sim.stimuli[600:], sim.rates[600:]).min() > 0.9)
    True
    """

    def __init__(self, nonlinearity: str = "softplus", alphas=None, smoothness: float = 2.0,
                 loss: str = "auto", max_iter: int = 30, n_reference: int = 500):
        self.nonlinearity = nonlinearity
        self.alphas = alphas
        self.smoothness = smoothness
        self.loss = loss
        self.max_iter = max_iter
        self.n_reference = n_reference

    def __repr__(self) -> str:
        state = (f"{self.n_neurons} neurons, images {self.image_shape}" if self.n_neurons is not None
                 else "not fitted")
        return f"LNModel(nonlinearity={self.nonlinearity!r}, smoothness={self.smoothness}; {state})"

    # ------------------------------------------------------------------ fitting
    def fit(self, stimuli, responses) -> LNModel:
        """Fit every neuron's filter and nonlinearity to responses to known images.

        Parameters
        ----------
        stimuli : array-like, shape (n_stimuli, height, width)
        responses : Recording or array-like, shape (n_stimuli, n_neurons)
            One row per image (e.g. spike counts, averaged over repeats).

        Returns
        -------
        self

        Raises
        ------
        ShapeMismatchError
            Stimuli and responses with different numbers of rows, or not images.
        ArgumentError
            Bad hyper-parameters.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> LNModel(nonlinearity="linear").fit(rng.normal(size=(40, 5, 5)), rng.normal(size=(40, 2))).n_neurons
        2
        """
        check_choice(self.nonlinearity, "nonlinearity", _NONLINEARITIES)
        check_choice(self.loss, "loss", _LOSSES)
        alphas = check_positive(np.logspace(-2, 6, 17) if self.alphas is None else self.alphas, "alphas")
        smoothness = float(check_positive(self.smoothness, "smoothness", allow_zero=True)[0])
        check_int(self.max_iter, "max_iter", 0)
        check_int(self.n_reference, "n_reference", 1)
        images = check_images(stimuli, "stimuli")
        y = _as_responses(responses, len(images))
        n, h, w = images.shape
        if n < 3:
            raise ShapeMismatchError(f"stimuli has {n} images; expected at least 3 to fit a model")

        directions, mean_drive, alpha = self._fit_linear(images, y, alphas, smoothness)
        x = images.reshape(n, -1)
        u = x @ directions.T - mean_drive  # (n, N) centred linear predictions
        sd = u.std(axis=0)
        sd[sd <= 0] = 1.0
        u /= sd
        slope, offset, gain = self._fit_nonlinearity(u, y)
        filters = directions * (slope / sd)[:, None]
        self.filters_ = filters.reshape(-1, h, w)
        self.biases_ = offset - slope * mean_drive / sd
        self.gains_ = gain
        self.alpha_ = alpha
        self.linear_filters_ = directions.reshape(-1, h, w)
        self.reference_stimuli_ = images[: int(self.n_reference)].copy()
        self.n_neurons_ = int(y.shape[1])
        self.image_shape_ = (h, w)
        self._flat = np.ascontiguousarray(filters)
        return self

    def _fit_linear(self, images, y, alphas, smoothness):
        """Penalised least squares for all neurons; returns filters (N, P), mean drive, alpha."""
        n, h, w = images.shape
        p = h * w
        # penalty I + smoothness * L = Q diag(beta) Q', Q = Q_h kron Q_w (2-D DCT basis)
        eh, qh = _path_laplacian_eig(h)
        ew, qw = _path_laplacian_eig(w)
        beta = (1.0 + smoothness * (eh[:, None] + ew[None, :])).ravel()
        scale = 1.0 / np.sqrt(beta)
        mean_image = images.mean(axis=0)
        xt = np.einsum("ij,nik,kl->njl", qh, images - mean_image, qw, optimize=True).reshape(n, p) * scale
        yc = y - y.mean(axis=0)
        # penalties relative to the design's overall scale
        unit = float((xt**2).sum()) / p
        if n >= p:
            gram = xt.T @ xt
            s2, v = _eigh(gram)
            s2 = np.clip(s2, 0.0, None)
            proj = v.T @ (xt.T @ yc)  # = diag(s) U'Y
        else:
            gram = xt @ xt.T
            s2, u_ = _eigh(gram)
            s2 = np.clip(s2, 0.0, None)
            proj_u = u_.T @ yc  # U'Y
            proj = proj_u * np.sqrt(s2)[:, None]
        keep = s2 > s2.max() * 1e-12
        uy = np.zeros_like(proj)
        uy[keep] = proj[keep] / np.sqrt(s2[keep])[:, None]  # U'Y
        total = (yc**2).sum(axis=0)
        explained = (uy**2).sum(axis=0)
        grid = alphas * unit
        best = np.full(y.shape[1], np.inf)
        alpha = np.empty(y.shape[1])
        for a in grid:  # a few penalties, each vectorised over neurons
            shrink = a / (s2 + a)
            rss = total - explained + ((shrink[:, None] * uy) ** 2).sum(axis=0)
            df = (s2 / (s2 + a)).sum() + 1.0
            gcv = rss / max(n - df, 1e-3) ** 2
            better = gcv < best
            best[better] = gcv[better]
            alpha[better] = a
        coef_u = proj / (s2[:, None] + alpha[None, :])  # V' w~ per neuron
        if n >= p:
            wt = v @ coef_u
        else:
            # w~ = X~' U diag(1/(s2 + a)) U'Y
            wt = xt.T @ (u_ @ (uy / (s2[:, None] + alpha[None, :])))
        # back to pixels: k = Q diag(beta^-1/2) w~
        wt = (wt * scale[:, None]).reshape(h, w, -1)
        filters = np.einsum("ij,jkn,lk->nil", qh, wt, qw, optimize=True).reshape(-1, p)
        mean_drive = filters @ mean_image.ravel()
        return filters, mean_drive, alpha / unit

    def _fit_nonlinearity(self, u, y):
        """Slope, offset and gain of ``gain * f(slope * u + offset)`` for all neurons."""
        n_neurons = y.shape[1]
        ymean = y.mean(axis=0)
        ysd = y.std(axis=0)
        if self.nonlinearity == "linear":
            # least-squares line through the (centred, unit-variance) drive
            return (u * (y - ymean)).mean(axis=0), ymean, np.ones(n_neurons)
        loss = self.loss
        if loss == "auto":
            loss = "poisson" if (y >= 0).all() else "squared"
        if loss == "poisson" and (y < 0).any():
            raise ArgumentError("loss='poisson' needs non-negative responses (counts); got negative values")
        floor = 1e-6 * max(float(ymean.mean()), 1e-12)
        if self.nonlinearity == "exp":
            mean = np.maximum(ymean, floor)
            slope = np.clip(ysd / mean, 0.01, 3.0)
            offset = np.log(mean) - slope**2 / 2.0
            theta = np.stack([slope, offset], axis=1)
        else:
            # softplus: start in the near-linear regime, matching mean and sd
            slope = np.full(n_neurons, 1.0)
            offset = np.full(n_neurons, 1.0)
            gain = np.maximum(ysd, floor) / (_sigmoid(1.0) * 1.0)
            gain = np.maximum(gain, np.maximum(ymean, floor) / _softplus(1.0) * 0.5)
            theta = np.stack([slope, offset, np.log(gain)], axis=1)
        damping = np.full(n_neurons, 1e-3)
        objective = self._loss(theta, u, y, loss)
        active = np.arange(n_neurons)  # neurons still moving; converged ones are frozen
        for _ in range(int(self.max_iter)):
            th, ua, ya = theta[active], u[:, active], y[:, active]
            rate, jac = self._rate_and_jacobian(th, ua)
            if loss == "poisson":
                rate_c = np.maximum(rate, floor)
                weight = 1.0 / rate_c
                resid = (ya - rate_c) * weight
            else:
                resid = ya - rate
                weight = None
            n_par = th.shape[1]
            grad = np.stack([(resid * jac[p]).sum(axis=0) for p in range(n_par)], axis=1)
            fisher = np.empty((active.size, n_par, n_par))
            for p in range(n_par):  # a 2 x 2 or 3 x 3 Fisher matrix per neuron
                weighted = jac[p] if weight is None else weight * jac[p]
                for q in range(p, n_par):
                    fisher[:, p, q] = fisher[:, q, p] = (weighted * jac[q]).sum(axis=0)
            diag = np.einsum("kpp->kp", fisher)
            damp = damping[active]
            lhs = fisher + (damp[:, None] * (diag + 1e-12))[:, :, None] * np.eye(n_par)
            step = np.linalg.solve(lhs, grad[..., None])[..., 0]
            trial = th + step
            new = self._loss(trial, ua, ya, loss)
            ok = np.isfinite(new) & (new <= objective[active])
            theta[active[ok]] = trial[ok]
            objective[active[ok]] = new[ok]
            damp = np.where(ok, np.maximum(damp / 3.0, 1e-9), damp * 10.0)
            damping[active] = damp
            small = np.abs(step).max(axis=1) <= 1e-6 * (1.0 + np.abs(theta[active]).max(axis=1))
            active = active[~((small & ok) | (damp > 1e6))]
            if active.size == 0:
                break
        if self.nonlinearity == "exp":
            return theta[:, 0], theta[:, 1], np.ones(n_neurons)
        return theta[:, 0], theta[:, 1], np.exp(theta[:, 2])

    def _rate_and_jacobian(self, theta, u):
        drive = theta[:, 0] * u + theta[:, 1]
        if self.nonlinearity == "exp":
            rate = np.exp(np.minimum(drive, 700.0))
            return rate, (rate * u, rate)
        gain = np.exp(theta[:, 2])
        value, deriv = _nonlinearity("softplus", drive)
        rate = gain * value
        deriv *= gain
        return rate, (deriv * u, deriv, rate)

    def _loss(self, theta, u, y, loss):
        drive = theta[:, 0] * u + theta[:, 1]
        if self.nonlinearity == "exp":
            if loss == "poisson":
                return (np.exp(np.minimum(drive, 700.0)) - y * drive).sum(axis=0)
            rate = np.exp(np.minimum(drive, 700.0))
        else:
            rate = np.exp(theta[:, 2]) * _softplus(drive)
        if loss == "poisson":
            return (rate - y * np.log(np.maximum(rate, 1e-300))).sum(axis=0)
        return ((y - rate) ** 2).sum(axis=0)

    # ------------------------------------------------------------------ inference
    def _drive(self, images):
        return images.reshape(len(images), -1) @ self._flat.T + self.biases_

    def _predict(self, images):
        value, _ = _nonlinearity(self.nonlinearity, self._drive(images))
        return value * self.gains_

    def _gradient(self, images, weights):
        _, deriv = _nonlinearity(self.nonlinearity, self._drive(images))
        return ((weights * deriv * self.gains_) @ self._flat).reshape(images.shape)

    def score(self, stimuli, responses) -> np.ndarray:
        """Pearson correlation of predicted and measured responses, per neuron.

        Parameters
        ----------
        stimuli : array-like, shape (n_stimuli, height, width)
        responses : Recording or array-like, shape (n_stimuli, n_neurons)

        Returns
        -------
        ndarray, shape (n_neurons,)

        Examples
        --------
        >>> from neurotk.datasets import simulate_cell_types
        >>> sim = simulate_cell_types(n_neurons=10, n_types=2, image_shape=(10, 10), n_stimuli=400)
        >>> model = LNModel().fit(sim.stimuli[:300], sim.responses.data[:300])
        >>> bool(model.score(sim.stimuli[300:], sim.responses.data[300:]).mean() > 0.5)
        True
        """
        pred = self.predict(stimuli)
        return correlation_scores(_as_responses(responses, len(pred)), pred)


# --------------------------------------------------------------------------- shared features
class SharedFeatureModel(ResponseModel, Parameters):
    """A fixed feature map with a per-neuron linear readout.

    Responses are modelled as ``features(s) @ coef_.T + intercept_``, the features being
    one layer's activations of a fixed network (by default the bundled digits network,
    :func:`neurotk.datasets.digits_network`, on 8 x 8 images on the 0..16 pixel scale).
    The readout is fitted by :class:`neurotk.encoding.RidgeCV` (a penalty per neuron by
    cross-validation); gradients come from the network's own
    ``input_gradient(images, layer, weights)``.

    Parameters
    ----------
    network : object, optional
        A feature map with ``forward(images) -> {layer: activations}`` and
        ``input_gradient(images, layer, weights)``; default ``digits_network()``.
    layer : str, default "conv1"
        The layer whose (flattened) activations are the features.
    alphas : array-like, default ``np.logspace(-2, 5, 15)``
        Candidate ridge penalties.
    cv : int, default 5
        Cross-validation folds for the penalty.
    n_reference : int, default 500
        Training images kept as :attr:`reference_stimuli_`.

    Attributes
    ----------
    coef_ : ndarray, shape (n_neurons, n_features)
    intercept_ : ndarray, shape (n_neurons,)
    alpha_ : ndarray, shape (n_neurons,)
        NaN for constant neurons.
    constant_ : ndarray of bool, shape (n_neurons,)
        Neurons whose training responses never change (e.g. silent units): they get a
        zero readout and their constant as intercept instead of a ridge fit.
    readout_ : RidgeCV
        The ridge fitted to the non-constant neurons.
    reference_stimuli_ : ndarray, shape (n_reference, height, width)
        The first ``n_reference`` training images (also :attr:`reference_stimuli`).
    n_neurons_ : int
        Number of neurons; also :attr:`n_neurons`.
    image_shape_ : (int, int)
        (height, width) of the training images; also :attr:`image_shape`.

    Examples
    --------
    >>> import numpy as np
    >>> from neurotk.datasets import digits_network
    >>> from neurotk.clustering import SharedFeatureModel
    >>> net = digits_network()
    >>> images = net.split[0][:200]
    >>> responses = net.forward(images)["fc2"][:, :5]      # five "neurons"
    >>> model = SharedFeatureModel(net, layer="fc1").fit(images, responses)
    >>> model.predict(images[:3]).shape
    (3, 5)
    >>> model.constant_.tolist()                       # two silent ReLU units
    [False, True, False, False, True]
    """

    def __init__(self, network=None, layer: str = "conv1", alphas=None, cv: int = 5,
                 n_reference: int = 500):
        self.network = network
        self.layer = layer
        self.alphas = alphas
        self.cv = cv
        self.n_reference = n_reference

    def __repr__(self) -> str:
        state = (f"{self.n_neurons} neurons, images {self.image_shape}" if self.n_neurons is not None
                 else "not fitted")
        return f"SharedFeatureModel(layer={self.layer!r}; {state})"

    def _network(self):
        net = self.network
        if net is None:  # the default, built once and kept aside: ``network`` stays as given
            net = getattr(self, "_default_network", None)
            if net is None:
                from ..datasets import digits_network

                net = self._default_network = digits_network()
        if not (hasattr(net, "forward") and hasattr(net, "input_gradient")):
            raise ArgumentError(
                f"network of type {type(net).__name__} lacks forward() or input_gradient(); "
                f"expected a feature map such as neurotk.datasets.digits_network()"
            )
        return net

    def features(self, stimuli) -> np.ndarray:
        """The flattened layer activations, shape (n_stimuli, n_features).

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> SharedFeatureModel(net, layer="fc1").features(net.split[0][:4]).shape
        (4, 128)
        """
        return self._features(check_images(stimuli, "stimuli", image_shape=self.image_shape))

    def _features(self, images):
        net = self._network()
        outputs = net.forward(images)
        if self.layer not in outputs:
            raise ArgumentError(f"layer={self.layer!r}; expected one of {sorted(outputs)}")
        act = np.asarray(outputs[self.layer], dtype=np.float64)
        return act.reshape(len(images), -1)

    def fit(self, stimuli, responses) -> SharedFeatureModel:
        """Fit each neuron's readout of the layer's features.

        Parameters
        ----------
        stimuli : array-like, shape (n_stimuli, height, width)
        responses : Recording or array-like, shape (n_stimuli, n_neurons)

        Returns
        -------
        self

        Raises
        ------
        ShapeMismatchError
            Stimuli and responses with different numbers of rows.

        Examples
        --------
        >>> from neurotk.datasets import digits_network
        >>> net = digits_network()
        >>> images = net.split[0][:100]
        >>> SharedFeatureModel(net, "fc1").fit(images, net.forward(images)["logits"]).n_neurons
        10
        """
        from ..encoding import RidgeCV

        images = check_images(stimuli, "stimuli")
        y = _as_responses(responses, len(images))
        feats = self._features(images)
        alphas = check_positive(np.logspace(-2, 5, 15) if self.alphas is None else self.alphas, "alphas")
        n_neurons, n_features = y.shape[1], feats.shape[1]
        # neurons that never change (e.g. silent units) are predicted exactly by a zero
        # readout and their constant; only the others need the cross-validated ridge
        mean = y.mean(axis=0)
        varying = np.abs(y - mean).max(axis=0) > 1e-12 * np.maximum(np.abs(mean), 1.0)
        if not varying.any():
            raise ArgumentError(
                f"responses of all {n_neurons} neurons are constant across the {len(y)} stimuli; "
                f"expected at least one neuron whose responses vary"
            )
        self.coef_ = np.zeros((n_neurons, n_features))
        self.intercept_ = mean.copy()
        self.alpha_ = np.full(n_neurons, np.nan)
        readout = RidgeCV(alphas=alphas, cv=self.cv).fit(feats, y[:, varying])
        n_fit = int(varying.sum())
        self.coef_[varying] = np.asarray(readout.coef_, dtype=np.float64).reshape(n_fit, n_features)
        self.intercept_[varying] = np.broadcast_to(np.asarray(readout.intercept_, dtype=np.float64), (n_fit,))
        self.alpha_[varying] = np.broadcast_to(np.asarray(readout.alpha_, dtype=np.float64), (n_fit,))
        self.readout_ = readout
        self.constant_ = ~varying
        self.reference_stimuli_ = images[: int(self.n_reference)].copy()
        self.n_neurons_ = int(y.shape[1])
        self.image_shape_ = tuple(images.shape[1:])
        return self

    def _predict(self, images):
        return self._features(images) @ self.coef_.T + self.intercept_

    def _gradient(self, images, weights):
        net = self._network()
        grad = net.input_gradient(images, self.layer, weights @ self.coef_)
        return np.asarray(grad, dtype=np.float64).reshape(images.shape)


# --------------------------------------------------------------------------- torch
class TorchModel(ResponseModel):
    """Any differentiable PyTorch module as a predictive model (gradients by autograd).

    Not an estimator: it has no ``fit`` and learns nothing, it wraps a module trained
    elsewhere. The interface's :attr:`n_neurons` (inferred from one forward pass),
    :attr:`image_shape` and :attr:`reference_stimuli` are known from construction.

    Parameters
    ----------
    module : torch.nn.Module or callable
        Maps a float tensor of images ``(n, height, width)`` (or ``(n, 1, height,
        width)`` with ``channel=True``) to responses ``(n, n_neurons)``.
    image_shape : (int, int)
    n_neurons : int, optional
        Inferred from one forward pass when omitted.
    channel : bool, default False
        Insert a channel axis (``(n, 1, height, width)``) before calling ``module``.
    reference_stimuli : array-like, shape (n, height, width), optional
        Typical images of the model's domain (used by MDS clustering to scale responses
        and the stimulus norm).
    device : str, default "cpu"
    batch_size : int, default 256
        Images per forward pass.

    Examples
    --------
    Needs the optional ``torch`` extra (``pip install neurotk[torch]``):

    >>> import torch  # doctest: +SKIP
    >>> from neurotk.clustering import TorchModel
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3), torch.nn.Softplus())  # doctest: +SKIP
    >>> model = TorchModel(net, image_shape=(4, 4))  # doctest: +SKIP
    >>> model.n_neurons, model.predict(np.zeros((2, 4, 4))).shape  # doctest: +SKIP
    (3, (2, 3))
    """

    def __init__(self, module, image_shape, n_neurons=None, channel: bool = False,
                 reference_stimuli=None, device: str = "cpu", batch_size: int = 256):
        from ..errors import require

        torch = require("torch", "TorchModel", "torch")
        if not callable(module):
            raise ArgumentError(f"module of type {type(module).__name__} is not callable; expected a "
                                f"torch.nn.Module")
        try:
            shape = tuple(int(v) for v in image_shape)
        except (TypeError, ValueError):
            shape = ()
        if len(shape) != 2 or min(shape) < 1:
            raise ArgumentError(f"image_shape={image_shape!r}; expected (height, width)")
        batch_size = check_int(batch_size, "batch_size", 1)
        self.module = module
        self.image_shape_ = shape
        self.channel = bool(channel)
        self.device = device
        self.batch_size = batch_size
        params = list(module.parameters()) if hasattr(module, "parameters") else []
        self._dtype = params[0].dtype if params else torch.float32
        if reference_stimuli is not None:
            reference_stimuli = check_images(reference_stimuli, "reference_stimuli", image_shape=shape)
        self.reference_stimuli_ = reference_stimuli
        self.n_neurons_ = 1  # placeholder for the probe below
        probe = self._forward(np.zeros((1,) + shape), grad=False)
        if probe.ndim != 2:
            raise ShapeMismatchError(
                f"module returned shape {tuple(probe.shape)} for one image; expected (1, n_neurons)"
            )
        inferred = int(probe.shape[1])
        if n_neurons is not None and int(n_neurons) != inferred:
            raise ShapeMismatchError(
                f"module returns {inferred} responses per image but n_neurons={n_neurons}; expected "
                f"them to match"
            )
        self.n_neurons_ = inferred

    def _check_fitted(self):
        """Nothing to check: a wrapped module is ready from construction."""

    def __repr__(self) -> str:
        return (f"TorchModel({type(self.module).__name__}, image_shape={self.image_shape}, "
                f"n_neurons={self.n_neurons})")

    def _tensor(self, images):
        import torch

        x = torch.as_tensor(images, dtype=self._dtype, device=self.device)
        return x.unsqueeze(1) if self.channel else x

    def _forward(self, images, grad: bool):
        import torch

        with torch.set_grad_enabled(grad):
            return self.module(self._tensor(images))

    def _predict(self, images):
        import torch

        outs = []
        with torch.no_grad():
            for start in range(0, len(images), self.batch_size):
                out = self._forward(images[start : start + self.batch_size], grad=False)
                outs.append(out.detach().cpu().double().numpy())
        out = np.concatenate(outs, axis=0)
        if out.shape != (len(images), self.n_neurons):
            raise ShapeMismatchError(f"module returned shape {out.shape}; expected "
                                     f"({len(images)}, {self.n_neurons})")
        return out

    def _gradient(self, images, weights):
        import torch

        grads = []
        for start in range(0, len(images), self.batch_size):
            stop = start + self.batch_size
            x = self._tensor(images[start:stop]).detach().requires_grad_(True)
            with torch.enable_grad():
                out = self.module(x)
                w = torch.as_tensor(weights[start:stop], dtype=out.dtype, device=out.device)
                (g,) = torch.autograd.grad((out * w).sum(), x)
            grads.append(g.detach().cpu().double().numpy().reshape((-1,) + self.image_shape))
        return np.concatenate(grads, axis=0)


