"""The backward pass: the chain rule, run over the recorded graph in reverse topological order.

Every Tensor made by an op remembers its inputs (`_parents`) and its rule (`_backward`), which
maps the gradient of its result to the gradients of its inputs. backward() orders the graph so
that each tensor comes after every input it was computed from, then walks that order from the
loss back: each node gets the sum of the gradients its consumers sent, runs its rule once, and
sends each input its share. That is the whole algorithm (`backward_pass`, the loop below).

The extras each have one named call in the loop and live in their own modules:
hooks (`tinynet.hooks`), the check that no input was changed in place (`tinynet.graph_safety`),
anomaly mode (`tinynet.anomaly`), and recorded backward passes (`create_graph=True`: the rules
then run on Tensors, so the gradients are themselves in a graph).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tinynet import anomaly, graph_safety, hooks
from tinynet.tensor import Array, Tensor, as_tensor

Gradient = Array | Tensor  # a Tensor in a recorded pass (create_graph=True)


def topological_order(*roots: Tensor) -> list[Tensor]:
    """Every tensor recorded in the graph of the roots, inputs before the ops that use them: a
    depth-first search that emits a node once all its inputs are emitted. It keeps its own
    stack of (node, iterator over its inputs), so a chain of any length fits."""
    order: list[Tensor] = []
    visited = {id(root) for root in roots}
    stack = [(root, iter(root._parents)) for root in reversed(roots)]
    while stack:
        node, inputs = stack[-1]
        for parent in inputs:
            if id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backward_pass(
    outputs: Sequence[Tensor],
    output_grads: Sequence[Gradient],
    deliver: Callable[[Tensor, Gradient], None],
    retain_graph: bool,
    create_graph: bool,
    order: list[Tensor] | None = None,
) -> None:
    """The chain rule from `outputs`, which start with `output_grads`: each node of `order`
    (the graph's topological order unless given), last to first, runs its rule on the sum of
    the gradients it received and passes the results on to its inputs. `deliver(node, grad)`
    is told each node's gradient: backward() keeps the leaves' in `.grad`, tn.grad its inputs'."""
    grads: dict[int, Gradient] = {}
    for output, grad in zip(outputs, output_grads):
        _add(grads, output, grad)
    for node in reversed(topological_order(*outputs) if order is None else order):
        grad = grads.pop(id(node), None)
        if grad is not None:
            if node._hooks:
                grad = hooks.run_tensor_hooks(node, grad)
            deliver(node, grad)
            if node._backward is not None:  # not a leaf
                for parent, parent_grad in zip(node._parents, _apply_rule(node, grad, create_graph)):
                    if parent_grad is not None and parent.requires_grad:
                        _add(grads, parent, parent_grad)
        if not retain_graph:
            graph_safety.free(node)


def _apply_rule(node: Tensor, grad: Gradient, create_graph: bool) -> Sequence[Gradient | None]:
    """The gradients of the inputs of `node`'s op: its rule, called as rule(grad, *inputs, result)
    on numpy arrays, or on the Tensors themselves when the pass is recorded (create_graph)."""
    if node._saved:
        graph_safety.check_inputs_unchanged(node)
    if create_graph:
        input_grads = node._backward(grad, *node._parents, node)
    else:
        input_grads = node._backward(grad, *[parent.data for parent in node._parents], node.data)
    graph_safety.check_gradient_shapes(node, input_grads)
    if anomaly.enabled:
        anomaly.check_gradients(node, input_grads)
    if hooks.backward_observers:
        hooks.notify_backward_observers(node, grad, input_grads)
    return input_grads


def _add(grads: dict[int, Gradient], node: Tensor, grad: Gradient) -> None:
    """Accumulate: a tensor used several times gets the sum of the gradients of its uses."""
    key = id(node)
    grads[key] = grad if key not in grads else grads[key] + grad


def backward(tensor: Tensor, grad=None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
    """Tensor.backward: add d(tensor)/d(leaf) into `.grad` of every leaf that requires a gradient
    (and of tensors that called retain_grad())."""
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward(): this tensor does not require a gradient: none of its inputs had "
            "requires_grad=True (or it was computed under no_grad())"
        )
    start = initial_gradient("backward()", tensor, grad, create_graph)

    def keep_in_grad(node: Tensor, g: Gradient) -> None:
        if node._backward is None or node._retains_grad:  # a leaf, or retain_grad()
            node._accumulate_grad(g)

    retain_graph = create_graph if retain_graph is None else retain_graph
    backward_pass((tensor,), (start,), keep_in_grad, retain_graph, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Array | Sequence | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of `outputs` with respect to `inputs`, as a tuple of Tensors, one per input,
    as torch.autograd.grad: the sum over the outputs of d(output)/d(input) weighted by
    `grad_outputs` (1 for one-element outputs when not given). Nothing is added to any `.grad`.

    With `create_graph=True` the backward pass is recorded, so the returned gradients can be
    differentiated again: tn.grad(tn.grad(y, x, create_graph=True)[0].sum(), x) is a row sum of
    the Hessian; `retain_graph` is then True unless given, else False (the graph is freed).
    Only the ops between the outputs and the inputs run their backward, as in PyTorch.
    An input that the outputs do not depend on is an error, or None with `allow_unused=True`."""
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    grad_outputs = _checked_grad_outputs(outputs, inputs, grad_outputs)
    starts = [initial_gradient("grad()", t, g, create_graph) for t, g in zip(outputs, grad_outputs)]
    wanted = {id(t) for t in inputs}
    found: dict[int, Gradient] = {}

    def keep_if_wanted(node: Tensor, g: Gradient) -> None:
        if id(node) in wanted:
            found[id(node)] = g

    order = _leading_to(topological_order(*outputs), wanted)
    retain_graph = create_graph if retain_graph is None else retain_graph
    backward_pass(outputs, starts, keep_if_wanted, retain_graph, create_graph, order)
    results = []
    for i, t in enumerate(inputs):
        if id(t) not in found and not allow_unused:
            raise RuntimeError(
                f"grad(): input {i} (shape {t.shape}) was not used to compute the outputs; pass allow_unused=True "
                "to get None for it"
            )
        g = found.get(id(t))
        results.append(None if g is None else g if isinstance(g, Tensor) else Tensor(np.array(g, dtype=t.dtype)))
    return tuple(results)


def _checked_grad_outputs(outputs: tuple, inputs: tuple, grad_outputs) -> tuple:
    for kind, tensors in (("outputs", outputs), ("inputs", inputs)):
        if not tensors or not all(isinstance(t, Tensor) for t in tensors):
            raise TypeError(f"grad(): {kind} must be a Tensor or a non-empty sequence of Tensors")
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    elif not isinstance(grad_outputs, (list, tuple)):
        raise TypeError(
            f"grad(): grad_outputs must be a Tensor, an array or a list of them (one per output), "
            f"got {type(grad_outputs).__name__}"
        )
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(grad_outputs)} grad_outputs for {len(outputs)} outputs; give one for each")
    for kind, tensors in (("output", outputs), ("input", inputs)):
        for i, t in enumerate(tensors):
            if not t.requires_grad:
                reason = "none of its inputs did" if kind == "output" else "so it has none"
                raise RuntimeError(f"grad(): {kind} {i} does not require a gradient ({reason})")
    return tuple(grad_outputs)


def _leading_to(order: list[Tensor], targets: set[int]) -> list[Tensor]:
    """The nodes of `order` (inputs first) that are in `targets` or have one behind them (or whose
    graph was freed: their rule says so), in order: the only ones tn.grad needs to run."""
    leading = set(targets)
    for node in order:
        if graph_safety.is_freed(node) or any(id(parent) in leading for parent in node._parents):
            leading.add(id(node))
    return [node for node in order if id(node) in leading]


def initial_gradient(caller: str, output: Tensor, grad, create_graph: bool) -> Gradient:
    """The gradient that a backward pass starts `output` with: `grad` checked, or 1 for a
    one-element output; a Tensor when the pass is recorded."""
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: a gradient can be implied only for a one-element tensor, this "
                f"one has shape {output.shape}; pass one of that shape"
            )
        grad = np.ones_like(output.data)
    elif not (create_graph and isinstance(grad, Tensor)):
        grad = np.asarray(as_tensor(grad).data, dtype=output.dtype)
    if grad.shape != output.shape:
        given = "grad" if caller == "backward()" else "a grad_output"
        raise ValueError(f"{caller}: {given} has shape {grad.shape} but the tensor has shape {output.shape}")
    return as_tensor(grad) if create_graph else grad
