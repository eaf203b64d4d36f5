"""Optimizer: the base class every algorithm subclasses.

An optimizer sees two numpy arrays of the same shape, the gradients and the parameters (a
model's flat `model.grads` / `model.params`, or any float array). `step` owns the loop and
weight decay; each algorithm writes only `compute_step`, which turns the gradient into the
decrement:

    def step(grads, params):
        if decoupled_weight_decay:
            params *= 1 - lr * weight_decay          # decoupled decay (AdamW, Lion)
        else:
            grads = grads + weight_decay * params    # L2 regularization (coupled)
        params -= compute_step(grads)                # the algorithm

`compute_step(grads)` is the algorithm and nothing else: it may be called on its own, on a
fresh optimizer, with any float array; its state arrays (momentum, moment estimates) are made
from the gradient's shape on first use, and t calls return the t decrements that `step` would
apply. `lr` and `weight_decay` are numbers, or arrays shaped like the parameters (one value per
element: see Module.flat_values). The checks of all of this are in tinynet/optim/checks.py.

The original form of this design adds the decay to the decrement, not scaled by lr
(`decrement += weight_decay * params`): that is decoupled decay with weight_decay / lr.

The algorithms that work parameter by parameter (Muon, Adafactor, LAMB) subclass
LayerwiseOptimizer (tinynet/optim/layerwise.py): made with `layout=model.layout()`, their
`compute_step(grads, params)` sees each parameter's view and shape; their state arrays may have
any shape (`flat_state` False).
"""

from __future__ import annotations

import weakref

import numpy as np

from tinynet.optim import checks
from tinynet.optim.checks import Hyperparameter, check_hyperparameter


class Optimizer:
    """Base class: `step(grads, params)` updates `params` in place via `compute_step(grads)`.

    State arrays live in `self.state` (made by `state_like`), `self.step_count` counts the
    steps of the algorithms that use the step number t (`count_step`). The hyperparameters
    are the public attributes set in `__init__`; `repr`, `state_dict` and the schedulers use them.
    """

    flat_state = True  # state arrays shaped like the parameters (see optim.LayerwiseOptimizer otherwise)

    def __new__(cls, *args, **kwargs):
        checks.refuse_parameter_collection(cls, args, kwargs)  # SGD(model.parameters()) is a PyTorch habit
        return super().__new__(cls)

    def __init__(self, lr: Hyperparameter, weight_decay: Hyperparameter = 0.0, decoupled_weight_decay: bool = False):
        self.lr = check_hyperparameter("learning rate (lr)", lr, per_element=True)
        self.weight_decay = check_hyperparameter("weight_decay", weight_decay, per_element=True)
        self.decoupled_weight_decay = bool(decoupled_weight_decay)
        self.state: dict[str, np.ndarray] = {}
        self.step_count = 0
        self._stepped: weakref.ref | None = None  # the array whose elements the state follows

    def step(self, grads: np.ndarray, params: np.ndarray) -> None:
        """One update of `params` (in place) from `grads` (never modified)."""
        checks.check_step_arrays(self, grads, params)
        grads = grads.astype(params.dtype, copy=False)
        if isinstance(self.weight_decay, np.ndarray) or self.weight_decay:
            if self.decoupled_weight_decay:
                params *= 1 - self.lr * self.weight_decay
            else:
                grads = grads + self.weight_decay * params
        params -= self.compute_step(grads)

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        """The decrement for this step, from the (weight-decayed) gradient: the algorithm alone.
        It may be called on its own, on a fresh optimizer, with any float array: its state is
        made from the gradient's shape on first use, and t calls return the t decrements that
        `step` would apply with weight_decay 0."""
        raise NotImplementedError(f"{type(self).__name__} must define compute_step(grads)")

    def zero_grad(self) -> None:
        """tinynet optimizers hold no gradients: this raises, pointing to model.zero_grad()."""
        raise TypeError(
            f"{type(self).__name__} holds no gradients (it steps the arrays it is given): call model.zero_grad()"
        )

    # ---- what compute_step may use
    def state_like(self, name: str, grads: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """The state array `name`, made shaped like `grads` and filled with `fill` on first use."""
        if name not in self.state:
            self.state[name] = np.full_like(grads, fill)
        checks.check_state_shape(self, name, grads.shape)
        return self.state[name]

    def moving_average(self, name: str, value: np.ndarray, decay: float) -> np.ndarray:
        """Update the state array `name` in place to decay · itself + (1 - decay) · value (the
        exponential moving average behind momentum and moment estimates); returns it."""
        average = self.state_like(name, value)
        average *= decay
        average += (1 - decay) * value
        return average

    def scratch(self, like: np.ndarray) -> np.ndarray:
        """An array shaped like `like` for intermediate values, reused from step to step (not
        state: its values do not carry over). compute_step may return it, as Adam's does: the
        decrement is then overwritten by the next call, so a caller who keeps one copies it."""
        array = self.__dict__.get("_scratch")
        if array is None or array.shape != like.shape or array.dtype != like.dtype:
            array = self._scratch = np.empty_like(like)
        return array

    def count_step(self) -> int:
        """Count one more step and return its number t (1 at the first call)."""
        self.step_count += 1
        return self.step_count

    # ---- saving and resuming
    def hyperparameters(self) -> dict:
        """The public attributes set in `__init__`, as they are now (a scheduler may have changed lr)."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_") and k not in ("state", "step_count")}

    def state_dict(self) -> dict:
        """Everything needed to resume: hyperparameters, state arrays (copies), step count."""
        hyperparameters = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in self.hyperparameters().items()}
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": hyperparameters,
            "state": {k: v.copy() for k, v in self.state.items()},
            "step_count": self.step_count,
        }

    def check_state_dict(self, state_dict: dict, params: np.ndarray | None = None) -> dict:
        """`state_dict` checked and converted as `load_state_dict` would load it; changes nothing
        (tinynet/optim/checks.py says what is checked)."""
        return checks.checked_state_dict(self, state_dict, params)

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from `state_dict()` of an optimizer of the same class; everything is checked
        first (see `check_state_dict`), so a bad state dict raises and changes nothing."""
        checked = self.check_state_dict(state_dict)
        for name, value in checked["hyperparameters"].items():
            setattr(self, name, value)
        self.state = checked["state"]
        self.step_count = checked["step_count"]
        self._stepped = None

    def __getstate__(self) -> dict:
        """For pickle and copy: everything but the reference to the array last stepped."""
        return {**vars(self), "_stepped": None}

    def __repr__(self) -> str:
        def show(value) -> str:
            return f"<array of shape {value.shape}>" if isinstance(value, np.ndarray) else repr(value)

        args = ", ".join(f"{k}={show(v)}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"
