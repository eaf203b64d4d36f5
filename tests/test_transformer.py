"""The transformer layers: PyTorch's state-dict keys, its weights loaded unchanged giving the
same outputs and gradients (relu and gelu, pre- and post-norm, batch first or not, masks),
copies that train, the causal mask, gradcheck and bad input."""

import copy

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn

pytestmark = [  # tinynet and PyTorch take a bool and a float mask together; PyTorch warns that it may stop
    pytest.mark.filterwarnings("ignore:Support for mismatched"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
]
rng = np.random.default_rng(0)
D, HEADS, FF, T, S, N = 8, 2, 12, 4, 5, 2


def loaded(ours, theirs):
    """`ours` with `theirs`'s weights (non-zero biases, so they are checked too), both float64."""
    import torch

    theirs.double()
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            if "bias" in name or "norm" in name:
                p.normal_()
    ours.to(np.float64).load_state_dict({name: p.detach().numpy() for name, p in theirs.state_dict().items()})
    return ours, theirs


def both(name, *args, **options):
    """The tinynet and torch layers of one name and settings."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    return loaded(getattr(nn, name)(*args, **options), getattr(torch.nn, name)(*args, **options))


def assert_matches_torch(ours, theirs, arrays, rtol=1e-9, **masks):
    """Same output and the same gradients of the inputs and of every parameter (float64)."""
    import torch

    mine = [tn.Tensor(x.copy(), requires_grad=True) for x in arrays]
    twins = [torch.tensor(x, requires_grad=True) for x in arrays]
    out = ours(*mine, **masks)
    expected = theirs(*twins, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()})
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-10)
    for i, (a, b) in enumerate(zip(mine, twins)):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=1e-10, err_msg=f"input {i}")
    params = dict(ours.named_parameters())
    assert set(params) == {name for name, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(params[name].grad, p.grad.numpy(), rtol=rtol, atol=1e-10, err_msg=name)


def sequence(length, batch_first):
    return rng.standard_normal((N, length, D) if batch_first else (length, N, D))


def causal(n):
    return nn.Transformer.generate_square_subsequent_mask(n, dtype=np.float64).data


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_pytorch(activation, norm_first, batch_first):
    options = {"activation": activation, "norm_first": norm_first, "batch_first": batch_first, "dropout": 0.0}
    ours, theirs = both("TransformerEncoderLayer", D, HEADS, FF, **options)
    padding = np.zeros((N, T), bool)
    padding[1, -1] = True
    masks = {"src_mask": causal(T), "src_key_padding_mask": padding, "is_causal": True}
    assert_matches_torch(ours, theirs, [sequence(T, batch_first)], **masks)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer_matches_pytorch(activation, norm_first, batch_first):
    options = {"activation": activation, "norm_first": norm_first, "batch_first": batch_first, "dropout": 0.0}
    ours, theirs = both("TransformerDecoderLayer", D, HEADS, FF, **options)
    memory_padding = np.zeros((N, S), bool)
    memory_padding[0, 1] = True
    masks = {
        "tgt_mask": causal(T),
        "tgt_is_causal": True,
        "memory_mask": rng.standard_normal((T, S)),
        "memory_key_padding_mask": memory_padding,
    }
    assert_matches_torch(ours, theirs, [sequence(T, batch_first), sequence(S, batch_first)], **masks)


def test_a_callable_activation_and_no_bias_match_pytorch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    ours, theirs = loaded(
        nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation=nn.SiLU(), bias=False),
        torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, activation=torch.nn.SiLU(), bias=False),
    )
    assert "linear1.bias" not in ours.state_dict()
    assert_matches_torch(ours, theirs, [sequence(T, False)])


def test_encoder_of_copies_matches_pytorch_and_each_copy_trains():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
    ours = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(D), enable_nested_tensor=False)
    twin_layer = torch.nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(twin_layer, 2, norm=torch.nn.LayerNorm(D), enable_nested_tensor=False)
    assert set(ours.state_dict()) == set(theirs.state_dict())
    assert "layers.1.self_attn.in_proj_weight" in ours.state_dict()
    assert ours.layers[0].linear1.weight is not ours.layers[1].linear1.weight  # copies, not one layer twice
    assert ours.params.size == 2 * layer.num_parameters() + 2 * D  # every copy trains
    loaded(ours, theirs)
    padding = np.zeros((N, T), bool)
    padding[0, 2:] = True
    assert_matches_torch(ours, theirs, [sequence(T, True)], mask=causal(T), src_key_padding_mask=padding)


def test_transformer_matches_pytorch():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    settings = {"d_model": D, "nhead": HEADS, "num_encoder_layers": 2, "num_decoder_layers": 1, "dim_feedforward": FF}
    ours, theirs = loaded(
        nn.Transformer(**settings, dropout=0.0, activation="gelu"),
        torch.nn.Transformer(**settings, dropout=0.0, activation="gelu"),
    )
    assert set(ours.state_dict()) == set(theirs.state_dict())
    assert {"encoder.norm.weight", "decoder.norm.bias", "decoder.layers.0.multihead_attn.in_proj_weight"} <= set(
        ours.state_dict()
    )
    masks = {"tgt_mask": causal(T), "src_key_padding_mask": np.array([[False] * S, [False] * 3 + [True] * 2])}
    assert_matches_torch(ours, theirs, [sequence(S, False), sequence(T, False)], **masks)


def test_unbatched_inputs_match_pytorch():
    ours, theirs = both("TransformerDecoderLayer", D, HEADS, FF, dropout=0.0)
    assert_matches_torch(ours, theirs, [rng.standard_normal((T, D)), rng.standard_normal((S, D))], tgt_mask=causal(T))


def test_the_causal_mask_is_pytorchs():
    torch = pytest.importorskip("torch")
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    assert isinstance(mask, tn.Tensor) and mask.dtype == np.float32
    np.testing.assert_array_equal(mask.data, torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=np.float64).dtype == np.float64


def test_gradcheck(float64):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, activation="gelu")
    x = tn.Tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    mask = causal(3)
    assert tn.gradcheck(lambda x, *params: layer(x, src_mask=mask), [x, *layer.parameters()])


def test_dropout_in_training_only_and_copies_keep_the_mode():
    tn.manual_seed(0)
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, HEADS, FF, dropout=0.5), 2)
    x = rng.standard_normal((T, N, D)).astype(np.float32)
    assert not np.allclose(encoder(x).data, encoder(x).data)
    encoder.eval()
    assert not any(layer.training for layer in encoder.layers)
    np.testing.assert_array_equal(encoder(x).data, encoder(x).data)


def test_a_deep_copy_of_a_packed_layer_is_independent():
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    assert layer.params.size == layer.num_parameters()  # packed into one flat store
    twin = copy.deepcopy(layer)
    twin.params[:] = 0
    assert np.any(layer.params != 0) and np.all(twin.linear1.weight.data == 0)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: nn.TransformerEncoderLayer(10, 3), ValueError, r"embed_dim \(10\) must be divisible by num_heads"),
        (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), ValueError, "'relu', 'gelu' or a callable"),
        (lambda: nn.TransformerEncoder(nn.Linear(2, 2), -1), ValueError, "num_layers must be a non-negative"),
        (lambda: nn.TransformerDecoder("layer", 2), TypeError, "expected a layer"),
    ],
)
def test_bad_settings_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda m, x: m(x, src_mask=np.zeros((T + 1, T + 1), bool)), ValueError, r"attn_mask must have shape \(4, 4\)"),
        (lambda m, x: m(x, src_key_padding_mask=np.zeros((N, T), int)), TypeError, "key_padding_mask must be bool"),
        (lambda m, x: m(x[..., :4]), ValueError, "need 8, 8 and 8 features"),
        (lambda m, x: m(x, is_causal=True), ValueError, "pass the mask too"),
    ],
)
def test_bad_inputs_are_named(call, error, message):
    layer = nn.TransformerEncoderLayer(D, HEADS, FF)
    with pytest.raises(error, match=message):
        call(layer, rng.standard_normal((T, N, D)).astype(np.float32))


def test_transformer_names_mismatched_src_and_tgt():
    model = nn.Transformer(D, HEADS, 1, 1, FF)
    src = rng.standard_normal((S, N, D)).astype(np.float32)
    with pytest.raises(ValueError, match="same batch size"):
        model(src, rng.standard_normal((T, N + 1, D)).astype(np.float32))
    with pytest.raises(ValueError, match="d_model = 8 features"):
        model(src[..., :4], rng.standard_normal((T, N, 4)).astype(np.float32))


def test_compare_with_torch_lines_up_layer_by_layer():
    ours, theirs = both("TransformerDecoderLayer", D, HEADS, FF, dropout=0.0)
    inputs = (sequence(T, False), sequence(S, False))
    report = tn.testing.compare_with_torch(ours, theirs, inputs, rtol=1e-9, atol=1e-12)
    assert report.ok
    assert {"self_attn", "linear1", "norm3"} <= {row.name for row in report.rows}


def test_gradients_of_gradients_pass_through_a_layer(float64):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True)
    x = tn.Tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)

    def gradient_norm(x, *params):
        (g,) = tn.grad(layer(x, src_mask=causal(3)).sum(), [x], create_graph=True)
        return (g * g).sum()

    assert tn.gradcheck(gradient_norm, [x], atol=1e-4)


@pytest.mark.parametrize(
    "name",
    [
        "MultiheadAttention",
        "TransformerEncoderLayer",
        "TransformerEncoder",
        "TransformerDecoderLayer",
        "TransformerDecoder",
        "Transformer",
    ],
)
def test_arguments_are_pytorchs_in_pytorchs_order(name):
    """Every argument of __init__ and forward, by name and position, as PyTorch's (less device and dtype)."""
    import inspect

    torch = pytest.importorskip("torch")
    for method in ("__init__", "forward"):
        ours = list(inspect.signature(getattr(getattr(nn, name), method)).parameters)
        theirs = [p for p in inspect.signature(getattr(getattr(torch.nn, name), method)).parameters]
        assert ours == [p for p in theirs if p not in ("device", "dtype")], (name, method)


def test_transformer_weights_are_xavier_uniform():
    tn.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=64)
    weight = model.encoder.layers[0].linear1.weight.data
    bound = np.sqrt(6 / (16 + 64))
    assert bound * 0.95 < np.abs(weight).max() <= bound
    assert np.all(model.decoder.norm.weight.data == 1)  # 1-D parameters keep their own initialization
