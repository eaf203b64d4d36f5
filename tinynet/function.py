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
through unchanged, and so does an input given as None, such as a missing bias); `backward`
gets the gradient of the output and returns one gradient per input, in order (None for an
input that needs none). `ctx.needs_grad[i]` says whether input i needs one, so an expensive
gradient can be skipped.

An op with several results returns them as a tuple from `forward`; `apply` then returns a
tuple of Tensors, and `backward(ctx, *grads)` gets one gradient per result (zeros for a
result that the loss does not use), so it runs once however many results are used.

Gradients of gradients (`backward(create_graph=True)`, `tn.grad`) need a backward that is
itself recorded, which a backward on numpy arrays is not. A Function that should support them
also defines `graph_backward(ctx, grad, *inputs)`: the same rule written with Tensor
operations, `grad` and the inputs given as Tensors (see `functional.Linear`). Without it, a
recorded backward pass through the Function raises an error that names it.

An input whose array `forward` gives to `ctx.save_for_backward` (the array itself, not a
view or a copy) counts as read by the backward: if it is a leaf (your data, a parameter),
backward() raises when that array has changed in place since the forward pass (see
`Tensor.backward`). Save an input only when the backward needs it (see `ctx.needs_grad`).
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

    graph_backward = None  # optional: graph_backward(ctx, grad, *inputs) on Tensors, see the module's docstring

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor | tuple[Tensor, ...]:
        """Run `forward` on the inputs' arrays and record `backward` in the graph."""
        tensors = tuple([None if x is None else as_tensor(x) for x in inputs])
        ctx = Context()
        ctx.needs_grad = tuple([t is not None and t.requires_grad for t in tensors])
        out = cls.forward(ctx, *(None if t is None else t.data for t in tensors), **options)
        parents = tuple([t for t in tensors if t is not None])

        def backward(*grads):
            if any(isinstance(g, Tensor) for g in grads):  # a recorded backward pass
                input_grads = _graph_backward(cls, ctx, grads, tensors)
            else:
                input_grads = cls.backward(ctx, *grads)
            input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
            if len(input_grads) != len(tensors):
                raise ValueError(
                    f"{cls.__name__}.backward returned {len(input_grads)} gradients for {len(tensors)} inputs"
                )
            return tuple([g for t, g in zip(tensors, input_grads) if t is not None])

        if not isinstance(out, tuple):
            return Tensor._make(out, parents, lambda grad, *_: backward(grad), cls.__name__, ctx.saved)
        return _several_results(out, parents, backward, cls.__name__, ctx.saved)


def _graph_backward(cls: type[Function], ctx: Context, grads: tuple, inputs: tuple):
    """The Function's backward in a recorded backward pass: its graph_backward, on Tensors."""
    if cls.graph_backward is None or len(grads) > 1:
        raise RuntimeError(
            f"create_graph: the backward of '{cls.__name__}' is written on numpy arrays, so it cannot be recorded "
            "and its gradients cannot be differentiated again (a Function supports that by defining "
            "graph_backward(ctx, grad, *inputs) with Tensor operations)"
        )
    return cls.graph_backward(ctx, grads[0], *inputs)


def _several_results(
    results: tuple, parents: tuple[Tensor, ...], backward, op: str, saved: tuple
) -> tuple[Tensor, ...]:
    """Tensors for the results of one op. The graph has one node per Tensor, so the op itself
    is a hidden node (of no size) between the inputs and the results: each result's backward
    only files its gradient, and the hidden node, which the backward pass reaches after every
    result, calls the op's backward once with all of them. The hidden node holds what the op
    saved (and the fingerprints of the leaves' arrays among it); backward() frees it with the
    rest of the graph, so a second backward through any result raises."""
    filed: list = [None] * len(results)

    def backward_of_op(*_):
        grads = [np.zeros_like(r) if g is None else g for r, g in zip(results, filed)]
        filed[:] = [None] * len(results)
        return backward(*grads)

    op_node = Tensor._make(np.empty(0, dtype=results[0].dtype), parents, backward_of_op, op, saved)

    def result(i: int) -> Tensor:
        def file_gradient(g, *_):
            filed[i] = g
            return (op_node.data,)

        return Tensor._make(results[i], (op_node,), file_gradient, f"{op}[{i}]")

    return tuple([result(i) for i in range(len(results))])
