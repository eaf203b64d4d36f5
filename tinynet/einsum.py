"""tn.einsum: Einstein summation, differentiable.

`einsum("ij,jk->ik", a, b)` multiplies each a[i, j] by b[j, k] and sums over the letters that
are not in the output (here j): it is a @ b. Its backward is einsums too. The gradient of one
operand is the output gradient g contracted with the other operands, the result written with
that operand's letters:

    y = einsum("ij,jk->ik", a, b)    d/da = einsum("ik,jk->ij", g, b),   d/db = einsum("ik,ij->jk", g, a)

Two cases need one more operand in that einsum, a constant. A letter that only the operand
itself has (summed away, as j in "ij->i") gets a vector of ones, which copies the gradient
along it; a letter that the operand repeats (its diagonal, as in "ii->i") gets an identity
matrix, which puts the gradient on the diagonal and zeros elsewhere. The backward uses only
einsum, so on Tensors it is recorded too, and gradients of gradients work.
"""

from __future__ import annotations

import string

import numpy as np

from tinynet.tensor import Tensor, as_tensor

__all__ = ["einsum"]


def _explicit(equation: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """The subscripts of each operand and of the output, with "..." spelled out as letters and
    the output written out when the equation leaves it implicit."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    subscripts = inputs.split(",")
    if len(subscripts) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(subscripts)} operands, got {len(shapes)}")
    unused = [c for c in string.ascii_letters if c not in equation]
    spans = [len(shape) - (len(s) - 3) for s, shape in zip(subscripts, shapes) if "..." in s]
    broadcast = unused[: max(spans, default=0)]
    for i, (s, shape) in enumerate(zip(subscripts, shapes)):
        if "..." in s:
            span = len(shape) - (len(s) - 3)
            subscripts[i] = s.replace("...", "".join(broadcast[len(broadcast) - span :]) if span > 0 else "")
    if not arrow:
        letters = "".join(subscripts)
        output = "".join(broadcast) + "".join(sorted(c for c in set(letters) - set(broadcast) if letters.count(c) == 1))
    output = output.replace("...", "".join(broadcast))
    for s, shape in zip(subscripts, shapes):
        if not all(c in string.ascii_letters for c in s) or len(s) != len(shape):
            raise ValueError(
                f"einsum: the subscripts {s!r} of {equation!r} do not fit an operand of shape {shape} "
                "(one letter per dimension, a-z or A-Z, or '...' for several)"
            )
    if len(set(output)) != len(output) or not set(output) <= set("".join(subscripts)):
        raise ValueError(f"einsum: the output {output!r} of {equation!r} must name input letters, each once")
    return subscripts, output


def _sizes(equation: str, subscripts: list[str], shapes: list[tuple[int, ...]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for s, shape in zip(subscripts, shapes):
        for letter, n in zip(s, shape):
            if sizes.setdefault(letter, n) != n:
                raise ValueError(
                    f"einsum: {letter!r} in {equation!r} is of size {sizes[letter]} in one place and {n} in another "
                    f"(operand shapes {shapes}); tinynet's einsum does not broadcast size-1 dimensions"
                )
    return sizes


def _contract(equation: str, *operands):
    """np.einsum on arrays; tn.einsum once any operand is a Tensor (a recorded backward)."""
    if any(isinstance(x, Tensor) for x in operands):
        return einsum(equation, *operands)
    return np.einsum(equation, *operands, optimize=len(operands) > 2)


def _gradient_rule(subscripts: list[str], output: str, sizes: dict[str, int]):
    unused = [c for c in string.ascii_letters if c not in sizes]

    def operand_gradient(k: int, g, operands):
        free = iter(unused)
        others = [x for i, x in enumerate(operands) if i != k]
        other_subscripts = [s for i, s in enumerate(subscripts) if i != k]
        target, constants, constant_subscripts = [], [], []
        dtype = g.dtype
        for letter in subscripts[k]:
            if letter in target:  # a repeat: the diagonal, through an identity matrix
                fresh = next(free)
                constants.append(np.eye(sizes[letter], dtype=dtype))
                constant_subscripts.append(letter + fresh)
                letter = fresh
            target.append(letter)
        reached = set(output).union(*other_subscripts)
        for letter in dict.fromkeys(subscripts[k]):
            if letter not in reached:  # summed away by this operand alone: copied along it
                constants.append(np.ones(sizes[letter], dtype=dtype))
                constant_subscripts.append(letter)
        equation = ",".join([output, *other_subscripts, *constant_subscripts]) + "->" + "".join(target)
        return _contract(equation, g, *others, *constants)

    def rule(g, *operands_and_out):
        operands = operands_and_out[:-1]
        return tuple(operand_gradient(k, g, operands) for k in range(len(operands)))

    return rule


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over the operands (Tensors or arrays), as torch.einsum and
    np.einsum: e.g. einsum("ij,jk->ik", a, b) is a @ b, einsum("bij->bji", x) a transpose,
    einsum("ii", m) the trace. Letters missing from the output are summed over; "..." stands
    for any leading dimensions; without "->" the output is the letters used once, in
    alphabetical order. The operands may also be given as one list. Differentiable, twice."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the first argument must be the equation, a str, got {type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ValueError(f"einsum: {equation!r} needs at least one operand")
    tensors = tuple(as_tensor(x) for x in operands)
    shapes = [t.shape for t in tensors]
    subscripts, output = _explicit(equation, shapes)
    sizes = _sizes(equation, subscripts, shapes)
    explicit = ",".join(subscripts) + "->" + output
    out = np.einsum(explicit, *(t.data for t in tensors), optimize=len(tensors) > 2)
    saved = tuple(t.data for t in tensors) if len(tensors) > 1 else ()
    return Tensor._make(np.asarray(out), tensors, _gradient_rule(subscripts, output, sizes), "einsum", saved)
