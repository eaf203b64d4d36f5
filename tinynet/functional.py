"""Functional forms of layers and losses: F.linear, F.relu, F.softmax, F.cross_entropy, ...

Most are compositions of Tensor ops, so their gradients come for free. A few are fused into
one `Function` with a hand-written backward, because the fused form is faster or numerically
safer: `linear`, `embedding`, `layer_norm`, `cross_entropy`, `binary_cross_entropy`,
`binary_cross_entropy_with_logits` and `gelu`.
Convolution and pooling live in tinynet.convolution, one_hot, pad, normalize and group_norm in
tinynet.functional_tools, scaled_dot_product_attention in tinynet.attention; they are re-exported here.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.attention import scaled_dot_product_attention  # noqa: F401
from tinynet.convolution import (  # noqa: F401
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d,
)
from tinynet.function import Context, Function
from tinynet.functional_tools import group_norm, normalize, one_hot, pad  # noqa: F401
from tinynet.random import default_generator
from tinynet.speedups import select
from tinynet.tensor import Tensor, _exp, _log, as_tensor, where
from tinynet.torch_names import accepts_torch_names

REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------- layers


class LinearFunction(Function):
    """y = x W^T + b, with dx = dy W, dW = dy^T x, db = sum of dy over the batch.

    An input of more than two dimensions (..., in_features) is multiplied as one matrix of
    rows: numpy would otherwise make one small product per leading index."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x, weight, bias=None):
        ctx.save_for_backward(x, weight)
        out = (x.reshape(-1, x.shape[-1]) @ weight.T).reshape(*x.shape[:-1], len(weight))
        if bias is not None:
            out += bias
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        x, weight = ctx.saved
        grad_2d = grad.reshape(-1, grad.shape[-1])
        grad_x = (grad_2d @ weight).reshape(x.shape) if ctx.needs_grad[0] else None
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
    return LinearFunction.apply(x, weight) if bias is None else LinearFunction.apply(x, weight, bias)


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
        mean, centered, var = _moments(x, axes)
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


def _moments(x: Tensor, axes: tuple[int, ...]) -> tuple[Tensor, Tensor, Tensor]:
    """The mean of x over `axes`, x minus that mean, and the biased variance over `axes`
    (the reduced axes kept, of size 1)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    return mean, centered, (centered * centered).mean(axis=axes, keepdims=True)


def layer_norm(
    x: Tensor | np.ndarray,
    normalized_shape: int | tuple[int, ...],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each sample over its last len(normalized_shape) axes, then scale and shift
    elementwise (weight and bias have shape normalized_shape):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    with the mean and the biased var over those axes. No statistic crosses the batch, so
    training and evaluation compute the same thing."""
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.ndim < len(shape) or x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(
            f"layer_norm: the input's trailing shape must be normalized_shape {shape}, got input shape {x.shape}"
        )
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and param.shape != shape:
            raise ValueError(f"layer_norm: {name} must have shape normalized_shape {shape}, got {param.shape}")
    return LayerNormFunction.apply(x, weight, bias, axes=tuple(range(x.ndim - len(shape), x.ndim)), eps=eps)


class LayerNormFunction(Function):
    """y = x̂ w + b, x̂ = (x - mean) / σ, σ = √(var + eps), the mean and the biased var over `axes`
    (the last ones); with ĝ = g w (or g without a weight), n the number of elements in `axes`:

        dx = (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) / σ        (the means over `axes`)
        dw = Σ g x̂,   db = Σ g                    (the sums over the other axes)

    (x̂ has mean 0 and mean square 1 over `axes`, which takes away those two directions of ĝ.)
    The forward pass keeps x̂ and 1/σ for the backward pass; a recorded backward computes them
    again from the Tensor x."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x, weight=None, bias=None, axes=(-1,), eps=1e-5):
        ctx.save_for_backward(x, weight)
        ctx.axes, ctx.eps = axes, eps
        ctx.normalized, ctx.inv_std = _normalized(x, axes, eps)
        out = ctx.normalized if weight is None else ctx.normalized * weight
        return out if bias is None else out + bias

    @staticmethod
    def backward(ctx: Context, grad):
        x, weight = ctx.saved
        axes = ctx.axes
        recorded = not isinstance(x, np.ndarray)
        normalized, inv_std = _normalized(x, axes, ctx.eps) if recorded else (ctx.normalized, ctx.inv_std)
        g = grad if weight is None else grad * weight
        mean_g = g.mean(axis=axes, keepdims=True)
        mean_gx = (g * normalized).mean(axis=axes, keepdims=True)
        grad_x = (g - mean_g - normalized * mean_gx) * inv_std if ctx.needs_grad[0] else None
        batch = tuple(range(x.ndim - len(axes)))
        grad_weight = (grad * normalized).sum(axis=batch) if ctx.needs_grad[1] else None
        grad_bias = grad.sum(axis=batch) if ctx.needs_grad[2] else None
        return grad_x, grad_weight, grad_bias


def _normalized(x: np.ndarray | Tensor, axes: tuple[int, ...], eps: float) -> tuple:
    """(x - mean) / σ and 1/σ over `axes`, σ = √(biased var + eps), of an array or (as ops) a Tensor."""
    centered = x - x.mean(axis=axes, keepdims=True)
    inv_std = ((centered * centered).mean(axis=axes, keepdims=True) + eps) ** -0.5
    return centered * inv_std, inv_std


class EmbeddingFunction(Function):
    """out = weight[indices]. The gradient of each output row is added onto the weight row it
    came from (a row picked several times gets the sum), except the padding_idx row: none."""

    @staticmethod
    def forward(ctx: Context, weight, indices=None, padding_idx=None):
        ctx.indices, ctx.padding_idx, ctx.shape = indices, padding_idx, weight.shape
        return weight[indices]

    @staticmethod
    def backward(ctx: Context, grad):
        grad_weight = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(grad_weight, ctx.indices.reshape(-1), grad.reshape(-1, ctx.shape[1]))
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return grad_weight


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    """padding_idx as a row number; a negative one counts from the end (as PyTorch)."""
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"padding_idx must be in [-{num_embeddings}, {num_embeddings}) for {num_embeddings} embeddings, "
            f"got {padding_idx}"
        )
    return padding_idx % num_embeddings


def embedding(input: Tensor | np.ndarray, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of weight (num_embeddings, embedding_dim) that integer indices of any shape pick:
    an output of shape input.shape + (embedding_dim,). The padding_idx row (negative: counted
    from the end) gets no gradient."""
    indices = np.asarray(input.data if isinstance(input, Tensor) else input)
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {indices.dtype}")
    count = len(weight)
    if indices.size and (indices.min() < 0 or indices.max() >= count):
        bad = indices[(indices < 0) | (indices >= count)][0]
        raise IndexError(
            f"embedding: index {bad} is out of range for num_embeddings {count} (indices must be in [0, {count - 1}])"
        )
    return EmbeddingFunction.apply(weight, indices=indices, padding_idx=_padding_index(padding_idx, count))


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


def leaky_relu(x: Tensor | np.ndarray, negative_slope: float | Tensor = 0.01) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere: x times a slope, 1 or negative_slope by the
    sign of x, which is also the gradient (negative_slope at 0, as in PyTorch). A Tensor slope
    (a learned one) gets its gradient too."""
    x = as_tensor(x)
    if isinstance(negative_slope, Tensor) or x.dtype.kind != "f":  # integers become floats, as x * slope does
        return where(x.data > 0, x, x * negative_slope)
    if isinstance(negative_slope, (bool, np.bool_)) or not isinstance(negative_slope, (int, float, np.number)):
        raise TypeError(f"leaky_relu: negative_slope must be a number or a Tensor, got {negative_slope!r}")
    slope = select(x.data > 0, np.ones((), x.dtype), np.asarray(negative_slope, x.dtype))
    return x * slope


_erf = np.frompyfunc(math.erf, 1, 1)


class GELUFunction(Function):
    """gelu(x) = x Φ(x), Φ the standard normal CDF = (1 + erf(x / √2)) / 2;
    gelu'(x) = Φ(x) + x φ(x), φ(x) = exp(-x²/2) / √(2π).
    With approximate='tanh': Φ(x) ≈ (1 + tanh(u(x))) / 2, u(x) = √(2/π) (x + 0.044715 x³), whose
    derivative is (1 - tanh²(u)) u'(x) / 2 = 2 Φ(x) (1 - Φ(x)) u'(x).
    The forward pass keeps Φ(x) for the backward pass, which then needs no erf or tanh."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x, approximate="none"):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        ctx.cdf = _gelu_cdf(x, approximate)
        return x * ctx.cdf

    @staticmethod
    def backward(ctx: Context, grad):
        (x,) = ctx.saved
        cdf = ctx.cdf if isinstance(x, np.ndarray) else _gelu_cdf(x, ctx.approximate)  # recorded: Φ of the Tensor x
        if ctx.approximate == "tanh":
            d_cdf = 2 * cdf * (1 - cdf) * _tanh_inner_slope(x)
        else:
            d_cdf = _normal_pdf(x)
        return grad * (cdf + x * d_cdf)


def _gelu_cdf(x: np.ndarray | Tensor, approximate: str) -> np.ndarray | Tensor:
    """Φ(x), or its tanh approximation, of an array or (as ops) a Tensor."""
    return 0.5 * (1 + _tanh(_tanh_inner(x))) if approximate == "tanh" else _normal_cdf(x)


def _tanh(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    return x.tanh() if isinstance(x, Tensor) else np.tanh(x)


def _tanh_inner(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """√(2/π) (x + 0.044715 x³): what GELU's tanh approximation takes the tanh of. The cube is
    x·x·x, as in PyTorch's kernel: numpy's x**3 of a negative x is many times slower (docs/performance.md)."""
    return math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x))


def _tanh_inner_slope(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """The derivative of _tanh_inner: √(2/π) (1 + 3 · 0.044715 x²)."""
    return math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)


def _normal_cdf(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """Φ(x) = (1 + erf(x / √2)) / 2, the standard normal CDF, of an array or (as an op) a Tensor."""
    if isinstance(x, Tensor):
        return NormalCDFFunction.apply(x)
    return 0.5 * (1 + _erf(x / math.sqrt(2)).astype(x.dtype))


def _normal_pdf(x: np.ndarray | Tensor) -> np.ndarray | Tensor:
    """φ(x) = e^(-x²/2) / √(2π), the standard normal density, of an array or a Tensor."""
    return _exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


class NormalCDFFunction(Function):
    """Φ(x) = (1 + erf(x / √2)) / 2, the standard normal CDF; Φ'(x) = φ(x). GELU's recorded
    backward uses it (numpy has no erf ufunc, so no Tensor operation makes Φ)."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x):
        ctx.save_for_backward(x)
        return _normal_cdf(x)

    @staticmethod
    def backward(ctx: Context, grad):
        (x,) = ctx.saved
        return grad * _normal_pdf(x)


def gelu(x: Tensor | np.ndarray, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit, exact (erf) or with PyTorch's tanh approximation.
    numpy has no vectorized erf, so the exact form calls math.erf per element: fine for small
    layers; on large activations approximate='tanh' is much faster."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELUFunction.apply(x, approximate=approximate)


@accepts_torch_names
def softmax(x: Tensor | np.ndarray, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (PyTorch: `dim`; the last axis by default), computed on
    x - max(x) so exp never overflows."""
    x = as_tensor(x)
    e = (x - x.data.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


@accepts_torch_names
def log_softmax(x: Tensor | np.ndarray, axis: int = -1) -> Tensor:
    """x - log(sum(exp(x))) along `axis` (PyTorch: `dim`; the last axis by default), stable for
    any magnitude of x (Tensor.logsumexp shifts by the max)."""
    x = as_tensor(x)
    return x - x.logsumexp(axis=axis, keepdims=True)


def elu(x: Tensor | np.ndarray, alpha: float = 1.0) -> Tensor:
    """x where x > 0, alpha (e^x - 1) elsewhere; e^x is taken of min(x, 0), so it never overflows."""
    x = as_tensor(x)
    return where(x.data > 0, x, alpha * (x.clip(max=0).exp() - 1))


def silu(x: Tensor | np.ndarray) -> Tensor:
    """x σ(x), σ the sigmoid (also called swish)."""
    x = as_tensor(x)
    return x * x.sigmoid()


def softplus(x: Tensor | np.ndarray, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(βx)) / β, a smooth relu whose gradient is σ(βx); x itself where βx > threshold,
    as in PyTorch. e^(βx) is taken of min(βx, threshold), so it never overflows."""
    x = as_tensor(x)
    scaled = x * beta
    return where(scaled.data > threshold, x, (scaled.clip(max=threshold).exp() + 1).log() / beta)


# ---------------------------------------------------------------- losses


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(name: str, reduction: str, allowed: tuple[str, ...] = REDUCTIONS) -> None:
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


def _check_same_shape(name: str, input: Tensor, target: Tensor) -> None:
    if input.shape != target.shape:
        raise ValueError(f"{name}: input has shape {input.shape} but target has shape {target.shape}; they must match")


def _as_target(target: Tensor | np.ndarray | list) -> Tensor:
    """A target as a Tensor; a list of ints stays integer (Tensor() would make it float)."""
    return target if isinstance(target, Tensor) else Tensor(np.asarray(target))


def _label_shape(input: Tensor) -> tuple[int, ...]:
    """The shape (N, d1, ...) of the class labels for scores of shape (N, C, d1, ...)."""
    return input.shape[:1] + input.shape[2:]


def _one_prediction(loss_fn, scores: Tensor, target: Tensor, reduction: str, **options) -> Tensor:
    """The loss of one prediction without a batch, as PyTorch allows: class scores (C,) with a
    label () or probabilities (C,), computed as a batch of one."""
    is_label = target.ndim == 0 and target.dtype.kind in "iu"
    if not (is_label or (target.shape == scores.shape and target.dtype.kind == "f")):
        raise ValueError(
            f"{loss_fn.__name__}: scores of shape {scores.shape} (one prediction, no batch) take a label of shape () "
            f"or probabilities of shape {scores.shape}, got {target.dtype} of shape {target.shape}"
        )
    loss = loss_fn(scores.reshape(1, -1), target.reshape(1, *target.shape), reduction=reduction, **options)
    return loss.reshape(()) if reduction == "none" else loss


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N * d1 * ..., C): one row of class scores per prediction; (N, C) stays."""
    if x.ndim == 2:
        return x
    return x.transpose(0, *range(2, x.ndim), 1).reshape(-1, x.shape[1])


def _check_class_scores(name: str, what: str, input: Tensor) -> None:
    if input.ndim < 2:
        raise ValueError(
            f"{name}: {what} must have shape (batch, classes), (batch, classes, d1, ...) or (classes,), "
            f"got {input.shape}"
        )


def _class_labels(name: str, what: str, input: Tensor, target: Tensor, ignore_index: int, hint: str = "") -> np.ndarray:
    """The labels in `target`, flattened to match _classes_last(input), once checked: integers, of
    shape (N, d1, ...) for `input` (N, C, d1, ...), each in [0, C) or equal to `ignore_index`."""
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: class labels must be integers, got dtype {target.dtype}{hint}")
    expected, classes = _label_shape(input), input.shape[1]
    if target.shape != expected:
        if target.ndim == input.ndim - 1 == 1:
            raise ValueError(
                f"{name}: batch size mismatch: {what} have {input.shape[0]} rows "
                f"but target has {target.shape[0]} labels"
            )
        raise ValueError(f"{name}: {what} of shape {input.shape} need labels of shape {expected}, got {target.shape}")
    labels = target.data.reshape(-1)
    bad = labels[(labels != ignore_index) & ((labels < 0) | (labels >= classes))]
    if bad.size:
        raise IndexError(
            f"{name}: label {bad[0]} is out of range for {classes} classes "
            f"(labels must be in [0, {classes - 1}], or ignore_index={ignore_index})"
        )
    return labels


class CrossEntropyFunction(Function):
    """Fused, stable softmax cross-entropy for logits z of shape (M, C), one row per prediction.

    log p = z - max z - log sum exp(z - max z). With target distribution q (one-hot labels,
    probabilities, either mixed with the uniform distribution by label smoothing):

        loss_m = -sum_c q_mc log p_mc,     dloss_m/dz_mc = p_mc sum_c' q_mc' - q_mc

    A row labelled `ignore_index` has loss 0 and no gradient; 'mean' divides by the number of
    the other rows (of all rows for probabilities).
    """

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, logits, target, reduction="mean", label_smoothing=0.0, ignore_index=-100):
        rows, classes = logits.shape
        ctx.softmax = _softmax_rows(logits)  # (p, log p), kept for the plain backward pass
        log_p = ctx.softmax[1]
        if target.ndim == 1:  # class labels
            keep = target != ignore_index
            labels = np.where(keep, target, 0)  # any class will do: the row is masked out
            losses = -log_p[np.arange(rows), labels]
            if label_smoothing:
                losses = (1 - label_smoothing) * losses - (label_smoothing / classes) * log_p.sum(axis=1)
            losses = losses * keep
            ctx.count, ctx.q = int(keep.sum()), _one_hot_smoothed(labels, classes, label_smoothing, logits.dtype)
            ctx.keep = keep[:, None]
        else:
            ctx.q = target * (1 - label_smoothing) + label_smoothing / classes if label_smoothing else target
            losses = -(ctx.q * log_p).sum(axis=1)
            ctx.count, ctx.keep = rows, None
        ctx.save_for_backward(logits, target)
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        if reduction == "none":
            return losses
        return losses.sum() / ctx.count if reduction == "mean" else losses.sum()

    @staticmethod
    def backward(ctx: Context, grad):
        logits, target = ctx.saved
        if ctx.reduction == "none":
            scale = grad.reshape(-1, 1)
        else:
            scale = grad / ctx.count if ctx.reduction == "mean" else grad
        p, log_p = ctx.softmax if isinstance(logits, np.ndarray) else _softmax_rows(logits)  # on Tensors: recorded
        if ctx.keep is not None:  # class labels
            return (p - ctx.q) * scale * ctx.keep, None
        q = target * (1 - ctx.label_smoothing) + ctx.label_smoothing / p.shape[1] if ctx.label_smoothing else target
        grad_target = -log_p * (1 - ctx.label_smoothing) * scale if ctx.needs_grad[1] else None
        return (p * q.sum(axis=1, keepdims=True) - q) * scale, grad_target


def _softmax_rows(z: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
    """softmax and log softmax of each row of z, shifted by the row's max so that exp never overflows."""
    shifted = z - (z.data if isinstance(z, Tensor) else z).max(axis=1, keepdims=True)
    exp = _exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    return exp / total, shifted - _log(total)


def _one_hot_smoothed(labels: np.ndarray, classes: int, smoothing: float, dtype) -> np.ndarray:
    """The target distribution of integer labels: one-hot (rows of the identity), mixed with the
    uniform by `smoothing`."""
    identity_rows = np.eye(classes, dtype=dtype)[labels]
    return identity_rows * (1 - smoothing) + smoothing / classes if smoothing else identity_rows


def cross_entropy(
    logits: Tensor | np.ndarray,
    target: Tensor | np.ndarray,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Softmax cross-entropy of logits (N, C) or (N, C, d1, ...) against integer class labels
    (N,) or (N, d1, ...), or against class probabilities of the logits' shape; logits (C,)
    without a batch take one label (a 0-d array or int) or probabilities (C,).

    `label_smoothing` ε mixes the target with the uniform distribution: q = (1 - ε) q + ε / C.
    Labels equal to `ignore_index` add no loss and no gradient, and 'mean' divides by the
    number of the other labels (nan when there are none), as in PyTorch."""
    logits, target = as_tensor(logits), _as_target(target)
    if logits.ndim == 1:
        options = {"label_smoothing": label_smoothing, "ignore_index": ignore_index}
        return _one_prediction(cross_entropy, logits, target, reduction, **options)
    _check_reduction("cross_entropy", reduction)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    _check_class_scores("cross_entropy", "logits", logits)
    if target.ndim == logits.ndim - 1:
        hint = f"; for class probabilities pass a float array of shape {logits.shape}"
        target = _class_labels("cross_entropy", "logits", logits, target, ignore_index, hint)
    elif target.shape == logits.shape and target.dtype.kind == "f":
        target = _classes_last(target)
    else:
        raise ValueError(
            f"cross_entropy: target must be integer labels of shape {_label_shape(logits)} or float probabilities "
            f"of shape {logits.shape}, got {target.dtype} of shape {target.shape}"
        )
    loss = CrossEntropyFunction.apply(
        _classes_last(logits), target, reduction=reduction, label_smoothing=label_smoothing, ignore_index=ignore_index
    )
    return loss.reshape(_label_shape(logits)) if reduction == "none" and logits.ndim > 2 else loss


def nll_loss(
    log_probs: Tensor | np.ndarray, target: Tensor | np.ndarray, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """The negative log-likelihood -log_probs[n, target[n]] of integer class labels: log
    probabilities (N, C) with labels (N,), or (N, C, d1, ...) with labels (N, d1, ...);
    nll_loss(log_softmax(z, dim=1), t) is cross_entropy(z, t). Labels equal to `ignore_index`
    add no loss, and 'mean' divides by the number of the others (nan when there are none), as in PyTorch."""
    log_probs, target = as_tensor(log_probs), _as_target(target)
    if log_probs.ndim == 1:
        return _one_prediction(nll_loss, log_probs, target, reduction, ignore_index=ignore_index)
    _check_reduction("nll_loss", reduction)
    _check_class_scores("nll_loss", "log_probs", log_probs)
    labels = _class_labels("nll_loss", "log_probs", log_probs, target, ignore_index)
    keep = labels != ignore_index
    losses = -(_classes_last(log_probs)[np.arange(labels.size), np.where(keep, labels, 0)] * keep)
    if reduction == "none":
        return losses.reshape(target.shape)
    return losses.sum() / int(keep.sum()) if reduction == "mean" else losses.sum()


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


class BinaryCrossEntropyWithLogitsFunction(Function):
    """loss = -[t log σ(x) + (1 - t) log(1 - σ(x))] = max(x, 0) - x t + log(1 + e^-|x|),
    which never overflows; dloss/dx = σ(x) - t and dloss/dt = -x."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x, t):
        ctx.save_for_backward(x, t)
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Context, grad):
        x, t = ctx.saved
        sigmoid = 0.5 * (1 + _tanh(0.5 * x))
        return grad * (sigmoid - t), (-grad * x if ctx.needs_grad[1] else None)


def binary_cross_entropy_with_logits(
    logits: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean"
) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step; targets in [0, 1]."""
    logits, target = as_tensor(logits), as_tensor(target)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduce(BinaryCrossEntropyWithLogitsFunction.apply(logits, target), reduction)


class BinaryCrossEntropyFunction(Function):
    """loss = -[t log x + (1 - t) log(1 - x)] for probabilities x, each log clamped at -100 as in
    PyTorch, so x = 0 or 1 gives a finite loss. dloss/dx = (x - t) / max(x (1 - x), 1e-12),
    PyTorch's form, finite at 0 and 1; dloss/dt = log(1 - x) - log x, with the clamped logs."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, x, t):
        ctx.save_for_backward(x, t)
        log_x, log_1mx = _clamped_logs(x)
        return -(t * log_x + (1 - t) * log_1mx)

    @staticmethod
    def backward(ctx: Context, grad):
        x, t = ctx.saved
        grad_x = grad * (x - t) / (x * (1 - x)).clip(min=1e-12)
        if not ctx.needs_grad[1]:
            return grad_x, None
        log_x, log_1mx = _clamped_logs(x)
        return grad_x, grad * (log_1mx - log_x)


def _clamped_logs(x: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
    """log x and log(1 - x), each clamped at -100 (so 0 and 1 give finite numbers), as PyTorch's BCE."""
    with np.errstate(divide="ignore"):  # log 0 = -inf, clamped to -100
        log_1mx = (1 - x).log() if isinstance(x, Tensor) else np.log1p(-x)
        return _log(x).clip(min=-100), log_1mx.clip(min=-100)


def binary_cross_entropy(input: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy -[t log x + (1 - t) log(1 - x)] of probabilities x in [0, 1] (a
    sigmoid's output) and targets t in [0, 1], each log clamped at -100 as in PyTorch. From
    logits, binary_cross_entropy_with_logits is faster and more accurate."""
    input, target = as_tensor(input), as_tensor(target)
    _check_reduction("binary_cross_entropy", reduction)
    _check_same_shape("binary_cross_entropy", input, target)
    outside = ~((input.data >= 0) & (input.data <= 1))
    if outside.any():
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1], got {input.data[outside][0]}; "
            "for logits use binary_cross_entropy_with_logits"
        )
    return _reduce(BinaryCrossEntropyFunction.apply(input, target), reduction)


KL_DIV_REDUCTIONS = (*REDUCTIONS, "batchmean")


def kl_div(
    input: Tensor | np.ndarray, target: Tensor | np.ndarray, reduction: str = "mean", log_target: bool = False
) -> Tensor:
    """The pointwise Kullback-Leibler divergence of the distribution q in `target` from the one
    whose log probabilities are `input`: q (log q - input), 0 where q = 0; with log_target=True,
    `target` holds log q and the loss is e^target (target - input).

    'mean' averages over all elements, as in PyTorch; the mathematical KL divergence, summed
    over each sample's distribution and averaged over the batch, is reduction='batchmean'."""
    input, target = as_tensor(input), as_tensor(target)
    _check_reduction("kl_div", reduction, KL_DIV_REDUCTIONS)
    _check_same_shape("kl_div", input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target * (where(target.data != 0, target, 1).log() - input)  # log 1 = 0 where q = 0
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)
