"""Wrong calls across the public API and the main job's flags, as a careless user makes them:
each raises a tinynet error of the right type whose message names the problem (never a numpy
traceback, never a silent wrong answer). A flag error exits with status 2 before any data loads."""

import contextlib
import gzip
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.checkpoint import TRAINING_MARK
from tinynet.data import DataLoader, TensorDataset, load_mnist, read_idx
from tinynet.optim import lr_scheduler

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
f32 = np.float32


# ---------------------------------------------------------------- helpers for calls of more than one step


def adam_state(**changes):
    """Adam's state dict after one step, with `changes` to its hyperparameters or state."""
    opt = optim.Adam()
    opt.step(np.ones(3), np.zeros(3))
    state = opt.state_dict()
    for key, value in changes.items():
        part = "state" if key in state["state"] else "hyperparameters"
        if value is None:
            del state[part][key]
        else:
            state[part][key] = value
    return state


def swapped_step():
    model = nn.Linear(2, 2)
    optim.Adam().step(model.params, model.grads)


def step_on_another_shape():
    opt = optim.Adam()
    opt.step(np.ones(3), np.zeros(3))
    opt.step(np.ones(4), np.zeros(4))


def one_cycle_past_its_end():
    schedule = lr_scheduler.OneCycleLR(optim.SGD(lr=0.1), max_lr=0.1, total_steps=2)
    for _ in range(3):
        schedule.step()


def cosine_from_step_state():
    step = lr_scheduler.StepLR(optim.SGD(lr=0.1), step_size=2)
    lr_scheduler.CosineAnnealingLR(optim.SGD(lr=0.1), T_max=5).load_state_dict(step.state_dict())


def hidden_layers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2), nn.Linear(2, 2)]

    Net()


def no_super_init():
    class Net(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    Net()


def loader(size=10):
    return DataLoader(TensorDataset(np.zeros((size, 2), f32)), batch_size=4, shuffle=True, seed=0)


def nan_linear():
    model = nn.Linear(2, 2)
    model.weight.data[0, 0] = np.nan
    return model


def state_with(**changes):
    """A state dict of Linear(2, 2) then BatchNorm1d(2), with `changes`."""
    state = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).state_dict()
    state.update(changes)
    return {k: v for k, v in state.items() if v is not None}


def load_into_model(state):
    nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).load_state_dict(state)


def text_file(tmp, name="notes.txt"):
    (tmp / name).write_text("hello")
    return tmp / name


def model_file(tmp):
    nn.Linear(2, 2).save(tmp / "model.npz")
    return tmp / "model.npz"


def checkpoint_file(tmp, **settings):
    """A checkpoint as the main job writes one, its run's settings the defaults but `settings`."""
    defaults = {"epochs": 10, "batch_size": 128, "lr": 2e-3, "optimizer": "adam", "seed": 0, "train_size": None}
    tn.save_checkpoint(tmp / "run.npz", nn.Linear(2, 2), optim.Adam(), epoch=1, settings={**defaults, **settings})
    return tmp / "run.npz"


def crafted_checkpoint(tmp, change_json=None, entry=None, deflated_zeros=0):
    """A checkpoint of Linear(2, 2) and Adam, its JSON text changed by `change_json(text)`, with
    the .npy file `entry` = (name, bytes) added, or an entry of `deflated_zeros` bytes of zeros
    (which deflate to almost nothing)."""
    path = checkpoint_file(tmp)
    with np.load(path) as archive:
        entries = {name: archive[name] for name in archive.files}
    if change_json:
        entries[TRAINING_MARK] = np.array(change_json(str(entries[TRAINING_MARK])))
    np.savez(path, **entries)
    if entry:
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(*entry)
    if deflated_zeros:
        with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("junk.npy", npy_header((deflated_zeros,), "|u1") + bytes(deflated_zeros))
    return path


def npy_header(shape, dtype="<f4") -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": dtype, "fortran_order": False, "shape": shape})
    return out.getvalue()


def model_file_with_deflated_entry(tmp):
    path = model_file(tmp)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junk.npy", npy_header((2 << 20,), "|u1") + bytes(2 << 20))
    return path


def idx_file(tmp, sizes, data=b"", compress=False):
    content = bytes([0, 0, 8, len(sizes)]) + b"".join(n.to_bytes(4, "big") for n in sizes) + data
    (tmp / "data-idx").write_bytes(gzip.compress(content) if compress else content)
    return tmp / "data-idx"


class Samples(tn.data.Dataset):
    def __init__(self, *samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        return self.samples[i]


class JobExit(Exception):
    """The main job exited: `exit <status>: <what it wrote to stderr>`."""


def main_job(*argv):
    """examples/mnist_mlp.py's main(argv) in this process (its data loading is patched to fail:
    see test_bad_input); its exit comes back as JobExit."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            sys.modules["mnist_mlp"].main([str(a) for a in argv])
    except SystemExit as exit:
        raise JobExit(f"exit {exit.code}: {stderr.getvalue()}") from None


# ---------------------------------------------------------------- the table: call(tmp), error, message

CASES = [
    # optimizers
    ("Adam(lr=nan)", lambda _: optim.Adam(lr=float("nan")), ValueError, r"invalid learning rate \(lr\): nan"),
    ("Adam(lr='0.001')", lambda _: optim.Adam(lr="0.001"), TypeError, r"lr\): '0.001' is a str; it must be a number"),
    ("SGD(lr=-1)", lambda _: optim.SGD(lr=-1), ValueError, r"invalid learning rate \(lr\): -1.0; it must be in \[0.0"),
    (
        "Adam(betas=(0.9,))",
        lambda _: optim.Adam(betas=(0.9,)),
        TypeError,
        r"invalid betas: \(0.9,\); it must be a pair",
    ),
    ("Adam(betas=(0.9, 1.0))", lambda _: optim.Adam(betas=(0.9, 1.0)), ValueError, r"beta at index 1 of betas: 1.0"),
    ("Adam(eps=nan)", lambda _: optim.Adam(eps=float("nan")), ValueError, r"invalid eps: nan"),
    ("SGD(momentum=-0.5)", lambda _: optim.SGD(momentum=-0.5), ValueError, r"invalid momentum: -0.5"),
    ("SGD(nesterov=True)", lambda _: optim.SGD(nesterov=True), ValueError, r"nesterov=True needs a momentum > 0"),
    (
        "Adam(model.parameters())",
        lambda _: optim.Adam(nn.Linear(2, 2).parameters()),
        TypeError,
        r"takes hyperparameters only.*opt.step\(model.grads, model.params\)",
    ),
    (
        "step(grads (3,), params (4,))",
        lambda _: optim.SGD().step(np.zeros(3), np.zeros(4)),
        ValueError,
        r"grads has shape \(3,\) but params has shape \(4,\)",
    ),
    (
        "step on int64 params",
        lambda _: optim.SGD().step(np.zeros(3), np.zeros(3, np.int64)),
        TypeError,
        r"params must be a floating-point array, got dtype int64",
    ),
    (
        "step(model.params, model.grads)",
        lambda _: swapped_step(),
        TypeError,
        r"params is a model's gradient array.*opt.step\(model.grads, model.params\)",
    ),
    (
        "step on an empty array",
        lambda _: optim.Adam().step(np.zeros(0), np.zeros(0)),
        ValueError,
        r"params is empty: the model has no trainable parameters",
    ),
    (
        "step on float16 params",
        lambda _: optim.Adam().step(np.ones(3, np.float16), np.ones(3, np.float16)),
        TypeError,
        r"Adam.step: float16 parameters are not supported.*float32",
    ),
    ("step on lists", lambda _: optim.SGD().step([0.0], [0.0]), TypeError, r"takes numpy arrays.*got list and list"),
    ("opt.zero_grad()", lambda _: optim.Adam().zero_grad(), TypeError, r"holds no gradients.*call model.zero_grad\(\)"),
    (
        "lr array of the wrong shape",
        lambda _: optim.SGD(lr=np.full(3, 0.1)).step(np.ones(4), np.ones(4)),
        ValueError,
        r"lr is an array of shape \(3,\) but params has shape \(4,\)",
    ),
    (
        "state made for another shape",
        lambda _: step_on_another_shape(),
        ValueError,
        r"state 'exp_avg' was made for parameters of shape \(3,\), got params of shape \(4,\)",
    ),
    (
        "SGD.load_state_dict(Adam's)",
        lambda _: optim.SGD().load_state_dict(adam_state()),
        ValueError,
        r"this state dict belongs to optimizer 'Adam', not 'SGD'",
    ),
    (
        "load_state_dict: lr 'x'",
        lambda _: optim.Adam().load_state_dict(adam_state(lr="x")),
        TypeError,
        r"invalid lr: 'x' is a str",
    ),
    (
        "load_state_dict: eps missing",
        lambda _: optim.Adam().load_state_dict(adam_state(eps=None)),
        ValueError,
        r"Adam.load_state_dict: expected the hyperparameters \[.*'eps'.*\], got \[",
    ),
    (
        "load_state_dict: int state",
        lambda _: optim.Adam().load_state_dict(adam_state(exp_avg=np.zeros(3, np.int64))),
        TypeError,
        r"the state 'exp_avg' has dtype int64; expected floating point",
    ),
    # schedulers
    (
        "StepLR(step_size=0)",
        lambda _: lr_scheduler.StepLR(optim.SGD(), step_size=0),
        ValueError,
        r"invalid StepLR step_size: 0; it must be an integer >= 1",
    ),
    (
        "StepLR(step_size='2')",
        lambda _: lr_scheduler.StepLR(optim.SGD(), step_size="2"),
        TypeError,
        r"invalid StepLR step_size: '2' is a str; it must be an integer",
    ),
    (
        "StepLR(gamma=nan)",
        lambda _: lr_scheduler.StepLR(optim.SGD(), 2, gamma=float("nan")),
        ValueError,
        r"invalid StepLR gamma: nan",
    ),
    (
        "CosineAnnealingLR(T_max=0)",
        lambda _: lr_scheduler.CosineAnnealingLR(optim.SGD(), T_max=0),
        ValueError,
        r"invalid CosineAnnealingLR T_max: 0; it must be an integer >= 1",
    ),
    (
        "CosineAnnealingLR(T_max=2.5)",
        lambda _: lr_scheduler.CosineAnnealingLR(optim.SGD(), T_max=2.5),
        TypeError,
        r"invalid CosineAnnealingLR T_max: 2.5 is a float",
    ),
    (
        "CosineAnnealingLR(a model)",
        lambda _: lr_scheduler.CosineAnnealingLR(nn.Linear(2, 2), T_max=5),
        TypeError,
        r"CosineAnnealingLR needs a tinynet Optimizer, got Linear",
    ),
    (
        "ExponentialLR(gamma=-1)",
        lambda _: lr_scheduler.ExponentialLR(optim.SGD(), gamma=-1),
        ValueError,
        r"invalid ExponentialLR gamma: -1.0",
    ),
    (
        "MultiStepLR(milestones=[3, 'a'])",
        lambda _: lr_scheduler.MultiStepLR(optim.SGD(), milestones=[3, "a"]),
        TypeError,
        r"invalid MultiStepLR milestones\[1\]: 'a' is a str",
    ),
    (
        "LinearLR(start_factor=0)",
        lambda _: lr_scheduler.LinearLR(optim.SGD(), start_factor=0),
        ValueError,
        r"invalid LinearLR start_factor: 0.0; it must be in \(0, 1\]",
    ),
    (
        "OneCycleLR without total_steps",
        lambda _: lr_scheduler.OneCycleLR(optim.SGD(), max_lr=0.1),
        ValueError,
        r"give total_steps, or both epochs and steps_per_epoch",
    ),
    (
        "OneCycleLR(anneal_strategy='cosine')",
        lambda _: lr_scheduler.OneCycleLR(optim.SGD(), max_lr=0.1, total_steps=5, anneal_strategy="cosine"),
        ValueError,
        r"anneal_strategy must be 'cos' or 'linear', got 'cosine'",
    ),
    (
        "OneCycleLR stepped past its end",
        lambda _: one_cycle_past_its_end(),
        ValueError,
        r"stepped 3 times, past total_steps=2",
    ),
    (
        "ReduceLROnPlateau(factor=1.5)",
        lambda _: lr_scheduler.ReduceLROnPlateau(optim.SGD(), factor=1.5),
        ValueError,
        r"invalid ReduceLROnPlateau factor: 1.5; it must be in \[0.0, 1.0\)",
    ),
    (
        "ReduceLROnPlateau(mode='avg')",
        lambda _: lr_scheduler.ReduceLROnPlateau(optim.SGD(), mode="avg"),
        ValueError,
        r"mode must be 'min' or 'max'",
    ),
    (
        "ReduceLROnPlateau.step(nan)",
        lambda _: lr_scheduler.ReduceLROnPlateau(optim.SGD()).step(float("nan")),
        ValueError,
        r"invalid ReduceLROnPlateau.step metric: nan",
    ),
    (
        "CosineAnnealingLR.load_state_dict(StepLR's)",
        lambda _: cosine_from_step_state(),
        ValueError,
        r"not the state of a CosineAnnealingLR: missing \['T_max', 'eta_min'\], unexpected \['gamma', 'step_size'\]",
    ),
    # layers
    (
        "Linear(784, 10) on 100 features",
        lambda _: nn.Linear(784, 10)(np.zeros((2, 100), f32)),
        ValueError,
        r"expected input with 784 features in its last dimension, got shape \(2, 100\)",
    ),
    (
        "Linear on uint8 images",
        lambda _: nn.Linear(3, 2)(np.zeros((2, 3), np.uint8)),
        TypeError,
        r"Linear\(.*\): the input has dtype uint8.*convert it \(and scale it\).*/ 255",
    ),
    (
        "Linear on a list",
        lambda _: nn.Linear(3, 2)([[1.0, 2.0, 3.0]]),
        TypeError,
        r"expected a Tensor or a numpy array, got list",
    ),
    ("Linear(-1, 3)", lambda _: nn.Linear(-1, 3), ValueError, r"Linear: in_features must be a non-negative integer"),
    ("Linear('3', 3)", lambda _: nn.Linear("3", 3), TypeError, r"Linear: in_features must be an integer, got '3'"),
    (
        "Conv2d on uint8 images",
        lambda _: nn.Conv2d(1, 4, 3)(np.zeros((1, 1, 5, 5), np.uint8)),
        TypeError,
        r"Conv2d\(.*\): the input has dtype uint8.*convert it",
    ),
    (
        "Conv2d(3, ...) on 1 channel",
        lambda _: nn.Conv2d(3, 4, 3)(np.zeros((1, 1, 5, 5), f32)),
        ValueError,
        r"expected an input with 3 channels, got shape \(1, 1, 5, 5\)",
    ),
    (
        "Conv2d(kernel_size=(3,))",
        lambda _: nn.Conv2d(1, 4, kernel_size=(3,)),
        TypeError,
        r"kernel_size must be an int or a pair of ints, got \(3,\)",
    ),
    ("Conv2d(1, -2, 3)", lambda _: nn.Conv2d(1, -2, 3), ValueError, r"Conv2d: out_channels must be a non-negative"),
    (
        "ConvTranspose2d on a 3-D input",
        lambda _: nn.ConvTranspose2d(2, 1, 3)(np.zeros((2, 5, 5), f32)),
        ValueError,
        r"expected an input of shape \(batch, 2, height, width\), got shape \(2, 5, 5\)",
    ),
    (
        "ConvTranspose2d on int64",
        lambda _: nn.ConvTranspose2d(1, 1, 3)(np.zeros((1, 1, 5, 5), np.int64)),
        TypeError,
        r"ConvTranspose2d\(.*\): the input has dtype int64",
    ),
    (
        "ConvTranspose2d(output_padding=1, stride=1)",
        lambda _: nn.ConvTranspose2d(1, 1, 3, output_padding=1),
        ValueError,
        r"output_padding must be >= 0 and smaller than either stride or dilation",
    ),
    ("LSTM(28, 0)", lambda _: nn.LSTM(28, 0), ValueError, r"hidden_size must be a positive integer, got 0"),
    (
        "LSTM(28, ...) on 5 features",
        lambda _: nn.LSTM(28, 4)(np.zeros((2, 3, 5), f32)),
        ValueError,
        r"LSTM\(28, 4\): expected input of shape .*input_size=28.*got shape \(2, 3, 5\)",
    ),
    (
        "GRU on int64",
        lambda _: nn.GRU(3, 4)(np.zeros((2, 3, 3), np.int64)),
        TypeError,
        r"GRU\(3, 4\): expected a floating-point input, got dtype int64",
    ),
    (
        "RNN(nonlinearity='sigmoid')",
        lambda _: nn.RNN(3, 4, nonlinearity="sigmoid"),
        ValueError,
        r"nonlinearity must be 'tanh' or 'relu', got 'sigmoid'",
    ),
    (
        "LSTM(x, hx=one array)",
        lambda _: nn.LSTM(3, 4)(np.zeros((2, 3, 3), f32), np.zeros((1, 3, 4), f32)),
        TypeError,
        r"the initial state must be a tuple \(h0, c0\)",
    ),
    ("LSTM(dropout=1.0)", lambda _: nn.LSTM(3, 4, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    (
        "Embedding on floats",
        lambda _: nn.Embedding(10, 4)(np.zeros(3)),
        TypeError,
        r"embedding: indices must be integers, got dtype float64",
    ),
    (
        "Embedding index 10 of 10",
        lambda _: nn.Embedding(10, 4)(np.array([10])),
        IndexError,
        r"index 10 is out of range for num_embeddings 10",
    ),
    (
        "LayerNorm(4) on 5 features",
        lambda _: nn.LayerNorm(4)(np.zeros((2, 5), f32)),
        ValueError,
        r"trailing shape must be normalized_shape \(4,\), got input shape \(2, 5\)",
    ),
    (
        "BatchNorm1d training on one sample",
        lambda _: nn.BatchNorm1d(4)(np.zeros((1, 4), f32)),
        ValueError,
        r"training needs more than one value per channel",
    ),
    ("Dropout(1.0)", lambda _: nn.Dropout(1.0), ValueError, r"Dropout: p must be in \[0, 1\), got 1.0"),
    (
        "layers in a plain list",
        lambda _: hidden_layers(),
        TypeError,
        r"a plain list of Linears is not registered.*use nn.ModuleList",
    ),
    (
        "Module without super().__init__()",
        lambda _: no_super_init(),
        AttributeError,
        r"call super\(\).__init__\(\) before assigning attributes",
    ),
    (
        "ModuleDict({'a.b': ...})",
        lambda _: nn.ModuleDict({"a.b": nn.Linear(1, 1)}),
        KeyError,
        r"ModuleDict keys must be valid Python identifiers",
    ),
    # losses
    (
        "cross_entropy with float labels",
        lambda _: F.cross_entropy(tn.Tensor(np.zeros((2, 3))), np.zeros(2)),
        TypeError,
        r"class labels must be integers, got dtype float64",
    ),
    (
        "cross_entropy with label 5 of 3 classes",
        lambda _: F.cross_entropy(tn.Tensor(np.zeros((2, 3))), np.array([0, 5])),
        IndexError,
        r"label 5 is out of range for 3 classes",
    ),
    (
        "cross_entropy with 3 labels for 2 rows",
        lambda _: F.cross_entropy(tn.Tensor(np.zeros((2, 3))), np.array([0, 1, 2])),
        ValueError,
        r"batch size mismatch: logits have 2 rows but target has 3 labels",
    ),
    (
        "cross_entropy(label_smoothing=2)",
        lambda _: F.cross_entropy(tn.Tensor(np.zeros((2, 3))), np.array([0, 1]), label_smoothing=2),
        ValueError,
        r"label_smoothing must be in \[0, 1\], got 2",
    ),
    (
        "mse_loss of (3,) and (4,)",
        lambda _: F.mse_loss(tn.Tensor(np.zeros(3)), tn.Tensor(np.zeros(4))),
        ValueError,
        r"input has shape \(3,\) but target has shape \(4,\)",
    ),
    ("MSELoss(reduction='avg')", lambda _: nn.MSELoss(reduction="avg"), ValueError, r"reduction must be one of"),
    (
        "huber_loss(delta=0)",
        lambda _: F.huber_loss(tn.Tensor(np.zeros(3)), tn.Tensor(np.zeros(3)), delta=0),
        ValueError,
        r"delta must be positive, got 0",
    ),
    # data
    (
        "DataLoader(batch_size=0)",
        lambda _: DataLoader(TensorDataset(np.zeros(3)), batch_size=0),
        ValueError,
        r"batch_size must be a positive integer, got 0",
    ),
    (
        "DataLoader(batch_size=2.5)",
        lambda _: DataLoader(TensorDataset(np.zeros(3)), batch_size=2.5),
        TypeError,
        r"DataLoader: batch_size must be an integer, got 2.5 \(float\)",
    ),
    (
        "DataLoader(seed='x')",
        lambda _: DataLoader(TensorDataset(np.zeros(3)), seed="x"),
        TypeError,
        r"DataLoader: seed must be an integer, got 'x'",
    ),
    ("DataLoader(42)", lambda _: DataLoader(42), TypeError, r"the dataset needs __len__ and __getitem__, got int"),
    (
        "TensorDataset of lengths 3 and 4",
        lambda _: TensorDataset(np.zeros(3), np.zeros(4)),
        ValueError,
        r"all arrays need the same length \(first dimension\), got \[3, 4\]",
    ),
    (
        "DataLoader.load_state_dict of another dataset",
        lambda _: loader(12).load_state_dict(loader(10).state_dict()),
        ValueError,
        r"saved with dataset_size=10, this loader has dataset_size=12",
    ),
    (
        "DataLoader.load_state_dict({})",
        lambda _: loader().load_state_dict({}),
        ValueError,
        r"DataLoader.load_state_dict: expected a dict with the keys \[",
    ),
    (
        "load_mnist('/no/such/folder')",
        lambda _: load_mnist("/no/such/folder"),
        FileNotFoundError,
        r"mnist data folder not found: root='/no/such/folder' is not an existing folder",
    ),
    ("read_idx(a text file)", lambda tmp: read_idx(text_file(tmp)), ValueError, r"notes.txt: not an IDX file"),
    (
        "read_idx(sizes past int64)",
        lambda tmp: read_idx(idx_file(tmp, [65536] * 4)),
        ValueError,
        r"data-idx: the header announces shape \(65536, 65536, 65536, 65536\).*more than an array can hold",
    ),
    (
        "read_idx(a gzip longer than its header says)",
        lambda tmp: read_idx(idx_file(tmp, [3], bytes(10 << 20), compress=True)),
        ValueError,
        r"data-idx: decompresses to more than the 11 bytes expected",
    ),
    (
        "DataLoader over ragged samples",
        lambda _: list(DataLoader(Samples(np.zeros(3), np.zeros(3), np.zeros(4)), batch_size=3)),
        ValueError,
        r"DataLoader: sample 2 has shape \(4,\), sample 0 has \(3,\); the samples of a batch must have one shape",
    ),
    (
        "DataLoader over dicts of other keys",
        lambda _: list(DataLoader(Samples({"image": 1, "label": 2}, {"image": 1}), batch_size=2)),
        ValueError,
        r"DataLoader: sample 1 has the keys \['image'\], sample 0 has \['image', 'label'\]",
    ),
    # Module: save, load, load_state_dict
    (
        "Module.save into a missing folder",
        lambda _: nn.Linear(2, 2).save("/no/such/folder/m.npz"),
        FileNotFoundError,
        r"cannot write /no/such/folder/m.npz: the folder /no/such/folder does not exist",
    ),
    (
        "Module.save with NaN",
        lambda tmp: nan_linear().save(tmp / "m.npz"),
        ValueError,
        r"Linear.save: refusing to write .*weight \(1 NaN and 0 Inf of 4 values\).*allow_non_finite=True",
    ),
    (
        "Module.load of a missing file",
        lambda tmp: nn.Linear(2, 2).load(tmp / "missing.npz"),
        FileNotFoundError,
        r"checkpoint file not found: .*missing.npz",
    ),
    (
        "Module.load of a text file",
        lambda tmp: nn.Linear(2, 2).load(text_file(tmp)),
        ValueError,
        r"notes.txt is not a tinynet checkpoint",
    ),
    (
        "load_state_dict: wrong shape",
        lambda _: load_into_model(state_with(**{"0.weight": np.zeros((3, 2))})),
        ValueError,
        r"shape mismatches: 0.weight: expected shape \(2, 2\), got \(3, 2\)",
    ),
    (
        "load_state_dict: missing key",
        lambda _: load_into_model(state_with(**{"0.bias": None})),
        ValueError,
        r"missing keys: 0.bias",
    ),
    (
        "load_state_dict: strings",
        lambda _: load_into_model(state_with(**{"0.bias": np.array(["a", "b"])})),
        ValueError,
        r"bad values: 0.bias: expected numbers, got an array of dtype <U1",
    ),
    (
        "load_state_dict: floats into an int buffer",
        lambda _: load_into_model(state_with(**{"1.num_batches_tracked": np.array(2.5)})),
        ValueError,
        r"1.num_batches_tracked: expected integers \(dtype int64\), got dtype float64",
    ),
    (
        "load_state_dict: 1e300 into float32",
        lambda _: load_into_model(state_with(**{"0.bias": np.array([1e300, 0.0])})),
        ValueError,
        r"0.bias: values too large for float32",
    ),
    (
        "load_state_dict(a list)",
        lambda _: nn.Linear(2, 2).load_state_dict([np.zeros((2, 2))]),
        TypeError,
        r"load_state_dict into Linear: expected a dict of arrays by name",
    ),
    # checkpoints
    (
        "save_checkpoint into a missing folder",
        lambda _: tn.save_checkpoint("/no/such/folder/c.npz", epoch=1),
        FileNotFoundError,
        r"the folder /no/such/folder does not exist",
    ),
    (
        "save_checkpoint(tags={'a'})",
        lambda tmp: tn.save_checkpoint(tmp / "c.npz", tags={"a"}),
        TypeError,
        r"save_checkpoint: extra/tags is a set",
    ),
    (
        "save_checkpoint(model='mlp')",
        lambda tmp: tn.save_checkpoint(tmp / "c.npz", model="mlp"),
        TypeError,
        r"save_checkpoint: model must have a state_dict\(\) method, got str",
    ),
    (
        "save_checkpoint of a NaN model",
        lambda tmp: tn.save_checkpoint(tmp / "c.npz", nan_linear()),
        ValueError,
        r"save_checkpoint: refusing to write .*NaN.*smaller learning rate",
    ),
    (
        "load_checkpoint of a missing file",
        lambda tmp: tn.load_checkpoint(tmp / "missing.npz"),
        FileNotFoundError,
        r"checkpoint file not found",
    ),
    (
        "load_checkpoint of a Module.save file",
        lambda tmp: tn.load_checkpoint(model_file(tmp)),
        ValueError,
        r"not a tinynet training checkpoint.*: it is a model file written by Module.save: load it with model.load",
    ),
    (
        "load_checkpoint into another model",
        lambda tmp: tn.load_checkpoint(checkpoint_file(tmp), model=nn.Linear(3, 2)),
        ValueError,
        r"model: load_state_dict into Linear failed: shape mismatches: weight: expected shape \(2, 3\)",
    ),
    (
        "load_checkpoint into another optimizer",
        lambda tmp: tn.load_checkpoint(checkpoint_file(tmp), optimizer=optim.SGD()),
        ValueError,
        r"optimizer: this state dict belongs to optimizer 'Adam', not 'SGD'",
    ),
    (
        "load_checkpoint of lr=-1",
        lambda tmp: tn.load_checkpoint(
            crafted_checkpoint(tmp, lambda text: text.replace('"lr": 0.001', '"lr": -1.0')), optimizer=optim.Adam()
        ),
        ValueError,
        r"optimizer: invalid learning rate \(lr\): -1.0; it must be in \[0.0, inf\]",
    ),
    (
        "load_checkpoint of betas=(1.5, 2)",
        lambda tmp: tn.load_checkpoint(
            crafted_checkpoint(tmp, lambda text: text.replace("[0.9, 0.999]", "[1.5, 2.0]")), optimizer=optim.Adam()
        ),
        ValueError,
        r"optimizer: invalid beta at index 0 of betas: 1.5; it must be in \[0.0, 1.0\)",
    ),
    (
        "load_checkpoint of JSON nested 5,000 deep",
        lambda tmp: tn.load_checkpoint(
            crafted_checkpoint(tmp, lambda text: text.replace('"epoch": 1', '"epoch": ' + "[" * 5000 + "]" * 5000))
        ),
        ValueError,
        r"run.npz is not a valid tinynet training checkpoint .*: its JSON is nested deeper than Python can follow",
    ),
    (
        "load_checkpoint of an array header claiming 7 TiB",
        lambda tmp: tn.load_checkpoint(crafted_checkpoint(tmp, entry=("huge.npy", npy_header((7 << 40,), "|u1")))),
        ValueError,
        r"run.npz is not a tinynet training checkpoint .*'huge.npy' announces an array of shape \(7696581394432,\)",
    ),
    (
        "load_checkpoint of a deflated entry of 2 MiB in 2 KB",
        lambda tmp: tn.load_checkpoint(crafted_checkpoint(tmp, deflated_zeros=2 << 20)),
        ValueError,
        r"run.npz is not a tinynet training checkpoint .*'junk.npy' would expand from [\d,]+ to 2,097,280 bytes",
    ),
    (
        "load_checkpoint of an entry nothing refers to",
        lambda tmp: tn.load_checkpoint(crafted_checkpoint(tmp, entry=("junk.npy", npy_header((2,)) + bytes(8)))),
        ValueError,
        r"run.npz is not a valid .*: it holds entries that its contents do not refer to: \['junk'\]",
    ),
    (
        "load_checkpoint of a generator state out of range",
        lambda tmp: tn.load_checkpoint(crafted_checkpoint(tmp, lambda text: text.replace('"inc": ', '"inc": -'))),
        ValueError,
        r"tinynet's random generator: invalid PCG64 state .*out of bounds",
    ),
    (
        "model.load of a deflated entry of 2 MiB in 2 KB",
        lambda tmp: nn.Linear(2, 2).load(model_file_with_deflated_entry(tmp)),
        ValueError,
        r"model.npz is not a tinynet checkpoint .*'junk.npy' would expand from [\d,]+ to 2,097,280 bytes",
    ),
    # Tensor ops
    (
        "matmul (2, 3) @ (4, 2)",
        lambda _: tn.Tensor(np.zeros((2, 3))) @ tn.Tensor(np.zeros((4, 2))),
        ValueError,
        r"matmul.*\(2, 3\).*\(4, 2\)",
    ),
    (
        "add (2, 3) + (4,)",
        lambda _: tn.Tensor(np.zeros((2, 3))) + tn.Tensor(np.zeros(4)),
        ValueError,
        r"\(2, 3\) and \(4,\) do not broadcast",
    ),
    (
        "reshape 6 elements into (4, 2)",
        lambda _: tn.Tensor(np.zeros((2, 3))).reshape(4, 2),
        ValueError,
        r"cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)",
    ),
    (
        "backward() of a non-scalar",
        lambda _: (tn.Tensor(np.zeros((2, 3)), requires_grad=True) * 2).backward(),
        RuntimeError,
        r"backward\(\): a gradient can be implied only for a one-element tensor.*shape \(2, 3\)",
    ),
    ("Tensor('abc')", lambda _: tn.Tensor("abc"), TypeError, r"Tensor: data must be numeric"),
    (
        "item() of a (2, 3) tensor",
        lambda _: tn.Tensor(np.zeros((2, 3))).item(),
        ValueError,
        r"only one-element tensors can be converted.*shape \(2, 3\)",
    ),
    # the main job's flags (examples/mnist_mlp.py): exit status 2, the flag named, no data loaded
    ("--epochs 0", lambda _: main_job("--epochs", 0), JobExit, r"exit 2: (?s:.*)argument --epochs: must be at least 1"),
    ("--epochs ten", lambda _: main_job("--epochs", "ten"), JobExit, r"exit 2: (?s:.*)argument --epochs: invalid int"),
    (
        "--train-size 0",
        lambda _: main_job("--train-size", 0),
        JobExit,
        r"exit 2: (?s:.*)argument --train-size: must be at least 1, got 0",
    ),
    (
        "--batch-size 0",
        lambda _: main_job("--batch-size", 0),
        JobExit,
        r"exit 2: (?s:.*)argument --batch-size: must be at least 1, got 0",
    ),
    ("--lr 0", lambda _: main_job("--lr", 0), JobExit, r"exit 2: (?s:.*)argument --lr: must be a positive finite"),
    ("--lr nan", lambda _: main_job("--lr", "nan"), JobExit, r"exit 2: (?s:.*)argument --lr: .* got nan"),
    ("--lr inf", lambda _: main_job("--lr", "inf"), JobExit, r"exit 2: (?s:.*)argument --lr: .* got inf"),
    (
        "--optimizer adamx",
        lambda _: main_job("--optimizer", "adamx"),
        JobExit,
        r"exit 2: (?s:.*)argument --optimizer: invalid choice: 'adamx'",
    ),
    (
        "--save where --checkpoint writes epoch 2",
        lambda tmp: main_job("--checkpoint", tmp / "m{epoch}.npz", "--save", tmp / "m2.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --save: .*m2.npz is where --checkpoint .*m\{epoch\}.npz writes epoch 2's checkpoint",
    ),
    (
        "--resume a checkpoint of another model",
        lambda tmp: main_job("--resume", checkpoint_file(tmp)),
        JobExit,
        r"exit 2: error: argument --resume: load_checkpoint\(.*run.npz\), model: load_state_dict into Sequential",
    ),
    (
        "--eval a file of another model",
        lambda tmp: main_job("--eval", model_file(tmp)),
        JobExit,
        r"exit 2: error: argument --eval: load_state_dict into Sequential failed: missing keys: 0.weight",
    ),
    (
        "--eval a training checkpoint of another model",
        lambda tmp: main_job("--eval", checkpoint_file(tmp)),
        JobExit,
        r"exit 2: error: argument --eval: load_checkpoint\(.*run.npz\), model: load_state_dict into Sequential failed",
    ),
    (
        "--eval a text file",
        lambda tmp: main_job("--eval", text_file(tmp)),
        JobExit,
        r"exit 2: error: argument --eval: .*notes.txt is not an .npz file",
    ),
    (
        "--save into a missing folder",
        lambda _: main_job("--save", "/no/such/folder/m.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --save: the folder /no/such/folder does not exist",
    ),
    (
        "--save a folder",
        lambda tmp: main_job("--save", tmp),
        JobExit,
        r"exit 2: (?s:.*)argument --save: .* is a folder; give a file name",
    ),
    (
        "--checkpoint into a missing folder",
        lambda _: main_job("--checkpoint", "/no/such/folder/c.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --checkpoint: the folder /no/such/folder does not exist",
    ),
    (
        "--checkpoint the --save file",
        lambda tmp: main_job("--checkpoint", tmp / "m.npz", "--save", tmp / "m.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --checkpoint: the same file as --save",
    ),
    (
        "--export into a missing folder",
        lambda _: main_job("--export", "/no/such/folder/m.onnx"),
        JobExit,
        r"exit 2: (?s:.*)argument --export: the folder /no/such/folder does not exist",
    ),
    (
        "--export a folder",
        lambda tmp: main_job("--eval", model_file(tmp), "--export", tmp),
        JobExit,
        r"exit 2: (?s:.*)argument --export: .* is a folder; give a file name",
    ),
    (
        "--export the same file as --save",
        lambda tmp: main_job("--save", tmp / "m", "--export", tmp / "m"),
        JobExit,
        r"exit 2: (?s:.*)argument --export: the same file as --save",
    ),
    (
        "--plot into a missing folder",
        lambda _: main_job("--plot", "/no/such/folder/p.png"),
        JobExit,
        r"exit 2: (?s:.*)argument --plot: the folder /no/such/folder does not exist",
    ),
    (
        "--data a missing folder",
        lambda _: main_job("--data", "/no/such/folder"),
        JobExit,
        r"exit 2: (?s:.*)argument --data: /no/such/folder is not an existing folder",
    ),
    (
        "--eval a missing file",
        lambda _: main_job("--eval", "/no/such/model.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --eval: /no/such/model.npz is not an existing file",
    ),
    (
        "--resume a missing file",
        lambda _: main_job("--resume", "/no/such/run.npz"),
        JobExit,
        r"exit 2: (?s:.*)argument --resume: /no/such/run.npz is not an existing file",
    ),
    (
        "--resume a model file",
        lambda tmp: main_job("--resume", model_file(tmp)),
        JobExit,
        r"exit 2: (?s:.*)argument --resume: .*model.npz is not a tinynet training checkpoint",
    ),
    (
        "--resume a run with other --epochs",
        lambda tmp: main_job("--resume", checkpoint_file(tmp, epochs=3)),
        JobExit,
        r"exit 2: (?s:.*)argument --resume: .*run.npz was written by a run with --epochs 3; this run has 10",
    ),
    (
        "--resume a run with another --optimizer",
        lambda tmp: main_job("--resume", checkpoint_file(tmp, optimizer="sgdm")),
        JobExit,
        r"exit 2: (?s:.*)argument --resume: .*run.npz was written by a run with --optimizer sgdm; this run has adam",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def main_job_module():
    """examples/mnist_mlp.py, imported once as the module `mnist_mlp` (with `mnist_training`)."""
    sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location("mnist_mlp", EXAMPLES / "mnist_mlp.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mnist_mlp"] = module
    spec.loader.exec_module(module)
    yield module


def test_there_are_enough_cases():
    assert len(CASES) >= 60 and len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("call, error, message", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input(call, error, message, tmp_path, monkeypatch):
    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded before the flags were checked")

    monkeypatch.setattr(sys.modules["mnist_training"], "load_mnist", no_data)
    monkeypatch.chdir(tmp_path)  # the main job's default --save file is in the current folder
    with pytest.raises(error, match=message):
        call(tmp_path)
