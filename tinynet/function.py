"""Function: the base class for an op with a hand-written backward.

    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return 3 * x ** 2 * grad

    y = Cube.apply(t)          # t: a Tensor (or anything Tensor() accepts)

`forward` works on numpy arrays, one per Tensor given to `apply` (keyword arguments pass
through unchanged); `backward` gets the gradient of the output and returns one gradient per
input, in order (None for an input that needs none). `ctx.needs_grad[i]` says whether input i
needs one, so an expensive gradient can be skipped.
"""

from __future__ import annotations

import numpy as np

from tinynet.tensor import Tensor, as_tensor


class Context:
    """What a Function's forward leaves for its backward: `saved` and any attributes set on it."""

    saved: tuple = ()
    needs_grad: tuple[bool, ...] = ()

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays from forward for backward, as `ctx.saved`."""
        self.saved = arrays


class Function:
    """Subclass and write the static methods `forward(ctx, *arrays)` and `backward(ctx, grad)`."""

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **options) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor:
        """Run `forward` on the inputs' arrays and record `backward` in the graph."""
        tensors = tuple([as_tensor(x) for x in inputs])
        ctx = Context()
        ctx.needs_grad = tuple([t.requires_grad for t in tensors])
        out = cls.forward(ctx, *(t.data for t in tensors), **options)

        def backward(grad):
            grads = cls.backward(ctx, grad)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) != len(tensors):
                raise ValueError(f"{cls.__name__}.backward returned {len(grads)} gradients for {len(tensors)} inputs")
            return grads

        return Tensor._make(out, tensors, backward, cls.__name__)
