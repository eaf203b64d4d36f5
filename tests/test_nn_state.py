import os

import numpy as np
import pytest

from tinynet import nn


def model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_state_dict_round_trip():
    a, b = model(), model()
    a(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    b.load_state_dict(a.state_dict())
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items()):
        assert ka == kb
        np.testing.assert_array_equal(va, vb)
    assert list(a.state_dict()) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "3.weight",
        "3.bias",
        "1.running_mean",
        "1.running_var",
        "1.num_batches_tracked",
    ]


def test_state_dict_is_a_copy():
    m = model()
    state = m.state_dict()
    state["0.weight"][...] = 7
    assert not (m[0].weight.data == 7).any()


def test_load_state_dict_reports_every_problem_at_once():
    m = model()
    state = m.state_dict()
    del state["0.bias"]
    state["extra.weight"] = np.zeros(2)
    state["3.weight"] = np.zeros((5, 4))
    before = m.params.copy()
    with pytest.raises(ValueError) as error:
        m.load_state_dict(state)
    message = str(error.value)
    assert "missing keys: 0.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "3.weight: expected shape (2, 4), got (5, 4)" in message
    np.testing.assert_array_equal(m.params, before)  # nothing was loaded


def test_load_state_dict_non_strict_skips_missing_but_not_shapes():
    m = model()
    m.load_state_dict({"0.bias": np.ones(4), "other": np.zeros(1)}, strict=False)
    assert (m[0].bias.data == 1).all()
    with pytest.raises(ValueError, match="shape mismatches"):
        m.load_state_dict({"0.bias": np.ones(5)}, strict=False)


def test_save_and_load(tmp_path):
    a, b = model(), model()
    a(np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32))
    path = tmp_path / "model.npz"
    a.save(path)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # the temporary file was renamed
    params = b.params
    b.load(path)
    np.testing.assert_array_equal(params, a.params)  # loaded in place: the flat array is still live
    np.testing.assert_array_equal(b[1].running_var, a[1].running_var)


def test_save_keeps_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    model().save(path)
    original = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        model().save(path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["model.npz"]


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint file not found: .*missing.npz"):
        model().load(tmp_path / "missing.npz")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="notes.txt is not a tinynet checkpoint"):
        model().load(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.zeros(3))
    with pytest.raises(ValueError, match="plain.npz is not a tinynet checkpoint"):
        model().load(plain)
    array = tmp_path / "array.npy"
    np.save(array, np.zeros(3))
    with pytest.raises(ValueError, match="array.npy is not a tinynet checkpoint"):
        model().load(array)
    other = tmp_path / "other.npz"
    nn.Linear(2, 2).save(other)
    with pytest.raises(ValueError, match="missing keys"):
        model().load(other)
