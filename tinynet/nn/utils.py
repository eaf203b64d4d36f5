"""nn.utils: gradient clipping on `model.parameters()`, as PyTorch's.

    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step(model.grads, model.params)

Each parameter's `.grad` is a view into `model.grads`, so clipping them in place clips the
flat array the optimizer steps with.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tinynet.optim.clip_grad import clip_grad_norm
from tinynet.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _gradients(op: str, parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The `.grad` arrays of the parameters that have one (a recorded gradient, after
    create_graph=True, is replaced by its array first)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    arrays = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Parameters or Tensors (model.parameters()), got {type(p).__name__}")
        if isinstance(p.grad, Tensor):
            p.grad = np.array(p.grad.data)
        if p.grad is not None:
            arrays.append(p.grad)
    return arrays


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Scale the gradients of `parameters` in place so that their total norm (the `norm_type`
    norm of all their values together) is at most `max_norm`; returns the total norm before
    clipping, as a 0-d Tensor, as PyTorch does. Parameters without a gradient are skipped."""
    grads = _gradients("clip_grad_norm_", parameters)
    norm = clip_grad_norm(grads, max_norm, norm_type)
    return Tensor(np.array(norm, dtype=grads[0].dtype if grads else np.float32))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient value of `parameters` into [-clip_value, clip_value], in place."""
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for grad in _gradients("clip_grad_value_", parameters):
        np.clip(grad, -clip_value, clip_value, out=grad)
