"""The shipped Shakespeare corpus: found, verified by its SHA-256, split 90/10."""

import gzip
import hashlib

import pytest

from tinynet.data import ChecksumError, load_shakespeare, shakespeare
from tinynet.data import mnist as mnist_module

SHIPPED = mnist_module.PROJECT_DATASETS / "shakespeare" / "shakespeare.txt.gz"


@pytest.fixture(scope="module")
def text():
    return gzip.decompress(SHIPPED.read_bytes()).decode("ascii")


def test_the_shipped_corpus_loads_split_90_10(text):
    train, validation = load_shakespeare()
    assert train + validation == text and len(text) == 4_804_074
    assert len(validation) == round(0.1 * len(text))
    assert validation.endswith("Let our drums strike.\n")  # the end of Timon of Athens, the last play
    assert len(set(text)) == 76


def test_the_readme_gives_the_checksum_that_the_loader_checks(text):
    readme = (SHIPPED.parent / "README.md").read_text()
    assert shakespeare.SHA256 in readme and hashlib.sha256(text.encode()).hexdigest() == shakespeare.SHA256


def test_an_uncompressed_copy_in_root_is_found_and_verified(tmp_path, text, monkeypatch):
    monkeypatch.delenv("TINYNET_DATA", raising=False)
    (tmp_path / "shakespeare.txt").write_text(text)
    train, validation = load_shakespeare(tmp_path, validation_fraction=0.5)
    assert train + validation == text and len(train) == len(text) // 2


def test_a_changed_character_fails_the_checksum(tmp_path, text):
    folder = tmp_path / "shakespeare"
    folder.mkdir()
    (folder / "shakespeare.txt.gz").write_bytes(gzip.compress(text.replace("Hamlet", "Hamlek", 1).encode()))
    with pytest.raises(ChecksumError, match=r"shakespeare.txt.gz: checksum mismatch: SHA-256 of the text is \w+, exp"):
        load_shakespeare(tmp_path)


def test_a_file_longer_than_the_corpus_is_refused_before_it_is_read_whole(tmp_path, text):
    (tmp_path / "shakespeare.txt.gz").write_bytes(gzip.compress((text + text).encode()))
    with pytest.raises(ChecksumError, match="decompresses to more than the 4,804,074 bytes expected"):
        load_shakespeare(tmp_path)


def test_a_missing_corpus_names_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "PROJECT_DATASETS", tmp_path / "nowhere")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYNET_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="shakespeare.txt.gz not found; looked in .*nowhere/shakespeare"):
        load_shakespeare(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not an existing folder"):
        load_shakespeare(tmp_path / "absent")
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 1\), got 1.5"):
        load_shakespeare(validation_fraction=1.5)
