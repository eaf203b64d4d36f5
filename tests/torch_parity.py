"""Shared by the parity tests: run a tinynet module and its torch twin on the same input."""

import numpy as np

import tinynet as tn


def assert_module_matches_torch(ours, theirs, x: np.ndarray, rtol: float = 1e-8) -> None:
    """Same output, input gradient, parameter gradients and buffers (float64), for a random
    output gradient. `theirs` must already hold the same weights as `ours`."""
    import torch

    xo = tn.Tensor(x.copy(), requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt)
    g = np.random.default_rng(1).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=rtol, atol=1e-12)
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(ours_params[name].grad, p.grad.numpy(), rtol=rtol, atol=1e-12, err_msg=name)
    for name, b in theirs.named_buffers():
        np.testing.assert_allclose(ours.state_dict()[name], b.numpy(), rtol=rtol, err_msg=name)


def assert_expression_matches_torch(expression, arrays, tinynet_names: dict, torch_names: dict) -> None:
    """`expression(*inputs, names)` run on tinynet and torch copies of `arrays` (float64): the
    same value and the same gradient for every input (a missing gradient counts as zeros)."""
    import torch

    ours = [tn.Tensor(x.copy(), requires_grad=True) for x in arrays]
    theirs = [torch.tensor(x, requires_grad=True) for x in arrays]
    out = expression(*ours, tinynet_names)
    expected = expression(*theirs, torch_names)
    out.backward()
    expected.backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10)
    for mine, ref in zip(ours, theirs):
        reference = np.zeros(mine.shape) if ref.grad is None else ref.grad.numpy()
        got = np.zeros(mine.shape) if mine.grad is None else mine.grad
        np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-12)
