import io

import numpy as np

import tinynet as tn
from tinynet import functional as F
from tinynet import nn


def small_graph():
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    loss = F.cross_entropy(model(np.ones((5, 4), np.float32)), np.array([0, 1, 0, 1, 1]))
    return model, loss


def test_to_dot_lists_ops_shapes_and_named_parameters():
    model, loss = small_graph()
    dot = tn.viz.to_dot(loss, model)
    assert dot.startswith("digraph tinynet {") and dot.rstrip().endswith("}")
    for label in ["CrossEntropy\\nscalar", "Linear\\n5x3", "relu\\n5x3", "0.weight\\n3x4", "2.bias\\n2", "input\\n5x4"]:
        assert label in dot, label
    assert dot.count("->") == 9  # x, W1, b1 -> Linear -> relu; relu, W2, b2 -> Linear; Linear, y -> loss
    assert dot.count("fillcolor") == 4  # the four parameters


def test_to_dot_without_model_marks_leaves():
    a = tn.Tensor(np.ones(2), requires_grad=True)
    dot = tn.viz.to_dot((a * a + a).sum())
    assert "leaf\\n2" in dot and "sum\\nscalar" in dot and "add\\n2" in dot and "mul\\n2" in dot


def test_print_graph_is_an_indented_tree():
    model, loss = small_graph()
    out = io.StringIO()
    tn.viz.print_graph(loss, model, file=out)
    assert out.getvalue().splitlines() == [
        "CrossEntropy scalar",
        "├─ Linear 5x2",
        "│  ├─ relu 5x3",
        "│  │  └─ Linear 5x3",
        "│  │     ├─ input 5x4 float32",
        "│  │     ├─ 0.weight 3x4",
        "│  │     └─ 0.bias 3",
        "│  ├─ 2.weight 2x3",
        "│  └─ 2.bias 2",
        "└─ input 5 int64",
    ]


def test_print_graph_shows_a_shared_op_once():
    a = tn.Tensor(np.ones(2), requires_grad=True)
    shared = a.exp()
    out = io.StringIO()
    tn.viz.print_graph(shared * shared, file=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "mul 2" and lines.count("│  └─ leaf 2 float64") == 1 and lines[-1] == "└─ exp 2 (see above)"


def test_deep_graph_prints_without_recursion():
    x = tn.Tensor(np.ones(1), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    out = io.StringIO()
    tn.viz.print_graph(y, file=out)
    assert len(out.getvalue().splitlines()) == 10001
    assert tn.viz.to_dot(y).count("->") == 10000
