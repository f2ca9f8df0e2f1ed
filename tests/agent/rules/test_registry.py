"""The rule registry (agent/rules/__init__.py): ids, purposes and families are well formed,
``select`` means what the CLI says, and no rule is registered without fixture cases."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from rule_cases import Case

from agent.errors import UnknownRuleError
from agent.rules import FAMILIES, RULES, RuleSet, by_id, select
from agent.rules.base import Family

HERE = Path(__file__).parent
REPO = HERE.parents[2]
CASE_MODULES = {"call": "test_calls.py", "reply": "test_replies.py", "check": "test_checks.py",
                "shape": "test_shaping.py", "observe": "test_observations.py",
                "edit": "test_edits.py"}
SQL_REPAIR_TESTS = REPO / "tests" / "tools" / "sql" / "test_repairs.py"
ALL_IDS = tuple(r.id for r in RULES)


def ids_of(family: str) -> tuple[str, ...]:
    return tuple(r.id for r in RULES if r.family == family)


def case_module(family: str) -> ModuleType:
    """A family's fixture module, loaded from its file (its ``CASES`` and ``FIRES``)."""
    path = HERE / CASE_MODULES[family]
    spec = importlib.util.spec_from_file_location(f"rule_cases_{family}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ the registry itself


def test_rule_ids_are_unique() -> None:
    assert len(set(ALL_IDS)) == len(ALL_IDS)


@pytest.mark.parametrize("rule_id", ALL_IDS)
def test_rule_is_well_formed(rule_id: str) -> None:
    r = by_id(rule_id)
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)+|[a-z][a-z0-9]*", r.id), "kebab-case"
    assert r.family in FAMILIES
    assert r.purpose.strip() == r.purpose and r.purpose and "\n" not in r.purpose
    assert callable(r.check)


def test_families_come_in_loop_order() -> None:
    order = [r.family for r in RULES]
    assert sorted(order, key=list(FAMILIES).index) == order
    assert set(order) == set(FAMILIES)


# ------------------------------------------------------------------ select


def test_select_none_is_the_default_on_rules_in_registry_order() -> None:
    assert select().ids == tuple(r.id for r in RULES if r.default)
    assert select(None, without=None).ids == select().ids


@pytest.mark.parametrize("family", list(FAMILIES))
def test_select_a_family_name(family: Family) -> None:
    assert select(family).ids == ids_of(family)
    assert select(family).family(family) == tuple(by_id(i) for i in ids_of(family))


@pytest.mark.parametrize(("spec", "without", "expected"), [
    pytest.param("all", None, ALL_IDS, id="all"),
    pytest.param("none", None, (), id="none"),
    pytest.param([], None, (), id="empty-list"),
    pytest.param("", None, (), id="empty-text"),
    pytest.param("error-as-answer, tool-alias", None, ("tool-alias", "error-as-answer"),
                 id="ids-in-registry-order"),
    pytest.param(["reply", "tool-alias"], None, ("tool-alias", *ids_of("reply")),
                 id="family-and-id-as-list"),
    pytest.param("call,call,tool-alias", None, ids_of("call"), id="repeats-once"),
    pytest.param(None, "sql", tuple(r.id for r in RULES if r.default and r.family != "sql"),
                 id="default-without-family"),
    pytest.param("all", "tool-alias, question-shape",
                 tuple(i for i in ALL_IDS if i not in ("tool-alias", "question-shape")),
                 id="all-without-ids"),
    pytest.param("call", ["call"], (), id="family-without-itself"),
    pytest.param("none", "all", (), id="none-without-all"),
    pytest.param("tool-alias", "reply", ("tool-alias",), id="without-what-was-not-chosen"),
])
def test_select(spec: str | list[str] | None, without: str | list[str] | None,
                expected: tuple[str, ...]) -> None:
    assert select(spec, without=without).ids == expected


def test_select_keeps_a_rule_set_and_names_what_it_leaves_off() -> None:
    chosen = select("check")
    assert select(chosen).ids == chosen.ids
    assert select(chosen, without="error-as-answer").ids == (
        "look-before-answering", "empty-then-answer")
    assert chosen.off() == tuple(i for i in ALL_IDS if i not in ids_of("check"))
    assert "error-as-answer" in chosen and "tool-alias" not in chosen
    assert isinstance(chosen, RuleSet)


@pytest.mark.parametrize(("spec", "without", "bad"), [
    pytest.param("tool-alais", None, "tool-alais", id="misspelt-rule"),
    pytest.param("call, shapes", None, "shapes", id="misspelt-family-in-list"),
    pytest.param(None, "no-such-rule", "no-such-rule", id="unknown-without"),
])
def test_select_unknown_name_raises_naming_it(spec: str | None, without: str | None,
                                              bad: str) -> None:
    with pytest.raises(UnknownRuleError) as raised:
        select(spec, without=without)
    assert repr(bad) in str(raised.value)
    assert "families: call" in str(raised.value)


def test_by_id_unknown_raises() -> None:
    with pytest.raises(UnknownRuleError, match="'nope'"):
        by_id("nope")


# ------------------------------------------------------------------ coverage by fixtures


@pytest.mark.parametrize("family", list(CASE_MODULES))
def test_every_rule_of_a_family_has_fixture_cases(family: str) -> None:
    """Each rule fires in at least one case and is left alone in at least two; a rule added
    without fixtures fails here."""
    module = case_module(family)
    cases: list[Case] = module.CASES
    assert {c.rule for c in cases if c.fires} == module.FIRES
    assert {c.rule for c in cases} <= set(ids_of(family)), "cases name rules of this family"
    for rule_id in ids_of(family):
        fires = [c for c in cases if c.rule == rule_id and c.fires]
        quiet = [c for c in cases if c.rule == rule_id and not c.fires]
        assert fires, f"no case where {rule_id} fires"
        assert len(quiet) >= 2, f"fewer than two cases where {rule_id} does not fire"


def test_case_modules_cover_the_families_with_fixtures() -> None:
    assert set(CASE_MODULES) == set(FAMILIES) - {"sql"}


def test_case_ids_are_unique_per_module() -> None:
    for family in CASE_MODULES:
        ids = [c.id for c in case_module(family).CASES]
        assert len(ids) == len(set(ids)), family


@pytest.mark.parametrize("rule_id", ids_of("sql"))
def test_every_sql_repair_is_tested_by_the_sql_tool(rule_id: str) -> None:
    assert f'"{rule_id}"' in SQL_REPAIR_TESTS.read_text(encoding="utf-8")
