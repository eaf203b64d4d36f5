"""Recurrent networks: the RNN, LSTM and GRU cells, and their loop over time with
backpropagation through time, as one op with a hand-written backward.

A recurrent layer applies one cell at every time step t, carrying a state from step to step
(the hidden state h, and for an LSTM also the cell state c):

    gates_x[t] = x[t] W_ih^T + b_ih          every step at once, one matrix product (the caller's)
    gates_h    = h[t-1] W_hh^T + b_hh        one product a step: it needs the step before
    h[t], ...  = cell(gates_x[t], gates_h, h[t-1], ...)

Written with Tensor ops, one LSTM step is a dozen small ops, and the graph of a sequence is
a dozen nodes a step. Here each cell is two plain numpy functions instead, `forward` and its
`backward` side by side, and `RecurrenceFunction` runs the whole loop as a single graph node.
Its backward is backpropagation through time: walking the steps in reverse, the gradient
reaching h[t] is what the output at t received plus what step t+1 sent back, and

    d gates_x[t], d gates_h[t], d(direct state) = cell.backward(d h[t], ...)
    d h[t-1] = d gates_h[t] W_hh + d(direct h)              (the path through the product)
    d W_hh   = sum over t of d gates_h[t]^T h[t-1]          one product over all steps, at the end

A cell is any class with `num_gates`, `forward(gates_x, gates_h, state) -> (state, saved)` and
`backward(saved, d_state) -> (d_gates_x, d_gates_h, d_state_direct)`; states are tuples of
(batch, hidden) arrays, h first, named by the cell's `state_names` when there is more than h
(the LSTM's: ("h0", "c0")). docs/sequence.md derives each backward.
"""

from __future__ import annotations

import numpy as np

from tinynet.function import Context, Function


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) as (1 + tanh(x/2)) / 2, which never overflows."""
    y = np.tanh(0.5 * x)
    y += 1
    y *= 0.5
    return y


def _gates(a: np.ndarray, n: int) -> list[np.ndarray]:
    """The n gates stacked in the last axis of a, as views: (..., n * hidden) -> n x (..., hidden)."""
    hidden = a.shape[-1] // n
    return [a[..., k * hidden : (k + 1) * hidden] for k in range(n)]


class TanhStep:
    """The Elman RNN: h = tanh(a), a = gates_x + gates_h;  da = dh (1 - h²)."""

    num_gates = 1

    @staticmethod
    def forward(gates_x: np.ndarray, gates_h: np.ndarray, state: tuple) -> tuple[tuple, np.ndarray]:
        """One step: the new state (h,), and h for the backward."""
        h = np.tanh(gates_x + gates_h)
        return (h,), h

    @staticmethod
    def backward(h: np.ndarray, d_state: tuple) -> tuple:
        """dh -> (d gates_x, d gates_h, direct gradient of the previous state: none)."""
        (dh,) = d_state
        da = dh * (1 - h * h)
        return da, da, (None,)


class ReLUStep:
    """The Elman RNN with nonlinearity='relu': h = max(a, 0);  da = dh where a > 0."""

    num_gates = 1

    @staticmethod
    def forward(gates_x: np.ndarray, gates_h: np.ndarray, state: tuple) -> tuple[tuple, np.ndarray]:
        """One step: the new state (h,), and h for the backward."""
        h = np.maximum(gates_x + gates_h, 0)
        return (h,), h

    @staticmethod
    def backward(h: np.ndarray, d_state: tuple) -> tuple:
        """dh -> (d gates_x, d gates_h, direct gradient of the previous state: none)."""
        (dh,) = d_state
        da = dh * (h > 0)
        return da, da, (None,)


class LSTMStep:
    """Long short-term memory (PyTorch's gate order i, f, g, o), a = gates_x + gates_h:

        i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
        c = f c_prev + i g
        h = o tanh(c)

    Backward, with dc the gradient reaching c from the next step:

        do = dh tanh(c)            dc += dh o (1 - tanh²(c))
        di = dc g    df = dc c_prev    dg = dc i    dc_prev = dc f
        da = (di i (1-i), df f (1-f), dg (1 - g²), do o (1-o))     σ' = σ(1-σ), tanh' = 1 - tanh²
    """

    num_gates = 4
    state_names = ("h0", "c0")

    @staticmethod
    def forward(gates_x: np.ndarray, gates_h: np.ndarray, state: tuple) -> tuple[tuple, tuple]:
        """One step: the new state (h, c), and what the backward needs."""
        _, c_prev = state
        i, f, g, o = _gates(gates_x + gates_h, 4)
        i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
        c = f * c_prev + i * g
        tanh_c = np.tanh(c)
        return (o * tanh_c, c), (i, f, g, o, c_prev, tanh_c)

    @staticmethod
    def backward(saved: tuple, d_state: tuple) -> tuple:
        """(dh, dc) -> (d gates_x, d gates_h, direct gradient of (h_prev, c_prev))."""
        i, f, g, o, c_prev, tanh_c = saved
        dh, dc = d_state
        do = dh * tanh_c
        dc = dc + dh * o * (1 - tanh_c * tanh_c)
        di, df, dg = dc * g, dc * c_prev, dc * i
        da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=-1)
        return da, da, (None, dc * f)


class GRUStep:
    """Gated recurrent unit (PyTorch's gate order r, z, n):

        r = σ(x_r + h_r)    z = σ(x_z + h_z)    n = tanh(x_n + r h_n)
        h = (1 - z) n + z h_prev

    where x_* are the parts of gates_x and h_* of gates_h (which includes b_hh: r scales h_n
    with its bias, so here the two projections are not simply added). Backward:

        dn = dh (1 - z)    dz = dh (h_prev - n)    dh_prev (direct) = dh z
        da_n = dn (1 - n²)   d x_n = da_n   d h_n = da_n r    dr = da_n h_n
        da_r = dr r (1-r)    da_z = dz z (1-z)     (the same for gates_x and gates_h)
    """

    num_gates = 3

    @staticmethod
    def forward(gates_x: np.ndarray, gates_h: np.ndarray, state: tuple) -> tuple[tuple, tuple]:
        """One step: the new state (h,), and what the backward needs."""
        (h_prev,) = state
        x_r, x_z, x_n = _gates(gates_x, 3)
        h_r, h_z, h_n = _gates(gates_h, 3)
        r, z = _sigmoid(x_r + h_r), _sigmoid(x_z + h_z)
        n = np.tanh(x_n + r * h_n)
        return (n + z * (h_prev - n),), (r, z, n, h_n, h_prev)

    @staticmethod
    def backward(saved: tuple, d_state: tuple) -> tuple:
        """(dh,) -> (d gates_x, d gates_h, direct gradient of (h_prev,))."""
        r, z, n, h_n, h_prev = saved
        (dh,) = d_state
        dn, dz = dh * (1 - z), dh * (h_prev - n)
        da_n = dn * (1 - n * n)
        da_r, da_z = da_n * h_n * r * (1 - r), dz * z * (1 - z)
        d_gates_x = np.concatenate([da_r, da_z, da_n], axis=-1)
        d_gates_h = np.concatenate([da_r, da_z, da_n * r], axis=-1)
        return d_gates_x, d_gates_h, (dh * z,)


class RecurrenceFunction(Function):
    """A cell run over a whole sequence, as one op: see the module docstring.

    `RecurrenceFunction.apply(gates_x, w_hh, b_hh, *state, cell=LSTMStep, reverse=False)` with gates_x
    of shape (time, batch, num_gates * hidden), w_hh (num_gates * hidden, hidden), b_hh (its
    rows) or None, and the initial state, each (batch, hidden). Returns the hidden state of
    every step, (time, batch, hidden), and the final state. With `reverse` the steps run from
    the last to the first (the backward direction of a bidirectional layer).
    """

    @staticmethod
    def forward(ctx: Context, gates_x, w_hh, b_hh, *state, cell, reverse=False):
        steps = range(len(gates_x) - 1, -1, -1) if reverse else range(len(gates_x))
        h0 = state[0]
        outputs = np.empty(gates_x.shape[:2] + h0.shape[-1:], dtype=gates_x.dtype)
        saved = []
        for t in steps:
            gates_h = state[0] @ w_hh.T
            if b_hh is not None:
                gates_h += b_hh
            state, cache = cell.forward(gates_x[t], gates_h, state)
            outputs[t] = state[0]
            saved.append(cache)
        ctx.save_for_backward(h0, outputs, w_hh, *saved)
        ctx.cell, ctx.reverse = cell, reverse
        return (outputs, *state)

    @staticmethod
    def backward(ctx: Context, d_outputs, *d_state):
        h0, outputs, w_hh, *saved = ctx.saved
        steps = range(len(outputs)) if ctx.reverse else range(len(outputs) - 1, -1, -1)
        d_gates_x = np.empty(outputs.shape[:2] + w_hh.shape[:1], dtype=outputs.dtype)
        d_gates_h = np.empty_like(d_gates_x)
        for t in steps:
            d_state = (d_state[0] + d_outputs[t], *d_state[1:])
            d_gates_x[t], d_gates_h[t], direct = ctx.cell.backward(saved.pop(), d_state)
            d_h = d_gates_h[t] @ w_hh
            d_state = (d_h if direct[0] is None else d_h + direct[0], *direct[1:])
        # h[t-1] for every step t, in time order: the input of the product with W_hh
        h_before = np.concatenate([outputs[1:], h0[None]]) if ctx.reverse else np.concatenate([h0[None], outputs[:-1]])
        hidden = h0.shape[-1]
        d_w_hh = d_gates_h.reshape(-1, len(w_hh)).T @ h_before.reshape(-1, hidden) if ctx.needs_grad[1] else None
        d_b_hh = d_gates_h.sum(axis=(0, 1)) if ctx.needs_grad[2] else None
        return (d_gates_x, d_w_hh, d_b_hh, *d_state)
