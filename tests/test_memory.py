import os
import platform
import subprocess
import sys

import pytest

import tinynet as tn

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc malloc settings"
)

# Allocates and frees a 40 MiB array (over glibc's largest default mmap threshold) three times
# and prints the page faults of the last two rounds.
ROUNDS = """
import resource, numpy as np, tinynet
faults = []
for _ in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(10 * 2**20, dtype=np.float32)
    del block
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[1:]))
"""


def page_faults_after_first_round(keep: str) -> int:
    env = {**os.environ, "TINYNET_KEEP_FREED_MEMORY": keep}
    return int(subprocess.check_output([sys.executable, "-c", ROUNDS], env=env))


def test_freed_memory_is_reused_without_page_faults():
    assert page_faults_after_first_round("1") < 5
    assert page_faults_after_first_round("0") >= 10  # what tinynet avoids: every round faults its pages in again


def test_keep_freed_memory_reports_success_on_glibc():
    assert tn.memory.keep_freed_memory() is True
