"""Which arrays are models' flat gradient arrays (`model.grads`), so that an optimizer given
`opt.step(model.params, model.grads)`, the arguments swapped, can say so."""

from __future__ import annotations

import weakref

import numpy as np

_gradient_arrays: weakref.WeakValueDictionary[int, np.ndarray] = weakref.WeakValueDictionary()


def mark_gradient_array(array: np.ndarray) -> None:
    """Remember `array` as a model's flat gradient array."""
    _gradient_arrays[id(array)] = array


def is_gradient_array(array: np.ndarray) -> bool:
    """Whether `array` is (a view into) a model's flat gradient array, such as `model.grads`."""
    owner = array if array.base is None else array.base
    return _gradient_arrays.get(id(owner)) is owner
