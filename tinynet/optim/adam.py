"""Adam and AdamW: momentum plus per-coordinate scaling, with bias correction."""

from __future__ import annotations

import math

import numpy as np

from tinynet.optim.optimizer import Hyperparameter, Optimizer, check_betas, check_hyperparameter


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
        m = self.moving_average("exp_avg", grads, beta1)
        v = self.moving_average("exp_avg_sq", grads * grads, beta2)
        if self.amsgrad:
            v_max = self.state_like("max_exp_avg_sq", grads)
            v = np.maximum(v_max, v, out=v_max)
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        return self.lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def compute_step_in_place(self, grads: np.ndarray) -> np.ndarray:
        """The same decrement in the faster order the Adam paper gives (end of its section 2):
        with c = √(1 - β2^t), lr m̂ / (√v̂ + ε) = lr c / (1 - β1^t) · m / (√v + c ε). That is 11
        passes over the parameters instead of 14, in one reused array instead of seven new
        ones: 209 µs against 287 µs on the MNIST MLP's parameters, and against 1,980 µs where
        malloc gives every new array fresh pages (docs/performance.md). It agrees with compute_step
        to rounding (a test checks 1e-12 in float64). `step` uses it unless a subclass
        overrides compute_step."""
        beta1, beta2 = self.betas
        t = self.count_step()
        scratch = self.scratch(grads)
        m = self.state_like("exp_avg", grads)
        m *= beta1
        m += np.multiply(grads, 1 - beta1, out=scratch)
        v = self.state_like("exp_avg_sq", grads)
        v *= beta2
        v += np.multiply(np.multiply(grads, grads, out=scratch), 1 - beta2, out=scratch)
        if self.amsgrad:
            v_max = self.state_like("max_exp_avg_sq", grads)
            v = np.maximum(v_max, v, out=v_max)
        c = math.sqrt(1 - beta2**t)
        step = np.add(np.sqrt(v, out=scratch), c * self.eps, out=scratch)  # the denominator first
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
