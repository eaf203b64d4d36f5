"""Functional forms of layers and losses: F.linear, F.relu, F.softmax, F.cross_entropy, ...

Most are compositions of Tensor ops, so their gradients come for free. A few are fused into
one `Function` with a hand-written backward, because the fused form is faster or numerically
safer: `linear`, `cross_entropy`, `binary_cross_entropy_with_logits` and `gelu`.
Convolution and pooling live in tinynet.convolution and are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.convolution import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d  # noqa: F401
from tinynet.function import Context, Function
from tinynet.random import default_generator
from tinynet.tensor import Tensor, _either_spelling, as_tensor, where

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- layers


class Linear(Function):
    """y = x W^T + b, with dx = dy W, dW = dy^T x, db = sum of dy over the batch."""

    @staticmethod
    def forward(ctx: Context, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        x, weight = ctx.saved
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = grad @ weight if ctx.needs_grad[0] else None
        grad_weight = grad_2d.T @ x.reshape(-1, x.shape[-1]) if ctx.needs_grad[1] else None
        if len(ctx.needs_grad) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, (grad_2d.sum(axis=0) if ctx.needs_grad[2] else None)


def linear(x: Tensor | np.ndarray, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x W^T + b for x of shape (..., in_features) and W of shape (out_features, in_features)."""
    x = as_tensor(x)
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: expected input with {weight.shape[1]} features in its last dimension, got shape {x.shape}"
        )
    return Linear.apply(x, weight) if bias is None else Linear.apply(x, weight, bias)


def dropout(
    x: Tensor | np.ndarray, p: float = 0.5, training: bool = True, generator: np.random.Generator | None = None
) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p),
    so the expected value is unchanged and evaluation needs no rescaling."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    keep = (generator or default_generator()).random(x.shape) >= p
    return x * (keep / (1 - p)).astype(x.dtype)


def batch_norm(
    x: Tensor | np.ndarray,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (axis 1) over the batch and any spatial axes, then scale and shift:

        y = (x - mean) / sqrt(var + eps) * weight + bias

    In training, mean and the biased var come from the batch, and the running statistics are
    updated in place as running = (1 - momentum) * running + momentum * batch_statistic, with
    the unbiased variance (PyTorch's convention). In evaluation the running statistics are used.
    """
    x = as_tensor(x)
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        if running_mean is not None:
            count = x.size // x.shape[1]
            running_mean *= 1 - momentum
            running_mean += momentum * mean.data.reshape(-1)
            running_var *= 1 - momentum
            running_var += momentum * var.data.reshape(-1) * (count / max(count - 1, 1))
    else:
        centered = x - running_mean.reshape(shape)
        var = Tensor(running_var.reshape(shape))
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(shape) + bias.reshape(shape)
    return out


# ---------------------------------------------------------------- activations


def relu(x: Tensor | np.ndarray) -> Tensor:
    """max(x, 0) elementwise."""
    return as_tensor(x).relu()


def sigmoid(x: Tensor | np.ndarray) -> Tensor:
    """1 / (1 + e^-x) elementwise, squashing any number into (0, 1)."""
    return as_tensor(x).sigmoid()


def tanh(x: Tensor | np.ndarray) -> Tensor:
    """The hyperbolic tangent elementwise, squashing any number into (-1, 1)."""
    return as_tensor(x).tanh()


def leaky_relu(x: Tensor | np.ndarray, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere."""
    x = as_tensor(x)
    return where(x.data > 0, x, x * negative_slope)


_erf = np.frompyfunc(math.erf, 1, 1)


class GELU(Function):
    """gelu(x) = x Φ(x), Φ the standard normal CDF = (1 + erf(x / √2)) / 2;
    gelu'(x) = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
    With approximate='tanh': Φ(x) ≈ (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2."""

    @staticmethod
    def forward(ctx: Context, x, approximate="none"):
        if approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
            cdf = 0.5 * (1 + np.tanh(inner))
            ctx.save_for_backward(x, cdf, inner)
        else:
            cdf = 0.5 * (1 + _erf(x / math.sqrt(2)).astype(x.dtype))
            ctx.save_for_backward(x, cdf, None)
        ctx.approximate = approximate
        return x * cdf

    @staticmethod
    def backward(ctx: Context, grad):
        x, cdf, inner = ctx.saved
        if ctx.approximate == "tanh":
            d_inner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            d_cdf = 0.5 * (1 - np.tanh(inner) ** 2) * d_inner
        else:
            d_cdf = np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad * (cdf + x * d_cdf)


def gelu(x: Tensor | np.ndarray, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit, exact (erf) or with PyTorch's tanh approximation.
    numpy has no vectorized erf, so the exact form calls math.erf per element: fine for small
    layers; on large activations approximate='tanh' is much faster."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def softmax(x: Tensor | np.ndarray, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (or numpy's `axis`; the last axis when neither is given),
    computed on x - max(x) so exp never overflows."""
    dim = _either_spelling("softmax", dim=dim, axis=axis, default=-1)
    x = as_tensor(x)
    e = (x - x.data.max(axis=dim, keepdims=True)).exp()
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x: Tensor | np.ndarray, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """x - log(sum(exp(x))) along `dim` (or numpy's `axis`; the last axis when neither is given),
    stable for any magnitude of x."""
    dim = _either_spelling("log_softmax", dim=dim, axis=axis, default=-1)
    x = as_tensor(x)
    shifted = x - x.data.max(axis=dim, keepdims=True)
    return shifted - shifted.exp().sum(axis=dim, keepdims=True).log()


# ---------------------------------------------------------------- losses


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{name}: input has shape {input.shape} but target has shape {target.shape}; they must match")


class CrossEntropy(Function):
    """Fused, stable softmax cross-entropy for logits z of shape (N, C).

    log p = z - max z - log sum exp(z - max z). With target distribution q (one-hot labels,
    probabilities, either mixed with the uniform distribution by label smoothing):

        loss_n = -sum_c q_nc log p_nc,     dloss_n/dz_nc = p_nc sum_c' q_nc' - q_nc
    """

    @staticmethod
    def forward(ctx: Context, logits, target, reduction="mean", label_smoothing=0.0):
        n, classes = logits.shape
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_p = shifted - np.log(total)
        rows = np.arange(n)
        if target.ndim == 1:  # class labels
            losses = -log_p[rows, target]
            if label_smoothing:
                losses = (1 - label_smoothing) * losses - (label_smoothing / classes) * log_p.sum(axis=1)
        else:
            q = target * (1 - label_smoothing) + label_smoothing / classes if label_smoothing else target
            losses = -(q * log_p).sum(axis=1)
        ctx.save_for_backward(exp / total, log_p, target)
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        if reduction == "none":
            return losses
        return losses.sum() / n if reduction == "mean" else losses.sum()

    @staticmethod
    def backward(ctx: Context, grad):
        p, log_p, target = ctx.saved
        n, classes = p.shape
        smoothing = ctx.label_smoothing
        if ctx.reduction == "none":
            scale = grad[:, None]
        else:
            scale = grad / n if ctx.reduction == "mean" else grad
        if target.ndim == 1:
            grad_logits = p.copy()
            grad_logits[np.arange(n), target] -= 1 - smoothing
            if smoothing:
                grad_logits -= smoothing / classes
            return grad_logits * scale, None
        q = target * (1 - smoothing) + smoothing / classes if smoothing else target
        grad_logits = (p * q.sum(axis=1, keepdims=True) - q) * scale
        grad_target = -log_p * (1 - smoothing) * scale if ctx.needs_grad[1] else None
        return grad_logits, grad_target


def cross_entropy(
    logits: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean", label_smoothing: float = 0.0
) -> Tensor:
    """Softmax cross-entropy of logits (N, C) against integer class labels (N,) or class
    probabilities (N, C). `label_smoothing` ε mixes the target with the uniform distribution:
    q = (1 - ε) q + ε / C."""
    logits = as_tensor(logits)
    target = target if isinstance(target, Tensor) else Tensor(np.asarray(target))
    _check_reduction("cross_entropy", reduction)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must have shape (batch, classes), got {logits.shape}")
    n, classes = logits.shape
    if target.ndim == 1:
        if target.dtype.kind not in "iu":
            raise TypeError(
                f"cross_entropy: class labels must be integers, got dtype {target.dtype}; "
                f"for class probabilities pass a float array of shape {logits.shape}"
            )
        if target.shape[0] != n:
            raise ValueError(
                f"cross_entropy: batch size mismatch: logits have {n} rows but target has {target.shape[0]} labels"
            )
        if n and (target.data.min() < 0 or target.data.max() >= classes):
            bad = target.data[(target.data < 0) | (target.data >= classes)][0]
            raise IndexError(
                f"cross_entropy: label {bad} is out of range for {classes} classes "
                f"(labels must be in [0, {classes - 1}])"
            )
    elif target.shape != logits.shape or target.dtype.kind != "f":
        raise ValueError(
            f"cross_entropy: target must be integer labels of shape ({n},) or float probabilities of shape "
            f"{logits.shape}, got {target.dtype} of shape {target.shape}"
        )
    return CrossEntropy.apply(logits, target, reduction=reduction, label_smoothing=label_smoothing)


def mse_loss(input: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean") -> Tensor:
    """(input - target)², averaged (or summed)."""
    input, target = as_tensor(input), as_tensor(target)
    _check_reduction("mse_loss", reduction)
    _check_same_shape("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean") -> Tensor:
    """|input - target|, averaged (or summed)."""
    input, target = as_tensor(input), as_tensor(target)
    _check_reduction("l1_loss", reduction)
    _check_same_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def huber_loss(
    input: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean", delta: float = 1.0
) -> Tensor:
    """d = input - target;  d²/2 where |d| < delta, else delta (|d| - delta/2)."""
    input, target = as_tensor(input), as_tensor(target)
    _check_reduction("huber_loss", reduction)
    _check_same_shape("huber_loss", input, target)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = input - target
    size = diff.abs()
    return _reduce(where(size.data < delta, 0.5 * diff * diff, delta * (size - 0.5 * delta)), reduction)


class BinaryCrossEntropyWithLogits(Function):
    """loss = -[t log σ(x) + (1 - t) log(1 - σ(x))] = max(x, 0) - x t + log(1 + e^-|x|),
    which never overflows; dloss/dx = σ(x) - t and dloss/dt = -x."""

    @staticmethod
    def forward(ctx: Context, x, t):
        ctx.save_for_backward(x, t)
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Context, grad):
        x, t = ctx.saved
        sigmoid = 0.5 * (1 + np.tanh(0.5 * x))
        return grad * (sigmoid - t), (-grad * x if ctx.needs_grad[1] else None)


def binary_cross_entropy_with_logits(
    logits: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean"
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step; targets in [0, 1]."""
    logits, target = as_tensor(logits), as_tensor(target)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduce(BinaryCrossEntropyWithLogits.apply(logits, target), reduction)
