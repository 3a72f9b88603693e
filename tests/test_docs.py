"""The README names every registered method and every module of the package; the design lives in the repo."""
from __future__ import annotations

import re

from conftest import ROOT

from colosseum import registry


def _section(title: str, doc: str = "README.md") -> str:
    text = (ROOT / doc).read_text()
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert m, f"{doc} has no section {title!r}"
    return m.group(1)


def test_the_methods_section_names_every_registered_method():
    names = set(re.findall(r"^\| `([a-z_0-9]+)` \|", _section("Methods"), flags=re.M))
    assert names == set(registry.list_methods())


def test_the_datasets_section_names_every_registered_dataset():
    names = set(re.findall(r"^\| `([a-z_0-9]+)` \|", _section("Datasets"), flags=re.M))
    assert names == set(registry.list_datasets())


def test_the_layout_section_names_every_module():
    listed = set(re.findall(r"`(colosseum/[\w/]+\.py)`", _section("Layout (every module)", "docs/DESIGN.md")))
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "colosseum").rglob("*.py")}
    assert listed == modules, (sorted(modules - listed), sorted(listed - modules))


def test_the_design_document_is_in_the_repository_and_linked():
    assert (ROOT / "docs" / "DESIGN.md").is_file()
    assert "docs/DESIGN.md" in (ROOT / "README.md").read_text()
    assert "../shared" not in (ROOT / "README.md").read_text() + (ROOT / "Makefile").read_text()


def test_the_readme_is_a_manual_of_at_most_300_lines_and_links_the_findings():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 300
    assert text.splitlines()[3].startswith("make run") and text.splitlines()[4].startswith("make test")
    for title in ("Running", "Results", "Adding a method", "Datasets", "Methods", "Scale-out", "When things go wrong"):
        assert re.search(rf"^## {re.escape(title)}", text, flags=re.M), title
    assert "docs/findings.md" in text and (ROOT / "docs" / "findings.md").is_file()
