"""What numpy functions do with a Tensor: keep the gradient, or say so.

`np.exp(t)`, `np.sum(t)`, `arr * t` go through numpy's dispatch protocols (__array_ufunc__,
__array_function__) to the Tensor's own ops, so the gradient flows as through `t.exp()`. A
numpy function that tinynet has no differentiable form of, given a Tensor that requires a
gradient while gradients are recorded, is a TypeError naming the tinynet call to use, never a
plain array that has silently lost the gradient. Otherwise (no gradient to lose: a comparison,
np.shape, integer results, data that needs none) numpy computes on the data as usual.
"""

from __future__ import annotations

import numpy as np

from tinynet.grad_mode import is_grad_enabled

_UFUNC_METHODS = {  # ufunc -> (Tensor method, reflected method)
    np.add: ("__add__", "__radd__"),
    np.subtract: ("__sub__", "__rsub__"),
    np.multiply: ("__mul__", "__rmul__"),
    np.divide: ("__truediv__", "__rtruediv__"),
    np.power: ("__pow__", "__rpow__"),
    np.matmul: ("__matmul__", "__rmatmul__"),
    np.negative: ("__neg__", None),
    np.absolute: ("abs", None),
    np.exp: ("exp", None),
    np.log: ("log", None),
    np.sqrt: ("sqrt", None),
    np.tanh: ("tanh", None),
}
_FUNCTIONS = {  # numpy function -> the Tensor method that computes the same, with numpy's arguments
    np.sum: "sum",
    np.mean: "mean",
    np.max: "amax",
    np.min: "amin",
    np.reshape: "reshape",
    np.clip: "clip",
    np.squeeze: "squeeze",
}
_TINYNET_CALL = {"cumsum": "t.cumsum(dim)", "sort": "t.sort(dim)", "std": "t.std(ddof=0)", "var": "t.var(ddof=0)",
                 "transpose": "t.permute(axes)", "concatenate": "tn.concatenate", "stack": "tn.stack",
                 "where": "tn.where", "maximum": "tn.maximum", "minimum": "tn.minimum", "dot": "t @ other",
                 "sin": "a composition of Tensor ops", "linalg.norm": "t.norm()"}  # fmt: skip


class NumpyProtocol:
    """numpy's dispatch protocols for Tensor."""

    __array_priority__ = 100  # numpy array (op) Tensor defers to Tensor's reflected operator

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs, **kwargs):
        names = _UFUNC_METHODS.get(ufunc)
        if names is not None and method == "__call__" and not kwargs:
            if len(inputs) == 1:
                return getattr(inputs[0], names[0])()
            first, second = inputs
            return getattr(first, names[0])(second) if first is self else getattr(second, names[1])(first)
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        return _on_the_data(name, lambda *args, **options: getattr(ufunc, method)(*args, **options), inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        method = _FUNCTIONS.get(func)
        if method is not None and args and args[0] is self:
            return getattr(self, method)(*args[1:], **kwargs)
        from tinynet.tensor import concatenate, stack, where

        if func in (np.concatenate, np.stack) and not kwargs.keys() - {"axis"}:
            return (concatenate if func is np.concatenate else stack)(*args, **kwargs)
        if func is np.where and len(args) == 3:
            return where(*args)
        return _on_the_data(func.__name__, func, args, kwargs)


def _on_the_data(name: str, func, args, kwargs):
    """func on the data of the Tensors among args; a TypeError if that would drop a gradient."""
    tensors = []
    unwrapped = [_unwrap(a, tensors) for a in args]
    options = {k: _unwrap(v, tensors) for k, v in kwargs.items()}
    result = func(*unwrapped, **options)
    if is_grad_enabled() and any(t.requires_grad for t in tensors) and _holds_floats(result):
        call = _TINYNET_CALL.get(name, "a Tensor method or a composition of Tensor ops")
        raise TypeError(
            f"np.{name} of a Tensor that requires a gradient would return a plain array and drop the gradient; "
            f"use {call} (or np.{name}(t.data) to drop it knowingly)"
        )
    return result


def _unwrap(value, tensors: list):
    if hasattr(value, "_backward") and hasattr(value, "data"):
        tensors.append(value)
        return value.data
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, tensors) for v in value)
    return value


def _holds_floats(result) -> bool:
    if isinstance(result, (list, tuple)):
        return any(_holds_floats(r) for r in result)
    return isinstance(result, (np.ndarray, np.floating)) and np.asarray(result).dtype.kind in "fc"
