"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from tinynet.optim.optimizer import Optimizer, check_hyperparameter


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's semantics):

        v_1 = g_1,   v_t = μ v_{t-1} + (1 - τ) g_t        (only when momentum μ > 0)
        d_t = g_t + μ v_t  (nesterov)   or   v_t   (plain momentum)   or   g_t   (μ = 0)
        θ_t = θ_{t-1} - lr d_t

    τ is the dampening. The exponential moving average v = μ v + (1 - μ) g is
    SGD(momentum=μ, dampening=μ).
    """

    blockwise = True

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        check_hyperparameter("momentum", momentum)
        check_hyperparameter("dampening", dampening)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("nesterov=True needs a momentum > 0 and zero dampening")
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        step = self.workspace(grads)
        if not self.momentum:
            return np.multiply(grads, self.lr, out=step)
        velocity = self.buffer("momentum_buffer")
        if self.step_count == 1:
            velocity[...] = grads
        else:
            velocity *= self.momentum
            velocity += np.multiply(grads, 1 - self.dampening, out=step) if self.dampening else grads
        if not self.nesterov:
            return np.multiply(velocity, self.lr, out=step)
        np.multiply(velocity, self.momentum, out=step)
        step += grads
        step *= self.lr
        return step


class SGDm(SGD):
    """SGD with momentum 0.9 by default: the momentum variant under its original name."""

    def __init__(
        self,
        lr: float = 1e-3,
        momentum: float = 0.9,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, momentum, dampening, nesterov, weight_decay)
