"""Grad mode: whether operations record the graph that backward() walks.

Each thread has its own mode, as in PyTorch: a thread serving predictions under `no_grad()`
never turns off the gradients of a thread that trains.
"""

from __future__ import annotations

import functools
import inspect
import threading


class _ThreadMode(threading.local):
    enabled = True  # each thread starts recording


_local = _ThreadMode()


def is_grad_enabled() -> bool:
    """False inside `with no_grad():` (in this thread), where operations record no graph."""
    return _local.enabled



def _set_enabled(enabled: bool) -> None:
    _local.enabled = enabled


class set_grad_enabled:
    """Turn recording on or off for this thread: as a function call, from now on; as a context
    manager or decorator, inside the block (then the previous mode comes back), as in PyTorch."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r}")
        self.mode = mode
        self._previous: list[bool] = []
        self._previous_at_call = is_grad_enabled()
        _set_enabled(mode)

    def __enter__(self) -> None:
        self._previous.append(self._previous_at_call)
        _set_enabled(self.mode)

    def __exit__(self, *exc) -> None:
        _set_enabled(self._previous.pop())

    def __call__(self, fn):
        """Decorate `fn` (a generator function too: the mode then holds inside the generator)."""
        _set_enabled(self._previous_at_call)  # as a decorator, making the object must change nothing
        mode = self.mode

        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args, **kwargs):
                inner = fn(*args, **kwargs)
                to_send = None
                while True:
                    with _Mode(mode):
                        try:
                            item = inner.send(to_send)
                        except StopIteration as stop:
                            return stop.value
                    to_send = yield item

            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _Mode(mode):
                return fn(*args, **kwargs)

        return wrapper


class _Mode(set_grad_enabled):
    """A grad mode that takes effect only inside its `with` block (no_grad, enable_grad)."""

    def __init__(self, mode: bool) -> None:
        self.mode = mode
        self._previous = []
        self._previous_at_call = is_grad_enabled()


class no_grad(_Mode):
    """Context manager (and decorator) under which operations record no graph, in this thread.

    >>> with no_grad():
    ...     y = model(x)        # y.requires_grad is False, nothing is kept for backward
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_Mode):
    """Context manager (and decorator) that turns recording back on inside a `no_grad` block."""

    def __init__(self) -> None:
        super().__init__(True)


class inference_mode(_Mode):
    """PyTorch's inference_mode(mode=True): in tinynet the same as `no_grad()` (mode=False: no change)."""

    def __init__(self, mode: bool = True) -> None:
        super().__init__(not mode and is_grad_enabled())
