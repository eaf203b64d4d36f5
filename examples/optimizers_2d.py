"""Every optimizer on classic 2-D test functions: the optimizer design at its simplest.

Each optimizer drives a plain 2-element numpy array with `opt.step(grad, point)`. On each
function it runs once with every learning rate of a grid (LEARNING_RATES), and its best run
joins the race: the one that reaches the tolerance soonest or, if none does, the one that ends
lowest without blowing up. For each function the script prints a table (the learning rate,
the step at which the tolerance was reached, the final loss) and writes a PNG: the contour
plot with each optimizer's path, beside its progress against the step.

Reaching the tolerance means staying there: a path reaches it at step k when its loss is
within the tolerance of the lowest value at step k and at every later step of the run. A path
that goes in and out has not reached it until its last time in; one that is within only at its
final step has not reached it (nothing shows that it stays); one that blows up never does (see
`reached_at`). The table prints k. The progress plot draws, for each step, the highest loss -
lowest value at that step or later (`highest_from_each_step`), the tolerance as a dotted line,
which that curve crosses at step k, and a dot there; the legend gives each path's learning
rate and k.

Newton's method races too (`Newton`, after the optimizers): it steps by lr · H⁻¹∇f, with the
exact Hessian H that tinynet's autograd computes from the function (`hessian`: tn.grad with
create_graph=True), over the same learning rates (lr = 1 is pure Newton). It reaches the
quadratic's minimum in one step and Rosenbrock's in five, but on the saddle and on Beale it
settles on a saddle point: the stationary point of its quadratic model, not always a minimum.
L-BFGS races before it (`LBFGSRacer`), one iteration per step, with a closure that evaluates f:
without a line search (a step of lr along its quasi-Newton direction) and with the strong
Wolfe line search (lr is then the first trial step).

`--optimizer FILE.py:CLASS` or `--optimizer MODULE:CLASS` (a module importable from the current
folder) adds your own optimizer to the race, with the same search over learning rates. CLASS
must subclass tinynet.optim.Optimizer and be made with `CLASS(lr=...)`; the flag may be repeated.

    python examples/optimizers_2d.py                      # all functions, PNGs in optimizer_plots/
    python examples/optimizers_2d.py --functions rosenbrock --gif
    python examples/optimizers_2d.py --steps 50 --out /tmp/plots
    python examples/optimizers_2d.py --optimizer my_optimizer.py:MyOptimizer
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from plotting import line_styles, pyplot, save_figure

import tinynet as tn
from tinynet import optim
from tinynet.checkpoint import atomic_write


@dataclass(frozen=True)
class TestFunction:
    """A 2-D function to minimize. `f` takes a point p and uses only p[0], p[1], arithmetic and
    powers, so it works on a numpy point, on a grid (p of shape (2, rows, columns)) and on a
    tinynet Tensor; `grad` is its gradient, written out, on a numpy point."""

    name: str
    formula: str
    f: Callable
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]  # one minimizer, marked on the plot
    window: tuple[float, float, float, float]  # x from, x to, y from, y to
    log_levels: bool = True


def _beale_terms(p):
    x, y = p[0], p[1]
    return (1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3)


def _beale_grad(p):
    x, y = p[0], p[1]
    a, b, c = _beale_terms(p)
    return np.array(
        [
            2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
            2 * a * x + 2 * b * 2 * x * y + 2 * c * 3 * x * y**2,
        ]
    )


FUNCTIONS = {
    "rosenbrock": TestFunction(
        "rosenbrock",
        "(1 - x)² + 100 (y - x²)²",
        lambda p: (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2,
        lambda p: np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)]),
        start=(-1.5, 2.0),
        minimum=(1.0, 1.0),
        window=(-2.0, 2.0, -1.0, 3.0),
    ),
    "beale": TestFunction(
        "beale",
        "(1.5 - x + xy)² + (2.25 - x + xy²)² + (2.625 - x + xy³)²",
        lambda p: sum(t**2 for t in _beale_terms(p)),
        _beale_grad,
        start=(1.0, 1.4),
        minimum=(3.0, 0.5),
        window=(-1.0, 4.5, -1.5, 2.0),
    ),
    "saddle": TestFunction(
        "saddle",
        "x² - y² + y⁴/2  (a saddle at 0, minima at (0, ±1))",
        lambda p: p[0] ** 2 - p[1] ** 2 + p[1] ** 4 / 2,
        lambda p: np.array([2 * p[0], -2 * p[1] + 2 * p[1] ** 3]),
        start=(1.5, 1e-3),
        minimum=(0.0, 1.0),
        window=(-2.0, 2.0, -1.6, 1.6),
        log_levels=False,
    ),
    "quadratic": TestFunction(
        "quadratic",
        "(x² + 50 y²) / 2  (condition number 50)",
        lambda p: 0.5 * (p[0] ** 2 + 50 * p[1] ** 2),
        lambda p: np.array([p[0], 50 * p[1]]),
        start=(-4.0, 1.0),
        minimum=(0.0, 0.0),
        window=(-5.0, 5.0, -1.5, 1.5),
    ),
}

OPTIMIZERS = {
    "SGD": optim.SGD,
    "SGD momentum": lambda lr: optim.SGD(lr=lr, momentum=0.9),
    "Nesterov": lambda lr: optim.SGD(lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": optim.Adagrad,
    "RMSProp": optim.RMSProp,
    "Adam": optim.Adam,
    "Adadelta": optim.Adadelta,
    "Adamax": optim.Adamax,
    "NAdam": optim.NAdam,
    "RAdam": optim.RAdam,
    "Lion": optim.Lion,
    "Rprop": optim.Rprop,
    "ASGD": optim.ASGD,
    "Adafactor": optim.Adafactor,
    "LAMB": optim.LAMB,
}  # not Muon: it steps matrices, and a point is a vector
LBFGS_RACERS = {"L-BFGS": None, "L-BFGS Wolfe": "strong_wolfe"}  # the line search of each
NEWTON = "Newton"  # the name of Newton's method in the race
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
BLOW_UP = 1e8  # a run stops once its loss is above this (or not finite)
LOSS_FLOOR = 1e-12  # the loss plot's log scale shows smaller distances to the lowest value as this


class CannotStep(ArithmeticError):
    """A racer cannot take a step from where it is (Newton's method where the Hessian is singular)."""


def hessian(f: Callable, point: np.ndarray) -> np.ndarray:
    """The Hessian of f at a point, from tinynet's autograd: the gradient of f, computed with its
    backward pass recorded (tn.grad with create_graph=True), then the gradient of each of its
    elements, which is a row of the Hessian."""
    p = tn.Tensor(point, requires_grad=True)
    (gradient,) = tn.grad(f(p), p, create_graph=True)
    return np.stack([tn.grad(gradient[i], p, retain_graph=True)[0].data for i in range(len(point))])


class Newton:
    """Newton's method as a racer: point ← point - lr · H⁻¹ ∇f, with ∇f the gradient that the
    race hands every racer and H the exact Hessian of f at the point (`hessian`). lr = 1 is pure
    Newton, a smaller lr a damped step.

    Pure Newton jumps to the stationary point of the quadratic model of f at the point,
    f + ∇fᵀd + dᵀHd / 2. Where H is positive definite that point is the model's minimum, and near
    a minimum of f the error squares at each step; where H is indefinite it is a saddle of the
    model, and Newton heads for it as surely as for a minimum (it does on the saddle function).
    Where H is singular the model has no single stationary point, and `step` raises CannotStep:
    the run ends there, so it has not reached the tolerance. Not a tinynet.optim.Optimizer: those
    see the gradient only, and Newton needs f itself."""

    def __init__(self, f: Callable, lr: float):
        self.f = f
        self.lr = lr

    def step(self, grad: np.ndarray, point: np.ndarray) -> None:
        """Move `point` (in place) by -lr · H⁻¹ grad, H the Hessian of f at the point."""
        try:
            newton_step = np.linalg.solve(hessian(self.f, point), grad)
        except np.linalg.LinAlgError:
            raise CannotStep(f"Newton: the Hessian at {point} is singular; there is no Newton step") from None
        point -= self.lr * newton_step


class LBFGSRacer:
    """L-BFGS as a racer: one iteration of optim.LBFGS per race step (max_iter=1), whose closure
    evaluates f and its gradient at the point, so that, like Newton, it needs f. It keeps the
    last 10 pairs (history_size=10: plenty in two dimensions, and ten times faster to apply than
    torch's default 100). With the strong
    Wolfe line search an iteration may evaluate f up to 25 times (max_eval): a step of the race
    is then costlier than the others'. A non-finite loss at a trial point ends the run
    (CannotStep), as a blown-up loss ends the others'."""

    def __init__(self, function: TestFunction, lr: float, line_search_fn: str | None):
        self.function = function
        self.opt = optim.LBFGS(lr=lr, max_iter=1, max_eval=25, history_size=10, line_search_fn=line_search_fn)
        self.grads = np.zeros(2)

    def step(self, grad: np.ndarray, point: np.ndarray) -> None:
        """One L-BFGS iteration on `point` (in place); `grad` is not needed: the closure computes it."""

        def closure() -> float:
            self.grads[...] = self.function.grad(point)
            return self.function.f(point)

        try:
            self.opt.step(self.grads, point, closure)
        except ValueError as error:
            raise CannotStep(str(error)) from None


def racers(function: TestFunction, optimizers: dict[str, Callable]) -> dict[str, Callable]:
    """Who races on `function`: each optimizer, made with `make(lr=...)`, then L-BFGS (without
    and with its line search) and Newton's method, made for this function, which they evaluate."""
    lbfgs = {name: (lambda lr, s=search: LBFGSRacer(function, lr, s)) for name, search in LBFGS_RACERS.items()}
    return {**optimizers, **lbfgs, NEWTON: lambda lr: Newton(function.f, lr)}


@dataclass(frozen=True)
class Run:
    """One optimizer's run at one learning rate: the points it visited (rows of `path`), the loss
    at each, and the step at which it reached the tolerance (None: it did not)."""

    lr: float
    path: np.ndarray
    losses: np.ndarray
    reached: int | None


def highest_from_each_step(losses: np.ndarray, lowest: float) -> np.ndarray:
    """For each step, the highest loss - lowest at that step or any later one: the curve the loss
    plot draws. It never rises, and it is within a tolerance from the step on which the loss
    stays within it."""
    return np.maximum.accumulate((losses - lowest)[::-1])[::-1]


def reached_at(losses: np.ndarray, lowest: float, tolerance: float, steps: int) -> int | None:
    """The first step from which the loss stays within `tolerance` of `lowest` until the end of
    a run of `steps` steps (`losses` holds the start's loss and each step's). None when there is
    no such step, when it would be the last step (nothing shows that the loss stays), or when
    the run stopped early because the loss blew up."""
    if len(losses) != steps + 1:
        return None
    within = np.nonzero(highest_from_each_step(losses, lowest) <= tolerance)[0]
    return int(within[0]) if len(within) and within[0] < steps else None


def run(function: TestFunction, make_optimizer: Callable, lr: float, steps: int, tolerance: float) -> Run:
    """`steps` steps from the function's start with the optimizer `make_optimizer(lr=lr)`,
    stopping early if the loss blows up or the optimizer cannot step (CannotStep)."""
    point = np.array(function.start, dtype=np.float64)
    opt = make_optimizer(lr=lr)
    path, losses = [point.copy()], [function.f(point)]
    for _ in range(steps):
        try:
            opt.step(function.grad(point), point)
        except CannotStep:
            break
        loss = function.f(point)
        if not math.isfinite(loss) or abs(loss) > BLOW_UP:
            break
        path.append(point.copy())
        losses.append(loss)
    losses = np.array(losses)
    return Run(lr, np.array(path), losses, reached_at(losses, lowest_value(function), tolerance, steps))


def best_run(function: TestFunction, make_optimizer: Callable, steps: int, tolerance: float) -> Run:
    """The run, over the learning rates of LEARNING_RATES, that reaches the tolerance soonest
    (or, if none does, ends lowest, preferring runs that did not blow up); of runs that end
    equally low, the one that got there soonest (the lowest sum of its losses)."""
    runs = [run(function, make_optimizer, lr, steps, tolerance) for lr in LEARNING_RATES]

    def score(candidate: Run) -> tuple:
        reached, blew_up = candidate.reached, len(candidate.losses) != steps + 1
        return (reached is None, reached or 0, blew_up, candidate.losses[-1], candidate.losses.sum())

    return min(runs, key=score)


def lowest_value(function: TestFunction) -> float:
    """The function's value at its marked minimum."""
    return function.f(np.array(function.minimum))


def legend_label(name: str, result: Run) -> str:
    """How a run is named in the plot: the optimizer, its learning rate and when it reached the tolerance."""
    reached = "not reached" if result.reached is None else f"reached at {result.reached}"
    return f"{name} lr={result.lr:g}: {reached}"


def contour_levels(function: TestFunction, values: np.ndarray) -> np.ndarray:
    """Log-spaced levels above the minimum (linear ones for the saddle, which goes negative)."""
    best, top = lowest_value(function), np.percentile(values, 90)
    if function.log_levels:
        return best + np.logspace(-2, np.log10(top - best), 25)
    return np.linspace(values.min(), top, 25)


def draw_contours(axis, function: TestFunction, points: int) -> None:
    """The function's contour lines over its window, on a grid of points x points."""
    x0, x1, y0, y1 = function.window
    xs, ys = np.meshgrid(np.linspace(x0, x1, points), np.linspace(y0, y1, points))
    zs = function.f(np.stack([xs, ys]))
    axis.contour(xs, ys, zs, levels=contour_levels(function, zs), cmap="viridis", linewidths=0.7, alpha=0.45)
    axis.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y")


def figure(plt, function: TestFunction, results: dict[str, Run], steps: int, tolerance: float):
    """The paths over the contours, beside each path's highest loss - lowest value from each step
    on (log scale), with the tolerance line and a dot where each path reached it; returns the
    matplotlib figure."""
    fig, (contour_axis, loss_axis) = plt.subplots(1, 2, figsize=(14, 6.2), gridspec_kw={"width_ratios": [1.1, 1]})
    draw_contours(contour_axis, function, points=300)
    lowest = lowest_value(function)
    for (name, result), (color, linestyle) in zip(results.items(), line_styles(plt, len(results))):
        style = {"color": color, "linestyle": linestyle}
        label = legend_label(name, result)
        contour_axis.plot(result.path[:, 0], result.path[:, 1], **style, lw=1.4, alpha=0.9, label=label)
        contour_axis.plot(*result.path[-1], "o", color=color, ms=4)
        distances = np.maximum(highest_from_each_step(result.losses, lowest), LOSS_FLOOR)
        loss_axis.semilogy(distances, **style, lw=1.5, label=f"_{name}")  # "_": named, but left out of the legend
        if result.reached is not None:
            dot = {"color": color, "mec": "black", "ms": 7, "zorder": 3, "label": f"_{name} reached"}
            loss_axis.plot(result.reached, distances[result.reached], "o", **dot)
    contour_axis.plot(*function.start, "ks", ms=7, label="start")
    contour_axis.plot(*function.minimum, "r*", ms=14, label="minimum")
    contour_axis.set_title(f"{function.name}: {function.formula}")
    loss_axis.axhline(tolerance, color="black", linestyle=":", lw=1.2, label=f"tolerance {tolerance:g}")
    loss_axis.plot([], [], "o", color="white", mec="black", ms=7, label="within the tolerance from here on")
    loss_axis.set(
        xlabel="step",
        ylabel="highest loss - lowest value from this step on (log scale)",
        title=f"progress over {steps} steps",
        xlim=(0, steps),
    )
    loss_axis.grid(alpha=0.3, which="both")
    path_handles, path_labels = contour_axis.get_legend_handles_labels()
    key_handles, key_labels = loss_axis.get_legend_handles_labels()
    labels = path_labels + key_labels
    fig.legend(path_handles + key_handles, labels, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.05 + 0.025 * math.ceil(len(labels) / 4), 1, 1))
    return fig


def plot(function: TestFunction, results: dict[str, Run], steps: int, tolerance: float, path: str) -> None:
    """Write the figure as a PNG (nothing without matplotlib)."""
    plt = pyplot()
    if plt is None:
        return
    fig = figure(plt, function, results, steps, tolerance)
    save_figure(fig, path)
    plt.close(fig)


def animate(function: TestFunction, results: dict[str, Run], path: str, frames: int = 60) -> None:
    """Write a GIF of the paths being drawn (nothing without matplotlib)."""
    plt = pyplot()
    if plt is None:
        return
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, axis = plt.subplots(figsize=(6.5, 5.5))
    draw_contours(axis, function, points=200)
    axis.plot(*function.minimum, "r*", ms=14)
    lines = {
        name: axis.plot([], [], lw=1.4, color=color, linestyle=linestyle, label=legend_label(name, result))[0]
        for (name, result), (color, linestyle) in zip(results.items(), line_styles(plt, len(results)))
    }
    axis.set_title(function.name)
    axis.legend(fontsize=6, loc="upper left")
    longest = max(len(result.path) for result in results.values())

    def draw(frame):
        upto = max(1, int(longest * (frame + 1) / frames))
        for name, result in results.items():
            lines[name].set_data(result.path[:upto, 0], result.path[:upto, 1])
        return list(lines.values())

    with tempfile.TemporaryDirectory() as folder:  # Pillow writes to a named file: render there, then copy
        rendered = os.path.join(folder, "paths.gif")
        FuncAnimation(fig, draw, frames=frames, blit=True).save(rendered, writer=PillowWriter(fps=15))
        atomic_write(path, lambda f: f.write(Path(rendered).read_bytes()))
    plt.close(fig)
    print(f"wrote {path}")


def optimizer_class(spec: str) -> type[optim.Optimizer]:
    """The optimizer class that `--optimizer` names: 'FILE.py:CLASS' (a Python file) or
    'MODULE:CLASS' (a module importable from the current folder). Raises
    argparse.ArgumentTypeError saying what is wrong: no such file, module or class, a class
    that does not subclass tinynet.optim.Optimizer, or one that cannot be made with lr= alone."""
    where, _, class_name = spec.rpartition(":")
    if not where or not class_name:
        raise argparse.ArgumentTypeError(f"{spec!r} is not FILE.py:CLASS or MODULE:CLASS")
    module = _import_file(where) if where.endswith(".py") else _import_module(where)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise argparse.ArgumentTypeError(f"{where} has no {class_name}")
    if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
        raise argparse.ArgumentTypeError(f"{class_name} in {where} is {cls!r}, not a tinynet.optim.Optimizer subclass")
    try:
        cls(lr=LEARNING_RATES[0])
    except TypeError as error:
        raise argparse.ArgumentTypeError(
            f"{class_name}(lr={LEARNING_RATES[0]}) failed ({error}); the race makes "
            "each optimizer with a learning rate alone"
        ) from error
    return cls


def _import_file(path: str):
    if not os.path.isfile(path):
        raise argparse.ArgumentTypeError(f"no file {path} (from the folder {os.getcwd()})")
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _import_module(name: str):
    folder = os.getcwd()
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name + ".").startswith(error.name + "."):
            raise argparse.ArgumentTypeError(f"no module {error.name} in {folder} or on the Python path") from error
        raise  # a module that the user's module imports is missing: its own error says which
    finally:
        sys.path.remove(folder)


def print_table(function: TestFunction, results: dict[str, Run], steps: int, tolerance: float) -> None:
    """Each optimizer's learning rate, the step at which it reached the tolerance, and its final loss."""
    width = max(len("optimizer"), *map(len, results))
    print(f"\n{function.name}: {function.formula}, from {function.start}, {steps} steps")
    print(f"{'optimizer':{width}s} {'lr':>8s} {'reached at':>10s} {'final loss':>12s}")
    for name, result in results.items():
        reached = "-" if result.reached is None else result.reached
        print(f"{name:{width}s} {result.lr:8g} {reached:>10} {result.losses[-1]:12.4e}")
    print(f"reached at: the first step from which loss - lowest stays <= {tolerance:g} to the end ('-': not reached)")


def main(argv: list[str] | None = None) -> dict[str, dict[str, tuple[float, int | None, float]]]:
    """Run the race; returns {function: {optimizer: (learning rate, step reached or None, final loss)}}."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", nargs="+", choices=sorted(FUNCTIONS), default=list(FUNCTIONS))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="reached once loss - lowest stays <= this")
    parser.add_argument("--out", default="optimizer_plots", help="folder for the pictures (made if missing)")
    parser.add_argument("--gif", action="store_true", help="also write an animation of the paths")
    parser.add_argument(
        "--optimizer",
        action="append",
        default=[],
        metavar="FILE.py:CLASS",
        help="add your own tinynet.optim.Optimizer subclass to the race (or MODULE:CLASS); repeatable",
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"argument --steps: {args.steps}; it must be at least 1")
    if not args.tolerance > 0:
        parser.error(f"argument --tolerance: {args.tolerance}; it must be a number above 0")
    optimizers = dict(OPTIMIZERS)
    for spec in args.optimizer:
        try:
            cls = optimizer_class(spec)
        except argparse.ArgumentTypeError as error:
            parser.error(f"argument --optimizer: {error}")
        if cls.__name__ in optimizers or cls.__name__ in (*LBFGS_RACERS, NEWTON):
            parser.error(f"argument --optimizer: {spec}: the race already has an optimizer named {cls.__name__}")
        optimizers[cls.__name__] = cls
    os.makedirs(args.out, exist_ok=True)

    tables = {}
    for key in args.functions:
        function = FUNCTIONS[key]
        results = {
            name: best_run(function, make, args.steps, args.tolerance)
            for name, make in racers(function, optimizers).items()
        }
        print_table(function, results, args.steps, args.tolerance)
        tables[key] = {name: (result.lr, result.reached, result.losses[-1]) for name, result in results.items()}
        plot(function, results, args.steps, args.tolerance, os.path.join(args.out, f"{key}.png"))
        if args.gif:
            animate(function, results, os.path.join(args.out, f"{key}.gif"))
    return tables


if __name__ == "__main__":
    main()
