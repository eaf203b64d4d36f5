"""The docs cannot drift from the code: README.md and docs/*.md are checked block by block.

A ```python block is either an example or a quote. An example runs: the examples of one file
run in order in one namespace, as a reader would paste them. A quote shows the project's own
code and carries a marker on the line right before its fence,

    <!-- source: tinynet/tensor.py Tensor.relu -->

naming a file and, optionally, an object in it (a dotted name for a method). A quote does not
run; its lines must appear verbatim and consecutively, up to their common indentation, in the
object's source (`inspect.getsource`), or in the whole file when no object is named. So a quote
may be a whole function or a few lines of one. An example that defines, at its top level, a
function or class under a name that tinynet's source also defines looks like a quote that has
lost its marker, and fails; so does Python source (a `def` or `class` line) in an indented code
block, which no test would read.
"""

import ast
import importlib
import inspect
import operator
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
EACH_DOCUMENT = pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
BLOCK = re.compile(  # a fence may be indented, inside a list item
    r"^(?:[ \t]*<!-- source: (?P<path>\S+)(?: (?P<name>\S+))? -->\n)?[ \t]*```python\n(?P<code>.*?)^[ \t]*```",
    re.DOTALL | re.MULTILINE,
)
FENCED = re.compile(r"^[ \t]*```.*?^[ \t]*```", re.DOTALL | re.MULTILINE)
INDENTED_DEFINITION = re.compile(r"^(?: {4}|\t)\s*(?:def|class) \w+", re.MULTILINE)
DEFINITION = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
TINYNET_NAMES = {
    node.name
    for file in (ROOT / "tinynet").rglob("*.py")
    for node in ast.walk(ast.parse(file.read_text()))
    if isinstance(node, DEFINITION)
}


def examples(document: Path) -> list[str]:
    """The code of the document's unmarked ```python blocks, in order."""
    return [textwrap.dedent(block["code"]) for block in BLOCK.finditer(document.read_text()) if block["path"] is None]


def quotes(document: Path) -> list[re.Match]:
    """The document's marked ```python blocks, each with its path, name and code."""
    return [block for block in BLOCK.finditer(document.read_text()) if block["path"] is not None]


def source_of(path: str, name: str | None) -> str:
    """The code a marker points at: `name` in the module at `path` (relative to the project), or the whole file."""
    if name is None:
        return (ROOT / path).read_text()
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return inspect.getsource(operator.attrgetter(name)(module))


def appears_in(excerpt: str, source: str) -> bool:
    """Whether the excerpt's lines are lines of `source`, consecutive and verbatim up to their common indentation."""
    wanted = textwrap.dedent(excerpt).splitlines()
    lines = source.splitlines()
    windows = (lines[i : i + len(wanted)] for i in range(len(lines) - len(wanted) + 1))
    return any(textwrap.dedent("\n".join(window)).splitlines() == wanted for window in windows)


def test_the_docs_have_examples_and_quotes():
    assert {"README.md", "backprop.md", "extending.md", "optimizers.md"} <= {d.name for d in DOCUMENTS if examples(d)}
    assert {"backprop.md", "performance.md"} <= {d.name for d in DOCUMENTS if quotes(d)}


def test_a_stale_quote_is_caught():
    relu = source_of("tinynet/tensor.py", "Tensor.relu")
    assert appears_in(relu.splitlines()[1], relu)  # one line, without its indentation
    assert not appears_in("out = np.maximum(self.data, 0)", relu)  # what the ReLU once was
    assert not appears_in(relu.replace("relu", "ReLU"), relu)  # the whole method, with one word changed


NEEDS = {"distributed.md": ["mpi4py"], "onnx.md": ["onnx", "onnxruntime"]}  # the optional packages of a document
# An example that imports an optional test dependency, and the examples after it, are skipped without it.
EXAMPLE_NEEDS = {"import torch": "torch"}


@EACH_DOCUMENT
def test_examples_run(document, tmp_path, monkeypatch):
    for package in NEEDS.get(document.name, []):
        pytest.importorskip(package)
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    try:
        for i, code in enumerate(examples(document)):
            for line, module in EXAMPLE_NEEDS.items():
                if line in code:
                    pytest.importorskip(
                        module, reason=f"{document.name}: example {i + 1} and those after it need {module}"
                    )
            error = None
            try:
                exec(compile(code, f"{document.name} example {i + 1}", "exec"), namespace)
            except Exception as raised:
                error = raised
            assert error is None, f"{document.name}: python example {i + 1} failed: {error!r}"
    finally:
        tn.set_default_dtype(np.float32)


@EACH_DOCUMENT
def test_quotes_match_the_source(document):
    text = document.read_text()
    found = quotes(document)
    assert text.count("<!-- source:") == len(found), f"{document.name}: a source marker not right before a ```python"
    for quote in found:
        where = f"{quote['path']} {quote['name'] or ''}".strip()
        assert appears_in(quote["code"], source_of(quote["path"], quote["name"])), (
            f"{document.name}: the quote of {where} is not in its source:\n{quote['code']}"
        )


@EACH_DOCUMENT
def test_quotes_carry_a_marker(document):
    for code in examples(document):
        defined = {node.name for node in ast.parse(code).body if isinstance(node, DEFINITION)}
        assert not defined & TINYNET_NAMES, (
            f"{document.name}: an example defines {sorted(defined & TINYNET_NAMES)}, as tinynet's source does: "
            "a quote needs a <!-- source: ... --> marker (or give the example's own names)"
        )
    unfenced = FENCED.sub("", document.read_text())
    assert not INDENTED_DEFINITION.findall(unfenced), (
        f"{document.name}: Python source in an indented code block: make it a ```python block"
    )


def test_documents_have_no_broken_relative_links():
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to missing {target}"


def heading_anchors(document: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file: lowercase, punctuation dropped,
    spaces turned into hyphens (outside code blocks)."""
    text = FENCED.sub("", document.read_text())
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def test_links_to_headings_find_them():
    for document in DOCUMENTS:
        for target, anchor in re.findall(r"\]\(([^)#:]*)#([^)]+)\)", document.read_text()):
            linked = document.parent / target if target else document
            assert anchor in heading_anchors(linked), (
                f"{document.name} links to #{anchor}, not a heading of {linked.name}"
            )
