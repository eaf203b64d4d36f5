"""Loss modules: thin wrappers around the functions in tinynet.functional."""

from __future__ import annotations

from tinynet import functional as F
from tinynet.nn.module import Module
from tinynet.tensor import Tensor


class _Loss(Module):
    reductions = F.REDUCTIONS

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        F._check_reduction(type(self).__name__, reduction, self.reductions)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C) or (N, C, d1, ...) against labels (N,) or
    (N, d1, ...), or probabilities of the logits' shape; labels equal to `ignore_index` are skipped."""

    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0, ignore_index: int = -100):
        super().__init__(reduction)
        self.label_smoothing, self.ignore_index = label_smoothing, ignore_index

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.cross_entropy(logits, target, self.reduction, self.label_smoothing, self.ignore_index)


class NLLLoss(_Loss):
    """-log_probs[n, target[n]] for log probabilities (N, C) or (N, C, d1, ...); labels equal
    to `ignore_index` are skipped."""

    def __init__(self, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self.ignore_index = ignore_index

    def forward(self, log_probs: Tensor, target) -> Tensor:
        return F.nll_loss(log_probs, target, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """(input - target)²"""

    def forward(self, input: Tensor, target) -> Tensor:
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """|input - target|"""

    def forward(self, input: Tensor, target) -> Tensor:
        return F.l1_loss(input, target, self.reduction)


class HuberLoss(_Loss):
    """Quadratic below `delta`, linear above."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target) -> Tensor:
        return F.huber_loss(input, target, self.reduction, self.delta)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid and binary cross-entropy in one numerically stable step."""

    def forward(self, logits: Tensor, target) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1], logs clamped at -100 as in PyTorch."""

    def forward(self, input: Tensor, target) -> Tensor:
        return F.binary_cross_entropy(input, target, self.reduction)


class KLDivLoss(_Loss):
    """target (log target - input) for log probabilities `input` (`target` as log probabilities
    too with log_target=True); reduction='batchmean' gives the KL divergence per sample."""

    reductions = F.KL_DIV_REDUCTIONS

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target) -> Tensor:
        return F.kl_div(input, target, self.reduction, self.log_target)
