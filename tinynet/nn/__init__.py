"""Layers, losses and the Module base class."""

from tinynet.nn import init
from tinynet.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinynet.nn.container import Flatten, Sequential
from tinynet.nn.dropout import Dropout
from tinynet.nn.linear import Linear
from tinynet.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from tinynet.nn.module import Module
from tinynet.nn.normalization import BatchNorm1d
from tinynet.nn.parameter import Parameter

__all__ = [
    "GELU",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HuberLoss",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "init",
]
