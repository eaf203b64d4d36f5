"""A convolutional autoencoder on MNIST: squeeze each digit into a small code and draw it back.

The encoder halves the image twice with stride-2 convolutions (28x28 -> 14x14 -> 7x7) and a
Linear layer maps the result to the code (16 numbers by default). The decoder mirrors it: a
Linear layer back to 7x7 feature maps, then two stride-2 transposed convolutions up to 28x28,
one logit per pixel. Trained with binary cross-entropy on the logits (the pixels are in
[0, 1]), Adam and cosine learning-rate decay; the error reported is the mean squared error
per pixel of the reconstruction (the sigmoid of the logits) on the test set.

    python examples/mnist_autoencoder.py                  # a grid of test digits over their reconstructions
    python examples/mnist_autoencoder.py --latent 2       # and a scatter plot of the 2-D codes
    python examples/mnist_autoencoder.py --epochs 2 --train-size 10000 --grid ''
    python examples/mnist_autoencoder.py --export mnist_autoencoder.onnx   # and an ONNX file of it
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from mnist_training import add_export_flag, check_export, export_onnx, load_data
from plotting import distinct_colors, pyplot, save_figure
from tqdm import tqdm

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.data import DataLoader, TensorDataset
from tinynet.optim.lr_scheduler import CosineAnnealingLR

CHANNELS = (16, 32)  # feature maps at 14x14 and at 7x7


class Autoencoder(nn.Module):
    """encode: (N, 1, 28, 28) images -> (N, latent) codes; decode: codes -> (N, 1, 28, 28) logits."""

    def __init__(self, latent: int = 16):
        super().__init__()
        c1, c2 = CHANNELS
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c1, 3, stride=2, padding=1),  # 28 -> 14
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),  # 14 -> 7
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c2 * 7 * 7, latent),
        )
        self.expand = nn.Sequential(nn.Linear(latent, c2 * 7 * 7), nn.ReLU())
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1),  # 7 -> 14
            nn.ReLU(),
            nn.ConvTranspose2d(c1, 1, 3, stride=2, padding=1, output_padding=1),  # 14 -> 28
        )

    def encode(self, images: tn.Tensor) -> tn.Tensor:
        """The codes of a batch of images."""
        return self.encoder(images)

    def decode(self, codes: tn.Tensor) -> tn.Tensor:
        """One logit per pixel for each code: sigmoid(logits) is the drawn image."""
        return self.upsample(self.expand(codes).reshape(-1, CHANNELS[1], 7, 7))

    def forward(self, images: tn.Tensor) -> tn.Tensor:
        return self.decode(self.encode(images))


@tn.no_grad()
def encode_and_reconstruct(model: Autoencoder, images: np.ndarray, batch_size: int = 1000):
    """(codes, reconstructions in [0, 1]) of images (N, 1, 28, 28), in evaluation mode."""
    model.eval()
    codes, drawn = [], []
    for (x,) in DataLoader(TensorDataset(images), batch_size=batch_size):
        code = model.encode(tn.Tensor(x))
        codes.append(code.data)
        drawn.append(model.decode(code).sigmoid().data)
    model.train()
    return np.concatenate(codes), np.concatenate(drawn)


def reconstruction_error(model: Autoencoder, images: np.ndarray) -> float:
    """The mean squared error per pixel between images and their reconstructions."""
    _, drawn = encode_and_reconstruct(model, images)
    return float(np.mean((drawn - images) ** 2))


def train_epoch(model: Autoencoder, opt, loader: DataLoader, epoch: int, epochs: int, quiet: bool) -> float:
    """One pass over the training images; returns the mean training loss (BCE per pixel)."""
    total, seen = 0.0, 0
    disable = True if quiet else None  # None: tqdm turns itself off when stderr is not a terminal
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=disable, mininterval=0.5)
    for (x,) in bar:
        loss = F.binary_cross_entropy_with_logits(model(x), x)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        total += loss.item() * len(x)
        seen += len(x)
        bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
    return total / seen


def plot_grid(images: np.ndarray, drawn: np.ndarray, path: str, title: str) -> bool:
    """Test digits in the top row, their reconstructions below; True if the PNG was written."""
    plt = pyplot()
    if plt is None:
        return False
    framed = np.pad(np.stack([images, drawn])[:, :, 0], ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=1)
    rows, n, h, w = framed.shape
    sheet = framed.transpose(0, 2, 1, 3).reshape(rows * h, n * w)  # each row: its n images side by side
    fig, axis = plt.subplots(figsize=(n * 0.75, 2 * 0.75 + 0.5))
    axis.imshow(sheet, cmap="gray", vmin=0, vmax=1)
    axis.set(xticks=[], yticks=[h / 2, 3 * h / 2], title=title)
    axis.set_yticklabels(["test digits", "reconstructions"])
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return True


def plot_codes(codes: np.ndarray, labels: np.ndarray, path: str) -> bool:
    """The 2-D codes of the test set, one dot per image coloured by its digit; True if written."""
    plt = pyplot()
    if plt is None:
        return False
    fig, axis = plt.subplots(figsize=(7, 6))
    for digit, color in zip(range(10), distinct_colors(plt, 10)):
        chosen = labels == digit
        axis.scatter(codes[chosen, 0], codes[chosen, 1], s=2, color=color, label=str(digit), alpha=0.6)
    axis.legend(markerscale=5, title="digit", loc="best", fontsize=8)
    axis.set(xlabel="code 1", ylabel="code 2", title="MNIST test set in the autoencoder's 2-D code space")
    fig.tight_layout()
    save_figure(fig, path)
    plt.close(fig)
    return True


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latent", type=int, default=16, help="the size of the code")
    parser.add_argument("--data", default=None, help="folder with the MNIST files (default: the usual places)")
    parser.add_argument("--train-size", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--grid", metavar="PNG", default="mnist_autoencoder.png", help="'' to skip")
    parser.add_argument(
        "--scatter", metavar="PNG", help="with --latent 2: the codes' PNG (default mnist_autoencoder_codes.png)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_export_flag(parser, "the trained autoencoder (images in, one logit per pixel out)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if args.scatter and args.latent != 2:
        parser.error(f"--scatter needs --latent 2 (a 2-D code), got --latent {args.latent}")
    if args.scatter is None:
        args.scatter = "mnist_autoencoder_codes.png" if args.latent == 2 else ""
    check_export(parser, args.export)
    return args


def main(argv=None) -> float:
    """Train as the flags say, write the pictures; returns the test reconstruction error."""
    args = parse_args(argv)
    tn.manual_seed(args.seed)
    x_train, _, x_test, y_test = load_data(args, (1, 28, 28))
    model = Autoencoder(args.latent)
    opt = optim.Adam(lr=args.lr)
    schedule = CosineAnnealingLR(opt, T_max=args.epochs)
    loader = DataLoader(TensorDataset(x_train), batch_size=args.batch_size, shuffle=True, seed=args.seed)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, opt, loader, epoch, args.epochs, args.quiet)
        seconds = time.perf_counter() - start
        schedule.step()
        error = reconstruction_error(model, x_test)
        print(f"epoch {epoch:2d}  train loss {train_loss:.4f}  test error {error:.5f}  {seconds:.2f} s", flush=True)
    if args.grid or args.scatter:
        codes, drawn = encode_and_reconstruct(model, x_test)
        if args.grid:
            plot_grid(x_test[:16], drawn[:16], args.grid, f"latent {args.latent}, test error {error:.4f}")
        if args.scatter:
            plot_codes(codes, y_test, args.scatter)
    if args.export:
        export_onnx(model, x_test[:2], args.export)
    print(f"test reconstruction error: {error:.5f}")
    return error


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
