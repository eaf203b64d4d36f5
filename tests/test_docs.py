"""Every ```python block in README.md and docs/*.md runs, so the docs cannot drift from the code.

The blocks of one file run in order in one namespace, as a reader would paste them."""

import re
from pathlib import Path

import numpy as np
import pytest

import tinynet as tn

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
WITH_CODE = [d for d in DOCUMENTS if BLOCK.search(d.read_text())]


def test_the_docs_have_code_to_run():
    names = {d.name for d in WITH_CODE}
    assert {"README.md", "backprop.md", "extending.md", "optimizers.md"} <= names


@pytest.mark.parametrize("document", WITH_CODE, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run(document, tmp_path, monkeypatch):
    blocks = BLOCK.findall(document.read_text())
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    try:
        for i, block in enumerate(blocks):
            error = None
            try:
                exec(compile(block, f"{document.name} block {i + 1}", "exec"), namespace)
            except Exception as raised:
                error = raised
            assert error is None, f"{document.name}: python block {i + 1} failed: {error!r}"
    finally:
        tn.set_default_dtype(np.float32)


def test_documents_have_no_broken_relative_links():
    for document in DOCUMENTS:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name} links to missing {target}"
