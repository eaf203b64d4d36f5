"""Extending tinynet: a new layer by composing ops, then the same layer with a hand-written
backward through Function, both checked with gradcheck and trained on a toy problem.

    python examples/custom_layer.py
"""

from __future__ import annotations

import numpy as np

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim


class ComposedSiLU(nn.Module):
    """silu(x) = x · sigmoid(x), composed from existing ops: backward comes for free."""

    def forward(self, x: tn.Tensor) -> tn.Tensor:
        return x * x.sigmoid()


class SiLUFunction(tn.Function):
    """The same op with a hand-written backward:
    silu'(x) = σ(x) + x σ(x) (1 - σ(x)) = σ(x) (1 + x (1 - σ(x)))."""

    @staticmethod
    def forward(ctx, x):
        sigmoid = 0.5 * (1 + np.tanh(0.5 * x))
        ctx.save_for_backward(x, sigmoid)
        return x * sigmoid

    @staticmethod
    def backward(ctx, grad):
        x, sigmoid = ctx.saved
        return grad * sigmoid * (1 + x * (1 - sigmoid))


class FusedSiLU(nn.Module):
    def forward(self, x: tn.Tensor) -> tn.Tensor:
        return SiLUFunction.apply(x)


class Scale(nn.Module):
    """A layer with a parameter: y = x · γ, one learnable γ per feature."""

    def __init__(self, features: int):
        super().__init__()
        self.gamma = nn.Parameter(np.ones(features, dtype=tn.get_default_dtype()))

    def forward(self, x: tn.Tensor) -> tn.Tensor:
        return x * self.gamma


def check_gradients() -> None:
    """gradcheck every new piece in float64."""
    tn.set_default_dtype(np.float64)
    try:
        x = tn.Tensor(np.random.default_rng(0).standard_normal((4, 3)), requires_grad=True)
        scale = Scale(3)
        scale.gamma.data = np.array([0.5, -1.0, 2.0])
        assert tn.gradcheck(lambda x: ComposedSiLU()(x), [x])
        assert tn.gradcheck(lambda x: FusedSiLU()(x), [x])
        assert tn.gradcheck(lambda x, gamma: scale(x), [x, scale.gamma])
    finally:
        tn.set_default_dtype(np.float32)
    print("gradcheck: ComposedSiLU, FusedSiLU and Scale pass")


def train(activation: nn.Module, steps: int = 300) -> float:
    """Fit two interleaved spirals; returns the final training accuracy."""
    rng = np.random.default_rng(0)
    n = 200
    angle = rng.uniform(0, 3 * np.pi, n)
    label = rng.integers(0, 2, n)
    radius = angle / (3 * np.pi)
    x = np.stack([radius * np.cos(angle + np.pi * label), radius * np.sin(angle + np.pi * label)], 1)
    x = (x + rng.normal(0, 0.02, x.shape)).astype(np.float32)
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), activation, nn.Linear(64, 64), Scale(64), activation, nn.Linear(64, 2))
    opt = optim.Adam(lr=0.01)
    for _ in range(steps):
        loss = F.cross_entropy(model(x), label)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
    return float((model(x).data.argmax(1) == label).mean())


if __name__ == "__main__":
    check_gradients()
    for layer in (ComposedSiLU(), FusedSiLU()):
        print(f"{type(layer).__name__:9s} spiral training accuracy: {train(layer):.3f}")
