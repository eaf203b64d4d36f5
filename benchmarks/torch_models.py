"""The benchmarks' workloads in PyTorch: twins of examples/mnist_mlp.py, mnist_cnn.py and
mnist_lstm.py, for benchmarks/mnist_mlp.py, profile_step.py and activations.py."""

from __future__ import annotations


def cnn(nn, activation):
    """examples/mnist_cnn.py's model built from `nn` (tinynet.nn or torch.nn), with `activation()`
    where the example has nn.ReLU()."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        activation(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        activation(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        activation(),
        nn.Linear(128, 10),
    )


def torch_model(model: str):
    """The PyTorch twin of the tinynet example `model` ("mlp", "cnn" or "lstm"), freshly initialized."""
    import torch

    tnn = torch.nn
    if model == "mlp":
        return tnn.Sequential(tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(), tnn.Linear(128, 10))
    if model == "lstm":

        class RowReader(tnn.Module):
            def __init__(self):
                super().__init__()
                self.rnn, self.classifier = tnn.LSTM(28, 128, batch_first=True), tnn.Linear(128, 10)

            def forward(self, images):
                _, (h_n, _) = self.rnn(images)
                return self.classifier(h_n[-1])

        return RowReader()
    return cnn(tnn, tnn.ReLU)
