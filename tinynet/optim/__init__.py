"""Optimizers in the base-class design: `opt.step(grads, params)` calls `compute_step(grads)`;
those that see the layers (Muon, Adafactor, LAMB) take `layout=model.layout()` and their
`compute_step(grads, params)` works parameter by parameter (optim.LayerwiseOptimizer)."""

from tinynet.optim import lr_scheduler
from tinynet.optim.adadelta import Adadelta
from tinynet.optim.adafactor import Adafactor
from tinynet.optim.adagrad import Adagrad
from tinynet.optim.adam import Adam, AdamW
from tinynet.optim.adamax import Adamax
from tinynet.optim.asgd import ASGD
from tinynet.optim.clip_grad import clip_grad_norm
from tinynet.optim.lamb import LAMB
from tinynet.optim.layerwise import LayerwiseOptimizer
from tinynet.optim.layout import Layout, LayoutError
from tinynet.optim.lbfgs import LBFGS
from tinynet.optim.lion import Lion
from tinynet.optim.muon import Muon
from tinynet.optim.nadam import NAdam
from tinynet.optim.optimizer import Optimizer
from tinynet.optim.radam import RAdam
from tinynet.optim.rmsprop import RMSProp
from tinynet.optim.rprop import Rprop
from tinynet.optim.sgd import SGD, SGDm

RMSprop = RMSProp  # PyTorch's spelling

__all__ = [
    "ASGD",
    "LAMB",
    "LBFGS",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "LayerwiseOptimizer",
    "Layout",
    "LayoutError",
    "Lion",
    "Muon",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSProp",
    "RMSprop",
    "Rprop",
    "SGDm",
    "clip_grad_norm",
    "lr_scheduler",
]
