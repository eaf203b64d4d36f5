"""tinynet's random number generator, used by initializers, dropout and the data loader."""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator that initializers and dropout use by default; returns it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator used where no `generator=` is passed."""
    return _generator
