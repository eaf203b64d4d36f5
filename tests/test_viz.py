import ast
import contextlib
import importlib.util
import io
import re
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import hooks as engine
from tinynet import nn

ROOT = Path(__file__).resolve().parents[1]
BACKPROP_DOC = ROOT / "docs" / "backprop.md"


def small_graph():
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss = F.cross_entropy(model(np.ones((5, 4), np.float32)), np.array([0, 1, 0, 1, 1]))
    return model, loss


def backprop_network():
    """The network worked through by hand in docs/backprop.md: its loss and its four parameters."""
    x = tn.Tensor(np.array([[1.0, 2.0]]))
    W1 = tn.Tensor(np.array([[0.5, -1.0], [1.5, 0.25]]), requires_grad=True)
    b1 = tn.Tensor(np.array([0.1, -0.2]), requires_grad=True)
    w2 = tn.Tensor(np.array([[1.0, -2.0]]), requires_grad=True)
    b2 = tn.Tensor(np.array([0.5]), requires_grad=True)
    return (((x @ W1.T + b1).relu() @ w2.T + b2 - 3.0) ** 2).sum(), [W1, b1, w2, b2]


def shape(node) -> str:
    return "x".join(map(str, node.shape)) or "scalar"


def printed(show, *args, **kwargs) -> str:
    out = io.StringIO()
    show(*args, **kwargs, file=out)
    return out.getvalue()


# ---------------------------------------------------------------- the graph's shape and its numbering


def test_to_dot_lists_ops_shapes_and_named_parameters():
    model, loss = small_graph()
    dot = tn.viz.to_dot(loss, model=model)
    assert dot.startswith("digraph tinynet {") and dot.rstrip().endswith("}")
    for label in ["#1 CrossEntropy\\nscalar", "#3 Linear\\n5x2", "#6 relu\\n5x3", "0.weight\\n3x4", "#4 2.bias\\n2"]:
        assert label in dot, label
    assert "input\\n5x4 float32" in dot and "data" not in dot and "grad" not in dot
    assert dot.count("->") == 9  # x, W1, b1 -> Linear -> relu; relu, W2, b2 -> Linear; Linear, y -> loss
    assert dot.count("fillcolor") == 4  # the four parameters


def test_to_dot_without_model_marks_leaves():
    a = tn.Tensor(np.ones(2), requires_grad=True)
    dot = tn.viz.to_dot((a * a + a).sum())
    assert "#1 sum\\nscalar" in dot and "#2 add\\n2" in dot and "#3 mul\\n2" in dot and "#4 leaf\\n2 float64" in dot


def test_print_graph_is_an_indented_tree():
    model, loss = small_graph()
    assert printed(tn.viz.print_graph, loss, model=model).splitlines() == [
        "#1 CrossEntropy scalar",
        "├─ #3 Linear 5x2",
        "│  ├─ #6 relu 5x3",
        "│  │  └─ #7 Linear 5x3",
        "│  │     ├─ #10 input 5x4 float32",
        "│  │     ├─ #9 0.weight 3x4",
        "│  │     └─ #8 0.bias 3",
        "│  ├─ #5 2.weight 2x3",
        "│  └─ #4 2.bias 2",
        "└─ #2 input 5 int64",
    ]


def test_print_graph_shows_a_shared_op_once():
    a = tn.Tensor(np.ones(2), requires_grad=True)
    shared = a.exp()
    lines = printed(tn.viz.print_graph, shared * shared).splitlines()
    assert lines == ["#1 mul 2", "├─ #2 exp 2", "│  └─ #3 leaf 2 float64", "└─ #2 exp 2 (see above)"]


def test_deep_graph_prints_without_recursion():
    x = tn.Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    text = printed(tn.viz.print_graph, y)
    assert len(text.splitlines()) == 10001 + text.count("(continued below)")  # each continued op shows again
    assert tn.viz.to_dot(y).count("->") == 10000


def chain(depth: int) -> tn.Tensor:
    y = tn.Tensor(np.ones(3), requires_grad=True)
    for _ in range(depth):
        y = y * 1.0001
    return y.sum()


def test_a_deep_graph_prints_as_text_that_grows_linearly_with_its_depth():
    sizes = {depth: printed(tn.viz.print_graph, chain(depth)) for depth in (1000, 2000, 4000)}
    assert len(sizes[4000]) / len(sizes[2000]) < 2.1 and len(sizes[2000]) / len(sizes[1000]) < 2.1
    widest = max(len(line) for line in sizes[4000].splitlines())
    assert widest <= 3 * (tn.viz.MAX_TREE_DEPTH + 1) + len("#7999 mul 3 (continued below)")
    # every op is printed in full once, its inputs beneath it, continued from the left margin
    continued = re.findall(r"(#\d+) mul 3 \(continued below\)", sizes[4000])
    assert continued and all(re.search(rf"^{number} mul 3$", sizes[4000], re.MULTILINE) for number in continued)


def test_the_numbers_are_the_order_backward_visits_the_nodes():
    model, loss = small_graph()
    dot = tn.viz.to_dot(loss, model=model)
    tree = printed(tn.viz.print_graph, loss, model=model)
    visited = []
    engine.backward_observers.append(lambda node, grad, input_grads: visited.append(node))
    try:
        loss.backward(retain_graph=True)
    finally:
        engine.backward_observers.pop()
    numbers = [int(n) for n in re.findall(r'n(\d+) \[label="#\1 ', dot)]
    assert sorted(numbers) == list(range(1, 11))  # every node, numbered once, its DOT name its number
    visited_numbers = [int(re.search(rf'n(\d+) \[label="#\1 {node._op}\\n{shape(node)}"', dot)[1]) for node in visited]
    assert visited_numbers == [1, 3, 6, 7]  # the ops, in the order backward ran them
    for node, number in zip(visited, visited_numbers):
        assert f"#{number} {node._op} " in tree


# ---------------------------------------------------------------- values and gradients


def test_dot_and_tree_show_the_hand_computed_numbers_of_the_backprop_doc():
    loss, _ = backprop_network()
    loss.backward(retain_graph=True)
    dot = tn.viz.to_dot(loss, show_data=True, show_grad=True)
    # the values of docs/backprop.md's table: z = [-1.4, 1.8], h = [0, 1.8], ŷ = -3.1, L = 37.21
    for label in [
        "#1 sum\\nscalar\\ndata 37.21\\ngrad not kept",
        "#6 add\\n1x1\\ndata [[-3.1]]\\ngrad not kept",
        "#11 relu\\n1x2\\ndata [[0, 1.8]]\\ngrad not kept",
        "#12 add\\n1x2\\ndata [[-1.4, 1.8]]\\ngrad not kept",
        "#16 leaf\\n2x2 float64\\ndata [[0.5, -1], [1.5, 0.25]]\\ngrad [[0, 0], [24.4, 48.8]]",
        "#13 leaf\\n2 float64\\ndata [0.1, -0.2]\\ngrad [0, 24.4]",
        "#10 leaf\\n1x2 float64\\ndata [[1, -2]]\\ngrad [[0, -21.96]]",
        "#7 leaf\\n1 float64\\ndata [0.5]\\ngrad [-12.2]",
        "#17 input\\n1x2 float64\\ndata [[1, 2]]\\nno grad",
    ]:
        assert label in dot, label
    tree = printed(tn.viz.print_graph, loss, show_data=True, show_grad=True).splitlines()
    assert tree[0] == "#1 sum scalar  data 37.21  grad not kept"
    assert "   │  │  └─ #7 leaf 1 float64  data [0.5]  grad [-12.2]" in tree
    assert printed(tn.viz.print_graph, loss, show_grad=True).splitlines()[-3:] == [
        "   │  │  └─ #7 leaf 1 float64  grad [-12.2]",
        "   │  └─ #5 input scalar float64  no grad",
        "   └─ #3 input scalar float64  no grad",
    ]


def test_a_large_tensor_is_summarized():
    small = tn.Tensor(np.arange(tn.viz.SHOWN_VALUES, dtype=np.float32), requires_grad=True)
    large = tn.Tensor(np.arange(7.0), requires_grad=True)  # mean 3, std 2, min 0, max 6
    assert tn.viz.SHOWN_VALUES == 6
    loss = small.sum() + (large * 2.0).sum()
    loss.backward(retain_graph=True)
    tree = printed(tn.viz.print_graph, loss, show_data=True, show_grad=True)
    assert "leaf 6 float32  data [0, 1, 2, 3, 4, 5]  grad [1, 1, 1, 1, 1, 1]" in tree
    assert "leaf 7 float64  data mean 3 std 2 min 0 max 6  grad mean 2 std 0 min 2 max 2" in tree
    assert "mul 7  data mean 6 std 4 min 0 max 12  grad not kept" in tree
    assert "data mean 3 std 2\\nmin 0 max 6\\ngrad mean 2 std 0\\nmin 2 max 2" in tn.viz.to_dot(loss, True, True)


# ---------------------------------------------------------------- trace_backward


def test_trace_shows_each_op_its_rule_and_the_numbers():
    loss, _ = backprop_network()
    trace = printed(tn.viz.trace_backward, loss)
    assert (
        "#8 matmul 1x1\n"
        "   g (arrived)   [[-12.2]]\n"
        "   rule          d/dA = g @ Bᵀ, d/dB = Aᵀ @ g (summed over broadcast batch axes)\n"
        "   to A (#11 relu): [[-12.2, 24.4]]\n"
        "   to B (#9 transpose): [[0], [-21.96]]\n"
    ) in trace
    assert "#11 relu 1x2\n   g (arrived)   [[-12.2, 24.4]]\n   rule          d/dx = g where x > 0, else 0\n" in trace
    assert "   to x (#12 add): [[0, 24.4]]\n" in trace
    assert "   to p (#3 input): needs no gradient\n" in trace
    assert trace.endswith(
        "leaves (.grad):\n"
        "   #16 leaf 2x2 float64: [[0, 0], [24.4, 48.8]]\n"
        "   #13 leaf 2 float64: [0, 24.4]\n"
        "   #10 leaf 1x2 float64: [[0, -21.96]]\n"
        "   #7 leaf 1 float64: [-12.2]\n"
    )
    ops = [int(n) for n in re.findall(r"^#(\d+) ", trace, re.MULTILINE)]
    assert ops == [1, 2, 4, 6, 8, 9, 11, 12, 14, 15]  # in the order backward visits them


def test_trace_of_a_product_names_both_inputs():
    a = tn.Tensor(np.array([2.0, 3.0]), requires_grad=True)
    b = tn.Tensor(np.array([5.0, 7.0]), requires_grad=True)
    trace = printed(tn.viz.trace_backward, (a * b).sum())
    assert "#2 mul 2\n   g (arrived)   [1, 1]\n   rule          d/da = g · b, d/db = g · a" in trace
    assert "   to a (#4 leaf): [5, 7]\n   to b (#3 leaf): [2, 3]\n" in trace


@pytest.mark.parametrize("retain_graph", [False, True])
def test_trace_computes_the_gradients_of_a_plain_backward(retain_graph):
    model, loss = small_graph()
    printed(tn.viz.trace_backward, loss, model=model, retain_graph=retain_graph)
    reference, plain_loss = small_graph()
    plain_loss.backward()
    for (name, traced), plain in zip(model.named_parameters(), reference.parameters()):
        assert np.array_equal(traced.grad, plain.grad), name
    if retain_graph:
        assert "#1 CrossEntropy" in printed(tn.viz.print_graph, loss)
    else:
        with pytest.raises(RuntimeError, match="freed the graph"):
            tn.viz.print_graph(loss)
    assert engine.backward_observers == []


def test_trace_names_parameters_and_summarizes_large_gradients():
    model, loss = small_graph()
    trace = printed(tn.viz.trace_backward, loss, model=model)
    assert "#1 CrossEntropy scalar\n   g (arrived)   1\n   rule          d/dlogits = g · (softmax(logits) - q)" in trace
    assert "   to target (#2 input): needs no gradient\n" in trace
    weight = model[0].weight.grad.astype(np.float64)
    summary = f"mean {weight.mean():.4g} std {weight.std():.4g} min {weight.min():.4g} max {weight.max():.4g}"
    assert f"   to W (#9 0.weight): {summary}\n" in trace and f"   #9 0.weight 3x4: {summary}\n" in trace


def test_trace_of_a_shared_tensor_shows_the_summed_gradient():
    a = tn.Tensor(np.array([3.0]), requires_grad=True)
    trace = printed(tn.viz.trace_backward, a * a + a)  # dy/da = 2a + 1
    assert "   to a (#3 leaf): [3]\n   to b (#3 leaf): [3]\n" in trace and trace.endswith("#3 leaf 1 float64: [7]\n")


class Cube(tn.Function):
    """x³, an op that is not in the table of rules."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved
        return 3 * x**2 * grad


def test_a_function_not_in_the_table_is_named_with_its_hand_written_backward():
    x = tn.Tensor(np.array([2.0]), requires_grad=True)
    trace = printed(tn.viz.trace_backward, Cube.apply(x).sum())
    assert "#2 Cube 1\n   g (arrived)   [1]\n" in trace
    assert "   rule          Cube: hand-written backward (see its backward method)\n" in trace
    assert trace.endswith("#3 leaf 1 float64: [12]\n")


def test_an_op_with_several_results_is_traced_once():
    tn.manual_seed(0)
    lstm = nn.LSTM(2, 3)
    x = np.random.default_rng(0).standard_normal((4, 1, 2)).astype(np.float32)
    output, _ = lstm(x)
    trace = printed(tn.viz.trace_backward, output.sum(), model=lstm)
    assert "hands g, the gradient of result 0, to the Recurrence op" in trace
    assert trace.count("rule          backpropagation through time") == 1
    reference = nn.LSTM(2, 3)
    reference.load_state_dict(lstm.state_dict())
    for parameter in reference.parameters():
        parameter.grad = None
    reference(x)[0].sum().backward()
    for traced, plain in zip(lstm.parameters(), reference.parameters()):
        assert np.array_equal(traced.grad, plain.grad)


RULES_AT_COLLECTION = dict(tn.viz.BACKWARD_RULES)  # before any test (docs/extending.md adds one) runs


def _op_names_in_source() -> tuple[set[str], set[str]]:
    """The op names tinynet's source gives the engine: the string arguments of calls to _make
    (and to _extremum and _extremum_of_two, which pass theirs on), and the Function subclasses."""
    ops, functions = set(), set()
    for file in (ROOT / "tinynet").rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in {
                "_make",
                "_extremum",
                "_extremum_of_two",
            }:
                ops |= {a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)}
            if isinstance(node, ast.ClassDef) and any(getattr(base, "id", None) == "Function" for base in node.bases):
                functions.add(node.name.removesuffix("Function"))
    return ops, functions


def test_the_table_of_rules_covers_every_op_the_engine_makes():
    ops, functions = _op_names_in_source()
    assert {"add", "matmul", "relu", "max", "maximum", "index", "where"} <= ops and len(ops) >= 29
    assert {"Linear", "CrossEntropy", "Conv2d", "Recurrence"} <= functions
    assert set(RULES_AT_COLLECTION) == ops | functions  # none missing, none stale
    for op, (_, rule) in RULES_AT_COLLECTION.items():
        assert rule.startswith("d/d") or op in {"Linear", "Recurrence"}, op


# ---------------------------------------------------------------- bad input


def test_bad_input_gets_named_errors():
    model, loss = small_graph()
    for show in (tn.viz.to_dot, tn.viz.print_graph, tn.viz.trace_backward):
        with pytest.raises(TypeError, match=rf"{show.__name__}: expected a tinynet Tensor .*got list"):
            show([1.0, 2.0])
        with pytest.raises(TypeError, match=rf"{show.__name__}: model must be an nn.Module .*got dict"):
            show(loss, model={})
    with pytest.raises(TypeError, match="show_data must be True or False, got Sequential; a model goes by keyword"):
        tn.viz.print_graph(loss, model)  # the old signature, print_graph(tensor, model)
    with pytest.raises(TypeError, match="to_dot: show_grad must be True or False, got str"):
        tn.viz.to_dot(loss, True, "yes")
    with pytest.raises(RuntimeError, match="trace_backward: the loss does not require a gradient"):
        tn.viz.trace_backward(tn.Tensor(np.ones(2)).sum())
    with pytest.raises(RuntimeError, match="a gradient can be implied only for a one-element tensor"):
        tn.viz.trace_backward(model(np.ones((5, 4), np.float32)))  # backward's own error, passed on
    assert engine.backward_observers == []  # removed even so
    loss.backward()
    for show in (tn.viz.to_dot, tn.viz.print_graph, tn.viz.trace_backward):
        with pytest.raises(RuntimeError, match=rf"{show.__name__}: backward\(\) has freed the graph"):
            show(loss)


# ---------------------------------------------------------------- docs/backprop.md and examples/show_graph.py

FENCE = re.compile(
    r"^(?P<marker><!-- source: [^\n]*-->\n)?```(?P<kind>\w+)\n(?P<body>.*?)^```$", re.DOTALL | re.MULTILINE
)


def doc_outputs() -> list[tuple[str, str]]:
    """Run the python examples of docs/backprop.md in order, in one namespace, as test_docs does;
    for each that a ```text block follows, (what it printed, that block)."""
    text = BACKPROP_DOC.read_text()
    blocks = list(FENCE.finditer(text))
    namespace, outputs = {"__name__": "__docs__"}, []
    for block, following in zip(blocks, blocks[1:] + [None]):
        if block["kind"] != "python" or block["marker"]:
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block["body"], str(BACKPROP_DOC), "exec"), namespace)
        if following is not None and following["kind"] == "text" and not text[block.end() : following.start()].strip():
            outputs.append((out.getvalue(), following["body"]))
    return outputs


def test_the_backprop_doc_shows_the_real_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    outputs = doc_outputs()
    assert len(outputs) >= 3  # the tree, the trace, the tree with numbers (then the Newton section's outputs)
    for printed_text, shown in outputs:
        assert printed_text == shown
    assert "#15 transpose 2x2\n   g (arrived)   [[0, 24.4], [0, 48.8]]" in outputs[1][1]
    assert "grad [[0, 0], [24.4, 48.8]]" in outputs[2][1]


def test_show_graph_example_draws_the_backprop_doc_network(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("show_graph", ROOT / "examples" / "show_graph.py")
    show_graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(show_graph)
    dot_path = show_graph.main(["--graph", "backprop", "--out", str(tmp_path / "backprop")])
    out = capsys.readouterr().out
    _, trace, tree = (shown for _, shown in doc_outputs()[:3])
    assert out.startswith(trace + "\n" + tree + "\n")  # what docs/backprop.md shows and draws
    loss, _ = backprop_network()
    tn.viz.trace_backward(loss, file=io.StringIO(), retain_graph=True)
    assert Path(dot_path).read_text() == tn.viz.to_dot(loss, show_data=True, show_grad=True)
    assert (BACKPROP_DOC.parent / "images" / "backprop_graph.png").read_bytes()[:4] == b"\x89PNG"
