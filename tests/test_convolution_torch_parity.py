"""Conv2d, pooling and BatchNorm2d against torch.nn: outputs and all gradients, float64, 1e-8."""

import numpy as np
import pytest
from test_convolution import CONV_CONFIGS, POOL_CONFIGS, conv_id
from torch_parity import assert_module_matches_torch

from tinynet import nn

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("config", CONV_CONFIGS, ids=conv_id)
def test_conv2d_matches_torch(float64, config):
    in_c, out_c, kernel, stride, padding, dilation, bias, (h, w) = config
    torch.manual_seed(0)
    theirs = torch.nn.Conv2d(in_c, out_c, kernel, stride, padding, dilation, bias=bias).double()
    ours = nn.Conv2d(in_c, out_c, kernel, stride, padding, dilation, bias)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((3, in_c, h, w)))


@pytest.mark.parametrize("pool", ["max", "avg"])
@pytest.mark.parametrize("config", POOL_CONFIGS, ids=lambda c: f"k{c[0]}-s{c[1]}-p{c[2]}")
def test_pooling_matches_torch(pool, config):
    ours = (nn.MaxPool2d if pool == "max" else nn.AvgPool2d)(*config)
    theirs = (torch.nn.MaxPool2d if pool == "max" else torch.nn.AvgPool2d)(*config)
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((2, 3, 6, 7)))


@pytest.mark.parametrize("config", POOL_CONFIGS, ids=lambda c: f"k{c[0]}-s{c[1]}-p{c[2]}")
def test_max_pool_ties_and_tiled_input_match_torch(config):
    """Small integers tie often: the gradient must go to the same position as torch's (the first
    in row-major order). 6x8 is tiled exactly by the 2x2 windows."""
    values = np.random.default_rng(1).integers(0, 3, (2, 3, 6, 8)).astype(np.float64)
    assert_module_matches_torch(nn.MaxPool2d(*config), torch.nn.MaxPool2d(*config), values)


def test_small_cnn_matches_torch(float64):
    """Layers in a chain pass batch-last views and NCHW arrays to each other (conv output, pooling,
    Flatten's gradient): the whole network must still match, with padding 0 and 1, both poolings
    and BatchNorm2d."""
    torch.manual_seed(0)
    tnn = torch.nn
    theirs = tnn.Sequential(
        tnn.Conv2d(2, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2), tnn.BatchNorm2d(4),
        tnn.Conv2d(4, 6, 3), tnn.ReLU(), tnn.AvgPool2d(2), tnn.Flatten(), tnn.Linear(6, 3),
    ).double()  # fmt: skip
    ours = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.BatchNorm2d(4),
        nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(6, 3),
    )  # fmt: skip
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((5, 2, 8, 8)))


def test_adaptive_avg_pool_matches_torch():
    assert_module_matches_torch(
        nn.AdaptiveAvgPool2d(1), torch.nn.AdaptiveAvgPool2d(1), np.random.default_rng(0).standard_normal((2, 3, 5, 4))
    )


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm2d_matches_torch(float64, mode):
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm2d(3, momentum=0.3).double()
    with torch.no_grad():
        for t in (theirs.weight, theirs.running_var):
            t.uniform_(0.5, 2)
        for t in (theirs.bias, theirs.running_mean):
            t.uniform_(-1, 1)
    ours = nn.BatchNorm2d(3, momentum=0.3)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.train(mode == "train")
    theirs.train(mode == "train")
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal((4, 3, 5, 6)) * 2 + 1)
