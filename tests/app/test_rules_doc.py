"""docs/agent.md's rule table is the registry's: a rule added, renamed or reworded without the
docs fails here (regenerate with `tablepilot rules --markdown`)."""

from __future__ import annotations

import re
from pathlib import Path

from app.commands.rules import as_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "agent.md"


def test_the_rule_table_in_docs_is_generated_from_the_registry() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- rules:start[^>]*-->\n(.*?)\n<!-- rules:end -->", text, re.S)
    assert found, "docs/agent.md has no <!-- rules:start --> ... <!-- rules:end --> block"
    assert found.group(1).strip() == as_markdown().strip(), (
        "docs/agent.md's rule table is out of date: paste `tablepilot rules --markdown` there")
