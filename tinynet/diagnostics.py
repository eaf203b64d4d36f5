"""Training diagnostics: is the network learning well? Per trainable parameter, the norm of its
gradient and how much the last optimizer step changed it (the update-to-weight ratio); per
nn.ReLU, the fraction of dead units (never positive on the training batches seen).

    diagnostics = tn.diagnostics.TrainingDiagnostics(model)   # forward hooks on every nn.ReLU
    for x, y in loader:
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        with diagnostics.step():                # around the optimizer step, and nothing else
            opt.step(model.grads, model.params)
    print(diagnostics.table())
    diagnostics.reset()                         # count dead units afresh, e.g. each epoch

How to read the numbers (vanishing gradients, a learning rate too high, dead ReLUs):
docs/diagnostics.md.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tinynet.hooks import RemovableHandle
from tinynet.nn.activation import ReLU
from tinynet.nn.module import Module
from tinynet.tensor import Tensor


@dataclass(frozen=True)
class ParameterStats:
    """A trainable parameter at the last measured optimizer step. `update_ratio` is
    ‖after - before‖ / ‖before‖ (inf for a parameter that moved away from all zeros)."""

    name: str
    shape: tuple[int, ...]
    grad_norm: float
    weight_norm: float
    update_ratio: float


@dataclass(frozen=True)
class ReLUStats:
    """An nn.ReLU over the training batches seen: `dead_units` of its `units` were 0 for every
    one of the `samples`."""

    name: str
    units: int
    dead_units: int
    samples: int

    @property
    def dead_fraction(self) -> float:
        """The fraction of the units that are dead, from 0.0 to 1.0."""
        return self.dead_units / self.units


class TrainingDiagnostics:
    """Watches a model while it trains. Creating it registers a forward hook on every nn.ReLU
    in `model` (ReLUs applied as `x.relu()` inside a forward are not seen); `remove()` takes
    them off.

    - `with diagnostics.step(): opt.step(...)` measures an optimizer step: the gradient norms
      of the trainable parameters (the gradients the step uses: enter it after any gradient
      clipping) and how far the step moved each one. `parameter_stats()` gives the last one.
    - Each ReLU counts, over the batches the model sees in training mode (evaluation is left
      out), which of its units were positive at least once; a unit is one element of a
      sample's output, the first dimension being the batch (a 1-D output is one sample).
      A ReLU module used at several places of the forward pass (self.relu applied after
      each layer) is counted at each place apart: "relu", "relu (call 2)", ...
      `relu_stats()` gives the counts since creation or the last `reset()`.
    - `table()` formats both as text.
    """

    def __init__(self, model: Module) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"TrainingDiagnostics: expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self._last_step: list[ParameterStats] | None = None
        self._ever_positive: dict[str, np.ndarray] = {}
        self._samples: dict[str, int] = {}
        self._calls: dict[str, int] = {}  # how often each ReLU has run in the current forward pass
        self._handles: list[RemovableHandle] = [
            module.register_forward_hook(functools.partial(self._count_positive_units, name))
            for name, module in model.named_modules()
            if isinstance(module, ReLU)
        ]
        self._handles.append(model.register_forward_pre_hook(lambda module, inputs: self._calls.clear()))

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """Measure the optimizer step made inside the `with` block: wrap `opt.step(...)` in it,
        after backward(). If the block raises, nothing is recorded."""
        trainable = [(name, p) for name, p in self.model.named_parameters() if p.requires_grad]
        before = [(p.data.copy(), _norm(p.grad)) for _, p in trainable]
        yield
        self._last_step = []
        for (name, p), (weights, grad_norm) in zip(trainable, before):
            weight_norm = _norm(weights)
            update_ratio = _ratio(_norm(p.data - weights), weight_norm)
            self._last_step.append(ParameterStats(name, p.shape, grad_norm, weight_norm, update_ratio))

    def parameter_stats(self) -> list[ParameterStats]:
        """Each trainable parameter at the last step measured by `step()`, in the model's order."""
        if self._last_step is None:
            raise RuntimeError(
                "TrainingDiagnostics: no optimizer step measured yet; wrap it: with diagnostics.step(): opt.step(...)"
            )
        return self._last_step

    def relu_stats(self) -> list[ReLUStats]:
        """Each nn.ReLU that has run in training mode since creation or `reset()`, in the model's order."""
        return [
            ReLUStats(name, positive.size, int(positive.size - positive.sum()), self._samples[name])
            for name, positive in self._ever_positive.items()
        ]

    def reset(self) -> None:
        """Start counting dead units afresh (e.g. at the start of each epoch)."""
        self._ever_positive.clear()
        self._samples.clear()

    def remove(self) -> None:
        """Take the forward hooks off the model and its ReLUs; the counts stay readable."""
        for handle in self._handles:
            handle.remove()

    def table(self) -> str:
        """The parameters at the last measured step, then the ReLUs (if any ran), as aligned text."""
        lines = [f"{'parameter':<24} {'shape':>12} {'grad norm':>10} {'weight norm':>12} {'update/weight':>14}"]
        for row in self.parameter_stats():
            shape = "x".join(map(str, row.shape)) or "scalar"
            lines.append(
                f"{row.name:<24} {shape:>12} {row.grad_norm:>10.2e} {row.weight_norm:>12.2e} {row.update_ratio:>14.2e}"
            )
        relus = self.relu_stats()
        if relus:
            lines.append(f"{'ReLU':<24} {'units':>12} {'dead':>10} {'samples':>12}")
            for relu in relus:
                lines.append(f"{relu.name:<24} {relu.units:>12} {relu.dead_fraction:>10.1%} {relu.samples:>12}")
        return "\n".join(lines)

    def _count_positive_units(self, name: str, module: Module, inputs: tuple, output: Tensor) -> None:
        if not module.training:
            return
        self._calls[name] = call = self._calls.get(name, 0) + 1
        name = name if call == 1 else f"{name} (call {call})"
        values = output.data
        positive = (values > 0).reshape(1 if values.ndim < 2 else len(values), -1)
        seen = self._ever_positive.get(name)
        if seen is not None and seen.size != positive.shape[1]:
            raise ValueError(
                f"TrainingDiagnostics: the ReLU {name!r} gave {positive.shape[1]} units per sample, after "
                f"{seen.size} before; dead units are counted for outputs of one size: call reset() between sizes"
            )
        positive_in_batch = positive.any(axis=0)
        self._ever_positive[name] = positive_in_batch if seen is None else seen | positive_in_batch
        self._samples[name] = self._samples.get(name, 0) + len(positive)


def _norm(array: np.ndarray | None) -> float:
    """The Euclidean norm of all the elements, in float64; 0.0 for a missing gradient."""
    return 0.0 if array is None else math.sqrt(float(np.sum(np.square(array, dtype=np.float64))))


def _ratio(update: float, weight: float) -> float:
    if weight > 0:
        return update / weight
    return math.inf if update > 0 else 0.0
