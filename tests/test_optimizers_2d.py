"""examples/optimizers_2d.py: one meaning of 'reached the tolerance' for the table and the plot,
the learning rate in the legend, paths told apart, your own optimizer in the race."""

import itertools
import sys

import numpy as np
import pytest
from test_examples import EXAMPLES, assert_png, has_matplotlib, load_example

import tinynet as tn

ROOT = EXAMPLES.parent
needs_matplotlib = pytest.mark.skipif(not has_matplotlib(), reason="needs matplotlib")

OWN_OPTIMIZERS = '''
import numpy as np
from tinynet import optim


class SignDescent(optim.Optimizer):
    """Every coordinate moves by lr against the sign of its gradient."""

    def compute_step(self, grads):
        return self.lr * np.sign(grads)


class Adam(optim.Optimizer):
    """Named like a built-in racer."""

    def compute_step(self, grads):
        return self.lr * grads


class NeedsMore(optim.Optimizer):
    """Cannot be made with lr alone."""

    def __init__(self, lr, shrink):
        super().__init__(lr)
        self.shrink = shrink


class NotAnOptimizer:
    """Has a step, but is no tinynet optimizer."""

    def step(self, grads, params):
        params -= grads


def helper():
    return 1
'''


@pytest.fixture(scope="module")
def optimizers_2d():
    return load_example("optimizers_2d")


@pytest.fixture
def own_optimizers(tmp_path):
    path = tmp_path / "own_optimizers.py"
    path.write_text(OWN_OPTIMIZERS)
    return path


def table_rows(out: str, names) -> dict[str, list[str]]:
    """The printed table's cells for each optimizer: {name: [lr, reached at, final loss]}."""
    rows = {}
    for line in out.splitlines():
        for name in names:
            if line.startswith(name) and len(line[len(name) :].split()) == 3 and line[len(name)] == " ":
                rows[name] = line[len(name) :].split()
    return rows


def test_reaching_the_tolerance_means_staying_within_it_to_the_end(optimizers_2d):
    reached_at = optimizers_2d.reached_at
    assert reached_at(np.array([5.0, 2.0, 0.5, 5e-4, 1e-4, 1e-5]), 0.0, 1e-3, steps=5) == 3
    assert reached_at(np.array([5.0, 1e-4, 2.0, 1e-4, 2e-4, 1e-4]), 0.0, 1e-3, steps=5) == 3  # in, out, in for good
    assert reached_at(np.array([0.0, 0.0, 0.0]), 0.0, 1e-3, steps=2) == 0
    assert reached_at(np.array([-0.2, -0.4999, -0.49995]), -0.5, 1e-3, steps=2) == 1  # measured from the lowest
    assert reached_at(np.array([5.0, 1e-4, 1e-4]), 0.0, 1e-3, steps=5) is None  # blew up after step 2
    assert reached_at(np.array([5.0, 1e-4, 1e-4]), 0.0, 1e-5, steps=2) is None
    # within only at the last step: nothing shows that it stays, so not reached
    assert reached_at(np.array([5.0, 2.0, 0.5, 0.1, 1e-4]), 0.0, 1e-3, steps=4) is None
    assert reached_at(np.array([5.0, 1e-4, 1e-4, 0.1, 1e-4]), 0.0, 1e-3, steps=4) is None


def test_a_run_that_blows_up_never_reaches_the_tolerance(optimizers_2d):
    quadratic = optimizers_2d.FUNCTIONS["quadratic"]
    blown = optimizers_2d.run(quadratic, tn.optim.SGD, lr=10.0, steps=50, tolerance=1e-3)
    assert len(blown.losses) < 51 and blown.reached is None
    settled = optimizers_2d.run(quadratic, tn.optim.SGD, lr=0.03, steps=200, tolerance=1e-3)
    assert settled.reached is not None and np.all(settled.losses[settled.reached :] <= 1e-3)


@needs_matplotlib
def test_the_plot_and_the_table_agree_on_who_reached_the_tolerance(optimizers_2d, capsys):
    plt = optimizers_2d.pyplot()
    steps, tolerance = 500, 1e-3
    rosenbrock = optimizers_2d.FUNCTIONS["rosenbrock"]
    lowest = optimizers_2d.lowest_value(rosenbrock)
    results = {
        name: optimizers_2d.best_run(rosenbrock, make, steps, tolerance)
        for name, make in optimizers_2d.OPTIMIZERS.items()
    }
    optimizers_2d.print_table(rosenbrock, results, steps, tolerance)
    rows = table_rows(capsys.readouterr().out, results)
    fig = optimizers_2d.figure(plt, rosenbrock, results, steps, tolerance)
    loss_axis = fig.axes[1]
    curves = {line.get_label(): line for line in loss_axis.get_lines()}
    legend = [text.get_text() for text in fig.legends[0].get_texts()]
    plt.close(fig)

    assert set(rows) == set(results)
    touched_but_not_reached = []
    for name, result in results.items():
        lr, reached, _ = rows[name]
        assert f"{name} lr={lr}: " in " | ".join(legend)
        distances = curves[f"_{name}"].get_ydata()
        if reached == "-":
            assert f"_{name} reached" not in curves and f"{name} lr={lr}: not reached" in legend
            assert len(distances) < steps + 1 or distances[steps - 1] > tolerance  # above the line before the end
            if np.min(result.losses - lowest) <= tolerance:
                touched_but_not_reached.append(name)
        else:
            step = int(reached)
            assert curves[f"_{name} reached"].get_xdata()[0] == step and f"{name} lr={lr}: reached at {step}" in legend
            assert np.all(distances[step:] <= tolerance) and (step == 0 or distances[step - 1] > tolerance)
    # the case of the issue: Lion lands on the minimum once, bounces around it, and has not reached it
    assert touched_but_not_reached, "no path touched the tolerance and left it: the test shows nothing"
    assert any(row[1] != "-" for row in rows.values())


@needs_matplotlib
def test_eleven_paths_are_told_apart_by_colour_and_line_style(optimizers_2d):
    plt = optimizers_2d.pyplot()
    quadratic = optimizers_2d.FUNCTIONS["quadratic"]
    results = {
        name: optimizers_2d.best_run(quadratic, make, 20, 1e-3) for name, make in optimizers_2d.OPTIMIZERS.items()
    }
    fig = optimizers_2d.figure(plt, quadratic, results, 20, 1e-3)
    for axis in fig.axes:
        paths = [line for line in axis.get_lines() if len(line.get_xdata()) == 21]
        assert len(paths) == 11
        assert len({(line.get_color(), line.get_linestyle()) for line in paths}) == 11
    plt.close(fig)


def test_line_styles_differ_from_neighbours_in_both_and_never_repeat_within_40(optimizers_2d):
    plt = optimizers_2d.pyplot()
    if plt is None:
        pytest.skip("needs matplotlib")
    styles = optimizers_2d.line_styles(plt, 40)
    assert len(set(styles)) == 40
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in itertools.pairwise(styles))


def test_your_own_optimizer_joins_the_race(optimizers_2d, own_optimizers, tmp_path, capsys, monkeypatch):
    out = tmp_path / "plots"
    flags = ["--functions", "quadratic", "--steps", "40", "--out", str(out)]
    tables = optimizers_2d.main([*flags, "--optimizer", f"{own_optimizers}:SignDescent"])
    row = table_rows(capsys.readouterr().out, ["SignDescent"])["SignDescent"]
    lr, _, final_loss = tables["quadratic"]["SignDescent"]
    assert list(tables["quadratic"]) == [*optimizers_2d.OPTIMIZERS, "SignDescent"]
    assert lr in optimizers_2d.LEARNING_RATES and row[0] == f"{lr:g}"
    assert final_loss < optimizers_2d.FUNCTIONS["quadratic"].f(np.array([-4.0, 1.0]))
    if has_matplotlib():
        assert_png(out / "quadratic.png")

    monkeypatch.chdir(tmp_path)  # MODULE:CLASS imports from the current folder
    path_before = list(sys.path)
    tables = optimizers_2d.main([*flags, "--optimizer", "own_optimizers:SignDescent"])
    assert tables["quadratic"]["SignDescent"][0] == lr and sys.path == path_before


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("SignDescent", "is not FILE.py:CLASS or MODULE:CLASS"),
        ("no_such_module_anywhere:Foo", "no module no_such_module_anywhere"),
        ("{folder}/absent.py:Foo", "no file"),
        ("{file}:Absent", "has no Absent"),
        ("{file}:NotAnOptimizer", "not a tinynet.optim.Optimizer subclass"),
        ("{file}:helper", "not a tinynet.optim.Optimizer subclass"),
        ("{file}:NeedsMore", "NeedsMore(lr=0.0001) failed"),
        ("{file}:Adam", "already has an optimizer named Adam"),
    ],
)
def test_a_bad_optimizer_flag_exits_2_saying_what_is_wrong(optimizers_2d, own_optimizers, capsys, value, says):
    value = value.format(file=own_optimizers, folder=own_optimizers.parent)
    with pytest.raises(SystemExit) as exit_info:
        optimizers_2d.main(["--steps", "5", "--out", str(own_optimizers.parent), "--optimizer", value])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "argument --optimizer" in error and says in error


@pytest.mark.parametrize(
    ("flags", "says"),
    [(["--steps", "0"], "--steps: 0; it must be at least 1"), (["--tolerance", "-1"], "--tolerance: -1.0; it must")],
)
def test_bad_steps_or_tolerance_exit_2(optimizers_2d, tmp_path, capsys, flags, says):
    with pytest.raises(SystemExit) as exit_info:
        optimizers_2d.main([*flags, "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and says in capsys.readouterr().err


def test_the_pictures_go_to_a_folder_of_your_own_never_into_docs(optimizers_2d, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    optimizers_2d.main(["--functions", "quadratic", "--steps", "5"])
    assert (tmp_path / "optimizer_plots").is_dir()
    if has_matplotlib():
        assert (tmp_path / "optimizer_plots" / "quadratic.png").is_file()
    for text in [optimizers_2d.__doc__, *(path.read_text() for path in [ROOT / "README.md", *ROOT.glob("docs/*.md")])]:
        commands = [line for line in text.splitlines() if "optimizers_2d.py " in line]
        assert not [line for line in commands if "docs/" in line]


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "saddle", "quadratic"])
def test_each_function_works_on_tensors_and_its_gradient_matches_autograd(optimizers_2d, name):
    function = optimizers_2d.FUNCTIONS[name]
    for point in [function.start, function.minimum, (0.3, -0.7)]:
        p = tn.Tensor(np.array(point, dtype=np.float64), requires_grad=True)
        value = function.f(p)
        value.backward()
        assert value.item() == pytest.approx(function.f(np.array(point)))
        np.testing.assert_allclose(p.grad, function.grad(np.array(point)), rtol=1e-12, atol=1e-12)


def test_optimizers_2d_quick(optimizers_2d, tmp_path, capsys):
    tables = optimizers_2d.main(["--steps", "60", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert set(tables) == {"rosenbrock", "beale", "saddle", "quadratic"}
    assert all(len(table) == len(optimizers_2d.OPTIMIZERS) for table in tables.values())
    assert "optimizer          lr reached at   final loss" in out
    assert "reached at: the first step from which loss - lowest stays <= 0.001 to the end" in out
    quadratic = tables["quadratic"]
    assert quadratic["Adam"][2] < optimizers_2d.FUNCTIONS["quadratic"].f(np.array([-4.0, 1.0]))
    if has_matplotlib():
        for name in tables:
            assert_png(tmp_path / f"{name}.png")
    else:
        assert "pip install -e" in out


@needs_matplotlib
def test_optimizers_2d_gif(optimizers_2d, tmp_path):
    optimizers_2d.main(["--functions", "quadratic", "--steps", "20", "--gif", "--out", str(tmp_path)])
    assert (tmp_path / "quadratic.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["quadratic.gif", "quadratic.png"]  # no leftovers
