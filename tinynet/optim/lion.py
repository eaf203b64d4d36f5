"""Lion: the sign of an interpolated momentum."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_betas
from tinynet.optim.optimizer import Optimizer


class Lion(Optimizer):
    """Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"):

        c_t = β1 m_{t-1} + (1 - β1) g_t
        θ_t = θ_{t-1} - lr sign(c_t)              (decoupled weight decay: θ ← θ (1 - lr λ) first)
        m_t = β2 m_{t-1} + (1 - β2) g_t

    Every coordinate moves by exactly lr, so lr is typically 3-10x smaller than Adam's.
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = True,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.betas = check_betas(betas)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        m = self.state_like("exp_avg", grads)
        update = np.sign(beta1 * m + (1 - beta1) * grads)
        self.moving_average("exp_avg", grads, beta2)
        return self.lr * update
