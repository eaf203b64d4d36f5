"""Freezing and per-element hyperparameters against PyTorch: a frozen layer there (requires_grad
False) and parameter groups there are the same training as model.params and flat_values here."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn, optim

torch = pytest.importorskip("torch")

OPTIMIZERS = {
    "sgd_momentum_weight_decay": (optim.SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    "adam_weight_decay": (optim.Adam, torch.optim.Adam, {"lr": 0.01, "weight_decay": 0.1}),
    "adamw": (optim.AdamW, torch.optim.AdamW, {"lr": 0.01, "weight_decay": 0.1}),
}


def twins():
    """A float64 MLP in tinynet and the same one, with the same weights, in torch."""
    tn.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3)).to(np.float64)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def train_both(ours, theirs, ours_opt, theirs_opt, steps: int = 10) -> None:
    rng = np.random.default_rng(1)
    for _ in range(steps):
        x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
        ours.zero_grad()
        tn.functional.cross_entropy(ours(x), y).backward()
        ours_opt.step(ours.grads, ours.params)
        theirs_opt.zero_grad()
        torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        theirs_opt.step()


def assert_same_weights(ours, theirs) -> None:
    state = ours.state_dict()
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(state[name], value.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_frozen_layer_trains_like_torch_and_never_moves(name):
    ours_class, theirs_class, kwargs = OPTIMIZERS[name]
    ours, theirs = twins()
    ours[2].requires_grad_(False)
    theirs[2].requires_grad_(False)
    frozen_before = ours[2].weight.data.copy()
    ours_opt, theirs_opt = ours_class(**kwargs), theirs_class(theirs.parameters(), **kwargs)
    train_both(ours, theirs, ours_opt, theirs_opt)
    np.testing.assert_array_equal(ours[2].weight.data, frozen_before)
    assert_same_weights(ours, theirs)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_per_element_weight_decay_matches_torch_parameter_groups(name):
    ours_class, theirs_class, kwargs = OPTIMIZERS[name]
    ours, theirs = twins()
    decay = {"weight": kwargs["weight_decay"], "bias": 0.0}
    ours_opt = ours_class(**{**kwargs, "weight_decay": ours.flat_values(lambda n, p: decay[n.split(".")[-1]])})
    groups = [
        {"params": [p for n, p in theirs.named_parameters() if n.endswith(kind)], "weight_decay": value}
        for kind, value in decay.items()
    ]
    theirs_opt = theirs_class(groups, **kwargs)
    train_both(ours, theirs, ours_opt, theirs_opt)
    assert_same_weights(ours, theirs)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_per_element_lr_matches_torch_parameter_groups(name):
    ours_class, theirs_class, kwargs = OPTIMIZERS[name]
    ours, theirs = twins()
    layer_lr = {"0": kwargs["lr"], "2": kwargs["lr"] / 10, "4": kwargs["lr"] * 2}  # layer-wise learning rates
    ours_opt = ours_class(**{**kwargs, "lr": ours.flat_values(lambda n, p: layer_lr[n.split(".")[0]])})
    groups = [
        {"params": [p for n, p in theirs.named_parameters() if n.startswith(f"{layer}.")], "lr": lr}
        for layer, lr in layer_lr.items()
    ]
    theirs_opt = theirs_class(groups, **kwargs)
    train_both(ours, theirs, ours_opt, theirs_opt)
    assert_same_weights(ours, theirs)


def test_unfreezing_with_a_new_optimizer_matches_torch():
    ours, theirs = twins()
    ours[0].requires_grad_(False)
    theirs[0].requires_grad_(False)
    train_both(ours, theirs, optim.Adam(lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01), steps=5)
    ours[0].requires_grad_(True)
    theirs[0].requires_grad_(True)
    train_both(ours, theirs, optim.Adam(lr=0.01), torch.optim.Adam(theirs.parameters(), lr=0.01), steps=5)
    assert_same_weights(ours, theirs)
