"""Graph safety, as in PyTorch: backward() frees the graph it walked (a second pass raises and
names retain_graph=True), and the data of a leaf (an input, a parameter) that a backward
reads, changed in place between the forward and the backward pass, is an error naming the op
instead of a wrong gradient."""

import gc
import weakref

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim

SECOND_BACKWARD = r"backward through the graph a second time.*retain_graph=True"
MODIFIED = r"was modified in place after the forward pass.*Clone it before modifying it"


def leaf(*shape, seed=0):
    return tn.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


class DoubleSquare(tn.Function):
    """2 x²; saves a fresh array (2x) and keeps a weak reference to it, to watch it go."""

    saved_ref = None

    @staticmethod
    def forward(ctx, x):
        twice = 2 * x
        ctx.save_for_backward(twice)
        DoubleSquare.saved_ref = weakref.ref(twice)
        return twice * x

    @staticmethod
    def backward(ctx, grad):
        (twice,) = ctx.saved
        return 2 * twice * grad


class SumAndProduct(tn.Function):
    """(a + b, a * b): two results from one op, so a hidden node between inputs and results."""

    saved_ref = None

    @staticmethod
    def forward(ctx, a, b):
        pair = np.stack([a, b])
        ctx.save_for_backward(pair)
        SumAndProduct.saved_ref = weakref.ref(pair)
        return a + b, a * b

    @staticmethod
    def backward(ctx, grad_sum, grad_product):
        a, b = ctx.saved[0]
        return grad_sum + grad_product * b, grad_sum + grad_product * a


# ---------------------------------------------------------------- freeing the graph


def test_a_second_backward_raises_and_names_retain_graph():
    x = leaf(3)
    loss = (x * x).tanh().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        loss.backward()


def test_a_new_graph_through_a_freed_intermediate_raises_too():
    x = leaf(3)
    hidden = x.exp()
    hidden.sum().backward()
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        (hidden * 2).sum().backward()  # reaches hidden's freed op, as in PyTorch


def test_retain_graph_keeps_it_and_the_gradients_add_up():
    x = leaf(3)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 2 * x.data)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, 4 * x.data)
    loss.backward()  # the last one may free it
    np.testing.assert_allclose(x.grad, 6 * x.data)
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        loss.backward()


def test_a_freed_tensor_keeps_its_values():
    x = leaf(2, 3)
    hidden = (x * 2).relu()
    values = hidden.data.copy()
    hidden.sum().backward()
    np.testing.assert_array_equal(hidden.data, values)
    np.testing.assert_array_equal(hidden.numpy(), values)
    assert hidden.requires_grad and hidden.shape == (2, 3)
    np.testing.assert_array_equal(hidden.detach().data, values)
    y = hidden.detach() * x  # a new graph from the detached values works
    y.sum().backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data > 0) + values)


def test_freeing_releases_the_saved_arrays():
    x = leaf(4)
    loss = DoubleSquare.apply(x).sum()
    assert DoubleSquare.saved_ref() is not None
    loss.backward()
    assert DoubleSquare.saved_ref() is None  # gone at once, without a garbage collection
    np.testing.assert_allclose(x.grad, 4 * x.data)


def test_freeing_releases_the_intermediate_tensors():
    x = leaf(4)
    loss = (x * 3).tanh().sum()
    data_of_tanh = weakref.ref(loss._parents[0].data)
    loss.backward()
    gc.collect()
    assert data_of_tanh() is None


def test_retain_graph_keeps_the_saved_arrays_until_the_graph_goes():
    x = leaf(4)
    loss = DoubleSquare.apply(x).sum()
    loss.backward(retain_graph=True)
    assert DoubleSquare.saved_ref() is not None
    del loss
    assert DoubleSquare.saved_ref() is None


def test_an_op_with_several_results_is_freed_through_either_result():
    a, b = leaf(3, seed=1), leaf(3, seed=2)
    total, product = SumAndProduct.apply(a, b)
    product.sum().backward()
    np.testing.assert_allclose(a.grad, b.data)
    assert SumAndProduct.saved_ref() is None  # the hidden node let go of what the op saved
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        total.sum().backward()  # the other result reaches the same freed op
    with pytest.raises(RuntimeError, match=SECOND_BACKWARD):
        product.sum().backward()
    np.testing.assert_allclose(total.data, a.data + b.data)  # the results keep their values


def test_an_op_with_several_results_and_retain_graph():
    a, b = leaf(3, seed=1), leaf(3, seed=2)
    total, product = SumAndProduct.apply(a, b)
    product.sum().backward(retain_graph=True)
    total.sum().backward()
    np.testing.assert_allclose(a.grad, b.data + 1)
    np.testing.assert_allclose(b.grad, a.data + 1)


# ---------------------------------------------------------------- changes in place


def test_an_input_changed_in_place_is_caught_with_the_op_named():
    x = np.random.default_rng(0).standard_normal((4, 3))
    layer = nn.Linear(3, 2)
    layer.to(np.float64)
    loss = layer(x).sum()
    x *= 2
    with pytest.raises(RuntimeError, match=r"the data of input 0 of 'Linear' \(shape \(4, 3\)") as error:
        loss.backward()
    assert "x.copy()" in str(error.value)


def test_one_element_of_a_small_array_is_enough():
    x = leaf(5)
    data = np.arange(5.0)
    loss = (x * data).sum()
    data[3] = 0.0
    with pytest.raises(RuntimeError, match=r"input 1 of 'mul' \(shape \(5,\)"):
        loss.backward()


def test_the_results_of_ops_are_not_checked():
    """The documented limit, kept for the 2% budget: an op's result, changed through .data."""
    x = leaf(3)
    hidden = x.exp()
    hidden.data[...] = 1.0
    hidden.sum().backward()  # exp's backward reads its output: the gradient follows the change
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_a_new_batch_written_into_the_same_large_buffer_is_caught():
    rng = np.random.default_rng(0)
    buffer = rng.random((128, 784), dtype=np.float32)  # 392 KiB: checked by a sample
    model = nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10))
    loss = F.cross_entropy(model(buffer), rng.integers(0, 10, 128))
    buffer[...] = rng.random((128, 784), dtype=np.float32)
    with pytest.raises(RuntimeError, match="input 0 of 'Linear'"):
        loss.backward()


def test_a_shuffle_in_place_is_caught():
    rng = np.random.default_rng(0)
    data = rng.random((256, 300))  # 600 KiB: checked by a sample
    w = leaf(300, 2)
    loss = (tn.Tensor(data) @ w).sum()
    rng.shuffle(data)
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_an_optimizer_step_before_backward_is_caught():
    rng = np.random.default_rng(0)
    model = nn.Linear(300, 300)  # a weight of 352 KiB: checked by a sample
    opt = optim.SGD(lr=0.1)
    x = rng.standard_normal((8, 300)).astype(np.float32)
    model(x).sum().backward()
    opt.step(model.grads, model.params)  # a first step packs the parameters into one flat store
    loss = (model(x) ** 2).sum()
    opt.step(model.grads, model.params)  # moves, in place, the weights that loss's graph still needs
    with pytest.raises(RuntimeError, match="input 1 of 'Linear'"):
        loss.backward()


def test_retain_graph_still_checks_before_the_second_pass():
    x = leaf(3)
    data = np.ones(3)
    loss = (x * data).sum()
    loss.backward(retain_graph=True)
    data += 1
    with pytest.raises(RuntimeError, match=MODIFIED):
        loss.backward()


def test_arrays_a_backward_does_not_read_may_change():
    x = leaf(3)
    data = np.ones(3)
    loss = (x + data).sum()  # add's backward reads neither input
    data[...] = 5.0
    loss.backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_changes_after_backward_are_fine():
    x = leaf(3)
    data = np.ones(3)
    loss = (x * data).sum()
    loss.backward()
    data[...] = 5.0  # the graph is gone: nothing to check
    np.testing.assert_array_equal(x.grad, np.ones(3))


def test_no_grad_records_nothing_to_check():
    x = leaf(3)
    with tn.no_grad():
        y = x * x
    assert y._saved == () and not y.requires_grad


# ---------------------------------------------------------------- training


def test_an_mlp_still_trains():
    tn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = optim.Adam(lr=1e-2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
