"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), with PyTorch's semantics:

    s_t = ρ s_{t-1} + (1 - ρ) g_t²
    Δ_t = √(u_{t-1} + ε) / √(s_t + ε) · g_t
    u_t = ρ u_{t-1} + (1 - ρ) Δ_t²
    θ_t = θ_{t-1} - lr Δ_t
    """

    def __init__(
        self,
        lr: Hyperparameter = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.rho = check_hyperparameter("rho", rho, 0.0, 1.0)
        self.eps = check_hyperparameter("eps", eps)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        square_avg = self.moving_average("square_avg", grads * grads, self.rho)
        delta = np.sqrt(self.state_like("acc_delta", grads) + self.eps) / np.sqrt(square_avg + self.eps) * grads
        self.moving_average("acc_delta", delta * delta, self.rho)
        return self.lr * delta
