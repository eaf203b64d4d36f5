"""The MNIST examples' --diagnose and --report flags, and progress output fit for a log file,
on small slices of real MNIST."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

import numpy as np
from test_examples import EXAMPLES, load_example

QUICK = ["--train-size", "1000", "--save", "", "--quiet"]


def without_timings(out: str) -> list[str]:
    return [re.sub(r"\s+[\d.]+ s$", "", line) for line in out.splitlines() if line.startswith(("epoch", "test"))]


def test_diagnose_prints_the_table_after_every_epoch_and_changes_nothing_else(capsys):
    mnist_mlp = load_example("mnist_mlp")
    mnist_mlp.main(["--epochs", "2", *QUICK])
    plain = capsys.readouterr().out
    mnist_mlp.main(["--epochs", "2", *QUICK, "--diagnose"])
    diagnosed = capsys.readouterr().out
    assert without_timings(diagnosed) == without_timings(plain)
    lines = diagnosed.splitlines()
    assert [i for i, line in enumerate(lines) if line.startswith("parameter")] == [1, 12]  # after each epoch line
    table = lines[1:11]
    assert [row.split()[:2] for row in table[1:7]] == [
        ["0.weight", "256x784"],
        ["0.bias", "256"],
        ["2.weight", "128x256"],
        ["2.bias", "128"],
        ["4.weight", "10x128"],
        ["4.bias", "10"],
    ]
    assert all(0 < float(row.split()[4]) < 1 for row in table[1:7])  # update/weight of Adam's step
    relus = [row.split() for row in table[8:]]
    assert [(name, units, samples) for name, units, _, samples in relus] == [("1", "256", "1000"), ("3", "128", "1000")]
    assert all(0 <= float(dead.rstrip("%")) <= 100 for _, _, dead, _ in relus)


def test_diagnose_in_the_convolutional_example_counts_each_channel_and_pixel(capsys):
    load_example("mnist_cnn").main(["--epochs", "1", *QUICK, "--train-size", "256", "--diagnose"])
    relu_row = re.compile(r"\d+ +\d+ +[\d.]+% +\d+$")
    relus = [line.split() for line in capsys.readouterr().out.splitlines() if relu_row.match(line)]
    assert [(name, units, samples) for name, units, _, samples in relus] == [
        ("1", str(16 * 28 * 28), "256"),
        ("4", str(32 * 14 * 14), "256"),
        ("8", "128", "256"),
    ]


def test_a_run_resumed_with_diagnose_or_report_continues_the_run(tmp_path, capsys):
    mnist_mlp = load_example("mnist_mlp")
    checkpoint = str(tmp_path / "after{epoch}.npz")
    mnist_mlp.main(["--epochs", "2", *QUICK, "--checkpoint", checkpoint])
    straight = capsys.readouterr().out
    resume = ["--resume", str(tmp_path / "after1.npz"), "--diagnose", "--report"]
    mnist_mlp.main(["--epochs", "2", *QUICK, *resume])
    assert without_timings(capsys.readouterr().out) == without_timings(straight)[1:]


def report_of(out: str) -> tuple[np.ndarray, np.ndarray, float]:
    """(the rows of per-class numbers, the confusion matrix, the test accuracy) printed by --report."""
    lines = out.splitlines()
    start = lines.index("class precision    recall        f1  support")
    per_class = np.array([line.split()[1:] for line in lines[start + 1 : start + 11]], dtype=float)
    assert lines[start + 12] == "confusion matrix (rows: true class, columns: predicted class)"
    assert lines[start + 13].split() == [str(c) for c in range(10)]
    matrix = np.array([line.split() for line in lines[start + 14 : start + 24]], dtype=int)
    assert matrix[:, 0].tolist() == list(range(10))  # the row labels
    return per_class, matrix[:, 1:], float(lines[-1].removeprefix("test accuracy: "))


def test_report_prints_per_class_scores_and_the_confusion_matrix_of_the_test_set(tmp_path, capsys):
    mnist_mlp = load_example("mnist_mlp")
    saved = str(tmp_path / "mlp.npz")
    mnist_mlp.main(["--epochs", "1", *QUICK, "--save", saved, "--report"])
    out = capsys.readouterr().out
    per_class, matrix, accuracy = report_of(out)
    assert matrix.sum() == 10_000 and np.trace(matrix) / 10_000 == accuracy  # MNIST's test set, as classified
    precision, recall, f1, support = per_class.T
    np.testing.assert_array_equal(support, matrix.sum(axis=1))
    np.testing.assert_allclose(recall, np.diag(matrix) / matrix.sum(axis=1), atol=5e-5)
    np.testing.assert_allclose(precision, np.diag(matrix) / matrix.sum(axis=0), atol=5e-5)
    np.testing.assert_allclose(f1, 2 * precision * recall / (precision + recall), atol=2e-4)
    mnist_mlp.main(["--eval", saved, "--report"])
    assert report_of(capsys.readouterr().out)[1].tolist() == matrix.tolist()


def test_the_flags_are_listed():
    out = subprocess.run([sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--help"], capture_output=True, text=True)
    assert "--diagnose" in out.stdout and "--report" in out.stdout and "docs/diagnostics.md" in out.stdout


def test_progress_bars_go_to_a_terminal_but_not_into_a_log():
    command = [sys.executable, str(EXAMPLES / "mnist_mlp.py"), "--epochs", "2", "--train-size", "1000", "--save", ""]
    logged = subprocess.run(command, capture_output=True, timeout=120)  # bytes: text mode would turn \r into \n
    assert logged.returncode == 0, logged.stderr
    assert b"\r" not in logged.stdout + logged.stderr and b"epoch 1/2" not in logged.stderr
    assert [line.split(b"train loss")[0] for line in logged.stdout.splitlines()[:2]] == [b"epoch  1  ", b"epoch  2  "]
    terminal, stderr_end = pty.openpty()  # the same run with stderr on a terminal shows its bar
    fcntl.ioctl(stderr_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # 80 columns (a new one has 0)
    shown = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr_end)
    os.close(stderr_end)
    screen = b""
    try:
        while chunk := os.read(terminal, 4096):
            screen += chunk
    except OSError:  # EIO: the run has ended and closed the terminal
        pass
    os.close(terminal)
    assert shown.wait(timeout=120) == 0
    assert b"epoch 1/2" in screen and b"\r" in screen


def test_a_quick_try_saves_beside_the_full_model_never_over_it(tmp_path, monkeypatch, capsys):
    from mnist_training import parse_args

    def saved_to(*flags):
        return parse_args(list(flags), "", epochs=10, lr=1e-3, save="mnist_mlp.npz").save

    assert saved_to() == saved_to("--epochs", "12") == "mnist_mlp.npz"
    assert saved_to("--train-size", "2000", "--epochs", "1") == "mnist_mlp_quick.npz"
    assert saved_to("--epochs", "1") == saved_to("--train-size", "60000") == "mnist_mlp_quick.npz"
    assert saved_to("--train-size", "2000", "--save", "mine.npz") == "mine.npz"
    assert saved_to("--train-size", "2000", "--save", "") == ""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist_mlp.npz").write_bytes(b"the full model")
    load_example("mnist_mlp").main(["--train-size", "500", "--epochs", "1", "--quiet"])
    assert "saved the model to mnist_mlp_quick.npz" in capsys.readouterr().out
    assert (tmp_path / "mnist_mlp.npz").read_bytes() == b"the full model"
    assert (tmp_path / "mnist_mlp_quick.npz").is_file()
