"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

import numpy as np

from tinynet.optim.optimizer import Optimizer, check_betas, check_hyperparameter


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7), with PyTorch's semantics:

    m_t = β1 m_{t-1} + (1 - β1) g_t
    u_t = max(β2 u_{t-1}, |g_t| + ε)
    θ_t = θ_{t-1} - lr / (1 - β1^t) · m_t / u_t
    """

    blockwise = True

    def __init__(
        self, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        check_betas(betas)
        check_hyperparameter("eps", eps)
        self.betas, self.eps = tuple(betas), eps

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        m, u = self.moving_average("exp_avg", grads, beta1), self.buffer("exp_inf")
        step = self.workspace(grads)
        u *= beta2
        np.maximum(u, np.abs(grads, out=step) + self.eps, out=u)
        np.divide(m, u, out=step)
        step *= self.lr / (1 - beta1**self.step_count)
        return step
