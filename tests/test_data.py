import gzip
import hashlib
import http.server
import os
import threading
import typing
import zlib

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import ChecksumError, DataLoader, Dataset, TensorDataset, load_mnist, read_idx
from tinynet.data import mnist as mnist_module
from tinynet.data.mnist import DataFile, DataSpec, download_file, load_idx_dataset


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(mnist_module.IDX_TYPES[type_code]).tobytes()


IMAGES = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
LABELS = np.array([7, 0, 9], dtype=np.uint8)


# ---------------------------------------------------------------- IDX parsing


@pytest.mark.parametrize("compressed", [False, True])
def test_read_idx_raw_and_gzip(tmp_path, compressed):
    path = tmp_path / ("images.gz" if compressed else "images")
    content = idx_bytes(IMAGES)
    path.write_bytes(gzip.compress(content) if compressed else content)
    np.testing.assert_array_equal(read_idx(path, expected_magic=2051), IMAGES)


def test_read_idx_other_types(tmp_path):
    values = np.array([[1.5, -2.0], [3.25, 4.0]])
    path = tmp_path / "floats"
    path.write_bytes(idx_bytes(values, 0x0D))
    result = read_idx(path)
    np.testing.assert_array_equal(result, values)
    assert result.dtype == np.float32 and result.dtype.isnative


def test_truncated_file_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(IMAGES)[:-7])
    with pytest.raises(ValueError, match=r"train-images-idx3-ubyte: truncated: the header announces shape \(3, 4, 5\)"):
        read_idx(path)


def test_wrong_magic_number_names_the_file(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(idx_bytes(LABELS))
    with pytest.raises(ValueError, match="labels-idx1-ubyte: wrong magic number 2049, expected 2051"):
        read_idx(path, expected_magic=2051)
    path.write_bytes(b"\x12\x34" + idx_bytes(LABELS)[2:])
    with pytest.raises(ValueError, match="labels-idx1-ubyte: not an IDX file"):
        read_idx(path)


def test_corrupted_gzip_names_the_file(tmp_path):
    path = tmp_path / "images.gz"
    data = bytearray(gzip.compress(idx_bytes(IMAGES)))
    data[20:30] = b"\xff" * 10
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"images.gz: corrupted gzip file"):
        read_idx(path)
    path.write_bytes(gzip.compress(idx_bytes(IMAGES))[:-12])
    with pytest.raises(ValueError, match=r"images.gz: corrupted gzip file"):
        read_idx(path)


def test_trailing_data_is_an_error(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(LABELS) + b"\x00")
    with pytest.raises(ValueError, match="labels: trailing data"):
        read_idx(path)


# ---------------------------------------------------------------- the shipped MNIST


def test_shipped_mnist_loads_and_is_verified():
    x_train, y_train, x_test, y_test = load_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert (y_train == 0).sum() == 5923 and (y_train == 1).sum() == 6742


def spec_for(tmp_path, files):
    """A small MNIST-like dataset: its files, and a DataSpec whose MD5s match them."""
    data_files = []
    for name, array, magic in files:
        payload = gzip.compress(idx_bytes(array))
        (tmp_path / name).write_bytes(payload)
        data_files.append(DataFile(name, hashlib.md5(payload).hexdigest(), None, magic))
    return DataSpec("tiny", (), tuple(data_files))


TINY_FILES = [
    ("train-images-idx3-ubyte.gz", IMAGES, 2051),
    ("train-labels-idx1-ubyte.gz", LABELS, 2049),
    ("t10k-images-idx3-ubyte.gz", IMAGES[:2], 2051),
    ("t10k-labels-idx1-ubyte.gz", LABELS[:2], 2049),
]


def test_search_order_root_then_environment(tmp_path, monkeypatch):
    served = tmp_path / "served"
    served.mkdir()
    spec = spec_for(served, TINY_FILES)
    monkeypatch.setenv("TINYNET_DATA", str(served))
    x_train, _y_train, _x_test, y_test = load_idx_dataset(spec, download_missing=False)
    np.testing.assert_allclose(x_train, IMAGES / 255, rtol=1e-6)
    assert y_test.tolist() == [7, 0]
    folders = mnist_module.search_folders(spec, root=tmp_path / "root")
    assert folders[:4] == [tmp_path / "root" / "tiny", tmp_path / "root", served / "tiny", served]


def test_corrupted_local_file_fails_its_checksum(tmp_path):
    spec = spec_for(tmp_path, TINY_FILES)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.array([1, 2, 3]))))
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte.gz: checksum mismatch"):
        load_idx_dataset(spec, root=tmp_path, download_missing=False)


def test_mnist_content_checksum_catches_a_changed_file(tmp_path):
    bad = tmp_path / "mnist"
    bad.mkdir()
    for f in mnist_module.MNIST.files:
        source = mnist_module.PROJECT_DATASETS / "mnist" / f.name
        (bad / f.name).write_bytes(source.read_bytes())
    labels = gzip.decompress((bad / "t10k-labels-idx1-ubyte.gz").read_bytes())
    (bad / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(labels[:-1] + b"\x03"))
    with pytest.raises(ChecksumError, match="t10k-labels-idx1-ubyte.gz: content checksum mismatch"):
        load_mnist(root=tmp_path, download=False)


def test_missing_files_without_download(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "PROJECT_DATASETS", tmp_path / "nowhere")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TINYNET_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz not found; looked in"):
        load_mnist(root=tmp_path, download=False)


# ---------------------------------------------------------------- downloading from a local server


class MirrorHandler(http.server.BaseHTTPRequestHandler):
    """/good/NAME serves the file, /bad/NAME other bytes, /drop/NAME half of it then hangs up."""

    files: typing.ClassVar[dict[str, bytes]] = {}

    def do_GET(self):
        kind, name = self.path.strip("/").split("/", 1)
        if name not in self.files or kind not in ("good", "bad", "drop"):
            self.send_error(404)
            return
        body = self.files[name] if kind != "bad" else b"not the file" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MirrorHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_good_file(tmp_path, mirror):
    payload = gzip.compress(idx_bytes(LABELS))
    MirrorHandler.files = {"labels.gz": payload}
    file = DataFile("labels.gz", hashlib.md5(payload).hexdigest(), None, 2049)
    path = download_file(file, [f"{mirror}/good/"], tmp_path / "data", timeout=5)
    assert path.read_bytes() == payload
    assert os.listdir(tmp_path / "data") == ["labels.gz"]


def test_download_falls_through_bad_checksum_and_dropped_connection(tmp_path, mirror):
    payload = gzip.compress(idx_bytes(IMAGES)) * 50
    MirrorHandler.files = {"images.gz": payload}
    file = DataFile("images.gz", hashlib.md5(payload).hexdigest(), None, 2051)
    mirrors = [f"{mirror}/drop/", f"{mirror}/bad/", f"{mirror}/good/"]
    path = download_file(file, mirrors, tmp_path, timeout=5)
    assert path.read_bytes() == payload
    assert os.listdir(tmp_path) == ["images.gz"]  # no partial file left behind


def test_download_failing_everywhere_leaves_nothing(tmp_path, mirror):
    payload = gzip.compress(idx_bytes(IMAGES))
    MirrorHandler.files = {"images.gz": payload}
    file = DataFile("images.gz", hashlib.md5(payload).hexdigest(), None, 2051)
    with pytest.raises(ConnectionError) as error:
        download_file(file, [f"{mirror}/drop/", f"{mirror}/bad/", f"{mirror}/missing/"], tmp_path, timeout=5)
    message = str(error.value)
    assert "could not download images.gz from any mirror" in message
    assert "connection dropped after 46 of 92 bytes" in message and "does not match" in message and "404" in message
    assert os.listdir(tmp_path) == []


def test_load_downloads_what_is_missing(tmp_path, mirror):
    served = tmp_path / "served"
    served.mkdir()
    spec = spec_for(served, TINY_FILES)
    MirrorHandler.files = {name: (served / name).read_bytes() for name, _, _ in TINY_FILES}
    spec = DataSpec("tiny", (f"{mirror}/bad/", f"{mirror}/good/"), spec.files)
    (tmp_path / "root").mkdir()  # a root that does not exist is refused (a typo would load other data)
    x_train, y_train, _x_test, _y_test = load_idx_dataset(spec, root=tmp_path / "root")
    assert sorted(os.listdir(tmp_path / "root" / "tiny")) == sorted(name for name, _, _ in TINY_FILES)
    assert x_train.shape == (3, 4, 5) and y_train.tolist() == [7, 0, 9]


# ---------------------------------------------------------------- DataLoader


def test_batches_and_len():
    x, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    dropping = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(dropping) == 2 and [len(b[1]) for b in dropping] == [4, 4]


def test_unshuffled_batches_are_views():
    x = np.arange(20.0).reshape(10, 2)
    (first, _), *_ = DataLoader(TensorDataset(x, np.arange(10)), batch_size=5)
    assert np.shares_memory(first, x)


def test_shuffle_is_a_permutation_reshuffled_each_epoch_and_seeded():
    y = np.arange(100)
    loader = DataLoader(TensorDataset(y), batch_size=32, shuffle=True, seed=3)
    first = np.concatenate([b[0] for b in loader])
    second = np.concatenate([b[0] for b in loader])
    assert sorted(first.tolist()) == y.tolist() and not np.array_equal(first, y)
    assert not np.array_equal(first, second)
    again = DataLoader(TensorDataset(y), batch_size=32, shuffle=True, seed=3)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), first)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in again]), second)
    tn.manual_seed(1)
    a = np.concatenate([b[0] for b in DataLoader(TensorDataset(y), batch_size=32, shuffle=True)])
    tn.manual_seed(1)
    b = np.concatenate([b[0] for b in DataLoader(TensorDataset(y), batch_size=32, shuffle=True)])
    np.testing.assert_array_equal(a, b)


def test_generic_dataset_is_stacked():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i]), i % 2

    batches = list(DataLoader(Squares(), batch_size=2))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[1][0], [[2, 4], [3, 9]])
    np.testing.assert_array_equal(batches[2][1], [0])


def test_dataloader_and_dataset_errors():
    with pytest.raises(ValueError, match="same length"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size must be a positive integer, got 0"):
        DataLoader(TensorDataset(np.zeros(3)), batch_size=0)
    with pytest.raises(TypeError, match="needs __len__ and __getitem__"):
        DataLoader(42)
    with pytest.raises(NotImplementedError, match="must define __len__"):
        len(Dataset())


# ---------------------------------------------------------------- untrusted files, bounded


def gzip_of_zeros(path, size: int, header: bytes = b"") -> None:
    """Write a gzip file of `header` then zeros, `size` bytes in all, without holding them in memory."""
    stream = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(path, "wb") as f:
        f.write(stream.compress(header))
        chunk = bytes(1 << 20)
        for _ in range((size - len(header)) >> 20):
            f.write(stream.compress(chunk))
        f.write(stream.flush())


def test_a_gzip_bomb_named_as_mnist_is_refused_without_decompressing_more_than_mnist_holds(tmp_path, peak_memory):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in mnist_module.MNIST.files:
        (folder / f.name).write_bytes((mnist_module.PROJECT_DATASETS / "mnist" / f.name).read_bytes())
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (60_000, 28, 28))
    gzip_of_zeros(folder / "train-images-idx3-ubyte.gz", 400 << 20, header)  # 400 MiB in 0.4 MB of gzip

    def load():
        with pytest.raises(
            ChecksumError, match=r"train-images-idx3-ubyte.gz: decompresses to more than the 47,040,016"
        ):
            load_mnist(root=tmp_path, download=False)

    assert peak_memory(load) < 150 << 20  # the real train images are 47 MB; the bomb would be 400


def test_read_idx_decompresses_no_more_than_its_header_announces(tmp_path, peak_memory):
    header = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big")
    gzip_of_zeros(tmp_path / "labels.gz", 200 << 20, header)

    def read():
        with pytest.raises(ValueError, match=r"labels.gz: decompresses to more than the 18 bytes expected"):
            read_idx(tmp_path / "labels.gz")

    assert peak_memory(read) < 20 << 20


def test_an_idx_header_whose_size_overflows_int64_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "huge-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 4]) + b"".join((65_536).to_bytes(4, "big") for _ in range(4)))  # 2**64 elements
    with pytest.raises(ValueError, match=r"huge-idx3-ubyte: the header announces shape \(65536, 65536, 65536, 65536\)"):
        read_idx(path)


# ---------------------------------------------------------------- batches of other samples


class Samples(Dataset):
    """A dataset of the given samples."""

    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


def test_dict_samples_are_batched_key_by_key_as_pytorch_does():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate

    rng = np.random.default_rng(0)
    samples = [
        {"image": rng.standard_normal((2, 3)).astype(np.float32), "label": i % 3, "pair": (np.float32(i), i * 2)}
        for i in range(5)
    ]
    ours = list(DataLoader(Samples(samples), batch_size=2))
    theirs = list(torch.utils.data.DataLoader(samples, batch_size=2, collate_fn=default_collate))
    assert len(ours) == len(theirs) == 3
    for mine, reference in zip(ours, theirs):
        assert mine.keys() == reference.keys() == {"image", "label", "pair"}
        np.testing.assert_array_equal(mine["image"], reference["image"].numpy())
        np.testing.assert_array_equal(mine["label"], reference["label"].numpy())
        assert len(mine["pair"]) == len(reference["pair"]) == 2
        for field, reference_field in zip(mine["pair"], reference["pair"]):
            np.testing.assert_array_equal(field, reference_field.numpy())


@pytest.mark.parametrize(
    "samples, message",
    [
        ([np.zeros(3), np.zeros(3), np.zeros(4)], r"sample 2 has shape \(4,\), sample 0 has \(3,\).*pad them"),
        ([(np.zeros(2), 1), (np.zeros(5), 0)], r"sample 1\[0\] has shape \(5,\), sample 0\[0\] has \(2,\)"),
        ([{"x": np.zeros(2)}, {"x": np.zeros(2)}, {"x": np.zeros(1)}], r"sample 2\['x'\] has shape \(1,\)"),
        ([{"x": 1}, {"y": 2}], r"sample 1 has the keys \['y'\], sample 0 has \['x'\]"),
        ([(1, 2), (1, 2, 3)], r"sample 1 has 3 fields, sample 0 has 2 fields"),
        ([[1, 2], [1, [2, 3]]], r"sample 1 is ragged"),
    ],
    ids=["arrays", "tuple field", "dict field", "other keys", "other fields", "ragged list"],
)
def test_samples_that_do_not_fit_in_one_batch_are_named_by_index(samples, message):
    with pytest.raises(ValueError, match=rf"DataLoader: {message}"):
        list(DataLoader(Samples(samples), batch_size=len(samples)))
