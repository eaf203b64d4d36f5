"""See the computation graph behind a tensor: Graphviz DOT text, or an indented text tree.

loss = F.cross_entropy(model(x), y)
print(tn.viz.to_dot(loss, model))     # paste into `dot -Tpng -o graph.png`
tn.viz.print_graph(loss, model)
"""

from __future__ import annotations

from tinynet.tensor import Tensor, topological_order


def _parameter_names(model) -> dict[int, str]:
    return {} if model is None else {id(p): name for name, p in model.named_parameters()}


def _describe(node: Tensor, names: dict[int, str]) -> str:
    shape = "x".join(map(str, node.shape)) or "scalar"
    if node._parents:
        return f"{node._op} {shape}"
    if id(node) in names:
        return f"{names[id(node)]} {shape}"
    kind = "leaf" if node.requires_grad else "input"
    return f"{kind} {shape} {node.dtype}"


def to_dot(tensor: Tensor, model=None) -> str:
    """Graphviz DOT text of the graph that produced `tensor`: ops as boxes with their output
    shapes, inputs as ellipses, parameters (named when `model` is given) shaded."""
    names = _parameter_names(model)
    nodes = topological_order(tensor)
    index = {id(node): i for i, node in enumerate(nodes)}
    lines = ["digraph tinynet {", '  node [fontname="Helvetica", fontsize=11];']
    for i, node in enumerate(nodes):
        label = _describe(node, names).replace(" ", "\\n", 1)
        if node._parents:
            style = 'shape=box, style="rounded,bold"' if node is tensor else "shape=box, style=rounded"
        elif id(node) in names or node.requires_grad:
            style = 'shape=ellipse, style=filled, fillcolor="#cfe2f3"'
        else:
            style = "shape=ellipse"
        lines.append(f'  n{i} [label="{label}", {style}];')
    for node in nodes:
        lines.extend(f"  n{index[id(parent)]} -> n{index[id(node)]};" for parent in node._parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


def print_graph(tensor: Tensor, model=None, file=None) -> None:
    """Print the graph as a tree, output first; a node reached again is shown as (see above)."""
    names = _parameter_names(model)
    printed: set[int] = set()
    stack = [(tensor, "", "")]  # (node, prefix of its own line, prefix for its children)
    while stack:
        node, lead, indent = stack.pop()
        again = id(node) in printed and node._parents
        print(lead + _describe(node, names) + (" (see above)" if again else ""), file=file)
        if again:
            continue
        printed.add(id(node))
        children = list(node._parents)
        for k, parent in reversed(list(enumerate(children))):
            last = k == len(children) - 1
            stack.append((parent, indent + ("└─ " if last else "├─ "), indent + ("   " if last else "│  ")))
