"""tn.testing.compare_with_torch: a tinynet model beside its PyTorch twin, layer by layer."""

import re
import subprocess
import sys

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet import nn, optim
from tinynet.optim.lr_scheduler import StepLR

torch = pytest.importorskip("torch")

TIGHT = {"rtol": 1e-9, "atol": 1e-12}  # float64 models agree to rounding


class SiLUWithForgottenTerm(tn.Function):
    """x · sigmoid(x), whose backward forgets the x · s · (1 - s) term of the product rule."""

    @staticmethod
    def forward(ctx, x):
        s = 1 / (1 + np.exp(-x))
        ctx.save_for_backward(s)
        return x * s

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved
        return grad * s


class BuggySiLU(nn.Module):
    def forward(self, x):
        return SiLUWithForgottenTerm.apply(x)


class SiLUOffByOne(nn.Module):
    def forward(self, x):
        return x * x.sigmoid() + 1.0


def mlp_pair(middle=None):
    tn.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 8), middle or nn.SiLU(), nn.Linear(8, 3)).to(np.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.SiLU(), torch.nn.Linear(8, 3)).double()
    return ours, theirs


def batch(*shape):
    return np.random.default_rng(0).standard_normal(shape)


def test_a_wrong_backward_is_found_in_the_layer_that_has_it():
    ours, theirs = mlp_pair(BuggySiLU())
    report = tn.testing.compare_with_torch(ours, theirs, batch(5, 4), **TIGHT)
    assert not report.ok and report.first_mismatch == "1"
    assert "backward is wrong" in report.reason
    rows = {row.name: row for row in report.rows}
    assert rows["1"].differs == ["grad_in"]  # it got the right gradient and sent a wrong one
    assert rows["2"].ok and rows["1"].output < 1e-12  # the forward pass and the layer after it agree
    assert not rows["0"].ok and not rows["(model)"].ok  # hit by the wrong gradient, but not blamed
    table = str(report)
    assert "first mismatch: 1: it received the right gradient" in table
    assert "MySiLU" not in table and "BuggySiLU/SiLU" in table


def test_a_wrong_forward_is_found_before_the_backward():
    ours, theirs = mlp_pair(SiLUOffByOne())
    report = tn.testing.compare_with_torch(ours, theirs, batch(5, 4), **TIGHT)
    assert report.first_mismatch == "1" and report.reason == "its output differs in the forward pass"


def test_a_wrong_gradient_between_layers_names_the_layer_it_reaches():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(3, 3)

        def forward(self, x):
            h = self.inner(x)
            return SiLUWithForgottenTerm.apply(h) + x  # a Function called outside any module

    class TorchResidual(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = torch.nn.Linear(3, 3)

        def forward(self, x):
            return torch.nn.functional.silu(self.inner(x)) + x

    tn.manual_seed(0)
    report = tn.testing.compare_with_torch(Residual().to(np.float64), TorchResidual().double(), batch(4, 3), **TIGHT)
    assert report.first_mismatch == "inner" and "arrived at its output differs" in report.reason


def test_a_correct_mlp_with_a_loss_an_optimizer_step_and_a_scheduler_step_agrees():
    ours, theirs = mlp_pair()
    before = ours[0].weight.data.copy()
    opt, torch_opt = (
        optim.Adam(lr=0.01, weight_decay=0.1),
        torch.optim.Adam(theirs.parameters(), lr=0.01, weight_decay=0.1),
    )
    schedule, torch_schedule = StepLR(opt, 1, gamma=0.5), torch.optim.lr_scheduler.StepLR(torch_opt, 1, gamma=0.5)
    report = tn.testing.compare_with_torch(
        ours,
        theirs,
        batch(5, 4),
        np.array([0, 2, 1, 1, 0]),
        (F.cross_entropy, torch.nn.functional.cross_entropy),
        optimizer=(opt, torch_opt),
        scheduler=(schedule, torch_schedule),
        **TIGHT,
    )
    assert report.ok and report.first_mismatch is None, str(report)
    names = [row.name for row in report.rows]
    assert names == [
        "0",
        "1",
        "2",
        "(model)",
        "(loss)",
        *(f"step: {p}" for p in ("0.weight", "0.bias", "2.weight", "2.bias")),
        "scheduler step: lr",
    ]
    assert opt.lr == torch_opt.param_groups[0]["lr"] == 0.005
    moved = theirs[0].weight.detach().numpy()
    assert np.allclose(ours[0].weight.data, moved, **TIGHT) and not np.allclose(moved, before, **TIGHT)
    assert str(report).endswith("all agree")


def test_an_optimizer_that_steps_differently_is_named():
    ours, theirs = mlp_pair()
    opt, torch_opt = optim.SGD(lr=0.1), torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, dampening=0.5)
    report = tn.testing.compare_with_torch(ours, theirs, batch(5, 4), optimizer=(opt, torch_opt), **TIGHT)
    assert report.ok  # momentum's first step is plain SGD's
    schedule, torch_schedule = StepLR(opt, 1, gamma=0.5), torch.optim.lr_scheduler.StepLR(torch_opt, 1, gamma=0.1)
    report = tn.testing.compare_with_torch(
        ours, theirs, batch(5, 4), optimizer=(opt, torch_opt), scheduler=(schedule, torch_schedule), **TIGHT
    )
    assert report.first_mismatch == "step: 0.weight"  # the second momentum step differs; so does the lr
    assert not report.rows[-1].ok


def test_a_correct_cnn_agrees_in_float32_with_the_default_tolerance():
    tn.manual_seed(0)
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10)
    )
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 10),
    )
    x = batch(3, 1, 8, 8).astype(np.float32)
    report = tn.testing.compare_with_torch(
        ours, theirs, x, np.array([1, 7, 3]), (F.cross_entropy, torch.nn.functional.cross_entropy)
    )
    assert report.ok, str(report)
    assert [row.kind for row in report.rows[:5]] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]


def test_a_correct_lstm_agrees_on_all_its_outputs():
    tn.manual_seed(0)
    ours = nn.LSTM(3, 5, num_layers=2, batch_first=True).to(np.float64)
    theirs = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True).double()
    report = tn.testing.compare_with_torch(ours, theirs, batch(2, 4, 3), **TIGHT)
    assert report.ok, str(report)
    (row,) = report.rows[:1]
    assert row.name == "(model)" and row.grad_params is not None


def test_a_module_called_twice_gets_a_row_per_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 3)

        def forward(self, x):
            return self.layer(self.layer(x).tanh())

    class TorchTwice(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.layer(self.layer(x).tanh())

    report = tn.testing.compare_with_torch(Twice().to(np.float64), TorchTwice().double(), batch(2, 3), **TIGHT)
    assert report.ok and [row.name for row in report.rows[:3]] == ["layer", "layer (call 2)", "(model)"]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"model": "not a model"}, TypeError, "model must be a tinynet nn.Module, got str"),
        ({"torch_model": "twin"}, TypeError, "torch_model must be a torch.nn.Module"),
        ({"inputs": [[1.0, 2.0]]}, TypeError, "input 0 must be a numpy array of numbers or a tinynet Tensor, got list"),
        ({"target": np.zeros(5)}, ValueError, "a target is used only by a loss"),
        ({"loss_fn": F.cross_entropy}, TypeError, "loss_fn must be a pair (tinynet_loss, torch_loss)"),
        ({"rtol": -1.0}, ValueError, "rtol must be a number >= 0, got -1.0"),
        ({"atol": "tight"}, ValueError, "atol must be a number >= 0, got 'tight'"),
        ({"optimizer": optim.SGD(lr=0.1)}, TypeError, "optimizer must be a pair (tinynet_optimizer, torch_optimizer)"),
    ],
)
def test_bad_arguments_are_named(change, error, message):
    ours, theirs = mlp_pair()
    arguments = {"model": ours, "torch_model": theirs, "inputs": batch(5, 4), **change}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        tn.testing.compare_with_torch(**arguments)


def test_models_that_are_not_twins_are_refused_before_anything_runs():
    ours, theirs = mlp_pair()
    other = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.SiLU(), torch.nn.Linear(8, 2)).double()
    with pytest.raises(ValueError, match=r"shapes differ \(model vs torch_model\): 2.weight: \(3, 8\) vs \(2, 8\)"):
        tn.testing.compare_with_torch(ours, other, batch(5, 4))
    renamed = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.SiLU(), torch.nn.Linear(8, 3), torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match=r"only in torch_model: \['3.bias', '3.weight'\]; only in model: \[\]"):
        tn.testing.compare_with_torch(ours, renamed.double(), batch(5, 4))
    with pytest.raises(ValueError, match=r"model holds float64 and torch_model torch.float32 .*torch_model.double\(\)"):
        tn.testing.compare_with_torch(ours, theirs.float(), batch(5, 4))


def test_an_optimizer_or_scheduler_that_cannot_be_compared_is_refused():
    ours, theirs = mlp_pair()
    stranger = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"must be built on torch_model.parameters\(\)"):
        tn.testing.compare_with_torch(ours, theirs, batch(5, 4), optimizer=(optim.SGD(lr=0.1), stranger))
    torch_opt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"optimizer\[0\] must be a tinynet Optimizer, got torch.optim.sgd.SGD"):
        tn.testing.compare_with_torch(ours, theirs, batch(5, 4), optimizer=(torch_opt, optim.SGD(lr=0.1)))
    opt = optim.SGD(lr=0.1)
    schedule = (StepLR(opt, 1), torch.optim.lr_scheduler.StepLR(torch_opt, 1))
    with pytest.raises(ValueError, match="a scheduler step is compared after an optimizer step: pass optimizer too"):
        tn.testing.compare_with_torch(ours, theirs, batch(5, 4), scheduler=schedule)
    with pytest.raises(ValueError, match="each scheduler must schedule the optimizer given with it"):
        tn.testing.compare_with_torch(
            ours, theirs, batch(5, 4), optimizer=(optim.SGD(lr=0.1), torch_opt), scheduler=schedule
        )


def test_a_loss_that_is_not_one_number_is_refused():
    ours, theirs = mlp_pair()
    per_row = (
        lambda out, t: F.cross_entropy(out, t, reduction="none"),
        lambda out, t: torch.nn.functional.cross_entropy(out, t, reduction="none"),
    )
    with pytest.raises(ValueError, match="the loss of model must be a one-element tensor"):
        tn.testing.compare_with_torch(ours, theirs, batch(5, 4), np.array([0, 1, 2, 0, 1]), per_row)


def test_importing_tinynet_does_not_import_torch():
    code = "import sys, tinynet; assert tinynet.testing.compare_with_torch; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_table_in_the_docs_is_what_the_worked_example_prints(tmp_path, monkeypatch, capsys):
    from test_docs import ROOT, examples

    document = ROOT / "docs" / "extending.md"
    shown = re.search(r"```text\n(max \|tinynet - torch\|.*?)```", document.read_text(), re.DOTALL)[1]
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    blocks = examples(document)
    try:
        for code in blocks[: next(i for i, code in enumerate(blocks) if "print(report)" in code) + 1]:
            exec(code, namespace)
    finally:
        tn.set_default_dtype(np.float32)
    rounding = re.compile(r"\d\.\d\de-1[3-9]")  # differences at rounding level vary from CPU to CPU
    assert rounding.sub("~", capsys.readouterr().out) == rounding.sub("~", shown)


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    ours, theirs = mlp_pair()
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed: import torch fails
    with pytest.raises(ModuleNotFoundError, match=r"compare_with_torch needs PyTorch.*pip install torch==2.13.0"):
        tn.testing.compare_with_torch(ours, theirs, batch(5, 4))
