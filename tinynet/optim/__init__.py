"""Optimizers in the base-class design: `opt.step(grads, params)` calls `compute_step(grads)`."""

from tinynet.optim import lr_scheduler
from tinynet.optim.adadelta import Adadelta
from tinynet.optim.adagrad import Adagrad
from tinynet.optim.adam import Adam, AdamW
from tinynet.optim.adamax import Adamax
from tinynet.optim.clip_grad import clip_grad_norm
from tinynet.optim.lion import Lion
from tinynet.optim.nadam import NAdam
from tinynet.optim.optimizer import Optimizer
from tinynet.optim.radam import RAdam
from tinynet.optim.rmsprop import RMSProp
from tinynet.optim.sgd import SGD, SGDm

RMSprop = RMSProp  # PyTorch's spelling

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSProp",
    "RMSprop",
    "SGDm",
    "clip_grad_norm",
    "lr_scheduler",
]
