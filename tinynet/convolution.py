"""2-D convolution and pooling on NCHW arrays, by im2col and one matrix product.

im2col ("image to columns") lays every receptive field of the input out as one column of a
matrix, so that the whole convolution becomes a single matrix product with the flattened
kernels. For one 4x4 channel and a 3x3 kernel (stride 1, no padding: a 2x2 output):

    input          windows                cols: one column per output pixel
    a b c d        [a b c]  [b c d]           (0,0) (0,1) (1,0) (1,1)
    e f g h   ->   [e f g]  [f g h]   ->       a     b     e     f
    i j k l        [i j k]  [j k l]            b     c     f     g
    m n o p        ... 4 windows               ...   ...   ...   ...
                                               k     l     o     p

    out (out_channels x pixels) = W (out_channels x C*kh*kw) @ cols (C*kh*kw x pixels)

The windows are a strided view of the input (`sliding_window_view`), so no Python loop runs
over pixels or over the batch; one copy lays them out as cols. The backward pass is matrix
products too:

    dW = dout @ cols^T,        dcols = W^T @ dout,

and col2im adds each column of dcols back onto the input positions its window read, where
overlapping windows add up: a Python loop over the kh*kw kernel offsets (`kernel_offsets`),
each step a whole-array operation. Pooling reuses the same windows and offsets. A bias rides
along in the products: cols gets one more row, of ones, and W one more column, the bias, so
the product adds it and the last column of dW is its gradient, without passes of their own.

The transposed convolution (conv_transpose2d) is the same two halves swapped: its forward is
conv2d's input gradient (cols = W^T @ x, then col2im onto the output), and its backward is
conv2d's forward (im2col of the output gradient, then matrix products).

Memory layout: every array here has the NCHW shape, but the convolution keeps its padded input
and its output batch-last in memory, (C, H, W, N), handing out NCHW views of them. The pixels
of one row of all the images in the batch are then one contiguous run: im2col copies, and
col2im adds, runs of W_out·N values (1,792 for 14x14 images in batches of 128) where the NCHW
order gives runs of W_out (14), and numpy's cost per run stops dominating. Elementwise ops and
pooling keep the layout of their input, so the gradient comes back batch-last too and the
output needs no transposing copy either way.

Bands: conv2d runs im2col and the products on a few output rows at a time (`row_bands`), so
that each band's columns, about 2 MiB, are used while they are still in the cache; the
backward pass makes them again from the saved padded input. Running all rows as one band is
the plain method above, and gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinynet.function import Context, Function
from tinynet.tensor import Tensor, as_tensor


def pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    """(v, v) for an int v; a pair of ints unchanged. Paddings may be 0, sizes, strides and
    dilations must be at least 1."""
    if isinstance(value, (int, np.integer)):
        values = int(value), int(value)
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, np.integer)) for v in value):
        values = int(value[0]), int(value[1])
    else:
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    smallest = 0 if name.endswith("padding") else 1
    if min(values) < smallest:
        raise ValueError(f"{name} must be at least {smallest}, got {value!r}")
    return values


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """The length of a convolution's or pooling's output along one axis (PyTorch's formula)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pad(x: np.ndarray, padding: tuple[int, int], value: float = 0.0, batch_last: bool = False) -> np.ndarray:
    """x (N, C, H, W) with `padding` rows and columns of `value` around each image. The result
    keeps x's memory layout, or with batch_last is an (N, C, H, W) view of a (C, H, W, N) array."""
    ph, pw = padding
    n, c, h, w = x.shape
    if not (ph or pw) and (not batch_last or x.transpose(1, 2, 3, 0).flags.c_contiguous):
        return x
    if batch_last:
        padded = np.full((c, h + 2 * ph, w + 2 * pw, n), value, dtype=x.dtype).transpose(3, 0, 1, 2)
    else:
        padded = np.full_like(x, value, shape=(n, c, h + 2 * ph, w + 2 * pw))
    padded[:, :, ph : ph + h, pw : pw + w] = x
    return padded


def _in_layout_of(template: np.ndarray, a: np.ndarray) -> np.ndarray:
    """a, copied into template's memory layout unless it has it already, so that the passes that
    combine them run through memory in one order."""
    if np.array_equal(np.argsort(a.strides), np.argsort(template.strides)):
        return a
    copy = np.empty_like(template, dtype=a.dtype)
    copy[...] = a
    return copy


def _windows(x: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """A strided view (N, C, H_out, W_out, kh, kw) of every window the kernel visits."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    view = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return view[:, :, ::sh, ::sw, ::dh, ::dw]


def kernel_offsets(
    out_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> Iterator[tuple[int, int, slice, slice]]:
    """For each kernel offset (a, b): (a, b, rows, cols), where x[:, :, rows, cols] are the input
    values that offset meets in every window, as an (N, C, H_out, W_out) view."""
    h_out, w_out = out_shape[-2:]
    (sh, sw), (dh, dw) = stride, dilation
    for a, b in np.ndindex(*kernel):
        yield a, b, slice(a * dh, a * dh + sh * (h_out - 1) + 1, sh), slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)


def _im2col(windows: np.ndarray, ones_row: bool = False) -> np.ndarray:
    """cols (C·kh·kw, H_out·W_out·N): each window of `windows` (N, C, H_out, W_out, kh, kw) as
    one column, rows in (c, a, b) order and columns in (i, j, n) order; with `ones_row`, one more
    row of ones (for a bias)."""
    n, c, h_out, w_out, kh, kw = windows.shape
    taps = c * kh * kw
    cols = np.empty((taps + ones_row, h_out * w_out * n), dtype=windows.dtype)
    cols[:taps].reshape(c, kh, kw, h_out, w_out, n)[...] = windows.transpose(1, 4, 5, 2, 3, 0)
    if ones_row:
        cols[taps] = 1
    return cols


def _col2im(
    cols: np.ndarray, out: np.ndarray, kernel: tuple[int, int], stride, dilation, grid: tuple[int, int]
) -> None:
    """The adjoint of _im2col: adds each column of cols (C·kh·kw, pixels of the H_out x W_out
    `grid` of windows) onto out (C, H, W, N) at the positions its window reads; where windows
    overlap, their values add up."""
    c, n = out.shape[0], out.shape[-1]
    cols = cols.reshape(c, *kernel, *grid, n)
    for a, b, rows, columns in kernel_offsets(grid, kernel, stride, dilation):
        out[:, rows, columns] += cols[:, a, b]


BAND_BYTES = 2**21  # the best of 0.5, 1, 2 and 8 MiB in the MNIST CNN's training loop (docs/performance.md)


def row_bands(out_rows: int, bytes_per_row: int) -> list[slice]:
    """Bands of output rows whose im2col columns take about BAND_BYTES (one row at least).
    The convolution runs band by band, so that each band's columns are made, multiplied and
    dropped while they are still in the cache, instead of one matrix of them all (14 MiB for
    the second convolution of the MNIST CNN) travelling to memory and back."""
    rows = max(1, BAND_BYTES // bytes_per_row)
    return [slice(start, min(start + rows, out_rows)) for start in range(0, out_rows, rows)]


def _crop(x: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    ph, pw = padding
    return x[:, :, ph : x.shape[2] - ph, pw : x.shape[3] - pw]


class Conv2dFunction(Function):
    """out[n, o] = bias[o] + sum over c, a, b of x[n, c, s*i + d*a - p, s*j + d*b - p] · W[o, c, a, b]"""

    @staticmethod
    def forward(ctx: Context, x, weight, bias=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
        padded = _pad(x, padding, batch_last=True)
        windows = _windows(padded, weight.shape[2:], stride, dilation)
        kernels = weight.reshape(len(weight), -1)
        if bias is not None:  # a row of ones under cols, the bias beside the kernels: the product adds it
            kernels = np.concatenate([kernels, bias[:, None]], axis=1)
        n, _, h_out, w_out = windows.shape[:4]
        out = np.empty((len(kernels), h_out, w_out, n), dtype=x.dtype)
        for rows in row_bands(h_out, bytes_per_row=kernels[0].nbytes * w_out * n):
            cols = _im2col(windows[:, :, rows], ones_row=bias is not None)
            np.matmul(kernels, cols, out=out[:, rows].reshape(len(kernels), -1))
        ctx.save_for_backward(padded, kernels, weight)  # kernels may be a view of weight: its in-place check
        ctx.stride, ctx.padding, ctx.dilation, ctx.weight_shape = stride, padding, dilation, weight.shape
        return out.transpose(3, 0, 1, 2)

    @staticmethod
    def backward(ctx: Context, grad):
        padded, kernels, _ = ctx.saved
        stride, dilation, weight_shape = ctx.stride, ctx.dilation, ctx.weight_shape
        taps = math.prod(weight_shape[1:])
        windows = _windows(padded, weight_shape[2:], stride, dilation)
        grad_out = grad.transpose(1, 2, 3, 0)  # (out_channels, H_out, W_out, N)
        h_out, w_out, n = grad_out.shape[1:]
        needs_x, needs_kernels = ctx.needs_grad[0], any(ctx.needs_grad[1:])
        grad_padded = np.zeros(padded.shape[1:] + padded.shape[:1], dtype=grad.dtype) if needs_x else None
        grad_kernels = np.zeros_like(kernels) if needs_kernels else None  # with a bias, its gradient is the last column
        for rows in row_bands(h_out, bytes_per_row=kernels[0].nbytes * w_out * n):
            grad_band = grad_out[:, rows].reshape(len(kernels), -1)
            if needs_x:  # the band's windows read the padded rows from rows.start * stride on
                band_grid = (len(range(h_out)[rows]), w_out)
                reached = grad_padded[:, rows.start * stride[0] :]
                _col2im(kernels[:, :taps].T @ grad_band, reached, weight_shape[2:], stride, dilation, band_grid)
            if needs_kernels:
                grad_kernels += grad_band @ _im2col(windows[:, :, rows], ones_row=kernels.shape[1] > taps).T
        grad_x = _crop(grad_padded.transpose(3, 0, 1, 2), ctx.padding) if needs_x else None
        grad_weight = grad_kernels[:, :taps].reshape(weight_shape) if ctx.needs_grad[1] else None
        if len(ctx.needs_grad) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, (grad_kernels[:, taps] if ctx.needs_grad[2] else None)


class ConvTranspose2dFunction(Function):
    """out[n, o, s*i + d*a - p, s*j + d*b - p] += x[n, c, i, j] · W[c, o, a, b] for every c, a, b,
    then out[n, o] += bias[o]: Conv2d's input gradient, run forward."""

    @staticmethod
    def forward(
        ctx: Context, x, weight, bias=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1)
    ):
        n, in_channels, h, w = x.shape
        out_channels, kh, kw = weight.shape[1:]
        kernels = weight.reshape(in_channels, -1)
        pixels = x.transpose(1, 2, 3, 0).reshape(in_channels, -1)  # (in_channels, H·W·N), batch last
        reach = tuple(s * (size - 1) + d * (k - 1) + 1 for size, s, d, k in zip((h, w), stride, dilation, (kh, kw)))
        full = tuple(r + extra for r, extra in zip(reach, output_padding))
        out = np.zeros((out_channels, *full, n), dtype=x.dtype)
        _col2im(kernels.T @ pixels, out, (kh, kw), stride, dilation, (h, w))
        out = _crop(out.transpose(3, 0, 1, 2), padding)
        if bias is not None:
            out += bias[:, None, None]
        ctx.save_for_backward(pixels, kernels)
        ctx.x_shape, ctx.weight_shape, ctx.reach = x.shape, weight.shape, reach
        ctx.stride, ctx.padding, ctx.dilation = stride, padding, dilation
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        pixels, kernels = ctx.saved
        n, in_channels, h, w = ctx.x_shape
        # conv2d's forward on the gradient, padded back to the full output; no window reads the
        # rows and columns that output_padding added, so they are cut off (the grid is H x W again)
        padded = _pad(grad, ctx.padding, batch_last=True)[:, :, : ctx.reach[0], : ctx.reach[1]]
        cols = _im2col(_windows(padded, ctx.weight_shape[2:], ctx.stride, ctx.dilation))
        grad_x = (kernels @ cols).reshape(in_channels, h, w, n).transpose(3, 0, 1, 2) if ctx.needs_grad[0] else None
        grad_weight = (pixels @ cols.T).reshape(ctx.weight_shape) if ctx.needs_grad[1] else None
        if len(ctx.needs_grad) == 2:
            return grad_x, grad_weight
        return grad_x, grad_weight, (grad.sum(axis=(0, 2, 3)) if ctx.needs_grad[2] else None)


def _check_rank(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D input (batch, channels, height, width), got shape {x.shape}")


def _check_input(op: str, x: Tensor, kernel, padding, dilation=(1, 1)) -> None:
    _check_rank(op, x)
    for axis, name in ((0, "height"), (1, "width")):
        size = x.shape[2 + axis] + 2 * padding[axis]
        span = dilation[axis] * (kernel[axis] - 1) + 1
        if size < span:
            raise ValueError(
                f"{op}: input {name} {x.shape[2 + axis]} (padded: {size}) is smaller than the kernel's {span}; "
                f"input shape {x.shape}"
            )


def _check_weight(op: str, weight: Tensor, layout: str) -> None:
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D {layout}, got shape {weight.shape}")


def _check_channels(op: str, x: Tensor, weight: Tensor, in_axis: int) -> None:
    if x.shape[1] != weight.shape[in_axis]:
        raise ValueError(
            f"{op}: input has {x.shape[1]} channels but the weight expects {weight.shape[in_axis]} "
            f"(input shape {x.shape}, weight shape {weight.shape})"
        )


def conv2d(
    x: Tensor | np.ndarray,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C_in, H, W) with weight
    (C_out, C_in, kh, kw), plus bias (C_out,). Output (N, C_out, H_out, W_out) with
    H_out = (H + 2 padding - dilation (kh - 1) - 1) // stride + 1."""
    x, weight = as_tensor(x), as_tensor(weight)
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    _check_weight("conv2d", weight, "(out, in, kh, kw)")
    _check_input("conv2d", x, weight.shape[2:], padding, dilation)
    _check_channels("conv2d", x, weight, 1)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2dFunction.apply(*inputs, stride=stride, padding=padding, dilation=dilation)


def check_output_padding(op: str, output_padding: tuple[int, int], stride, dilation) -> None:
    """PyTorch's rule for a transposed convolution: on each axis output_padding must be >= 0 and
    smaller than either stride or dilation (else it would add rows that no input reaches)."""
    if any(not (0 <= extra < max(s, d)) for extra, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding must be >= 0 and smaller than either stride or dilation, "
            f"got output_padding {output_padding}, stride {stride}, dilation {dilation}"
        )


def conv_transpose2d(
    x: Tensor | np.ndarray,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
) -> Tensor:
    """Transposed 2-D convolution (as in PyTorch) of x (N, C_in, H, W) with weight
    (C_in, C_out, kh, kw), plus bias (C_out,): each input pixel adds its values times the kernel
    onto a kh x kw patch of the output, the patches `stride` apart. Output (N, C_out, H_out, W_out)
    with H_out = (H - 1) stride - 2 padding + dilation (kh - 1) + output_padding + 1, a size that
    conv2d with the same settings maps back to H. With stride > 1 several sizes map to H:
    output_padding, rows and columns at the bottom and right that only the bias reaches, picks one.

    It is conv2d's input gradient as a forward pass: one matrix product W^T @ x gives a column
    of C_out·kh·kw values per input pixel, and col2im adds the columns onto the output. Its
    backward is conv2d's forward: im2col of the output gradient, then matrix products."""
    x, weight = as_tensor(x), as_tensor(weight)
    stride, padding, dilation = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    output_padding = pair(output_padding, "output_padding")
    _check_weight("conv_transpose2d", weight, "(in, out, kh, kw)")
    check_output_padding("conv_transpose2d", output_padding, stride, dilation)
    _check_rank("conv_transpose2d", x)
    _check_channels("conv_transpose2d", x, weight, 0)
    out_size = tuple(
        (size - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for size, s, p, d, k, extra in zip(x.shape[2:], stride, padding, dilation, weight.shape[2:], output_padding)
    )
    if min(out_size) <= 0:
        raise ValueError(
            f"conv_transpose2d: the output size {out_size} is not positive: input shape {x.shape}, "
            f"kernel {weight.shape[2:]}, stride {stride}, padding {padding}, dilation {dilation}, "
            f"output_padding {output_padding}"
        )
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2dFunction.apply(
        *inputs, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
    )


class MaxPool2dFunction(Function):
    """out = the largest value in each window. The gradient goes to that one position; where
    several tie, to the first in row-major order (as PyTorch's index of the maximum)."""

    @staticmethod
    def forward(ctx: Context, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        padded = _pad(x, padding, -np.inf)
        windows = _windows(padded, kernel, stride, (1, 1))
        out = windows[..., 0, 0].copy(order="K")  # "K": in x's memory layout
        index_type = np.uint8 if kernel[0] * kernel[1] <= 256 else np.int32
        position = np.zeros_like(out, dtype=index_type)
        larger = np.empty_like(out, dtype=index_type)
        for k, (a, b) in enumerate(np.ndindex(*kernel)):
            if k == 0:  # out starts as this window position
                continue
            np.greater(windows[..., a, b], out, out=larger)  # strictly: a tie keeps the earlier position
            np.maximum(out, windows[..., a, b], out=out)
            np.multiply(larger, k, out=larger)
            np.maximum(position, larger, out=position)  # k is larger than every earlier position
        ctx.save_for_backward(position)
        ctx.shape, ctx.kernel, ctx.stride, ctx.padding = padded.shape, kernel, stride, padding
        return out

    @staticmethod
    def backward(ctx: Context, grad):
        (position,) = ctx.saved
        grad = _in_layout_of(position, grad)
        (kh, kw), (sh, sw), (h, w) = ctx.kernel, ctx.stride, ctx.shape[2:]
        disjoint = sh >= kh and sw >= kw  # each input position is in one window at most: write, don't add
        tiled = disjoint and (sh, sw) == (kh, kw) and h == kh * grad.shape[2] and w == kw * grad.shape[3]
        grad_padded = (np.empty_like if tiled else np.zeros_like)(position, grad.dtype, shape=ctx.shape)
        chosen = np.empty_like(position, dtype=bool)
        for k, (_, _, rows, columns) in enumerate(kernel_offsets(grad.shape, ctx.kernel, ctx.stride, (1, 1))):
            np.equal(position, k, out=chosen)
            if disjoint:
                np.multiply(grad, chosen, out=grad_padded[:, :, rows, columns])
            else:
                grad_padded[:, :, rows, columns] += grad * chosen
        return _crop(grad_padded, ctx.padding)


class AvgPool2dFunction(Function):
    """out = the mean of each window (padding counts as zeros, as PyTorch's default)."""

    @staticmethod
    def forward(ctx: Context, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        padded = _pad(x, padding)
        ctx.shape, ctx.kernel, ctx.stride, ctx.padding = padded.shape, kernel, stride, padding
        return _windows(padded, kernel, stride, (1, 1)).mean(axis=(-2, -1))

    @staticmethod
    def backward(ctx: Context, grad):
        share = grad / (ctx.kernel[0] * ctx.kernel[1])
        grad_padded = np.zeros_like(grad, shape=ctx.shape)
        for _, _, rows, columns in kernel_offsets(grad.shape, ctx.kernel, ctx.stride, (1, 1)):
            grad_padded[:, :, rows, columns] += share
        return _crop(grad_padded, ctx.padding)


def _pool(op: type[Function], name: str, x, kernel_size, stride, padding) -> Tensor:
    x = as_tensor(x)
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else pair(stride, "stride")
    padding = pair(padding, "padding")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"{name}: padding must be at most half the kernel size, got padding {padding}, kernel {kernel}"
        )
    _check_input(name, x, kernel, padding)
    return op.apply(x, kernel=kernel, stride=stride, padding=padding)


def max_pool2d(x: Tensor | np.ndarray, kernel_size: int | tuple[int, int], stride=None, padding=0) -> Tensor:
    """The maximum of each kernel_size window, moving by stride (default: kernel_size)."""
    return _pool(MaxPool2dFunction, "max_pool2d", x, kernel_size, stride, padding)


def avg_pool2d(x: Tensor | np.ndarray, kernel_size: int | tuple[int, int], stride=None, padding=0) -> Tensor:
    """The mean of each kernel_size window, moving by stride (default: kernel_size)."""
    return _pool(AvgPool2dFunction, "avg_pool2d", x, kernel_size, stride, padding)


def _adaptive_windows(size: int, out: int, dtype) -> np.ndarray:
    """The (out, size) matrix whose row i averages PyTorch's adaptive window i of a length-`size`
    axis: positions floor(i·size/out) up to ceil((i+1)·size/out), each weighted 1 / its length."""
    averages = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        averages[i, start:end] = 1 / (end - start)
    return averages


def adaptive_avg_pool2d(x: Tensor | np.ndarray, output_size: int | tuple[int | None, int | None] = 1) -> Tensor:
    """Average pooling of x (N, C, H, W) or (C, H, W) to (..., out_h, out_w) whatever H and W
    are, as PyTorch's: output row i averages input rows floor(i·H/out_h) up to
    ceil((i+1)·H/out_h), likewise for columns (windows may overlap when out does not divide
    the size). None in output_size keeps that size. The windows are separable, so this is two
    matrix products: rows @ x @ colsᵀ."""
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input (.., C, H, W), got shape {x.shape}")
    sizes = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    h, w = x.shape[-2:]
    out_h, out_w = pair(tuple(size if n is None else n for n, size in zip(sizes, (h, w))), "output_size")
    if (out_h, out_w) == (1, 1):
        return x.mean(axis=(-2, -1), keepdims=True)
    rows, columns = _adaptive_windows(h, out_h, x.dtype), _adaptive_windows(w, out_w, x.dtype)
    return Tensor(rows) @ x @ Tensor(columns.T)


def _as_2d(op: str, x: Tensor, kernel: int, padding: int, dilation: int = 1) -> Tensor:
    """x (N, C, L) as the (N, C, 1, L) input of the 2-D convolution and pooling, after checking
    that the kernel fits in it."""
    if x.ndim != 3:
        raise ValueError(f"{op}: expected a 3-D input (batch, channels, length), got shape {x.shape}")
    span = dilation * (kernel - 1) + 1
    if x.shape[2] + 2 * padding < span:
        raise ValueError(
            f"{op}: input length {x.shape[2]} (padded: {x.shape[2] + 2 * padding}) is smaller than the kernel's "
            f"{span}; input shape {x.shape}"
        )
    return x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])


def single(value: int | tuple[int], name: str) -> int:
    """v for an int v or a 1-tuple (v,), as the 1-D layers take their sizes. Paddings may be
    0, sizes, strides and dilations must be at least 1."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int or a 1-tuple of an int, got {value!r}")
    return pair(value, name)[0]


def conv1d(
    x: Tensor | np.ndarray,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
) -> Tensor:
    """1-D convolution (cross-correlation, as PyTorch's) of x (N, C_in, L) with weight
    (C_out, C_in, k), plus bias (C_out,): conv2d on the (N, C_in, 1, L) view. Output
    (N, C_out, L_out) with L_out = (L + 2 padding - dilation (k - 1) - 1) // stride + 1."""
    x, weight = as_tensor(x), as_tensor(weight)
    if weight.ndim != 3:
        raise ValueError(f"conv1d: weight must be 3-D (out, in, k), got shape {weight.shape}")
    stride, padding, dilation = single(stride, "stride"), single(padding, "padding"), single(dilation, "dilation")
    flat = _as_2d("conv1d", x, weight.shape[2], padding, dilation)
    _check_channels("conv1d", x, weight, 1)
    kernels = weight.reshape(*weight.shape[:2], 1, weight.shape[2])
    out = conv2d(flat, kernels, bias, (1, stride), (0, padding), (1, dilation))
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


def _pool1d(pool, op: str, x, kernel_size, stride, padding) -> Tensor:
    x = as_tensor(x)
    kernel, padding = single(kernel_size, "kernel_size"), single(padding, "padding")
    stride = kernel if stride is None else single(stride, "stride")
    out = pool(_as_2d(op, x, kernel, padding), (1, kernel), (1, stride), (0, padding))
    return out.reshape(out.shape[0], out.shape[1], out.shape[3])


def max_pool1d(x: Tensor | np.ndarray, kernel_size: int, stride=None, padding=0) -> Tensor:
    """The maximum of each kernel_size window of x (N, C, L), moving by stride (default: kernel_size)."""
    return _pool1d(max_pool2d, "max_pool1d", x, kernel_size, stride, padding)


def avg_pool1d(x: Tensor | np.ndarray, kernel_size: int, stride=None, padding=0) -> Tensor:
    """The mean of each kernel_size window of x (N, C, L), moving by stride (default: kernel_size)."""
    return _pool1d(avg_pool2d, "avg_pool1d", x, kernel_size, stride, padding)
