"""DataLoader: batches of numpy arrays from a dataset, optionally shuffled."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

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
    no copy, when not shuffling); other datasets are read sample by sample and put together as
    PyTorch's default_collate does (see `collate`: arrays stacked, tuples field by field, dicts
    key by key).

    With `rank` and `world_size` (data-parallel training, see tinynet.distributed) the loader
    of each of the `world_size` processes gives only its share: every rank draws the same order
    (the same `seed`, which must then be given), pads it to a multiple of world_size by repeating
    its first samples (as PyTorch's DistributedSampler), and takes every world_size-th sample
    from position `rank` on. So the shares are disjoint but for the padding, together cover the
    data set, and give every rank the same number of batches; the b-th batches of all ranks
    together are the b-th batch a single loader with batch_size * world_size would give (when
    world_size divides the data set's size).

    `state_dict()` records where the loader is (its generator, and the batches of the current
    pass already handed out); a loader made the same way continues, after `load_state_dict`,
    with exactly the batches this one would have given.
    """

    def __init__(
        self,
        dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        rank: int | None = None,
        world_size: int | None = None,
    ):
        for name, value in (("batch_size", batch_size), ("seed", seed), ("rank", rank), ("world_size", world_size)):
            if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))):
                raise TypeError(f"DataLoader: {name} must be an integer, got {value!r} ({type(value).__name__})")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size}")
        if seed is not None and seed < 0:
            raise ValueError(f"DataLoader: seed must be a non-negative integer, got {seed}")
        self.rank, self.world_size = _check_share(rank, world_size, shuffle, seed)
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
        n = self._share_size()
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _share_size(self) -> int:
        """How many samples this rank gets per pass: all of them in a world of one."""
        return math.ceil(len(self.dataset) / self.world_size)

    def _share(self, order: np.ndarray | None) -> np.ndarray | None:
        """This rank's samples of a pass, in the pass's `order` (None: in the data set's order)."""
        if self.world_size == 1:
            return order
        if order is None:
            order = np.arange(len(self.dataset))
        padded = np.resize(order, self._share_size() * self.world_size)  # repeats the order from its start
        return padded[self.rank :: self.world_size]

    def __iter__(self) -> Iterator:
        n = self._share_size()
        skip, self._skip = self._skip, 0
        self._pass_start = self.generator.bit_generator.state
        share = self._share(self.generator.permutation(len(self.dataset)) if self.shuffle else None)
        for b in range(skip, len(self)):
            start = b * self.batch_size
            end = min(start + self.batch_size, n)
            self._batches_done = b + 1
            yield self._gather(slice(start, end) if share is None else share[start:end])
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
            "world_size": self.world_size,
        }

    def check_state_dict(self, state: dict) -> dict:
        """`state` checked against this loader as `load_state_dict` loads it: the same keys and
        settings (dataset size, batch_size, shuffle, drop_last, world_size; the rank may differ, as
        every rank resumes from the state that rank 0 saved), a valid generator state and a
        batch count within one pass. Raises a ValueError naming what differs; changes nothing."""
        current = self.state_dict()
        if isinstance(state, dict) and "world_size" not in state:  # written before loaders had shares
            state = {**state, "world_size": 1}
        if not isinstance(state, dict) or set(state) != set(current):
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"DataLoader.load_state_dict: expected a dict with the keys {sorted(current)}, got {keys}")
        for key in ("dataset_size", "batch_size", "shuffle", "drop_last", "world_size"):
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
        indices = [int(i) for i in indices]
        return collate([self.dataset[i] for i in indices], indices)


def collate(samples: list, indices: list[int], field: str = ""):
    """One batch of `samples` (the dataset's items at `indices`), as PyTorch's default_collate
    makes it: arrays and numbers stacked along a new first axis; tuples field by field (a tuple
    of batches); dicts key by key (a dict of batches, e.g. {"image": (B, 28, 28), "label": (B,)}).
    Samples that do not fit together (ragged shapes, other keys) raise a ValueError naming the
    sample's index in the dataset and the `field` ("['image']", "[0]") where they differ."""
    first, where = samples[0], f"sample {indices[0]}{field}"
    if isinstance(first, Mapping):
        for index, sample in zip(indices, samples):
            if not isinstance(sample, Mapping) or sample.keys() != first.keys():
                got = sorted(sample) if isinstance(sample, Mapping) else f"a {type(sample).__name__}"
                raise ValueError(f"DataLoader: sample {index}{field} has the keys {got}, {where} has {sorted(first)}")
        return {key: collate([sample[key] for sample in samples], indices, f"{field}[{key!r}]") for key in first}
    if isinstance(first, tuple):
        for index, sample in zip(indices, samples):
            if not isinstance(sample, tuple) or len(sample) != len(first):
                got = f"{len(sample)} fields" if isinstance(sample, tuple) else f"a {type(sample).__name__}"
                raise ValueError(f"DataLoader: sample {index}{field} has {got}, {where} has {len(first)} fields")
        return tuple(collate(list(values), indices, f"{field}[{i}]") for i, values in enumerate(zip(*samples)))
    arrays = []
    for index, sample in zip(indices, samples):
        try:
            arrays.append(np.asarray(sample))
        except ValueError:
            raise ValueError(f"DataLoader: sample {index}{field} is ragged: its items have different shapes") from None
        if arrays[-1].shape != arrays[0].shape:
            raise ValueError(
                f"DataLoader: sample {index}{field} has shape {arrays[-1].shape}, {where} has {arrays[0].shape}; the "
                "samples of a batch must have one shape (pad them to one length, or use batch_size=1)"
            )
    return np.stack(arrays)


def _check_share(rank: int | None, world_size: int | None, shuffle: bool, seed: int | None) -> tuple[int, int]:
    """(rank, world_size) checked: both given or neither (a world of one: (0, 1)), 0 <= rank <
    world_size, and a seed when shuffled shares must agree on the order."""
    if (rank is None) != (world_size is None):
        raise ValueError(
            f"DataLoader: give rank and world_size together, or neither; got rank={rank}, world_size={world_size}"
        )
    if rank is None:
        return 0, 1
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"DataLoader: expected world_size >= 1 and 0 <= rank < world_size, got rank={rank}, world_size={world_size}"
        )
    if shuffle and seed is None and world_size > 1:
        raise ValueError(
            "DataLoader: with shuffle=True and world_size > 1 give seed= (the same number on every rank): the ranks "
            "must draw the same order for their shares to be disjoint"
        )
    return int(rank), int(world_size)
