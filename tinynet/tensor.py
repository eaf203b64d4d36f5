"""Tensor: a numpy array that remembers how it was made, and reverse-mode autodiff.

Every operation computes its result with numpy and, when an input needs a gradient, records
the inputs (`_parents`) and a `backward` closure that maps the gradient of the result to the
gradients of the inputs (the chain rule for that one op). `Tensor.backward()` then walks the
recorded graph from the output back to the leaves in reverse topological order, and frees it
as it goes (unless `retain_graph=True`).

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

Array = np.ndarray
BackwardFn = Callable[[Array], Sequence["Array | None"]]
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


def _unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum `grad` over the axes that broadcasting stretched, so that it has `shape` again."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def _expand(grad: Array, shape: tuple[int, ...], axis, keepdims: bool) -> Array:
    """Undo a reduction: give the reduced axes back to `grad` and broadcast it to `shape`."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


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


def _graph_freed(_: Array) -> Sequence[Array | None]:
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

        def backward(g):
            return _unbroadcast(g, self.shape), _unbroadcast(g, other.shape)

        return self._make(out, (self, other), backward, "add")

    def __sub__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.subtract, "sub")

        def backward(g):
            return _unbroadcast(g, self.shape), _unbroadcast(-g, other.shape)

        return self._make(out, (self, other), backward, "sub")

    def __mul__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.multiply, "mul")

        def backward(g):
            return _unbroadcast(g * other.data, self.shape), _unbroadcast(g * self.data, other.shape)

        return self._make(out, (self, other), backward, "mul", (self.data, other.data))

    def __truediv__(self, other) -> Tensor:
        other = self._lift(other)
        out = self._broadcast(other, np.divide, "div")

        def backward(g):
            g_over_b = g / other.data
            return _unbroadcast(g_over_b, self.shape), _unbroadcast(-g_over_b * out, other.shape)

        return self._make(out, (self, other), backward, "div", (other.data,))

    def __pow__(self, exponent) -> Tensor:
        """x ** p. d/dx = p x^(p-1); d/dp = x^p log x (only computed when p needs a gradient)."""
        exponent = self._lift(exponent)
        out = self._broadcast(exponent, np.power, "pow")

        def backward(g):
            x, p = self.data, exponent.data
            grad_x = _unbroadcast(g * p * x ** (p - 1), self.shape)
            grad_p = _unbroadcast(g * out * np.log(x), exponent.shape) if exponent.requires_grad else None
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
        return self._make(-self.data, (self,), lambda g: (-g,), "neg")

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

        def backward(g):
            a2 = a.reshape(1, -1) if a.ndim == 1 else a  # numpy's 1-D promotion, made explicit
            b2 = b.reshape(-1, 1) if b.ndim == 1 else b
            g2 = g.reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
            grad_a = (
                _unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape) if self.requires_grad else None
            )
            grad_b = (
                _unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape) if other.requires_grad else None
            )
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
        return self._make(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> Tensor:
        """The natural logarithm elementwise; its gradient is 1/x."""
        return self._make(np.log(self.data), (self,), lambda g: (g / self.data,), "log", (self.data,))

    def sqrt(self) -> Tensor:
        """√x elementwise; its gradient is 1 / (2√x)."""
        out = np.sqrt(self.data)
        return self._make(out, (self,), lambda g: (g / (2 * out),), "sqrt")

    def abs(self) -> Tensor:
        """|x|; its gradient sign(x) is 0 at x = 0, as in PyTorch."""
        return self._make(np.abs(self.data), (self,), lambda g: (g * np.sign(self.data),), "abs", (self.data,))

    def tanh(self) -> Tensor:
        """The hyperbolic tangent elementwise; its gradient is 1 - tanh²(x)."""
        out = np.tanh(self.data)
        return self._make(out, (self,), lambda g: (g * (1 - out * out),), "tanh")

    def sigmoid(self) -> Tensor:
        """1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows."""
        out = 0.5 * (1 + np.tanh(0.5 * self.data))
        return self._make(out, (self,), lambda g: (g * out * (1 - out),), "sigmoid")

    def relu(self) -> Tensor:
        """max(x, 0) elementwise; its gradient is 1 where x > 0, else 0."""
        out = np.clip(self.data, 0, np.inf)  # max(x, 0); numpy vectorizes clip, not maximum with a scalar: 2x faster
        return self._make(out, (self,), lambda g: (g * (out > 0),), "relu")

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """x limited to [min, max] elementwise (one bound may be None); PyTorch calls it clamp.
        The gradient is 1 where min <= x <= max, else 0, as torch.clamp's."""
        if min is None and max is None:
            raise ValueError("clip: give min, max or both; with neither there is nothing to clip")
        low, high = -np.inf if min is None else min, np.inf if max is None else max
        inside = (self.data >= low) & (self.data <= high)
        return self._make(np.clip(self.data, min, max), (self,), lambda g: (g * inside,), "clip")

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
        return self._make(out, (self,), lambda g: (_expand(g, self.shape, axis, keepdims),), "sum")

    def mean(
        self, axis: Axis = None, keepdims: bool | None = None, *, dim: Axis = None, keepdim: bool | None = None
    ) -> Tensor:
        """The mean over `axis` (PyTorch: `dim`; all axes when None), `keepdims` (`keepdim`) as in sum.
        Each averaged element gets the gradient g / (number averaged)."""
        axis = _either_spelling("mean", axis=axis, dim=dim)
        keepdims = _either_spelling("mean", keepdims=keepdims, keepdim=keepdim, default=False)
        out = self.data.mean(axis=axis, keepdims=keepdims)
        count = self.data.size // max(np.size(out), 1)
        return self._make(out, (self,), lambda g: (_expand(g / count, self.shape, axis, keepdims),), "mean")

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

        def backward(g):
            is_extreme = self.data == out
            share = is_extreme / is_extreme.sum(axis=axis, keepdims=True).astype(self.dtype)
            return (_expand(g, self.shape, axis, keepdims) * share,)

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

        def backward(g):
            nonzero = out > 0
            return (np.where(nonzero, g / (2 * np.where(nonzero, out, 1)), 0).astype(out.dtype),)

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

        def backward(g):
            return (_expand(g, self.shape, axis, keepdims) * np.exp(self.data - out),)

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
        return self._make(out, (self,), lambda g: (g.reshape(self.shape),), "reshape")

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """Permute the axes (reverse them when none are given)."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        axes = tuple(axes) or tuple(reversed(range(self.ndim)))
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(
                f"transpose: axes {axes} are not a permutation of the {self.ndim} axes of shape {self.shape}"
            )
        inverse = tuple(np.argsort([a % self.ndim for a in axes]))
        return self._make(self.data.transpose(axes), (self,), lambda g: (g.transpose(inverse),), "transpose")

    T = property(lambda self: self.transpose(), doc="The tensor with its axes reversed.")

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

        def backward(g):
            grad = np.zeros_like(self.data)
            if scatter_add:
                np.add.at(grad, index, g)
            else:
                grad[index] = g
            return (grad,)

        return self._make(out, (self,), backward, "index")

    # ---------------------------------------------------------------- backward pass

    def backward(self, grad: Tensor | Array | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires a gradient.

        `grad` is the gradient flowing into this tensor; it may be left out for a one-element
        tensor (a loss), where it is 1.

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
        if grad is None:
            if self.size != 1:
                raise RuntimeError(
                    f"backward(): a gradient can be implied only for a one-element tensor, this "
                    f"one has shape {self.shape}; pass backward(grad) with an array of that shape"
                )
            grad = np.ones_like(self.data)
        else:
            grad = np.asarray(_as_array(grad), dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad.shape} but the tensor has shape {self.shape}")

        check_anomaly = _anomaly.enabled
        grads = {id(self): grad}
        for node in reversed(topological_order(self)):
            g = grads.pop(id(node), None)
            backward = node._backward
            if backward is None:  # a leaf
                if g is not None:
                    node._accumulate_grad(g)
                continue
            if g is not None:
                for data, fingerprint in node._saved:
                    if _fingerprint(data) != fingerprint:
                        raise node._modified_in_place(data)
                input_grads = backward(g)
                if check_anomaly:
                    _anomaly.check_gradients(node, input_grads)
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

    def _modified_in_place(self, data: Array) -> RuntimeError:
        """The error for `data`, the data of an input that this op's backward reads, changed in place."""
        which = next((f"input {i}" for i, parent in enumerate(self._parents) if parent.data is data), "an input")
        return RuntimeError(
            f"backward(): the data of {which} of '{self._op}' (shape {data.shape}, dtype "
            f"{data.dtype}), which its backward reads, was modified in place after the forward pass, "
            "so the gradients would be wrong. Clone it before modifying it (x = x.copy(), or "
            "Tensor(x.copy())), or modify it only after backward()"
        )

    def _accumulate_grad(self, g: Array) -> None:
        if self.grad is None:
            self.grad = np.array(g, dtype=self.dtype)  # a copy: g may be shared with other nodes
        else:
            self.grad += g


def topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor recorded in the graph of `root`, inputs before the ops that use them: a
    depth-first search that emits a node once all its inputs are emitted. It keeps its own
    stack of (node, iterator over its inputs), so a chain of any length fits."""
    order: list[Tensor] = []
    visited = {id(root)}
    stack = [(root, iter(root._parents))]
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
    boundaries = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor._make(out, tensors, lambda g: tuple(np.split(g, boundaries, axis=axis)), "concatenate")


def stack(tensors: Sequence[Tensor], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new axis (PyTorch: `dim`; default 0)."""
    axis = _either_spelling("stack", axis=axis, dim=dim, default=0)
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"stack: all tensors need the same shape, got {[t.shape for t in tensors]}") from None
    return Tensor._make(out, tensors, lambda g: tuple(np.moveaxis(g, axis, 0)), "stack")


def where(condition: Tensor | Array, x: Tensor | Array | float, y: Tensor | Array | float) -> Tensor:
    """Elementwise `x if condition else y`, with broadcasting; the gradient follows the choice."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    x = as_tensor(x)
    y = x._lift(y)
    try:
        out = np.where(condition, x.data, y.data)
    except ValueError:
        raise ValueError(
            f"where: shapes {condition.shape}, {x.shape} and {y.shape} do not broadcast together"
        ) from None

    def backward(g):
        zero = np.zeros((), dtype=g.dtype)
        return (
            _unbroadcast(np.where(condition, g, zero), x.shape),
            _unbroadcast(np.where(condition, zero, g), y.shape),
        )

    return Tensor._make(out, (x, y), backward, "where")


def _extremum_of_two(a, b, pick: Callable, loses: Callable, op: str) -> Tensor:
    """maximum or minimum (`pick`): the gradient goes to the input that is picked, half to each
    on a tie, none to the one that `loses` (PyTorch's rule)."""
    a = as_tensor(a)
    b = a._lift(b)
    out = a._broadcast(b, pick, op)

    def backward(g):
        shared = np.where(a.data == b.data, g / 2, g)
        return (
            _unbroadcast(np.where(loses(a.data, b.data), 0, shared), a.shape),
            _unbroadcast(np.where(loses(b.data, a.data), 0, shared), b.shape),
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
