"""Recurrent layers: RNN, LSTM, GRU over whole sequences, and their one-step cells.

Parameters are named, shaped and initialized as in PyTorch (`weight_ih_l0`, `weight_hh_l0`,
`bias_ih_l0`, `bias_hh_l0`, `..._reverse` for the backward direction; the gates stacked in
PyTorch's order), so a PyTorch state dict loads unchanged. The math is in tinynet.recurrent.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from tinynet import functional as F
from tinynet import recurrent
from tinynet.dtype import get_default_dtype
from tinynet.nn import init
from tinynet.nn.module import Module
from tinynet.nn.parameter import Parameter
from tinynet.tensor import Tensor, as_tensor, concatenate, stack


def _check_size(name: str, value) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _rnn_cell(nonlinearity: str) -> type:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return recurrent.TanhStep if nonlinearity == "tanh" else recurrent.ReLUStep


def _with_nonlinearity(text: str, nonlinearity: str) -> str:
    return text if nonlinearity == "tanh" else f"{text}, nonlinearity={nonlinearity!r}"


class _Recurrent(Module):
    """What the layers and the cells share: the parameters of one (layer, direction) and the
    checks on inputs and states. Subclasses set `cell`."""

    cell: type | None = None

    @property
    def state_names(self) -> tuple[str, ...]:
        """The names of the parts of the state: the cell's `state_names`, ("h0",) if it has none."""
        return getattr(self.cell, "state_names", ("h0",))

    def __init__(self, input_size: int, hidden_size: int, bias: bool) -> None:
        super().__init__()
        if self.cell is None:
            raise TypeError(f"{type(self).__name__} has no cell: subclass it and set `cell` (see tinynet.recurrent)")
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias

    def _add_parameters(self, suffix: str, input_size: int) -> None:
        gates, dtype = self.cell.num_gates * self.hidden_size, get_default_dtype()
        setattr(self, f"weight_ih{suffix}", Parameter(np.empty((gates, input_size), dtype=dtype)))
        setattr(self, f"weight_hh{suffix}", Parameter(np.empty((gates, self.hidden_size), dtype=dtype)))
        if self.bias:
            setattr(self, f"bias_ih{suffix}", Parameter(np.empty(gates, dtype=dtype)))
            setattr(self, f"bias_hh{suffix}", Parameter(np.empty(gates, dtype=dtype)))

    def reset_parameters(self) -> None:
        """Draw every weight and bias anew from U(-1/√hidden_size, 1/√hidden_size), as PyTorch does."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _run(self, x: Tensor, state: tuple, suffix: str, reverse: bool = False) -> tuple[Tensor, ...]:
        """The cell of parameters `suffix` over x (time, batch, features) from `state`:
        (hidden state of every step, *final state)."""
        w_ih, w_hh = getattr(self, f"weight_ih{suffix}"), getattr(self, f"weight_hh{suffix}")
        b_ih, b_hh = (None, None)
        if self.bias:
            b_ih, b_hh = getattr(self, f"bias_ih{suffix}"), getattr(self, f"bias_hh{suffix}")
        gates_x = F.linear(x, w_ih, b_ih)
        return recurrent.RecurrenceFunction.apply(gates_x, w_hh, b_hh, *state, cell=self.cell, reverse=reverse)

    def _check_input(self, x: Tensor, ranks: tuple[int, int], shape: str) -> None:
        if x.ndim not in ranks or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self!r}: expected input of shape {shape} with input_size={self.input_size}, "
                f"or {shape.replace('batch, ', '')} without a batch, got shape {x.shape}"
            )
        if x.dtype.kind != "f":
            raise TypeError(f"{self!r}: expected a floating-point input, got dtype {x.dtype}")

    def _initial_state(self, hx, shape: tuple[int, ...], dtype, batched: bool) -> tuple[Tensor, ...]:
        """The initial state as a tuple (h0,) or (h0, c0) of arrays of `shape` (batch in axis
        -2): zeros when hx is None; without a batch (unbatched input) hx lacks that axis."""
        if hx is None:
            return tuple(Tensor(np.zeros(shape, dtype=dtype)) for _ in self.state_names)
        names = ", ".join(self.state_names)
        if len(self.state_names) == 1 and isinstance(hx, (tuple, list)):
            raise TypeError(f"{self!r}: the initial state is one array ({names}), got a {type(hx).__name__}")
        parts = hx if len(self.state_names) > 1 else (hx,)
        if not isinstance(parts, (tuple, list)) or len(parts) != len(self.state_names):
            raise TypeError(f"{self!r}: the initial state must be a tuple ({names})")
        expected = shape if batched else shape[:-2] + shape[-1:]
        parts = tuple(as_tensor(p) for p in parts)
        for name, part in zip(self.state_names, parts):
            if part.shape != expected:
                raise ValueError(f"{self!r}: expected {name} of shape {expected}, got {part.shape}")
            if part.dtype != dtype:
                raise TypeError(f"{self!r}: {name} has dtype {part.dtype}, the input {dtype}; make them match")
        return parts if batched else tuple(p.reshape(shape) for p in parts)


class RNNBase(_Recurrent):
    """A stack of `num_layers` recurrent layers over whole sequences, any cell: RNN, LSTM and
    GRU are its subclasses. Subclass it and set `cell` (a class with `num_gates`, `forward`
    and `backward`, see tinynet.recurrent) to get a layer of your own cell, with layers,
    directions, batch_first and dropout. docs/sequence.md shows one."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__(input_size, hidden_size, bias)
        _check_size("num_layers", num_layers)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if dropout and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} acts between recurrent layers, and num_layers=1 has none: it does nothing",
                stacklevel=2,
            )
        self.num_layers, self.batch_first, self.dropout = num_layers, batch_first, dropout
        self.bidirectional = bidirectional
        self.directions = ("", "_reverse") if bidirectional else ("",)
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * len(self.directions)
            for direction in self.directions:
                self._add_parameters(f"_l{layer}{direction}", layer_input)
        self.reset_parameters()

    def forward(self, x: Tensor, hx=None):
        """x: (time, batch, input_size), or (batch, time, input_size) with batch_first, or
        (time, input_size) unbatched. Returns the output, (time, batch, directions *
        hidden_size) (batch first with batch_first), and the final state: h_n, or (h_n, c_n)
        for an LSTM, each (directions * num_layers, batch, hidden_size) whatever batch_first."""
        x = as_tensor(x)
        shape = "(batch, time, input_size)" if self.batch_first else "(time, batch, input_size)"
        self._check_input(x, (2, 3), shape)
        batched = x.ndim == 3
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        if len(x) == 0:
            raise ValueError(f"{self!r}: the input sequence is empty (time = 0)")
        layers_and_directions = self.num_layers * len(self.directions)
        state_shape = (layers_and_directions, x.shape[1], self.hidden_size)
        initial = self._initial_state(hx, state_shape, x.dtype, batched)

        final_states = []
        for layer in range(self.num_layers):
            outputs = []
            for index, direction in enumerate(self.directions):
                k = layer * len(self.directions) + index
                out, *final = self._run(x, tuple(s[k] for s in initial), f"_l{layer}{direction}", reverse=index == 1)
                outputs.append(out)
                final_states.append(final)
            x = outputs[0] if len(outputs) == 1 else concatenate(outputs, axis=-1)
            if self.dropout and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, self.training)
        state = tuple(stack([s[part] for s in final_states]) for part in range(len(self.state_names)))

        if not batched:
            x = x.reshape(x.shape[0], x.shape[2])
            state = tuple(s.reshape(s.shape[0], s.shape[2]) for s in state)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, (state if len(state) > 1 else state[0])

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), layer by
    layer; PyTorch's arguments, in PyTorch's order."""

    cell = recurrent.TanhStep

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        cell = _rnn_cell(nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)
        self.cell, self.nonlinearity = cell, nonlinearity

    def extra_repr(self) -> str:
        return _with_nonlinearity(super().extra_repr(), self.nonlinearity)


class LSTM(RNNBase):
    """Long short-term memory (see tinynet.recurrent.LSTMStep for the equations). The state
    is a pair: `lstm(x, (h0, c0))` returns `(output, (h_n, c_n))`."""

    cell = recurrent.LSTMStep


class GRU(RNNBase):
    """Gated recurrent unit (see tinynet.recurrent.GRUStep for the equations)."""

    cell = recurrent.GRUStep


class _CellBase(_Recurrent):
    """One step of a recurrent cell: input (batch, input_size) or (input_size,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__(input_size, hidden_size, bias)
        self._add_parameters("", input_size)
        self.reset_parameters()

    def forward(self, x: Tensor, hx=None):
        """The next state from input x and state hx (zeros when None): h', or (h', c') for
        an LSTMCell, with x's batch dimension (or none)."""
        x = as_tensor(x)
        self._check_input(x, (1, 2), "(batch, input_size)")
        batched = x.ndim == 2
        state_shape = (x.shape[0] if batched else 1, self.hidden_size)
        if not batched:
            x = x.reshape(1, -1)
        state = self._initial_state(hx, state_shape, x.dtype, batched)
        _, *state = self._run(x.reshape(1, *x.shape), state, "")
        if not batched:
            state = [s.reshape(self.hidden_size) for s in state]
        return tuple(state) if len(state) > 1 else state[0]

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu with nonlinearity='relu')."""

    cell = recurrent.TanhStep

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh") -> None:
        cell = _rnn_cell(nonlinearity)
        super().__init__(input_size, hidden_size, bias)
        self.cell, self.nonlinearity = cell, nonlinearity

    def extra_repr(self) -> str:
        return _with_nonlinearity(super().extra_repr(), self.nonlinearity)


class LSTMCell(_CellBase):
    """One LSTM step: `cell(x, (h, c))` returns `(h', c')`."""

    cell = recurrent.LSTMStep


class GRUCell(_CellBase):
    """One GRU step: `cell(x, h)` returns h'."""

    cell = recurrent.GRUStep
