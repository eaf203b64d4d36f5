"""PyTorch code on tinynet gives PyTorch's answer or a clear error, never a silently different one.

Each idiom is one line of PyTorch code, run as it is twice: with `T` the torch module and `x`,
`y` torch tensors, then with `T` tinynet and `x`, `y` tinynet Tensors holding the same float64
numbers. The values must agree, and so must the gradients of x and y when the result carries
one. `python tests/test_pytorch_idioms.py` prints how many work, give a clear error, are
missing, or differ.
"""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as tn_F

RNG = np.random.default_rng(0)
X, Y = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
LABELS = np.array([0, 3, 1])
INDEX = np.array([[0, 1], [2, 3], [1, 1]])

IDIOMS = [
    # arithmetic and elementwise
    "x + y", "x - 2 * y", "x * y / (y.abs() + 1)", "x ** 2", "2 ** x", "-x", "x @ y.T", "abs(x)",
    "x.exp()", "(x * x + 1).log()", "(x * x + 1).sqrt()", "x.tanh()", "x.sigmoid()", "x.relu()",
    "x.clamp(-0.5, 0.5)", "x.clamp(min=0)", "T.maximum(x, y)", "T.minimum(x, y)", "T.where(x > 0, x, y)",
    # reductions
    "x.sum()", "x.sum(dim=1)", "x.sum(1, keepdim=True)", "x.mean()", "x.mean(dim=0)", "x.max()", "x.min()",
    "x.max(dim=1).values", "x.max(dim=1).indices", "x.max(1)[0]", "x.min(dim=0).values",
    "x.max(dim=1, keepdim=True)[0]",
    "x.amax(dim=1)", "x.amin(dim=0)", "x.argmax()", "x.argmax(dim=1)", "x.std()", "x.var()", "x.std(dim=1)",
    "x.var(dim=0, keepdim=True)", "x.var(correction=0)", "x.logsumexp(dim=1)", "x.norm()", "x.cumsum(dim=1)",
    # shapes and indexing
    "x.reshape(4, 3)", "x.view(4, 3)", "x.view(-1)", "x.flatten()", "x.transpose(0, 1)", "x.permute(1, 0)", "x.T",
    "x.unsqueeze(0)", "x.unsqueeze(-1)", "x.unsqueeze(1).squeeze(1)", "x[0]", "x[:, 1]", "x[1:, ::2]", "x[[0, 2]]",
    "x[x > 0]", "x[None]", "x.split(2, dim=1)[1]", "x.chunk(2, dim=1)[0]", "T.cat([x, y], dim=0)",
    "T.stack([x, y], dim=1)", "x.expand(2, 3, 4)", "x.repeat(2, 1)", "x.flip(0)", "x.clone()", "x.detach()",
    "x.tril()", "x.triu(1)", "x.masked_fill(x > 0, 0.0)", "x.gather(1, T.tensor(INDEX))", "x.sort(dim=1).values",
    "x.sort(dim=1).indices", "x.argsort(dim=1)", "x.topk(2).values", "x.topk(2, dim=0).indices",
    # what a tensor is
    "x.shape", "x.size()", "x.size(1)", "len(x)", "x.sum().item()", "float(x.sum())", "x.tolist()",
    "f'{x.sum():.3f}'", "bool(x.sum() > 0)", "x.float()", "x.double()", "x.long()", "x.bool()", "x.int()",
    # functional
    "x.softmax(dim=1)", "x.log_softmax(dim=1)", "F.softmax(x, dim=1)", "F.log_softmax(x, dim=0)", "F.relu(x)",
    "F.gelu(x)", "F.gelu(x, approximate='tanh')", "F.silu(x)", "F.elu(x)", "F.leaky_relu(x, 0.1)", "F.mse_loss(x, y)",
    "F.l1_loss(x, y)", "F.huber_loss(x, y)", "F.cross_entropy(x, T.tensor(LABELS))",
    "F.nll_loss(F.log_softmax(x, dim=1), T.tensor(LABELS))", "F.binary_cross_entropy_with_logits(x, y.sigmoid())",
    "F.normalize(x, dim=1)", "F.one_hot(T.tensor(LABELS), 4)", "F.pad(x, (1, 2))", "F.dropout(x, 0.0)",
    # in place, where PyTorch allows it
    "x.detach().add_(1)", "x.detach().mul_(2).sub_(y.detach())", "x.detach().clamp_(0, 1)", "x.detach().zero_()",
    "x.detach().fill_(3.0)", "x.detach().copy_(y.detach())",
]  # fmt: skip
NAMED_DIFFERENCES = {  # PyTorch records these in-place ops in the graph; tinynet says it does not
    "x.detach().copy_(y)": "does not record in-place ops",
    "x.detach().add_(y)": "does not record in-place ops",
    "(x * 1).mul_(2)": "does not record\\s+in-place changes",
}


def run(code: str, framework: str):
    """The value of `code`, and the gradients of x and y if it carries one, in one framework."""
    if framework == "torch":
        torch = pytest.importorskip("torch")
        T, F, make = torch, torch.nn.functional, torch.tensor
    else:
        T, F, make = tn, tn_F, tn.Tensor
    x, y = (make(a.copy(), requires_grad=True) for a in (X, Y))
    value = eval(code, {"T": T, "F": F, "x": x, "y": y, "INDEX": INDEX, "LABELS": LABELS})
    grads = None
    if getattr(value, "requires_grad", False) and value.dtype in (getattr(T, "float64", None), np.float64):
        weights = np.random.default_rng(1).standard_normal(tuple(value.shape))
        (value * make(weights)).sum().backward()
        grads = [None if t.grad is None else plain(t.grad) for t in (x, y)]
    return plain(value), grads


def plain(value):
    """A tensor of either framework, or what holds them, as numpy arrays and Python values."""
    if isinstance(value, tuple) and not hasattr(value, "_fields") and all(isinstance(v, int) for v in value):
        return tuple(value)  # a shape (torch.Size is a tuple)
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return value


def agree(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(agree(p, q) for p, q in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        same_kind = a.dtype.kind == b.dtype.kind or {a.dtype.kind, b.dtype.kind} <= {"i", "u"}
        return a.shape == b.shape and same_kind and np.allclose(a, b, rtol=1e-10, atol=1e-12, equal_nan=True)
    return type(a) is type(b) and a == b if not isinstance(a, float) else np.isclose(a, b, rtol=1e-10)


def outcome(code: str) -> str:
    """'works', 'clear error', 'missing' or 'silently different'."""
    expected = run(code, "torch")
    try:
        got = run(code, "tinynet")
    except AttributeError:
        return "missing"
    except (TypeError, ValueError, RuntimeError, IndexError, NotImplementedError):
        return "clear error"
    return "works" if agree(got[0], expected[0]) and agree(got[1], expected[1]) else "silently different"


@pytest.mark.parametrize("code", IDIOMS)
def test_pytorch_idiom_gives_pytorchs_answer(code):
    assert outcome(code) == "works", code


@pytest.mark.parametrize("code", list(NAMED_DIFFERENCES))
def test_where_tinynet_differs_it_says_so(code):
    run(code, "torch")  # PyTorch gives an answer
    with pytest.raises(RuntimeError, match=NAMED_DIFFERENCES[code]):
        run(code, "tinynet")


def test_at_least_sixty_idioms():
    assert len(IDIOMS) >= 60 and len(set(IDIOMS)) == len(IDIOMS)


if __name__ == "__main__":
    from collections import Counter

    outcomes = {code: outcome(code) for code in IDIOMS + list(NAMED_DIFFERENCES)}
    print(Counter(outcomes.values()))
    for code, result in outcomes.items():
        if result != "works":
            print(f"{result:>20}: {code}")
