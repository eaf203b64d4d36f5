"""DataLoader: batches of numpy arrays from a dataset, optionally shuffled."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from tinynet.data.dataset import TensorDataset
from tinynet.random import default_generator


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`.

    With `shuffle`, each pass (epoch) draws a new order from the loader's own generator,
    seeded by `seed` (or from tinynet's generator, see `tn.manual_seed`): the same seed gives
    the same sequence of batches. `drop_last` skips a final batch smaller than batch_size.
    Batches of a TensorDataset are gathered with one indexing operation per array (a view,
    no copy, when not shuffling); other datasets are read sample by sample and stacked.
    """

    def __init__(
        self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False, seed: int | None = None
    ):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset needs __len__ and __getitem__, got {type(dataset).__name__}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        if seed is None:
            seed = int(default_generator().integers(2**63))
        self.generator = np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.dataset)
        order = self.generator.permutation(n) if self.shuffle else None
        for b in range(len(self)):
            start = b * self.batch_size
            end = min(start + self.batch_size, n)
            yield self._gather(order[start:end] if self.shuffle else slice(start, end))

    def _gather(self, indices):
        if isinstance(self.dataset, TensorDataset):
            return self.dataset[indices]
        if isinstance(indices, slice):
            indices = range(indices.start, indices.stop)
        samples = [self.dataset[int(i)] for i in indices]
        if isinstance(samples[0], tuple):
            return tuple(np.stack(field) for field in zip(*samples))
        return np.stack(samples)
