"""Conv2d: 2-D convolution on NCHW data (see tinynet.convolution for the im2col method)."""

from __future__ import annotations

import math

import numpy as np

from tinynet import functional as F
from tinynet.convolution import pair
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


class Conv2d(Module):
    """Weight (out_channels, in_channels, kh, kw), bias (out_channels,), both initialized as
    PyTorch does: uniform in ±1/sqrt(in_channels · kh · kw)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, bias: bool = True
    ):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation = (
            pair(stride, "stride"),
            pair(padding, "padding"),
            pair(dilation, "dilation"),
        )
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((out_channels, in_channels, *self.kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias anew, as PyTorch initializes this layer."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight.shape)
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 4 and x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected an input with {self.in_channels} channels, got shape {x.shape} "
                f"({x.shape[1]} channels)"
            )
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")
