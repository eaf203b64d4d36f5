"""Scaled dot-product attention, one op with a hand-written backward.

For queries Q (..., L, E), keys K (..., S, E) and values V (..., S, Ev):

    S = scale · Q Kᵀ + M        the scores (L, S); M is the mask as numbers: 0 where a query may
                                attend to a key, -inf where it may not (a float mask is M itself)
    P = softmax(S)              along the keys, so each row of P sums to 1
    O = P V                     (in training with dropout: P ⊙ keep / (1 - p) in place of P)

Its backward, from G = dO (with dropout, P is the dropped P in the first two lines and dP is
multiplied by keep / (1 - p) before the third):

    dV = Pᵀ G
    dP = G Vᵀ
    dS = P ⊙ (dP - Σ_keys dP ⊙ P)      the softmax's backward, without its (S, S) Jacobian
    dQ = scale · dS K,   dK = scale · dSᵀ Q,   dM = dS

The softmax's backward: ∂P_j/∂S_i = P_j (δ_ij - P_i) in each row, so
dS_i = Σ_j dP_j P_j (δ_ij - P_i) = P_i (dP_i - Σ_j dP_j P_j): one product and one row sum.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.function import Context, Function
from tinynet.random import default_generator
from tinynet.tensor import Tensor, _exp, _mT, _unbroadcast, as_tensor


def attention_weights(q: np.ndarray | Tensor, k: np.ndarray | Tensor, mask, scale: float) -> np.ndarray | Tensor:
    """P = softmax(scale · Q Kᵀ + M) along the keys, of arrays or (recorded, differentiable)
    Tensors; `mask` is None or the additive mask M. A row whose every key is masked (-inf) has
    no key to attend to: its weights are all 0, as in PyTorch's scaled_dot_product_attention
    (not the NaN of exp(-inf - -inf))."""
    scores = (q @ _mT(k)) * scale
    if mask is not None:
        scores = scores + mask
    top = (scores.data if isinstance(scores, Tensor) else scores).max(axis=-1, keepdims=True)
    top[np.isneginf(top)] = 0  # a fully masked row: exp(-inf - 0) = 0
    e = _exp(scores - top)
    total = e.sum(axis=-1, keepdims=True)
    return e / (total + (total == 0))  # a fully masked row: 0 / 1


class ScaledDotProductAttentionFunction(Function):
    """O = softmax(scale · Q Kᵀ + M) V, with dropout on the weights; the backward is in the
    module's docstring. Inputs q, k, v and the additive mask M (None, or an array or Tensor
    that broadcasts to the scores); the gradient of M is dS."""

    twice_differentiable = True

    @staticmethod
    def forward(ctx: Context, q, k, v, mask=None, scale=1.0, dropout_p=0.0):
        ctx.save_for_backward(q, k, v, mask)
        ctx.scale = scale
        ctx.weights = attention_weights(q, k, mask, scale)
        ctx.keep = None
        if dropout_p > 0:
            kept = default_generator().random(ctx.weights.shape) >= dropout_p
            ctx.keep = (kept / (1 - dropout_p)).astype(q.dtype)  # inverted dropout, as F.dropout
        ctx.dropped = ctx.weights if ctx.keep is None else ctx.weights * ctx.keep
        return ctx.dropped @ v

    @staticmethod
    def backward(ctx: Context, grad):
        q, k, v, mask = ctx.saved
        if isinstance(q, np.ndarray):
            weights, dropped = ctx.weights, ctx.dropped
        else:  # a recorded pass: the weights again, as Tensors of q and k (and of the mask)
            weights = attention_weights(q, k, mask, ctx.scale)
            dropped = weights if ctx.keep is None else weights * ctx.keep
        need_q, need_k, need_v, need_mask = ctx.needs_grad
        grad_v = _unbroadcast(_mT(dropped) @ grad, v.shape) if need_v else None
        if not (need_q or need_k or need_mask):
            return None, None, grad_v, None
        grad_weights = grad @ _mT(v)
        if ctx.keep is not None:
            grad_weights = grad_weights * ctx.keep
        grad_scores = weights * (grad_weights - (grad_weights * weights).sum(axis=-1, keepdims=True))
        grad_q = _unbroadcast(grad_scores @ k, q.shape) * ctx.scale if need_q else None
        grad_k = _unbroadcast(_mT(grad_scores) @ q, k.shape) * ctx.scale if need_k else None
        grad_mask = _unbroadcast(grad_scores, mask.shape) if need_mask else None
        return grad_q, grad_k, grad_v, grad_mask


def scaled_dot_product_attention(
    query: Tensor | np.ndarray,
    key: Tensor | np.ndarray,
    value: Tensor | np.ndarray,
    attn_mask: Tensor | np.ndarray | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(scale · Q Kᵀ + M) V, as PyTorch's F.scaled_dot_product_attention: query (..., L, E),
    key (..., S, E), value (..., S, Ev) give (..., L, Ev); the leading axes broadcast (batch,
    heads, ...). `scale` defaults to 1/√E.

    attn_mask broadcasts to the scores' shape (..., L, S): a bool mask keeps where True (a query
    attends to the keys marked True), a float mask of the query's dtype is added to the scores
    (-inf masks; a Tensor that requires grad gets its gradient). is_causal=True masks the keys
    after each query (the upper triangle above the diagonal of (L, S), aligned top left as in
    PyTorch); it cannot be combined with attn_mask.

    dropout_p > 0 zeros each attention weight with probability dropout_p and scales the rest by
    1/(1 - dropout_p), drawing from tinynet's generator (`tn.manual_seed`) as F.dropout does. As
    in PyTorch, the function itself knows no training mode: pass dropout_p=0.0 in evaluation
    (nn.MultiheadAttention does so).

    A query whose every key is masked has nothing to attend to: its weights are all 0, so its
    output is 0 and it sends no gradient back, as PyTorch 2.13's does on the CPU (rather than
    the NaN of a plain softmax over -inf).

    enable_gqa=True (grouped-query attention) lets key and value have fewer heads (axis -3) than
    query, a number that divides query's: query head h uses key and value head h // (the ratio),
    as PyTorch's repeat_interleave does; their gradients add up over the heads that share them.

    One op: `ScaledDotProductAttentionFunction`, whose backward is the softmax's in its
    efficient form (tinynet/attention.py); gradients of gradients pass through it."""
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if enable_gqa:
        k, v = _shared_heads(q, k, "key"), _shared_heads(q, v, "value")
    _check_inputs(q, k, v)
    scores_shape = (*np.broadcast_shapes(q.shape[:-2], k.shape[:-2]), q.shape[-2], k.shape[-2])
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal=True, not both")
    if is_causal:
        attn_mask = np.tri(q.shape[-2], k.shape[-2], dtype=bool)
    mask = None if attn_mask is None else _additive_mask(attn_mask, q.dtype, scores_shape)
    if not _is_number(dropout_p) or not 0 <= dropout_p < 1:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be a number in [0, 1), got {dropout_p!r}")
    if scale is None:
        scale = 1 / math.sqrt(q.shape[-1])
    elif not _is_number(scale):
        raise TypeError(f"scaled_dot_product_attention: scale must be a number or None, got {scale!r}")
    return ScaledDotProductAttentionFunction.apply(q, k, v, mask, scale=float(scale), dropout_p=float(dropout_p))


def _shared_heads(q: Tensor, x: Tensor, name: str) -> Tensor:
    """key or value (..., heads, S, E) with each head repeated for the query heads that share it
    (grouped-query attention): (..., query heads, S, E), as torch's repeat_interleave on axis -3."""
    if q.ndim < 3 or x.ndim < 3 or q.shape[-3] % x.shape[-3]:
        raise ValueError(
            f"scaled_dot_product_attention: with enable_gqa, {name} needs a number of heads (axis -3) that "
            f"divides query's, got query {q.shape} and {name} {x.shape}"
        )
    heads, group = x.shape[-3], q.shape[-3] // x.shape[-3]
    shared = x.reshape(*x.shape[:-3], heads, 1, *x.shape[-2:]).broadcast_to(*x.shape[:-3], heads, group, *x.shape[-2:])
    return shared.reshape(*x.shape[:-3], heads * group, *x.shape[-2:])


def _is_number(x) -> bool:
    """Whether x is a real number (Python's or numpy's), not a bool."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _check_inputs(q: Tensor, k: Tensor, v: Tensor) -> None:
    """Raise a named error unless q (..., L, E), k (..., S, E) and v (..., S, Ev) fit together."""
    shapes = f"query {q.shape}, key {k.shape}, value {v.shape}"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            f"scaled_dot_product_attention: query, key and value need at least 2 dimensions "
            f"((..., L, E), (..., S, E), (..., S, Ev)), got {shapes}"
        )
    if q.dtype.kind != "f" or q.dtype != k.dtype or q.dtype != v.dtype:
        raise TypeError(
            f"scaled_dot_product_attention: query, key and value must have the same floating dtype, got "
            f"{q.dtype}, {k.dtype} and {v.dtype}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query and key need the same last dimension E, key and value the "
            f"same number of keys S (query (..., L, E), key (..., S, E), value (..., S, Ev)), got {shapes}"
        )
    try:
        np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(
            f"scaled_dot_product_attention: the leading (batch) dimensions of query, key and value do not "
            f"broadcast together: {shapes}"
        ) from None


def _additive_mask(attn_mask, dtype: np.dtype, scores_shape: tuple[int, ...]) -> Tensor | np.ndarray:
    """M, the mask as numbers added to the scores: a bool mask as 0 where True and -inf where
    False; a float mask as it is (a Tensor stays one, so it can get a gradient)."""
    mask = attn_mask if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
    if mask.dtype != bool and mask.dtype != dtype:
        raise TypeError(
            f"scaled_dot_product_attention: attn_mask must be bool (True: attend) or float of the query's "
            f"dtype {dtype} (added to the scores), got dtype {mask.dtype}"
        )
    if mask.ndim < 2:
        raise ValueError(
            f"scaled_dot_product_attention: attn_mask needs at least 2 dimensions (L, S), as in PyTorch, got shape "
            f"{mask.shape}; a mask of keys is (1, S)"
        )
    try:
        fits = np.broadcast_shapes(mask.shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"scaled_dot_product_attention: attn_mask of shape {mask.shape} does not broadcast to the "
            f"attention scores' shape {scores_shape} (..., L queries, S keys)"
        )
    if mask.dtype != bool:
        return mask
    bool_mask = mask.data if isinstance(mask, Tensor) else mask
    return np.where(bool_mask, np.zeros((), dtype), np.array(-np.inf, dtype))
