"""Toy data sets in the plane: two moons, two circles, spiral arms. Small enough to train on in
a second and to draw, they show what a classifier's decision regions look like.

Every function returns (X, y): X float32 of shape (n_samples, 2), y int64 class labels, in a
shuffled order. The classes are balanced: each gets n_samples // n_classes points, and the
first n_samples % n_classes classes one more. Points lie at random places along their curve,
then Gaussian noise of standard deviation `noise` moves each coordinate; with noise=0 they lie
exactly on the curve. A `seed` gives the same data every time and leaves tinynet's generator
alone; without one the data is drawn from tinynet's generator (see `tn.manual_seed`), as the
DataLoader draws its order. Same seed, other noise: the same points, moved by the noise.
"""

from __future__ import annotations

import math

import numpy as np

from tinynet.nn.module import check_size
from tinynet.random import default_generator


def make_moons(n_samples: int = 200, noise: float = 0.0, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles of radius 1, as scikit-learn's make_moons: class 0 on the
    upper one, (cos t, sin t) for t in [0, π], class 1 on the lower one, (1 - cos t, 0.5 - sin t),
    which reaches into the first's opening. Returns (X, y), see the module's docstring."""
    labels, angle, rng = _start("make_moons", n_samples, 2, noise, seed)
    angle = angle * math.pi
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    return _finish(np.where(labels[:, None] == 0, upper, lower), labels, noise, rng)


def make_circles(
    n_samples: int = 200, noise: float = 0.0, factor: float = 0.5, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Two circles around the origin, as scikit-learn's make_circles: class 0 on the outer one,
    of radius 1, class 1 on the inner one, of radius `factor` (0 < factor < 1). Returns (X, y),
    see the module's docstring."""
    factor = _check_number("make_circles", "factor", factor)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor (the inner radius over the outer) must be in (0, 1), got {factor}")
    labels, angle, rng = _start("make_circles", n_samples, 2, noise, seed)
    angle = angle * 2 * math.pi
    radius = np.where(labels == 0, 1.0, factor)
    return _finish(radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), labels, noise, rng)


def make_spirals(
    n_samples: int = 300, n_classes: int = 3, noise: float = 0.0, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """`n_classes` spiral arms winding out of the origin, one per class, each turned by 1/n_classes
    of a circle from the last: the point at t in [0, 1] of arm k has radius t and angle
    2π (k / n_classes + t), so each arm makes one full turn out to radius 1. Returns (X, y),
    see the module's docstring."""
    n_classes = check_size("make_spirals", "n_classes", n_classes)
    if n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be at least 2, got {n_classes}")
    labels, t, rng = _start("make_spirals", n_samples, n_classes, noise, seed)
    angle = 2 * math.pi * (labels / n_classes + t)
    return _finish(t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), labels, noise, rng)


def _start(
    function: str, n_samples: int, n_classes: int, noise: float, seed: int | None
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Check the common arguments; return the shuffled balanced labels, a uniform position in
    [0, 1) along the curve for each point, and the generator that drew them."""
    n_samples = check_size(function, "n_samples", n_samples)
    if n_samples < n_classes:
        raise ValueError(f"{function}: n_samples must be at least the number of classes, {n_classes}, got {n_samples}")
    if _check_number(function, "noise", noise) < 0:
        raise ValueError(f"{function}: noise (a standard deviation) must be at least 0, got {noise}")
    if seed is None:
        seed = int(default_generator().integers(2**63))
    rng = np.random.default_rng(check_size(function, "seed", seed))
    labels = rng.permutation(np.arange(n_samples) % n_classes)
    return labels, rng.uniform(0.0, 1.0, n_samples), rng


def _finish(points: np.ndarray, labels: np.ndarray, noise: float, rng: np.random.Generator):
    """(X, y): the points moved by the noise, as float32, and the labels as int64."""
    return (points + rng.normal(0.0, noise, points.shape)).astype(np.float32), labels.astype(np.int64)


def _check_number(function: str, name: str, value) -> float:
    """`value` as a float after checking that it is a finite real number (not a bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{function}: {name} must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{function}: {name} must be a finite number, got {value}")
    return float(value)
