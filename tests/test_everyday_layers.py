"""The everyday layers of issue 26 beside PyTorch's: Conv1d, MaxPool1d, AvgPool1d,
AdaptiveAvgPool2d of any output size, GroupNorm, Unflatten, Sequential(OrderedDict), and
nn.utils.clip_grad_norm_ / clip_grad_value_ on model.parameters(). PyTorch's weights load
(same state-dict keys and layouts); values and gradients agree; gradcheck in float64."""

from collections import OrderedDict

import numpy as np
import pytest
from torch_parity import assert_module_matches_torch

import tinynet as tn
from tinynet import functional as F
from tinynet import nn

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def float64():
    tn.set_default_dtype(np.float64)
    yield
    tn.set_default_dtype(np.float32)


def with_torch_weights(ours: nn.Module, theirs) -> nn.Module:
    """`ours` holding `theirs`' (float64) weights, loaded through the state dict as a user would."""
    theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


@pytest.mark.parametrize(
    "options", [{}, {"stride": 2}, {"padding": 2}, {"dilation": 2, "bias": False}, {"stride": (2,), "padding": (1,)}]
)
def test_conv1d_matches_torch(options):
    theirs = torch.nn.Conv1d(3, 4, 3, **options)
    ours = with_torch_weights(nn.Conv1d(3, 4, 3, **options), theirs)
    assert ours.weight.shape == (4, 3, 3) and list(ours.state_dict()) == list(theirs.state_dict())
    assert_module_matches_torch(ours, theirs, rng.standard_normal((2, 3, 11)))


def test_conv1d_initializes_as_torch_and_passes_gradcheck():
    layer = nn.Conv1d(4, 2, 5)
    bound = 1 / np.sqrt(4 * 5)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    x = tn.Tensor(rng.standard_normal((2, 4, 7)), requires_grad=True)
    assert tn.gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1), [x, layer.weight, layer.bias])
    assert repr(layer) == "Conv1d(4, 2, kernel_size=(5,), stride=(1,))"


def test_conv1d_errors():
    layer = nn.Conv1d(3, 4, 3)
    with pytest.raises(ValueError, match="expected an input of shape \\(batch, 3, length\\), got shape \\(2, 5, 8\\)"):
        layer(tn.Tensor(np.zeros((2, 5, 8))))
    with pytest.raises(ValueError, match="expected an input of shape \\(batch, 3, length\\)"):
        layer(tn.Tensor(np.zeros((3, 8))))
    with pytest.raises(ValueError, match="kernel_size must be at least 1"):
        nn.Conv1d(3, 4, 0)
    with pytest.raises(TypeError, match="stride must be an int or a 1-tuple of an int, got 1.5"):
        nn.Conv1d(3, 4, 3, stride=1.5)
    with pytest.raises(ValueError, match="conv1d: input length 2 \\(padded: 2\\) is smaller than the kernel's 3"):
        layer(tn.Tensor(np.zeros((2, 3, 2))))
    with pytest.raises(ValueError, match="conv1d: input has 5 channels but the weight expects 3"):
        F.conv1d(tn.Tensor(np.zeros((2, 5, 8))), layer.weight)
    with pytest.raises(ValueError, match="conv1d: weight must be 3-D"):
        F.conv1d(tn.Tensor(np.zeros((2, 3, 8))), tn.Tensor(np.zeros((4, 3))))


@pytest.mark.parametrize("ours_class, torch_class", [(nn.MaxPool1d, "MaxPool1d"), (nn.AvgPool1d, "AvgPool1d")])
@pytest.mark.parametrize("options", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1}])
def test_pool1d_matches_torch(ours_class, torch_class, options):
    ours, theirs = ours_class(**options), getattr(torch.nn, torch_class)(**options)
    assert_module_matches_torch(ours, theirs, rng.standard_normal((2, 3, 9)))
    x = tn.Tensor(rng.standard_normal((1, 2, 7)), requires_grad=True)
    assert tn.gradcheck(ours, [x])


def test_pool1d_errors():
    with pytest.raises(ValueError, match="max_pool1d: expected a 3-D input \\(batch, channels, length\\)"):
        nn.MaxPool1d(2)(tn.Tensor(np.zeros((2, 3, 4, 4))))
    with pytest.raises(ValueError, match="padding must be at most half the kernel size"):
        nn.AvgPool1d(2, padding=2)(tn.Tensor(np.zeros((2, 3, 8))))
    with pytest.raises(ValueError, match="avg_pool1d: input length 1 \\(padded: 1\\) is smaller than the kernel's 2"):
        nn.AvgPool1d(2)(tn.Tensor(np.zeros((2, 3, 1))))


@pytest.mark.parametrize("size", [1, 2, 3, (2, 5), (4, None), 7, (3, 1), (10, 10)])
def test_adaptive_avg_pool2d_of_any_size_matches_torch(size):
    ours, theirs = nn.AdaptiveAvgPool2d(size), torch.nn.AdaptiveAvgPool2d(size)
    assert_module_matches_torch(ours, theirs, rng.standard_normal((2, 3, 7, 10)))
    assert_module_matches_torch(ours, theirs, rng.standard_normal((3, 5, 6)))  # no batch dim
    x = tn.Tensor(rng.standard_normal((1, 2, 5, 4)), requires_grad=True)
    assert tn.gradcheck(ours, [x])


def test_adaptive_avg_pool2d_errors():
    with pytest.raises(ValueError, match="expected a 3-D or 4-D input"):
        nn.AdaptiveAvgPool2d(2)(tn.Tensor(np.zeros((4, 4))))
    with pytest.raises(ValueError, match="output_size must be at least 1"):
        nn.AdaptiveAvgPool2d(0)(tn.Tensor(np.zeros((1, 1, 4, 4))))


@pytest.mark.parametrize("groups, channels, affine", [(2, 4, True), (1, 3, True), (3, 3, False), (2, 6, True)])
@pytest.mark.parametrize("shape", [(2, None, 5), (2, None, 3, 4), (3, None)])
def test_group_norm_matches_torch(groups, channels, affine, shape):
    theirs = torch.nn.GroupNorm(groups, channels, affine=affine)
    if affine:
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-0.5, 0.5)
    ours = with_torch_weights(nn.GroupNorm(groups, channels, affine=affine), theirs)
    shape = tuple(channels if n is None else n for n in shape)
    assert_module_matches_torch(ours, theirs, rng.standard_normal(shape), rtol=1e-7)


def test_group_norm_passes_gradcheck_and_names_bad_input():
    layer = nn.GroupNorm(2, 4)
    layer.weight.data[...] = rng.uniform(0.5, 1.5, 4)
    x = tn.Tensor(rng.standard_normal((2, 4, 3)), requires_grad=True)
    assert tn.gradcheck(lambda x, w, b: F.group_norm(x, 2, w, b), [x, layer.weight, layer.bias])
    assert repr(layer) == "GroupNorm(2, 4, eps=1e-05, affine=True)"
    with pytest.raises(ValueError, match="num_channels \\(5\\) must be divisible by num_groups \\(2\\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(ValueError, match="expected an input \\(N, 4, ...\\)"):
        layer(tn.Tensor(np.zeros((2, 3, 5))))
    with pytest.raises(ValueError, match="whose C is divisible by num_groups=0"):
        F.group_norm(tn.Tensor(np.zeros((2, 4, 5))), 0)


@pytest.mark.parametrize("dim, size, shape", [(1, (2, 6), (3, 12)), (-1, (2, -1), (3, 4, 8)), (0, (1, 3), (3, 2))])
def test_unflatten_matches_torch(dim, size, shape):
    x = rng.standard_normal(shape)
    ours, theirs = nn.Unflatten(dim, size), torch.nn.Unflatten(dim, size)
    assert_module_matches_torch(ours, theirs, x)
    roundtrip = nn.Flatten(0 if dim == 0 else 1)(ours(tn.Tensor(x))) if len(shape) == 2 else None
    if roundtrip is not None and dim == 1:
        np.testing.assert_array_equal(roundtrip.data, x)


def test_unflatten_errors():
    with pytest.raises(ValueError, match="cannot split dim 1 of size 12 .* into \\(5, 2\\)"):
        nn.Unflatten(1, (5, 2))(tn.Tensor(np.zeros((3, 12))))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of positive ints"):
        nn.Unflatten(1, 12)
    with pytest.raises(TypeError, match="one may be -1"):
        nn.Unflatten(1, (-1, -1))


def test_sequential_of_an_ordered_dict_names_its_layers_as_torch():
    def layers(library):
        return OrderedDict([("conv", library.Conv2d(1, 2, 3)), ("act", library.ReLU()), ("fc", library.Flatten())])

    theirs = torch.nn.Sequential(layers(torch.nn))
    ours = with_torch_weights(nn.Sequential(layers(nn)), theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["conv.weight", "conv.bias"]
    assert isinstance(ours.conv, nn.Conv2d) and ours[0] is ours.conv and len(ours) == 3
    assert_module_matches_torch(ours, theirs, rng.standard_normal((2, 1, 5, 5)))
    with pytest.raises(KeyError, match="layer names must be non-empty strings without '.'"):
        nn.Sequential(OrderedDict([("a.b", nn.ReLU())]))
    with pytest.raises(TypeError, match="is of type int, not a Module"):
        nn.Sequential(OrderedDict([("a", 3)]))


# ---------------------------------------------------------------- gradient clipping


def two_models(seed: int):
    """The same MLP in tinynet and torch, with gradients from one backward pass."""
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    ours = with_torch_weights(nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)), theirs)
    x = rng.standard_normal((5, 4)) * 3
    ours(tn.Tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    return ours, theirs


@pytest.mark.parametrize("max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.3, 1.0), (0.1, float("inf")), (1.0, 3)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    ours, theirs = two_models(0)
    norm = nn.utils.clip_grad_norm_(ours.parameters(), max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    assert isinstance(norm, tn.Tensor) and float(norm) == pytest.approx(float(expected), rel=1e-12)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, err_msg=name)
    # in place: the flat array the optimizer steps holds the clipped gradients
    np.testing.assert_array_equal(ours.grads, np.concatenate([p.grad.reshape(-1) for p in ours.parameters()]))


def test_clip_grad_value_matches_torch():
    ours, theirs = two_models(1)
    nn.utils.clip_grad_value_(ours.parameters(), 0.2)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), 0.2)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
    assert np.abs(ours.grads).max() <= 0.2


def test_clipping_skips_parameters_without_gradients_and_names_bad_input():
    layer = nn.Linear(2, 2)
    layer.weight.grad = np.full((2, 2), 3.0)
    layer.bias.grad = None
    assert float(nn.utils.clip_grad_norm_(layer.weight, 1.0)) == pytest.approx(6.0)
    assert np.linalg.norm(layer.weight.grad) == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(TypeError, match="clip_grad_norm_: expected Parameters or Tensors"):
        nn.utils.clip_grad_norm_([np.zeros(2)], 1.0)
    with pytest.raises(ValueError, match="max_norm must be non-negative"):
        nn.utils.clip_grad_norm_(layer.parameters(), -1.0)
    with pytest.raises(ValueError, match="clip_value must be non-negative"):
        nn.utils.clip_grad_value_(layer.parameters(), -1.0)
