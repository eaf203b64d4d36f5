"""Module: the base class of layers and models."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from collections.abc import Iterator

import numpy as np

from tinynet.nn import parameter
from tinynet.nn.parameter import FlatStore, Parameter, layout_changed
from tinynet.tensor import Tensor

CHECKPOINT_MARK = "__tinynet_checkpoint__"


class Module:
    """Subclass it, create layers and Parameters in `__init__` (after `super().__init__()`),
    and compute the output in `forward`. Assigned Parameters and Modules register themselves.

    `model.params` and `model.grads` are the flat 1-D arrays of every parameter and gradient
    (see tinynet.nn.parameter): hand them to an optimizer, `opt.step(model.grads, model.params)`.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------------- registration
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers and isinstance(value, np.ndarray):
            self._buffers[name] = value
            return
        if isinstance(value, (Parameter, Module)) or name in self._parameters or name in self._modules:
            layout_changed()
        target = (
            self._parameters if isinstance(value, Parameter) else self._modules if isinstance(value, Module) else None
        )
        for registry in (self._parameters, self._modules, self._buffers):
            if registry is not target:
                registry.pop(name, None)
        if target is None:
            object.__setattr__(self, name, value)
            return
        target[name] = value  # a name assigned again keeps its place in the order
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str):  # called only when normal lookup fails
        registries = self.__dict__
        if "_parameters" in registries:
            for registry in (registries["_parameters"], registries["_modules"], registries["_buffers"]):
                if name in registry:
                    return registry[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                layout_changed()
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """A state array that is saved in the state dict but not trained (running statistics)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    # ---------------------------------------------------------------- running
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*[Tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Switch this module and every sub-module to training (or evaluation) mode."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    # ---------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, depth first, each once, with dotted names."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        return iter(self._modules.items())

    def children(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def named_parameters(self, remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs in a stable order; a shared parameter comes once."""
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            for name, p in module._parameters.items():
                if remove_duplicate and id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), b

    # ---------------------------------------------------------------- the flat store
    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(params, grads) views of the flat store, packing the parameters into a new store when
        they are not already side by side in one. Cached until any module's layout changes."""
        cached = self.__dict__.get("_flat_views")
        if cached is not None and cached[0] == parameter.layout_version:
            return cached[1]
        params = self.parameters()
        if not params:
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        store = params[0]._store
        if store is None or not store.holds(params):
            store = FlatStore(params)
        views = store.views(params)
        object.__setattr__(self, "_flat_views", (parameter.layout_version, views))
        return views

    @property
    def params(self) -> np.ndarray:
        """Every parameter's data in one 1-D array; each parameter's `.data` is a view into it."""
        return self._flat()[0]

    @property
    def grads(self) -> np.ndarray:
        """Every parameter's gradient in one 1-D array, laid out like `params`."""
        return self._flat()[1]

    def zero_grad(self) -> None:
        """Set every gradient to zero, with one fill of the flat gradient array."""
        self.grads.fill(0)

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def to(self, dtype) -> Module:
        """Cast every parameter and floating-point buffer to `dtype`; returns the module."""
        dtype = np.dtype(dtype)
        for p in self.parameters():
            p.cast_(dtype)
        for module in self.modules():
            for name, b in module._buffers.items():
                if b.dtype.kind == "f":
                    module._buffers[name] = b.astype(dtype)
        return self

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter (under each of its names) and buffer, by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters(remove_duplicate=False)}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers in place (the flat store stays linked).

        Missing and unexpected keys (when `strict`) and shape mismatches are all reported in
        one ValueError; nothing is loaded unless everything fits."""
        targets = {name: p.data for name, p in self.named_parameters(remove_duplicate=False)}
        targets.update(self.named_buffers())
        values = {name: np.asarray(value) for name, value in state.items() if name != CHECKPOINT_MARK}
        problems = []
        if strict:
            missing = [k for k in targets if k not in values]
            unexpected = [k for k in values if k not in targets]
            if missing:
                problems.append(f"missing keys: {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected keys: {', '.join(unexpected)}")
        shapes = [
            f"{k}: expected shape {targets[k].shape}, got {values[k].shape}"
            for k in targets
            if k in values and values[k].shape != targets[k].shape
        ]
        if shapes:
            problems.append("shape mismatches: " + "; ".join(shapes))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__} failed: " + " | ".join(problems))
        for name, target in targets.items():
            if name in values:
                target[...] = values[name]

    def save(self, path: str | os.PathLike) -> None:
        """Write the state dict to an .npz file (via a temporary file, renamed when complete)."""
        path = os.fspath(path)
        state = self.state_dict()
        state[CHECKPOINT_MARK] = np.array(type(self).__name__)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **state)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

    def load(self, path: str | os.PathLike, strict: bool = True) -> Module:
        """Load a checkpoint written by `save`; returns the module."""
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"checkpoint file not found: {path}")
        not_a_checkpoint = f"{path} is not a tinynet checkpoint (an .npz file written by Module.save)"
        try:
            archive = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, pickle.UnpicklingError) as error:
            raise ValueError(f"{not_a_checkpoint}: {error}") from None
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(not_a_checkpoint)
        with archive:
            if CHECKPOINT_MARK not in archive.files:
                raise ValueError(not_a_checkpoint)
            state = {k: archive[k] for k in archive.files}
        self.load_state_dict(state, strict=strict)
        return self

    # ---------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {module!r}".replace("\n", "\n  ") for name, module in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
