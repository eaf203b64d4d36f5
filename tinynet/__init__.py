"""tinynet: a small, readable deep-learning framework on numpy."""

from tinynet import diagnostics, functional, memory, metrics, nn, onnx, optim, viz
from tinynet import functional as F  # noqa: F401
from tinynet.anomaly import detect_anomaly
from tinynet.checkpoint import load_checkpoint, save_checkpoint
from tinynet.dtype import get_default_dtype, is_grad_enabled, no_grad, set_default_dtype
from tinynet.function import Context, Function
from tinynet.gradcheck import GradcheckError, gradcheck
from tinynet.random import manual_seed
from tinynet.tensor import Tensor, as_tensor, concatenate, grad, maximum, minimum, split, stack, where

__version__ = "0.1.0"

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Tensor",
    "as_tensor",
    "concatenate",
    "detect_anomaly",
    "diagnostics",
    "functional",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "load_checkpoint",
    "manual_seed",
    "maximum",
    "memory",
    "metrics",
    "minimum",
    "nn",
    "no_grad",
    "onnx",
    "optim",
    "save_checkpoint",
    "set_default_dtype",
    "split",
    "stack",
    "viz",
    "where",
]
