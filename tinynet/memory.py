"""Keep the memory a training step frees, so that the next step can reuse it: an opt-in malloc setting.

Every step allocates and frees the same large temporaries: activations, im2col matrices,
gradients. glibc's malloc serves large requests with fresh pages from the kernel when they
are over its mmap threshold, and hands freed memory back when more than its trim threshold is
free; both thresholds move with the history of the process. Now and then a training loop
falls into a pattern where every step faults its pages in again (the kernel zeroes each 4 KiB
page on first touch): on the reference CNN, 2,700 page faults and 15 ms of system time per
45 ms step, for as long as the process runs.

`keep_freed_memory` fixes both thresholds: requests up to `mmap_threshold` come from the heap,
and freed memory stays in the heap until more than `trim_threshold` is free at its top, so
the next step finds its blocks already mapped. Peak memory does not grow (what is kept is what
the last step used), but the process holds on to up to `trim_threshold` of freed memory
instead of returning it.

The setting is for the whole process, whatever else runs in it, so importing tinynet leaves
malloc alone: a training program opts in with one call at its start,

    tn.memory.keep_freed_memory()

as the MNIST examples do (and every benchmark worker, whatever its framework).
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD = -1  # from glibc's <malloc.h>
M_MMAP_THRESHOLD = -3

MIB = 1 << 20


def keep_freed_memory(mmap_threshold: int = 64 * MIB, trim_threshold: int = 256 * MIB) -> bool:
    """Set glibc's M_MMAP_THRESHOLD and M_TRIM_THRESHOLD (bytes) for this process.

    Returns True when both took effect, False where there is no glibc mallopt (macOS, Windows,
    musl) and nothing changed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
