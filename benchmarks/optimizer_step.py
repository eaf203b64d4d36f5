"""One optimizer step on a flat float32 vector: tinynet against torch.optim (foreach).

    python benchmarks/optimizer_step.py
    python benchmarks/optimizer_step.py --sizes 1000000 --repeats 20

Both update one flat array of parameters from one flat array of gradients; torch uses its
multi-tensor `foreach` implementation. The table gives the median milliseconds per step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinynet import optim

CASES = {
    "SGD momentum": (lambda: optim.SGD(lr=0.01, momentum=0.9), "SGD", {"lr": 0.01, "momentum": 0.9}),
    "Adam": (lambda: optim.Adam(lr=1e-3), "Adam", {"lr": 1e-3}),
}


def median_ms(step, repeats: int) -> float:
    step()  # the first step creates the state
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    try:
        import torch

        torch.set_num_threads(os.cpu_count())
    except ImportError:
        torch = None
        print("torch is not installed: tinynet only")

    print(f"{'optimizer':14s} {'parameters':>11s} {'tinynet ms':>11s} {'torch ms':>9s} {'tinynet/torch':>14s}")
    for size in args.sizes:
        rng = np.random.default_rng(0)
        grads = rng.standard_normal(size, dtype=np.float32)
        for name, (make_ours, torch_name, torch_kwargs) in CASES.items():
            params, opt = rng.standard_normal(size, dtype=np.float32), make_ours()
            ours = median_ms(partial(opt.step, grads, params), args.repeats)
            line = f"{name:14s} {size:11,d} {ours:11.2f}"
            if torch is not None:
                p = torch.nn.Parameter(torch.from_numpy(rng.standard_normal(size, dtype=np.float32)))
                p.grad = torch.from_numpy(grads)
                reference = getattr(torch.optim, torch_name)([p], foreach=True, **torch_kwargs)
                theirs = median_ms(reference.step, args.repeats)
                line += f" {theirs:9.2f} {ours / theirs:13.2f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
