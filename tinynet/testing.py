"""Compare a tinynet model with its PyTorch twin, layer by layer, to find the first place they disagree.

    report = tn.testing.compare_with_torch(model, torch_model, x)
    print(report)                 # a table: each layer's output, and the gradients in and out of it
    report.ok                     # True when everything agrees within the tolerance
    report.first_mismatch         # the module path of the layer to look at, or None

tinynet's modules use PyTorch's parameter names and layouts, so the weights are copied from the
tinynet model into the torch model by state dict. Both models then run on the same inputs, and
every module call is watched: its output in the forward pass, and in the backward pass the
gradient that arrived at its output, the gradients it sent to its inputs and the gradients of its
own parameters. A layer whose backward is wrong receives the right gradient and sends a wrong one,
which names it. PyTorch is imported only when `compare_with_torch` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from tinynet.nn.module import Module
from tinynet.optim.lr_scheduler import LRScheduler
from tinynet.optim.optimizer import Optimizer
from tinynet.tensor import Tensor

MODEL = "(model)"
"""The name the report gives the model itself (PyTorch's named_modules calls it "")."""


@dataclass
class Row:
    """One line of the report: a module call (or the loss, an optimizer step, a scheduler step),
    with the largest absolute difference between tinynet and PyTorch for each thing compared
    (None where there was nothing to compare) and which of them differ beyond the tolerance."""

    name: str
    kind: str
    output: float | None = None
    grad_out: float | None = None
    grad_in: float | None = None
    grad_params: float | None = None
    differs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether everything compared on this row agrees within the tolerance."""
        return not self.differs


COLUMNS = (("output", "output"), ("grad_out", "grad out"), ("grad_in", "grad in"), ("grad_params", "grad params"))


@dataclass
class Comparison:
    """What `compare_with_torch` found: `rows` (one per module call in the order the calls ended,
    which puts a layer before the container that holds it, then the loss, then the optimizer and
    scheduler steps), `ok`, `first_mismatch` and `reason`; `str()` is the table."""

    rows: list[Row]
    first_mismatch: str | None
    reason: str
    rtol: float
    atol: float

    @property
    def ok(self) -> bool:
        """Whether every output, gradient, step and learning rate agrees within the tolerance."""
        return self.first_mismatch is None

    def __str__(self) -> str:
        names = [row.name for row in self.rows]
        width = max(len("module"), *map(len, names))
        kind_width = max(len("kind"), *(len(row.kind) for row in self.rows))
        header = f"{'module':<{width}}  {'kind':<{kind_width}}" + "".join(f"  {title:>11}" for _, title in COLUMNS)
        lines = [f"max |tinynet - torch| (a ! differs beyond rtol={self.rtol:g}, atol={self.atol:g})", header]
        for row in self.rows:
            cells = []
            for key, _ in COLUMNS:
                value = getattr(row, key)
                text = "-" if value is None else f"{value:.2e}"
                cells.append(f"  {text + ('!' if key in row.differs else ' '):>11}")
            notes = f"  {'; '.join(row.notes)}" if row.notes else ""
            lines.append((f"{row.name:<{width}}  {row.kind:<{kind_width}}" + "".join(cells) + notes).rstrip())
        lines.append("all agree" if self.ok else f"first mismatch: {self.first_mismatch}: {self.reason}")
        return "\n".join(lines)

    __repr__ = __str__


def compare_with_torch(
    model: Module,
    torch_model,
    inputs,
    target=None,
    loss_fn: tuple[Callable, Callable] | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    *,
    optimizer: tuple[Optimizer, object] | None = None,
    scheduler: tuple[LRScheduler, object] | None = None,
) -> Comparison:
    """Run `model` (tinynet) and `torch_model` (its PyTorch twin) on the same `inputs` and
    compare them module by module: forward outputs, then the backward pass.

    - The weights (and buffers) of `model` are first copied into `torch_model` by state dict:
      the two need the same parameter names, shapes and floating dtype.
    - `inputs`: an array (or a Tensor), or a tuple of them for a model that takes several.
      Floating-point inputs are given a gradient, so the first layer's is compared too.
    - `loss_fn=(tinynet_loss, torch_loss)`, each called as `loss(output, target)`, e.g.
      `(F.cross_entropy, torch.nn.functional.cross_entropy)`; without it the backward pass
      starts from the sum of the outputs (`target` is then not allowed).
    - `optimizer=(tinynet_optimizer, torch_optimizer)`, the torch one built on
      `torch_model.parameters()`: after the backward pass each takes one step
      (`opt.step(model.grads, model.params)` and `torch_opt.step()`), and every parameter is
      compared after it. `scheduler=(tinynet_scheduler, torch_scheduler)` then takes one step
      on each, and their learning rates (`get_last_lr()`) are compared.
    - Two numbers agree when |ours - theirs| <= atol + rtol * |theirs|, as in np.allclose. The
      defaults suit float32; for float64 models 1e-10 and 1e-12 catch much smaller differences.

    Both models run in the mode they are in: for Dropout, put both in eval(). The models are
    left with the gradients, and after `optimizer` the parameters, of the comparison.
    Returns a `Comparison`: `.ok`, `.first_mismatch` (the module path of the first layer that
    differs, `"(model)"` for the model itself, None when all agree) and the table as its str."""
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(
            "compare_with_torch needs PyTorch, which tinynet does not: python -m pip install torch==2.13.0"
        ) from None

    _check_arguments(model, torch_model, torch, target, loss_fn, rtol, atol, optimizer, scheduler)
    _copy_weights(model, torch_model, torch)
    ours_inputs, torch_inputs = _both_inputs(inputs, torch)
    ours, theirs = _Recorder(model, _TINYNET), _Recorder(torch_model, _Torch(torch))
    with ours, theirs:
        ours_out, torch_out = model(*ours_inputs), torch_model(*torch_inputs)
    ours_loss = _loss(ours_out, target, loss_fn[0] if loss_fn else None, _TINYNET, "model")
    torch_target = None if target is None else _to_torch(target, torch)
    torch_loss = _loss(torch_out, torch_target, loss_fn[1] if loss_fn else None, _Torch(torch), "torch_model")
    model.zero_grad()
    torch_model.zero_grad()
    ours_loss.backward()
    torch_loss.backward()

    rows = _module_rows(ours, theirs, rtol, atol)
    loss_row = Row("(loss)", "loss" if loss_fn else "sum of the outputs")
    _compare(loss_row, "output", ours_loss.data, torch_loss.detach().numpy(), rtol, atol)
    rows.append(loss_row)
    steps = []
    if optimizer is not None:
        steps = _optimizer_rows(model, torch_model, optimizer, rtol, atol)
    if scheduler is not None:
        steps.append(_scheduler_row(scheduler, rtol, atol))
    first, reason = _first_mismatch(ours.calls, rows[:-1], [loss_row, *steps])
    return Comparison([*rows, *steps], first, reason, rtol, atol)


# ---------------------------------------------------------------- the two frameworks, seen alike


class _TinynetSide:
    """How the recorder reads tinynet's tensors and modules."""

    tensor_type = Tensor

    @staticmethod
    def numbers(tensor) -> np.ndarray:
        return tensor.data

    @staticmethod
    def gradient(grad) -> np.ndarray:
        return np.asarray(grad)

    @staticmethod
    def own_parameters(module) -> list:
        return [(name, p) for name, p in module.named_parameters() if "." not in name]

    @staticmethod
    def parameter_grad(parameter) -> np.ndarray | None:
        return parameter.grad


_TINYNET = _TinynetSide()


class _Torch:
    """How the recorder reads PyTorch's tensors and modules (torch is imported by the caller)."""

    def __init__(self, torch) -> None:
        self.tensor_type = torch.Tensor

    @staticmethod
    def numbers(tensor) -> np.ndarray:
        return tensor.detach().numpy()

    @staticmethod
    def gradient(grad) -> np.ndarray:
        return grad.detach().numpy()

    @staticmethod
    def own_parameters(module) -> list:
        return list(module.named_parameters(recurse=False))

    @staticmethod
    def parameter_grad(parameter) -> np.ndarray | None:
        return None if parameter.grad is None else parameter.grad.numpy()


@dataclass
class _Call:
    """One call of a module, as a recorder saw it: its outputs' values, and the gradients that
    its tensor hooks caught (None where the tensor got none)."""

    path: str
    kind: str
    outputs: list[np.ndarray]
    output_grads: list[np.ndarray | None]
    input_grads: list[np.ndarray | None]
    module: object


class _Recorder:
    """Within `with`, a forward hook on every module of `model` records each call: the values of
    its output tensors, and hooks on those tensors and on its input tensors catch their gradients."""

    def __init__(self, model, side) -> None:
        self.model, self.side = model, side
        self.calls: list[_Call] = []
        self.handles: list = []

    def __enter__(self) -> _Recorder:
        for path, module in self.model.named_modules():
            self.handles.append(module.register_forward_hook(self._hook(path or MODEL)))
        return self

    def __exit__(self, *_) -> None:
        for handle in self.handles:
            handle.remove()

    def _hook(self, path: str):
        def record(module, inputs, output) -> None:
            outputs = _tensors(output, self.side.tensor_type)
            ins = [t for t in _tensors(inputs, self.side.tensor_type) if t.requires_grad]
            values = [self.side.numbers(t).copy() for t in outputs]
            caught = self._catch_gradients(outputs), self._catch_gradients(ins)
            self.calls.append(_Call(path, type(module).__name__, values, *caught, module))

        return record

    def _catch_gradients(self, tensors: list) -> list:
        caught: list = [None] * len(tensors)
        for k, tensor in enumerate(tensors):
            if tensor.requires_grad:
                tensor.register_hook(lambda grad, k=k: caught.__setitem__(k, self.side.gradient(grad).copy()))
        return caught

    def parameter_grads(self, call: _Call) -> dict[str, np.ndarray | None]:
        prefix = "" if call.path == MODEL else call.path + "."
        return {
            prefix + name: self.side.parameter_grad(p)
            for name, p in self.side.own_parameters(call.module)
            if p.requires_grad
        }


def _tensors(value, tensor_type) -> list:
    """The tensors in a module's output or inputs, nested tuples and lists flattened, in order."""
    if isinstance(value, tensor_type):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item, tensor_type)]
    return []


# ---------------------------------------------------------------- checks, weights, inputs


def _check_arguments(model, torch_model, torch, target, loss_fn, rtol, atol, optimizer, scheduler) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"compare_with_torch: model must be a tinynet nn.Module, got {type(model).__name__}")
    if not isinstance(torch_model, torch.nn.Module):
        raise TypeError(
            f"compare_with_torch: torch_model must be a torch.nn.Module (the PyTorch twin of model), "
            f"got {type(torch_model).__name__}"
        )
    if loss_fn is None:
        if target is not None:
            raise ValueError(
                "compare_with_torch: a target is used only by a loss; pass loss_fn=(tinynet_loss, torch_loss), "
                "or leave target out to backpropagate the sum of the outputs"
            )
    elif not (isinstance(loss_fn, (tuple, list)) and len(loss_fn) == 2 and all(map(callable, loss_fn))):
        raise TypeError(
            "compare_with_torch: loss_fn must be a pair (tinynet_loss, torch_loss) of functions loss(output, target), "
            f"e.g. (F.cross_entropy, torch.nn.functional.cross_entropy), got {type(loss_fn).__name__}"
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"compare_with_torch: {name} must be a number >= 0, got {value!r}")
    if optimizer is not None:
        _check_pair("optimizer", optimizer, Optimizer, torch.optim.Optimizer)
        ours_params = {id(p) for p in torch_model.parameters()}
        if not all(id(p) in ours_params for group in optimizer[1].param_groups for p in group["params"]):
            raise ValueError(
                "compare_with_torch: the torch optimizer must be built on torch_model.parameters(), "
                "so that its step moves the weights being compared"
            )
    if scheduler is not None:
        if optimizer is None:
            raise ValueError(
                "compare_with_torch: a scheduler step is compared after an optimizer step: pass optimizer too"
            )
        _check_pair("scheduler", scheduler, LRScheduler, torch.optim.lr_scheduler.LRScheduler)
        if scheduler[0].optimizer is not optimizer[0] or scheduler[1].optimizer is not optimizer[1]:
            raise ValueError("compare_with_torch: each scheduler must schedule the optimizer given with it")


def _check_pair(name: str, pair, ours_type: type, torch_type: type) -> None:
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise TypeError(f"compare_with_torch: {name} must be a pair (tinynet_{name}, torch_{name}), got {pair!r}")
    for given, expected, side in ((pair[0], ours_type, "tinynet"), (pair[1], torch_type, "torch")):
        if not isinstance(given, expected):
            raise TypeError(
                f"compare_with_torch: {name}[{int(side == 'torch')}] must be a {side} {expected.__name__}, "
                f"got {type(given).__module__}.{type(given).__name__} (the pair is (tinynet_{name}, torch_{name}))"
            )


def _copy_weights(model: Module, torch_model, torch) -> None:
    """Load model's state dict into torch_model, after checking names, shapes and dtypes."""
    ours, theirs = model.state_dict(), torch_model.state_dict()
    missing, unexpected = sorted(theirs.keys() - ours.keys()), sorted(ours.keys() - theirs.keys())
    if missing or unexpected:
        raise ValueError(
            "compare_with_torch: the two models do not have the same parameters and buffers: "
            f"only in torch_model: {missing}; only in model: {unexpected}. Give the layers the same names "
            "(attribute names, Sequential positions)"
        )
    shapes = [
        f"{k}: {ours[k].shape} vs {tuple(theirs[k].shape)}" for k in ours if ours[k].shape != tuple(theirs[k].shape)
    ]
    if shapes:
        raise ValueError(f"compare_with_torch: shapes differ (model vs torch_model): {'; '.join(shapes)}")
    dtypes = {
        k: (ours[k].dtype, theirs[k].dtype)
        for k in ours
        if ours[k].dtype.kind == "f" and str(ours[k].dtype) != str(theirs[k].dtype).removeprefix("torch.")
    }
    if dtypes:
        k, (mine, torch_dtype) = next(iter(dtypes.items()))
        raise ValueError(
            f"compare_with_torch: model holds {mine} and torch_model {torch_dtype} (e.g. {k}): use one precision, "
            "e.g. model.to(np.float64) and torch_model.double()"
        )
    torch_model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.items()})


def _both_inputs(inputs, torch) -> tuple[list, list]:
    """The inputs for tinynet (floating ones as Tensors needing a gradient) and for torch."""
    given = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    ours, theirs = [], []
    for k, x in enumerate(given):
        array = x.data if isinstance(x, Tensor) else x
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub":
            raise TypeError(
                f"compare_with_torch: input {k} must be a numpy array of numbers or a tinynet Tensor, "
                f"got {type(x).__name__}{'' if not isinstance(array, np.ndarray) else ' of dtype ' + str(array.dtype)}"
            )
        floating = array.dtype.kind == "f"
        ours.append(Tensor(array.copy(), requires_grad=True) if floating else array)
        theirs.append(torch.tensor(array, requires_grad=floating))
    return ours, theirs


def _to_torch(value, torch):
    array = value.data if isinstance(value, Tensor) else np.asarray(value)
    return torch.from_numpy(array.copy())


def _loss(output, target, loss, side, which: str):
    """The tensor the backward pass starts from: the loss, or the sum of the output tensors."""
    if loss is not None:
        value = loss(output, target)
    else:
        outputs = [t for t in _tensors(output, side.tensor_type) if t.requires_grad]
        if not outputs:
            raise ValueError(f"compare_with_torch: the output of {which} does not require a gradient")
        value = outputs[0].sum()
        for tensor in outputs[1:]:
            value = value + tensor.sum()
    if not isinstance(value, side.tensor_type) or np.prod(value.shape) != 1:
        raise ValueError(f"compare_with_torch: the loss of {which} must be a one-element tensor, got {value!r:.80}")
    return value


# ---------------------------------------------------------------- comparing


def _difference(ours: np.ndarray | None, theirs: np.ndarray | None, rtol: float, atol: float) -> tuple[float, bool]:
    """The largest |ours - theirs| and whether all agree (a missing gradient counts as zeros)."""
    if ours is None and theirs is None:
        return 0.0, True
    ours = np.zeros_like(theirs) if ours is None else np.asarray(ours, dtype=np.float64)
    theirs = np.zeros_like(ours) if theirs is None else np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        return float("inf"), False
    if ours.size == 0:
        return 0.0, True
    difference = np.abs(ours - theirs)
    both_nan = np.isnan(ours) & np.isnan(theirs)
    agree = (difference <= atol + rtol * np.abs(theirs)) | both_nan
    return float(np.nanmax(np.where(both_nan, 0.0, difference))), bool(agree.all())


def _compare(row: Row, column: str, ours, theirs, rtol: float, atol: float) -> None:
    """Compare one or several pairs of arrays into `column` of `row`."""
    pairs = list(zip(ours, theirs)) if isinstance(ours, list) else [(ours, theirs)]
    if not pairs:
        return
    results = [_difference(a, b, rtol, atol) for a, b in pairs]
    setattr(row, column, max(d for d, _ in results))
    if not all(agree for _, agree in results):
        row.differs.append(column)
    for a, b in pairs:
        if a is not None and b is not None and np.shape(a) != np.shape(b):
            row.notes.append(f"{column} shapes {np.shape(a)} vs {np.shape(b)}")


def _module_rows(ours: _Recorder, theirs: _Recorder, rtol: float, atol: float) -> list[Row]:
    """One row per module call, matched by module path and call number."""
    ours_calls, torch_calls = _numbered(ours.calls), _numbered(theirs.calls)
    if ours_calls.keys() != torch_calls.keys():
        only_ours = sorted(f"{p} (call {n})" for p, n in ours_calls.keys() - torch_calls.keys())
        only_torch = sorted(f"{p} (call {n})" for p, n in torch_calls.keys() - ours_calls.keys())
        raise ValueError(
            "compare_with_torch: the models did not call the same modules: "
            f"only in model: {only_ours}; only in torch_model: {only_torch}"
        )
    rows, parameters_shown = [], set()
    for (path, number), call in ours_calls.items():
        twin = torch_calls[(path, number)]
        name = path if number == 1 else f"{path} (call {number})"
        row = Row(name, call.kind if call.kind == twin.kind else f"{call.kind}/{twin.kind}")
        if len(call.outputs) != len(twin.outputs):
            row.notes.append(f"{len(call.outputs)} output tensors vs {len(twin.outputs)}")
            row.differs.append("output")
        _compare(row, "output", call.outputs, twin.outputs, rtol, atol)
        _compare(row, "grad_out", call.output_grads, twin.output_grads, rtol, atol)
        _compare(row, "grad_in", call.input_grads, twin.input_grads, rtol, atol)
        if path not in parameters_shown:  # a module called twice: its gradients (the sum) on its first row
            parameters_shown.add(path)
            mine, theirs_grads = ours.parameter_grads(call), theirs.parameter_grads(twin)
            names = sorted(mine.keys() & theirs_grads.keys())
            _compare(row, "grad_params", [mine[n] for n in names], [theirs_grads[n] for n in names], rtol, atol)
        rows.append(row)
    return rows


def _numbered(calls: list[_Call]) -> dict[tuple[str, int], _Call]:
    """The calls by (module path, how many calls of that module so far), in the order they ended."""
    counts: dict[str, int] = {}
    numbered = {}
    for call in calls:
        counts[call.path] = counts.get(call.path, 0) + 1
        numbered[(call.path, counts[call.path])] = call
    return numbered


def _optimizer_rows(model: Module, torch_model, optimizer, rtol: float, atol: float) -> list[Row]:
    ours_opt, torch_opt = optimizer
    ours_opt.step(model.grads, model.params)
    torch_opt.step()
    theirs = dict(torch_model.named_parameters())
    rows = []
    for name, p in model.named_parameters():
        row = Row(f"step: {name}", type(ours_opt).__name__)
        _compare(row, "output", p.data, theirs[name].detach().numpy(), rtol, atol)
        rows.append(row)
    return rows


def _scheduler_row(scheduler, rtol: float, atol: float) -> Row:
    ours_schedule, torch_schedule = scheduler
    ours_schedule.step()
    torch_schedule.step()
    row = Row("scheduler step: lr", type(ours_schedule).__name__)
    _compare(row, "output", np.ravel(ours_schedule.get_last_lr()), np.ravel(torch_schedule.get_last_lr()), rtol, atol)
    return row


def _first_mismatch(calls: Sequence[_Call], module_rows: list[Row], later_rows: list[Row]) -> tuple[str | None, str]:
    """The row to blame, and why. The forward pass first: the first call (in the order the calls
    ended, so a layer before its container) whose output differs. Then the backward pass, from the
    last call to end back to the first: a call where the gradient that arrived at its output
    differs (the code after it, outside any module, went wrong), or one that got the right
    gradient and sent a wrong one to its inputs or parameters, unless a call inside it differs
    too (a container is not blamed for its layer). Then the loss, the optimizer and the scheduler."""
    for row in module_rows:
        if "output" in row.differs:
            return row.name, "its output differs in the forward pass"
    inside = _nested_calls(calls)
    for k in reversed(range(len(module_rows))):
        row = module_rows[k]
        if "grad_out" in row.differs:
            return row.name, (
                "the gradient that arrived at its output differs, while the layers after it agree: "
                "look at the code between this layer and the next"
            )
        sent = [c for c in ("grad_in", "grad_params") if c in row.differs]
        if sent and not any(not module_rows[j].ok for j in inside[k]):
            what = " and ".join({"grad_in": "its inputs", "grad_params": "its parameters"}[c] for c in sent)
            return row.name, (
                f"it received the right gradient at its output but sent wrong gradients to {what}: "
                "its backward is wrong"
            )
    for row in later_rows:
        if not row.ok:
            return row.name, "differs"
    return None, ""


def _nested_calls(calls: Sequence[_Call]) -> list[list[int]]:
    """For each call, the indices of the calls of its submodules that ended before it and after the
    previous call of the same module (those it made, for a module called once per forward pass)."""
    nested = []
    for k, call in enumerate(calls):
        prefix = "" if call.path == MODEL else call.path + "."
        start = max((j + 1 for j in range(k) if calls[j].path == call.path), default=0)
        nested.append([j for j in range(start, k) if call.path == MODEL or calls[j].path.startswith(prefix)])
    return nested
