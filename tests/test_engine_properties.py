"""Properties of the engine, for random shapes and random chains of ops (hypothesis): every
gradient has its input's shape and matches central finite differences (tn.gradcheck, float64).

A chain starts from one leaf and applies 1 to 4 ops; a binary op brings a new leaf of a shape
that broadcasts with the current one (or fits a matrix product). Values come from a numpy
generator seeded by hypothesis, so they have no ties and no zeros; the ops that have a kink
(relu, max) are drawn only where every value is at least 1e-3 from it, and log, div and exp
get safe domains. The examples are derandomized: every run checks the same ones.
"""

import numpy as np
import pytest

import tinynet as tn

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None)
KINK = 1e-3  # how far from a kink every value must be for relu and max
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 0.5),  # a denominator of at least 0.5
}


def new_leaf(data, shape: tuple[int, ...]) -> tn.Tensor:
    """A float64 leaf of `shape` with values in ±[0.2, 1.5], drawn from a seeded generator."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    values = rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    return tn.Tensor(values, requires_grad=True)


def broadcast_partner(data, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with `shape`: some axes set to 1, then either some leading axes
    dropped or a new leading axis added (the partner then has more axes than `shape`)."""
    kept = tuple(1 if data.draw(st.booleans()) else n for n in shape)
    if data.draw(st.booleans()):
        return kept[data.draw(st.integers(0, len(kept))) :]
    return (data.draw(st.integers(1, 3)),) + kept


def axis_or_none(data, ndim: int):
    """An axis argument for a reduction: None, one axis (maybe negative) or a tuple of axes."""
    if ndim == 0:
        return None
    return data.draw(st.none() | st.integers(-ndim, ndim - 1) | st.just(tuple(range(ndim))[: max(1, ndim - 1)]))


def far_from_ties(values: np.ndarray, axis) -> bool:
    """Whether, in every slice that max reduces over `axis`, the largest value is at least KINK
    above the second largest."""
    axes = tuple(range(values.ndim)) if axis is None else tuple(np.atleast_1d(axis) % values.ndim)
    moved = np.moveaxis(values, axes, tuple(range(-len(axes), 0)))
    ordered = np.sort(moved.reshape(-1, int(np.prod([values.shape[a] for a in axes]))), axis=1)
    return ordered.shape[1] < 2 or bool(np.all(ordered[:, -1] - ordered[:, -2] >= KINK))


def draw_step(data, t: tn.Tensor, leaves: list[tn.Tensor]):
    """One op for the chain, safe for the current values: a function from the current tensor to
    the next. A binary op's new leaf is appended to `leaves`."""
    values, ndim = t.data, t.ndim
    names = ["add", "sub", "mul", "div", "exp", "log", "tanh", "sigmoid", "relu", "sum", "mean", "max", "reshape"]
    names += ["transpose", "index", "matmul"] if ndim else []
    name = data.draw(st.sampled_from(names), label="op")
    if name in BINARY:
        other = new_leaf(data, broadcast_partner(data, t.shape))
        leaves.append(other)
        return lambda t: BINARY[name](t, other)
    if name == "matmul":
        columns = data.draw(st.integers(1, 3))
        other = new_leaf(data, (t.shape[-1],) if data.draw(st.booleans()) else (t.shape[-1], columns))
        leaves.append(other)
        return lambda t: t @ other
    if name == "exp":
        assume(np.all(np.abs(values) < 5))
        return lambda t: t.exp()
    if name == "log":
        return lambda t: (t * t + 0.5).log()
    if name == "relu":
        assume(np.all(np.abs(values) >= KINK))
        return lambda t: t.relu()
    if name in ("sum", "mean", "max"):
        axis, keepdims = axis_or_none(data, ndim), data.draw(st.booleans())
        if name == "max":
            assume(far_from_ties(values, axis))
        return lambda t: getattr(t, name)(axis=axis, keepdims=keepdims)
    if name == "reshape":
        return lambda t: t.reshape(t.shape[::-1])
    if name == "transpose":
        axes = tuple(data.draw(st.permutations(range(ndim))))
        return lambda t: t.transpose(axes)
    if name == "index":
        rows = t.shape[0]
        index = data.draw(
            st.integers(-rows, rows - 1)
            | st.integers(0, rows - 1).flatmap(
                lambda start: st.builds(slice, st.just(start), st.integers(start + 1, rows))
            )
            | st.lists(st.integers(0, rows - 1), min_size=1, max_size=5).map(np.array)  # repeats add up
        )
        return lambda t: t[index]
    return getattr(tn.Tensor, name)  # tanh, sigmoid


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@SETTINGS
@given(st.data(), shapes, st.integers(1, 4))
def test_random_chains_match_finite_differences(data, shape, length):
    first = new_leaf(data, shape)
    leaves, steps, t = [first], [], first
    for _ in range(length):
        step = draw_step(data, t, leaves)
        t = step(t)
        steps.append(step)

    def chain(*_):
        out = first
        for step in steps:
            out = step(out)
        return out

    assert tn.gradcheck(chain, leaves)
    for leaf in leaves:
        assert leaf.grad is not None and leaf.grad.shape == leaf.shape and leaf.grad.dtype == np.float64


@SETTINGS
@given(st.data(), shapes)
def test_broadcast_binary_ops_give_each_input_its_own_shape(data, shape):
    a = new_leaf(data, shape)
    b = new_leaf(data, broadcast_partner(data, shape))
    if data.draw(st.booleans()):
        a, b = b, a
    assert tn.gradcheck(BINARY[data.draw(st.sampled_from(sorted(BINARY)))], [a, b])
    assert a.grad.shape == a.shape and b.grad.shape == b.shape
