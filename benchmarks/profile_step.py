"""Where a training step's time goes, op by op: tinynet, PyTorch and (for the MLP) hand-written numpy.

    python benchmarks/profile_step.py                  # the CNN, 200 batches each
    python benchmarks/profile_step.py --model mlp
    python benchmarks/profile_step.py --batches 100 --only tinynet

The workloads are those of benchmarks/mnist_mlp.py (real MNIST batches of 128, Adam, float32).
Each framework runs in a child process of its own, one after the other; each first trains
20 batches untimed.

tinynet: every layer's forward is timed, and every op's backward (the closure the graph
records, labelled with the layer that made it), plus the parts of the convolution the
backward and forward are made of (padding, im2col, col2im; the rest of a convolution is its
matrix products), the loss, zero_grad, the optimizer step and fetching the batch. "engine" is
what is left of the whole step: building and walking the graph, accumulating gradients.
PyTorch: torch.profiler's self CPU time per op (2 threads), and the whole step timed without
the profiler. numpy: the parts of a step of benchmarks/numpy_mlp.py and the whole step.
All in ms per step.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from machine import describe_machine, keep_freed_memory
from torch_models import torch_model

ROOT = Path(__file__).resolve().parents[1]
BATCH, LR, SEED, WARMUP = 128, 1e-3, 0, 20


def mnist_batches(model: str, count: int):
    """`count` shuffled (x, y) batches of MNIST in the model's input shape."""
    sys.path.insert(0, str(ROOT))
    from tinynet.data import load_mnist

    x_train, y_train, _, _ = load_mnist()
    x_train = x_train.reshape((-1, 784) if model == "mlp" else (-1, 1, 28, 28))
    order = np.random.default_rng(SEED).permutation(len(y_train))
    starts = [(k * BATCH) % (len(y_train) - BATCH) for k in range(count)]
    return [(x_train[order[s : s + BATCH]], y_train[order[s : s + BATCH]]) for s in starts]


class Timers:
    """Accumulated seconds per label."""

    def __init__(self):
        self.seconds = defaultdict(float)
        self.layer = "input"  # the layer whose forward runs now: labels the backward of its ops

    def wrap(self, label_of, function):
        """function, timed under label_of() (a label computed at each call)."""

        def timed(*args, **kwargs):
            start = time.perf_counter()
            result = function(*args, **kwargs)
            self.seconds[label_of()] += time.perf_counter() - start
            return result

        return timed


def profile_tinynet(model: str, batches) -> dict[str, float]:
    """ms per step of each layer's forward, each op's backward and the parts named in the
    module's docstring, over `batches` after WARMUP untimed ones."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "examples"))  # first: examples/mnist_mlp.py, not this folder's
    import tinynet as tn
    from tinynet import convolution, optim
    from tinynet import functional as F
    from tinynet.tensor import Tensor

    tn.manual_seed(SEED)
    net = (__import__("mnist_cnn") if model == "cnn" else __import__("mnist_mlp")).make_model()
    opt = optim.Adam(lr=LR)
    timers = Timers()
    counts: dict[str, int] = defaultdict(int)
    for layer in net:
        kind = type(layer).__name__
        counts[kind] += 1
        label = f"{kind.lower()}{counts[kind]}"

        def forward(*args, _label=label, _forward=layer.forward):
            timers.layer = _label
            return _forward(*args)

        # an instance attribute, beside Module's registry of parameters and layers
        object.__setattr__(layer, "forward", timers.wrap(lambda label=label: f"{label} forward", forward))
    make = Tensor._make

    def timed_make(data, parents, backward, op, saved=()):
        layer = timers.layer

        def backward_in_layer(*grads):
            timers.layer = layer  # labels the convolution's parts the backward calls
            return backward(*grads)

        return make(data, parents, timers.wrap(lambda: f"{layer} backward", backward_in_layer), op, saved)

    Tensor._make = staticmethod(timed_make)
    for name in ("_pad", "_im2col", "_col2im"):
        setattr(
            convolution, name, timers.wrap(lambda name=name: f"  {timers.layer}: {name}", getattr(convolution, name))
        )

    def loss_of(x, y):
        timers.layer = "loss"
        return F.cross_entropy(x, y)

    loss_of = timers.wrap(lambda: "loss forward", loss_of)
    zero_grad = timers.wrap(lambda: "zero_grad", net.zero_grad)
    step = timers.wrap(lambda: "optimizer step (Adam)", opt.step)

    def train(batches):
        for x, y in batches:
            loss = loss_of(net(x), y)
            zero_grad()
            loss.backward()
            step(net.grads, net.params)

    train(batches[:WARMUP])
    timers.seconds.clear()
    start = time.perf_counter()
    train(batches[WARMUP:])
    total = time.perf_counter() - start
    steps = len(batches) - WARMUP
    parts = {label: 1e3 * s / steps for label, s in timers.seconds.items()}
    whole = sum(v for k, v in parts.items() if not k.startswith("  "))
    parts["engine (graph, gradient accumulation, the rest)"] = 1e3 * total / steps - whole
    parts["whole step"] = 1e3 * total / steps
    return parts


def profile_pytorch(model: str, batches) -> dict[str, float]:
    """torch.profiler's self CPU time of the 18 costliest ops and the whole step, ms per step."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    net = torch_model(model)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]

    def train(batches):
        for x, y in batches:
            loss = torch.nn.functional.cross_entropy(net(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    train(tensors[:WARMUP])
    start = time.perf_counter()
    train(tensors[WARMUP:])
    steps = len(tensors) - WARMUP
    whole = 1e3 * (time.perf_counter() - start) / steps
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train(tensors[WARMUP:])
    parts = {e.key: e.self_cpu_time_total / 1e3 / steps for e in profiler.key_averages()}
    parts = dict(sorted(parts.items(), key=lambda item: -item[1])[:18])
    parts["whole step (without the profiler)"] = whole
    return parts


def profile_numpy(model: str, batches) -> dict[str, float]:
    """The parts of a step of benchmarks/numpy_mlp.py (forward, loss and its gradient, backward,
    Adam) and the whole step, ms per step."""
    sys.path.insert(0, str(Path(__file__).parent))
    from numpy_mlp import NumpyMLP

    net = NumpyMLP(lr=LR, seed=SEED)
    timers = Timers()
    for label, name in (
        ("forward (3 layers)", "forward"),
        ("loss forward and backward", "loss_and_gradient"),
        ("backward (3 layers, into the flat gradient)", "backward"),
        ("optimizer step (Adam)", "adam"),
    ):
        setattr(net, name, timers.wrap(lambda label=label: label, getattr(net, name)))
    for x, y in batches[:WARMUP]:
        net.train_step(x, y)
    timers.seconds.clear()
    start = time.perf_counter()
    for x, y in batches[WARMUP:]:
        net.train_step(x, y)
    steps = len(batches) - WARMUP
    parts = {label: 1e3 * s / steps for label, s in timers.seconds.items()}
    parts["whole step"] = 1e3 * (time.perf_counter() - start) / steps
    return parts


PROFILERS = {"tinynet": profile_tinynet, "pytorch": profile_pytorch, "numpy": profile_numpy}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    parser.add_argument("--batches", type=int, default=200, help="timed batches per framework")
    parser.add_argument("--only", choices=list(PROFILERS), help="profile one framework, in this process")
    args = parser.parse_args()
    if args.only is None:
        print(f"{args.model}, batch {BATCH}, {args.batches} batches; {describe_machine()}", flush=True)
        for name in PROFILERS if args.model == "mlp" else ("tinynet", "pytorch"):
            command = [sys.executable, __file__, "--model", args.model, "--batches", str(args.batches)]
            subprocess.run([*command, "--only", name], check=True)
        return
    keep_freed_memory()  # the same malloc setting for every framework (benchmarks/machine.py)
    parts = PROFILERS[args.only](args.model, mnist_batches(args.model, WARMUP + args.batches))
    print(f"\n{args.only}: ms per step")
    for label, ms in parts.items():
        print(f"  {label:58s} {ms:8.3f}")


if __name__ == "__main__":
    main()
