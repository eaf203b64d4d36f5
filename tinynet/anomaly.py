"""detect_anomaly: stop at the first op that makes a NaN or an Inf, forward or backward.

    with tn.detect_anomaly():
        loss = F.cross_entropy(model(x), y)
        loss.backward()

Inside, every op checks its output as it computes it, and backward() checks every gradient
that an op's backward returns; the first that holds a NaN or an Inf raises a RuntimeError
naming the op and the line of your code that created the op's result (found in the call
stack at creation time, past tinynet's own frames: recorded in this mode only). An Inf that
your model means to make (a -inf mask before a softmax) stops it too.

Outside the mode tinynet checks nothing: the cost is one flag test per op. The mode is one
switch for the whole process, as `no_grad` is; it also works as a decorator,
`@tn.detect_anomaly()`.
"""

from __future__ import annotations

import functools
import os
import sys

import numpy as np

enabled = False  # read by every op (Tensor._make) and by Tensor.backward

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class detect_anomaly:
    """Context manager (and decorator) under which the first op whose output, or whose
    gradient in backward(), holds a NaN or an Inf raises a RuntimeError naming the op and
    where your code created it."""

    def __enter__(self) -> None:
        global enabled
        self._previous = enabled
        enabled = True

    def __exit__(self, *exc) -> None:
        global enabled
        enabled = self._previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def _user_code_line() -> str:
    """file:line of the innermost frame of the call stack outside tinynet."""
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame = frame.f_back
    return "an unknown place" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _non_finite(array: np.ndarray) -> str | None:
    """'NaN', 'Inf' or 'NaN and Inf' with counts, or None when every value is finite."""
    if array.dtype.kind != "f" or np.isfinite(array).all():
        return None
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    found = " and ".join(f"{count} {name}" for name, count in (("NaN", nan), ("Inf", inf)) if count)
    return f"{found} of its {array.size} values"


def check_output(out) -> None:
    """Note where the user's code created `out`, the result of the op `out._op`, and raise if it
    holds a NaN or an Inf."""
    out._created_at = _user_code_line()
    found = _non_finite(out.data)
    if found:
        raise RuntimeError(
            f"detect_anomaly: the output of '{out._op}' (shape {out.shape}) holds {found}; it was created at "
            f"{out._created_at}. Look at that op's inputs: a log or sqrt of 0 or of a negative number, a "
            "division by 0, an exp that overflows, or values that grew too large (a smaller learning rate)"
        )


def check_gradients(node, input_grads) -> None:
    """In anomaly mode, raise if a gradient that the backward of `node`'s op returned holds a NaN or an Inf."""
    if not enabled:
        return
    for i, grad in enumerate(input_grads):
        found = None if grad is None else _non_finite(np.asarray(grad))
        if found:
            created = getattr(node, "_created_at", None)
            where = f"created at {created}" if created else "created before detect_anomaly was on, so where is unknown"
            raise RuntimeError(
                f"detect_anomaly: the backward of '{node._op}' ({where}) returned a gradient for its input {i} "
                f"(shape {np.shape(grad)}) that holds {found}. Look at where that op's gradient divides or grows: "
                "a log, sqrt or division near 0, or a gradient that was already huge"
            )
