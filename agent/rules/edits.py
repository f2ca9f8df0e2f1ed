"""Edit checks: a drafted edit is read back (tools/sheet/readback.py) and compared with what the
request asks (agent/edit_intent.py) before it is offered.

Two points of the loop ask this family. After a sheet call, with the ``Drafted`` edit: a
``SendBack`` takes the edit back (the version is withdrawn, or the proposal restored) and the
model gets the message, at most once per rule and run; an ``Accept`` ends the run with the edit
as the answer. When the model gives its answer, with the ``Proposed`` answer: a ``SendBack``
returns it once, like the answer checks.
"""

from __future__ import annotations

import json
from typing import Any

from agent.rules.base import Accept, Drafted, Proposed, Rule, RunState, SendBack, rule
from tools.sheet.readback import show_value

_BAR_LIKE = {"bar", "column"}


def _requested(state: RunState) -> Any:
    intent = state.intent
    return intent if intent is not None and intent.is_edit else None


@rule("edit-changed-nothing", "edit", "an edit that changed no cell, sheet or object is taken "
      "back: the model is told to check the sheet name, range and columns")
def changed_nothing(state: RunState, subject: Any) -> SendBack | None:
    if not isinstance(subject, Drafted):
        return None
    back = subject.readback
    if back.changed or back.sheets_added:
        return None
    return SendBack(state.msg("edit_changed_nothing"))


@rule("edit-header-row", "edit", "an edit that writes a new column's header above the header "
      "row, or starts a formula column on the header row, is taken back with the cells to use")
def header_row(state: RunState, subject: Any) -> SendBack | None:
    if not isinstance(subject, Drafted) or not subject.readback.misplaced:
        return None
    shown = "; ".join(f"the {what} went to {where}: put it in {fix}"
                      for what, where, fix in subject.readback.misplaced[:3])
    return SendBack(state.msg("edit_header_row", places=shown))


@rule("edit-formula-as-text", "edit", "when the request asks for a calculation, an edit that "
      "writes a formula as text with 'write' (shown as text, never computed) is taken back: use "
      "the formula or fill action")
def formula_as_text(state: RunState, subject: Any) -> SendBack | None:
    intent = _requested(state)
    if (not isinstance(subject, Drafted) or not subject.readback.formulas_as_text
            or intent is None or not {"formula", "fill"} & set(intent.kinds)):
        return None  # text that starts with '=' is written as text unless a formula is asked for
    where, text = subject.readback.formulas_as_text[0]
    sheet, _, cells = where.rpartition("!")
    action = {"action": "formula", **({"sheet": sheet.strip("'")} if sheet else {}),
              "range": cells, "formula": text}
    return SendBack(state.msg("edit_formula_as_text", where=where, text=text,
                              action=json.dumps(action, ensure_ascii=False)))


@rule("edit-error-values", "edit", "an edit whose formulas compute Excel errors (#NAME?, "
      "#VALUE!, #REF! ...) is taken back with the cells, their formulas and how to fix them")
def error_values(state: RunState, subject: Any) -> SendBack | None:
    if not isinstance(subject, Drafted) or not subject.readback.errors:
        return None
    errors = subject.readback.errors
    shown = "; ".join(f"{cell} = {err}" + (f" (formula {formula})" if formula else "")
                      for cell, err, formula in errors[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return SendBack(state.msg("edit_error_values", cells=shown + more))


@rule("edit-sort-direction", "edit", "a sort whose rows run the other way than the request's "
      "words ask (oldest/newest first, A to Z, highest first) is taken back with the flag to use")
def sort_direction(state: RunState, subject: Any) -> SendBack | None:
    intent = _requested(state)
    if not isinstance(subject, Drafted) or intent is None or intent.ascending is None:
        return None
    for s in subject.readback.sorts:
        if s.ascending is None or s.ascending == intent.ascending or s.kind in (
                "date text", "number text"):
            continue
        wanted = "ascending" if intent.ascending else "descending"
        return SendBack(state.msg(
            "edit_sort_direction", where=f"{s.sheet}!{s.range}", first=show_value(s.first),
            last=show_value(s.last), wanted=wanted, desc="false" if intent.ascending else "true"))
    return None


@rule("edit-sort-as-text", "edit", "a sort by a column of dates or numbers stored as text (which "
      "sort as text: 10/02 before 9/01) is taken back: convert the column first")
def sort_as_text(state: RunState, subject: Any) -> SendBack | None:
    if not isinstance(subject, Drafted):
        return None
    for s in subject.readback.sorts:
        if s.kind in ("date text", "number text") and "convert" not in subject.action_names:
            kind = "date" if s.kind == "date text" else "number"
            return SendBack(state.msg("edit_sort_as_text", column=s.header or s.column,
                                      kind=kind, where=f"{s.sheet}!{s.range}"))
    return None


@rule("edit-chart-type", "edit", "a chart of another type than the one the request names (line "
      "for bar, pie for line ...) is taken back with the type to use")
def chart_type(state: RunState, subject: Any) -> SendBack | None:
    intent = _requested(state)
    if not isinstance(subject, Drafted) or intent is None or not intent.chart_type:
        return None
    for c in subject.readback.charts:
        made, wanted = str(c.get("type")), intent.chart_type
        if made == wanted or {made, wanted} <= _BAR_LIKE:
            continue
        return SendBack(state.msg("edit_chart_type", made=made, wanted=wanted))
    return None


def missing_parts(state: RunState, extra: Drafted | None = None) -> list[str]:
    """What the request names that the edits of this run have not made, in words."""
    intent = _requested(state)
    if intent is None:
        return []
    edits = [*state.edits(), *([extra] if extra is not None else [])]
    done = {name for e in edits for name in e.action_names}
    written = {str(t).strip().lower() for e in edits for t in e.readback.texts_written}
    added = [s for e in edits for s in e.readback.sheets_added]
    missing = []
    for name in intent.new_columns:
        if name.strip().lower() not in written:
            missing.append(f'the new column "{name}" (write its header in the next empty column)')
    if intent.new_sheet and not added:
        missing.append("the new sheet the request asks for (add_sheet, or to_sheet)")
    for name in intent.sheet_names:
        if intent.new_sheet and added and name.lower() not in {s.lower() for s in added}:
            missing.append(f'a sheet named "{name}"')
    for kind in ("sort", "chart", "summary", "cond_format", "filter", "convert", "link", "merge",
                 "freeze", "dedupe", "validate"):
        if kind in intent.kinds and not intent.satisfied(kind, done):
            missing.append(f"the {kind.replace('_', ' ')} the request asks for")
    return missing


@rule("edit-not-made", "edit", "an answer to an edit request before any edit was made is sent "
      "back once: make the change with the sheet tool")
def not_made(state: RunState, subject: Any) -> SendBack | None:
    if (not isinstance(subject, Proposed) or _requested(state) is None
            or "sheet" not in state.tools or state.edits() or state.steps_left <= 0):
        return None
    return SendBack(state.msg("edit_not_made"))


@rule("edit-covers-request", "edit", "an answer to an edit request while a part it names (a new "
      "column, a new sheet, a sort, a chart ...) was not made is sent back once with the parts")
def covers_request(state: RunState, subject: Any) -> SendBack | None:
    if (not isinstance(subject, Proposed) or not state.edits() or state.steps_left <= 0):
        return None
    missing = missing_parts(state)
    return SendBack(state.msg("edit_missing", parts="; ".join(missing))) if missing else None


@rule("edit-done-when-covered", "edit", "an edit that passed the checks and makes every part "
      "the request names ends the run with the edit as the answer (no further model call)")
def done_when_covered(state: RunState, subject: Any) -> Accept | None:
    intent = _requested(state)
    if not isinstance(subject, Drafted) or intent is None or not intent.kinds:
        return None
    done = {name for e in [*state.edits(), subject] for name in e.action_names}
    if intent.missing(done) or missing_parts(state, subject):
        return None
    words = "; ".join(subject.summaries)
    return Accept(words, "result", "the edit", explanation=words)


RULES: tuple[Rule, ...] = (changed_nothing, header_row, formula_as_text, error_values, sort_direction, sort_as_text,
                           chart_type, not_made, covers_request, done_when_covered)
