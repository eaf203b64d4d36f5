"""Checkpoints: one file with everything needed to resume training exactly, and the file
helpers that `Module.save` shares (writing a file all at once or not at all, reading .npz files).

    tn.save_checkpoint("run.npz", model=model, optimizer=opt, scheduler=schedule, loader=loader, epoch=3)
    extra = tn.load_checkpoint("run.npz", model=model, optimizer=opt, scheduler=schedule, loader=loader)
    extra["epoch"]                                            # 3

The file is an .npz archive, read without pickle. Each array (a parameter, a buffer, an
optimizer's moment estimate) is one entry, named by where it belongs ("model/0.weight",
"optimizer/state/exp_avg"); the rest (hyperparameters, the scheduler's position, the random
generators' states, the extra values) is JSON text in the entry `__tinynet_training_checkpoint__`,
where each array stands as {"__array__": its entry's name} and each tuple as {"__tuple__": [...]}.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import reprlib
import stat
import zipfile
from collections.abc import Callable
from typing import IO

import numpy as np

from tinynet.random import default_generator

MODEL_MARK = "__tinynet_checkpoint__"  # the entry that marks a file written by Module.save
TRAINING_MARK = "__tinynet_training_checkpoint__"  # the JSON entry of a file written by save_checkpoint
SAVED_MARK = "__tinynet_saved__"  # the JSON entry of a file written by tn.save
FORMAT_VERSION = 1
_ARRAY, _TUPLE = "__array__", "__tuple__"
_KINDS = {
    MODEL_MARK: "a model file written by Module.save: load it with model.load(path)",
    TRAINING_MARK: "a training checkpoint (tn.save_checkpoint): load it with tn.load_checkpoint(path, model=model)",
    SAVED_MARK: "a file written by tn.save: load it with tn.load(path)",
}
PIECES = ("model", "optimizer", "scheduler", "loader")


# ---------------------------------------------------------------- files


def atomic_write(path: str | bytes | os.PathLike, write: Callable[[IO[bytes]], None]) -> None:
    """Write the file `path` all at once or not at all: `write(f)` fills a new temporary file in
    the same folder, which is flushed to disk (os.fsync) and renamed over `path`; then the folder
    is synced too, so the file is durable when this returns. On any error or KeyboardInterrupt
    the temporary file is removed and `path` is left as it was; temporaries left behind by a
    process that died while writing `path` (SIGKILL, a power cut) are removed by the next write.

    A `path` that is a symbolic link is followed, as `torch.save` does: the link's target is
    written and the link stays. A file that exists keeps its permissions (a checkpoint made
    private with chmod 600 stays private); a new one gets those of any new file (0o666 less the
    umask, e.g. 0o644)."""
    target = os.path.realpath(os.fsdecode(path))
    folder, name = os.path.split(target)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"cannot write {os.fsdecode(path)}: the folder {folder} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    _remove_stale_temporaries(folder, name)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as to any new file
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    folder_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_fd)  # the rename itself reaches the disk
    finally:
        os.close(folder_fd)


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove the temporaries of `atomic_write` for the file `name` in `folder` whose writer is no
    longer running on this machine (".NAME.PID.RANDOM.tmp"; ".NAME.RANDOM.tmp" of older versions)."""
    temporary = re.compile(rf"\.{re.escape(name)}\.(?:(?P<pid>\d{{1,7}})\.)?[0-9a-f]{{8}}\.tmp")
    for entry in os.listdir(folder):
        match = temporary.fullmatch(entry)
        if match and not (match["pid"] and _running(int(match["pid"]))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(folder, entry))


def _running(pid: int) -> bool:
    """Whether a process `pid` runs on this machine (perhaps another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


MAX_EXPANSION = 100
"""How many times its stored size an .npz entry may grow when it is decompressed. tinynet writes
its entries uncompressed (1 time); an entry that would grow more, past a mebibyte, is refused
before it is read, as the zip bomb it looks like."""
_SMALL_ENTRY = 1 << 20


def npz_entry_names(path: str | bytes | os.PathLike) -> list[str]:
    """The names of the arrays in the .npz file `path`, from its table of contents: nothing is
    decompressed. Raises ValueError if `path` is not a zip archive."""
    path = os.fsdecode(path)
    try:
        with zipfile.ZipFile(path) as archive:
            return [info.filename.removesuffix(".npy") for info in archive.infolist()]
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{path} is not an .npz file: {error}") from None


@contextlib.contextmanager
def open_npz(path: str | bytes | os.PathLike, mark: str, description: str):
    """Open the .npz file `path`, which must hold the entry `mark`, and yield {name: load} for
    its entries, `load()` reading that array. Before anything is loaded, every entry's .npy header
    is read and checked against the entry's size in the archive's table of contents (which
    bounds what decompressing it can give): no entry can claim more memory than it holds, hold
    Python objects (pickle) or expand more than MAX_EXPANSION times. Raises FileNotFoundError,
    or ValueError saying that `path` is not a `description`."""
    path = os.fsdecode(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    not_a = f"{path} is not a {description}"
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"{not_a}: {error}") from None
    with archive:
        try:
            entries = {info.filename.removesuffix(".npy"): _checked_entry(archive, info) for info in archive.infolist()}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{not_a}: {error}") from None
        if mark not in entries:
            hint = next((f": it is {kind}" for other, kind in _KINDS.items() if other in entries), "")
            raise ValueError(not_a + hint)

        def loader(name: str, info: zipfile.ZipInfo) -> Callable[[], np.ndarray]:
            def load() -> np.ndarray:
                try:
                    with archive.open(info) as member:
                        return np.lib.format.read_array(member, allow_pickle=False)
                except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
                    raise ValueError(f"the entry {name!r} is damaged ({error})") from None

            return load

        yield {name: loader(name, info) for name, info in entries.items()}


def _checked_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> zipfile.ZipInfo:
    """`info`, once its entry's .npy header is read and found to fit the entry's size; else ValueError."""
    name = info.filename
    if not name.endswith(".npy"):
        raise ValueError(f"the entry {name!r} is not an .npy array")
    if info.file_size > max(_SMALL_ENTRY, MAX_EXPANSION * info.compress_size):
        raise ValueError(
            f"the entry {name!r} would expand from {info.compress_size:,} to {info.file_size:,} bytes, more than "
            f"{MAX_EXPANSION} times (tinynet writes its entries uncompressed); refusing to decompress it"
        )
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
        if version not in read_header:
            raise ValueError(f"the entry {name!r} is an .npy array of version {version}; expected 1.0 or 2.0")
        shape, _, dtype = read_header[version](member)
        header_size = member.tell()
    if dtype.hasobject:
        raise ValueError(f"the entry {name!r} holds Python objects (dtype {dtype}), which would need pickle")
    size = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if header_size + size != info.file_size:
        raise ValueError(
            f"the entry {name!r} announces an array of shape {shape} and dtype {dtype} ({size:,} bytes), but it "
            f"holds {info.file_size - header_size:,} bytes"
        )
    return info


def read_npz(path: str | bytes | os.PathLike, mark: str, description: str) -> dict[str, np.ndarray]:
    """Every entry of the .npz file `path`, read without pickle, each checked before any is read
    (see `open_npz`); it must hold the entry `mark`. Raises FileNotFoundError, or ValueError
    saying that `path` is not a `description`."""
    with open_npz(path, mark, description) as entries:
        try:
            return {name: load() for name, load in entries.items()}
        except ValueError as error:
            raise ValueError(f"{os.fsdecode(path)} is not a {description}: {error}") from None


def check_finite(arrays: dict[str, np.ndarray], action: str) -> None:
    """Raise a ValueError, starting with `action`, naming each float array that holds NaN or Inf."""
    bad = []
    for name, array in arrays.items():
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            nan = int(np.isnan(array).sum())
            bad.append(f"{name} ({nan} NaN and {int(np.isinf(array).sum())} Inf of {array.size} values)")
    if bad:
        raise ValueError(
            f"{action}: non-finite values in {', '.join(bad)}. Training has diverged: try a smaller learning "
            "rate. Pass allow_non_finite=True to write them anyway"
        )


def check_generator_state(state, generator: np.random.Generator, what: str) -> dict:
    """`state` checked as a state for `generator.bit_generator.state` (a dict as numpy gives it,
    e.g. {"bit_generator": "PCG64", "state": {...}, ...}), by setting it on a scratch bit
    generator of the same kind first. Raises ValueError naming `what`; changes nothing."""
    kind = type(generator.bit_generator)
    if not isinstance(state, dict) or state.get("bit_generator") != kind.__name__:
        raise ValueError(f"{what}: expected the state of a {kind.__name__} generator, got {reprlib.repr(state)}")
    try:
        kind().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ValueError(f"{what}: invalid {kind.__name__} state {reprlib.repr(state)} ({error})") from None
    return state


# ---------------------------------------------------------------- the training checkpoint


def save_checkpoint(
    path: str | bytes | os.PathLike,
    model=None,
    optimizer=None,
    scheduler=None,
    loader=None,
    *,
    allow_non_finite: bool = False,
    **extra,
) -> None:
    """Write one file with what training needs to resume exactly: the model's parameters and
    buffers, the optimizer's hyperparameters, state and step count, the scheduler's position,
    the DataLoader's place in its epochs, tinynet's random generator (initializers, dropout), and
    the `extra` values (e.g. epoch=3, history={...}: numbers, strings, booleans, None, numpy
    arrays, and lists, tuples and string-keyed dicts of them). Each of model, optimizer,
    scheduler and loader is saved when given.

    The file is written all at once or not at all (see `atomic_write`), without pickle. A model
    with NaN or Inf values is refused (ValueError) unless `allow_non_finite`."""
    path = os.fsdecode(path)  # str, bytes or path-like
    tree = {"random": default_generator().bit_generator.state, "extra": extra}
    for name, piece in zip(PIECES, (model, optimizer, scheduler, loader)):
        if piece is not None:
            if not callable(getattr(piece, "state_dict", None)):
                raise TypeError(f"save_checkpoint: {name} must have a state_dict() method, got {type(piece).__name__}")
            tree[name] = piece.state_dict()
    if model is not None and not allow_non_finite:
        check_finite(tree["model"], f"save_checkpoint: refusing to write {path}")
    write_tree(path, tree, TRAINING_MARK, "save_checkpoint")


def load_checkpoint(path: str | bytes | os.PathLike, model=None, optimizer=None, scheduler=None, loader=None) -> dict:
    """Restore what `save_checkpoint` wrote into the objects given (each made as for the saved
    run), and tinynet's random generator; returns the extra values as a dict.

    Everything is read and checked first (each piece's names, shapes, dtypes and kinds of value,
    and the optimizer's state against the model's parameters): on any problem a ValueError or
    TypeError names it and nothing has changed."""
    path = os.fsdecode(path)  # str, bytes or path-like
    description = "tinynet training checkpoint (an .npz file written by tn.save_checkpoint)"
    tree = read_tree(path, TRAINING_MARK, description)
    pieces = {name: piece for name, piece in zip(PIECES, (model, optimizer, scheduler, loader)) if piece is not None}
    checked = {}
    for name, piece in pieces.items():
        if name not in tree:
            raise ValueError(f"load_checkpoint: {path} holds no {name} state (it was saved without {name}=...)")
        with _named_errors(f"load_checkpoint({path}), {name}"):
            params = {"params": model.params} if name == "optimizer" and model is not None else {}
            checked[name] = piece.check_state_dict(tree[name], **params)
    with _named_errors(f"load_checkpoint({path})"):
        random_state = check_generator_state(tree.get("random"), default_generator(), "tinynet's random generator")
    for name, piece in pieces.items():
        piece.load_state_dict(checked[name])
    default_generator().bit_generator.state = random_state
    return tree.get("extra", {})


@contextlib.contextmanager
def _named_errors(where: str):
    """Re-raise a ValueError or TypeError with `where` in front of its message."""
    try:
        yield
    except (ValueError, TypeError) as error:
        raise (ValueError if isinstance(error, ValueError) else TypeError)(f"{where}: {error}") from None


def write_tree(path: str, tree, mark: str, caller: str) -> None:
    """Write `tree` (numbers, strings, booleans, None, numpy arrays, and lists, tuples and
    string-keyed dicts of them) to the .npz file `path` without pickle: each array as an entry,
    the rest as JSON in the entry `mark`. All at once or not at all (`atomic_write`); errors
    name `caller`."""
    arrays: dict[str, np.ndarray] = {}
    content = {"format": FORMAT_VERSION, "tree": _encode(tree, "", arrays, caller)}
    arrays[mark] = np.array(json.dumps(content))
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_tree(path: str, mark: str, description: str):
    """The tree that `write_tree` wrote to `path` with `mark`; a ValueError says that `path`
    is not a valid `description` otherwise."""
    with open_npz(path, mark, description) as entries:
        try:
            return _read_tree(entries, mark)
        except RecursionError:
            raise ValueError(
                f"{path} is not a valid {description}: its JSON is nested deeper than Python can follow"
            ) from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a valid {description}: {error}") from None


def _read_tree(entries: dict[str, Callable[[], np.ndarray]], mark: str):
    """The tree that `write_tree` encoded, from `open_npz`'s entries: the JSON (in the entry
    `mark`) first, then the arrays it refers to. An entry it does not refer to is refused before
    any array is read."""
    content = json.loads(str(entries[mark]()))
    if content.get("format") != FORMAT_VERSION:
        raise ValueError(f"format {content.get('format')!r}, this tinynet reads format {FORMAT_VERSION}")
    names = set(_array_names(content["tree"]))
    unexpected = sorted(set(entries) - names - {mark})
    if unexpected:
        raise ValueError(f"it holds entries that its contents do not refer to: {reprlib.repr(unexpected)}")
    missing = sorted(names - set(entries))
    if missing:
        raise ValueError(f"the array {missing[0]!r} is missing")
    return _decode(content["tree"], {name: entries[name]() for name in names})


def _array_names(value):
    """The names of the arrays that the JSON `value` refers to ({"__array__": name})."""
    if isinstance(value, list):
        for item in value:
            yield from _array_names(item)
    elif isinstance(value, dict):
        if value.keys() == {_ARRAY}:
            yield value[_ARRAY]
        else:
            for item in value.values():
                yield from _array_names(item)


def _encode(value, name: str, arrays: dict[str, np.ndarray], caller: str = "save_checkpoint"):
    """`value` as JSON-ready data; its arrays go into `arrays`, named by their path. Errors name
    `caller`."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"{caller}: {name} is an array of dtype {value.dtype}; checkpoints hold numeric arrays")
        if name in arrays:
            raise ValueError(f"{caller}: two arrays would be stored as {name!r}; rename one of the values")
        arrays[name] = value
        return {_ARRAY: name}
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        items = [_encode(item, f"{name}/{i}", arrays, caller) for i, item in enumerate(value)]
        return {_TUPLE: items} if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) and k not in (_ARRAY, _TUPLE) for k in value):
        return {k: _encode(v, f"{name}/{k}" if name else k, arrays, caller) for k, v in value.items()}
    raise TypeError(
        f"{caller}: {name} is a {type(value).__name__} ({reprlib.repr(value)}); a checkpoint holds numbers, "
        "strings, booleans, None, numpy arrays, and lists, tuples and dicts with string keys of these"
    )


def _decode(value, arrays: dict[str, np.ndarray]):
    """The inverse of `_encode`: arrays and tuples back in their places."""
    if isinstance(value, list):
        return [_decode(item, arrays) for item in value]
    if isinstance(value, dict):
        if value.keys() == {_ARRAY}:
            return arrays[value[_ARRAY]]
        if value.keys() == {_TUPLE}:
            return tuple(_decode(item, arrays) for item in value[_TUPLE])
        return {k: _decode(v, arrays) for k, v in value.items()}
    return value
