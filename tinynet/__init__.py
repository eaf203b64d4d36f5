"""tinynet: a small, readable deep-learning framework on numpy."""

from tinynet import diagnostics, functional, memory, metrics, nn, onnx, op_check, optim, testing, viz
from tinynet import functional as F  # noqa: F401
from tinynet.anomaly import detect_anomaly
from tinynet.autograd import grad
from tinynet.checkpoint import load_checkpoint, save_checkpoint
from tinynet.creation import (
    arange,
    eye,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from tinynet.dtype import get_default_dtype, set_default_dtype
from tinynet.einsum import einsum
from tinynet.function import Context, Function
from tinynet.grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from tinynet.gradcheck import GradcheckError, gradcheck
from tinynet.random import manual_seed
from tinynet.serialization import load, save
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

cat = concatenate  # PyTorch's name

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Tensor",
    "arange",
    "argsort",
    "as_tensor",
    "cat",
    "chunk",
    "concatenate",
    "cumsum",
    "detect_anomaly",
    "diagnostics",
    "einsum",
    "enable_grad",
    "eye",
    "flip",
    "full",
    "full_like",
    "functional",
    "gather",
    "get_default_dtype",
    "grad",
    "gradcheck",
    "inference_mode",
    "is_grad_enabled",
    "linspace",
    "load",
    "load_checkpoint",
    "manual_seed",
    "masked_fill",
    "maximum",
    "memory",
    "metrics",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "onnx",
    "op_check",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "save",
    "save_checkpoint",
    "scatter",
    "scatter_add",
    "set_default_dtype",
    "set_grad_enabled",
    "sort",
    "split",
    "stack",
    "tensor",
    "testing",
    "topk",
    "tril",
    "triu",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
