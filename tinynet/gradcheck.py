"""gradcheck: compare backward() with central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinynet.tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check the gradients of `fn(*inputs)` with respect to every input that requires one.

    The output y may have any shape: it is reduced to the scalar L = sum(v * y) with a fixed
    random v, and for each input element x_i the analytic dL/dx_i from `backward()` must match

        (L(x_i + eps) - L(x_i - eps)) / (2 eps)     within   atol + rtol * |numeric|.

    Inputs must be float64 Tensors (float32 rounding swamps a finite difference). Returns True,
    or raises GradcheckError naming the input, the worst element and both values.
    """
    checked = [(i, x) for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires a gradient; pass Tensors with requires_grad=True")
    for i, x in checked:
        if x.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} has dtype {x.dtype}; finite differences need float64 inputs")

    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def loss() -> float:
        return float(np.sum(weights * fn(*inputs).data))

    for _, x in checked:
        if x.grad is not None:
            x.grad[...] = 0
    out.backward(weights.astype(out.dtype))

    for i, x in checked:
        analytic = np.zeros(x.shape) if x.grad is None else np.array(x.grad, dtype=np.float64)
        numeric = np.empty(x.shape)
        flat = x.data.reshape(-1)  # a view: perturbing it perturbs the input
        for k in range(flat.size):
            original = flat[k]
            flat[k] = original + eps
            plus = loss()
            flat[k] = original - eps
            minus = loss()
            flat[k] = original
            numeric.flat[k] = (plus - minus) / (2 * eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(error > 0):
            worst = np.unravel_index(np.argmax(error), x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}): gradient mismatch at index {tuple(int(w) for w in worst)}: "
                f"backward gives {analytic[worst]:.10g}, finite differences give {numeric[worst]:.10g} "
                f"({int(np.sum(error > 0))} of {x.size} elements outside atol={atol}, rtol={rtol})"
            )
    return True
