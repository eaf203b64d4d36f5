"""The benchmarks compare like with like: the hand-written numpy baseline computes what tinynet
computes, and the profiling scripts still run."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinynet import functional as F
from tinynet import optim
from tinynet.data import load_mnist

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from numpy_mlp import NumpyMLP  # noqa: E402


def test_the_numpy_baseline_computes_tinynets_loss_gradients_and_adam_step():
    sys.path.insert(0, str(ROOT / "examples"))
    from mnist_mlp import make_model

    x_train, y_train, _, _ = load_mnist()
    x, y = x_train[:64].reshape(-1, 784), y_train[:64]
    baseline, net = NumpyMLP(seed=0), make_model()
    net.params[...] = baseline.params  # the same layout: each layer's weight, then its bias

    activations = baseline.forward(x)
    baseline_loss, grad = baseline.loss_and_gradient(activations[-1], y)
    baseline.backward(activations, grad)
    loss = F.cross_entropy(net(x), y)
    net.zero_grad()
    loss.backward()
    np.testing.assert_allclose(float(loss.data), baseline_loss, rtol=1e-5)
    np.testing.assert_allclose(net.grads, baseline.grads, rtol=1e-4, atol=1e-6)

    baseline.grads[...] = net.grads  # Adam alone, from the same gradients, three steps
    adam = optim.Adam(lr=1e-3)
    for _ in range(3):
        baseline.adam()
        adam.step(net.grads, net.params)
    np.testing.assert_allclose(net.params, baseline.params, rtol=1e-6, atol=1e-7)


def run_benchmark(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_profile_step_times_the_parts_of_tinynets_and_numpys_mlp_step():
    for framework, part in (("tinynet", "linear1 backward"), ("numpy", "backward (3 layers")):
        out = run_benchmark("benchmarks/profile_step.py", "--model", "mlp", "--batches", "3", "--only", framework)
        assert part in out and "whole step" in out


def test_adam_threads_times_one_and_two_threads():
    out = run_benchmark("benchmarks/adam_threads.py", "--sizes", "1000", "--steps", "20")
    assert "after a product" in out and out.count("1000 ") == 2


def test_overhead_times_tinynets_parts_beside_the_numpy_loop():
    out = run_benchmark("benchmarks/overhead.py", "--steps", "50")
    assert "backward" in out and "numpy loop, whole step" in out


def test_activations_times_the_cnn_with_each_activation():
    pytest.importorskip("torch")  # the benchmark times PyTorch's CNN beside tinynet's
    out = run_benchmark("benchmarks/activations.py", "--steps", "1", "--activations", "ReLU", "GELU (tanh)")
    assert "ReLU" in out and "GELU (tanh)" in out


def test_char_gpt_benchmark_times_both_frameworks_from_the_same_weights():
    pytest.importorskip("torch")
    out = run_benchmark("benchmarks/char_gpt.py", "--rounds", "1", "--steps", "1", "--warmup", "0")
    rows = {line.split()[0]: line.split() for line in out.splitlines() if "MiB" in line}
    assert set(rows) == {"tinynet", "pytorch"} and "tinynet / PyTorch:" in out
    assert rows["tinynet"][-1] == rows["pytorch"][-1]  # the same loss after the same steps, to 4 decimals


def test_the_attention_baseline_computes_what_tinynet_computes():
    from attention import numpy_attention, tinynet_attention

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 5, 4)) for _ in range(4)]
    for mine, baseline in zip(tinynet_attention(*arrays), numpy_attention(*arrays)):
        np.testing.assert_allclose(mine, baseline, rtol=1e-10, atol=1e-12)
    out = run_benchmark("benchmarks/attention.py", "--shape", "2", "2", "8", "4", "--steps", "2", "--repeats", "1")
    assert "tinynet / numpy" in out and "float32, shape (2, 2, 8, 4)" in out
