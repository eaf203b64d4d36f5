"""Datasets: anything with `__len__` and `__getitem__`."""

from __future__ import annotations

import numpy as np

from tinynet.tensor import Tensor


class Dataset:
    """Base class for map-style datasets: `len(ds)` samples, `ds[i]` returns sample i
    (an array, or a tuple of arrays such as (image, label))."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Arrays of the same length, indexed together: `ds[i] == (a[i], b[i], ...)`.

    Being array-backed, a whole batch is gathered with one fancy-indexing operation per array
    (`ds.arrays`), not sample by sample."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all arrays need the same length (first dimension), got {lengths}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)
