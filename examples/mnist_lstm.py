"""Read MNIST digits row by row with a recurrent network: past 98% test accuracy.

Each 28x28 image is a sequence of 28 rows of 28 pixels; an LSTM (or GRU, or plain RNN) reads
the rows from top to bottom, and a linear layer classifies its last hidden state.

python examples/mnist_lstm.py                         # LSTM(28, 128), Adam, >98% test accuracy
python examples/mnist_lstm.py --cell gru --epochs 3
python examples/mnist_lstm.py --eval mnist_lstm.npz   # accuracy of a saved model
python examples/mnist_lstm.py --export mnist_lstm.onnx # and the trained model as ONNX (docs/onnx.md)
"""

from __future__ import annotations

import mnist_training

import tinynet as tn
from tinynet import nn

CELLS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}


class RowReader(nn.Module):
    """A recurrent layer over the rows of each image, then Linear(hidden, 10) on its last hidden state."""

    def __init__(self, cell: str = "lstm", hidden_size: int = 128):
        super().__init__()
        self.rnn = CELLS[cell](28, hidden_size, batch_first=True)
        self.classifier = nn.Linear(hidden_size, 10)

    def forward(self, images: tn.Tensor) -> tn.Tensor:
        _, state = self.rnn(images)  # images: (batch, 28 rows, 28 pixels)
        h_n = state[0] if isinstance(state, tuple) else state  # an LSTM's state is (h_n, c_n)
        return self.classifier(h_n[-1])


def main(argv=None) -> float:
    def add_cell_flag(parser):
        parser.add_argument("--cell", choices=sorted(CELLS), default="lstm", help="the recurrent layer")

    args = mnist_training.parse_args(argv, __doc__, epochs=5, lr=2e-3, save="mnist_lstm.npz", add_flags=add_cell_flag)
    return mnist_training.run(args, lambda: RowReader(args.cell), input_shape=(28, 28))


if __name__ == "__main__":
    tn.memory.keep_freed_memory()  # a long training loop: reuse freed memory (docs/performance.md)
    main()
