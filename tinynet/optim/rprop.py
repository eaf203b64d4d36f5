"""Rprop: a step size per coordinate, grown while the gradient keeps its sign."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class Rprop(Optimizer):
    """Rprop (Riedmiller & Braun, 1993), with torch.optim.Rprop's semantics:

        η_t = η+ where g_t g_{t-1} > 0,   η- where g_t g_{t-1} < 0,   1 elsewhere
        s_t = clip(η_t s_{t-1}, step_min, step_max)          (s_0 = lr)
        g_t = 0 where g_t g_{t-1} < 0                         (and g_t is the next step's g_{t-1})
        θ_t = θ_{t-1} - s_t sign(g_t)

    Only the sign of the gradient is used, so it suits full-batch training; `etas` = (η-, η+),
    `step_sizes` = (step_min, step_max).
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50.0),
        weight_decay: Hyperparameter = 0.0,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        if not isinstance(etas, (tuple, list)) or len(etas) != 2 or not 0 < etas[0] < 1 < etas[1]:
            raise ValueError(f"invalid etas: {etas!r}; it must be a pair (η-, η+) with 0 < η- < 1 < η+")
        self.etas = tuple(check_hyperparameter("etas", eta) for eta in etas)
        if not isinstance(step_sizes, (tuple, list)) or len(step_sizes) != 2 or not 0 <= step_sizes[0] <= step_sizes[1]:
            raise ValueError(f"invalid step_sizes: {step_sizes!r}; it must be a pair (min, max) with 0 <= min <= max")
        self.step_sizes = tuple(check_hyperparameter("step_sizes", size) for size in step_sizes)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        eta_minus, eta_plus = self.etas
        previous = self.state_like("prev", grads)
        step_size = self.state_like("step_size", grads, self.lr)
        agreement = grads * previous
        step_size *= np.where(agreement > 0, eta_plus, np.where(agreement < 0, eta_minus, 1.0))
        np.clip(step_size, *self.step_sizes, out=step_size)
        previous[...] = np.where(agreement < 0, 0.0, grads)
        return step_size * np.sign(previous)
