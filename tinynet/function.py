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
gradient can be skipped. The op is named after the class, less a "Function" suffix
(`LinearFunction` is the op "Linear" in graphs and error messages).

An op with several results returns them as a tuple from `forward`; `apply` then returns a
tuple of Tensors, and `backward(ctx, *grads)` gets one gradient per result (zeros for a
result that the loss does not use), so it runs once however many results are used.

Gradients of gradients (`backward(create_graph=True)`, `tn.grad`) need the backward itself to
be recorded. A Function whose backward uses only operations that numpy arrays and Tensors share
(`*`, `/`, `@`, `.sum`, `.reshape`, `.T`, and the helpers of tinynet.tensor) says so with
`twice_differentiable = True`: in a recorded pass its backward then gets Tensors, the gradient
and, in `ctx.saved`, each saved input as its Tensor, so the one rule serves both passes (see
`functional.LinearFunction`). Anything else it saves is a constant under differentiation. Without
the flag, a recorded pass through the Function raises an error that names it.

An input whose array `forward` gives to `ctx.save_for_backward` (the array itself, not a
view or a copy) counts as read by the backward: if it is a leaf (your data, a parameter),
backward() raises when that array has changed in place since the forward pass
(tinynet/graph_safety.py). Save an input only when the backward needs it.
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

    twice_differentiable = False  # True when backward works on Tensors too: see the module's docstring

    @staticmethod
    def forward(ctx: Context, *arrays: np.ndarray, **options) -> np.ndarray:
        raise NotImplementedError("a Function subclass must define forward(ctx, *arrays)")

    @staticmethod
    def backward(ctx: Context, grad: np.ndarray):
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *inputs, **options) -> Tensor | tuple[Tensor, ...]:
        """Run `forward` on the inputs' arrays and record `backward` in the graph."""
        tensors = tuple([None if x is None else as_tensor(x) for x in inputs])
        ctx = Context()
        ctx.needs_grad = tuple([t is not None and t.requires_grad for t in tensors])
        out = cls.forward(ctx, *(None if t is None else t.data for t in tensors), **options)
        parents = tuple([t for t in tensors if t is not None])
        op = cls.__name__.removesuffix("Function")

        def rule(*grads):
            recorded = isinstance(grads[0], Tensor) or any(isinstance(g, Tensor) for g in grads[1:])  # create_graph
            input_grads = cls.backward(_recorded(cls, op, ctx, tensors, grads) if recorded else ctx, *grads)
            input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
            if len(input_grads) != len(tensors):
                count = f"{len(input_grads)} gradients for {len(tensors)} inputs"
                raise ValueError(f"{cls.__name__}.backward returned {count}")
            return tuple([g for t, g in zip(tensors, input_grads) if t is not None])

        if not isinstance(out, tuple):
            return Tensor._make(out, parents, lambda grad, *_: rule(grad), op, ctx.saved)
        return _several_results(out, parents, rule, op, ctx.saved)


def _recorded(cls: type[Function], op: str, ctx: Context, inputs: tuple, grads: tuple) -> Context:
    """The context that backward gets in a recorded pass: each saved input array as its Tensor."""
    if not cls.twice_differentiable or len(grads) > 1:
        raise RuntimeError(
            f"create_graph: the backward of '{op}' is written on numpy arrays, so it cannot be recorded "
            "and its gradients cannot be differentiated again (a Function supports that by writing its backward "
            "with operations that arrays and Tensors share, and setting twice_differentiable = True)"
        )
    tensor_of = {id(t.data): t for t in inputs if t is not None}
    recorded = Context()
    recorded.__dict__.update(vars(ctx))
    recorded.saved = tuple([tensor_of.get(id(array), array) for array in ctx.saved])
    return recorded


def _several_results(results: tuple, parents: tuple[Tensor, ...], rule, op: str, saved: tuple) -> tuple[Tensor, ...]:
    """Tensors for the results of one op. The graph has one node per Tensor, so the op itself
    is a hidden node (of no size) between the inputs and the results: each result's rule only
    files its gradient, and the hidden node, which the backward pass reaches after every
    result, calls the op's backward once with all of them. The hidden node holds what the op
    saved (and the fingerprints of the leaves' arrays among it); backward() frees it with the
    rest of the graph, so a second backward through any result raises."""
    filed: list = [None] * len(results)

    def backward_of_op(*_):
        grads = [np.zeros_like(r) if g is None else g for r, g in zip(results, filed)]
        filed[:] = [None] * len(results)
        return rule(*grads)

    op_node = Tensor._make(np.empty(0, dtype=results[0].dtype), parents, backward_of_op, op, saved)

    def result(i: int) -> Tensor:
        def file_gradient(g, *_):
            filed[i] = g
            return (op_node.data,)

        return Tensor._make(results[i], (op_node,), file_gradient, f"{op}[{i}]")

    return tuple([result(i) for i in range(len(results))])
