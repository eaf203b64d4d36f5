"""Gradients of gradients: tn.grad and backward(create_graph=True), against PyTorch (Hessians of
expressions that mix the engine's ops, Hessian-vector products through Linear + Tanh + mse_loss
and + cross_entropy) and against finite differences of the first derivative (gradcheck)."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn

torch = pytest.importorskip("torch")


class TinynetOps:
    """The few operations whose spelling differs between tinynet and PyTorch."""

    cat, stack, where, maximum, minimum = tn.concatenate, tn.stack, tn.where, tn.maximum, tn.minimum
    amax = staticmethod(lambda x, axis: x.amax(axis=axis))
    amin = staticmethod(lambda x, axis: x.amin(axis=axis))
    logsumexp = staticmethod(lambda x, axis: x.logsumexp(axis=axis))
    std = staticmethod(lambda x, axis: x.std(axis=axis, ddof=1))
    clip = staticmethod(lambda x, low, high: x.clip(low, high))
    broadcast_to = staticmethod(lambda x, shape: x.broadcast_to(shape))
    constant = staticmethod(lambda a: tn.Tensor(np.asarray(a, dtype=np.float64)))
    mask = staticmethod(lambda a: a)


class TorchOps:
    cat, stack, where, maximum, minimum = torch.cat, torch.stack, torch.where, torch.maximum, torch.minimum
    amax = staticmethod(lambda x, axis: x.amax(dim=axis))
    amin = staticmethod(lambda x, axis: x.amin(dim=axis))
    logsumexp = staticmethod(lambda x, axis: x.logsumexp(dim=axis))
    std = staticmethod(lambda x, axis: x.std(dim=axis))
    clip = staticmethod(lambda x, low, high: x.clamp(low, high))
    broadcast_to = staticmethod(lambda x, shape: x.broadcast_to(shape))
    constant = staticmethod(lambda a: torch.tensor(np.asarray(a, dtype=np.float64)))
    mask = staticmethod(torch.tensor)


W = np.array([[0.3, -1.2, 0.5], [0.8, 0.1, -0.4], [-0.6, 0.9, 0.2], [0.4, 0.7, -1.1]])  # (4, 3)
MASK = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])

# scalar functions of x of shape (3, 4) with entries in [0.5, 1.5], each mixing several ops
EXPRESSIONS = {
    "add sub mul div neg": lambda x, o: ((x * x - x / (x + 2)) * -x + 3.0).sum(),
    "pow, tensor exponent": lambda x, o: (x ** x[:, :1] + 2.0**x + x**3).sum(),
    "matmul, batched and 1-D": lambda x, o: (
        ((x @ o.constant(W)).tanh() @ x[0, :3]).sum() + (x.reshape(3, 2, 2) @ x.reshape(3, 2, 2)).sum()
    ),
    "exp log sqrt abs": lambda x, o: (x.exp() * x.log() + x.sqrt() * (x - 1).abs()).sum(),
    "tanh sigmoid relu": lambda x, o: (x.tanh() * x.sigmoid() * (x - 1).relu() + x.tanh() ** 2).sum(),
    "sum mean keepdims": lambda x, o: ((x * x).sum(axis=1, keepdims=True) * x.mean(axis=0) ** 2).sum(),
    "max min": lambda x, o: (o.amax(x * x, 1) * o.amin(x.exp(), 0)[:3]).sum(),
    "std logsumexp": lambda x, o: (o.std(x * x, 1) + o.logsumexp(x * 2, 0)[:3]).sum(),
    "reshape transpose index": lambda x, o: ((x.reshape(4, 3).T * x) ** 2)[[0, 2, 2], 1:].sum() * x[1, 2],
    "boolean mask": lambda x, o: (x[o.mask(MASK)] ** 3).sum(),
    "concatenate stack": lambda x, o: (
        (o.cat([x * x, x.exp()], 0) ** 2).sum() + (o.stack([x, x * x], 1).tanh() * 2).sum()
    ),
    "where maximum minimum": lambda x, o: (
        o.where(o.mask(MASK), x * x, x.exp()) * o.maximum(x, x * x) + o.minimum(x.sqrt(), x**2)
    ).sum(),
    "clip broadcast_to": lambda x, o: (o.clip(x * x, 0.5, 1.5) * x + o.broadcast_to(x[:1] ** 2, (3, 4)) * x).sum(),
}


def tinynet_hessian(f, x: np.ndarray) -> np.ndarray:
    """The Hessian of f at x, row by row: the gradient of each element of the recorded gradient."""
    t = tn.Tensor(x.copy(), requires_grad=True)
    (g,) = tn.grad(f(t), t, create_graph=True)
    flat = g.reshape(-1)
    return np.stack([tn.grad(flat[i], t, retain_graph=True, allow_unused=True)[0] for i in range(flat.size)]).reshape(
        x.size, x.size
    )


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_hessians_of_expressions_mixing_the_engines_ops_equal_pytorchs(name):
    f = EXPRESSIONS[name]
    x = np.random.default_rng(0).uniform(0.5, 1.5, (3, 4))
    expected = torch.autograd.functional.hessian(lambda t: f(t, TorchOps), torch.tensor(x)).numpy().reshape(12, 12)
    np.testing.assert_allclose(tinynet_hessian(lambda t: f(t, TinynetOps), x), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", EXPRESSIONS)
def test_the_recorded_gradient_passes_gradcheck(name):
    f = EXPRESSIONS[name]
    x = tn.Tensor(np.random.default_rng(1).uniform(0.5, 1.5, (3, 4)), requires_grad=True)
    assert tn.gradcheck(lambda t: tn.grad(f(t, TinynetOps), t, create_graph=True)[0], [x])


ACTIVATIONS = {
    "relu": (F.relu, torch.relu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
    "gelu": (F.gelu, torch.nn.functional.gelu),
    "gelu tanh": (lambda x: F.gelu(x, "tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    "elu": (F.elu, torch.nn.functional.elu),
    "silu": (F.silu, torch.nn.functional.silu),
    "softplus": (F.softplus, torch.nn.functional.softplus),
    "softmax": (lambda x: F.softmax(x, dim=1), lambda x: torch.softmax(x, dim=1)),
    "log_softmax": (lambda x: F.log_softmax(x, dim=1), lambda x: torch.log_softmax(x, dim=1)),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_hessians_through_the_activations_equal_pytorchs(name):
    ours, theirs = ACTIVATIONS[name]
    x = np.random.default_rng(2).standard_normal((3, 4))
    weights = np.random.default_rng(3).standard_normal((3, 4))
    expected = torch.autograd.functional.hessian(
        lambda t: (theirs(t) ** 2 * torch.tensor(weights)).sum(), torch.tensor(x)
    )
    found = tinynet_hessian(lambda t: (ours(t) ** 2 * tn.Tensor(weights)).sum(), x)
    np.testing.assert_allclose(found, expected.numpy().reshape(12, 12), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits),
        (
            lambda x, t: F.binary_cross_entropy(x.sigmoid(), t),
            lambda x, t: torch.nn.functional.binary_cross_entropy(x.sigmoid(), t),
        ),
    ],
    ids=["binary_cross_entropy_with_logits", "binary_cross_entropy"],
)
def test_hessians_through_the_binary_losses_equal_pytorchs(ours, theirs):
    rng = np.random.default_rng(6)
    x, target = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    expected = torch.autograd.functional.hessian(lambda t: theirs(t * t, torch.tensor(target)), torch.tensor(x))
    found = tinynet_hessian(lambda t: ours(t * t, tn.Tensor(target)), x)
    # 1e-7: sigmoid then log(x) and log(1 - x) lose digits where σ is near 1; tinynet's σ is tanh-based
    np.testing.assert_allclose(found, expected.numpy().reshape(12, 12), rtol=1e-7, atol=1e-10)


def mlp_pair(loss_name: str):
    """The same Linear + Tanh + Linear network in tinynet and PyTorch, float64, with a loss."""
    rng = np.random.default_rng(4)
    ours = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 3)).to(np.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)).double()
    theirs.load_state_dict({name: torch.tensor(p.data) for name, p in ours.named_parameters()})
    x = rng.standard_normal((7, 5))
    if loss_name == "mse_loss":
        target = rng.standard_normal((7, 3))
        return (
            ours,
            theirs,
            lambda out: F.mse_loss(out, target),
            lambda out: torch.nn.functional.mse_loss(out, torch.tensor(target)),
            x,
        )
    if loss_name == "cross_entropy":
        labels = rng.integers(0, 3, 7)
        return (
            ours,
            theirs,
            lambda out: F.cross_entropy(out, labels, label_smoothing=0.1),
            lambda out: torch.nn.functional.cross_entropy(out, torch.tensor(labels), label_smoothing=0.1),
            x,
        )
    probabilities = rng.dirichlet(np.ones(3), 7)
    return (
        ours,
        theirs,
        lambda out: F.cross_entropy(out, probabilities, reduction="sum"),
        lambda out: torch.nn.functional.cross_entropy(out, torch.tensor(probabilities), reduction="sum"),
        x,
    )


@pytest.mark.parametrize("loss_name", ["mse_loss", "cross_entropy", "cross_entropy with probabilities"])
def test_hessian_vector_products_through_an_mlp_equal_pytorchs(loss_name):
    ours, theirs, our_loss, their_loss, x = mlp_pair(loss_name)
    vectors = [np.random.default_rng(5 + i).standard_normal(p.shape) for i, p in enumerate(ours.parameters())]

    params = list(ours.parameters())
    grads = tn.grad(our_loss(ours(x)), params, create_graph=True)
    dot = sum((g * tn.Tensor(v)).sum() for g, v in zip(grads, vectors))
    ours_hvp = tn.grad(dot, params)

    their_params = list(theirs.parameters())
    their_grads = torch.autograd.grad(their_loss(theirs(torch.tensor(x))), their_params, create_graph=True)
    their_dot = sum((g * torch.tensor(v)).sum() for g, v in zip(their_grads, vectors))
    their_hvp = torch.autograd.grad(their_dot, their_params)

    for g, expected in zip(grads, torch.autograd.grad(their_loss(theirs(torch.tensor(x))), their_params)):
        np.testing.assert_allclose(g.data, expected.numpy(), rtol=1e-10, atol=1e-13)
    for found, expected in zip(ours_hvp, their_hvp):
        np.testing.assert_allclose(found.data, expected.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True")
def test_backward_with_create_graph_leaves_recorded_gradients_as_in_pytorch():
    x = np.array([0.5, -1.0, 2.0])
    ours = tn.Tensor(x, requires_grad=True)
    (ours**3).sum().backward(create_graph=True)
    assert isinstance(ours.grad, tn.Tensor) and ours.grad.requires_grad
    penalty = (ours.grad**2).sum()  # sum of (3x²)²: its gradient is 36 x³
    ours.grad = None
    penalty.backward()

    theirs = torch.tensor(x, requires_grad=True)
    (theirs**3).sum().backward(create_graph=True)
    their_penalty = (theirs.grad**2).sum()
    theirs.grad = None
    their_penalty.backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, 36 * x**3, rtol=1e-12)


@pytest.mark.filterwarnings(r"ignore:Using backward\(\) with create_graph=True")
def test_a_models_parameters_get_recorded_gradients_whose_numbers_are_in_model_grads():
    ours, theirs, our_loss, their_loss, x = mlp_pair("mse_loss")
    ours.zero_grad()
    our_loss(ours(x)).backward(create_graph=True)
    weight = ours[0].weight
    assert isinstance(weight.grad, tn.Tensor)
    np.testing.assert_array_equal(ours.grads[: weight.size].reshape(weight.shape), weight.grad.data)
    penalty = sum((p.grad**2).sum() for p in ours.parameters())
    ours.zero_grad()  # the recorded gradients give way to zeros, so that penalty.backward() starts clean
    assert isinstance(weight.grad, np.ndarray) and not weight.grad.any()
    penalty.backward()

    their_loss(theirs(torch.tensor(x))).backward(create_graph=True)
    their_penalty = sum((p.grad**2).sum() for p in theirs.parameters())
    theirs.zero_grad()
    their_penalty.backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-13)


def test_third_derivatives():
    x = tn.Tensor(np.array([2.0]), requires_grad=True)
    (d1,) = tn.grad((x**4).sum(), x, create_graph=True)
    (d2,) = tn.grad(d1.sum(), x, create_graph=True)
    (d3,) = tn.grad(d2.sum(), x)
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)  # 4x³, 12x², 24x at x = 2


def test_grad_touches_no_dot_grad_and_frees_the_graph_unless_asked():
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    (g,) = tn.grad(y, x)
    assert x.grad is None and not g.requires_grad
    np.testing.assert_array_equal(g.data, [2.0, 4.0])
    with pytest.raises(RuntimeError, match="second time"):
        tn.grad(y, x)
    z = (x * x).sum()
    tn.grad(z, x, retain_graph=True)
    np.testing.assert_array_equal(tn.grad(z, x)[0].data, [2.0, 4.0])


def test_grad_of_several_outputs_with_grad_outputs_and_of_a_non_leaf():
    x = tn.Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    h = x * x
    y1, y2 = h * 2, h.exp()
    dh, dx = tn.grad([y1, y2], [h, x], grad_outputs=[np.ones(3), np.array([1.0, 0.0, 1.0])])
    np.testing.assert_allclose(dh.data, 2 + np.array([1.0, 0.0, 1.0]) * np.exp([1.0, 4.0, 9.0]))
    np.testing.assert_allclose(dx.data, dh.data * 2 * x.data)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x, y: tn.grad(y, tn.Tensor(np.ones(2), requires_grad=True)), RuntimeError, "allow_unused=True"),
        (lambda x, y: tn.grad(tn.Tensor(np.ones(1)), x), RuntimeError, "output 0 does not require a gradient"),
        (lambda x, y: tn.grad(y, tn.Tensor(np.ones(1))), RuntimeError, "input 0 does not require a gradient"),
        (lambda x, y: tn.grad(y, [x], grad_outputs=[None, None]), ValueError, "2 grad_outputs for 1 outputs"),
        (lambda x, y: tn.grad(x * 2, x), RuntimeError, "implied only for a one-element tensor"),
        (lambda x, y: tn.grad(y, x, grad_outputs=np.ones(3)), ValueError, r"grad_output has shape \(3,\)"),
        (lambda x, y: tn.grad(y, "x"), TypeError, "inputs must be a Tensor"),
        (lambda x, y: tn.grad([], x), TypeError, "outputs must be a Tensor"),
    ],
)
def test_bad_calls_of_grad_are_refused(call, error, message):
    x = tn.Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(error, match=message):
        call(x, (x * x).sum())


def test_grad_with_allow_unused_gives_none():
    x, unused = tn.Tensor(np.ones(2), requires_grad=True), tn.Tensor(np.ones(2), requires_grad=True)
    assert tn.grad((x * 3).sum(), [x, unused], allow_unused=True)[1] is None


def test_an_op_whose_backward_cannot_be_recorded_is_named():
    conv = nn.Conv2d(1, 1, 3).to(np.float64)
    x = tn.Tensor(np.random.default_rng(0).standard_normal((1, 1, 5, 5)), requires_grad=True)
    with pytest.raises(RuntimeError, match="create_graph: the backward of 'Conv2d.*' is written on numpy arrays"):
        tn.grad(conv(x).sum(), x, create_graph=True)


# ------------------------------------------------------------------ hooks


def test_hooks_run_in_order_can_replace_the_gradient_and_feed_retained_grads_as_in_pytorch():
    def run(make, backward):
        seen = []
        x = make([1.0, -2.0, 3.0])
        h = x * x
        h.register_hook(lambda g: seen.append(("h first", np.asarray(g).tolist())))
        h.register_hook(lambda g: g * 10)  # replaces h's gradient
        h.register_hook(lambda g: seen.append(("h third", np.asarray(g).tolist())))
        h.retain_grad()
        x.register_hook(lambda g: seen.append(("x", np.asarray(g).tolist())))
        backward((h * h).sum() + h.sum())
        return seen, np.asarray(h.grad).tolist(), np.asarray(x.grad).tolist()

    ours = run(lambda v: tn.Tensor(np.array(v), requires_grad=True), lambda y: y.backward())
    theirs = run(lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True), lambda y: y.backward())
    assert ours == theirs


def test_a_leaf_hook_changes_what_is_accumulated_and_a_removed_hook_is_gone():
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    handle = x.register_hook(lambda g: -g)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [-3.0, -3.0])
    handle.remove()
    handle.remove()  # harmless
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_hooks_on_parameters_and_in_recorded_passes():
    layer = nn.Linear(2, 1).to(np.float64)
    kinds = []
    layer.weight.register_hook(lambda g: kinds.append(type(g).__name__))
    x = tn.Tensor(np.ones((1, 2)))
    layer(x).sum().backward()
    layer(x).sum().backward(create_graph=True)
    assert kinds == ["ndarray", "Tensor"]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: tn.Tensor(np.ones(2)).register_hook(print), RuntimeError, "does not require a gradient"),
        (lambda: tn.Tensor(np.ones(2)).retain_grad(), RuntimeError, "does not require a gradient"),
        (lambda: tn.Tensor(np.ones(2), requires_grad=True).register_hook(3), TypeError, "hook must be a function"),
    ],
)
def test_bad_hooks_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_a_hook_returning_the_wrong_shape_is_refused():
    x = tn.Tensor(np.ones(3), requires_grad=True)
    x.register_hook(lambda g: np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(3,\) returned a gradient of shape \(2,\)"):
        (x * 2).sum().backward()


def test_a_recorded_parameter_gradient_gives_way_when_the_flat_array_is_zeroed_by_hand():
    model = nn.Sequential(nn.Linear(2, 1)).to(np.float64)
    x = np.ones((1, 2))
    model(x).sum().backward(create_graph=True)
    model.grads.fill(0)  # not zero_grad(): the recorded gradient's numbers are gone all the same
    model(x).sum().backward(create_graph=True)
    np.testing.assert_array_equal(model.grads, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(model[0].weight.grad.data, [[1.0, 1.0]])
    model.grads[:] = 0
    model(x).sum().backward()
    np.testing.assert_array_equal(model.grads, [1.0, 1.0, 1.0])


def test_a_hook_that_returns_numbers_in_a_recorded_pass_is_refused():
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x**3
    y.register_hook(lambda g: np.clip(g.data, -100, 100))  # would cut the graph of the gradient
    with pytest.raises(TypeError, match="returned a ndarray in a backward pass with create_graph=True"):
        tn.grad((y**2).sum(), x, create_graph=True)


def test_grad_runs_only_the_ops_between_the_outputs_and_the_inputs():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(18, 1)).to(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 1, 5, 5))
    features = model[1](model[0](tn.Tensor(x))).data
    weight = model[2].weight
    (g,) = tn.grad(model(x).tanh().sum(), weight, create_graph=True)  # Conv2d's backward is not needed
    (penalty_grad,) = tn.grad((g**2).sum(), weight)
    # by hand: g = Σ_n (1 - tanh²(z_n)) f_n with z_n = w·f_n + b,
    # d(g·g)/dw = 2 Σ_n (g·f_n) (-2 tanh(z_n) sech²(z_n)) f_n
    z = features @ weight.data[0] + model[2].bias.data[0]
    sech2 = 1 - np.tanh(z) ** 2
    by_hand = 2 * ((features @ g.data[0]) * -2 * np.tanh(z) * sech2) @ features
    np.testing.assert_allclose(penalty_grad.data[0], by_hand, rtol=1e-10)
    with pytest.raises(RuntimeError, match="the backward of 'Conv2d"):
        tn.grad(model(x).sum(), model[0].weight, create_graph=True)


def test_pytorchs_spellings_backward_gradient_and_is_leaf():
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3
    assert x.is_leaf and not y.is_leaf and tn.Tensor(np.ones(2)).is_leaf
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])
    with pytest.raises(TypeError, match="got both grad=.* and gradient="):
        (x * 3).backward(np.ones(2), gradient=np.ones(2))
    with pytest.raises(TypeError, match="grad_outputs must be a Tensor, an array or a list"):
        tn.grad((x * x).sum(), x, grad_outputs=1.0)
