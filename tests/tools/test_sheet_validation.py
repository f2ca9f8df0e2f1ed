"""explain_invalid: sheet actions that fail validation, explained with the fix named."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tools.sheet.actions import ACTION_NAMES, Action
from tools.sheet.tool import SheetTool
from tools.sheet.validation import example, explain_invalid

ACTIONS: TypeAdapter[list[Any]] = TypeAdapter(list[Action])


def explain(*actions: Any) -> tuple[str, str]:
    raw = list(actions)
    with pytest.raises(ValidationError) as caught:
        ACTIONS.validate_python(raw)
    return explain_invalid(raw, caught.value)


def corrected(hint: str) -> dict[str, Any]:
    """The corrected action the hint offers (it must validate)."""
    match = re.search(r"corrected: (\{.*\})", hint)
    assert match, hint
    action = json.loads(match.group(1))
    ACTIONS.validate_python([action])
    return action


def test_unknown_action_names_the_closest_ones() -> None:
    message, hint = explain({"action": "srot", "by": ["A"]})
    assert message == "invalid actions: action 0: unknown action 'srot'."
    assert hint == "action 0: did you mean 'sort'?"


@pytest.mark.parametrize(("name", "meant"), [
    ("pivot_table", "summary"), ("remove_duplicates", "dedupe"), ("insert_column", "insert_cols"),
    ("conditional_format", "cond_format"), ("Add Chart", "chart"), ("find-replace", "find_replace"),
])
def test_action_names_small_models_use_map_to_the_action_meant(name: str, meant: str) -> None:
    _, hint = explain({"action": name})
    assert hint.startswith(f"action 0: did you mean '{meant}'")


def test_a_name_like_no_action_lists_them_all() -> None:
    _, hint = explain({"action": "teleport"})
    assert hint == f"action 0: actions are {', '.join(ACTION_NAMES)}"


def test_sort_order_field_names_desc_and_its_values() -> None:
    message, hint = explain({"action": "sort", "sheet": "Sales", "by": ["Date"], "order": "descending"})
    assert message == "invalid actions: action 0 (sort): it has no field 'order'."
    assert "sort has no field 'order'; use 'desc': true for descending, false for ascending" in hint
    assert corrected(hint) == {"action": "sort", "sheet": "Sales", "by": ["Date"], "desc": True}
    _, hint = explain({"action": "sort", "by": ["Date"], "ascending": True})
    assert corrected(hint) == {"action": "sort", "by": ["Date"], "desc": False}


@pytest.mark.parametrize(("action", "fix", "fixed"), [
    ({"action": "write", "range": "A1", "value": 5}, "write has no field 'value'; use \"values\": 5",
     {"action": "write", "range": "A1", "values": 5}),
    ({"action": "write", "cell": "B2", "values": "x"}, "write has no field 'cell'; use \"range\": \"B2\"",
     {"action": "write", "range": "B2", "values": "x"}),
    ({"action": "sort", "column": "Region"}, "sort has no field 'column'; use \"by\": [\"Region\"]",
     {"action": "sort", "by": ["Region"]}),
    ({"action": "sort", "key": "Region", "direction": "asc"}, "sort has no field 'key'; use \"by\": [\"Region\"]",
     {"action": "sort", "by": ["Region"], "desc": False}),
    ({"action": "chart", "chart_type": "line", "data": "B1:B9"}, "chart has no field 'chart_type'; use \"type\": \"line\"",
     {"action": "chart", "type": "line", "data": "B1:B9"}),
    ({"action": "filter", "column": "Units", "operator": ">", "value": 5},
     "filter has no field 'operator'; use \"op\": \"gt\"", {"action": "filter", "column": "Units", "op": "gt", "value": 5}),
    ({"action": "insert_rows", "row": 4, "n": 2}, "insert_rows has no field 'row'; use \"at\": 4",
     {"action": "insert_rows", "at": 4, "count": 2}),
    ({"action": "summary", "group_by": "Region", "values": ["Units"]},
     "summary has no field 'group_by'; use \"rows\": [\"Region\"]", {"action": "summary", "rows": ["Region"], "values": ["Units"]}),
    ({"action": "format", "range": "A1", "background": "yellow"}, "format has no field 'background'; use \"fill\": \"yellow\"",
     {"action": "format", "range": "A1", "fill": "yellow"}),
    ({"action": "validate", "range": "C2:C9", "type": "list", "options": ["Yes", "No"]},
     "validate has no field 'options'; use \"values\": [\"Yes\", \"No\"]",
     {"action": "validate", "range": "C2:C9", "kind": "list", "values": ["Yes", "No"]}),
    ({"action": "write", "range": "A1", "valeus": 3}, "write has no field 'valeus'; use \"values\": 3",
     {"action": "write", "range": "A1", "values": 3}),
])
def test_misspelled_or_synonym_fields_name_the_field_meant(action: dict[str, Any], fix: str,
                                                           fixed: dict[str, Any]) -> None:
    message, hint = explain(action)
    assert f"action 0 ({action['action']}): it has no field" in message
    assert fix in hint
    assert corrected(hint) == fixed


def test_a_field_with_no_likely_meaning_lists_the_fields() -> None:
    _, hint = explain({"action": "merge", "range": "A1:B1", "zzz": 1})
    assert "merge has no field 'zzz'; its fields are sheet, range" in hint
    assert corrected(hint) == {"action": "merge", "range": "A1:B1"}


def test_type_holding_the_action_name_goes_in_action() -> None:
    message, hint = explain({"type": "sort", "by": ["Date"], "desc": True})
    assert message == "invalid actions: action 0 has no 'action' field."
    assert "the action name goes in 'action', not 'type': \"action\": \"sort\"" in hint
    assert corrected(hint) == {"action": "sort", "by": ["Date"], "desc": True}


def test_no_action_field_guesses_from_the_fields_given() -> None:
    _, hint = explain({"source": "E2", "target": "E2:E9"})
    assert "add \"action\": 'fill' or 'copy'" in hint


def test_a_missing_field_says_what_it_is_with_an_example() -> None:
    message, hint = explain({"action": "write", "sheet": "Sales", "range": "A1"})
    assert message == "invalid actions: action 0 (write): 'values' is missing."
    assert "add \"values\": \"Total\" ('values' holds a value, a row list or a list of rows" in hint
    assert hint.endswith('an example: {"action": "write", "sheet": "Sales", "range": "H1", "values": "Total"}')
    _, hint = explain({"action": "sort"})
    assert "'by' lists the columns to sort by" in hint and '"by": ["Date"]' in hint


@pytest.mark.parametrize(("action", "what", "fix"), [
    ({"action": "insert_rows", "at": "five"}, "'at' must be a whole number (got 'five')", 'write it as "at": 5'),
    ({"action": "chart", "type": "pies", "data": "B1:B9"},
     "'type' must be one of 'bar', 'column', 'line', 'pie', 'scatter', 'area' (got 'pies')", 'write "type": "pie"'),
    ({"action": "sort", "by": True}, "'by' must be a list of text values (got true)", 'write it as "by": ["Date"]'),
    ({"action": "summary", "rows": ["A"], "values": ["B"], "func": "mean"},
     "'func' must be one of 'sum', 'count', 'average', 'max', 'min', 'count_distinct' (or a list of them) (got 'mean')",
     'write "func": "average"'),
    ({"action": "format", "range": "A1", "bold": "very"}, "'bold' must be true or false (got 'very')",
     'write it as "bold": true'),
    ({"action": "sort", "by": ["A"], "desc": "descending"}, "'desc' must be true or false (or a list of them)",
     'write "desc": true'),
    ({"action": "chart", "type": "bar", "data": 5}, "'data' must be text (got 5)", 'write it as "data": "B1:B13"'),
])
def test_a_wrong_type_names_the_expected_type_with_an_example(action: dict[str, Any], what: str, fix: str) -> None:
    message, hint = explain(action)
    assert what in message
    assert fix in hint


def test_several_errors_of_one_action_make_one_sentence() -> None:
    message, hint = explain({"action": "summary", "group_by": "Region", "values": "Units", "func": "avg"})
    assert message.count("action 0") == 1 and message.count(".") == 1
    assert message.startswith("invalid actions: action 0 (summary): it has no field 'group_by' and "
                              "'func' must be")  # one value for the list 'values' is fine
    assert corrected(hint) == {"action": "summary", "rows": ["Region"], "values": "Units", "func": "average"}


def test_each_failing_action_is_named_by_its_index() -> None:
    message, hint = explain({"action": "write", "range": "A1", "values": 1}, "oops",
                            {"action": "fill", "source": "A1"})
    assert "action 0" not in message
    assert "action 1 is not an object (got 'oops')." in message
    assert "action 2 (fill): 'target' is missing." in message
    assert hint.startswith("action 1: send each action as a JSON object")


def test_tool_argument_locations_are_read_too() -> None:
    raw = {"actions": [{"action": "sort", "order": "desc", "by": ["Region"]}]}
    with pytest.raises(ValidationError) as caught:
        SheetTool.Args.model_validate(raw)
    message, hint = explain_invalid(raw["actions"], caught.value)
    assert message == "invalid actions: action 0 (sort): it has no field 'order'."
    assert corrected(hint) == {"action": "sort", "by": ["Region"], "desc": True}
    with pytest.raises(ValidationError) as caught:
        SheetTool.Args.model_validate({"actions": []})
    message, hint = explain_invalid([], caught.value)
    assert message.startswith("invalid actions: 'actions' must be a non-empty list of action objects")
    assert hint.startswith("send actions like {")


def test_a_long_action_is_never_offered_cut_off() -> None:
    rows = [[f"row {i}", i] for i in range(200)]
    message, hint = explain({"action": "write", "cell": "A2", "values": rows})
    assert message == "invalid actions: action 0 (write): it has no field 'cell'."
    assert hint == "action 0 (write): write has no field 'cell'; use \"range\": \"A2\""


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_every_action_has_an_example_that_validates(name: str) -> None:
    action = example(name, "Sales")
    assert action["action"] == name and action["sheet"] == "Sales"
    ACTIONS.validate_python([action])


def test_one_value_stands_for_a_list_of_one() -> None:
    from tools.sheet.tool import parse_actions

    (action,) = parse_actions([{"action": "summary", "rows": "Region", "values": "Amount",
                                "cols": "G"}])
    assert (action.rows, action.values, action.cols) == (["Region"], ["Amount"], ["G"])


@pytest.mark.parametrize(("field", "written", "read"), [
    ("legend", "None", "none"), ("legend", False, "none"), ("legend", "Bottom", "bottom"),
    ("marker", True, "auto"), ("marker", False, "none"), ("trendline", "null", None),
    ("trendline", "", None)])
def test_a_choice_written_loosely_is_read_the_one_way_it_can_mean(field: str, written: object,
                                                                   read: object) -> None:
    from tools.sheet.tool import parse_actions

    (action,) = parse_actions([{"action": "chart", "type": "line", "data": "A1:B3",
                                field: written}])
    assert getattr(action, field) == read


def test_a_choice_that_names_nothing_still_fails_with_the_choices() -> None:
    message, _ = explain({"action": "chart", "type": "line", "data": "A1:B3",
                          "legend": "Simple Interest, Compound Interest"})
    assert "'legend' must be one of 'right', 'left', 'top', 'bottom', 'none'" in message
