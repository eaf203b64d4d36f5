"""LAMB: Adam's direction, scaled per layer by a trust ratio."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import check_betas, check_hyperparameter
from tinynet.optim.layerwise import LayerwiseOptimizer
from tinynet.optim.layout import Layout


class LAMB(LayerwiseOptimizer):
    """LAMB (You et al., 2020, "Large Batch Optimization for Deep Learning", Algorithm 2):

        m_t = β1 m_{t-1} + (1 - β1) g_t,   v_t = β2 v_{t-1} + (1 - β2) g_t²
        m̂_t = m_t / (1 - β1^t),   v̂_t = v_t / (1 - β2^t)
        r_t = m̂_t / (√v̂_t + ε) + λ θ_{t-1}                     (Adam's step, plus weight decay)
        θ_t = θ_{t-1} - lr (‖θ_{t-1}‖ / ‖r_t‖) r_t              (norms per parameter)

    The trust ratio ‖θ‖ / ‖r‖ is 1 where either norm is 0 (a layer at zero, a zero step), as in
    the reference implementations. Make it with `layout=model.layout()` so that each layer gets
    its own ratio; without one an array is one parameter.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.01,
        layout: Layout | None = None,
    ):
        super().__init__(lr, weight_decay, layout)
        self.betas = check_betas(betas)
        self.eps = check_hyperparameter("eps", eps)

    def compute_step(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        t = self.count_step()
        m = self.moving_average("exp_avg", grads, beta1)
        v = self.moving_average("exp_avg_sq", grads * grads, beta2)
        r = m / (1 - beta1**t) / (np.sqrt(v / (1 - beta2**t)) + self.eps) + self.weight_decay * params
        for _, theta, r_layer in self.per_parameter(params, r):
            weight_norm, step_norm = np.linalg.norm(theta), np.linalg.norm(r_layer)
            trust_ratio = weight_norm / step_norm if weight_norm > 0 and step_norm > 0 else 1.0
            r_layer *= self.lr * trust_ratio
        return r

