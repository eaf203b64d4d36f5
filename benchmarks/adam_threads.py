"""Would a second thread speed up tinynet's Adam step? On one core and on two, alone and in a
training loop, where every step follows a matrix product.

    python benchmarks/adam_threads.py
    python benchmarks/adam_threads.py --sizes 235146 1000000 --steps 2000

"one thread" is `optim.Adam().step(grads, params)`. "two threads" splits the flat arrays in
halves and steps each with an Adam of its own (an Adam keeps state per element, so two halves
make the same step as the whole), one half in a worker thread: numpy releases the GIL inside
its loops, so the halves can run at once. "after a product" times the same steps, each right
after the MLP's first-layer matrix product (128x784 by 784x256, untimed), as in a training
loop: OpenBLAS's worker threads, which multiplied on the other cores, go on spinning for a
while after a product before they sleep, so a thread of ours may find no free core.
Microseconds per step, 10th percentile and median, in one process.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from machine import describe_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tinynet import optim


def timings(step, steps: int, before=None) -> tuple[float, float]:
    """(10th percentile, median) of `steps` calls of step(), in µs; before() runs untimed before each."""
    times = []
    for _ in range(steps):
        if before is not None:
            before()
        start = time.perf_counter_ns()
        step()
        times.append(time.perf_counter_ns() - start)
    times.sort()
    return times[steps // 10] / 1e3, times[steps // 2] / 1e3


def adam_steps(size: int, worker: ThreadPoolExecutor):
    """(one_thread, two_threads): functions that make one Adam step on `size` random parameters."""
    rng = np.random.default_rng(size)
    grads, params = rng.standard_normal(size, dtype=np.float32), rng.standard_normal(size, dtype=np.float32)
    whole, first, second = optim.Adam(), optim.Adam(), optim.Adam()
    half = size // 2

    def one_thread():
        whole.step(grads, params)

    def two_threads():
        other = worker.submit(second.step, grads[half:], params[half:])
        first.step(grads[:half], params[:half])
        other.result()

    return one_thread, two_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[235146, 1000000], help="parameters (the MLP: 235146)")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((128, 784), dtype=np.float32), rng.standard_normal((256, 784), dtype=np.float32)

    def product():
        return x @ w.T

    print(f"Adam step, µs (10th percentile / median of {args.steps}); {describe_machine()}")
    print(f"{'parameters':>10s} {'':16s} {'one thread':>16s} {'two threads':>16s} {'two / one':>10s}")
    with ThreadPoolExecutor(1) as worker:
        for size in args.sizes:
            one_thread, two_threads = adam_steps(size, worker)
            for where, before in (("alone", None), ("after a product", product)):
                one, two = timings(one_thread, args.steps, before), timings(two_threads, args.steps, before)
                print(
                    f"{size:10d} {where:16s} {one[0]:7.0f} / {one[1]:6.0f} {two[0]:7.0f} / {two[1]:6.0f} "
                    f"{two[0] / one[0]:10.2f}"
                )


if __name__ == "__main__":
    main()
