"""Gradient clipping on the flat gradient array."""

from __future__ import annotations

import math

import numpy as np


def clip_grad_norm(grads: np.ndarray, max_norm: float) -> float:
    """Scale `grads` in place so that its L2 norm is at most `max_norm`; returns the norm
    before clipping. As in PyTorch, the factor is min(1, max_norm / (norm + 1e-6))."""
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm: max_norm must be non-negative, got {max_norm}")
    norm = math.sqrt(float(np.dot(grads.reshape(-1), grads.reshape(-1))))
    factor = max_norm / (norm + 1e-6)
    if factor < 1:
        grads *= factor
    return norm
