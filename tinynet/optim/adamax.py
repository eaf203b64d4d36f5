"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_betas, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7), with PyTorch's semantics:

    m_t = β1 m_{t-1} + (1 - β1) g_t
    u_t = max(β2 u_{t-1}, |g_t| + ε)
    θ_t = θ_{t-1} - lr / (1 - β1^t) · m_t / u_t
    """

    def __init__(
        self,
        lr: Hyperparameter = 2e-3,
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
        u = self.state_like("exp_inf", grads)
        u *= beta2
        np.maximum(u, np.abs(grads) + self.eps, out=u)
        return self.lr / (1 - beta1**t) * m / u
