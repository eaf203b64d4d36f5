"""Graph safety, as in PyTorch: a leaf's data changed in place between the forward and the
backward pass is an error that names the op, never a silently wrong gradient; a second backward
through a freed graph is an error too; a rule that returns a gradient of the wrong shape is named.

Each op names the input arrays its rule reads (`saved=` in `Tensor._make`: mul's inputs, not
add's, whose rule reads no values). For those that are the data of a leaf (your inputs, the
parameters), the graph keeps a fingerprint, which backward() checks before the rule runs.

What is checked: the data of leaves, the tensors you made (`Tensor(x)` shares x, so x itself)
and the parameters, where an op's rule reads it: mul's and matmul's inputs, log's, the inputs
whose array a Function saves with `ctx.save_for_backward`. What is not: the results of other ops
(their `.data`, such as a ReLU's output, which its rule reads), arrays that an op keeps for
itself (copies, or a view of an input that a Function saves), index and condition arrays, and a
plain tensor given another array (`t.data = other`; a parameter copies it in place, which is
caught). Checking the results too would cost more than 2% of the MLP's training step; this
costs about 1.5%. How surely: data of up to 64 KiB is compared whole, so any change is caught;
larger data by a sample of about 64 elements spread over its axes, which catches every change to
all or much of it (an optimizer step on the parameters, a new batch written into the input's
buffer, x /= 255, a shuffle of the rows) but may miss a change to a few elements.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

EXACT_FINGERPRINT_BYTES = 65536  # arrays up to 64 KiB (16,384 float32 numbers) are fingerprinted whole


def fingerprint(array: np.ndarray) -> bytes:
    """Bytes that change when `array` is written in place: all of its bytes when it has at most
    EXACT_FINGERPRINT_BYTES, else the bytes of a lattice of about 64 elements spread evenly
    over every axis (`_lattice`)."""
    if array.nbytes <= EXACT_FINGERPRINT_BYTES:
        return array.tobytes()
    return array[_lattice(array.shape)].tobytes()


@functools.lru_cache(maxsize=256)
def _lattice(shape: tuple[int, ...]) -> tuple[slice, ...]:
    """The index of about 64 elements spread evenly over every axis of `shape`, each at the middle
    of its cell rather than at its corner (which is often a border or padding): (s0//2::s0, ...)."""
    steps = [max(1, n // math.ceil(64 ** (1 / len(shape)))) for n in shape]
    return tuple([slice(step // 2, None, step) for step in steps])


def fingerprint_leaves(parents: tuple, saved: Sequence) -> tuple[tuple[np.ndarray, bytes], ...]:
    """(array, fingerprint) for each array in `saved` that is the data of a leaf in `parents`.
    (Plain loops: this runs for every op in a training step, and comprehensions cost more.)"""
    pairs = []
    for parent in parents:
        if parent._backward is None:
            data = parent.data
            for array in saved:
                if array is data:
                    pairs.append((data, fingerprint(data)))
                    break
    return tuple(pairs)


def check_inputs_unchanged(node) -> None:
    """Raise if the data of a leaf that `node`'s rule reads was changed in place since the forward pass."""
    for data, print_then in node._saved:
        if fingerprint(data) != print_then:
            which = next((f"input {i}" for i, parent in enumerate(node._parents) if parent.data is data), "an input")
            raise RuntimeError(
                f"backward(): the data of {which} of '{node._op}' (shape {data.shape}, dtype "
                f"{data.dtype}), which its backward reads, was modified in place after the forward pass, "
                "so the gradients would be wrong. Clone it before modifying it (x = x.copy(), or "
                "Tensor(x.copy())), or modify it only after backward()"
            )


def check_gradient_shapes(node, input_grads: Sequence) -> None:
    """Raise if `node`'s rule returned a gradient whose shape is not its input's."""
    for parent, grad in zip(node._parents, input_grads):
        if grad is not None and grad.shape != parent.shape and parent.requires_grad:
            raise ValueError(
                f"backward of '{node._op}' returned a gradient of shape {grad.shape} "
                f"for an input of shape {parent.shape}"
            )


def _graph_freed(*_):
    """The rule of an op once backward() has freed its graph: reaching it again is an error."""
    raise RuntimeError(
        "backward(): trying to backward through the graph a second time: the first backward() freed it "
        "(each op dropped its inputs and the arrays it saved, to release their memory). Call the first "
        "backward(retain_graph=True) to backward through it again, or run the forward pass again"
    )


def free(node) -> None:
    """Drop what `node`'s op kept for backward (its inputs, its rule and what the rule reads), so
    that memory goes back at once; a later backward through it raises."""
    if node._backward is not None:
        node._parents, node._backward, node._saved = (), _graph_freed, ()


def is_freed(node) -> bool:
    """Whether backward() has freed the graph behind `node`."""
    return node._backward is _graph_freed
