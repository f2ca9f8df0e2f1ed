"""`tablepilot rules [--json]`: every rule the agent can run, by family, on or off by default.

The ids and family names are what `--rules` and `--without` take on ask, chat and batch.
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import print_json, print_styled, with_examples


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rules", help="list the agent's rules (what --rules and --without take)",
        description="List every rule of the agent, grouped by family: its id, whether it is on "
        "by default, and what it does. Pass ids or family names to --rules / --without.",
        **with_examples(
            "tablepilot rules",
            "tablepilot rules --json",
            'tablepilot ask book.xlsx "Total sales?" --without tool-alias'))
    p.add_argument("--json", action="store_true", help="print the rules as JSON")
    p.add_argument("--markdown", action="store_true",
                   help="print the rules as the Markdown table in docs/agent.md")
    p.set_defaults(func=run)


def families() -> list[tuple[str, str, list[Any]]]:
    """(family, description, its rules) in the registry's family order; a family a rule names
    that FAMILIES lacks comes last, described as unknown rather than hidden."""
    from agent.rules import FAMILIES, RULES

    names = list(FAMILIES) + [r.family for r in RULES if r.family not in FAMILIES]
    ordered = list(dict.fromkeys(names))
    return [(name, FAMILIES.get(name, "(no description)"),
             [r for r in RULES if r.family == name]) for name in ordered]


def as_json() -> dict[str, Any]:
    from agent.rules import FAMILIES, RULES

    return {"families": dict(FAMILIES),
            "rules": [{"id": r.id, "family": r.family, "default": r.default,
                       "purpose": r.purpose} for r in RULES]}


def as_text() -> str:
    from agent.rules import RULES

    if not RULES:
        return "no rules are registered"
    width = max(len(r.id) for r in RULES)
    lines: list[str] = []
    for name, description, rules in families():
        if not rules:
            continue
        if lines:
            lines.append("")
        lines.append(f"{name}: {description}")
        for r in rules:
            purpose = " ".join(r.purpose.split())
            lines.append(f"  {r.id:<{width}}  {'on ' if r.default else 'off'}  {purpose}")
    on = sum(r.default for r in RULES)
    lines += ["", f"{len(RULES)} rules, {on} on by default. Choose with --rules LIST and "
                  "--without RULE (ids or family names)."]
    return "\n".join(lines)


def as_markdown() -> str:
    """The rule table of docs/agent.md (a test keeps the two the same)."""
    lines = ["| id | family | default | what it does |", "|---|---|---|---|"]
    for name, _, rules in families():
        for r in rules:
            purpose = " ".join(r.purpose.split()).replace("|", "\\|")
            lines.append(f"| `{r.id}` | {name} | {'on' if r.default else 'off'} | {purpose} |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.json:
        print_json(as_json())
    elif args.markdown:
        print(as_markdown())
    else:
        print_styled(as_text(), [(r"^\S.*: ", "bold"), (r"^  \S+\s+off ", "dim")])
    return 0
