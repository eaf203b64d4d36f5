"""The hand-written numpy baseline: the reference MLP with no autograd at all.

Forward, backward and a fused flat-buffer Adam written out by hand, float32 throughout: the
speed a numpy framework could reach if it had no overhead. benchmarks/mnist_mlp.py runs it
side by side with tinynet and PyTorch.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


class NumpyMLP:
    """784-256-128-10 ReLU MLP with softmax cross-entropy and Adam(lr=1e-3)."""

    def __init__(self, sizes=(784, 256, 128, 10), lr=1e-3, betas=(0.9, 0.999), eps=1e-8, seed=0):
        rng = np.random.default_rng(seed)
        shapes = [(n_out, n_in) for n_in, n_out in itertools.pairwise(sizes)]
        total = sum(o * i + o for o, i in shapes)
        self.params = np.empty(total, np.float32)
        self.grads = np.zeros(total, np.float32)
        self.layers = []  # (W, b, dW, db) views into the flat buffers
        offset = 0
        for n_out, n_in in shapes:
            bound = 1 / math.sqrt(n_in)
            views = []
            for size, shape in ((n_out * n_in, (n_out, n_in)), (n_out, (n_out,))):
                self.params[offset : offset + size] = rng.uniform(-bound, bound, size)
                views.append(
                    (
                        self.params[offset : offset + size].reshape(shape),
                        self.grads[offset : offset + size].reshape(shape),
                    )
                )
                offset += size
            (W, dW), (b, db) = views
            self.layers.append((W, b, dW, db))
        self.m, self.v, self.tmp = (np.zeros(total, np.float32) for _ in range(3))
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0

    def forward(self, x):
        activations = [x]
        for i, (W, b, _, _) in enumerate(self.layers):
            x = x @ W.T
            x += b
            if i < len(self.layers) - 1:
                np.maximum(x, 0, out=x)
            activations.append(x)
        return activations

    def train_step(self, x, y) -> float:
        activations = self.forward(x)
        loss, grad = self.loss_and_gradient(activations[-1], y)
        self.backward(activations, grad)
        self.adam()
        return loss

    @staticmethod
    def loss_and_gradient(logits, y) -> tuple[float, np.ndarray]:
        """The mean softmax cross-entropy and its gradient with respect to the logits."""
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        n = len(y)
        loss = float(np.log(total[:, 0]).sum() - shifted[np.arange(n), y].sum()) / n
        grad = exp / total
        grad[np.arange(n), y] -= 1
        grad /= n
        return loss, grad

    def backward(self, activations, grad) -> None:
        """Every layer's gradients, written into the flat gradient buffer."""
        for i in range(len(self.layers) - 1, -1, -1):
            W, _, dW, db = self.layers[i]
            np.matmul(grad.T, activations[i], out=dW)
            grad.sum(axis=0, out=db)
            if i > 0:
                grad = grad @ W
                grad *= activations[i] > 0

    def adam(self):
        beta1, beta2 = self.betas
        self.t += 1
        g, m, v, tmp = self.grads, self.m, self.v, self.tmp
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=tmp)
        v *= beta2
        v += np.multiply(np.square(g, out=tmp), 1 - beta2, out=tmp)
        c = math.sqrt(1 - beta2**self.t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * c
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * c / (1 - beta1**self.t)
        self.params -= tmp

    def predict(self, x):
        return self.forward(x)[-1].argmax(axis=1)
