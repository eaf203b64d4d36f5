"""Plotting for the examples. matplotlib is optional (`pip install -e ".[plot]"`): without it the
examples still print their tables and say how to get the pictures."""

from __future__ import annotations

import os

from tinynet.checkpoint import atomic_write

INSTALL_HINT = 'matplotlib is not installed: no pictures. Install it with: python -m pip install -e ".[plot]"'


def pyplot():
    """matplotlib.pyplot with a file-only backend, or None (after saying how to install it)."""
    try:
        import matplotlib
    except ImportError:
        print(INSTALL_HINT)
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def distinct_colors(plt, n: int) -> list:
    """n colours, as distinct as can be: the ten strong colours of tab20, then their light twins."""
    palette = plt.get_cmap("tab20").colors
    return list(palette[::2] + palette[1::2])[:n]


LINE_STYLES = ("-", "--", ":", "-.")


def line_styles(plt, n: int) -> list[tuple[tuple, str]]:
    """n (colour, line style) pairs for lines that cross each other: line i gets the colour
    i mod 10 of tab10 and the line style (i + i // 10) mod 4, so each line differs from the
    next in both, and no two of the first 40 are alike (then they repeat)."""
    palette = plt.get_cmap("tab10").colors
    return [(palette[i % 10], LINE_STYLES[(i + i // 10) % len(LINE_STYLES)]) for i in range(n)]


def save_figure(fig, path: str, dpi: int = 110) -> None:
    """Write fig to `path` (the format from its extension, e.g. .png) all at once, through a
    temporary file renamed when complete, and say so."""
    extension = os.path.splitext(path)[1].lstrip(".") or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=extension, dpi=dpi))
    print(f"wrote {path}")


def plot_training_curves(histories: dict[str, dict[str, list[float]]], path: str, title: str) -> bool:
    """Training loss and test accuracy per epoch, one line per run; True if the PNG was written.

    histories: {run name: {"train_loss": [...], "test_accuracy": [...]}}"""
    plt = pyplot()
    if plt is None:
        return False
    fig, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for (name, history), color in zip(histories.items(), distinct_colors(plt, len(histories))):
        epochs = range(1, len(history["train_loss"]) + 1)
        loss_axis.plot(epochs, history["train_loss"], marker="o", color=color, label=name)
        accuracy_axis.plot(epochs, history["test_accuracy"], marker="o", color=color, label=name)
    loss_axis.set(xlabel="epoch", ylabel="training loss (log scale)", yscale="log", title="Training loss")
    accuracy_axis.set(xlabel="epoch", ylabel="test accuracy", title="Test accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    accuracy_axis.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return True
