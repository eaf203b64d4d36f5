"""Every optimizer on classic 2-D test functions: the optimizer design at its simplest.

Each optimizer drives a plain 2-element numpy array with `opt.step(grad, point)`, with the
learning rate from a grid that suits it best on that function (the one that first gets
within the tolerance of the minimum). For each function the script prints a table (best
learning rate, steps to reach the tolerance, final loss) and writes a PNG: the contour plot
with each optimizer's path, beside the loss against the step.

    python examples/optimizers_2d.py                      # all functions, PNGs in optimizer_plots/
    python examples/optimizers_2d.py --functions rosenbrock --gif
    python examples/optimizers_2d.py --steps 50 --out /tmp/plots
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from plotting import distinct_colors, pyplot

from tinynet import optim


@dataclass(frozen=True)
class TestFunction:
    name: str
    formula: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]  # one minimizer, marked on the plot
    window: tuple[float, float, float, float]  # x from, x to, y from, y to
    log_levels: bool = True


def _beale_terms(p):
    x, y = p
    return (1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3)


def _beale_grad(p):
    x, y = p
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
}
LEARNING_RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]


def run(function: TestFunction, make_optimizer, lr: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The path (steps + 1, 2) and the loss at each point; stops early if the loss blows up."""
    point = np.array(function.start, dtype=np.float64)
    opt = make_optimizer(lr=lr)
    path, losses = [point.copy()], [function.f(point)]
    for _ in range(steps):
        opt.step(function.grad(point), point)
        loss = function.f(point)
        if not math.isfinite(loss) or abs(loss) > 1e8:
            break
        path.append(point.copy())
        losses.append(loss)
    return np.array(path), np.array(losses)


def best_run(function: TestFunction, make_optimizer, steps: int, tolerance: float):
    """Try every learning rate of LEARNING_RATES; keep the run that gets within the tolerance for
    good first (or, if none does, ends lowest without blowing up): (lr, path, losses)."""
    best = lowest_value(function)
    runs = [(lr, *run(function, make_optimizer, lr, steps)) for lr in LEARNING_RATES]

    def score(candidate):
        _, _path, losses = candidate
        reached = steps_to_tolerance(losses, best, tolerance)
        finished = len(losses) == steps + 1
        return (reached is None, reached or 0, not finished, losses[-1])

    return min(runs, key=score)


def lowest_value(function: TestFunction) -> float:
    return function.f(np.array(function.minimum))


def steps_to_tolerance(losses: np.ndarray, best: float, tolerance: float) -> int | None:
    """The step from which the loss stays within `tolerance` of the lowest value (None: never)."""
    outside = np.nonzero(losses - best > tolerance)[0]
    if len(outside) == 0:
        return 0
    return None if outside[-1] == len(losses) - 1 else int(outside[-1]) + 1


def contour_levels(function: TestFunction, values: np.ndarray) -> np.ndarray:
    """Log-spaced levels above the minimum (linear ones for the saddle, which goes negative)."""
    best, top = lowest_value(function), np.percentile(values, 90)
    if function.log_levels:
        return best + np.logspace(-2, np.log10(top - best), 25)
    return np.linspace(values.min(), top, 25)


def plot(function: TestFunction, results: dict, steps: int, path: str) -> None:
    plt = pyplot()
    if plt is None:
        return
    fig, (contour_axis, loss_axis) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [1.15, 1]})
    x0, x1, y0, y1 = function.window
    xs, ys = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    zs = function.f(np.stack([xs, ys]))
    best = lowest_value(function)
    contour_axis.contour(xs, ys, zs, levels=contour_levels(function, zs), cmap="viridis", linewidths=0.7, alpha=0.45)
    for (name, (trajectory, losses)), color in zip(results.items(), distinct_colors(plt, len(results))):
        contour_axis.plot(trajectory[:, 0], trajectory[:, 1], "-", color=color, lw=1.4, label=name, alpha=0.9)
        contour_axis.plot(*trajectory[-1], "o", color=color, ms=4)
        loss_axis.semilogy(np.maximum(np.minimum.accumulate(losses) - best, 1e-12), color=color, lw=1.6, label=name)
    contour_axis.plot(*function.start, "ks", ms=7, label="start")
    contour_axis.plot(*function.minimum, "r*", ms=14, label="minimum")
    contour_axis.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=f"{function.name}: {function.formula}")
    loss_axis.set(
        xlabel="step",
        ylabel="best loss so far - lowest value (log scale)",
        title=f"progress over {steps} steps",
        xlim=(0, steps),
    )
    loss_axis.grid(alpha=0.3, which="both")
    handles, labels = contour_axis.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=7, fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def animate(function: TestFunction, results: dict, path: str, frames: int = 60) -> None:
    plt = pyplot()
    if plt is None:
        return
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, axis = plt.subplots(figsize=(6.5, 5.5))
    x0, x1, y0, y1 = function.window
    xs, ys = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    zs = function.f(np.stack([xs, ys]))
    axis.contour(xs, ys, zs, levels=contour_levels(function, zs), cmap="viridis", linewidths=0.7, alpha=0.45)
    axis.plot(*function.minimum, "r*", ms=14)
    lines = {
        name: axis.plot([], [], lw=1.4, color=color, label=name)[0]
        for name, color in zip(results, distinct_colors(plt, len(results)))
    }
    axis.set(xlim=(x0, x1), ylim=(y0, y1), title=function.name)
    axis.legend(fontsize=7, loc="upper left")
    longest = max(len(trajectory) for trajectory, _ in results.values())

    def draw(frame):
        upto = max(1, int(longest * (frame + 1) / frames))
        for name, (trajectory, _) in results.items():
            lines[name].set_data(trajectory[:upto, 0], trajectory[:upto, 1])
        return list(lines.values())

    FuncAnimation(fig, draw, frames=frames, blit=True).save(path, writer=PillowWriter(fps=15))
    plt.close(fig)
    print(f"wrote {path}")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", nargs="+", choices=sorted(FUNCTIONS), default=list(FUNCTIONS))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--tolerance", type=float, default=1e-3, help="reached once loss - lowest stays <= this")
    parser.add_argument("--out", default="optimizer_plots", help="folder for the pictures")
    parser.add_argument("--gif", action="store_true", help="also write an animation of the paths")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    tables = {}
    for key in args.functions:
        function = FUNCTIONS[key]
        chosen = {name: best_run(function, make, args.steps, args.tolerance) for name, make in OPTIMIZERS.items()}
        results = {name: (path, losses) for name, (_, path, losses) in chosen.items()}
        best = lowest_value(function)
        print(f"\n{function.name}: {function.formula}, from {function.start}, {args.steps} steps")
        print(f"{'optimizer':14s} {'best lr':>8s} {'steps to tol':>13s} {'final loss':>12s}")
        tables[key] = {}
        for name, (lr, _, losses) in chosen.items():
            reached = steps_to_tolerance(losses, best, args.tolerance)
            print(f"{name:14s} {lr:8g} {'-' if reached is None else reached:>13} {losses[-1]:12.4e}")
            tables[key][name] = (lr, reached, losses[-1])
        plot(function, results, args.steps, os.path.join(args.out, f"{key}.png"))
        if args.gif:
            animate(function, results, os.path.join(args.out, f"{key}.gif"))
    return tables


if __name__ == "__main__":
    main()
