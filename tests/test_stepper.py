"""tn.viz.BackwardStepper: the backward pass one op at a time, and the classic bugs beside it."""

import re

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn
from tinynet.stepper import MODES


def diamond():
    """loss = sum(a · tanh(a)), a = x · w: the result a is used twice, by mul and by tanh."""
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tn.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    a = x * w
    return (a * a.tanh()).sum(), x, w


def engine_grads(loss, *leaves):
    """The leaves' gradients from loss.backward(retain_graph=True), leaving .grad as it was."""
    before = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = None
    loss.backward(retain_graph=True)
    grads = [leaf.grad.copy() for leaf in leaves]
    for leaf, grad in zip(leaves, before):
        leaf.grad = grad
    return grads


def test_the_correct_walk_runs_each_op_once_in_the_engines_order_and_fills_the_leaves():
    loss, x, w = diamond()
    expected = engine_grads(loss, x, w)
    stepper = tn.viz.BackwardStepper(loss, names={"x": x, "w": w})
    assert x.grad is None and w.grad is None  # nothing happens until it is stepped
    ops = [step.node._op for step in stepper]
    assert ops == ["sum", "mul", "tanh", "mul"] and len(stepper) == 4
    np.testing.assert_allclose(x.grad, expected[0], rtol=1e-15)
    np.testing.assert_allclose(w.grad, expected[1], rtol=1e-15)
    last = stepper[3]
    assert (last.consumers_heard, last.consumers) == (2, 2)  # the shared result waited for both of its uses
    np.testing.assert_allclose(last.arrived, last.correct)
    np.testing.assert_allclose(last.sent[0], expected[0])  # mul(x, w) sends x's gradient: all of it
    loss.backward()  # the graph is still there
    np.testing.assert_allclose(x.grad, 2 * expected[0])


def test_the_leaves_fill_in_step_by_step_from_what_they_held():
    loss, x, w = diamond()
    expected = engine_grads(loss, x, w)
    x.grad = np.array([10.0, 10.0])
    stepper = tn.viz.BackwardStepper(loss)
    for step in stepper:
        if step.number < 4:  # only the last op sends to the leaves
            assert np.array_equal(x.grad, [10.0, 10.0]) and w.grad is None
    np.testing.assert_allclose(x.grad, 10 + expected[0])
    stepper.goto(0)
    assert np.array_equal(x.grad, [10.0, 10.0]) and w.grad is None
    stepper.goto(4)
    np.testing.assert_allclose(w.grad, expected[1])


def test_naive_recursion_runs_a_shared_result_before_all_its_gradient_arrived():
    loss, x, w = diamond()
    expected = engine_grads(loss, x, w)
    stepper = tn.viz.BackwardStepper(loss, "naive_recursive", names={"x": x, "w": w})
    assert [step.node._op for step in stepper] == ["sum", "mul", "mul", "tanh"]  # a's mul before tanh sent to it
    early = stepper[2]
    assert (early.consumers_heard, early.consumers) == (1, 2)
    a = x.data * w.data
    np.testing.assert_allclose(early.arrived, np.tanh(a))  # only the direct use's part: d(a·t)/da = t
    np.testing.assert_allclose(early.correct, np.tanh(a) + a * (1 - np.tanh(a) ** 2))
    np.testing.assert_allclose(x.grad, np.tanh(a) * w.data)  # the tanh's part never reaches x
    assert not np.allclose(x.grad, expected[0])
    text = str(stepper)
    assert "(from 1 of 2 uses of the result)" in text and "<- the g above is wrong" in text
    assert f"#6 x: [{x.grad[0]:.4g}, {x.grad[1]:.4g}]   correct: [{expected[0][0]:.4g}, {expected[0][1]:.4g}]" in text


def test_naive_recursion_is_right_on_a_tree():
    x = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = tn.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    loss = ((x * w).tanh() * 3.0).sum()  # no result used twice
    (expected,) = engine_grads(loss, x)
    stepper = tn.viz.BackwardStepper(loss, "naive_recursive")
    list(stepper)
    np.testing.assert_allclose(x.grad, expected)
    assert "<- " not in str(stepper)  # no step and no leaf marked wrong


def test_the_forward_order_runs_every_op_before_its_gradient_arrived():
    loss, x, w = diamond()
    stepper = tn.viz.BackwardStepper(loss, "wrong_order")
    assert [step.node._op for step in stepper] == ["mul", "tanh", "mul", "sum"]
    assert [step.arrived is None for step in stepper] == [True, True, True, False]
    assert x.grad is None and w.grad is None  # the loss ran last: its gradient went nowhere
    assert str(stepper).count("g arrived     nothing") == 3


def test_a_forgotten_zero_grad_doubles_the_leaves_gradients():
    loss, x, w = diamond()
    expected = engine_grads(loss, x, w)
    stepper = tn.viz.BackwardStepper(loss, "no_zero_grad")
    assert len(stepper) == 8 and [step.pass_number for step in stepper] == [1] * 4 + [2] * 4
    np.testing.assert_allclose(x.grad, 2 * expected[0])
    stepper.goto(4)
    np.testing.assert_allclose(x.grad, expected[0])  # after the first pass, still right
    assert "step 5 of 8 (pass 2): #1 sum" in str(stepper)
    assert stepper.leaf_table().count("<- wrong") == 2


@pytest.mark.parametrize("mode", sorted(MODES))
def test_every_mode_leaves_a_layer_with_several_results_as_backward_needs_it(mode):
    tn.manual_seed(0)
    lstm = nn.LSTM(3, 4, batch_first=True).to(np.float64)
    output, (h, c) = lstm(np.random.default_rng(0).standard_normal((2, 3, 3)))
    loss = output.sum() + (h * c).sum()
    params = lstm.parameters()
    expected = engine_grads(loss, *params)
    stepper = tn.viz.BackwardStepper(loss, mode, model=lstm)
    list(stepper)
    if mode == "correct":
        for p, grad in zip(params, expected):
            np.testing.assert_allclose(p.grad, grad, rtol=1e-12)
        assert "hands g, the gradient of result 0, to the Recurrence op" in str(stepper)
    lstm.zero_grad()
    loss.backward()  # the real backward pass after the walk gets the real gradients
    for p, grad in zip(params, expected):
        np.testing.assert_allclose(p.grad, grad, rtol=1e-12)


def test_the_state_names_what_has_run_and_what_is_next(capsys):
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    loss = model(np.ones((3, 2), dtype=np.float32)).sum()
    stepper = tn.viz.BackwardStepper(loss, model=model)
    stepper.show(1)
    out = capsys.readouterr().out
    assert out.startswith(f"after step 1 of {len(stepper)} (correct):\n   #1 sum")
    assert "ran with g 1" in out and " next" in out and "waiting" in out
    assert re.search(r"#4 2.weight +\.grad nothing", out) and re.search(r"#9 input +needs no gradient", out)
    stepper.show()
    assert model[2].weight.grad.any()


def test_bad_input_is_refused_by_name():
    loss, x, w = diamond()
    with pytest.raises(TypeError, match="BackwardStepper: expected a tinynet Tensor"):
        tn.viz.BackwardStepper(loss.data)
    with pytest.raises(ValueError, match="mode must be one of 'correct', 'naive_recursive', .* got 'recursive'"):
        tn.viz.BackwardStepper(loss, "recursive")
    with pytest.raises(RuntimeError, match="the loss does not require a gradient"):
        tn.viz.BackwardStepper(tn.Tensor(np.ones(1)))
    with pytest.raises(ValueError, match=r"the loss must be one number .* shape \(2,\); reduce it first"):
        tn.viz.BackwardStepper(x * w)
    with pytest.raises(TypeError, match="names must be a dict of leaf tensors by name"):
        tn.viz.BackwardStepper(loss, names=[x, w])
    stepper = tn.viz.BackwardStepper(loss)
    with pytest.raises(ValueError, match=r"goto: n must be a whole number from 0 to 4, got 5"):
        stepper.goto(5)
    loss.backward()
    with pytest.raises(RuntimeError, match="BackwardStepper: backward\\(\\) has freed the graph"):
        tn.viz.BackwardStepper(loss)
    stepper.show(2)  # one made before still knows the graph


def test_the_drawing_colours_what_has_run():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    loss, x, w = diamond()
    stepper = tn.viz.BackwardStepper(loss, names={"x": x, "w": w})
    figure = stepper.draw(2)
    texts = [text for text in figure.axes[0].texts if text.get_bbox_patch() is not None]  # not the arrows
    boxes = {text.get_text().split("\n")[0]: text.get_bbox_patch().get_facecolor() for text in texts}
    assert sorted(boxes) == ["#1 sum", "#2 mul", "#3 tanh", "#4 mul", "#5 w", "#6 x"]
    assert boxes["#1 sum"] == boxes["#2 mul"] != boxes["#3 tanh"] != boxes["#4 mul"]
    assert figure.axes[0].get_title() == "correct: after step 2 of 4"


def test_the_widget_steps_with_its_buttons_and_slider():
    pytest.importorskip("ipywidgets")
    pytest.importorskip("matplotlib").use("Agg")
    loss, x, w = diamond()
    expected = engine_grads(loss, x, w)
    stepper = tn.viz.BackwardStepper(loss)
    view = stepper.widget()
    (previous, slider, following), _ = view.children[0].children, view.children[1]
    for _ in range(5):  # one more than there are steps: the slider stops at the end
        following.click()
    assert slider.value == 4
    np.testing.assert_allclose(x.grad, expected[0])
    previous.click()
    assert slider.value == 3 and x.grad is None
    slider.value = 0
    assert x.grad is None and w.grad is None
