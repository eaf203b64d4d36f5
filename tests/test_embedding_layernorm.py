"""Embedding and LayerNorm: gradients, torch parity, initialization, errors."""

import numpy as np
import pytest
from conftest import leaf
from torch_parity import assert_module_matches_torch

import tinynet as tn
from tinynet import functional as F
from tinynet import gradcheck, nn

INDICES = np.array([[1, 3, 1, 4], [0, 1, 4, 4]])  # repeats: their gradients add up


# ---------------------------------------------------------------- Embedding


@pytest.mark.parametrize("padding_idx", [None, 1, -2])
def test_embedding_gradcheck(float64, padding_idx):
    """The output rows that picked padding_idx are masked out of the checked sum: that row's
    finite difference is then 0, which is the gradient it must get (none at all)."""
    layer = nn.Embedding(5, 3, padding_idx=padding_idx)
    kept = np.ones(INDICES.shape, bool) if padding_idx is None else np.not_equal(INDICES, layer.padding_idx)
    assert gradcheck(lambda weight: layer(INDICES) * kept[..., None], [layer.weight])
    assert kept.all() == (padding_idx is None)


def test_embedding_gradient_of_repeated_indices_adds_up_and_padding_gets_none():
    layer = nn.Embedding(5, 2, padding_idx=4)
    out = layer(INDICES)
    assert out.shape == (2, 4, 2) and out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    np.testing.assert_array_equal(layer.weight.grad[:, 0], [1, 3, 0, 1, 0])  # index 4 is used 3 times
    np.testing.assert_array_equal(layer.weight.data[4], [0, 0])
    assert layer.weight.grad.dtype == np.float32


def test_embedding_init_matches_torch():
    torch = pytest.importorskip("torch")
    tn.manual_seed(0)
    ours, theirs = nn.Embedding(1000, 16, padding_idx=-3), torch.nn.Embedding(1000, 16, padding_idx=-3)
    assert ours.padding_idx == theirs.padding_idx == 997
    assert ours.weight.shape == tuple(theirs.weight.shape)
    for weight in (ours.weight.data, theirs.weight.detach().numpy()):
        np.testing.assert_array_equal(weight[997], 0)
        assert abs(weight.mean()) < 0.03 and abs(weight.std() - 1) < 0.03  # N(0, 1): 16,000 draws
    assert repr(ours) == "Embedding(1000, 16, padding_idx=997)" and repr(nn.Embedding(3, 2)) == "Embedding(3, 2)"


def assert_embedding_matches_torch(ours, theirs, indices):
    import torch

    out, expected = ours(indices), theirs(torch.tensor(indices))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12)
    assert out.requires_grad == expected.requires_grad
    if expected.requires_grad:  # frozen: nothing to differentiate, in both
        g = np.random.default_rng(1).standard_normal(expected.shape)
        out.backward(g)
        expected.backward(torch.tensor(g))
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("padding_idx", [None, 0, 4, -1])
def test_embedding_matches_torch(float64, padding_idx):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(6, 3, padding_idx=padding_idx).double()
    ours = nn.Embedding(6, 3, padding_idx=padding_idx)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    indices = np.random.default_rng(0).integers(0, 6, (3, 4, 5))
    assert_embedding_matches_torch(ours, theirs, indices)


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained_matches_torch(float64, freeze):
    torch = pytest.importorskip("torch")
    table = np.random.default_rng(0).standard_normal((6, 3))
    ours = nn.Embedding.from_pretrained(table, freeze=freeze, padding_idx=2)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=2)
    np.testing.assert_array_equal(ours.weight.data, table)  # a copy, the padding row kept as given
    assert ours.weight.data is not table and ours.padding_idx == 2
    assert ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    assert_embedding_matches_torch(ours, theirs, np.array([[2, 0, 5], [2, 2, 1]]))


def test_frozen_pretrained_embedding_is_left_out_of_the_trainable_parameters():
    table = np.random.default_rng(0).standard_normal((10, 4))  # float64: copied in the default dtype
    model = nn.Sequential(nn.Embedding.from_pretrained(table), nn.Linear(4, 2))
    assert model[0].weight.dtype == np.float32
    assert model.num_parameters(trainable_only=True) == 4 * 2 + 2 and model.params.size == 10
    loss = model(np.array([1, 2, 2])).sum()
    model.zero_grad()
    loss.backward()
    assert model[0].weight.grad is None or not model[0].weight.grad.any()
    assert model.grads.any()


def test_embedding_errors():
    layer = nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"embedding: index 7 is out of range for num_embeddings 5 \(indices must"):
        layer(np.array([1, 7, 2]))
    with pytest.raises(IndexError, match="index -1 is out of range for num_embeddings 5"):
        layer(np.array([[0], [-1]]))
    with pytest.raises(TypeError, match="embedding: indices must be integers, got dtype float32"):
        layer(np.array([1.0, 2.0], np.float32))
    with pytest.raises(TypeError, match="got dtype bool"):
        F.embedding(np.array([True]), layer.weight)
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-5, 5\) for 5 embeddings, got 5"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=r"embeddings must be 2-D \(num_embeddings, embedding_dim\), got shape \(3,\)"):
        nn.Embedding.from_pretrained(np.zeros(3))
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D"):
        F.embedding(np.array([0]), tn.Tensor(np.zeros(3)))


# ---------------------------------------------------------------- LayerNorm

LAYER_NORM_CONFIGS = [  # (normalized_shape, input shape)
    (4, (3, 5, 4)),
    ((4,), (6, 4)),
    ((3, 4), (2, 5, 3, 4)),
]


AFFINE = {"affine": {}, "no-affine": {"elementwise_affine": False}, "no-bias": {"bias": False}}


@pytest.mark.parametrize("affine", list(AFFINE))
@pytest.mark.parametrize("config", LAYER_NORM_CONFIGS, ids=str)
def test_layer_norm_gradcheck(float64, rng, config, affine):
    normalized_shape, shape = config
    layer = nn.LayerNorm(normalized_shape, **AFFINE[affine])
    for p in layer.parameters():  # away from their ones and zeros, so that both are really tested
        p.data = rng.uniform(0.5, 2, p.shape)
    assert gradcheck(lambda x, *params: layer(x), [leaf(rng, *shape), *layer.parameters()])


@pytest.mark.parametrize("affine", list(AFFINE))
@pytest.mark.parametrize("config", LAYER_NORM_CONFIGS, ids=str)
def test_layer_norm_matches_torch(float64, config, affine):
    torch = pytest.importorskip("torch")
    normalized_shape, shape = config
    theirs = torch.nn.LayerNorm(normalized_shape, eps=1e-3, **AFFINE[affine]).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(0.5, 2)
    ours = nn.LayerNorm(normalized_shape, eps=1e-3, **AFFINE[affine])
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    assert_module_matches_torch(ours, theirs, np.random.default_rng(0).standard_normal(shape) * 3 + 1)


def test_functional_layer_norm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    x, weight, bias = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    expected = torch.nn.functional.layer_norm(torch.tensor(x), (6,), torch.tensor(weight), torch.tensor(bias))
    out = F.layer_norm(x, 6, tn.Tensor(weight), tn.Tensor(bias))
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-10)
    plain = F.layer_norm(x, (6,))
    np.testing.assert_allclose(plain.data.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(plain.data.var(axis=1), x.var(axis=1) / (x.var(axis=1) + 1e-5), rtol=1e-10)


def test_layer_norm_init_state_dict_and_dtype():
    layer = nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(layer.weight.data, np.ones((2, 3)))
    np.testing.assert_array_equal(layer.bias.data, np.zeros((2, 3)))
    assert (
        set(layer.state_dict()) == {"weight", "bias"} and nn.LayerNorm(3, elementwise_affine=False).state_dict() == {}
    )
    x = tn.Tensor(np.random.default_rng(0).standard_normal((4, 2, 3)).astype(np.float32), requires_grad=True)
    out = layer(x)
    (out * out.data).sum().backward()
    assert out.dtype == x.grad.dtype == layer.weight.grad.dtype == np.float32


def test_layer_norm_errors():
    with pytest.raises(
        ValueError,
        match=r"layer_norm: the input's trailing shape must be normalized_shape \(3, 4\), got input shape \(2, 4, 3\)",
    ):
        nn.LayerNorm((3, 4))(np.zeros((2, 4, 3), np.float32))
    with pytest.raises(ValueError, match=r"normalized_shape \(5,\), got input shape \(5, 4\)"):
        F.layer_norm(np.zeros((5, 4)), 5)
    with pytest.raises(ValueError, match=r"normalized_shape \(2, 3\), got input shape \(3,\)"):
        F.layer_norm(np.zeros(3), (2, 3))
    with pytest.raises(ValueError, match=r"layer_norm: weight must have shape normalized_shape \(4,\), got \(3,\)"):
        F.layer_norm(np.zeros((2, 4)), 4, weight=tn.Tensor(np.ones(3)))
