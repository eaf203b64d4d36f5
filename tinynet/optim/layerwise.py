"""LayerwiseOptimizer: the base class of the algorithms that see each parameter and the parameters.

Muon orthogonalizes each weight matrix, Adafactor factors each matrix's second moments, LAMB
and LARS scale each layer's step by the ratio of its weights' norm to its step's norm. They need
the layout of the flat arrays (`model.layout()`) and the parameters themselves, so their
contract is `compute_step(grads, params)`:

    def step(grads, params):
        params -= compute_step(grads, params)     # weight decay included, where the formula puts it

`compute_step` reads `params` (never modifies it) and returns one flat decrement, filled
parameter by parameter through `self.per_parameter(grads, params, decrement)`, which gives
views (no copies) shaped like each parameter. Its state arrays may have any shape
(`self.state_for(entry, name, like, shape)`: a factored statistic, a momentum per matrix); they
are checked parameter by parameter. Weight decay is each algorithm's own, since these
algorithms place it differently (Muon and Adafactor decouple it, LAMB puts it inside the trust
ratio, ASGD adds it to the gradient), and `lr` is a number.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tinynet.optim import checks
from tinynet.optim.checks import Hyperparameter, check_hyperparameter
from tinynet.optim.layout import Layout, LayoutEntry
from tinynet.optim.optimizer import Optimizer


class LayerwiseOptimizer(Optimizer):
    """Base class of the optimizers whose `compute_step(grads, params)` sees the parameters, one
    by one when made with `layout=model.layout()` (without one, an array is one parameter of its
    own shape)."""

    flat_state = False

    def __init__(self, lr: float, weight_decay: Hyperparameter = 0.0, layout: Layout | None = None):
        super().__init__(check_hyperparameter("learning rate (lr)", lr), weight_decay)
        self.weight_decay = check_hyperparameter("weight_decay", weight_decay)  # a number
        del self.decoupled_weight_decay  # each algorithm's formula places its weight decay
        if layout is not None and not isinstance(layout, Layout):
            raise TypeError(f"{type(self).__name__}: layout must be model.layout(), got {type(layout).__name__}")
        self._layout = layout

    @property
    def layout(self) -> Layout | None:
        """The layout it was made with (None: each array it steps is one parameter)."""
        return self._layout

    def step(self, grads: np.ndarray, params: np.ndarray) -> None:
        """One update of `params` (in place) from `grads` (never modified)."""
        checks.check_step_arrays(self, grads, params)
        self.layout_of(params, "params")
        params -= self.compute_step(grads.astype(params.dtype, copy=False), params)

    def compute_step(self, grads: np.ndarray, params: np.ndarray) -> np.ndarray:
        """The decrement for this step (weight decay included) from the gradient and the
        parameters, which it reads and never modifies. On a fresh optimizer, t calls return the
        t decrements that `step` would apply."""
        raise NotImplementedError(f"{type(self).__name__} must define compute_step(grads, params)")

    # ---- what compute_step may use
    def layout_of(self, array: np.ndarray, what: str = "grads") -> Layout:
        """The layout this optimizer was made with, checked against `array`; without one, the
        array as one parameter."""
        if self._layout is None:
            return Layout.whole(array)
        self._layout.check(array, type(self).__name__, what)
        return self._layout

    def per_parameter(self, *arrays: np.ndarray) -> Iterator[tuple[LayoutEntry, ...]]:
        """For each parameter: its layout entry, then its view of each of the flat `arrays`."""
        layout = self.layout_of(arrays[0])
        for entry in layout:
            yield (entry, *(entry.view(array) for array in arrays))

    def state_for(self, entry: LayoutEntry, name: str, like: np.ndarray, shape: tuple | None = None) -> np.ndarray:
        """The state array `name` of the parameter `entry`, made on first use with zeros of
        `shape` (the parameter's by default) and the dtype of `like`."""
        shape = entry.shape if shape is None else tuple(shape)
        key = f"{entry.name}.{name}"
        if key not in self.state:
            self.state[key] = np.zeros(shape, like.dtype)
        elif self.state[key].shape != shape:
            raise ValueError(
                f"{type(self).__name__}: the state {key!r} has shape {self.state[key].shape}, but the parameter "
                f"{entry.name!r} of shape {entry.shape} needs {shape}: the state was made or loaded for another "
                "model, or with other layers frozen; make a new optimizer"
            )
        return self.state[key]
