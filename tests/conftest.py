import tracemalloc

import numpy as np
import pytest

import tinynet as tn


@pytest.fixture
def float64():
    """Run a test with float64 as the default dtype (for gradchecks of layers)."""
    previous = tn.get_default_dtype()
    tn.set_default_dtype(np.float64)
    yield
    tn.set_default_dtype(previous)


@pytest.fixture
def peak_memory():
    """A function: the most memory, in bytes, that Python and numpy held at once while call() ran."""

    def measure(call) -> int:
        tracemalloc.start()
        try:
            call()
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return peak

    return measure


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def leaf(rng, *shape, positive=False):
    """A float64 leaf tensor with random entries (kept away from 0 when `positive`)."""
    data = rng.uniform(0.5, 2.0, shape) if positive else rng.standard_normal(shape)
    return tn.Tensor(data, requires_grad=True)
