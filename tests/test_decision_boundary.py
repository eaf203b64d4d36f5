"""examples/decision_boundary.py: it learns the toy data, writes the pictures, refuses bad flags."""

import importlib.util
import re
import subprocess
import sys

import pytest
from test_examples import EXAMPLES, load_example

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
SCRIPT = str(EXAMPLES / "decision_boundary.py")


def run_script(*flags, cwd):
    return subprocess.run([sys.executable, SCRIPT, *flags], capture_output=True, text=True, cwd=cwd, check=True).stdout


def reported_accuracy(out: str) -> float:
    assert out.count("accuracy: ") == 1, out
    return float(re.search(r"^accuracy: (\d\.\d{4})$", out, re.MULTILINE).group(1))


def test_default_run_learns_the_moons_and_writes_the_png_here(tmp_path):
    out = run_script(cwd=tmp_path)
    assert reported_accuracy(out) >= 0.95
    assert re.search(r"^step     0  loss 0\.\d{4}$", out, re.MULTILINE) and "step   300  loss" in out
    if not HAS_MATPLOTLIB:
        assert "pip install -e" in out and not list(tmp_path.iterdir())
        return
    png = tmp_path / "decision_boundary.png"
    assert sorted(p.name for p in tmp_path.iterdir()) == [png.name]  # in the current folder, no temporary file left
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert 400 < image.shape[0] < 1500 and 500 < image.shape[1] < 1500, image.shape
    assert image[..., :3].std() > 0.1  # coloured regions and points, not a blank canvas


@pytest.mark.parametrize("data", ["circles", "spirals"])
def test_circles_and_spirals(tmp_path, data):
    out = run_script("--data", data, "--out", str(tmp_path / f"{data}.png"), cwd=tmp_path)
    assert reported_accuracy(out) >= 0.95
    if HAS_MATPLOTLIB:
        assert (tmp_path / f"{data}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_options_in_process(tmp_path, capsys):
    example = load_example("decision_boundary")
    flags = ["--hidden", "8", "--activation", "relu", "--optimizer", "sgdm", "--lr", "0.1", "--steps", "200"]
    flags += ["--samples", "101", "--noise", "0.05", "--seed", "3", "--out", str(tmp_path / "a.png")]
    score = example.main(flags)
    assert score >= 0.95
    assert capsys.readouterr().out.count(f"accuracy: {score:.4f}\n") == 1
    model = example.make_model([8, 4], "relu", 3)
    assert [type(layer).__name__ for layer in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert model(example.make_spirals(5, seed=0)[0]).shape == (5, 3)


def test_gif_shows_the_regions_during_training(tmp_path):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    out = run_script("--steps", "12", "--gif", "--out", str(tmp_path / "moons.png"), cwd=tmp_path)
    assert f"wrote {tmp_path / 'moons.gif'}" in out
    with image.open(tmp_path / "moons.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames > 10  # steps 0 to 12
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moons.gif", "moons.png"]


def test_gif_without_pillow_is_a_flag_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # as if pillow were not installed
    with pytest.raises(SystemExit) as exit_info:
        load_example("decision_boundary").main(["--gif", "--out", str(tmp_path / "a.png")])
    assert exit_info.value.code == 2
    assert "argument --gif: needs matplotlib and pillow" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_without_matplotlib_it_trains_and_says_how_to_get_the_picture(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    score = load_example("decision_boundary").main(["--steps", "100", "--out", str(tmp_path / "a.png")])
    assert score >= 0.95
    assert 'pip install -e ".[plot]"' in capsys.readouterr().out and not list(tmp_path.iterdir())


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_a_diverging_loss_exits_with_status_3(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_example("decision_boundary").main(
            ["--activation", "relu", "--optimizer", "sgd", "--lr", "1e30", "--out", str(tmp_path / "a.png")]
        )
    assert exit_info.value.code == 3
    assert "error: the loss became nan at step 1: try a smaller --lr" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--data", "blobs"], "argument --data: invalid choice: 'blobs'"),
        (["--optimizer", "sgd2"], "argument --optimizer: invalid choice: 'sgd2'"),
        (["--activation", "gelu"], "argument --activation: invalid choice"),
        (["--hidden"], "argument --hidden: expected at least one argument"),
        (["--hidden", "16", "0"], "argument --hidden: every size must be at least 1, got 16 0"),
        (["--hidden", "8.5"], "argument --hidden: invalid int value"),
        (["--lr", "0"], "argument --lr: must be a positive finite number, got 0.0"),
        (["--lr", "nan"], "argument --lr: must be a positive finite number, got nan"),
        (["--steps", "0"], "argument --steps: must be at least 1, got 0"),
        (["--samples", "1"], "argument --samples: must be at least 2, got 1"),
        (["--data", "spirals", "--samples", "2"], "argument --samples: must be at least 3, got 2"),
        (["--noise", "-0.1"], "argument --noise: must be a finite number at least 0, got -0.1"),
        (["--noise", "inf"], "argument --noise: must be a finite number at least 0, got inf"),
        (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
        (["--out", "picture.jpg"], "argument --out: must be a .png file, got picture.jpg"),
        (["--out", "no/such/folder/a.png"], "argument --out: the folder .* does not exist"),
        (["--out", "."], "argument --out: must be a .png file"),
    ],
)
def test_bad_flags_exit_with_status_2_before_training(tmp_path, capsys, monkeypatch, flags, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        load_example("decision_boundary").main(flags)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert re.search(message, err), err
    assert "usage:" in err and "step" not in out and not list(tmp_path.iterdir())


def test_a_bad_flag_is_exit_status_2_for_the_shell(tmp_path):
    result = subprocess.run([sys.executable, SCRIPT, "--steps", "-3"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and "argument --steps: must be at least 1, got -3" in result.stderr
    assert result.stdout == "" and not list(tmp_path.iterdir())


def test_out_naming_a_folder_is_refused(tmp_path, capsys):
    (tmp_path / "pictures.png").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        load_example("decision_boundary").main(["--out", str(tmp_path / "pictures.png")])
    assert exit_info.value.code == 2
    assert re.search(r"argument --out: .*pictures.png is a folder; give a file name", capsys.readouterr().err)
