"""Normalization layers: BatchNorm1d, BatchNorm2d (over the batch), LayerNorm and GroupNorm (over each sample)."""

from __future__ import annotations

import numpy as np

from tinynet import functional as F
from tinynet.dtype import get_default_dtype
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor


class _BatchNorm(Module):
    """Normalizes each of `num_features` channels (axis 1); see `F.batch_norm` for the math.
    Running mean and variance are buffers: saved in the state dict, never optimized."""

    input_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__
        if x.ndim not in self.input_ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): expected a {' or '.join(f'{n}-D' for n in self.input_ndims)} input "
                f"with {self.num_features} channels in axis 1, got shape {x.shape}"
            )
        if self.training:
            if x.size == x.shape[1]:
                raise ValueError(f"{name}: training needs more than one value per channel, got shape {x.shape}")
            self.num_batches_tracked += 1
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, self.momentum, self.eps
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.weight is not None}"


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs."""

    input_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel over batch, height and width."""

    input_ndims = (4,)


class LayerNorm(Module):
    """Normalizes each sample over its last dimensions, those of `normalized_shape` (an int for
    the last one); see `F.layer_norm` for the math. With elementwise_affine, a weight (ones)
    and, unless bias=False, a bias (zeros) of shape normalized_shape scale and shift the result,
    as PyTorch's."""

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(shape, dtype=dtype)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Normalizes each sample's channels in num_groups groups (see F.group_norm), then scales
    and shifts each channel by weight (ones) and bias (zeros) of shape (num_channels,) when
    affine, as PyTorch's. GroupNorm(1, C) normalizes over all of a sample's channels,
    GroupNorm(C, C) each channel on its own."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True):
        super().__init__()
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups}), "
                "a positive number"
            )
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        dtype = get_default_dtype()
        self.weight = Parameter(np.ones(num_channels, dtype=dtype)) if affine else None
        self.bias = Parameter(np.zeros(num_channels, dtype=dtype)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"{self!r}: expected an input (N, {self.num_channels}, ...) with at least 2 dims, got shape {x.shape}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
