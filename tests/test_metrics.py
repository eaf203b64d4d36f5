"""tinynet.metrics against numbers worked out by hand (and scikit-learn, where installed)."""

import numpy as np
import pytest

import tinynet as tn
from tinynet.metrics import accuracy, confusion_matrix, precision_recall_f1

# Example A: three classes, every class predicted and present.
TARGETS_A = [0, 0, 0, 1, 1, 2]
PREDICTIONS_A = [0, 0, 1, 1, 2, 2]
# rows = true class, columns = predicted class:
#   true 0 -> predicted 0, 0, 1;  true 1 -> 1, 2;  true 2 -> 2
MATRIX_A = [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
# correct (diagonal) 2, 1, 1;  predicted as c (column sums) 2, 2, 2;  truly c (row sums, support) 3, 2, 1
PRECISION_A = [2 / 2, 1 / 2, 1 / 2]
RECALL_A = [2 / 3, 1 / 2, 1 / 1]
# f1 = 2 p r / (p + r):  class 0: 2 * 1 * 2/3 / (5/3) = 4/5;  class 1: 2 * 1/4 / 1 = 1/2;  class 2: 1 / (3/2) = 2/3
F1_A = [4 / 5, 1 / 2, 2 / 3]

# Example B: four classes (1 + largest label 3); class 1 is never predicted, classes 2 and 3 never present.
TARGETS_B = [0, 0, 1, 1]
PREDICTIONS_B = [0, 0, 0, 3]
MATRIX_B = [[2, 0, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
# correct 2, 0, 0, 0;  predicted 3, 0, 0, 1;  support 2, 2, 0, 0;  0/0 counts as 0
PRECISION_B = [2 / 3, 0.0, 0.0, 0 / 1]
RECALL_B = [2 / 2, 0 / 2, 0.0, 0.0]
F1_B = [2 * (2 / 3) * 1 / (2 / 3 + 1), 0.0, 0.0, 0.0]  # 4/3 / 5/3 = 0.8


def test_accuracy_of_labels_and_of_scores():
    assert accuracy(PREDICTIONS_A, TARGETS_A) == pytest.approx(4 / 6)  # 2 + 1 + 1 correct of 6
    assert accuracy(PREDICTIONS_B, TARGETS_B) == pytest.approx(2 / 4)
    scores = np.eye(3, dtype=np.float32)[PREDICTIONS_A] * 5 - 1  # the largest score sits on the predicted class
    result = accuracy(tn.Tensor(scores), np.array(TARGETS_A, dtype=np.uint8))
    assert type(result) is float and result == pytest.approx(4 / 6)
    assert accuracy(scores.tolist(), tn.Tensor(np.array(TARGETS_A))) == pytest.approx(4 / 6)


def test_confusion_matrix_rows_are_true_classes_columns_predicted():
    matrix = confusion_matrix(PREDICTIONS_A, TARGETS_A)
    assert matrix.dtype == np.int64 and matrix.tolist() == MATRIX_A
    assert confusion_matrix(PREDICTIONS_B, TARGETS_B).tolist() == MATRIX_B
    assert confusion_matrix([1], [0]).tolist() == [[0, 1], [0, 0]]  # true 0 predicted as 1: row 0, column 1


def test_confusion_matrix_num_classes():
    matrix = confusion_matrix(PREDICTIONS_A, TARGETS_A, num_classes=5)
    assert matrix.shape == (5, 5) and matrix[:3, :3].tolist() == MATRIX_A and matrix.sum() == 6
    scores = np.zeros((2, 4), dtype=np.float32)  # argmax 0 everywhere, but the scores know 4 classes
    assert confusion_matrix(scores, [0, 1]).shape == (4, 4)
    assert confusion_matrix([], [], num_classes=2).tolist() == [[0, 0], [0, 0]]


def test_precision_recall_f1_per_class():
    for predictions, targets, expected in [
        (PREDICTIONS_A, TARGETS_A, (PRECISION_A, RECALL_A, F1_A)),
        (PREDICTIONS_B, TARGETS_B, (PRECISION_B, RECALL_B, F1_B)),
    ]:
        result = precision_recall_f1(predictions, targets)
        assert isinstance(result, tuple) and len(result) == 3
        for value, hand in zip(result, expected):
            assert value.dtype == np.float64
            np.testing.assert_allclose(value, hand, rtol=1e-12)


@pytest.mark.parametrize(
    ("average", "expected_a", "expected_b"),
    [
        # macro: the plain mean over the classes
        #   A: precision (1 + 1/2 + 1/2) / 3 = 2/3, recall (2/3 + 1/2 + 1) / 3 = 13/18, f1 (4/5 + 1/2 + 2/3) / 3 = 59/90
        #   B: precision (2/3) / 4 = 1/6, recall 1 / 4, f1 0.8 / 4 = 0.2
        ("macro", (2 / 3, 13 / 18, 59 / 90), (1 / 6, 1 / 4, 0.2)),
        # weighted by support, A: 3, 2, 1 (of 6), B: 2, 2, 0, 0 (of 4)
        #   A: precision (3 * 1 + 2 * 1/2 + 1/2) / 6 = 3/4, recall (2 + 1 + 1) / 6 = 2/3,
        #      f1 (3 * 4/5 + 2 * 1/2 + 2/3) / 6 = (61/15) / 6 = 61/90
        #   B: precision (2 * 2/3) / 4 = 1/3, recall (2 * 1) / 4 = 1/2, f1 (2 * 0.8) / 4 = 0.4
        ("weighted", (3 / 4, 2 / 3, 61 / 90), (1 / 3, 1 / 2, 0.4)),
        # micro: summed counts, correct / all = the accuracy: A 4/6, B 2/4
        ("micro", (4 / 6, 4 / 6, 4 / 6), (2 / 4, 2 / 4, 2 / 4)),
    ],
)
def test_precision_recall_f1_averages(average, expected_a, expected_b):
    examples = [(PREDICTIONS_A, TARGETS_A, expected_a), (PREDICTIONS_B, TARGETS_B, expected_b)]
    for predictions, targets, expected in examples:
        result = precision_recall_f1(predictions, targets, average=average)
        assert all(type(value) is float for value in result)
        assert result == pytest.approx(expected, rel=1e-12)


def test_num_classes_adds_absent_classes_to_the_macro_average():
    precision, recall, f1 = precision_recall_f1(PREDICTIONS_A, TARGETS_A, num_classes=4)
    for value, class_values in zip((precision, recall, f1), (PRECISION_A, RECALL_A, F1_A)):
        np.testing.assert_allclose(value, [*class_values, 0.0])
    # macro recall over 4 classes: (2/3 + 1/2 + 1 + 0) / 4 = 13/24
    assert precision_recall_f1(PREDICTIONS_A, TARGETS_A, num_classes=4, average="macro")[1] == pytest.approx(13 / 24)
    # weighted: the absent class has no support, so nothing changes
    assert precision_recall_f1(PREDICTIONS_A, TARGETS_A, num_classes=4, average="weighted") == pytest.approx(
        (3 / 4, 2 / 3, 61 / 90)
    )


def test_perfect_and_empty():
    assert precision_recall_f1([2, 0, 1], [2, 0, 1], average="macro") == (1.0, 1.0, 1.0)
    assert precision_recall_f1([], [], num_classes=3, average="weighted") == (0.0, 0.0, 0.0)
    precision, _, _ = precision_recall_f1([], [], num_classes=2)
    assert precision.tolist() == [0.0, 0.0]


def test_scores_tensors_and_lists_agree():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((50, 4)).astype(np.float32)
    targets = rng.integers(0, 4, 50)
    labels = scores.argmax(axis=1)
    expected = confusion_matrix(labels, targets)
    for predictions in (scores, tn.Tensor(scores), scores.tolist(), labels.tolist(), tn.Tensor(labels)):
        np.testing.assert_array_equal(confusion_matrix(predictions, targets), expected)
        np.testing.assert_array_equal(confusion_matrix(predictions, targets.tolist()), expected)


def test_many_classes_with_uint8_labels_do_not_overflow():
    targets = np.array([199, 0, 150], dtype=np.uint8)
    matrix = confusion_matrix(targets, targets)
    assert matrix.shape == (200, 200) and matrix[199, 199] == 1 and matrix.sum() == 3


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: accuracy([0, 1, 1], [0, 1]), ValueError, r"accuracy: 3 predictions but 2 targets"),
        (lambda: confusion_matrix(np.zeros((4, 3)), [0, 1]), ValueError, r"4 predictions but 2 targets"),
        (lambda: accuracy([0.0, 1.0], [0, 1]), TypeError, r"accuracy: predictions must be integer class labels"),
        (lambda: accuracy([0, 1], [0.5, 1.0]), TypeError, r"targets must be integer class labels, got dtype float64"),
        (lambda: accuracy([0, 1], tn.Tensor([0, 1])), TypeError, r"targets must be integer .* dtype float32"),
        (lambda: accuracy([True, False], [1, 0]), TypeError, r"predictions must be integer class labels"),
        (lambda: accuracy(["a", "b"], [0, 1]), TypeError, r"accuracy: predictions must be numbers"),
        (lambda: accuracy([[0, 1], [1]], [0, 1]), ValueError, r"accuracy: cannot make an array of predictions"),
        (lambda: accuracy([], []), ValueError, r"accuracy: there are no samples"),
        (lambda: confusion_matrix([0, -1], [0, 1]), ValueError, r"predictions has the negative label -1"),
        (lambda: confusion_matrix([0, 2], [0, 1], num_classes=2), ValueError, r"the label 2 is out of range for"),
        (lambda: confusion_matrix([0, 1], [5, 1], 3), ValueError, r"label 5 is out of range for num_classes=3 "),
        (lambda: confusion_matrix(np.zeros((2, 4)), [0, 1], 3), ValueError, r"class scores for 4 classes is out of"),
        (lambda: confusion_matrix([0], [0], num_classes=0), ValueError, r"num_classes must be at least 1, got 0"),
        (lambda: confusion_matrix([0], [0], num_classes=2.0), TypeError, r"num_classes must be an integer"),
        (lambda: confusion_matrix([0], [[0]]), ValueError, r"targets must be class labels of shape \(N,\)"),
        (lambda: confusion_matrix(np.zeros((1, 2, 2)), [0]), ValueError, r"shape \(N,\) or class scores of shape"),
        (lambda: confusion_matrix(np.zeros((2, 0)), [0, 0]), ValueError, r"class scores of shape \(2, 0\) have no"),
        (lambda: accuracy(np.array([[0.0, np.nan]]), [0]), ValueError, r"the class scores contain NaN or infinite"),
        (lambda: precision_recall_f1([0], [0], average="mean"), ValueError, r"average must be None or one of"),
        (lambda: precision_recall_f1([0, 1], [1], average="macro"), ValueError, r"precision_recall_f1: 2 predictions"),
        (lambda: precision_recall_f1([0], [0], average="Macro"), ValueError, r"'macro', 'micro', 'weighted'"),
    ],
)
def test_bad_inputs_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_parity_with_scikit_learn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1)
    for classes in (2, 3, 7):
        targets, predictions = rng.integers(0, classes, 80), rng.integers(0, classes, 80)
        labels = list(range(classes))
        assert accuracy(predictions, targets) == pytest.approx(metrics.accuracy_score(targets, predictions))
        theirs = metrics.confusion_matrix(targets, predictions, labels=labels)
        np.testing.assert_array_equal(confusion_matrix(predictions, targets, classes), theirs)
        for average in (None, "macro", "micro", "weighted"):
            ours = precision_recall_f1(predictions, targets, classes, average)
            theirs = metrics.precision_recall_fscore_support(
                targets, predictions, labels=labels, average=average, zero_division=0
            )[:3]
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_one_score_column_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"one column, so argmax picks class 0.*scores\[:, 0\] > 0"):
        accuracy(np.array([[-2.0], [3.0]]), np.array([0, 1]))
