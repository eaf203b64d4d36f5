"""What people used to PyTorch (or numpy) type without thinking works the same here: dim=/keepdim=
as well as axis=/keepdims=, float(loss), np.asarray(tensor), and help() on any op."""

import inspect
import pydoc

import numpy as np
import pytest
from conftest import leaf

import tinynet as tn
from tinynet import Tensor, gradcheck
from tinynet import functional as F

REDUCTIONS = ["sum", "mean", "amax"]
AXES_AND_KEEPDIMS = [(None, False), (None, True), (0, False), (-1, True), ((0, 2), False), ((0, 2), True)]
SOFTMAXES = {"softmax": F.softmax, "log_softmax": F.log_softmax}


def _value_and_gradient(fn, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """fn(x) for a fresh leaf x holding `data`, and x's gradient for a fixed random output gradient."""
    x = Tensor(data.copy(), requires_grad=True)
    out = fn(x)
    out.backward(np.random.default_rng(1).standard_normal(out.shape))
    return out.data, x.grad


# ---------------------------------------------------------------- axis= and dim=, keepdims= and keepdim=


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis, keepdims", AXES_AND_KEEPDIMS)
def test_reduction_spellings_give_the_same_values_and_gradients(rng, name, axis, keepdims):
    data = rng.standard_normal((2, 3, 4))
    numpy_spelling = _value_and_gradient(lambda x: getattr(x, name)(axis=axis, keepdims=keepdims), data)
    torch_spelling = _value_and_gradient(lambda x: getattr(x, name)(dim=axis, keepdim=keepdims), data)
    mixed_spelling = _value_and_gradient(lambda x: getattr(x, name)(dim=axis, keepdims=keepdims), data)
    positional = _value_and_gradient(lambda x: getattr(x, name)(axis, keepdims), data)
    numpys = getattr(np, name)  # np.sum, np.mean, np.amax
    np.testing.assert_allclose(numpy_spelling[0], numpys(data, axis=axis, keepdims=keepdims), rtol=1e-12)
    for value, grad in (torch_spelling, mixed_spelling, positional):
        np.testing.assert_array_equal(value, numpy_spelling[0])
        np.testing.assert_array_equal(grad, numpy_spelling[1])


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis, keepdims", AXES_AND_KEEPDIMS)
def test_reduction_with_dim_gradcheck(rng, name, axis, keepdims):
    assert gradcheck(lambda t: getattr(t, name)(dim=axis, keepdim=keepdims), [leaf(rng, 2, 3, 4)])


@pytest.mark.parametrize("name", list(SOFTMAXES))
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_spellings_give_the_same_values_and_gradients(rng, name, axis):
    fn = SOFTMAXES[name]
    data = rng.standard_normal((3, 4))
    numpy_spelling = _value_and_gradient(lambda x: fn(x, axis=axis), data)
    torch_spelling = _value_and_gradient(lambda x: fn(x, dim=axis), data)
    positional = _value_and_gradient(lambda x: fn(x, axis), data)
    shifted = data - data.max(axis=axis, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(numpy_spelling[0], log_p if name == "log_softmax" else np.exp(log_p), rtol=1e-12)
    for value, grad in (torch_spelling, positional):
        np.testing.assert_array_equal(value, numpy_spelling[0])
        np.testing.assert_array_equal(grad, numpy_spelling[1])
    assert gradcheck(lambda t: fn(t, axis=axis), [leaf(rng, 3, 4)])


@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_default_is_the_last_axis(rng, name):
    data = rng.standard_normal((3, 4))
    last = SOFTMAXES[name](Tensor(data), axis=1).data
    np.testing.assert_array_equal(SOFTMAXES[name](Tensor(data)).data, last)
    assert not np.allclose(SOFTMAXES[name](Tensor(data), axis=0).data, last)


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("dim", [0, -1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduction_dim_keepdim_match_torch(rng, name, dim, keepdim):
    torch = pytest.importorskip("torch")
    reference = {"sum": torch.sum, "mean": torch.mean, "amax": torch.amax}[name]
    data = rng.standard_normal((2, 3, 4))
    value, grad = _value_and_gradient(lambda x: getattr(x, name)(dim=dim, keepdim=keepdim), data)
    x = torch.tensor(data, requires_grad=True)
    expected = reference(x, dim=dim, keepdim=keepdim)
    expected.backward(torch.tensor(np.random.default_rng(1).standard_normal(tuple(expected.shape))))
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(SOFTMAXES))
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_dim_matches_torch(rng, name, dim):
    torch = pytest.importorskip("torch")
    data = rng.standard_normal((3, 4))
    value, grad = _value_and_gradient(lambda x: SOFTMAXES[name](x, dim=dim), data)
    x = torch.tensor(data, requires_grad=True)
    expected = getattr(torch, name)(x, dim=dim)
    expected.backward(torch.tensor(np.random.default_rng(1).standard_normal(tuple(expected.shape))))
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_with_both_spellings_is_an_error(name):
    x = Tensor(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=rf"{name}\(\): got both axis=0 and dim=1"):
        getattr(x, name)(axis=0, dim=1)
    with pytest.raises(TypeError, match=rf"{name}\(\): got both axis=1 and dim=1"):
        getattr(x, name)(1, dim=1)
    with pytest.raises(TypeError, match=rf"{name}\(\): got both keepdims=True and keepdim=False"):
        getattr(x, name)(axis=0, keepdims=True, keepdim=False)


@pytest.mark.parametrize("name", list(SOFTMAXES))
def test_softmax_with_both_spellings_is_an_error(name):
    with pytest.raises(TypeError, match=rf"{name}\(\): got both axis=1 and dim=0"):
        SOFTMAXES[name](Tensor(np.zeros((2, 3))), dim=0, axis=1)


# ---------------------------------------------------------------- float(), int(), np.asarray()


def test_float_and_int_of_a_one_element_tensor():
    loss = Tensor(np.array([0.1, 0.2]), requires_grad=True).sum()
    assert isinstance(float(loss), float) and float(loss) == 0.1 + 0.2
    assert float(Tensor(np.array([[2.5]]))) == 2.5
    assert isinstance(int(Tensor(np.array(2.7))), int) and int(Tensor(np.array(2.7))) == 2
    assert int(Tensor(np.array([-2.7]))) == -2
    assert int(Tensor(np.array([7]))) == 7


@pytest.mark.parametrize("convert", [float, int, Tensor.item])
def test_scalar_conversion_of_a_larger_tensor_names_its_shape(convert):
    with pytest.raises(ValueError, match=r"only one-element tensors can be converted to Python scalars.*\(2, 3\)"):
        convert(Tensor(np.zeros((2, 3))))


def test_asarray_gives_the_data():
    t = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    shared = np.asarray(t)
    assert type(shared) is np.ndarray and shared.dtype == np.float64
    np.testing.assert_array_equal(shared, [[0, 1, 2], [3, 4, 5]])
    assert np.shares_memory(shared, t.data)
    copied = np.array(t)
    copied[0, 0] = 99
    assert t.data[0, 0] == 0
    as_float32 = np.asarray(t, dtype=np.float32)
    assert as_float32.dtype == np.float32 and not np.shares_memory(as_float32, t.data)
    np.testing.assert_array_equal(as_float32, t.data)
    with pytest.raises(ValueError, match="copy"):
        np.asarray(t, dtype=np.float32, copy=False)


def test_numpy_functions_see_the_data():
    t = Tensor(np.array([[1.0, -2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(np.abs(t), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(np.concatenate([t, t]), [[1, -2], [3, 4], [1, -2], [3, 4]])


# ---------------------------------------------------------------- help() shows real documentation


def _public_callables() -> list[tuple[str, object]]:
    """Every public callable that tinynet defines, found on Tensor and in tinynet.functional."""
    found = []
    for owner_name, owner in (("Tensor", tn.Tensor), ("functional", tn.functional)):
        for name, obj in inspect.getmembers(owner, callable):
            if not name.startswith("_") and (getattr(obj, "__module__", None) or "").startswith("tinynet"):
                found.append((f"{owner_name}.{name}", obj))
    return found


PUBLIC_CALLABLES = _public_callables()


def test_public_callables_are_found():
    names = {label for label, _ in PUBLIC_CALLABLES}
    assert {"Tensor.exp", "Tensor.sum", "Tensor.backward", "functional.relu", "functional.softmax"} <= names


@pytest.mark.parametrize("label, obj", PUBLIC_CALLABLES, ids=[label for label, _ in PUBLIC_CALLABLES])
def test_public_callable_has_its_own_docstring(label, obj):
    doc = inspect.getdoc(obj)
    assert isinstance(doc, str) and doc.strip(), f"{label} has no docstring"
    assert obj.__doc__ and inspect.cleandoc(obj.__doc__) == doc, f"{label} only inherits its docstring"
    comment = (inspect.getcomments(obj) or "").strip("#- \n")
    assert not doc.startswith(("#", "-")) and doc != comment, f"{label}'s docstring is a copied comment"


@pytest.mark.parametrize("label, obj", PUBLIC_CALLABLES, ids=[label for label, _ in PUBLIC_CALLABLES])
def test_help_shows_the_docstring_not_a_section_comment(label, obj):
    shown = pydoc.render_doc(obj, renderer=pydoc.plaintext)
    assert inspect.getdoc(obj).splitlines()[0] in shown
    assert "# ---" not in shown, f"help({label}) shows a section-divider comment"


@pytest.mark.parametrize("label, obj", PUBLIC_CALLABLES, ids=[label for label, _ in PUBLIC_CALLABLES])
def test_every_axis_argument_takes_both_spellings(label, obj):
    try:
        parameters = set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return
    if parameters & {"axis", "keepdims", "ddof", "dim", "keepdim", "correction"}:
        assert getattr(obj, "accepts_torch_names", False), f"{label} takes only numpy's or only PyTorch's names"


@pytest.mark.parametrize("join", [tn.concatenate, tn.stack], ids=["concatenate", "stack"])
def test_joins_take_axis_or_dim(join):
    a = tn.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = tn.Tensor(np.ones((2, 3)), requires_grad=True)
    by_dim, by_axis = join([a, b], dim=1), join([a, b], axis=1)
    np.testing.assert_array_equal(by_dim.data, by_axis.data)
    assert tn.gradcheck(lambda x, y: join([x, y], dim=1), (a, b))
    with pytest.raises(TypeError, match="got both axis=1 and dim=0"):
        join([a, b], axis=1, dim=0)
