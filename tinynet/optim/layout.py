"""Layout: where each parameter lies in a flat array, for the optimizers that see the layers.

`model.layout()` gives one entry per trainable parameter, in `model.params` order: its name,
its slice of the flat array and its shape. `entry.view(array)` is that parameter's part of any
array laid out like `model.params` (the parameters, the gradients, a decrement), shaped like the
parameter and sharing its memory. A plain array without a layout is one parameter of its own
shape (`Layout.whole`).
"""

from __future__ import annotations

import math
import weakref
from typing import NamedTuple

import numpy as np


class LayoutError(ValueError):
    """A layout that does not fit the array it is used with (size, order or dtype)."""


class LayoutEntry(NamedTuple):
    """One parameter: its name, its slice of the flat array, its shape."""

    name: str
    slice: slice
    shape: tuple[int, ...]

    def view(self, array: np.ndarray) -> np.ndarray:
        """This parameter's part of the flat `array`, shaped like the parameter (a view, not a copy,
        when `array` is contiguous)."""
        return array.reshape(-1)[self.slice].reshape(self.shape)


class Layout:
    """The parameters of a flat array, in order: `for name, where, shape in layout`.

    `entries` are (name, slice, shape) triples that cover the array in order, from element 0,
    without gaps or overlaps. `of`, the flat parameter array the layout describes (model.params),
    pins its size and dtype, and that array itself: a layout made before the model was repacked
    (a layer frozen, unfrozen or added, model.to(dtype)) or for another model is refused by `check`.
    """

    def __init__(self, entries, of: np.ndarray | None = None):
        self.entries = tuple(LayoutEntry(name, where, tuple(shape)) for name, where, shape in entries)
        start = 0
        for name, where, shape in self.entries:
            if where.start != start or where.step not in (None, 1) or where.stop - where.start != math.prod(shape):
                raise LayoutError(
                    f"layout: the parameter {name!r} of shape {shape} is at elements {where.start}:{where.stop}; "
                    f"the parameters must follow one another in order from element 0, so it should be at "
                    f"{start}:{start + math.prod(shape)}"
                )
            start = where.stop
        self.size = start
        self.dtype = None if of is None else of.dtype
        self._of = None if of is None else (weakref.ref(of if of.base is None else of.base), of.ctypes.data)

    @classmethod
    def whole(cls, array: np.ndarray) -> Layout:
        """A plain array as one parameter of its own shape, named "params"."""
        return cls([("params", slice(0, array.size), array.shape)])

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}{list(shape)}" for name, _, shape in self.entries)
        return f"Layout({shown})"

    def check(self, array: np.ndarray, who: str, what: str = "params") -> None:
        """Refuse an `array` that this layout does not describe, with a LayoutError naming what
        differs: its size, its dtype, or (for a layout of a model's params) the array itself."""
        where = f"{who}: the layout ({len(self)} parameters, {self.size} elements"
        if array.size != self.size:
            raise LayoutError(
                f"{where}) does not match {what} of {array.size} elements: it was made for another model, or "
                "before a layer was frozen, unfrozen or added; make it again with model.layout()"
            )
        if self.dtype is not None and array.dtype != self.dtype:
            raise LayoutError(
                f"{where}) was made for {self.dtype} parameters, but {what} is {array.dtype} (model.to() "
                "after model.layout()?); make it again with model.layout()"
            )
        if what == "params" and self._of is not None:
            owner = array if array.base is None else array.base
            if self._of[0]() is not owner or self._of[1] != array.ctypes.data:
                raise LayoutError(
                    f"{where}) was made for another params array: another model's, or this model's before "
                    "it was repacked (a layer frozen, unfrozen or added, model.to(dtype)), so its parameters "
                    "may lie in another order; make it again with model.layout() and pass model.params"
                )

    def __getstate__(self) -> dict:
        """For pickle and copy: everything but the reference to the array it was made for."""
        return {**vars(self), "_of": None}
