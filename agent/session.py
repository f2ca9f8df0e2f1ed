"""Session: a multi-turn chat over one workbook, with its versions (edits, undo, redo).

Every turn sees the earlier questions and what answered them ("and for 2024?" works). Edits go
through the ``sheet`` tool into a ``VersionStore``: the uploaded file is never written. The store
is made at the first edit (the first sheet action, or the first proposal in review mode); until
then questions are answered straight from the source file, so a big CSV is not converted to
.xlsx just to be asked about, and a Parquet file (which the store cannot hold) is converted only
when it is edited. With ``auto_apply=False`` an edit the model asks for is only previewed and
held in ``pending`` until ``apply_pending()`` (or ``discard_pending()``).

A person's table corrections (``correct_table``: a table's range, header rows and column
types, table_io's overrides) are kept by the session and laid again on every version it opens.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.answer import Answer
from agent.loop import OnStep, OnText
from agent.prompting import messages_text
from agent.runs import run_turn
from agent.toolset import close_tools, find_tool
from agent.values import format_value
from table_io import open_workbook
from table_io.errors import LimitExceededError, TableIOError, VersionError
from table_io.model import Workbook
from table_io.versions import VersionConflictError
from tools.base import Tool, ToolFailure, ToolResult
from tools.payloads import PendingEditPayload, pending_payload

if TYPE_CHECKING:
    from agent.core import TableAgent
    from table_io.versions import VersionStore

MAX_HISTORY_TURNS = 6
SHEET_MAX_ROWS = 1_048_576  # an .xlsx sheet: one header row + 1,048,575 data rows
SHEET_MAX_COLUMNS = 16_384
EDITABLE = {".xlsx", ".xlsm"}


@dataclass
class Turn:
    question: str
    answer: Answer | None = None
    event: str = ""  # for undo/redo/apply notes instead of a question


@dataclass
class PendingEdit:
    """An edit shown to the person before it is saved: its actions, the cells it changes and
    one line in words per action."""

    actions: list[dict[str, Any]]
    changes: list[Any] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)

    def describe(self) -> str:
        edits = [c for c in self.changes if not getattr(c, "recomputed", False)]
        lines = [c.describe() if hasattr(c, "describe") else str(c) for c in edits[:20]]
        more = len(edits) - 20
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


def session_sheet_tool(session: Session) -> Tool:
    """The ``sheet`` tool of a session: it makes the session's version store at its first use
    (converting Parquet), and tells the model plainly when the file is too big to edit."""
    from tools.sheet import SheetTool

    class SessionSheetTool(SheetTool):
        __doc__ = SheetTool.__doc__

        def __init__(self) -> None:  # the store comes later: see _ready
            self.on_change = None

        def _ready(self) -> None:
            try:
                self.versions = session.versions
            except TableIOError as exc:
                raise ToolFailure(f"this file cannot be edited: {exc}", kind="limit",
                                  hint="answer with sql or python instead; edits are not "
                                       "possible on this file") from exc

        def run(self, args: Any) -> ToolResult:
            self._ready()
            return super().run(args)

        def preview(self, actions: list[Any]) -> list[Any]:
            self._ready()
            return super().preview(actions)

        def draft(self, actions: list[Any]) -> Any:
            self._ready()
            return super().draft(actions)

    return SessionSheetTool()


def pending_tool_class(sheet_cls: type[Tool]) -> type[Tool]:
    """A ``sheet`` tool with the same arguments and description that previews instead of
    applying, so edits wait for the person's approval."""

    class PendingSheetTool(sheet_cls):  # type: ignore[valid-type,misc]
        __doc__ = sheet_cls.__doc__

        def __init__(self, inner: Tool, session: Session) -> None:
            self.inner = inner
            self.session = session

        def run(self, args: Any) -> ToolResult:
            actions = [a.model_dump(mode="json", exclude_none=True) if hasattr(a, "model_dump")
                       else a for a in args.actions]
            before = self.session.pending
            # the draft builds on what is already proposed, as the saved edit would
            draft = self.inner.draft([*(before.actions if before else []), *actions])  # type: ignore[attr-defined]
            summaries = draft.summaries[len(before.actions) if before else 0:]
            edit = PendingEdit(actions=[*(before.actions if before else []), *actions],
                               changes=draft.changes,
                               summaries=[*(before.summaries if before else []), *summaries])
            self.session.pending = edit
            self._before = before
            count = sum(1 for c in draft.changes if not getattr(c, "recomputed", False))
            text = "\n".join([f"Proposed {count} change(s); they are shown to the user, who will "
                              "apply or discard them.", *edit.summaries, edit.describe(),
                              draft.readback.text()]).strip()
            return ToolResult(observation=text,
                              payload=PendingEditPayload(pending=True, changes=draft.changes,
                                                         summaries=summaries,
                                                         readback=draft.readback))

        def revert(self, result: ToolResult) -> None:
            """An edit check found the last proposal wrong: the earlier proposal stands."""
            self.session.pending = getattr(self, "_before", None)

    return PendingSheetTool


class Session:
    """A chat over one workbook. ``source``: a path, a DataFrame or a Workbook.

    ``workbook`` is the current version, opened, with the person's corrections laid on it.
    ``workbook_path`` is the file it was read from: before the first edit that is the source
    file itself (a CSV or Parquet file stays as it is; it is never written), afterwards the
    current version's .xlsx/.xlsm in ``workdir``. ``version`` is 0 until the first edit.
    ``versions`` is the VersionStore; reading it makes the store (version 0, converted to .xlsx
    when the source is not a workbook), which the first edit does anyway, so use ``version``,
    ``can_undo`` and ``can_redo`` to look without making it. A workdir that already holds
    versions of the same file resumes them. A Workbook opened from a file is used as it is (not
    read again); corrections it was opened with (``overrides=``) are kept like ``correct_table``'s.
    """

    def __init__(self, agent: TableAgent, source: Any, *, auto_apply: bool = True,
                 workdir: str | Path | None = None) -> None:
        self.agent = agent
        self.auto_apply = auto_apply
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="tablepilot-chat-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.source_path = self._original_path(source)
        self.turns: list[Turn] = []
        self.pending: PendingEdit | None = None
        self.notices: list[str] = []  # for the person: e.g. a correction that no longer fits
        self._overrides: dict[str, dict[str, Any]] = {}
        self._store: VersionStore | None = None
        if (self.workdir / "versions" / "journal.json").exists():
            self._store = self._make_store()  # resume the versions kept there
        if isinstance(source, Workbook) and source.path is not None:
            # corrections it was opened with last too (table_io marks re-cut tables)
            self._overrides = {t.name: dict(t.meta["override"]) for t in source.tables
                               if isinstance(t.meta.get("override"), dict)}
        if self._store is None and isinstance(source, Workbook) and source.path is not None:
            self._workbook = source  # already opened: not read twice
            self._plain = open_workbook(source.path) if self._overrides else source
        else:
            self.reload()

    def _original_path(self, source: Any) -> Path:
        if isinstance(source, str | Path):
            return Path(source)
        if isinstance(source, Workbook) and source.path is not None:
            return Path(source.path)
        import pandas as pd

        target = self.workdir / "data.xlsx"
        if isinstance(source, pd.DataFrame):
            source.to_excel(target, index=False, sheet_name="data")
            return target
        if isinstance(source, Workbook):
            with pd.ExcelWriter(target) as writer:
                for table in source.tables:
                    table.frame.to_excel(writer, index=False, sheet_name=table.name[:31])
            return target
        raise TypeError(f"cannot chat over a {type(source).__name__}; pass a path or a DataFrame")

    # ---------------------------------------------------------------- versions

    def _make_store(self) -> VersionStore:
        """The version store (version 0 = the source, as .xlsx when it is not a workbook).

        Raises LimitExceededError when the file does not fit in a sheet."""
        from table_io.versions import VersionStore

        original = self.source_path
        suffix = original.suffix.lower()
        fresh = not (self.workdir / "versions" / "journal.json").exists()
        if suffix == ".parquet":
            original = self.workdir / "editable" / (sheet_title(original.stem) + ".xlsx")
            if not original.exists():  # kept: a resumed store checks its hash
                parquet_to_xlsx(self.source_path, original)
        elif suffix not in EDITABLE and fresh:
            check_fits_a_sheet(self._plain)
        store = VersionStore(original, self.workdir / "versions")
        if suffix == ".parquet" and fresh:
            store.warnings.append("the Parquet file was converted to .xlsx for editing "
                                  "(version 0); download the result as .xlsx")
        return store

    @property
    def versions(self) -> VersionStore:
        """The version store, made now if no edit has made it yet (see the class docstring)."""
        if self._store is None:
            self._store = self._make_store()
        return self._store

    @property
    def has_versions(self) -> bool:
        """Whether the version store exists (an edit was made or proposed)."""
        return self._store is not None

    @property
    def version(self) -> int:
        return self._store.version if self._store is not None else 0

    @property
    def can_undo(self) -> bool:
        return self._store is not None and self._store.can_undo

    @property
    def can_redo(self) -> bool:
        return self._store is not None and self._store.can_redo

    # ---------------------------------------------------------------- state

    @property
    def workbook(self) -> Workbook:
        """The current version, opened, with the corrections."""
        return self._workbook

    @property
    def workbook_path(self) -> Path:
        """The current version's file (download this one): the source until the first edit."""
        if self._store is None:
            return self.source_path
        return Path(self._store.current_path)

    @property
    def history(self) -> list[Turn]:
        return list(self.turns)

    def _moved(self, move: Callable[[], int]) -> int:
        """Run an undo/redo/restore; when another session moved the versions first, show them."""
        try:
            version = move()
        except VersionConflictError:
            self.reload()
            raise
        self.reload()
        return version

    def reload(self) -> None:
        """Open the current version again and lay the corrections on it."""
        self._plain = open_workbook(self.workbook_path)
        self._workbook = self._corrected(self._plain)

    def _corrected(self, plain: Workbook) -> Workbook:
        workbook = plain
        for key, spec in list(self._overrides.items()):
            try:
                workbook = open_workbook(workbook, overrides={key: spec})
            except TableIOError as exc:
                del self._overrides[key]
                note = (f"The correction of table {key} no longer fits version {self.version} "
                        f"and was dropped: {exc}")
                self.notices.append(note)
                self.turns.append(Turn("", event=note))
        return workbook

    # ---------------------------------------------------------------- corrections

    @property
    def overrides(self) -> dict[str, dict[str, Any]]:
        """The corrections in force: ``{table key: {"range", "header_rows", "name", "types",
        "csv"}}``."""
        return {key: dict(spec) for key, spec in self._overrides.items()}

    def correct_table(self, table: str, *, range: str | None = None,
                      header_rows: int | list[int] | None = None,
                      name: str | None = None,
                      types: dict[str, str | None] | None = None,
                      csv: dict[str, str] | None = None) -> Workbook:
        """Re-cut one table as the person says, now and on every later version.

        ``table``: a table name, a sheet name or ``"Sheet!A3:F20"``; ``range``: an A1 range on
        its sheet; ``header_rows``: how many rows form the header, or their sheet row numbers;
        ``types``: how to read columns, ``{column: kind}`` with a kind of
        table_io.cell_types.COLUMN_KINDS, or None to read that column as detected again;
        ``csv``: the delimiter and/or encoding to read a CSV file with (see
        table_io.overrides). Settings are added to the table's earlier correction. Returns the
        corrected workbook; raises table_io's OverrideError (a TableIOError) at once when the
        correction does not fit, and then nothing changes. The next turn's tools (SQL catalog
        included) read the corrected table.
        """
        given: dict[str, Any] = {}
        if range:
            given["range"] = range.strip().upper()
        if header_rows is not None:
            given["header_rows"] = header_rows
        if name:
            given["name"] = name
        if csv and any(csv.values()):
            given["csv"] = {k: v for k, v in csv.items() if v}
        if not given and not types:
            raise ValueError("a correction needs a range, header rows, a name, column types or "
                             "CSV settings")
        spec = {**self._overrides.get(table, {}), **given}
        if types:
            kinds = {**spec.get("types", {}), **types}
            spec["types"] = {column: kind for column, kind in kinds.items() if kind}
            if not spec["types"]:
                del spec["types"]
        overrides = {**self._overrides, table: spec}
        if not spec:
            del overrides[table]  # every setting taken back: the table is read as detected
        workbook = self.set_overrides(overrides)
        shown = ", ".join(f"{k} {v}" for k, v in given.items())
        if types:
            read = ", ".join(f"{c} as {k or 'detected'}" for c, k in types.items())
            shown = f"{shown}, columns read: {read}" if shown else f"columns read: {read}"
        self.turns.append(Turn("", event=f"The user corrected table {table} ({shown})."))
        return workbook

    def set_overrides(self, overrides: dict[str, dict[str, Any]]) -> Workbook:
        """Replace all corrections (``{}`` removes them); raises like ``correct_table``."""
        wanted = {key: dict(spec) for key, spec in overrides.items()}
        workbook = open_workbook(self._plain, overrides=wanted) if wanted else self._plain
        self._overrides = wanted
        self._workbook = workbook
        return workbook

    def take_notices(self) -> list[str]:
        """The notices for the person since the last call (then forgotten)."""
        notices, self.notices = self.notices, []
        return notices

    def history_messages(self) -> list[BaseMessage]:
        """The earlier turns as the model sees them: each question and what answered it."""
        template = messages_text()["history_answer"]
        out: list[BaseMessage] = []
        for turn in self.turns[-MAX_HISTORY_TURNS:]:
            if turn.event:
                out += [HumanMessage(f"(note) {turn.event}"), AIMessage("Noted.")]
                continue
            answer = turn.answer
            if answer is None:
                continue
            steps = ""
            for step in answer.steps:
                if step.error is None and step.tool in ("sql", "python", "sheet"):
                    arg = next(iter(step.input.values()), "") if step.input else ""
                    shown = arg if isinstance(arg, str) else str(arg)
                    steps += f"{step.tool}: {shown[:600]}\n"
            text = template.format(steps=steps, answer=format_value(answer.value) or answer.text)
            out += [HumanMessage(turn.question), AIMessage(text)]
        return out

    # ---------------------------------------------------------------- turns

    def make_tools(self) -> list[Tool]:
        """The tools of a turn over the current version: sql, python and sheet (in review mode a
        sheet tool that only proposes). The caller closes them (agent.toolset.close_tools)."""
        tools = self.agent.make_tools(self._workbook)
        sheet = find_tool(tools, "sheet")
        if sheet is None:
            sheet = session_sheet_tool(self)
            tools.append(sheet)
        if not self.auto_apply:
            pending_cls = pending_tool_class(type(sheet))
            tools = [pending_cls(sheet, self) if t is sheet else t  # type: ignore[call-arg]
                     for t in tools]
        return tools

    def _after_tool(self, tools: list[Tool]) -> Any:
        def hook(name: str, result: ToolResult) -> None:
            if name != "sheet" or pending_payload(result) is not None:
                return
            self.reload()
            for tool in tools:
                refresh = getattr(tool, "refresh", None)
                if callable(refresh):
                    refresh(self._workbook)
        return hook

    def send(self, text: str, *, on_step: OnStep | None = None,
             on_text: OnText | None = None) -> Answer:
        """One turn: answer ``text`` (or make the edit it asks for), with the earlier turns."""
        tools = self.make_tools()
        try:
            answer = run_turn(self.agent, self._workbook, text, tools,
                              history=self.history_messages(), on_step=on_step,
                              on_text=on_text, after_tool=self._after_tool(tools))
        finally:
            close_tools(tools)
        if answer.version is None and any(s.tool == "sheet" and s.error is None
                                          for s in answer.steps) and self.auto_apply:
            answer.version = self.version
        self.turns.append(Turn(text, answer))
        return answer

    # ---------------------------------------------------------------- edits

    def propose(self, actions: list[dict[str, Any]]) -> PendingEdit:
        """Hold ``actions`` (made by the app, not the model) as the proposed edit, drafted like
        the model's own proposals: changes and one line in words per action. Raises the sheet
        tool's ToolFailure when they do not fit the workbook."""
        draft: Any = session_sheet_tool(self).draft(actions)  # type: ignore[attr-defined]
        self.pending = PendingEdit(actions=list(actions), changes=list(draft.changes),
                                   summaries=list(draft.summaries))
        return self.pending

    def apply_pending(self) -> int:
        """Apply the held edit as one new version; returns the version number."""
        if self.pending is None:
            raise ValueError("there is no pending edit")
        from tools.sheet import SheetTool

        result = SheetTool(self.versions)({"actions": self.pending.actions})
        if result.error is not None:
            raise ValueError(f"the pending edit could not be applied: {result.error.message}")
        self.pending = None
        self.reload()
        self.turns.append(Turn("", event=f"The user applied the proposed edit (now version "
                               f"{self.version})."))
        return self.version

    def discard_pending(self) -> None:
        if self.pending is not None:
            self.turns.append(Turn("", event="The user discarded the proposed edit."))
        self.pending = None

    def undo(self) -> int:
        if self._store is None:
            raise VersionError("nothing to undo: this is the original")
        version = self._moved(self._store.undo)
        self.turns.append(Turn("", event=f"The user undid the last edit (now version {version})."))
        return version

    def redo(self) -> int:
        if self._store is None:
            raise VersionError("nothing to redo")
        version = self._moved(self._store.redo)
        self.turns.append(Turn("", event=f"The user redid an edit (now version {version})."))
        return version

    def restore(self, n: int) -> int:
        """Make version ``n`` current (later versions stay restorable)."""
        if self._store is None and n == 0:
            return 0
        version = self._moved(lambda: self.versions.restore(n))
        self.turns.append(Turn("", event=f"The user went back to version {version}."))
        return version

    def save(self, path: str | Path) -> Path:
        """Copy the current version to ``path`` (an .xlsx target before any edit of a CSV or
        Parquet source gets version 0, the source as .xlsx)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        current = self.workbook_path
        if (self._store is None and target.suffix.lower() in EDITABLE
                and current.suffix.lower() not in EDITABLE):
            current = self.versions.current_path
        shutil.copyfile(current, target)
        return target


# ---------------------------------------------------------------- files the store cannot hold


def sheet_title(stem: str) -> str:
    """A file stem as an .xlsx sheet name (no []:*?/\\, at most 31 characters)."""
    return re.sub(r"[\[\]:*?/\\]", "_", stem)[:31].strip("'") or "data"


def check_fits_a_sheet(workbook: Workbook) -> None:
    """LimitExceededError when a sheet of ``workbook`` is beyond what an .xlsx sheet holds."""
    for sheet in workbook.sheets:
        if sheet.n_rows > SHEET_MAX_ROWS or sheet.n_cols > SHEET_MAX_COLUMNS:
            raise LimitExceededError(
                f"is too large to edit as a workbook: {sheet.n_rows - 1:,} data rows x "
                f"{sheet.n_cols:,} columns, and a sheet holds {SHEET_MAX_ROWS - 1:,} data rows x "
                f"{SHEET_MAX_COLUMNS:,} columns", source=workbook.source)


def parquet_to_xlsx(source: Path, target: Path, *, batch_rows: int = 50_000) -> None:
    """A Parquet file as a one-sheet .xlsx (header row, then values; text never a formula).

    Raises LimitExceededError when it has more rows or columns than a sheet holds."""
    import pyarrow.parquet as pq
    from openpyxl import Workbook as XLWorkbook
    from openpyxl.cell import WriteOnlyCell

    from table_io.xlsx_safety import looks_like_formula

    handle = pq.ParquetFile(source)
    n_rows, names = handle.metadata.num_rows, list(handle.schema_arrow.names)
    if n_rows + 1 > SHEET_MAX_ROWS or len(names) > SHEET_MAX_COLUMNS:
        raise LimitExceededError(
            f"is too large to edit as a workbook: {n_rows:,} rows x {len(names):,} columns, and "
            f"a sheet holds {SHEET_MAX_ROWS - 1:,} data rows x {SHEET_MAX_COLUMNS:,} columns",
            source=source.name)
    book = XLWorkbook(write_only=True)
    sheet = book.create_sheet(sheet_title(source.stem))

    def cell(value: Any) -> Any:
        value = excel_value(value)
        if looks_like_formula(value):
            text = WriteOnlyCell(sheet, value=value)
            text.data_type = "s"
            return text
        return value

    sheet.append([cell(str(name)) for name in names])
    for batch in handle.iter_batches(batch_size=batch_rows):
        columns = [column.to_pylist() for column in batch.columns]
        for row in zip(*columns, strict=True):
            sheet.append([cell(v) for v in row])
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    book.save(partial)
    partial.replace(target)


def excel_value(value: Any) -> Any:
    """A Parquet value as a cell can hold it: naive datetimes, text for nested or binary data."""
    import datetime as dt
    import math

    if value is None or isinstance(value, bool | int | str | dt.date | dt.time | dt.timedelta):
        if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
            return value.replace(tzinfo=None)
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else (None if math.isnan(value) else str(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    return str(value)
