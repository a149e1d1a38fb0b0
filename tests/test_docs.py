"""README.md and docs/*.md examples run as tests, and module docstring examples as doctests.

Each Markdown file's ```python blocks run in order in one namespace (so later blocks may use
earlier names); a block whose first line is ``# not-run`` is skipped.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import crmcore

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_markdown_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [
        b for b in BLOCK.findall(page.read_text(encoding="utf-8")) if not b.startswith("# not-run")
    ]
    if not blocks:
        pytest.skip(f"{page.name} has no python examples")
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}", "TMP": tmp_path}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{page.name}[block {number}]", "exec")
        exec(code, namespace)


def core_modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(crmcore.__path__, prefix="crmcore.")
        if m.name != "crmcore.__main__"
    )


@pytest.mark.parametrize("name", core_modules())
def test_module_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
