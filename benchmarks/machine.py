"""The machine a benchmark ran on, for the header of its table: a figure means little without its CPU."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np


def cpu_model() -> str:
    """The CPU's name: its "model name" in /proc/cpuinfo on Linux, else what platform.processor() says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # no /proc: not Linux
    return platform.processor() or platform.machine()


def describe_machine() -> str:
    """One line: cores, CPU, Python and numpy versions."""
    return f"{os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}, numpy {np.__version__}"
