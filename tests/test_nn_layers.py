import numpy as np
import pytest
from conftest import leaf

import tinynet as tn
from tinynet import functional as F
from tinynet import gradcheck, nn


def seeded_dropout(p):
    """A Dropout layer whose mask is the same at every call (gradcheck calls it many times)."""
    layer = nn.Dropout(p)

    def forward(x):
        layer.generator = np.random.default_rng(7)
        return nn.Dropout.forward(layer, x)

    layer.forward = forward
    return layer


LAYERS = {
    "linear": lambda: nn.Linear(4, 3),
    "linear_no_bias": lambda: nn.Linear(4, 3, bias=False),
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU("tanh"),
    "softmax": lambda: nn.Softmax(dim=1),
    "softmax_dim0": lambda: nn.Softmax(dim=0),
    "dropout": lambda: seeded_dropout(0.3),
    "batchnorm1d": lambda: nn.BatchNorm1d(4),
    "flatten": nn.Flatten,
    "sequential": lambda: nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)),
}


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_gradcheck(float64, rng, name, mode):
    tn.manual_seed(0)
    layer = LAYERS[name]()
    if name == "batchnorm1d":
        layer.running_mean[...] = rng.standard_normal(4)
        layer.running_var[...] = rng.uniform(0.5, 2, 4)
        layer.weight.data = rng.standard_normal(4)
        layer.bias.data = rng.standard_normal(4)
    layer.train(mode == "train")
    x = leaf(rng, 6, 4)
    running = [b.copy() for _, b in layer.named_buffers()]

    def fn(x, *params):
        for b, saved in zip([b for _, b in layer.named_buffers()], running):
            b[...] = saved  # gradcheck runs forward many times: keep the running statistics fixed
        return layer(x)

    assert gradcheck(fn, [x, *layer.parameters()])


def test_batchnorm1d_3d_input_gradcheck(float64, rng):
    layer = nn.BatchNorm1d(3)
    assert gradcheck(lambda x, *params: layer(x), [leaf(rng, 4, 3, 5), *layer.parameters()])


LOSSES = {
    "cross_entropy": lambda x, t: F.cross_entropy(x, t.labels),
    "cross_entropy_sum": lambda x, t: F.cross_entropy(x, t.labels, reduction="sum"),
    "cross_entropy_none": lambda x, t: F.cross_entropy(x, t.labels, reduction="none"),
    "cross_entropy_smoothing": lambda x, t: F.cross_entropy(x, t.labels, label_smoothing=0.2),
    "cross_entropy_probs": lambda x, t: F.cross_entropy(x, t.probs),
    "cross_entropy_probs_smoothing": lambda x, t: F.cross_entropy(x, t.probs, reduction="none", label_smoothing=0.1),
    "mse": lambda x, t: F.mse_loss(x, t.values),
    "mse_sum": lambda x, t: F.mse_loss(x, t.values, reduction="sum"),
    "l1": lambda x, t: F.l1_loss(x, t.values),
    "huber": lambda x, t: F.huber_loss(x, t.values, delta=0.7),
    "huber_none": lambda x, t: F.huber_loss(x, t.values, reduction="none"),
    "bce_with_logits": lambda x, t: F.binary_cross_entropy_with_logits(x, t.probs),
    "bce_with_logits_none": lambda x, t: F.binary_cross_entropy_with_logits(x, t.probs, reduction="none"),
    "log_softmax": lambda x, t: F.log_softmax(x, dim=1),
}


class Targets:
    def __init__(self, rng, with_grad=False):
        self.labels = rng.integers(0, 5, 6)
        probs = rng.uniform(0.1, 1, (6, 5))
        self.probs = tn.Tensor(probs / probs.sum(1, keepdims=True), requires_grad=with_grad)
        self.values = tn.Tensor(rng.standard_normal((6, 5)), requires_grad=with_grad)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_gradcheck(rng, name):
    targets = Targets(rng, with_grad=True)
    x = leaf(rng, 6, 5)
    assert gradcheck(lambda x, p, v: LOSSES[name](x, targets), [x, targets.probs, targets.values])


def test_loss_modules_match_functions(rng):
    t = Targets(rng)
    x = tn.Tensor(rng.standard_normal((6, 5)))
    pairs = [
        (nn.CrossEntropyLoss(label_smoothing=0.1)(x, t.labels), F.cross_entropy(x, t.labels, label_smoothing=0.1)),
        (nn.MSELoss(reduction="sum")(x, t.values), F.mse_loss(x, t.values, "sum")),
        (nn.L1Loss()(x, t.values), F.l1_loss(x, t.values)),
        (nn.HuberLoss(delta=0.5)(x, t.values), F.huber_loss(x, t.values, delta=0.5)),
        (nn.BCEWithLogitsLoss()(x, t.probs), F.binary_cross_entropy_with_logits(x, t.probs)),
    ]
    for module_loss, function_loss in pairs:
        np.testing.assert_allclose(module_loss.data, function_loss.data)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = tn.Tensor(np.array([[1000.0, -1000.0], [-1e4, 1e4]]), requires_grad=True)
    loss = F.cross_entropy(logits, np.array([0, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad))
    np.testing.assert_allclose(loss.item(), 1e4)
    assert np.isfinite(F.binary_cross_entropy_with_logits(tn.Tensor([1e4, -1e4]), tn.Tensor([0.0, 1.0])).item())


def test_bce_gradient_at_zero_logit():
    x = tn.Tensor(np.zeros(2), requires_grad=True)
    F.binary_cross_entropy_with_logits(x, tn.Tensor(np.array([1.0, 0.0])), reduction="sum").backward()
    np.testing.assert_allclose(x.grad, [-0.5, 0.5])


def test_dropout_is_inverted_and_identity_in_eval():
    layer = nn.Dropout(0.25, generator=np.random.default_rng(0))
    x = np.ones((200, 100), dtype=np.float32)
    out = layer(x).data
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.01
    assert out.dtype == np.float32
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, x)


def test_batchnorm_running_statistics_follow_pytorch_convention(rng):
    layer = nn.BatchNorm1d(3, momentum=0.1)
    x = rng.standard_normal((8, 3)).astype(np.float32) * 2 + 1
    layer(x)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(0, ddof=1), rtol=1e-5)
    assert layer.num_batches_tracked == 1
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert sorted(layer.state_dict()) == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"]


def test_linear_initialization_matches_pytorch_bounds():
    tn.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.95 * bound
    assert np.abs(layer.bias.data).max() <= bound
    assert layer.weight.shape == (300, 400) and layer.weight.dtype == np.float32
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.002


def test_sequential_indexing_iteration_and_repr():
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.1), nn.Linear(256, 10))
    assert len(model) == 4 and isinstance(model[1], nn.ReLU) and isinstance(model[-1], nn.Linear)
    assert len(model[:2]) == 2 and [type(m).__name__ for m in model] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=784, out_features=256, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Dropout(p=0.1)\n"
        "  (3): Linear(in_features=256, out_features=10, bias=True)\n"
        ")"
    )
    with pytest.raises(IndexError, match="out of range for 4 layers"):
        model[4]
    with pytest.raises(TypeError, match="item 0 is of type int, not a Module"):
        nn.Sequential(3)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.decoder = nn.Linear(2, 3)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def test_named_parameters_train_eval_and_children():
    model = AutoEncoder()
    assert [n for n, _ in model.named_parameters()] == [
        "encoder.fc1.weight",
        "encoder.fc1.bias",
        "encoder.fc2.weight",
        "encoder.fc2.bias",
        "decoder.weight",
        "decoder.bias",
    ]
    assert [n for n, _ in model.named_children()] == ["encoder", "decoder"]
    assert len(list(model.children())) == 2 and len(list(model.modules())) == 6
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert model.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2 * 3 + 3


def test_module_needs_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\)"):
        Broken()


def test_module_accepts_numpy_and_tensor(rng):
    layer = nn.Linear(3, 2)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_array_equal(layer(x).data, layer(tn.Tensor(x)).data)


# ---------------------------------------------------------------- init


@pytest.mark.parametrize("shape, fans", [((30, 20), (20, 30)), ((16, 3, 5, 5), (75, 400)), ((8, 4, 3), (12, 24))])
def test_fans(shape, fans):
    assert nn.init.calculate_fan_in_and_fan_out(shape) == fans


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_initializer_statistics(shape):
    fan_in, fan_out = nn.init.calculate_fan_in_and_fan_out(shape)
    w = np.empty(shape)
    g = np.random.default_rng(0)
    expected_std = {
        nn.init.xavier_uniform_: np.sqrt(2 / (fan_in + fan_out)),
        nn.init.xavier_normal_: np.sqrt(2 / (fan_in + fan_out)),
        nn.init.kaiming_uniform_: np.sqrt(2 / fan_in),
        nn.init.kaiming_normal_: np.sqrt(2 / fan_in),
    }
    for initializer, std in expected_std.items():
        initializer(w, generator=g)
        assert abs(w.std() / std - 1) < 0.03, initializer.__name__
    nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu", generator=g)
    assert abs(w.std() / np.sqrt(2 / fan_out) - 1) < 0.03
    assert nn.init.zeros_(w) is w and not w.any()
    assert (nn.init.ones_(tn.Tensor(w)).data == 1).all()
    nn.init.uniform_(w, -2, 3, generator=g)
    assert w.min() >= -2 and w.max() < 3
    nn.init.normal_(w, 5, 0.1, generator=g)
    assert abs(w.mean() - 5) < 0.01


def test_initializers_are_seedable():
    a = nn.init.xavier_uniform_(np.empty((3, 4)), generator=np.random.default_rng(1))
    b = nn.init.xavier_uniform_(np.empty((3, 4)), generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)
    tn.manual_seed(5)
    c = nn.Linear(4, 3).weight.data.copy()
    tn.manual_seed(5)
    np.testing.assert_array_equal(c, nn.Linear(4, 3).weight.data)
    with pytest.raises(ValueError, match="unknown nonlinearity"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(np.empty(3))


# ---------------------------------------------------------------- bad input


def test_linear_wrong_feature_size():
    with pytest.raises(
        ValueError, match=r"Linear\(in_features=4, out_features=3.*expected input with 4 features.*got shape \(2, 5\)"
    ):
        nn.Linear(4, 3)(np.zeros((2, 5), np.float32))


def test_cross_entropy_errors():
    logits = tn.Tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match=r"label 4 is out of range for 4 classes"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match=r"label -1 is out of range"):
        F.cross_entropy(logits, np.array([0, -1, 1]))
    with pytest.raises(TypeError, match="class labels must be integers, got dtype float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="batch size mismatch: logits have 3 rows but target has 2 labels"):
        F.cross_entropy(logits, np.array([0, 1]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(logits, np.array([0, 1, 2]), reduction="avg")
    with pytest.raises(ValueError, match=r"scores of shape \(4,\) \(one prediction, no batch\) take a label of shape"):
        F.cross_entropy(tn.Tensor(np.zeros(4)), np.array([0]))
    with pytest.raises(ValueError, match=r"logits must have shape \(batch, classes\), .* or \(classes,\), got \(\)"):
        F.cross_entropy(tn.Tensor(np.zeros(())), np.array(0))


def test_regression_loss_shape_mismatch():
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(3,\) but target has shape \(3, 1\)"):
        F.mse_loss(tn.Tensor(np.zeros(3)), tn.Tensor(np.zeros((3, 1))))


def test_batchnorm_errors():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\): expected a 2-D or 3-D input with 3 channels"):
        nn.BatchNorm1d(3)(np.zeros((4, 5), np.float32))
    with pytest.raises(ValueError, match="more than one value per channel"):
        nn.BatchNorm1d(3)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        nn.Dropout(1.0)
