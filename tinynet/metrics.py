"""Classification metrics: accuracy, the confusion matrix, precision, recall and F1.

Each takes `predictions` and `targets` as numpy arrays, lists or Tensors. Targets are integer
class labels of shape (N,). Predictions are labels of shape (N,) too, or class scores of shape
(N, C) (logits or probabilities), whose largest entry in each row is the predicted class.
The results are numbers to report, not to train on: floats and float64 arrays, no gradients.
"""

from __future__ import annotations

import numpy as np

from tinynet.nn.module import check_size
from tinynet.tensor import Tensor

AVERAGES = ("macro", "micro", "weighted")


def accuracy(predictions, targets) -> float:
    """The fraction of samples whose predicted class is the target class."""
    predicted, labels, _ = _labels("accuracy", predictions, targets)
    if len(labels) == 0:
        raise ValueError("accuracy: there are no samples; the accuracy of none is undefined")
    return float(np.mean(predicted == labels))


def confusion_matrix(predictions, targets, num_classes: int | None = None) -> np.ndarray:
    """The int64 matrix (C, C) whose entry [i, j] counts the samples of true class i predicted
    as class j: rows are the true classes, columns the predicted ones (scikit-learn's layout),
    so the diagonal holds the correct predictions.

    C is `num_classes`; by default 1 + the largest label seen in predictions and targets, and
    at least the number of columns of class scores."""
    return _confusion("confusion_matrix", predictions, targets, num_classes)


def precision_recall_f1(predictions, targets, num_classes: int | None = None, average: str | None = None):
    """(precision, recall, f1) of each class, from the confusion matrix (see `confusion_matrix`
    for `num_classes`):

        precision_c = correct_c / predicted as c      (of the samples called c, how many are c)
        recall_c    = correct_c / truly c             (of the samples of class c, how many were found)
        f1_c        = 2 precision_c recall_c / (precision_c + recall_c)

    A ratio whose denominator is 0 (a class never predicted, or never present) is 0, as is
    the F1 of a class whose precision and recall are both 0.

    `average=None` returns three float64 arrays of shape (C,). Otherwise three floats:
    "macro": the plain mean over all C classes (absent ones count, with their zeros);
    "weighted": the mean weighted by each class's number of true samples (its support);
    "micro": the ratios of the counts summed over the classes; with one label per sample each
    of the three equals the accuracy.
    """
    if average is not None and average not in AVERAGES:
        raise ValueError(f"precision_recall_f1: average must be None or one of {AVERAGES}, got {average!r}")
    matrix = _confusion("precision_recall_f1", predictions, targets, num_classes)
    correct, predicted, support = np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)
    if average == "micro":
        correct, predicted, support = correct.sum(), predicted.sum(), support.sum()
    precision, recall = _ratio(correct, predicted), _ratio(correct, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    if average is None:
        return precision, recall, f1
    if average == "micro":
        return float(precision), float(recall), float(f1)
    weights = support if average == "weighted" else np.ones_like(support)
    total = weights.sum()
    return tuple(float(np.dot(weights, value) / total) if total else 0.0 for value in (precision, recall, f1))


def _confusion(function: str, predictions, targets, num_classes: int | None) -> np.ndarray:
    predicted, labels, classes = _labels(function, predictions, targets, num_classes)
    counts = np.bincount(labels * classes + predicted, minlength=classes * classes)
    return counts.reshape(classes, classes).astype(np.int64)


def _ratio(numerator, denominator) -> np.ndarray:
    """numerator / denominator as float64, 0 where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def _labels(function: str, predictions, targets, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """(predicted labels, target labels, number of classes), all checked: integer labels in
    [0, num_classes), as many predictions as targets, finite class scores."""
    predictions, targets = _array(function, "predictions", predictions), _array(function, "targets", targets)
    if targets.ndim != 1:
        raise ValueError(f"{function}: targets must be class labels of shape (N,), got shape {targets.shape}")
    if predictions.ndim not in (1, 2):
        raise ValueError(
            f"{function}: predictions must be class labels of shape (N,) or class scores of shape (N, C), "
            f"got shape {predictions.shape}"
        )
    if len(predictions) != len(targets):
        raise ValueError(
            f"{function}: {len(predictions)} predictions but {len(targets)} targets; there must be one per sample"
        )
    columns = 0
    if predictions.ndim == 2:
        if predictions.shape[1] == 0:
            raise ValueError(f"{function}: class scores of shape {predictions.shape} have no classes")
        if predictions.shape[1] == 1:
            raise ValueError(
                f"{function}: class scores of shape {predictions.shape} have one column, so argmax picks class 0 "
                "for every sample; for one logit per sample of a binary classifier pass labels: (scores[:, 0] > 0)"
            )
        if not np.isfinite(predictions).all():
            raise ValueError(f"{function}: the class scores contain NaN or infinite values; no class can be picked")
        columns, predictions = predictions.shape[1], predictions.argmax(axis=1)
    for name, labels in (("predictions", predictions), ("targets", targets)):
        if labels.dtype.kind not in "iu" and labels.size:  # an empty list is float: let it pass
            raise TypeError(
                f"{function}: {name} must be integer class labels, got dtype {labels.dtype} "
                "(convert them, e.g. np.asarray(labels, dtype=np.int64), or pass class scores of shape (N, C))"
            )
        if labels.size and labels.min() < 0:
            raise ValueError(f"{function}: {name} has the negative label {labels.min()}; labels start at 0")
    predictions, targets = predictions.astype(np.int64), targets.astype(np.int64)  # uint8 would overflow
    largest = max((int(labels.max()) for labels in (predictions, targets) if labels.size), default=-1)
    if num_classes is None:
        return predictions, targets, max(largest + 1, columns, 1)
    num_classes = check_size(function, "num_classes", num_classes)
    if num_classes < 1:
        raise ValueError(f"{function}: num_classes must be at least 1, got {num_classes}")
    if largest >= num_classes or columns > num_classes:
        seen = f"the label {largest}" if largest >= num_classes else f"class scores for {columns} classes"
        raise ValueError(
            f"{function}: {seen} is out of range for num_classes={num_classes} (labels 0 to {num_classes - 1})"
        )
    return predictions, targets, num_classes


def _array(function: str, name: str, values) -> np.ndarray:
    """`values` (a Tensor, numpy array or list) as a numeric numpy array."""
    if isinstance(values, Tensor):
        return values.data
    try:
        array = np.asarray(values)
    except ValueError as error:
        raise ValueError(f"{function}: cannot make an array of {name}: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{function}: {name} must be numbers, got {type(values).__name__} of dtype {array.dtype}")
    return array
