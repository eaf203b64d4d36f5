"""PyTorch's everyday Tensor methods (issue 26): view, expand, repeat, flip, chunk, clone, tolist,
size, the dtype conversions, norm, cumsum, sort, argsort, topk, masked_fill, gather, scatter,
scatter_add, tril/triu, softmax/log_softmax, f-string formatting, and the tn.* functions of the
same names. Each expression runs on tinynet and on PyTorch (values and gradients, float64), and
on gradcheck; bad input gets a named error."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.tensor_methods import Size

torch = pytest.importorskip("torch")

rng = np.random.default_rng(0)
INDEX = np.array([[0, 2, 2, 1], [3, 0, 1, 1], [2, 2, 0, 3]])  # along axis 1 of (3, 4); repeats
DISTINCT = np.array([[3, 0], [1, 2], [0, 3]])  # along axis 1 of (3, 4); no repeats: scatter is defined
ROWS = np.array([[2, 0, 1, 2], [0, 1, 0, 0]])  # along axis 0 of (3, 4); repeats
MASK = rng.random((3, 4)) > 0.5
INF = float("inf")

# name: (expression(lib, T, *inputs), input shapes). `lib` is tinynet or torch, T makes its
# tensor of an index or mask; the methods are called by their PyTorch names in both.
CASES = {
    "view": (lambda lib, T, x: x.view(2, 6) * x.view(-1).view((6, 2)).T, [(3, 4)]),
    "contiguous": (lambda lib, T, x: x.transpose(0, 1).contiguous().view(-1) * x.contiguous().view(-1), [(3, 4)]),
    "expand": (lambda lib, T, x: x.expand(2, -1, 5, -1), [(3, 1, 4)]),
    "expand tuple": (lambda lib, T, x: x.expand((3, 4)), [(4,)]),
    "repeat": (lambda lib, T, x: x.repeat(2, 1, 3), [(3, 4)]),
    "repeat tuple": (lambda lib, T, x: x.repeat((2, 2)), [(3,)]),
    "flip": (lambda lib, T, x: x.flip(0) * x.flip((0, -1)) + x.flip(1, 0), [(3, 4)]),
    "chunk": (lambda lib, T, x: x.chunk(3, dim=1)[1] * 2 + x.chunk(3, 1)[2].sum(), [(3, 5)]),
    "clone": (lambda lib, T, x: x.clone() * x, [(3, 4)]),
    "float": (lambda lib, T, x: x.float(), [(3, 4)]),
    "double": (lambda lib, T, x: x.float().double() * x, [(3, 4)]),
    "norm": (lambda lib, T, x: x.norm(), [(3, 4)]),
    "norm p=1": (lambda lib, T, x: x.norm(p=1), [(3, 4)]),
    "norm p=inf": (lambda lib, T, x: x.norm(p=INF), [(3, 4)]),
    "norm p=-inf dim": (lambda lib, T, x: x.norm(p=-INF, dim=1), [(3, 4)]),
    "norm dim": (lambda lib, T, x: x.norm(dim=1), [(3, 4)]),
    "norm p=1 keepdim": (lambda lib, T, x: x.norm(p=1, dim=0, keepdim=True), [(3, 4)]),
    "norm p=3": (lambda lib, T, x: x.norm(p=3, dim=-1), [(2, 3, 4)]),
    "norm fro two dims": (lambda lib, T, x: x.norm(p="fro", dim=(0, 2)), [(2, 3, 4)]),
    "cumsum": (lambda lib, T, x: x.cumsum(1) * x.cumsum(dim=0), [(3, 4)]),
    "sort": (lambda lib, T, x: x.sort(dim=1, descending=True).values, [(3, 4)]),
    "sort dim 0": (lambda lib, T, x: x.sort(0)[0], [(3, 4)]),
    "topk": (lambda lib, T, x: x.topk(2, dim=1).values, [(3, 4)]),
    "topk smallest": (lambda lib, T, x: x.topk(2, dim=0, largest=False)[0], [(3, 4)]),
    "masked_fill": (lambda lib, T, x: x.masked_fill(T(MASK), -1.5), [(3, 4)]),
    "masked_fill broadcast": (lambda lib, T, x: x.masked_fill(T(MASK[0]), 2.0), [(3, 4)]),
    "gather": (lambda lib, T, x: x.gather(1, T(INDEX)), [(3, 4)]),
    "gather smaller index": (lambda lib, T, x: x.gather(0, T(ROWS[:, :3])), [(3, 4)]),
    "scatter": (lambda lib, T, x, src: x.scatter(1, T(DISTINCT), src), [(3, 4), (3, 2)]),
    "scatter value": (lambda lib, T, x: x.scatter(1, T(DISTINCT), 2.5), [(3, 4)]),
    "scatter_add": (lambda lib, T, x, src: x.scatter_add(0, T(ROWS), src), [(3, 4), (2, 4)]),
    "tril": (lambda lib, T, x: x.tril() + x.tril(-1) + x.tril(diagonal=2), [(3, 4)]),
    "triu batched": (lambda lib, T, x: x.triu() + x.triu(1), [(2, 3, 4)]),
    "softmax": (lambda lib, T, x: x.softmax(dim=1) * x.log_softmax(0), [(3, 4)]),
    "tril triu functions": (lambda lib, T, x: lib.tril(x, 1) * lib.triu(x), [(3, 4)]),
    "gather function": (lambda lib, T, x: lib.gather(x, 1, T(INDEX)), [(3, 4)]),
    "masked_fill function": (lambda lib, T, x: lib.masked_fill(x, T(MASK), 0.5), [(3, 4)]),
    "scatter functions": (
        lambda lib, T, x, src: lib.scatter(x, 1, T(DISTINCT), src) * lib.scatter_add(x, 1, T(DISTINCT), src),
        [(3, 4), (3, 2)],
    ),
    "cumsum flip functions": (lambda lib, T, x: lib.cumsum(lib.flip(x, (1,)), dim=1), [(3, 4)]),
    "sort topk chunk functions": (
        lambda lib, T, x: lib.sort(x, 1)[0] * lib.topk(x, 4, 1)[0] + lib.chunk(x, 2, 0)[0].sum(),
        [(3, 4)],
    ),
}
NOT_IN_FLOAT64 = {"float", "double"}  # float32 on the way: no finite differences


def inputs(shapes, seed=1):
    generator = np.random.default_rng(seed)
    return [generator.standard_normal(shape) for shape in shapes]


def run_both(expression, arrays):
    """The expression on tinynet and on torch leaves, backward with one random gradient; returns
    (ours, theirs) as lists: the output's values, then each input's gradient."""
    ours = [tn.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = expression(tn, tn.Tensor, *ours)
    expected = expression(torch, torch.as_tensor, *theirs)
    g = np.random.default_rng(2).standard_normal(expected.shape)
    out.backward(g.astype(out.dtype))
    expected.backward(torch.tensor(g, dtype=expected.dtype))
    assert out.dtype == np.dtype(str(expected.dtype).removeprefix("torch."))
    return [out.data] + [x.grad for x in ours], [expected.detach().numpy()] + [x.grad.numpy() for x in theirs]


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    expression, shapes = CASES[name]
    ours, theirs = run_both(expression, inputs(shapes))
    for mine, reference in zip(ours, theirs):
        assert mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [name for name in CASES if name not in NOT_IN_FLOAT64])
def test_gradcheck(name):
    expression, shapes = CASES[name]
    leaves = [tn.Tensor(a, requires_grad=True) for a in inputs(shapes)]
    assert tn.gradcheck(lambda *xs: expression(tn, tn.Tensor, *xs), leaves)


@pytest.mark.parametrize("p", [2, 1, INF, 3, "fro"])
def test_norm_of_a_zero_vector_has_gradient_zero_as_in_torch(p):
    x = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]])
    ours, theirs = run_both(lambda lib, T, x: x.norm(p=p, dim=1), [x])
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    assert np.all(ours[1][0] == 0)


def test_float_and_double_keep_the_graph_and_cast_the_gradient_back():
    x = tn.Tensor(np.array([1.5, -2.0], dtype=np.float32), requires_grad=True)
    assert x.float() is x and x.double().dtype == np.float64
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]
    assert tn.Tensor(np.zeros(2)).float().dtype == np.float32


@pytest.mark.parametrize("conversion", ["long", "int", "bool"])
def test_integer_and_bool_conversions_are_outside_the_graph_as_in_torch(conversion):
    values = np.array([1.7, -1.7, 0.0, 2.0, -0.4])
    ours = getattr(tn.Tensor(values, requires_grad=True), conversion)()
    theirs = getattr(torch.tensor(values, requires_grad=True), conversion)()
    assert not ours.requires_grad and not theirs.requires_grad
    assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
    assert ours.tolist() == theirs.tolist()


def test_tolist_clone_and_numel_as_in_torch():
    values = np.arange(6.0).reshape(2, 3)
    t = tn.Tensor(values)
    assert t.tolist() == torch.tensor(values).tolist() and tn.Tensor(np.float64(2.5)).tolist() == 2.5
    copy = t.clone()
    copy.data[0, 0] = 9.0
    assert t.data[0, 0] == 0.0  # a copy, not a view
    assert t.numel() == torch.tensor(values).numel() == 6


def test_size_is_numpys_count_and_pytorchs_shape():
    size = Size((3, 4))
    assert size == 12 and size * 2 == 24 and isinstance(size, int)  # numpy: x.size
    assert size() == tuple(torch.zeros(3, 4).size()) and size(0) == 3 and size(-1) == torch.zeros(3, 4).size(-1)
    with pytest.raises(IndexError, match=r"size: dim 2 is out of range .* \[-2, 1\]"):
        size(2)


def test_tensor_size_can_be_called_as_in_pytorch():
    x = tn.Tensor(np.zeros((3, 4)))
    assert x.size == 12 and x.size() == (3, 4) and x.size(1) == 4 and x.size(dim=-2) == 3


def test_sort_argsort_and_topk_give_the_indices_torch_gives():
    x = rng.standard_normal((4, 5))
    for descending in (False, True):
        ours = tn.Tensor(x).sort(dim=0, descending=descending)
        theirs = torch.tensor(x).sort(dim=0, descending=descending)
        np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
        assert ours.indices.dtype == np.int64 and isinstance(ours, tuple) and ours[1] is ours.indices
    values, indices = tn.topk(x, 3, dim=1, largest=False)
    np.testing.assert_array_equal(indices.data, torch.topk(torch.tensor(x), 3, dim=1, largest=False).indices.numpy())
    assert values.shape == (4, 3)


def test_argsort_keeps_ties_in_order_and_puts_nan_with_the_largest_as_torch_stable():
    few_values = np.random.default_rng(3).integers(0, 4, (2, 300)).astype(float)  # beyond insertion sort's sizes
    x = np.concatenate([np.array([[2.0, np.nan, 1.0, 2.0, -1.0, 1.0, np.nan] * 10]), few_values[:, :70]])
    for descending in (False, True):
        ours = tn.Tensor(x).argsort(dim=1, descending=descending)
        theirs = torch.argsort(torch.tensor(x), dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(ours.data, theirs.numpy())
        np.testing.assert_array_equal(tn.argsort(x, 1, descending).data, theirs.numpy())


@pytest.mark.parametrize("length", range(8))
@pytest.mark.parametrize("chunks", [1, 2, 3, 5])
def test_chunk_gives_the_pieces_torch_gives(length, chunks):
    ours = tn.Tensor(np.arange(float(length))).chunk(chunks)
    theirs = torch.arange(float(length)).chunk(chunks)
    assert [piece.tolist() for piece in ours] == [piece.tolist() for piece in theirs]


def test_format_of_a_one_element_tensor_is_its_number():
    loss = tn.Tensor(np.float32(0.123456))
    assert f"{loss:.3f}" == f"{torch.tensor(0.123456):.3f}" == "0.123"
    assert f"{tn.Tensor(np.array([[2.5]])):>6.2f}" == "  2.50"
    assert f"{tn.Tensor(np.ones(2))}" == str(tn.Tensor(np.ones(2)))
    with pytest.raises(TypeError, match=r"cannot format a tensor of shape \(2,\) with '.3f'"):
        f"{tn.Tensor(np.ones(2)):.3f}"


def test_rules_recorded_by_create_graph_give_gradients_of_gradients():
    x = tn.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    xt = torch.tensor(x.data, requires_grad=True)
    for lib, leaf in ((tn, x), (torch, xt)):
        y = (leaf.norm(dim=1) ** 2).sum() + (leaf.cumsum(1) ** 2).sum() + (leaf.repeat(2, 1) ** 3).sum()
        (first,) = (tn.grad if lib is tn else torch.autograd.grad)(y, [leaf], create_graph=True)
        (first * first).sum().backward()
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10)


X = tn.Tensor(np.zeros((3, 4)))
BAD_INPUTS = {
    "expand a size that is not 1": (lambda: X.expand(3, 5), ValueError, r"only an axis of size 1 can be stretched"),
    "expand -1 on a new axis": (lambda: X.expand(-1, 3, 4), ValueError, r"-1 \(keep the size\) at axis 0"),
    "expand too few sizes": (lambda: X.expand(4), ValueError, r"1 sizes \(4,\) for a tensor of shape \(3, 4\)"),
    "expand a non-integer": (lambda: X.expand(3, 4.0), TypeError, r"expand: expected integers"),
    "repeat too few sizes": (lambda: X.repeat(2), ValueError, r"repeat: sizes \(2,\) .* each of its 2 axes"),
    "flip an axis twice": (lambda: X.flip(0, -2), ValueError, r"flip: dims \(0, -2\) name an axis more than once"),
    "flip without dims": (lambda: X.flip(), TypeError, r"flip\(\): missing the dims to reverse"),
    "flip out of range": (lambda: X.flip(2), IndexError, r"flip: dim 2 is out of range"),
    "chunk into 0": (lambda: X.chunk(0), ValueError, r"chunk: chunks must be a positive integer, got 0"),
    "cumsum without dim": (lambda: X.cumsum(), TypeError, r"cumsum\(\): missing the axis, axis= \(PyTorch: dim=\)"),
    "softmax without dim": (lambda: X.softmax(), TypeError, r"softmax\(\): missing the axis"),
    "log_softmax without dim": (lambda: X.log_softmax(), TypeError, r"log_softmax\(\): missing the axis"),
    "norm p < 1": (lambda: X.norm(p=0.5), ValueError, r"norm: p must be 'fro', a number >= 1, inf or -inf; got 0.5"),
    "norm nuc": (lambda: X.norm(p="nuc"), ValueError, r"got 'nuc'"),
    "topk k too large": (lambda: X.topk(5), ValueError, r"topk: k=5 is out of range for axis 1 of shape \(3, 4\)"),
    "sort dim out of range": (lambda: X.sort(dim=2), IndexError, r"argsort: dim 2 is out of range"),
    "gather float index": (lambda: X.gather(1, np.zeros((3, 4))), TypeError, r"gather: index must hold integers"),
    "gather negative index": (
        lambda: X.gather(1, -np.ones((3, 4), dtype=np.int64)),
        IndexError,
        r"gather: index holds -1..-1, out of range for axis 1 of size 4",
    ),
    "gather index too long": (
        lambda: X.gather(1, np.zeros((4, 4), dtype=np.int64)),
        ValueError,
        r"gather: index of shape \(4, 4\) for a tensor of shape \(3, 4\)",
    ),
    "gather index of fewer axes": (lambda: X.gather(1, np.zeros(3, dtype=np.int64)), ValueError, r"as many axes"),
    "scatter src of another dtype": (
        lambda: X.scatter(1, DISTINCT, np.zeros((3, 2), dtype=np.float32)),
        TypeError,
        r"scatter: src has dtype float32, the tensor float64",
    ),
    "scatter_add src too small": (
        lambda: X.scatter_add(0, ROWS, np.zeros((2, 3))),
        ValueError,
        r"scatter_add: src of shape \(2, 3\) is smaller than index of shape \(2, 4\)",
    ),
    "masked_fill integer mask": (
        lambda: X.masked_fill(MASK.astype(int), 0.0),
        TypeError,
        r"masked_fill: the mask must be boolean",
    ),
    "masked_fill mask too big": (
        lambda: X.masked_fill(np.zeros((2, 3, 4), dtype=bool), 0.0),
        ValueError,
        r"a mask of shape \(2, 3, 4\) does not broadcast to the tensor's shape \(3, 4\)",
    ),
    "masked_fill tensor value": (
        lambda: X.masked_fill(MASK, tn.Tensor(np.zeros(2))),
        ValueError,
        r"value must be a number or a 0-dim tensor",
    ),
    "tril of a vector": (lambda: tn.tril(np.zeros(3)), ValueError, r"tril: needs matrices \(at least 2 axes\)"),
    "astype to a string": (lambda: X.astype(str), TypeError, r"astype: a Tensor holds bool, integer or float"),
    "dim and axis both": (lambda: X.cumsum(1, dim=1), TypeError, r"got both axis=1 and dim=1"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gets_a_named_error(case):
    call, error, message = BAD_INPUTS[case]
    with pytest.raises(error, match=message):
        call()


def test_the_functions_are_exported():
    assert {"tril", "triu", "gather", "scatter", "scatter_add", "masked_fill", "cumsum", "flip"} <= set(tn.__all__)
    assert {"sort", "argsort", "topk", "chunk"} <= set(tn.__all__)
