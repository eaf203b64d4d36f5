"""ASGD: SGD with a decaying step size, and the average of the iterates."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import check_hyperparameter
from tinynet.optim.layerwise import LayerwiseOptimizer


class ASGD(LayerwiseOptimizer):
    """Averaged SGD (Polyak & Juditsky, 1992), with torch.optim.ASGD's semantics:

        g_t = g_t + weight_decay θ_{t-1}
        θ_t = θ_{t-1} - λ η_t θ_{t-1} - η_t g_t                    (η_1 = lr)
        ā_t = ā_{t-1} + μ_t (θ_t - ā_{t-1})                         (state "ax", the average)
        η_{t+1} = lr / (1 + λ lr t)^α,   μ_{t+1} = 1 / max(1, t - t0)   (μ_1 = 1)

    The average ā, in opt.state["ax"], starts at step t0 + 1 (before, it follows θ): it is the
    model to evaluate. λ is `lambd`. It reads the parameters (the λ decay and the average), so
    it is written against LayerwiseOptimizer, on the whole array.
    """

    def __init__(
        self, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        self.lambd = check_hyperparameter("lambd", lambd)
        self.alpha = check_hyperparameter("alpha", alpha)
        self.t0 = check_hyperparameter("t0", t0)

    def compute_step(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        t = self.count_step()
        eta, mu = float(self.state.get("eta", self.lr)), float(self.state.get("mu", 1.0))
        g = grads + self.weight_decay * params
        decrement = self.lambd * eta * params + eta * g
        average = self.state_like("ax", grads)
        average += mu * (params - decrement - average)
        self.state["eta"] = np.array(self.lr / (1 + self.lambd * self.lr * t) ** self.alpha)
        self.state["mu"] = np.array(1 / max(1, t - self.t0))
        return decrement
