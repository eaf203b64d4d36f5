"""Saving a model's weights to a file and loading them back: what `Module.save` and `Module.load` do."""

from __future__ import annotations

import os

import numpy as np

from tinynet.checkpoint import MODEL_MARK, atomic_write, check_finite, read_npz


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
