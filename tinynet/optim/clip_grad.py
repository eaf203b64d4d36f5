"""Gradient clipping on gradient arrays: the flat `model.grads`, or a list of arrays."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def clip_grad_norm(grads: np.ndarray | Sequence[np.ndarray], max_norm: float, norm_type: float = 2.0) -> float:
    """Scale `grads` (one array, or several taken together) in place so that their norm is at
    most `max_norm`; returns the norm before clipping. The norm is the `norm_type`-norm of all
    their values (inf: the largest magnitude). As in PyTorch, the factor is
    min(1, max_norm / (norm + 1e-6))."""
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm: max_norm must be non-negative, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm: norm_type must be positive (or inf), got {norm_type}")
    arrays = [grads] if isinstance(grads, np.ndarray) else list(grads)
    if not arrays:
        return 0.0
    flat = [a.reshape(-1) for a in arrays]
    if norm_type == math.inf:
        norm = max(float(np.abs(a).max(initial=0.0)) for a in flat)
    elif norm_type == 2:
        norm = math.sqrt(sum(float(np.dot(a, a)) for a in flat))
    else:
        norm = sum(float((np.abs(a) ** norm_type).sum()) for a in flat) ** (1 / norm_type)
    factor = max_norm / (norm + 1e-6)
    if factor < 1:
        for a in arrays:
            a *= factor
    return norm
