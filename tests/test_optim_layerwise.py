"""The layout, the base class of the optimizers that see the layers, and the bad inputs of Muon,
Adafactor, LAMB and LBFGS (their parity with torch is in test_optim_layerwise_parity.py)."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.optim import Layout, LayoutError


def mlp() -> nn.Module:
    tn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def train(model, opt, steps=5):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = x[:, :3].argmax(axis=1)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(loss.item())
    return losses


def test_layout_names_slices_and_shapes_in_params_order():
    model = mlp()
    layout = model.layout()
    assert [(e.name, e.slice, e.shape) for e in layout] == [
        ("0.weight", slice(0, 32), (8, 4)),
        ("0.bias", slice(32, 40), (8,)),
        ("2.weight", slice(40, 64), (3, 8)),
        ("2.bias", slice(64, 67), (3,)),
    ]
    for entry, (_, p) in zip(layout, model.named_parameters()):
        view = entry.view(model.params)
        assert np.shares_memory(view, model.params) and np.array_equal(view, p.data)
    assert repr(layout) == "Layout(0.weight[8, 4], 0.bias[8], 2.weight[3, 8], 2.bias[3])"


def test_layout_skips_frozen_parameters():
    model = mlp()
    model[0].requires_grad_(False)
    assert [e.name for e in model.layout()] == ["2.weight", "2.bias"]
    assert model.layout().size == model.params.size


def test_per_parameter_gives_views_not_copies():
    model = mlp()
    opt = optim.LAMB(layout=model.layout())
    for entry, g, p in opt.per_parameter(model.grads, model.params):
        assert np.shares_memory(g, model.grads) and np.shares_memory(p, model.params) and p.shape == entry.shape


@pytest.mark.parametrize(
    "make",
    [
        lambda m: optim.Muon(lr=0.05, fallback=optim.AdamW(lr=0.05), layout=m.layout()),
        lambda m: optim.Adafactor(lr=0.05, layout=m.layout()),
        lambda m: optim.LAMB(lr=0.05, layout=m.layout()),
    ],
    ids=["Muon", "Adafactor", "LAMB"],
)
def test_layerwise_optimizers_train_a_model(make):
    model = mlp()
    losses = train(model, make(model), steps=30)
    assert losses[-1] < 0.7 * losses[0], losses


def test_a_layout_that_does_not_match_params_is_refused():
    model, other = mlp(), nn.Sequential(nn.Linear(8, 3), nn.Linear(4, 8))  # the same parameters, in another order
    opt = optim.Muon(layout=model.layout())
    with pytest.raises(LayoutError, match="does not match params of 40 elements"):
        opt.step(np.zeros(40), np.zeros(40))
    assert other.params.size == model.params.size
    with pytest.raises(LayoutError, match="made for another params array.*may lie in another order"):
        opt.step(other.grads, other.params)
    with pytest.raises(LayoutError, match="made for float32 parameters, but params is float64"):
        opt.step(model.grads.astype(np.float64), model.params.astype(np.float64))
    layout = model.layout()
    model[0].requires_grad_(False)  # repacked: the old layout is refused, a new one works
    with pytest.raises(LayoutError, match="does not match params of 27 elements"):
        optim.Adafactor(layout=layout).step(model.grads, model.params)
    train(model, optim.Adafactor(layout=model.layout()))


def test_a_layout_out_of_order_is_refused_when_made():
    with pytest.raises(LayoutError, match=r"'b' of shape \(3,\) is at elements 0:3.*should be at 12:15"):
        Layout([("w", slice(0, 12), (3, 4)), ("b", slice(0, 3), (3,))])
    with pytest.raises(LayoutError, match=r"'w' of shape \(3, 4\) is at elements 0:10"):
        Layout([("w", slice(0, 10), (3, 4))])


def test_a_plain_array_is_one_parameter_of_its_own_shape():
    matrix, grads = np.ones((3, 4)), np.random.default_rng(0).standard_normal((3, 4))
    optim.Muon(lr=0.1).step(grads, matrix)
    with_layout = np.ones(12)
    optim.Muon(lr=0.1, layout=Layout([("w", slice(0, 12), (3, 4))])).step(grads.reshape(-1), with_layout)
    np.testing.assert_array_equal(with_layout, matrix.reshape(-1))


def test_muon_with_no_2d_parameter_is_refused():
    with pytest.raises(ValueError, match=r"Muon: no 2-D parameter to step \(params \(5,\)"):
        optim.Muon().step(np.ones(5), np.ones(5))
    model = mlp()
    with pytest.raises(ValueError, match=r"no 2-D parameter to step .*fallback_names \['0.weight', '2.weight'\]"):
        optim.Muon(layout=model.layout(), fallback_names=["0.weight", "2.weight"])


def test_muon_steps_biases_with_its_fallback():
    model = mlp()
    opt = optim.Muon(lr=0.02, fallback=optim.SGD(lr=0.5), layout=model.layout())
    biases = model[0].bias.data.copy()
    train(model, opt, steps=1)
    np.testing.assert_allclose(model[0].bias.data, biases - 0.5 * model[0].bias.grad, rtol=1e-6)
    assert sorted(opt.state) == ["0.weight.momentum_buffer", "2.weight.momentum_buffer"]


@pytest.mark.parametrize("name", ["Muon", "Adafactor", "LAMB"])
def test_checkpoint_resume_of_a_layerwise_optimizer(name, tmp_path):
    make = {
        "Muon": lambda m: optim.Muon(lr=0.02, fallback=optim.AdamW(lr=1e-2), layout=m.layout()),
        "Adafactor": lambda m: optim.Adafactor(layout=m.layout()),
        "LAMB": lambda m: optim.LAMB(lr=0.01, layout=m.layout()),
    }[name]
    straight = mlp()
    train(straight, make(straight), steps=6)
    first = mlp()
    opt = make(first)
    train(first, opt, steps=3)
    tn.save_checkpoint(tmp_path / "run.npz", model=first, optimizer=opt)
    second = mlp()
    resumed = make(second)
    tn.load_checkpoint(tmp_path / "run.npz", model=second, optimizer=resumed)
    train(second, resumed, steps=3)
    np.testing.assert_array_equal(second.params, straight.params)


def test_state_saved_for_another_model_is_refused_with_a_message_that_says_so():
    small, large = mlp(), nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = optim.Adafactor(layout=small.layout())
    train(small, opt, steps=1)
    other = optim.Adafactor(layout=large.layout())
    other.load_state_dict(opt.state_dict())  # a fresh optimizer cannot know the shapes yet
    with pytest.raises(ValueError, match=r"state '0.weight.row_var' has shape \(8, 1\), but the parameter '0.weight' of shape \(16, 4\) needs \(16, 1\)"):  # noqa: E501
        train(large, other, steps=1)
    train(large, other := optim.Adafactor(layout=large.layout()), steps=1)
    with pytest.raises(ValueError, match=r"the state '0.weight.row_var' has shape \(8, 1\), but this optimizer's"):
        other.load_state_dict(opt.state_dict())


def test_a_flat_optimizer_with_state_of_another_shape_is_pointed_to_layerwise_optimizer():
    class RowStatistics(optim.Optimizer):
        def compute_step(self, grads):
            rows = self.state.setdefault("rows", np.zeros((grads.shape[0], 1)))
            rows += np.mean(grads**2, axis=1, keepdims=True)
            return self.lr * grads / np.sqrt(rows)

    opt, params = RowStatistics(lr=0.1), np.ones((3, 4))
    opt.step(np.ones((3, 4)), params)
    with pytest.raises(ValueError, match="subclasses optim.LayerwiseOptimizer and makes it with state_for"):
        opt.step(np.ones((3, 4)), params)


def test_factored_state_is_smaller_than_adams():
    model = nn.Linear(300, 200)
    adafactor, adam = optim.Adafactor(layout=model.layout()), optim.Adam()
    grads = np.ones_like(model.params)
    adafactor.step(grads, model.params)
    adam.step(grads, model.params)
    assert sum(a.size for a in adafactor.state.values()) == 200 + 300 + 200  # rows, columns, the bias's
    assert sum(a.size for a in adam.state.values()) == 2 * (300 * 200 + 200)


def test_layerwise_hyperparameters_are_numbers():
    with pytest.raises(TypeError, match=r"invalid learning rate \(lr\): array"):
        optim.LAMB(lr=np.ones(3))
    with pytest.raises(TypeError, match="layout must be model.layout"):
        optim.LAMB(layout=[("w", slice(0, 3), (3,))])
    with pytest.raises(ValueError, match="invalid adjust_lr_fn"):
        optim.Muon(adjust_lr_fn="other")
    with pytest.raises(ValueError, match="invalid ns_steps: 100"):
        optim.Muon(ns_steps=100)
    with pytest.raises(ValueError, match=r"invalid d \(clipping threshold\): 0.5"):
        optim.Adafactor(d=0.5)
    with pytest.raises(ValueError, match="invalid beta2_decay: 0.5"):
        optim.Adafactor(beta2_decay=0.5)
    with pytest.raises(ValueError, match=r"invalid etas: \(1.5, 1.2\)"):
        optim.Rprop(etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="invalid line_search_fn: 'wolfe'"):
        optim.LBFGS(line_search_fn="wolfe")


def quadratic_closure(params, grads, value=lambda params: float(params @ params)):
    def closure():
        grads[...] = 2 * params
        return value(params)

    return closure


def test_lbfgs_without_a_closure_is_refused():
    with pytest.raises(TypeError, match=r"LBFGS.step needs a closure: opt.step\(model.grads, model.params, closure\)"):
        optim.LBFGS().step(np.zeros(3), np.ones(3))
    with pytest.raises(TypeError, match="LBFGS has no compute_step"):
        optim.LBFGS().compute_step(np.zeros(3))


@pytest.mark.parametrize(
    "value, error, message",
    [
        (None, TypeError, "the closure returned None; it must return the loss"),
        ("1.0", TypeError, "the closure returned a str"),
        (float("nan"), ValueError, r"the closure returned a non-finite loss \(nan\) at evaluation 1"),
        (np.float64(np.inf), ValueError, r"non-finite loss \(inf\)"),
    ],
)
def test_lbfgs_refuses_a_closure_that_returns_no_finite_loss(value, error, message):
    params, grads = np.ones(3), np.zeros(3)
    with pytest.raises(error, match=message):
        optim.LBFGS().step(grads, params, quadratic_closure(params, grads, lambda params: value))


def test_lbfgs_state_for_another_size_is_refused():
    params, grads = np.ones(3), np.zeros(3)
    opt = optim.LBFGS()
    opt.step(grads, params, quadratic_closure(params, grads))
    fresh = optim.LBFGS()
    fresh.load_state_dict(opt.state_dict())
    other, other_grads = np.ones(4), np.zeros(4)
    with pytest.raises(ValueError, match="the state was made for 3 parameters, params has 4"):
        fresh.step(other_grads, other, quadratic_closure(other, other_grads))


def test_lbfgs_trains_a_model_full_batch_and_resumes():
    tn.set_default_dtype(np.float64)
    try:
        model = mlp().to(np.float64)
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)

        def closure():
            loss = F.cross_entropy(model(x), y)
            model.zero_grad()
            loss.backward()
            return loss

        opt = optim.LBFGS(history_size=10, max_iter=10, line_search_fn="strong_wolfe")
        first = opt.step(model.grads, model.params, closure)
        for _ in range(4):
            last = opt.step(model.grads, model.params, closure)
        assert last < 0.6 * first
        resumed = optim.LBFGS(history_size=10, max_iter=10, line_search_fn="strong_wolfe")
        resumed.load_state_dict(opt.state_dict())
        copy = model.params.copy()
        opt.step(model.grads, model.params, closure)
        after, model.params[...] = model.params.copy(), copy
        resumed.step(model.grads, model.params, closure)
        np.testing.assert_array_equal(model.params, after)
    finally:
        tn.set_default_dtype(np.float32)
