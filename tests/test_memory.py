"""tinynet.memory: keep_freed_memory() lets a process reuse freed blocks, and importing tinynet changes nothing.

Each check runs in a fresh process, which allocates and frees a 40 MiB array three times and prints
the page faults of the last two rounds. glibc's mmap threshold never rises above 32 MiB on its own,
so with malloc as it is every round maps fresh pages and faults them in again (about 10,000 per
round); with keep_freed_memory() the block comes from the heap and is reused without a fault. A
plain `import tinynet` that touched M_MMAP_THRESHOLD would therefore show as missing faults.
"""

import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc malloc settings"
)

ROUNDS = """
import importlib, pkgutil, resource, numpy as np, tinynet
for module in pkgutil.walk_packages(tinynet.__path__, "tinynet."):  # every module's import code runs
    importlib.import_module(module.name)
{setup}
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(10 * 2**20, dtype=np.float32)
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]))
"""


def page_faults_after_first_round(setup: str = "") -> int:
    """The page faults of rounds 2 and 3, in a fresh process that imports all of tinynet, then runs `setup`."""
    return int(subprocess.check_output([sys.executable, "-c", ROUNDS.format(setup=setup)]))


def test_importing_tinynet_leaves_malloc_alone():
    assert page_faults_after_first_round() >= 10  # every round faults its pages in again


def test_keep_freed_memory_reuses_freed_blocks():
    assert page_faults_after_first_round("assert tinynet.memory.keep_freed_memory() is True") < 5
