import numpy as np
import pytest
from conftest import leaf

import tinynet as tn
from tinynet import convolution, gradcheck, nn
from tinynet import functional as F

CONV_CONFIGS = [
    # (in, out, kernel, stride, padding, dilation, bias, input (H, W))
    (2, 3, 3, 1, 0, 1, True, (6, 6)),
    (2, 3, 3, 2, 1, 1, True, (7, 6)),
    (2, 3, 3, 1, 1, 2, False, (7, 8)),
    (3, 2, 1, 1, 0, 1, True, (5, 4)),
    (1, 2, 5, 1, 2, 1, True, (6, 7)),
    (2, 2, 5, 2, 0, 1, False, (9, 11)),
    (2, 4, (3, 2), (2, 1), (1, 0), (1, 2), True, (6, 7)),
]


def conv_id(config):
    _, _, k, s, p, d, b, hw = config
    return f"k{k}-s{s}-p{p}-d{d}-{'bias' if b else 'nobias'}-{hw[0]}x{hw[1]}"


@pytest.mark.parametrize("config", CONV_CONFIGS, ids=conv_id)
def test_conv2d_gradcheck(float64, rng, config):
    in_c, out_c, kernel, stride, padding, dilation, bias, (h, w) = config
    layer = nn.Conv2d(in_c, out_c, kernel, stride, padding, dilation, bias)
    x = leaf(rng, 2, in_c, h, w)
    assert gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


@pytest.mark.parametrize("config", CONV_CONFIGS, ids=conv_id)
def test_conv2d_in_bands_of_rows_agrees_with_one_band(float64, monkeypatch, rng, config):
    """conv2d runs its products on bands of output rows that fit the cache (row_bands): bands
    of one row give the same output and gradients as all rows in one band, the plain im2col."""
    in_c, out_c, kernel, stride, padding, dilation, bias, (h, w) = config
    layer = nn.Conv2d(in_c, out_c, kernel, stride, padding, dilation, bias)
    x = leaf(rng, 2, in_c, h, w)
    weights = rng.standard_normal(layer(x).shape)  # a loss whose gradient differs at each output

    def output_and_gradients():
        x.grad = None
        layer.zero_grad()
        out = layer(x)
        (out * weights).sum().backward()
        return [out.data, x.grad, *(p.grad for p in layer.parameters())]

    assert len(convolution.row_bands(h, bytes_per_row=1)) == 1  # small inputs: one band
    one_band = output_and_gradients()
    monkeypatch.setattr(convolution, "BAND_BYTES", 1)
    assert len(convolution.row_bands(h, bytes_per_row=8)) == h  # now a band per row
    for banded, plain in zip(output_and_gradients(), one_band, strict=True):
        np.testing.assert_allclose(banded, plain, rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


POOL_CONFIGS = [(2, None, 0), (2, 1, 0), (3, 2, 1), (3, 3, 0), ((3, 2), (1, 2), (1, 0))]


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=lambda c: f"k{c[0]}-s{c[1]}-p{c[2]}")
def test_pooling_gradcheck(rng, pool, config):
    kernel, stride, padding = config
    layer = (nn.MaxPool2d if pool == "max" else nn.AvgPool2d)(kernel, stride, padding)
    assert gradcheck(lambda x: layer(x), [leaf(rng, 2, 3, 6, 7)])


def test_adaptive_avg_pool_gradcheck(rng):
    assert gradcheck(lambda x: nn.AdaptiveAvgPool2d(1)(x), [leaf(rng, 2, 3, 4, 5)])
    assert nn.AdaptiveAvgPool2d(1)(np.ones((2, 3, 4, 5), np.float32)).shape == (2, 3, 1, 1)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d_gradcheck(float64, rng, mode):
    layer = nn.BatchNorm2d(3)
    layer.weight.data = rng.uniform(0.5, 2, 3)
    layer.bias.data = rng.standard_normal(3)
    layer.running_mean[...] = rng.standard_normal(3)
    layer.running_var[...] = rng.uniform(0.5, 2, 3)
    layer.train(mode == "train")
    saved = [b.copy() for _, b in layer.named_buffers()]

    def fn(x, *params):
        for (_, b), s in zip(layer.named_buffers(), saved):
            b[...] = s
        return layer(x)

    assert gradcheck(fn, [leaf(rng, 3, 3, 4, 5), *layer.parameters()])


def test_max_pool_gradient_goes_to_the_maximum():
    x = tn.Tensor(np.array([[[[1.0, 5.0], [3.0, 2.0]]]]), requires_grad=True)
    out = F.max_pool2d(x, 2)
    out.sum().backward()
    assert out.item() == 5.0
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 1], [0, 0]])


def test_max_pool_ties_go_to_the_first_position_in_row_major_order():
    x = tn.Tensor(np.array([[[[0.0, 2.0, 7.0, 7.0], [2.0, 1.0, 7.0, 7.0]]]]), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad[0, 0], [[0, 1, 1, 0], [0, 0, 0, 0]])
    overlapping = tn.Tensor(np.ones((1, 1, 3, 3)), requires_grad=True)
    F.max_pool2d(overlapping, 2, stride=1).sum().backward()  # every window's first position: its top-left
    np.testing.assert_array_equal(overlapping.grad[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_conv_keeps_activations_batch_last_through_relu_and_pooling():
    """The layout that makes im2col and col2im copy long runs (see tinynet/convolution.py): the
    output is an NCHW view of a (C, H, W, N) array, and ReLU, pooling and the gradients keep it."""
    x = tn.Tensor(np.random.default_rng(0).standard_normal((4, 2, 8, 8)), requires_grad=True)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    out = conv(x)
    pooled = F.max_pool2d(out.relu(), 2)
    pooled.sum().backward()
    for array in (out.data, pooled.data):
        assert array.transpose(1, 2, 3, 0).flags.c_contiguous
    assert x.grad.transpose(1, 2, 3, 0).flags.c_contiguous


def test_conv_output_shapes_and_dtype():
    layer = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    out = layer(np.zeros((4, 3, 28, 27), np.float32))
    assert out.shape == (4, 8, 14, 14) and out.dtype == np.float32
    assert layer.weight.shape == (8, 3, 3, 3)
    bound = 1 / np.sqrt(27)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert repr(layer) == "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))"


def test_conv_float32_end_to_end():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 7 * 7, 3),
    )
    x = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    loss = F.cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))
    loss.backward()
    assert loss.dtype == np.float32 and model.grads.dtype == np.float32 and np.abs(model.grads).sum() > 0


def test_conv_errors():
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"expected an input with 3 channels, got shape \(2, 1, 8, 8\)"):
        layer(np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"conv2d: input height 2 \(padded: 2\) is smaller than the kernel's 3"):
        layer(np.zeros((2, 3, 2, 8), np.float32))
    with pytest.raises(
        ValueError, match=r"conv2d: expected a 4-D input \(batch, channels, height, width\), got shape \(3, 8, 8\)"
    ):
        layer(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match="max_pool2d: expected a 4-D input"):
        nn.MaxPool2d(2)(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="max_pool2d: input width 1"):
        nn.MaxPool2d(2)(np.zeros((1, 1, 4, 1), np.float32))
    with pytest.raises(ValueError, match="padding must be at most half the kernel size"):
        nn.MaxPool2d(2, padding=2)(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair of ints"):
        nn.Conv2d(3, 4, 2.5)
    with pytest.raises(ValueError, match="output_size must be at least 1"):
        nn.AdaptiveAvgPool2d(0)(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\): expected a 4-D input"):
        nn.BatchNorm2d(3)(np.zeros((2, 3), np.float32))
