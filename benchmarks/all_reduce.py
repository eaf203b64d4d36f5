"""How long one all_reduce of a model's flat gradients takes, as data-parallel training does it
once per step (docs/distributed.md):

    mpirun -n 2 python benchmarks/all_reduce.py      # as root: mpirun --allow-run-as-root ...

For each size (the MNIST MLP's 235,146 parameters, the CNN's 206,922, and larger) rank 0
prints the median time of `tinynet.distributed.all_reduce(grads, op="mean")` in float32, the
bytes each rank sends in a ring all-reduce, 2(N-1)/N times the array, and the rate that makes.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from machine import describe_machine

from tinynet import distributed as dist

SIZES = {"MNIST CNN": 206_922, "MNIST MLP": 235_146, "1M parameters": 1_000_000, "10M parameters": 10_000_000}


def median_seconds(array: np.ndarray, repeats: int = 50) -> float:
    times = []
    for _ in range(repeats):
        dist.barrier()
        start = time.perf_counter()
        dist.all_reduce(array, op="mean")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ranks = dist.get_world_size()
    if dist.get_rank() == 0:
        print(describe_machine())
        print(f"{ranks} ranks; float32; median of 50 all_reduce(op='mean') calls")
        print(f"{'array':>15} {'parameters':>11} {'MB sent per rank':>17} {'ms':>8} {'GB/s':>6}")
    for name, size in SIZES.items():
        array = np.ones(size, dtype=np.float32)
        median_seconds(array, repeats=5)  # warm-up
        seconds = median_seconds(array)
        sent = 2 * (ranks - 1) / ranks * array.nbytes
        if dist.get_rank() == 0:
            print(f"{name:>15} {size:>11,} {sent / 1e6:>17.2f} {seconds * 1e3:>8.3f} {sent / seconds / 1e9:>6.2f}")


if __name__ == "__main__":
    main()
