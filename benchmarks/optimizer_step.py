"""One optimizer step on a flat float32 vector: tinynet against torch.optim (foreach).

    python benchmarks/optimizer_step.py
    python benchmarks/optimizer_step.py --sizes 1000000 --repeats 20

Both update one flat array of parameters from one flat array of gradients; torch uses its
multi-tensor `foreach` implementation. Each framework is timed in its own child process, and
each keeps freed memory, as the examples do (tinynet/memory.py; the same malloc setting for
both, see machine.keep_freed_memory). The table gives the median milliseconds per step, under
a header that names the machine (cores, CPU, versions).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe_machine, keep_freed_memory

ROOT = Path(__file__).resolve().parents[1]
CASES = {  # name: (class name in tinynet.optim and torch.optim, keyword arguments)
    "SGD momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "Adam": ("Adam", {"lr": 1e-3}),
}


def median_ms(step, repeats: int) -> float:
    step()  # the first step creates the state
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def flat_arrays(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The same float32 gradients and parameters for every framework."""
    rng = np.random.default_rng(0)
    return rng.standard_normal(size, dtype=np.float32), rng.standard_normal(size, dtype=np.float32)


def time_tinynet(case: str, size: int, repeats: int) -> float:
    sys.path.insert(0, str(ROOT))
    from tinynet import optim

    class_name, kwargs = CASES[case]
    grads, params = flat_arrays(size)
    opt = getattr(optim, class_name)(**kwargs)
    return median_ms(lambda: opt.step(grads, params), repeats)


def time_torch(case: str, size: int, repeats: int) -> float:
    import torch

    torch.set_num_threads(os.cpu_count())
    class_name, kwargs = CASES[case]
    grads, params = flat_arrays(size)
    p = torch.nn.Parameter(torch.from_numpy(params))
    p.grad = torch.from_numpy(grads)
    return median_ms(getattr(torch.optim, class_name)([p], foreach=True, **kwargs).step, repeats)


def in_child(function, *args) -> float:
    """function(*args) in a fresh process that keeps freed memory: what one framework imports
    doesn't touch the other."""
    with multiprocessing.get_context("spawn").Pool(1, initializer=keep_freed_memory) as pool:
        return pool.apply(function, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    has_torch = importlib.util.find_spec("torch") is not None
    if not has_torch:
        print("torch is not installed: tinynet only")

    print(describe_machine())
    print(f"{'optimizer':14s} {'parameters':>11s} {'tinynet ms':>11s} {'torch ms':>9s} {'tinynet/torch':>14s}")
    for size in args.sizes:
        for case in CASES:
            ours = in_child(time_tinynet, case, size, args.repeats)
            line = f"{case:14s} {size:11,d} {ours:11.2f}"
            if has_torch:
                theirs = in_child(time_torch, case, size, args.repeats)
                line += f" {theirs:9.2f} {ours / theirs:13.2f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
