"""More Tensor methods, built on the core ops of tinynet/tensor.py: the conveniences that PyTorch
and numpy users reach for. Tensor inherits them (`class Tensor(TensorMethods)`), so they read
as methods, while tensor.py keeps only the ops a newcomer reads first.
"""

from __future__ import annotations

import math
import operator
from collections import namedtuple
from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from tinynet.torch_names import accepts_torch_names, normalize_dim

Axis = int | tuple[int, ...] | None

ValuesAndIndices = namedtuple("ValuesAndIndices", ["values", "indices"])
ValuesAndIndices.__doc__ = "What max, min, sort and topk along a dim return, as PyTorch: `values, indices = x.sort()`."


class Size(int):
    """A tensor's number of elements (numpy's `x.size`, an int) that, called, is PyTorch's
    `x.size()`: the shape, or with a dim the length of that axis (`x.size(0)`)."""

    def __new__(cls, shape: tuple[int, ...]) -> Size:
        size = super().__new__(cls, math.prod(shape))
        size.shape = shape
        return size

    def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
        return self.shape if dim is None else self.shape[normalize_dim("size", dim, self.shape)]


class TensorMethods:
    """Methods of Tensor made of its core ops (reshape, indexing, sum, mean, sqrt, ...)."""

    @accepts_torch_names
    def argmax(self, axis: int | None = None, keepdims: bool = False):
        """The int64 index of the largest element along `axis` (of the flattened tensor when
        None), the first one on a tie. No gradient: the result is outside the graph."""
        return self._arg_extremum("argmax", np.argmax, axis, keepdims)

    @accepts_torch_names
    def argmin(self, axis: int | None = None, keepdims: bool = False):
        """The int64 index of the smallest element along `axis` (of the flattened tensor when
        None), the first one on a tie. No gradient: the result is outside the graph."""
        return self._arg_extremum("argmin", np.argmin, axis, keepdims)

    def _arg_extremum(self, op: str, find, axis: int | None, keepdims: bool):
        if axis is not None:
            axis = normalize_dim(op, axis, self.shape)
        return type(self)(np.asarray(find(self.data, axis=axis, keepdims=keepdims), dtype=np.int64))

    @accepts_torch_names
    def var(self, axis: Axis = None, *, ddof: float = 1, keepdims: bool = False):
        """The variance sum((x - mean)²) / (N - ddof) over `axis` (all axes when None), N the
        number of elements reduced; `keepdims` as in sum.

        `ddof` (PyTorch: `correction`) is 1 by default, as in PyTorch (Bessel's correction, the
        unbiased estimate); numpy's np.var divides by N: x.var(ddof=0).
        N - ddof <= 0 gives inf or nan, as in both."""
        mean = self.mean(axis=axis, keepdims=True)
        centered = self - mean
        count = self.size // max(mean.size, 1)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    @accepts_torch_names
    def std(self, axis: Axis = None, *, ddof: float = 1, keepdims: bool = False):
        """The standard deviation √var, with var's arguments: `ddof` (PyTorch: `correction`) is 1
        by default, as in PyTorch; numpy's np.std is x.std(ddof=0).
        Where the deviation is 0 (constant data) its gradient is 0, as in PyTorch, not 1/0."""
        var = self.var(axis, ddof=ddof, keepdims=keepdims)
        out = np.sqrt(var.data)

        def backward(g, var, out):
            zero = out == 0
            return (g * ~zero / (2 * (out + zero)),)  # 0 where out is 0 (no division by 0)

        return var._make(out, (var,), backward, "std")

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        """Merge the axes from `start_dim` to `end_dim` into one, as PyTorch's (and numpy's, by
        default: everything); x.flatten(1) turns (N, C, H, W) into (N, C*H*W)."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = normalize_dim("flatten", start_dim, self.shape), normalize_dim("flatten", end_dim, self.shape)
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1 :])

    @accepts_torch_names
    def squeeze(self, axis: Axis = None):
        """Remove axes of size 1: all of them when `axis` (PyTorch: `dim`) is None, else those
        named (an int or a tuple) that have size 1; a named axis of another size stays, as in PyTorch."""
        if axis is None:
            named = range(self.ndim)
        else:
            named = [normalize_dim("squeeze", a, self.shape) for a in (axis if isinstance(axis, tuple) else (axis,))]
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in named and n == 1)))

    @accepts_torch_names
    def unsqueeze(self, axis: int | None = None):
        """Insert an axis of size 1 at position `axis` (PyTorch: `dim`), in [-ndim - 1, ndim];
        a negative one counts from the end of the result: unsqueeze(-1) appends an axis."""
        if axis is None:
            raise TypeError("unsqueeze(): missing the position of the new axis, axis= (PyTorch: dim=)")
        axis = normalize_dim("unsqueeze", axis, self.shape, self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    @accepts_torch_names
    def split(self, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple:
        """Cut into pieces along `axis` (PyTorch: `dim`); see tinynet.split."""
        return split(self, split_size_or_sections, axis)

    # ---------------------------------------------------------------- PyTorch's everyday methods

    size = property(lambda self: Size(self.shape), doc="The number of elements; called, the shape: see Size.")

    def numel(self) -> int:
        """The number of elements (PyTorch's name for numpy's `size`)."""
        return self.data.size

    def tolist(self) -> list | float | int | bool:
        """The elements as nested Python lists of Python numbers (a number for a 0-dim tensor)."""
        return self.data.tolist()

    def __format__(self, format_spec: str) -> str:
        """f"{loss:.3f}": a one-element tensor formats as its number; with no format spec, any
        tensor formats as str(tensor)."""
        if not format_spec:
            return str(self)
        if self.data.size != 1:
            raise TypeError(
                f"cannot format a tensor of shape {self.shape} with {format_spec!r}: only a one-element tensor "
                "formats as a number; format its elements (t.tolist()) or a reduction of it (t.mean().item())"
            )
        return format(self.data.item(), format_spec)

    def clone(self):
        """A copy of the data, in the graph: the gradient passes through unchanged (PyTorch's clone)."""
        return self._make(self.data.copy(), (self,), lambda g, x, out: (g,), "clone")

    def view(self, *shape: int | Sequence[int]):
        """PyTorch's view: the same elements in a new shape, as reshape (numpy shares the data where it can)."""
        return self.reshape(*shape)

    def contiguous(self):
        """The tensor itself, as PyTorch's contiguous() of a contiguous tensor: PyTorch needs it before
        view() after a transpose (x.transpose(1, 2).contiguous().view(B, T, C)); tinynet's view
        copies where numpy must, so the values are the same either way."""
        return self

    def expand(self, *sizes: int | Sequence[int]):
        """The tensor stretched to `sizes` (numbers or one tuple), as PyTorch's expand: -1 keeps an
        axis's size, an axis of size 1 takes any size, and extra sizes in front add axes. It is
        broadcast_to, so the gradient sums over the stretched axes."""
        sizes = _integers("expand", sizes)
        added = len(sizes) - self.ndim
        if added < 0:
            raise ValueError(
                f"expand: {len(sizes)} sizes {sizes} for a tensor of shape {self.shape}; give one per axis"
            )
        target = []
        for i, size in enumerate(sizes):
            old = self.shape[i - added] if i >= added else None
            if size == -1 and old is None:
                raise ValueError(
                    f"expand: -1 (keep the size) at axis {i} of {sizes}, a new axis that has no size to keep"
                )
            if size != -1 and (size < 0 or old not in (None, 1, size)):
                raise ValueError(
                    f"expand: size {size} at axis {i} of {sizes} for a tensor of shape {self.shape}: only an axis of "
                    "size 1 can be stretched, the others keep their size (or -1)"
                )
            target.append(old if size == -1 else size)
        return self.broadcast_to(tuple(target))

    def repeat(self, *sizes: int | Sequence[int]):
        """The tensor tiled sizes[i] times along axis i, as PyTorch's repeat (numpy's tile): extra
        sizes in front add axes. Each element's gradient is the sum of g over its copies."""
        sizes = _integers("repeat", sizes)
        if len(sizes) < self.ndim or min(sizes, default=0) < 0:
            raise ValueError(
                f"repeat: sizes {sizes} for a tensor of shape {self.shape}: give a non-negative count for each "
                f"of its {self.ndim} axes (extra counts in front add axes)"
            )
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        out = np.tile(self.data.reshape(shape), sizes)
        copies_and_axes = tuple(n for pair in zip(sizes, shape) for n in pair)  # out as (r0, n0, r1, n1, ...)

        def backward(g, x, out):
            return (g.reshape(copies_and_axes).sum(axis=tuple(range(0, len(copies_and_axes), 2))).reshape(x.shape),)

        return self._make(out, (self,), backward, "repeat")

    def flip(self, *dims: int | Sequence[int]):
        """The tensor with its elements in reverse order along `dims` (numbers or one tuple), as
        PyTorch's flip: indexing with reversed slices, so the gradient is flipped back."""
        if not dims:
            raise TypeError("flip(): missing the dims to reverse, e.g. x.flip(0) or x.flip((0, 1))")
        axes = [normalize_dim("flip", d, self.shape) for d in _integers("flip", dims)]
        if len(set(axes)) != len(axes):
            raise ValueError(f"flip: dims {tuple(dims)} name an axis more than once")
        return self[tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(self.ndim))]

    @accepts_torch_names
    def chunk(self, chunks: int, axis: int = 0) -> tuple:
        """Cut into `chunks` pieces along `axis` (PyTorch: `dim`), as PyTorch's chunk: each piece
        ceil(n / chunks) long and the last one shorter, so there may be fewer than `chunks`."""
        if operator.index(chunks) < 1:
            raise ValueError(f"chunk: chunks must be a positive integer, got {chunks}")
        length = self.shape[normalize_dim("chunk", axis, self.shape)]
        return split(self, -(-length // chunks) if length else [0] * chunks, axis)

    @accepts_torch_names
    def cumsum(self, axis: int | None = None):
        """Running sums along `axis` (PyTorch: `dim`, required): out[i] = x[0] + ... + x[i]. x[i]
        is in every out[j] with j >= i, so its gradient is g[i] + ... + g[n-1], g's running sum
        taken from the end."""
        axis = normalize_dim("cumsum", _required_axis("cumsum", axis), self.shape)
        reverse = tuple(slice(None, None, -1) if i == axis else slice(None) for i in range(self.ndim))
        return self._make(
            self.data.cumsum(axis), (self,), lambda g, x, out: (g[reverse].cumsum(axis)[reverse],), "cumsum"
        )

    @accepts_torch_names
    def norm(self, p: float | str = "fro", axis: Axis = None, keepdims: bool = False):
        """The p-norm over `axis` (all axes when None), as PyTorch's Tensor.norm: "fro" and 2 give
        √(Σ x²), 1 gives Σ |x|, inf the largest |x|, -inf the smallest, any other p >= 1
        (Σ |x|^p)^(1/p). The gradient is g · sign(x) |x|^(p-1) / norm^(p-1), and 0 where the
        norm is 0 (the subgradient PyTorch picks), not 0/0."""
        p = 2 if p == "fro" else p
        if isinstance(p, str) or not (p >= 1 or p == -np.inf):
            raise ValueError(f"norm: p must be 'fro', a number >= 1, inf or -inf; got {p!r}")
        if np.isinf(p):
            return self.abs().amax(axis, keepdims) if p > 0 else self.abs().amin(axis, keepdims)
        out = (np.abs(self.data) ** p).sum(axis=axis, keepdims=True) ** (1 / p)
        sign, zero = np.sign(self.data), out == 0

        def backward(g, x, norm):
            g, norm = g.reshape(out.shape), norm.reshape(out.shape)
            return (g * sign * abs(x) ** (p - 1) / (norm + zero) ** (p - 1),)  # x = 0 where norm = 0: 0 / 1

        return self._make(out if keepdims else np.squeeze(out, axis=axis), (self,), backward, "norm", (self.data,))

    @accepts_torch_names
    def argsort(self, axis: int = -1, descending: bool = False):
        """The int64 indices that sort the tensor along `axis` (PyTorch: `dim`), ascending or
        `descending`; equal elements keep their order, NaN counts as the largest (as in PyTorch).
        No gradient: the result is outside the graph."""
        axis = normalize_dim("argsort", axis, self.shape)
        if not descending:
            return type(self)(np.argsort(self.data, axis=axis, kind="stable"))
        # a stable ascending sort of the reversed elements, reversed back: largest first, ties in order
        reverse = tuple(slice(None, None, -1) if i == axis else slice(None) for i in range(self.ndim))
        order = self.shape[axis] - 1 - np.argsort(self.data[reverse], axis=axis, kind="stable")
        return type(self)(order[reverse])

    @accepts_torch_names
    def sort(self, axis: int = -1, descending: bool = False) -> ValuesAndIndices:
        """(values, indices): the elements sorted along `axis` (PyTorch: `dim`) and where they came
        from, as argsort orders them. The values are gathered, so their gradient goes back to
        where each came from."""
        indices = self.argsort(axis, descending)
        return ValuesAndIndices(self.gather(axis, indices), indices)

    @accepts_torch_names
    def topk(self, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> ValuesAndIndices:
        """(values, indices) of the k largest elements along `axis` (PyTorch: `dim`), or the k
        smallest if not `largest`; always in sorted order (which `sorted=False` allows too)."""
        axis = normalize_dim("topk", axis, self.shape)
        if not 0 <= operator.index(k) <= self.shape[axis]:
            raise ValueError(
                f"topk: k={k} is out of range for axis {axis} of shape {self.shape} (0 to {self.shape[axis]})"
            )
        first_k = (slice(None),) * axis + (slice(0, k),)
        indices = type(self)(self.argsort(axis, descending=largest).data[first_k])
        return ValuesAndIndices(self.gather(axis, indices), indices)

    @accepts_torch_names
    def gather(self, axis: int, index):
        """PyTorch's gather: out[i][j] = x[index[i][j]][j] for axis 0, x[i][index[i][j]] for axis 1,
        and so on; `index` (integers) has x's number of axes and is no longer than x along the
        others. It is indexing, so the gradient adds g back where it was gathered from."""
        return self[_positions("gather", self.shape, axis, index)]

    @accepts_torch_names
    def scatter(self, axis: int, index, src):
        """PyTorch's out-of-place scatter: a copy of x with out[index[i][j]][j] = src[i][j] for
        axis 0 (and so on); `src` is a tensor of x's dtype, no smaller than `index`, or a number.
        Where an index repeats, the last write wins (PyTorch leaves it undefined). The gradient is
        g to x, except where it was overwritten, and g[index] to src."""
        return self._scatter_src("scatter", axis, index, src, add=False)

    @accepts_torch_names
    def scatter_add(self, axis: int, index, src):
        """PyTorch's out-of-place scatter_add: a copy of x with src[i][j] added onto
        out[index[i][j]][j] for axis 0 (and so on), repeated indices adding up. The gradient is g
        to x and g[index] to src."""
        return self._scatter_src("scatter_add", axis, index, src, add=True)

    def _scatter_src(self, op: str, axis: int, index, src, add: bool):
        places = _positions(op, self.shape, axis, index)
        src = self._scatter_source(op, src, places[axis].shape)
        out = self.data.copy()
        if add:
            np.add.at(out, places, src.data)
            return self._make(out, (self, src), lambda g, x, source, out: (g, g[places]), "scatter_add")
        out[places] = src.data
        kept = np.ones(self.shape, dtype=bool)
        kept[places] = False  # the places src overwrote get no gradient
        return self._make(out, (self, src), lambda g, x, source, out: (g * kept, g[places]), "scatter_write")

    def _scatter_source(self, op: str, src, shape: tuple[int, ...]):
        """`src` as a tensor of `shape`: a number filled in, or the first elements of a tensor."""
        if isinstance(src, (int, float, np.number)):
            return type(self)(np.full(shape, src, dtype=self.dtype))
        src = src if isinstance(src, TensorMethods) else type(self)(np.asarray(src))
        if src.dtype != self.dtype:
            raise TypeError(f"{op}: src has dtype {src.dtype}, the tensor {self.dtype}; they must be the same")
        if src.ndim != len(shape) or any(s < n for s, n in zip(src.shape, shape)):
            raise ValueError(
                f"{op}: src of shape {src.shape} is smaller than index of shape {shape} (or has another number of axes)"
            )
        return src if src.shape == shape else src[tuple(slice(0, n) for n in shape)]

    def masked_fill(self, mask, value):
        """x with `value` where the boolean `mask` (broadcast to x's shape) is True, as PyTorch's
        masked_fill; `value` is a number or a 0-dim tensor. The gradient is g where the mask is
        False (and, to a tensor value, the sum of g where it is True)."""
        from tinynet.tensor import where

        mask = np.asarray(mask.data if isinstance(mask, TensorMethods) else mask)
        if mask.dtype != bool:
            raise TypeError(f"masked_fill: the mask must be boolean (e.g. x > 0), got dtype {mask.dtype}")
        if _broadcast_shape(mask.shape, self.shape) != self.shape:
            raise ValueError(
                f"masked_fill: a mask of shape {mask.shape} does not broadcast to the tensor's shape {self.shape}"
            )
        if isinstance(value, TensorMethods) and value.ndim != 0:
            raise ValueError(
                f"masked_fill: value must be a number or a 0-dim tensor, got a tensor of shape {value.shape}"
            )
        value = value.astype(self.dtype) if isinstance(value, TensorMethods) else np.asarray(value, dtype=self.dtype)
        return where(mask, value, self)

    def tril(self, diagonal: int = 0):
        """The lower triangle of each matrix (the last two axes), as PyTorch's tril: the elements on
        and below diagonal number `diagonal` (0 the main one, 1 the one above it, -1 below), 0
        elsewhere. The gradient is g in the triangle, 0 elsewhere."""
        return self._triangle("tril", diagonal, lower=True)

    def triu(self, diagonal: int = 0):
        """The upper triangle of each matrix (the last two axes), as PyTorch's triu: the elements on
        and above diagonal number `diagonal`, 0 elsewhere; the gradient is g in the triangle."""
        return self._triangle("triu", diagonal, lower=False)

    def _triangle(self, op: str, diagonal: int, lower: bool):
        from tinynet.tensor import where

        if self.ndim < 2:
            raise ValueError(f"{op}: needs matrices (at least 2 axes), got a tensor of shape {self.shape}")
        diagonal = operator.index(diagonal)
        below = np.tri(*self.shape[-2:], k=diagonal if lower else diagonal - 1, dtype=bool)
        return where(below if lower else ~below, self, np.zeros((), self.dtype))

    @accepts_torch_names
    def softmax(self, axis: int | None = None):
        """exp(x) / Σ exp(x) along `axis` (PyTorch: `dim`, required): tinynet.functional.softmax."""
        from tinynet import functional

        return functional.softmax(self, _required_axis("softmax", axis))

    @accepts_torch_names
    def log_softmax(self, axis: int | None = None):
        """x - log Σ exp(x) along `axis` (PyTorch: `dim`, required): tinynet.functional.log_softmax."""
        from tinynet import functional

        return functional.log_softmax(self, _required_axis("log_softmax", axis))

    def astype(self, dtype):
        """The tensor as `dtype` (a copy), or itself if it already has that dtype (as PyTorch's
        .to(dtype)). To a floating dtype the result stays in the graph and the gradient is cast
        back; to an integer or bool dtype the result is outside the graph (no gradient)."""
        dtype = np.dtype(dtype)
        if dtype.kind not in "biuf":
            raise TypeError(f"astype: a Tensor holds bool, integer or float numbers, not {dtype}")
        if dtype == self.dtype:
            return self
        if dtype.kind != "f":
            return type(self)(self.data.astype(dtype))
        source = self.dtype
        return self._make(self.data.astype(dtype), (self,), lambda g, x, out: (g.astype(source),), "astype")

    def float(self):
        """As float32 (PyTorch's .float()): in the graph, the gradient cast back."""
        return self.astype(np.float32)

    def double(self):
        """As float64 (PyTorch's .double()): in the graph, the gradient cast back."""
        return self.astype(np.float64)

    def long(self):
        """As int64 (PyTorch's .long()), floats truncated toward 0; outside the graph."""
        return self.astype(np.int64)

    def int(self):
        """As int32 (PyTorch's .int()), floats truncated toward 0; outside the graph."""
        return self.astype(np.int32)

    def bool(self):
        """As bool (PyTorch's .bool()): True where nonzero; outside the graph."""
        return self.astype(np.bool_)


@accepts_torch_names
def split(tensor, split_size_or_sections: int | Sequence[int], axis: int = 0) -> tuple:
    """Cut a tensor into pieces along `axis` (PyTorch: `dim`), as torch.split: an int gives
    pieces of that size (the last one smaller if the size does not divide), a list gives pieces
    of those sizes, which must add up to the size of the axis. The gradient of each piece flows
    back into its place in the tensor."""
    from tinynet.tensor import as_tensor

    tensor = as_tensor(tensor)
    axis = normalize_dim("split", axis, tensor.shape)
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


def _integers(op: str, args: tuple) -> tuple[int, ...]:
    """Sizes or dims given as numbers or as one tuple/list: x.expand(2, 3) or x.expand((2, 3))."""
    args = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
    try:
        return tuple(operator.index(a) for a in args)
    except TypeError:
        raise TypeError(f"{op}: expected integers, got {args!r}") from None


def _required_axis(op: str, axis: int | None) -> int:
    if axis is None:
        raise TypeError(f"{op}(): missing the axis, axis= (PyTorch: dim=), which PyTorch requires too")
    return axis


def _broadcast_shape(*shapes: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None


def _positions(op: str, shape: tuple[int, ...], axis: int, index) -> tuple[np.ndarray, ...]:
    """The numpy index that picks, for each element of `index`, the element of a tensor of `shape`
    that gather reads (and scatter writes): `index`'s value along `axis`, its own position along
    the others."""
    axis = normalize_dim(op, axis, shape)
    index = np.asarray(index.data if isinstance(index, TensorMethods) else index)
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must hold integers (int64, as in PyTorch), got dtype {index.dtype}")
    if index.ndim != len(shape) or any(n > size for d, (n, size) in enumerate(zip(index.shape, shape)) if d != axis):
        raise ValueError(
            f"{op}: index of shape {index.shape} for a tensor of shape {shape}: it needs as many axes, and no more "
            f"elements than the tensor along each axis but axis {axis}"
        )
    if index.size and not (index.min() >= 0 and index.max() < shape[axis]):
        raise IndexError(
            f"{op}: index holds {index.min()}..{index.max()}, out of range for axis {axis} of size {shape[axis]}"
        )
    return tuple(index if d == axis else position for d, position in enumerate(np.indices(index.shape, sparse=True)))


def _tensor(x):
    from tinynet.tensor import as_tensor

    return as_tensor(x)


def tril(input, diagonal: int = 0):
    """torch.tril: the lower triangle of each matrix; see Tensor.tril."""
    return _tensor(input).tril(diagonal)


def triu(input, diagonal: int = 0):
    """torch.triu: the upper triangle of each matrix; see Tensor.triu."""
    return _tensor(input).triu(diagonal)


@accepts_torch_names
def gather(input, axis: int, index):
    """torch.gather: the elements of `input` that `index` picks along `axis`; see Tensor.gather."""
    return _tensor(input).gather(axis, index)


@accepts_torch_names
def scatter(input, axis: int, index, src):
    """torch.scatter: a copy of `input` with `src` written at `index` along `axis`; see Tensor.scatter."""
    return _tensor(input).scatter(axis, index, src)


@accepts_torch_names
def scatter_add(input, axis: int, index, src):
    """torch.scatter_add: a copy of `input` with `src` added at `index` along `axis`; see Tensor.scatter_add."""
    return _tensor(input).scatter_add(axis, index, src)


def masked_fill(input, mask, value):
    """torch.masked_fill: `input` with `value` where `mask` is True; see Tensor.masked_fill."""
    return _tensor(input).masked_fill(mask, value)


@accepts_torch_names
def cumsum(input, axis: int | None = None):
    """torch.cumsum: running sums along `axis` (PyTorch: `dim`); see Tensor.cumsum."""
    return _tensor(input).cumsum(axis)


def flip(input, dims: int | Sequence[int]):
    """torch.flip: `input` reversed along `dims`; see Tensor.flip."""
    return _tensor(input).flip(dims)


@accepts_torch_names
def sort(input, axis: int = -1, descending: bool = False) -> ValuesAndIndices:
    """torch.sort: (values, indices) sorted along `axis`; see Tensor.sort."""
    return _tensor(input).sort(axis, descending)


@accepts_torch_names
def argsort(input, axis: int = -1, descending: bool = False):
    """torch.argsort: the indices that sort `input` along `axis`; see Tensor.argsort."""
    return _tensor(input).argsort(axis, descending)


@accepts_torch_names
def topk(input, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> ValuesAndIndices:
    """torch.topk: (values, indices) of the k largest along `axis`; see Tensor.topk."""
    return _tensor(input).topk(k, axis, largest, sorted)


@accepts_torch_names
def chunk(input, chunks: int, axis: int = 0) -> tuple:
    """torch.chunk: `chunks` pieces along `axis`; see Tensor.chunk."""
    return _tensor(input).chunk(chunks, axis)
