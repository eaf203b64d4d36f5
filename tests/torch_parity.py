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
