"""See inside the engine: the graph behind a tensor, with its numbers, and the backward pass op by op.

    loss = F.cross_entropy(model(x), y)
    tn.viz.trace_backward(loss, model=model, retain_graph=True)   # each op's gradient in and out
    tn.viz.print_graph(loss, show_data=True, show_grad=True, model=model)
    dot_text = tn.viz.to_dot(loss, show_data=True, show_grad=True, model=model)   # for `dot -Tpng`
    stepper = tn.viz.BackwardStepper(loss)   # the backward pass one op at a time (tinynet.stepper)

Every node is numbered in the order `backward()` visits it, the loss first (#1), so the
picture, the tree and the trace can be read side by side. A tensor of at most `SHOWN_VALUES`
elements shows its values, a larger one its mean, std, min and max.
"""

from __future__ import annotations

import collections
import re
from typing import TextIO

import numpy as np

from tinynet import graph_safety, hooks
from tinynet.autograd import topological_order
from tinynet.stepper import BackwardStepper
from tinynet.tensor import Tensor

__all__ = ["BACKWARD_RULES", "SHOWN_VALUES", "BackwardStepper", "print_graph", "to_dot", "trace_backward"]

SHOWN_VALUES = 6
"""Tensors with at most this many elements show every value; larger ones a summary."""

MAX_TREE_DEPTH = 40
"""`print_graph` draws an op at most this many levels below the top of its tree; a deeper op's
inputs continue below, from the left margin. So the text grows with the depth of the graph,
not with its square (each level indents its lines by 3 characters)."""

BACKWARD_RULES: dict[str, tuple[str, str]] = {
    "add": ("a b", "d/da = g, d/db = g (each summed over the axes that broadcasting stretched)"),
    "sub": ("a b", "d/da = g, d/db = -g (each summed over the axes that broadcasting stretched)"),
    "mul": ("a b", "d/da = g · b, d/db = g · a (each summed over the axes that broadcasting stretched)"),
    "div": ("a b", "d/da = g / b, d/db = -g · a / b² (each summed over the axes that broadcasting stretched)"),
    "pow": ("x p", "d/dx = g · p · x^(p-1), d/dp = g · x^p · log x (only when p needs a gradient)"),
    "neg": ("x", "d/dx = -g"),
    "matmul": ("A B", "d/dA = g @ Bᵀ, d/dB = Aᵀ @ g (summed over broadcast batch axes)"),
    "exp": ("x", "d/dx = g · exp(x)"),
    "log": ("x", "d/dx = g / x"),
    "sqrt": ("x", "d/dx = g / (2 √x)"),
    "abs": ("x", "d/dx = g · sign(x)"),
    "tanh": ("x", "d/dx = g · (1 - tanh(x)²)"),
    "sigmoid": ("x", "d/dx = g · sigmoid(x) · (1 - sigmoid(x))"),
    "relu": ("x", "d/dx = g where x > 0, else 0"),
    "clip": ("x", "d/dx = g where min ≤ x ≤ max, else 0"),
    "sum": ("x", "d/dx = g, copied to every element that was summed"),
    "mean": ("x", "d/dx = g / N, copied to each of the N elements averaged"),
    "max": ("x", "d/dx = g at the largest element(s), shared equally on a tie; 0 elsewhere"),
    "min": ("x", "d/dx = g at the smallest element(s), shared equally on a tie; 0 elsewhere"),
    "std": ("v", "d/dv = g / (2 √v), v the variance; 0 where v = 0"),
    "logsumexp": ("x", "d/dx = g · softmax(x)"),
    "reshape": ("x", "d/dx = g reshaped to x's shape"),
    "broadcast_to": ("x", "d/dx = g summed over the axes that broadcasting stretched"),
    "transpose": ("x", "d/dx = g with its axes permuted back"),
    "index": ("x", "d/dx = g at the indexed positions, 0 elsewhere (a repeated index adds up)"),
    "scatter": ("x", "d/dx = g[index] (scatter, the backward of indexing, recorded by create_graph=True)"),
    "concatenate": ("", "d/d(input i) = the slice of g where input i was joined in"),
    "stack": ("", "d/d(input i) = g[i] along the new axis"),
    "einsum": ("", "d/d(operand i) = einsum of g with the other operands, written with operand i's letters"),
    "pad": ("x", "d/dx = g with the padding cut off (and with a negative pad, zeros where x was cut)"),
    "where": ("x y", "d/dx = g where the condition holds, else 0; d/dy = g where it does not, else 0"),
    "clone": ("x", "d/dx = g"),
    "astype": ("x", "d/dx = g cast back to x's dtype"),
    "repeat": ("x", "d/dx = g summed over the copies of each element"),
    "cumsum": ("x", "d/dx[i] = g[i] + g[i+1] + ... + g[n-1] (g's running sum from the end)"),
    "norm": ("x", "d/dx = g · sign(x) |x|^(p-1) / norm^(p-1) (g · x / norm for p = 2); 0 where the norm is 0"),
    "scatter_write": ("x src", "d/dx = g where src was not written, 0 where it was; d/dsrc = g at the written places"),
    "scatter_add": ("x src", "d/dx = g; d/dsrc = g at the places src was added to"),
    "maximum": ("a b", "d/da = g where a > b, d/db = g where b > a; half each where a = b"),
    "minimum": ("a b", "d/da = g where a < b, d/db = g where b < a; half each where a = b"),
    "Linear": ("x W b", "y = x Wᵀ + b: d/dx = g @ W, d/dW = gᵀ @ x, d/db = g summed over the batch"),
    "Embedding": ("W", "d/dW = each row of g added onto the row of W it picked (none to padding_idx)"),
    "GELU": ("x", "d/dx = g · (Φ(x) + x φ(x)), Φ the standard normal CDF, φ its density"),
    "NormalCDF": ("x", "d/dx = g · φ(x), φ the standard normal density"),
    "LayerNorm": (
        "x w b",
        "d/dx = (ĝ - mean(ĝ) - x̂ mean(ĝ x̂)) / std, d/dw = Σ g x̂, d/db = Σ g, where x̂ = (x - mean) / std "
        "(the normalized x) and ĝ = g w",
    ),
    "ScaledDotProductAttention": (
        "q k v mask",
        "d/dv = Pᵀ g, d/dq = scale · dS k, d/dk = scale · dSᵀ q, d/dmask = dS, where P = softmax(scale · q kᵀ "
        "+ mask) (out = P v) and dS = P ⊙ (g vᵀ - Σ_keys (g vᵀ) ⊙ P)",
    ),
    "CrossEntropy": (
        "logits target",
        "d/dlogits = g · (softmax(logits) - q) / N, q the target as probabilities (one-hot for labels), "
        "N the rows averaged (1 for reduction='sum'); d/dtarget = -g · log softmax(logits) / N",
    ),
    "BinaryCrossEntropyWithLogits": ("x t", "d/dx = g · (sigmoid(x) - t), d/dt = -g · x"),
    "BinaryCrossEntropy": ("x t", "d/dx = g · (x - t) / (x (1 - x)), d/dt = g · (log(1 - x) - log x)"),
    "Conv2d": (
        "x W b",
        "d/dx = g through W run backward (a transposed convolution), d/dW = g times x's windows, "
        "d/db = g summed over the batch and the pixels",
    ),
    "ConvTranspose2d": (
        "x W b",
        "d/dx = a convolution of g with W, d/dW = x times g's windows, d/db = g summed over the batch and the pixels",
    ),
    "MaxPool2d": ("x", "d/dx = g at the position of each window's maximum (the first on a tie), 0 elsewhere"),
    "AvgPool2d": ("x", "d/dx = g / (window size), spread over each window"),
    "Recurrence": ("", "backpropagation through time: the cell's backward, step by step from the last to the first"),
}
"""For each op name the engine records (`Tensor._op`): the names of its inputs, in order, and the
rule of its backward, g being the gradient that arrived, as `trace_backward` prints it. A
Function of your own that is not here is traced as "hand-written backward"; add it to say more."""

_RESULT_OF_SEVERAL = re.compile(r"(?P<op>.+)\[(?P<i>\d+)\]")  # "Recurrence[0]": one result of an op with several


def to_dot(root: Tensor, show_data: bool = False, show_grad: bool = False, *, model=None) -> str:
    """Graphviz DOT text of the graph that produced `root`: ops as boxes, inputs as ellipses,
    parameters (named when `model` is given) and other leaves that need a gradient shaded.
    Each node shows its number in the backward pass's order (see `print_graph`), its shape,
    with `show_data` its values and with `show_grad` its `.grad` (small tensors every value,
    larger ones mean, std, min and max). Render it with `dot -Tpng graph.dot -o graph.png`."""
    _check("to_dot", root, model, show_data=show_data, show_grad=show_grad)
    names, numbers = _parameter_names(model), _backward_numbers(root)
    lines = ["digraph tinynet {", '  node [fontname="Helvetica", fontsize=11];']
    nodes = topological_order(root)
    for node in nodes:
        label = "\\n".join(_label(node, numbers, names, show_data, show_grad, wrap="\\n"))
        if node._parents:
            style = 'shape=box, style="rounded,bold"' if node is root else "shape=box, style=rounded"
        elif id(node) in names or node.requires_grad:
            style = 'shape=ellipse, style=filled, fillcolor="#cfe2f3"'
        else:
            style = "shape=ellipse"
        lines.append(f'  n{numbers[id(node)]} [label="{label}", {style}];')
    for node in nodes:
        lines.extend(f"  n{numbers[id(parent)]} -> n{numbers[id(node)]};" for parent in node._parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


def print_graph(
    root: Tensor, show_data: bool = False, show_grad: bool = False, *, model=None, file: TextIO | None = None
) -> None:
    """Print the graph that produced `root` as a tree, `root` first, each node with its number
    in the order backward() visits it (#1 is `root`), what it is (an op, a parameter named from
    `model`, a leaf, an input) and its shape; `show_data` adds its values, `show_grad` its
    `.grad` (small tensors every value, larger ones mean, std, min and max). An op reached
    again is shown once, then as (see above). An op more than MAX_TREE_DEPTH levels down is
    shown as (continued below), and its inputs follow the tree, from the left margin again.
    Note that backward() frees the graph: to print it with its gradients, call
    backward(retain_graph=True) first."""
    _check("print_graph", root, model, show_data=show_data, show_grad=show_grad)
    names, numbers = _parameter_names(model), _backward_numbers(root)
    printed: set[int] = set()
    continued = collections.deque([root])  # the ops whose subtrees start at the left margin
    while continued:
        top = continued.popleft()
        if top is not root and id(top) in printed:
            continue  # reached again at a shallower level, and printed there
        stack = [(top, "", "", 0)]  # (node, prefix of its own line, prefix for its children, depth)
        while stack:
            node, lead, indent, depth = stack.pop()
            if id(node) in printed and node._parents:
                print(lead + " ".join(_label(node, numbers, names)) + " (see above)", file=file)
                continue
            if depth > MAX_TREE_DEPTH and node._parents:
                print(lead + " ".join(_label(node, numbers, names)) + " (continued below)", file=file)
                continued.append(node)
                continue
            title, *details = _label(node, numbers, names, show_data, show_grad)
            print(lead + "  ".join([f"{title} {details[0]}", *details[1:]]), file=file)
            printed.add(id(node))
            children = list(node._parents)
            for k, parent in reversed(list(enumerate(children))):
                last = k == len(children) - 1
                branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
                stack.append((parent, indent + branch, indent + below, depth + 1))


def trace_backward(loss: Tensor, file: TextIO | None = None, *, model=None, retain_graph: bool = False) -> None:
    """Run `loss.backward(retain_graph=retain_graph)` and print it op by op, in the order it
    visits them, numbered as in `print_graph` and `to_dot`: the gradient g that arrived at the
    op, the op's rule (from `BACKWARD_RULES`), and the gradient it sent to each input; then the
    `.grad` of every leaf that needs one. The gradients are exactly those of a plain backward().
    Returns None: the gradients are in the leaves' `.grad`, as after backward()."""
    _check("trace_backward", loss, model)
    if not loss.requires_grad:
        raise RuntimeError(
            "trace_backward: the loss does not require a gradient, so there is no backward pass to trace: "
            "none of its inputs had requires_grad=True (or it was computed under no_grad())"
        )
    names, numbers = _parameter_names(model), _backward_numbers(loss)
    leaves = [node for node in topological_order(loss) if not node._parents and node.requires_grad]

    def show_op(node: Tensor, grad, input_grads) -> None:
        inputs, rule = _rule(node._op)
        print(" ".join(_label(node, numbers, names)), file=file)
        print(f"   g (arrived)   {_numbers(grad)}", file=file)
        print(f"   rule          {rule}", file=file)
        for i, (parent, parent_grad) in enumerate(zip(node._parents, input_grads)):
            sent = _numbers(parent_grad) if parent_grad is not None and parent.requires_grad else "needs no gradient"
            name = inputs[i] if i < len(inputs) else f"input {i}"
            print(f"   to {name} ({_label(parent, numbers, names)[0]}): {sent}", file=file)

    hooks.backward_observers.append(show_op)
    try:
        loss.backward(retain_graph=retain_graph)
    finally:
        hooks.backward_observers.remove(show_op)
    print("leaves (.grad):", file=file)
    for leaf in leaves:
        grad = "no grad" if leaf.grad is None else _numbers(leaf.grad)
        print(f"   {' '.join(_label(leaf, numbers, names))}: {grad}", file=file)


def _check(caller: str, root, model, **flags) -> None:
    """Raise an error naming the argument of `caller` that is not what it should be: `root` not a
    Tensor, or one whose graph backward() has freed; a flag not a bool; a model without parameters."""
    if not isinstance(root, Tensor):
        raise TypeError(f"{caller}: expected a tinynet Tensor (the root of the graph), got {type(root).__name__}")
    if graph_safety.is_freed(root):
        raise RuntimeError(
            f"{caller}: backward() has freed the graph of this tensor; call backward(retain_graph=True) "
            "to keep it, or run the forward pass again"
        )
    for flag, value in flags.items():
        if not isinstance(value, bool):
            hint = "; a model goes by keyword, model=..." if hasattr(value, "named_parameters") else ""
            raise TypeError(f"{caller}: {flag} must be True or False, got {type(value).__name__}{hint}")
    if model is not None and not hasattr(model, "named_parameters"):
        raise TypeError(f"{caller}: model must be an nn.Module (to name the parameters), got {type(model).__name__}")


def _parameter_names(model) -> dict[int, str]:
    return {} if model is None else {id(p): name for name, p in model.named_parameters()}


def _backward_numbers(root: Tensor) -> dict[int, int]:
    """Each node's number (by id) in the order backward() visits the graph: `root` is 1."""
    return {id(node): k for k, node in enumerate(reversed(topological_order(root)), start=1)}


def _label(
    node: Tensor,
    numbers: dict[int, int],
    names: dict[int, str],
    show_data: bool = False,
    show_grad: bool = False,
    wrap: str = " ",
) -> list[str]:
    """The lines that describe a node: "#number what" (op, parameter name, leaf or input), its
    shape (with the dtype for a leaf or an input), then its data and its grad when asked for
    (`wrap` goes between the two halves of a summary)."""
    shape = "x".join(map(str, node.shape)) or "scalar"
    if node._parents:
        what = node._op
    elif id(node) in names:
        what = names[id(node)]
    else:
        what, shape = ("leaf" if node.requires_grad else "input"), f"{shape} {node.dtype}"
    lines = [f"#{numbers[id(node)]} {what}", shape]
    if show_data:
        lines.append(f"data {_numbers(node.data, wrap)}")
    if show_grad:
        if node.grad is not None:
            lines.append(f"grad {_numbers(node.grad, wrap)}")
        else:  # backward() keeps the gradients of the leaves only, as PyTorch does
            lines.append("grad not kept" if node._parents else "no grad")
    return lines


def _numbers(values, wrap: str = " ") -> str:
    """An array (or a Tensor) in short: every value when it has at most SHOWN_VALUES elements,
    else its mean and std, `wrap`, its min and max; 4 significant digits."""
    array = np.asarray(getattr(values, "data", values))
    if array.size <= SHOWN_VALUES:
        return _nested(array.tolist())
    stats = array.astype(np.float64)
    mean, std, low, high = (_nested(float(value)) for value in (stats.mean(), stats.std(), stats.min(), stats.max()))
    return f"mean {mean} std {std}{wrap}min {low} max {high}"


def _nested(values) -> str:
    """A number, or nested lists of numbers as numpy prints them: [[0, -21.96], [1.5, 2]]."""
    if isinstance(values, list):
        return "[" + ", ".join(map(_nested, values)) + "]"
    if isinstance(values, float):
        return f"{values + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0
    return str(values)


def _rule(op: str) -> tuple[list[str], str]:
    """The names of the inputs of `op` and the rule of its backward, from BACKWARD_RULES."""
    if op in BACKWARD_RULES:
        inputs, rule = BACKWARD_RULES[op]
        return inputs.split(), rule
    several = _RESULT_OF_SEVERAL.fullmatch(op)
    if several:
        return [], (
            f"hands g, the gradient of result {several['i']}, to the {several['op']} op, whose backward runs "
            "once, when the gradients of all its results have arrived"
        )
    return [], f"{op}: hand-written backward (see its backward method)"
