"""200 steps of tinynet and torch.optim on the same float64 parameters and gradients: 1e-9."""

import numpy as np
import pytest

from tinynet import optim
from tinynet.optim import lr_scheduler

torch = pytest.importorskip("torch")

CASES = {
    "sgd": (optim.SGD, torch.optim.SGD, {"lr": 0.01}),
    "sgd_weight_decay": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "weight_decay": 0.1}),
    "sgd_momentum": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "dampening": 0.1}),
    "sgd_nesterov": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "sgdm": (optim.SGDm, torch.optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "adagrad": (optim.Adagrad, torch.optim.Adagrad, {}),
    "adagrad_weight_decay": (optim.Adagrad, torch.optim.Adagrad, {"weight_decay": 0.1}),
    "adagrad_decay_init": (optim.Adagrad, torch.optim.Adagrad, {"lr_decay": 0.01, "initial_accumulator_value": 0.3}),
    "rmsprop": (optim.RMSProp, torch.optim.RMSprop, {}),
    "rmsprop_weight_decay": (optim.RMSProp, torch.optim.RMSprop, {"weight_decay": 0.1}),
    "rmsprop_centered_momentum": (optim.RMSProp, torch.optim.RMSprop, {"centered": True, "momentum": 0.9}),
    "adam": (optim.Adam, torch.optim.Adam, {}),
    "adam_weight_decay": (optim.Adam, torch.optim.Adam, {"weight_decay": 0.1}),
    "adam_amsgrad": (optim.Adam, torch.optim.Adam, {"amsgrad": True, "betas": (0.8, 0.99)}),
    "adamw": (optim.AdamW, torch.optim.AdamW, {}),
    "adamw_weight_decay": (optim.AdamW, torch.optim.AdamW, {"weight_decay": 0.3, "lr": 0.01}),
    "adamw_amsgrad": (optim.AdamW, torch.optim.AdamW, {"amsgrad": True}),
    "adadelta": (optim.Adadelta, torch.optim.Adadelta, {}),
    "adadelta_weight_decay": (optim.Adadelta, torch.optim.Adadelta, {"weight_decay": 0.1, "rho": 0.8}),
    "adamax": (optim.Adamax, torch.optim.Adamax, {}),
    "adamax_weight_decay": (optim.Adamax, torch.optim.Adamax, {"weight_decay": 0.1}),
    "nadam": (optim.NAdam, torch.optim.NAdam, {}),
    "nadam_weight_decay": (optim.NAdam, torch.optim.NAdam, {"weight_decay": 0.1}),
    "radam": (optim.RAdam, torch.optim.RAdam, {}),
    "radam_weight_decay": (optim.RAdam, torch.optim.RAdam, {"weight_decay": 0.1}),
    "adam_decoupled": (optim.Adam, torch.optim.Adam, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    "nadam_decoupled": (optim.NAdam, torch.optim.NAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
    "radam_decoupled": (optim.RAdam, torch.optim.RAdam, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_optimizer_matches_torch(name):
    ours_class, torch_class, kwargs = CASES[name]
    rng = np.random.default_rng(0)
    initial = rng.standard_normal(50)
    params = initial.copy()
    reference = torch.tensor(initial.copy(), requires_grad=True)
    ours, theirs = ours_class(**kwargs), torch_class([reference], **kwargs)
    for _ in range(200):
        g = rng.standard_normal(50) + 0.5 * params  # depends on the parameters, like a real gradient
        ours.step(g, params)
        reference.grad = torch.tensor(g)
        theirs.step()
    np.testing.assert_allclose(params, reference.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_clip_grad_norm_matches_torch():
    g = np.random.default_rng(0).standard_normal(20) * 3
    t = torch.zeros(20, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(g.copy())
    expected = torch.nn.utils.clip_grad_norm_([t], 2.0)
    norm = optim.clip_grad_norm(g, 2.0)
    assert norm == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12)


SCHEDULERS = {
    "step": (
        lambda o: lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5),
    ),
    "multistep": (
        lambda o: lr_scheduler.MultiStepLR(o, [10, 30, 31, 80], gamma=0.3),
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [10, 30, 31, 80], gamma=0.3),
    ),
    "exponential": (
        lambda o: lr_scheduler.ExponentialLR(o, 0.97),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.97),
    ),
    "cosine": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.001),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.001),
    ),
    "cosine_restart_period": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=30),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30),
    ),
    "linear_warmup": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=20),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=20),
    ),
    "linear_decay": (
        lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=50),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=50),
    ),
    "one_cycle": (
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=101),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=101),
    ),
    "one_cycle_linear_three_phase": (
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr=0.1, epochs=10, steps_per_epoch=11, anneal_strategy="linear", three_phase=True
        ),
        lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=0.1, epochs=10, steps_per_epoch=11, anneal_strategy="linear", three_phase=True
        ),
    ),
}


@pytest.mark.parametrize("optimizer", ["sgdm", "adam"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lr_sequence_matches_torch(name, optimizer):
    ours_opt = optim.SGDm(lr=0.05) if optimizer == "sgdm" else optim.Adam(lr=0.05)
    p = torch.zeros(1, requires_grad=True)
    theirs_opt = torch.optim.SGD([p], lr=0.05, momentum=0.9) if optimizer == "sgdm" else torch.optim.Adam([p], lr=0.05)
    make_ours, make_theirs = SCHEDULERS[name]
    ours, theirs = make_ours(ours_opt), make_theirs(theirs_opt)
    ours_lrs, theirs_lrs, ours_momenta, theirs_momenta = [], [], [], []
    for _ in range(100):
        ours_lrs.append(ours.get_last_lr()[0])
        theirs_lrs.append(theirs.get_last_lr()[0])
        ours_momenta.append(ours_opt.momentum if optimizer == "sgdm" else ours_opt.betas[0])
        group = theirs_opt.param_groups[0]
        theirs_momenta.append(group["momentum"] if optimizer == "sgdm" else group["betas"][0])
        theirs_opt.step()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(ours_lrs, theirs_lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours_momenta, theirs_momenta, rtol=1e-12)


def test_reduce_lr_on_plateau_matches_torch():
    metrics = [1.0, 0.9, 0.91, 0.92, 0.93, 0.9, 0.95, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85] * 4
    for kwargs in [
        {"patience": 2},
        {"patience": 1, "cooldown": 2, "factor": 0.5},
        {"mode": "max", "patience": 1},
        {"threshold_mode": "abs", "threshold": 0.05, "patience": 0, "min_lr": 0.004},
    ]:
        ours_opt = optim.SGD(lr=0.1)
        theirs_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        ours = lr_scheduler.ReduceLROnPlateau(ours_opt, **kwargs)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, **kwargs)
        for metric in metrics:
            ours.step(metric)
            theirs.step(metric)
            assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-12), kwargs
