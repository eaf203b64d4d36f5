"""tn.diagnostics.TrainingDiagnostics on tiny models whose numbers are worked out by hand:
gradient norms, update-to-weight ratios of the last step, and dead ReLU units."""

import copy
import math

import numpy as np
import pytest

import tinynet as tn
from tinynet import nn, optim
from tinynet.diagnostics import TrainingDiagnostics


def linear(weight, bias) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight))
    layer.weight.data = np.array(weight, dtype=np.float32)
    layer.bias.data = np.array(bias, dtype=np.float32)
    return layer


def sgd_step(model, diagnostics, x, lr=0.1):
    """One SGD step on the loss sum(model(x)), measured by `diagnostics`."""
    model.zero_grad()
    model(np.array(x, dtype=np.float32)).sum().backward()
    with diagnostics.step():
        optim.SGD(lr=lr).step(model.grads, model.params)


def test_gradient_norms_and_update_ratios_by_hand():
    # y = w·x + b with w = (3, 4), b = 2; loss = y summed over x = (1, 2): grad w = (1, 2), grad b = 1
    model = nn.Sequential(linear([[3, 4]], [2]))
    diagnostics = TrainingDiagnostics(model)
    sgd_step(model, diagnostics, [[1, 2]], lr=0.1)
    weight, bias = diagnostics.parameter_stats()
    assert (weight.name, weight.shape, bias.name, bias.shape) == ("0.weight", (1, 2), "0.bias", (1,))
    assert weight.grad_norm == pytest.approx(math.sqrt(5))  # ‖(1, 2)‖
    assert weight.weight_norm == pytest.approx(5)  # ‖(3, 4)‖, before the step
    assert weight.update_ratio == pytest.approx(0.1 * math.sqrt(5) / 5, rel=1e-6)  # ‖0.1 (1, 2)‖ / 5
    assert (bias.grad_norm, bias.weight_norm) == (pytest.approx(1), pytest.approx(2))
    assert bias.update_ratio == pytest.approx(0.1 / 2, rel=1e-6)


def test_the_last_step_counts_and_a_parameter_moved_from_zero_has_an_infinite_ratio():
    model = nn.Sequential(linear([[3, 4]], [0]))
    diagnostics = TrainingDiagnostics(model)
    sgd_step(model, diagnostics, [[1, 2]], lr=0.1)  # w = (2.9, 3.8)
    sgd_step(model, diagnostics, [[2, 0]], lr=0.5)  # grad w = (2, 0): w moves by (1, 0)
    weight, bias = diagnostics.parameter_stats()
    assert weight.grad_norm == pytest.approx(2)
    assert weight.update_ratio == pytest.approx(1 / math.hypot(2.9, 3.8), rel=1e-6)
    assert bias.weight_norm == pytest.approx(0.1)  # -0.1 after the first step
    unmoved = nn.Sequential(linear([[3, 4]], [0]))
    unmoved_diagnostics = TrainingDiagnostics(unmoved)
    sgd_step(unmoved, unmoved_diagnostics, [[1, 2]], lr=0.1)
    assert unmoved_diagnostics.parameter_stats()[1].update_ratio == math.inf  # b went from 0 to -0.1
    frozen = nn.Sequential(linear([[3, 4]], [0]))
    frozen[0].bias.requires_grad_(False)
    frozen_diagnostics = TrainingDiagnostics(frozen)
    sgd_step(frozen, frozen_diagnostics, [[1, 2]])
    assert [row.name for row in frozen_diagnostics.parameter_stats()] == ["0.weight"]


def test_before_any_measured_step_it_says_how_to_measure_one():
    diagnostics = TrainingDiagnostics(nn.Sequential(nn.Linear(2, 1)))
    with pytest.raises(RuntimeError, match=r"with diagnostics.step\(\): opt.step"):
        diagnostics.table()
    with pytest.raises(TypeError, match="expected an nn.Module, got list"):
        TrainingDiagnostics([nn.Linear(2, 1)])


def test_a_step_that_raises_is_not_recorded():
    model = nn.Sequential(linear([[3, 4]], [2]))
    diagnostics = TrainingDiagnostics(model)
    with pytest.raises(ZeroDivisionError), diagnostics.step():
        raise ZeroDivisionError
    with pytest.raises(RuntimeError, match="no optimizer step measured yet"):
        diagnostics.parameter_stats()


def test_a_relu_forced_dead_by_a_large_negative_bias_is_all_dead():
    model = nn.Sequential(linear(np.ones((4, 3)), [-100, -100, -100, -100]), nn.ReLU(), nn.Linear(4, 2))
    diagnostics = TrainingDiagnostics(model)
    model(np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32))
    [relu] = diagnostics.relu_stats()
    assert (relu.name, relu.units, relu.dead_units, relu.samples, relu.dead_fraction) == ("1", 4, 4, 32, 1.0)


def test_a_unit_positive_for_one_sample_of_one_batch_is_alive():
    # the identity layer: unit j of a sample is positive exactly when its x_j > 0
    model = nn.Sequential(linear([[1, 0], [0, 1]], [0, 0]), nn.ReLU())
    diagnostics = TrainingDiagnostics(model)
    model(np.array([[-1, -1], [-2, 1]], dtype=np.float32))  # unit 1 fires once
    model(np.array([[-1, -1]], dtype=np.float32))
    [relu] = diagnostics.relu_stats()
    assert (relu.dead_units, relu.samples, relu.dead_fraction) == (1, 3, 0.5)
    model.eval()
    model(np.array([[1, 1]], dtype=np.float32))  # evaluation does not count
    assert diagnostics.relu_stats()[0].dead_fraction == 0.5
    model.train()
    model(np.array([[1, -1]], dtype=np.float32))
    assert diagnostics.relu_stats()[0].dead_fraction == 0.0
    diagnostics.reset()
    assert diagnostics.relu_stats() == []
    model(np.array([[-1, -1]], dtype=np.float32))
    assert diagnostics.relu_stats()[0].dead_fraction == 1.0
    diagnostics.remove()
    model(np.array([[1, 1]], dtype=np.float32))
    assert diagnostics.relu_stats()[0].dead_fraction == 1.0
    assert model[1]._forward_hooks == {}


def test_a_unit_of_a_convolution_is_each_channel_and_pixel_and_sizes_must_not_change():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU())
    model[0].bias.data = np.array([-100, 100], dtype=np.float32)
    model[0].weight.data = np.zeros((2, 1, 3, 3), dtype=np.float32)
    diagnostics = TrainingDiagnostics(model)
    model(np.ones((3, 1, 4, 5), dtype=np.float32))
    [relu] = diagnostics.relu_stats()
    assert (relu.units, relu.dead_units, relu.samples) == (2 * 4 * 5, 4 * 5, 3)
    with pytest.raises(ValueError, match="ReLU '1' gave 2 units per sample, after 40 before"):
        model(np.ones((3, 1, 1, 1), dtype=np.float32))


def test_the_table_lists_every_parameter_and_relu():
    model = nn.Sequential(linear([[3, 4]], [2]), nn.ReLU())
    diagnostics = TrainingDiagnostics(model)
    sgd_step(model, diagnostics, [[1, 2]], lr=0.1)
    assert diagnostics.table().splitlines() == [
        "parameter                       shape  grad norm  weight norm  update/weight",
        "0.weight                          1x2   2.24e+00     5.00e+00       4.47e-02",
        "0.bias                              1   1.00e+00     2.00e+00       5.00e-02",
        "ReLU                            units       dead      samples",
        "1                                   1       0.0%            1",
    ]


def test_a_model_with_diagnostics_attached_copies_and_saves(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    diagnostics = TrainingDiagnostics(model)
    keys = model.state_dict().keys()
    model.save(tmp_path / "model.npz")
    twin = copy.deepcopy(model)
    assert twin.state_dict().keys() == keys
    twin(np.ones((2, 3), dtype=np.float32))
    model(np.ones((5, 3), dtype=np.float32))
    assert diagnostics.relu_stats()[0].samples == 5  # the copy counts for a copy of the diagnostics
    assert tn.diagnostics.TrainingDiagnostics is TrainingDiagnostics


def test_a_relu_module_used_at_two_places_is_counted_at_each():
    class TwoLayers(nn.Module):
        def __init__(self):
            super().__init__()
            self.first, self.second, self.relu = nn.Linear(2, 4), nn.Linear(4, 3), nn.ReLU()

        def forward(self, x):
            return self.relu(self.second(self.relu(self.first(x))))

    model = TwoLayers()
    model.first.bias.data[:] = -100.0  # every unit of the first place dead
    diagnostics = tn.diagnostics.TrainingDiagnostics(model)
    for _ in range(2):
        model(np.random.default_rng(0).uniform(-1, 1, (8, 2)).astype(np.float32))
    stats = {row.name: row for row in diagnostics.relu_stats()}
    assert sorted(stats) == ["relu", "relu (call 2)"]
    assert (stats["relu"].units, stats["relu"].dead_fraction, stats["relu"].samples) == (4, 1.0, 16)
    assert (stats["relu (call 2)"].units, stats["relu (call 2)"].samples) == (3, 16)
