"""The ``sheet`` tool: apply a batch of typed actions as one new, recalculated workbook version."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from table_io.diff import CellChange, diff_snapshot, read_cached_values, snapshot, summarize
from table_io.versions import VersionConflictError, VersionStore
from tools.base import Tool, ToolError, ToolFailure, ToolResult
from tools.payloads import SheetPayload
from tools.sheet.actions import Action
from tools.sheet.base import Act
from tools.sheet.context import EditContext
from tools.sheet.readback import Readback, build_readback

_ADAPTER: TypeAdapter[list[Action]] = TypeAdapter(list[Action])


@dataclass
class Draft:
    """An edit applied to a copy: what it changed, what it shows, and what it is in words."""

    changes: list[CellChange]
    readback: Readback
    summaries: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def summarize_actions(actions: list[dict[str, Any]], workbook: Any) -> list[str]:
    """One line in words per action (tools/sheet/describe.py), read on the workbook before the
    edit so that a sort can say 'oldest first'."""
    try:
        from tools.sheet.describe import describe_actions
    except ImportError:  # pragma: no cover - describe.py is part of the package
        return [str(a.get("action", "?")) for a in actions]
    return list(describe_actions(actions, workbook))


class SheetTool(Tool):
    """Edit the workbook with a list of actions, applied together as one new version (undoable).
    Every action takes "sheet" (default: active sheet). Ranges: 'A1', 'B2:D9', 'C:C', or a column header.
    Columns: header text or letter. Text is written as text; formulas only via "formula".
    Actions (fields; ? = optional):
    write: range, values (value | row list | list of rows)
    formula: range, formula ('=B2*C2' for the first cell; copied down/across with refs adjusted)
    fill: source, target (autofill: formulas adjusted, number series continued)
    copy: source, target, to_sheet?, what? (all|values|formats), transpose?
    clear: range, what? (contents|formats|links|all)
    find_replace: find, replace, range?, case?, whole?
    convert: range, to (number|date|text), format?, parse?
    link: cell, url, text?
    merge / unmerge: range
    name_range: name, range
    dedupe: range?, columns?
    split: range, sep?, to?
    insert_rows / delete_rows: at (row number), count?
    insert_cols / delete_cols: at (column), count?
    add_sheet: name, index?; rename_sheet: name; copy_sheet: name; delete_sheet; move_sheet: index
    freeze: cell ('B2' keeps row 1 and column A; null unfreezes)
    size: cols?, rows?, width?, height?, auto?
    hide: cols?, rows?, show?, whole? (the sheet)
    sort: by (columns), desc? (bool or list), range?, header?
    filter: column?, op? (eq|ne|gt|lt|ge|le|contains|begins|ends|in|top|bottom), value?, values?, range?, clear?
    summary: rows, values, func? (sum|count|average|max|min|count_distinct), cols?, range?, to_sheet?, at?, total?, index?
    format: range, num?, bold?, italic?, underline?, font?, size?, color?, fill?, align?, valign?, wrap?, border?, border_color?, outline?
    cond_format: range, rule? (cell|formula|scale|bar|top|bottom|above_avg|below_avg|duplicate|unique|text), op?, value?, value2?, formula?, fill?, color?, bold?, italic?, colors?
    validate: range, kind (list|whole|decimal|date|length|custom), values?, op?, value?, value2?, formula?, message?
    chart: type (bar|column|line|pie|scatter|area), data (with header row), labels?, title?, x_title?, y_title?, legend?, at?, to_sheet?, by_rows?, data_labels?, trendline?, marker?, smooth?
    edit_chart: index?, title?, x_title?, y_title?, legend?, type?, data_labels?, trendline?, marker?, smooth?, delete?
    Example: {"actions": [{"action": "formula", "sheet": "Sheet1", "range": "H2:H36", "formula": "=F2*G2"}]}
    """

    name = "sheet"

    class Args(BaseModel):
        actions: list[Action] = Field(min_length=1)

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """A small schema for small models: the action names; the docstring lists their fields.

        The full typed schema is ``SheetTool.Args.model_json_schema()``; arguments are always
        validated against it.
        """
        from tools.sheet.actions import ACTION_NAMES

        item = {"type": "object", "properties": {"action": {"type": "string", "enum": ACTION_NAMES},
                                                 "sheet": {"type": "string"}},
                "required": ["action"], "additionalProperties": True}
        return {"type": "object", "properties": {"actions": {"type": "array", "items": item, "minItems": 1}},
                "required": ["actions"]}

    def as_langchain(self) -> Any:
        """A LangChain tool whose schema is the small one above (arguments still fully validated)."""
        from langchain_core.tools import StructuredTool

        class LooseArgs(BaseModel):
            actions: list[dict[str, Any]] = Field(min_length=1, description="actions, see the description")

        def _call(**kwargs: Any) -> str:
            return self(kwargs).observation

        return StructuredTool.from_function(func=_call, name=self.name, description=self.description(),
                                            args_schema=LooseArgs)

    def __init__(self, versions: VersionStore, *,
                 on_change: Callable[[Path], None] | None = None) -> None:
        """``on_change(path)`` runs after each new version (e.g. to reopen the workbook and
        refresh the SQL catalog)."""
        self.versions = versions
        self.on_change = on_change

    def run(self, args: Any) -> ToolResult:
        actions: list[Act] = list(args.actions)
        journal = [a.model_dump(exclude_none=True) for a in actions]
        counts: dict[str, int] = {}
        for entry in journal:
            counts[str(entry["action"])] = counts.get(str(entry["action"]), 0) + 1
        label = ", ".join(name if n == 1 else f"{n} {name}" for name, n in counts.items())
        base_path = self.versions.current_path
        apply, edited = self._applier(actions, journal)
        try:
            number = self.versions.commit(journal, apply, note=label)
        except VersionConflictError as exc:
            if self.on_change is not None:  # show the model the version another session made
                self.on_change(self.versions.current_path)
            raise ToolFailure(str(exc), kind="conflict",
                              hint="read the current tables again, then send the edit again") from None
        if self.on_change is not None:
            self.on_change(self.versions.current_path)
        after = read_cached_values(self.versions.current_path)
        changes = diff_snapshot(edited["snapshot"], edited["wb"], cached_a=read_cached_values(base_path),
                                cached_b=after)
        ctx: EditContext = edited["ctx"]
        report = self.versions.last_recalc
        readback = build_readback(ctx.records, changes, edited["wb"], after, edited["sheets"],
                                  report.errors if report is not None else None)
        lines = [f"saved version {number} ({label})", *edited["summaries"], summarize(changes)]
        if report is not None and report.formulas:
            lines.append(report.describe())
        lines += ctx.notes
        if check := readback.text():
            lines.append(check)
        if len(self.versions.versions) == 2:  # the first edit: say what the version store warned about
            lines += [f"note: {w}" for w in self.versions.warnings]
        return ToolResult(observation="\n".join(lines),
                          payload=SheetPayload(version=number, changes=changes,
                                               recalc=report.describe() if report else None,
                                               notes=ctx.notes, warnings=list(self.versions.warnings),
                                               summaries=edited["summaries"], readback=readback),
                          cells=sorted({f"{c.sheet}!{c.cell}" for c in changes
                                        if c.kind != "sheet" and not c.recomputed})[:200])

    def _applier(self, actions: list[Act], journal: list[dict[str, Any]]
                 ) -> tuple[Callable[[Any], None], dict[str, Any]]:
        """The function that edits a loaded copy, and where it leaves what the diff, the words
        and the read-back need: the sheets and cells before, the lines in words (read before
        the edit), the edited workbook and the EditContext."""
        edited: dict[str, Any] = {}

        def apply(wb: Any) -> None:
            edited["sheets"], edited["snapshot"] = list(wb.sheetnames), snapshot(wb)
            edited["summaries"] = summarize_actions(journal, wb)
            edited["wb"] = wb
            edited["ctx"] = _apply_all(wb, actions, self.versions)

        return apply, edited

    def explain_invalid(self, raw: dict[str, Any], exc: ValidationError) -> ToolError | None:
        actions = raw.get("actions")
        if not isinstance(actions, list) or not actions:
            return None
        from tools.sheet.validation import explain_invalid

        message, hint = explain_invalid(actions, exc)
        return ToolError("arguments", message, hint=hint)

    def repair_invalid(self, raw: dict[str, Any], exc: ValidationError
                       ) -> tuple[dict[str, Any], list[str]] | None:
        actions = raw.get("actions")
        if not isinstance(actions, list) or not actions:
            return None
        from tools.sheet.validation import repair_invalid

        repaired = repair_invalid(actions, exc)
        if repaired is None:
            return None
        return {**raw, "actions": repaired[0]}, repaired[1]

    def revert(self, result: ToolResult) -> None:
        """Take back the version ``result`` saved (an edit check found it wrong): the version
        before it is current again, and the withdrawn one cannot be redone."""
        from tools.payloads import sheet_payload

        if (payload := sheet_payload(result)) is not None:
            self.versions.withdraw(int(payload["version"]))
            if self.on_change is not None:
                self.on_change(self.versions.current_path)

    def preview(self, actions: list[Any]) -> list[CellChange]:
        """The changes ``actions`` would make, computed on a copy; nothing is saved."""
        return self.draft(actions).changes

    def draft(self, actions: list[Any]) -> Draft:
        """``actions`` applied to a copy of the current version: changes, read-back, words."""
        parsed = parse_actions(actions)
        apply, edited = self._applier(parsed, [a.model_dump(exclude_none=True) for a in parsed])
        with tempfile.TemporaryDirectory(prefix="tablepilot-preview-") as tmp:
            target = Path(tmp) / f"preview{self.versions.current_path.suffix}"
            report = self.versions.build(apply, target)
            after = read_cached_values(target)
            changes = diff_snapshot(edited["snapshot"], edited["wb"],
                                    cached_a=read_cached_values(self.versions.current_path),
                                    cached_b=after)
        ctx: EditContext = edited["ctx"]
        return Draft(changes=changes,
                     readback=build_readback(ctx.records, changes, edited["wb"], after,
                                             edited["sheets"],
                                             report.errors if report is not None else None),
                     summaries=edited["summaries"], notes=ctx.notes)


def parse_actions(actions: list[Any]) -> list[Act]:
    """Dicts or action models -> action models; ToolFailure with the pydantic problems otherwise."""
    raw = [a.model_dump() if isinstance(a, BaseModel) else a for a in actions]
    try:
        return list(_ADAPTER.validate_python(raw))
    except ValidationError as exc:
        from tools.sheet.validation import explain_invalid

        message, hint = explain_invalid(raw, exc)
        raise ToolFailure(message, hint=hint) from exc


def _apply_all(workbook: Any, actions: list[Act], versions: VersionStore) -> EditContext:
    ctx = EditContext(workbook, base=versions.current_path)
    for i, action in enumerate(actions):
        try:
            action.apply(ctx)
        except AttributeError as exc:
            if "MergedCell" not in str(exc):
                raise
            name = getattr(action, "action", type(action).__name__)
            raise ToolFailure(f"action {i} ({name}) failed, nothing was changed: it writes into the hidden "
                              "cells of a merged range", hint="write to the merged range's first cell or unmerge it",
                              location=f"actions[{i}]") from exc
        except ToolFailure as exc:
            name = getattr(action, "action", type(action).__name__)
            message = f"action {i} ({name}) failed, nothing was changed: {exc.error.message}"
            raise ToolFailure(message, kind=exc.error.kind, hint=exc.error.hint, location=f"actions[{i}]") from exc
        ctx.changed(structure=getattr(action, "action", "") in _MOVES_CELLS)
    return ctx


_MOVES_CELLS = {"insert_rows", "delete_rows", "insert_cols", "delete_cols", "add_sheet", "delete_sheet",
                "copy_sheet", "rename_sheet", "move_sheet", "dedupe", "sort", "clear"}
