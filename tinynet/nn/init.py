"""Weight initializers. Each fills a Tensor (or numpy array) in place and returns it.

fan_in and fan_out count the inputs and outputs one output unit sees: for a Linear weight
(out, in) they are in and out; for a convolution kernel (out, in, kh, kw) they are in*kh*kw
and out*kh*kw.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.random import default_generator
from tinynet.tensor import Tensor


def _array(tensor) -> np.ndarray:
    return tensor.data if isinstance(tensor, Tensor) else tensor


def _fill(tensor, values):
    _array(tensor)[...] = values
    return tensor


def calculate_fan_in_and_fan_out(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of `shape`: (out, in) or (out, in, *kernel)."""
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got shape {tuple(shape)}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through `nonlinearity` (as PyTorch)."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def _fan(shape, mode: str) -> int:
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def uniform_(
    tensor: Tensor | np.ndarray, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor | np.ndarray:
    """Fill with values drawn uniformly from [a, b)."""
    return _fill(tensor, (generator or default_generator()).uniform(a, b, _array(tensor).shape))


def normal_(
    tensor: Tensor | np.ndarray, mean: float = 0.0, std: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor | np.ndarray:
    """Fill with values drawn from N(mean, std²)."""
    return _fill(tensor, (generator or default_generator()).normal(mean, std, _array(tensor).shape))


def zeros_(tensor: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """Fill with 0 in place; returns the argument."""
    return _fill(tensor, 0)


def ones_(tensor: Tensor | np.ndarray) -> Tensor | np.ndarray:
    """Fill with 1 in place; returns the argument."""
    return _fill(tensor, 1)


def xavier_uniform_(
    tensor: Tensor | np.ndarray, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor | np.ndarray:
    """Glorot: uniform in ±gain √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(tensor).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(
    tensor: Tensor | np.ndarray, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Tensor | np.ndarray:
    """Glorot: N(0, std²) with std = gain √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_array(tensor).shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(
    tensor: Tensor | np.ndarray,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor | np.ndarray:
    """He: uniform in ±gain √(3 / fan), gain = calculate_gain(nonlinearity, a)."""
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(_array(tensor).shape, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor | np.ndarray,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Tensor | np.ndarray:
    """He: N(0, std²) with std = gain / √fan."""
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(_array(tensor).shape, mode)), generator)
