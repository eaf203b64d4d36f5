"""The readable core stays small, and docs/READING.md stays the way through it.

The core is the code a newcomer reads first: the Tensor and its ops, the backward pass, grad
mode and Function. Its budget is counted in lines of code: docstrings, comments and blank
lines are not counted.
"""

import ast
import importlib
import inspect
import io
import operator
import re
import textwrap
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ["tinynet/tensor.py", "tinynet/autograd.py", "tinynet/grad_mode.py", "tinynet/function.py",
        "tinynet/dtype.py", "tinynet/torch_names.py"]  # fmt: skip
CORE_BUDGET = 800  # teenygrad's core keeps under 1,000
READING_BUDGET = 850  # docs/READING.md's stops: "about 800 lines of code in all"
EXTRAS = {"tinynet.anomaly", "tinynet.graph_safety", "tinynet.hooks", "tinynet.speedups", "tinynet.tensor_methods",
          "tinynet.in_place", "tinynet.numpy_protocol"}  # fmt: skip
STOP = re.compile(r"^### (\d+)\. (\S+?)(?:: (.+))?$", re.MULTILINE)


def code_lines(source: str) -> int:
    """The lines of `source` that hold code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            lines.update(n for n in range(token.start[0], token.end[0] + 1) if n not in docstrings)
    return len(lines)


def test_code_lines_counts_code_only():
    source = textwrap.dedent('''\
        """A docstring
        of two lines."""

        # a comment
        x = 1  # and a comment


        def f():
            """Doc."""
            return [
                x,
            ]
        ''')
    assert code_lines(source) == 5  # x = 1, def f, return [, x, ]


def test_the_core_keeps_its_line_budget():
    counts = {path: code_lines((ROOT / path).read_text()) for path in CORE}
    assert sum(counts.values()) <= CORE_BUDGET, f"the core has {sum(counts.values())} lines of code: {counts}"


def test_the_core_imports_only_the_core_and_its_named_extras():
    core_modules = {path.removesuffix(".py").replace("/", ".") for path in CORE}
    for path in CORE:
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tinynet"):
                names = [node.module] if node.module != "tinynet" else [f"tinynet.{a.name}" for a in node.names]
                for name in names:
                    assert name in core_modules | EXTRAS, f"{path} imports {name}, outside the core and its extras"


def test_the_backward_loop_is_the_chain_rule_in_a_few_lines():
    from tinynet import autograd

    loop = textwrap.dedent(inspect.getsource(autograd.backward_pass))
    assert code_lines(loop) <= 25, "backward_pass has grown: move what is not the chain rule into a named call"


def stops() -> list[tuple[int, str, list[str]]]:
    text = (ROOT / "docs" / "READING.md").read_text()
    return [(int(n), path, [] if names is None else names.split(", ")) for n, path, names in STOP.findall(text)]


def test_the_reading_guide_names_code_that_exists_within_its_budget():
    found = stops()
    assert [n for n, _, _ in found] == list(range(1, len(found) + 1)) and len(found) >= 10
    read: dict[str, set[str]] = {}
    total = 0
    for _, path, names in found:
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        if not names:
            total += code_lines((ROOT / path).read_text())
        for name in names:
            obj = operator.attrgetter(name)(module)  # raises if the guide names what is gone
            if isinstance(obj, property):
                obj = obj.fget
            key = f"{path}:{name}"
            if key not in read.setdefault(path, set()):
                read[path].add(key)
                total += code_lines(textwrap.dedent(inspect.getsource(obj)))
    assert 300 <= total <= READING_BUDGET, f"the reading path holds {total} lines of code"


def test_the_guide_walks_from_tensor_to_adam():
    paths = [path for _, path, _ in stops()]
    assert paths[0] == "tinynet/tensor.py" and paths[-1] == "tinynet/optim/adam.py"
    assert "tinynet/autograd.py" in paths and "tinynet/optim/optimizer.py" in paths
