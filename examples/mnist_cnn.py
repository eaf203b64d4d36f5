"""Train a small convolutional network on MNIST: past 99% test accuracy.

python examples/mnist_cnn.py                          # two conv blocks and a classifier, Adam
python examples/mnist_cnn.py --epochs 2 --optimizer nadam --lr 2e-3
python examples/mnist_cnn.py --eval mnist_cnn.npz     # accuracy of a saved model
python examples/mnist_cnn.py --export mnist_cnn.onnx   # and the trained model as ONNX (docs/onnx.md)
"""

from __future__ import annotations

import mnist_training

import tinynet as tn
from tinynet import nn


def make_model() -> nn.Module:
    """conv3x3(1->16)-ReLU-maxpool2, conv3x3(16->32)-ReLU-maxpool2, Linear(1568, 128)-ReLU, Linear(128, 10)"""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def main(argv=None) -> float:
    args = mnist_training.parse_args(argv, __doc__, epochs=6, lr=2e-3, save="mnist_cnn.npz")
    return mnist_training.run(args, make_model, input_shape=(1, 28, 28))


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
