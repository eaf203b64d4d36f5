"""Containers that register the layers they hold: ModuleList, ModuleDict, Sequential; and
Identity, Flatten and Unflatten, the layers that only pass data through or reshape it."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from tinynet.nn.module import Module
from tinynet.tensor import Tensor
from tinynet.torch_names import normalize_dim


def _check_module(container: Module, key: str, value) -> None:
    if not isinstance(value, Module):
        raise TypeError(f"{type(container).__name__}: item {key} is of type {type(value).__name__}, not a Module")


class _Container(Module):
    """What ModuleList and ModuleDict share: they hold layers, and are no layer themselves."""

    def forward(self, *args):
        """A container is not a layer: it raises, saying what to do instead."""
        raise TypeError(
            f"{type(self).__name__} holds layers but is not one itself: call its layers in your forward "
            "(for layer in self.layers: x = layer(x)), or use nn.Sequential"
        )


class ModuleList(_Container):
    """A list of layers whose parameters belong to the model (a plain list's would not):

    self.blocks = nn.ModuleList(nn.Linear(64, 64) for _ in range(4))
    for block in self.blocks:
        x = block(x).relu()
    """

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add a layer at the end; returns the list."""
        _check_module(self, str(len(self)), module)
        setattr(self, str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add several layers at the end; returns the list."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put a layer before position `index`."""
        layers = list(self)
        layers.insert(index, module)
        self._replace_all(layers)

    def _replace_all(self, layers: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        self.extend(layers)

    def __getitem__(self, index: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return self._of(layers[index])
        try:
            return layers[index]
        except (IndexError, TypeError):
            raise IndexError(
                f"{type(self).__name__} index {index!r} is out of range for {len(layers)} layers"
            ) from None

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[self._position(index)]
        _check_module(self, name, module)
        setattr(self, name, module)

    def __delitem__(self, index: int) -> None:
        layers = list(self)
        del layers[self._position(index)]
        self._replace_all(layers)

    def _position(self, index: int) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"{type(self).__name__} index {index} is out of range for {len(self)} layers")
        return index % len(self)

    def _of(self, layers: list[Module]) -> ModuleList:
        """A container of the same kind holding `layers` (what a slice returns)."""
        return type(self)(layers)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Layers applied one after another: `Sequential(layer1, layer2, ...)`, named 0, 1, ...; or
    `Sequential(OrderedDict([("conv", layer1), ("act", layer2)]))`, named by the keys (so the
    state dict's keys are "conv.weight", ..., as PyTorch's). Indexable, sliceable and iterable
    like a ModuleList."""

    def __init__(self, *layers: Module):
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            super().__init__()
            for name, layer in layers[0].items():
                if not isinstance(name, str) or not name or "." in name:
                    raise KeyError(f"Sequential: layer names must be non-empty strings without '.', got {name!r}")
                _check_module(self, repr(name), layer)
                setattr(self, name, layer)
            return
        super().__init__(layers)

    def forward(self, x: Tensor) -> Tensor:
        """Each layer's output is the next one's input."""
        for layer in self._modules.values():
            x = layer(x)
        return x

    def _of(self, layers: list[Module]) -> Sequential:
        return Sequential(*layers)


class ModuleDict(_Container):
    """A dict of layers by name whose parameters belong to the model (a plain dict's would not):

    self.heads = nn.ModuleDict({"digit": nn.Linear(128, 10), "parity": nn.Linear(128, 2)})
    logits = self.heads["digit"](features)
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] = ()):
        super().__init__()
        self.update(modules)

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) layers from a dict or from (name, layer) pairs."""
        for key, module in modules.items() if isinstance(modules, Mapping) else modules:
            self[key] = module

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no layer {key!r}; it has {list(self._modules)}") from None

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key.isidentifier():
            raise KeyError(f"ModuleDict keys must be valid Python identifiers (strings), got {key!r}")
        _check_module(self, repr(key), module)
        setattr(self, key, module)

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def pop(self, key: str) -> Module:
        """Remove the layer `key` and return it."""
        module = self[key]
        delattr(self, key)
        return module

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self) -> Iterable[str]:
        """The layer names, in insertion order."""
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        """The layers, in insertion order."""
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        """(name, layer) pairs, in insertion order."""
        return self._modules.items()


class Identity(Module):
    """Returns its input unchanged: a placeholder where a layer is optional (no normalization,
    a removed classifier head)."""

    def forward(self, x: Tensor) -> Tensor:
        """The input itself."""
        return x


class Flatten(Module):
    """Merge every axis from `start_dim` on: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        """The input with its trailing axes merged."""
        return x.flatten(self.start_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"


class Unflatten(Module):
    """Split dimension `dim` into `unflattened_size`: Unflatten(1, (16, 7, 7)) turns (N, 784)
    into (N, 16, 7, 7), the inverse of Flatten. One size may be -1, inferred."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]):
        super().__init__()
        if (
            not isinstance(unflattened_size, (tuple, list))
            or not all(isinstance(n, int) and (n > 0 or n == -1) for n in unflattened_size)
            or list(unflattened_size).count(-1) > 1
        ):
            raise TypeError(
                f"Unflatten: unflattened_size must be a tuple of positive ints (one may be -1), got {unflattened_size}"
            )
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        """The input with dimension `dim` split."""
        dim = normalize_dim("Unflatten", self.dim, x.shape)
        known = math.prod(n for n in self.unflattened_size if n != -1)
        size = x.shape[dim]
        if (-1 not in self.unflattened_size and known != size) or (known == 0 or size % known):
            raise ValueError(
                f"{self!r}: cannot split dim {dim} of size {size} (input shape {x.shape}) into {self.unflattened_size}"
            )
        return x.reshape(*x.shape[:dim], *self.unflattened_size, *x.shape[dim + 1 :])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
