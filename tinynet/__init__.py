"""tinynet: a small, readable deep-learning framework on numpy."""

from tinynet import diagnostics, functional, memory, metrics, nn, onnx, op_check, optim, testing, viz
from tinynet import functional as F  # noqa: F401
from tinynet.anomaly import detect_anomaly
from tinynet.autograd import grad
from tinynet.checkpoint import load_checkpoint, save_checkpoint
from tinynet.dtype import get_default_dtype, set_default_dtype
from tinynet.function import Context, Function
from tinynet.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from tinynet.gradcheck import GradcheckError, gradcheck
from tinynet.random import manual_seed
from tinynet.tensor import Tensor, as_tensor, concatenate, maximum, minimum, stack, where
from tinynet.tensor_methods import (
    argsort,
    chunk,
    cumsum,
    flip,
    gather,
    masked_fill,
    scatter,
    scatter_add,
    sort,
    split,
    topk,
    tril,
    triu,
)

__version__ = "0.1.0"

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Tensor",
    "argsort",
    "as_tensor",
    "chunk",
    "concatenate",
    "cumsum",
    "detect_anomaly",
    "diagnostics",
    "enable_grad",
    "flip",
    "functional",
    "gather",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "load_checkpoint",
    "manual_seed",
    "masked_fill",
    "maximum",
    "memory",
    "metrics",
    "minimum",
    "nn",
    "no_grad",
    "onnx",
    "op_check",
    "optim",
    "save_checkpoint",
    "scatter",
    "scatter_add",
    "set_default_dtype",
    "set_grad_enabled",
    "sort",
    "split",
    "stack",
    "testing",
    "topk",
    "tril",
    "triu",
    "viz",
    "where",
]
