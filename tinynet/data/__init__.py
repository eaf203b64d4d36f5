"""Datasets, the DataLoader, MNIST, the Shakespeare corpus, and toy data sets in the plane."""

from tinynet.data.dataloader import DataLoader
from tinynet.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from tinynet.data.mnist import ChecksumError, load_fashion_mnist, load_mnist, read_idx
from tinynet.data.shakespeare import load_shakespeare
from tinynet.data.toy import make_circles, make_moons, make_spirals

__all__ = [
    "ChecksumError",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_shakespeare",
    "make_circles",
    "make_moons",
    "make_spirals",
    "random_split",
    "read_idx",
]
