"""tn.detect_anomaly(): the first op whose output, or whose gradient in backward(), holds a NaN
or an Inf raises, naming the op and the line of the user's code that created its result."""

import sys

import numpy as np
import pytest

import tinynet as tn
from tinynet import anomaly, nn


def here(offset: int = 1) -> str:
    """'this file:line' for the line `offset` lines below the caller's."""
    frame = sys._getframe(1)
    return f"{frame.f_code.co_filename}:{frame.f_lineno + offset}"


@pytest.fixture(autouse=True)
def quiet_numpy():
    with np.errstate(all="ignore"):  # numpy's own warnings; the errors under test say more
        yield


def test_a_nan_in_the_forward_pass_names_the_op_and_the_users_line():
    x = tn.Tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True)
    with tn.detect_anomaly(), pytest.raises(RuntimeError) as error:
        where = here()
        x.log()
    message = str(error.value)
    assert "the output of 'log'" in message and "1 NaN of its 3 values" in message
    assert f"created at {where}" in message


def test_the_users_line_is_found_past_tinynets_own_frames():
    model = nn.Sequential(nn.Linear(3, 2))
    model[0].weight.data[0, 0] = np.inf
    x = np.ones((1, 3), dtype=np.float32)
    with tn.detect_anomaly(), pytest.raises(RuntimeError, match="the output of 'Linear'") as error:
        where = here()
        model(x)
    assert f"created at {where}" in str(error.value)  # not in Module.__call__ or F.linear


def test_an_inf_in_the_backward_pass_names_the_op_and_where_it_was_created():
    v = tn.Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with tn.detect_anomaly():
        where = here()
        root = v.sqrt()  # finite: [2, 0]
        loss = root.sum()
        with pytest.raises(RuntimeError) as error:
            loss.backward()
    message = str(error.value)
    assert f"the backward of 'sqrt' (created at {where})" in message
    assert "for its input 0 (shape (2,)) that holds 1 Inf of its 2 values" in message


def test_a_nan_gradient_from_a_function_is_named():
    class Reciprocal(tn.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.ones_like(x)  # a wrong forward, but finite

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved
            return grad * np.log(x)  # NaN for x < 0

    x = tn.Tensor(np.array([-1.0, 1.0]), requires_grad=True)
    with tn.detect_anomaly(), pytest.raises(RuntimeError, match=r"the backward of 'Reciprocal' \(created at "):
        Reciprocal.apply(x).sum().backward()


def test_a_graph_built_before_the_mode_has_no_place_to_name():
    v = tn.Tensor(np.array([0.0]), requires_grad=True)
    loss = v.sqrt().sum()
    with tn.detect_anomaly(), pytest.raises(RuntimeError, match="created before detect_anomaly was on"):
        loss.backward()


def test_nothing_is_checked_outside_the_mode():
    x = tn.Tensor(np.array([-1.0, 0.0]), requires_grad=True)
    y = x.log()  # NaN and -Inf, silently, as in numpy
    y.sum().backward()
    assert np.isnan(y.data[0]) and np.isinf(x.grad[1])
    assert not hasattr(y, "_created_at")  # no call stack recorded outside the mode


def test_the_mode_ends_with_its_block_even_on_an_error():
    assert not anomaly.enabled
    with pytest.raises(RuntimeError), tn.detect_anomaly():
        tn.Tensor(np.array([np.nan])) + 1.0
    assert not anomaly.enabled
    with tn.detect_anomaly():
        with tn.detect_anomaly():
            pass
        assert anomaly.enabled  # the inner block restores what it found
    assert not anomaly.enabled


def test_it_works_as_a_decorator():
    @tn.detect_anomaly()
    def divide(a, b):
        return a / b

    with pytest.raises(RuntimeError, match="the output of 'div'"):
        divide(tn.Tensor(np.array([1.0])), tn.Tensor(np.array([0.0])))
    assert divide.__name__ == "divide" and not anomaly.enabled


def test_results_and_gradients_are_the_same_with_the_mode_on_or_off():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))

    def run():
        w = tn.Tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
        loss = ((tn.Tensor(x) @ w).tanh() * 3).logsumexp(axis=1).mean()
        loss.backward()
        return loss.data, w.grad

    off = run()
    with tn.detect_anomaly():
        on = run()
    np.testing.assert_array_equal(off[0], on[0])
    np.testing.assert_array_equal(off[1], on[1])


def test_integer_and_boolean_outputs_are_fine():
    with tn.detect_anomaly():
        t = tn.Tensor(np.array([1, 2, 3]))
        assert (t + t).data.tolist() == [2, 4, 6]
        assert tn.Tensor(np.array([True, False]))[::-1].data.tolist() == [False, True]
