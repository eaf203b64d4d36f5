"""Tensor: a numpy array that remembers how it was made, and reverse-mode autodiff.

Every operation computes its result with numpy and, when an input needs a gradient, records
the inputs (`_parents`) and a `backward` function that maps the gradient of the result to the
gradients of the inputs (the chain rule for that one op). `Tensor.backward()` then walks the
recorded graph from the output back to the leaves in reverse topological order, and frees it
as it goes (unless `retain_graph=True`).

Each backward is called as `backward(g, *inputs, out)`: the gradient that arrived, the op's
inputs and its result. It uses only operations that numpy arrays and Tensors share (`*`, `/`,
`@`, `.sum`, `.reshape`, `.transpose`, indexing, and the few helpers below), so one rule serves
twice: a plain backward pass gives it numpy arrays (fast, nothing recorded), and a backward
pass with `create_graph=True` gives it the Tensors themselves, so the backward pass is itself
recorded and its gradients can be differentiated again (gradients of gradients, `tn.grad`).
Whatever is constant under differentiation (a mask such as x > 0, a sign, a shape) is read
from the arrays in either case.

Graph safety, as in PyTorch: each op also names the input arrays its backward reads (`saved=`
in `Tensor._make`), and the graph keeps a fingerprint (`_fingerprint`) of those that are the
data of a leaf, arrays you own: your inputs and the parameters. backward() checks them, so
such an array changed in place between the forward and the backward pass is an error that
names the op, not a silently wrong gradient.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from itertools import accumulate

import numpy as np

from tinynet import anomaly as _anomaly
from tinynet import dtype as _mode
from tinynet.hooks import RemovableHandle

Array = np.ndarray
BackwardFn = Callable[..., Sequence["Array | Tensor | None"]]  # backward(g, *inputs, out)
Axis = int | tuple[int, ...] | None


def _either_spelling(op: str, *, default=None, **spellings):
    """The value of an argument that has two names, numpy's and PyTorch's (axis= or dim=,
    keepdims= or keepdim=): the one that is not None, else `default`. Both at once is an error.

    >>> _either_spelling("sum", axis=None, dim=1)
    1
    """
    given = {name: value for name, value in spellings.items() if value is not None}
    if len(given) > 1:
        both = " and ".join(f"{name}={value!r}" for name, value in given.items())
        raise TypeError(f"{op}(): got both {both}; they are numpy's and PyTorch's names for one argument, give one")
    return next(iter(given.values()), default)


def _normalize_dim(op: str, dim: int, shape: tuple[int, ...], ndim: int | None = None) -> int:
    """`dim` as an index in [0, ndim) (ndim: len(shape) unless given); negative dims count from
    the end, as in PyTorch. Out of range is an IndexError naming the valid range."""
    dim, ndim = operator.index(dim), len(shape) if ndim is None else ndim
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor of shape {shape} (expected a dim in [{-ndim}, {ndim - 1}])"
        )
    return dim % ndim


def _as_array(data) -> Array:
    """numpy arrays keep their dtype; Python numbers and lists get the default float dtype."""
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except ValueError as error:
            raise ValueError(f"Tensor: cannot make an array of {type(data).__name__}: {error}") from None
        if array.dtype.kind in "biuf":
            array = array.astype(_mode.get_default_dtype())
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor: data must be numeric (bool, integer or float), got {type(data).__name__} of dtype {array.dtype}"
        )
    return array


def _unbroadcast(grad: Array | Tensor, shape: tuple[int, ...]) -> Array | Tensor:
    """Sum `grad` over the axes that broadcasting stretched, so that it has `shape` again."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _expand(grad: Array | Tensor, shape: tuple[int, ...], axis, keepdims: bool) -> Array | Tensor:
    """Undo a reduction: give the reduced axes back to `grad` and broadcast it to `shape`."""
    if axis is not None and not keepdims:
        grad = grad.reshape(_kept_shape(shape, axis))
    return grad.broadcast_to(shape) if isinstance(grad, Tensor) else np.broadcast_to(grad, shape)


def _kept_shape(shape: tuple[int, ...], axis: int | tuple[int, ...]) -> tuple[int, ...]:
    """`shape` after a reduction over `axis` with keepdims: the reduced axes have size 1."""
    reduced = {a % len(shape) for a in (axis if isinstance(axis, tuple) else (axis,))}
    return tuple(1 if i in reduced else n for i, n in enumerate(shape))


def _mT(x: Array | Tensor) -> Array | Tensor:
    """Each matrix transposed: the last two axes swapped (PyTorch's x.mT)."""
    return x.transpose(*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)


def _log(x: Array | Tensor) -> Array | Tensor:
    return x.log() if isinstance(x, Tensor) else np.log(x)


def _exp(x: Array | Tensor) -> Array | Tensor:
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def _masked(g: Array | Tensor, keep: Array) -> Array | Tensor:
    """g where `keep` is True, 0 elsewhere (also where g is inf or nan, unlike g * keep)."""
    return where(keep, g, 0.0) if isinstance(g, Tensor) else _select(keep, g, np.zeros((), g.dtype))


def _power(x: Array | Tensor, p: Array | Tensor) -> Array | Tensor:
    """x ** p; of arrays, np.power(x, p). numpy's pow of a negative base takes about 90 ns per
    element for a whole exponent other than -1, 0, 1 and 2 (which it special-cases), against
    1.6 ns for a positive base, on the 2-core AMD EPYC of docs/performance.md. For those
    exponents this raises |x| and puts the sign back (odd p): the same signs, within an ulp of
    numpy's result."""
    if isinstance(x, Tensor):
        return x**p
    if p.ndim == 0 and x.dtype.kind == "f" and p.dtype.kind in "fiu":
        exponent = float(p)  # as numpy takes it: an integer beyond 2**53 rounds to an even float
        if exponent.is_integer() and exponent not in (-1, 0, 1, 2):
            out = np.power(np.abs(x), p)
            return np.copysign(out, x) if exponent % 2 else out
    return np.power(x, p)


_INTEGER_OF_SIZE = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}


def _select(condition: Array, x: Array, y: Array) -> Array:
    """np.where(condition, x, y), bit for bit, computed with bit masks instead of a test per
    element: numpy's where takes a branch per element, and on a condition that changes at
    random (an activation's sign) it mispredicts half of them: 6.1 ms for 1.6M float32 values
    on the 2-core AMD EPYC of docs/performance.md, against 0.7-0.9 ms for the masks. Below about
    a thousand elements numpy's where is the quicker (the masks cost 4 µs to set up)."""
    dtype = np.result_type(x, y)
    bits = _INTEGER_OF_SIZE.get(dtype.itemsize)
    small = max(np.size(condition), np.size(x), np.size(y)) < 1024
    if small or bits is None or dtype.kind not in "fiub":  # or no integer of its size: numpy's where
        return np.where(condition, x, y)
    condition, x, y = np.broadcast_arrays(np.asarray(condition, bool), np.asarray(x, dtype), np.asarray(y, dtype))
    take_x = condition.astype(bits)
    np.negative(take_x, out=take_x)  # every bit set where the condition holds, none elsewhere
    out = np.bitwise_and(x.view(bits), take_x)
    np.invert(take_x, out=take_x)
    out |= np.bitwise_and(y.view(bits), take_x, out=take_x)
    return out.view(dtype)


def _scatter(g: Array | Tensor, shape: tuple[int, ...], index, scatter_add: bool) -> Array | Tensor:
    """Zeros of `shape` with g put at `index` (added up where an integer array repeats an
    index): the backward of indexing; itself an op, whose backward is indexing, when recorded."""
    if isinstance(g, Tensor):
        return g._make(_scatter(g.data, shape, index, scatter_add), (g,), lambda gg, *_: (gg[index],), "scatter")
    grad = np.zeros(shape, dtype=g.dtype)
    if scatter_add:
        np.add.at(grad, index, g)
    else:
        grad[index] = g
    return grad


def _has_integer_array(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) and np.asarray(p).dtype.kind in "iu" for p in parts)


def _unwrap_index(index):
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index.data if isinstance(index, Tensor) else index


_EXACT_FINGERPRINT_BYTES = 65536  # arrays up to 64 KiB (16,384 float32 numbers) are fingerprinted whole


def _fingerprint(array: Array) -> bytes:
    """Bytes that change when `array` is written in place: all of its bytes when it has at most
    _EXACT_FINGERPRINT_BYTES, so any change is seen; else the bytes of a lattice of about 64
    elements spread evenly over every axis (`_lattice`), which sees every change
    that touches all or much of the array (an optimizer step, a new batch written into the
    same buffer, x /= 255, a shuffle of the rows) at the cost of a few microseconds, but may
    miss a change to a few elements."""
    if array.nbytes <= _EXACT_FINGERPRINT_BYTES:
        return array.tobytes()
    return array[_lattice(array.shape)].tobytes()


@functools.lru_cache(maxsize=256)
def _lattice(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The index of about 64 elements spread evenly over every axis of `shape`, each at the middle
    of its cell rather than at its corner (which is often a border or padding): (s0//2::s0, ...)."""
    steps = [max(1, n // math.ceil(64 ** (1 / len(shape)))) for n in shape]
    return tuple([slice(step // 2, None, step) for step in steps])


def _fingerprint_leaves(parents: tuple[Tensor, ...], saved: Sequence) -> tuple[tuple[Array, bytes], ...]:
    """(array, fingerprint) for each array in `saved` that is the data of a leaf in `parents`.
    (Plain loops: this runs for every op in a training step, and comprehensions cost more.)"""
    pairs = []
    for parent in parents:
        if parent._backward is None:
            data = parent.data
            for array in saved:
                if array is data:
                    pairs.append((data, _fingerprint(data)))
                    break
    return tuple(pairs)


_backward_observers: list[Callable[[Tensor, Array, Sequence[Array | None]], None]] = []
"""Callbacks that backward() calls after each op's backward with (op's result tensor, the
gradient that arrived, the gradients it sent to its inputs): tinynet.viz.trace_backward's."""


def _graph_freed(*_) -> Sequence[Array | None]:
    """The backward of an op once backward() has freed its graph: reaching it again is an error."""
    raise RuntimeError(
        "backward(): trying to backward through the graph a second time: the first backward() freed it "
        "(each op dropped its inputs and the arrays it saved, to release their memory). Call the first "
        "backward(retain_graph=True) to backward through it again, or run the forward pass again"
    )


class Tensor:
    """An n-dimensional array with reverse-mode automatic differentiation.

    `Tensor(data, requires_grad=False)`: numpy arrays are used as they are (no copy, dtype
    kept); Python numbers and lists become arrays of the default dtype (float32).
    """

    __array_priority__ = 100  # numpy array (op) Tensor defers to Tensor's reflected operator
    __hash__ = object.__hash__  # == compares elementwise, so hashing stays by identity
    _saved: tuple[tuple[Array, bytes], ...] = ()  # (data, fingerprint) of each leaf whose values the backward reads
    _hooks: dict[int, Callable] | None = None  # register_hook's, by handle id
    _retains_grad = False  # retain_grad() was called on this non-leaf tensor

    def __init__(self, data, requires_grad: bool = False):
        self.data = _as_array(data)
        self.grad: Array | None = None
        self.requires_grad = False
        self._parents: tuple[Tensor, ...] = ()
        self._backward: BackwardFn | None = None
        self._op = ""
        if requires_grad:
            self.requires_grad_()

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Mark this tensor as a leaf whose gradient `backward()` should compute."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad=True needs floating-point data, got dtype {self.data.dtype}; "
                "convert it first, e.g. Tensor(x.astype(np.float32), requires_grad=True)"
            )
        self.requires_grad = requires_grad
        return self

    @staticmethod
    def _make(data, parents: tuple[Tensor, ...], backward: BackwardFn, op: str, saved: Sequence = ()) -> Tensor:
        """The result of an op: records `parents` and `backward` if any parent needs a gradient.
        `saved` are the input arrays that `backward` reads (a Function's: what it saved); for
        each that is the data of a leaf parent, a fingerprint, which backward() checks to catch
        a change in place."""
        out = Tensor.__new__(Tensor)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._op = op
        out.requires_grad, out._parents, out._backward = False, (), None
        if _mode._grad_enabled:
            for parent in parents:
                if parent.requires_grad:
                    out.requires_grad, out._parents, out._backward = True, parents, backward
                    if saved:
                        out._saved = _fingerprint_leaves(parents, saved)
                    break
        if _anomaly.enabled:
            _anomaly.check_output(out)
        return out

    def _lift(self, other) -> Tensor:
        """Turn the other operand of a binary op into a Tensor. A scalar (a Python or numpy
        number) takes our floating dtype, as in PyTorch: x * np.sqrt(2) stays float32."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, np.number)) and self.data.dtype.kind == "f":
            return Tensor(np.asarray(other, dtype=self.data.dtype))
        return Tensor(other)

    # ---------------------------------------------------------------- properties

    shape = property(lambda self: self.data.shape, doc="The shape of the data.")
    dtype = property(lambda self: self.data.dtype, doc="The numpy dtype of the data.")
    ndim = property(lambda self: self.data.ndim, doc="The number of dimensions.")
    size = property(lambda self: self.data.size, doc="The number of elements.")

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({np.array2string(self.data, prefix='Tensor(')}, dtype={self.dtype}{grad})"

    def numpy(self) -> Array:
        """The underlying numpy array (shared, not copied)."""
        return self.data

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                "only one-element tensors can be converted to Python scalars (by item(), float() or int()); "
                f"this one has shape {self.shape}"
            )
        return self.data.item()

    def __float__(self) -> float:
        """float(t) for a one-element tensor, e.g. float(loss)."""
        return float(self.item())

    def __int__(self) -> int:
        """int(t) for a one-element tensor (a float is truncated toward 0, as int(2.7) is 2)."""
        return int(self.item())

    def __array__(self, dtype=None, copy: bool | None = None) -> Array:
        """The data for numpy: np.asarray(t) shares it, np.array(t) copies it (numpy 2 `copy` rules)."""
        return np.array(self.data, dtype=dtype, copy=copy)

    def detach(self) -> Tensor:
        """The same data (shared) as a new tensor outside the graph."""
        return Tensor(self.data)

    # ---------------------------------------------------------------- elementwise binary ops

    def _broadcast(self, other: Tensor, fn, op: str) -> Array:
        try:
            return fn(self.data, other.data)
        except ValueError:
            raise ValueError(f"{op}: shapes {self.shape} and {other.shape} do not broadcast together") from None

    def __add__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.add, "add")

        def backward(g, a, b, out):
            return _unbroadcast(g, a.shape), _unbroadcast(g, b.shape)

        return self._make(out, (self, other), backward, "add")

    def __sub__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.subtract, "sub")

        def backward(g, a, b, out):
            return _unbroadcast(g, a.shape), _unbroadcast(-g, b.shape)

        return self._make(out, (self, other), backward, "sub")

    def __mul__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.multiply, "mul")

        def backward(g, a, b, out):
            return _unbroadcast(g * b, a.shape), _unbroadcast(g * a, b.shape)

        return self._make(out, (self, other), backward, "mul", (self.data, other.data))

    def __truediv__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.divide, "div")

        def backward(g, a, b, out):
            g_over_b = g / b
            return _unbroadcast(g_over_b, a.shape), _unbroadcast(-g_over_b * out, b.shape)

        return self._make(out, (self, other), backward, "div", (other.data,))

    def __pow__(self, exponent) -> Tensor:
        """x ** p. d/dx = p x^(p-1); d/dp = x^p log x (only computed when p needs a gradient)."""
        exponent = self._lift(exponent)
        out = self._broadcast(exponent, _power, "pow")

        def backward(g, x, p, out):
            grad_x = _unbroadcast(g * p * _power(x, p - 1), x.shape)
            grad_p = _unbroadcast(g * out * _log(x), p.shape) if exponent.requires_grad else None
            return grad_x, grad_p

        return self._make(out, (self, exponent), backward, "pow", (self.data, exponent.data))

    def __radd__(self, other) -> Tensor:
        return self._lift(other) + self

    def __rsub__(self, other) -> Tensor:
        return self._lift(other) - self

    def __rmul__(self, other) -> Tensor:
        return self._lift(other) * self

    def __rtruediv__(self, other) -> Tensor:
        return self._lift(other) / self

    def __rpow__(self, other) -> Tensor:
        return self._lift(other) ** self

    def __neg__(self) -> Tensor:
        return self._make(-self.data, (self,), lambda g, x, out: (-g,), "neg")

    def __matmul__(self, other) -> Tensor:
        """Matrix product with numpy's rules (1-D operands, broadcast batch dimensions).

        For C = A @ B: dA = dC @ B^T and dB = A^T @ dC, summed over broadcast batch axes.
        """
        other = self._lift(other)
        a, b = self.data, other.data
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
        try:
            out = a @ b
        except ValueError:
            raise ValueError(
                f"matmul: shapes {a.shape} and {b.shape} are not aligned: the last dimension of the "
                f"first ({a.shape[-1]}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} "
                f"dimension of the second ({b.shape[0] if b.ndim == 1 else b.shape[-2]})"
            ) from None

        def backward(g, a, b, out):
            a2 = a.reshape(1, -1) if a.ndim == 1 else a  # numpy's 1-D promotion, made explicit
            b2 = b.reshape(-1, 1) if b.ndim == 1 else b
            g2 = g.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
            grad_a = _unbroadcast(g2 @ _mT(b2), a2.shape).reshape(a.shape) if self.requires_grad else None
            grad_b = _unbroadcast(_mT(a2) @ g2, b2.shape).reshape(b.shape) if other.requires_grad else None
            return grad_a, grad_b

        return self._make(out, (self, other), backward, "matmul", (a, b))

    def __rmatmul__(self, other) -> Tensor:
        return self._lift(other) @ self

    # comparisons give plain boolean arrays: they have no gradient
    def __lt__(self, other) -> Array:
        return self.data < _as_array(other)

    def __le__(self, other) -> Array:
        return self.data <= _as_array(other)

    def __gt__(self, other) -> Array:
        return self.data > _as_array(other)

    def __ge__(self, other) -> Array:
        return self.data >= _as_array(other)

    def __eq__(self, other) -> Array:
        return self.data == _as_array(other)

    def __ne__(self, other) -> Array:
        return self.data != _as_array(other)

    # ---------------------------------------------------------------- elementwise unary ops

    def exp(self) -> Tensor:
        """e^x elementwise; its gradient is e^x itself."""
        out = np.exp(self.data)
        return self._make(out, (self,), lambda g, x, out: (g * out,), "exp")

    def log(self) -> Tensor:
        """The natural logarithm elementwise; its gradient is 1/x."""
        return self._make(np.log(self.data), (self,), lambda g, x, out: (g / x,), "log", (self.data,))

    def sqrt(self) -> Tensor:
        """√x elementwise; its gradient is 1 / (2√x)."""
        out = np.sqrt(self.data)
        return self._make(out, (self,), lambda g, x, out: (g / (2 * out),), "sqrt")

    def abs(self) -> Tensor:
        """|x|; its gradient sign(x) is 0 at x = 0, as in PyTorch."""
        sign = lambda g, x, out: (g * np.sign(self.data),)
        return self._make(np.abs(self.data), (self,), sign, "abs", (self.data,))

    def tanh(self) -> Tensor:
        """The hyperbolic tangent elementwise; its gradient is 1 - tanh²(x)."""
        out = np.tanh(self.data)
        return self._make(out, (self,), lambda g, x, out: (g * (1 - out * out),), "tanh")

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows."""
        out = 0.5 * (1 + np.tanh(0.5 * self.data))
        return self._make(out, (self,), lambda g, x, out: (g * out * (1 - out),), "sigmoid")

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; its gradient is 1 where x > 0, else 0."""
        out = np.clip(self.data, 0, np.inf)  # max(x, 0); numpy vectorizes clip, not maximum with a scalar: 2x faster
        return self._make(out, (self,), lambda g, x, out: (g * (out > 0),), "relu")

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """x limited to [min, max] elementwise (one bound may be None); PyTorch calls it clamp.
        The gradient is 1 where min <= x <= max, else 0, as torch.clamp's."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both; with neither there is nothing to clip")
        low, high = -np.inf if min is None else min, np.inf if max is None else max
        inside = (self.data >= low) & (self.data <= high)
        return self._make(np.clip(self.data, min, max), (self,), lambda g, x, out: (g * inside,), "clip")

    clamp = clip

    # ---------------------------------------------------------------- reductions (axis= or dim=, keepdims= or keepdim=)

    def sum(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """The sum over `axis` (PyTorch: `dim`; all axes when None). `keepdims` (PyTorch: `keepdim`)
        keeps the summed axes with size 1."""
        axis = _either_spelling("sum", axis=axis, dim=dim)
        keepdims = _either_spelling("sum", keepdims=keepdims, keepdim=keepdim, default=False)
        out = self.data.sum(axis=axis, keepdims=keepdims)
        return self._make(out, (self,), lambda g, x, out: (_expand(g, x.shape, axis, keepdims),), "sum")

    def mean(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """The mean over `axis` (PyTorch: `dim`; all axes when None), `keepdims` (`keepdim`) as in sum.
        Each averaged element gets the gradient g / (number averaged)."""
        axis = _either_spelling("mean", axis=axis, dim=dim)
        keepdims = _either_spelling("mean", keepdims=keepdims, keepdim=keepdim, default=False)
        out = self.data.mean(axis=axis, keepdims=keepdims)
        count = self.data.size // max(np.size(out), 1)
        return self._make(out, (self,), lambda g, x, out: (_expand(g / count, x.shape, axis, keepdims),), "mean")

    def max(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """The largest element(s) over `axis` (PyTorch: `dim`; all axes when None), `keepdims` (`keepdim`)
        as in sum; numpy's max, torch.amax. The gradient is shared equally between tied maxima,
        so it always sums to the incoming gradient."""
        return self._extremum("max", np.max, axis, keepdims, dim, keepdim)

    def min(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """The smallest element(s) over `axis` (PyTorch: `dim`; all axes when None), `keepdims` (`keepdim`)
        as in sum; numpy's min, torch.amin. Tied minima share the gradient equally, as in max."""
        return self._extremum("min", np.min, axis, keepdims, dim, keepdim)

    def _extremum(self, op: str, find: Callable, axis: Axis, keepdims, dim: Axis, keepdim) -> Tensor:
        """max or min (`find`): the gradient goes to the elements equal to the result, split equally."""
        axis = _either_spelling(op, axis=axis, dim=dim)
        keepdims = _either_spelling(op, keepdims=keepdims, keepdim=keepdim, default=False)
        out = find(self.data, axis=axis, keepdims=True)

        def backward(g, x, result):
            is_extreme = self.data == out
            share = is_extreme / is_extreme.sum(axis=axis, keepdims=True).astype(self.dtype)
            return (_expand(g, x.shape, axis, keepdims) * share,)

        return self._make(out if keepdims else np.squeeze(out, axis=axis), (self,), backward, op, (self.data,))

    def argmax(
        self,
        axis: int | None = None,
        keepdims: bool | None = None,
        *,
        dim: int | None = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """The int64 index of the largest element along `axis` (PyTorch: `dim`; of the flattened
        tensor when None), the first one on a tie. No gradient: the result is outside the graph."""
        return self._arg_extremum("argmax", np.argmax, axis, keepdims, dim, keepdim)

    def argmin(
        self,
        axis: int | None = None,
        keepdims: bool | None = None,
        *,
        dim: int | None = None,
        keepdim: bool | None = None,
    ) -> Tensor:
        """The int64 index of the smallest element along `axis` (PyTorch: `dim`; of the flattened
        tensor when None), the first one on a tie. No gradient: the result is outside the graph."""
        return self._arg_extremum("argmin", np.argmin, axis, keepdims, dim, keepdim)

    def _arg_extremum(self, op: str, find: Callable, axis: int | None, keepdims, dim: int | None, keepdim) -> Tensor:
        """argmax or argmin (`find`) as int64, outside the graph."""
        axis = _either_spelling(op, axis=axis, dim=dim)
        keepdims = _either_spelling(op, keepdims=keepdims, keepdim=keepdim, default=False)
        if axis is not None:
            axis = _normalize_dim(op, axis, self.shape)
        return Tensor(np.asarray(find(self.data, axis=axis, keepdims=keepdims), dtype=np.int64))

    def var(
        self,
        axis: Axis = None,
        *,
        ddof: float | None = None,
        keepdims: bool | None = None,
        dim: Axis = None,
        keepdim: bool | None = None,
        correction: float | None = None,
    ) -> Tensor:
        """The variance sum((x - mean)²) / (N - ddof) over `axis` (PyTorch: `dim`; all axes when None),
        N the number of elements reduced; `keepdims` (`keepdim`) as in sum.

        `ddof` (PyTorch: `correction`) is 0 by default, as in numpy: the biased variance.
        PyTorch's default is correction=1 (Bessel's), so torch.var(x) == x.var(ddof=1).
        N - ddof <= 0 gives inf or nan, as in both."""
        axis = _either_spelling("var", axis=axis, dim=dim)
        keepdims = _either_spelling("var", keepdims=keepdims, keepdim=keepdim, default=False)
        ddof = _either_spelling("var", ddof=ddof, correction=correction, default=0)
        mean = self.mean(axis=axis, keepdims=True)
        centered = self - mean
        count = self.size // max(mean.size, 1)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    def std(
        self,
        axis: Axis = None,
        *,
        ddof: float | None = None,
        keepdims: bool | None = None,
        dim: Axis = None,
        keepdim: bool | None = None,
        correction: float | None = None,
    ) -> Tensor:
        """The standard deviation √var, with var's arguments: `ddof` (PyTorch: `correction`) is 0
        by default as in numpy, while PyTorch's default is 1: torch.std(x) == x.std(ddof=1).
        Where the deviation is 0 (constant data) its gradient is 0, as in PyTorch, not 1/0."""
        var = self.var(axis, ddof=ddof, keepdims=keepdims, dim=dim, keepdim=keepdim, correction=correction)
        out = np.sqrt(var.data)

        def backward(g, var, out):
            zero = out == 0
            return (g * ~zero / (2 * (out + zero)),)  # 0 where out is 0 (no division by 0)

        return var._make(out, (var,), backward, "std")

    def logsumexp(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """log(sum(exp(x))) over `axis` (PyTorch: `dim`; all axes when None), `keepdims` (`keepdim`)
        as in sum. Computed as m + log(sum(exp(x - m))), m = max(x), so exp never overflows;
        the gradient is softmax(x) = exp(x - logsumexp(x))."""
        axis = _either_spelling("logsumexp", axis=axis, dim=dim)
        keepdims = _either_spelling("logsumexp", keepdims=keepdims, keepdim=keepdim, default=False)
        peak = self.data.max(axis=axis, keepdims=True)
        peak = np.where(np.isfinite(peak), peak, 0)  # all -inf (or an inf): no inf - inf
        with np.errstate(divide="ignore"):  # log(0) = -inf where every element is -inf
            out = np.log(np.exp(self.data - peak).sum(axis=axis, keepdims=True)) + peak

        def backward(g, x, result):
            return (_expand(g, x.shape, axis, keepdims) * _exp(x - result.reshape(out.shape)),)

        return self._make(out if keepdims else np.squeeze(out, axis=axis), (self,), backward, "logsumexp", (self.data,))

    # ---------------------------------------------------------------- shape ops

    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        """The same elements in a new shape, given as numbers or one tuple; one size may be -1."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            out = self.data.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {self.shape} ({self.size} elements) into {tuple(shape)}"
            ) from None
        return self._make(out, (self,), lambda g, x, out: (g.reshape(x.shape),), "reshape")

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (reverse them when none are given)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(axes) or tuple(reversed(range(self.ndim)))
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape {self.shape}"
            )
        inverse = tuple(np.argsort([a % self.ndim for a in axes]))
        return self._make(self.data.transpose(axes), (self,), lambda g, x, out: (g.transpose(inverse),), "transpose")

    T = property(lambda self: self.transpose(), doc="The tensor with its axes reversed.")

    def broadcast_to(self, *shape: int | Sequence[int]) -> Tensor:
        """The tensor stretched to `shape` by numpy's broadcasting rules (PyTorch: expand); the
        gradient sums over the stretched axes."""
        shape = tuple(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
        try:
            out = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: a tensor of shape {self.shape} cannot be broadcast to {shape}") from None
        return self._make(out, (self,), lambda g, x, out: (_unbroadcast(g, x.shape),), "broadcast_to")

    def flatten(self, start_dim: int = 1) -> Tensor:
        """Merge every axis from `start_dim` on into one: (N, C, H, W) -> (N, C*H*W)."""
        return self.reshape(self.shape[:start_dim] + (-1,))

    def squeeze(self, axis: Axis = None, *, dim: Axis = None) -> Tensor:
        """Remove axes of size 1: all of them when `axis` (PyTorch: `dim`) is None, else those
        named (an int or a tuple) that have size 1; a named axis of another size stays, as in PyTorch."""
        axis = _either_spelling("squeeze", axis=axis, dim=dim)
        if axis is None:
            named = range(self.ndim)
        else:
            named = [_normalize_dim("squeeze", a, self.shape) for a in (axis if isinstance(axis, tuple) else (axis,))]
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in named and n == 1)))

    def unsqueeze(self, axis: int | None = None, *, dim: int | None = None) -> Tensor:
        """Insert an axis of size 1 at position `axis` (PyTorch: `dim`), in [-ndim - 1, ndim];
        a negative one counts from the end of the result: unsqueeze(-1) appends an axis."""
        axis = _either_spelling("unsqueeze", axis=axis, dim=dim)
        if axis is None:
            raise TypeError("unsqueeze(): missing the position of the new axis, axis= (PyTorch: dim=)")
        axis = _normalize_dim("unsqueeze", axis, self.shape, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def split(
        self, split_size_or_sections: int | Sequence[int], axis: int | None = None, *, dim: int | None = None
    ) -> tuple[Tensor, ...]:
        """Cut into pieces along `axis` (PyTorch: `dim`; default 0); see tinynet.split."""
        return split(self, split_size_or_sections, axis, dim=dim)

    def __getitem__(self, index) -> Tensor:
        """numpy indexing: ints, slices, None, Ellipsis, integer arrays and boolean masks.
        An integer array may repeat an index; the gradients of the repeats add up."""
        index = _unwrap_index(index)
        try:
            out = self.data[index]
        except IndexError as error:
            raise IndexError(f"invalid index {index!r} for a tensor of shape {self.shape}: {error}") from None
        scatter_add = _has_integer_array(index)
        backward = lambda g, x, out: (_scatter(g, x.shape, index, scatter_add),)
        return self._make(out, (self,), backward, "index")

    # ---------------------------------------------------------------- backward pass

    def backward(
        self,
        grad: Tensor | Array | None = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        *,
        gradient: Tensor | Array | None = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires a gradient.

        `grad` (PyTorch: `gradient`) is the gradient flowing into this tensor; it may be left
        out for a one-element tensor (a loss), where it is 1.

        With `create_graph=True` the backward pass is itself recorded (each op's backward runs on
        Tensors, see the module's docstring), and `.grad` of the leaves is a Tensor in that graph,
        so a function of the gradients can be differentiated again, as in PyTorch. `retain_graph`
        is then True unless given. Hooks (`register_hook`) see each gradient on its way.

        The pass frees the graph it walks, as PyTorch's does: each op drops its inputs and the
        arrays it saved, so their memory goes back at once; the tensors keep their `.data`. A
        second backward through the same ops raises a RuntimeError; `retain_graph=True` keeps
        the graph, so that a second backward works (and adds to `.grad` again).

        Before an op's backward runs, the data of the leaves whose values it reads is checked
        against fingerprints taken in the forward pass: data changed in place since is a
        RuntimeError naming the op, for its gradient would be wrong.
        What is checked: the data of leaves, the tensors you made (`Tensor(x)` shares x, so x
        itself) and the parameters, where an op's backward reads it: mul's and matmul's inputs,
        log's, the inputs whose array a Function saves with `ctx.save_for_backward`; not add's
        inputs, whose values its backward does not read. What is not: the results of other ops
        (their `.data`, such as a ReLU's output, which its backward reads), arrays that an op
        keeps for itself (copies, such as a convolution's, or a view of an input that a Function
        saves), index and condition arrays, and a plain tensor given another array (`t.data =
        other`; a parameter copies it in place, which is caught). Checking the results too would
        cost more than 2% of the MLP's training step; this costs about 1.5%. How surely: data
        of up to 64 KiB is compared whole, so any change is caught; larger data by a sample of
        about 64 elements spread over its axes, which catches every change to all or much of it
        (an optimizer step on the parameters, a new batch written into the input's buffer,
        x /= 255, a shuffle of the rows) but may miss a change to a few elements.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require a gradient: none of its inputs had "
                "requires_grad=True (or it was computed under no_grad())"
            )
        if gradient is not None:
            grad = _either_spelling("backward", grad=grad, gradient=gradient)
        start = _initial_gradient("backward()", self, grad, create_graph)
        _backward_pass((self,), (start,), retain_graph, create_graph)

    @property
    def is_leaf(self) -> bool:
        """Whether backward() stops here: a tensor you made (or one that needs no gradient), not
        the recorded result of an op."""
        return self._backward is None

    def register_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(grad)` each time the gradient of this tensor has been computed in a backward
        pass (once, with the sum of all its contributions), before it goes on: to the tensor's op,
        or into `.grad` of a leaf. A hook that returns something other than None replaces the
        gradient with it. Hooks run in the order they were registered. `grad` is a numpy array
        (a Tensor in a backward pass with create_graph=True). Returns a handle: `.remove()`."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require a gradient, so no gradient will reach it")
        if self._hooks is None:
            self._hooks = {}
        return RemovableHandle(self._hooks, hook, "hook(grad)")

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in `.grad` after backward() (after its hooks
        have run), as a leaf's is kept; for a leaf it is kept anyway."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require a gradient, so no gradient will reach it")
        self._retains_grad = self._backward is not None

    def _apply_hooks(self, g: Array | Tensor) -> Array | Tensor:
        for hook in list(self._hooks.values()):
            replaced = hook(g)
            if replaced is None:
                continue
            if isinstance(g, Tensor) and not isinstance(replaced, Tensor):
                raise TypeError(
                    f"a hook of a tensor of shape {self.shape} returned a {type(replaced).__name__} in a backward pass "
                    "with create_graph=True, which records the gradients as Tensors: return a Tensor made with "
                    "Tensor operations (g * 10, g.clip(-1, 1)), or the gradients of gradients would be cut there"
                )
            g = replaced if isinstance(g, Tensor) else np.asarray(_as_array(replaced), dtype=self.dtype)
            if g.shape != self.shape:
                raise ValueError(f"a hook of a tensor of shape {self.shape} returned a gradient of shape {g.shape}")
        return g

    def _modified_in_place(self, data: Array) -> RuntimeError:
        """The error for `data`, the data of an input that this op's backward reads, changed in place."""
        which = next((f"input {i}" for i, parent in enumerate(self._parents) if parent.data is data), "an input")
        return RuntimeError(
            f"backward(): the data of {which} of '{self._op}' (shape {data.shape}, dtype "
            f"{data.dtype}), which its backward reads, was modified in place after the forward pass, "
            "so the gradients would be wrong. Clone it before modifying it (x = x.copy(), or "
            "Tensor(x.copy())), or modify it only after backward()"
        )

    def _accumulate_grad(self, g: Array | Tensor) -> None:
        """Add g to `.grad`: a copy of the numbers, or, in a recorded backward pass, the Tensor."""
        grad = self.grad
        if isinstance(g, Tensor):
            self.grad = g if grad is None else grad + g
        elif grad is None:
            self.grad = np.array(g, dtype=self.dtype)  # a copy: g may be shared with other nodes
        elif isinstance(grad, Tensor):
            self.grad = grad.data + g  # numbers added to a recorded gradient: numbers again
        else:
            grad += g  # in place: a parameter's gradient stays a view into model.grads


def _initial_gradient(caller: str, output: Tensor, grad, create_graph: bool) -> Array | Tensor:
    """The gradient that a backward pass starts `output` with: `grad` checked, or 1 for a
    one-element output; a Tensor when the pass is recorded."""
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: a gradient can be implied only for a one-element tensor, this "
                f"one has shape {output.shape}; pass one of that shape"
            )
        grad = np.ones_like(output.data)
    elif not (create_graph and isinstance(grad, Tensor)):
        grad = np.asarray(_as_array(grad), dtype=output.dtype)
    if grad.shape != output.shape:
        given = "grad" if caller == "backward()" else "a grad_output"
        raise ValueError(f"{caller}: {given} has shape {grad.shape} but the tensor has shape {output.shape}")
    return as_tensor(grad) if create_graph else grad


def _backward_pass(
    outputs: Sequence[Tensor],
    output_grads: Sequence[Array | Tensor],
    retain_graph: bool | None,
    create_graph: bool,
    inputs: Sequence[Tensor] | None = None,
) -> dict[int, Array | Tensor]:
    """The backward pass from `outputs`, which start with `output_grads`. Without `inputs` it
    adds the gradients of the leaves into their `.grad` (backward()); with `inputs` it touches
    no `.grad` and returns the gradient of each input that was reached, by id (tn.grad)."""
    retain_graph = create_graph if retain_graph is None else retain_graph
    check_anomaly, observers = _anomaly.enabled, _backward_observers
    order = topological_order(*outputs)
    wanted = None if inputs is None else {id(t) for t in inputs}
    leads_to_inputs = None if inputs is None else _leading_to(order, wanted)
    found: dict[int, Array | Tensor] = {}
    grads: dict[int, Array | Tensor] = {}
    for output, grad in zip(outputs, output_grads):
        grads[id(output)] = grad if id(output) not in grads else grads[id(output)] + grad
    for node in reversed(order):
        g = grads.pop(id(node), None)
        if leads_to_inputs is not None and id(node) not in leads_to_inputs:
            g = None  # no input lies behind this node: its backward need not run
        backward = node._backward
        if g is not None:
            if node._hooks:
                g = node._apply_hooks(g)
            if wanted is not None:
                if id(node) in wanted:
                    found[id(node)] = g
            elif backward is None or node._retains_grad:
                node._accumulate_grad(g)
        if backward is None:  # a leaf
            continue
        if g is not None:
            for data, fingerprint in node._saved:
                if _fingerprint(data) != fingerprint:
                    raise node._modified_in_place(data)
            if create_graph:
                input_grads = backward(g, *node._parents, node)
            else:
                input_grads = backward(g, *[parent.data for parent in node._parents], node.data)
            if check_anomaly:
                _anomaly.check_gradients(node, input_grads)
            for observe in observers:
                observe(node, g, input_grads)
            for parent, parent_grad in zip(node._parents, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                if parent_grad.shape != parent.shape:
                    raise ValueError(
                        f"backward of '{node._op}' returned a gradient of shape {parent_grad.shape} "
                        f"for an input of shape {parent.shape}"
                    )
                key = id(parent)
                grads[key] = parent_grad if key not in grads else grads[key] + parent_grad
        if not retain_graph:
            node._parents, node._backward, node._saved = (), _graph_freed, ()
    return found


def _leading_to(order: list[Tensor], targets: set[int]) -> set[int]:
    """The ids of the nodes of `order` (inputs first) that are in `targets` or have one behind them
    (or whose graph was freed: their backward says so)."""
    leading = set(targets)
    for node in order:
        if node._backward is _graph_freed or any(id(parent) in leading for parent in node._parents):
            leading.add(id(node))
    return leading


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Array | Sequence | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, as a tuple of Tensors, one per input,
    as torch.autograd.grad: the sum over the outputs of d(output)/d(input) weighted by
    `grad_outputs` (1 for one-element outputs when not given). Nothing is added to any `.grad`.

    With `create_graph=True` the backward pass is recorded, so the returned gradients can be
    differentiated again: tn.grad(tn.grad(y, x, create_graph=True)[0].sum(), x) is a row sum of
    the Hessian; `retain_graph` is then True unless given, else False (the graph is freed).
    Only the ops between the outputs and the inputs run their backward, as in PyTorch.
    An input that the outputs do not depend on is an error, or None with `allow_unused=True`."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for kind, tensors in (("outputs", outputs), ("inputs", inputs)):
        if not tensors or not all(isinstance(t, Tensor) for t in tensors):
            raise TypeError(f"grad(): {kind} must be a Tensor or a non-empty sequence of Tensors")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    elif not isinstance(grad_outputs, (list, tuple)):
        raise TypeError(
            f"grad(): grad_outputs must be a Tensor, an array or a list of them (one per output), "
            f"got {type(grad_outputs).__name__}"
        )
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one for each")
    for i, t in enumerate(outputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad(): output {i} does not require a gradient (none of its inputs did)")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require a gradient, so it has none")
    starts = [_initial_gradient("grad()", t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    found = _backward_pass(outputs, starts, retain_graph, create_graph, inputs)
    results = []
    for i, t in enumerate(inputs):
        if id(t) not in found and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i} (shape {t.shape}) was not used to compute the outputs; pass allow_unused=True "
                "to get None for it"
            )
        g = found.get(id(t))
        results.append(None if g is None else g if isinstance(g, Tensor) else Tensor(np.array(g, dtype=t.dtype)))
    return tuple(results)


def topological_order(*roots: Tensor) -> list[Tensor]:
    """Every tensor recorded in the graph of the roots, inputs before the ops that use them: a
    depth-first search that emits a node once all its inputs are emitted. It keeps its own
    stack of (node, iterator over its inputs), so a chain of any length fits."""
    order: list[Tensor] = []
    visited = {id(root) for root in roots}
    stack = [(root, iter(root._parents)) for root in reversed(roots)]
    while stack:
        node, inputs = stack[-1]
        for parent in inputs:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def as_tensor(x: Tensor | Array | float | Sequence) -> Tensor:
    """x itself if it is a Tensor, else a new Tensor of it (numpy arrays are not copied)."""
    return x if isinstance(x, Tensor) else Tensor(x)


def concatenate(tensors: Sequence[Tensor], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (PyTorch: `dim`; default 0); the gradient is split
    back at the same places."""
    axis = _either_spelling("concatenate", axis=axis, dim=dim, default=0)
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} do not match outside axis {axis}") from None
    before = (slice(None),) * (axis % out.ndim)
    ends = list(accumulate(t.shape[axis] for t in tensors))
    pieces = [before + (slice(end - t.shape[axis], end),) for t, end in zip(tensors, ends)]
    return Tensor._make(out, tensors, lambda g, *_: tuple(g[piece] for piece in pieces), "concatenate")


def stack(tensors: Sequence[Tensor], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (PyTorch: `dim`; default 0)."""
    axis = _either_spelling("stack", axis=axis, dim=dim, default=0)
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}") from None
    before = (slice(None),) * (axis % out.ndim)
    return Tensor._make(out, tensors, lambda g, *_: tuple(g[before + (i,)] for i in range(len(tensors))), "stack")


def where(condition: Tensor | Array, x: Tensor | Array | float, y: Tensor | Array | float) -> Tensor:
    """Elementwise `x if condition else y`, with broadcasting; the gradient follows the choice."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    x = as_tensor(x)
    y = x._lift(y)
    try:
        out = _select(condition, x.data, y.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {condition.shape}, {x.shape} and {y.shape} do not broadcast together"
        ) from None

    def backward(g, a, b, out):
        return _unbroadcast(_masked(g, condition), a.shape), _unbroadcast(_masked(g, ~condition), b.shape)

    return Tensor._make(out, (x, y), backward, "where")


def _extremum_of_two(a, b, pick: Callable, loses: Callable, op: str) -> Tensor:
    """maximum or minimum (`pick`): the gradient goes to the input that is picked, half to each
    on a tie, none to the one that `loses` (PyTorch's rule)."""
    a = as_tensor(a)
    b = a._lift(b)
    out = a._broadcast(b, pick, op)

    def backward(g, x, y, out):
        shared = g * _select(a.data == b.data, np.asarray(0.5, out.dtype), np.asarray(1, out.dtype))
        return (
            _unbroadcast(_masked(shared, ~loses(a.data, b.data)), a.shape),
            _unbroadcast(_masked(shared, ~loses(b.data, a.data)), b.shape),
        )

    return Tensor._make(out, (a, b), backward, op, (a.data, b.data))


def maximum(a: Tensor | Array | float, b: Tensor | Array | float) -> Tensor:
    """The larger of a and b elementwise, with broadcasting. The gradient goes to the larger;
    on a tie it is split half/half, as in PyTorch."""
    return _extremum_of_two(a, b, np.maximum, np.less, "maximum")


def minimum(a: Tensor | Array | float, b: Tensor | Array | float) -> Tensor:
    """The smaller of a and b elementwise, with broadcasting. The gradient goes to the smaller;
    on a tie it is split half/half, as in PyTorch."""
    return _extremum_of_two(a, b, np.minimum, np.greater, "minimum")


def split(
    tensor: Tensor | Array,
    split_size_or_sections: int | Sequence[int],
    axis: int | None = None,
    *,
    dim: int | None = None,
) -> tuple[Tensor, ...]:
    """Cut a tensor into pieces along `axis` (PyTorch: `dim`; default 0), as torch.split: an int
    gives pieces of that size (the last one smaller if the size does not divide), a list gives
    pieces of those sizes, which must add up to the size of the axis. The gradient of each piece
    flows back into its place in the tensor."""
    axis = _either_spelling("split", axis=axis, dim=dim, default=0)
    tensor = as_tensor(tensor)
    axis = _normalize_dim("split", axis, tensor.shape)
    length = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: the split size must be a positive integer, got {size}")
        sizes = [min(size, length - start) for start in range(0, length, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != length or min(sizes, default=0) < 0:
            raise ValueError(
                f"split: section sizes {sizes} must be non-negative and add up to {length}, "
                f"the size of axis {axis} of shape {tensor.shape}"
            )
    before = (slice(None),) * axis
    return tuple(tensor[before + (slice(end - size, end),)] for size, end in zip(sizes, accumulate(sizes)))
