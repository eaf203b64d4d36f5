"""MNIST and Fashion-MNIST: find, download, verify and parse the standard IDX files.

An IDX file is a big-endian header followed by the raw array:

    bytes 0-1   0x00 0x00
    byte  2     element type (0x08 = uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64)
    byte  3     number of dimensions d
    then        d sizes, each a big-endian uint32, then prod(sizes) elements

MNIST's images have magic number 2051 (uint8, 3 dimensions) and its labels 2049 (uint8, 1).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import urllib.request
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinynet.checkpoint import atomic_write

IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
PROJECT_DATASETS = Path(__file__).resolve().parents[2] / "datasets"


class ChecksumError(ValueError):
    """A data file's checksum does not match the published one."""


@dataclass(frozen=True)
class DataFile:
    name: str  # as on the mirrors, e.g. "train-images-idx3-ubyte.gz"
    md5: str  # of the .gz file as the mirrors serve it
    sha256: str | None  # of the decompressed content, where known
    magic: int  # 2051 for images, 2049 for labels
    size: int | None = None  # of the decompressed content in bytes, where known: decompression stops there


@dataclass(frozen=True)
class DataSpec:
    folder: str
    mirrors: tuple[str, ...]
    files: tuple[DataFile, DataFile, DataFile, DataFile]  # train images, train labels, test images, test labels


MNIST = DataSpec(
    folder="mnist",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    files=(
        DataFile(
            "train-images-idx3-ubyte.gz",
            "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            2051,
            47_040_016,
        ),
        DataFile(
            "train-labels-idx1-ubyte.gz",
            "d53e105ee54ea40749a09fcbcd1e9432",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            2049,
            60_008,
        ),
        DataFile(
            "t10k-images-idx3-ubyte.gz",
            "9fb629c4189551a2d022fa330f9573f3",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            2051,
            7_840_016,
        ),
        DataFile(
            "t10k-labels-idx1-ubyte.gz",
            "ec29112dd5afa0611ce80d1b7f02629c",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            2049,
            10_008,
        ),
    ),
)

FASHION_MNIST = DataSpec(
    folder="fashion-mnist",
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    files=(
        DataFile("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", None, 2051, 47_040_016),
        DataFile("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", None, 2049, 60_008),
        DataFile("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", None, 2051, 7_840_016),
        DataFile("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", None, 2049, 10_008),
    ),
)


# ---------------------------------------------------------------- parsing


MAX_HEADER = 4 + 4 * 255  # the magic number and up to 255 sizes


def read_idx(path: str | os.PathLike, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or raw) into a numpy array, checking its header. A
    compressed file is decompressed only as far as its header announces."""
    path = Path(path)
    raw = path.read_bytes()
    return parse_idx(_decompressed(path, raw, _announced_size(path, raw)), path, expected_magic)


def _decompressed(path: Path, raw: bytes, limit: int, whole: bool = True) -> bytes:
    """`raw` itself or, if it is gzip-compressed, its content: all of it (`whole`), which must
    be at most `limit` bytes, or its first `limit` bytes. Decompression stops after `limit`
    bytes, so that a small file cannot expand to fill the memory."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # the gzip format
    try:
        content = stream.decompress(raw, limit + 1)
    except zlib.error as error:
        raise ValueError(f"{path}: corrupted gzip file ({error})") from None
    if not whole:
        return content[:limit]
    if len(content) > limit:
        raise ValueError(f"{path}: decompresses to more than the {limit:,} bytes expected; refusing to read on")
    if not stream.eof or stream.unused_data:
        problem = "it ends before its compressed stream does" if not stream.eof else "data after the compressed stream"
        raise ValueError(f"{path}: corrupted gzip file ({problem})")
    return content


def _announced_size(path: Path, raw: bytes) -> int:
    """The size in bytes of the IDX file `raw` (perhaps compressed), as its header announces it
    (or the size of its first bytes if they are no IDX header: parse_idx then says what is wrong)."""
    start = _decompressed(path, raw, MAX_HEADER, whole=False)
    try:
        shape, dtype, header = _header(start, path)
    except ValueError:
        return len(start)
    return header + math.prod(shape) * dtype.itemsize


def _header(content: bytes, path: Path, expected_magic: int | None = None) -> tuple[tuple[int, ...], np.dtype, int]:
    """The shape, element type and header size that the IDX header at the start of `content` announces."""
    if len(content) < 4:
        raise ValueError(f"{path}: too short for an IDX file ({len(content)} bytes)")
    magic = int.from_bytes(content[:4], "big")
    type_code, ndim = content[2], content[3]
    if content[:2] != b"\x00\x00" or type_code not in IDX_TYPES or ndim == 0:
        raise ValueError(f"{path}: not an IDX file (magic number {magic:#010x})")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(f"{path}: wrong magic number {magic}, expected {expected_magic}")
    header = 4 + 4 * ndim
    if len(content) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_TYPES[type_code])
    if math.prod(shape) * dtype.itemsize > np.iinfo(np.int64).max:
        raise ValueError(
            f"{path}: the header announces shape {shape}, {math.prod(shape):,} elements: more than an array can hold"
        )
    return shape, dtype, header


def parse_idx(content: bytes, path: Path, expected_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file; `path` names the file in error messages."""
    shape, dtype, header = _header(content, path, expected_magic)
    expected = header + math.prod(shape) * dtype.itemsize
    if len(content) != expected:
        raise ValueError(
            f"{path}: {'truncated' if len(content) < expected else 'trailing data'}: "
            f"the header announces shape {shape}, which needs {expected} bytes, but the file has {len(content)}"
        )
    return np.frombuffer(content, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


# ---------------------------------------------------------------- finding and verifying


def search_folders(spec: DataSpec | str, root: str | os.PathLike | None = None) -> list[Path]:
    """Where the files of a data set (its DataSpec, or the name of its subfolder) are looked
    for, in order: root, $TINYNET_DATA, the project's datasets/ folder, the user cache (each
    base directory's subfolder for the data set first, then the base directory itself)."""
    subfolder = spec if isinstance(spec, str) else spec.folder
    bases = [Path(root)] if root is not None else []
    if os.environ.get("TINYNET_DATA"):
        bases.append(Path(os.environ["TINYNET_DATA"]))
    bases += [PROJECT_DATASETS, cache_folder()]
    return [folder for base in bases for folder in (base / subfolder, base)]


def cache_folder() -> Path:
    """Where downloaded data sets are kept: $XDG_CACHE_HOME/tinynet, else ~/.cache/tinynet."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tinynet"


def _find(file: DataFile, folders: list[Path]) -> Path | None:
    for folder in folders:
        for name in (file.name, file.name.removesuffix(".gz")):
            if (folder / name).is_file():
                return folder / name
    return None


def _load_verified(path: Path, file: DataFile) -> np.ndarray:
    """The array in `path`, one of the files of a data set: its size checked first, then the
    checksum of the file as it is (the published MD5 of the .gz); only then is it decompressed,
    at most to `file.size` bytes. A file recompressed or stored uncompressed is checked by the
    SHA-256 of its content where that is published."""
    on_disk = path.stat().st_size
    if file.size is not None and on_disk > file.size + file.size // 100 + 1024:  # gzip adds a few bytes per 16 KiB
        raise ChecksumError(f"{path}: {on_disk:,} bytes, more than {file.name} can be ({file.size:,} uncompressed)")
    raw = path.read_bytes()
    limit = file.size if file.size is not None else _announced_size(path, raw)
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest()
    if md5 == file.md5:
        return parse_idx(_decompressed(path, raw, limit), path, file.magic)
    if file.sha256 is None:
        if raw[:2] == b"\x1f\x8b":
            raise ChecksumError(f"{path}: checksum mismatch: MD5 {md5}, expected {file.md5}")
        warnings.warn(f"{path}: no published checksum for the uncompressed file; not verified", stacklevel=3)
        return parse_idx(raw, path, file.magic)
    try:
        content = _decompressed(path, raw, limit)
    except ValueError as error:
        raise ChecksumError(f"{error}: the file is corrupted or not the original {file.name}") from None
    if hashlib.sha256(content).hexdigest() != file.sha256:
        raise ChecksumError(
            f"{path}: content checksum mismatch: SHA-256 of the decompressed data is "
            f"{hashlib.sha256(content).hexdigest()}, expected {file.sha256}; the file is corrupted or not "
            f"the original {file.name}"
        )
    return parse_idx(content, path, file.magic)


# ---------------------------------------------------------------- downloading


def download_file(file: DataFile, mirrors: tuple[str, ...] | list[str], folder: Path, timeout: float = 30.0) -> Path:
    """Download `file` into `folder`, trying each mirror in turn until one gives the right MD5.

    Each download is written to a temporary file that is renamed only once complete and
    verified (see tinynet.checkpoint.atomic_write), so a dropped connection or a bad file
    never leaves a partial file behind."""
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for mirror in mirrors:
        url = mirror + file.name
        try:
            atomic_write(folder / file.name, functools.partial(_download, url, file, timeout))
            return folder / file.name
        except Exception as error:  # any failure of one mirror: note it and try the next
            failures.append(f"{url}: {type(error).__name__}: {error}")
    raise ConnectionError(f"could not download {file.name} from any mirror:\n  " + "\n  ".join(failures))


def _download(url: str, file: DataFile, timeout: float, out) -> None:
    """Stream `url` into the open file `out`, with a progress bar; raise unless complete with the right MD5."""
    from tqdm import tqdm

    md5 = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=file.name, leave=False) as bar:
            while chunk := response.read(1 << 16):
                out.write(chunk)
                md5.update(chunk)
                bar.update(len(chunk))
    if total is not None and bar.n != total:
        raise ConnectionError(f"connection dropped after {bar.n} of {total} bytes")
    if md5.hexdigest() != file.md5:
        raise ChecksumError(f"MD5 {md5.hexdigest()} does not match {file.md5}")


Splits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def load_idx_dataset(spec: DataSpec, root: str | os.PathLike | None = None, download_missing: bool = True) -> Splits:
    """(x_train, y_train, x_test, y_test) of an MNIST-format dataset: see `load_mnist`."""
    if root is not None and not Path(root).is_dir():
        raise FileNotFoundError(
            f"{spec.folder} data folder not found: root={os.fspath(root)!r} is not an existing folder. Pass the "
            "folder that holds the files (or should receive them), or leave root=None to look in the usual places"
        )
    folders = search_folders(spec, root)
    arrays = []
    for file in spec.files:
        path = _find(file, folders)
        if path is None:
            if not download_missing:
                raise FileNotFoundError(
                    f"{file.name} not found; looked in "
                    + ", ".join(map(str, folders))
                    + ". Pass download=True, or root= a folder that holds the file"
                )
            target = Path(root) if root is not None else Path(os.environ.get("TINYNET_DATA") or cache_folder())
            path = download_file(file, spec.mirrors, target / spec.folder)
        arrays.append(_load_verified(path, file))
    x_train, y_train, x_test, y_test = arrays
    for images, labels, split in ((x_train, y_train, "training"), (x_test, y_test, "test")):
        if len(images) != len(labels):
            raise ValueError(f"{spec.folder}: {split} set has {len(images)} images but {len(labels)} labels")
    scale = np.float32(1 / 255)
    return x_train * scale, y_train.astype(np.int64), x_test * scale, y_test.astype(np.int64)


def load_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """MNIST as (x_train, y_train, x_test, y_test): float32 images in [0, 1] of shape
    (N, 28, 28) and int64 labels; 60,000 training and 10,000 test samples.

    Looks in `root`, $TINYNET_DATA, the project's datasets/ folder and ~/.cache/tinynet (and
    each one's mnist/ subfolder); downloads what is missing when `download` is True (into
    `root` if given). A `root` that is not an existing folder raises FileNotFoundError. Every
    file's checksum is verified before it is parsed."""
    return load_idx_dataset(MNIST, root, download)


def load_fashion_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Splits:
    """Fashion-MNIST, in the same form and from the same places as `load_mnist`
    (subfolder fashion-mnist/)."""
    return load_idx_dataset(FASHION_MNIST, root, download)
