"""DataLoader: batches of numpy arrays from a dataset, optionally shuffled."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from tinynet.checkpoint import check_generator_state
from tinynet.data.dataset import TensorDataset
from tinynet.random import default_generator


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`.

    With `shuffle`, each pass (epoch) draws a new order from the loader's own generator,
    seeded by `seed` (or from tinynet's generator, see `tn.manual_seed`): the same seed gives
    the same sequence of batches. `drop_last` skips a final batch smaller than batch_size.
    Batches of a TensorDataset are gathered with one indexing operation per array (a view,
    no copy, when not shuffling); other datasets are read sample by sample and stacked.

    `state_dict()` records where the loader is (its generator, and the batches of the current
    pass already handed out); a loader made the same way continues, after `load_state_dict`,
    with exactly the batches this one would have given.
    """

    def __init__(
        self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False, seed: int | None = None
    ):
        for name, value in (("batch_size", batch_size), ("seed", seed)):
            if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))):
                raise TypeError(f"DataLoader: {name} must be an integer, got {value!r} ({type(value).__name__})")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size}")
        if seed is not None and seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: the dataset needs __len__ and __getitem__, got {type(dataset).__name__}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, int(batch_size), shuffle, drop_last
        if seed is None:
            seed = int(default_generator().integers(2**63))
        self.generator = np.random.default_rng(seed)
        self._pass_start: dict | None = None  # the generator's state when the current pass began
        self._batches_done = 0  # batches of the current pass handed out
        self._skip = 0  # batches the next pass skips (set by load_state_dict)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator:
        n = len(self.dataset)
        skip, self._skip = self._skip, 0
        self._pass_start = self.generator.bit_generator.state
        order = self.generator.permutation(n) if self.shuffle else None
        for b in range(skip, len(self)):
            start = b * self.batch_size
            end = min(start + self.batch_size, n)
            self._batches_done = b + 1
            yield self._gather(order[start:end] if self.shuffle else slice(start, end))
        self._pass_start = None

    def state_dict(self) -> dict:
        """Where the loader is: its generator's state when the current pass began (between
        passes: now) and the batches of that pass handed out, with the settings they depend on."""
        in_pass = self._pass_start is not None
        return {
            "generator": self._pass_start if in_pass else self.generator.bit_generator.state,
            "batches_done": self._batches_done if in_pass else self._skip,
            "dataset_size": len(self.dataset),
            "batch_size": self.batch_size,
            "shuffle": bool(self.shuffle),
            "drop_last": bool(self.drop_last),
        }

    def check_state_dict(self, state: dict) -> dict:
        """`state` checked against this loader as `load_state_dict` loads it: the same keys and
        settings (dataset size, batch_size, shuffle, drop_last), a valid generator state and a
        batch count within one pass. Raises a ValueError naming what differs; changes nothing."""
        current = self.state_dict()
        if not isinstance(state, dict) or set(state) != set(current):
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"DataLoader.load_state_dict: expected a dict with the keys {sorted(current)}, got {keys}")
        for key in ("dataset_size", "batch_size", "shuffle", "drop_last"):
            if state[key] != current[key]:
                raise ValueError(
                    f"DataLoader.load_state_dict: the state was saved with {key}={state[key]!r}, this loader has "
                    f"{key}={current[key]!r}; the batches would differ"
                )
        done = state["batches_done"]
        if isinstance(done, bool) or not isinstance(done, (int, np.integer)) or not 0 <= done <= len(self):
            raise ValueError(
                f"DataLoader.load_state_dict: batches_done must be an integer in [0, {len(self)}], got {done!r}"
            )
        generator = check_generator_state(state["generator"], self.generator, "DataLoader.load_state_dict")
        return {**current, "generator": generator, "batches_done": int(done)}

    def load_state_dict(self, state: dict) -> None:
        """Continue from `state_dict()`: the next pass gives the batches that the saved loader's
        current pass had left (its next pass, if it was between passes), then the same passes after.
        Checked first (see `check_state_dict`)."""
        state = self.check_state_dict(state)
        self.generator.bit_generator.state = state["generator"]
        self._pass_start, self._batches_done, self._skip = None, 0, state["batches_done"]

    def _gather(self, indices):
        if isinstance(self.dataset, TensorDataset):
            return self.dataset[indices]
        if isinstance(indices, slice):
            indices = range(indices.start, indices.stop)
        samples = [self.dataset[int(i)] for i in indices]
        if isinstance(samples[0], tuple):
            return tuple(np.stack(field) for field in zip(*samples))
        return np.stack(samples)
