"""Train a multilayer perceptron on MNIST from scratch: tinynet's main job.

python examples/mnist_mlp.py                          # 784-256-128-10 MLP, Adam, >98% test accuracy
python examples/mnist_mlp.py --optimizer sgdm --lr 0.05 --epochs 5
python examples/mnist_mlp.py --eval mnist_mlp.npz     # accuracy of a saved model
python examples/mnist_mlp.py --epochs 3 --diagnose    # gradient norms, update/weight ratios, dead ReLUs
python examples/mnist_mlp.py --eval mnist_mlp.npz --report   # precision, recall, F1, confusion matrix
python examples/mnist_mlp.py --export mnist_mlp.onnx   # and the trained model as ONNX (docs/onnx.md)
"""

from __future__ import annotations

import mnist_training

import tinynet as tn
from tinynet import nn


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def main(argv=None) -> float:
    args = mnist_training.parse_args(argv, __doc__, epochs=10, lr=2e-3, save="mnist_mlp.npz")
    return mnist_training.run(args, make_model, input_shape=(784,))


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
