"""Sheet actions that fail validation, explained so that a small model can fix them.

``explain_invalid`` turns pydantic's errors (locations like ``(0, 'sort', 'order')`` from the
discriminated union on ``action``; every model forbids extra fields) into one sentence per action
saying what is wrong, and a hint that names the fix: the closest action name, the field meant
(``order`` -> ``desc``), the type expected with an example, and where it can, the corrected action.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from tools.sheet.actions import ACTION_NAMES, ACTION_TYPES, Action

MODELS: dict[str, type[BaseModel]] = dict(zip(ACTION_NAMES, ACTION_TYPES, strict=True))
_ONE: TypeAdapter[Any] = TypeAdapter(Action)
_ONE_LIST: TypeAdapter[Any] = TypeAdapter(list[Action])
_MAX_ACTIONS = 6
_MAX_JSON = 240

# Names small models give actions, and the action meant.
ACTION_SYNONYMS: dict[str, str] = {
    "set": "write", "set_value": "write", "set_values": "write", "set_cell": "write", "update": "write",
    "update_cell": "write", "write_cell": "write", "write_values": "write", "input": "write", "enter": "write",
    "add_formula": "formula", "set_formula": "formula", "calculate": "formula", "compute": "formula",
    "autofill": "fill", "fill_down": "fill", "fill_right": "fill", "paste": "copy", "copy_paste": "copy",
    "copy_range": "copy", "delete": "clear", "erase": "clear", "clear_range": "clear", "replace": "find_replace",
    "substitute": "find_replace", "search_replace": "find_replace", "cast": "convert", "to_number": "convert",
    "hyperlink": "link", "add_link": "link", "merge_cells": "merge", "unmerge_cells": "unmerge",
    "define_name": "name_range", "named_range": "name_range", "remove_duplicates": "dedupe",
    "drop_duplicates": "dedupe", "deduplicate": "dedupe", "text_to_columns": "split", "split_column": "split",
    "insert_row": "insert_rows", "add_row": "insert_rows", "add_rows": "insert_rows", "delete_row": "delete_rows",
    "remove_rows": "delete_rows", "remove_row": "delete_rows", "insert_col": "insert_cols",
    "insert_column": "insert_cols", "insert_columns": "insert_cols", "add_column": "insert_cols",
    "add_columns": "insert_cols", "delete_col": "delete_cols", "delete_column": "delete_cols",
    "delete_columns": "delete_cols", "remove_column": "delete_cols", "remove_columns": "delete_cols",
    "create_sheet": "add_sheet", "new_sheet": "add_sheet", "insert_sheet": "add_sheet", "rename": "rename_sheet",
    "duplicate_sheet": "copy_sheet", "remove_sheet": "delete_sheet", "reorder_sheet": "move_sheet",
    "freeze_panes": "freeze", "resize": "size", "column_width": "size", "row_height": "size", "autofit": "size",
    "unhide": "hide", "show": "hide", "sort_range": "sort", "order_by": "sort", "autofilter": "filter",
    "filter_rows": "filter", "pivot": "summary", "pivot_table": "summary", "group_by": "summary",
    "aggregate": "summary", "subtotal": "summary", "style": "format", "number_format": "format",
    "format_cells": "format", "conditional_format": "cond_format", "conditional_formatting": "cond_format",
    "highlight": "cond_format", "data_validation": "validate", "dropdown": "validate", "add_chart": "chart",
    "create_chart": "chart", "insert_chart": "chart", "plot": "chart", "update_chart": "edit_chart",
    "modify_chart": "edit_chart",
}

# Field names small models use, and the field meant: for every action, then per action.
_ANY_RENAMES: dict[str, str] = {
    "cell": "range", "cells": "range", "target": "range", "ref": "range", "address": "range", "area": "range",
    "range_ref": "range", "location": "range", "sheet_name": "sheet", "sheetname": "sheet", "worksheet": "sheet",
    "tab": "sheet", "chart_type": "type",
}
_RENAMES: dict[str, dict[str, str]] = {
    "write": dict.fromkeys(("value", "data", "text", "content", "contents", "val"), "values"),
    "formula": {"expression": "formula", "expr": "formula", "value": "formula", "formula_text": "formula",
                "values": "formula"},
    "fill": {"from": "source", "src": "source", "source_range": "source", "range": "source", "to": "target",
             "dest": "target", "destination": "target", "target_range": "target"},
    "copy": {"from": "source", "src": "source", "range": "source", "to": "target", "dest": "target",
             "destination": "target", "paste": "target", "dest_sheet": "to_sheet", "target_sheet": "to_sheet",
             "sheet_to": "to_sheet", "mode": "what", "type": "what", "paste_type": "what"},
    "clear": {"type": "what", "mode": "what", "kind": "what", "clear": "what"},
    "find_replace": {"search": "find", "old": "find", "pattern": "find", "find_text": "find", "from": "find",
                     "with": "replace", "new": "replace", "replacement": "replace", "replace_with": "replace",
                     "to": "replace", "match_case": "case", "case_sensitive": "case", "whole_cell": "whole",
                     "entire_cell": "whole", "exact": "whole", "match_entire": "whole"},
    "convert": {"type": "to", "to_type": "to", "target_type": "to", "as": "to", "into": "to", "kind": "to",
                "number_format": "format", "fmt": "format", "date_format": "parse", "pattern": "parse",
                "input_format": "parse"},
    "link": {"href": "url", "link": "url", "hyperlink": "url", "address": "url", "target": "url",
             "label": "text", "display": "text", "display_text": "text", "range": "cell"},
    "name_range": {"range_name": "name", "named_range": "name", "label": "name", "title": "name"},
    "dedupe": {"column": "columns", "cols": "columns", "subset": "columns", "keys": "columns", "by": "columns"},
    "split": {"delimiter": "sep", "separator": "sep", "by": "sep", "on": "sep", "char": "sep",
              "into": "to", "target": "to", "dest": "to", "start": "to", "to_column": "to"},
    "insert_rows": {"row": "at", "rows": "at", "index": "at", "before": "at", "position": "at", "start": "at",
                    "row_number": "at", "number": "count", "n": "count", "amount": "count", "num": "count"},
    "insert_cols": {"column": "at", "col": "at", "index": "at", "before": "at", "position": "at",
                    "start": "at", "letter": "at", "number": "count", "n": "count", "amount": "count",
                    "num": "count"},
    "add_sheet": {"sheet_name": "name", "title": "name", "new_sheet": "name", "position": "index", "at": "index"},
    "rename_sheet": {"new_name": "name", "to": "name", "title": "name", "new": "name", "old_name": "sheet",
                     "from": "sheet", "old": "sheet"},
    "copy_sheet": {"new_name": "name", "to": "name", "title": "name", "copy_name": "name"},
    "move_sheet": {"position": "index", "to": "index", "at": "index", "new_index": "index"},
    "freeze": {"range": "cell", "at": "cell", "ref": "cell", "position": "cell", "top_left": "cell"},
    "size": {"column": "cols", "columns": "cols", "col": "cols", "row": "rows", "col_width": "width",
             "column_width": "width", "row_height": "height", "autofit": "auto", "auto_fit": "auto", "fit": "auto"},
    "hide": {"column": "cols", "columns": "cols", "col": "cols", "row": "rows", "unhide": "show",
             "visible": "show", "hide_sheet": "whole", "sheet_hidden": "whole"},
    "sort": {"order": "desc", "direction": "desc", "ascending": "desc", "descending": "desc",
             "sort_order": "desc", "reverse": "desc", "asc": "desc", "column": "by", "columns": "by",
             "key": "by", "keys": "by", "sort_by": "by", "field": "by", "fields": "by", "on": "by",
             "has_header": "header", "headers": "header", "has_headers": "header"},
    "filter": {"col": "column", "field": "column", "columns": "column", "by": "column", "operator": "op",
               "condition": "op", "comparison": "op", "criteria": "value", "equals": "value", "match": "value",
               "text": "value", "in": "values", "options": "values", "list": "values", "one_of": "values",
               "remove": "clear", "reset": "clear", "off": "clear"},
    "summary": {"group_by": "rows", "groupby": "rows", "group": "rows", "index": "rows", "row": "rows",
                "by": "rows", "keys": "rows", "dimensions": "rows", "value": "values", "measure": "values",
                "measures": "values", "metric": "values", "metrics": "values", "agg": "func",
                "aggregate": "func", "aggregation": "func", "function": "func", "agg_func": "func",
                "aggfunc": "func", "operation": "func", "method": "func", "stat": "func", "columns": "cols",
                "column": "cols", "pivot": "cols", "target_sheet": "to_sheet", "output_sheet": "to_sheet",
                "dest_sheet": "to_sheet", "to": "to_sheet", "output": "to_sheet", "totals": "total",
                "grand_total": "total"},
    "format": {"number_format": "num", "format": "num", "numfmt": "num", "number": "num", "fmt": "num",
               "background": "fill", "bg": "fill", "bg_color": "fill", "fill_color": "fill",
               "background_color": "fill", "highlight": "fill", "font_color": "color", "text_color": "color",
               "horizontal": "align", "alignment": "align", "h_align": "align", "halign": "align",
               "vertical": "valign", "v_align": "valign", "wrap_text": "wrap", "font_size": "size",
               "fontsize": "size", "font_name": "font", "family": "font", "borders": "border",
               "border_style": "border"},
    "cond_format": {"type": "rule", "rule_type": "rule", "kind": "rule", "operator": "op", "condition": "op",
                    "comparison": "op", "threshold": "value", "criteria": "value", "highlight": "fill",
                    "background": "fill", "bg_color": "fill", "fill_color": "fill", "font_color": "color",
                    "text_color": "color", "color_scale": "colors", "palette": "colors"},
    "validate": {"type": "kind", "validation_type": "kind", "rule": "kind", "validation": "kind",
                 "list": "values", "options": "values", "choices": "values", "allowed": "values",
                 "items": "values", "source": "values", "operator": "op", "condition": "op", "min": "value",
                 "minimum": "value", "max": "value2", "maximum": "value2", "error": "message",
                 "error_message": "message"},
    "chart": {"kind": "type", "chart": "type", "style": "type", "range": "data", "values": "data",
              "series": "data", "source": "data", "y": "data", "y_range": "data", "categories": "labels",
              "category": "labels", "x": "labels", "x_range": "labels", "x_values": "labels",
              "name": "title", "chart_title": "title", "caption": "title", "x_label": "x_title",
              "xlabel": "x_title", "x_axis_title": "x_title", "y_label": "y_title", "ylabel": "y_title",
              "y_axis_title": "y_title", "position": "at", "anchor": "at", "cell": "at",
              "target_sheet": "to_sheet", "sheet_to": "to_sheet"},
    "edit_chart": {"chart": "index", "chart_index": "index", "id": "index", "number": "index", "kind": "type",
                   "remove": "delete"},
}
_RENAMES |= {"delete_rows": _RENAMES["insert_rows"], "delete_cols": _RENAMES["insert_cols"]}

# What a field holds, said where the hint names a field to add or to use instead.
_NOTES: dict[tuple[str, str], str] = {
    ("sort", "desc"): "use 'desc': true for descending, false for ascending",
    ("sort", "by"): "'by' lists the columns to sort by (header text or letter), most important first",
    ("write", "values"): "'values' holds a value, a row list or a list of rows; formulas go in the "
                         "'formula' action",
    ("summary", "rows"): "'rows' lists the columns to group by",
    ("summary", "values"): "'values' lists the columns to aggregate",
    ("summary", "func"): "'func' is sum, count, average, max, min or count_distinct",
    ("chart", "data"): "'data' is the value cells with their header row, e.g. 'B1:B13'",
    ("chart", "labels"): "'labels' is the category (x) cells, e.g. 'A2:A13'",
}

# Values small models give a choice field, and the choices meant (the first one allowed wins).
_VALUE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "mean": ("average",), "avg": ("average",), "total": ("sum",), "distinct": ("count_distinct",),
    "nunique": ("count_distinct",), "count_unique": ("count_distinct",), "unique": ("count_distinct",),
    "numeric": ("number",), "float": ("number", "decimal"), "int": ("number", "whole"),
    "integer": ("whole", "number"), "string": ("text",), "str": ("text",), "datetime": ("date",),
    "=": ("eq",), "==": ("eq",), "equals": ("eq",), "equal": ("eq",), "is": ("eq",), "!=": ("ne",),
    "<>": ("ne",), "not_equal": ("ne",), ">": ("gt",), "greater_than": ("gt",), "<": ("lt",),
    "less_than": ("lt",), ">=": ("ge",), "<=": ("le",), "starts_with": ("begins",), "startswith": ("begins",),
    "ends_with": ("ends",), "endswith": ("ends",), "includes": ("contains",), "bar_chart": ("bar",),
    "column_chart": ("column",), "line_chart": ("line",), "pie_chart": ("pie",), "scatter_plot": ("scatter",),
    "histogram": ("column",), "values_only": ("values",), "value": ("values",), "format": ("formats",),
    "formatting": ("formats",), "everything": ("all",), "content": ("contents",), "dropdown": ("list",),
    "number": ("decimal",), "text_length": ("length",), "top_n": ("top",), "bottom_n": ("bottom",),
    "color_scale": ("scale",), "data_bar": ("bar",), "duplicates": ("duplicate",),
}
_DESCENDING = {"desc", "descending", "dsc", "z-a", "z to a", "largest first", "newest first", "down",
               "high to low", "reverse", "decreasing"}
_ASCENDING = {"asc", "ascending", "a-z", "a to z", "smallest first", "oldest first", "up", "low to high",
              "increasing"}

# Sample values for examples of each action's required fields ("action.field" first, then field).
_SAMPLES: dict[str, Any] = {
    "write.range": "H1", "write.values": "Total", "formula.range": "H2:H20", "formula.formula": "=F2*G2",
    "fill.source": "H2", "fill.target": "H2:H20", "copy.source": "A1:C10", "copy.target": "E1",
    "clear.range": "A2:D10", "find_replace.find": "N/A", "find_replace.replace": "", "convert.range": "C2:C40",
    "convert.to": "number", "link.cell": "A2", "link.url": "https://example.com", "merge.range": "A1:D1",
    "unmerge.range": "A1:D1", "name_range.name": "Prices", "name_range.range": "B2:B20",
    "split.range": "A2:A20", "insert_rows.at": 5, "delete_rows.at": 5, "insert_cols.at": "C",
    "delete_cols.at": "C", "add_sheet.name": "Summary", "rename_sheet.name": "Sales 2024",
    "copy_sheet.name": "Sales copy", "move_sheet.index": 0, "sort.by": ["Date"], "summary.rows": ["Region"],
    "summary.values": ["Revenue"], "format.range": "A1:D1", "cond_format.range": "D2:D20",
    "validate.range": "C2:C50", "validate.kind": "list", "chart.type": "bar", "chart.data": "B1:B13",
    "range": "A1:D20",
}
# Optional fields that make an example show how the action is used.
_EXAMPLE_EXTRAS: dict[str, dict[str, Any]] = {
    "sort": {"desc": False}, "format": {"bold": True}, "validate": {"values": ["Yes", "No"]},
    "cond_format": {"rule": "cell", "op": "gt", "value": 100, "fill": "light red"},
    "summary": {"func": "sum"}, "chart": {"labels": "A2:A13", "title": "Revenue"},
    "filter": {"column": "Region", "op": "eq", "value": "North"}, "freeze": {"cell": "A2"},
    "size": {"cols": "A:C", "auto": True}, "hide": {"cols": "D"}, "edit_chart": {"title": "Revenue"},
}


def explain_invalid(raw_actions: list[Any], exc: ValidationError) -> tuple[str, str]:
    """(message, hint) for actions that failed validation: per action, what is wrong and the fix.

    ``exc`` comes from validating ``raw_actions`` as ``list[Action]`` (locations start with the
    index) or as the tool's arguments (locations start with 'actions'). It is on the error path,
    so anything unexpected falls back to pydantic's own messages instead of raising."""
    try:
        return _explain(raw_actions, exc)
    except Exception:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8])
        return f"invalid actions: {problems}", f"actions are {', '.join(ACTION_NAMES)}"


def repair_invalid(raw_actions: list[Any], exc: ValidationError) -> tuple[list[dict[str, Any]], list[str]] | None:
    """The actions read the one way each can mean, and a note per action changed; None unless
    every invalid action has such a reading that keeps all the model said (fields renamed,
    values put in the shape wanted, an action named in the wrong field or spelled in another
    case). Like the SQL tool's repairs: the call goes through, and the model is told how it
    was read instead of being sent back for a slip of form."""
    try:
        raw_actions, notes = _formatting_apart(raw_actions)
        if notes:  # the batch changed shape: validate it again
            try:
                _ONE_LIST.validate_python(raw_actions)
                return [dict(a) for a in raw_actions], notes
            except ValidationError as again:
                exc = again
        per_action, general = _per_action(exc)
        if general or not per_action:
            return None
        actions = [dict(a) if isinstance(a, Mapping) else a for a in raw_actions]
        for index, errors in sorted(per_action.items()):
            if not 0 <= index < len(raw_actions):
                return None
            message, _, repaired = _examine(index, raw_actions[index], errors)
            if repaired is None:
                return None
            actions[index] = repaired
            notes.append(f"{message}; read as {_json(repaired)}")
        _ONE_LIST.validate_python(actions)
    except Exception:  # on the error path: no repair rather than a crash
        return None
    return actions, notes


# What small models call the format action's fields when they put them on a write.
_FORMAT_RENAMES = {
    "font_color": "color", "text_color": "color", "fill_color": "fill", "background": "fill",
    "background_color": "fill", "bg_color": "fill", "number_format": "num", "font_size": "size",
    "font_name": "font", "alignment": "align", "horizontal_alignment": "align",
}


def _formatting_apart(raw_actions: list[Any]) -> tuple[list[Any], list[str]]:
    """A write or formula that also carries format fields (``bold``, ``fill``, ``font_color``
    ...) split in two: the action, then a format action on the same range with those fields.
    Small models put the two in one object; nothing the model wrote is dropped."""
    fields = set(MODELS["format"].model_fields) - {"action", "sheet", "range"}
    out: list[Any] = []
    notes: list[str] = []
    for index, raw in enumerate(raw_actions):
        name = raw.get("action") if isinstance(raw, Mapping) else None
        if name not in ("write", "formula") or not isinstance(raw, Mapping):
            out.append(raw)
            continue
        own = set(MODELS[str(name)].model_fields)
        extra = {k: v for k, v in raw.items() if k not in own}
        styles = {_FORMAT_RENAMES.get(k, k): v for k, v in extra.items()}
        if not extra or not set(styles) <= fields or "range" not in raw:
            out.append(raw)
            continue
        kept = {k: v for k, v in raw.items() if k in own}
        look = {"action": "format", **({"sheet": raw["sheet"]} if "sheet" in raw else {}),
                "range": raw["range"], **styles}
        out += [kept, look]
        notes.append(f"action {index} ({name}) carried format fields ({', '.join(extra)}): "
                     f"read as {_json(kept)} then {_json(look)}")
    return out, notes


def _per_action(exc: ValidationError) -> tuple[dict[int, list[dict[str, Any]]], list[str]]:
    per_action: dict[int, list[dict[str, Any]]] = {}
    general: list[str] = []
    for error in exc.errors():
        loc = list(error["loc"])
        if loc and loc[0] == "actions":
            loc = loc[1:]
        if not loc or not isinstance(loc[0], int):
            general.append("'actions' must be a non-empty list of action objects like "
                           + _json(example("write")))
            continue
        per_action.setdefault(loc[0], []).append({**error, "loc": tuple(loc[1:])})
    return per_action, general


def _explain(raw_actions: list[Any], exc: ValidationError) -> tuple[str, str]:
    per_action, general = _per_action(exc)
    messages, hints = list(dict.fromkeys(general)), []
    for index in sorted(per_action)[:_MAX_ACTIONS]:
        raw = raw_actions[index] if 0 <= index < len(raw_actions) else None
        what, fix = _explain_action(index, raw, per_action[index])
        messages.append(what)
        hints.append(fix)
    if len(per_action) > _MAX_ACTIONS:
        messages.append(f"and {len(per_action) - _MAX_ACTIONS} more actions with problems")
    hint = " ".join(h for h in hints if h) or (f"send actions like {_json(example('write'))}" if general else "")
    return "invalid actions: " + " ".join(_sentence(m) for m in messages), hint


def example(name: str, sheet: str | None = None) -> dict[str, Any]:
    """A valid ``name`` action: its required fields with sample values (and a few telling extras)."""
    model = MODELS[name]
    out: dict[str, Any] = {"action": name}
    if sheet:
        out["sheet"] = sheet
    for field, info in model.model_fields.items():
        if field != "action" and info.is_required():
            out[field] = _sample(name, field, info.annotation)
    out.update(_EXAMPLE_EXTRAS.get(name, {}))
    return out


# --------------------------------------------------------------------------- one action
def _explain_action(index: int, raw: Any, errors: list[dict[str, Any]]) -> tuple[str, str]:
    message, hint, _ = _examine(index, raw, errors)
    return message, hint


def _examine(index: int, raw: Any, errors: list[dict[str, Any]]) -> tuple[str, str, dict[str, Any] | None]:
    """(message, hint, repaired): ``repaired`` is the action read the one way it can mean, when
    that loses nothing the model wrote (fields renamed, values in the shape wanted), else None."""
    head = f"action {index}"
    first = errors[0]
    if not first["loc"]:  # the action itself: not an object, or no/unknown 'action'
        message, hint = _explain_tag(head, raw, first)
        return message, hint, _retagged(raw)
    name = str(first["loc"][0])
    model = MODELS.get(name)
    head = f"{head} ({name})"
    if model is None or not isinstance(raw, Mapping):
        return f"{head}: {first['msg']}", "", None
    fields = model.model_fields
    what: list[str] = []
    fixes: list[str] = []
    seen: set[str] = set()
    corrected: dict[str, Any] = dict(raw)
    missing: list[str] = []
    lost = False  # a field with content dropped: the repair would lose what the model meant
    order = {"extra_forbidden": 0, "missing": 2}  # renamed fields first: they may fill a missing one
    for error in sorted(errors, key=lambda e: order.get(e["type"], 1)):
        if len(error["loc"]) < 2:
            continue
        field = str(error["loc"][1])
        if field in seen:
            continue
        seen.add(field)
        if error["type"] == "extra_forbidden":
            w, f, kept = _unknown_field(name, field, raw.get(field), fields, corrected)
            lost = lost or not kept
        elif error["type"] == "missing":
            if field in corrected:  # given under another name, said above
                continue
            missing.append(field)
            w, f = _missing_field(name, field, fields[field].annotation)
        else:
            w, f = _wrong_value(name, field, raw.get(field), fields[field].annotation, corrected)
        what.append(w)
        fixes.append(f)
    message = f"{head}: {_join(what) if what else first['msg']}"
    hint = f"{head}: " + "; ".join(f for f in fixes if f)
    repaired = None
    if missing:
        hint += f"; an example: {_json(example(name, _text(raw.get('sheet'))))}"
    else:
        fixed = _valid(corrected)
        if fixed is not None and fixed != dict(raw):
            hint += _corrected(fixed)
            repaired = None if lost else fixed
    return message, hint, repaired


def _explain_tag(head: str, raw: Any, error: dict[str, Any]) -> tuple[str, str]:
    kind = error["type"]
    if not isinstance(raw, Mapping) or kind in ("model_attributes_type", "dict_type", "model_type"):
        shown = _short(raw)
        return (f"{head} is not an object (got {shown})",
                f"{head}: send each action as a JSON object, e.g. {_json(example('write'))}")
    given = raw.get("action")
    if kind == "union_tag_invalid" or given is not None:
        text = str(given)
        options = _closest_actions(text)
        what = f"{head}: unknown action {text!r}"
        if options:
            return what, f"{head}: did you mean {_or(options)}?"
        return what, f"{head}: actions are {', '.join(ACTION_NAMES)}"
    for key in ("type", "name", "op", "kind", "tool", "operation", "action_type", "command"):
        value = raw.get(key)
        if isinstance(value, str) and value.strip().lower() in MODELS:
            name = value.strip().lower()
            fixed = _valid({"action": name, **{k: v for k, v in raw.items() if k != key}})
            suffix = _corrected(fixed) if fixed else ""
            return (f"{head} has no 'action' field",
                    f"{head}: the action name goes in 'action', not {key!r}: \"action\": \"{name}\"{suffix}")
    guess = _guess_action(raw)
    if guess:
        return (f"{head} has no 'action' field",
                f"{head}: add \"action\": {_or(guess)} (its fields fit), e.g. {_json(example(guess[0]))}")
    return (f"{head} has no 'action' field",
            f"{head}: every action needs \"action\", one of {', '.join(ACTION_NAMES)}")


# Names that can only mean one action (a repair applies these; the others are only hints).
_SAFE_SYNONYMS = frozenset({
    "set_value", "set_values", "set_cell", "write_cell", "write_values", "add_formula", "set_formula",
    "autofill", "fill_down", "copy_range", "find_replace", "merge_cells", "unmerge_cells",
    "remove_duplicates", "drop_duplicates", "deduplicate", "insert_row", "insert_column",
    "insert_columns", "delete_row", "delete_column", "delete_columns", "create_sheet", "new_sheet",
    "insert_sheet", "freeze_panes", "sort_range", "autofilter", "pivot_table", "conditional_format",
    "conditional_formatting", "data_validation", "add_chart", "create_chart", "insert_chart",
})


def _retagged(raw: Any) -> dict[str, Any] | None:
    """``raw`` with its action named right: another case or separator (``"Sort"``,
    ``"add-sheet"``), a name that can only mean one action, or the name given under ``type``."""
    if not isinstance(raw, Mapping):
        return None
    given = raw.get("action")
    if isinstance(given, str):
        key = given.strip().lower().replace(" ", "_").replace("-", "_")
        name = key if key in MODELS else ACTION_SYNONYMS.get(key) if key in _SAFE_SYNONYMS else None
        return _valid({**raw, "action": name}) if name and name != given else None
    if given is None:
        for key in ("type", "action_type"):
            value = raw.get(key)
            if isinstance(value, str) and value.strip().lower() in MODELS:
                return _valid({"action": value.strip().lower(), **{k: v for k, v in raw.items() if k != key}})
    return None


def _closest_actions(text: str) -> list[str]:
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    found = [ACTION_SYNONYMS[key]] if key in ACTION_SYNONYMS else []
    found += [n for n in difflib.get_close_matches(key, ACTION_NAMES, n=3, cutoff=0.6) if n not in found]
    return found[:3]


def _guess_action(raw: Mapping[str, Any]) -> list[str]:
    """Actions whose fields include every key given and all their required ones."""
    keys = {str(k) for k in raw} - {"sheet"}
    fits = []
    for name, model in MODELS.items():
        fields = set(model.model_fields) - {"action"}
        required = {f for f, info in model.model_fields.items() if info.is_required() and f != "action"}
        if keys and keys <= fields and required <= keys:
            fits.append(name)
    return fits[:3]


# --------------------------------------------------------------------------- one field
def _unknown_field(name: str, field: str, value: Any, fields: Mapping[str, Any],
                   corrected: dict[str, Any]) -> tuple[str, str, bool]:
    """(what, fix, kept): ``kept`` is False when the fix drops something the model said."""
    what = f"it has no field {field!r}"
    if field == "type" and isinstance(value, str) and value.strip().lower() in MODELS:
        corrected.pop(field, None)
        return what, f"{name} has no field 'type'; the action name goes in 'action' (here {name!r}): remove 'type'", \
            value.strip().lower() == name
    if field == "formula" and name == "write":
        corrected.pop(field, None)
        return what, "write has no field 'formula'; formulas go in a separate action: " + _json(example("formula")), False
    right = _RENAMES.get(name, {}).get(field)
    if right is None and field in _ANY_RENAMES and _ANY_RENAMES[field] in fields:
        right = _ANY_RENAMES[field]
    if right is None or right not in fields:
        close = difflib.get_close_matches(field.lower(), [f for f in fields if f != "action"], n=1, cutoff=0.6)
        right = close[0] if close else None
    if right is None:
        corrected.pop(field, None)
        allowed = [f for f in fields if f != "action"]
        return what, f"{name} has no field {field!r}; its fields are {', '.join(allowed)}", \
            value in (None, "", False, [], {})
    new_value = _coerce(_renamed_value(name, field, right, value), fields[right].annotation)
    kept = corrected.setdefault(right, new_value) == new_value
    corrected.pop(field, None)
    note = _NOTES.get((name, right))
    if note and note.startswith("use "):
        return what, f"{name} has no field {field!r}; {note}", kept
    shown = _json({right: new_value})[1:-1]
    return what, f"{name} has no field {field!r}; use {shown}" + (f" ({note})" if note else ""), kept


def _renamed_value(name: str, field: str, right: str, value: Any) -> Any:
    """The value for the field meant: sort directions in words become 'desc' flags."""
    if (name, right) != ("sort", "desc"):
        return value
    if isinstance(value, bool):
        return not value if field in ("ascending", "asc") else value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _DESCENDING:
            return True
        if text in _ASCENDING:
            return False
    if isinstance(value, list):
        return [_renamed_value(name, field, right, v) for v in value]
    return value


def _missing_field(name: str, field: str, annotation: Any) -> tuple[str, str]:
    note = _NOTES.get((name, field))
    sample = _sample(name, field, annotation)
    about = f"{note}" if note and not note.startswith("use ") else f"{field!r} is {_type_words(annotation)}"
    return f"{field!r} is missing", f"add {_json({field: sample})[1:-1]} ({about})"


def _wrong_value(name: str, field: str, value: Any, annotation: Any, corrected: dict[str, Any]) -> tuple[str, str]:
    expected = _type_words(annotation)
    what = f"{field!r} must be {expected} (got {_short(value)})"
    fixed = _coerce(_renamed_value(name, field, field, value), annotation)
    if fixed is not value and _field_ok(name, field, fixed):
        corrected[field] = fixed
        return what, f"write {_json({field: fixed})[1:-1]}"
    note = _NOTES.get((name, field))
    if note and note.startswith("use "):
        return what, note
    choices = _choices(annotation)
    if choices:
        return what, f"{field!r} is one of {', '.join(repr(c) for c in choices)}"
    return what, f"write it as {_json({field: _sample(name, field, annotation)})[1:-1]}"


def _coerce(value: Any, annotation: Any) -> Any:
    """The value in the shape the field wants, where that is plain: a scalar wrapped in a list,
    a choice's synonym or near spelling, 'yes'/'no' as a flag. Otherwise ``value`` itself."""
    options = _members(annotation)
    if isinstance(value, str):
        choices = _choices(annotation)
        text = value.strip().lower()
        if choices and value not in choices:
            for candidate in _VALUE_SYNONYMS.get(text, ()):
                if candidate in choices:
                    return candidate
            lowered = {str(c).lower(): c for c in choices}
            if text in lowered:
                return lowered[text]
            close = difflib.get_close_matches(text, list(lowered), n=1, cutoff=0.6)
            if close:
                return lowered[close[0]]
        if bool in options and text in ("yes", "y", "on", "1", "true"):
            return True
        if bool in options and text in ("no", "n", "off", "0", "false"):
            return False
    lists = [a for a in options if get_origin(a) is list]
    if lists and not isinstance(value, list) and value is not None and not any(
            _accepts(a, value) for a in options if get_origin(a) is not list):
        inner = get_args(lists[0])[0] if get_args(lists[0]) else Any
        return [_coerce(value, inner)]
    return value


def _accepts(annotation: Any, value: Any) -> bool:
    try:
        TypeAdapter(annotation).validate_python(value)
    except (ValidationError, TypeError):
        return False
    return True


def _field_ok(name: str, field: str, value: Any) -> bool:
    return _accepts(MODELS[name].model_fields[field].annotation, value)


def _corrected(action: dict[str, Any]) -> str:
    """'; corrected: {...}', or nothing when the action is too long to show whole."""
    shown = json.dumps(action, ensure_ascii=False, default=str)
    return f"; corrected: {shown}" if len(shown) <= _MAX_JSON else ""


def _valid(action: Mapping[str, Any]) -> dict[str, Any] | None:
    """``action`` if it validates now, else None."""
    try:
        _ONE.validate_python(dict(action))
    except ValidationError:
        return None
    return dict(action)


# --------------------------------------------------------------------------- types in words
def _members(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [a for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _choices(annotation: Any) -> list[Any]:
    out: list[Any] = []
    for member in _members(annotation):
        if get_origin(member) is Literal:
            out += list(get_args(member))
    return out


def _type_words(annotation: Any) -> str:
    members = _members(annotation)
    scalars = [m for m in members if get_origin(m) is not list]
    lists = [m for m in members if get_origin(m) is list]
    if len(scalars) == 1 and len(lists) == 1 and get_args(lists[0]) == (scalars[0],):
        return f"{_type_words(scalars[0])} (or a list of them)"
    words = []
    for member in members:
        origin = get_origin(member)
        if origin is Literal:
            words.append("one of " + ", ".join(repr(a) for a in get_args(member)))
        elif origin is list:
            inner = get_args(member)[0] if get_args(member) else Any
            words.append("a list of " + _plural(inner))
        else:
            words.append({str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(
                member, "a value"))
    return " or ".join(dict.fromkeys(words))


def _plural(annotation: Any) -> str:
    members = _members(annotation)
    if len(members) == 1 and get_origin(members[0]) is Literal:
        return "(" + ", ".join(repr(a) for a in get_args(members[0])) + ")"
    names = {str: "text values", int: "whole numbers", float: "numbers", bool: "true/false flags"}
    return " or ".join(dict.fromkeys(names.get(m, "values") for m in members))


def _sample(name: str, field: str, annotation: Any) -> Any:
    for key in (f"{name}.{field}", field):
        if key in _SAMPLES:
            return _SAMPLES[key]
    members = _members(annotation)
    member = next((m for m in members if get_origin(m) is not list), members[0])
    if get_origin(member) is Literal:
        return get_args(member)[0]
    if get_origin(member) is list:
        return [_sample(name, field, get_args(member)[0] if get_args(member) else str)]
    return {int: 1, float: 1.0, bool: True}.get(member, "A1")


# --------------------------------------------------------------------------- text
def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_JSON else text[: _MAX_JSON - 1] + "…"


def _short(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _or(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."
