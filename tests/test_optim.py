import numpy as np
import pytest

import tinynet as tn
from tinynet import nn, optim

ALL = {
    "SGD": optim.SGD,
    "SGDm": optim.SGDm,
    "Adagrad": optim.Adagrad,
    "RMSProp": optim.RMSProp,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
    "Adadelta": optim.Adadelta,
    "Adamax": optim.Adamax,
    "NAdam": optim.NAdam,
    "RAdam": optim.RAdam,
    "Lion": optim.Lion,
    "Rprop": optim.Rprop,
    "ASGD": optim.ASGD,
    "Muon": optim.Muon,
    "Adafactor": optim.Adafactor,
    "LAMB": optim.LAMB,
}
# Not here: LBFGS, whose step needs a closure that recomputes the loss (opt.step(grads, params,
# closure)) and which has no compute_step; tests/test_optim_layerwise.py checks it on its own.
# The arrays below are matrices, so that Muon, which steps only 2-D parameters, takes them too.


def quadratic_grad(params):
    """Gradient of sum(scale * params²) with a few different curvatures."""
    return 2 * np.linspace(0.5, 2, params.size).reshape(params.shape) * params


@pytest.mark.parametrize("name", list(ALL))
def test_every_optimizer_decreases_a_quadratic_in_float32(name):
    params = np.ones((2, 3), dtype=np.float32)
    opt = ALL[name](lr=0.05 if name not in ("Adadelta",) else 1.0)
    for _ in range(200):
        opt.step(quadratic_grad(params), params)
    assert params.dtype == np.float32
    assert np.abs(params).max() < 0.5, params


@pytest.mark.parametrize("name", list(ALL))
def test_step_never_modifies_grads_and_updates_params_in_place(name):
    params = np.ones((5, 2))
    grads = np.linspace(-1, 1, 10).reshape(5, 2)
    grads_before = grads.copy()
    opt = ALL[name](lr=0.1, weight_decay=0.1)
    same_object = params
    for _ in range(3):
        opt.step(grads, params)
    np.testing.assert_array_equal(grads, grads_before)
    assert params is same_object and not np.allclose(params, 1)
    if opt.flat_state:  # the others' state is per parameter, of any shape (Adafactor's is factored)
        assert {a.shape for a in opt.state.values() if a.ndim} <= {(5, 2)}


def test_state_is_created_on_first_step():
    opt = optim.Adam()
    assert opt.state == {} and opt.step_count == 0
    opt.step(np.ones(3), np.zeros(3))
    assert sorted(opt.state) == ["exp_avg", "exp_avg_sq"] and opt.step_count == 1


def test_works_on_plain_two_vector():
    rosenbrock_grad = lambda p: np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])
    point = np.array([-1.0, 1.0])
    opt = optim.Adam(lr=0.02)
    for _ in range(3000):
        opt.step(rosenbrock_grad(point), point)
    np.testing.assert_allclose(point, [1, 1], atol=0.02)


def test_lion_follows_its_published_update_rule():
    rng = np.random.default_rng(0)
    lr, beta1, beta2, wd = 0.01, 0.9, 0.99, 0.1
    params = rng.standard_normal(10)
    reference, momentum = params.copy(), np.zeros(10)
    opt = optim.Lion(lr=lr, betas=(beta1, beta2), weight_decay=wd)
    for _ in range(100):
        g = rng.standard_normal(10)
        update = np.sign(beta1 * momentum + (1 - beta1) * g)
        reference = reference - lr * (update + wd * reference)
        momentum = beta2 * momentum + (1 - beta2) * g
        opt.step(g, params)
    np.testing.assert_allclose(params, reference, rtol=1e-12)


def test_dampened_momentum_starts_from_the_first_gradient_as_in_pytorch():
    rng = np.random.default_rng(0)
    params, reference, velocity = np.zeros(4), np.zeros(4), np.zeros(4)
    opt = optim.SGD(lr=0.1, momentum=0.8, dampening=0.8)
    for t in range(20):
        g = rng.standard_normal(4)
        velocity = g if t == 0 else 0.8 * velocity + 0.2 * g
        reference -= 0.1 * velocity
        opt.step(g, params)
    np.testing.assert_allclose(params, reference, rtol=1e-12)


def test_weight_decay_is_l2_or_decoupled():
    params, grads = np.ones(2), np.zeros(2)
    optim.SGD(lr=0.1, weight_decay=0.5).step(grads, params)
    np.testing.assert_allclose(params, 1 - 0.1 * 0.5)
    params = np.ones(2)
    optim.AdamW(lr=0.1, weight_decay=0.5).step(grads, params)
    np.testing.assert_allclose(params, 1 - 0.1 * 0.5)  # Adam's own step is 0 for a zero gradient


class SignSGD(optim.Optimizer):
    """A new optimizer writes only compute_step."""

    def compute_step(self, grads):
        return self.lr * np.sign(grads)


def test_user_optimizer_trains_a_model():
    tn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = SignSGD(lr=0.01)
    losses = []
    for _ in range(200):
        loss = tn.F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("name", list(ALL))
def test_stop_and_resume_equals_uninterrupted(name):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((7, 3)) for _ in range(100)]
    make = lambda: ALL[name](lr=0.01, weight_decay=0.01)
    straight, resumed = np.ones((7, 3)), np.ones((7, 3))
    opt = make()
    for g in grads:
        opt.step(g, straight)
    first = make()
    for g in grads[:50]:
        first.step(g, resumed)
    state = first.state_dict()
    second = make()
    second.load_state_dict(state)
    for g in grads[50:]:
        second.step(g, resumed)
    np.testing.assert_array_equal(resumed, straight)


def test_state_dict_carries_hyperparameters_and_is_a_copy():
    opt = optim.Adam(lr=0.5, betas=(0.8, 0.9))
    opt.step(np.ones(2), np.zeros(2))
    state = opt.state_dict()
    state["state"]["exp_avg"][...] = 99
    assert not (opt.state["exp_avg"] == 99).any()
    fresh = optim.Adam()
    fresh.load_state_dict(opt.state_dict())
    assert fresh.lr == 0.5 and fresh.betas == (0.8, 0.9) and fresh.step_count == 1
    assert repr(fresh).startswith("Adam(lr=0.5, weight_decay=0.0, decoupled_weight_decay=False, betas=(0.8, 0.9)")


def test_clip_grad_norm():
    grads = np.array([3.0, 4.0])
    assert optim.clip_grad_norm(grads, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(np.linalg.norm(grads), 1.0, rtol=1e-6)
    small = np.array([0.3, 0.4])
    assert optim.clip_grad_norm(small, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(small, [0.3, 0.4])
    with pytest.raises(ValueError, match="max_norm must be non-negative"):
        optim.clip_grad_norm(grads, -1)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: optim.SGD(lr=-1), r"invalid learning rate \(lr\): -1"),
        (lambda: optim.SGD(momentum=-0.5), "invalid momentum: -0.5"),
        (lambda: optim.SGD(nesterov=True), "nesterov=True needs a momentum > 0 and zero dampening"),
        (lambda: optim.SGD(momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
        (lambda: optim.Adam(eps=-1e-8), "invalid eps"),
        (lambda: optim.Adam(weight_decay=-0.1), "invalid weight_decay: -0.1"),
        (lambda: optim.Adam(betas=(1.0, 0.999)), r"invalid beta at index 0 of betas: 1.0; .*\[0.0, 1.0\)"),
        (lambda: optim.AdamW(betas=(0.9, -0.1)), "invalid beta at index 1"),
        (lambda: optim.RMSProp(alpha=1.5), "invalid alpha"),
        (lambda: optim.Adagrad(lr_decay=-1), "invalid lr_decay"),
        (lambda: optim.Lion(betas=(0.9, 1.2)), "invalid beta at index 1"),
    ],
)
def test_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_arrays():
    opt = optim.SGD()
    with pytest.raises(ValueError, match=r"grads has shape \(3,\) but params has shape \(4,\)"):
        opt.step(np.zeros(3), np.zeros(4))
    with pytest.raises(TypeError, match="params must be a floating-point array, got dtype int64"):
        opt.step(np.zeros(3), np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match="takes numpy arrays"):
        opt.step([0.0], [0.0])
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        opt.step(np.zeros(3), frozen)


def test_state_of_another_shape():
    opt = optim.Adam()
    opt.step(np.ones(3), np.zeros(3))
    with pytest.raises(
        ValueError, match=r"state 'exp_avg' was made for parameters of shape \(3,\), got params of shape \(4,\)"
    ):
        opt.step(np.ones(4), np.zeros(4))


def test_state_dict_from_another_optimizer():
    adam = optim.Adam()
    adam.step(np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="belongs to optimizer 'Adam', not 'SGD'"):
        optim.SGD().load_state_dict(adam.state_dict())
    with pytest.raises(ValueError, match="belongs to optimizer None"):
        optim.SGD().load_state_dict({"lr": 0.1})


def test_base_class_without_compute_step():
    with pytest.raises(NotImplementedError, match="must define compute_step"):
        optim.Optimizer(lr=0.1).step(np.ones(2), np.ones(2))


def test_scheduler_state_dict_resumes():
    from tinynet.optim.lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau

    first_opt, second_opt = optim.SGD(lr=0.1), optim.SGD(lr=0.1)
    first = CosineAnnealingLR(first_opt, T_max=20)
    for _ in range(7):
        first.step()
    second = CosineAnnealingLR(second_opt, T_max=20)
    second.load_state_dict(first.state_dict())
    second_opt.lr = first_opt.lr
    for _ in range(5):
        first.step()
        second.step()
        assert second.get_last_lr() == first.get_last_lr()
    plateau = ReduceLROnPlateau(optim.SGD(lr=0.1), patience=0)
    plateau.step(1.0)
    plateau.step(2.0)
    assert plateau.get_last_lr() == [pytest.approx(0.01)]
    assert plateau.state_dict()["num_bad_epochs"] == 0 and "optimizer" not in plateau.state_dict()


def test_warmup_cosine_schedule_warms_up_linearly_then_decays_as_a_cosine():
    from tinynet.optim.lr_scheduler import WarmupCosineLR

    opt = optim.AdamW(lr=1e-3)
    schedule = WarmupCosineLR(opt, warmup_steps=4, total_steps=14, eta_min=1e-4)
    lrs = [opt.lr]
    for _ in range(16):
        schedule.step()
        lrs.append(opt.lr)
    assert lrs[:5] == pytest.approx([2e-4, 4e-4, 6e-4, 8e-4, 1e-3])  # base_lr (t + 1) / 5, then base_lr
    assert lrs[9] == pytest.approx(5.5e-4)  # halfway through the decay: the middle of base_lr and eta_min
    assert lrs[14:] == pytest.approx([1e-4] * 3)  # eta_min from total_steps on
    assert np.all(np.diff(lrs[4:15]) < 0)
    with pytest.raises(ValueError, match="invalid WarmupCosineLR total_steps: 4; it must be an integer >= 5"):
        WarmupCosineLR(opt, warmup_steps=4, total_steps=4)
