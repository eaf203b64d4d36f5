"""In-place operators and methods, with PyTorch's rules: `p -= lr * p.grad`, `x.mul_(2)`, `w.zero_()`.

They change `.data` itself, so a Parameter stays the same object and keeps writing into the
model's flat `model.params`. While gradients are recorded, a leaf that requires a gradient (a
parameter, or a tensor made with requires_grad=True) refuses them, as in PyTorch: do it under
`with tn.no_grad():`. A result of an op in a recorded graph refuses them too: tinynet does not
record in-place changes (PyTorch does), and cannot tell whether a backward still needs the old
value; write `y = y + 1` instead. A leaf whose old value a recorded backward reads is caught by
that backward (tinynet/graph_safety.py), as PyTorch's version counter catches it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinynet.grad_mode import is_grad_enabled


class InPlaceMethods:
    """The in-place methods of Tensor: +=, -=, *=, /=, add_, sub_, mul_, div_, zero_, fill_, copy_, clamp_."""

    def _in_place(self, name: str, update: Callable[[np.ndarray], None]):
        """Apply `update` to the data in place, if PyTorch's rules allow it; returns self."""
        if not self.is_leaf:
            raise RuntimeError(
                f"{name}: this tensor is the result of an op in a recorded graph; tinynet does not record "
                "in-place changes (PyTorch does), so write y = y + ... instead, or change y.detach()"
            )
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf Tensor that requires grad (a parameter, or made with requires_grad=True) is "
                "being used in an in-place operation while gradients are recorded, as PyTorch refuses too: "
                "do it inside `with tn.no_grad():`"
            )
        try:
            update(self.data)
        except (TypeError, ValueError) as error:  # numpy's casting and broadcasting errors
            raise type(error)(f"{name} on a tensor of shape {self.shape} and dtype {self.dtype}: {error}") from None
        return self

    def _apply_in_place(self, name: str, ufunc: np.ufunc, other, alpha: float = 1):
        other = _values(name, other)
        other = other if alpha == 1 else alpha * np.asarray(other)
        return self._in_place(name, lambda data: ufunc(data, other, out=data, casting="same_kind"))

    def add_(self, other, alpha: float = 1):
        """self += alpha * other, in place (also `x += other`)."""
        return self._apply_in_place("add_", np.add, other, alpha)

    def sub_(self, other, alpha: float = 1):
        """self -= alpha * other, in place (also `x -= other`)."""
        return self._apply_in_place("sub_", np.subtract, other, alpha)

    def mul_(self, other):
        """self *= other, in place (also `x *= other`)."""
        return self._apply_in_place("mul_", np.multiply, other)

    def div_(self, other):
        """self /= other, in place (also `x /= other`)."""
        return self._apply_in_place("div_", np.divide, other)

    __iadd__, __isub__, __imul__, __itruediv__ = add_, sub_, mul_, div_

    def zero_(self):
        """Every element set to 0, in place."""
        return self._in_place("zero_", lambda data: data.fill(0))

    def fill_(self, value: float):
        """Every element set to `value`, in place."""
        return self._in_place("fill_", lambda data: data.fill(value))

    def copy_(self, source):
        """The values of `source` (broadcast to this shape) copied in, in place."""
        source = _values("copy_", source)
        return self._in_place("copy_", lambda data: np.copyto(data, source, casting="same_kind"))

    def clamp_(self, min: float | None = None, max: float | None = None):
        """Each element limited to [min, max] (one may be None), in place."""
        if min is None and max is None:
            raise ValueError("clamp_: give min, max or both")
        return self._in_place("clamp_", lambda data: np.clip(data, min, max, out=data))

    clip_ = clamp_


def _values(name: str, other):
    """The numbers of `other` (a Tensor's data, a number or an array). A Tensor that requires a
    gradient while gradients are recorded is refused: PyTorch would record the in-place op and
    send it a gradient, which tinynet, recording no in-place op, would silently not."""
    if not hasattr(other, "_backward"):
        return other
    if other.requires_grad and is_grad_enabled():
        raise RuntimeError(
            f"{name}: the other operand requires a gradient, and tinynet does not record in-place ops (PyTorch "
            "does, and would send it one): write x = x + other for a gradient, or do it under tn.no_grad()"
        )
    return other.data
