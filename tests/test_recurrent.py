"""RNN, LSTM, GRU and their cells: gradcheck in float64, PyTorch parity of outputs and of every
gradient with weights from a PyTorch state dict, PyTorch's names and initialization, errors;
and Function with several results, which the recurrent op is."""

import numpy as np
import pytest
from conftest import leaf

import tinynet as tn
from tinynet import gradcheck, nn

LAYERS = {
    "rnn_tanh": (nn.RNN, {}),
    "rnn_relu": (nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (nn.LSTM, {}),
    "gru": (nn.GRU, {}),
}
SHAPES = {  # name: options, with batch 2, time 3, input 4, hidden 3
    "one_layer": {},
    "two_layers_bidirectional": {"num_layers": 2, "bidirectional": True},
    "batch_first_two_layers": {"batch_first": True, "num_layers": 2},
    "bidirectional_no_bias": {"bidirectional": True, "bias": False},
}


def make_input(rng, layer, batched=True):
    shape = (2, 3, 4) if layer.batch_first else (3, 2, 4)
    return leaf(rng, *(shape if batched else (3, 4)))


def make_state(rng, layer, batched=True):
    """A random initial state (h0,) or (h0, c0) for `layer`, as a tuple of leaves."""
    shape = (layer.num_layers * len(layer.directions), *((2,) if batched else ()), layer.hidden_size)
    return tuple(leaf(rng, *shape) for _ in layer.state_names)


def as_hx(layer, state):
    return state if len(state) > 1 else state[0]


def flatten_result(result):
    """(output, h_n) or (output, (h_n, c_n)) -> a tuple of tensors."""
    output, state = result
    return (output, *(state if isinstance(state, tuple) else (state,)))


def total(tensors, rng_seed=1):
    """A scalar that depends on every element of every tensor, with fixed random weights."""
    rng = np.random.default_rng(rng_seed)
    return sum(((t * rng.standard_normal(t.shape)).sum() for t in tensors), tn.Tensor(0.0))


@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "initial_state"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(LAYERS))
def test_recurrent_layer_gradcheck(float64, rng, kind, shape, with_state):
    cls, options = LAYERS[kind]
    tn.manual_seed(0)
    layer = cls(4, 3, **options, **SHAPES[shape])
    x = make_input(rng, layer)
    state = make_state(rng, layer) if with_state else ()

    def fn(x, *rest):
        hx = as_hx(layer, rest[: len(state)]) if state else None
        return total(flatten_result(layer(x, hx)))

    assert gradcheck(fn, [x, *state, *layer.parameters()])


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_cell_gradcheck(float64, rng, kind):
    cls = {"rnn_tanh": nn.RNNCell, "rnn_relu": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    tn.manual_seed(0)
    cell = cls(4, 3, nonlinearity="relu") if kind == "rnn_relu" else cls(4, 3)
    x, state = leaf(rng, 2, 4), tuple(leaf(rng, 2, 3) for _ in cell.state_names)

    def fn(x, *rest):
        out = cell(x, as_hx(cell, rest[: len(state)]))
        return total(out if isinstance(out, tuple) else (out,))

    assert gradcheck(fn, [x, *state, *cell.parameters()])


# ---------------------------------------------------------------- PyTorch parity


def torch_twin(torch, ours, kind):
    """The torch layer (or cell) of the same class and options, its weights loaded into ours."""
    name = type(ours).__name__
    if name.endswith("Cell"):
        options = {"bias": ours.bias}
    else:
        options = {
            key: getattr(ours, key) for key in ("num_layers", "bias", "batch_first", "dropout", "bidirectional")
        }
    if kind == "rnn_relu":
        options["nonlinearity"] = "relu"
    theirs = getattr(torch.nn, name)(ours.input_size, ours.hidden_size, **options).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return theirs


def assert_same_outputs_and_gradients(torch, ours, theirs, inputs, call_ours, call_theirs):
    """Run both on copies of `inputs` (numpy arrays), backpropagate the same random weighting of
    every result, and compare results, input gradients and parameter gradients."""
    ours_in = [tn.Tensor(a.copy(), requires_grad=True) for a in inputs]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    ours_out, theirs_out = call_ours(*ours_in), call_theirs(*theirs_in)
    assert len(ours_out) == len(theirs_out)
    total(ours_out).backward()
    rng = np.random.default_rng(1)
    sum((t * torch.tensor(rng.standard_normal(t.shape))).sum() for t in theirs_out).backward()
    for a, b in zip(ours_out, theirs_out):
        assert a.shape == tuple(b.shape)
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-9, atol=1e-12)
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-9, atol=1e-12)
    ours_params = dict(ours.named_parameters())
    assert set(ours_params) == {name for name, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad, p.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "initial_state"])
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("kind", list(LAYERS))
def test_recurrent_layer_matches_torch(float64, rng, kind, shape, with_state, batched):
    torch = pytest.importorskip("torch")
    cls, options = LAYERS[kind]
    ours = cls(4, 3, **options, **SHAPES[shape])
    theirs = torch_twin(torch, ours, kind)
    inputs = [make_input(rng, ours, batched).data]
    if with_state:
        inputs += [s.data for s in make_state(rng, ours, batched)]

    def call(layer):
        return lambda x, *state: flatten_result(layer(x, as_hx(ours, tuple(state)) if state else None))

    assert_same_outputs_and_gradients(torch, ours, theirs, inputs, call(ours), call(theirs))


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("kind", list(LAYERS))
def test_cell_matches_torch(float64, rng, kind, batched):
    torch = pytest.importorskip("torch")
    cls = {"rnn_tanh": nn.RNNCell, "rnn_relu": nn.RNNCell, "lstm": nn.LSTMCell, "gru": nn.GRUCell}[kind]
    ours = cls(4, 3, nonlinearity="relu") if kind == "rnn_relu" else cls(4, 3)
    theirs = torch_twin(torch, ours, kind)
    batch = (2,) if batched else ()
    inputs = [rng.standard_normal((*batch, 4))] + [rng.standard_normal((*batch, 3)) for _ in ours.state_names]

    def call(cell):
        def run(x, *state):
            out = cell(x, as_hx(ours, tuple(state)))
            return out if isinstance(out, tuple) else (out,)

        return run

    assert_same_outputs_and_gradients(torch, ours, theirs, inputs, call(ours), call(theirs))


def test_dropout_between_layers_matches_torch_in_eval_and_applies_in_training(float64, rng):
    torch = pytest.importorskip("torch")
    ours = nn.LSTM(4, 3, num_layers=3, dropout=0.5)
    theirs = torch_twin(torch, ours, "lstm").eval()
    x = rng.standard_normal((3, 2, 4))
    ours.eval()
    np.testing.assert_allclose(ours(x)[0].data, theirs(torch.tensor(x))[0].detach().numpy(), rtol=1e-9)
    ours.train()
    tn.manual_seed(0)
    first = ours(x)[0].data
    assert not np.allclose(first, ours(x)[0].data)  # a new mask each call
    with pytest.warns(UserWarning, match="num_layers=1 has none: it does nothing"):
        one_layer = nn.LSTM(4, 3, dropout=0.5)
    assert np.array_equal(one_layer(x)[0].data, one_layer(x)[0].data)  # no layer after the last: no dropout


def test_state_dict_names_shapes_and_initialization_match_torch():
    torch = pytest.importorskip("torch")
    tn.manual_seed(0)
    for ours, theirs in [
        (nn.LSTM(10, 20, num_layers=2, bidirectional=True), torch.nn.LSTM(10, 20, num_layers=2, bidirectional=True)),
        (nn.GRU(10, 20, bias=False), torch.nn.GRU(10, 20, bias=False)),
        (nn.RNN(10, 20, 2, "relu"), torch.nn.RNN(10, 20, 2, "relu")),
        (nn.LSTMCell(10, 20), torch.nn.LSTMCell(10, 20)),
        (nn.GRUCell(10, 20), torch.nn.GRUCell(10, 20)),
        (nn.RNNCell(10, 20), torch.nn.RNNCell(10, 20)),
    ]:
        expected = {name: tuple(v.shape) for name, v in theirs.state_dict().items()}
        assert [(name, v.shape) for name, v in ours.state_dict().items()] == list(expected.items())
        bound = 1 / np.sqrt(20)
        for name, p in ours.named_parameters():
            assert p.dtype == np.float32
            assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound, name
            assert abs(p.data.std() - bound / np.sqrt(3)) < 0.2 * bound, name


def test_float32_stays_float32_and_last_hidden_state_is_the_last_output(rng):
    lstm = nn.LSTM(4, 3, batch_first=True)
    output, (h_n, c_n) = lstm(rng.standard_normal((2, 5, 4)).astype(np.float32))
    assert output.dtype == h_n.dtype == c_n.dtype == np.float32
    assert output.shape == (2, 5, 3) and h_n.shape == c_n.shape == (1, 2, 3)
    np.testing.assert_array_equal(h_n.data[0], output.data[:, -1])
    bidirectional = nn.GRU(4, 3, bidirectional=True)
    output, h_n = bidirectional(rng.standard_normal((5, 2, 4)).astype(np.float32))
    assert output.shape == (5, 2, 6) and h_n.shape == (2, 2, 3)
    np.testing.assert_array_equal(h_n.data[1], output.data[0, :, 3:])  # the backward direction ends at t = 0


def test_frozen_recurrent_weights_get_no_gradient(rng):
    lstm = nn.LSTM(4, 3)
    lstm.weight_hh_l0.requires_grad_(False)
    output, _ = lstm(rng.standard_normal((5, 2, 4)).astype(np.float32))
    output.sum().backward()
    assert lstm.weight_hh_l0.grad is None and lstm.weight_ih_l0.grad is not None
    assert lstm.params.size == lstm.num_parameters(trainable_only=True) == 4 * 3 * 4 + 2 * 4 * 3


def test_a_model_with_an_lstm_trains(rng):
    """A tiny task: is the sum of a sequence of ±1 positive? Loss falls, with PyTorch-style code."""
    tn.manual_seed(0)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm, self.head = nn.LSTM(1, 8, batch_first=True), nn.Linear(8, 2)

        def forward(self, x):
            _, (h_n, _) = self.lstm(x)
            return self.head(h_n[-1])

    model, opt = Classifier(), tn.optim.Adam(lr=0.05)
    x = rng.choice([-1.0, 1.0], size=(64, 7, 1)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    losses = []
    for _ in range(40):
        loss = tn.F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("make", "x", "hx", "error", "message"),
    [
        (lambda: nn.LSTM(4, 3), np.zeros((2, 3, 5)), None, ValueError,
         r"LSTM\(4, 3\): expected input of shape \(time, batch, input_size\) with input_size=4.*got shape \(2, 3, 5\)"),
        (lambda: nn.GRU(4, 3, batch_first=True), np.zeros((2, 3, 4, 1)), None, ValueError,
         r"GRU\(4, 3, batch_first=True\): expected input of shape \(batch, time, input_size\).*\(2, 3, 4, 1\)"),
        (lambda: nn.RNN(4, 3), np.zeros(4), None, ValueError, r"or \(time, input_size\) without a batch"),
        (lambda: nn.RNN(4, 3), np.zeros((3, 2, 4), dtype=np.int64), None, TypeError,
         "expected a floating-point input, got dtype int64"),
        (lambda: nn.RNN(4, 3), np.zeros((0, 2, 4)), None, ValueError, r"the input sequence is empty"),
        (lambda: nn.RNN(4, 3, num_layers=2), np.zeros((3, 2, 4)), np.zeros((1, 2, 3)), ValueError,
         r"expected h0 of shape \(2, 2, 3\), got \(1, 2, 3\)"),
        (lambda: nn.LSTM(4, 3), np.zeros((3, 2, 4)), np.zeros((1, 2, 3)), TypeError,
         r"the initial state must be a tuple \(h0, c0\)"),
        (lambda: nn.LSTM(4, 3), np.zeros((3, 2, 4)), (np.zeros((1, 2, 3)), np.zeros((1, 3, 3))), ValueError,
         r"expected c0 of shape \(1, 2, 3\), got \(1, 3, 3\)"),
        (lambda: nn.GRU(4, 3), np.zeros((3, 4)), np.zeros((1, 2, 3)), ValueError,
         r"expected h0 of shape \(1, 3\), got \(1, 2, 3\)"),
        (lambda: nn.LSTMCell(4, 3), np.zeros((2, 5)), None, ValueError,
         r"LSTMCell\(4, 3\): expected input of shape \(batch, input_size\) with input_size=4.*got shape \(2, 5\)"),
        (lambda: nn.GRUCell(4, 3), np.zeros((2, 4)), np.zeros((3, 3)), ValueError,
         r"expected h0 of shape \(2, 3\), got \(3, 3\)"),
        (lambda: nn.GRU(4, 3), np.zeros((3, 2, 4)), (np.zeros((1, 2, 3)),), TypeError,
         r"GRU\(4, 3\): the initial state is one array \(h0\), got a tuple"),
        (lambda: nn.GRU(4, 3), np.zeros((3, 2, 4), dtype=np.float32), np.zeros((1, 2, 3)), TypeError,
         r"h0 has dtype float64, the input float32; make them match"),
    ],
)
def test_bad_input_is_named(make, x, hx, error, message):
    with pytest.raises(error, match=message):
        make()(x, hx)


def test_lstm_state_may_be_a_list_and_repr_shows_the_nonlinearity(rng):
    lstm = nn.LSTM(4, 3)
    x, h0, c0 = (rng.standard_normal(shape).astype(np.float32) for shape in [(5, 2, 4), (1, 2, 3), (1, 2, 3)])
    np.testing.assert_array_equal(lstm(x, [h0, c0])[0].data, lstm(x, (h0, c0))[0].data)
    assert repr(nn.RNN(3, 4, 2, "relu")) == "RNN(3, 4, num_layers=2, nonlinearity='relu')"
    assert repr(nn.RNNCell(3, 4, nonlinearity="relu")) == "RNNCell(3, 4, nonlinearity='relu')"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', got 'sigmoid'"):
        nn.RNN(4, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        nn.LSTM(4, 3, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer, got 0"):
        nn.GRU(4, 0)
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 2.0"):
        nn.LSTM(4, 3, num_layers=2.0)


# ---------------------------------------------------------------- Function with several results


class SumAndProduct(tn.Function):
    """(a + b, a * b): two results from one op; counts its backward calls."""

    calls = 0

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, grad_sum, grad_product):
        SumAndProduct.calls += 1
        a, b = ctx.saved
        return grad_sum + grad_product * b, grad_sum + grad_product * a


def test_function_with_several_results_runs_backward_once(rng):
    a, b = leaf(rng, 3), leaf(rng, 3)
    assert gradcheck(lambda a, b: total(SumAndProduct.apply(a, b)), [a, b])
    a.grad = b.grad = None
    SumAndProduct.calls = 0
    total_, product = SumAndProduct.apply(a, b)
    (total_ * product).sum().backward()
    assert SumAndProduct.calls == 1
    np.testing.assert_allclose(a.grad, product.data + total_.data * b.data)


def test_function_result_left_unused_gets_a_zero_gradient(rng):
    a, b = leaf(rng, 3), leaf(rng, 3)
    _, product = SumAndProduct.apply(a, b)
    product.sum().backward(retain_graph=True)
    np.testing.assert_allclose(a.grad, b.data)
    a.grad = None
    product.sum().backward()  # the kept graph can be walked again: nothing of the first pass is left over
    np.testing.assert_allclose(a.grad, b.data)


def test_function_passes_none_inputs_through(rng):
    class AddMaybe(tn.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.has_y = y is not None
            return x + y if ctx.has_y else x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad, (grad if ctx.has_y else None)

    x = leaf(rng, 2)
    AddMaybe.apply(x, None).sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
