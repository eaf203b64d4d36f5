"""More Tensor methods, built on the core ops of tinynet/tensor.py: the conveniences that PyTorch
and numpy users reach for. Tensor inherits them (`class Tensor(TensorMethods)`), so they read
as methods, while tensor.py keeps only the ops a newcomer reads first.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import numpy as np

from tinynet.torch_names import accepts_torch_names, normalize_dim

Axis = int | tuple[int, ...] | None


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
    def var(self, axis: Axis = None, *, ddof: float = 0, keepdims: bool = False):
        """The variance sum((x - mean)²) / (N - ddof) over `axis` (all axes when None), N the
        number of elements reduced; `keepdims` as in sum.

        `ddof` (PyTorch: `correction`) is 0 by default, as in numpy: the biased variance.
        PyTorch's default is correction=1 (Bessel's), so torch.var(x) == x.var(ddof=1).
        N - ddof <= 0 gives inf or nan, as in both."""
        mean = self.mean(axis=axis, keepdims=True)
        centered = self - mean
        count = self.size // max(mean.size, 1)
        return (centered * centered).sum(axis=axis, keepdims=keepdims) / (count - ddof)

    @accepts_torch_names
    def std(self, axis: Axis = None, *, ddof: float = 0, keepdims: bool = False):
        """The standard deviation √var, with var's arguments: `ddof` (PyTorch: `correction`) is 0
        by default as in numpy, while PyTorch's default is 1: torch.std(x) == x.std(ddof=1).
        Where the deviation is 0 (constant data) its gradient is 0, as in PyTorch, not 1/0."""
        var = self.var(axis, ddof=ddof, keepdims=keepdims)
        out = np.sqrt(var.data)

        def backward(g, var, out):
            zero = out == 0
            return (g * ~zero / (2 * (out + zero)),)  # 0 where out is 0 (no division by 0)

        return var._make(out, (var,), backward, "std")

    def flatten(self, start_dim: int = 1):
        """Merge every axis from `start_dim` on into one: (N, C, H, W) -> (N, C*H*W)."""
        return self.reshape(self.shape[:start_dim] + (-1,))

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
