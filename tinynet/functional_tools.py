"""F.one_hot, F.pad, F.normalize and F.group_norm, as PyTorch's (re-exported by tinynet.functional)."""

from __future__ import annotations

import operator

import numpy as np

from tinynet.tensor import Tensor, as_tensor, where
from tinynet.torch_names import accepts_torch_names, normalize_dim

PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}
"""F.pad's modes (PyTorch's names) -> np.pad's."""


def one_hot(tensor: Tensor | np.ndarray, num_classes: int = -1) -> Tensor:
    """Class labels (ints) as one-hot rows: shape tensor.shape + (num_classes,), int64, a 1 at
    each label's position. With num_classes=-1, one more than the largest label."""
    labels = as_tensor(tensor).data
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class labels, got dtype {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"one_hot: class labels must be non-negative, got {labels.min()}")
    if num_classes == -1:
        if not labels.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(labels.max()) + 1
    elif num_classes < 1 or (labels.size and labels.max() >= num_classes):
        raise ValueError(
            f"one_hot: num_classes={num_classes} must be positive and larger than every label "
            f"(the largest is {labels.max() if labels.size else None})"
        )
    return Tensor(np.eye(num_classes, dtype=np.int64)[labels])


def _pad_widths(pad, x: Tensor) -> list[tuple[int, int]]:
    """PyTorch's pad tuple (left, right of the last dim, then of the one before, ...) as np.pad's
    (before, after) per dim, first dim first."""
    try:
        pad = [operator.index(p) for p in pad]
    except TypeError:
        raise TypeError(f"pad: pad must be a tuple of ints, got {pad!r}") from None
    if len(pad) % 2 or len(pad) > 2 * x.ndim:
        raise ValueError(
            f"pad: pad must have an even length of at most 2 x {x.ndim} (the input's dims), got {len(pad)} "
            f"values {tuple(pad)}"
        )
    pairs = [(pad[i], pad[i + 1]) for i in range(0, len(pad), 2)]
    return [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]


def pad(input: Tensor | np.ndarray, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths in constant mode, crop) the last dims of input, as PyTorch's
    F.pad: `pad` is (left, right) of the last dim, then (top, bottom) of the one before, ...
    Modes: "constant" (with `value`, 0 unless given), "reflect" (mirror without the edge),
    "replicate" (repeat the edge), "circular" (wrap around). Differentiable."""
    x = as_tensor(input)
    if mode not in PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(PAD_MODES)}, got {mode!r}")
    widths = _pad_widths(pad, x)
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"pad: value={value} only applies to mode='constant', not {mode!r}")
        return _pad_by_index(x, widths, mode)
    if any(min(w) < 0 for w in widths):  # negative widths crop, as PyTorch's
        x = x[tuple(slice(-min(0, before), n + min(0, after)) for (before, after), n in zip(widths, x.shape))]
        widths = [(max(0, before), max(0, after)) for before, after in widths]
    inside = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
    out = np.pad(x.data, widths, constant_values=0.0 if value is None else value)
    return Tensor._make(out, (x,), lambda g, x, out: (g[inside],), "pad")


def _pad_by_index(x: Tensor, widths: list[tuple[int, int]], mode: str) -> Tensor:
    """Reflect, replicate or circular padding as indexing, one dim at a time: the padded dim
    reads x at np.pad's positions of arange(n), so indexing's backward adds the gradient of
    each copy back to its source."""
    for axis, ((before, after), n) in enumerate(zip(widths, x.shape)):
        if not (before or after):
            continue
        if min(before, after) < 0:
            raise ValueError(f"pad: negative padding {(before, after)} is only supported in mode='constant'")
        limit = n - 1 if mode == "reflect" else n
        if mode != "replicate" and max(before, after) > limit:
            raise ValueError(
                f"pad: {mode} padding of {(before, after)} needs dim {axis} (of size {n}) to be larger than "
                f"{max(before, after) - (mode == 'circular')}, got input shape {x.shape}"
            )
        if n == 0:
            raise ValueError(f"pad: cannot {mode}-pad dim {axis} of size 0 (input shape {x.shape})")
        positions = np.pad(np.arange(n), (before, after), mode=PAD_MODES[mode])
        x = x[(slice(None),) * axis + (positions,)]
    return x


@accepts_torch_names
def normalize(input: Tensor | np.ndarray, p: float = 2.0, axis: int = 1, eps: float = 1e-12) -> Tensor:
    """input divided by its p-norm along `axis` (PyTorch: `dim`), the norm at least `eps`:
    x / max(||x||_p, eps), as PyTorch's F.normalize. A zero vector stays zero, gradient 0."""
    x = as_tensor(input)
    if x.dtype.kind != "f":
        raise TypeError(f"normalize: expected floating-point input, got dtype {x.dtype}")
    if not (isinstance(p, (int, float)) and 0 < p < float("inf")):
        raise ValueError(f"normalize: p must be a positive finite number, got {p!r}")
    axis = normalize_dim("normalize", axis, x.shape)
    powered = (x.abs() ** p).sum(axis=axis, keepdims=True)
    nonzero = powered.data > 0
    safe = where(nonzero, powered, 1.0)  # keeps the p-th root's gradient finite at 0
    norm = where(nonzero, safe ** (1.0 / p), 0.0)
    return x / norm.clip(eps, None)


def group_norm(
    input: Tensor | np.ndarray,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalization: the C channels of input (N, C, ...) split into num_groups groups of
    C / num_groups channels; each group of each sample is shifted to mean 0 and scaled to
    variance 1 (the biased variance, over its channels and positions), then each channel is
    scaled by weight[c] and shifted by bias[c] when these are given."""
    x = as_tensor(input)
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: expected an input (N, C, ...) whose C is divisible by num_groups={num_groups}, "
            f"got shape {x.shape}"
        )
    groups = x.reshape(x.shape[0], num_groups, -1)
    centered = groups - groups.mean(axis=2, keepdims=True)
    variance = (centered * centered).mean(axis=2, keepdims=True)
    out = (centered / (variance + eps).sqrt()).reshape(x.shape)
    channels = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * as_tensor(weight).reshape(channels)
    if bias is not None:
        out = out + as_tensor(bias).reshape(channels)
    return out
