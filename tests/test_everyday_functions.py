"""The everyday functions of issue 26 beside PyTorch's: tn.tensor, tn.zeros ... tn.randint and
their _like forms, tn.cat, tn.einsum; F.one_hot, F.pad, F.normalize, F.group_norm. Values,
dtypes and gradients (gradcheck in float64), and the named errors of bad input."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)


def dtype_name(t) -> str:
    return str(t.dtype).removeprefix("torch.")


# ---------------------------------------------------------------- making tensors


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.zeros(2, 3),
        lambda m: m.zeros((2, 3)),
        lambda m: m.zeros([4]),
        lambda m: m.ones(3, dtype=m.float64),
        lambda m: m.ones(2, 2, dtype=m.int64),
        lambda m: m.full((2, 2), 1.5),
        lambda m: m.full((2,), 7),
        lambda m: m.full((2,), True),
        lambda m: m.arange(5),
        lambda m: m.arange(1, 4, 0.5),
        lambda m: m.arange(10, 0, -3),
        lambda m: m.arange(0.0, 1.0, 0.25, dtype=m.float64),
        lambda m: m.linspace(0, 1, 5),
        lambda m: m.linspace(-2, 2, 1),
        lambda m: m.eye(3),
        lambda m: m.eye(2, 4),
        lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]),
        lambda m: m.tensor([1, 2, 3]),
        lambda m: m.tensor(3.5),
        lambda m: m.tensor([True, False]),
        lambda m: m.tensor(np.arange(3.0)),
        lambda m: m.tensor([1, 2], dtype=m.float64),
        lambda m: m.zeros_like(m.tensor([[1, 2]])),
        lambda m: m.ones_like(m.tensor([1.0, 2.0]), dtype=m.float64),
        lambda m: m.full_like(m.tensor([1.0, 2.0]), 3),
    ],
)
def test_made_tensors_match_torch(call):
    namespace = type("np_dtypes", (), {n: getattr(tn, n) for n in tn.creation.__all__})
    for name in ("float64", "int64"):
        setattr(namespace, name, getattr(np, name))
    ours, theirs = call(namespace), call(torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == dtype_name(theirs)
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_tensor_copies_its_data_and_keeps_requires_grad():
    array = np.ones(3)
    t = tn.tensor(array, requires_grad=True)
    array[0] = 5
    assert t.data[0] == 1 and t.requires_grad and t.is_leaf
    source = tn.Tensor(np.zeros(2))
    copy = tn.tensor(source)
    copy.data[0] = 1
    assert source.data[0] == 0


@pytest.mark.parametrize("make", [tn.zeros, tn.ones, tn.rand, tn.randn])
def test_requires_grad_and_default_dtype(make):
    t = make(2, 3, requires_grad=True)
    assert t.requires_grad and t.dtype == np.float32 == tn.get_default_dtype()
    (t * 2).sum().backward()
    np.testing.assert_array_equal(t.grad, np.full((2, 3), 2.0))
    tn.set_default_dtype(np.float64)
    try:
        assert make(2).dtype == np.float64
    finally:
        tn.set_default_dtype(np.float32)


def test_random_tensors_follow_manual_seed():
    draws = []
    for _ in range(2):
        tn.manual_seed(3)
        draws.append([tn.rand(4), tn.randn(2, 2), tn.randint(5, (6,)), tn.randint(-2, 2, (3,))])
    for first, second in zip(*draws):
        np.testing.assert_array_equal(first.data, second.data)
    uniform, normal, small, signed = draws[0]
    assert uniform.dtype == np.float32 and ((uniform.data >= 0) & (uniform.data < 1)).all()
    assert normal.shape == (2, 2)
    assert small.dtype == np.int64 and set(small.data) <= set(range(5))
    assert set(signed.data) <= {-2, -1, 0, 1}
    seeded = tn.rand(3, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(seeded.data, np.random.default_rng(1).random(3).astype(np.float32))


def test_like_forms_take_shape_and_dtype():
    x = tn.tensor(np.zeros((2, 3), dtype=np.float64))
    for made in (tn.rand_like(x), tn.randn_like(x), tn.zeros_like(x), tn.ones_like(x), tn.full_like(x, 2)):
        assert made.shape == (2, 3) and made.dtype == np.float64
    labels = tn.randint_like(tn.tensor([[0, 0]]), 3, 7)
    assert labels.shape == (1, 2) and labels.dtype == np.int64 and ((labels.data >= 3) & (labels.data < 7)).all()
    # torch agrees on the shapes and dtypes
    assert tuple(torch.randint_like(torch.tensor([[0, 0]]), 3, 7).shape) == labels.shape
    assert torch.rand_like(torch.zeros(2, 3, dtype=torch.float64)).dtype == torch.float64


def test_bad_input_to_the_makers_is_named():
    with pytest.raises(TypeError, match="zeros: the size must be ints"):
        tn.zeros(2.5)
    with pytest.raises(ValueError, match="ones: sizes must be non-negative"):
        tn.ones(-1, 2)
    with pytest.raises(ValueError, match="arange: step must be nonzero"):
        tn.arange(0, 3, 0)
    with pytest.raises(ValueError, match="cannot be walked"):
        tn.arange(0, 3, -1)
    with pytest.raises(ValueError, match="linspace: steps must be non-negative"):
        tn.linspace(0, 1, -2)
    with pytest.raises(TypeError, match="randint: expected \\(high, size\\)"):
        tn.randint(5)
    with pytest.raises(TypeError, match="size must be a tuple"):
        tn.randint(5, 3)
    with pytest.raises(ValueError, match="low must be smaller than high"):
        tn.randint(3, 3, (2,))
    with pytest.raises(TypeError, match="rand: draws floating-point numbers"):
        tn.rand(2, dtype=np.int64)
    with pytest.raises(TypeError, match="generator must be a numpy Generator"):
        tn.randn(2, generator=0)
    with pytest.raises(TypeError, match="expected a Tensor"):
        tn.zeros_like(np.zeros(2))
    with pytest.raises(TypeError, match="tensor: expected numbers"):
        tn.tensor(["a"])
    with pytest.raises(TypeError, match="requires_grad=True needs floating-point"):
        tn.tensor([1, 2], requires_grad=True)


# ---------------------------------------------------------------- cat and einsum


def test_cat_is_concatenate_with_dim():
    a, b = tn.tensor(rng.standard_normal((2, 3))), tn.tensor(rng.standard_normal((2, 1)))
    assert tn.cat is tn.concatenate
    out = tn.cat([a, b], dim=1)
    expected = torch.cat([torch.tensor(a.data), torch.tensor(b.data)], dim=1)
    np.testing.assert_array_equal(out.data, expected.numpy())


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]),
    ("i...->...", [(2, 3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->i", [(2, 3)]),
    ("ji", [(2, 3)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("iij,jk->ik", [(2, 2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("b i d, b j d -> b i j", [(2, 3, 4), (2, 5, 4)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS)
def test_einsum_matches_torch_and_passes_gradcheck(equation, shapes):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    ours = [tn.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = tn.einsum(equation, *ours), torch.einsum(equation, *theirs)
    g = rng.standard_normal(tuple(expected.shape))
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)
    leaves = [tn.Tensor(a, requires_grad=True) for a in arrays]
    assert tn.gradcheck(lambda *xs: tn.einsum(equation, *xs), leaves)


def test_einsum_keeps_the_contract_of_an_op_and_its_second_derivative():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    tn.op_check.check_op(lambda x, y: tn.einsum("ij,jk->ik", x, y), a, b)
    tn.op_check.check_op(lambda x: tn.einsum("ii->i", x), rng.standard_normal((3, 3)))
    x = tn.Tensor(rng.standard_normal(3), requires_grad=True)
    (g,) = tn.grad(tn.einsum("i,i->", x, x), [x], create_graph=True)  # 2x
    g.sum().backward()
    np.testing.assert_allclose(x.grad, np.full(3, 2.0))


def test_einsum_backward_runs_again_and_again():
    x = tn.Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    y = tn.einsum("iij->i", x.reshape(3, 3, 1) * tn.ones(1, 1, 2))
    for _ in range(60):  # each pass makes its fresh letters anew
        y.backward(np.ones(3), retain_graph=True)
    np.testing.assert_allclose(x.grad, np.eye(3) * 2 * 60)


def test_einsum_takes_operands_as_a_list():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(tn.einsum("ij,jk", [a, b]).data, a @ b)


def test_bad_einsums_are_named():
    a = tn.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="names 2 operands, got 1"):
        tn.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="do not fit an operand of shape"):
        tn.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="'j' in 'ij,jk->ik' is of size 3 in one place and 2"):
        tn.einsum("ij,jk->ik", a, a)
    with pytest.raises(ValueError, match="must name input letters, each once"):
        tn.einsum("ij->iz", a)
    with pytest.raises(TypeError, match="the first argument must be the equation"):
        tn.einsum(a, a)


# ---------------------------------------------------------------- F.one_hot, F.pad, F.normalize


def test_one_hot_matches_torch():
    labels = np.array([[0, 2], [1, 1]])
    for classes in (-1, 4):
        ours = F.one_hot(tn.tensor(labels), classes)
        theirs = torch.nn.functional.one_hot(torch.tensor(labels), classes)
        assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_one_hot_errors():
    with pytest.raises(TypeError, match="one_hot: expected integer class labels"):
        F.one_hot(tn.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(tn.tensor([-1, 0]))
    with pytest.raises(ValueError, match="num_classes=2 must be positive and larger than every label"):
        F.one_hot(tn.tensor([0, 2]), 2)


PADS = [
    ((1, 2), "constant", None),
    ((1, 0, 2, 1), "constant", 0.5),
    ((0, 0, 0, 0, 1, 1), "constant", None),
    ((-1, 2, 1, -1), "constant", None),
    ((2, 1), "reflect", None),
    ((1, 2, 2, 0), "reflect", None),
    ((3, 1, 1, 2), "replicate", None),
    ((2, 1, 1, 2), "circular", None),
]


@pytest.mark.parametrize("pad, mode, value", PADS)
def test_pad_matches_torch_and_passes_gradcheck(pad, mode, value):
    ndim = 4 if mode == "constant" else 2 + len(pad) // 2  # torch's other modes pad (N, C, ...) inputs only
    x = rng.standard_normal((2, 3, 4, 5)[:ndim])
    xo, xt = tn.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    options = {} if value is None else {"value": value}
    out = F.pad(xo, pad, mode=mode, **options)
    expected = torch.nn.functional.pad(xt, pad, mode=mode, **options)
    g = rng.standard_normal(tuple(expected.shape))
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-12)
    small = tn.Tensor(rng.standard_normal((1, 2, 4, 4)[:ndim]), requires_grad=True)
    assert tn.gradcheck(lambda t: F.pad(t, pad, mode=mode, **options), [small])


def test_pad_keeps_the_contract_of_an_op():
    tn.op_check.check_op(lambda x: F.pad(x, (1, 2)), rng.standard_normal((2, 3)))


def test_pad_errors():
    x = tn.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match="even length of at most 2 x 2"):
        F.pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match="even length of at most 2 x 2"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(TypeError, match="pad must be a tuple of ints"):
        F.pad(x, (1.5, 1))
    with pytest.raises(ValueError, match="reflect padding of \\(3, 0\\) needs dim 1 \\(of size 3\\)"):
        F.pad(x, (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="only supported in mode='constant'"):
        F.pad(x, (-1, 0), mode="replicate")
    with pytest.raises(ValueError, match="only applies to mode='constant'"):
        F.pad(x, (1, 0), mode="reflect", value=2.0)


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, -1), (3.0, 0)])
def test_normalize_matches_torch_and_passes_gradcheck(p, dim):
    x = rng.standard_normal((3, 4))
    x[1] = 0.0  # a zero row: stays zero, gradient finite
    xo, xt = tn.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = F.normalize(xo, p=p, dim=dim), torch.nn.functional.normalize(xt, p=p, dim=dim)
    g = rng.standard_normal(x.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert tn.gradcheck(lambda t: F.normalize(t, p=p, dim=dim), [tn.Tensor(rng.standard_normal((3, 4)), True)])


def test_normalize_errors():
    with pytest.raises(ValueError, match="p must be a positive finite number"):
        F.normalize(tn.Tensor(np.ones((2, 2))), p=0)
    with pytest.raises(IndexError, match="normalize: dim 2 is out of range"):
        F.normalize(tn.Tensor(np.ones((2, 2))), dim=2)
    with pytest.raises(TypeError, match="normalize: expected floating-point input"):
        F.normalize(tn.tensor([1, 2]))
