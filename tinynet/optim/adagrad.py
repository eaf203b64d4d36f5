"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with PyTorch's semantics:

    s_t = s_{t-1} + g_t²                           (s_0 = initial_accumulator_value)
    θ_t = θ_{t-1} - lr / (1 + (t - 1) lr_decay) · g_t / (√s_t + ε)
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: Hyperparameter = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.lr_decay = check_hyperparameter("lr_decay", lr_decay)
        self.initial_accumulator_value = check_hyperparameter("initial_accumulator_value", initial_accumulator_value)
        self.eps = check_hyperparameter("eps", eps)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        t = self.count_step()
        square_sum = self.state_like("sum", grads, self.initial_accumulator_value)
        square_sum += grads * grads
        decayed_lr = self.lr / (1 + (t - 1) * self.lr_decay)
        return decayed_lr * grads / (np.sqrt(square_sum) + self.eps)
