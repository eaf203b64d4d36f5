"""Module.register_forward_pre_hook and register_forward_hook: PyTorch's semantics (order,
replacement of inputs and output, removable handles, hooks on children), and hooks stay out of
the state dict, saving, deepcopy and checkpoints."""

import copy

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn
from tinynet.nn.module import Module

torch = pytest.importorskip("torch")


def tinynet_and_torch_mlps():
    """The same Linear(3, 4)-ReLU-Linear(4, 2) in tinynet and in PyTorch (float32)."""
    tn.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.from_numpy(ours.state_dict()[name]))
    return ours, theirs


def as_numpy(tensor):
    return tensor.detach().numpy() if isinstance(tensor, torch.Tensor) else tensor.data


X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)


def run_both(register):
    """Call `register(model, log)` on each framework's model, run it on X: (outputs, logs)."""
    results = []
    for model, x in zip(tinynet_and_torch_mlps(), (tn.Tensor(X), torch.from_numpy(X))):
        log = []
        register(model, log)
        results.append((as_numpy(model(x)), log))
    (ours, our_log), (theirs, their_log) = results
    return ours, theirs, our_log, their_log


def recorder(log, label):
    """A pre-hook or forward hook (it takes either) that logs its label, the input shapes and the output shape."""

    def hook(module, inputs, output=None):
        log.append((label, type(module).__name__, [tuple(x.shape) for x in inputs], output is not None))

    return hook


def test_hooks_run_in_registration_order_on_the_parent_and_its_children_as_in_torch():
    def register(model, log):
        for i, layer in enumerate([model, *model]):
            layer.register_forward_hook(recorder(log, f"after {i} (a)"))
            layer.register_forward_pre_hook(recorder(log, f"before {i} (a)"))
            layer.register_forward_pre_hook(recorder(log, f"before {i} (b)"))
            layer.register_forward_hook(recorder(log, f"after {i} (b)"))

    ours, theirs, our_log, their_log = run_both(register)
    assert len(our_log) == 16 and our_log[0][0] == "before 0 (a)" and our_log[-1][0] == "after 0 (b)"
    assert [(label, shapes, has_output) for label, _, shapes, has_output in our_log] == [
        (label, shapes, has_output) for label, _, shapes, has_output in their_log
    ]
    assert [name for _, name, _, _ in our_log] == [name for _, name, _, _ in their_log]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_a_pre_hook_replaces_the_inputs_with_a_single_value_or_a_tuple_as_in_torch():
    def register(model, log):
        model[2].register_forward_pre_hook(lambda module, inputs: inputs[0] * 2)  # one value: wrapped in a tuple
        model[2].register_forward_pre_hook(lambda module, inputs: (inputs[0] + 1,))  # a tuple: the new inputs
        model[2].register_forward_pre_hook(lambda module, inputs: log.append(as_numpy(inputs[0])))  # None: unchanged
        model[2].register_forward_hook(lambda module, inputs, output: log.append(as_numpy(inputs[0])))

    ours, theirs, our_log, their_log = run_both(register)
    model = tinynet_and_torch_mlps()[0]
    hidden = model[1](model[0](X)).data
    np.testing.assert_allclose(our_log[0], hidden * 2 + 1, rtol=1e-6)  # what the layer got
    np.testing.assert_array_equal(our_log[1], our_log[0])  # the forward hook sees the replaced inputs
    for mine, torchs in zip(our_log, their_log):
        np.testing.assert_allclose(mine, torchs, rtol=1e-6)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_a_forward_hook_replaces_the_output_for_the_next_hooks_and_the_caller_as_in_torch():
    def register(model, log):
        model[0].register_forward_hook(lambda module, inputs, output: output * 0 - 1)  # every unit dead after ReLU
        model[0].register_forward_hook(lambda module, inputs, output: log.append(as_numpy(output).copy()))
        model.register_forward_hook(lambda module, inputs, output: output + 10)

    ours, theirs, our_log, their_log = run_both(register)
    np.testing.assert_array_equal(our_log[0], -np.ones((5, 4)))
    np.testing.assert_array_equal(their_log[0], our_log[0])
    last_bias = tinynet_and_torch_mlps()[0][2].bias.data  # all the last layer gets is zeros
    np.testing.assert_allclose(ours, np.broadcast_to(last_bias + 10, (5, 2)), rtol=1e-6)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_gradients_flow_through_a_replaced_output_as_in_torch():
    grads = []
    for model, x in zip(tinynet_and_torch_mlps(), (tn.Tensor(X), torch.from_numpy(X))):
        model[1].register_forward_hook(lambda module, inputs, output: output * 3)
        model(x).sum().backward()
        grads.append(model[0].weight.grad)
    np.testing.assert_allclose(grads[0], grads[1].numpy(), rtol=1e-5)


def test_a_removed_hook_no_longer_runs_and_removing_twice_is_harmless():
    for model, x in zip(tinynet_and_torch_mlps(), (X, torch.from_numpy(X))):
        calls = []
        hook = lambda module, inputs: calls.append(type(module).__name__)  # noqa: B023
        first = model[1].register_forward_pre_hook(hook)
        second = model[1].register_forward_pre_hook(hook)  # the same function twice: two hooks
        model(x)
        first.remove()
        first.remove()
        model(x)
        second.remove()
        model(x)
        assert calls == ["ReLU", "ReLU", "ReLU"], type(model)


def test_a_module_without_hooks_takes_the_short_path(monkeypatch):
    def refuse(*args):
        raise AssertionError("the path with hooks was taken")

    model = tinynet_and_torch_mlps()[0]
    monkeypatch.setattr(Module, "_call_with_hooks", refuse)
    model(X)
    model.register_forward_hook(lambda module, inputs, output: None).remove()
    model[0].register_forward_pre_hook(lambda module, inputs: None).remove()
    model(X)
    model.register_forward_hook(lambda module, inputs, output: None)
    with pytest.raises(AssertionError, match="path with hooks"):
        model(X)


def test_hooks_are_not_in_the_state_dict_and_do_not_stop_saving_copying_or_checkpoints(tmp_path):
    model = tinynet_and_torch_mlps()[0]
    state = model.state_dict()
    calls = []
    handle = model[1].register_forward_hook(lambda module, inputs, output: calls.append("hook"))
    assert model.state_dict().keys() == state.keys()
    model.save(tmp_path / "model.npz")
    model.load(tmp_path / "model.npz")
    tn.save_checkpoint(tmp_path / "run.npz", model=model, epoch=1)
    assert tn.load_checkpoint(tmp_path / "run.npz", model=model)["epoch"] == 1
    twin = copy.deepcopy(model)  # as in PyTorch, the copy keeps the hooks; removing the original's leaves them
    handle.remove()
    twin(X)
    model(X)
    assert calls == ["hook"]
    np.testing.assert_array_equal(twin(X).data, model(X).data)


def test_a_hook_that_is_not_callable_is_refused():
    with pytest.raises(TypeError, match="a hook must be a function"):
        nn.ReLU().register_forward_hook("print")
