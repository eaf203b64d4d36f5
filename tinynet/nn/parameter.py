"""Parameter, and the flat store that holds a model's parameters in one array.

The flat store, in five rules:

1. A Parameter starts with arrays of its own: `.data` (a copy of what it was given) and `.grad`.
2. A model packs its parameters on the first `model.params` or `model.grads` (or `model.pack()`):
   each one is copied into one new FlatStore, trainable parameters first, frozen ones after,
   and its `.data` and `.grad` become views into the store:

       store.data  [ w1 w1 w1 w1 w1 w1 | b1 b1 | w2 w2 w2 | b2 || frozen ... ]
                     \\______________ model.params ______________/
       store.grad  [ ................ same layout ..................... ]

   `model.params` / `model.grads` are the trainable part: `opt.step(model.grads, model.params)`
   moves every trainable parameter in a few vectorized passes, and never a frozen one.
3. A parameter lives in one store at a time: when it moves to a new one (its model, or a model
   that contains it or shares it, packs), every array it handed out before becomes read-only:
   a stale array fails loudly when written. A sub-model packed with its parent uses its part.
4. The model's layout is fixed while the store is current: `model.params` returns the same two
   arrays at every call. Changing the layout (assigning or deleting a Parameter or Module
   anywhere in the model, `requires_grad_()` that freezes or unfreezes, `model.to(dtype)`,
   giving a parameter data of another shape) marks the store outdated and makes its
   `model.params` and `model.grads` read-only at once; the next `model.params` packs anew
   (rule 2). An optimizer whose state was made for the old layout then refuses to step.
5. Assigning `p.data = array` of the same shape copies into the view, in the parameter's dtype:
   the link survives.

A layer keeps the Parameter (`self.weight`), never its `.data`, which packing replaces: Module
refuses to store an array that is a parameter's data or gradient.
"""

from __future__ import annotations

import weakref

import numpy as np

from tinynet.gradient_arrays import mark_gradient_array
from tinynet.tensor import Tensor, _as_array

_holding_recorded_grads: weakref.WeakValueDictionary[int, Parameter] = weakref.WeakValueDictionary()
"""The parameters whose .grad is a recorded gradient (of backward(create_graph=True))."""


def drop_recorded_grads() -> None:
    """Forget every recorded gradient (zero_grad calls it): the graph that made it, and through it
    the whole last step, is no longer kept alive by the parameters."""
    if not _holding_recorded_grads:
        return
    for parameter in list(_holding_recorded_grads.values()):
        parameter._grad_tensor = None
    _holding_recorded_grads.clear()


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable: requires_grad is True unless frozen."""

    _store: FlatStore | None = None
    _requires_grad = False
    _data: np.ndarray
    _grad: np.ndarray | None = None
    _grad_tensor: Tensor | None = None  # the recorded gradient of backward(create_graph=True)

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    @property
    def requires_grad(self) -> bool:
        """False when the parameter is frozen: backward skips it and no optimizer moves it."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if self._store is not None and flag != self._requires_grad:
            self._store.mark_outdated()  # the parameter changes sides: trainable <-> frozen
        self._requires_grad = flag

    @property
    def data(self) -> np.ndarray:
        """The parameter's values (a view into the model's flat store once packed)."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        value = _as_array(value)
        current = self.__dict__.get("_data")
        if current is not None and value.shape == current.shape:
            if value is not current:
                current[...] = value  # in place, in the parameter's dtype: the store stays linked
            return
        self._move_to(np.array(value), None if self._grad is None else np.zeros(value.shape, value.dtype), None)

    @property
    def grad(self) -> np.ndarray | Tensor | None:
        """The accumulated gradient (a view into the model's flat gradient array once packed).
        After backward(create_graph=True) it is the recorded gradient, a Tensor, whose numbers
        are also in the array, for as long as they are: once the array changes (zero_grad,
        model.grads.fill(0), an optimizer writing into it) it is the array again."""
        recorded = self._grad_tensor
        if recorded is not None and not np.array_equal(recorded.data, self._grad):
            self._grad_tensor = recorded = None
        return self._grad if recorded is None else recorded

    @grad.setter
    def grad(self, value) -> None:
        self._grad_tensor = value if isinstance(value, Tensor) else None
        if self._grad_tensor is not None:
            _holding_recorded_grads[id(self)] = self
            value = value.data
        if self._store is not None:
            if value is None:
                self._grad[...] = 0  # zeroed in place: the view stays linked to model.grads
            elif value is not self._grad:
                self._grad[...] = value
            return
        self._grad = None if value is None else np.array(value, dtype=self._data.dtype)

    def cast_(self, dtype) -> Parameter:
        """Change the dtype of the data (and gradient); a layout change (rule 4 above), unless
        the dtype is already `dtype`. Module.to(dtype) calls this for every parameter."""
        if self._data.dtype == dtype:
            return self
        grad = None if self._grad is None else self._grad.astype(dtype)
        self._move_to(self._data.astype(dtype), grad, None)
        return self

    def _move_to(self, data: np.ndarray, grad: np.ndarray | None, store: FlatStore | None) -> None:
        """Take new arrays (views into `store`, or arrays of its own), locking the old ones."""
        for old in (self.__dict__.get("_data"), self._grad):
            if old is not None:
                old.flags.writeable = False
        if self._store is not None and self._store is not store:
            self._store.mark_outdated()
        self._data, self._grad, self._store = data, grad, store


class FlatStore:
    """One data array and one gradient array for distinct parameters: the trainable ones first
    (the first `trainable_size` elements, `model.params`), then the frozen ones."""

    def __init__(self, trainable: list[Parameter], frozen: list[Parameter]):
        params = trainable + frozen
        dtypes = {p.data.dtype for p in params}
        if len(dtypes) > 1:
            raise TypeError(
                f"the parameters have different dtypes {sorted(map(str, dtypes))}; one flat store needs "
                "one dtype: call model.to(dtype) first"
            )
        dtype = dtypes.pop() if dtypes else np.dtype(np.float32)
        self.data = np.empty(sum(p.size for p in params), dtype=dtype)
        self.grad = np.zeros_like(self.data)
        self.trainable_size = sum(p.size for p in trainable)
        self.outdated = False
        mark_gradient_array(self.grad)
        self.offsets: dict[int, int] = {}
        self._handed_out: list[np.ndarray] = []
        offset = 0
        for p in params:
            end = offset + p.size
            self.data[offset:end] = p.data.reshape(-1)
            if p.grad is not None and p.requires_grad:  # a frozen parameter's old gradient is dropped
                self.grad[offset:end] = p.grad.reshape(-1)
            self.offsets[id(p)] = offset
            p._move_to(self.data[offset:end].reshape(p.shape), self.grad[offset:end].reshape(p.shape), self)
            offset = end

    def span(self, params: list[Parameter]) -> tuple[np.ndarray, np.ndarray] | None:
        """The (data, grad) slices covering `params`, or None unless they lie in this store one
        after another, in this order, in the trainable part. Locked when the store is outdated."""
        if not params:
            return self.data[:0], self.grad[:0]
        start = self.offsets.get(id(params[0]))
        offset = start
        for p in params:
            if p._store is not self or self.offsets.get(id(p)) != offset:
                return None
            offset += p.size
        if offset > self.trainable_size:
            return None
        arrays = self.data[start:offset], self.grad[start:offset]
        self._handed_out.extend(arrays)
        return arrays

    def __reduce__(self):
        """Copied (copy.deepcopy) or pickled, a store comes back outdated: numpy copies each view
        as an array of its own, so the copy's parameters are packed anew by its `model.params`."""
        return _outdated_store, ()

    def mark_outdated(self) -> None:
        """The layout this store was packed for has changed: lock the model-level arrays."""
        self.outdated = True
        for array in self._handed_out:
            array.flags.writeable = False


def _outdated_store() -> FlatStore:
    store = FlatStore([], [])
    store.outdated = True
    return store
