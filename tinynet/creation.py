"""Making tensors, as PyTorch does: tn.tensor, tn.zeros, tn.ones, tn.full, tn.arange,
tn.linspace, tn.eye, tn.rand, tn.randn, tn.randint and the `_like` forms.

Shapes are given as PyTorch takes them, as separate ints or one tuple: `tn.zeros(2, 3)` is
`tn.zeros((2, 3))`. Floating-point results get the default dtype (float32, see
`tn.get_default_dtype`) unless `dtype=` says otherwise; the random ones are drawn from tinynet's
generator, so `tn.manual_seed(0)` makes them reproducible (or pass `generator=`, a numpy
Generator)."""

from __future__ import annotations

import operator

import numpy as np

from tinynet.dtype import get_default_dtype
from tinynet.random import default_generator
from tinynet.tensor import Tensor

__all__ = [
    "arange",
    "eye",
    "full",
    "full_like",
    "linspace",
    "ones",
    "ones_like",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "tensor",
    "zeros",
    "zeros_like",
]


def _shape(op: str, size: tuple) -> tuple[int, ...]:
    """The shape from `size` as given to op(*size): ints, or a single tuple or list of ints."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    try:
        shape = tuple(operator.index(n) for n in size)
    except TypeError:
        raise TypeError(
            f"{op}: the size must be ints or one tuple of ints, e.g. {op}(2, 3) or {op}((2, 3)); got {size!r}"
        ) from None
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: sizes must be non-negative, got {shape}")
    return shape


def _dtype(dtype, default) -> np.dtype:
    return np.dtype(default if dtype is None else dtype)


def _generator(generator: np.random.Generator | None) -> np.random.Generator:
    if generator is None:
        return default_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a numpy Generator (np.random.default_rng(seed)), got {type(generator)}")
    return generator


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (a number, a nested list, a numpy array or a Tensor),
    as torch.tensor: Python floats become the default dtype (float32), Python ints int64 and
    bools bool; numpy arrays keep their dtype; `dtype=` overrides all of these."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, copy=True)
    if array.dtype == object or array.dtype.kind not in "biufc":
        raise TypeError(f"tensor: expected numbers or (nested) lists of numbers, got {type(data).__name__}")
    if dtype is not None:
        array = array.astype(dtype)
    elif array.dtype.kind == "f" and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(get_default_dtype())
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given shape: tn.zeros(2, 3) or tn.zeros((2, 3))."""
    return Tensor(np.zeros(_shape("zeros", size), _dtype(dtype, get_default_dtype())), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given shape: tn.ones(2, 3) or tn.ones((2, 3))."""
    return Tensor(np.ones(_shape("ones", size), _dtype(dtype, get_default_dtype())), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of the shape `size` (a tuple) filled with `fill_value`; its dtype is that of the
    value, as in PyTorch: the default float dtype for a float, int64 for an int, bool for a bool."""
    shape = _shape("full", (size,))
    if dtype is None:
        dtype = np.array(fill_value).dtype
        dtype = get_default_dtype() if dtype.kind == "f" else dtype
    return Tensor(np.full(shape, fill_value, dtype=np.dtype(dtype)), requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """The values start, start + step, ... up to but not including end (`arange(n)`: 0 to n - 1).
    All ints give int64, any float the default float dtype, as in PyTorch."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be nonzero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: the range from {start} to {end} cannot be walked with step {step}")
    integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = np.int64 if integral else get_default_dtype()
    values = np.arange(start, end, step, dtype=np.float64 if not integral else np.int64)
    return Tensor(values.astype(_dtype(dtype, default)), requires_grad=requires_grad)


def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from start to end, both included."""
    steps = operator.index(steps)
    if steps < 0:
        raise ValueError(f"linspace: steps must be non-negative, got {steps}")
    values = np.linspace(start, end, steps, dtype=np.float64)
    return Tensor(values.astype(_dtype(dtype, get_default_dtype())), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n unless given): ones on the diagonal, zeros elsewhere."""
    n, m = _shape("eye", (n, n if m is None else m))
    return Tensor(np.eye(n, m, dtype=_dtype(dtype, get_default_dtype())), requires_grad=requires_grad)


def _float_dtype(op: str, dtype) -> np.dtype:
    dtype = _dtype(dtype, get_default_dtype())
    if dtype.kind != "f":
        raise TypeError(f"{op}: draws floating-point numbers; dtype must be a floating-point dtype, got {dtype}")
    return dtype


def rand(*size, generator: np.random.Generator | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Numbers drawn uniformly from [0, 1), of the given shape, from tinynet's generator
    (reproducible after tn.manual_seed) unless `generator` is given."""
    dtype = _float_dtype("rand", dtype)
    values = _generator(generator).random(_shape("rand", size))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def randn(*size, generator: np.random.Generator | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Numbers drawn from the standard normal distribution, of the given shape, from tinynet's
    generator (reproducible after tn.manual_seed) unless `generator` is given."""
    dtype = _float_dtype("randn", dtype)
    values = _generator(generator).standard_normal(_shape("randn", size))
    return Tensor(values.astype(dtype), requires_grad=requires_grad)


def randint(*args, generator: np.random.Generator | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high), as PyTorch: `randint(high, size)` or
    `randint(low, high, size)`, size a tuple; int64 unless `dtype` is given."""
    if len(args) == 2:
        (low, high), size = (0, args[0]), args[1]
    elif len(args) == 3:
        low, high, size = args
    else:
        raise TypeError(f"randint: expected (high, size) or (low, high, size), got {len(args)} arguments {args!r}")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, e.g. randint(10, (3,)), got {size!r}")
    shape = _shape("randint", (size,))
    low, high = operator.index(low), operator.index(high)
    if low >= high:
        raise ValueError(f"randint: low must be smaller than high, got low={low}, high={high}")
    values = _generator(generator).integers(low, high, shape)
    return Tensor(values.astype(_dtype(dtype, np.int64)), requires_grad=requires_grad)


def _like_dtype(input: Tensor, dtype) -> np.dtype:
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor as input, got {type(input).__name__}; tn.tensor(x) makes one")
    return input.dtype if dtype is None else np.dtype(dtype)


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Zeros of input's shape and (unless `dtype` is given) dtype."""
    return zeros(input.shape, dtype=_like_dtype(input, dtype), requires_grad=requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Ones of input's shape and (unless `dtype` is given) dtype."""
    return ones(input.shape, dtype=_like_dtype(input, dtype), requires_grad=requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """`fill_value` in input's shape and (unless `dtype` is given) dtype."""
    return full(input.shape, fill_value, dtype=_like_dtype(input, dtype), requires_grad=requires_grad)


def rand_like(input: Tensor, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform numbers in [0, 1) of input's shape and (unless `dtype` is given) dtype."""
    return rand(input.shape, generator=generator, dtype=_like_dtype(input, dtype), requires_grad=requires_grad)


def randn_like(input: Tensor, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal numbers of input's shape and (unless `dtype` is given) dtype."""
    return randn(input.shape, generator=generator, dtype=_like_dtype(input, dtype), requires_grad=requires_grad)


def randint_like(input: Tensor, *bounds: int, generator=None, dtype=None, requires_grad=False) -> Tensor:
    """Integers uniform in [low, high) of input's shape and (unless `dtype` is given) dtype:
    `randint_like(x, high)` or `randint_like(x, low, high)`, as PyTorch."""
    if len(bounds) not in (1, 2):
        raise TypeError(f"randint_like: expected (input, high) or (input, low, high), got bounds {bounds!r}")
    dtype = _like_dtype(input, dtype)
    low, high = (0, *bounds) if len(bounds) == 1 else bounds
    return randint(low, high, input.shape, generator=generator, dtype=dtype, requires_grad=requires_grad)
