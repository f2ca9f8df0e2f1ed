"""Session: a multi-turn chat over one workbook, with its versions (edits, undo, redo).

Every turn sees the earlier questions and what answered them ("and for 2024?" works). Edits go
through the ``sheet`` tool into a ``VersionStore``: the uploaded file is never written. With
``auto_apply=False`` an edit the model asks for is only previewed and held in ``pending`` until
``apply_pending()`` (or ``discard_pending()``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agent.answer import Answer
from agent.loop import OnStep, OnText, Run, messages_text
from agent.retriever import Retriever
from agent.toolset import close_tools, find_tool
from agent.values import format_value
from table_io import open_workbook
from table_io.model import Workbook
from tools.base import Tool, ToolResult

if TYPE_CHECKING:
    from agent.core import TableAgent

MAX_HISTORY_TURNS = 6


@dataclass
class Turn:
    question: str
    answer: Answer | None = None
    event: str = ""  # for undo/redo/apply notes instead of a question


@dataclass
class PendingEdit:
    actions: list[dict[str, Any]]
    changes: list[Any] = field(default_factory=list)

    def describe(self) -> str:
        lines = [c.describe() if hasattr(c, "describe") else str(c) for c in self.changes[:20]]
        more = len(self.changes) - 20
        return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


def pending_tool_class(sheet_cls: type[Tool]) -> type[Tool]:
    """A ``sheet`` tool with the same arguments and description that previews instead of
    applying, so edits wait for the person's approval."""

    class PendingSheetTool(sheet_cls):  # type: ignore[valid-type,misc]
        def __init__(self, inner: Tool, session: Session) -> None:
            self.inner = inner
            self.session = session

        def run(self, args: Any) -> ToolResult:
            actions = [a.model_dump(mode="json", exclude_none=True) if hasattr(a, "model_dump")
                       else a for a in args.actions]
            changes = list(self.inner.preview(args.actions))  # type: ignore[attr-defined]
            edit = PendingEdit(actions=actions, changes=changes)
            if self.session.pending is not None:
                edit = PendingEdit(self.session.pending.actions + actions,
                                   self.session.pending.changes + changes)
            self.session.pending = edit
            text = (f"Proposed {len(changes)} change(s); they are shown to the user, who will "
                    f"apply or discard them. Tell the user what you proposed.\n{edit.describe()}")
            return ToolResult(observation=text, payload={"pending": True, "changes": changes})

    return PendingSheetTool


class Session:
    def __init__(self, agent: TableAgent, source: Any, *, auto_apply: bool = True,
                 workdir: str | Path | None = None) -> None:
        from table_io.versions import VersionStore

        self.agent = agent
        self.auto_apply = auto_apply
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="tablepilot-chat-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        original = self._original_path(source)
        self.versions = VersionStore(original, self.workdir / "versions")
        self._workbook = open_workbook(self.versions.current_path)
        self.turns: list[Turn] = []
        self.pending: PendingEdit | None = None

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

    # ---------------------------------------------------------------- state

    @property
    def workbook(self) -> Workbook:
        """The current version, opened."""
        return self._workbook

    @property
    def workbook_path(self) -> Path:
        """The current version's file (download this one)."""
        return Path(self.versions.current_path)

    @property
    def history(self) -> list[Turn]:
        return list(self.turns)

    def _reload(self) -> None:
        self._workbook = open_workbook(self.versions.current_path)

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

    def _tools(self) -> list[Tool]:
        tools = self.agent.make_tools(self._workbook, versions=self.versions)
        sheet = find_tool(tools, "sheet")
        if sheet is None:
            from tools.sheet import SheetTool

            sheet = SheetTool(self.versions)
            tools.append(sheet)
        if not self.auto_apply:
            pending_cls = pending_tool_class(type(sheet))
            tools = [pending_cls(sheet, self) if t is sheet else t  # type: ignore[call-arg]
                     for t in tools]
        return tools

    def _after_tool(self, tools: list[Tool]) -> Any:
        def hook(name: str, result: ToolResult) -> None:
            if name != "sheet" or (isinstance(result.payload, dict)
                                   and result.payload.get("pending")):
                return
            self._reload()
            for tool in tools:
                refresh = getattr(tool, "refresh", None)
                if callable(refresh):
                    refresh(self._workbook)
        return hook

    def send(self, text: str, *, on_step: OnStep | None = None,
             on_text: OnText | None = None) -> Answer:
        """One turn: answer ``text`` (or make the edit it asks for), with the earlier turns."""
        backend = self.agent.backend
        tools = self._tools()
        try:
            ctx, informer = self.agent.context(self._workbook, text, tools,
                                               history=self.history_messages())
            run = Run(backend, tools, text, context=ctx, limits=self.agent.limits,
                      informer=informer,
                      retriever=Retriever(k=self.agent.examples, mode=backend.tool_mode),
                      on_step=on_step, on_text=on_text, after_tool=self._after_tool(tools))
            answer = run.execute()
        finally:
            close_tools(tools)
        if answer.version is None and any(s.tool == "sheet" and s.error is None
                                          for s in answer.steps) and self.auto_apply:
            answer.version = self.versions.version
        self.turns.append(Turn(text, answer))
        return answer

    # ---------------------------------------------------------------- edits

    def apply_pending(self) -> int:
        """Apply the held edit as one new version; returns the version number."""
        if self.pending is None:
            raise ValueError("there is no pending edit")
        from tools.sheet import SheetTool

        result = SheetTool(self.versions)({"actions": self.pending.actions})
        if result.error is not None:
            raise ValueError(f"the pending edit could not be applied: {result.error.message}")
        self.pending = None
        self._reload()
        self.turns.append(Turn("", event=f"The user applied the proposed edit (now version "
                               f"{self.versions.version})."))
        return self.versions.version

    def discard_pending(self) -> None:
        if self.pending is not None:
            self.turns.append(Turn("", event="The user discarded the proposed edit."))
        self.pending = None

    def undo(self) -> int:
        version = self.versions.undo()
        self._reload()
        self.turns.append(Turn("", event=f"The user undid the last edit (now version {version})."))
        return version

    def redo(self) -> int:
        version = self.versions.redo()
        self._reload()
        self.turns.append(Turn("", event=f"The user redid an edit (now version {version})."))
        return version

    def save(self, path: str | Path) -> Path:
        """Copy the current version to ``path``."""
        import shutil

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.workbook_path, target)
        return target
