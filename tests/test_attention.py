"""F.scaled_dot_product_attention: gradchecks, gradients of gradients, PyTorch parity of values
and gradients, masks, dropout, a fully masked row, float32, and bad input."""

import numpy as np
import pytest

import tinynet as tn
from tinynet import functional as F
from tinynet.attention import attention_weights
from tinynet.op_check import check_op

rng = np.random.default_rng(0)


def qkv(batch=(2, 3), queries=4, keys=5, e=6, ev=7, dtype=np.float64):
    q = rng.standard_normal((*batch, queries, e)).astype(dtype)
    k = rng.standard_normal((*batch, keys, e)).astype(dtype)
    v = rng.standard_normal((*batch, keys, ev)).astype(dtype)
    return q, k, v


def leaves(*arrays):
    return [tn.Tensor(a.copy(), requires_grad=True) for a in arrays]


BOOL_MASK = rng.random((4, 5)) > 0.3
BOOL_MASK[:, 0] = True  # every query keeps a key
FLOAT_MASK = rng.standard_normal((2, 1, 4, 5))
FLOAT_MASK[0, 0, 1, 2] = -np.inf
CASES = {  # name: (shapes of q, k, v as (batch, L, S, E, Ev), keyword arguments)
    "plain": ((2, 3), {}),
    "bool mask": ((2, 3), {"attn_mask": BOOL_MASK}),
    "float mask, broadcast over heads": ((2, 3), {"attn_mask": FLOAT_MASK}),
    "is_causal": ((2, 3), {"is_causal": True}),
    "scale": ((2, 3), {"scale": 0.3}),
    "no batch": ((), {}),
    "three leading dims": ((2, 1, 2), {"attn_mask": BOOL_MASK[None, None]}),
}


def test_the_op_keeps_the_contract_of_a_new_op():
    q, k, v = qkv()
    check_op(lambda q, k, v: F.scaled_dot_product_attention(q, k, v), q, k, v)
    check_op(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v, FLOAT_MASK)


@pytest.mark.parametrize("case", list(CASES))
def test_gradcheck_of_every_input(case):
    batch, options = CASES[case]
    inputs = leaves(*qkv(batch))
    assert tn.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **options), inputs)


def test_gradcheck_of_a_float_mask_and_of_broadcast_queries():
    q, k, v = qkv((2, 3))
    inputs = leaves(q[:1], k, v[:, :1], FLOAT_MASK)  # q and v broadcast over the batch, v over the heads
    assert tn.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), inputs)


@pytest.mark.parametrize("case", ["bool mask", "is_causal"])
def test_gradients_of_gradients(case):
    _, options = CASES[case]
    q, k, v = leaves(*qkv((2,), queries=4, keys=5, e=2, ev=2))
    upstream = rng.standard_normal((2, 4, 2))

    def first_gradients(q, k, v):
        out = F.scaled_dot_product_attention(q, k, v, **options)
        grads = tn.grad((out * upstream).sum(), [q, k, v], create_graph=True)
        return sum((g * g).sum() for g in grads)

    assert tn.gradcheck(first_gradients, [q, k, v])


def test_the_composed_weights_agree_with_the_op():
    q, k, v = leaves(*qkv())
    mask = np.where(BOOL_MASK, 0.0, -np.inf)
    composed = attention_weights(q, k, mask, 0.5) @ v
    fused = F.scaled_dot_product_attention(q, k, v, attn_mask=BOOL_MASK, scale=0.5)
    np.testing.assert_allclose(fused.data, composed.data, rtol=1e-12)
    g = rng.standard_normal(fused.shape)
    expected = tn.grad((composed * g).sum(), [q, k, v])
    for mine, theirs in zip(tn.grad((fused * g).sum(), [q, k, v]), expected):
        np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-10, atol=1e-12)


def torch_twin(arrays, options):
    torch = pytest.importorskip("torch")
    mask = options.get("attn_mask")
    return [torch.tensor(a, requires_grad=True) for a in arrays], {
        **options,
        **({} if mask is None else {"attn_mask": torch.tensor(mask)}),
    }


def assert_matches_torch(arrays, options, rtol=1e-10):
    torch = pytest.importorskip("torch")

    ours = leaves(*arrays)
    theirs, torch_options = torch_twin(arrays, options)
    out = F.scaled_dot_product_attention(*ours, **options)
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs, **torch_options)
    g = rng.standard_normal(out.shape).astype(out.dtype)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=rtol)
    for name, mine, twin in zip("qkv", ours, theirs):
        np.testing.assert_allclose(mine.grad, twin.grad.numpy(), rtol=rtol, atol=rtol, err_msg=name)


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_gradients_match_pytorch(case):
    batch, options = CASES[case]
    assert_matches_torch(qkv(batch), options)


@pytest.mark.parametrize(
    "mask",
    [
        rng.random((2, 1, 4, 5)) > 0.4,  # one mask per batch element, shared by the heads
        rng.random((1, 3, 1, 5)) > 0.4,  # one per head, the same for every query
        rng.random((1, 5)) > 0.4,  # a key mask for all
        rng.standard_normal((3, 4, 5)),  # a float mask per head
    ],
)
def test_broadcast_masks_match_pytorch(mask):
    mask[..., 0] = True if mask.dtype == bool else mask[..., 0]
    assert_matches_torch(qkv(), {"attn_mask": mask})


def test_more_queries_than_keys_causal_aligned_top_left_as_pytorch():
    assert_matches_torch(qkv(queries=6, keys=3), {"is_causal": True})
    assert_matches_torch(qkv(queries=2, keys=5), {"is_causal": True})


def test_grouped_query_attention_matches_pytorch():
    q = rng.standard_normal((2, 6, 4, 3))
    _, k, v = qkv((2, 2), e=3)
    assert_matches_torch((q, k, v), {"enable_gqa": True, "is_causal": True})
    inputs = leaves(q, k, v)
    assert tn.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True), inputs)
    with pytest.raises(ValueError, match=r"with enable_gqa, key needs a number of heads .* divides query's"):
        F.scaled_dot_product_attention(q[:, :5], k, v, enable_gqa=True)


def test_a_float_mask_gets_its_gradient_as_in_pytorch():
    torch = pytest.importorskip("torch")

    q, k, v = qkv()
    mask = tn.Tensor(FLOAT_MASK.copy(), requires_grad=True)
    out = F.scaled_dot_product_attention(*leaves(q, k, v), attn_mask=mask)
    twin = torch.tensor(FLOAT_MASK, requires_grad=True)
    expected = torch.nn.functional.scaled_dot_product_attention(*torch_twin((q, k, v), {})[0], attn_mask=twin)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mask.grad, twin.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_fully_masked_row_gives_zeros_and_no_gradient_as_pytorch():
    mask = BOOL_MASK.copy()
    mask[2] = False  # query 2 may attend to no key
    arrays = qkv()
    assert_matches_torch(arrays, {"attn_mask": mask})
    assert_matches_torch(arrays, {"attn_mask": np.where(mask, 0.0, -np.inf)})
    q, k, v = leaves(*arrays)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    out.sum().backward()
    assert np.all(out.data[..., 2, :] == 0) and np.all(q.grad[..., 2, :] == 0)
    assert np.isfinite(k.grad).all() and np.isfinite(v.grad).all()


def test_float32_stays_float32_and_matches_pytorch():
    arrays = qkv((2, 4), queries=8, keys=8, e=8, ev=8, dtype=np.float32)
    out = F.scaled_dot_product_attention(*leaves(*arrays), is_causal=True)
    assert out.dtype == np.float32
    assert_matches_torch(arrays, {"is_causal": True}, rtol=1e-5)
    assert_matches_torch(arrays, {"attn_mask": BOOL_MASK[:, :1].repeat(8, 1)[:8].repeat(8, 0)[:8]}, rtol=1e-5)


def test_dropout_drops_weights_from_tinynets_generator():
    q, k, v = leaves(*qkv(batch=(200,), queries=4, keys=5, e=2, ev=5))
    v.data[...] = np.eye(5)  # out = the (dropped) weights themselves
    tn.manual_seed(3)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25)
    tn.manual_seed(3)
    again = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25)
    np.testing.assert_array_equal(out.data, again.data)
    weights = F.scaled_dot_product_attention(q, k, v).data
    dropped = out.data == 0
    assert 0.2 < dropped.mean() < 0.3
    np.testing.assert_allclose(out.data[~dropped], weights[~dropped] / 0.75, rtol=1e-12)


def test_dropout_gradcheck_with_the_same_draws():
    inputs = leaves(*qkv())

    def attention(q, k, v):
        tn.manual_seed(5)
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3)

    assert tn.gradcheck(attention, inputs)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda q, k, v: (q[0, 0, 0], k, v), ValueError, "at least 2 dimensions"),
        (lambda q, k, v: (q[..., :3], k, v), ValueError, "same last dimension E"),
        (lambda q, k, v: (q, k, v[..., :4, :]), ValueError, "same number of keys S"),
        (lambda q, k, v: (q, k[:, :2], v[:, :2]), ValueError, "do not broadcast"),
        (lambda q, k, v: (q.astype(np.float32), k, v), TypeError, "same floating dtype"),
        (lambda q, k, v: (q.astype(int), k.astype(int), v.astype(int)), TypeError, "same floating dtype"),
    ],
)
def test_bad_inputs_are_named(make, error, message):
    with pytest.raises(error, match=message):
        F.scaled_dot_product_attention(*make(*qkv()))


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"attn_mask": np.ones((5, 4), bool)}, ValueError, r"attn_mask of shape \(5, 4\) does not broadcast"),
        ({"attn_mask": np.ones((3, 2, 3, 4, 5), bool)}, ValueError, r"scores' shape \(2, 3, 4, 5\)"),
        ({"attn_mask": np.ones(5, bool)}, ValueError, r"attn_mask needs at least 2 dimensions .* \(1, S\)"),
        ({"attn_mask": np.ones((4, 5), int)}, TypeError, "attn_mask must be bool .* got dtype int64"),
        ({"attn_mask": np.ones((4, 5), np.float32)}, TypeError, "float of the query's dtype float64"),
        ({"attn_mask": np.ones((4, 5), bool), "is_causal": True}, ValueError, "not both"),
        ({"dropout_p": 1.0}, ValueError, r"dropout_p must be a number in \[0, 1\)"),
        ({"scale": "1"}, TypeError, "scale must be a number"),
        ({"scale": True}, TypeError, "scale must be a number"),
        ({"dropout_p": np.float32(1.5)}, ValueError, "dropout_p must be a number"),
    ],
)
def test_bad_options_are_named(options, error, message):
    with pytest.raises(error, match=message):
        F.scaled_dot_product_attention(*qkv(), **options)


def test_attention_written_by_hand_as_in_nanogpt_agrees_with_the_op():
    """tn.tril, masked_fill, arange, transpose, contiguous and view, as PyTorch code writes them."""
    batch, length, heads, channels = 2, 6, 3, 12
    x = tn.Tensor(rng.standard_normal((batch, length, channels)))
    q, k, v = (x.view(batch, length, heads, channels // heads).transpose(1, 2) * s for s in (1.0, 0.5, 2.0))
    bias = tn.tril(tn.ones(length, length)).view(1, 1, length, length)
    att = (q @ k.transpose(-2, -1)) * (1.0 / np.sqrt(k.size(-1)))
    att = F.softmax(att.masked_fill(bias[:, :, :length, :length] == 0, float("-inf")), dim=-1)
    by_hand = (att @ v).transpose(1, 2).contiguous().view(batch, length, channels)
    fused = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(batch, length, -1)
    np.testing.assert_allclose(fused.data, by_hand.data, rtol=1e-12)
    positions = tn.arange(0, length, dtype=np.int64).unsqueeze(0)
    assert positions.shape == (1, length) and positions.dtype == np.int64
