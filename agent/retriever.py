"""Retriever: few-shot exemplars chosen by similarity to the task (BM25 over prompts/*.jsonl),
and after an error, exemplars showing how that kind of error was fixed."""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from typing import Any

from rank_bm25 import BM25Okapi

import prompts
from agent.view import schema_line

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "a", "an", "of", "in", "on", "to", "is", "was", "what", "which", "who", "how",
         "did", "does", "do", "and", "or", "for", "by", "with", "at", "from", "are", "were", "be"}


def tokenize(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class _Index:
    def __init__(self, items: tuple[dict[str, Any], ...], fields: tuple[str, ...]) -> None:
        self.items = items
        docs = [tokenize(" ".join(str(item.get(f, "")) for f in fields)) or ["_"] for item in items]
        self.bm25 = BM25Okapi(docs)
        self.lock = threading.Lock()

    def top(self, query: str, k: int, allowed_tools: set[str] | None = None) -> list[dict[str, Any]]:
        words = tokenize(query)
        if not words or k <= 0:
            return []
        with self.lock:
            scores = self.bm25.get_scores(words)
        ranked = sorted(range(len(self.items)), key=lambda i: -scores[i])
        out: list[dict[str, Any]] = []
        for i in ranked:
            item = self.items[i]
            if allowed_tools and not _tools_of(item) <= allowed_tools:
                continue
            if scores[i] <= 0 and out:
                break
            out.append(item)
            if len(out) == k:
                break
        return out


def _tools_of(item: dict[str, Any]) -> set[str]:
    steps = item.get("steps") or [item.get("fixed", {})]
    return {s.get("tool", "") for s in steps if s}


@cache
def _task_index() -> _Index:
    return _Index(prompts.load_jsonl("exemplars.jsonl"), ("question", "table", "id"))


@cache
def _fix_index() -> _Index:
    return _Index(prompts.load_jsonl("fixes.jsonl"), ("error", "note", "id"))


def render_call(tool: str, args: dict[str, Any], mode: str) -> str:
    """A tool call as the model should write it (native: name(arg=...); text: the protocol)."""
    if mode == "text":
        if tool == "sql" and "query" in args:
            return f"```sql\n{args['query']}\n```"
        if tool == "python" and "code" in args:
            return f"```python\n{args['code']}\n```"
        if tool == "final_answer":
            answer = args.get("answer")
            shown = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
            return f"Final answer: {shown}"
        return json.dumps({"tool": tool, "arguments": args}, ensure_ascii=False)
    inner = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return f"{tool}({inner})"


def _table_spec(spec: str) -> tuple[str, list[str], str] | None:
    """'games(date, venue)  -- note' -> ('games', ['date', 'venue'], 'note')."""
    m = re.match(r"\s*(\w+)\((.*?)\)\s*(?:--\s*(.*))?$", spec)
    if not m:
        return None
    name, cols, note = m.groups()
    return name, [c.strip() for c in cols.split(",")], note or ""


def _table_block(spec: str) -> str:
    """An exemplar's table in the same shape as the packed view's header and schema line."""
    parsed = _table_spec(spec)
    if parsed is None:
        return f"Table {spec}"
    name, cols, note = parsed
    text = f"Table {name}\nColumns: {'; '.join(cols)}"
    text += f"\nNote: {note}" if note else ""
    return text + f"\n\nTables and columns: {schema_line({name: cols})}"


def render_example(item: dict[str, Any], mode: str) -> str:
    lines = [f"Question: {item['question']}", f"Table: {item['table']}"]
    for step in item["steps"]:
        lines.append(render_call(step["tool"], step["args"], mode))
        lines.append(f"Result:\n{step['result']}")
    lines.append(render_call("final_answer", {"answer": item["answer"]}, mode))
    return "\n".join(lines)


def render_fix(item: dict[str, Any], mode: str) -> str:
    wrong, fixed = item["wrong"], item["fixed"]
    return (f"Wrong: {render_call(wrong['tool'], wrong['args'], mode)}\n"
            f"Fixed: {render_call(fixed['tool'], fixed['args'], mode)}\n"
            f"Why: {item['note']}")


def fixed_examples(k: int, tools: set[str] | None = None) -> list[dict[str, Any]]:
    """The first ``k`` exemplars the tools can run, in the file's order (the general patterns
    come first): the same for every question."""
    items = [item for item in _task_index().items
             if not tools or _tools_of(item) <= tools]
    return items[:k]


class Retriever:
    """Picks exemplars for a task and fixes for an error, rendered for the model's tool mode.

    ``fixed``: the same exemplars for every question instead of the most similar ones. The
    prompt then starts with the same text up to the table view for every question on a
    workbook, which a server's prompt cache reuses instead of reading again (docs/speed.md)."""

    def __init__(self, k: int = 2, k_fix: int = 1, mode: str = "native",
                 fixed: bool = False) -> None:
        self.k = k
        self.k_fix = k_fix
        self.mode = mode
        self.fixed = fixed

    def _top(self, question: str, tools: set[str] | None) -> list[dict[str, Any]]:
        return (fixed_examples(self.k, tools) if self.fixed
                else _task_index().top(question, self.k, tools))

    def examples(self, question: str, tools: set[str] | None = None) -> list[str]:
        return [render_example(item, self.mode) for item in self._top(question, tools)]

    def example_messages(self, question: str, tools: set[str] | None = None) -> list[Any]:
        """The exemplars as earlier chat turns (small models follow these far better than
        examples pasted into the prompt)."""
        from langchain_core.messages import AIMessage, HumanMessage

        out: list[Any] = []
        for item in self._top(question, tools):
            out.append(HumanMessage(f"{_table_block(item['table'])}\nQuestion: {item['question']}"))
            for step in item["steps"]:
                out.append(AIMessage(render_call(step["tool"], step["args"], "text")))
                out.append(HumanMessage(f"Result of {step['tool']}:\n{step['result']}"))
            out.append(AIMessage(render_call("final_answer", {"answer": item["answer"]}, "text")))
        return out

    def fixes(self, error_text: str, tools: set[str] | None = None) -> list[str]:
        if self.mode == "text":  # small models copy a shown call verbatim: give the lesson only
            return [item["note"] for item in _fix_index().top(error_text, self.k_fix, tools)]
        return [render_fix(item, self.mode)
                for item in _fix_index().top(error_text, self.k_fix, tools)]
