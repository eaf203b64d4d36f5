"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_betas, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class NAdam(Optimizer):
    """NAdam (Dozat, 2016), with PyTorch's semantics and momentum schedule:

    μ_t = β1 (1 - 0.96^(t ψ) / 2),   Π_t = μ_1 ⋯ μ_t              (ψ = momentum_decay)
    m_t = β1 m_{t-1} + (1 - β1) g_t,  v_t = β2 v_{t-1} + (1 - β2) g_t²
    σ_t = √(v_t / (1 - β2^t)) + ε
    θ_t = θ_{t-1} - lr [ (1 - μ_t) / (1 - Π_t) · g_t + μ_{t+1} / (1 - Π_t μ_{t+1}) · m_t ] / σ_t
    """

    def __init__(
        self,
        lr: Hyperparameter = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: Hyperparameter = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.betas = check_betas(betas)
        self.eps = check_hyperparameter("eps", eps)
        self.momentum_decay = check_hyperparameter("momentum_decay", momentum_decay)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        t = self.count_step()
        mu = beta1 * (1 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = float(self.state.get("mu_product", 1.0)) * mu
        self.state["mu_product"] = np.array(mu_product)
        m = self.moving_average("exp_avg", grads, beta1)
        v = self.moving_average("exp_avg_sq", grads * grads, beta2)
        sigma = np.sqrt(v / (1 - beta2**t)) + self.eps
        direction = (1 - mu) / (1 - mu_product) * grads + mu_next / (1 - mu_product * mu_next) * m
        return self.lr * direction / sigma
