"""Every layer and loss against torch.nn on the same weights, float64, 1e-8 relative."""

import numpy as np
import pytest
from torch_parity import assert_module_matches_torch

import tinynet as tn
from tinynet import functional as F
from tinynet import nn

torch = pytest.importorskip("torch")
tnn = torch.nn


def copy_weights(ours, theirs):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


LAYER_PAIRS = {
    "linear": (lambda: nn.Linear(5, 3), lambda: tnn.Linear(5, 3)),
    "linear_no_bias": (lambda: nn.Linear(5, 3, bias=False), lambda: tnn.Linear(5, 3, bias=False)),
    "relu": (nn.ReLU, tnn.ReLU),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), lambda: tnn.LeakyReLU(0.1)),
    "sigmoid": (nn.Sigmoid, tnn.Sigmoid),
    "tanh": (nn.Tanh, tnn.Tanh),
    "gelu": (nn.GELU, tnn.GELU),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda: tnn.GELU("tanh")),
    "softmax": (lambda: nn.Softmax(dim=1), lambda: tnn.Softmax(dim=1)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(5, momentum=0.2), lambda: tnn.BatchNorm1d(5, momentum=0.2)),
    "flatten": (nn.Flatten, tnn.Flatten),
    "mlp": (
        lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)),
        lambda: tnn.Sequential(tnn.Linear(5, 8), tnn.ReLU(), tnn.Linear(8, 8), tnn.Tanh(), tnn.Linear(8, 3)),
    ),
}


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", list(LAYER_PAIRS))
def test_layer_matches_torch(float64, name, mode):
    torch.manual_seed(0)
    make_ours, make_theirs = LAYER_PAIRS[name]
    theirs = make_theirs().double()
    ours = make_ours()
    if name == "batchnorm1d":
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 2)
            theirs.bias.uniform_(-1, 1)
            theirs.running_mean.uniform_(-1, 1)
            theirs.running_var.uniform_(0.5, 2)
    copy_weights(ours, theirs)
    ours.train(mode == "train")
    theirs.train(mode == "train")
    assert_module_matches_torch(ours, theirs, np.random.default_rng(1).standard_normal((7, 5)) * 2)


def test_dropout_matches_torch_statistics_and_scaling():
    x = np.ones((100, 100))
    ours = nn.Dropout(0.3, generator=np.random.default_rng(0))(x).data
    theirs = tnn.Dropout(0.3)(torch.tensor(x)).numpy()
    assert set(np.unique(ours)) == set(np.unique(theirs))
    assert abs((ours == 0).mean() - (theirs == 0).mean()) < 0.03


rng = np.random.default_rng(3)
LABELS = rng.integers(0, 4, 6)
PROBS = rng.dirichlet(np.ones(4), 6)
VALUES = rng.standard_normal((6, 4))
BINARY = rng.uniform(0, 1, (6, 4))

LOSS_PAIRS = {
    "cross_entropy": (
        lambda x: F.cross_entropy(x, LABELS),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(LABELS)),
    ),
    "cross_entropy_none_smooth": (
        lambda x: F.cross_entropy(x, LABELS, reduction="none", label_smoothing=0.15),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(LABELS), reduction="none", label_smoothing=0.15),
    ),
    "cross_entropy_probs_sum_smooth": (
        lambda x: F.cross_entropy(x, tn.Tensor(PROBS), reduction="sum", label_smoothing=0.1),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(PROBS), reduction="sum", label_smoothing=0.1),
    ),
    "mse": (
        lambda x: F.mse_loss(x, tn.Tensor(VALUES)),
        lambda x: torch.nn.functional.mse_loss(x, torch.tensor(VALUES)),
    ),
    "l1_sum": (
        lambda x: F.l1_loss(x, tn.Tensor(VALUES), reduction="sum"),
        lambda x: torch.nn.functional.l1_loss(x, torch.tensor(VALUES), reduction="sum"),
    ),
    "huber": (
        lambda x: F.huber_loss(x, tn.Tensor(VALUES), delta=0.8),
        lambda x: torch.nn.functional.huber_loss(x, torch.tensor(VALUES), delta=0.8),
    ),
    "bce_with_logits": (
        lambda x: F.binary_cross_entropy_with_logits(x, tn.Tensor(BINARY), reduction="none"),
        lambda x: torch.nn.functional.binary_cross_entropy_with_logits(x, torch.tensor(BINARY), reduction="none"),
    ),
    "log_softmax": (lambda x: F.log_softmax(x, 1), lambda x: torch.log_softmax(x, 1)),
}


@pytest.mark.parametrize("name", list(LOSS_PAIRS))
def test_loss_matches_torch(name):
    ours, theirs = LOSS_PAIRS[name]
    x = np.random.default_rng(4).standard_normal((6, 4)) * 3
    xo, xt = tn.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt)
    g = np.random.default_rng(5).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-8)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-14)


def test_mlp_loss_and_flat_grads_match_torch(float64):
    torch.manual_seed(0)
    theirs = tnn.Sequential(tnn.Linear(20, 16), tnn.ReLU(), tnn.Linear(16, 12), tnn.ReLU(), tnn.Linear(12, 5)).double()
    ours = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 5))
    copy_weights(ours, theirs)
    x = np.random.default_rng(0).standard_normal((32, 20))
    y = np.random.default_rng(1).integers(0, 5, 32)
    loss = F.cross_entropy(ours(x), y)
    ours.zero_grad()
    loss.backward()
    expected = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-10)
    torch_grads = np.concatenate([p.grad.numpy().reshape(-1) for p in theirs.parameters()])
    np.testing.assert_allclose(ours.grads, torch_grads, rtol=1e-8, atol=1e-14)


def test_torch_state_dict_loads_unchanged_and_gives_same_outputs():
    torch.manual_seed(1)
    theirs = tnn.Sequential(tnn.Linear(6, 8), tnn.BatchNorm1d(8), tnn.ReLU(), tnn.Dropout(0.2), tnn.Linear(8, 3))
    theirs(torch.randn(16, 6))  # move the running statistics
    theirs.eval()
    ours = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3)).eval()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
