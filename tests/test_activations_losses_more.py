"""ELU, SiLU, Softplus, LogSoftmax; nll_loss, binary_cross_entropy, kl_div, and cross_entropy on
(N, C, d1, ...) with ignore_index: gradchecks (float64), PyTorch parity of values and gradients,
float32 in float32 out, and error messages."""

import numpy as np
import pytest
from conftest import leaf
from torch_parity import assert_module_matches_torch

import tinynet as tn
from tinynet import functional as F
from tinynet import gradcheck, nn

IGNORE = -100


def labels_with_ignored(rng, shape, classes, ignore_index=IGNORE):
    """Random labels with a few positions set to ignore_index (never all of them)."""
    labels = rng.integers(0, classes, shape)
    labels.reshape(-1)[1::4] = ignore_index
    return labels


# ---------------------------------------------------------------- activations

ACTIVATIONS = {
    "elu": lambda x: F.elu(x),
    "elu_alpha": lambda x: F.elu(x, alpha=0.4),
    "silu": F.silu,
    "softplus": lambda x: F.softplus(x),
    "softplus_beta_threshold": lambda x: F.softplus(x, beta=2.0, threshold=1.5),
    "log_softmax_dim0": lambda x: F.log_softmax(x, dim=0),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_gradcheck(rng, name):
    x = leaf(rng, 4, 5)
    x.data[np.abs(x.data * 2 - 1.5) < 1e-3] += 0.01  # keep finite differences off softplus's threshold
    assert gradcheck(ACTIVATIONS[name], [x])


ACTIVATION_PAIRS = {
    "elu": (nn.ELU, lambda torch: torch.nn.ELU()),
    "elu_alpha": (lambda: nn.ELU(alpha=0.3), lambda torch: torch.nn.ELU(alpha=0.3)),
    "silu": (nn.SiLU, lambda torch: torch.nn.SiLU()),
    "softplus": (nn.Softplus, lambda torch: torch.nn.Softplus()),
    "softplus_beta_threshold": (
        lambda: nn.Softplus(beta=0.5, threshold=2.0),
        lambda torch: torch.nn.Softplus(beta=0.5, threshold=2.0),
    ),
    "log_softmax": (lambda: nn.LogSoftmax(dim=1), lambda torch: torch.nn.LogSoftmax(dim=1)),
    "log_softmax_default_last_axis": (nn.LogSoftmax, lambda torch: torch.nn.LogSoftmax(dim=-1)),
}


@pytest.mark.parametrize("name", list(ACTIVATION_PAIRS))
def test_activation_module_matches_torch(name):
    torch = pytest.importorskip("torch")
    make_ours, make_theirs = ACTIVATION_PAIRS[name]
    x = np.random.default_rng(1).standard_normal((7, 5)) * 4
    x[0, :3] = [0.0, 4.0, 40.0]  # the kink of elu, and both sides of softplus's threshold
    assert_module_matches_torch(make_ours(), make_theirs(torch), x)


def test_activation_reprs_match_torch():
    torch = pytest.importorskip("torch")
    pairs = [
        (nn.ELU(alpha=0.5), torch.nn.ELU(alpha=0.5)),
        (nn.Softplus(beta=2.0, threshold=10.0), torch.nn.Softplus(beta=2.0, threshold=10.0)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
        (nn.SiLU(), torch.nn.SiLU()),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("fn", [F.elu, F.softplus, F.silu], ids=["elu", "softplus", "silu"])
def test_activation_is_stable_for_huge_inputs(fn):
    torch = pytest.importorskip("torch")
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4])
    xo = tn.Tensor(x.copy(), requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow, no nan anywhere
        out = fn(xo)
        out.backward(np.ones_like(x))
    xt = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn.functional, fn.__name__)(xt)
    expected.backward(torch.ones_like(xt))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- losses: gradchecks


class Targets:
    """Fixed targets for the loss gradchecks: (N, C, d1, d2) = (2, 3, 2, 2)."""

    def __init__(self, rng):
        self.labels = labels_with_ignored(rng, (2, 2, 2), 3)
        self.labels_2d = labels_with_ignored(rng, (4,), 3)
        probs = rng.uniform(0.1, 1, (2, 3, 2, 2))
        self.probs = tn.Tensor(probs / probs.sum(1, keepdims=True), requires_grad=True)
        self.binary = tn.Tensor(rng.uniform(0, 1, (2, 3, 2, 2)), requires_grad=True)
        self.kl_target = tn.Tensor(rng.uniform(0.1, 1, (2, 3, 2, 2)), requires_grad=True)
        self.log_target = tn.Tensor(rng.standard_normal((2, 3, 2, 2)), requires_grad=True)


LOSSES = {
    "cross_entropy_4d": lambda x, t: F.cross_entropy(x, t.labels),
    "cross_entropy_4d_sum_smooth": lambda x, t: F.cross_entropy(x, t.labels, "sum", label_smoothing=0.2),
    "cross_entropy_4d_none_smooth": lambda x, t: F.cross_entropy(x, t.labels, "none", 0.1, ignore_index=IGNORE),
    "cross_entropy_2d_ignore": lambda x, t: F.cross_entropy(x.reshape(4, 6)[:, :3], t.labels_2d),
    "cross_entropy_4d_probs": lambda x, t: F.cross_entropy(x, t.probs, label_smoothing=0.1),
    "cross_entropy_4d_probs_none": lambda x, t: F.cross_entropy(x, t.probs, reduction="none"),
    "nll_4d": lambda x, t: F.nll_loss(x, t.labels),
    "nll_4d_sum": lambda x, t: F.nll_loss(x, t.labels, reduction="sum"),
    "nll_4d_none": lambda x, t: F.nll_loss(x, t.labels, reduction="none"),
    "nll_2d": lambda x, t: F.nll_loss(x.reshape(4, 6)[:, 3:], t.labels_2d),
    "bce": lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.binary),
    "bce_none": lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.binary, reduction="none"),
    "kl_div": lambda x, t: F.kl_div(x, t.kl_target),
    "kl_div_batchmean": lambda x, t: F.kl_div(x, t.kl_target, reduction="batchmean"),
    "kl_div_log_target_none": lambda x, t: F.kl_div(x, t.log_target, reduction="none", log_target=True),
    "kl_div_log_target_sum": lambda x, t: F.kl_div(x, t.log_target, reduction="sum", log_target=True),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_gradcheck(rng, name):
    t = Targets(rng)
    x = leaf(rng, 2, 3, 2, 2)
    inputs = [x, t.probs, t.binary, t.kl_target, t.log_target]
    assert gradcheck(lambda x, *targets: LOSSES[name](x, t), inputs)


# ---------------------------------------------------------------- losses: PyTorch parity

rng = np.random.default_rng(3)
LABELS_4D = labels_with_ignored(rng, (3, 4, 2), 5)
LABELS_4D_OTHER_IGNORE = np.where(LABELS_4D == IGNORE, 2, LABELS_4D)  # 2 is ignored below: a real class
PROBS_4D = rng.dirichlet(np.ones(5), (3, 4, 2)).transpose(0, 3, 1, 2)
LABELS_2D = labels_with_ignored(rng, (6,), 5)
PROBABILITIES = rng.uniform(0, 1, (3, 5, 4, 2))
PROBABILITIES.reshape(-1)[:4] = [0.0, 1.0, 0.0, 1.0]  # exactly 0 and 1: the logs are clamped at -100
BINARY = rng.uniform(0, 1, (3, 5, 4, 2))
BINARY.reshape(-1)[:4] = [0.0, 0.0, 1.0, 1.0]
KL_TARGET = rng.dirichlet(np.ones(5), (3, 4, 2)).transpose(0, 3, 1, 2).copy()
KL_TARGET[0, :2, 0, 0] = 0.0  # xlogy: q = 0 contributes 0


def _ce_pairs():
    pairs = {}
    for reduction in ("mean", "sum", "none"):
        for smoothing in (0.0, 0.15):
            pairs[f"cross_entropy_4d_{reduction}_smooth{smoothing}"] = lambda F, x, y, r=reduction, s=smoothing: (
                F.cross_entropy(x, y(LABELS_4D), reduction=r, label_smoothing=s)
            )
            pairs[f"cross_entropy_4d_probs_{reduction}_smooth{smoothing}"] = lambda F, x, y, r=reduction, s=smoothing: (
                F.cross_entropy(x, y(PROBS_4D), reduction=r, label_smoothing=s)
            )
        pairs[f"nll_4d_{reduction}"] = lambda F, x, y, r=reduction: F.nll_loss(x, y(LABELS_4D), reduction=r)
        pairs[f"nll_4d_other_ignore_index_{reduction}"] = lambda F, x, y, r=reduction: F.nll_loss(
            x, y(LABELS_4D_OTHER_IGNORE), ignore_index=2, reduction=r
        )
        pairs[f"bce_{reduction}"] = lambda F, x, y, r=reduction: F.binary_cross_entropy(
            x.sigmoid(), y(BINARY), reduction=r
        )
        pairs[f"bce_at_0_and_1_{reduction}"] = lambda F, x, y, r=reduction: F.binary_cross_entropy(
            x * 0 + y(PROBABILITIES), y(BINARY), reduction=r
        )
    for reduction in ("mean", "sum", "none", "batchmean"):
        pairs[f"kl_div_{reduction}"] = lambda F, x, y, r=reduction: F.kl_div(
            F.log_softmax(x, dim=1), y(KL_TARGET), reduction=r
        )
        pairs[f"kl_div_log_target_{reduction}"] = lambda F, x, y, r=reduction: F.kl_div(
            F.log_softmax(x, dim=1), y(np.log(PROBS_4D)), reduction=r, log_target=True
        )
    pairs["cross_entropy_4d_other_ignore_index_smooth"] = lambda F, x, y: F.cross_entropy(
        x, y(LABELS_4D_OTHER_IGNORE), label_smoothing=0.2, ignore_index=2
    )
    pairs["cross_entropy_2d_ignore_smooth"] = lambda F, x, y: F.cross_entropy(
        x.reshape(-1, 5)[:6], y(LABELS_2D), label_smoothing=0.3
    )
    pairs["nll_2d_ignore_log_softmax"] = lambda F, x, y: F.nll_loss(
        F.log_softmax(x.reshape(-1, 5)[6:12], dim=1), y(LABELS_2D)
    )
    return pairs


LOSS_PAIRS = _ce_pairs()


@pytest.mark.filterwarnings("ignore:reduction.*batchmean:UserWarning")  # torch on kl_div's 'mean'
@pytest.mark.parametrize("name", list(LOSS_PAIRS))
def test_loss_matches_torch(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(4).standard_normal((3, 5, 4, 2)) * 3
    xo, xt = tn.Tensor(x.copy(), requires_grad=True), torch.tensor(x, requires_grad=True)
    out = LOSS_PAIRS[name](F, xo, lambda a: tn.Tensor(a) if a.dtype.kind == "f" else a)
    expected = LOSS_PAIRS[name](torch.nn.functional, xt, torch.tensor)
    assert out.shape == tuple(expected.shape)
    g = np.random.default_rng(5).standard_normal(expected.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-8, atol=1e-12)


@pytest.mark.filterwarnings("ignore:reduction.*batchmean:UserWarning")
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "batchmean"])
def test_kl_div_target_gradient_matches_torch(log_target, reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    log_p = np.log(rng.dirichlet(np.ones(4), 5))
    q = rng.dirichlet(np.ones(4), 5)
    q = np.log(q) if log_target else q
    ours = [tn.Tensor(a.copy(), requires_grad=True) for a in (log_p, q)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (log_p, q)]
    F.kl_div(*ours, reduction=reduction, log_target=log_target).backward()
    torch.nn.functional.kl_div(*theirs, reduction=reduction, log_target=log_target).backward()
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-10)


def test_bce_target_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    p, t = rng.uniform(0.01, 0.99, (4, 3)), rng.uniform(0, 1, (4, 3))
    ours = [tn.Tensor(a.copy(), requires_grad=True) for a in (p, t)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (p, t)]
    F.binary_cross_entropy(*ours).backward()
    torch.nn.functional.binary_cross_entropy(*theirs).backward()
    for mine, ref in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-10)


def test_bce_at_exactly_0_and_1_is_finite_and_matches_torch():
    torch = pytest.importorskip("torch")
    p, t = np.array([0.0, 1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 1.0, 0.3])
    x = tn.Tensor(p.copy(), requires_grad=True)
    xt = torch.tensor(p, requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = F.binary_cross_entropy(x, tn.Tensor(t), reduction="none")
        loss.sum().backward()
    expected = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(t), reduction="none")
    expected.sum().backward()
    np.testing.assert_allclose(loss.data[:4], [100, 100, 0, 0])
    np.testing.assert_allclose(x.grad[:4], [-1e12, 1e12, 0, 0])
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-8)  # torch's 1e-12 is a C float


def test_ignored_positions_get_no_loss_and_no_gradient(rng):
    logits = tn.Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    labels = np.array([[0, IGNORE, 2, 1], [IGNORE, IGNORE, 0, 0]])
    losses = F.cross_entropy(logits, labels, reduction="none", label_smoothing=0.1)
    assert losses.shape == (2, 4)
    np.testing.assert_array_equal(losses.data[labels == IGNORE], 0)
    losses.sum().backward()
    np.testing.assert_array_equal(logits.grad.transpose(0, 2, 1)[labels == IGNORE], 0)
    mean = F.cross_entropy(logits, labels, label_smoothing=0.1)
    np.testing.assert_allclose(mean.data, losses.data.sum() / 5)


def test_every_target_ignored_gives_nan_as_torch(rng):
    logits = tn.Tensor(rng.standard_normal((2, 3)))
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(F.cross_entropy(logits, np.array([IGNORE, IGNORE])).item())
        assert np.isnan(F.nll_loss(logits, np.array([IGNORE, IGNORE])).item())
    assert F.nll_loss(logits, np.array([IGNORE, IGNORE]), reduction="sum").item() == 0


def test_loss_modules_match_functions(rng):
    x = tn.Tensor(rng.standard_normal((3, 4, 2)))
    labels = labels_with_ignored(rng, (3, 2), 4, ignore_index=1)
    probs = tn.Tensor(rng.uniform(0, 1, (3, 4, 2)))
    pairs = [
        (nn.CrossEntropyLoss(ignore_index=1)(x, labels), F.cross_entropy(x, labels, ignore_index=1)),
        (nn.NLLLoss(ignore_index=1, reduction="sum")(x, labels), F.nll_loss(x, labels, 1, "sum")),
        (nn.BCELoss(reduction="none")(probs, probs), F.binary_cross_entropy(probs, probs, "none")),
        (nn.KLDivLoss("batchmean")(x, probs), F.kl_div(x, probs, "batchmean")),
        (nn.KLDivLoss(log_target=True)(x, x * 2), F.kl_div(x, x * 2, log_target=True)),
    ]
    for module_loss, function_loss in pairs:
        np.testing.assert_array_equal(module_loss.data, function_loss.data)


FLOAT32_CASES = {
    "elu": lambda x: F.elu(x, 0.5),
    "silu": F.silu,
    "softplus": lambda x: F.softplus(x, beta=2.0),
    "log_softmax": nn.LogSoftmax(dim=1),
    "cross_entropy_4d_ignore_smooth": lambda x: F.cross_entropy(x, LABELS_4D, label_smoothing=0.1),
    "cross_entropy_4d_probs": lambda x: F.cross_entropy(x, tn.Tensor(PROBS_4D.astype(np.float32))),
    "nll_4d": lambda x: F.nll_loss(x, LABELS_4D),
    "bce": lambda x: F.binary_cross_entropy(x.sigmoid(), tn.Tensor(BINARY.astype(np.float32))),
    "kl_div_batchmean": lambda x: F.kl_div(x, tn.Tensor(KL_TARGET.astype(np.float32)), "batchmean"),
    "kl_div_log_target": lambda x: F.kl_div(x, x.detach() * 0.5, log_target=True),
}


@pytest.mark.parametrize("name", list(FLOAT32_CASES))
def test_float32_stays_float32(name):
    x = tn.Tensor(np.random.default_rng(0).standard_normal((3, 5, 4, 2)).astype(np.float32), requires_grad=True)
    out = FLOAT32_CASES[name](x)
    out.sum().backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32


# ---------------------------------------------------------------- bad input


LOGITS_2x3x4 = tn.Tensor(np.zeros((2, 3, 4)))
X_2x3 = tn.Tensor(np.zeros((2, 3)))
BAD_INPUT = {
    "ce_label_shape": (
        lambda: F.cross_entropy(LOGITS_2x3x4, np.zeros((2, 3), dtype=np.int64)),
        ValueError,
        r"cross_entropy: logits of shape \(2, 3, 4\) need labels of shape \(2, 4\), got \(2, 3\)",
    ),
    "nll_label_shape": (
        lambda: F.nll_loss(LOGITS_2x3x4, np.zeros((4, 2), dtype=np.int64)),
        ValueError,
        r"nll_loss: log_probs of shape \(2, 3, 4\) need labels of shape \(2, 4\), got \(4, 2\)",
    ),
    "nll_label_out_of_range": (
        lambda: F.nll_loss(LOGITS_2x3x4, np.array([[0, 1, 2, 3], [0, 0, 0, 0]])),
        IndexError,
        r"nll_loss: label 3 is out of range for 3 classes \(labels must be in \[0, 2\], or ignore_index=-100\)",
    ),
    "ce_label_out_of_range_not_ignored": (
        lambda: F.cross_entropy(LOGITS_2x3x4, np.array([[0, 1, 2, -1], [0, 0, 0, 0]]), ignore_index=0),
        IndexError,
        r"cross_entropy: label -1 is out of range for 3 classes .*ignore_index=0\)",
    ),
    "ce_target_shape": (
        lambda: F.cross_entropy(LOGITS_2x3x4, np.zeros((2, 3, 5))),
        ValueError,
        r"target must be integer labels of shape \(2, 4\) or float probabilities of shape \(2, 3, 4\), "
        r"got float64 of shape \(2, 3, 5\)",
    ),
    "nll_float_labels": (
        lambda: F.nll_loss(LOGITS_2x3x4, np.zeros((2, 4))),
        TypeError,
        "nll_loss: class labels must be integers, got dtype float64",
    ),
    "nll_0d_scores": (
        lambda: F.nll_loss(tn.Tensor(np.zeros(())), np.array(0)),
        ValueError,
        r"nll_loss: log_probs must have shape \(batch, classes\), \(batch, classes, d1, ...\) or \(classes,\), "
        r"got \(\)",
    ),
    "nll_1d_scores_with_a_batch_of_labels": (
        lambda: F.nll_loss(tn.Tensor(np.zeros(3)), np.array([0])),
        ValueError,
        r"nll_loss: scores of shape \(3,\) \(one prediction, no batch\) take a label of shape \(\)",
    ),
    "nll_batch_size": (
        lambda: F.nll_loss(X_2x3, np.array([0, 1, 2])),
        ValueError,
        "nll_loss: batch size mismatch: log_probs have 2 rows but target has 3 labels",
    ),
    "bce_above_1": (
        lambda: F.binary_cross_entropy(tn.Tensor(np.array([0.5, 1.5])), tn.Tensor(np.array([0.0, 1.0]))),
        ValueError,
        r"binary_cross_entropy: input must be probabilities in \[0, 1\], got 1.5; "
        "for logits use binary_cross_entropy_with_logits",
    ),
    "bce_nan": (lambda: nn.BCELoss()(tn.Tensor(np.array([np.nan])), tn.Tensor(np.array([1.0]))), ValueError, "got nan"),
    "bce_shapes": (
        lambda: F.binary_cross_entropy(tn.Tensor(np.array([0.5, 0.5])), tn.Tensor(np.array([1.0]))),
        ValueError,
        r"binary_cross_entropy: input has shape \(2,\) but target has shape \(1,\)",
    ),
    "mse_refuses_batchmean": (
        lambda: F.mse_loss(X_2x3, X_2x3, reduction="batchmean"),
        ValueError,
        r"mse_loss: reduction must be one of \('mean', 'sum', 'none'\), got 'batchmean'",
    ),
    "nll_module_refuses_batchmean": (
        lambda: nn.NLLLoss(reduction="batchmean"),
        ValueError,
        r"NLLLoss: reduction must be one of \('mean', 'sum', 'none'\), got 'batchmean'",
    ),
    "kl_div_reduction": (
        lambda: F.kl_div(X_2x3, X_2x3, reduction="avg"),
        ValueError,
        r"kl_div: reduction must be one of \('mean', 'sum', 'none', 'batchmean'\), got 'avg'",
    ),
    "kl_div_module_reduction": (
        lambda: nn.KLDivLoss(reduction="avg"),
        ValueError,
        r"KLDivLoss: reduction must be one of .*'batchmean'\), got 'avg'",
    ),
    "kl_div_shapes": (
        lambda: F.kl_div(X_2x3, tn.Tensor(np.zeros(3))),
        ValueError,
        r"kl_div: input has shape \(2, 3\) but target has shape \(3,\)",
    ),
}


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_bad_input_error_names_what_was_wrong(name):
    call, error, message = BAD_INPUT[name]
    with pytest.raises(error, match=message):
        call()


def test_batchmean_is_accepted_by_kl_div():
    assert F.kl_div(X_2x3, X_2x3.exp(), reduction="batchmean").item() == 0
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("target", ["label", "probabilities"])
def test_one_prediction_without_a_batch_matches_torch(reduction, target):
    torch = pytest.importorskip("torch")
    logits = np.array([1.0, 2.0, 3.0])
    label_or_probs = np.array(2) if target == "label" else np.array([0.2, 0.3, 0.5])
    ours = tn.Tensor(logits.copy(), requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(ours, label_or_probs, reduction=reduction, label_smoothing=0.1)
    expected = torch.nn.functional.cross_entropy(
        theirs, torch.tensor(label_or_probs), reduction=reduction, label_smoothing=0.1
    )
    loss.backward()
    expected.backward()
    assert loss.shape == tuple(expected.shape) == ()
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    if target == "label":
        log_probs = np.log(np.array([0.2, 0.3, 0.5]))
        torch_nll = torch.nn.functional.nll_loss(torch.tensor(log_probs), torch.tensor(1), reduction=reduction)
        assert F.nll_loss(log_probs, np.array(1), reduction=reduction).item() == pytest.approx(torch_nll.item())
