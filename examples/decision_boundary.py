"""A small MLP learns to separate toy data in the plane; the picture shows where it puts each class.

Trains full-batch on two moons, two circles or three spiral arms (tinynet.data's make_moons,
make_circles, make_spirals), prints the loss at a few steps and then `accuracy: ...` on the
training points, and writes a PNG: the plane coloured by the class the network predicts there
(its decision regions), with the data points on top. `--gif` also writes an animation of the
regions taking shape during training, beside the PNG.

    python examples/decision_boundary.py                                  # moons, decision_boundary.png
    python examples/decision_boundary.py --data spirals --hidden 64 64 --steps 1000
    python examples/decision_boundary.py --data circles --activation relu --gif --out circles.png

Exit status: 0 when done; 2 for a bad flag (checked before training); 3 when the loss becomes
NaN or infinite (the learning rate is too large).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import math
import os
import sys
import tempfile

import numpy as np
from mnist_training import EXIT_NON_FINITE_LOSS, OPTIMIZERS
from plotting import distinct_colors, pyplot, save_figure

import tinynet as tn
from tinynet import functional as F
from tinynet import nn
from tinynet.checkpoint import atomic_write
from tinynet.data import make_circles, make_moons, make_spirals
from tinynet.metrics import accuracy

DATASETS = {"moons": (make_moons, 2), "circles": (make_circles, 2), "spirals": (make_spirals, 3)}
DEFAULT_NOISE = {"moons": 0.1, "circles": 0.1, "spirals": 0.05}  # the spiral arms are only 1/3 apart
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
GRID_SIZE = 200  # points along each side of the grid the regions are computed on
GIF_FRAMES = 40


def parse_args(argv) -> argparse.Namespace:
    """The flags, each checked here, before training: a bad one exits with status 2, naming it."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=list(DATASETS), default="moons")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 16], help="hidden layer sizes (default: 16 16)")
    parser.add_argument("--activation", choices=list(ACTIVATIONS), default="tanh")
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--steps", type=int, default=300, help="full-batch training steps")
    parser.add_argument("--samples", type=int, default=200, help="number of data points")
    parser.add_argument(
        "--noise", type=float, help="standard deviation of the noise on the points (default: 0.1, spirals 0.05)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds the data and the initial weights")
    parser.add_argument("--out", default="decision_boundary.png", help="the PNG to write")
    parser.add_argument("--gif", action="store_true", help="also write the regions during training, as --out's .gif")
    args = parser.parse_args(argv)
    classes = DATASETS[args.data][1]
    if args.noise is None:
        args.noise = DEFAULT_NOISE[args.data]
    for flag, low in (("steps", 1), ("samples", classes), ("seed", 0)):
        if getattr(args, flag) < low:
            parser.error(f"argument --{flag}: must be at least {low}, got {getattr(args, flag)}")
    if min(args.hidden) < 1:
        parser.error(f"argument --hidden: every size must be at least 1, got {' '.join(map(str, args.hidden))}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"argument --lr: must be a positive finite number, got {args.lr}")
    if not (math.isfinite(args.noise) and args.noise >= 0):
        parser.error(f"argument --noise: must be a finite number at least 0, got {args.noise}")
    if not args.out.lower().endswith(".png"):
        parser.error(f"argument --out: must be a .png file, got {args.out}")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error(f"argument --out: the folder {folder} does not exist")
    if os.path.isdir(args.out):
        parser.error(f"argument --out: {args.out} is a folder; give a file name")
    if args.gif:
        try:
            for package in ("matplotlib", "PIL"):
                importlib.import_module(package)
        except ImportError:
            parser.error('argument --gif: needs matplotlib and pillow; install them: pip install -e ".[plot]"')
    return args


def make_model(hidden: list[int], activation: str, classes: int) -> nn.Sequential:
    """An MLP from the plane to one score per class, with `activation` after each hidden layer."""
    sizes = [2, *hidden]
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], classes))


def grid_around(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The x and y coordinates (each size x size) of a grid over the points, with a margin."""
    low, high = points.min(axis=0) - 0.5, points.max(axis=0) + 0.5
    return np.meshgrid(*(np.linspace(low[i], high[i], size, dtype=np.float32) for i in range(2)))


@tn.no_grad()
def predict(model: nn.Module, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The class the model predicts at each point of the grid (xs, ys), shaped like the grid."""
    return model(np.stack([xs.ravel(), ys.ravel()], axis=1)).data.argmax(axis=1).reshape(xs.shape)


def train(model, opt, x: np.ndarray, y: np.ndarray, steps: int, grid=None) -> list[tuple[int, float, np.ndarray]]:
    """Full-batch training for `steps` steps, printing the loss at a few of them. With a grid
    (xs, ys), returns up to GIF_FRAMES snapshots (step, loss, predicted regions) from the start
    to the end, denser early on, where the regions change most; without, none. A NaN or
    infinite loss exits with status 3."""
    report_at = set(np.linspace(0, steps, 6, dtype=int))
    snapshot_at = {0, *np.geomspace(1, steps, GIF_FRAMES - 1).round().astype(int)} if grid is not None else set()
    snapshots = []
    for step in range(steps + 1):
        loss = F.cross_entropy(model(x), y)
        value = loss.item()
        if not math.isfinite(value):
            print(f"error: the loss became {value} at step {step}: try a smaller --lr", file=sys.stderr)
            raise SystemExit(EXIT_NON_FINITE_LOSS)
        if step in snapshot_at:
            snapshots.append((step, value, predict(model, *grid)))
        if step in report_at:
            print(f"step {step:5d}  loss {value:.4f}", flush=True)
        if step < steps:
            model.zero_grad()
            loss.backward()
            opt.step(model.grads, model.params)
    return snapshots


def draw(axis, plt, xs, ys, regions: np.ndarray, x: np.ndarray, y: np.ndarray, classes: int, title: str) -> None:
    """The predicted regions, lightly coloured by class and outlined, with the points over them in full colour."""
    colors = distinct_colors(plt, classes)
    levels = np.arange(classes + 1) - 0.5
    axis.contourf(xs, ys, regions, levels=levels, colors=colors, alpha=0.3)
    axis.contour(xs, ys, regions, levels=levels, colors="black", linewidths=0.6)
    for label, color in enumerate(colors):
        points = x[y == label]
        axis.scatter(points[:, 0], points[:, 1], s=16, color=color, edgecolors="black", linewidths=0.4)
    axis.set(xlim=(xs.min(), xs.max()), ylim=(ys.min(), ys.max()), aspect="equal", title=title)


def figure_size(xs: np.ndarray, ys: np.ndarray, width: float) -> tuple[float, float]:
    """(width, height) in inches for a plot of the grid at equal scales, with room for the title."""
    return width, width * np.ptp(ys) / np.ptp(xs) + 0.6


def save_gif(plt, snapshots, grid, x: np.ndarray, y: np.ndarray, classes: int, name: str, path: str) -> None:
    """An animation of the snapshots (step, loss, regions), written with matplotlib's pillow writer
    to a temporary folder, then to `path` all at once."""
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, axis = plt.subplots(figsize=figure_size(*grid, 5.5))

    def frame(i):
        step, loss, regions = snapshots[i]
        axis.clear()
        draw(axis, plt, *grid, regions, x, y, classes, f"{name}: step {step}, loss {loss:.3f}")

    animation = FuncAnimation(fig, frame, frames=len(snapshots))
    with tempfile.TemporaryDirectory() as folder:
        animation_file = os.path.join(folder, "regions.gif")
        animation.save(animation_file, writer=PillowWriter(fps=8))
        with open(animation_file, "rb") as f:
            content = f.read()
    plt.close(fig)
    atomic_write(path, lambda f: f.write(content))
    print(f"wrote {path}")


def main(argv=None) -> float:
    """Train as the flags say, print and return the training accuracy, write the pictures."""
    args = parse_args(argv)
    make_data, classes = DATASETS[args.data]
    x, y = make_data(n_samples=args.samples, noise=args.noise, seed=args.seed)
    tn.manual_seed(args.seed)
    model = make_model(args.hidden, args.activation, classes)
    opt = OPTIMIZERS[args.optimizer](lr=args.lr)
    grid, gif_grid = grid_around(x, GRID_SIZE), grid_around(x, GRID_SIZE // 2)
    snapshots = train(model, opt, x, y, args.steps, gif_grid if args.gif else None)
    with tn.no_grad():
        score = accuracy(model(x), y)
    print(f"accuracy: {score:.4f}")

    plt = pyplot()
    if plt is None:
        return score
    fig, axis = plt.subplots(figsize=figure_size(*grid, 7))
    title = f"{args.data} (noise {args.noise}): training accuracy {score:.4f} after {args.steps} steps"
    draw(axis, plt, *grid, predict(model, *grid), x, y, classes, title)
    fig.tight_layout()
    save_figure(fig, args.out)
    plt.close(fig)
    if args.gif:
        gif = os.path.splitext(args.out)[0] + ".gif"
        save_gif(plt, snapshots, gif_grid, x, y, classes, args.data, gif)
    return score


if __name__ == "__main__":
    main()
