"""Reliability of the engine's core (issue 29): grad mode per thread, no leak with create_graph,
PyTorch's truthiness, deepcopy of a graph's tensors."""

import copy
import threading

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn
from tinynet.autograd import topological_order

# ---------------------------------------------------------------- grad mode is per thread


def test_no_grad_in_another_thread_leaves_this_thread_recording():
    inside, done = threading.Event(), threading.Event()

    def monitor():
        with tn.no_grad():
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=monitor)
    thread.start()
    inside.wait(10)
    try:
        model = nn.Linear(3, 2)
        for _ in range(50):  # while the other thread sits inside no_grad
            loss = model(np.ones((4, 3), np.float32)).sum()
            model.zero_grad()
            loss.backward()
            assert tn.is_grad_enabled() and np.abs(model.grads).sum() > 0
    finally:
        done.set()
        thread.join()


def test_each_thread_starts_recording_and_keeps_its_own_mode():
    seen = {}

    def worker():
        seen["start"] = tn.is_grad_enabled()
        with tn.no_grad():
            seen["inside"] = tn.is_grad_enabled()

    with tn.no_grad():
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        assert not tn.is_grad_enabled()
    assert seen == {"start": True, "inside": False} and tn.is_grad_enabled()


def test_no_grad_on_a_generator_applies_inside_it():
    @tn.no_grad()
    def predictions():
        for _ in range(3):
            yield tn.is_grad_enabled()

    modes = []
    for inside in predictions():
        modes.append((inside, tn.is_grad_enabled()))
    assert modes == [(False, True)] * 3  # off inside the generator, on between its items


def test_set_grad_enabled_enable_grad_and_inference_mode():
    x = tn.Tensor([1.0], requires_grad=True)
    with tn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with tn.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad
    with tn.inference_mode():
        assert not (x * 2).requires_grad
    with tn.inference_mode(False):
        assert (x * 2).requires_grad
    tn.set_grad_enabled(False)  # as a call: from now on
    try:
        assert not tn.is_grad_enabled()
    finally:
        tn.set_grad_enabled(True)
    with pytest.raises(TypeError, match="mode must be True or False"):
        tn.set_grad_enabled("no")


# ---------------------------------------------------------------- no leak with create_graph


def test_zero_grad_drops_recorded_gradients_so_graphs_do_not_chain():
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    with tn.no_grad():
        model[0].bias.data[...] = -100.0  # a dead ReLU layer: the first layer's gradient is exactly 0
    x = np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32)
    sizes = []
    for _ in range(5):
        model.zero_grad()
        model(x).sum().backward(create_graph=True)
        assert np.all(model[0].weight.grad.data == 0)
        sizes.append(len(topological_order(model[0].weight.grad)))
    assert len(set(sizes)) == 1, f"each step's recorded gradient chained onto the last: graph sizes {sizes}"


def resident_megabytes() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc")
def test_memory_stays_flat_over_a_create_graph_loop():
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 1))
    with tn.no_grad():
        model[0].bias.data[...] = -100.0
    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)

    def steps(count):
        for _ in range(count):
            model.zero_grad()
            model(x).sum().backward(create_graph=True)

    steps(20)
    before = resident_megabytes()
    steps(150)  # a chained graph keeps ~1.5 MB a step
    assert resident_megabytes() - before < 60


# ---------------------------------------------------------------- truthiness, as PyTorch


def test_truthiness_follows_pytorch():
    assert not tn.Tensor([0.0]) and tn.Tensor([2.0]) and tn.Tensor(np.array(1.0))
    loss = F.mse_loss(tn.Tensor([1.0]), tn.Tensor([1.0]))
    assert not loss  # a zero loss is False, as in PyTorch; no "len() of unsized object"
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(tn.Tensor(np.zeros(3)))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(tn.Tensor(np.zeros(0)))


# ---------------------------------------------------------------- deepcopy


def test_deepcopy_of_a_leaf_copies_data_and_grad():
    x = tn.Tensor(np.arange(3.0), requires_grad=True)
    (x * x).sum().backward()
    clone = copy.deepcopy(x)
    assert clone is not x and clone.requires_grad and np.array_equal(clone.grad, x.grad)
    clone.data[0] = 10.0
    assert x.data[0] == 0.0


def test_deepcopy_of_a_non_leaf_at_the_end_of_a_long_chain_is_refused_clearly():
    x = tn.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    with pytest.raises(RuntimeError, match=r"Only Tensors created explicitly by the user \(graph leaves\) support"):
        copy.deepcopy(y)
    assert copy.deepcopy(y.detach()).shape == (2,)
