"""Export a model to ONNX, to run it elsewhere (ONNX Runtime, a phone, a web page):

    tn.onnx.export(model, example_input, "model.onnx")

How the graph is found: by tracing one forward pass (docs/onnx.md says why). For the length of
that pass, tinynet's public ops are wrapped: the Tensor methods (`+`, `@`, `reshape`, `[...]`,
...), the functions of tinynet.functional (`F.conv2d`, `F.softmax`, ...), `tn.concatenate` and
the like, and the forward of the recurrent layers. Each wrapped op that receives a traced tensor
runs as usual (tracing paused inside it, so the ops it is built from are not recorded twice),
then its converter below writes the ONNX nodes that compute the same result. A model is thus
traced through whatever Python its forward runs: Sequential, ModuleList, ModuleDict, a forward
of your own. Every other op that gets a traced tensor (a Function of your own, a loss) is an
UnsupportedOperation naming it. Supporting a new op or layer is one converter, registered with
`@_converts`.

The `onnx` package is needed only here, and imported only by `export` (the `onnx` extra).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import math
import os
import sys
from collections.abc import Callable, Iterator

import numpy as np

import tinynet
from tinynet import functional as F
from tinynet import nn, recurrent
from tinynet.checkpoint import atomic_write
from tinynet.convolution import pair
from tinynet.tensor import Tensor
from tinynet.torch_names import TORCH_NAMES

_tensor_module = sys.modules["tinynet.tensor"]  # the module (tn.tensor is the function that makes a Tensor)

DEFAULT_OPSET = 17  # the first with LayerNormalization; ONNX Runtime has run it since 1.11
MIN_OPSET = 17


class ExportError(Exception):
    """The model cannot be exported as it is; the message says why and what to do."""


class UnsupportedOperation(ExportError):
    """An op or layer in the forward pass has no ONNX form in this exporter."""


# ---------------------------------------------------------------- export


def export(
    model: nn.Module,
    example_input,
    path: str | os.PathLike,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
    opset: int | None = None,
):
    """Write `model` as an ONNX file at `path` and return the onnx.ModelProto.

    `example_input` is what `model(...)` takes: a Tensor or numpy array (integer token ids for
    an Embedding), or a tuple of them for a forward with several inputs. The model runs once on
    it in evaluation mode (dropout off, batch norm on its running statistics; each layer's mode
    is restored afterwards), and a second time on other numbers (and with `dynamic_batch`, one
    more row), to check that the graph depends neither on the input's values nor on its batch
    size. `input_names` and `output_names` name the
    graph's inputs and outputs (default "input" and "output", numbered when there are several;
    the outputs are those of forward, a nested tuple flattened in order). With `dynamic_batch`,
    axis 0 of every input is the batch, of any size at run time. `opset` is the ONNX opset,
    at least 17 (the default).

    The file is checked with onnx.checker and written all at once: when anything fails, no file
    is written and one already at `path` is left as it was."""
    onnx = _import_onnx()
    opset = _check_opset(onnx, opset)
    if not isinstance(model, nn.Module):
        raise TypeError(f"export: model must be a tinynet nn.Module, got {type(model).__name__}")
    inputs = _example_inputs(example_input, model)
    input_names = _check_names("input_names", input_names, len(inputs), "input")
    if dynamic_batch and any(x.ndim == 0 or x.shape[0] != inputs[0].shape[0] for x in inputs):
        raise ExportError(
            f"export: dynamic_batch=True takes axis 0 of every input as the batch, but the inputs have shapes "
            f"{[x.shape for x in inputs]}; give inputs of one batch size, or dynamic_batch=False"
        )
    graph, outputs = _trace(onnx, model, inputs, input_names, opset)
    other_batch = inputs[0].shape[0] + 1 if dynamic_batch else None
    with np.errstate(all="ignore"):  # other numbers may be outside what the model expects (a log of a negative)
        again, _ = _trace(onnx, model, [_other_input(x, other_batch) for x in inputs], input_names, opset)
    difference = graph.first_difference(again)
    if difference:
        raise ExportError(
            f"export: the forward pass made another graph for other numbers{' and batch size' * dynamic_batch} "
            f"({difference}). It reads the input's values outside tinynet's ops (through .data, .numpy(), a "
            "comparison such as x > 0, an `if` on a value), so that the ONNX file would hold numbers of the example "
            "input; use tinynet ops (tn.where, F.relu, ...) on the tensors. Or it fixes the batch size (np.zeros(x."
            "shape), x.reshape(4 * x.shape[0], -1)): compute such a value with tinynet ops, or export with "
            "dynamic_batch=False"
        )
    output_names = _check_names("output_names", output_names, len(outputs), "output")
    if set(output_names) & set(input_names):
        raise ValueError(f"export: output_names {output_names} repeat a name of input_names {input_names}")
    proto = graph.model(onnx, inputs, input_names, outputs, output_names, dynamic_batch)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        raise ExportError(f"export: the ONNX graph fails onnx.checker (a bug of the exporter's): {error}") from None
    atomic_write(path, lambda f: f.write(proto.SerializeToString()))
    return proto


def _import_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "tn.onnx.export needs the onnx package: python -m pip install onnx (or tinynet's extra: "
            'python -m pip install -e ".[onnx]")'
        ) from None
    return onnx


def _check_opset(onnx, opset: int | None) -> int:
    newest = onnx.defs.onnx_opset_version()
    opset = DEFAULT_OPSET if opset is None else opset
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)) or not MIN_OPSET <= opset <= newest:
        raise ValueError(
            f"export: opset must be an integer from {MIN_OPSET} to {newest} (the newest this onnx {onnx.__version__} "
            f"knows), got {opset!r}"
        )
    return int(opset)


def _example_inputs(example_input, model: nn.Module) -> list[Tensor]:
    """The example input(s) as a list of Tensors (integer arrays stay integer); a float input
    must have the dtype of the model's parameters, for ONNX computes in one."""
    given = list(example_input) if isinstance(example_input, (tuple, list)) else [example_input]
    if not given:
        raise ValueError("export: example_input is empty; give what model(...) takes")
    inputs = []
    for i, x in enumerate(given):
        if not isinstance(x, (Tensor, np.ndarray)):
            raise TypeError(
                f"export: example input {i} must be a Tensor or a numpy array, got {type(x).__name__}; "
                "several inputs go in a tuple"
            )
        inputs.append(Tensor(np.asarray(x.data if isinstance(x, Tensor) else x)))
    float_dtypes = {p.dtype for p in model.parameters() if p.dtype.kind == "f"}
    for i, x in enumerate(inputs):
        if x.dtype.kind == "f" and len(float_dtypes) == 1 and x.dtype not in float_dtypes:
            (dtype,) = float_dtypes
            raise TypeError(
                f"export: example input {i} is {x.dtype} but the model's parameters are {dtype}, and ONNX computes "
                f"in one dtype: give x.astype(np.{dtype})"
            )
    return inputs


def _check_names(argument: str, names: list[str] | None, count: int, default: str) -> list[str]:
    if names is None:
        return [default] if count == 1 else [f"{default}_{i}" for i in range(count)]
    names = list(names)
    if len(names) != count or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ValueError(
            f"export: {argument} must be {count} different non-empty strings, one per {default}; got {names}"
        )
    return names


def _other_input(x: Tensor, batch: int | None) -> Tensor:
    """An input of x's dtype with other numbers, and `batch` rows (x's number when None): x's
    values repeated to that size, then for floats 0.5 - x (other signs, order and mean), for
    integers reversed along each axis (token ids stay valid ids)."""
    rows = np.resize(x.data, x.shape if batch is None else (batch, *x.shape[1:]))
    if x.dtype.kind == "f":
        return Tensor((0.5 - rows).astype(x.dtype))
    return Tensor(np.ascontiguousarray(np.flip(rows)))


def _trace(onnx, model: nn.Module, inputs: list[Tensor], input_names: list[str], opset: int):
    """Run model(*inputs) once with tracing on: the graph and the forward's outputs, flattened."""
    graph = _Graph(onnx, model, opset)
    for x, name in zip(inputs, input_names):
        graph.define(x, name)
    with _evaluation_mode(model), tinynet.no_grad(), _tracing(graph):
        result = model(*inputs)
    outputs = list(_flatten(result))
    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise ExportError(f"export: output {i} of forward is a {type(out).__name__}, not a Tensor")
        if not graph.is_traced(out):
            raise ExportError(
                f"export: output {i} of forward (shape {out.shape}) was not computed from the input by tinynet ops "
                "(a constant, or a value that went through numpy); ONNX would return it unchanged for every input"
            )
    return graph, outputs


def _flatten(result) -> Iterator:
    if isinstance(result, (tuple, list)):
        for part in result:
            yield from _flatten(part)
    else:
        yield result


@contextlib.contextmanager
def _evaluation_mode(model: nn.Module):
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)


# ---------------------------------------------------------------- the graph being built


class _Graph:
    """The ONNX nodes and initializers of one trace, and the name of each traced tensor's value."""

    def __init__(self, onnx, model: nn.Module, opset: int):
        self.helper, self.numpy_helper = onnx.helper, onnx.numpy_helper
        self.opset = opset
        self.nodes, self.initializers = [], []
        self.names: dict[int, str] = {}  # id(tensor) -> the ONNX name of its value
        self.alive: list = []  # the traced tensors, kept so that no id is reused
        self.suspended = False
        self.counter = itertools.count()
        self.stored: dict[int, str] = {}  # id(parameter or buffer) -> its initializer
        self.state_names = {id(p): name for name, p in model.named_parameters()}
        self.state_names.update({id(b): name for name, b in model.named_buffers()})
        self.module_names = {id(m): name or type(m).__name__ for name, m in model.named_modules()}

    def is_traced(self, value) -> bool:
        return isinstance(value, Tensor) and id(value) in self.names

    def any_traced(self, values) -> bool:
        return any(self.is_traced(v) or (isinstance(v, (list, tuple)) and self.any_traced(v)) for v in values)

    def define(self, tensor: Tensor, name: str) -> None:
        self.names.setdefault(id(tensor), name)
        self.alive.append(tensor)

    def fresh(self, hint: str) -> str:
        return f"{hint}_{next(self.counter)}"

    @contextlib.contextmanager
    def suspend(self):
        self.suspended = True
        try:
            yield
        finally:
            self.suspended = False

    def add(self, op_type: str, inputs: list[str], outputs: int = 1, **attributes) -> str | list[str]:
        """Append a node; returns the name of its output (a list when there are several)."""
        names = [self.fresh(op_type) for _ in range(outputs)]
        self.nodes.append(self.helper.make_node(op_type, inputs, names, name=names[0], **attributes))
        return names[0] if outputs == 1 else names

    def constant(self, array: np.ndarray, hint: str = "const") -> str:
        name = self.fresh(hint)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array), name))
        return name

    def int64s(self, values) -> str:
        """A constant vector of int64 (a shape, axes, starts)."""
        return self.constant(np.asarray(values, dtype=np.int64).reshape(-1), "ints")

    def name(self, value, like: Tensor | None = None) -> str:
        """The name of value: a traced tensor's, a parameter's or buffer's initializer, or a new
        constant (a Python number takes the dtype of `like`)."""
        if self.is_traced(value):
            return self.names[id(value)]
        if id(value) in self.state_names:
            if id(value) not in self.stored:
                array = value.data if isinstance(value, Tensor) else value
                self.initializers.append(self.numpy_helper.from_array(np.asarray(array), self.state_names[id(value)]))
                self.stored[id(value)] = self.state_names[id(value)]
            return self.stored[id(value)]
        if isinstance(value, Tensor):
            array = value.data
        elif like is not None and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            array = np.asarray(value, dtype=like.dtype)
        else:
            array = np.asarray(value)
        return self.constant(array)

    def reduce(self, op_type: str, x: str, axes, keepdims: bool) -> str:
        """A Reduce* node over `axes` (all when None): ReduceSum has taken its axes as an input
        since opset 13, the others since opset 18."""
        attributes = {"keepdims": int(keepdims)}
        if axes is None:
            return self.add(op_type, [x], **attributes)
        axes = [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.add(op_type, [x, self.int64s(axes)], **attributes)
        return self.add(op_type, [x], axes=axes, **attributes)

    def first_difference(self, other: _Graph) -> str | None:
        """Where another trace's graph first differs from this one, in words; None if nowhere."""
        for mine, theirs in zip(self.initializers, other.initializers):
            if mine.SerializeToString() != theirs.SerializeToString():
                users = [node.op_type for node in self.nodes if mine.name in node.input]
                a, b = (self.numpy_helper.to_array(t) for t in (mine, theirs))
                what = f"then {b.shape}" if a.shape != b.shape else "other values"
                what = f"of shape {a.shape}, {what}"
                return f"first at a constant {what}, that goes into {' and '.join(users) or 'no node'}"
        for mine, theirs in zip(self.nodes, other.nodes):
            if mine.SerializeToString() != theirs.SerializeToString():
                return f"first at a node {mine.op_type}, then {theirs.op_type}"
        if len(self.nodes) != len(other.nodes) or len(self.initializers) != len(other.initializers):
            return f"{len(self.nodes)} nodes, then {len(other.nodes)}"
        return None

    def model(self, onnx, inputs, input_names, outputs, output_names, dynamic_batch: bool):
        def value_info(name: str, tensor: Tensor, shape):
            return self.helper.make_tensor_value_info(name, self.helper.np_dtype_to_tensor_dtype(tensor.dtype), shape)

        graph_inputs = [
            value_info(name, x, ["batch", *x.shape[1:]] if dynamic_batch else list(x.shape))
            for x, name in zip(inputs, input_names)
        ]
        nodes = list(self.nodes)
        for out, name in zip(outputs, output_names):
            nodes.append(self.helper.make_node("Identity", [self.names[id(out)]], [name], name=name))
        graph_outputs = [value_info(name, out, None) for out, name in zip(outputs, output_names)]
        graph = self.helper.make_graph(nodes, "tinynet", graph_inputs, graph_outputs, self.initializers)
        opsets = [self.helper.make_opsetid("", self.opset)]
        proto = self.helper.make_model(
            graph,
            opset_imports=opsets,
            producer_name="tinynet",
            producer_version=tinynet.__version__,
            ir_version=self.helper.find_min_ir_version_for(opsets),
        )
        inferred = onnx.shape_inference.infer_shapes(proto)
        for declared, found in zip(proto.graph.output, inferred.graph.output):
            declared.type.CopyFrom(found.type)
        return proto


# ---------------------------------------------------------------- tracing: wrapping tinynet's ops

Converter = Callable[..., None]
_CONVERTERS: list[tuple[object, str, Converter | None]] = []  # (owner, attribute, converter or None)
_active: _Graph | None = None


def _converts(owner, *attributes: str):
    """Register a converter for owner.attribute (a Tensor method, a function of a module, a
    layer's forward): convert(graph, out, **arguments), with the arguments of the call by name.
    A converter of None refuses the op by name before it runs (see _REFUSED)."""

    def register(convert: Converter | None) -> Converter | None:
        _CONVERTERS.extend((owner, attribute, convert) for attribute in attributes)
        return convert

    return register


def _wrapped(original: Callable, convert: Converter | None) -> Callable:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def traced(*args, **kwargs):
        graph = _active
        if graph is None or graph.suspended or not graph.any_traced((*args, *kwargs.values())):
            return original(*args, **kwargs)
        if convert is None:  # before it runs: an in-place op would already have changed a tensor
            raise UnsupportedOperation(_unsupported_message(original.__name__))
        with graph.suspend():
            out = original(*args, **kwargs)
        numpy_names = {TORCH_NAMES.get(name, name): value for name, value in kwargs.items()}  # dim= is axis=
        bound = signature.bind(*args, **numpy_names)
        bound.apply_defaults()
        convert(graph, out, **bound.arguments)
        return out

    return traced


def _make_outside_the_trace(original_make: Callable) -> Callable:
    """Tensor._make, refusing an op that no converter covers when a traced tensor goes into it."""

    def make(data, parents, backward, op, saved=()):
        graph = _active
        if graph is not None and not graph.suspended and any(graph.is_traced(p) for p in parents):
            raise UnsupportedOperation(_unsupported_message(op))
        return original_make(data, parents, backward, op, saved)

    return make


@contextlib.contextmanager
def _tracing(graph: _Graph):
    global _active
    if _active is not None:
        raise RuntimeError("export: an export is already running (tracing is not reentrant or thread-safe)")
    missing = object()  # a layer's inherited forward: there is no attribute to put back, only ours to delete
    originals = [(owner, attribute, vars(owner).get(attribute, missing)) for owner, attribute, _ in _CONVERTERS]
    original_make = Tensor.__dict__["_make"]
    try:
        for owner, attribute, convert in _CONVERTERS:
            setattr(owner, attribute, _wrapped(getattr(owner, attribute), convert))
        Tensor._make = staticmethod(_make_outside_the_trace(original_make.__func__))
        _active = graph
        yield
    finally:
        _active = None
        Tensor._make = original_make
        for owner, attribute, original in originals:
            if original is missing:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def supported() -> dict[str, list[str]]:
    """What the exporter converts, by kind: the Tensor methods, the functions of
    tinynet.functional and of tinynet (those with a converter, and those built from them), and
    the nn layers."""

    def names(owner) -> list[str]:
        converted = {attribute for o, attribute, convert in _CONVERTERS if o is owner and convert is not None}
        return sorted(converted | set(_BUILT_FROM_CONVERTED.get(owner, ())))

    return {
        "Tensor methods": names(Tensor),
        "tinynet.functional": names(F),
        "tinynet": names(tinynet),
        "layers": sorted(SUPPORTED_LAYERS),
    }


_BUILT_FROM_CONVERTED = {  # ops without a converter of their own, made of ops with one (their trace is theirs)
    Tensor: (
        "T", "bool", "chunk", "double", "expand", "flip", "float", "int", "log_softmax", "long", "masked_fill",
        "softmax", "split", "transpose", "var", "view",
    ),
    F: ("adaptive_avg_pool2d", "relu", "sigmoid", "silu", "tanh"),
    tinynet: ("chunk", "cumsum", "flip", "gather", "masked_fill", "split", "tril", "triu"),  # the methods' forms
}  # fmt: skip


SUPPORTED_LAYERS = (
    "AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "ConvTranspose2d", "Dropout", "ELU",
    "Embedding", "Flatten", "GELU", "GRU", "GRUCell", "Identity", "LSTM", "LSTMCell", "LayerNorm", "LeakyReLU",
    "Linear", "LogSoftmax", "MaxPool2d", "ModuleDict", "ModuleList", "RNN", "RNNCell", "ReLU", "Sequential", "SiLU",
    "Sigmoid", "Softmax", "Softplus", "Tanh",
)  # fmt: skip


def _unsupported_message(what: str) -> str:
    lists = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in supported().items())
    return f"export: '{what}' has no ONNX form in tinynet's exporter. Supported: {lists}"


# ---------------------------------------------------------------- converters: Tensor methods


def _binary(op_type: str, reflected: bool) -> Converter:
    def convert(g: _Graph, out, self, **operand):  # other= or exponent=
        (other,) = operand.values()
        operands = [g.name(self), g.name(other, like=self)]
        g.define(out, g.add(op_type, operands[::-1] if reflected else operands))

    return convert


for _name, _op_type in (
    ("add", "Add"),
    ("sub", "Sub"),
    ("mul", "Mul"),
    ("truediv", "Div"),
    ("pow", "Pow"),
    ("matmul", "MatMul"),
):
    _converts(Tensor, f"__{_name}__")(_binary(_op_type, reflected=False))
    _converts(Tensor, f"__r{_name}__")(_binary(_op_type, reflected=True))


def _unary(op_type: str) -> Converter:
    def convert(g: _Graph, out, self):
        g.define(out, g.add(op_type, [g.name(self)]))

    return convert


_UNARY = {
    "__neg__": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "tanh": "Tanh", "sigmoid": "Sigmoid",
    "relu": "Relu",
}  # fmt: skip
for _name, _op_type in _UNARY.items():
    _converts(Tensor, _name)(_unary(_op_type))


@_converts(Tensor, "detach", "clone")
def _detach(g: _Graph, out, self):
    g.define(out, g.name(self))  # the same value: out is another name for it


@_converts(Tensor, "clip", "clamp")
def _clip(g: _Graph, out, self, min=None, max=None):
    bounds = ["" if bound is None else g.name(bound, like=self) for bound in (min, max)]
    g.define(out, g.add("Clip", [g.name(self), *bounds]))


def _reduction(op_type: str) -> Converter:
    def convert(g: _Graph, out, self, axis=None, keepdims=False):
        g.define(out, g.reduce(op_type, g.name(self), axis, keepdims))

    return convert


_REDUCTIONS = {
    "sum": "ReduceSum",
    "mean": "ReduceMean",
    "amax": "ReduceMax",
    "amin": "ReduceMin",
    "logsumexp": "ReduceLogSumExp",
}
for _name, _op_type in _REDUCTIONS.items():
    _converts(Tensor, _name)(_reduction(_op_type))


def _value_and_index(reduce_type: str, arg_type: str) -> Converter:
    """max or min: with no axis the full reduction, along one axis PyTorch's (values, indices)."""

    def convert(g: _Graph, out, self, axis=None, keepdims=False):
        x = g.name(self)
        if axis is None:
            g.define(out, g.reduce(reduce_type, x, None, keepdims=False))
            return
        g.define(out.values, g.reduce(reduce_type, x, axis, keepdims))
        g.define(out.indices, g.add(arg_type, [x], axis=int(axis), keepdims=int(keepdims)))  # the first, as numpy

    return convert


_converts(Tensor, "max")(_value_and_index("ReduceMax", "ArgMax"))
_converts(Tensor, "min")(_value_and_index("ReduceMin", "ArgMin"))


def _arg_extremum(op_type: str) -> Converter:
    def convert(g: _Graph, out, self, axis=None, keepdims=False):
        x = g.name(self)
        if axis is None:  # numpy's: the index in the flattened tensor
            found = g.add(op_type, [g.add("Reshape", [x, g.int64s([-1])])], axis=0, keepdims=0)
            g.define(out, g.add("Reshape", [found, g.int64s([1] * self.ndim)]) if keepdims else found)
        else:
            g.define(out, g.add(op_type, [x], axis=int(axis), keepdims=int(keepdims)))

    return convert


_converts(Tensor, "argmax")(_arg_extremum("ArgMax"))
_converts(Tensor, "argmin")(_arg_extremum("ArgMin"))


def _reshape_target(x: Tensor, shape) -> list[int]:
    """The target of a Reshape: where the traced call asked for the input's own size on the same
    axis (the batch, as x.reshape(x.shape[0], -1) does), 0, which ONNX reads as that axis's
    size at run time; the other sizes as given."""
    target = [int(n) for n in shape]
    return [0 if i < x.ndim and n == x.shape[i] and n != -1 else n for i, n in enumerate(target)]


@_converts(Tensor, "reshape")
def _reshape(g: _Graph, out, self, shape):
    shape = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    g.define(out, g.add("Reshape", [g.name(self), g.int64s(_reshape_target(self, shape))]))


@_converts(Tensor, "flatten")
def _flatten_op(g: _Graph, out, self, start_dim=0, end_dim=-1):
    """The axes kept before start_dim (0: their size at run time), one -1 for those merged, and
    the sizes after end_dim."""
    if self.ndim == 0:
        target = [1]
    else:
        start, end = start_dim % self.ndim, end_dim % self.ndim
        target = [0] * start + [-1] + list(self.shape[end + 1 :])
    g.define(out, g.add("Reshape", [g.name(self), g.int64s(target)]))


@_converts(Tensor, "permute")
def _permute(g: _Graph, out, self, axes):
    axes = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    g.define(out, g.add("Transpose", [g.name(self)], perm=[int(a) % self.ndim for a in axes]))


@_converts(Tensor, "astype")
def _astype(g: _Graph, out, self, dtype):
    if out is self:  # already of that dtype
        return
    g.define(out, g.add("Cast", [g.name(self)], to=g.helper.np_dtype_to_tensor_dtype(np.dtype(dtype))))


@_converts(Tensor, "cumsum")
def _cumsum(g: _Graph, out, self, axis=None):
    g.define(out, g.add("CumSum", [g.name(self), g.constant(np.asarray(axis % self.ndim, np.int64), "axis")]))


def _triangle(upper: bool) -> Converter:
    def convert(g: _Graph, out, self, diagonal=0):
        k = g.constant(np.asarray(diagonal, np.int64), "diagonal")
        g.define(out, g.add("Trilu", [g.name(self), k], upper=int(upper)))

    return convert


_converts(Tensor, "tril")(_triangle(upper=False))
_converts(Tensor, "triu")(_triangle(upper=True))


@_converts(Tensor, "gather")
def _gather(g: _Graph, out, self, axis, index):
    index = index if g.is_traced(index) else np.asarray(index.data if isinstance(index, Tensor) else index, np.int64)
    g.define(out, g.add("GatherElements", [g.name(self), g.name(index)], axis=int(axis) % self.ndim))


# Ops refused by name when they meet a traced tensor. Those that compute indices outside the graph
# (argsort, and sort and topk from it) would otherwise bake the example's order into the file; the
# in-place ones change a tensor the trace has already named. (repeat, norm, scatter, scatter_add
# and std are their own Tensor._make ops, refused there.)
_REFUSED = (
    "argsort", "sort", "topk", "add_", "sub_", "mul_", "div_", "zero_", "fill_", "copy_", "clamp_", "clip_",
    "__iadd__", "__isub__", "__imul__", "__itruediv__",
)  # fmt: skip
_converts(Tensor, *_REFUSED)(None)


@_converts(Tensor, "broadcast_to")
def _broadcast_to(g: _Graph, out, self, shape):
    shape = tuple(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
    own = (1,) * (len(shape) - self.ndim) + self.shape
    target = [1 if n == mine else n for n, mine in zip(shape, own)]  # 1 keeps the input's size (the batch's)
    g.define(out, g.add("Expand", [g.name(self), g.int64s(target)]))


@_converts(Tensor, "squeeze")
def _squeeze(g: _Graph, out, self, axis=None):
    if axis is None:
        named = range(self.ndim)
    else:
        named = [a % self.ndim for a in (axis if isinstance(axis, tuple) else (axis,))]
    removed = [a for a in named if self.shape[a] == 1]
    g.define(out, g.add("Squeeze", [g.name(self), g.int64s(removed)]) if removed else g.name(self))


@_converts(Tensor, "unsqueeze")
def _unsqueeze(g: _Graph, out, self, axis=None):
    g.define(out, g.add("Unsqueeze", [g.name(self), g.int64s([axis % (self.ndim + 1)])]))


_INT64_MAX = np.iinfo(np.int64).max


@_converts(Tensor, "__getitem__")
def _getitem(g: _Graph, out, self, index):
    """Basic indexing (ints, slices, None, ...) and one integer array: Slice for the slices,
    Gather for the ints and the array, Unsqueeze for the new axes."""
    parts = list(index) if isinstance(index, tuple) else [index]
    parts = [p if g.is_traced(p) else p.data if isinstance(p, Tensor) else p for p in parts]
    arrays = [p for p in parts if isinstance(p, (list, np.ndarray, Tensor))]
    if len(arrays) > 1 or any(np.asarray(p).dtype.kind not in "iu" for p in arrays):
        raise UnsupportedOperation(
            f"export: indexing with {index!r}: only ints, slices, None, ... and at most one integer array convert "
            "(a boolean mask or several arrays do not)"
        )
    if arrays and any(isinstance(p, (int, np.integer)) for p in parts):
        raise UnsupportedOperation(f"export: indexing with {index!r}: an integer array beside ints does not convert")
    if any(p is Ellipsis for p in parts):
        at = next(i for i, p in enumerate(parts) if p is Ellipsis)
        taken = sum(p is not None for p in parts) - 1
        parts[at : at + 1] = [slice(None)] * (self.ndim - taken)
    x, axis, new_axes, gathers = g.name(self), 0, [], []
    starts, ends, axes, steps = [], [], [], []
    for part in parts:
        if part is None:
            new_axes.append(axis)  # counted in the output, after the ints are gone: fixed below
            continue
        if isinstance(part, slice):
            step = 1 if part.step is None else part.step
            default_start, default_end = (0, _INT64_MAX) if step > 0 else (-1, -_INT64_MAX)
            starts.append(default_start if part.start is None else part.start)
            ends.append(default_end if part.stop is None else part.stop)
            axes.append(axis)
            steps.append(step)
        else:
            gathers.append((axis, part))
        axis += 1
    if axes:
        x = g.add("Slice", [x, g.int64s(starts), g.int64s(ends), g.int64s(axes), g.int64s(steps)])
    for axis, part in reversed(gathers):  # the last first, so the earlier axes keep their numbers
        indices = g.name(part) if g.is_traced(part) else g.constant(np.asarray(part, dtype=np.int64), "index")
        x = g.add("Gather", [x, indices], axis=axis)
    if new_axes:
        dropped = [a for a, part in gathers if np.ndim(part) == 0]
        positions = [a - sum(d < a for d in dropped) + k for k, a in enumerate(new_axes)]
        x = g.add("Unsqueeze", [x, g.int64s(positions)])
    g.define(out, x)


# ---------------------------------------------------------------- converters: tn.* functions


@_converts(tinynet, "concatenate")
def _concatenate(g: _Graph, out, tensors, axis=0):
    g.define(out, g.add("Concat", [g.name(t) for t in tensors], axis=int(axis)))


@_converts(tinynet, "stack")
def _stack(g: _Graph, out, tensors, axis=0):
    axis = int(axis) % out.ndim
    pieces = [g.add("Unsqueeze", [g.name(t), g.int64s([axis])]) for t in tensors]
    g.define(out, g.add("Concat", pieces, axis=axis))


@_converts(tinynet, "where")
def _where(g: _Graph, out, condition, x, y):
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    g.define(out, g.add("Where", [g.name(condition), g.name(x, like=out), g.name(y, like=out)]))


def _larger_or_smaller(op_type: str) -> Converter:
    def convert(g: _Graph, out, a, b):
        g.define(out, g.add(op_type, [g.name(a, like=out), g.name(b, like=out)]))

    return convert


_converts(tinynet, "maximum")(_larger_or_smaller("Max"))
_converts(tinynet, "minimum")(_larger_or_smaller("Min"))


# ---------------------------------------------------------------- converters: tinynet.functional


@_converts(F, "linear")
def _linear(g: _Graph, out, x, weight, bias=None):
    if x.ndim == 2:
        inputs = [g.name(x), g.name(weight)] + ([] if bias is None else [g.name(bias)])
        g.define(out, g.add("Gemm", inputs, transB=1))
        return
    product = g.add("MatMul", [g.name(x), g.add("Transpose", [g.name(weight)], perm=[1, 0])])
    g.define(out, product if bias is None else g.add("Add", [product, g.name(bias)]))


@_converts(F, "dropout")
def _dropout(g: _Graph, out, x, p=0.5, training=True, generator=None):
    if training and p:
        raise UnsupportedOperation(
            f"export: dropout in training mode (p={p}) draws a random mask on every call and has no ONNX form "
            "here; in evaluation it is the identity (layers' F.dropout(x, p, self.training) is, as export "
            "traces in evaluation mode)"
        )
    g.define(out, g.name(x))  # the identity


@_converts(F, "batch_norm")
def _batch_norm(
    g: _Graph, out, x, running_mean, running_var, weight=None, bias=None, training=True, momentum=0.1, eps=1e-5
):
    if training:
        raise UnsupportedOperation(
            "export: batch_norm in training mode normalizes by the batch's own statistics; ONNX gets the "
            "evaluation form, on the running statistics (export traces in evaluation mode)"
        )
    channels = x.shape[1]
    scale = g.name(weight) if weight is not None else g.constant(np.ones(channels, x.dtype))
    shift = g.name(bias) if bias is not None else g.constant(np.zeros(channels, x.dtype))
    inputs = [g.name(x), scale, shift, g.name(running_mean), g.name(running_var)]
    g.define(out, g.add("BatchNormalization", inputs, epsilon=float(eps)))


@_converts(F, "layer_norm")
def _layer_norm(g: _Graph, out, x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    scale = g.name(weight) if weight is not None else g.constant(np.ones(shape, x.dtype))
    inputs = [g.name(x), scale] + ([] if bias is None else [g.name(bias)])
    g.define(out, g.add("LayerNormalization", inputs, axis=-len(shape), epsilon=float(eps)))


@_converts(F, "embedding")
def _embedding(g: _Graph, out, input, weight, padding_idx=None):
    g.define(out, g.add("Gather", [g.name(weight), g.name(input)], axis=0))


def _scalar(g: _Graph, value: float, like: Tensor) -> str:
    return g.constant(np.asarray(value, dtype=like.dtype))


@_converts(F, "gelu")
def _gelu(g: _Graph, out, x, approximate="none"):
    """x Φ(x): Φ(x) = (1 + erf(x / √2)) / 2, or (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2."""
    name = g.name(x)
    if approximate == "tanh":
        cube = g.add("Mul", [g.add("Mul", [name, name]), name])
        inner = g.add("Add", [name, g.add("Mul", [cube, _scalar(g, 0.044715, x)])])
        squashed = g.add("Tanh", [g.add("Mul", [inner, _scalar(g, math.sqrt(2 / math.pi), x)])])
    else:
        squashed = g.add("Erf", [g.add("Div", [name, _scalar(g, math.sqrt(2), x)])])
    cdf = g.add("Mul", [g.add("Add", [squashed, _scalar(g, 1, x)]), _scalar(g, 0.5, x)])
    g.define(out, g.add("Mul", [name, cdf]))


@_converts(F, "scaled_dot_product_attention")
def _scaled_dot_product_attention(
    g: _Graph, out, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """softmax(scale · Q Kᵀ + M) V, with the mask M (is_causal's, or attn_mask's) a constant of
    the traced sizes. Unlike the op, ONNX's Softmax gives NaN on a row whose every key is masked."""
    if dropout_p:
        raise UnsupportedOperation(f"export: attention dropout (dropout_p={dropout_p}) has no ONNX form here")
    if g.is_traced(attn_mask):
        raise UnsupportedOperation("export: an attn_mask computed from the input; pass a constant mask")
    if enable_gqa and query.ndim > 2 and key.shape[-3] != query.shape[-3]:
        raise UnsupportedOperation("export: grouped-query attention (fewer key/value heads than query heads)")
    swap = [*range(key.ndim - 2), key.ndim - 1, key.ndim - 2]
    product = g.add("MatMul", [g.name(query), g.add("Transpose", [g.name(key)], perm=swap)])
    scores = g.add("Mul", [product, _scalar(g, 1 / math.sqrt(query.shape[-1]) if scale is None else scale, query)])
    mask = np.tri(query.shape[-2], key.shape[-2], dtype=bool) if is_causal else attn_mask
    if mask is not None:
        mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask)
        additive = np.where(mask, 0, -np.inf).astype(query.dtype) if mask.dtype == bool else mask
        scores = g.add("Add", [scores, g.constant(additive)])
    g.define(out, g.add("MatMul", [g.add("Softmax", [scores], axis=-1), g.name(value)]))


@_converts(F, "softmax")
def _softmax(g: _Graph, out, x, axis=-1):
    g.define(out, g.add("Softmax", [g.name(x)], axis=int(axis)))


@_converts(F, "log_softmax")
def _log_softmax(g: _Graph, out, x, axis=-1):
    g.define(out, g.add("LogSoftmax", [g.name(x)], axis=int(axis)))


@_converts(F, "leaky_relu")
def _leaky_relu(g: _Graph, out, x, negative_slope=0.01):
    if isinstance(negative_slope, Tensor):  # x where x > 0, slope x elsewhere: PRelu
        g.define(out, g.add("PRelu", [g.name(x), g.name(negative_slope)]))
    else:
        g.define(out, g.add("LeakyRelu", [g.name(x)], alpha=float(negative_slope)))


@_converts(F, "elu")
def _elu(g: _Graph, out, x, alpha=1.0):
    g.define(out, g.add("Elu", [g.name(x)], alpha=float(alpha)))


@_converts(F, "softplus")
def _softplus(g: _Graph, out, x, beta=1.0, threshold=20.0):
    """log(1 + e^(βx)) / β, and x where βx > threshold, as tinynet's."""
    name = g.name(x)
    scaled = g.add("Mul", [name, _scalar(g, beta, x)])
    smooth = g.add("Div", [g.add("Softplus", [scaled]), _scalar(g, beta, x)])
    g.define(out, g.add("Where", [g.add("Greater", [scaled, _scalar(g, threshold, x)]), name, smooth]))


def _conv_settings(weight: Tensor, stride, padding, dilation) -> dict:
    (ph, pw), kernel = pair(padding, "padding"), list(weight.shape[2:])
    strides, dilations = list(pair(stride, "stride")), list(pair(dilation, "dilation"))
    return {"kernel_shape": kernel, "strides": strides, "pads": [ph, pw, ph, pw], "dilations": dilations}


@_converts(F, "conv2d")
def _conv2d(g: _Graph, out, x, weight, bias=None, stride=1, padding=0, dilation=1):
    inputs = [g.name(x), g.name(weight)] + ([] if bias is None else [g.name(bias)])
    g.define(out, g.add("Conv", inputs, **_conv_settings(weight, stride, padding, dilation)))


@_converts(F, "conv_transpose2d")
def _conv_transpose2d(g: _Graph, out, x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    inputs = [g.name(x), g.name(weight)] + ([] if bias is None else [g.name(bias)])
    settings = _conv_settings(weight, stride, padding, dilation)
    settings["output_padding"] = list(pair(output_padding, "output_padding"))
    g.define(out, g.add("ConvTranspose", inputs, **settings))


def _pool(op_type: str, **attributes) -> Converter:
    def convert(g: _Graph, out, x, kernel_size, stride=None, padding=0):
        kernel = pair(kernel_size, "kernel_size")
        (ph, pw), stride = pair(padding, "padding"), kernel if stride is None else pair(stride, "stride")
        settings = {"kernel_shape": list(kernel), "strides": list(stride), "pads": [ph, pw, ph, pw]}
        g.define(out, g.add(op_type, [g.name(x)], **settings, **attributes))

    return convert


_converts(F, "max_pool2d")(_pool("MaxPool"))
_converts(F, "avg_pool2d")(_pool("AveragePool", count_include_pad=1))  # tinynet counts the zero padding


# ---------------------------------------------------------------- converters: recurrent layers, whole

# ONNX's op for each tinynet cell, its activations, and where each of ONNX's gates is in
# PyTorch's (and tinynet's) order: LSTM i, o, f, c from i, f, g, o; GRU z, r, h from r, z, n.
_RECURRENT_OPS = {
    recurrent.TanhStep: ("RNN", {"activations": ["Tanh"]}, [0]),
    recurrent.ReLUStep: ("RNN", {"activations": ["Relu"]}, [0]),
    recurrent.LSTMStep: ("LSTM", {}, [0, 3, 1, 2]),
    recurrent.GRUStep: ("GRU", {"linear_before_reset": 1}, [1, 0, 2]),  # tinynet's r scales h W_hn + b_hn
}


def _recurrent_node(g: _Graph, module, sequence: str, initial: list[str], suffix: str, directions) -> list[str]:
    """One ONNX RNN/LSTM/GRU node for the parameters `suffix` (+ each direction) of module over
    `sequence` (time, batch, features), from `initial` states (num_directions, batch, hidden) or
    none: its outputs Y (time, directions, batch, hidden), Y_h (and Y_c)."""
    if module.cell not in _RECURRENT_OPS:
        what = f"{type(module).__name__} with the cell {module.cell.__name__}"
        raise UnsupportedOperation(_unsupported_message(what))
    op_type, attributes, order = _RECURRENT_OPS[module.cell]

    def stacked(kind: str) -> np.ndarray:
        per_direction = []
        for direction in directions:
            blocks = np.split(getattr(module, f"{kind}{suffix}{direction}").data, len(order))
            per_direction.append(np.concatenate([blocks[k] for k in order]))
        return np.stack(per_direction)

    where = f"{g.module_names.get(id(module), type(module).__name__)}{suffix}"
    inputs = [sequence, g.constant(stacked("weight_ih"), f"{where}.W"), g.constant(stacked("weight_hh"), f"{where}.R")]
    if module.bias:
        inputs.append(g.constant(np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1), f"{where}.B"))
    else:
        inputs.append("")
    inputs += [""] + (initial or [""] * (len(module.state_names)))  # "": no sequence_lens, zero states
    direction = "bidirectional" if len(directions) == 2 else "forward"
    if "activations" in attributes:  # one per direction
        attributes = {**attributes, "activations": attributes["activations"] * len(directions)}
    outputs = 1 + len(module.state_names)
    return g.add(op_type, inputs, outputs, hidden_size=module.hidden_size, direction=direction, **attributes)


def _states(g: _Graph, module, hx) -> list[str]:
    """The names of the parts of an initial state hx (none when hx is None)."""
    if hx is None:
        return []
    return [g.name(part) for part in (hx if len(module.state_names) > 1 else (hx,))]


@_converts(nn.RNNBase, "forward")
def _recurrent_layers(g: _Graph, out, self, x, hx=None):
    """The layers one ONNX node each, each layer's output (time, directions, batch, hidden) made
    (time, batch, directions * hidden) for the next; the final states concatenated."""
    batched, directions = x.ndim == 3, len(self.directions)
    sequence = g.name(x)
    if not batched:
        sequence = g.add("Unsqueeze", [sequence, g.int64s([1])])
    elif self.batch_first:
        sequence = g.add("Transpose", [sequence], perm=[1, 0, 2])
    states = _states(g, self, hx)
    if states and not batched:
        states = [g.add("Unsqueeze", [s, g.int64s([1])]) for s in states]
    finals = []
    for layer in range(self.num_layers):
        span = [layer * directions, (layer + 1) * directions, 0]  # starts, ends, axes of this layer's states
        initial = [g.add("Slice", [s, *map(g.int64s, span)]) for s in states]
        y, *final = _recurrent_node(g, self, sequence, initial, f"_l{layer}", self.directions)
        sequence = g.add("Reshape", [g.add("Transpose", [y], perm=[0, 2, 1, 3]), g.int64s([0, 0, -1])])
        finals.append(final)
    final = [parts[0] if len(parts) == 1 else g.add("Concat", list(parts), axis=0) for parts in zip(*finals)]
    if not batched:
        sequence = g.add("Squeeze", [sequence, g.int64s([1])])
        final = [g.add("Squeeze", [f, g.int64s([1])]) for f in final]
    elif self.batch_first:
        sequence = g.add("Transpose", [sequence], perm=[1, 0, 2])
    output, state = out
    g.define(output, sequence)
    for tensor, name in zip(state if isinstance(state, tuple) else (state,), final):
        g.define(tensor, name)


def _recurrent_cell(g: _Graph, out, self, x, hx=None):
    """One step: a sequence of length 1 for the ONNX node; its final state is the cell's output."""
    step = g.add("Unsqueeze", [g.name(x), g.int64s([0] if x.ndim == 2 else [0, 1])])
    states = [g.add("Unsqueeze", [s, g.int64s([0] if x.ndim == 2 else [0, 1])]) for s in _states(g, self, hx)]
    _, *final = _recurrent_node(g, self, step, states, "", ("",))
    drop = [0] if x.ndim == 2 else [0, 1]
    for tensor, name in zip(out if isinstance(out, tuple) else (out,), final):
        g.define(tensor, g.add("Squeeze", [name, g.int64s(drop)]))


for _cell in (nn.RNNCell, nn.LSTMCell, nn.GRUCell):
    _converts(_cell, "forward")(_recurrent_cell)

# tn.concatenate and the like are also called by their home's name, tinynet.tensor.concatenate
_CONVERTERS += [(_tensor_module, attribute, convert) for owner, attribute, convert in _CONVERTERS if owner is tinynet]
