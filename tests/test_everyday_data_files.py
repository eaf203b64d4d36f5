"""data.random_split, Subset, ConcatDataset beside PyTorch's; tn.save and tn.load for state
dicts (a model's, an optimizer's, nested), without pickle, and loading PyTorch's weights."""

import os

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn, optim
from tinynet.data import ConcatDataset, DataLoader, Subset, TensorDataset, random_split

torch = pytest.importorskip("torch")


def dataset(n: int = 10, start: int = 0) -> TensorDataset:
    return TensorDataset(np.arange(start, start + n), np.arange(start, start + n) * 10)


def test_subset_and_concat_dataset_index_as_torch():
    ours = ConcatDataset([Subset(dataset(), [4, 0, 9]), dataset(3, start=100)])
    theirs = torch.utils.data.ConcatDataset(
        [torch.utils.data.Subset(dataset(), [4, 0, 9]), dataset(3, start=100)]  # torch takes any dataset
    )
    assert len(ours) == len(theirs) == 6
    for i in range(-6, 6):
        assert ours[i] == theirs[i]
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    batches = list(DataLoader(ours, batch_size=4))
    np.testing.assert_array_equal(batches[0][0], [4, 0, 9, 100])
    np.testing.assert_array_equal(batches[1][1], [1010, 1020])


def test_subset_and_concat_errors():
    with pytest.raises(IndexError, match="Subset: indices \\[10\\] are out of range for a dataset of 10 samples"):
        Subset(dataset(), [1, 10])
    with pytest.raises(IndexError, match="ConcatDataset: index 20 is out of range for 20 samples"):
        ConcatDataset([dataset(), dataset()])[20]
    with pytest.raises(ValueError, match="ConcatDataset: expected at least one dataset"):
        ConcatDataset([])


@pytest.mark.parametrize("lengths", [[7, 3], [0.7, 0.3], [0.5, 0.25, 0.25], [0.33, 0.33, 0.34], [10, 0]])
def test_random_split_sizes_match_torch(lengths):
    data = dataset(10)
    ours = random_split(data, lengths, seed=0)
    theirs = torch.utils.data.random_split(range(10), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    indices = sorted(i for part in ours for i in part.indices)
    assert indices == list(range(10))  # a partition: every sample once


def test_random_split_is_reproducible():
    first = random_split(dataset(), [5, 5], generator=np.random.default_rng(4))
    second = random_split(dataset(), [5, 5], seed=None, generator=np.random.default_rng(4))
    assert [s.indices for s in first] == [s.indices for s in second]
    tn.manual_seed(1)
    third = random_split(dataset(), [0.5, 0.5])
    tn.manual_seed(1)
    assert [s.indices for s in third] == [s.indices for s in random_split(dataset(), [0.5, 0.5])]


def test_random_split_errors():
    with pytest.raises(ValueError, match="counts adding up to the dataset's 10 samples, or fractions adding up to 1"):
        random_split(dataset(), [3, 3])
    with pytest.raises(ValueError, match="counts adding up"):
        random_split(dataset(), [0.5, 0.6])
    with pytest.raises(ValueError, match="give generator or seed, not both"):
        random_split(dataset(), [5, 5], generator=np.random.default_rng(0), seed=1)


# ---------------------------------------------------------------- tn.save and tn.load


def test_save_and_load_a_state_dict(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    path = tmp_path / "model.npz"
    tn.save(model.state_dict(), path)
    loaded = tn.load(path)
    assert list(loaded) == list(model.state_dict())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[name], value)
        assert loaded[name].dtype == value.dtype
    fresh = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    fresh.load_state_dict(tn.load(path))
    x = np.ones((2, 3), np.float32)
    fresh.eval(), model.eval()
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_save_and_load_an_optimizer_and_nested_dicts(tmp_path):
    model = nn.Linear(3, 2)
    opt = optim.Adam(lr=1e-2)
    model(np.ones((4, 3), np.float32)).sum().backward()
    opt.step(model.grads, model.params)
    path = tmp_path / "run.npz"
    tn.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3, "weight": model.weight}, path)
    loaded = tn.load(path)
    assert loaded["epoch"] == 3
    np.testing.assert_array_equal(loaded["weight"], model.weight.data)  # a Tensor is saved as its array
    resumed = optim.Adam(lr=1.0)
    resumed.load_state_dict(loaded["optimizer"])
    assert resumed.lr == opt.lr and resumed.step_count == opt.step_count
    for key, value in opt.state.items():
        np.testing.assert_array_equal(resumed.state[key], value)


def test_pytorch_weights_load_through_save_and_load(tmp_path):
    theirs = torch.nn.Sequential(torch.nn.Conv1d(2, 3, 3), torch.nn.GroupNorm(1, 3), torch.nn.Flatten())
    ours = nn.Sequential(nn.Conv1d(2, 3, 3), nn.GroupNorm(1, 3), nn.Flatten())
    tn.save({k: v.numpy() for k, v in theirs.state_dict().items()}, tmp_path / "from_torch.npz")
    ours.load_state_dict(tn.load(tmp_path / "from_torch.npz"))
    x = np.random.default_rng(0).standard_normal((2, 2, 6)).astype(np.float32)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_refuses_pickles_and_other_files(tmp_path):
    pickled = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), pickled)
    with pytest.raises(ValueError, match="is not a file written by tn.save"):
        tn.load(pickled)
    model = nn.Linear(2, 2)
    model.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="it is a model file written by Module.save"):
        tn.load(tmp_path / "model.npz")
    tn.save({"a": np.zeros(2)}, tmp_path / "saved.npz")
    with pytest.raises(ValueError, match="it is a file written by tn.save: load it with tn.load"):
        tn.load_checkpoint(tmp_path / "saved.npz", model=model)
    with pytest.raises(FileNotFoundError):
        tn.load(tmp_path / "missing.npz")


def test_save_names_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="save: obj/layer is a Linear"):
        tn.save({"layer": nn.Linear(2, 2)}, tmp_path / "x.npz")
    with pytest.raises(FileNotFoundError, match="the folder .* does not exist"):
        tn.save({"a": np.zeros(2)}, tmp_path / "no" / "x.npz")
    assert os.listdir(tmp_path) == []
