"""The toy data sets of tinynet.data: shapes, balance, seeds, geometry, refused arguments."""

import math

import numpy as np
import pytest

import tinynet as tn
from tinynet.data import make_circles, make_moons, make_spirals
from tinynet.random import default_generator

FUNCTIONS = [make_moons, make_circles, make_spirals]


@pytest.mark.parametrize(
    ("function", "n_samples", "classes"), [(make_moons, 200, 2), (make_circles, 200, 2), (make_spirals, 300, 3)]
)
def test_defaults_shapes_and_dtypes(function, n_samples, classes):
    x, y = function(seed=0)
    assert x.shape == (n_samples, 2) and x.dtype == np.float32
    assert y.shape == (n_samples,) and y.dtype == np.int64
    assert set(y.tolist()) == set(range(classes))


@pytest.mark.parametrize(
    ("function", "kwargs", "counts"),
    [
        (make_moons, {"n_samples": 201}, [101, 100]),
        (make_circles, {"n_samples": 5}, [3, 2]),
        (make_circles, {"n_samples": 2}, [1, 1]),
        (make_spirals, {"n_samples": 7, "n_classes": 3}, [3, 2, 2]),  # 7 = 3 * 2 + 1: class 0 gets the extra
        (make_spirals, {"n_samples": 13, "n_classes": 5}, [3, 3, 3, 2, 2]),  # 13 = 5 * 2 + 3: classes 0, 1, 2
        (make_spirals, {"n_samples": 300, "n_classes": 3}, [100, 100, 100]),
    ],
)
def test_classes_are_balanced_and_the_first_ones_share_the_remainder(function, kwargs, counts):
    _, y = function(**kwargs, seed=1)
    assert np.bincount(y).tolist() == counts


@pytest.mark.parametrize("function", FUNCTIONS)
def test_labels_are_shuffled(function):
    _, y = function(n_samples=60, seed=2)
    assert (np.diff(y) != 0).sum() > 10  # not one block per class


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_seed_gives_the_same_data_and_leaves_tinynets_generator_alone(function):
    tn.manual_seed(7)
    before = default_generator().bit_generator.state
    x1, y1 = function(noise=0.1, seed=3)
    assert default_generator().bit_generator.state == before
    x2, y2 = function(noise=0.1, seed=3)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, y3 = function(noise=0.1, seed=4)
    assert not np.array_equal(x1, x3) and not np.array_equal(y1, y3)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_without_a_seed_tinynets_generator_decides(function):
    tn.manual_seed(5)
    x1, y1 = function(noise=0.1)
    x2, _ = function(noise=0.1)  # the generator has moved on
    tn.manual_seed(5)
    x3, y3 = function(noise=0.1)
    np.testing.assert_array_equal(x1, x3)
    np.testing.assert_array_equal(y1, y3)
    assert not np.array_equal(x1, x2)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_same_seed_with_noise_moves_the_same_points(function):
    clean, y_clean = function(n_samples=2000, seed=6)
    noisy, y_noisy = function(n_samples=2000, noise=0.1, seed=6)
    np.testing.assert_array_equal(y_clean, y_noisy)
    shift = noisy - clean
    assert abs(shift.mean()) < 0.01 and 0.095 < shift.std() < 0.105


def test_moons_without_noise_lie_on_the_two_half_circles():
    x, y = make_moons(n_samples=500, seed=0)
    upper, lower = x[y == 0].astype(np.float64), x[y == 1].astype(np.float64)
    # class 0: (cos t, sin t), t in [0, π]: the upper half of the unit circle around (0, 0)
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1, atol=1e-6)
    assert (upper[:, 1] >= -1e-6).all()
    # class 1: (1 - cos t, 0.5 - sin t): the lower half of the unit circle around (1, 0.5)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-6)
    assert (lower[:, 1] <= 0.5 + 1e-6).all()
    assert upper[:, 0].min() < -0.95 and upper[:, 0].max() > 0.95  # spread over the whole half circle
    assert lower[:, 0].min() < 0.05 and lower[:, 0].max() > 1.95


@pytest.mark.parametrize("factor", [0.5, 0.3, 0.9])
def test_circles_without_noise_have_radius_1_and_factor(factor):
    x, y = make_circles(n_samples=400, factor=factor, seed=0)
    radius = np.hypot(x[:, 0].astype(np.float64), x[:, 1])
    np.testing.assert_allclose(radius[y == 0], 1, atol=1e-6)
    np.testing.assert_allclose(radius[y == 1], factor, atol=1e-6)
    angles = np.arctan2(x[y == 0, 1], x[y == 0, 0])
    assert np.histogram(angles, bins=4, range=(-math.pi, math.pi))[0].min() > 30  # all the way round


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_without_noise_lie_on_their_arms(n_classes):
    x, y = make_spirals(n_samples=100 * n_classes, n_classes=n_classes, seed=0)
    x = x.astype(np.float64)
    # arm k at t in [0, 1]: radius t, angle 2π (k / n_classes + t)
    t = np.hypot(x[:, 0], x[:, 1])
    angle = 2 * np.pi * (y / n_classes + t)
    np.testing.assert_allclose(x, t[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1), atol=1e-6)
    assert t.max() <= 1 + 1e-6 and t.min() < 0.05 and t.max() > 0.95


@pytest.mark.parametrize("function", FUNCTIONS)
def test_noise_moves_points_off_the_curves(function):
    clean, _ = function(seed=0)
    noisy, _ = function(noise=0.05, seed=0)
    assert np.abs(noisy - clean).max() > 0.05


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: make_moons(n_samples=1), ValueError, r"make_moons: n_samples must be at least the number of classes"),
        (lambda: make_circles(n_samples=0), ValueError, r"make_circles: n_samples must be at least .* 2, got 0"),
        (lambda: make_spirals(n_samples=2), ValueError, r"make_spirals: n_samples must be at least .* 3, got 2"),
        (lambda: make_moons(n_samples=-5), ValueError, r"make_moons: n_samples must be a non-negative integer"),
        (lambda: make_moons(n_samples=100.0), TypeError, r"make_moons: n_samples must be an integer, got 100.0"),
        (lambda: make_moons(n_samples=True), TypeError, r"make_moons: n_samples must be an integer"),
        (lambda: make_spirals(n_classes=2.5), TypeError, r"make_spirals: n_classes must be an integer"),
        (lambda: make_spirals(n_classes=1), ValueError, r"make_spirals: n_classes must be at least 2, got 1"),
        (lambda: make_moons(noise=-0.1), ValueError, r"make_moons: noise .* must be at least 0, got -0.1"),
        (lambda: make_spirals(noise=float("nan")), ValueError, r"make_spirals: noise must be a finite number"),
        (lambda: make_circles(noise=math.inf), ValueError, r"make_circles: noise must be a finite number"),
        (lambda: make_moons(noise="0.1"), TypeError, r"make_moons: noise must be a number, got '0.1' \(str\)"),
        (lambda: make_circles(factor=0), ValueError, r"make_circles: factor .* must be in \(0, 1\), got 0"),
        (lambda: make_circles(factor=1), ValueError, r"make_circles: factor .* must be in \(0, 1\), got 1"),
        (lambda: make_circles(factor=-0.5), ValueError, r"make_circles: factor .* must be in \(0, 1\)"),
        (lambda: make_circles(factor=None), TypeError, r"make_circles: factor must be a number"),
        (lambda: make_moons(seed=-1), ValueError, r"make_moons: seed must be a non-negative integer"),
        (lambda: make_spirals(seed=1.5), TypeError, r"make_spirals: seed must be an integer"),
    ],
)
def test_bad_arguments_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()
