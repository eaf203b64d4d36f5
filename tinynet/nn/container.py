"""Sequential and Flatten: putting layers together."""

from __future__ import annotations

from collections.abc import Iterator

from tinynet.nn.module import Module
from tinynet.tensor import Tensor


class Sequential(Module):
    """Layers applied one after another; indexable, sliceable, iterable."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: argument {i} is a {type(layer).__name__}, not a Module")
            setattr(self, str(i), layer)

    def forward(self, x: Tensor) -> Tensor:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        layers = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*layers[index])
        try:
            return layers[index]
        except IndexError:
            raise IndexError(f"Sequential index {index} is out of range for {len(layers)} layers") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Flatten(Module):
    """Merge every axis from `start_dim` on: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1):
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"
