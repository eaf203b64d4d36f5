"""RMSProp: divide by a running root mean square of the gradients."""

from __future__ import annotations

import numpy as np

from tinynet.optim.optimizer import Optimizer, check_hyperparameter


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012), with PyTorch's semantics (torch.optim.RMSprop):

    s_t = α s_{t-1} + (1 - α) g_t²
    m_t = α m_{t-1} + (1 - α) g_t ,   σ_t = √(s_t - m_t²) + ε     (centered)
                                      σ_t = √s_t + ε              (otherwise)
    b_t = μ b_{t-1} + g_t / σ_t ,     θ_t = θ_{t-1} - lr b_t       (momentum μ > 0)
                                      θ_t = θ_{t-1} - lr g_t / σ_t (otherwise)
    """

    blockwise = True

    def __init__(
        self,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(lr, weight_decay)
        check_hyperparameter("alpha", alpha, 0.0, 1.0)
        check_hyperparameter("eps", eps)
        check_hyperparameter("momentum", momentum)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        step = self.workspace(grads)
        square_avg = self.moving_average("square_avg", np.square(grads, out=step), self.alpha)
        if self.centered:
            grad_avg = self.moving_average("grad_avg", grads, self.alpha)
            np.subtract(square_avg, np.square(grad_avg, out=step), out=step)
            np.sqrt(step, out=step)
        else:
            np.sqrt(square_avg, out=step)
        step += self.eps
        np.divide(grads, step, out=step)
        if self.momentum:
            velocity = self.buffer("momentum_buffer")
            velocity *= self.momentum
            velocity += step
            step[...] = velocity
        step *= self.lr
        return step
