"""The faster forms that stand in for a slow numpy call give what the numpy call gives:
select (tinynet/speedups.py, behind tn.where and the masked gradients) is np.where bit for bit; power (behind
Tensor ** p) is np.power within an ulp, with the same signs, infinities and NaNs; leaky_relu,
a product by a selected slope, keeps PyTorch's values and gradients at 0, at infinities and
for any slope. docs/performance.md measures what each saves."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet.speedups import power as _power
from tinynet.speedups import select as _select

SPECIAL = [np.inf, -np.inf, np.nan, -0.0, 0.0, 1.5, -2.5, np.finfo(np.float32).tiny / 4]


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    "dtype", [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]
)
@pytest.mark.parametrize("rows", [5, 50])  # 120 elements: numpy's where; 12,000: the bit masks
def test_select_is_numpys_where_bit_for_bit(dtype, rows):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((rows, 1, 6)) * 50).astype(dtype)
    y = (rng.standard_normal((4 * rows // 5, 6)) * 50).astype(dtype)
    condition = rng.random((rows, 4 * rows // 5, 1)) > 0.5  # all three broadcast to (rows, 4 rows / 5, 6)
    assert same_bits(_select(condition, x, y), np.where(condition, x, y))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_select_keeps_infinities_nans_and_signed_zeros(dtype):
    x = np.tile(np.array(SPECIAL, dtype), 200)
    y = x[::-1].copy()
    for condition in (np.arange(len(x)) % 2 == 0, np.arange(len(x)) % 3 == 0):
        assert same_bits(_select(condition, x, y), np.where(condition, x, y))
        assert same_bits(_select(condition, x, np.zeros((), dtype)), np.where(condition, x, np.zeros((), dtype)))


def test_select_takes_numpys_types_and_truthy_conditions():
    x32 = np.tile(np.array([1.0, -2.0, 3.0], np.float32), 500)
    truthy = np.tile(np.array([2, 0, -1]), 500)
    assert same_bits(_select(truthy, x32, 0.5), np.where(truthy, x32, 0.5))
    assert same_bits(_select(truthy != 0, x32, np.zeros(1500)), np.where(truthy != 0, x32, np.zeros(1500)))
    z = np.tile(np.array([1 + 2j, 3 - 1j]), 1000)  # no integer of 16 bytes: numpy's where itself
    assert same_bits(_select(np.arange(2000) % 2 == 0, z, 0j), np.where(np.arange(2000) % 2 == 0, z, 0j))


def test_where_and_its_gradient_use_the_masks_on_a_large_random_condition():
    rng = np.random.default_rng(1)
    x = tn.Tensor(rng.standard_normal((64, 300)), requires_grad=True)
    y = tn.Tensor(rng.standard_normal(300), requires_grad=True)
    condition = x.data > 0
    out = tn.where(condition, x, y)
    out.backward(np.full(out.shape, 2.0))
    np.testing.assert_array_equal(out.data, np.where(condition, x.data, y.data))
    np.testing.assert_array_equal(x.grad, np.where(condition, 2.0, 0.0))
    np.testing.assert_array_equal(y.grad, (~condition * 2.0).sum(axis=0))


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")  # -inf * 0, as in torch
@pytest.mark.parametrize("slope", [0.01, 0.2, -0.5, 3.0, 0.0])
def test_leaky_relu_matches_torch_at_zero_infinities_and_any_slope(slope):
    torch = pytest.importorskip("torch")
    values = np.array([-np.inf, -3.0, -1e-30, -0.0, 0.0, 1e-30, 2.0, np.inf, np.nan])
    for dtype in (np.float32, np.float64):
        x = tn.Tensor(values.astype(dtype), requires_grad=True)
        out = F.leaky_relu(x, slope)
        out.backward(np.ones_like(x.data))
        theirs = torch.tensor(values.astype(dtype), requires_grad=True)
        expected = torch.nn.functional.leaky_relu(theirs, slope)
        expected.backward(torch.ones_like(theirs))
        assert out.dtype == dtype
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        np.testing.assert_array_equal(x.grad, theirs.grad.numpy())


def test_leaky_relu_of_integers_gives_floats_as_x_times_the_slope_does():
    np.testing.assert_allclose(F.leaky_relu(np.array([-2, 0, 3])).data, [-0.02, 0.0, 3.0])
    assert F.leaky_relu(np.array([-2, 3], np.int8)).dtype == np.float32
    assert F.leaky_relu(np.array([-2, 3], np.int64)).dtype == np.float64


def test_leaky_relu_with_a_tensor_slope_trains_the_slope_as_torchs_prelu():
    torch = pytest.importorskip("torch")
    values = np.array([[-2.0, 3.0, -0.5], [1.0, -4.0, 0.0]])
    x, slope = tn.Tensor(values, requires_grad=True), tn.Tensor(np.array(0.25), requires_grad=True)
    out = F.leaky_relu(x, slope)
    out.backward(np.ones_like(values))
    theirs_x, theirs_slope = torch.tensor(values, requires_grad=True), torch.tensor([0.25], requires_grad=True)
    expected = torch.nn.functional.prelu(theirs_x, theirs_slope.double())
    expected.backward(torch.ones_like(theirs_x))
    np.testing.assert_allclose(out.data, expected.detach().numpy())
    np.testing.assert_allclose(x.grad, theirs_x.grad.numpy())
    np.testing.assert_allclose(slope.grad, theirs_slope.grad.numpy()[0])


@pytest.mark.parametrize("slope", [None, "0.1", True, [0.1]])
def test_leaky_relu_refuses_a_slope_that_is_not_a_number(slope):
    with pytest.raises(TypeError, match="negative_slope must be a number or a Tensor"):
        F.leaky_relu(np.array([1.0, -1.0], np.float32), slope)


def ulps_apart(a: np.ndarray, b: np.ndarray) -> int:
    """The largest distance, in units in the last place, between the finite values of a and b."""
    integers = {2: np.int16, 4: np.int32, 8: np.int64}[a.dtype.itemsize]
    return int(np.max(np.abs(a.view(integers).astype(np.int64) - b.view(integers).astype(np.int64)), initial=0))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("exponent", [3, 4, 5, 7, -2, -3, 2, -1, 0, 1, 0.5, 2.5, -1.5])
def test_power_is_numpys_power_within_an_ulp(dtype, exponent):
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        x = np.concatenate([rng.standard_normal(4000) * 3, SPECIAL, [1e30, -1e30, -1e-30]]).astype(dtype)
        ours, numpys = _power(x, np.asarray(exponent, dtype)), np.power(x, np.asarray(exponent, dtype))
    assert ours.dtype == numpys.dtype
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(numpys))
    finite = np.isfinite(numpys)
    np.testing.assert_array_equal(ours[~finite & ~np.isnan(numpys)], numpys[~finite & ~np.isnan(numpys)])
    np.testing.assert_array_equal(np.signbit(ours[~np.isnan(ours)]), np.signbit(numpys[~np.isnan(numpys)]))
    assert ulps_apart(ours[finite], numpys[finite]) <= 1


def test_power_takes_a_huge_whole_exponent_as_numpy_does():
    x = np.tile(np.array([-0.5, -1.0, 2.0]), 2)
    for exponent in (np.array(2**53 + 1), np.array(2**60 + 1, np.uint64), np.array(-(2**53) - 1)):
        with np.errstate(all="ignore"):
            assert same_bits(_power(x, exponent), np.power(x, exponent))


def test_tensor_power_uses_it_forward_and_backward():
    x = tn.Tensor(np.array([-2.0, -0.5, 0.0, 1.5], np.float32), requires_grad=True)
    y = x**3
    y.backward(np.ones(4, np.float32))
    np.testing.assert_allclose(y.data, [-8.0, -0.125, 0.0, 3.375])
    np.testing.assert_allclose(x.grad, [12.0, 0.75, 0.0, 6.75])
    assert y.dtype == x.grad.dtype == np.float32


def test_power_of_a_zero_dimensional_tensor():
    x = tn.Tensor(np.array(-1.5), requires_grad=True)
    y = x**3
    y.backward()
    assert float(y.data) == -3.375 and float(x.grad) == 6.75
