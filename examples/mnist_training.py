"""What the MNIST examples share: the optimizers by name, the flags, the training loop with its
progress bar, evaluation, saving and loading. Each example supplies its model."""

from __future__ import annotations

import argparse
import time

import numpy as np
from plotting import plot_training_curves
from tqdm import tqdm

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.data import DataLoader, TensorDataset, load_mnist
from tinynet.optim.lr_scheduler import CosineAnnealingLR

OPTIMIZERS = {
    "sgd": optim.SGD,
    "sgdm": optim.SGDm,
    "adagrad": optim.Adagrad,
    "rmsprop": optim.RMSProp,
    "adam": optim.Adam,
    "adamw": optim.AdamW,
    "adadelta": optim.Adadelta,
    "adamax": optim.Adamax,
    "nadam": optim.NAdam,
    "radam": optim.RAdam,
    "lion": optim.Lion,
}


@tn.no_grad()
def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> float:
    model.eval()
    correct = 0
    for x, y in DataLoader(TensorDataset(images, labels), batch_size=batch_size):
        correct += int((model(x).data.argmax(axis=1) == y).sum())
    model.train()
    return correct / len(labels)


def train_epoch(model, opt, loader, epoch: int, epochs: int, quiet: bool = False) -> float:
    """One pass over the training data; returns the mean training loss."""
    total_loss, correct, seen = 0.0, 0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}/{epochs}", leave=False, disable=quiet, mininterval=0.5)
    for x, y in bar:
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        total_loss += loss.item() * len(y)
        correct += int((logits.data.argmax(axis=1) == y).sum())
        seen += len(y)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}", refresh=False)
    return total_loss / seen


def parse_args(argv, description: str, epochs: int, lr: float, save: str, add_flags=None) -> argparse.Namespace:
    """The flags every MNIST example shares; `add_flags(parser)` adds an example's own."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    if add_flags:
        add_flags(parser)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", default=save, help="where to save the trained model ('' to skip)")
    parser.add_argument("--data", default=None, help="folder with the MNIST files (default: the usual places)")
    parser.add_argument("--eval", metavar="PATH", help="only report the test accuracy of a saved model")
    parser.add_argument("--train-size", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--plot", metavar="PNG", help="write the training curves to this PNG (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser.parse_args(argv)


def train(model, opt, data, epochs: int, batch_size: int = 128, seed: int = 0, quiet: bool = False) -> dict:
    """Train with cosine learning-rate decay, printing a line per epoch; returns the history:
    {"train_loss": [...], "test_accuracy": [...], "seconds": [...]}, one entry per epoch."""
    x_train, y_train, x_test, y_test = data
    schedule = CosineAnnealingLR(opt, T_max=epochs)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, seed=seed)
    history = {"train_loss": [], "test_accuracy": [], "seconds": []}
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        train_loss = train_epoch(model, opt, loader, epoch, epochs, quiet)
        seconds = time.perf_counter() - start
        schedule.step()
        test_accuracy = accuracy(model, x_test, y_test)
        for key, value in zip(history, (train_loss, test_accuracy, seconds)):
            history[key].append(value)
        print(
            f"epoch {epoch:2d}  train loss {train_loss:.4f}  test accuracy {test_accuracy:.4f}  {seconds:.2f} s",
            flush=True,
        )
    return history


def load_data(args: argparse.Namespace, input_shape: tuple[int, ...]):
    """MNIST from --data (or the usual places), reshaped to input_shape, cut to --train-size."""
    x_train, y_train, x_test, y_test = load_mnist(args.data)
    x_train, x_test = x_train.reshape(-1, *input_shape), x_test.reshape(-1, *input_shape)
    if args.train_size:
        x_train, y_train = x_train[: args.train_size], y_train[: args.train_size]
    return x_train, y_train, x_test, y_test


def run(args: argparse.Namespace, make_model, input_shape: tuple[int, ...]) -> float:
    """Train `make_model()` on MNIST (or evaluate a saved one) as `args` say; returns the test accuracy."""
    tn.manual_seed(args.seed)
    data = load_data(args, input_shape)
    model = make_model()
    if args.eval:
        model.load(args.eval)
        test_accuracy = accuracy(model, data[2], data[3])
    else:
        opt = OPTIMIZERS[args.optimizer](lr=args.lr)
        history = train(model, opt, data, args.epochs, args.batch_size, args.seed, args.quiet)
        test_accuracy = history["test_accuracy"][-1]
        if args.save:
            model.save(args.save)
            print(f"saved the model to {args.save}")
        if args.plot:
            plot_training_curves({args.optimizer: history}, args.plot, f"MNIST, {args.optimizer}, lr {args.lr}")
    print(f"test accuracy: {test_accuracy:.4f}")
    return test_accuracy
