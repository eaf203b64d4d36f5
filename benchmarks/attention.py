"""F.scaled_dot_product_attention's forward and backward at the character GPT's sizes (batch
12, 4 heads, context 64, head dimension 32, float32, causal), beside PyTorch's (2 threads and
1) and a hand-written numpy baseline that computes the same formulas with no graph.

    python benchmarks/attention.py
    python benchmarks/attention.py --shape 2 2 8 4 --steps 5

Milliseconds per forward and backward, median of --steps after 3 untimed ones, each framework
after a pause so that the other's idle threads have stopped spinning; the run is repeated
--repeats times, side by side.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe_machine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinynet as tn
from tinynet import functional as F


def numpy_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    """The causal attention's output and the gradients of q, k and v for the output's gradient
    g, in plain numpy: the formulas of tinynet/attention.py's docstring, with no graph."""
    scale = 1 / math.sqrt(q.shape[-1])  # a Python float: float32 stays float32
    scores = q @ k.swapaxes(-1, -2) * scale
    scores[..., ~np.tri(q.shape[-2], k.shape[-2], dtype=bool)] = -np.inf
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    grad_weights = g @ v.swapaxes(-1, -2)
    grad_scores = weights * (grad_weights - (grad_weights * weights).sum(axis=-1, keepdims=True))
    return weights @ v, grad_scores @ k * scale, grad_scores.swapaxes(-1, -2) @ q * scale, weights.swapaxes(-1, -2) @ g


def tinynet_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, ...]:
    """The same through F.scaled_dot_product_attention and backward()."""
    q, k, v = (tn.Tensor(x, requires_grad=True) for x in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    out.backward(g)
    return out.data, q.grad, k.grad, v.grad


def torch_attention(threads: int):
    """The same through torch's scaled_dot_product_attention on `threads` threads."""
    import torch

    def attention(q, k, v, g):
        torch.set_num_threads(threads)
        q, k, v = (torch.from_numpy(x).requires_grad_() for x in (q, k, v))
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        out.backward(torch.from_numpy(g))
        return out.detach().numpy(), q.grad.numpy(), k.grad.numpy(), v.grad.numpy()

    return attention


def median_ms(attention, arrays: list[np.ndarray], steps: int) -> float:
    """The median time of attention(*arrays) over `steps` calls, after 3 untimed ones."""
    time.sleep(0.25)
    times = []
    for _ in range(3 + steps):
        start = time.perf_counter()
        attention(*arrays)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", type=int, nargs=4, default=[12, 4, 64, 32], help="batch, heads, context, head dim")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(args.shape).astype(np.float32) for _ in range(4)]  # q, k, v, g
    runs = {"numpy": numpy_attention, "tinynet": tinynet_attention}
    try:
        import torch  # noqa: F401

        runs |= {"torch, 2 threads": torch_attention(2), "torch, 1 thread": torch_attention(1)}
    except ImportError:
        print("(PyTorch is not installed: tinynet and numpy only)")
    print(describe_machine())
    print(f"causal attention, forward and backward, float32, shape {tuple(args.shape)}: ms, median of {args.steps}")
    for _ in range(args.repeats):
        times = {name: median_ms(attention, arrays, args.steps) for name, attention in runs.items()}
        print("   ".join(f"{name} {ms:.2f}" for name, ms in times.items()))
        ratios = (f"tinynet / {name} {times['tinynet'] / ms:.2f}" for name, ms in times.items() if name != "tinynet")
        print("   ".join(ratios))


if __name__ == "__main__":
    main()
