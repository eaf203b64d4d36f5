"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.optimizer import Optimizer, check_betas, check_hyperparameter


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with PyTorch's semantics:

    m_t = β1 m_{t-1} + (1 - β1) g_t                  (first moment: momentum)
    v_t = β2 v_{t-1} + (1 - β2) g_t²                 (second moment: scale)
    v̂_t = max(v̂_{t-1}, v_t) with amsgrad, else v_t
    θ_t = θ_{t-1} - lr / (1 - β1^t) · m_t / (√v̂_t / √(1 - β2^t) + ε)
    """

    blockwise = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ):
        super().__init__(lr, weight_decay)
        check_betas(betas)
        check_hyperparameter("eps", eps)
        self.betas, self.eps, self.amsgrad = tuple(betas), eps, amsgrad

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        t = self.step_count
        m = self.moving_average("exp_avg", grads, beta1)
        step = self.workspace(grads)
        v = self.moving_average("exp_avg_sq", np.square(grads, out=step), beta2)
        if self.amsgrad:
            v_max = self.buffer("max_exp_avg_sq")
            v = np.maximum(v_max, v, out=v_max)
        # m / (√v / c + ε) = c m / (√v + c ε) with c = √(1 - β2^t): one pass fewer
        c = math.sqrt(1 - beta2**t)
        np.sqrt(v, out=step)
        step += c * self.eps
        np.divide(m, step, out=step)
        step *= self.lr * c / (1 - beta1**t)
        return step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): before the Adam step,
    θ ← θ (1 - lr · weight_decay), instead of adding weight_decay · θ to the gradient."""

    decoupled_weight_decay = True

    def __init__(
        self,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad)
