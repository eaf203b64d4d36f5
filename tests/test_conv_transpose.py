"""ConvTranspose2d / F.conv_transpose2d: gradients, torch parity, initialization, errors."""

import numpy as np
import pytest
from conftest import leaf
from torch_parity import assert_module_matches_torch

import tinynet as tn
from tinynet import functional as F
from tinynet import gradcheck, nn

CONFIGS = [
    # (in, out, kernel, stride, padding, output_padding, dilation, bias, input (H, W))
    (2, 3, 3, 1, 0, 0, 1, True, (4, 5)),
    (2, 3, 3, 2, 1, 1, 1, True, (4, 4)),
    (1, 2, 4, 2, 1, 0, 1, False, (3, 3)),
    (3, 2, (2, 3), (2, 1), (0, 1), (1, 0), 1, False, (3, 4)),
    (2, 2, 3, 1, 1, 1, 2, True, (3, 4)),  # output_padding >= stride: allowed as it is < dilation
    (2, 3, (3, 2), 3, (2, 0), (2, 1), (2, 1), True, (3, 2)),
]


def config_id(config):
    _, _, k, s, p, op, d, b, hw = config
    return f"k{k}-s{s}-p{p}-op{op}-d{d}-{'bias' if b else 'nobias'}-{hw[0]}x{hw[1]}"


def make_layer(config):
    in_c, out_c, kernel, stride, padding, output_padding, dilation, bias, _ = config
    return nn.ConvTranspose2d(in_c, out_c, kernel, stride, padding, output_padding, dilation, bias)


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_conv_transpose2d_gradcheck(float64, rng, config):
    layer = make_layer(config)
    x = leaf(rng, 2, config[0], *config[-1])
    assert gradcheck(lambda x, *params: layer(x), [x, *layer.parameters()])


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_conv_transpose2d_is_the_adjoint_of_conv2d(rng, config):
    """<conv_transpose2d(y, W), x> = <y, conv2d(x, W)>: the transposed convolution is conv2d's
    input gradient, and conv2d maps its output size back to the input size (with output_padding
    at least the stride, conv2d has windows beyond that, which only read output_padding's rows)."""
    in_c, _, _, stride, padding, output_padding, dilation, _, (h, w) = config
    weight = tn.Tensor(rng.standard_normal(make_layer(config).weight.shape))
    y = rng.standard_normal((2, in_c, h, w))
    up = F.conv_transpose2d(y, weight, None, stride, padding, output_padding, dilation)
    x = rng.standard_normal(up.shape)
    down = F.conv2d(x, weight, None, stride, padding, dilation)
    if all(extra < step for extra, step in zip(np.broadcast_to(output_padding, 2), np.broadcast_to(stride, 2))):
        assert down.shape == y.shape
    np.testing.assert_allclose(np.sum(up.data * x), np.sum(y * down.data[:, :, :h, :w]), rtol=1e-10)


def test_output_shape_formula_layout_and_dtype():
    layer = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
    out = layer(np.zeros((5, 4, 7, 7), np.float32))
    assert out.shape == (5, 2, 14, 14) and out.dtype == np.float32  # (7 - 1) 2 - 2 + 2 + 1 + 1
    assert out.data.strides[0] == out.data.itemsize  # batch last in memory, as conv2d's output
    assert layer.weight.shape == (4, 2, 3, 3) and layer.bias.shape == (2,)
    x = tn.Tensor(np.ones((5, 4, 7, 7), np.float32), requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    assert (
        repr(layer) == "ConvTranspose2d(4, 2, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1))"
    )
    assert (
        repr(nn.ConvTranspose2d(1, 1, 2, bias=False))
        == "ConvTranspose2d(1, 1, kernel_size=(2, 2), stride=(1, 1), bias=False)"
    )


def test_init_bounds_match_torch():
    """fan_in is weight.shape[1] · kh · kw = out_channels · kh · kw for a transposed convolution
    (torch's rule), not in_channels · kh · kw: 3 in, 200 out, 3x3 gives the bound 1/sqrt(1800)."""
    torch = pytest.importorskip("torch")
    tn.manual_seed(0)
    ours = nn.ConvTranspose2d(3, 200, 3)
    theirs = torch.nn.ConvTranspose2d(3, 200, 3)
    bound = 1 / np.sqrt(200 * 3 * 3)
    for name, theirs_param in theirs.named_parameters():
        values, expected = getattr(ours, name).data, theirs_param.detach().numpy()
        assert values.shape == expected.shape
        for sample in (values, expected):
            assert np.abs(sample).max() <= bound and np.abs(sample).max() > 0.9 * bound, name
        if name == "weight":  # 5400 draws: the uniform distribution's std is bound / sqrt(3)
            assert abs(values.std() - bound / np.sqrt(3)) < 0.05 * bound and abs(values.mean()) < 0.05 * bound


def test_errors():
    with pytest.raises(ValueError, match=r"output_padding must be >= 0 and smaller than either stride or dilation, "
                       r"got output_padding \(2, 2\), stride \(2, 2\), dilation \(1, 1\)"):  # fmt: skip
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    weight = tn.Tensor(np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding must be .* got output_padding \(1, 0\)"):
        F.conv_transpose2d(np.zeros((1, 2, 4, 4)), weight, output_padding=(1, 0))
    layer = nn.ConvTranspose2d(2, 3, 3)
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3, .*\): expected an input of shape "
                       r"\(batch, 2, height, width\), got shape \(2, 4, 4\)"):  # fmt: skip
        layer(np.zeros((2, 4, 4), np.float32))
    with pytest.raises(
        ValueError, match=r"expected an input of shape \(batch, 2, height, width\), got shape \(1, 3, 4, 4\)"
    ):
        layer(np.zeros((1, 3, 4, 4), np.float32))
    with pytest.raises(ValueError, match=r"conv_transpose2d: input has 3 channels but the weight expects 2"):
        F.conv_transpose2d(np.zeros((1, 3, 4, 4)), weight)
    with pytest.raises(ValueError, match=r"conv_transpose2d: expected a 4-D input .*, got shape \(4, 4\)"):
        F.conv_transpose2d(np.zeros((4, 4)), weight)
    with pytest.raises(
        ValueError, match=r"conv_transpose2d: weight must be 4-D \(in, out, kh, kw\), got shape \(2, 3\)"
    ):
        F.conv_transpose2d(np.zeros((1, 2, 4, 4)), tn.Tensor(np.zeros((2, 3))))
    with pytest.raises(ValueError, match=r"conv_transpose2d: the output size \(-1, 3\) is not positive: "
                       r"input shape \(1, 1, 1, 3\)"):  # fmt: skip
        F.conv_transpose2d(np.zeros((1, 1, 1, 3)), tn.Tensor(np.zeros((1, 1, 1, 1))), padding=(1, 0))
    with pytest.raises(ValueError, match="stride must be at least 1, got 0"):
        F.conv_transpose2d(np.zeros((1, 2, 4, 4)), weight, stride=0)


# ---------------------------------------------------------------- PyTorch parity


@pytest.mark.parametrize("config", CONFIGS, ids=config_id)
def test_conv_transpose2d_matches_torch(float64, config):
    torch = pytest.importorskip("torch")
    in_c, out_c, kernel, stride, padding, output_padding, dilation, bias, (h, w) = config
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose2d(
        in_c, out_c, kernel, stride, padding, output_padding, bias=bias, dilation=dilation
    ).double()
    ours = make_layer(config)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((3, in_c, h, w)))


def test_conv_autoencoder_matches_torch(float64):
    """Conv2d down, ConvTranspose2d up: the layers pass batch-last views to each other both ways."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    theirs = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, stride=2, padding=1), tnn.ReLU(), tnn.Conv2d(4, 6, 3, stride=2, padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1), tnn.ReLU(),
        tnn.ConvTranspose2d(4, 1, 4, stride=2, padding=1), tnn.Sigmoid(),
    ).double()  # fmt: skip
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1), nn.Sigmoid(),
    )  # fmt: skip
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((4, 1, 12, 12)))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: nn.ConvTranspose2d(3, 2, 0), r"kernel_size must be at least 1, got 0"),
        (lambda: nn.Conv2d(3, 2, 3, stride=0), r"stride must be at least 1, got 0"),
        (lambda: nn.Conv2d(3, 2, 3, padding=-1), r"padding must be at least 0, got -1"),
        (lambda: nn.ConvTranspose2d(3, 2, 3, dilation=(1, 0)), r"dilation must be at least 1, got \(1, 0\)"),
    ],
)
def test_sizes_below_their_smallest_are_refused_when_the_layer_is_made(make, message):
    with pytest.raises(ValueError, match=message):
        make()
