"""tn.save_checkpoint / tn.load_checkpoint: exact resumes, atomic writes, checks before changes, no pickle."""

import io
import json
import os
import pickle
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.checkpoint import TRAINING_MARK, atomic_write
from tinynet.data import DataLoader, TensorDataset
from tinynet.optim import lr_scheduler
from tinynet.random import default_generator

DATA = np.random.default_rng(0).standard_normal((40, 5)).astype(np.float32)
LABELS = np.arange(40) % 3


def make_run(seed=0):
    """A model with dropout (tinynet's generator) and batch norm (buffers), Adam, a cosine
    schedule and a shuffling loader: every piece a checkpoint holds."""
    tn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 3))
    opt = optim.Adam(lr=0.01)
    schedule = lr_scheduler.CosineAnnealingLR(opt, T_max=6)
    loader = DataLoader(TensorDataset(DATA, LABELS), batch_size=8, shuffle=True, seed=seed)
    return model, opt, schedule, loader


def batches(loader):
    """The loader's batches, epoch after epoch, as one stream."""
    while True:
        yield from loader


def train_steps(model, opt, stream, steps):
    """`steps` optimizer steps on batches from `stream`; returns the losses."""
    losses = []
    for (x, y), _ in zip(stream, range(steps)):
        loss = F.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        opt.step(model.grads, model.params)
        losses.append(loss.item())
    return losses


def test_resume_mid_epoch_continues_bit_identical(tmp_path):
    model, opt, schedule, loader = make_run()
    stream = batches(loader)
    train_steps(model, opt, stream, 7)  # one epoch is 5 batches: this stops inside the second
    schedule.step()
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, model, opt, schedule, loader, epoch=1, note="mid-epoch")
    straight = train_steps(model, opt, stream, 9)

    model2, opt2, schedule2, loader2 = make_run(seed=1)  # other initial weights, order and generator
    extra = tn.load_checkpoint(path, model2, opt2, schedule2, loader2)
    assert extra == {"epoch": 1, "note": "mid-epoch"}
    assert schedule2.last_epoch == schedule.last_epoch and opt2.lr == opt.lr
    resumed = train_steps(model2, opt2, batches(loader2), 9)
    assert resumed == straight
    for (name, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_every_piece_round_trips(tmp_path):
    model, opt, schedule, loader = make_run()
    train_steps(model, opt, batches(loader), 4)
    schedule.step()
    path = tmp_path / "run.npz"
    extra = {
        "epoch": 3,
        "loss": 0.25,
        "name": "mlp",
        "done": False,
        "nothing": None,
        "history": {"train_loss": [1.0, 0.5], "pair": (1, "a")},
        "weights": np.arange(4.0),
        "count": np.int64(7),
    }
    tn.save_checkpoint(path, model, opt, schedule, loader, **extra)
    model2, opt2, schedule2, loader2 = make_run(seed=5)
    loaded = tn.load_checkpoint(path, model2, opt2, schedule2, loader2)
    np.testing.assert_array_equal(loaded.pop("weights"), extra.pop("weights"))
    assert loaded == extra and isinstance(loaded["history"]["pair"], tuple) and type(loaded["count"]) is int
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(model2.state_dict()[key], value)
    assert repr(opt2) == repr(opt) and opt2.step_count == opt.step_count
    for key, value in opt.state.items():
        np.testing.assert_array_equal(opt2.state[key], value)
    assert schedule2.state_dict() == schedule.state_dict()
    assert loader2.state_dict() == loader.state_dict()
    before = default_generator().random()
    tn.load_checkpoint(path)  # nothing given: only tinynet's generator, as it was when saved
    assert default_generator().random() == before


def test_global_generator_is_restored(tmp_path):
    tn.manual_seed(3)
    default_generator().random(5)
    tn.save_checkpoint(tmp_path / "g.npz")
    expected = default_generator().random(3)
    tn.manual_seed(99)
    assert tn.load_checkpoint(tmp_path / "g.npz") == {}
    np.testing.assert_array_equal(default_generator().random(3), expected)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=0.5),
        lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 4]),
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10, three_phase=True),
        lambda o: lr_scheduler.LinearLR(o),
        lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="max", patience=0),
    ],
    ids=["step", "multistep", "onecycle", "linear", "plateau"],
)
def test_every_scheduler_round_trips(tmp_path, make):
    first, second = optim.SGDm(lr=0.1), optim.SGDm(lr=0.1)
    schedule = make(first)
    plateau = isinstance(schedule, lr_scheduler.ReduceLROnPlateau)
    for metric in (1.0, 0.5, 0.2):
        schedule.step(metric) if plateau else schedule.step()
    tn.save_checkpoint(tmp_path / "s.npz", optimizer=first, scheduler=schedule)
    resumed = make(second)
    tn.load_checkpoint(tmp_path / "s.npz", optimizer=second, scheduler=resumed)
    for metric in (0.1, 0.3, 0.3):
        for s in (schedule, resumed):
            s.step(metric) if plateau else s.step()
        assert resumed.get_last_lr() == schedule.get_last_lr()
        assert getattr(second, "momentum", None) == getattr(first, "momentum", None)


def test_loader_state_reproduces_the_epoch_order():
    loader = DataLoader(TensorDataset(np.arange(20)), batch_size=np.int64(4), shuffle=True, seed=1)
    assert loader.batch_size == 4 and type(loader.batch_size) is int
    iterator = iter(loader)
    next(iterator), next(iterator)
    state = loader.state_dict()
    assert state["batches_done"] == 2
    rest = [batch[0].tolist() for batch in iterator] + [batch[0].tolist() for batch in loader]
    again = DataLoader(TensorDataset(np.arange(20)), batch_size=4, shuffle=True, seed=7)
    again.load_state_dict(state)
    assert again.state_dict() == state  # loaded, not yet iterated: the same state
    assert [batch[0].tolist() for batch in again] + [batch[0].tolist() for batch in again] == rest
    between = loader.state_dict()
    assert between["batches_done"] == 0
    after = DataLoader(TensorDataset(np.arange(20)), batch_size=4, shuffle=True)
    after.load_state_dict(between)
    assert [b[0].tolist() for b in after] == [b[0].tolist() for b in loader]


# ---------------------------------------------------------------- writing all at once or not at all


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=["error", "ctrl-c"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    model, opt, *_ = make_run()
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, model, opt, epoch=1)
    original = path.read_bytes()

    def fail(file, **arrays):
        file.write(b"half a checkpoint")
        raise error

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(type(error)):
        tn.save_checkpoint(path, model, opt, epoch=2)
    with pytest.raises(type(error)):
        model.save(tmp_path / "model.npz")
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["run.npz"]


def test_the_file_is_complete_when_renamed(tmp_path):
    seen = []

    def write(f):
        f.write(b"all of it")
        seen.append(os.listdir(tmp_path))

    atomic_write(tmp_path / "out.bin", write)
    assert (tmp_path / "out.bin").read_bytes() == b"all of it"
    assert seen[0][0].startswith(".out.bin.") and seen[0][0].endswith(".tmp")  # written beside, then renamed
    assert os.listdir(tmp_path) == ["out.bin"]


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_get_normal_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        tn.save_checkpoint(tmp_path / "run.npz", epoch=1)
        nn.Linear(2, 2).save(tmp_path / "model.npz")
    finally:
        os.umask(old)
    for name in ("run.npz", "model.npz"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode


def test_a_symlink_is_followed_its_target_written_and_the_link_kept(tmp_path):
    (tmp_path / "runs").mkdir()
    target, link = tmp_path / "runs" / "run.npz", tmp_path / "latest.npz"
    link.symlink_to(target)  # dangling until the first save
    tn.save_checkpoint(link, epoch=1)
    assert link.is_symlink() and target.is_file()
    tn.save_checkpoint(link, epoch=2)
    nn.Linear(2, 2).save(tmp_path / "model.npz")
    (tmp_path / "model-link.npz").symlink_to(tmp_path / "model.npz")
    nn.Linear(2, 2).save(tmp_path / "model-link.npz")
    assert (tmp_path / "model-link.npz").is_symlink()
    assert link.is_symlink() and tn.load_checkpoint(target)["epoch"] == 2
    assert sorted(os.listdir(tmp_path / "runs")) == ["run.npz"]


def test_an_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, epoch=1)
    os.chmod(path, 0o600)
    tn.save_checkpoint(path, epoch=2)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.chmod(path, 0o640)
    nn.Linear(2, 2).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_bytes_paths_are_accepted(tmp_path):
    model = nn.Linear(2, 2)
    path = os.fsencode(tmp_path / "run.npz")
    tn.save_checkpoint(path, model, epoch=3)
    assert tn.load_checkpoint(path, model=model)["epoch"] == 3
    model.save(os.fsencode(tmp_path / "model.npz"))
    nn.Linear(2, 2).load(os.fsencode(tmp_path / "model.npz"))


def test_the_next_write_removes_the_temporaries_of_a_writer_that_died(tmp_path):
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, epoch=1)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its pid now names no process
    stale = [f".run.npz.{ended.pid}.0badc0de.tmp", ".run.npz.deadbeef.tmp"]  # the second as older versions named it
    running = f".run.npz.{os.getppid()}.12345678.tmp"  # a writer still at work: left alone
    others = [".other.npz.deadbeef.tmp", "run.npz.deadbeef.tmp"]
    for name in [*stale, running, *others]:
        (tmp_path / name).write_bytes(b"half a checkpoint")
    tn.save_checkpoint(path, epoch=2)
    assert sorted(os.listdir(tmp_path)) == sorted([running, *others, "run.npz"])


def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)), real_fsync(fd)))
    atomic_write(tmp_path / "out.bin", lambda f: f.write(b"data"))
    assert synced == [False, True]  # the file, then the folder that holds its new name


def test_no_pickle_on_saving_or_loading(tmp_path, monkeypatch):
    model, opt, schedule, loader = make_run()
    train_steps(model, opt, batches(loader), 2)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("dump", "dumps", "load", "loads", "Pickler", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    tn.save_checkpoint(tmp_path / "run.npz", model, opt, schedule, loader, epoch=1)
    tn.load_checkpoint(tmp_path / "run.npz", *make_run())
    with np.load(tmp_path / "run.npz", allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
        assert "model/0.weight" in archive.files and "optimizer/state/exp_avg" in archive.files


def test_non_finite_models_are_not_saved(tmp_path):
    model = nn.Linear(2, 2)
    model.weight.data[0, 0] = np.nan
    with pytest.raises(
        ValueError, match=r"refusing to write .*weight \(1 NaN and 0 Inf of 4 values\).*smaller learning"
    ):
        tn.save_checkpoint(tmp_path / "run.npz", model)
    with pytest.raises(ValueError, match=r"Linear.save: refusing to write .*allow_non_finite=True"):
        model.save(tmp_path / "model.npz")
    assert os.listdir(tmp_path) == []
    model.save(tmp_path / "model.npz", allow_non_finite=True)
    tn.save_checkpoint(tmp_path / "run.npz", model, allow_non_finite=True)
    assert np.isnan(nn.Linear(2, 2).load(tmp_path / "model.npz").weight.data[0, 0])


# ---------------------------------------------------------------- refused before anything changes


def snapshot(model, opt, schedule, loader):
    return (
        {k: v.copy() for k, v in model.state_dict().items()},
        opt.state_dict(),
        schedule.state_dict(),
        loader.state_dict(),
        default_generator().bit_generator.state,
    )


def assert_unchanged(before, after):
    model_before, opt_before, *rest_before = before
    model_after, opt_after, *rest_after = after
    for key, value in model_before.items():
        np.testing.assert_array_equal(model_after[key], value)
    assert repr(opt_before) == repr(opt_after)
    assert rest_before == rest_after


def saved_run(tmp_path):
    model, opt, schedule, loader = make_run()
    train_steps(model, opt, batches(loader), 3)
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, model, opt, schedule, loader, epoch=1)
    return path


def rewrite(path, change):
    """Rewrite the checkpoint at `path` with `change(entries, content)` applied to its entries
    and its JSON content."""
    with np.load(path) as archive:
        entries = {name: archive[name] for name in archive.files}
    content = json.loads(str(entries[TRAINING_MARK]))
    change(entries, content)
    entries[TRAINING_MARK] = np.array(json.dumps(content))
    np.savez(path, **entries)


def bad_loader_size(entries, content):
    content["tree"]["loader"]["dataset_size"] = 41


def other_optimizer(entries, content):
    content["tree"]["optimizer"]["optimizer"] = "SGD"


def state_for_another_model(entries, content):
    for name in ("exp_avg", "exp_avg_sq"):
        entries[f"optimizer/state/{name}"] = np.zeros(3, np.float32)


def state_of_two_shapes(entries, content):
    entries["optimizer/state/exp_avg"] = np.zeros(3, np.float32)


def bad_state_dtype(entries, content):
    entries["optimizer/state/exp_avg_sq"] = entries["optimizer/state/exp_avg_sq"].astype(np.int64)


def bad_weight_shape(entries, content):
    entries["model/4.weight"] = np.zeros((2, 8), np.float32)


def string_weight(entries, content):
    entries["model/4.bias"] = np.array(["a", "b", "c"])


def bad_scheduler_value(entries, content):
    content["tree"]["scheduler"]["T_max"] = "six"


def missing_scheduler_key(entries, content):
    del content["tree"]["scheduler"]["eta_min"]


def bad_generator(entries, content):
    content["tree"]["random"]["state"]["state"] = "zero"


def missing_array(entries, content):
    del entries["optimizer/state/exp_avg"]


def bad_lr(entries, content):
    content["tree"]["optimizer"]["hyperparameters"]["lr"] = float("nan")


def negative_lr(entries, content):
    content["tree"]["optimizer"]["hyperparameters"]["lr"] = -1.0


def betas_out_of_range(entries, content):
    content["tree"]["optimizer"]["hyperparameters"]["betas"] = {"__tuple__": [1.5, 2.0]}


def bad_step_count(entries, content):
    content["tree"]["optimizer"]["step_count"] = -1


@pytest.mark.parametrize(
    "change, error, message",
    [
        (bad_loader_size, ValueError, r"loader: .*saved with dataset_size=41, this loader has dataset_size=40"),
        (other_optimizer, ValueError, r"optimizer: this state dict belongs to optimizer 'SGD', not 'Adam'"),
        (state_for_another_model, ValueError, r"exp_avg' has shape \(3,\).* parameters have shape \(91,\)"),
        (
            state_of_two_shapes,
            ValueError,
            r"the arrays have different shapes \[\(3,\), \(91,\)\]",
        ),
        (
            bad_state_dtype,
            TypeError,
            r"the state 'exp_avg_sq' has dtype int64; expected float32, the parameters' dtype",
        ),
        (bad_weight_shape, ValueError, r"model: .*4.weight: expected shape \(3, 8\), got \(2, 8\)"),
        (string_weight, ValueError, r"4.bias: expected numbers, got an array of dtype <U1"),
        (bad_scheduler_value, TypeError, r"invalid CosineAnnealingLR T_max: 'six' is a str; expected a int"),
        (missing_scheduler_key, ValueError, r"not the state of a CosineAnnealingLR: missing \['eta_min'\]"),
        (bad_generator, ValueError, r"tinynet's random generator: invalid PCG64 state"),
        (missing_array, ValueError, r"not a valid tinynet training checkpoint.*'optimizer/state/exp_avg' is missing"),
        (bad_lr, ValueError, r"invalid lr: nan"),
        (bad_step_count, ValueError, r"step_count: -1; it must be an integer >= 0"),
        (negative_lr, ValueError, r"optimizer: invalid learning rate \(lr\): -1.0; it must be in \[0.0, inf\]"),
        (
            betas_out_of_range,
            ValueError,
            r"optimizer: invalid beta at index 0 of betas: 1.5; it must be in \[0.0, 1.0\)",
        ),
    ],
)
def test_a_bad_checkpoint_changes_nothing(tmp_path, change, error, message):
    path = saved_run(tmp_path)
    rewrite(path, change)
    pieces = make_run(seed=2)
    train_steps(pieces[0], pieces[1], batches(pieces[3]), 2)
    before = snapshot(*pieces)
    with pytest.raises(error, match=message):
        tn.load_checkpoint(path, *pieces)
    assert_unchanged(before, snapshot(*pieces))


def test_damaged_and_wrong_files_are_named(tmp_path):
    path = saved_run(tmp_path)
    content = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(content[: len(content) // 2])
    with pytest.raises(ValueError, match=r"cut.npz is not a tinynet training checkpoint"):
        tn.load_checkpoint(cut)
    flipped = tmp_path / "flipped.npz"
    middle = len(content) // 2
    flipped.write_bytes(content[:middle] + bytes([content[middle] ^ 0xFF]) + content[middle + 1 :])
    with pytest.raises(ValueError, match=r"flipped.npz is not a (valid )?tinynet training checkpoint"):
        tn.load_checkpoint(flipped)
    model_file = tmp_path / "model.npz"
    nn.Linear(2, 2).save(model_file)
    with pytest.raises(ValueError, match=r"it is a model file written by Module.save: load it with model.load"):
        tn.load_checkpoint(model_file)
    with pytest.raises(ValueError, match=r"it is a training checkpoint .*tn.load_checkpoint\(path, model=model\)"):
        nn.Linear(2, 2).load(path)
    with pytest.raises(FileNotFoundError, match=r"checkpoint file not found: .*missing.npz"):
        tn.load_checkpoint(tmp_path / "missing.npz")
    with zipfile.ZipFile(tmp_path / "json.npz", "w") as archive:
        archive.writestr(f"{TRAINING_MARK}.npy", b"not an array")
    with pytest.raises(ValueError, match=r"json.npz is not a (valid )?tinynet training checkpoint"):
        tn.load_checkpoint(tmp_path / "json.npz")


def test_pieces_not_saved_are_refused(tmp_path):
    model, opt, _, _ = make_run()
    tn.save_checkpoint(tmp_path / "model_only.npz", model)
    with pytest.raises(ValueError, match=r"holds no optimizer state \(it was saved without optimizer=...\)"):
        tn.load_checkpoint(tmp_path / "model_only.npz", model, opt)
    with pytest.raises(ValueError, match=r"load_state_dict into Linear failed: missing keys: weight, bias"):
        tn.load_checkpoint(tmp_path / "model_only.npz", nn.Linear(5, 3))


def test_extra_values_must_be_plain_data(tmp_path):
    with pytest.raises(TypeError, match=r"save_checkpoint: extra/tags is a set .*numbers, strings"):
        tn.save_checkpoint(tmp_path / "run.npz", tags={"a"})
    with pytest.raises(TypeError, match=r"save_checkpoint: model must have a state_dict\(\) method, got str"):
        tn.save_checkpoint(tmp_path / "run.npz", model="mlp")
    with pytest.raises(TypeError, match=r"save_checkpoint: extra/names is an array of dtype object"):
        tn.save_checkpoint(tmp_path / "run.npz", names=np.array([None, 1], dtype=object))
    assert os.listdir(tmp_path) == []


def test_load_state_dict_checks_every_value_before_changing_any():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    before = model.state_dict()
    state = {key: value + 1 for key, value in before.items()}
    state["1.running_var"] = np.array(["a", "b"])  # the last value is bad: the earlier ones must not load
    with pytest.raises(ValueError, match=r"bad values: 1.running_var: expected numbers"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    state["1.running_var"] = [3, 4]  # a list of integers is converted to the buffer's float32
    model.load_state_dict(state)
    assert model[1].running_var.dtype == np.float32 and model[1].running_var.tolist() == [3.0, 4.0]
    np.testing.assert_array_equal(model[0].weight.data, before["0.weight"] + 1)


# ---------------------------------------------------------------- crafted files: named errors, bounded memory


def add_entry(path, name, data: bytes, compress=zipfile.ZIP_STORED):
    """Add the entry `name` (an .npy file's bytes) to the .npz archive at `path`."""
    with zipfile.ZipFile(path, "a", compression=compress) as archive:
        archive.writestr(name, data)


def npy_header(shape, dtype="<f4") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    return out.getvalue()


def deflated_zeros_entry(path, name, size):
    """Add a deflated entry of `size` bytes of zeros under a matching header (1 MB of zeros deflates to 1 KB)."""
    with (
        zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w", force_zip64=True) as entry,
    ):
        entry.write(npy_header((size,), "|u1"))
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            entry.write(chunk)


def test_an_unexpected_deflated_entry_is_refused_before_anything_is_loaded(tmp_path, peak_memory):
    path = saved_run(tmp_path)
    deflated_zeros_entry(path, "junk.npy", 300 << 20)  # 300 MiB in 0.3 MB
    model = nn.Linear(2, 2)
    model.save(tmp_path / "model.npz")
    deflated_zeros_entry(tmp_path / "model.npz", "junk.npy", 300 << 20)

    def load():
        with pytest.raises(ValueError, match=r"run.npz is not a tinynet training checkpoint.*'junk.npy' would expand"):
            tn.load_checkpoint(path)
        with pytest.raises(ValueError, match=r"model.npz is not a tinynet checkpoint.*'junk.npy' would expand from"):
            model.load(tmp_path / "model.npz")

    assert peak_memory(load) < 10 << 20


def test_an_entry_its_contents_do_not_refer_to_is_refused_before_it_is_read(tmp_path):
    path = saved_run(tmp_path)
    add_entry(path, "junk.npy", npy_header((1000,)) + bytes(4000))
    with pytest.raises(
        ValueError, match=r"run.npz is not a valid .* entries that its contents do not refer to: \['junk'\]"
    ):
        tn.load_checkpoint(path)


@pytest.mark.parametrize("where", ["checkpoint", "model file"])
def test_an_array_header_claiming_7_tib_is_refused_by_name(tmp_path, where):
    path = saved_run(tmp_path) if where == "checkpoint" else tmp_path / "model.npz"
    if where == "model file":
        nn.Linear(2, 2).save(path)
    add_entry(path, "huge.npy", npy_header(((7 << 40) // 4,)) + bytes(64))
    with pytest.raises(
        ValueError, match=r"'huge.npy' announces an array of shape \(1924145348608,\).*but it holds 64 bytes"
    ):
        tn.load_checkpoint(path) if where == "checkpoint" else nn.Linear(2, 2).load(path)


def test_json_nested_5000_deep_is_refused_by_name(tmp_path):
    path = tmp_path / "run.npz"
    tn.save_checkpoint(path, epoch=1)
    with np.load(path) as archive:
        text = str(archive[TRAINING_MARK])
    np.savez(path, **{TRAINING_MARK: np.array(text.replace('"epoch": 1', '"epoch": ' + "[" * 5000 + "]" * 5000))})
    with pytest.raises(ValueError, match=r"run.npz is not a valid tinynet training checkpoint.*nested deeper"):
        tn.load_checkpoint(path)


def out_of_range_generator(entries, content):
    content["tree"]["random"]["state"]["state"] = 2**200


def negative_generator(entries, content):
    content["tree"]["random"]["state"]["inc"] = -1


def out_of_range_loader_generator(entries, content):
    content["tree"]["loader"]["generator"]["has_uint32"] = 2**100


@pytest.mark.parametrize(
    "change, message",
    [
        (out_of_range_generator, r"tinynet's random generator: invalid PCG64 state .*too large"),
        (negative_generator, r"tinynet's random generator: invalid PCG64 state .*out of bounds"),
        (out_of_range_loader_generator, r"loader: DataLoader.load_state_dict: invalid PCG64 state"),
    ],
)
def test_a_corrupt_generator_state_is_refused_by_name(tmp_path, change, message):
    path = saved_run(tmp_path)
    rewrite(path, change)
    pieces = make_run(seed=2)
    before = snapshot(*pieces)
    with pytest.raises(ValueError, match=message):
        tn.load_checkpoint(path, *pieces)
    assert_unchanged(before, snapshot(*pieces))
