"""tn.onnx.export: the file passes onnx.checker, and ONNX Runtime computes what tinynet does
(float32, rtol and atol 1e-5) at two batch sizes, for the MNIST examples' models, every layer
and op that has an ONNX form, and forwards of one's own; what has none is a named error, and
then no file is written."""

import inspect
import subprocess
import sys

import numpy as np
import pytest
from test_examples import load_example

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, recurrent
from tinynet.data import load_mnist

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXPORT_BATCH, OTHER_BATCH = 3, 5


def session(path) -> "ort.InferenceSession":
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def flat(result) -> list[np.ndarray]:
    if isinstance(result, (tuple, list)):
        return [array for part in result for array in flat(part)]
    return [result.data]


def batch_of(shape, batch: int, rng, integers: int | None = None) -> np.ndarray:
    if integers:
        return rng.integers(0, integers, (batch, *shape)).astype(np.int64)
    return rng.standard_normal((batch, *shape)).astype(np.float32)


def assert_runs_as_tinynet(model, shape, tmp_path, integers=None, batches=(EXPORT_BATCH, OTHER_BATCH), **options):
    """Export model with an example batch of `shape` items, check the file, then compare ONNX
    Runtime with tinynet at each batch size (the first is the export's)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "model.onnx"
    proto = tn.onnx.export(model, batch_of(shape, batches[0], rng, integers), path, **options)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    assert proto.SerializeToString() == path.read_bytes()
    runtime = session(path)
    model.eval()
    for batch in batches:
        x = batch_of(shape, batch, rng, integers)
        with tn.no_grad():
            expected = flat(model(x))
        got = runtime.run(None, {"input": x})
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            assert g.shape == e.shape and g.dtype == e.dtype
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)
    return proto


# ---------------------------------------------------------------- the MNIST examples' models


def example_models():
    names = ("mnist_mlp", "mnist_cnn", "mnist_lstm", "mnist_autoencoder")
    mlp, cnn, lstm, autoencoder = (load_example(name) for name in names)
    return {
        "mlp": (mlp.make_model, (784,)),
        "cnn": (cnn.make_model, (1, 28, 28)),
        "lstm": (lambda: lstm.RowReader("lstm"), (28, 28)),
        "gru": (lambda: lstm.RowReader("gru"), (28, 28)),
        "rnn": (lambda: lstm.RowReader("rnn"), (28, 28)),
        "autoencoder": (autoencoder.Autoencoder, (1, 28, 28)),
    }


@pytest.mark.parametrize("name", ["mlp", "cnn", "lstm", "gru", "rnn", "autoencoder"])
def test_the_mnist_examples_models_run_in_onnx_runtime_as_in_tinynet(name, tmp_path):
    tn.manual_seed(0)
    make_model, shape = example_models()[name]
    proto = assert_runs_as_tinynet(make_model(), shape, tmp_path)
    batch_axis = proto.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_axis.dim_param == "batch"


# ---------------------------------------------------------------- every layer


def trained_batch_norm(layer):
    """A batch norm layer with running statistics and an affine transform that are not the identity."""
    rng = np.random.default_rng(1)
    layer.running_mean[:] = rng.standard_normal(layer.num_features)
    layer.running_var[:] = rng.uniform(0.5, 2, layer.num_features)
    layer.weight.data[:] = rng.standard_normal(layer.num_features)
    layer.bias.data[:] = rng.standard_normal(layer.num_features)
    return layer


def layer_norm(*args, **kwargs):
    layer = nn.LayerNorm(*args, **kwargs)
    rng = np.random.default_rng(2)
    for p in layer.parameters():
        p.data[:] = rng.standard_normal(p.shape)
    return layer


class Heads(nn.Module):
    """A forward of one's own over a ModuleList and a ModuleDict, with two outputs."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(6, 6), nn.Linear(6, 6)])
        self.heads = nn.ModuleDict({"digit": nn.Linear(6, 10), "parity": nn.Linear(6, 2)})

    def forward(self, x):
        for block in self.blocks:
            x = F.relu(block(x)) + x
        return self.heads["digit"](x), F.log_softmax(self.heads["parity"](x), dim=1)


LAYERS = {  # name: (make the layer, the shape of one item of its input)
    "Linear": (lambda: nn.Linear(6, 4), (6,)),
    "Linear of 3-D input": (lambda: nn.Linear(6, 4, bias=False), (2, 6)),
    "Conv2d": (lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1), (2, 9, 9)),
    "Conv2d dilated": (lambda: nn.Conv2d(2, 3, (3, 2), padding=(2, 1), dilation=2, bias=False), (2, 8, 7)),
    "ConvTranspose2d": (lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (3, 5, 5)),
    "ConvTranspose2d dilated": (lambda: nn.ConvTranspose2d(3, 2, 2, stride=3, dilation=2, output_padding=1), (3, 4, 4)),
    "MaxPool2d": (lambda: nn.MaxPool2d(3, stride=2, padding=1), (2, 9, 9)),
    "AvgPool2d": (lambda: nn.AvgPool2d(3, stride=2, padding=1), (2, 9, 9)),
    "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(1), (2, 5, 4)),
    "BatchNorm1d": (lambda: trained_batch_norm(nn.BatchNorm1d(4)), (4,)),
    "BatchNorm1d of 3-D input": (lambda: trained_batch_norm(nn.BatchNorm1d(4)), (4, 5)),
    "BatchNorm2d": (lambda: trained_batch_norm(nn.BatchNorm2d(3)), (3, 4, 4)),
    "LayerNorm": (lambda: layer_norm((3, 4)), (2, 3, 4)),
    "LayerNorm without bias": (lambda: layer_norm(4, eps=1e-3, bias=False), (4,)),
    "LayerNorm without affine": (lambda: nn.LayerNorm(4, elementwise_affine=False), (4,)),
    "ReLU": (nn.ReLU, (7,)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.2), (7,)),
    "Sigmoid": (nn.Sigmoid, (7,)),
    "Tanh": (nn.Tanh, (7,)),
    "GELU": (nn.GELU, (7,)),
    "GELU tanh": (lambda: nn.GELU("tanh"), (7,)),
    "ELU": (lambda: nn.ELU(0.7), (7,)),
    "SiLU": (nn.SiLU, (7,)),
    "Softplus": (nn.Softplus, (7,)),
    "Softplus beta threshold": (lambda: nn.Softplus(beta=2.0, threshold=1.0), (7,)),
    "Softmax": (lambda: nn.Softmax(dim=1), (4, 3)),
    "LogSoftmax": (lambda: nn.LogSoftmax(dim=-1), (4, 3)),
    "Dropout": (lambda: nn.Dropout(0.5), (7,)),
    "Flatten": (nn.Flatten, (2, 3, 4)),
    "Identity": (nn.Identity, (7,)),
    "RNN": (lambda: nn.RNN(5, 4, num_layers=2, nonlinearity="relu", batch_first=True, bidirectional=True), (6, 5)),
    "LSTM": (lambda: nn.LSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True, dropout=0.3), (6, 5)),
    "GRU": (lambda: nn.GRU(5, 4, num_layers=2, batch_first=True), (6, 5)),
    "GRU bidirectional without bias": (lambda: nn.GRU(5, 4, bias=False, batch_first=True, bidirectional=True), (6, 5)),
    "RNNCell": (lambda: nn.RNNCell(5, 4), (5,)),
    "LSTMCell": (lambda: nn.LSTMCell(5, 4), (5,)),
    "GRUCell": (lambda: nn.GRUCell(5, 4), (5,)),
    "Sequential": (lambda: nn.Sequential(nn.Linear(6, 5), nn.Dropout(0.2), nn.Tanh(), nn.Linear(5, 2)), (6,)),
    "ModuleList": (Heads, (6,)),
    "ModuleDict": (Heads, (6,)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_each_layer_runs_in_onnx_runtime_as_in_tinynet(name, tmp_path):
    tn.manual_seed(0)
    make_layer, shape = LAYERS[name]
    assert_runs_as_tinynet(make_layer(), shape, tmp_path)


def test_embedding_takes_integer_token_ids(tmp_path):
    tn.manual_seed(0)
    model = nn.Sequential(nn.Embedding(11, 4, padding_idx=0), nn.Flatten(), nn.Linear(24, 3))
    proto = assert_runs_as_tinynet(model, (6,), tmp_path, integers=11)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    table = tn.Tensor(np.random.default_rng(7).standard_normal((11, 4)).astype(np.float32))
    assert_runs_as_tinynet(Lambda(lambda ids: F.embedding(ids, table).mean(axis=1)), (6,), tmp_path, integers=11)


def test_the_list_of_supported_layers_is_what_the_tests_export():
    tested = {name.split()[0] for name in LAYERS} | {"Embedding"}
    assert tested == set(tn.onnx.SUPPORTED_LAYERS)
    assert set(tn.onnx.supported()["layers"]) == tested


def test_every_supported_op_is_one_of_tinynets_and_a_test_uses_it():
    owners = {"Tensor methods": tn.Tensor, "tinynet.functional": F, "tinynet": tn}
    source = inspect.getsource(sys.modules[__name__])  # the forwards exported above and below
    symbols = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__pow__": "**", "__matmul__": "@",
               "__neg__": "(-x)", "__getitem__": "[", "T": ".T"}  # fmt: skip
    for kind, owner in owners.items():
        for name in tn.onnx.supported()[kind]:
            assert hasattr(owner, name), name
            call = f".{name}(" if owner is tn.Tensor else f"{name}("
            assert symbols.get(name.replace("__r", "__"), call) in source, name


@pytest.mark.parametrize("hx", [False, True])
def test_recurrent_layers_time_first_unbatched_and_with_initial_states(hx, tmp_path):
    """Without dynamic_batch: a time-major input (time, batch, features) and given states
    (their axis 0 is not a batch), and an unbatched sequence (time, features)."""
    tn.manual_seed(0)
    rng = np.random.default_rng(3)
    for layer in (nn.LSTM(3, 4, num_layers=2, bidirectional=True), nn.GRU(3, 4), nn.RNN(3, 4, num_layers=3)):
        for x in (rng.standard_normal((5, 2, 3)).astype(np.float32), rng.standard_normal((5, 3)).astype(np.float32)):
            states = layer.num_layers * (2 if layer.bidirectional else 1)
            state_shape = (states, *x.shape[1:-1], 4)
            parts = [rng.standard_normal(state_shape).astype(np.float32) for _ in layer.state_names] if hx else []
            example = (x, *parts)
            path = tmp_path / "rnn.onnx"
            names = ["x", *layer.state_names[: len(parts)]]

            def forward(x, *state, layer=layer):
                return layer(x, None if not state else state if len(state) > 1 else state[0])

            tn.onnx.export(Lambda(forward, layer), example, path, input_names=names, dynamic_batch=False)
            got = session(path).run(None, dict(zip(names, example)))
            expected = flat(forward(*[tn.Tensor(a) for a in example]))
            for g, e in zip(got, expected, strict=True):
                np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def test_cells_with_a_given_state(tmp_path):
    tn.manual_seed(0)
    rng = np.random.default_rng(4)
    cell = nn.LSTMCell(3, 4)
    example = tuple(rng.standard_normal(shape).astype(np.float32) for shape in ((2, 3), (2, 4), (2, 4)))
    model = Lambda(lambda x, h, c: cell(x, (h, c)), cell)
    tn.onnx.export(model, example, tmp_path / "cell.onnx", input_names=["x", "h", "c"], output_names=["h2", "c2"])
    x, h, c = (rng.standard_normal((6, n)).astype(np.float32) for n in (3, 4, 4))
    got = session(tmp_path / "cell.onnx").run(["h2", "c2"], {"x": x, "h": h, "c": c})
    for g, e in zip(got, flat(model(x, h, c)), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- Tensor ops and functions in a forward of one's own


class Lambda(nn.Module):
    """A model whose forward is fn (which may call `layer`, registered so that its parameters count)."""

    def __init__(self, fn, layer=None):
        super().__init__()
        self.fn = fn
        self.layer = layer if layer is not None else nn.Identity()

    def forward(self, *inputs):
        return self.fn(*inputs)


RNG = np.random.default_rng(5)
W = tn.Tensor(RNG.standard_normal((6, 3)).astype(np.float32))  # W.T has the export's batch size in axis 0
MASK = RNG.random((4, 6)) > 0.5
INDEX = RNG.integers(0, 4, (1, 3, 6))  # gather's index: smaller than x on the batch axis
MEAN, VAR = RNG.standard_normal(4).astype(np.float32), RNG.uniform(0.5, 2, 4).astype(np.float32)
SLOPE = tn.Tensor(np.linspace(0, 1, 6, dtype=np.float32))
IMAGE_WEIGHT = tn.Tensor(RNG.standard_normal((3, 4, 3, 3)).astype(np.float32))

OPS = {  # each forward takes x of shape (batch, 4, 6)
    "arithmetic": lambda x: (x + 1) * 2 - x / 4 + (-x) ** 2 - 0.5 ** (x * x),
    "reflected arithmetic": lambda x: 1 - x + 2 / (x.abs() + 1) + 3 * x + np.float32(2) ** x,
    "with numpy arrays": lambda x: np.ones(6, np.float32) - x * np.arange(6, dtype=np.float32),
    "matmul": lambda x: (x @ x.transpose(0, 2, 1), (x @ W) @ W.T, W.T @ x[:, 0, :, None], x[:, 0] @ W[:, 0]),
    "unary": lambda x: x.exp().log() + x.abs().sqrt() + x.tanh() + x.sigmoid() + x.relu() + x.detach(),
    "clip": lambda x: x.clip(-0.5, 0.5) + x.clamp(min=0) + x.clip(max=0.1),
    "reductions": lambda x: (x.sum(), x.mean(axis=(1, 2), keepdims=True), x.amax(axis=(0, 2)), x.amin(dim=-1)),
    "max and min": lambda x: (x.max(), x.min(), *x.max(dim=1), *x.min(-1, keepdim=True), x.max(2).values * 2),
    "logsumexp and var": lambda x: (x.logsumexp(axis=2), x.var(axis=1), x.var(dim=2, correction=1)),
    "argmax and argmin": lambda x: (x.argmax(axis=2), x.argmin(dim=1, keepdim=True), x.argmax()),
    "reshape": lambda x: (x.reshape(x.shape[0], -1), x.reshape(-1, 6), x.reshape((x.shape[0], 2, 12))),
    "flatten": lambda x: (
        x.flatten(1),
        x.flatten(2),
        x.flatten(),
        x.flatten(-1),
        x[:, None].flatten(0, 1),
        x[:, :, None].flatten(1, -2),
        x[:, 0, 0].flatten(),
    ),
    "transpose and permute": lambda x: (
        x.transpose(),
        x.T,
        x.transpose(2, 0, 1),
        x.transpose((0, 2, 1)),
        x.transpose(1, 2),
        x.transpose(0, -1),
        x.permute(2, 0, 1),
        x.permute((1, 0, 2)),
    ),
    "view, expand, flip, chunk, clone": lambda x: (
        x.view(x.shape[0], -1),
        x[:, None].expand(-1, 3, 4, 6),
        x.flip(1),
        x.flip((0, 2)),
        *x.chunk(2, dim=2),
        x.clone(),
    ),
    "casts": lambda x: (x.double(), x.double().float() * 2, x.long(), x.int(), x.bool(), x.astype(np.float32)),
    "masked_fill, tril, triu": lambda x: (x.masked_fill(MASK, -1.0), x.tril(), x.triu(1), x.tril(diagonal=-2)),
    "cumsum and gather": lambda x: (
        x.cumsum(dim=1),
        x.cumsum(-1),
        x.gather(2, np.zeros((1, 4, 2), np.int64)),
        x.gather(1, INDEX),
        x.gather(2, x.argmax(axis=2, keepdims=True)),
    ),
    "numpy functions and the inf norms": lambda x: (
        np.exp(x),
        np.max(x, axis=1),
        np.sum(x, axis=2),
        np.concatenate([x, x], axis=1),
        x.norm(p=np.inf, dim=1),
        x.norm(-np.inf, dim=2, keepdim=True),
    ),
    "the tn functions of those methods": lambda x: (
        tn.tril(x, 1),
        tn.triu(x),
        tn.cumsum(x, dim=2),
        tn.flip(x, (1,)),
        *tn.chunk(x, 3, dim=1),
        tn.gather(x, 1, INDEX),
        tn.masked_fill(x, MASK, 2.0),
    ),
    "squeeze and unsqueeze": lambda x: (x[:, :1].squeeze(1), x.unsqueeze(1), x.unsqueeze(-1), x[:, None].squeeze()),
    "broadcast_to": lambda x: x[:, None].broadcast_to(x.shape[0], 3, 4, 6),
    "indexing by ints and slices": lambda x: (x[:, 1], x[:, -1], x[:, 1:3, ::2], x[:, ::-1], x[:, -2:, 4:1:-2]),
    "indexing by ... and None": lambda x: (x[..., 0], x[:, None, 2:], x[..., None, 1:], x[0], x[-1, ..., 3]),
    "indexing by an integer array": lambda x: (x[:, [0, 2, 2]], x[:, :, np.array([5, 0])], x[:, 1:, [-1]]),
    "indexing by a traced tensor": lambda x: (x[:, :, x[0, 0].argmax()], x[:, x[:, 0, 0].argmax(axis=0)]),
    "split": lambda x: (*tn.split(x, 3, axis=1), *x.split([1, 5], dim=2)),
    "concatenate": lambda x: (tn.concatenate([x, x * 2], axis=1), tn.concatenate([x[:, :2], x.exp()], dim=-2)),
    "stack": lambda x: (tn.stack([x, x], dim=1), tn.stack([x, x.exp()], axis=-1)),
    "where, maximum, minimum": lambda x: (tn.where(MASK, x, 0.0), tn.maximum(x, 0.1), tn.minimum(x, x * 0.5)),
    "activations": lambda x: (F.relu(x), F.sigmoid(x), F.tanh(x), F.leaky_relu(x, 0.1), F.elu(x, 0.5), F.silu(x)),
    "gelu": lambda x: (F.gelu(x), F.gelu(x, approximate="tanh")),
    "softmax": lambda x: (
        F.softmax(x, dim=1),
        F.softmax(x),
        F.log_softmax(x, axis=-1),
        F.log_softmax(x, 1),
        x.softmax(dim=-1),
        x.log_softmax(1),
    ),
    "softplus": lambda x: (F.softplus(x), F.softplus(x, beta=3.0, threshold=0.5)),
    "scaled_dot_product_attention": lambda x: (
        F.scaled_dot_product_attention(x, x, x),
        F.scaled_dot_product_attention(x, x * 2, x[:, :, :2], is_causal=True),
        F.scaled_dot_product_attention(x, x, x, attn_mask=np.eye(4, dtype=bool) | MASK[:, :4], scale=0.5),
        F.scaled_dot_product_attention(x, x, x, attn_mask=np.linspace(-1, 1, 16, dtype=np.float32).reshape(4, 4)),
    ),
    "leaky_relu with a tensor slope": lambda x: F.leaky_relu(x, SLOPE),
    "linear": lambda x: (F.linear(x, W.T), F.linear(x[:, 0], W.T, W[0])),
    "normalization": lambda x: (F.layer_norm(x, 6), F.batch_norm(x, MEAN, VAR, training=False)),
    "dropout in evaluation": lambda x: (F.dropout(x, 0.3, training=False), F.dropout(x, 0.0)),
    "image functions": lambda x: (
        F.conv2d(x[:, None], IMAGE_WEIGHT[:1, :1], stride=2, padding=1),
        F.conv_transpose2d(x[:, None], IMAGE_WEIGHT[:1], W[:4, 0], stride=2),
        F.max_pool2d(x[:, None], 2),
        F.avg_pool2d(x[:, None], 3, stride=1, padding=1),
        F.adaptive_avg_pool2d(x[:, None]),
    ),
}


@pytest.mark.parametrize("name", list(OPS))
def test_tensor_ops_and_functions_in_a_forward_of_ones_own(name, tmp_path):
    assert_runs_as_tinynet(Lambda(OPS[name]), (4, 6), tmp_path)


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opsets(opset, tmp_path):
    """Reductions take their axes as an attribute up to opset 17 and as an input from 18 on."""
    model = Lambda(lambda x: (x.mean(axis=1), x.amax(axis=(1, 2)), *x.max(1), x.logsumexp(axis=-1), F.layer_norm(x, 6)))
    proto = assert_runs_as_tinynet(model, (4, 6), tmp_path, opset=opset)
    assert proto.opset_import[0].version == opset


def test_names_and_a_fixed_batch(tmp_path):
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2))
    x = np.ones((3, 4), np.float32)
    proto = tn.onnx.export(model, x, tmp_path / "m.onnx", input_names=["pixels"], output_names=["logits"],
                           dynamic_batch=False)  # fmt: skip
    assert [i.name for i in proto.graph.input] == ["pixels"] and [o.name for o in proto.graph.output] == ["logits"]
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [3, 4]
    assert [p.name for p in proto.graph.initializer] == ["0.weight", "0.bias"]  # the parameters by their names
    np.testing.assert_allclose(session(tmp_path / "m.onnx").run(["logits"], {"pixels": x})[0], model(x).data, rtol=1e-6)


def test_export_restores_each_layers_mode_and_tinynets_ops(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    model[1].eval()  # one layer in evaluation mode, the others training
    originals = (tn.Tensor.reshape, tn.Tensor.__add__, tn.Tensor._make, F.softmax, tn.concatenate, nn.LSTM.forward)
    tn.onnx.export(model, np.ones((2, 4), np.float32), tmp_path / "m.onnx")
    with pytest.raises(tn.onnx.UnsupportedOperation):
        tn.onnx.export(Lambda(lambda x: F.cross_entropy(x, np.zeros(2, np.int64))), np.ones((2, 4), np.float32),
                       tmp_path / "bad.onnx")  # fmt: skip
    assert [m.training for m in model] == [True, False, True]
    now = (tn.Tensor.reshape, tn.Tensor.__add__, tn.Tensor._make, F.softmax, tn.concatenate, nn.LSTM.forward)
    assert now == originals
    assert "forward" not in vars(nn.LSTMCell)  # the cells' inherited forward is left inherited
    assert model[2].num_batches_tracked == 0  # the traces ran in evaluation mode


def test_import_tinynet_does_not_import_onnx():
    code = "import sys, tinynet; print('onnx' in sys.modules, callable(tinynet.onnx.export))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]


# ---------------------------------------------------------------- what cannot be exported: named errors, no file


class Cube(tn.Function):
    @staticmethod
    def forward(ctx, x):
        return x**3

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError


BAD = [  # (forward of x (batch, 4), the error, a regex of its message)
    (lambda x: F.cross_entropy(x, np.zeros(len(x), np.int64)), tn.onnx.UnsupportedOperation,
     r"'CrossEntropy' has no ONNX form in tinynet's exporter\. Supported: Tensor methods: .*__add__.*; "
     r"tinynet\.functional: .*conv2d.*; layers: .*LSTM"),
    (lambda x: Cube.apply(x), tn.onnx.UnsupportedOperation, r"'Cube' has no ONNX form"),
    (lambda x: x.std(axis=1), tn.onnx.UnsupportedOperation, r"'std' has no ONNX form"),
    (lambda x: x.repeat(1, 2), tn.onnx.UnsupportedOperation, r"'repeat' has no ONNX form"),
    (lambda x: x.norm(dim=1), tn.onnx.UnsupportedOperation, r"'norm' has no ONNX form"),
    (lambda x: x.scatter(1, np.zeros((1, 1), np.int64), 0.0), tn.onnx.UnsupportedOperation, r"'scatter_write' has no"),
    (lambda x: x.scatter_add(1, np.zeros((1, 1), np.int64), x), tn.onnx.UnsupportedOperation, r"'scatter_add' has no"),
    (lambda x: x.argsort(dim=1), tn.onnx.UnsupportedOperation, r"'argsort' has no ONNX form"),
    (lambda x: x.sort(dim=1).values, tn.onnx.UnsupportedOperation, r"'sort' has no ONNX form"),
    (lambda x: x.topk(2).indices, tn.onnx.UnsupportedOperation, r"'topk' has no ONNX form"),
    (lambda x: tn.sort(x), tn.onnx.UnsupportedOperation, r"'sort' has no ONNX form"),
    (lambda x: F.dropout(x, 0.5), tn.onnx.UnsupportedOperation, r"dropout in training mode \(p=0.5\)"),
    (lambda x: F.batch_norm(x, MEAN, VAR), tn.onnx.UnsupportedOperation, r"batch_norm in training mode"),
    (lambda x: x[:, np.array([True, False, True, True])], tn.onnx.UnsupportedOperation, r"a boolean mask"),
    (lambda x: x[[0, 1], [1, 2]], tn.onnx.UnsupportedOperation, r"at most one integer array"),
    (lambda x: x - x.data.mean(), tn.onnx.ExportError,
     r"another graph for other numbers and batch size \(first at a constant of shape \(\), other values, that goes "
     r"into Sub\)\. It reads the input's values outside tinynet's ops"),
    (lambda x: x * (x > 0), tn.onnx.ExportError, r"a constant of shape \(3, 4\), then \(4, 4\), that goes into Mul"),
    (lambda x: x + tn.Tensor(np.zeros(x.shape, np.float32)), tn.onnx.ExportError, r"Or it fixes the batch size"),
    (lambda x: x.reshape(2 * x.shape[0], 2), tn.onnx.ExportError, r"first at a constant of shape \(2,\), other values"),
    (lambda x: tn.Tensor(x.data * 2), tn.onnx.ExportError, r"output 0 of forward \(shape \(3, 4\)\) was not computed"),
    (lambda x: (x, 1.0), tn.onnx.ExportError, r"output 1 of forward is a float, not a Tensor"),
]  # fmt: skip


@pytest.mark.parametrize(("forward", "error", "message"), BAD, ids=[b[2][:40] for b in BAD])
def test_what_has_no_onnx_form_is_a_named_error_and_writes_nothing(forward, error, message, tmp_path):
    kept = tmp_path / "kept.onnx"
    kept.write_bytes(b"an earlier file")
    x = np.random.default_rng(6).standard_normal((3, 4)).astype(np.float32)
    for path in (tmp_path / "new.onnx", kept):
        with pytest.raises(error, match=message):
            tn.onnx.export(Lambda(forward), x, path)
    assert [p.name for p in tmp_path.iterdir()] == ["kept.onnx"] and kept.read_bytes() == b"an earlier file"


IN_PLACE = {
    "add_": lambda y: y.add_(1.0), "mul_": lambda y: y.mul_(2.0), "zero_": lambda y: y.zero_(),
    "clamp_": lambda y: y.clamp_(0, 1), "copy_": lambda y: y.copy_(y * 2), "add_ as +=": lambda y: y.__iadd__(1.0),
}  # fmt: skip


@pytest.mark.parametrize("name", list(IN_PLACE))
def test_an_in_place_op_on_a_traced_tensor_is_named_before_it_changes_anything(name, tmp_path):
    """The trace could not see the change (a silent wrong graph): refused before the op runs."""
    made = []

    def forward(x):
        made.append(x * 2)
        IN_PLACE[name](made[-1])
        return made[-1]

    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(tn.onnx.UnsupportedOperation, match=rf"'{name.split()[0]}' has no ONNX form"):
        tn.onnx.export(Lambda(forward), x, tmp_path / "m.onnx")
    np.testing.assert_array_equal(made[0].data, x * 2)
    assert not (tmp_path / "m.onnx").exists()


def test_a_recurrent_layer_of_ones_own_cell_is_named(tmp_path):
    class Doubling(nn.RNNBase):
        cell = type("DoublingCell", (recurrent.TanhStep,), {})

    with pytest.raises(tn.onnx.UnsupportedOperation, match=r"'Doubling with the cell DoublingCell' has no ONNX form"):
        tn.onnx.export(Doubling(3, 4, batch_first=True), np.ones((2, 5, 3), np.float32), tmp_path / "m.onnx")


def test_a_value_dependence_is_caught_with_a_fixed_batch(tmp_path):
    model, x = Lambda(lambda x: x * (x > 0)), np.ones((1, 4), np.float32)
    with pytest.raises(
        tn.onnx.ExportError, match=r"another graph for other numbers \(first at a constant of shape \(1, 4\)"
    ):
        tn.onnx.export(model, x, tmp_path / "m.onnx", dynamic_batch=False)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"opset": 16}, ValueError, r"opset must be an integer from 17 to \d+ .* got 16"),
        ({"opset": "17"}, ValueError, r"got '17'"),
        ({"input_names": ["a", "b"]}, ValueError, r"input_names must be 1 different non-empty strings"),
        ({"output_names": ["input"]}, ValueError, r"output_names \['input'\] repeat a name of input_names"),
    ],
)
def test_bad_arguments(options, error, message, tmp_path):
    with pytest.raises(error, match=message):
        tn.onnx.export(nn.Linear(4, 2), np.ones((2, 4), np.float32), tmp_path / "m.onnx", **options)
    assert list(tmp_path.iterdir()) == []


def test_bad_example_inputs(tmp_path):
    model = Lambda(lambda x, y: x + y)
    with pytest.raises(tn.onnx.ExportError, match=r"axis 0 of every input as the batch, but the inputs have shapes"):
        tn.onnx.export(model, (np.ones((2, 4), np.float32), np.ones((3, 4), np.float32)), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="example input 1 must be a Tensor or a numpy array, got list"):
        tn.onnx.export(model, (np.ones((2, 4), np.float32), [1.0]), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="example_input is empty"):
        tn.onnx.export(model, (), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match=r"example input 0 is float64 but the model's parameters are float32, .* "
                       r"give x.astype\(np.float32\)"):  # fmt: skip
        tn.onnx.export(nn.Linear(4, 2), np.ones((2, 4)), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="model must be a tinynet nn.Module, got function"):
        tn.onnx.export(lambda x: x, np.ones((2, 4), np.float32), tmp_path / "m.onnx")


def test_without_the_onnx_package_export_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"needs the onnx package: python -m pip install onnx"):
        tn.onnx.export(nn.Linear(4, 2), np.ones((2, 4), np.float32), tmp_path / "m.onnx")


# ---------------------------------------------------------------- the examples' --export


def test_the_cnn_example_exports_its_trained_model(tmp_path, capsys):
    path = tmp_path / "cnn.onnx"
    accuracy = load_example("mnist_cnn").main(
        ["--train-size", "200", "--epochs", "1", "--save", "", "--quiet", "--export", str(path)]
    )
    assert f"exported the model to {path} (ONNX)" in capsys.readouterr().out
    x_test, y_test = load_mnist()[2:]
    logits = session(path).run(None, {"input": x_test.reshape(-1, 1, 28, 28)})[0]
    assert np.mean(logits.argmax(axis=1) == y_test) == pytest.approx(accuracy, abs=2e-4)  # a tie may go either way


def test_the_lstm_example_exports_a_saved_model_with_eval(tmp_path, capsys):
    mnist_lstm = load_example("mnist_lstm")
    tn.manual_seed(0)
    saved, path = tmp_path / "lstm.npz", tmp_path / "lstm.onnx"
    model = mnist_lstm.RowReader("lstm")
    model.save(saved)
    mnist_lstm.main(["--eval", str(saved), "--export", str(path)])
    assert f"exported the model to {path} (ONNX)" in capsys.readouterr().out
    images = load_mnist()[2][:50].reshape(-1, 28, 28)
    with tn.no_grad():
        expected = model(images).data
    np.testing.assert_allclose(session(path).run(None, {"input": images})[0], expected, rtol=1e-5, atol=1e-5)


def test_the_autoencoder_example_exports_its_trained_model(tmp_path, capsys):
    path = tmp_path / "autoencoder.onnx"
    flags = ["--train-size", "200", "--epochs", "1", "--grid", "", "--quiet", "--export", str(path)]
    error = load_example("mnist_autoencoder").main(flags)
    assert f"exported the model to {path} (ONNX)" in capsys.readouterr().out
    x_test = load_mnist()[2].reshape(-1, 1, 28, 28)
    logits = session(path).run(None, {"input": x_test})[0]
    assert np.mean((1 / (1 + np.exp(-logits)) - x_test) ** 2) == pytest.approx(error, rel=1e-4)


@pytest.mark.parametrize("example", ["mnist_mlp", "mnist_autoencoder"])
def test_export_without_the_onnx_package_is_a_flag_error_before_the_data_loads(example, tmp_path, monkeypatch, capsys):
    module = load_example(example)

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded before the flags were checked")

    monkeypatch.setattr(sys.modules["mnist_training"], "load_mnist", no_data)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--export", str(tmp_path / "m.onnx")])
    assert exit_info.value.code == 2
    assert 'argument --export: needs the onnx package: python -m pip install -e ".[onnx]"' in capsys.readouterr().err
