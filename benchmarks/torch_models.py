"""The benchmarks' workloads in PyTorch: twins of examples/mnist_mlp.py, mnist_cnn.py and
mnist_lstm.py, for benchmarks/mnist_mlp.py, profile_step.py and activations.py, and of
examples/gpt.py's GPT, for benchmarks/char_gpt.py and the parity test tests/test_char_gpt.py."""

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


def torch_gpt(vocab_size: int, block_size: int = 64, n_layer: int = 4, n_embd: int = 128, n_head: int = 4):
    """examples/gpt.py's GPT in PyTorch, its blocks torch.nn.TransformerEncoderLayer (norm_first,
    GELU's tanh form, no dropout) under a causal mask. Its state dict maps one to one onto the
    tinynet model's: `load_tinynet_gpt` copies one into the other."""
    import torch

    tnn = torch.nn

    class TorchGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding = tnn.Embedding(vocab_size, n_embd)
            self.position_embedding = tnn.Embedding(block_size, n_embd)
            self.blocks = tnn.ModuleList(
                tnn.TransformerEncoderLayer(
                    n_embd, n_head, 4 * n_embd, dropout=0.0, activation=tnn.GELU(approximate="tanh"),
                    batch_first=True, norm_first=True,
                )
                for _ in range(n_layer)
            )  # fmt: skip
            self.norm = tnn.LayerNorm(n_embd)
            self.head = tnn.Linear(n_embd, vocab_size)

        def forward(self, tokens):
            time = tokens.shape[1]
            x = self.token_embedding(tokens) + self.position_embedding(torch.arange(time))
            mask = tnn.Transformer.generate_square_subsequent_mask(time, dtype=x.dtype)
            for block in self.blocks:
                x = block(x, src_mask=mask, is_causal=True)
            return self.head(self.norm(x))

    return TorchGPT()


# examples/gpt.py's names -> TransformerEncoderLayer's, within each block
GPT_BLOCK_NAMES = {
    "norm1": "norm1",
    "attention.qkv.weight": "self_attn.in_proj_weight",
    "attention.qkv.bias": "self_attn.in_proj_bias",
    "attention.proj": "self_attn.out_proj",
    "norm2": "norm2",
    "mlp.0": "linear1",
    "mlp.2": "linear2",
}


def torch_gpt_name(name: str) -> str:
    """The PyTorch twin's name of a parameter of examples/gpt.py's GPT."""
    if name.startswith("blocks."):
        _, index, rest = name.split(".", 2)
        for ours, theirs in GPT_BLOCK_NAMES.items():
            if rest.startswith(ours):
                return f"blocks.{index}.{theirs}{rest[len(ours) :]}"
    return name


def load_tinynet_gpt(torch_model, state: dict) -> None:
    """Copy a tinynet GPT's state dict (numpy arrays) into its PyTorch twin, in the twin's dtype."""
    import torch

    dtype = next(torch_model.parameters()).dtype
    converted = {torch_gpt_name(name): torch.tensor(array, dtype=dtype) for name, array in state.items()}
    torch_model.load_state_dict(converted, strict=True)
