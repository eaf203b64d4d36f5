"""The default floating-point dtype, and the grad-mode switch (`no_grad`)."""

from __future__ import annotations

import numpy as np

_default_dtype: np.dtype = np.dtype(np.float32)
_grad_enabled: bool = True


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


def is_grad_enabled() -> bool:
    """False inside `with no_grad():`, where operations record no graph."""
    return _grad_enabled


class no_grad:
    """Context manager (and decorator) under which operations record no graph.

    >>> with no_grad():
    ...     y = model(x)        # y.requires_grad is False, nothing is kept for backward
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with no_grad():
                return fn(*args, **kwargs)

        wrapper.__name__ = fn.__name__
        wrapper.__doc__ = fn.__doc__
        return wrapper
