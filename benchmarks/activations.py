"""The MNIST CNN's training step with each activation in place of its ReLUs: what swapping the
activation costs a user (the model of examples/mnist_cnn.py, real batches of 128, Adam), in
tinynet and in PyTorch (when it is installed; its twin has the same layers).

    python benchmarks/activations.py
    python benchmarks/activations.py --activations ReLU LeakyReLU --steps 30

Milliseconds per step, median of --steps after 3 untimed steps; for each activation tinynet,
then PyTorch, in one process, with a pause before each so that the other's idle threads have
stopped spinning (see benchmarks/mnist_mlp.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe_machine
from torch_models import cnn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.data import load_mnist

ACTIVATIONS = {
    "ReLU": nn.ReLU,
    "LeakyReLU": nn.LeakyReLU,
    "ELU": nn.ELU,
    "SiLU": nn.SiLU,
    "Softplus": nn.Softplus,
    "Tanh": nn.Tanh,
    "GELU (tanh)": lambda: nn.GELU("tanh"),
    "GELU": nn.GELU,
}


def median_step_ms(step, batches, steps: int) -> float:
    """The median time of step(x, y) over `steps` batches, after 3 untimed ones."""
    time.sleep(0.25)  # the other framework's idle threads stop spinning
    times = []
    for x, y in batches[: 3 + steps]:
        start = time.perf_counter()
        step(x, y)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[3:])


def tinynet_step(name: str):
    tn.manual_seed(0)
    model, opt = cnn(nn, ACTIVATIONS[name]), optim.Adam(lr=1e-3)

    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)

    return step


def torch_step(name: str):
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    activation = getattr(torch.nn, name.split()[0])
    model = cnn(torch.nn, (lambda: activation("tanh")) if name == "GELU (tanh)" else activation)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(x, y):
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activations", nargs="+", choices=list(ACTIVATIONS), default=list(ACTIVATIONS))
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    tn.memory.keep_freed_memory()  # for this process: both frameworks get the setting, as the examples do
    x_train, y_train, _, _ = load_mnist()
    x_train = x_train.reshape(-1, 1, 28, 28)
    batches = [
        (x_train[k : k + 128], y_train[k : k + 128].astype(np.int64)) for k in range(0, 128 * (3 + args.steps), 128)
    ]
    has_torch = importlib.util.find_spec("torch") is not None
    print(f"the MNIST CNN, batch 128, ms per step (median of {args.steps}); {describe_machine()}")
    print(f"  {'activation':12s} {'tinynet':>8s}" + (f" {'PyTorch':>8s} {'ratio':>6s}" if has_torch else ""))
    for name in args.activations:
        ours = median_step_ms(tinynet_step(name), batches, args.steps)
        line = f"  {name:12s} {ours:8.1f}"
        if has_torch:
            theirs = median_step_ms(torch_step(name), batches, args.steps)
            line += f" {theirs:8.1f} {ours / theirs:6.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
