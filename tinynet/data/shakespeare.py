"""The Shakespeare corpus: all 38 plays as one text, for character-level language models.

The project ships it in datasets/shakespeare/ (its README gives the source, licence and
checksum); `load_shakespeare` finds it, checks the SHA-256 of its text and splits it.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tinynet.data.mnist import ChecksumError, _decompressed, search_folders

FILE_NAME = "shakespeare.txt.gz"
SHA256 = "168d3ab23d0a7ec4c4dd039230cb22e24d75d832840a01c32de59450fdce17d9"  # of the decompressed text
SIZE = 4_804_074  # bytes of the decompressed text (all ASCII: one byte per character)


def load_shakespeare(root: str | os.PathLike | None = None, validation_fraction: float = 0.1) -> tuple[str, str]:
    """The corpus as (train, validation) text: the last `validation_fraction` of the characters
    are the validation set (the end of the file: the last tragedies), the rest the training set.

    Looks for shakespeare.txt.gz (or shakespeare.txt) in `root`, $TINYNET_DATA, the project's
    datasets/ folder and ~/.cache/tinynet (each one's shakespeare/ subfolder first). The text's
    SHA-256 must be the published one, else ChecksumError; a missing file is a FileNotFoundError
    naming where it was looked for."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"load_shakespeare: validation_fraction must be in (0, 1), got {validation_fraction}")
    if root is not None and not Path(root).is_dir():
        raise FileNotFoundError(f"load_shakespeare: root={os.fspath(root)!r} is not an existing folder")
    folders = search_folders("shakespeare", root)
    candidates = [folder / name for folder in folders for name in (FILE_NAME, FILE_NAME.removesuffix(".gz"))]
    path = next((candidate for candidate in candidates if candidate.is_file()), None)
    if path is None:
        raise FileNotFoundError(f"{FILE_NAME} not found; looked in " + ", ".join(map(str, folders)))
    text = read_verified(path)
    split = round(len(text) * (1 - validation_fraction))
    return text[:split], text[split:]


def read_verified(path: Path) -> str:
    """The text in `path` (gzip-compressed or not), once its SHA-256 is the published one."""
    try:
        content = _decompressed(path, path.read_bytes(), SIZE)
    except ValueError as error:
        raise ChecksumError(f"{error}: the file is corrupted or not the original {FILE_NAME}") from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != SHA256:
        raise ChecksumError(
            f"{path}: checksum mismatch: SHA-256 of the text is {digest}, expected {SHA256}; the file is corrupted "
            f"or not the original {FILE_NAME} (datasets/shakespeare/README.md)"
        )
    return content.decode("ascii")
