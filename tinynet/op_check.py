"""check_op: does a new Tensor op keep the contract of docs/extending.md ("A new op")?

    tn.op_check.check_op(lambda x: my_op(x), np.random.randn(3, 4))

It runs the op on float64 copies of the inputs and raises an OpContractError that lists
everything the op forgot: to record its rule (`Tensor._make`), a name, an entry in
`tn.viz.BACKWARD_RULES`, a rule that gradcheck confirms, its inputs in `saved=` when its rule
reads them (else an input changed in place between forward and backward gives a silently
wrong gradient), and a rule that also runs on Tensors (gradients of gradients).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinynet.autograd import grad
from tinynet.gradcheck import GradcheckError, gradcheck
from tinynet.tensor import Tensor


class OpContractError(AssertionError):
    """A Tensor op that does not keep the contract of a new op; the message lists what it forgot."""


def check_op(fn: Callable[..., Tensor], *inputs, twice_differentiable: bool = True) -> None:
    """Check the op that `fn(*tensors)` ends with, on float64 tensors made from `inputs` (each
    requires a gradient). Pass `twice_differentiable=False` for an op whose rule is written on
    numpy arrays only. Raises OpContractError naming each thing the op forgot; returns None."""
    arrays = [np.array(x, dtype=np.float64) for x in inputs]

    def run(*leaves: Tensor) -> Tensor:
        out = fn(*leaves)
        if not isinstance(out, Tensor):
            raise TypeError(f"check_op: fn must return a Tensor, got {type(out).__name__}")
        return out

    out = run(*_leaves(arrays))
    if out._backward is None:
        raise OpContractError(
            "the op records no rule: end it with Tensor._make(out, parents, backward, name, saved) "
            "(or write it as a Function)"
        )
    problems = _naming_problems(out._op)
    problems += _gradient_problems(run, arrays, twice_differentiable)
    problems += _saved_problems(run, arrays, out._op)
    if problems:
        raise OpContractError(f"op {out._op or '(unnamed)'} forgot:\n- " + "\n- ".join(problems))


def _leaves(arrays: list[np.ndarray]) -> list[Tensor]:
    return [Tensor(a.copy(), requires_grad=True) for a in arrays]


def _naming_problems(op: str) -> list[str]:
    from tinynet.viz import BACKWARD_RULES

    if not op:
        return ["a name: the fourth argument of Tensor._make"]
    if op not in BACKWARD_RULES:
        return [f"an entry in tn.viz.BACKWARD_RULES for {op!r}: (its inputs' names, its rule in words)"]
    return []


def _gradient_problems(run, arrays: list[np.ndarray], twice_differentiable: bool) -> list[str]:
    problems = []
    try:
        gradcheck(run, _leaves(arrays))
    except (GradcheckError, ValueError) as error:
        problems.append(f"a correct rule: {error}")
    if twice_differentiable:
        leaves = _leaves(arrays)
        try:
            grad(run(*leaves).sum(), leaves, create_graph=True, allow_unused=True)
        except (RuntimeError, TypeError, AttributeError) as error:
            problems.append(
                "a rule written with operations that arrays and Tensors share, so that it runs on Tensors "
                f"in a recorded backward pass (gradients of gradients): {type(error).__name__}: {error}"
            )
    return problems


def _saved_problems(run, arrays: list[np.ndarray], op: str) -> list[str]:
    """Inputs whose values the rule reads but that `saved=` does not name: changing one in place
    after the forward pass changes the gradients, and backward() does not say so."""
    upstream = np.random.default_rng(0).standard_normal(run(*_leaves(arrays)).shape)
    reference = _leaves(arrays)
    run(*reference).backward(upstream)
    problems = []
    for i in range(len(arrays)):
        leaves = _leaves(arrays)
        out = run(*leaves)
        leaves[i].data[...] = leaves[i].data * 1.5 + 0.25  # in place, between forward and backward
        try:
            out.backward(upstream)
        except RuntimeError as error:
            if "modified in place" in str(error):
                continue  # caught: saved= names it
            raise
        if any(a.grad is not None and not np.allclose(a.grad, b.grad, rtol=1e-12) for a, b in zip(leaves, reference)):
            problems.append(
                f"saved=: its rule reads input {i}, so Tensor._make({op!r}, ...) must name that input's array in "
                "saved=, or a change in place between forward and backward gives a silently wrong gradient"
            )
    return problems
