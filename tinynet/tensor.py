"""Tensor: a numpy array that remembers how it was made.

Every op computes its result with numpy and, when an input needs a gradient, records the inputs
(`_parents`) and its rule (`_backward`): a function that maps the gradient of the result to the
gradients of the inputs, the chain rule for that one op, written right below its forward.
`Tensor.backward()` runs the rules over the recorded graph (tinynet/autograd.py).

Each rule is called as `rule(g, *inputs, out)`: the gradient that arrived, the op's inputs and
its result. It uses only operations that numpy arrays and Tensors share (`*`, `/`, `@`, `.sum`,
`.reshape`, `.transpose`, indexing, and the few helpers below), so one rule serves twice: a
plain backward pass gives it numpy arrays (fast, nothing recorded), and a backward pass with
`create_graph=True` gives it the Tensors themselves, so the backward pass is itself recorded
and its gradients can be differentiated again (`tn.grad`). Whatever is constant under
differentiation (a mask such as x > 0, a sign, a shape) is read from the arrays in either case.

Adding an op: docs/extending.md, "A new op".
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from itertools import accumulate

import numpy as np

from tinynet import anomaly
from tinynet.dtype import get_default_dtype
from tinynet.grad_mode import is_grad_enabled
from tinynet.graph_safety import fingerprint_leaves
from tinynet.hooks import RemovableHandle
from tinynet.in_place import InPlaceMethods
from tinynet.numpy_protocol import NumpyProtocol
from tinynet.speedups import power, select
from tinynet.tensor_methods import TensorMethods, ValuesAndIndices
from tinynet.torch_names import accepts_torch_names, normalize_dim

Array = np.ndarray
BackwardFn = Callable[..., Sequence["Array | Tensor | None"]]  # backward(g, *inputs, out)
Axis = int | tuple[int, ...] | None


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
            array = array.astype(get_default_dtype())
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


def _power(x: Array | Tensor, p: Array | Tensor) -> Array | Tensor:
    return x**p if isinstance(x, Tensor) else power(x, p)  # np.power, faster (tinynet/speedups.py)


def _masked(g: Array | Tensor, keep: Array) -> Array | Tensor:
    """g where `keep` is True, 0 elsewhere (also where g is inf or nan, unlike g * keep)."""
    return where(keep, g, 0.0) if isinstance(g, Tensor) else select(keep, g, np.zeros((), g.dtype))


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


class Tensor(TensorMethods, InPlaceMethods, NumpyProtocol):
    """An n-dimensional array with reverse-mode automatic differentiation.

    `Tensor(data, requires_grad=False)`: numpy arrays are used as they are (no copy, dtype
    kept); Python numbers and lists become arrays of the default dtype (float32).
    """

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
        """The result of an op named `op`: records `parents` and the op's rule `backward` if any
        parent needs a gradient. `saved` are the input arrays that the rule reads; for those
        that are a leaf's data, a fingerprint lets backward() catch a change in place
        (tinynet/graph_safety.py)."""
        out = Tensor.__new__(Tensor)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._op = op
        out.requires_grad, out._parents, out._backward = False, (), None
        if is_grad_enabled():
            for parent in parents:
                if parent.requires_grad:
                    out.requires_grad, out._parents, out._backward = True, parents, backward
                    if saved:
                        out._saved = fingerprint_leaves(parents, saved)
                    break
        if anomaly.enabled:
            anomaly.check_output(out)
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

    def __bool__(self) -> bool:
        """The truth of a one-element tensor's value (`if loss:`); more than one value is an error, as in PyTorch."""
        if self.data.size != 1:
            many = "no values" if self.data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {many} is ambiguous")
        return bool(self.data)

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy of a leaf tensor, its data and gradient copied; a recorded result is refused, as in PyTorch."""
        if not self.is_leaf:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy protocol: "
                "this one is the result of an op in a recorded graph. Deep-copy t.detach() instead"
            )
        copied = memo[id(self)] = type(self).__new__(type(self))
        copied.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return copied

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
        out = self._broadcast(exponent, power, "pow")  # np.power, faster (tinynet/speedups.py)

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

    __abs__ = abs  # abs(t)

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

    # ---------------------------------------------------------------- reductions (PyTorch's dim= and keepdim= work too)

    @accepts_torch_names
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The sum over `axis` (all axes when None); `keepdims` keeps the summed axes with size 1."""
        out = self.data.sum(axis=axis, keepdims=keepdims)
        return self._make(out, (self,), lambda g, x, out: (_expand(g, x.shape, axis, keepdims),), "sum")

    @accepts_torch_names
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The mean over `axis` (all axes when None), `keepdims` as in sum. Each averaged element
        gets the gradient g / (number averaged)."""
        out = self.data.mean(axis=axis, keepdims=keepdims)
        count = self.data.size // max(np.size(out), 1)
        return self._make(out, (self,), lambda g, x, out: (_expand(g / count, x.shape, axis, keepdims),), "mean")

    @accepts_torch_names
    def max(self, axis: int | None = None, keepdims: bool = False) -> Tensor | ValuesAndIndices:
        """The largest element; along an `axis` (PyTorch: `dim`), PyTorch's (values, indices), the
        gradient going to the element each index picks. For numpy's max over axes, see amax."""
        return self._extremum("max", np.max, None) if axis is None else self._along("max", np.argmax, axis, keepdims)

    @accepts_torch_names
    def min(self, axis: int | None = None, keepdims: bool = False) -> Tensor | ValuesAndIndices:
        """The smallest element; along an `axis` (PyTorch: `dim`), PyTorch's (values, indices), the
        gradient going to the element each index picks. For numpy's min over axes, see amin."""
        return self._extremum("min", np.min, None) if axis is None else self._along("min", np.argmin, axis, keepdims)

    @accepts_torch_names
    def amax(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The largest element(s) over `axis` (all axes when None), `keepdims` as in sum; numpy's
        max. Tied maxima share the gradient equally, so it sums to the incoming one."""
        return self._extremum("max", np.max, axis, keepdims)

    @accepts_torch_names
    def amin(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The smallest element(s) over `axis` (all axes when None), `keepdims` as in sum; numpy's
        min. Tied minima share the gradient equally, as in amax."""
        return self._extremum("min", np.min, axis, keepdims)

    def _along(self, op: str, find_index: Callable, axis: int, keepdims: bool) -> ValuesAndIndices:
        """(values, indices) of the extremum along one axis: the values picked by indexing."""
        if not isinstance(axis, (int, np.integer)):
            raise TypeError(f"{op}(dim) takes one dim, as in PyTorch, got {axis!r}; over several, use a{op}(dims)")
        axis = normalize_dim(op, axis, self.shape)
        indices = find_index(self.data, axis=axis)
        grid = list(np.indices(indices.shape, sparse=True))
        values = self[tuple(grid[:axis] + [indices] + grid[axis:])]
        if keepdims:
            values, indices = values.unsqueeze(axis), np.expand_dims(indices, axis)
        return ValuesAndIndices(values, Tensor(indices))

    def _extremum(self, op: str, find: Callable, axis: Axis, keepdims: bool = False) -> Tensor:
        """max or min (`find`): the gradient goes to the elements equal to the result, split equally."""
        out = find(self.data, axis=axis, keepdims=True)

        def backward(g, x, result):
            is_extreme = self.data == out
            share = is_extreme / is_extreme.sum(axis=axis, keepdims=True).astype(self.dtype)
            return (_expand(g, x.shape, axis, keepdims) * share,)

        return self._make(out if keepdims else np.squeeze(out, axis=axis), (self,), backward, op, (self.data,))

    @accepts_torch_names
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over `axis` (all axes when None), `keepdims` as in sum. Computed as
        m + log(sum(exp(x - m))), m = max(x), so exp never overflows; the gradient is
        softmax(x) = exp(x - logsumexp(x))."""
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

    def permute(self, *axes: int | Sequence[int]) -> Tensor:
        """The axes in a new order, given as numbers or one tuple: permute(2, 0, 1) puts axis 2 first."""
        axes = tuple(axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes)
        if sorted(a % max(self.ndim, 1) for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes of shape {self.shape}")
        inverse = tuple(np.argsort([a % self.ndim for a in axes]))
        return self._make(self.data.transpose(axes), (self,), lambda g, x, out: (g.transpose(inverse),), "transpose")

    def transpose(self, *axes: int | Sequence[int]) -> Tensor:
        """PyTorch's transpose(dim0, dim1): those two axes swapped. numpy's forms permute the axes:
        one tuple of them all, three or more numbers, or none (the axes reversed)."""
        if len(axes) == 2 and all(isinstance(a, (int, np.integer)) for a in axes):
            order = list(range(self.ndim))
            first, second = (normalize_dim("transpose", a, self.shape) for a in axes)
            order[first], order[second] = order[second], order[first]
            return self.permute(order)
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return self.permute(tuple(axes) or tuple(reversed(range(self.ndim))))

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
        """Accumulate d(self)/d(leaf) into `.grad` of every leaf that requires a gradient
        (tinynet/autograd.py: the chain rule over the recorded graph).

        `grad` (PyTorch: `gradient`) is the gradient flowing into this tensor; it may be left
        out for a one-element tensor (a loss), where it is 1.

        The pass frees the graph it walks, as PyTorch's does: each op drops its inputs and the
        arrays it saved, so their memory goes back at once (the tensors keep their `.data`), and
        a second backward through the same ops raises a RuntimeError; `retain_graph=True` keeps
        the graph. With `create_graph=True` the pass is itself recorded and `.grad` of the leaves
        is a Tensor in that graph, to differentiate again (`retain_graph` is then True unless
        given). Hooks (`register_hook`) see each gradient on its way. A leaf's data that an op
        reads, changed in place since the forward pass, is an error (tinynet/graph_safety.py).
        """
        from tinynet.autograd import backward

        if gradient is not None:
            if grad is not None:
                raise TypeError(
                    f"backward(): got both grad={grad!r} and gradient={gradient!r}; they are tinynet's and "
                    "PyTorch's names for one argument, give one"
                )
            grad = gradient
        backward(self, grad, retain_graph, create_graph)

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


def as_tensor(x: Tensor | Array | float | Sequence) -> Tensor:
    """x itself if it is a Tensor, else a new Tensor of it (numpy arrays are not copied)."""
    return x if isinstance(x, Tensor) else Tensor(x)


@accepts_torch_names
def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (PyTorch: `dim`); the gradient is split back at the
    same places."""
    tensors = tuple(as_tensor(t) for t in tensors)
    try:
        out = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} do not match outside axis {axis}") from None
    before = (slice(None),) * (axis % out.ndim)
    ends = list(accumulate(t.shape[axis] for t in tensors))
    pieces = [before + (slice(end - t.shape[axis], end),) for t, end in zip(tensors, ends)]
    return Tensor._make(out, tensors, lambda g, *_: tuple(g[piece] for piece in pieces), "concatenate")


@accepts_torch_names
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis (PyTorch: `dim`); the gradient is cut back along it."""
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
        out = select(condition, x.data, y.data)  # np.where, faster (tinynet/speedups.py)
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
        shared = g * select(a.data == b.data, np.asarray(0.5, out.dtype), np.asarray(1, out.dtype))
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
