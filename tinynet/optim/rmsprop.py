"""RMSProp: divide by a running root mean square of the gradients."""

from __future__ import annotations

import numpy as np

from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.optimizer import Optimizer


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012), with PyTorch's semantics (torch.optim.RMSprop):

    s_t = α s_{t-1} + (1 - α) g_t²
    m_t = α m_{t-1} + (1 - α) g_t ,   σ_t = √(s_t - m_t²) + ε     (centered)
                                      σ_t = √s_t + ε              (otherwise)
    b_t = μ b_{t-1} + g_t / σ_t ,     θ_t = θ_{t-1} - lr b_t       (momentum μ > 0)
                                      θ_t = θ_{t-1} - lr g_t / σ_t (otherwise)
    """

    def __init__(
        self,
        lr: Hyperparameter = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: Hyperparameter = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(lr, weight_decay, decoupled_weight_decay)
        self.alpha = check_hyperparameter("alpha", alpha, 0.0, 1.0)
        self.eps = check_hyperparameter("eps", eps)
        self.momentum = check_hyperparameter("momentum", momentum)
        self.centered = centered

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        square_avg = self.moving_average("square_avg", grads * grads, self.alpha)
        if self.centered:
            grad_avg = self.moving_average("grad_avg", grads, self.alpha)
            sigma = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            sigma = np.sqrt(square_avg) + self.eps
        if not self.momentum:
            return self.lr * grads / sigma
        velocity = self.state_like("momentum_buffer", grads)
        velocity *= self.momentum
        velocity += grads / sigma
        return self.lr * velocity
