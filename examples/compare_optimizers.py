"""Train the MNIST MLP with each optimizer and compare: a table, and the curves as a PNG.

    python examples/compare_optimizers.py                      # every optimizer, 3 epochs each
    python examples/compare_optimizers.py --optimizers sgd sgdm adam --epochs 5
    python examples/compare_optimizers.py --epochs 1 --train-size 5000 --plot quick.png

Each optimizer gets the same model initialization, data order and cosine schedule, with a
learning rate that suits it (LEARNING_RATES).
"""

from __future__ import annotations

import argparse

import mnist_training
from mnist_mlp import make_model
from plotting import plot_training_curves

import tinynet as tn

LEARNING_RATES = {
    "sgd": 0.1,
    "sgdm": 0.05,
    "adagrad": 0.02,
    "rmsprop": 1e-3,
    "adam": 2e-3,
    "adamw": 2e-3,
    "adadelta": 1.0,
    "adamax": 4e-3,
    "nadam": 2e-3,
    "radam": 2e-3,
    "lion": 5e-4,
    "asgd": 0.1,
    "muon": 0.02,
    "adafactor": 0.1,
    "lamb": 0.01,
}


def main(argv=None) -> dict[str, dict]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--optimizers", nargs="+", choices=sorted(LEARNING_RATES), default=list(LEARNING_RATES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default=None, help="folder with the MNIST files")
    parser.add_argument("--plot", default="compare_optimizers.png", help="PNG of the curves ('' to skip)")
    args = parser.parse_args(argv)

    data = mnist_training.load_data(args, input_shape=(784,))
    histories = {}
    for name in args.optimizers:
        print(f"--- {name}, lr {LEARNING_RATES[name]}")
        tn.manual_seed(args.seed)
        model = make_model()
        opt = mnist_training.make_optimizer(name, LEARNING_RATES[name], model)
        histories[name] = mnist_training.train(model, opt, data, args.epochs, args.batch_size, args.seed, quiet=True)

    print(f"\n{'optimizer':10s} {'lr':>8s} {'final loss':>11s} {'test acc':>9s} {'seconds':>8s}")
    for name, history in histories.items():
        print(
            f"{name:10s} {LEARNING_RATES[name]:8g} {history['train_loss'][-1]:11.4f} "
            f"{history['test_accuracy'][-1]:9.4f} {sum(history['seconds']):8.1f}"
        )
    if args.plot:
        plot_training_curves(histories, args.plot, f"MNIST MLP: {args.epochs} epochs per optimizer")
    return histories


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
