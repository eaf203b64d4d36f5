"""The optimizer design: compute_step is the algorithm on its own, the base class owns the loop,
hyperparameters are numbers or per-element arrays, and nothing a subclass inherits changes it."""

import numpy as np
import pytest
from test_optim import ALL

import tinynet as tn
from tinynet import nn, optim
from tinynet.optim import lr_scheduler


@pytest.mark.parametrize("name", list(ALL))
@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_compute_step_alone_returns_the_decrements_step_applies(name, shape):
    if name == "Muon" and len(shape) != 2:
        pytest.skip("Muon steps 2-D parameters only: a 1-D array has none (it raises, as tested elsewhere)")
    rng = np.random.default_rng(0)
    stepped, alone = ALL[name](lr=0.01, weight_decay=0.0), ALL[name](lr=0.01, weight_decay=0.0)
    params = rng.standard_normal(shape)
    for _ in range(5):
        g = rng.standard_normal(shape)
        before = params.copy()
        stepped.step(g, params)
        sees_params = isinstance(alone, optim.LayerwiseOptimizer)  # compute_step(grads, params)
        decrement = alone.compute_step(g, before) if sees_params else alone.compute_step(g)
        assert decrement.shape == shape
        np.testing.assert_allclose(decrement, before - params, rtol=1e-12, atol=1e-15)
    for key, value in stepped.state.items():
        np.testing.assert_array_equal(alone.state[key], value)


def textbook_adam(g, m, v, v_max, t, lr, beta1, beta2, eps, amsgrad):
    """Adam exactly as its docstring writes it, with new arrays at every line."""
    m[:] = beta1 * m + (1 - beta1) * g
    v[:] = beta2 * v + (1 - beta2) * g * g
    if amsgrad:
        v_max[:] = np.maximum(v_max, v)
    m_hat, v_hat = m / (1 - beta1**t), (v_max if amsgrad else v) / (1 - beta2**t)
    return lr * m_hat / (np.sqrt(v_hat) + eps)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-4), (np.float64, 1e-12)], ids=["float32", "float64"])
@pytest.mark.parametrize("amsgrad", [False, True], ids=["plain", "amsgrad"])
def test_adam_compute_step_is_the_formula_of_its_docstring(dtype, rtol, amsgrad):
    rng = np.random.default_rng(0)
    lr = np.linspace(1e-3, 1e-2, 50).astype(dtype)  # per element, in the parameters' dtype
    adam = optim.Adam(lr=lr, amsgrad=amsgrad)
    m, v, v_max = (np.zeros(50, dtype) for _ in range(3))
    for t in range(1, 101):
        g = rng.standard_normal(50).astype(dtype) * rng.uniform(0.01, 10)
        expected = textbook_adam(g, m, v, v_max, t, lr, 0.9, 0.999, 1e-8, amsgrad)
        np.testing.assert_allclose(adam.compute_step(g), expected, rtol=rtol, atol=rtol * lr.max())  # steps near 0 too
    np.testing.assert_allclose(adam.state["exp_avg"], m, rtol=rtol)
    np.testing.assert_allclose(adam.state["exp_avg_sq"], v, rtol=rtol)


def test_step_calls_compute_step_and_nothing_else():
    """The code a reader reads is the code that runs: step subtracts what compute_step returns."""
    calls = []

    class Recorded(optim.Adam):
        def compute_step(self, grads):
            decrement = super().compute_step(grads)
            calls.append(decrement.copy())
            return decrement

    params = np.ones(10)
    before = params.copy()
    Recorded(lr=0.1).step(np.full(10, 0.5), params)
    assert len(calls) == 1
    np.testing.assert_array_equal(params, before - calls[0])


class NormalizedSGD(optim.SGD):
    """A step of length lr in the gradient's direction, whatever its size."""

    def compute_step(self, grads):
        return self.lr * grads / np.linalg.norm(grads)


def test_a_subclass_that_overrides_compute_step_gets_exactly_its_own_step():
    params = np.zeros(600_000)  # larger than the blocks the old design cut the arrays into
    NormalizedSGD(lr=1.0).step(np.ones_like(params), params)
    assert np.linalg.norm(params) == pytest.approx(1.0, rel=1e-12)


class Signum(optim.Optimizer):
    """sign(momentum): its hyperparameter is stored under another name than its argument."""

    def __init__(self, lr=0.01, beta=0.9):
        super().__init__(lr)
        self.momentum_decay = beta

    def compute_step(self, grads):
        return self.lr * np.sign(self.moving_average("m", grads, self.momentum_decay))


def test_hyperparameters_are_the_public_attributes_whatever_their_names():
    opt = Signum(beta=0.5)
    opt.step(np.ones(3), np.zeros(3))
    assert repr(opt) == "Signum(lr=0.01, weight_decay=0.0, decoupled_weight_decay=False, momentum_decay=0.5)"
    copy = Signum()
    copy.load_state_dict(opt.state_dict())
    assert copy.momentum_decay == 0.5 and np.array_equal(copy.state["m"], opt.state["m"])


def test_lr_and_weight_decay_take_numbers_numpy_scalars_and_arrays():
    assert optim.Adam(lr=np.float32(0.01)).lr == pytest.approx(0.01) and isinstance(optim.Adam(lr=1).lr, float)
    assert optim.SGD(lr=np.int64(1), weight_decay=np.float64(0.1)).weight_decay == 0.1
    opt = optim.SGD(lr=np.array([0.0, 1.0]))
    params = np.ones(2)
    opt.step(np.ones(2), params)
    np.testing.assert_array_equal(params, [1.0, 0.0])  # a zero lr freezes that element
    assert "lr=<array of shape (2,)>" in repr(opt)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"lr": "0.001"}, TypeError, r"invalid learning rate \(lr\): '0.001' is a str; it must be a number"),
        ({"lr": float("nan")}, ValueError, r"invalid learning rate \(lr\): nan"),
        ({"lr": -1.0}, ValueError, r"invalid learning rate \(lr\): -1.0; it must be in \[0.0, inf\]"),
        ({"lr": np.array([0.1, -0.1])}, ValueError, r"lr\): an array from -0.1 to 0.1"),
        ({"lr": np.array(["a"])}, TypeError, r"an array of dtype <U1"),
        ({"weight_decay": [0.1]}, TypeError, r"invalid weight_decay: \[0.1\] is a list"),
        ({"betas": (0.9,)}, TypeError, r"invalid betas: \(0.9,\); it must be a pair"),
        ({"betas": (0.9, 1.0)}, ValueError, r"beta at index 1 of betas: 1.0"),
    ],
)
def test_bad_hyperparameters_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        optim.Adam(**kwargs)


def test_an_array_lr_of_the_wrong_shape_is_refused_at_step():
    with pytest.raises(ValueError, match=r"lr is an array of shape \(3,\) but params has shape \(4,\)"):
        optim.SGD(lr=np.full(3, 0.1)).step(np.ones(4), np.ones(4))


def test_pytorch_style_construction_explains_the_flat_design():
    model = nn.Linear(2, 2)
    for call in (
        lambda: optim.SGD(model.parameters(), lr=0.1),
        lambda: optim.Adam(model.parameters()),
        lambda: optim.AdamW(model.named_parameters()),
        lambda: optim.SGD(model, lr=0.1),
        lambda: optim.SGD(params=model.parameters(), lr=0.1),
    ):
        with pytest.raises(TypeError, match=r"takes hyperparameters only.*opt.step\(model.grads, model.params\)"):
            call()


def test_an_empty_parameter_array_is_refused():
    class Forgetful(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList()

    with pytest.raises(ValueError, match="params is empty: the model has no trainable parameters"):
        optim.Adam().step(Forgetful().grads, Forgetful().params)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10),
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=o.lr, total_steps=10),
        lambda o: lr_scheduler.LinearLR(o),
    ],
    ids=["step", "cosine", "onecycle", "linear"],
)
def test_schedulers_scale_array_learning_rates(make):
    base = np.array([0.1, 0.02, 0.0])
    with_array, with_number = optim.SGD(lr=base.copy()), optim.SGD(lr=1.0)
    schedule_array, schedule_number = make(with_array), make(with_number)
    for _ in range(6):
        schedule_array.step()
        schedule_number.step()
        np.testing.assert_allclose(with_array.lr, base * with_number.lr)


def test_reduce_on_plateau_scales_array_learning_rates():
    opt = optim.SGD(lr=np.array([0.1, 0.01]))
    plateau = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=0.005)
    plateau.step(1.0)
    plateau.step(2.0)
    np.testing.assert_allclose(opt.lr, [0.01, 0.005])


def test_state_made_for_one_array_refuses_another_of_the_same_shape():
    opt = optim.Adam()
    a, b = np.zeros(3), np.zeros(3)
    opt.step(np.ones(3), a)
    opt.step(np.ones(3), a[:])  # a view of the same array is the same parameters
    with pytest.raises(ValueError, match="state was made while stepping another params array"):
        opt.step(np.ones(3), b)
    fresh = optim.Adam()
    fresh.load_state_dict(opt.state_dict())
    fresh.step(np.ones(3), b)  # a loaded state is taken to belong to the array it steps first


def test_float_loss_and_the_documented_step_run_end_to_end():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.AdamW(lr=1e-2, weight_decay=model.flat_values(lambda name, p: 0.0 if p.ndim == 1 else 0.01))
    x, y = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32), np.array([0, 1] * 4)
    losses = []
    for _ in range(20):
        loss = tn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(float(loss))
    assert losses[-1] < losses[0]
