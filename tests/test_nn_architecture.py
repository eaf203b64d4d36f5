"""Freezing, the flat store's rules (tinynet/nn/parameter.py), containers and Module
conveniences, tried the way users try them."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn, optim

OPTIMIZERS = {
    "sgd_momentum": lambda: optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.1),
    "adam": lambda: optim.Adam(lr=0.1, weight_decay=0.1),
    "adamw": lambda: optim.AdamW(lr=0.1, weight_decay=0.1),
    "lion": lambda: optim.Lion(lr=0.1, weight_decay=0.1),
}


def train(model, opt, steps=3):
    rng = np.random.default_rng(0)
    for _ in range(steps):
        x, y = rng.standard_normal((8, 2)).astype(np.float32), rng.integers(0, 2, 8)
        model.zero_grad()
        tn.functional.cross_entropy(model(x), y).backward()
        opt.step(model.grads, model.params)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_frozen_parameter_never_moves(name):
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    model[0].weight.requires_grad_(False)
    frozen = model[0].weight.data.copy()
    trained = model[2].weight.data.copy()
    train(model, OPTIMIZERS[name]())
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    assert not np.array_equal(model[2].weight.data, trained)
    assert model.params.size == model.num_parameters(trainable_only=True) == 22 - 8


def test_freezing_mid_training_asks_for_a_new_optimizer_and_unfreezing_resumes():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(lr=0.1)
    train(model, opt)
    stale_params = model.params
    model[0].requires_grad_(False)
    assert not stale_params.flags.writeable  # at once: no step through the old arrays
    with pytest.raises(ValueError, match="params is read-only.*a parameter was frozen"):
        opt.step(model.grads, stale_params)
    with pytest.raises(ValueError, match="was made for parameters of shape.*make a new optimizer"):
        train(model, opt)
    frozen = model[0].weight.data.copy()
    train(model, optim.Adam(lr=0.1))
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    model.requires_grad_(True)
    train(model, optim.Adam(lr=0.1))
    assert not np.array_equal(model[0].weight.data, frozen)


def test_a_same_sized_swap_of_frozen_layers_is_caught():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    model[1].requires_grad_(False)
    opt = optim.SGD(lr=0.1, momentum=0.9)
    train_x = np.ones((2, 3), dtype=np.float32)
    model(train_x).sum().backward()
    opt.step(model.grads, model.params)
    model[0].requires_grad_(False)
    model[1].requires_grad_(True)  # the same number of trainable elements, other parameters
    with pytest.raises(ValueError, match="stepping another params array"):
        opt.step(model.grads, model.params)


def test_a_frozen_parameter_gets_no_gradient():
    layer = nn.Linear(3, 2)
    layer.requires_grad_(False)
    x = tn.Tensor(np.ones((1, 3), dtype=np.float32), requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and layer.weight.grad is None
    assert layer.params.size == 0 and layer.num_parameters() == 8


def test_plain_containers_of_layers_are_refused_by_name():
    class Net(nn.Module):
        def __init__(self, container):
            super().__init__()
            self.layers = container

    with pytest.raises(TypeError, match=r"Net.layers: a plain list of Linears .* use nn.ModuleList"):
        Net([nn.Linear(2, 2), nn.Linear(2, 2)])
    with pytest.raises(TypeError, match=r"a plain tuple of Parameters .* use nn.ModuleList"):
        Net((nn.Parameter(np.zeros(2)),))
    with pytest.raises(TypeError, match=r"a plain dict of Linears .* use nn.ModuleDict"):
        Net({"a": nn.Linear(2, 2)})
    Net([1, 2, 3])  # other lists are ordinary attributes


def test_keeping_a_parameters_data_is_refused():
    class Keeper(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(np.ones(3))
            self.raw = self.weight.data

    with pytest.raises(TypeError, match=r"Keeper.raw: keep the Parameter, not its .data"):
        Keeper()


def test_an_array_from_before_packing_fails_loudly_when_written():
    layer = nn.Linear(2, 2)
    kept = layer.weight.data
    layer.params  # noqa: B018 (packs)
    assert not kept.flags.writeable and layer.weight.data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        kept[0, 0] = 1.0


def test_parameter_copies_what_it_is_given():
    array = np.zeros(3)
    p = nn.Parameter(array)
    array[0] = 5
    assert p.data[0] == 0 and array.flags.writeable


def test_params_is_the_same_array_until_the_layout_changes():
    model = nn.Sequential(nn.Linear(2, 2))
    first = model.params
    assert model.params is first and model.grads is model.grads
    model.append(nn.Linear(2, 3))
    assert not first.flags.writeable and model.params.size == 6 + 9


def test_module_list_registers_trains_and_behaves_like_a_list():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

        def forward(self, x):
            for block in self.blocks:
                x = block(x).tanh()
            return x

    net = Net()
    assert net.num_parameters() == 18 and net.params.size == 18
    assert list(net.state_dict()) == [f"blocks.{i}.{k}" for i in range(3) for k in ("weight", "bias")]
    blocks = net.blocks
    blocks.append(nn.Linear(2, 2))
    blocks.insert(0, nn.Identity())
    assert len(blocks) == 5 and isinstance(blocks[0], nn.Identity) and isinstance(blocks[-1], nn.Linear)
    del blocks[0]
    blocks[1] = nn.Linear(2, 2)
    assert len(blocks) == 4 and len(blocks[1:]) == 3 and isinstance(blocks[1:], nn.ModuleList)
    assert [name for name, _ in blocks.named_children()] == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="ModuleList: item 4 is of type int, not a Module"):
        blocks.append(3)
    with pytest.raises(IndexError, match="out of range for 4 layers"):
        blocks[4]
    before = net.params.copy()
    train_x = np.ones((2, 2), dtype=np.float32)
    net(train_x).sum().backward()
    optim.SGD(lr=0.1).step(net.grads, net.params)
    assert not np.array_equal(before, net.params)


def test_module_dict_registers_by_name():
    heads = nn.ModuleDict({"digit": nn.Linear(4, 10), "parity": nn.Linear(4, 2)})
    heads.update([("extra", nn.Identity())])
    assert list(heads) == ["digit", "parity", "extra"] and "digit" in heads and len(heads) == 3
    assert sorted(dict(heads.named_parameters())) == ["digit.bias", "digit.weight", "parity.bias", "parity.weight"]
    assert isinstance(heads.pop("extra"), nn.Identity) and list(heads.keys()) == ["digit", "parity"]
    with pytest.raises(KeyError, match=r"ModuleDict has no layer 'nope'; it has \['digit', 'parity'\]"):
        heads["nope"]
    with pytest.raises(KeyError, match="must be valid Python identifiers"):
        heads["a.b"] = nn.Identity()
    with pytest.raises(TypeError, match="is of type str, not a Module"):
        heads["text"] = "not a layer"


def test_identity_returns_its_input():
    x = tn.Tensor(np.ones(3))
    assert nn.Identity()(x) is x


def test_apply_visits_children_before_their_parent():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 2)))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Linear", "Sequential", "Sequential"]  # as torch's apply


def test_apply_initializes_weights():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    model.apply(lambda m: m.bias.data.fill(0.5) if isinstance(m, nn.Linear) else None)
    assert all((m.bias.data == 0.5).all() for m in (model[0], model[2]))


def test_flat_values_is_laid_out_like_params():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    model[0].bias.requires_grad_(False)
    values = model.flat_values(lambda name, p: float(len(name)) + p.ndim)
    start = 0
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert np.shares_memory(p.data, model.params[start : start + p.size])
            assert (values[start : start + p.size] == len(name) + p.ndim).all()
            start += p.size
    assert values.shape == model.params.shape == (start,) and values.dtype == model.params.dtype


def test_integer_arrays_reach_forward_as_integers():
    class Lookup(nn.Module):
        def forward(self, indices, scale):
            return indices, scale

    indices, scale = Lookup()(np.array([3, 1]), np.array([0.5], dtype=np.float32))
    assert isinstance(indices, np.ndarray) and indices.dtype == np.int64
    assert isinstance(scale, tn.Tensor)


def test_a_plain_list_filled_after_assignment_is_refused_when_the_model_packs():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = []
            self.layers.append(nn.Linear(2, 2))

    with pytest.raises(TypeError, match=r"Net.layers: a plain list of Linears .* use nn.ModuleList"):
        Net().params  # noqa: B018


def test_a_sub_layers_data_kept_by_its_parent_is_refused_when_the_model_packs():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(2, 2)
            self.w = self.lin.weight.data

    with pytest.raises(TypeError, match=r"Net.w: keep the Parameter, not its .data"):
        Net().params  # noqa: B018


def test_flat_values_takes_arrays_shaped_like_the_parameter():
    layer = nn.Linear(2, 3)
    values = layer.flat_values(lambda name, p: np.arange(p.size).reshape(p.shape))
    np.testing.assert_array_equal(values, [0, 1, 2, 3, 4, 5, 0, 1, 2])


def test_containers_and_optimizers_answer_pytorch_habits():
    with pytest.raises(TypeError, match="ModuleList holds layers but is not one itself.*nn.Sequential"):
        nn.ModuleList([nn.Linear(2, 2)])(np.ones((1, 2), dtype=np.float32))
    with pytest.raises(TypeError, match=r"Adam holds no gradients .*: call model.zero_grad\(\)"):
        optim.Adam().zero_grad()


@pytest.mark.parametrize("duplicate", ["deepcopy", "pickle"])
def test_a_copied_model_trains_its_own_parameters(duplicate):
    import copy
    import pickle

    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    model.params  # noqa: B018 (packed before copying)
    twin = copy.deepcopy(model) if duplicate == "deepcopy" else pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(twin.params, model.params)
    twin.params[:] = 7.0
    assert all((p.data == 7.0).all() for p in twin.parameters())
    assert not any((p.data == 7.0).any() for p in model.parameters())
    opt = optim.Adam()
    opt.step(np.ones_like(model.params), model.params)
    restored = pickle.loads(pickle.dumps(opt))
    assert restored.step_count == 1 and np.array_equal(restored.state["exp_avg"], opt.state["exp_avg"])


def test_swapped_step_arguments_are_refused():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"params is a model's gradient array .* opt.step\(model.grads, model.params\)"):
        optim.Adam().step(model.params, model.grads)


def test_to_the_same_dtype_changes_nothing():
    model = nn.Linear(2, 2)
    opt = optim.Adam()
    opt.step(np.ones_like(model.params), model.params)
    params = model.params
    model.to(np.float32)
    assert model.params is params and params.flags.writeable
    opt.step(np.ones_like(model.params), model.params)


def test_flat_values_refuses_what_is_not_a_finite_number_naming_the_parameter():
    layer = nn.Linear(2, 3)
    with pytest.raises(ValueError, match=r"fn\('bias', ...\) gave None; it must give a finite number or an array"):
        layer.flat_values(lambda name, p: 0.01 if name == "weight" else None)
    with pytest.raises(ValueError, match=r"fn\('bias', ...\) gave \[1, 2\]; .* array of shape \(3,\)"):
        layer.flat_values(lambda name, p: [1, 2])  # broadcasts over the (3, 2) weight, not the bias


def test_freezing_drops_the_old_gradient():
    layer = nn.Linear(2, 2)
    layer(np.ones((1, 2), dtype=np.float32)).sum().backward()
    layer.weight.requires_grad_(False)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_a_nan_in_an_array_hyperparameter_is_named():
    with pytest.raises(ValueError, match=r"invalid learning rate \(lr\): an array with 1 NaN of 3"):
        optim.SGD(lr=np.array([0.1, np.nan, 0.1]))
