"""The main job (examples/mnist_mlp.py) in a subprocess, on a slice of MNIST: a resumed run ends
bit-identical to an uninterrupted one, a diverging run stops at the first NaN without saving,
Ctrl-C ends cleanly naming the last checkpoint, and a bad flag stops before any data is loaded."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
QUICK = ["--train-size", "2000", "--quiet"]


def main_job(*flags, timeout=120):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), *map(str, flags)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def epoch_lines(stdout):
    """The per-epoch lines without their timings, and the final accuracy line."""
    return [re.sub(r"\s+[\d.]+ s$", "", line) for line in stdout.splitlines() if line.startswith(("epoch", "test"))]


def test_a_resumed_run_ends_bit_identical_to_an_uninterrupted_one(tmp_path):
    flags = ["--epochs", "3", *QUICK]
    straight = main_job(*flags, "--checkpoint", str(tmp_path / "after{epoch}.npz"), "--save", str(tmp_path / "a.npz"))
    assert straight.returncode == 0, straight.stderr
    assert sorted(os.listdir(tmp_path)) == ["a.npz", "after1.npz", "after2.npz", "after3.npz"]
    resumed = main_job(*flags, "--resume", str(tmp_path / "after1.npz"), "--save", str(tmp_path / "b.npz"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {tmp_path / 'after1.npz'} after epoch 1" in resumed.stdout
    assert epoch_lines(resumed.stdout) == epoch_lines(straight.stdout)[1:]  # epochs 2 and 3, and the accuracy
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert a.files == b.files
        for name in a.files:
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_a_diverging_run_stops_at_the_first_nan_and_saves_nothing(tmp_path):
    model, checkpoint = tmp_path / "good.npz", tmp_path / "good-checkpoint.npz"
    tn.nn.Linear(2, 2).save(model)  # the files of an earlier good run
    tn.save_checkpoint(checkpoint, epoch=5)
    before = model.read_bytes(), checkpoint.read_bytes()
    flags = [
        "--epochs",
        "2",
        "--optimizer",
        "sgdm",
        "--lr",
        "1000",
        "--save",
        str(model),
        "--checkpoint",
        str(checkpoint),
    ]
    result = main_job(*flags, *QUICK)
    assert result.returncode == 3
    assert re.search(r"error: the training loss became nan at epoch 1, step \d+ of 16", result.stderr)
    assert "Training stopped without saving" in result.stderr and "left as they were" in result.stderr
    assert "try a smaller --lr than 1000" in result.stderr
    assert "Traceback" not in result.stderr and "saved the model" not in result.stdout
    assert (model.read_bytes(), checkpoint.read_bytes()) == before
    assert sorted(os.listdir(tmp_path)) == ["good-checkpoint.npz", "good.npz"]


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], r"argument --epochs: must be at least 1, got 0"),
        (["--save", "/no/such/folder/model.npz"], r"argument --save: the folder /no/such/folder does not exist"),
        (["--data", "/no/such/folder"], r"argument --data: /no/such/folder is not an existing folder"),
    ],
)
def test_a_bad_flag_exits_with_status_2_and_a_usage_line(flags, message):
    result = main_job(*flags, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: mnist_mlp.py") and re.search(message, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- signals and the checkpoint on disk


def start_main_job(*flags, patch=""):
    """The main job in a subprocess, `patch` (Python code run after importing tinynet as tn)
    applied first; stdout and stderr are pipes."""
    code = "\n".join(
        [
            "import os, runpy, signal, sys, time",
            f"sys.path.insert(0, {str(EXAMPLES)!r})",
            "import tinynet as tn",
            patch,
            f"sys.argv = ['mnist_mlp.py', *{[str(f) for f in flags]!r}]",
            f"runpy.run_path({str(EXAMPLES / 'mnist_mlp.py')!r}, run_name='__main__')",
        ]
    )
    return subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1
    )


@pytest.mark.parametrize(
    "sig, status, words",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, r"terminated \(SIGTERM\)")],
    ids=["Ctrl-C", "SIGTERM"],  # SIGTERM: as `timeout`, SLURM and Kubernetes stop a job
)
def test_ctrl_c_and_sigterm_end_cleanly_naming_the_last_checkpoint(tmp_path, sig, status, words):
    checkpoint = tmp_path / "run.npz"
    job = start_main_job("--epochs", "50", "--save", tmp_path / "model.npz", "--checkpoint", checkpoint, *QUICK)
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job.send_signal(sig)
    stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == status, stderr
    assert "Traceback" not in stderr and "saved the model" not in stdout
    match = re.search(
        rf"{words} during epoch \d+; the last checkpoint is {re.escape(str(checkpoint))} "
        rf"\(after epoch (\d+)\): continue with --resume {re.escape(str(checkpoint))}",
        stderr,
    )
    assert match, stderr
    assert tn.load_checkpoint(checkpoint)["epoch"] == int(match[1])
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]  # no model file, no temporary left behind


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_during_the_checkpoint_write_lets_the_write_finish(tmp_path, sig, status):
    checkpoint = tmp_path / "after{epoch}.npz"
    signal_while_writing = (
        "write = tn.save_checkpoint\n"
        "def signalled(*args, **kwargs):\n"
        f"    os.kill(os.getpid(), {int(sig)})  # the signal arrives as the write begins\n"
        "    time.sleep(0.2)\n"
        "    write(*args, **kwargs)\n"
        "tn.save_checkpoint = signalled"
    )
    job = start_main_job("--epochs", "3", "--checkpoint", checkpoint, "--save", "", *QUICK, patch=signal_while_writing)
    stdout, stderr = job.communicate(timeout=120)
    assert job.returncode == status, stderr
    after1 = tmp_path / "after1.npz"
    assert f"during epoch 1; the last checkpoint is {after1} (after epoch 1)" in stderr, stderr
    assert tn.load_checkpoint(after1)["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["after1.npz"]
    assert "epoch  1" not in stdout  # interrupted before it was reported, but the epoch is not lost


def test_the_checkpoint_is_on_disk_before_its_epoch_is_reported(tmp_path):
    checkpoint = tmp_path / "run.npz"
    job = start_main_job("--epochs", "50", "--checkpoint", checkpoint, "--save", "", *QUICK)
    line = job.stdout.readline()
    while line and not line.startswith("epoch  1 "):
        line = job.stdout.readline()
    on_disk = checkpoint.exists()
    job.send_signal(signal.SIGINT)  # Ctrl-C right after "epoch 1 ..." names epoch 1's checkpoint at least
    _, stderr = job.communicate(timeout=60)
    assert line.startswith("epoch  1 ") and on_disk
    assert job.returncode == 130
    assert re.search(rf"the last checkpoint is {re.escape(str(checkpoint))} \(after epoch \d+\)", stderr), stderr


def test_eval_of_a_training_checkpoint_evaluates_its_model(tmp_path):
    run = main_job("--epochs", "1", "--checkpoint", tmp_path / "run.npz", "--save", "", *QUICK)
    assert run.returncode == 0, run.stderr
    evaluated = main_job("--eval", tmp_path / "run.npz")
    assert evaluated.returncode == 0, evaluated.stderr
    assert evaluated.stdout.splitlines()[-1] == run.stdout.splitlines()[-1]  # test accuracy: the same number
