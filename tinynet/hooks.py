"""Hooks: what registering one returns (RemovableHandle), and running tensor hooks and observers in backward()."""

from __future__ import annotations

import itertools
import reprlib
from collections.abc import Callable

import numpy as np


class RemovableHandle:
    """What `Tensor.register_hook`, `Module.register_forward_hook` and
    `Module.register_forward_pre_hook` return, as PyTorch's torch.utils.hooks.RemovableHandle:
    `handle.remove()` takes the hook off. Hooks run in the order they were registered."""

    _ids = itertools.count()  # each hook's key: unique, so the same function may be registered twice

    def __init__(self, hooks: dict[int, Callable], hook: Callable, signature: str) -> None:
        if not callable(hook):
            raise TypeError(f"a hook must be a function {signature}, got {reprlib.repr(hook)}")
        self.id = next(RemovableHandle._ids)
        self._hooks = hooks
        hooks[self.id] = hook

    def remove(self) -> None:
        """Take the hook off; removing it again does nothing."""
        self._hooks.pop(self.id, None)


def run_tensor_hooks(tensor, grad):
    """The gradient of `tensor` after its hooks (`Tensor.register_hook`), in the order they were
    registered; a hook that returns something other than None replaces the gradient with it."""
    if not tensor._hooks:
        return grad
    for hook in list(tensor._hooks.values()):
        replaced = hook(grad)
        if replaced is not None:
            grad = _checked_replacement(tensor, grad, replaced)
    return grad


def _checked_replacement(tensor, grad, replaced):
    from tinynet.tensor import Tensor

    if isinstance(grad, Tensor) and not isinstance(replaced, Tensor):
        raise TypeError(
            f"a hook of a tensor of shape {tensor.shape} returned a {type(replaced).__name__} in a backward pass "
            "with create_graph=True, which records the gradients as Tensors: return a Tensor made with "
            "Tensor operations (g * 10, g.clip(-1, 1)), or the gradients of gradients would be cut there"
        )
    if not isinstance(grad, Tensor):
        replaced = np.asarray(replaced.data if isinstance(replaced, Tensor) else replaced, dtype=tensor.dtype)
    if replaced.shape != tensor.shape:
        raise ValueError(f"a hook of a tensor of shape {tensor.shape} returned a gradient of shape {replaced.shape}")
    return replaced


backward_observers: list[Callable] = []
"""Callbacks that backward() calls after each op's rule with (the op's result tensor, the
gradient that arrived, the gradients it sent to its inputs): tinynet.viz.trace_backward's."""


def notify_backward_observers(node, grad, input_grads) -> None:
    """Tell each of `backward_observers` what `node`'s rule received and sent."""
    for observe in backward_observers:
        observe(node, grad, input_grads)
