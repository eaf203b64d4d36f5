"""Layers, losses and the Module base class."""

from tinynet.nn import init
from tinynet.nn.activation import GELU, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinynet.nn.container import Flatten, Identity, ModuleDict, ModuleList, Sequential
from tinynet.nn.conv import Conv2d
from tinynet.nn.dropout import Dropout
from tinynet.nn.linear import Linear
from tinynet.nn.loss import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss
from tinynet.nn.module import Module
from tinynet.nn.normalization import BatchNorm1d, BatchNorm2d
from tinynet.nn.parameter import Parameter
from tinynet.nn.pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d

__all__ = [
    "GELU",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "init",
]
