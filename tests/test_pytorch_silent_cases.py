"""The seven PyTorch habits that gave a silently different answer on 635cc88 (issue 26), each
now PyTorch's answer or a named error, and the table of docs/pytorch.md checked against PyTorch."""

import re
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn

ROOT = Path(__file__).resolve().parents[1]


def small_model():
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    tn.functional.mse_loss(model(np.ones((5, 3), np.float32)), np.zeros((5, 2), np.float32)).backward()
    return model


def test_sgd_by_hand_on_parameters_trains_the_model():
    model = small_model()
    before, grads = model.params.copy(), model.grads.copy()
    with tn.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(model.params, before - 0.1 * grads, rtol=1e-6)


def test_scaling_a_weight_in_place_keeps_the_parameter():
    model = small_model()
    weight, before = model[0].weight, model[0].weight.data.copy()
    with tn.no_grad():
        model[0].weight *= 0.5
    assert model[0].weight is weight and isinstance(weight, nn.Parameter)
    assert "0.weight" in dict(model.named_parameters()) and "0.weight" in model.state_dict()
    np.testing.assert_allclose(model.state_dict()["0.weight"], before * 0.5)
    params = model.params
    tn.optim.SGD(lr=0.1).step(model.grads, params)  # still trained through the flat store
    assert not np.allclose(model[0].weight.data, before * 0.5)


def test_replacing_a_parameter_with_a_tensor_is_refused_by_name():
    model = small_model()
    with pytest.raises(TypeError, match="cannot assign a Tensor as parameter 'weight' of Linear"):
        model[0].weight = tn.Tensor(np.zeros((4, 3)))


def test_in_place_on_a_leaf_that_requires_grad_raises_as_pytorch():
    x = tn.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Tensor that requires grad .* in-place operation"):
        x += 1
    with tn.no_grad():
        x += 1
    assert np.array_equal(x.data, [2.0, 3.0]) and x.requires_grad


def test_in_place_on_data_a_recorded_backward_reads_raises_at_backward():
    w = tn.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = tn.Tensor(np.array([3.0, 4.0]))
    loss = (w * x).sum()
    x.mul_(2)  # w's gradient is x: changed after the forward pass
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_transpose_of_two_dims_swaps_them():
    x = tn.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.transpose(0, 1).shape == (3, 2) and np.array_equal(x.transpose(0, 1).data, x.data.T)
    y = tn.Tensor(np.zeros((2, 3, 4)))
    assert y.transpose(0, 2).shape == (4, 3, 2) and y.transpose(-1, -2).shape == (2, 4, 3)
    assert y.transpose((2, 0, 1)).shape == (4, 2, 3) and y.permute(2, 0, 1).shape == (4, 2, 3)


def test_max_with_a_dim_gives_values_and_indices():
    x = tn.Tensor(np.array([[1.0, 5.0], [7.0, 2.0]]), requires_grad=True)
    values, indices = x.max(dim=1)
    assert np.array_equal(values.data, [5.0, 7.0]) and np.array_equal(indices.data, [1, 0])
    values, indices = x.min(1)
    assert np.array_equal(values.data, [1.0, 2.0]) and np.array_equal(indices.data, [0, 1])
    x.max(dim=0).values.sum().backward()
    assert np.array_equal(x.grad, [[0.0, 1.0], [1.0, 0.0]])


def test_std_and_var_divide_by_n_minus_one():
    x = tn.Tensor(np.array([1.0, 2.0, 3.0, 4.0]))
    assert np.isclose(x.var().item(), np.var(x.data, ddof=1)) and np.isclose(x.std().item(), np.std(x.data, ddof=1))
    assert np.isclose(x.var(ddof=0).item(), np.var(x.data)) and np.isclose(x.var(correction=0).item(), np.var(x.data))


def test_numpy_functions_keep_the_gradient_or_say_so():
    x = tn.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    y = np.exp(x)
    assert isinstance(y, tn.Tensor)
    (np.sum(y) + (np.ones(2) * x).sum()).backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data) + 1)
    with pytest.raises(TypeError, match=r"np.cumsum of a Tensor that requires a gradient .* use t.cumsum\(dim\)"):
        np.cumsum(x)
    assert isinstance(np.array([1.0, 2.0]) < x, np.ndarray)  # comparisons have no gradient to lose
    with tn.no_grad():
        assert isinstance(np.cumsum(x), np.ndarray)  # nothing to lose where nothing is recorded


# ---------------------------------------------------------------- docs/pytorch.md's table, against PyTorch

ROW = re.compile(r"^\| `(?P<code>[^`]+)` \|", re.MULTILINE)


def table_rows() -> list[str]:
    text = (ROOT / "docs" / "pytorch.md").read_text()
    return ROW.findall(text.split("## Where numpy and PyTorch disagree", 1)[1].split("\n## ", 1)[0])


def test_the_table_has_every_place():
    assert len(table_rows()) >= 10


@pytest.mark.parametrize("code", table_rows())
def test_each_row_of_the_table_gives_pytorchs_answer_or_a_named_error(code):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_pytorch_idioms import NAMED_DIFFERENCES, agree, run

    pytest.importorskip("torch")
    if code in NAMED_DIFFERENCES:
        with pytest.raises(RuntimeError, match=NAMED_DIFFERENCES[code]):
            run(code, "tinynet")
        return
    try:
        expected = run(code, "torch")
    except Exception as torch_error:  # PyTorch refuses it too: so must tinynet
        with pytest.raises(type(torch_error)):
            run(code, "tinynet")
        return
    got = run(code, "tinynet")
    assert agree(got[0], expected[0]) and agree(got[1], expected[1]), code
