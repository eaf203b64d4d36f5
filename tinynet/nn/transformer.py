"""The transformer layers of PyTorch: TransformerEncoderLayer, TransformerEncoder,
TransformerDecoderLayer, TransformerDecoder and Transformer, with its forward signatures,
masks and state-dict keys, so that a PyTorch model's weights load unchanged.

An encoder layer is self-attention then a feed-forward block, each added to its input (a
residual connection) and normalized: after the addition (norm_first=False, the original
transformer's post-norm) or before the block (norm_first=True, pre-norm, GPT's):

    post-norm:  x = norm1(x + self_attention(x));        x = norm2(x + feed_forward(x))
    pre-norm:   x = x + self_attention(norm1(x));        x = x + feed_forward(norm2(x))

    feed_forward(x) = linear2(dropout(activation(linear1(x))))

A decoder layer has a cross-attention block between the two, whose keys and values are the
encoder's output (`memory`). Masks are MultiheadAttention's (a bool True is not attended to).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from tinynet import functional as F
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.attention import MultiheadAttention
from tinynet.nn.container import ModuleList
from tinynet.nn.dropout import Dropout
from tinynet.nn.linear import Linear
from tinynet.nn.module import Module, check_size
from tinynet.nn.normalization import LayerNorm
from tinynet.tensor import Tensor

Mask = Tensor | np.ndarray | None


def _activation(activation: str | Callable) -> Callable:
    """'relu' or 'gelu' as their functions, a callable (a function or a layer) as it is."""
    if callable(activation):
        return activation
    functions = {"relu": F.relu, "gelu": F.gelu}
    if activation not in functions:
        raise ValueError(f"activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return functions[activation]


class _Layer(Module):
    """What the encoder and decoder layers share: the feed-forward block, `blocks` LayerNorms
    (norm1, norm2, ...) and as many dropouts after the blocks (dropout1, ...), and the residual
    step around a block, pre-norm or post-norm."""

    def __init__(self, d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, blocks: int):
        super().__init__()
        check_size(type(self).__name__, "d_model", d_model)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.activation = _activation(activation)
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))

    def _feed_forward(self, x: Tensor, dropout: Dropout) -> Tensor:
        """linear2(dropout(activation(linear1(x)))), then the block's own dropout."""
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _residual(self, x: Tensor, norm: LayerNorm, block: Callable[[Tensor], Tensor]) -> Tensor:
        """x + block(norm(x)) with norm_first, else norm(x + block(x))."""
        return x + block(norm(x)) if self.norm_first else norm(x + block(x))


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, as PyTorch's nn.TransformerEncoderLayer (see
    this module's docstring): `self_attn` (a MultiheadAttention), `linear1` (d_model ->
    dim_feedforward), `linear2` (back), `norm1`, `norm2`; dropout after the attention
    (`dropout1`), inside the feed-forward block (`dropout`) and after it (`dropout2`), in
    training mode only. activation is "relu", "gelu" or a callable; bias=False leaves the
    biases out of every Linear, LayerNorm and the attention."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ):
        super().__init__(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, blocks=2)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)

    def forward(
        self, src: Tensor, src_mask: Mask = None, src_key_padding_mask: Mask = None, is_causal: bool = False
    ) -> Tensor:
        """The layer's output for src (S, N, d_model) ((N, S, d_model) with batch_first; (S,
        d_model) unbatched): src_mask (S, S) or (N·nhead, S, S), src_key_padding_mask (N, S),
        as MultiheadAttention's attn_mask and key_padding_mask; is_causal is its hint."""

        def attention(x: Tensor) -> Tensor:
            out = self.self_attn(
                x, x, x, attn_mask=src_mask, key_padding_mask=src_key_padding_mask, need_weights=False,
                is_causal=is_causal,
            )[0]
            return self.dropout1(out)

        x = self._residual(src, self.norm1, attention)
        return self._residual(x, self.norm2, lambda x: self._feed_forward(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention, cross-attention to the encoder's output and a feed-forward block, as
    PyTorch's nn.TransformerDecoderLayer (see this module's docstring): `self_attn` and
    `multihead_attn` (MultiheadAttentions), `linear1`, `linear2`, `norm1`, `norm2`, `norm3`,
    dropouts `dropout1`, `dropout2`, `dropout3` after the three blocks and `dropout` inside the
    feed-forward block. The settings are TransformerEncoderLayer's."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ):
        super().__init__(d_model, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, blocks=3)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """The layer's output for tgt (T, N, d_model) attending to memory (S, N, d_model) (batch
        first with batch_first; no N unbatched): tgt_mask (T, T) and tgt_key_padding_mask (N, T)
        mask the self-attention, memory_mask (T, S) and memory_key_padding_mask (N, S) the
        cross-attention, as MultiheadAttention's masks; the *_is_causal are its hints."""

        def self_attention(x: Tensor) -> Tensor:
            out = self.self_attn(
                x, x, x, attn_mask=tgt_mask, key_padding_mask=tgt_key_padding_mask, need_weights=False,
                is_causal=tgt_is_causal,
            )[0]
            return self.dropout1(out)

        def cross_attention(x: Tensor) -> Tensor:
            out = self.multihead_attn(
                x, memory, memory, attn_mask=memory_mask, key_padding_mask=memory_key_padding_mask,
                need_weights=False, is_causal=memory_is_causal,
            )[0]
            return self.dropout2(out)

        x = self._residual(tgt, self.norm1, self_attention)
        x = self._residual(x, self.norm2, cross_attention)
        return self._residual(x, self.norm3, lambda x: self._feed_forward(x, self.dropout3))


def _copies(layer: Module, num_layers: int, owner: str) -> ModuleList:
    """num_layers deep copies of `layer`, each with parameters of its own, as PyTorch's."""
    check_size(owner, "num_layers", num_layers)
    if not isinstance(layer, Module):
        raise TypeError(f"{owner}: expected a layer (a Module) to copy, got {type(layer).__name__}")
    return ModuleList(copy.deepcopy(layer) for _ in range(num_layers))


class TransformerEncoder(Module):
    """num_layers copies of an encoder layer (`layers.0`, `layers.1`, ..., each with weights of
    its own, deep copies as in PyTorch), then `norm` if given, as PyTorch's nn.TransformerEncoder.
    enable_nested_tensor and mask_check are taken so that PyTorch's code runs; they choose
    PyTorch's fast inference path, which tinynet does not have, and change nothing."""

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ):
        super().__init__()
        self.layers = _copies(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self, src: Tensor, mask: Mask = None, src_key_padding_mask: Mask = None, is_causal: bool | None = None
    ) -> Tensor:
        """Each layer's output is the next one's input; mask, src_key_padding_mask and is_causal
        go to every layer (as its src_mask, src_key_padding_mask and is_causal)."""
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """num_layers copies of a decoder layer (`layers.0`, ...), then `norm` if given, as
    PyTorch's nn.TransformerDecoder."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        self.layers = _copies(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Each layer's output is the next one's target, every layer attending to the same
        memory with the same masks (see TransformerDecoderLayer.forward)."""
        x = tgt
        for layer in self.layers:
            x = layer(
                x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    """The encoder-decoder transformer, as PyTorch's nn.Transformer: an `encoder` of
    num_encoder_layers TransformerEncoderLayers and a `decoder` of num_decoder_layers
    TransformerDecoderLayers, each ending in a LayerNorm (`encoder.norm`, `decoder.norm`); every
    weight of two or more dimensions Xavier-uniform, as PyTorch initializes it. custom_encoder and
    custom_decoder replace the two halves. `Transformer.generate_square_subsequent_mask(n)` makes
    the causal mask for the decoder's tgt_mask."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable = "relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        settings = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is None:
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            custom_encoder = TransformerEncoder(TransformerEncoderLayer(*settings), num_encoder_layers, norm)
        if custom_decoder is None:
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
            custom_decoder = TransformerDecoder(TransformerDecoderLayer(*settings), num_decoder_layers, norm)
        self.encoder, self.decoder = custom_encoder, custom_decoder
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Mask = None,
        tgt_mask: Mask = None,
        memory_mask: Mask = None,
        src_key_padding_mask: Mask = None,
        tgt_key_padding_mask: Mask = None,
        memory_key_padding_mask: Mask = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """decoder(tgt, encoder(src)): src (S, N, d_model) and tgt (T, N, d_model) (batch first
        with batch_first; no N unbatched) give (T, N, d_model); the masks go to the encoder
        (src_*) and the decoder (tgt_*, memory_*) as in PyTorch."""
        batch_axis = 0 if self.batch_first else 1
        if src.ndim != tgt.ndim or (src.ndim == 3 and src.shape[batch_axis] != tgt.shape[batch_axis]):
            raise ValueError(
                f"Transformer: src and tgt need the same batch size (and both batched or both unbatched), got "
                f"src {src.shape} and tgt {tgt.shape}"
            )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(
                f"Transformer: src and tgt need d_model = {self.d_model} features, got src {src.shape} and "
                f"tgt {tgt.shape}"
            )
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, dtype=None) -> Tensor:
        """The causal mask (sz, sz) as PyTorch's: a float Tensor (of the default dtype, or
        `dtype`), -inf above the diagonal (a later position, not attended) and 0 on and below it."""
        dtype = np.dtype(get_default_dtype() if dtype is None else dtype)
        size = check_size("generate_square_subsequent_mask", "sz", sz)
        return Tensor(np.triu(np.full((size, size), -np.inf, dtype=dtype), 1))
