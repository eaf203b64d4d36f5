"""Every op keeps the contract of a new op (docs/extending.md, "A new op"), and check_op names
what a new op forgot."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet.op_check import OpContractError, check_op

rng = np.random.default_rng(0)
A, B = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
POSITIVE = rng.uniform(0.5, 2.0, (3, 4))
ROW = rng.standard_normal(4)
MATRIX = rng.standard_normal((4, 2))
PROBABILITIES = rng.uniform(0.05, 0.95, (3, 4))
LABELS = np.array([0, 3, 1])
CONDITION = rng.random((3, 4)) > 0.5
DISTINCT = np.array([[3, 0], [1, 2], [0, 3]])  # positions along axis 1 of A, none repeated
ROWS = np.array([[2, 0, 1, 2], [0, 1, 0, 0]])  # positions along axis 0 of A, some repeated

BUILT_IN = {
    "add": (lambda a, b: a + b, A, ROW),
    "sub": (lambda a, b: a - b, A, ROW),
    "mul": (lambda a, b: a * b, A, ROW),
    "div": (lambda a, b: a / b, A, POSITIVE),
    "pow": (lambda a, p: a**p, POSITIVE, np.array(1.5)),
    "neg": (lambda a: -a, A),
    "matmul": (lambda a, b: a @ b, A, MATRIX),
    "exp": (lambda a: a.exp(), A),
    "log": (lambda a: a.log(), POSITIVE),
    "sqrt": (lambda a: a.sqrt(), POSITIVE),
    "abs": (lambda a: a.abs(), A),
    "tanh": (lambda a: a.tanh(), A),
    "sigmoid": (lambda a: a.sigmoid(), A),
    "relu": (lambda a: a.relu(), A),
    "clip": (lambda a: a.clip(-0.5, 0.5), A),
    "sum": (lambda a: a.sum(axis=1), A),
    "mean": (lambda a: a.mean(axis=0), A),
    "max": (lambda a: a.amax(axis=1), A),
    "min": (lambda a: a.amin(axis=0), A),
    "std": (lambda a: a.std(axis=1), A),
    "logsumexp": (lambda a: a.logsumexp(axis=1), A),
    "reshape": (lambda a: a.reshape(4, 3), A),
    "broadcast_to": (lambda a: a.broadcast_to((3, 4)), ROW),
    "transpose": (lambda a: a.transpose(1, 0), A),
    "index": (lambda a: a[[0, 2, 0]], A),
    "concatenate": (lambda a, b: tn.concatenate([a, b], axis=1), A, B),
    "stack": (lambda a, b: tn.stack([a, b]), A, B),
    "where": (lambda a, b: tn.where(CONDITION, a, b), A, B),
    "maximum": (lambda a, b: tn.maximum(a, b), A, B),
    "minimum": (lambda a, b: tn.minimum(a, b), A, B),
    "clone": (lambda a: a.clone(), A),
    "astype": (lambda a: a.astype(np.longdouble), A),  # float64 -> a wider float: finite differences stay exact
    "repeat": (lambda a: a.repeat(2, 1, 3), A),
    "cumsum": (lambda a: a.cumsum(dim=1), A),
    "norm": (lambda a: a.norm(dim=1), A),
    "norm p=3": (lambda a: a.norm(p=3), A),
    "scatter_write": (lambda a, src: a.scatter(1, DISTINCT, src), A, rng.standard_normal((3, 2))),
    "scatter_add": (lambda a, src: a.scatter_add(0, ROWS, src), A, rng.standard_normal((2, 4))),
    # PyTorch's methods made of the ops above (their result is index, reshape, broadcast_to or where)
    "view": (lambda a: a.view(2, 6), A),
    "expand": (lambda a: a.expand(2, 4), ROW[None]),
    "flip": (lambda a: a.flip(0, 1), A),
    "chunk": (lambda a: a.chunk(2, dim=1)[1], A),
    "sort": (lambda a: a.sort(dim=1).values, A),
    "topk": (lambda a: a.topk(2, dim=0).values, A),
    "gather": (lambda a: a.gather(1, ROWS.T[:3]), A),
    "masked_fill": (lambda a: a.masked_fill(CONDITION, 0.5), A),
    "tril": (lambda a: a.tril(), A),
    "triu": (lambda a: a.triu(1), A),
    "Linear": (lambda x, w, b: F.linear(x, w, b), A, rng.standard_normal((2, 4)), rng.standard_normal(2)),
    "GELU": (lambda x: F.gelu(x, approximate="tanh"), A),
    "LayerNorm": (lambda x, w, b: F.layer_norm(x, 4, w, b), A, ROW, rng.standard_normal(4)),
    "LayerNorm without affine": (lambda x: F.layer_norm(x.reshape(3, 2, 2), (2, 2)), A),
    "CrossEntropy": (lambda z: F.cross_entropy(z, LABELS), A),
    "BinaryCrossEntropyWithLogits": (lambda x, t: F.binary_cross_entropy_with_logits(x, t), A, PROBABILITIES),
    "BinaryCrossEntropy": (lambda x, t: F.binary_cross_entropy(x, t), PROBABILITIES, PROBABILITIES[::-1].copy()),
    "ScaledDotProductAttention": (
        lambda q, k, v, mask: F.scaled_dot_product_attention(q, k, v, attn_mask=mask),
        A,
        B,
        A[:, :2],
        rng.standard_normal((3, 3)),
    ),
}
ARRAYS_ONLY = {  # ops whose rule is written on numpy arrays: no gradients of gradients
    "Embedding": (lambda w: F.embedding(np.array([[0, 2], [2, 1]]), w), rng.standard_normal((3, 4))),
    "Conv2d": (
        lambda x, w: F.conv2d(x, w, padding=1),
        rng.standard_normal((1, 2, 4, 4)),
        rng.standard_normal((3, 2, 3, 3)),
    ),
    "Conv2d with bias": (
        lambda x, w, b: F.conv2d(x, w, b),
        rng.standard_normal((1, 2, 4, 4)),
        rng.standard_normal((3, 2, 3, 3)),
        rng.standard_normal(3),
    ),
    "MaxPool2d": (lambda x: F.max_pool2d(x, 2), rng.standard_normal((1, 2, 4, 4))),
}


@pytest.mark.parametrize("op", list(BUILT_IN))
def test_every_built_in_op_keeps_the_contract(op):
    fn, *inputs = BUILT_IN[op]
    check_op(fn, *inputs)


@pytest.mark.parametrize("op", list(ARRAYS_ONLY))
def test_functions_on_arrays_keep_the_rest_of_the_contract(op):
    fn, *inputs = ARRAYS_ONLY[op]
    check_op(fn, *inputs, twice_differentiable=False)


def cube_forgetting_saved_and_its_rule_entry(x):
    def backward(g, x, out):
        return (3 * x * x * g,)

    return tn.Tensor._make(x.data**3, (x,), backward, "cube")  # no saved=(x.data,), no BACKWARD_RULES entry


def test_check_op_names_what_a_new_op_forgot():
    with pytest.raises(OpContractError) as caught:
        check_op(cube_forgetting_saved_and_its_rule_entry, A)
    message = str(caught.value)
    assert "op cube forgot" in message
    assert "an entry in tn.viz.BACKWARD_RULES for 'cube'" in message
    assert "saved=: its rule reads input 0" in message


def test_check_op_names_a_wrong_rule_and_one_on_arrays_only():
    def wrong_square(x):
        square = x.data * x.data
        return tn.Tensor._make(square, (x,), lambda g, x, out: (np.cos(x.copy()) * g,), "reshape", (x.data,))

    with pytest.raises(OpContractError) as caught:
        check_op(wrong_square, A)
    assert "a correct rule" in str(caught.value)
    assert "operations that arrays and Tensors share" in str(caught.value)  # a Tensor has no copy (its name is clone)


def test_check_op_asks_for_a_recorded_rule():
    with pytest.raises(OpContractError, match="records no rule"):
        check_op(lambda x: tn.Tensor(x.data * 2), A)
