"""A decoder-only transformer (GPT), its key/value cache for generation, and a character vocabulary.

    vocabulary = Vocabulary.from_text(text)                 # the sorted characters of the text
    model = GPT(GPTConfig(vocab_size=len(vocabulary)))      # 4 blocks, 128 dimensions, 4 heads, context 64
    logits = model(tokens)                                  # tokens (batch, time) -> (batch, time, vocab_size)
    out = generate(model, vocabulary.encode("ROMEO:")[None], 200, temperature=0.8, top_k=10)
    print(vocabulary.decode(out[0]))

The model: token and position embeddings; `n_layer` pre-norm blocks, each
x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)), the attention causal (a token sees
itself and the tokens before it) and the MLP Linear(C, 4C), GELU, Linear(4C, C); a final
LayerNorm and a linear head that gives the next token's logits at every position. The GELU is
its tanh approximation (GPT-2's): numpy has no erf, and the exact form costs more than the rest
of the MLP (docs/attention.md). examples/char_gpt.py trains it on Shakespeare;
benchmarks/torch_models.py has its PyTorch twin.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

import tinynet as tn
from tinynet import functional as F
from tinynet import nn
from tinynet.random import default_generator


class UnknownCharacters(ValueError):
    """A text holds characters that the vocabulary does not have."""


class ContextTooLong(ValueError):
    """More positions than the model has position embeddings for (its block_size)."""


class Vocabulary:
    """Characters <-> token ids: the i-th character of `chars` (sorted, each once) is token i."""

    def __init__(self, chars: str):
        if not chars or list(chars) != sorted(set(chars)):
            raise ValueError(f"Vocabulary: chars must be distinct characters in sorted order, got {chars!r}")
        self.chars = chars
        self.codes = np.array([ord(c) for c in chars])  # sorted, as the characters are

    @classmethod
    def from_text(cls, text: str) -> Vocabulary:
        """The vocabulary of every character that occurs in `text`."""
        return cls("".join(sorted(set(text))))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The token ids of `text` (int64). Raises UnknownCharacters naming any character not in the vocabulary."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        ids = np.searchsorted(self.codes, codes).clip(max=len(self) - 1)  # where each code is, if it is there
        unknown = self.codes[ids] != codes
        if unknown.any():
            shown = "".join(sorted({chr(code) for code in codes[unknown]}))
            raise UnknownCharacters(
                f"{shown!r} not in the vocabulary; it has these {len(self)} characters: {self.chars!r}"
            )
        return ids.astype(np.int64)

    def decode(self, ids) -> str:
        """The text of a sequence of token ids."""
        return "".join(self.chars[i] for i in np.asarray(ids).reshape(-1))


@dataclass(frozen=True)
class GPTConfig:
    """The shape of a GPT: the defaults are examples/char_gpt.py's."""

    vocab_size: int
    block_size: int = 64  # the longest context: the number of position embeddings
    n_layer: int = 4
    n_embd: int = 128
    n_head: int = 4

    def as_dict(self) -> dict:
        """The settings as a dict of ints (for saving beside the weights)."""
        return asdict(self)


class LayerCache:
    """One attention layer's keys and values, (batch, heads, tokens so far, head size) each."""

    def __init__(self):
        self.keys: tn.Tensor | None = None
        self.values: tn.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.keys is None else self.keys.shape[2]

    def extend(self, keys: tn.Tensor, values: tn.Tensor) -> tuple[tn.Tensor, tn.Tensor]:
        """Append the new tokens' keys and values; returns all of them, the cached ones first."""
        if self.keys is not None:
            keys, values = tn.cat([self.keys, keys], axis=2), tn.cat([self.values, values], axis=2)
        self.keys, self.values = keys, values
        return keys, values


class KVCache:
    """The key/value cache of a whole model, one LayerCache per block. A forward pass given the
    cache computes keys and values for the new tokens only, which it appends, and their queries
    attend to every cached token: feeding one token at a time then costs one token's work per
    step instead of the whole context's."""

    def __init__(self, n_layer: int):
        self.layers = [LayerCache() for _ in range(n_layer)]

    def __len__(self) -> int:
        """The number of tokens cached: the position of the next one."""
        return len(self.layers[0])


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one Linear makes the queries, keys and values of all
    heads, F.scaled_dot_product_attention mixes the values, a Linear projects the heads back."""

    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"CausalSelfAttention: n_embd {n_embd} is not divisible by n_head {n_head}")
        self.n_head = n_head
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)

    def queries_keys_values(self, x: tn.Tensor) -> tuple[tn.Tensor, tn.Tensor, tn.Tensor]:
        """q, k and v of every head, each (batch, heads, time, head size), from x (batch, time, channels)."""
        batch, time, channels = x.shape
        return tuple(
            t.reshape(batch, time, self.n_head, channels // self.n_head).transpose(1, 2)
            for t in self.qkv(x).split(channels, axis=-1)
        )

    def forward(self, x: tn.Tensor, cache: LayerCache | None = None) -> tn.Tensor:
        batch, time, channels = x.shape
        q, k, v = self.queries_keys_values(x)
        past = 0
        if cache is not None:
            past = len(cache)
            k, v = cache.extend(k, v)
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # new token i (at position past + i) sees the cached tokens and the new ones up to itself
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=np.tri(time, past + time, past, dtype=bool))
        return self.proj(y.transpose(1, 2).reshape(batch, time, channels))

    @tn.no_grad()
    def weights(self, x: tn.Tensor) -> np.ndarray:
        """The attention weights (batch, heads, time, time) that forward(x) uses: row i is how much
        token i takes from each token (zero after i)."""
        q, k, _ = self.queries_keys_values(x)
        causal = np.tri(x.shape[1], dtype=bool)
        return F.softmax(tn.where(causal, q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), -np.inf), axis=-1).data


class Block(nn.Module):
    """A pre-norm transformer block: x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x))."""

    def __init__(self, n_embd: int, n_head: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(n_embd)
        self.attention = CausalSelfAttention(n_embd, n_head)
        self.norm2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(n_embd, 4 * n_embd), nn.GELU(approximate="tanh"), nn.Linear(4 * n_embd, n_embd)
        )

    def forward(self, x: tn.Tensor, cache: LayerCache | None = None) -> tn.Tensor:
        x = x + self.attention(self.norm1(x), cache)
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    """The decoder-only transformer: tokens (batch, time) in, next-token logits (batch, time,
    vocab_size) out. Weights start as GPT-2's: N(0, 0.02), the projections into the residual
    stream N(0, 0.02 / √(2 n_layer)), biases zero, LayerNorms the identity."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.token_embedding = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList([Block(config.n_embd, config.n_head) for _ in range(config.n_layer)])
        self.norm = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)
        for name, p in self.named_parameters():
            if name.endswith("bias") and "norm" not in name:
                nn.init.zeros_(p)
            elif p.ndim == 2:
                residual = name.endswith(("attention.proj.weight", "mlp.2.weight"))
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * config.n_layer) if residual else 0.02)

    def forward(self, tokens, cache: KVCache | None = None) -> tn.Tensor:
        if not isinstance(tokens, tn.Tensor):  # a Tensor stays one, so that tn.onnx.export can trace it
            tokens = np.asarray(tokens)
        if tokens.ndim != 2:
            raise ValueError(f"GPT: expected tokens of shape (batch, time), got shape {tokens.shape}")
        start = len(cache) if cache is not None else 0
        if start + tokens.shape[1] > self.config.block_size:
            cached = f" after the {start} cached" if start else ""
            raise ContextTooLong(
                f"GPT: {tokens.shape[1]} tokens{cached} exceed the model's context of block_size "
                f"{self.config.block_size}; crop the context to its last {self.config.block_size} tokens "
                "(generate does)"
            )
        positions = np.arange(start, start + tokens.shape[1])
        x = self.token_embedding(tokens) + self.position_embedding(positions)
        for i, block in enumerate(self.blocks):
            x = block(x, cache.layers[i] if cache is not None else None)
        return self.head(self.norm(x))


def sample(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None, generator=None) -> np.ndarray:
    """One token per row of `logits` (batch, vocab_size): drawn from softmax(logits / temperature)
    restricted to the top_k largest logits (all of them when top_k is None); temperature 0 takes
    the largest logit (greedy). `generator` (a numpy Generator; tinynet's by default) draws."""
    if not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"sample: temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"sample: top_k must be at least 1 (or None for all tokens), got {top_k}")
    if temperature == 0:
        return logits.argmax(axis=-1)
    logits = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]
        logits = np.where(logits < kth_largest, -np.inf, logits)
    probabilities = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cumulative = probabilities.cumsum(axis=-1)
    u = (1 - (generator or default_generator()).random((len(logits), 1))) * cumulative[:, -1:]  # in (0, total]
    return (cumulative < u).sum(axis=-1)  # the first token whose cumulative probability reaches u


@tn.no_grad()
def generate(
    model: GPT,
    tokens,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    use_cache: bool = True,
    generator=None,
) -> np.ndarray:
    """`tokens` (batch, time) followed by `max_new_tokens` tokens sampled one at a time (see
    `sample`), each from the logits at the last position.

    The model sees at most its last block_size tokens, as nanoGPT crops the context. With
    `use_cache`, a KVCache keeps every layer's keys and values, so that each step feeds only the
    newest token. Once the cache holds block_size tokens, the next step rebuilds it from the last
    block_size tokens: the position embeddings of a cropped window are not those its tokens had
    when they were cached, so no cached key would be the one the window gives. With and without
    the cache, generation computes the same logits (to rounding) and draws the same tokens."""
    tokens = np.asarray(tokens, dtype=np.int64)
    if tokens.ndim != 2 or tokens.shape[1] == 0:
        raise ValueError(f"generate: expected tokens of shape (batch, time) with time >= 1, got shape {tokens.shape}")
    block_size, cache = model.config.block_size, None
    for _ in range(max_new_tokens):
        if not use_cache:
            logits = model(tokens[:, -block_size:])
        elif cache is None or len(cache) == block_size:
            cache = KVCache(model.config.n_layer)  # (re)fill it from the window
            logits = model(tokens[:, -block_size:], cache)
        else:
            logits = model(tokens[:, -1:], cache)
        next_tokens = sample(logits.data[:, -1], temperature, top_k, generator)
        tokens = np.concatenate([tokens, next_tokens[:, None]], axis=1)
    return tokens


def save_gpt(path: str, model: GPT, vocabulary: Vocabulary) -> None:
    """Write the model's weights with its shape and vocabulary (all that generation needs) to
    `path` (tn.save: all at once or not at all)."""
    tn.save({"config": model.config.as_dict(), "vocabulary": vocabulary.chars, "model": model.state_dict()}, path)


def load_gpt(path: str) -> tuple[GPT, Vocabulary]:
    """The model and vocabulary that `save_gpt` wrote to `path`."""
    saved = tn.load(path)
    if not isinstance(saved, dict) or set(saved) != {"config", "model", "vocabulary"}:
        raise ValueError(f"{path} holds no GPT written by save_gpt (char_gpt.py --save)")
    model = GPT(GPTConfig(**saved["config"]))
    model.load_state_dict(saved["model"])
    return model, Vocabulary(saved["vocabulary"])
