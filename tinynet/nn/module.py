"""Module: the base class of layers and models."""

from __future__ import annotations

import os
import reprlib
from collections.abc import Callable, Iterator

import numpy as np

from tinynet.hooks import RemovableHandle
from tinynet.nn.parameter import FlatStore, Parameter, drop_recorded_grads
from tinynet.optim.layout import Layout
from tinynet.tensor import Tensor


class Module:
    """Subclass it, create layers and Parameters in `__init__` (after `super().__init__()`),
    and compute the output in `forward`. Assigned Parameters and Modules register themselves;
    keep several in an `nn.ModuleList` or `nn.ModuleDict`, never in a plain list or dict.

    `model.params` and `model.grads` are the flat 1-D arrays of every trainable parameter and
    its gradient (see tinynet.nn.parameter): hand them to an optimizer,
    `opt.step(model.grads, model.params)`.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_store", None)
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})

    def __setattr__(self, name: str, value) -> None:
        """Register Parameters and Modules by name; refuse containers that would hide them."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers and isinstance(value, np.ndarray):
            self._buffers[name] = value
            return
        if name in self._parameters and not (value is None or isinstance(value, Parameter)):
            raise TypeError(
                f"cannot assign a {type(value).__name__} as parameter '{name}' of {type(self).__name__} (an "
                "nn.Parameter or None expected, as in PyTorch); to change its values, change them in place: "
                f"with tn.no_grad(): module.{name} *= 0.5, or module.{name}.data = array"
            )
        if value is not None and (self._parameters.get(name) is value or self._modules.get(name) is value):
            return  # the same object again (x.weight *= 2 assigns it back): nothing changes
        _refuse_hidden_layers(self, name, value)
        if isinstance(value, (Parameter, Module)) or name in self._parameters or name in self._modules:
            self._layout_changed()
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
                self._layout_changed()
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """A state array that is saved in the state dict but not trained (running statistics)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    def forward(self, *args):
        """Compute the output from the inputs; every layer defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        """`forward(*args)`, with floating-point numpy arrays wrapped in Tensors. Integer arrays
        (class labels, token indices) are passed as they are. Forward hooks, if any, run around
        it (see `register_forward_pre_hook` and `register_forward_hook`)."""
        args = [Tensor(a) if _is_float_array(a) else a for a in args]
        if not (self._forward_pre_hooks or self._forward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(tuple(args), kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict):
        for hook in list(self._forward_pre_hooks.values()):
            replacement = hook(self, args)
            if replacement is not None:
                args = replacement if isinstance(replacement, tuple) else (replacement,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replacement = hook(self, args, output)
            if replacement is not None:
                output = replacement
        return output

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs)` before every `forward`, as PyTorch does: `inputs` is the tuple
        of positional arguments (keyword arguments are not shown to hooks). A hook that returns
        None leaves them as they are; one that returns a value replaces them: a tuple is the new
        arguments, anything else the one new argument. Hooks run in the order they were
        registered, also when the module is called by its parent. Returns a handle:
        `handle.remove()` takes the hook off. Hooks are not part of the state dict."""
        return RemovableHandle(self._forward_pre_hooks, hook, "hook(module, inputs)")

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call `hook(module, inputs, output)` after every `forward`, as PyTorch does: `inputs` is
        the tuple of positional arguments `forward` was given. A hook that returns None leaves the
        output as it is; one that returns a value replaces it, for the next hooks and the caller.
        Hooks run in the order they were registered, also when the module is called by its
        parent. Returns a handle: `handle.remove()` takes the hook off. Hooks are not part of the
        state dict."""
        return RemovableHandle(self._forward_hooks, hook, "hook(module, inputs, output)")

    def train(self, mode: bool = True) -> Module:
        """Switch this module and every sub-module to training (or evaluation) mode."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off, batch norm on running statistics)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Unfreeze (or, with False, freeze) every parameter: a frozen parameter gets no
        gradient and no optimizer moves it. Returns the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn) -> Module:
        """Call `fn(module)` on every sub-module, then on this module (as PyTorch does), e.g. to
        initialize weights; returns the module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

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
        """This module and every sub-module, depth first, each once."""
        return (m for _, m in self.named_modules())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module."""
        return iter(self._modules.items())

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
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
        """Every parameter, frozen or not, each once."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for every buffer (running statistics and such)."""
        for module_name, module in self.named_modules():
            for name, b in module._buffers.items():
                yield (f"{module_name}.{name}" if module_name else name), b

    def pack(self) -> Module:
        """Copy every parameter into one new flat store, trainable ones first, and make each
        parameter's `.data` and `.grad` views into it (rule 2 in tinynet.nn.parameter).
        `model.params` calls it the first time and after a layout change; returns the module."""
        params = self.parameters()
        _refuse_what_would_hide_or_go_stale(self, params)
        store = FlatStore([p for p in params if p.requires_grad], [p for p in params if not p.requires_grad])
        for module in self.modules():
            object.__setattr__(module, "_store", store)
        return self

    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(params, grads): this module's trainable part of its flat store, packed if need be."""
        cached = self.__dict__.get("_flat_views")
        if cached is not None and cached[0] is self._store and not self._store.outdated:
            return cached[1]
        trainable = [p for p in self.parameters() if p.requires_grad]
        current = self._store is not None and not self._store.outdated
        views = self._store.span(trainable) if current else None  # a sub-module uses its part of its parent's store
        if views is None:
            views = self.pack()._store.span(trainable)
        object.__setattr__(self, "_flat_views", (self._store, views))
        return views

    def _layout_changed(self) -> None:
        if self._store is not None:
            self._store.mark_outdated()

    @property
    def params(self) -> np.ndarray:
        """Every trainable parameter's data in one 1-D array; each parameter's `.data` is a view
        into it. The same array until the layout changes (see tinynet.nn.parameter)."""
        return self._flat()[0]

    @property
    def grads(self) -> np.ndarray:
        """Every trainable parameter's gradient in one 1-D array, laid out like `params`."""
        return self._flat()[1]

    def layout(self) -> Layout:
        """Where each trainable parameter lies in `model.params`: (name, slice, shape) for each, in
        order, for the optimizers that see the layers: `optim.Muon(layout=model.layout())`. Tied
        to this `model.params` array: make it again after freezing, unfreezing or `model.to()`."""
        params, entries, start = self.params, [], 0
        for name, p in self.named_parameters():
            if p.requires_grad:
                entries.append((name, slice(start, start + p.size), p.shape))
                start += p.size
        return Layout(entries, of=params)

    def flat_values(self, fn) -> np.ndarray:
        """A float array laid out like `model.params`: the elements of each trainable parameter
        hold `fn(name, parameter)`, a number or an array shaped like the parameter. Per-parameter
        hyperparameters for any optimizer, e.g. no weight decay on biases:

            optim.AdamW(weight_decay=model.flat_values(lambda name, p: 0.0 if p.ndim == 1 else 0.01))
        """
        params = self.params
        values = np.empty(params.shape, dtype=params.dtype)
        start = 0
        for name, p in self.named_parameters():
            if p.requires_grad:
                value = fn(name, p)
                try:
                    numbers = np.broadcast_to(np.asarray(value, dtype=float), p.shape)
                except (TypeError, ValueError):
                    numbers = np.array(np.nan)
                if not np.isfinite(numbers).all():
                    raise ValueError(
                        f"flat_values: fn({name!r}, ...) gave {reprlib.repr(value)}; it must give a finite number "
                        f"or an array of shape {p.shape}"
                    )
                values[start : start + p.size] = numbers.reshape(-1)
                start += p.size
        return values

    def zero_grad(self) -> None:
        """Set every gradient to zero, with one fill of the flat gradient array, and drop the
        recorded gradients of a backward(create_graph=True) (their graphs would chain step to step)."""
        self.grads.fill(0)
        drop_recorded_grads()

    def num_parameters(self, trainable_only: bool = False) -> int:
        """The number of parameter elements (only those of trainable parameters, if asked)."""
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

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

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter (under each of its names) and buffer, by dotted name."""
        return {name: array.copy() for name, array in self._state_arrays().items()}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        arrays = {name: p.data for name, p in self.named_parameters(remove_duplicate=False)}
        arrays.update(self.named_buffers())
        return arrays

    def check_state_dict(self, state: dict, strict: bool = True) -> dict[str, np.ndarray]:
        """The arrays that `load_state_dict(state, strict)` would load, each converted to the
        dtype of the parameter or buffer it goes into; changes nothing. Missing and unexpected
        keys (when `strict`), shape mismatches and bad values (not numbers, floats for an integer
        buffer, values too large for the dtype) are all reported in one ValueError."""
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(
                f"load_state_dict into {name}: expected a dict of arrays by name (as state_dict() gives), "
                f"got {type(state).__name__}"
            )
        targets = self._state_arrays()
        values = dict(state)
        problems = []
        if strict:
            missing = [k for k in targets if k not in values]
            unexpected = [str(k) for k in values if k not in targets]
            if missing:
                problems.append(f"missing keys: {', '.join(missing)}")
            if unexpected:
                problems.append(f"unexpected keys: {', '.join(unexpected)}")
        converted, shapes, bad = {}, [], []
        for key, target in targets.items():
            if key in values:
                value = _converted(values[key], target)
                if isinstance(value, str):
                    bad.append(f"{key}: {value}")
                elif value.shape != target.shape:
                    shapes.append(f"{key}: expected shape {target.shape}, got {value.shape}")
                else:
                    converted[key] = value
        if shapes:
            problems.append("shape mismatches: " + "; ".join(shapes))
        if bad:
            problems.append("bad values: " + "; ".join(bad))
        if problems:
            raise ValueError(f"load_state_dict into {name} failed: " + " | ".join(problems))
        return converted

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers in place (the flat store stays linked).

        Every value is converted and checked first (see `check_state_dict`): on any problem one
        ValueError lists them all, and nothing is loaded."""
        targets = self._state_arrays()
        for key, value in self.check_state_dict(state, strict).items():
            targets[key][...] = value

    def save(self, path: str | os.PathLike, allow_non_finite: bool = False) -> None:
        """Write the state dict to an .npz file, all at once or not at all; a model holding NaN
        or Inf is refused unless `allow_non_finite` (tinynet.serialization.save_model)."""
        from tinynet.serialization import save_model

        save_model(self, path, allow_non_finite)

    def load(self, path: str | os.PathLike, strict: bool = True) -> Module:
        """Load a file written by `save`; returns the module (tinynet.serialization.load_model)."""
        from tinynet.serialization import load_model

        return load_model(self, path, strict)

    def extra_repr(self) -> str:
        """The layer's settings shown inside its repr, e.g. 'in_features=784, out_features=256'."""
        return ""

    def __repr__(self) -> str:
        """The module and its sub-modules, one per line, indented like PyTorch's."""
        lines = [f"({name}): {module!r}".replace("\n", "\n  ") for name, module in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


def _is_float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def _converted(value, target: np.ndarray) -> np.ndarray | str:
    """`value` as an array of `target`'s dtype, or a sentence saying why it cannot be one."""
    try:
        array = np.asarray(value.data if isinstance(value, Tensor) else value)
    except (TypeError, ValueError) as error:
        return f"{reprlib.repr(value)} is not an array ({error})"
    if array.dtype.kind not in "biuf":
        return f"expected numbers, got an array of dtype {array.dtype}"
    if target.dtype.kind in "iu" and array.dtype.kind == "f":
        return f"expected integers (dtype {target.dtype}), got dtype {array.dtype}"
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(target.dtype)
    if target.dtype.kind == "f" and (np.isfinite(array) & ~np.isfinite(converted)).any():
        return f"values too large for {target.dtype}"
    return converted


def check_float_input(layer: Module, x) -> None:
    """Raise a TypeError unless `x` is a floating-point Tensor or array: a layer that multiplies
    by float weights refuses integer and boolean inputs (e.g. uint8 images) instead of computing
    on unscaled numbers without a word."""
    if not isinstance(x, (Tensor, np.ndarray)):
        raise TypeError(f"{layer!r}: expected a Tensor or a numpy array, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(
            f"{layer!r}: the input has dtype {x.dtype}, but the layer computes in floating point: convert it "
            "(and scale it), e.g. uint8 images as x.astype(np.float32) / 255"
        )


def check_size(layer: str, name: str, value) -> int:
    """`value` as an int after checking that it is a non-negative integer (Python or numpy):
    a layer's size argument such as in_features. Raises a TypeError or ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: {name} must be an integer, got {reprlib.repr(value)} ({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{layer}: {name} must be a non-negative integer, got {value}")
    return int(value)


def _refuse_hidden_layers(module: Module, name: str, value, params: list[Parameter] | None = None) -> None:
    """A list, tuple or dict of Modules or Parameters would hide them from `model.params`,
    `state_dict()` and `train()`: refuse it, naming the container that registers them. An array
    that is a parameter's data or gradient would go stale when the model packs: refuse it too
    (the parameters looked at are `params`, by default the module's own)."""
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    hidden = [type(item).__name__ for item in items if isinstance(item, (Module, Parameter))]
    if hidden:
        container = "nn.ModuleDict" if isinstance(value, dict) else "nn.ModuleList"
        raise TypeError(
            f"{type(module).__name__}.{name}: a plain {type(value).__name__} of {hidden[0]}s is not registered, "
            f"so its parameters would never train; use {container}(...) instead"
        )
    if isinstance(value, np.ndarray):
        for p in module._parameters.values() if params is None else params:
            if value is p.data or value is p.grad:
                raise TypeError(
                    f"{type(module).__name__}.{name}: keep the Parameter, not its .data or .grad array, which is "
                    "replaced when the model packs its parameters into one flat store"
                )


def _refuse_what_would_hide_or_go_stale(model: Module, params: list[Parameter]) -> None:
    """Before packing, the same checks as at assignment, on every attribute of every module: a
    plain list filled after it was assigned, or a sub-layer's `.data` kept by its parent."""
    for module in model.modules():
        for name, value in vars(module).items():
            if not name.startswith("_"):
                _refuse_hidden_layers(module, name, value, params)
