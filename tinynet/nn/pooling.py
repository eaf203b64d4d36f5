"""Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, and MaxPool1d, AvgPool1d on (N, C, L) inputs."""

from __future__ import annotations

from tinynet import functional as F
from tinynet.nn.module import Module
from tinynet.tensor import Tensor


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return f"kernel_size={self.kernel_size}, stride={stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each window; stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each window (zero padding counted); stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class MaxPool1d(_Pool2d):
    """The maximum of each window of an (N, C, L) input; stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding)


class AvgPool1d(_Pool2d):
    """The mean of each window of an (N, C, L) input (zero padding counted); stride defaults to kernel_size."""

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size whatever the input's: (N, C, H, W) ->
    (N, C, *output_size) (an int for a square; None keeps that size), PyTorch's windows (see
    F.adaptive_avg_pool2d). output_size=1 is global average pooling."""

    def __init__(self, output_size=1):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
