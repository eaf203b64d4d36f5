"""Two versions of tinynet side by side in one process: the MNIST MLP's and CNN's training step,
version A and version B alternating in blocks of batches, so that both meet the same machine.

    git worktree add /tmp/before 635cc88           # any commit, as a folder
    python benchmarks/ab_versions.py /tmp/before .  # A = before, B = this checkout

Each version is imported from its folder in turn (the `tinynet` modules of the other are
unloaded first), builds the same model from the same seed and trains on the same real MNIST
batches of 128 with Adam, float32. Printed: per model, the median seconds per step of A and
of B over the blocks, and the median of the per-round ratios B / A (below 1: B is faster).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

from machine import describe_machine, keep_freed_memory

BATCH = 128


def load_tinynet(folder: Path):
    """The tinynet package of `folder`, freshly imported."""
    for name in [name for name in sys.modules if name == "tinynet" or name.startswith("tinynet.")]:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module("tinynet")
    finally:
        sys.path.remove(str(folder))


def build(tn, model: str):
    nn = tn.nn
    tn.manual_seed(0)
    if model == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )  # fmt: skip


def seconds_per_step(tn, model, opt, batches) -> float:
    start = time.perf_counter()
    for x, y in batches:
        loss = tn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
    return (time.perf_counter() - start) / len(batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="folder of version A (holding tinynet/)")
    parser.add_argument("b", type=Path, help="folder of version B")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--mlp-batches", type=int, default=60)
    parser.add_argument("--cnn-batches", type=int, default=8)
    args = parser.parse_args()
    keep_freed_memory()
    print(describe_machine())
    # B is imported last and its modules stay loaded, for the imports that B's code makes at call time
    versions = {name: load_tinynet(folder.resolve()) for name, folder in (("A", args.a), ("B", args.b))}
    x_train, y_train, _, _ = importlib.import_module("tinynet.data").load_mnist()  # B's
    for model_name, count in (("mlp", args.mlp_batches), ("cnn", args.cnn_batches)):
        shape = (-1, 784) if model_name == "mlp" else (-1, 1, 28, 28)
        starts = range(0, count * BATCH, BATCH)
        batches = [(x_train[i : i + BATCH].reshape(shape), y_train[i : i + BATCH]) for i in starts]
        runs = {}
        for name, tn in versions.items():
            model = build(tn, model_name)
            runs[name] = (tn, model, tn.optim.Adam(lr=1e-3))
            seconds_per_step(*runs[name], batches[:3])  # warm up
        times: dict[str, list[float]] = {"A": [], "B": []}
        for round_number in range(args.rounds):
            order = ("A", "B") if round_number % 2 == 0 else ("B", "A")
            for name in order:
                times[name].append(seconds_per_step(*runs[name], batches))
        ratios = [b / a for a, b in zip(times["A"], times["B"])]
        print(
            f"{model_name}: A {statistics.median(times['A']) * 1e3:.3f} ms/step, "
            f"B {statistics.median(times['B']) * 1e3:.3f} ms/step, median B/A {statistics.median(ratios):.3f} "
            f"(ratios {', '.join(f'{r:.3f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
