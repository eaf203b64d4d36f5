"""Parameter, and the flat store that holds every parameter of a model in one array.

A model's parameters live side by side in one 1-D array, and their gradients in another, so
that an optimizer updates the whole model with a few vectorized numpy operations:

    store.data  [ w1 w1 w1 w1 w1 w1 | b1 b1 | w2 w2 w2 | b2 ]      <- model.params
                  \\___ fc1.weight.data (a view) ___/
    store.grad  [ ................ same layout ................ ]  <- model.grads

Each Parameter's `.data` and `.grad` are reshaped views into those arrays, so writing to
`model.params` in place moves the parameters, and backward accumulating into `.grad` fills
`model.grads`. Assigning an array of the same shape to `p.data` or `p.grad` copies it into the
view, in the parameter's dtype (the link survives); `p.cast_(dtype)` changes the dtype.
When the parameters must move to a new store (a model nested in a bigger one, a dtype change),
the old store is retired: every array it handed out becomes read-only, so stale arrays fail
loudly instead of silently updating nothing.
"""

from __future__ import annotations

import numpy as np

from tinynet.tensor import Tensor, _as_array

layout_version = 0  # bumped whenever parameters are registered, removed, packed or moved


def layout_changed() -> None:
    """Invalidate every Module's cached flat views (see Module._flat)."""
    global layout_version
    layout_version += 1


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable: requires_grad is True."""

    _store: FlatStore | None = None
    _offset = 0
    _data: np.ndarray
    _grad: np.ndarray | None = None

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value) -> None:
        value = _as_array(value)
        current = self.__dict__.get("_data")
        if current is not None and value.shape == current.shape:
            if value is not current:
                current[...] = value  # in place, in the parameter's dtype: the store stays linked
            return
        self._leave_store()
        self._data = value

    def cast_(self, dtype) -> Parameter:
        """Change the dtype of the data (and gradient). The parameter leaves its flat store; the
        next `model.params` packs it again. Module.to(dtype) calls this for every parameter."""
        self._leave_store()
        self._data = self._data.astype(dtype)
        if self._grad is not None:
            self._grad = self._grad.astype(dtype)
        return self

    @property
    def grad(self) -> np.ndarray | None:
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if self._store is not None:
            if value is None:
                self._grad[...] = 0  # zeroed in place: the view stays linked to model.grads
            elif value is not self._grad:
                self._grad[...] = value
            return
        self._grad = None if value is None else np.asarray(value, dtype=self._data.dtype)

    def _leave_store(self) -> None:
        if self._store is not None:
            self._store.retire()
            self._store = None


class FlatStore:
    """One data array and one gradient array for a list of distinct parameters."""

    def __init__(self, params: list[Parameter]):
        dtypes = {p.data.dtype for p in params}
        if len(dtypes) > 1:
            raise TypeError(
                f"the parameters have different dtypes {sorted(map(str, dtypes))}; one flat store needs "
                "one dtype: call model.to(dtype) first"
            )
        dtype = dtypes.pop()
        total = sum(p.data.size for p in params)
        self.data = np.empty(total, dtype=dtype)
        self.grad = np.zeros(total, dtype=dtype)
        self.retired = False
        self._views: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        offset = 0
        for p in params:
            end = offset + p.data.size
            self.data[offset:end] = p.data.reshape(-1)
            if p.grad is not None:
                self.grad[offset:end] = p.grad.reshape(-1)
            old_store = p._store
            p._store, p._offset = self, offset
            p._data = self.data[offset:end].reshape(p.data.shape)
            p._grad = self.grad[offset:end].reshape(p.data.shape)
            if old_store is not None:
                old_store.retire()
            offset = end
        layout_changed()

    def holds(self, params: list[Parameter]) -> bool:
        """Whether `params` lie in this store one after another, in this order."""
        if self.retired:
            return False
        offset = params[0]._offset
        for p in params:
            if p._store is not self or p._offset != offset:
                return False
            offset += p._data.size
        return True

    def views(self, params: list[Parameter]) -> tuple[np.ndarray, np.ndarray]:
        """The (data, grad) slices covering `params`, which `holds` has confirmed."""
        start = params[0]._offset
        end = params[-1]._offset + params[-1]._data.size
        if (start, end) not in self._views:
            self._views[start, end] = (self.data[start:end], self.grad[start:end])
        return self._views[start, end]

    def retire(self) -> None:
        """Make every array this store handed out read-only: it no longer moves the parameters."""
        if self.retired:
            return
        self.retired = True
        layout_changed()
        for array in (self.data, self.grad, *(v for pair in self._views.values() for v in pair)):
            array.flags.writeable = False
