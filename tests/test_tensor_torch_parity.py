"""The same random expressions in tinynet and torch (float64): values and gradients to 1e-10."""

import numpy as np
import pytest
from torch_parity import assert_expression_matches_torch

import tinynet as tn

torch = pytest.importorskip("torch")

# Each expression is written once and run with either library: `L` gives the few names that differ.
TINYNET = {"max": lambda x, axis: x.amax(axis=axis), "cat": tn.concatenate, "stack": tn.stack, "where": tn.where}
TORCH = {
    "max": lambda x, axis: torch.amax(x, dim=axis),
    "cat": lambda xs, axis: torch.cat(xs, dim=axis),
    "stack": lambda xs, axis: torch.stack(xs, dim=axis),
    "where": lambda c, x, y: torch.where(torch.as_tensor(c), x, y),
}

EXPRESSIONS = {
    "arithmetic": lambda a, b, c, L: ((a * b + c) / (b * b + 1) - a**2).sum(),
    "broadcast": lambda a, b, c, L: (a[:, :1] * b[:1, :] + c.sum(0) ** 3).mean(),
    "matmul": lambda a, b, c, L: ((a @ b.T).tanh() @ c).sigmoid().sum(),
    "unary": lambda a, b, c, L: ((a.exp() + 1).log() * (b * b + 1).sqrt() + (c - 0.1).abs()).sum(),
    "relu_max": lambda a, b, c, L: (L["max"]((a @ b.T).relu(), 1) + L["max"](c, 0).sum()).sum(),
    "shapes": lambda a, b, c, L: (a.reshape(4, 3).T @ b.reshape(3, 4).transpose(1, 0)).sum() * c.flatten(0)[2],
    "indexing": lambda a, b, c, L: (a[np.array([0, 2, 2, 1])] * b[1:3].sum() + c[c.detach().numpy() > 0].sum()).sum(),
    "join": lambda a, b, c, L: (L["cat"]([a, b], 0) * L["stack"]([c, c], 0).sum(0).sum(0)).sum(),
    "where": lambda a, b, c, L: L["where"](a.detach().numpy() > 0, a * b, c.exp()).sum(),
    "reuse": lambda a, b, c, L: ((a * a) * (a + b) * (a - c) / (a * a + 1)).sum(),
}


@pytest.mark.parametrize("name", list(EXPRESSIONS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expression_matches_torch(name, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((3, 4)) for _ in range(3)]
    assert_expression_matches_torch(EXPRESSIONS[name], arrays, TINYNET, TORCH)
