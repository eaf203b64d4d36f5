"""Linear: y = x W^T + b."""

from __future__ import annotations

import math

import numpy as np

from tinynet import functional as F
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.module import Module, check_float_input, check_size
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


class Linear(Module):
    """y = x W^T + b, W of shape (out_features, in_features).

    Initialized as PyTorch does: W and b uniform in ±1/sqrt(in_features) (kaiming_uniform_
    with a = sqrt(5)), so a PyTorch state dict loads unchanged."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = check_size("Linear", "in_features", in_features)
        self.out_features = check_size("Linear", "out_features", out_features)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias anew, as PyTorch initializes this layer."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(self, x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r}: expected input with {self.in_features} features in its last dimension, "
                f"got shape {x.shape} ({x.shape[-1] if x.ndim else 0} features)"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
