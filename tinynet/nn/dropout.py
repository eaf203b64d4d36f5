"""Dropout: randomly zero activations in training, identity in evaluation."""

from __future__ import annotations

import numpy as np

from tinynet import functional as F
from tinynet.nn.module import Module
from tinynet.tensor import Tensor


class Dropout(Module):
    """Inverted dropout: in training each element is zeroed with probability p and the rest
    are scaled by 1/(1-p); in evaluation (`model.eval()`) the input passes unchanged."""

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
