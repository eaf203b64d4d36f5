"""tinynet.distributed and the DataLoader's shares: in one process (a world of one), and under
`mpirun -n 2 --oversubscribe` (tests/distributed_training.py), where data-parallel training
must give the parameters that one process training on the whole batches gives."""

import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import distributed as dist
from tinynet.data import DataLoader, TensorDataset

SCRIPT = Path(__file__).resolve().parent / "distributed_training.py"


def indices(loader):
    return [batch.tolist() for (batch,) in loader]


def share(loader):
    """Every index the loader gives in one pass, in order."""
    return [i for batch in indices(loader) for i in batch]


# ------------------------------------------------------------------ the DataLoader's shares


@pytest.mark.parametrize("n, world_size, batch_size", [(103, 2, 8), (100, 4, 5), (3, 4, 1), (64, 2, 32)])
def test_shares_are_disjoint_but_for_padding_cover_the_data_and_have_equal_batch_counts(n, world_size, batch_size):
    loaders = [
        DataLoader(TensorDataset(np.arange(n)), batch_size, shuffle=True, seed=5, rank=r, world_size=world_size)
        for r in range(world_size)
    ]
    shares = [share(loader) for loader in loaders]
    assert len({len(indices(loader)) for loader in loaders}) == 1
    assert {len(loader) for loader in loaders} == {len(indices(loaders[0]))}
    everything = [i for one in shares for i in one]
    assert set(everything) == set(range(n))
    per_rank = -(-n // world_size)
    assert all(len(share) == per_rank for share in shares)
    assert len(everything) - len(set(everything)) == per_rank * world_size - n  # only the padding repeats


def test_the_ranks_batches_together_are_the_batches_of_one_loader_with_the_global_batch():
    data = TensorDataset(np.arange(96))
    alone = indices(DataLoader(data, batch_size=32, shuffle=True, seed=1))
    ranks = [indices(DataLoader(data, batch_size=8, shuffle=True, seed=1, rank=r, world_size=4)) for r in range(4)]
    for b, batch in enumerate(alone):
        assert sorted(i for rank in ranks for i in rank[b]) == sorted(batch)


def test_each_pass_draws_a_new_order_shared_by_every_rank():
    data = TensorDataset(np.arange(40))
    loaders = [DataLoader(data, batch_size=4, shuffle=True, seed=9, rank=r, world_size=2) for r in range(2)]
    first = [share(loader) for loader in loaders]
    second = [share(loader) for loader in loaders]
    assert first[0] != second[0]
    for shares in (first, second):
        assert sorted(shares[0] + shares[1]) == list(range(40))


def test_unshuffled_shares_take_every_world_size_th_sample_and_drop_last_counts_per_rank():
    data = TensorDataset(np.arange(10))
    assert indices(DataLoader(data, batch_size=3, rank=1, world_size=3)) == [[1, 4, 7], [0]]  # order 0..9, 0, 1
    loader = DataLoader(data, batch_size=3, rank=1, world_size=3, drop_last=True)
    assert indices(loader) == [[1, 4, 7]]
    assert len(loader) == 1


def test_a_world_of_one_is_the_plain_loader():
    data = TensorDataset(np.arange(50))
    plain = indices(DataLoader(data, batch_size=7, shuffle=True, seed=2))
    assert indices(DataLoader(data, batch_size=7, shuffle=True, seed=2, rank=0, world_size=1)) == plain


def test_a_rank_resumes_from_the_state_rank_0_saved():
    data = TensorDataset(np.arange(60))
    saved_by_rank_0 = DataLoader(data, batch_size=5, shuffle=True, seed=4, rank=0, world_size=2)
    batches = iter(saved_by_rank_0)
    next(batches)
    state = saved_by_rank_0.state_dict()
    straight = indices(DataLoader(data, batch_size=5, shuffle=True, seed=4, rank=1, world_size=2))
    resumed = DataLoader(data, batch_size=5, shuffle=True, seed=99, rank=1, world_size=2)
    resumed.load_state_dict(state)
    assert indices(resumed) == straight[1:]


def test_a_state_from_another_world_size_is_refused_and_an_old_state_loads_as_a_world_of_one():
    data = TensorDataset(np.arange(60))
    state = DataLoader(data, batch_size=5, shuffle=True, seed=4, rank=0, world_size=2).state_dict()
    with pytest.raises(ValueError, match="world_size=2.*world_size=3"):
        DataLoader(data, batch_size=5, shuffle=True, seed=4, rank=0, world_size=3).load_state_dict(state)
    old = DataLoader(data, batch_size=5, shuffle=True, seed=4).state_dict()
    del old["world_size"]  # saved before loaders had shares
    DataLoader(data, batch_size=5, shuffle=True, seed=8).load_state_dict(old)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"rank": 0}, ValueError, "rank and world_size together"),
        ({"world_size": 2}, ValueError, "rank and world_size together"),
        ({"rank": 2, "world_size": 2}, ValueError, r"0 <= rank < world_size, got rank=2"),
        ({"rank": -1, "world_size": 2}, ValueError, "0 <= rank < world_size"),
        ({"rank": 0, "world_size": 0}, ValueError, "world_size >= 1"),
        ({"rank": 0.5, "world_size": 2}, TypeError, "rank must be an integer"),
        ({"rank": 0, "world_size": "2"}, TypeError, "world_size must be an integer"),
        ({"rank": 0, "world_size": 2, "shuffle": True}, ValueError, "give seed="),
    ],
)
def test_bad_shares_are_refused(options, error, message):
    with pytest.raises(error, match=message):
        DataLoader(TensorDataset(np.arange(10)), batch_size=2, **options)


# ------------------------------------------------------------------ tinynet.distributed in a world of one


def test_without_mpi4py_using_it_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py now fails
    fresh = importlib.reload(dist)
    try:
        with pytest.raises(ImportError, match=r'pip install -e "\.\[mpi\]"'):
            fresh.get_rank()
    finally:
        monkeypatch.undo()
        importlib.reload(dist)


def test_importing_it_does_not_start_mpi():
    code = "import tinynet, tinynet.distributed, sys; print('mpi4py' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None, reason='needs mpi4py: pip install -e ".[mpi]"')


@mpi
def test_outside_mpirun_it_is_a_world_of_one():
    assert (dist.get_rank(), dist.get_world_size()) == (0, 1)
    array = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    for op in ("sum", "mean", "max"):
        assert dist.all_reduce(array, op=op) is array
        np.testing.assert_array_equal(array, [1.0, -2.0, 3.0])
    assert dist.broadcast(array) is array
    dist.barrier()


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@mpi
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: dist.all_reduce([1.0, 2.0]), TypeError, "expected a numpy array.*got list"),
        (lambda: dist.all_reduce(np.ones(3), op="min"), ValueError, "op must be one of 'sum', 'mean', 'max'"),
        (lambda: dist.all_reduce(np.ones(3, dtype=np.int64), op="mean"), TypeError, "needs a float array"),
        (lambda: dist.all_reduce(np.ones((4, 4))[:, 0]), ValueError, "not contiguous"),
        (lambda: dist.all_reduce(np.array(["a"])), TypeError, "array of integers or floats"),
        (lambda: dist.all_reduce(np.array([True])), TypeError, "array of integers or floats, got dtype bool"),
        (lambda: dist.broadcast(read_only(np.ones(3))), ValueError, "read-only"),
        (lambda: dist.broadcast(np.ones(3), src=1), ValueError, r"src must be a rank in \[0, 0\], got 1"),
    ],
)
def test_bad_collectives_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ------------------------------------------------------------------ two ranks under mpirun


def mpirun() -> str:
    """Open MPI's mpirun: beside this Python (the `mpi` extra installs it into the environment) or on PATH."""
    beside = Path(sys.executable).with_name("mpirun")
    found = str(beside) if beside.exists() else shutil.which("mpirun")
    assert found, 'mpi4py is installed but mpirun is not: pip install -e ".[mpi]" installs Open MPI with it'
    return found


@mpi
def test_two_ranks_train_exactly_as_one_process_on_the_whole_batch(tmp_path):
    out = tmp_path / "report.json"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1"}
    command = [mpirun(), "-n", "2", "--oversubscribe", sys.executable, str(SCRIPT), str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["world_size"] == 2
    assert report["differed_before_broadcast"] and report["equal_after_broadcast"]
    assert report["ranks_equal_after_training"]
    assert report["moved"] > 0.01  # it trained
    assert report["relative_difference_to_one_process"] < 1e-9
    assert report["sum_of_ranks"] == 1.0 and report["max_of_ranks"] == 1.0
    shares = report["shares"]
    assert shares[0]["batches"] == shares[1]["batches"] == 7  # 52 samples each in batches of 8
    assert set(shares[0]["indices"]).isdisjoint(shares[1]["indices"][:-1])  # the last of rank 1 is the padding
    assert set(shares[0]["indices"]) | set(shares[1]["indices"]) == set(range(103))


@mpi
def test_the_main_job_trains_on_two_ranks_prints_once_and_resumes_bit_identical(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "mnist_mlp.py"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}

    def main_job(*flags):
        command = [mpirun(), "-n", "2", "--oversubscribe", sys.executable, str(example), "--distributed"]
        flags = [*flags, "--epochs", "2", "--train-size", "2000", "--quiet"]
        return subprocess.run(command + flags, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)

    straight = main_job("--save", "a.npz", "--checkpoint", "after{epoch}.npz")
    assert straight.returncode == 0, straight.stdout + straight.stderr
    assert straight.stdout.count("test accuracy: ") == 1 and straight.stdout.count("epoch  2 ") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "after1.npz", "after2.npz"]
    resumed = main_job("--save", "b.npz", "--resume", "after1.npz")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert resumed.stdout.splitlines()[-1] == straight.stdout.splitlines()[-1]
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert all(np.array_equal(a[name], b[name]) for name in a.files)
    odd = main_job("--batch-size", "127")
    assert odd.returncode != 0 and "127 images per step cannot be split evenly across 2 ranks" in odd.stderr
    alone = subprocess.run(
        [sys.executable, str(example), "--epochs", "2", "--train-size", "2000", "--resume", "after1.npz"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert alone.returncode == 2 and "written by 2 ranks; this run has 1 rank" in alone.stderr


# ------------------------------------------------------------------ a failing rank stops every rank


def documented_loop() -> str:
    """The training loop of docs/distributed.md ("Your own training loop"), as a reader copies it."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "distributed.md").read_text()
    return text.split("## Your own training loop", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]


def run_ranks(command, cwd, timeout=90):
    """`mpirun -n 2 command` and the seconds it took; the test fails instead of hanging."""
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMP_NUM_THREADS": "1"}
    start = time.monotonic()
    result = subprocess.run(
        [mpirun(), "-n", "2", "--oversubscribe", *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )
    return result, time.monotonic() - start


@mpi
@pytest.mark.parametrize("failing", [{1}, {0, 1}], ids=["rank 1 fails", "every rank fails"])
def test_an_exception_on_a_rank_of_the_documented_loop_stops_every_rank_and_is_printed_once(tmp_path, failing):
    loop = documented_loop()
    step = "        loss.backward()\n"
    assert step in loop
    failure = (
        f"        if epoch == 2 and rank in {failing}:\n            raise RuntimeError(f'disk gone on rank {{rank}}')\n"
    )
    (tmp_path / "train.py").write_text(loop.replace(step, step + failure))
    result, seconds = run_ranks([sys.executable, "train.py"], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert seconds < 30  # the ranks that did not fail were waiting in all_reduce
    first = min(failing)
    assert output.count("RuntimeError: disk gone on rank") == 1, output
    assert f"RuntimeError: disk gone on rank {first}" in output
    assert f"tinynet.distributed: rank {first} of 2 failed with the error above; stopping every rank" in output
    assert "final loss" not in output


@mpi
def test_the_main_job_stops_every_rank_when_rank_0_cannot_write_its_checkpoint(tmp_path):
    example = Path(__file__).resolve().parents[1] / "examples" / "mnist_mlp.py"
    (tmp_path / "after2.npz").mkdir()  # epoch 2's checkpoint cannot be written: a folder is in the way
    flags = ["--distributed", "--epochs", "4", "--train-size", "2000", "--quiet", "--checkpoint", "after{epoch}.npz"]
    result, seconds = run_ranks([sys.executable, str(example), *flags], tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert seconds < 60
    assert output.count("Traceback") == 1 and "IsADirectoryError" in output, output
    assert "tinynet.distributed: rank 0 of 2 failed with the error above; stopping every rank" in output
    assert "epoch  3" not in output and "test accuracy:" not in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["after1.npz", "after2.npz"]
    assert tn.load_checkpoint(tmp_path / "after1.npz")["epoch"] == 1
