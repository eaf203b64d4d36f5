"""Optimizer: the base class every algorithm subclasses.

The design: an optimizer sees two numpy arrays of the same shape, the gradients and the
parameters (a model's flat `model.grads` / `model.params`, or any plain array). `step` owns
the loop and weight decay; each algorithm writes only `compute_step`, which turns the
gradient into the decrement:

    def step(grads, params):
        grads = grads + weight_decay * params        # L2 regularization (coupled)
        params -= compute_step(grads)                # the algorithm

`AdamW` and `Lion` set `decoupled_weight_decay = True` and shrink the parameters directly,
params *= 1 - lr * weight_decay, before the step. (The original form of this design,
`decrement += weight_decay * params`, is the decoupled form with the decay not scaled by
lr: weight_decay_here = weight_decay_original / lr.)
"""

from __future__ import annotations

import numpy as np


def check_hyperparameter(
    name: str, value: float, low: float = 0.0, high: float = float("inf"), open_high: bool = False
) -> None:
    """Raise ValueError unless low <= value <= high (or < high when `open_high`)."""
    above = value >= high if open_high else value > high
    if not isinstance(value, (int, float)) or value < low or above:
        interval = f"[{low}, {high}{')' if open_high else ']'}"
        raise ValueError(f"invalid {name}: {value!r}; it must be a number in {interval}")


def check_betas(betas: tuple[float, ...]) -> None:
    for i, beta in enumerate(betas):
        check_hyperparameter(f"beta at index {i} of betas", beta, 0.0, 1.0, open_high=True)


class Optimizer:
    """Base class: `step(grads, params)` updates `params` in place via `compute_step(grads)`.

    State arrays (momentum, moment estimates, ...) live in `self.state`, each shaped like the
    parameters and created on the first step; `self.step_count` is the number of steps taken.
    """

    decoupled_weight_decay = False
    blockwise = False  # True: compute_step may be fed the flat arrays block by block (see step)
    block_size = 1 << 18

    def __init__(self, lr: float, weight_decay: float = 0.0):
        check_hyperparameter("learning rate (lr)", lr)
        check_hyperparameter("weight_decay", weight_decay)
        self.lr = lr
        self.weight_decay = weight_decay
        self.state: dict[str, np.ndarray] = {}
        self.step_count = 0
        self._workspace: np.ndarray | None = None

    def step(self, grads: np.ndarray, params: np.ndarray) -> None:
        """One update of `params` (in place) from `grads` (never modified).

        An algorithm whose compute_step is purely elementwise sets `blockwise = True` (every
        built-in one but NAdam does): a flat params array is then fed to it in blocks of
        `block_size` elements, so that all of its passes over one block run in the CPU cache,
        about 1.5x faster than whole-array passes on millions of parameters. `self.buffer(name)`
        returns the matching block of each state array.
        """
        self._check_arrays(grads, params)
        grads = grads.astype(params.dtype, copy=False)
        self.step_count += 1
        self._params = params
        if self.weight_decay and self.decoupled_weight_decay:
            params *= 1 - self.lr * self.weight_decay
        if self.blockwise and params.ndim == 1 and params.size > self.block_size:
            blocks = [slice(i, i + self.block_size) for i in range(0, params.size, self.block_size)]
        else:
            blocks = [...]
        for self._block in blocks:
            block_grads, block_params = grads[self._block], params[self._block]
            if self.weight_decay and not self.decoupled_weight_decay:
                block_grads = block_grads + self.weight_decay * block_params
            block_params -= self.compute_step(block_grads)
        self._params = None

    def compute_step(self, grads: np.ndarray) -> np.ndarray:
        """The decrement for this step, from the (weight-decayed) gradient: the algorithm."""
        raise NotImplementedError(f"{type(self).__name__} must define compute_step(grads)")

    def buffer(self, name: str, fill: float = 0.0) -> np.ndarray:
        """The state array `name` (the part matching the gradient that compute_step was given),
        created shaped like the parameters and filled with `fill` on first use."""
        if name not in self.state:
            self.state[name] = np.full_like(self._params, fill)
        return self.state[name][self._block]

    def moving_average(self, name: str, value: np.ndarray, decay: float) -> np.ndarray:
        """Update the state array `name` in place to decay · itself + (1 - decay) · value, the
        exponential moving average behind momentum and moment estimates; returns it.
        It uses the workspace, so `value` may be the workspace but nothing else may be kept there."""
        average = self.buffer(name)
        average *= decay
        average += np.multiply(value, 1 - decay, out=self.workspace(value))
        return average

    def workspace(self, like: np.ndarray) -> np.ndarray:
        """A scratch array shaped like `like`, reused across steps (not part of the state)."""
        if self._workspace is None or self._workspace.size < like.size or self._workspace.dtype != like.dtype:
            self._workspace = np.empty(like.size, dtype=like.dtype)
        return self._workspace[: like.size].reshape(like.shape)

    def _check_arrays(self, grads, params) -> None:
        name = type(self).__name__
        if not isinstance(params, np.ndarray) or not isinstance(grads, np.ndarray):
            raise TypeError(
                f"{name}.step(grads, params) takes numpy arrays (e.g. model.grads, model.params), "
                f"got {type(grads).__name__} and {type(params).__name__}"
            )
        if params.dtype.kind != "f":
            raise TypeError(f"{name}.step: params must be a floating-point array, got dtype {params.dtype}")
        if grads.shape != params.shape:
            raise ValueError(f"{name}.step: grads has shape {grads.shape} but params has shape {params.shape}")
        for key, state in self.state.items():
            if state.ndim and state.shape != params.shape:
                raise ValueError(
                    f"{name}.step: the optimizer state {key!r} was made for parameters of shape {state.shape}, "
                    f"got params of shape {params.shape}; use a new optimizer for a different model"
                )
        if not params.flags.writeable:
            raise ValueError(
                f"{name}.step: params is read-only. If it came from model.params, it is stale: the "
                "parameters moved to a new flat store (the model was nested in a bigger one, a layer "
                "was added or model.to() changed the dtype). Pass model.params again."
            )

    # ---------------------------------------------------------------- saving and resuming
    def hyperparameters(self) -> dict:
        """The constructor's arguments, as currently set (a scheduler may have changed lr)."""
        import inspect

        names = [n for n in inspect.signature(type(self).__init__).parameters if n != "self"]
        return {n: getattr(self, n) for n in names}

    def state_dict(self) -> dict:
        """Everything needed to resume: hyperparameters, state arrays (copies), step count."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "state": {k: v.copy() for k, v in self.state.items()},
            "step_count": self.step_count,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Resume from `state_dict()` of an optimizer of the same class."""
        saved = state_dict.get("optimizer") if isinstance(state_dict, dict) else None
        if saved != type(self).__name__:
            raise ValueError(f"this state dict belongs to optimizer {saved!r}, not {type(self).__name__!r}")
        for name, value in state_dict["hyperparameters"].items():
            setattr(self, name, value)
        self.state = {k: np.array(v) for k, v in state_dict["state"].items()}
        self.step_count = int(state_dict["step_count"])

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"
