"""MultiheadAttention: PyTorch's layer, with its parameter names, layout and masks."""

from __future__ import annotations

import math

import numpy as np

from tinynet import functional as F
from tinynet.attention import attention_weights
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.linear import Linear
from tinynet.nn.module import Module, check_size
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


class MultiheadAttention(Module):
    """Multi-head attention, as PyTorch's nn.MultiheadAttention:

        head_i = softmax(Q_i K_iᵀ / √d + M) V_i,   Q_i = query W_q,iᵀ + b_q,i  (K_i, V_i alike)
        out    = concat(head_1, ..., head_h) W_oᵀ + b_o

    with d = embed_dim / num_heads: one projection of embed_dim outputs, split into num_heads
    heads of d, attention in each head at once (F.scaled_dot_product_attention on (N, h, L, d)),
    and the heads joined again before `out_proj`.

    Parameters as PyTorch's, so its state dict loads unchanged: `in_proj_weight` (3 embed_dim,
    embed_dim), W_q, W_k and W_v stacked, or, when kdim or vdim differ from embed_dim,
    `q_proj_weight` (embed_dim, embed_dim), `k_proj_weight` (embed_dim, kdim) and
    `v_proj_weight` (embed_dim, vdim); `in_proj_bias` (3 embed_dim) and `out_proj`, a Linear
    (`out_proj.weight`, `out_proj.bias`), the biases only with bias=True. Initialized as
    PyTorch's: the input projections Xavier-uniform, both biases 0, out_proj.weight as a Linear.
    add_bias_kv and add_zero_attn are not supported: True raises a NotImplementedError.

    `dropout` drops attention weights in training mode (`model.train()`), none in evaluation."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
    ):
        super().__init__()
        self.embed_dim = check_size("MultiheadAttention", "embed_dim", embed_dim)
        self.num_heads = check_size("MultiheadAttention", "num_heads", num_heads)
        if num_heads == 0 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}), "
                "each head taking embed_dim / num_heads of the features"
            )
        for name, flag in (("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn)):
            if flag:
                raise NotImplementedError(f"MultiheadAttention: {name}=True is not supported by tinynet")
        if not 0 <= dropout < 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1), got {dropout}")
        self.kdim = embed_dim if kdim is None else check_size("MultiheadAttention", "kdim", kdim)
        self.vdim = embed_dim if vdim is None else check_size("MultiheadAttention", "vdim", vdim)
        self.dropout, self.batch_first, self.head_dim = dropout, batch_first, embed_dim // num_heads
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        dtype = get_default_dtype()
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dtype))
        self.in_proj_bias = Parameter(np.empty(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weights anew, as PyTorch initializes this layer: Xavier-uniform input
        projections, out_proj.weight as a Linear's, both biases 0."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        self.out_proj.reset_parameters()
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def projection_weights(self) -> tuple[Tensor, Tensor, Tensor]:
        """W_q, W_k and W_v: the three blocks of in_proj_weight, or the three separate weights."""
        if not self._qkv_same_embed_dim:
            return self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        e = self.embed_dim
        return self.in_proj_weight[:e], self.in_proj_weight[e : 2 * e], self.in_proj_weight[2 * e :]

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | np.ndarray | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | np.ndarray | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(output, weights) for query (L, N, E), key (S, N, kdim) and value (S, N, vdim) (with
        batch_first, (N, L, E), (N, S, kdim), (N, S, vdim); unbatched, (L, E), (S, kdim), (S, vdim)):
        output like query, weights (N, L, S) averaged over the heads, or (N, num_heads, L, S)
        with average_attn_weights=False (unbatched: no N); weights None with need_weights=False.

        Masks as PyTorch's, the opposite of F.scaled_dot_product_attention's for bool: a bool
        True marks what may NOT be attended to; a float mask (of the query's dtype) is added to
        the scores. key_padding_mask (N, S) (unbatched (S,)) masks keys, e.g. padding;
        attn_mask (L, S) or (N·num_heads, L, S) (unbatched (num_heads, L, S)) masks per query.
        is_causal, as in PyTorch, is a hint that attn_mask is the causal mask: it needs attn_mask
        and changes nothing else.

        A query that every mask together leaves with no key to attend to gets weights 0, so its
        output is out_proj.bias and it sends no gradient back. PyTorch gives the same with
        need_weights=False (its scaled_dot_product_attention) but NaN with need_weights=True
        (a plain softmax over -inf): tinynet gives 0 both ways, because NaN would spread to every
        gradient, and such rows are usually padding (a left-padded causal batch) that the loss
        ignores. Check the masks yourself when a sample of only padding is a mistake."""
        batched = self._check_inputs(query, key, value)
        if is_causal and attn_mask is None:
            raise ValueError(
                "MultiheadAttention: is_causal=True is a hint that attn_mask is the causal mask, as in PyTorch: "
                "pass the mask too (nn.Transformer.generate_square_subsequent_mask(L))"
            )
        q, k, v = (self._batch_first(x, batched) for x in (query, key, value))
        (n, length, _), keys = q.shape, k.shape[1]
        mask = self._additive_mask(key_padding_mask, attn_mask, n, length, keys, batched, q.dtype)
        w_q, w_k, w_v = self.projection_weights()
        b_q, b_k, b_v = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        q, k, v = (self._heads(F.linear(x, w, b)) for x, w, b in ((q, w_q, b_q), (k, w_k, b_k), (v, w_v, b_v)))
        dropout = self.dropout if self.training else 0.0
        if need_weights:  # the weights themselves, as Tensors: the composed form of the op below
            weights = F.dropout(attention_weights(q, k, mask, 1 / math.sqrt(self.head_dim)), dropout)
            heads = weights @ v
        else:
            weights, heads = None, F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout)
        heads = heads.permute(0, 2, 1, 3).reshape(n, length, self.embed_dim)
        out = F.linear(heads, self.out_proj.weight, self.out_proj.bias)  # not called as a layer, as in PyTorch
        if weights is not None and average_attn_weights:
            weights = weights.mean(axis=1)
        if not batched:
            return out[0], None if weights is None else weights[0]
        return (out if self.batch_first else out.permute(1, 0, 2)), weights

    def _batch_first(self, x: Tensor, batched: bool) -> Tensor:
        """x as (N, length, features): the batch axis moved first, or added."""
        if not batched:
            return x.reshape(1, *x.shape)
        return x if self.batch_first else x.permute(1, 0, 2)

    def _heads(self, x: Tensor) -> Tensor:
        """(N, length, embed_dim) -> (N, num_heads, length, head_dim)."""
        n, length, _ = x.shape
        return x.reshape(n, length, self.num_heads, self.head_dim).permute(0, 2, 1, 3)

    def _check_inputs(self, query, key, value) -> bool:
        """Raise a named error unless query, key and value fit the layer; returns whether they are batched."""
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, (Tensor, np.ndarray)) or x.dtype.kind != "f":
                what = f"dtype {x.dtype}" if isinstance(x, (Tensor, np.ndarray)) else type(x).__name__
                raise TypeError(f"{self._name()}: {name} must be a floating-point Tensor or array, got {what}")
        if not query.dtype == key.dtype == value.dtype:
            raise TypeError(
                f"{self._name()}: query, key and value must have the same dtype, got {query.dtype}, {key.dtype} "
                f"and {value.dtype}"
            )
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        shapes = f"query {query.shape}, key {key.shape}, value {value.shape}"
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"{self._name()}: query, key and value must all be 3-D {layout} or all 2-D (L, E) unbatched, "
                f"got {shapes}"
            )
        features = (query.shape[-1], key.shape[-1], value.shape[-1])
        if features != (self.embed_dim, self.kdim, self.vdim):
            raise ValueError(
                f"{self._name()}: query, key and value need {self.embed_dim}, {self.kdim} and {self.vdim} features "
                f"(embed_dim, kdim, vdim) in their last dimension, got {shapes}"
            )
        batch_axis = 0 if self.batch_first else 1
        if key.shape[:-1] != value.shape[:-1] or (
            query.ndim == 3 and query.shape[batch_axis] != key.shape[batch_axis]
        ):
            raise ValueError(
                f"{self._name()}: key and value need the same shape but for their features, and query the same batch "
                f"size, got {shapes}"
            )
        return query.ndim == 3

    def _additive_mask(self, key_padding_mask, attn_mask, n, length, keys, batched, dtype) -> Tensor | None:
        """key_padding_mask and attn_mask as one float mask added to the scores (N, heads, L, S):
        -inf where a bool mask is True, a float mask as it is."""
        heads = self.num_heads
        masks = []
        if key_padding_mask is not None:
            shape = (n, keys) if batched else (keys,)
            masks.append(_as_additive(self, "key_padding_mask", key_padding_mask, [shape], dtype))
            masks[-1] = masks[-1].reshape(n, 1, 1, keys)
        if attn_mask is not None:
            shapes = [(length, keys), (n * heads if batched else heads, length, keys)]
            masks.append(_as_additive(self, "attn_mask", attn_mask, shapes, dtype))
            if masks[-1].ndim == 3:
                masks[-1] = masks[-1].reshape(n, heads, length, keys)
        if not masks:
            return None
        return masks[0] if len(masks) == 1 else masks[0] + masks[1]

    def _name(self) -> str:
        """The layer in one line, for error messages."""
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )


def _as_additive(layer: Module, name: str, mask, shapes: list[tuple[int, ...]], dtype) -> Tensor | np.ndarray:
    """A mask of one of `shapes` as numbers to add to the scores: a bool mask as -inf where
    True (not attended) and 0 elsewhere; a float mask of `dtype` as it is (a Tensor stays one,
    so a learned mask gets its gradient)."""
    mask = mask if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool and mask.dtype != dtype:
        raise TypeError(
            f"{layer._name()}: {name} must be bool (True: not attended) or float of the query's dtype {dtype} "
            f"(added to the scores), got dtype {mask.dtype}"
        )
    if mask.shape not in shapes:
        expected = " or ".join(str(s) for s in shapes)
        raise ValueError(f"{layer._name()}: {name} must have shape {expected} for these inputs, got {mask.shape}")
    if mask.dtype != bool:
        return mask
    bool_mask = mask.data if isinstance(mask, Tensor) else mask
    return np.where(bool_mask, np.array(-np.inf, dtype), np.zeros((), dtype))
