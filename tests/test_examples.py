"""The examples run, in a quick mode, on real data."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
sys.path.insert(0, str(EXAMPLES))  # the examples import their shared mnist_training module


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
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


@pytest.mark.parametrize(("cell", "expected"), [("lstm", 0.65), ("gru", 0.65), ("rnn", 0.5)])
def test_mnist_lstm_trains_on_a_slice_of_real_mnist(tmp_path, capsys, cell, expected):
    mnist_lstm = load_example("mnist_lstm")
    saved = tmp_path / f"{cell}.npz"
    argv = ["--cell", cell, "--epochs", "2", "--train-size", "4000", "--lr", "5e-3", "--quiet"]
    accuracy = mnist_lstm.main([*argv, "--save", str(saved)])
    assert accuracy > expected
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert mnist_lstm.main(["--cell", cell, "--eval", str(saved)]) == pytest.approx(accuracy)


@pytest.mark.parametrize("optimizer", ["sgdm", "rmsprop", "lion"])
def test_mnist_mlp_optimizer_flag(optimizer, capsys):
    mnist_mlp = load_example("mnist_mlp")
    lr = {"sgdm": 0.1, "rmsprop": 1e-3, "lion": 5e-4}[optimizer]
    accuracy = mnist_mlp.main(
        ["--epochs", "2", "--train-size", "8000", "--optimizer", optimizer, "--lr", str(lr), "--save", "", "--quiet"]
    )
    assert accuracy > 0.85


@pytest.mark.parametrize("example", ["mnist_mlp.py", "mnist_cnn.py", "mnist_lstm.py"])
def test_mnist_examples_list_the_flags(example):
    out = subprocess.run([sys.executable, str(EXAMPLES / example), "--help"], capture_output=True, text=True)
    for flag in ["--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--save", "--data", "--eval", "--export"]:
        assert flag in out.stdout


def test_custom_layer_example():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "custom_layer.py")], capture_output=True, text=True, check=True
    ).stdout
    assert "gradcheck: ComposedSiLU, FusedSiLU and Scale pass" in out
    accuracies = [float(line.rsplit(" ", 1)[1]) for line in out.splitlines() if "training accuracy" in line]
    assert len(accuracies) == 2 and min(accuracies) > 0.9


def assert_png(path, min_bytes=20_000):
    """A real, non-trivial PNG image (checked when matplotlib is installed)."""
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert len(data) > min_bytes, f"{path} is only {len(data)} bytes"
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 600 and image.std() > 0.05


def has_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


def test_compare_optimizers_quick(tmp_path, capsys):
    compare = load_example("compare_optimizers")
    plot = tmp_path / "compare.png"
    histories = compare.main(
        ["--optimizers", "sgdm", "adam", "lion", "--epochs", "2", "--train-size", "3000", "--plot", str(plot)]
    )
    out = capsys.readouterr().out
    assert list(histories) == ["sgdm", "adam", "lion"]
    assert "optimizer        lr  final loss  test acc  seconds" in out
    for history in histories.values():
        assert len(history["train_loss"]) == 2 and history["test_accuracy"][-1] > 0.7
    if has_matplotlib():
        assert_png(plot)


def test_compare_optimizers_takes_the_optimizers_that_see_the_layers(capsys):
    compare = load_example("compare_optimizers")
    histories = compare.main(
        ["--optimizers", "muon", "adafactor", "lamb", "--epochs", "1", "--train-size", "2000", "--plot", ""]
    )
    assert list(histories) == ["muon", "adafactor", "lamb"]
    assert all(history["test_accuracy"][-1] > 0.6 for history in histories.values())
    training = load_example("mnist_training")
    model = load_example("mnist_mlp").make_model()
    muon = training.make_optimizer("muon", 0.02, model)
    assert muon.lr == 0.02 and [e.name for e in muon.layout] == [name for name, _ in model.named_parameters()]
    assert type(training.make_optimizer("adam", 1e-3, model)).__name__ == "Adam"


def test_mnist_mlp_plot_flag(tmp_path):
    plot = tmp_path / "curves.png"
    load_example("mnist_mlp").main(
        ["--epochs", "2", "--train-size", "2000", "--save", "", "--quiet", "--plot", str(plot)]
    )
    if has_matplotlib():
        assert_png(plot)


def test_show_graph(tmp_path, capsys):
    dot = load_example("show_graph").main(["--out", str(tmp_path / "graph")])
    text = Path(dot).read_text()
    assert text.startswith("digraph tinynet") and "CrossEntropy" in text and "0.weight" in text
    out = capsys.readouterr().out
    assert out.startswith("#1 CrossEntropy scalar\n") and "\n├─ #3 Linear 5x3  data mean" in out
    if shutil.which("dot"):
        assert (tmp_path / "graph.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert "Graphviz is not installed" in out


def test_examples_without_matplotlib_say_how_to_get_pictures(tmp_path):
    code = (
        "import sys; sys.modules['matplotlib'] = None; "
        f"sys.path.insert(0, {str(EXAMPLES)!r}); import optimizers_2d; "
        f"optimizers_2d.main(['--functions', 'quadratic', '--steps', '10', '--out', {str(tmp_path)!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "quadratic: (x² + 50 y²) / 2" in out and 'pip install -e ".[plot]"' in out
    assert not list(tmp_path.glob("*.png"))


def test_what_the_examples_write_is_ignored_by_git_and_the_docs_pictures_are_not():
    root = EXAMPLES.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("needs git and a checkout")
    outputs = [
        "mnist_mlp.npz",
        "mnist_mlp_quick.npz",
        "mnist_cnn.npz",
        "mnist_lstm.npz",
        "run3.npz",
        "compare_optimizers.png",
        "decision_boundary.png",
        "decision_boundary.gif",
        "mnist_autoencoder.png",
        "mnist_autoencoder_codes.png",
        "optimizer_plots/rosenbrock.png",
        "graph.dot",
        "graph.png",
        "examples/mnist_mlp.npz",
        "examples/optimizer_plots/beale.gif",
    ]
    ignored = subprocess.run(["git", "check-ignore", *outputs], cwd=root, capture_output=True, text=True).stdout
    assert ignored.split() == outputs
    kept = subprocess.run(["git", "check-ignore", "docs/images/graph.png"], cwd=root, capture_output=True, text=True)
    assert kept.returncode == 1  # not ignored
