"""Adafactor: second moments of a matrix kept as one statistic per row and one per column."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.checks import check_hyperparameter
from tinynet.optim.layerwise import LayerwiseOptimizer
from tinynet.optim.layout import Layout


def rms(x: np.ndarray) -> float:
    """The root mean square of the elements of x."""
    return float(np.linalg.norm(x)) / math.sqrt(x.size)


class Adafactor(LayerwiseOptimizer):
    """Adafactor (Shazeer & Stern, 2018), with torch.optim.Adafactor's semantics, on each parameter W:

        β̂_t = 1 - t^τ                                   (τ = beta2_decay)
        ρ_t = min(lr, 1 / √t),   α_t = max(ε2, RMS(W_{t-1})) ρ_t
        R_t = β̂_t R_{t-1} + (1 - β̂_t) mean over columns of G²      (row_var, one per row)
        C_t = β̂_t C_{t-1} + (1 - β̂_t) mean over rows of G²         (col_var, one per column)
        V_t = R_t C_t / max(mean(R_t), ε1)                           (a matrix: the last two axes)
        V_t = β̂_t V_{t-1} + (1 - β̂_t) G²                           (a vector: variance)
        U_t = G_t / max(√V_t, ε1),   Û_t = U_t / max(1, RMS(U_t) / d)
        W_t = W_{t-1} - lr λ W_{t-1} - α_t Û_t

    G is -∇ with `maximize`. ε = (ε1, ε2); ε1 None is the dtype's machine epsilon. A matrix of
    n × m keeps n + m numbers of state instead of Adam's 2 n m. Make it with
    `layout=model.layout()`; without one an array is one parameter of its own shape.
    """

    def __init__(
        self,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        maximize: bool = False,
        layout: Layout | None = None,
    ):
        super().__init__(lr, weight_decay, layout)
        self.beta2_decay = check_hyperparameter("beta2_decay", beta2_decay, low=-math.inf, high=0.0)
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"invalid eps: {eps!r}; it must be a pair (ε1 or None, ε2)")
        eps1 = None if eps[0] is None else check_hyperparameter("eps[0]", eps[0])
        self.eps = (eps1, check_hyperparameter("eps[1]", eps[1]))
        self.d = check_hyperparameter("d (clipping threshold)", d, low=1.0)
        self.maximize = bool(maximize)

    def compute_step(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        t = self.count_step()
        beta2_hat = 1 - t**self.beta2_decay
        rho = min(self.lr, 1 / math.sqrt(t))
        eps1 = np.finfo(params.dtype).eps if self.eps[0] is None else self.eps[0]
        decrement = self.scratch(grads)
        for entry, g, w, step in self.per_parameter(grads, params, decrement):
            g = -g if self.maximize else g
            alpha = max(self.eps[1], rms(w)) * rho
            if g.ndim > 1:
                r = self.state_for(entry, "row_var", g, g.shape[:-1] + (1,))
                c = self.state_for(entry, "col_var", g, g.shape[:-2] + (1, g.shape[-1]))
                r += (1 - beta2_hat) * (np.mean(g * g, axis=-1, keepdims=True) - r)
                c += (1 - beta2_hat) * (np.mean(g * g, axis=-2, keepdims=True) - c)
                v = r @ c / np.maximum(np.mean(r, axis=-2, keepdims=True), eps1)
            else:
                v = self.state_for(entry, "variance", g)
                v += (1 - beta2_hat) * (g * g - v)
            u = g / np.maximum(np.sqrt(v), eps1)
            u_hat = u / max(1.0, rms(u) / self.d)
            step[...] = self.lr * self.weight_decay * w + alpha * u_hat
        return decrement
