"""SQL repairs, listed with the agent's rules: they live in the SQL tool (tools/sql/repairs.py,
an ordered tuple it applies before a query runs, and after DuckDB rejects one); a rule set that
leaves one out builds the tool without it (``repairs_kept``). ``check`` is the repair's ``fix``:
``(query, RepairContext) -> (fixed query, note) | None``."""

from __future__ import annotations

from collections.abc import Collection

from agent.rules.base import Rule
from tools.sql.repairs import AFTER_ERROR, REPAIRS, Repair

RULES: tuple[Rule, ...] = tuple(
    Rule(id=r.id, family="sql", purpose=r.purpose, check=r.fix) for r in (*REPAIRS, *AFTER_ERROR))


def repairs_kept(rule_ids: Collection[str]) -> tuple[Repair, ...]:
    """The SQL tool's repairs whose ids are in ``rule_ids``, in the tool's order."""
    return tuple(r for r in (*REPAIRS, *AFTER_ERROR) if r.id in rule_ids)
