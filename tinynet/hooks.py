"""RemovableHandle: what registering a hook returns, so the hook can be taken off again."""

from __future__ import annotations

import itertools
import reprlib
from collections.abc import Callable


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
