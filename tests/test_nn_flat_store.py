"""model.params / model.grads: one flat array each, linked to every parameter in every case."""

import numpy as np
import pytest
from test_nn_layers import AutoEncoder, Encoder

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim


def mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def assert_linked(model):
    """Writing to model.params moves every parameter; backward fills model.grads."""
    params, grads = model.params, model.grads
    assert params.ndim == 1 and params.size == sum(p.size for p in model.parameters())
    before = [p.data.copy() for p in model.parameters()]
    params += 1.0
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.data, b + 1.0)
    model.zero_grad()
    x = np.random.default_rng(0).standard_normal((5, model.parameters()[0].shape[1])).astype(np.float32)
    model(x).sum().backward()
    assert np.abs(grads).sum() > 0
    np.testing.assert_array_equal(grads, np.concatenate([p.grad.reshape(-1) for p in model.parameters()]))


def test_params_and_grads_are_views():
    model = mlp()
    assert_linked(model)
    for p in model.parameters():
        assert np.shares_memory(p.data, model.params) and np.shares_memory(p.grad, model.grads)


def test_optimizer_step_moves_every_parameter():
    model = mlp()
    before = [p.data.copy() for p in model.parameters()]
    x = np.ones((2, 3), np.float32)
    model(x).sum().backward()
    optim.SGD(lr=0.1).step(model.grads, model.params)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.data, b - 0.1 * p.grad, rtol=1e-6)


def test_grad_accumulates_in_place_and_zero_grad_is_one_fill():
    model = mlp()
    grads = model.grads
    x = np.ones((2, 3), np.float32)
    model(x).sum().backward()
    once = grads.copy()
    model(x).sum().backward()
    np.testing.assert_allclose(grads, 2 * once, rtol=1e-6)
    model.zero_grad()
    assert not grads.any()


def test_link_survives_load_state_dict():
    model, other = mlp(), mlp()
    params = model.params
    model.load_state_dict(other.state_dict())
    np.testing.assert_array_equal(params, other.params)
    assert_linked(model)
    assert params is model.params or np.shares_memory(params, model.params)


def test_link_survives_assigning_data_and_grad():
    model = mlp()
    params, grads = model.params, model.grads
    model[0].weight.data = np.full((4, 3), 2.0, np.float32)
    assert (params[:12] == 2).all()
    model[0].weight.grad = np.ones((4, 3), np.float32)
    assert (grads[:12] == 1).all()
    model[0].weight.grad = None
    assert not grads[:12].any()
    assert_linked(model)


def test_nesting_keeps_link_and_retires_stale_arrays():
    inner = mlp()
    stale_params, stale_grads = inner.params, inner.grads
    outer = nn.Sequential(inner, nn.ReLU(), nn.Linear(2, 2))
    assert_linked(outer)
    assert_linked(inner)  # the inner model's arrays are now slices of the outer store
    assert np.shares_memory(inner.params, outer.params)
    assert not stale_params.flags.writeable and not stale_grads.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        stale_params -= 1
    with pytest.raises(ValueError, match="stale"):
        optim.SGD(lr=0.1).step(inner.grads, stale_params)


def test_inner_model_accessed_after_outer_shares_the_outer_store():
    inner = mlp()
    outer = nn.Sequential(inner, nn.Linear(2, 2))
    outer_params = outer.params
    inner_params = inner.params
    assert np.shares_memory(inner_params, outer_params)
    inner_params += 1
    outer_params += 1
    assert_linked(outer)
    assert outer_params.flags.writeable and inner_params.flags.writeable


def test_shared_parameters_counted_once():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight
    model = nn.Sequential(a, nn.Tanh(), b)
    assert model.params.size == 9 + 3 + 3
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    assert sorted(model.state_dict()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    x = tn.Tensor(np.ones((2, 3), np.float32))
    model(x).sum().backward()
    both_uses = a.weight.grad.copy()
    model.zero_grad()
    a(x).sum().backward()
    assert not np.allclose(both_uses, a.weight.grad)  # the shared weight got both contributions
    assert_linked(model)


@pytest.mark.parametrize("order", ["outer_first", "inner_first", "parts_first", "grads_first"])
def test_any_build_and_access_order(order):
    model = AutoEncoder()
    if order == "inner_first":
        model.encoder.params  # noqa: B018
    elif order == "parts_first":
        model.decoder.grads  # noqa: B018
        model.encoder.fc2.params  # noqa: B018
    elif order == "grads_first":
        model.grads  # noqa: B018
    assert_linked(model)
    assert_linked(model.encoder)
    assert_linked(model)


def test_new_layer_assigned_after_packing_is_included():
    model = Encoder()
    old = model.params
    model.fc3 = nn.Linear(2, 2)
    assert model.params.size == old.size + 6
    assert not old.flags.writeable
    assert_linked(model)


def test_dtype_change_repacks():
    model = mlp()
    old = model.params
    model.to(np.float64)
    assert model.params.dtype == np.float64 and not old.flags.writeable
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert_linked(model)


def test_assigned_data_keeps_the_parameter_dtype():
    model = mlp()
    params = model.params
    model[0].weight.data = np.full((4, 3), 0.5)  # float64 in, float32 kept
    assert model[0].weight.dtype == np.float32 and (params[:12] == 0.5).all()
    assert_linked(model)


def test_mixed_dtypes_need_to():
    model = mlp()
    model[0].weight = nn.Parameter(np.zeros((4, 3)))  # a float64 parameter in a float32 model
    assert [n for n, _ in model.named_parameters()][:2] == ["0.weight", "0.bias"]  # same place as before
    with pytest.raises(TypeError, match=r"different dtypes.*model.to\(dtype\)"):
        model.params  # noqa: B018
    model.to(np.float32)
    assert_linked(model)


def test_gradcheck_through_flat_store(float64):
    model = mlp()
    model.params  # noqa: B018
    x = tn.Tensor(np.random.default_rng(0).standard_normal((4, 3)))
    assert tn.gradcheck(lambda *ps: F.cross_entropy(model(x), np.array([0, 1, 1, 0])), model.parameters())
