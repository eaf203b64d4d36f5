"""examples/mnist_autoencoder.py runs, in a quick mode, on a slice of real MNIST."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from test_examples import EXAMPLES, load_example

from tinynet.data import load_mnist

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def test_autoencoder_learns_to_reconstruct_and_writes_the_pictures(tmp_path, capsys):
    autoencoder = load_example("mnist_autoencoder")
    grid, scatter = tmp_path / "grid.png", tmp_path / "codes.png"
    flags = ["--epochs", "1", "--train-size", "2000", "--batch-size", "64", "--quiet"]
    error = autoencoder.main([*flags, "--latent", "2", "--grid", str(grid), "--scatter", str(scatter)])
    out = capsys.readouterr().out
    assert "epoch  1  train loss" in out and "test error" in out
    assert out.strip().splitlines()[-1] == f"test reconstruction error: {error:.5f}"

    x_test = load_mnist()[2].reshape(-1, 1, 28, 28)
    untrained = autoencoder.reconstruction_error(autoencoder.Autoencoder(latent=2), x_test)
    assert error < 0.8 * untrained, (error, untrained)
    if HAS_MATPLOTLIB:
        for path in (grid, scatter):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        assert sorted(p.name for p in tmp_path.iterdir()) == ["codes.png", "grid.png"]  # no temporary file left
    else:
        assert "pip install -e" in out


def test_autoencoder_shapes_and_no_scatter_without_a_2d_code(tmp_path, capsys, monkeypatch):
    autoencoder = load_example("mnist_autoencoder")
    model = autoencoder.Autoencoder(latent=16)
    codes, drawn = autoencoder.encode_and_reconstruct(model, np.zeros((3, 1, 28, 28), np.float32))
    assert codes.shape == (3, 16) and drawn.shape == (3, 1, 28, 28) and drawn.dtype == np.float32
    assert drawn.min() > 0 and drawn.max() < 1
    monkeypatch.chdir(tmp_path)  # the default --scatter would land here, if it were written
    autoencoder.main(["--epochs", "1", "--train-size", "256", "--grid", "", "--quiet"])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(SystemExit):
        autoencoder.main(["--latent", "3", "--scatter", str(tmp_path / "codes.png")])
    assert "--scatter needs --latent 2 (a 2-D code), got --latent 3" in capsys.readouterr().err


def test_autoencoder_lists_the_flags():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "mnist_autoencoder.py"), "--help"], capture_output=True, text=True
    ).stdout
    for flag in ["--epochs", "--batch-size", "--lr", "--seed", "--data", "--train-size", "--quiet", "--latent"]:
        assert flag in out
    assert "--grid" in out and "--scatter" in out and "--export" in out
