"""Saving a model's weights to a file and loading them back: what `Module.save` and `Module.load`
do; and tn.save and tn.load, for state dicts and dicts of them, as torch.save and torch.load
are used."""

from __future__ import annotations

import os

import numpy as np

from tinynet.checkpoint import (
    MODEL_MARK,
    SAVED_MARK,
    atomic_write,
    check_finite,
    read_npz,
    read_tree,
    write_tree,
)
from tinynet.tensor import Tensor


def save_model(model, path: str | os.PathLike, allow_non_finite: bool = False) -> None:
    """Write `model.state_dict()` to the .npz file `path`, all at once or not at all (via a
    temporary file, renamed when complete: tinynet.checkpoint.atomic_write). A model whose
    parameters or buffers hold NaN or Inf (training diverged) is refused with a ValueError, so
    that it never replaces a good file, unless `allow_non_finite`."""
    path = os.fspath(path)
    state = model.state_dict()
    if not allow_non_finite:
        check_finite(state, f"{type(model).__name__}.save: refusing to write {path}")
    state[MODEL_MARK] = np.array(type(model).__name__)
    atomic_write(path, lambda f: np.savez(f, **state))


def load_model(model, path: str | os.PathLike, strict: bool = True):
    """Load a file written by `save_model` into `model` (see Module.load_state_dict); returns the model."""
    state = read_npz(path, MODEL_MARK, "tinynet checkpoint (an .npz file written by Module.save)")
    state.pop(MODEL_MARK)
    model.load_state_dict(state, strict=strict)
    return model


def _arrays_of_tensors(value):
    """`value` with every Tensor (a Parameter too) replaced by its array."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, dict):
        return {k: _arrays_of_tensors(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_arrays_of_tensors(v) for v in value)
    return value


def save(obj, path: str | os.PathLike) -> None:
    """Write `obj` to the file `path` (an .npz file), as torch.save is used for state dicts:
    `tn.save(model.state_dict(), "model.npz")`, `tn.save(opt.state_dict(), "opt.npz")`, or a
    dict of these. `obj` may hold numpy arrays, Tensors (saved as their arrays), numbers,
    strings, booleans, None, and lists, tuples and dicts with string keys of these. The file is
    written all at once or not at all, without pickle. Read it back with `tn.load`."""
    write_tree(os.fspath(path), {"obj": _arrays_of_tensors(obj)}, SAVED_MARK, "save")


def load(path: str | os.PathLike):
    """What `tn.save` wrote to `path`, with its arrays as numpy arrays: load a state dict with
    `model.load_state_dict(tn.load("model.npz"))`. Pickles are never read, so a file that is not
    tn.save's (a PyTorch .pt file, say) is refused with a ValueError."""
    return read_tree(os.fspath(path), SAVED_MARK, "file written by tn.save (an .npz file)")["obj"]
