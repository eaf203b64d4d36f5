"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's semantics):

        v_1 = g_1,   v_t = μ v_{t-1} + (1 - τ) g_t        (only when momentum μ > 0)
        d_t = g_t + μ v_t  (nesterov)   or   v_t   (plain momentum)   or   g_t   (μ = 0)
        θ_t = θ_{t-1} - lr d_t

    τ is the dampening. The buffer starts at the first gradient, undamped, as in PyTorch (the
    original design's SGDm, an average from zero, is in docs/optimizers.md).
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.momentum = check_hyperparameter("momentum", momentum)
        self.dampening = check_hyperparameter("dampening", dampening)
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov=True needs a momentum > 0 and zero dampening")
        self.nesterov = nesterov

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        if not self.momentum:
            return self.lr * grads
        first_step = "momentum_buffer" not in self.state
        velocity = self.state_like("momentum_buffer", grads)
        if first_step:
            velocity[...] = grads
        else:
            velocity *= self.momentum
            velocity += (1 - self.dampening) * grads
        direction = grads + self.momentum * velocity if self.nesterov else velocity
        return self.lr * direction


class SGDm(SGD):
    """SGD with momentum 0.9 by default: PyTorch's momentum rule under the original design's name.
    The original SGDm (an average from zero) is `SGD(lr=lr * (1 - μ), momentum=μ)`: see "The
    original five, exactly" in docs/optimizers.md."""

    def __init__(
        self,
        lr: Hyperparameter = 1e-3,
        momentum: float = 0.9,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, momentum, dampening, nesterov, weight_decay, decoupled_weight_decay)
