"""The agent's named rules: every repair and answer rule of the loop, listed, switchable, tested.

``RULES`` is the ordered registry (``tablepilot rules`` prints it). ``select`` turns what a user
asked for (``--rules LIST``, ``--without RULE``; a rule id or a family name) into a ``RuleSet``
that ``TableAgent(rules=...)`` runs with. Families, in the order the loop asks them:
call -> (the tool runs; sql repairs inside it) -> edit (a sheet edit) -> observe; reply;
check and edit (an answer) -> shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agent.errors import UnknownRuleError
from agent.rules import calls, checks, edits, observations, replies, shaping, sql
from agent.rules.base import FAMILIES, Family, Rule, RunState

RULES: tuple[Rule, ...] = (*calls.RULES, *replies.RULES, *checks.RULES, *shaping.RULES,
                           *observations.RULES, *sql.RULES, *edits.RULES)

__all__ = ["FAMILIES", "RULES", "Rule", "RuleSet", "RunState", "by_id", "select"]


@dataclass(frozen=True)
class RuleSet:
    """The rules a run uses, in registry order."""

    rules: tuple[Rule, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def family(self, family: Family) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.family == family)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self.ids

    def off(self) -> tuple[str, ...]:
        """Ids of the registered rules this set leaves out."""
        return tuple(r.id for r in RULES if r.id not in self.ids)


def by_id(rule_id: str) -> Rule:
    for r in RULES:
        if r.id == rule_id:
            return r
    raise UnknownRuleError(_unknown(rule_id))


def _names(spec: str | Iterable[str] | None) -> list[str]:
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [s.strip() for s in items if s and s.strip()]


def _expand(name: str) -> list[str]:
    if name in FAMILIES:
        return [r.id for r in RULES if r.family == name]
    if name == "all":
        return [r.id for r in RULES]
    if name == "none":
        return []
    return [by_id(name).id]


def _unknown(name: str) -> str:
    return (f"no rule or family named {name!r}; families: {', '.join(FAMILIES)}; "
            f"rules: {', '.join(r.id for r in RULES)} (see `tablepilot rules`)")


def select(rules: str | Iterable[str] | RuleSet | None = None, *,
           without: str | Iterable[str] | None = None) -> RuleSet:
    """The rules to run: ``rules`` (ids or families, or 'all'/'none'; None: the default-on
    rules), less ``without`` (ids or families)."""
    if isinstance(rules, RuleSet):
        chosen = set(rules.ids)
    elif rules is None:
        chosen = {r.id for r in RULES if r.default}
    else:
        chosen = {i for name in _names(rules) for i in _expand(name)}
    for name in _names(without):
        chosen -= set(_expand(name))
    return RuleSet(tuple(r for r in RULES if r.id in chosen))
