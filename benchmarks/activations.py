"""The MNIST CNN's training step with each activation in place of its ReLUs: what swapping the
activation costs a user (the model of examples/mnist_cnn.py, real batches of 128, Adam).

    python benchmarks/activations.py
    python benchmarks/activations.py --activations ReLU LeakyReLU --steps 30

Milliseconds per step, median of --steps after 3 untimed steps, one activation after the other
in one process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from machine import describe_machine

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


def cnn(activation) -> nn.Module:
    """examples/mnist_cnn.py's model with `activation()` where it has nn.ReLU()."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        activation(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        activation(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        activation(),
        nn.Linear(128, 10),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activations", nargs="+", choices=list(ACTIVATIONS), default=list(ACTIVATIONS))
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    tn.memory.keep_freed_memory()  # as the examples do
    x_train, y_train, _, _ = load_mnist()
    x_train = x_train.reshape(-1, 1, 28, 28)
    print(f"the MNIST CNN, batch 128, ms per step (median of {args.steps}); {describe_machine()}")
    for name in args.activations:
        tn.manual_seed(0)
        model, opt = cnn(ACTIVATIONS[name]), optim.Adam(lr=1e-3)
        times = []
        for k in range(3 + args.steps):
            x, y = x_train[k * 128 : (k + 1) * 128], y_train[k * 128 : (k + 1) * 128]
            start = time.perf_counter()
            loss = F.cross_entropy(model(x), y)
            model.zero_grad()
            loss.backward()
            opt.step(model.grads, model.params)
            times.append(time.perf_counter() - start)
        print(f"  {name:12s} {1e3 * statistics.median(times[3:]):7.1f}")


if __name__ == "__main__":
    main()
