"""numpy's and PyTorch's names for one argument (axis or dim, keepdims or keepdim, ddof or correction),
in one place."""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable

TORCH_NAMES = {"dim": "axis", "keepdim": "keepdims", "correction": "ddof"}
"""PyTorch's name of an argument -> numpy's, which tinynet's functions are written with."""


def accepts_torch_names(fn: Callable) -> Callable:
    """Let `fn`, written with numpy's argument names, also be called with PyTorch's:
    x.sum(dim=1, keepdim=True) is x.sum(axis=1, keepdims=True). Both names at once is an error."""
    parameters = list(inspect.signature(fn).parameters)
    position = {name: parameters.index(name) for name in TORCH_NAMES.values() if name in parameters}

    @functools.wraps(fn)
    def with_torch_names(*args, **kwargs):
        for torch_name, numpy_name in TORCH_NAMES.items():
            if torch_name in kwargs:
                if numpy_name in kwargs or len(args) > position.get(numpy_name, len(args)):
                    given = kwargs[numpy_name] if numpy_name in kwargs else args[position[numpy_name]]
                    raise TypeError(
                        f"{fn.__name__}(): got both {numpy_name}={given!r} and {torch_name}={kwargs[torch_name]!r}; "
                        "they are numpy's and PyTorch's names for one argument, give one"
                    )
                kwargs[numpy_name] = kwargs.pop(torch_name)
        return fn(*args, **kwargs)

    with_torch_names.accepts_torch_names = True
    return with_torch_names


def normalize_dim(op: str, dim: int, shape: tuple[int, ...], ndim: int | None = None) -> int:
    """`dim` as an index in [0, ndim) (ndim: len(shape) unless given); negative dims count from
    the end, as in PyTorch. Out of range is an IndexError naming the valid range."""
    dim, ndim = operator.index(dim), len(shape) if ndim is None else ndim
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor of shape {shape} (expected a dim in [{-ndim}, {ndim - 1}])"
        )
    return dim % ndim
