"""The examples run, in a quick mode, on real data."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))  # the examples import their shared mnist_training module


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mnist_mlp_trains_on_a_slice_of_real_mnist(tmp_path, capsys):
    mnist_mlp = load_example("mnist_mlp")
    saved = tmp_path / "mlp.npz"
    accuracy = mnist_mlp.main(["--epochs", "2", "--train-size", "8000", "--save", str(saved), "--quiet"])
    assert accuracy > 0.90
    out = capsys.readouterr().out
    assert "epoch  1  train loss" in out and "test accuracy" in out
    assert out.strip().splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert mnist_mlp.main(["--eval", str(saved)]) == pytest.approx(accuracy)


def test_mnist_cnn_trains_on_a_slice_of_real_mnist(tmp_path, capsys):
    mnist_cnn = load_example("mnist_cnn")
    saved = tmp_path / "cnn.npz"
    accuracy = mnist_cnn.main(["--epochs", "2", "--train-size", "4096", "--save", str(saved), "--quiet"])
    assert accuracy > 0.85
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert mnist_cnn.main(["--eval", str(saved)]) == pytest.approx(accuracy)


@pytest.mark.parametrize("optimizer", ["sgdm", "rmsprop", "lion"])
def test_mnist_mlp_optimizer_flag(optimizer, capsys):
    mnist_mlp = load_example("mnist_mlp")
    lr = {"sgdm": 0.1, "rmsprop": 1e-3, "lion": 5e-4}[optimizer]
    accuracy = mnist_mlp.main(
        ["--epochs", "2", "--train-size", "8000", "--optimizer", optimizer, "--lr", str(lr), "--save", "", "--quiet"]
    )
    assert accuracy > 0.85


@pytest.mark.parametrize("example", ["mnist_mlp.py", "mnist_cnn.py"])
def test_mnist_examples_list_the_flags(example):
    out = subprocess.run([sys.executable, str(EXAMPLES / example), "--help"], capture_output=True, text=True)
    for flag in ["--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--save", "--data", "--eval"]:
        assert flag in out.stdout


def test_custom_layer_example():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_layer.py")], capture_output=True, text=True, check=True
    ).stdout
    assert "gradcheck: SiLU, FusedSiLU and Scale pass" in out
    accuracies = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "training accuracy" in line]
    assert len(accuracies) == 2 and min(accuracies) > 0.9
