"""A float32 model stays float32 everywhere: forward, backward, gradients, optimizer step."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim

MODELS = {
    "mlp": (
        lambda: nn.Sequential(
            nn.Linear(12, 16), nn.ReLU(), nn.Dropout(0.1), nn.BatchNorm1d(16), nn.GELU(), nn.Linear(16, 3)
        ),
        (8, 12),
    ),
    "cnn": (
        lambda: nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.Tanh(),
            nn.MaxPool2d(2),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 3),
        ),
        (8, 1, 8, 8),
    ),
}


@pytest.mark.parametrize("optimizer", [optim.SGDm, optim.Adam, optim.AdamW, optim.RMSProp, optim.Lion])
@pytest.mark.parametrize("name", list(MODELS))
def test_float32_model_stays_float32(name, optimizer):
    make, shape = MODELS[name]
    tn.manual_seed(0)
    model = make()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    logits = model(x)
    loss = F.cross_entropy(logits, np.array([0, 1, 2, 0, 1, 2, 0, 1])) + 0.5 * (logits * logits).mean()
    assert logits.dtype == np.float32 and loss.dtype == np.float32
    model.zero_grad()
    loss.backward()
    assert model.grads.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in model.parameters())
    opt = optimizer(lr=1e-3, weight_decay=1e-4)
    before = model.params.copy()
    opt.step(model.grads, model.params)
    assert model.params.dtype == np.float32 and not np.array_equal(before, model.params)
    assert all(state.dtype == np.float32 for state in opt.state.values() if state.ndim)
    assert all(b.dtype in (np.float32, np.int64) for _, b in model.named_buffers())
