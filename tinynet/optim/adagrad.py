"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

import numpy as np

from tinynet.optim.optimizer import Optimizer, check_hyperparameter


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), with PyTorch's semantics:

    s_t = s_{t-1} + g_t²                           (s_0 = initial_accumulator_value)
    θ_t = θ_{t-1} - lr / (1 + (t - 1) lr_decay) · g_t / (√s_t + ε)
    """

    blockwise = True

    def __init__(
        self,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        super().__init__(lr, weight_decay)
        check_hyperparameter("lr_decay", lr_decay)
        check_hyperparameter("initial_accumulator_value", initial_accumulator_value)
        check_hyperparameter("eps", eps)
        self.lr_decay, self.initial_accumulator_value, self.eps = lr_decay, initial_accumulator_value, eps

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        square_sum = self.buffer("sum", self.initial_accumulator_value)
        step = self.workspace(grads)
        square_sum += np.multiply(grads, grads, out=step)
        np.sqrt(square_sum, out=step)
        step += self.eps
        np.divide(grads, step, out=step)
        step *= self.lr / (1 + (self.step_count - 1) * self.lr_decay)
        return step
