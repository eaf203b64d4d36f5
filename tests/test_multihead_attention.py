"""nn.MultiheadAttention: PyTorch's parameters and state dict, parity of outputs, weights and
gradients with masks, batch_first, kdim/vdim and unbatched inputs, gradcheck, initialization,
dropout, and bad input."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn

rng = np.random.default_rng(0)
E, HEADS, L, S, N = 8, 2, 4, 5, 3


def torch_pair(**options):
    """A torch MultiheadAttention (float64) and a tinynet one holding its state dict."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, HEADS, **options).double()
    with torch.no_grad():  # non-zero biases, so that they are checked too
        for name, p in theirs.named_parameters():
            if "bias" in name:
                p.normal_()
    tn.set_default_dtype(np.float64)
    try:
        ours = nn.MultiheadAttention(E, HEADS, **options)
    finally:
        tn.set_default_dtype(np.float32)
    ours.load_state_dict({name: p.detach().numpy() for name, p in theirs.state_dict().items()})
    return ours, theirs


def torch_value(x):
    import torch

    return torch.tensor(x) if isinstance(x, np.ndarray) else x


def assert_matches_torch(ours, theirs, inputs, rtol=1e-10, **options):
    """Same output, weights and gradients of the inputs and of every parameter."""
    import torch

    ours.zero_grad()
    theirs.zero_grad()
    mine = [tn.Tensor(x.copy(), requires_grad=True) for x in inputs]
    twins = [torch.tensor(x, requires_grad=True) for x in inputs]
    out, weights = ours(*mine, **options)
    expected, expected_weights = theirs(*twins, **{k: torch_value(v) for k, v in options.items()})
    g = rng.standard_normal(out.shape)
    loss = (out * g).sum() + (0 if weights is None else (weights * weights).sum())
    expected_loss = (expected * torch.tensor(g)).sum()
    expected_loss = expected_loss + (0 if expected_weights is None else (expected_weights**2).sum())
    loss.backward()
    expected_loss.backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    assert (weights is None) == (expected_weights is None)
    if weights is not None:
        np.testing.assert_allclose(weights.data, expected_weights.detach().numpy(), rtol=rtol, atol=1e-12)
    for i, (a, b) in enumerate(zip(mine, twins)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=1e-12, err_msg=f"input {i}")
    params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), rtol=rtol, atol=1e-12, err_msg=name)


def sequences(batch_first=False, kdim=E, vdim=E, batched=True):
    def one(length, features):
        shape = ((N, length) if batch_first else (length, N)) if batched else (length,)
        return rng.standard_normal((*shape, features))

    return one(L, E), one(S, kdim), one(S, vdim)


def test_parameter_names_and_shapes_are_pytorchs():
    torch = pytest.importorskip("torch")
    for options in ({}, {"bias": False}, {"kdim": 3, "vdim": 5}):
        theirs = torch.nn.MultiheadAttention(E, HEADS, **options).state_dict()
        ours = nn.MultiheadAttention(E, HEADS, **options).state_dict()
        assert {k: tuple(v.shape) for k, v in theirs.items()} == {k: v.shape for k, v in ours.items()}


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_self_attention_matches_pytorch(batch_first, need_weights):
    ours, theirs = torch_pair(batch_first=batch_first)
    x = sequences(batch_first)[0]
    assert_matches_torch(ours, theirs, [x, x, x], need_weights=need_weights)


@pytest.mark.parametrize("average", [True, False])
def test_cross_attention_with_both_masks_matches_pytorch(average):
    ours, theirs = torch_pair()
    padding = rng.random((N, S)) > 0.7
    padding[:, 0] = False
    attn_mask = rng.random((L, S)) > 0.8
    options = {"key_padding_mask": padding, "attn_mask": attn_mask, "average_attn_weights": average}
    assert_matches_torch(ours, theirs, list(sequences()), **options)


def test_float_masks_per_head_match_pytorch():
    ours, theirs = torch_pair(batch_first=True)
    options = {"attn_mask": rng.standard_normal((N * HEADS, L, S)), "key_padding_mask": rng.standard_normal((N, S))}
    assert_matches_torch(ours, theirs, list(sequences(True)), **options)


def test_causal_self_attention_matches_pytorch():
    ours, theirs = torch_pair(batch_first=True)
    x = rng.standard_normal((N, L, E))
    causal = nn.Transformer.generate_square_subsequent_mask(L).data.astype(np.float64)
    for need_weights in (True, False):
        assert_matches_torch(ours, theirs, [x, x, x], attn_mask=causal, is_causal=True, need_weights=need_weights)


def test_kdim_and_vdim_match_pytorch():
    ours, theirs = torch_pair(kdim=3, vdim=5, bias=False)
    assert ours.in_proj_weight is None and ours.q_proj_weight.shape == (E, E)
    assert_matches_torch(ours, theirs, list(sequences(kdim=3, vdim=5)))


def test_unbatched_inputs_match_pytorch():
    ours, theirs = torch_pair()
    options = {"key_padding_mask": np.array([False, True, False, False, True]), "average_attn_weights": False}
    assert_matches_torch(ours, theirs, list(sequences(batched=False)), **options)
    assert_matches_torch(ours, theirs, list(sequences(batched=False)), attn_mask=rng.random((HEADS, L, S)) > 0.9)


def test_gradcheck(float64):
    layer = nn.MultiheadAttention(4, 2, kdim=3, vdim=2)
    query, key, value = rng.standard_normal((3, 2, 4)), rng.standard_normal((2, 2, 3)), rng.standard_normal((2, 2, 2))
    inputs = [tn.Tensor(x, requires_grad=True) for x in (query, key, value)] + layer.parameters()
    assert tn.gradcheck(lambda q, k, v, *params: layer(q, k, v, need_weights=False)[0], inputs)

    def output_and_weights(q, k, v, *params):
        out, weights = layer(q, k, v)
        return out.sum() + (weights * weights).sum()

    assert tn.gradcheck(output_and_weights, inputs)


def test_initialization_as_pytorchs():
    tn.manual_seed(0)
    layer = nn.MultiheadAttention(64, 4)
    bound = np.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform of the (3 E, E) in_proj_weight
    assert np.abs(layer.in_proj_weight.data).max() <= bound
    assert np.abs(layer.in_proj_weight.data).max() > 0.95 * bound
    assert np.all(layer.in_proj_bias.data == 0) and np.all(layer.out_proj.bias.data == 0)
    assert np.abs(layer.out_proj.weight.data).max() <= 1 / 8  # a Linear's: 1 / √in_features
    assert layer.params.dtype == np.float32


def test_dropout_only_in_training():
    tn.manual_seed(0)
    layer = nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = rng.standard_normal((L, N, E)).astype(np.float32)
    _, weights = layer(x, x, x, average_attn_weights=False)
    assert np.mean(weights.data == 0) > 0.3  # dropped weights are returned, as in PyTorch
    tn.manual_seed(1)
    with_weights = layer(x, x, x)[0].data
    tn.manual_seed(1)
    without = layer(x, x, x, need_weights=False)[0].data  # the op drops the same weights from the same seed
    np.testing.assert_allclose(with_weights, without, rtol=1e-5, atol=1e-6)
    layer.eval()
    out, weights = layer(x, x, x)
    np.testing.assert_allclose(weights.data.sum(-1), 1, rtol=1e-5)
    np.testing.assert_array_equal(out.data, layer(x, x, x, need_weights=False)[0].data)


def test_a_sample_of_only_padding_gets_zero_weights_and_no_nan():
    ours, theirs = torch_pair()
    padding = np.zeros((N, S), bool)
    padding[1] = True  # sample 1 has no key to attend to
    query, key, value = (tn.Tensor(x, requires_grad=True) for x in sequences())
    out, weights = ours(query, key, value, key_padding_mask=padding)
    out.sum().backward()
    assert np.all(weights.data[1] == 0) and np.isfinite(key.grad).all()
    np.testing.assert_allclose(out.data[:, 1], np.broadcast_to(ours.out_proj.bias.data, (L, E)))
    np.testing.assert_array_equal(query.grad[:, 1], 0)
    assert_matches_torch(ours, theirs, list(sequences()), key_padding_mask=padding, need_weights=False)
    import torch  # PyTorch's own path with weights gives NaN instead

    x = [torch.tensor(a) for a in sequences()]
    assert torch.isnan(theirs(*x, key_padding_mask=torch.tensor(padding))[0][:, 1]).all()


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: nn.MultiheadAttention(10, 3), ValueError, r"embed_dim \(10\) must be divisible by num_heads \(3\)"),
        (lambda: nn.MultiheadAttention(8, 0), ValueError, "must be divisible by num_heads"),
        (lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True), NotImplementedError, "add_bias_kv=True"),
        (lambda: nn.MultiheadAttention(8, 2, add_zero_attn=True), NotImplementedError, "add_zero_attn=True"),
        (lambda: nn.MultiheadAttention(8, 2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
    ],
)
def test_bad_settings_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


X = rng.standard_normal((L, N, E)).astype(np.float32)
MEMORY = rng.standard_normal((S, N, E)).astype(np.float32)


@pytest.mark.parametrize(
    "args, options, error, message",
    [
        ((X, X, X[..., :6]), {}, ValueError, r"need 8, 8 and 8 features"),
        ((X, MEMORY, X), {}, ValueError, "key and value need the same shape"),
        ((X, MEMORY[:, :2], MEMORY[:, :2]), {}, ValueError, "query the same batch size"),
        ((X, X[0], X), {}, ValueError, "must all be 3-D"),
        ((X, X, X.astype(int)), {}, TypeError, "value must be a floating-point Tensor or array, got dtype int64"),
        ((X, X.astype(np.float64), X), {}, TypeError, "the same dtype, got float32, float64 and float32"),
        ((X, MEMORY, MEMORY), {"key_padding_mask": np.zeros((N, L), bool)}, ValueError, r"must have shape \(3, 5\)"),
        ((X, MEMORY, MEMORY), {"key_padding_mask": np.zeros((N, S), int)}, TypeError, "key_padding_mask must be bool"),
        ((X, MEMORY, MEMORY), {"attn_mask": np.zeros((S, L), bool)}, ValueError, r"\(4, 5\) or \(6, 4, 5\)"),
        ((X, X, X), {"attn_mask": np.zeros((L, L))}, TypeError, "float of the query's dtype float32"),
        ((X, X, X), {"is_causal": True}, ValueError, "is_causal=True is a hint .* pass the mask too"),
    ],
)
def test_bad_inputs_and_masks_are_named(args, options, error, message):
    with pytest.raises(error, match=message):
        nn.MultiheadAttention(E, HEADS)(*args, **options)
