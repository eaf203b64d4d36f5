"""Faster forms of two numpy calls, used by the engine where they pay.

Each function here computes exactly what its first docstring line names, and a test
(tests/test_fast_paths.py) checks that it agrees with that plain call bit for bit or within an
ulp. Why each is faster, measured: docs/performance.md ("Activations other than ReLU").
"""

from __future__ import annotations

import numpy as np

_INTEGER_OF_SIZE = {1: np.int8, 2: np.int16, 4: np.int32, 8: np.int64}
_SMALL = 1024  # below this many elements numpy's own where is the quicker


def select(condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """np.where(condition, x, y), bit for bit, computed with bit masks instead of a branch per
    element (which mispredicts on a condition that changes at random, such as an activation's sign)."""
    dtype = np.result_type(x, y)
    bits = _INTEGER_OF_SIZE.get(dtype.itemsize)
    small = max(np.size(condition), np.size(x), np.size(y)) < _SMALL
    if small or bits is None or dtype.kind not in "fiub":  # or no integer of its size: numpy's where
        return np.where(condition, x, y)
    condition, x, y = np.broadcast_arrays(np.asarray(condition, bool), np.asarray(x, dtype), np.asarray(y, dtype))
    take_x = condition.astype(bits)
    np.negative(take_x, out=take_x)  # every bit set where the condition holds, none elsewhere
    out = np.bitwise_and(x.view(bits), take_x)
    np.invert(take_x, out=take_x)
    out |= np.bitwise_and(y.view(bits), take_x, out=take_x)
    return out.view(dtype)


def power(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """np.power(x, p), within an ulp and with the same signs: for a whole exponent other than
    -1, 0, 1 and 2 (numpy's fast cases) it raises |x| and puts the sign back (odd p), since
    numpy's pow of a negative base is many times slower than of a positive one."""
    if p.ndim == 0 and x.dtype.kind == "f" and p.dtype.kind in "fiu":
        exponent = float(p)  # as numpy takes it: an integer beyond 2**53 rounds to an even float
        if exponent.is_integer() and exponent not in (-1, 0, 1, 2):
            out = np.power(np.abs(x), p)
            return np.copysign(out, x) if exponent % 2 else out
    return np.power(x, p)
