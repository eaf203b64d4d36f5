"""The notebooks of notebooks/ run top to bottom in a fresh kernel, on copies, so the committed
files never change; the committed files hold the outputs of every cell, pictures included."""

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT = 120
# The pictures each notebook shows (the backprop notebook draws its graph only where Graphviz is).
PICTURES = {
    "01_backprop_by_hand.ipynb": 2,
    "02_optimizers_2d.ipynb": 6,
    "03_mnist_mlp.ipynb": 4,
    "04_backward_stepper.ipynb": 2,
}


def load_execute():
    spec = importlib.util.spec_from_file_location("notebooks_execute", NOTEBOOKS / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


execute = load_execute()


def folder_contents() -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in NOTEBOOKS.iterdir() if path.is_file()}


def run_copy(name: str, tmp_path: Path, **parameters) -> nbformat.NotebookNode:
    """Run a copy of the notebook `name` as `python notebooks/execute.py` runs the original (in
    notebooks/, where it finds ../examples), with `parameters` set; check that notebooks/ is
    unchanged, and return the copy with its outputs."""
    before = folder_contents()
    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    if parameters:
        notebook = nbformat.read(copy, as_version=4)
        execute.set_parameters(notebook, parameters)
        nbformat.write(notebook, copy)
    execute.execute_in_place(copy, timeout=CELL_TIMEOUT, folder=NOTEBOOKS)
    assert folder_contents() == before  # no notebook file rewritten, no file left behind
    return nbformat.read(copy, as_version=4)


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def outputs(notebook, kind: str) -> list:
    return [output for cell in code_cells(notebook) for output in cell.outputs if output.output_type == kind]


def text(notebook) -> str:
    return "".join(output.text for output in outputs(notebook, "stream") if output.name == "stdout")


def pictures(notebook) -> int:
    return sum("image/png" in output.get("data", {}) for cell in code_cells(notebook) for output in cell.outputs)


def test_the_backprop_notebook_runs(tmp_path):
    notebook = run_copy("01_backprop_by_hand.ipynb", tmp_path)
    out = text(notebook)
    assert "loss = 37.21" in out
    assert out.count("the same as by hand: True") == 4
    assert "leaves (.grad):" in out  # the trace
    assert "gradcheck passes: True" in out
    assert "gradcheck: input 0 (shape (2, 2)): gradient mismatch at index (0, 1): backward gives -3.067817395" in out
    assert "the wrong backward's dL/dW1[0, 1] = -24.4; times v: -3.067817395" in out  # why: gradcheck's direction
    if shutil.which("dot"):
        assert pictures(notebook) == 2
    else:
        assert pictures(notebook) == 1 and "Graphviz's dot is not installed" in out
        assert "#1 sum scalar  data 37.21" in out  # the graph as a tree instead


def test_the_optimizers_notebook_runs(tmp_path):
    notebook = run_copy("02_optimizers_2d.ipynb", tmp_path)
    out = text(notebook)
    assert "step 1: gradient [-4. 50.] -> point [-3.88 -0.5 ]" in out  # one SGD step by hand, lr 0.03
    for function in ("rosenbrock", "beale", "saddle", "quadratic"):
        assert f"\n{function}: " in out  # each function's table
    assert pictures(notebook) == PICTURES["02_optimizers_2d.ipynb"]


def test_the_mnist_notebook_runs_on_a_slice(tmp_path):
    notebook = run_copy("03_mnist_mlp.ipynb", tmp_path, EPOCHS=2, TRAIN_SIZE=20_000)
    out = text(notebook)
    accuracies = [float(value) for value in re.findall(r"epoch \d: train loss [\d.]+  test accuracy ([\d.]+)", out)]
    assert len(accuracies) == 2 and accuracies[-1] > 0.92
    assert f"test accuracy {accuracies[-1]:.4f}:" in out  # the confusion matrix agrees with the training loop
    assert len(re.findall(r"^ {4}\d( +[01]\.\d{4}){3} +\d+$", out, re.MULTILINE)) == 10  # precision, recall, F1
    assert pictures(notebook) == PICTURES["03_mnist_mlp.ipynb"]


def test_the_backward_stepper_notebook_runs(tmp_path):
    notebook = run_copy("04_backward_stepper.ipynb", tmp_path)
    out = text(notebook)
    assert "dL/da by hand: [ 0.8553 -1.1053]" in out
    assert "g arrived     [0.8553, -1.105]   (from 2 of 2 uses of the result)" in out  # the engine waits for both
    assert "the same as backward(): True" in out
    assert "g arrived     [0.4621, -0.964]   (from 1 of 2 uses of the result)" in out  # the naive recursion does not
    assert "correct g     [0.8553, -1.105]   <- the g above is wrong" in out
    assert out.count("g arrived     nothing") == 3  # the forward order
    assert "#6 x: [0.8553, 2.211]   correct: [0.4277, 1.105]   <- wrong" in out  # no zero_grad: twice the gradient
    assert "after step 2 of 5 (correct):" in out and "#10 0.weight" in out
    widgets = [o for o in outputs(notebook, "display_data") if "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(widgets) == 1
    assert pictures(notebook) == PICTURES["04_backward_stepper.ipynb"]


@pytest.mark.parametrize("name", sorted(PICTURES))
def test_the_committed_notebooks_hold_their_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    cells = code_cells(notebook)
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1))  # all run, in order
    assert outputs(notebook, "error") == []
    assert pictures(notebook) == PICTURES[name]
    assert notebook.metadata.kernelspec.name == "python3"


def test_the_committed_mnist_notebook_ran_with_its_own_parameters():
    notebook = nbformat.read(NOTEBOOKS / "03_mnist_mlp.ipynb", as_version=4)
    epochs = int(re.search(r"^EPOCHS = (\d+)", execute.parameters_cell(notebook).source, re.MULTILINE)[1])
    assert len(re.findall(r"^epoch \d+: train loss", text(notebook), re.MULTILINE)) == epochs


def test_the_readme_lists_every_notebook_and_the_command():
    readme = (NOTEBOOKS / "README.md").read_text()
    assert sorted(path.name for path in execute.notebooks()) == sorted(PICTURES)
    for name in PICTURES:
        assert f"]({name})" in readme
    assert "python notebooks/execute.py" in readme


def test_the_kernel_is_this_python(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.executable)")])
    execute.execute(notebook, tmp_path)
    assert notebook.cells[0].outputs[0].text.strip() == sys.executable


def test_a_failing_notebook_is_left_as_it_was(tmp_path):
    path = tmp_path / "fails.ipynb"
    cells = [nbformat.v4.new_code_cell("print('ran')"), nbformat.v4.new_code_cell("1 / 0")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute.execute_in_place(path, timeout=CELL_TIMEOUT)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fails.ipynb"]  # no temporary file left


def parameters_notebook(*sources, tags=("parameters",)):
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    cells[0].metadata["tags"] = list(tags)
    return nbformat.v4.new_notebook(cells=cells)


def test_set_parameters_rewrites_only_the_named_assignments():
    notebook = parameters_notebook("EPOCHS = 5\nTRAIN_SIZE = None  # all\nSEED = 0", "EPOCHS = 7")
    execute.set_parameters(notebook, {"EPOCHS": 1, "TRAIN_SIZE": 6000})
    assert notebook.cells[0].source == "EPOCHS = 1\nTRAIN_SIZE = 6000\nSEED = 0"
    assert notebook.cells[1].source == "EPOCHS = 7"  # only the parameters cell


def test_set_parameters_refuses_a_name_the_cell_does_not_assign():
    notebook = parameters_notebook("EPOCHS = 5\nif EPOCHS == 5:\n    pass")
    with pytest.raises(ValueError, match=r"assigns \['EPOCHS'\], not \['EPOCH'\]"):
        execute.set_parameters(notebook, {"EPOCH": 1})
    assert notebook.cells[0].source.startswith("EPOCHS = 5")


def test_set_parameters_needs_one_parameters_cell():
    untagged = parameters_notebook("EPOCHS = 5", tags=())
    twice = parameters_notebook("EPOCHS = 5", "EPOCHS = 6")
    twice.cells[1].metadata["tags"] = ["parameters"]
    for notebook, count in ((untagged, 0), (twice, 2)):
        with pytest.raises(ValueError, match=re.escape(f"one cell tagged 'parameters' (its settings), it has {count}")):
            execute.set_parameters(notebook, {"EPOCHS": 1})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.ipynb"], "missing.ipynb is not an existing .ipynb file"),
        (["--timeout", "0"], "argument --timeout: must be at least 1, got 0"),
    ],
)
def test_the_command_refuses_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        execute.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
