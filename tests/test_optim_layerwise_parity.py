"""200 steps of the optimizers that see the layers (and Rprop, ASGD, LBFGS) against torch.optim
on the same float64 parameters and gradients: 1e-9. LAMB, which torch lacks, against its paper."""

import numpy as np
import pytest

from tinynet import optim
from tinynet.optim import Layout

torch = pytest.importorskip("torch")

SHAPES = {"0.weight": (6, 5), "0.bias": (6,), "1.weight": (3, 6), "1.bias": (3,), "2.weight": (7, 4)}
STEPS = 200


def layout_of(shapes: dict) -> Layout:
    entries, start = [], 0
    for name, shape in shapes.items():
        size = int(np.prod(shape))
        entries.append((name, slice(start, start + size), shape))
        start += size
    return Layout(entries)


def run_both(ours, make_theirs, shapes=SHAPES, steps=STEPS, seed=0):
    """Step `ours` on one flat array and torch's optimizers (made by `make_theirs` from a dict of
    tensors) on one tensor per parameter, with the same gradients; returns both parameter sets."""
    layout = layout_of(shapes)
    rng = np.random.default_rng(seed)
    params = rng.standard_normal(layout.size)
    tensors = {e.name: torch.tensor(e.view(params).copy(), requires_grad=True) for e in layout}
    theirs = make_theirs(tensors)
    for _ in range(steps):
        g = rng.standard_normal(layout.size) + 0.5 * params  # depends on the parameters, like a real gradient
        ours.step(g, params)
        for entry in layout:
            tensors[entry.name].grad = torch.tensor(entry.view(g).copy())
        for opt in theirs:
            opt.step()
    return params, np.concatenate([t.detach().numpy().reshape(-1) for t in tensors.values()])


def assert_parity(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


@pytest.fixture
def newton_schulz_in_float64(monkeypatch):
    """torch.optim.Muon runs Newton–Schulz in bfloat16; numpy has none: make torch keep float64."""
    monkeypatch.setattr(torch.Tensor, "bfloat16", lambda self: self.clone())


MUON_CASES = {
    "default": {},
    "no_nesterov": {"nesterov": False, "momentum": 0.9, "lr": 0.02},
    "match_rms_adamw": {"adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.01, "ns_steps": 3},
    "coefficients_eps": {"ns_coefficients": (2.0, -1.5, 0.5), "eps": 1e-5, "adjust_lr_fn": "original"},
}


@pytest.mark.parametrize("case", list(MUON_CASES))
def test_muon_and_its_fallback_match_torch(case, newton_schulz_in_float64):
    kwargs = MUON_CASES[case]
    ours = optim.Muon(**kwargs, fallback=optim.AdamW(lr=3e-3, weight_decay=0.05), layout=layout_of(SHAPES))

    def make_theirs(tensors):
        matrices = [t for t in tensors.values() if t.ndim == 2]
        others = [t for t in tensors.values() if t.ndim != 2]
        return [torch.optim.Muon(matrices, **kwargs), torch.optim.AdamW(others, lr=3e-3, weight_decay=0.05)]

    assert_parity(*run_both(ours, make_theirs))


def test_muon_fallback_names_send_a_matrix_to_the_fallback(newton_schulz_in_float64):
    ours = optim.Muon(lr=0.02, fallback=optim.Adam(lr=1e-2), fallback_names=["2.weight"], layout=layout_of(SHAPES))

    def make_theirs(tensors):
        matrices = [tensors["0.weight"], tensors["1.weight"]]
        others = [tensors["0.bias"], tensors["1.bias"], tensors["2.weight"]]
        return [torch.optim.Muon(matrices, lr=0.02), torch.optim.Adam(others, lr=1e-2)]

    assert_parity(*run_both(ours, make_theirs))


ADAFACTOR_SHAPES = {**SHAPES, "3.kernel": (2, 3, 4, 5), "4.scale": ()}
ADAFACTOR_CASES = {
    "default": {},
    "weight_decay": {"lr": 0.05, "weight_decay": 0.1},
    "maximize_d_eps": {"maximize": True, "d": 2.0, "eps": (1e-20, 1e-2), "beta2_decay": -0.5},
}


@pytest.mark.parametrize("case", list(ADAFACTOR_CASES))
def test_adafactor_matches_torch(case):
    kwargs = ADAFACTOR_CASES[case]
    ours = optim.Adafactor(**kwargs, layout=layout_of(ADAFACTOR_SHAPES))
    assert_parity(*run_both(ours, lambda t: [torch.optim.Adafactor(list(t.values()), **kwargs)], ADAFACTOR_SHAPES))


FLAT_CASES = {
    "rprop": (optim.Rprop, torch.optim.Rprop, {}),
    "rprop_etas_sizes": (optim.Rprop, torch.optim.Rprop, {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    "asgd": (optim.ASGD, torch.optim.ASGD, {}),
    "asgd_averaging": (optim.ASGD, torch.optim.ASGD, {"lr": 0.05, "lambd": 1e-2, "t0": 50, "weight_decay": 0.1}),
}


@pytest.fixture
def torch_float64_scalars():
    """torch keeps ASGD's η and μ in float32 unless its default dtype is float64; tinynet's are floats."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(default)


@pytest.mark.parametrize("case", list(FLAT_CASES))
def test_rprop_and_asgd_match_torch(case, torch_float64_scalars):
    ours_class, torch_class, kwargs = FLAT_CASES[case]
    ours = ours_class(**kwargs)
    made = []
    params, theirs = run_both(ours, lambda t: made.append(torch_class(list(t.values()), **kwargs)) or made)
    assert_parity(params, theirs)
    if ours_class is optim.ASGD:  # the averaged parameters too
        tensors = made[0].param_groups[0]["params"]
        averaged = np.concatenate([made[0].state[p]["ax"].numpy().reshape(-1) for p in tensors])
        assert_parity(ours.state["ax"], averaged)


def quartic(w: np.ndarray) -> tuple[float, np.ndarray]:
    """½ wᵀAw + ¼ Σ w⁴ - b·w (A with eigenvalues from 1 to 10), and its gradient."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((w.size, w.size)))
    a, b = q @ np.diag(np.logspace(0, 1, w.size)) @ q.T, rng.standard_normal(w.size)
    return 0.5 * w @ a @ w + 0.25 * np.sum(w**4) - b @ w, a @ w + w**3 - b


def rosenbrock(p: np.ndarray) -> tuple[float, np.ndarray]:
    """Σ 100 (p_{i+1} - p_i²)² + (1 - p_i)², and its gradient."""
    loss = np.sum(100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2)
    grad = np.zeros_like(p)
    grad[:-1] = -400 * p[:-1] * (p[1:] - p[:-1] ** 2) - 2 * (1 - p[:-1])
    grad[1:] += 200 * (p[1:] - p[:-1] ** 2)
    return loss, grad


def lbfgs_both(objective, start: np.ndarray, steps: int, **kwargs):
    """tinynet's and torch's LBFGS on `objective` from `start` with the same closures; yields the
    iterates after each step, and the optimizers at the end."""
    w, grads = start.copy(), np.zeros(start.size)
    reference = torch.tensor(start.copy(), requires_grad=True)
    ours, theirs = optim.LBFGS(**kwargs), torch.optim.LBFGS([reference], **kwargs)

    def closure():
        loss, grads[...] = objective(w)
        return loss

    def torch_closure():
        loss, grad = objective(reference.detach().numpy().copy())
        reference.grad = torch.tensor(grad)
        return torch.tensor(loss)

    for _ in range(steps):
        assert ours.step(grads, w, closure) == pytest.approx(float(theirs.step(torch_closure)), rel=1e-9)
        yield w, reference.detach().numpy()
    assert ours.step_count == theirs.state[reference]["n_iter"]
    assert float(ours.state["func_evals"]) == theirs.state[reference]["func_evals"]


LBFGS_CASES = {  # objective, start, and the LBFGS arguments
    "quartic": (quartic, 20, {}),
    "quartic_one_iteration_per_step": (quartic, 20, {"max_iter": 1}),
    "quartic_short_history": (quartic, 20, {"history_size": 5, "max_iter": 3}),
    "quartic_wolfe": (quartic, 20, {"line_search_fn": "strong_wolfe", "max_iter": 3, "history_size": 5}),
    "rosenbrock_wolfe": (rosenbrock, 10, {"line_search_fn": "strong_wolfe", "max_iter": 1}),
    "rosenbrock_wolfe_lr": (
        rosenbrock, 10, {"line_search_fn": "strong_wolfe", "max_iter": 1, "lr": 0.5, "history_size": 10}
    ),
}


@pytest.mark.parametrize("case", list(LBFGS_CASES))
def test_lbfgs_iterates_match_torch(case):
    """Every iterate of 200 steps. The problems are well conditioned on purpose: near the minimum
    of an ill-conditioned one, L-BFGS amplifies rounding (its pairs y = g' - g cancel), and two
    correct implementations that sum in another order drift apart."""
    objective, size, kwargs = LBFGS_CASES[case]
    rng = np.random.default_rng(0)
    start = np.tile([-1.2, 1.0], size // 2) if objective is rosenbrock else rng.standard_normal(size)
    for ours, theirs in lbfgs_both(objective, start, STEPS, **kwargs):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_lbfgs_on_rosenbrock_matches_torch_and_converges():
    def rosenbrock(p):
        loss = (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
        grad = np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])
        return loss, grad

    point, grads = np.array([-1.5, 2.0]), np.zeros(2)
    reference = torch.tensor(point.copy(), requires_grad=True)
    ours = optim.LBFGS(line_search_fn="strong_wolfe")
    theirs = torch.optim.LBFGS([reference], line_search_fn="strong_wolfe")

    def closure():
        loss, grads[...] = rosenbrock(point)
        return loss

    def torch_closure():
        loss, grad = rosenbrock(reference.detach().numpy().copy())
        reference.grad = torch.tensor(grad)
        return torch.tensor(loss)

    for _ in range(5):
        ours.step(grads, point, closure)
        theirs.step(torch_closure)
        np.testing.assert_allclose(point, reference.detach().numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(point, [1.0, 1.0], atol=1e-5)


def paper_lamb(layers, grads, moments, t, lr, beta1, beta2, eps, weight_decay):
    """LAMB as You et al. (2020) write it (Algorithm 2), layer by layer, with new arrays."""
    for i, (x, g) in enumerate(zip(layers, grads)):
        m, v = moments[i]
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        moments[i] = (m, v)
        r = (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
        update = r + weight_decay * x
        ratio = np.linalg.norm(x) / np.linalg.norm(update)
        layers[i] = x - lr * ratio * update


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_lamb_is_the_papers_algorithm(weight_decay):
    layout = layout_of(SHAPES)
    rng = np.random.default_rng(0)
    params = rng.standard_normal(layout.size)
    layers = [e.view(params).copy() for e in layout]
    moments = [(np.zeros(e.shape), np.zeros(e.shape)) for e in layout]
    lamb = optim.LAMB(lr=0.01, betas=(0.9, 0.99), eps=1e-6, weight_decay=weight_decay, layout=layout)
    for t in range(1, STEPS + 1):
        g = rng.standard_normal(layout.size) + 0.5 * params
        lamb.step(g, params)
        paper_lamb(layers, [e.view(g) for e in layout], moments, t, 0.01, 0.9, 0.99, 1e-6, weight_decay)
    assert_parity(params, np.concatenate([x.reshape(-1) for x in layers]))


def test_lamb_trust_ratio_is_per_layer():
    """A layer ten times larger takes a step ten times larger: the ratio is per parameter."""
    layout = layout_of({"small": (4, 4), "large": (4, 4)})
    params = np.concatenate([np.full(16, 0.1), np.full(16, 1.0)])
    g = np.random.default_rng(0).standard_normal(32)
    before = params.copy()
    optim.LAMB(lr=0.01, weight_decay=0.0, layout=layout).step(g, params)
    steps = [np.linalg.norm(e.view(before - params)) for e in layout]
    assert steps[1] == pytest.approx(10 * steps[0], rel=1e-9)
    whole = before.copy()  # without a layout: one ratio for the whole array
    optim.LAMB(lr=0.01, weight_decay=0.0).step(g, whole)
    assert not np.allclose(whole, params)
