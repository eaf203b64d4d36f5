"""Run the notebooks top to bottom in a fresh kernel and save them with their outputs.

    python notebooks/execute.py                                # every notebook of this folder
    python notebooks/execute.py notebooks/03_mnist_mlp.ipynb   # only the ones named

Each notebook runs in a new kernel of the Python that runs this script (its own ipykernel,
whatever other kernels Jupyter knows), started in the notebook's folder as Jupyter would. It is
written back only when every cell ran without an error, through a temporary file renamed when
complete: a notebook that fails, or a run cut short, leaves the file as it was.
tests/test_notebooks.py runs copies of the notebooks with these functions.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from tinynet.checkpoint import atomic_write

FOLDER = Path(__file__).resolve().parent
CELL_TIMEOUT = 300  # seconds a cell may run before the run is stopped
PARAMETERS_TAG = "parameters"
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_]\w*)\s*=(?!=)")  # a line `NAME = ...`


def notebooks() -> list[Path]:
    """The notebooks of this folder, in reading order (their names start with a number)."""
    return sorted(FOLDER.glob("*.ipynb"))


def parameters_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook's cell tagged "parameters", which holds the settings a run may change.
    Raises ValueError when the notebook has no such cell, or several."""
    cells = [cell for cell in notebook.cells if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"the notebook needs one cell tagged {PARAMETERS_TAG!r} (its settings), it has {len(cells)}")
    return cells[0]


def set_parameters(notebook: nbformat.NotebookNode, parameters: dict[str, object]) -> None:
    """Give new values to names assigned in the notebook's `parameters_cell`: each line
    `NAME = ...` of that cell whose NAME is a key of `parameters` becomes `NAME = repr(value)`.
    Raises ValueError when a name is not assigned there, or when there is no such cell."""
    cell = parameters_cell(notebook)
    lines = cell.source.splitlines()
    assigned = {match["name"]: k for k, line in enumerate(lines) if (match := _ASSIGNMENT.match(line))}
    unknown = sorted(set(parameters) - set(assigned))
    if unknown:
        raise ValueError(f"set_parameters: the parameters cell assigns {sorted(assigned)}, not {unknown}")
    for name, value in parameters.items():
        lines[assigned[name]] = f"{name} = {value!r}"
    cell.source = "\n".join(lines)


def execute(notebook: nbformat.NotebookNode, folder: str | Path, timeout: int = CELL_TIMEOUT) -> None:
    """Run every code cell of `notebook` in order, filling in its outputs (in place), in a fresh
    kernel of this Python started in `folder`, and shut the kernel down. Raises
    nbclient.exceptions.CellExecutionError, naming the cell and its error, at the first cell
    that fails, and nbclient.exceptions.CellTimeoutError at one that runs over `timeout` seconds."""
    # With no kernel folders to search, the kernel "python3" is always this Python's own ipykernel.
    kernel = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    client = NotebookClient(
        notebook, km=kernel, timeout=timeout, record_timing=False, resources={"metadata": {"path": str(folder)}}
    )
    client.execute(cleanup_kc=True)  # cleanup_kc: shut the kernel down, although the manager is ours


def execute_in_place(path: str | Path, timeout: int = CELL_TIMEOUT, folder: str | Path | None = None) -> None:
    """Run the notebook at `path` (see `execute`) in `folder`, by default its own, and write it
    back with its outputs. When a cell fails the file is left as it was."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    execute(notebook, path.parent if folder is None else folder, timeout)
    nbformat.validate(notebook)
    atomic_write(path, lambda f: f.write(nbformat.writes(notebook).encode() + b"\n"))  # as nbformat.write ends it


def main(argv: list[str] | None = None) -> None:
    """Run and save the notebooks named in `argv`, all of this folder's by default."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="the .ipynb files to run (default: all in notebooks/)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds a cell may run")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        if path.suffix != ".ipynb" or not path.is_file():
            parser.error(f"{path} is not an existing .ipynb file")
    if args.timeout < 1:
        parser.error(f"argument --timeout: must be at least 1, got {args.timeout}")
    for path in args.notebooks or notebooks():
        print(f"running {path}", flush=True)
        execute_in_place(path, args.timeout)
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
