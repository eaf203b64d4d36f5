"""Run by tests/test_distributed.py as `mpirun -n 2 python tests/distributed_training.py OUT.json`.

Every rank makes its model from its own seed, so only broadcast makes them equal; then the
ranks train 20 steps data-parallel (global batch 64 split across the ranks, one all_reduce of
the flat gradients per step), and rank 0 trains the same model alone on the whole batches.
Rank 0 writes what it found to OUT.json; the test checks it. float64 throughout.
"""

import json
import sys
from pathlib import Path

import numpy as np
from mpi4py import MPI

import tinynet as tn
from tinynet import distributed as dist
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.data import DataLoader, TensorDataset, load_mnist

STEPS, GLOBAL_BATCH, SAMPLES, SEED = 20, 64, 640, 7  # 20 steps: two passes over the 640 samples
MNIST = Path(__file__).resolve().parents[1] / "datasets" / "mnist"


def make_model(seed: int) -> nn.Module:
    tn.manual_seed(seed)
    return nn.Sequential(nn.Linear(784, 32), nn.Tanh(), nn.Linear(32, 10))


def train(model: nn.Module, loader: DataLoader, average_gradients: bool) -> None:
    opt = optim.SGDm(lr=0.1, momentum=0.9)
    steps = 0
    while steps < STEPS:
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            model.zero_grad()
            loss.backward()
            if average_gradients:
                dist.all_reduce(model.grads, op="mean")
            opt.step(model.grads, model.params)
            steps += 1


def shares(rank: int, world_size: int) -> dict:
    """The indices each rank's loader gives over 103 samples (not a multiple of 2), batch 8."""
    loader = DataLoader(TensorDataset(np.arange(103)), 8, shuffle=True, seed=3, rank=rank, world_size=world_size)
    batches = [batch.tolist() for (batch,) in loader]
    return {"batches": len(batches), "indices": [i for batch in batches for i in batch]}


def main(out: str) -> None:
    tn.set_default_dtype(np.float64)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    world = MPI.COMM_WORLD
    x_train, y_train, _, _ = load_mnist(MNIST)
    data = TensorDataset(x_train[:SAMPLES].reshape(-1, 784).astype(np.float64), y_train[:SAMPLES])

    model = make_model(seed=rank)
    before = world.gather(model.params.copy())
    dist.broadcast(model.params, src=0)
    after = world.gather(model.params.copy())

    loader = DataLoader(
        data, batch_size=GLOBAL_BATCH // world_size, shuffle=True, seed=SEED, rank=rank, world_size=world_size
    )
    train(model, loader, average_gradients=True)
    trained = world.gather(model.params.copy())
    found_shares = world.gather(shares(rank, world_size))

    if rank == 0:
        alone = make_model(seed=0)
        train(alone, DataLoader(data, batch_size=GLOBAL_BATCH, shuffle=True, seed=SEED), average_gradients=False)
        report = {
            "world_size": world_size,
            "differed_before_broadcast": not np.array_equal(before[0], before[1]),
            "equal_after_broadcast": all(np.array_equal(after[0], p) for p in after),
            "ranks_equal_after_training": all(np.array_equal(trained[0], p) for p in trained),
            "relative_difference_to_one_process": float(
                np.abs(trained[0] - alone.params).max() / np.abs(alone.params).max()
            ),
            "moved": float(np.abs(trained[0] - after[0]).max()),
            "shares": found_shares,
            "sum_of_ranks": float(dist.all_reduce(np.array([float(rank)]), op="sum")[0]),
            "max_of_ranks": float(dist.all_reduce(np.array([float(rank)]), op="max")[0]),
        }
        Path(out).write_text(json.dumps(report))
    else:
        dist.all_reduce(np.array([float(rank)]), op="sum")
        dist.all_reduce(np.array([float(rank)]), op="max")
    dist.barrier()


if __name__ == "__main__":
    main(sys.argv[1])
