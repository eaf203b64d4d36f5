"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_betas, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), with PyTorch's semantics:

    m_t = β1 m_{t-1} + (1 - β1) g_t                  (first moment: momentum)
    v_t = β2 v_{t-1} + (1 - β2) g_t²                 (second moment: scale)
    v_t = max(v_{t-1}, v_t)                          (with amsgrad: the largest so far)
    m̂_t = m_t / (1 - β1^t),   v̂_t = v_t / (1 - β2^t)    (bias corrections)
    θ_t = θ_{t-1} - lr m̂_t / (√v̂_t + ε)
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: Hyperparameter = 0.0,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.betas = check_betas(betas)
        self.eps = check_hyperparameter("eps", eps)
        self.amsgrad = amsgrad

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        beta1, beta2 = self.betas
        t = self.count_step()
        scratch = self.scratch(grads)
        m = self.state_like("exp_avg", grads)
        m *= beta1
        m += np.multiply(grads, 1 - beta1, out=scratch)  # m = β1 m + (1 - β1) g
        v = self.state_like("exp_avg_sq", grads)
        v *= beta2
        v += np.multiply(np.square(grads, out=scratch), 1 - beta2, out=scratch)  # v = β2 v + (1 - β2) g²
        if self.amsgrad:
            v_max = self.state_like("max_exp_avg_sq", grads)
            v = np.maximum(v_max, v, out=v_max)
        # lr m̂ / (√v̂ + ε), with the bias corrections moved onto numbers (the Adam paper, end of
        # its section 2): = lr (c / (1 - β1^t)) m / (√v + c ε), where c = √(1 - β2^t).
        c = math.sqrt(1 - beta2**t)
        step = np.sqrt(v, out=scratch)
        step += c * self.eps
        np.divide(m, step, out=step)
        step *= self.lr * (c / (1 - beta1**t))
        return step


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): before the Adam step,
    θ ← θ (1 - lr · weight_decay), instead of adding weight_decay · θ to the gradient."""

    def __init__(
        self,
        lr: Hyperparameter = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: Hyperparameter = 1e-2,
        amsgrad: bool = False,
        decoupled_weight_decay: bool = True,
    ):
        super().__init__(lr, betas, eps, weight_decay, amsgrad, decoupled_weight_decay)
