"""The machine a benchmark ran on, for the header of its table (a figure means little without
its CPU), and the one malloc setting every framework's process gets."""

from __future__ import annotations

import importlib.util
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


def keep_freed_memory() -> None:
    """tinynet.memory.keep_freed_memory() for this process, loaded from its file alone so that a
    PyTorch or numpy worker needs no tinynet. Every framework's worker calls it: without it,
    PyTorch's CNN step faulted in up to 3,000 fresh pages in a fresh process and its epoch took
    15-50% longer (docs/performance.md), which is malloc's doing, not PyTorch's."""
    path = Path(__file__).resolve().parents[1] / "tinynet" / "memory.py"
    spec = importlib.util.spec_from_file_location("tinynet_memory", path)
    memory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(memory)
    memory.keep_freed_memory()
