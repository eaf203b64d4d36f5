"""RAdam: Adam whose adaptive step is switched on as the variance estimate becomes reliable."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_betas, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class RAdam(Optimizer):
    """RAdam (Liu et al., 2020), with PyTorch's semantics:

    m_t = β1 m_{t-1} + (1 - β1) g_t,   v_t = β2 v_{t-1} + (1 - β2) g_t²,   m̂_t = m_t / (1 - β1^t)
    ρ_∞ = 2 / (1 - β2) - 1,            ρ_t = ρ_∞ - 2 t β2^t / (1 - β2^t)
    if ρ_t > 5:  r_t = √((ρ_t - 4)(ρ_t - 2) ρ_∞ / ((ρ_∞ - 4)(ρ_∞ - 2) ρ_t))
                 θ_t = θ_{t-1} - lr m̂_t r_t √(1 - β2^t) / (√v_t + ε)
    else:        θ_t = θ_{t-1} - lr m̂_t                      (plain momentum SGD, early on)
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.betas = check_betas(betas)
        self.eps = check_hyperparameter("eps", eps)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        t = self.count_step()
        m = self.moving_average("exp_avg", grads, beta1)
        v = self.moving_average("exp_avg_sq", grads * grads, beta2)
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t <= 5:
            return self.lr * m_hat
        r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return self.lr * m_hat * r * math.sqrt(1 - beta2**t) / (np.sqrt(v) + self.eps)
