"""The price of autograd alone: a training step of the reference MLP's shape with layers so small
(8, 8, 8, 4 units, a batch of 4) that numpy's arithmetic costs next to nothing, so what is left
is Python: building and walking the graph, the checks on the inputs, the optimizer's loop.

    python benchmarks/overhead.py
    python benchmarks/overhead.py --steps 50000

tinynet's step in its parts (forward, loss, zero_grad, backward, Adam) beside the whole step of
the hand-written numpy loop (benchmarks/numpy_mlp.py) with the same sizes, alternating in one
process; microseconds, 10th percentile of --steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe_machine
from numpy_mlp import NumpyMLP

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinynet import functional as F
from tinynet import nn, optim

SIZES = (8, 8, 8, 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20000)
    args = parser.parse_args()
    net = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 4))
    opt, baseline = optim.Adam(lr=1e-3), NumpyMLP(sizes=SIZES)
    x = np.random.default_rng(0).standard_normal((4, 8), dtype=np.float32)
    y = np.arange(4)
    parts = ("forward", "loss", "zero_grad", "backward", "Adam", "whole step", "numpy loop, whole step")
    times = {part: [] for part in parts}
    now = time.perf_counter_ns
    for _ in range(args.steps):
        t0 = now()
        out = net(x)
        t1 = now()
        loss = F.cross_entropy(out, y)
        t2 = now()
        net.zero_grad()
        t3 = now()
        loss.backward()
        t4 = now()
        opt.step(net.grads, net.params)
        t5 = now()
        baseline.train_step(x, y)
        t6 = now()
        for part, start, end in zip(parts, (t0, t1, t2, t3, t4, t0, t5), (t1, t2, t3, t4, t5, t5, t6)):
            times[part].append(end - start)
    print(f"layers {SIZES}, batch 4, µs per step (10th percentile of {args.steps}); {describe_machine()}")
    for part, values in times.items():
        values.sort()
        print(f"  {part:24s} {values[len(values) // 10] / 1e3:7.1f}")


if __name__ == "__main__":
    main()
