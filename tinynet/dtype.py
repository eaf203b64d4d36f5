"""The default floating-point dtype: what Python numbers, lists and new parameters become."""

from __future__ import annotations

import numpy as np

_default_dtype: np.dtype = np.dtype(np.float32)


def set_default_dtype(dtype) -> None:
    """Set the dtype that Python numbers, lists and new parameters get (float32 at start)."""
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating-point dtype, got {dtype}")
    _default_dtype = dtype


def get_default_dtype() -> np.dtype:
    """The dtype that Python numbers, lists and new parameters get."""
    return _default_dtype
