"""Embedding: a lookup table of vectors, one row per token (or any other integer id)."""

from __future__ import annotations

import numpy as np

from tinynet import functional as F
from tinynet.dtype import get_default_dtype
from tinynet.functional import _padding_index
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


class Embedding(Module):
    """out = weight[indices]: integer indices of any shape in, one embedding_dim vector per index
    out. The weight (num_embeddings, embedding_dim) starts N(0, 1), as PyTorch's. The padding_idx
    row (negative: counted from the end) starts at zeros and never gets a gradient, so it stays
    what it is, e.g. for the padding tokens of sequences of different lengths."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = _padding_index(padding_idx, num_embeddings)
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=get_default_dtype()))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight anew from N(0, 1), the padding_idx row zeroed, as PyTorch does."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor | np.ndarray, freeze: bool = True, padding_idx: int | None = None
    ) -> Embedding:
        """An Embedding holding a copy of `embeddings` (num_embeddings, embedding_dim), in the
        default dtype; with freeze (the default) its weight gets no gradient and no optimizer
        moves it. The padding_idx row is kept as given (PyTorch's behaviour)."""
        embeddings = np.asarray(embeddings.data if isinstance(embeddings, Tensor) else embeddings)
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                f"got shape {embeddings.shape}"
            )
        embedding = cls(*embeddings.shape, padding_idx=padding_idx)
        embedding.weight.data = embeddings
        return embedding.requires_grad_(not freeze)

    def forward(self, indices: Tensor | np.ndarray) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
