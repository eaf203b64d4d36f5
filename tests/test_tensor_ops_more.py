"""min, argmax/argmin, var/std, logsumexp, clip/clamp, squeeze/unsqueeze, maximum/minimum, split:
gradchecks (float64), PyTorch parity of values and gradients, dtypes and error messages."""

import numpy as np
import pytest
from conftest import leaf
from torch_parity import assert_expression_matches_torch

import tinynet as tn
from tinynet import Tensor, gradcheck

# Each op written once for either library; `L` gives the names that differ.
TINYNET = {
    "min": lambda x, dim, keepdim: x.amin(dim=dim, keepdim=keepdim),
    "var": lambda x, dim, ddof: x.var(dim=dim, ddof=ddof),
    "std": lambda x, dim, ddof: x.std(dim=dim, ddof=ddof, keepdim=True),
    "clamp": lambda x, low, high: x.clamp(low, high),
    "maximum": tn.maximum,
    "minimum": tn.minimum,
    "split": lambda x, sizes, dim: x.split(sizes, dim=dim),
}
TORCH = {
    "min": lambda x, dim, keepdim: x.amin(dim=() if dim is None else dim, keepdim=keepdim),
    "var": lambda x, dim, ddof: x.var(dim=dim, correction=ddof),
    "std": lambda x, dim, ddof: x.std(dim=dim, correction=ddof, keepdim=True),
    "clamp": lambda x, low, high: x.clamp(low, high),
    "maximum": lambda a, b: __import__("torch").maximum(a, b),
    "minimum": lambda a, b: __import__("torch").minimum(a, b),
    "split": lambda x, sizes, dim: x.split(sizes, dim=dim),
}

# Expressions of two (3, 4) inputs; those named *_ties get whole numbers, so that many elements tie.
EXPRESSIONS = {
    "min_all": lambda a, b, L: L["min"](a, None, False) * b.sum(),
    "min_dim": lambda a, b, L: (L["min"](a, 1, False) * b[:, 0]).sum(),
    "min_dims_keepdim": lambda a, b, L: (L["min"](a.reshape(3, 2, 2), (1, 2), True) * b[:, :1, None]).sum(),
    "min_ties": lambda a, b, L: (L["min"](a, 0, False) * b[0]).sum(),
    "var_all_biased": lambda a, b, L: L["var"](a * b, None, 0),
    "var_dim_unbiased": lambda a, b, L: (L["var"](a, 0, 1) * b[0]).sum(),
    "std_dims": lambda a, b, L: (L["std"](a + b, (0, 1), 1) * 3).sum(),
    "std_neg_dim_biased": lambda a, b, L: (L["std"](a * b, -1, 0) * b[:, :1]).sum(),
    "logsumexp": lambda a, b, L: (a.logsumexp(dim=1) * b[:, 1]).sum(),
    "logsumexp_keepdim_all": lambda a, b, L: a.logsumexp(dim=(0, 1), keepdim=True).sum() * b.sum(),
    "clamp_both": lambda a, b, L: (L["clamp"](a * 2, -0.5, 0.7) * b).sum(),
    "clamp_min_only": lambda a, b, L: (L["clamp"](a, 0.1, None) * b).sum(),
    "clamp_max_only": lambda a, b, L: (L["clamp"](a, None, -0.2) * b).sum(),
    "clamp_ties": lambda a, b, L: (L["clamp"](a, -1.0, 1.0) * b).sum(),
    "squeeze_unsqueeze": lambda a, b, L: (a.unsqueeze(1).unsqueeze(-1).squeeze(1) * b.unsqueeze(2)).sum(),
    "squeeze_tuple": lambda a, b, L: (a.reshape(3, 1, 4, 1).squeeze((1, 3)) * b).sum(),
    "squeeze_not_one": lambda a, b, L: (a.reshape(1, 3, 4).squeeze(1) * b).sum(),
    "maximum": lambda a, b, L: (L["maximum"](a, b) * a).sum(),
    "maximum_broadcast_ties": lambda a, b, L: (L["maximum"](a, b[:1]) * b).sum(),
    "minimum": lambda a, b, L: (L["minimum"](a, b[:, :1]) * b).sum(),
    "minimum_ties": lambda a, b, L: (L["minimum"](a, b) * (a + b)).sum(),
    "split_int": lambda a, b, L: sum((p * p).sum() * (i + 1) for i, p in enumerate(L["split"](a * b, 3, 1))),
    "split_sections": lambda a, b, L: sum(p.sum() * (i - 1) for i, p in enumerate(L["split"](a * b, [1, 0, 2], 0))),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
@pytest.mark.parametrize("seed", [0, 1])
def test_expression_matches_torch(name, seed):
    pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((3, 4)) * 2 for _ in range(2)]
    if name.endswith("_ties"):
        arrays = [np.round(x) for x in arrays]
    assert_expression_matches_torch(EXPRESSIONS[name], arrays, TINYNET, TORCH)


GRADCHECKS = {
    "min": lambda x: x.min(),
    "min_axis_keepdims": lambda x: x.amin(axis=1, keepdims=True),
    "min_dim_tuple": lambda x: x.amin(dim=(0, 1)),
    "var": lambda x: x.var(),
    "var_axis_ddof": lambda x: x.var(axis=0, ddof=1),
    "var_correction_keepdim": lambda x: x.var(dim=1, correction=1, keepdim=True),
    "std": lambda x: x.std(),
    "std_dim_ddof": lambda x: x.std(dim=-1, ddof=1),
    "logsumexp": lambda x: x.logsumexp(),
    "logsumexp_axis": lambda x: x.logsumexp(axis=0),
    "logsumexp_dim_keepdim": lambda x: x.logsumexp(dim=1, keepdim=True),
    "clip": lambda x: x.clip(-0.5, 0.5),
    "clamp_min": lambda x: x.clamp(min=0.2),
    "squeeze": lambda x: x.reshape(1, 3, 1, 4).squeeze(),
    "squeeze_dim": lambda x: x.reshape(1, 3, 1, 4).squeeze(dim=-2),
    "unsqueeze": lambda x: x.unsqueeze(-3),
    "maximum_scalar": lambda x: tn.maximum(x, 0.1),
    "minimum_scalar_first": lambda x: tn.minimum(0.1, x),
    "split_first_piece": lambda x: x.split([1, 3], dim=1)[1],
    "split_pieces_rejoined": lambda x: tn.concatenate(tn.split(x, 2, 1)[::-1], axis=1),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_op_gradcheck(rng, name):
    assert gradcheck(GRADCHECKS[name], [leaf(rng, 3, 4)])


@pytest.mark.parametrize("op", [tn.maximum, tn.minimum], ids=["maximum", "minimum"])
@pytest.mark.parametrize("shapes", [((3, 1), (1, 4)), ((4,), (3, 4)), ((), (3, 4))])
def test_maximum_minimum_gradcheck_with_broadcasting(rng, op, shapes):
    assert gradcheck(op, [leaf(rng, *shapes[0]), leaf(rng, *shapes[1])])


def test_min_shares_the_gradient_between_ties():
    x = Tensor(np.array([[1.0, 3.0, 1.0], [2.0, 2.0, 2.0]]), requires_grad=True)
    x.amin(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.5, 0, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_maximum_and_minimum_split_a_tie_half_half():
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 5.0, 0.0]), requires_grad=True)
    (tn.maximum(a, b) + 10 * tn.minimum(a, b)).sum().backward()
    np.testing.assert_allclose(a.grad, [5.5, 10, 1])
    np.testing.assert_allclose(b.grad, [5.5, 1, 10])


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (None, True), (0, False), (1, True), (-1, False)])
def test_argmax_argmin_match_torch(op, dim, keepdim):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, (4, 5)).astype(np.float64)  # many ties: the first one wins
    x = Tensor(x, requires_grad=True)
    out = getattr(x, op)(dim=dim, keepdim=keepdim)
    expected = getattr(torch.tensor(x.data), op)(dim=dim, keepdim=keepdim)
    np.testing.assert_array_equal(out.data, expected.numpy())
    assert out.dtype == np.int64 and out.shape == tuple(expected.shape)
    assert not out.requires_grad
    np.testing.assert_array_equal(getattr(x, op)(axis=dim, keepdims=keepdim).data, out.data)


@pytest.mark.parametrize("dims", [0, 1, 2, -1, (0, 2), (1, 3), None])
def test_squeeze_matches_torch(dims):
    torch = pytest.importorskip("torch")
    x = np.zeros((1, 3, 1, 2))
    assert Tensor(x).squeeze(dims).shape == tuple(torch.tensor(x).squeeze(*(() if dims is None else (dims,))).shape)


@pytest.mark.parametrize("dim", [-3, -2, -1, 0, 1, 2])
def test_unsqueeze_matches_torch(dim):
    torch = pytest.importorskip("torch")
    x = np.zeros((2, 3))
    assert Tensor(x).unsqueeze(dim).shape == tuple(torch.tensor(x).unsqueeze(dim).shape)


@pytest.mark.parametrize("sizes, dim", [(2, 0), (3, 0), (7, 0), (1, 1), (2, -1), ([2, 3], 0), ([0, 4, 1], 0), ([3], 1)])
def test_split_shapes_match_torch(sizes, dim):
    torch = pytest.importorskip("torch")
    x = np.arange(15.0).reshape(5, 3)
    ours, theirs = tn.split(Tensor(x), sizes, dim=dim), torch.split(torch.tensor(x), sizes, dim=dim)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for mine, ref in zip(ours, theirs):
        np.testing.assert_array_equal(mine.data, ref.numpy())


def test_var_and_std_default_is_torchs_ddof_1_and_ddof_0_is_numpys(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((4, 5))
    np.testing.assert_allclose(Tensor(x).var(ddof=0).data, np.var(x))
    np.testing.assert_allclose(Tensor(x).std(axis=0, ddof=0).data, np.std(x, axis=0))
    np.testing.assert_allclose(Tensor(x).var().data, torch.tensor(x).var().numpy())
    np.testing.assert_allclose(Tensor(x).std(dim=1).data, torch.tensor(x).std(dim=1).numpy())


def test_logsumexp_is_stable_and_handles_infinities():
    torch = pytest.importorskip("torch")
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0]])
    out = Tensor(x, requires_grad=True).logsumexp(dim=1)
    np.testing.assert_allclose(out.data, torch.tensor(x).logsumexp(dim=1).numpy())
    assert out.data[0] == pytest.approx(1000 + np.log(2))
    xs = Tensor(x[[0, 3]], requires_grad=True)
    xs.logsumexp(dim=1).sum().backward()
    np.testing.assert_allclose(xs.grad, torch.softmax(torch.tensor(x[[0, 3]]), dim=1).numpy())


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x.amin(dim=0),
        lambda x: x.var(dim=1, ddof=1),
        lambda x: x.std(),
        lambda x: x.logsumexp(dim=-1),
        lambda x: x.clamp(-0.1, 0.1),
        lambda x: x.unsqueeze(0).squeeze(0),
        lambda x: tn.maximum(x, 0.5),
        lambda x: tn.minimum(x, np.float64(0.5)),
        lambda x: x.split(2, dim=1)[1],
    ],
    ids=["min", "var", "std", "logsumexp", "clamp", "squeeze", "maximum", "minimum", "split"],
)
def test_float32_stays_float32(rng, fn):
    x = Tensor(rng.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


def test_both_spellings_give_the_same_results(rng):
    x = Tensor(rng.standard_normal((3, 4)))
    pairs = [
        (x.amin(axis=1, keepdims=True), x.amin(dim=1, keepdim=True)),
        (x.var(axis=0, ddof=1), x.var(dim=0, correction=1)),
        (x.logsumexp(axis=1), x.logsumexp(dim=1)),
        (x.unsqueeze(axis=1), x.unsqueeze(dim=1)),
        (x.unsqueeze(1).squeeze(axis=1), x.unsqueeze(1).squeeze(dim=1)),
    ]
    for numpy_spelling, torch_spelling in pairs:
        np.testing.assert_array_equal(numpy_spelling.data, torch_spelling.data)


def test_new_names_are_exported():
    assert {"maximum", "minimum", "split"} <= set(tn.__all__)
    assert tn.Tensor.clamp is tn.Tensor.clip


# ---------------------------------------------------------------- bad input


def test_unsqueeze_out_of_range_names_the_valid_range():
    with pytest.raises(IndexError, match=r"unsqueeze: dim 3 is out of range for a tensor of shape \(2, 3\) "):
        Tensor(np.zeros((2, 3))).unsqueeze(3)
    with pytest.raises(IndexError, match=r"expected a dim in \[-3, 2\]"):
        Tensor(np.zeros((2, 3))).unsqueeze(-4)
    with pytest.raises(TypeError, match=r"unsqueeze\(\): missing the position of the new axis"):
        Tensor(np.zeros((2, 3))).unsqueeze()


def test_squeeze_argmax_split_out_of_range_dims():
    x = Tensor(np.zeros((2, 1)))
    with pytest.raises(IndexError, match=r"squeeze: dim 2 is out of range .* \[-2, 1\]"):
        x.squeeze(2)
    with pytest.raises(IndexError, match=r"argmax: dim -3 is out of range"):
        x.argmax(dim=-3)
    with pytest.raises(IndexError, match=r"split: dim 5 is out of range"):
        x.split(1, dim=5)


def test_split_bad_sizes():
    x = Tensor(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"sizes \[2, 2\] must be non-negative and add up to 5, the size of axis 0 "):
        tn.split(x, [2, 2])
    with pytest.raises(ValueError, match=r"section sizes \[3, -1, 3\] must be non-negative"):
        x.split([3, -1, 3])
    with pytest.raises(ValueError, match="split size must be a positive integer, got 0"):
        x.split(0)


def test_clip_needs_a_bound_and_both_spellings_are_an_error():
    x = Tensor(np.zeros(3))
    with pytest.raises(ValueError, match="clip: give min, max or both"):
        x.clamp()
    with pytest.raises(TypeError, match="var\\(\\): got both ddof=1 and correction=0"):
        x.var(ddof=1, correction=0)
    with pytest.raises(TypeError, match="argmin\\(\\): got both axis=0 and dim=0"):
        x.argmin(axis=0, dim=0)


def test_maximum_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"maximum: shapes \(2,\) and \(3,\) do not broadcast together"):
        tn.maximum(Tensor(np.zeros(2)), Tensor(np.zeros(3)))


def test_std_of_constant_data_has_a_zero_gradient_as_in_torch():
    torch = pytest.importorskip("torch")
    data = np.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    ours = Tensor(data.copy(), requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    ours.std(dim=1, ddof=1).sum().backward()
    theirs.std(dim=1).sum().backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    assert np.array_equal(ours.grad[1], [0.0, 0.0, 0.0])
