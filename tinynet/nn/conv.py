"""Conv2d and ConvTranspose2d: 2-D convolutions on NCHW data (see tinynet.convolution for the
im2col method); Conv1d on NCL data, through the 2-D convolution."""

from __future__ import annotations

import math

import numpy as np

from tinynet import functional as F
from tinynet.convolution import check_output_padding, pair, single
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.module import Module, check_float_input, check_size
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


def _initialize_as_pytorch(weight: Parameter, bias: Parameter | None) -> None:
    """A convolution's weight and bias both uniform in ±1/sqrt(fan_in), fan_in = weight.shape[1]
    times the kernel's size (kaiming_uniform_ with a = sqrt(5)), as PyTorch initializes them."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight.shape)
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        init.uniform_(bias, -bound, bound)


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: the settings, the weight, (out_channels, in_channels,
    kh, kw) or transposed (in_channels, out_channels, kh, kw), the bias (out_channels,),
    PyTorch's initialization and the repr."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride,
        padding,
        dilation,
        bias: bool,
        transposed: bool = False,
        output_padding=0,
    ):
        super().__init__()
        self.in_channels = check_size(type(self).__name__, "in_channels", in_channels)
        self.out_channels = check_size(type(self).__name__, "out_channels", out_channels)
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.dilation, self.output_padding = (
            pair(stride, "stride"),
            pair(padding, "padding"),
            pair(dilation, "dilation"),
            pair(output_padding, "output_padding"),
        )
        channels = (in_channels, out_channels) if transposed else (out_channels, in_channels)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((*channels, *self.kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias anew, as PyTorch initializes this layer: both uniform in
        ±1/sqrt(fan_in), fan_in = weight.shape[1] · kh · kw (kaiming_uniform_ with a = sqrt(5))."""
        _initialize_as_pytorch(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.output_padding != (0, 0):
            text += f", output_padding={self.output_padding}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """Weight (out_channels, in_channels, kh, kw), bias (out_channels,), both initialized as
    PyTorch does: uniform in ±1/sqrt(in_channels · kh · kw)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, bias: bool = True
    ):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, bias)

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(self, x)
        if x.ndim == 4 and x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected an input with {self.in_channels} channels, got shape {x.shape} "
                f"({x.shape[1]} channels)"
            )
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class ConvTranspose2d(_ConvNd):
    """The transposed convolution (see F.conv_transpose2d): it upsamples, e.g. with stride 2 a
    7x7 input to 14x14 (kernel 4, padding 1, or kernel 3, padding 1, output_padding 1).

    Weight (in_channels, out_channels, kh, kw), PyTorch's layout, and bias (out_channels,), both
    initialized as PyTorch does: uniform in ±1/sqrt(out_channels · kh · kw), so a PyTorch state
    dict loads unchanged."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        output_padding=0,
        dilation=1,
        bias: bool = True,
    ):
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            bias,
            transposed=True,
            output_padding=output_padding,
        )
        check_output_padding(type(self).__name__, self.output_padding, self.stride, self.dilation)

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(self, x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected an input of shape (batch, {self.in_channels}, height, width), got shape {x.shape}"
            )
        return F.conv_transpose2d(
            x, self.weight, self.bias, self.stride, self.padding, self.output_padding, self.dilation
        )


class Conv1d(Module):
    """1-D convolution of (N, in_channels, L) inputs (see F.conv1d). Weight (out_channels,
    in_channels, k) and bias (out_channels,), PyTorch's layouts and initialization (uniform in
    ±1/sqrt(in_channels · k)), so a PyTorch state dict loads unchanged."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1, bias: bool = True
    ):
        super().__init__()
        self.in_channels = check_size(type(self).__name__, "in_channels", in_channels)
        self.out_channels = check_size(type(self).__name__, "out_channels", out_channels)
        self.kernel_size, self.stride = (single(kernel_size, "kernel_size"),), (single(stride, "stride"),)
        self.padding, self.dilation = (single(padding, "padding"),), (single(dilation, "dilation"),)
        dtype = get_default_dtype()
        self.weight = Parameter(np.empty((out_channels, in_channels, *self.kernel_size), dtype=dtype))
        self.bias = Parameter(np.empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight and bias anew, as PyTorch initializes this layer."""
        _initialize_as_pytorch(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        check_float_input(self, x)
        if x.ndim != 3 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{self!r}: expected an input of shape (batch, {self.in_channels}, length), got shape {x.shape}"
            )
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,):
            text += f", padding={self.padding}"
        if self.dilation != (1,):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")
