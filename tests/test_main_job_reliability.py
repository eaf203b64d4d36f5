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
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), *flags], capture_output=True, text=True, timeout=timeout
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


def test_ctrl_c_ends_cleanly_naming_the_last_checkpoint(tmp_path):
    checkpoint = tmp_path / "run.npz"
    flags = ["--epochs", "50", "--save", str(tmp_path / "model.npz"), "--checkpoint", str(checkpoint), *QUICK]
    job = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "mnist_mlp.py"), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    job.send_signal(signal.SIGINT)
    stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 130, stderr
    assert "Traceback" not in stderr and "saved the model" not in stdout
    match = re.search(
        rf"interrupted during epoch \d+; the last checkpoint is {re.escape(str(checkpoint))} "
        rf"\(after epoch (\d+)\): continue with --resume {re.escape(str(checkpoint))}",
        stderr,
    )
    assert match, stderr
    assert tn.load_checkpoint(checkpoint)["epoch"] == int(match[1])
    assert not (tmp_path / "model.npz").exists() and sorted(os.listdir(tmp_path)) == ["run.npz"]


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
