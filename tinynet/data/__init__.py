"""Datasets, the DataLoader, and MNIST."""

from tinynet.data.dataloader import DataLoader
from tinynet.data.dataset import Dataset, TensorDataset
from tinynet.data.mnist import ChecksumError, load_fashion_mnist, load_mnist, read_idx

__all__ = ["ChecksumError", "DataLoader", "Dataset", "TensorDataset", "load_fashion_mnist", "load_mnist", "read_idx"]
