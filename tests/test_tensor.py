import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import leaf

import tinynet as tn
from tinynet import Tensor, gradcheck

BROADCAST_SHAPES = [((3, 1), (1, 4)), ((5,), (2, 5)), ((), (2, 3)), ((2, 3), ()), ((2, 3), (2, 3))]


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
@pytest.mark.parametrize("shapes", BROADCAST_SHAPES)
def test_binary_ops_gradcheck_with_broadcasting(rng, op, shapes):
    a, b = leaf(rng, *shapes[0], positive=True), leaf(rng, *shapes[1], positive=True)
    fn = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
        "pow": lambda x, y: x**y,
    }[op]
    assert gradcheck(fn, [a, b])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + 2.5,
        lambda x: 2.5 - x,
        lambda x: 3 * x,
        lambda x: 1.5 / x,
        lambda x: x**3,
        lambda x: x**-0.5,
        lambda x: 2.0**x,
        lambda x: -x,
        lambda x: x.exp(),
        lambda x: x.log(),
        lambda x: x.sqrt(),
        lambda x: (x - 1.2).abs(),
        lambda x: x.tanh(),
        lambda x: x.sigmoid(),
        lambda x: (x - 1.2).relu(),
    ],
    ids=[
        "radd",
        "rsub",
        "rmul",
        "rdiv",
        "pow3",
        "pow_neg_half",
        "rpow",
        "neg",
        "exp",
        "log",
        "sqrt",
        "abs",
        "tanh",
        "sigmoid",
        "relu",
    ],
)
def test_unary_ops_gradcheck(rng, fn):
    x = leaf(rng, 3, 4, positive=True)
    assert gradcheck(fn, [x])


@pytest.mark.parametrize("reduction", ["sum", "mean", "amax"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2), 1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_gradcheck(rng, reduction, axis, keepdims):
    x = leaf(rng, 2, 3, 4)
    assert gradcheck(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), [x])


def test_reduction_shapes_match_numpy(rng):
    x = rng.standard_normal((2, 3, 4))
    for axis in [None, 0, -1, (0, 2)]:
        for keepdims in [False, True]:
            for name, numpys in (("sum", "sum"), ("mean", "mean"), ("amax", "max")):
                got = getattr(Tensor(x), name)(axis=axis, keepdims=keepdims).data
                np.testing.assert_allclose(got, getattr(x, numpys)(axis=axis, keepdims=keepdims))


def test_max_splits_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    x.amax(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


@pytest.mark.parametrize(
    "shapes",
    [
        ((2, 3), (3, 4)),
        ((3,), (3, 4)),
        ((2, 3), (3,)),
        ((3,), (3,)),
        ((5, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)),
        ((5, 2, 3), (5, 3, 4)),
        ((1, 2, 3), (4, 3, 2)),
    ],
)
def test_matmul_gradcheck(rng, shapes):
    assert gradcheck(lambda a, b: a @ b, [leaf(rng, *shapes[0]), leaf(rng, *shapes[1])])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.reshape(4, 6),
        lambda x: x.reshape((2, -1)),
        lambda x: x.transpose(),
        lambda x: x.transpose(1, 0, 2),
        lambda x: x.T,
        lambda x: x.flatten(),
        lambda x: x.flatten(0),
    ],
)
def test_shape_ops_gradcheck(rng, fn):
    assert gradcheck(fn, [leaf(rng, 2, 3, 4)])


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        slice(1, 3),
        (1, slice(1, None)),
        (Ellipsis, 1),
        (slice(None), None, 1),
        np.array([0, 2, 0, 0]),
        (np.array([0, 1, 1]), np.array([2, 2, 3])),
        np.array([True, False, True]),
    ],
    ids=["int", "negative", "slice", "mixed", "ellipsis", "newaxis", "repeated_ints", "int_pairs", "bool_mask"],
)
def test_indexing_gradcheck(rng, index):
    assert gradcheck(lambda x: x[index], [leaf(rng, 3, 4)])


def test_repeated_indices_add_up():
    x = Tensor(np.zeros(3), requires_grad=True)
    x[np.array([0, 2, 0, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])


def test_boolean_mask_selects_and_routes_gradient():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x[x.data > 2]
    np.testing.assert_array_equal(y.data, [3, 4, 5])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [1, 1, 1]])


def test_concatenate_stack_where_gradcheck(rng):
    a, b, c = leaf(rng, 2, 3), leaf(rng, 2, 1), leaf(rng, 2, 3)
    assert gradcheck(lambda a, b: tn.concatenate([a, b, a], axis=1), [a, b])
    assert gradcheck(lambda a, c: tn.stack([a, c, a], axis=1), [a, c])
    mask = rng.standard_normal((2, 3)) > 0
    assert gradcheck(lambda a, b: tn.where(mask, a, b), [a, b])
    assert gradcheck(lambda a: tn.where(mask, a, 0.0), [a])


def test_diamond_graph_accumulates(rng):
    x = leaf(rng, 3)
    assert gradcheck(lambda x: (x * 2) * (x + 1) + x.exp() * x - x, [x])
    x.grad = None
    y = x * x + x
    (y * y).sum().backward()
    d = x.data
    np.testing.assert_allclose(x.grad, 2 * (d * d + d) * (2 * d + 1))


def test_backward_accumulates_across_calls():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6, 6])


def test_deep_chain_has_no_recursion_limit():
    x = Tensor(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_deep_chain_gradcheck(rng):
    x = leaf(rng, 4)

    def chain(t):
        for _ in range(50):
            t = (t * 0.9 + 0.1).tanh()
        return t

    assert gradcheck(chain, [x])


def test_backward_with_gradient_for_non_scalar(rng):
    x = leaf(rng, 2, 3)
    g = rng.standard_normal((2, 3))
    (x * 2).backward(g)
    np.testing.assert_allclose(x.grad, 2 * g)


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with tn.no_grad():
        y = x * 2
    assert not y.requires_grad and y._parents == ()
    z = x * 2
    assert z.requires_grad and z._parents


def test_no_grad_as_decorator():
    @tn.no_grad()
    def double(t):
        return t * 2

    assert not double(Tensor([1.0], requires_grad=True)).requires_grad
    assert tn.is_grad_enabled()


def test_no_graph_without_requires_grad():
    y = Tensor([1.0, 2.0]) * Tensor([3.0, 4.0])
    assert not y.requires_grad and y._backward is None


def test_detach_stops_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x.detach() * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, y: x + y,
        lambda x, y: x * y,
        lambda x, y: x / y,
        lambda x, y: x**2.0,
        lambda x, y: x @ y.T,
        lambda x, y: x.exp().log().sqrt(),
        lambda x, y: x.sigmoid().tanh().relu().abs(),
        lambda x, y: x.sum(axis=0),
        lambda x, y: x.mean(),
        lambda x, y: x.amax(axis=1),
        lambda x, y: x[np.array([0, 0])],
        lambda x, y: x.reshape(-1),
        lambda x, y: tn.concatenate([x, y]),
        lambda x, y: tn.stack([x, y]),
        lambda x, y: tn.where(x.data > 0, x, y),
        lambda x, y: x * 2.5 - 1 + 3 / y,
    ],
)
def test_float32_stays_float32(rng, fn):
    x = Tensor(rng.uniform(0.5, 2, (2, 3)).astype(np.float32), requires_grad=True)
    y = Tensor(rng.uniform(0.5, 2, (2, 3)).astype(np.float32), requires_grad=True)
    out = fn(x, y)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert x.grad.dtype == np.float32


def test_scalars_take_the_tensor_dtype():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    for y in (x * np.sqrt(2.0), x + np.float64(1), np.float64(2) * x, x / 3, 2**x, x ** np.float64(2)):
        assert y.dtype == np.float32
    assert (Tensor(np.ones(2)) * np.float32(2)).dtype == np.float64


def test_dtype_rules():
    assert Tensor(1.5).dtype == np.float32
    assert Tensor([1, 2]).dtype == np.float32
    assert Tensor(np.array([1, 2])).dtype == np.int64
    assert Tensor(np.zeros(2, np.float64)).dtype == np.float64
    previous = tn.get_default_dtype()
    try:
        tn.set_default_dtype(np.float64)
        assert Tensor([1.0]).dtype == np.float64
    finally:
        tn.set_default_dtype(previous)
    with pytest.raises(TypeError, match="floating-point"):
        tn.set_default_dtype(np.int32)


def test_accessors():
    t = Tensor([[1.0, 2.0]])
    assert t.shape == (1, 2) and t.ndim == 2 and t.size == 2 and len(t) == 1
    assert isinstance(t.numpy(), np.ndarray)
    assert t.sum().item() == 3.0
    assert (t > 1.5).tolist() == [[False, True]]
    assert (t == 1.0).dtype == bool
    assert "Tensor(" in repr(t)


# ---------------------------------------------------------------- errors


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) are not aligned"):
        Tensor(np.zeros((2, 3))) @ Tensor(np.zeros((4, 5)))


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        Tensor(np.zeros((2, 3))) + Tensor(np.zeros(4))
    with pytest.raises(ValueError, match=r"mul: shapes \(3,\) and \(2,\)"):
        Tensor(np.zeros(3)) * np.zeros(2)


def test_backward_on_non_scalar_needs_gradient():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element tensor, this one has shape \(3,\)"):
        (x * 2).backward()


def test_backward_gradient_of_wrong_shape():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(ValueError, match=r"grad has shape \(2,\) but the tensor has shape \(3,\)"):
        (x * 2).backward(np.ones(2))


def test_backward_without_requires_grad():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        Tensor([1.0]).sum().backward()


def test_requires_grad_on_integer_data():
    with pytest.raises(TypeError, match="requires_grad=True needs floating-point data, got dtype int64"):
        Tensor(np.array([1, 2]), requires_grad=True)


def test_non_numeric_input():
    with pytest.raises(TypeError, match="must be numeric"):
        Tensor("abc")
    with pytest.raises(TypeError, match="must be numeric"):
        Tensor([1.0]) + "abc"
    with pytest.raises(TypeError, match="must be numeric"):
        Tensor({"a": 1})
    with pytest.raises(ValueError, match="cannot make an array"):
        Tensor([[1.0], [1.0, 2.0]])


def test_shape_op_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\)"):
        Tensor(np.zeros((2, 3))).reshape(4, 2)
    with pytest.raises(ValueError, match="not a permutation"):
        Tensor(np.zeros((2, 3, 4))).transpose(0, 0, 1)
    with pytest.raises(IndexError, match=r"for a tensor of shape \(2, 3\)"):
        Tensor(np.zeros((2, 3)))[5]
    with pytest.raises(ValueError, match="concatenate"):
        tn.concatenate([Tensor(np.zeros((2, 3))), Tensor(np.zeros((2, 4)))])
    with pytest.raises(ValueError, match="stack: all tensors need the same shape"):
        tn.stack([Tensor(np.zeros(2)), Tensor(np.zeros(3))])
    with pytest.raises(ValueError, match="item"):
        Tensor(np.zeros(2)).item()


# ---------------------------------------------------------------- Function


class Cube(tn.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return 3 * x**2 * grad


class ScaledAdd(tn.Function):
    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.scale = scale
        return a + scale * b

    @staticmethod
    def backward(ctx, grad):
        return grad, (ctx.scale * grad if ctx.needs_grad[1] else None)


def test_user_function_gradcheck(rng):
    x, y = leaf(rng, 3, 2), leaf(rng, 3, 2)
    assert gradcheck(lambda t: Cube.apply(t), [x])
    assert gradcheck(lambda a, b: ScaledAdd.apply(a, b, scale=2.5) * a, [x, y])


def test_user_function_with_wrong_gradient_count():
    class Broken(tn.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(ValueError, match=r"Broken.backward returned 2 gradients for 1 inputs"):
        Broken.apply(Tensor([1.0], requires_grad=True)).sum().backward()


def test_gradcheck_catches_a_wrong_backward(rng):
    class WrongSquare(tn.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return x * grad  # should be 2 * x * grad

    with pytest.raises(tn.GradcheckError, match=r"input 0 \(shape \(3,\)\): gradient mismatch at index"):
        gradcheck(lambda t: WrongSquare.apply(t), [leaf(rng, 3)])


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, [Tensor(np.ones(2, np.float32), requires_grad=True)])


def test_import_is_fast(tmp_path):
    """The import's own work, as an installed package does it: from compiled bytecode (the first
    run compiles into tmp_path; PYTHONDONTWRITEBYTECODE would make each run compile every module)."""
    code = "import time, numpy; t = time.perf_counter(); import tinynet; print(time.perf_counter() - t)"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)
    subprocess.check_output([sys.executable, "-c", code], env=env)
    seconds = min(float(subprocess.check_output([sys.executable, "-c", code], env=env)) for _ in range(3))
    assert seconds < 0.2, f"import tinynet took {seconds:.3f} s beyond numpy"
