"""examples/optimizers_2d.py: one meaning of 'reached the tolerance' for the table and the plot,
the learning rate in the legend, paths told apart, your own optimizer in the race, and Newton's
method with the Hessian from tinynet's autograd."""

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


class Newton(optim.Optimizer):
    """Named like Newton's method, which races too."""

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
        for name, make in optimizers_2d.racers(rosenbrock, optimizers_2d.OPTIMIZERS).items()
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
    assert rows["Newton"][:2] == ["1", "5"] and "Newton lr=1: reached at 5" in legend  # pure Newton, in 5 steps


@needs_matplotlib
def test_eighteen_paths_are_told_apart_by_colour_and_line_style(optimizers_2d):
    plt = optimizers_2d.pyplot()
    quadratic = optimizers_2d.FUNCTIONS["quadratic"]
    results = {
        name: optimizers_2d.best_run(quadratic, make, 20, 1e-3)
        for name, make in optimizers_2d.racers(quadratic, optimizers_2d.OPTIMIZERS).items()
    }
    fig = optimizers_2d.figure(plt, quadratic, results, 20, 1e-3)
    for axis in fig.axes:
        paths = [line for line in axis.get_lines() if len(line.get_xdata()) == 21]
        assert len(paths) == len(results) == 18
        assert len({(line.get_color(), line.get_linestyle()) for line in paths}) == 18
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
    assert list(tables["quadratic"]) == [*optimizers_2d.OPTIMIZERS, "SignDescent", "L-BFGS", "L-BFGS Wolfe", "Newton"]
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
        ("{file}:Newton", "already has an optimizer named Newton"),
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
    racers = [*optimizers_2d.OPTIMIZERS, "L-BFGS", "L-BFGS Wolfe", "Newton"]
    assert all(list(table) == racers for table in tables.values())
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


def newton(optimizers_2d, function):
    """Newton's method on `function`, as the race makes it: make(lr=...)."""
    return optimizers_2d.racers(function, {})[optimizers_2d.NEWTON]


def rosenbrock_hessian(x: float, y: float) -> np.ndarray:
    """The Hessian of (1 - x)² + 100 (y - x²)², written out."""
    return np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])


def test_the_hessian_from_autograd_equals_rosenbrocks_written_out(optimizers_2d):
    rosenbrock = optimizers_2d.FUNCTIONS["rosenbrock"]
    for point in [(-1.5, 2.0), (1.0, 1.0), (0.3, -0.7), (2.0, 0.5)]:
        found = optimizers_2d.hessian(rosenbrock.f, np.array(point))
        np.testing.assert_allclose(found, rosenbrock_hessian(*point), rtol=1e-12)


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "saddle", "quadratic"])
def test_the_hessian_from_autograd_equals_pytorchs(optimizers_2d, name):
    torch = pytest.importorskip("torch")
    function = optimizers_2d.FUNCTIONS[name]
    for point in [function.start, function.minimum, (0.3, -0.7)]:
        expected = torch.autograd.functional.hessian(function.f, torch.tensor(point, dtype=torch.float64))
        np.testing.assert_allclose(optimizers_2d.hessian(function.f, np.array(point)), expected.numpy(), rtol=1e-12)


def test_pure_newton_reaches_a_quadratics_minimum_in_one_step(optimizers_2d):
    quadratic = optimizers_2d.FUNCTIONS["quadratic"]
    result = optimizers_2d.run(quadratic, newton(optimizers_2d, quadratic), lr=1.0, steps=5, tolerance=1e-3)
    np.testing.assert_array_equal(result.path[1:], 0.0)  # exactly the minimum, then no step at all
    assert result.reached == 1 and result.losses[1] == 0.0
    # a quadratic with a cross term and its minimum elsewhere: still one step
    tilted = optimizers_2d.TestFunction(
        "tilted",
        "(3x² + 2xy + y²) / 2 - x + 2y",
        lambda p: (3 * p[0] ** 2 + 2 * p[0] * p[1] + p[1] ** 2) / 2 - p[0] + 2 * p[1],
        lambda p: np.array([3 * p[0] + p[1] - 1, p[0] + p[1] + 2]),
        start=(4.0, -7.0),
        minimum=(1.5, -3.5),
        window=(-5.0, 5.0, -8.0, 2.0),
    )
    result = optimizers_2d.run(tilted, newton(optimizers_2d, tilted), lr=1.0, steps=3, tolerance=1e-9)
    np.testing.assert_allclose(result.path[1], tilted.minimum, rtol=1e-14)
    assert result.reached == 1
    damped = optimizers_2d.run(quadratic, newton(optimizers_2d, quadratic), lr=0.5, steps=5, tolerance=1e-3)
    np.testing.assert_allclose(damped.path[1], [-2.0, 0.5])  # lr = 0.5: half of the way


def test_pure_newton_goes_to_the_saddle_point_not_to_a_minimum(optimizers_2d):
    saddle = optimizers_2d.FUNCTIONS["saddle"]
    result = optimizers_2d.run(saddle, newton(optimizers_2d, saddle), lr=1.0, steps=20, tolerance=1e-3)
    assert np.all(np.abs(result.path[-1]) < 1e-12)  # the saddle at (0, 0), not a minimum at (0, ±1)
    np.testing.assert_allclose(saddle.grad(result.path[-1]), 0.0, atol=1e-12)  # a stationary point
    assert np.linalg.eigvalsh(optimizers_2d.hessian(saddle.f, result.path[-1])).tolist() == [-2.0, 2.0]  # indefinite
    assert result.losses[-1] == pytest.approx(0.0, abs=1e-12) and result.reached is None  # the minima are at -0.5
    # from the start, where the Hessian is already indefinite, the first step lands next to the saddle:
    start = np.array(saddle.start)
    assert np.linalg.eigvalsh(optimizers_2d.hessian(saddle.f, start))[0] < 0
    assert np.all(np.abs(result.path[1]) < 1e-8)
    # gradient descent from the same start slides off the ridge to a minimum
    sgd = optimizers_2d.run(saddle, tn.optim.SGD, lr=0.3, steps=100, tolerance=1e-3)
    assert sgd.reached is not None and abs(sgd.path[-1][1]) == pytest.approx(1.0)


def test_a_singular_hessian_ends_newtons_path(optimizers_2d):
    flat_along_y = optimizers_2d.TestFunction(  # x² + y⁴: the Hessian diag(2, 12y²) is singular on y = 0
        "flat along y",
        "x² + y⁴",
        lambda p: p[0] ** 2 + p[1] ** 4,
        lambda p: np.array([2 * p[0], 4 * p[1] ** 3]),
        start=(1.0, 0.0),
        minimum=(0.0, 0.0),
        window=(-1.0, 1.0, -1.0, 1.0),
    )
    with pytest.raises(optimizers_2d.CannotStep, match=r"the Hessian at \[1\. 0\.\] is singular"):
        optimizers_2d.Newton(flat_along_y.f, 1.0).step(flat_along_y.grad(np.array([1.0, 0.0])), np.array([1.0, 0.0]))
    stopped = optimizers_2d.run(flat_along_y, newton(optimizers_2d, flat_along_y), lr=1.0, steps=10, tolerance=1e-3)
    assert len(stopped.path) == 1 and stopped.reached is None  # the path ends where it started: not reached
    assert optimizers_2d.best_run(flat_along_y, newton(optimizers_2d, flat_along_y), 10, 1e-3).reached is None
