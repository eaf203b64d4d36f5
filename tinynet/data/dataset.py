"""Datasets: anything with `__len__` and `__getitem__`; Subset, ConcatDataset and random_split
to take parts of datasets and join them."""

from __future__ import annotations

import bisect
import itertools
import math
import operator

import numpy as np

from tinynet.random import default_generator
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


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(ds, [4, 0])[1] == ds[0]`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [operator.index(i) for i in indices]
        size = len(dataset)
        outside = [i for i in self.indices if not -size <= i < size]
        if outside:
            raise IndexError(f"Subset: indices {outside[:5]} are out of range for a dataset of {size} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int):
        return self.dataset[self.indices[index]]


class ConcatDataset(Dataset):
    """Several datasets one after another: samples 0..len(a)-1 are a's, then b's, ..."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset, got none")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        index = operator.index(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"ConcatDataset: index {index} is out of range for {len(self)} samples")
        index %= len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


def random_split(
    dataset, lengths, generator: np.random.Generator | None = None, seed: int | None = None
) -> list[Subset]:
    """Split `dataset` at random into Subsets of the given `lengths`: counts that add up to
    len(dataset), or fractions that add up to 1 (then the counts are floor(fraction · n), and
    the samples left over go one each to the first subsets, as PyTorch). The shuffle comes from
    `generator`, else a new one from `seed`, else tinynet's generator (tn.manual_seed)."""
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    if generator is None:
        generator = default_generator() if seed is None else np.random.default_rng(seed)
    n, lengths = len(dataset), list(lengths)
    if lengths and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1) and sum(lengths) != n:
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in lengths) or sum(lengths) != n:
        raise ValueError(
            f"random_split: lengths must be non-negative counts adding up to the dataset's {n} samples, "
            f"or fractions adding up to 1; got {lengths}"
        )
    order = generator.permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [Subset(dataset, order[end - k : end]) for k, end in zip(lengths, ends)]
