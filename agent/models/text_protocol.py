"""Tool calls written as text, for models without native tool calling (and for the ones that
write the call into the message content anyway, as llama.cpp does with ``tool_choice="auto"``).

Recognised, in this order of preference:
- a JSON action: ``{"tool": "sql", "arguments": {...}}``, ``{"name": ..., "arguments": ...}``,
  ``{"function": {"name": ..., "arguments": "<json string>"}}``, optionally inside
  ``<tool_call>...</tool_call>`` (Qwen's template) or a ```json fence;
- a fenced ```sql / ```python block (an unlabeled fence that starts with SELECT/WITH is SQL);
- a final answer line: ``Final answer: ...`` / ``Answer: ...``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:```|\Z)", re.S)
_TOOL_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.S)
_FINAL = re.compile(r"(?im)^[ \t>*#_-]*(?:\*\*)?(?:final[ _]answer|answer)(?:\*\*)?[ \t]*[:=][ \t]*(.+?)\s*$")
_SQL_START = re.compile(r"^\s*(select|with)\b", re.I)
_NAME_KEYS = ("tool", "name", "action", "function", "tool_name")
_ARG_KEYS = ("arguments", "args", "parameters", "input", "tool_input", "action_input")
_ALIASES = {"final": "final_answer", "answer": "final_answer", "finalanswer": "final_answer",
            "final_answer": "final_answer", "sql_query": "sql", "query": "sql",
            "run_sql": "sql", "execute_sql": "sql", "python_code": "python", "pandas": "python"}
_MAIN_ARG = {"sql": "query", "python": "code", "final_answer": "answer", "sheet": "actions"}


@dataclass
class ParsedCall:
    name: str
    args: dict[str, Any]
    source: str  # 'json', 'fence' or 'final'


@dataclass
class Parsed:
    calls: list[ParsedCall] = field(default_factory=list)
    text: str = ""  # the content with the recognised calls removed

    @property
    def call(self) -> ParsedCall | None:
        return self.calls[0] if self.calls else None


def normalise_name(name: str, known: set[str] | None = None) -> str:
    key = re.sub(r"^(functions?|tools?)\.", "", name.strip()).lower()
    key = _ALIASES.get(key.replace(" ", "_"), key)
    if known and key not in known:
        for candidate in known:
            if candidate in key:
                return candidate
    return key


def _json_objects(text: str) -> list[tuple[int, int, Any]]:
    """Every top-level JSON object in ``text`` with its span (tolerant of prose around it)."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, int, Any]] = []
    i = 0
    while (start := text.find("{", i)) != -1:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj = _loose_json(text, start)
            if obj is None:
                i = start + 1
                continue
            obj, end = obj
        found.append((start, end, obj))
        i = end
    return found


def _loose_json(text: str, start: int) -> tuple[Any, int] | None:
    """Balanced-brace slice parsed with Python-ish fixes (single quotes, trailing commas)."""
    depth, in_str, quote, escaped = 0, False, "", False
    for j in range(start, len(text)):
        ch = text[j]
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                in_str = False
        elif ch in "\"'":
            in_str, quote = True, ch
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                chunk = text[start:j + 1]
                fixed = re.sub(r",\s*([}\]])", r"\1", chunk)
                for candidate in (fixed, fixed.replace("'", '"')):
                    try:
                        return json.loads(candidate), j + 1
                    except json.JSONDecodeError:
                        continue
                return None
    return None


def _as_call(obj: Any, known: set[str] | None) -> ParsedCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI shape
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None:
        return None
    args: Any = next((obj[k] for k in _ARG_KEYS if k in obj), None)
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except json.JSONDecodeError:
            pass
    tool = normalise_name(name, known)
    if known and tool not in known:
        return None
    if args is None:
        args = {k: v for k, v in obj.items() if k not in _NAME_KEYS}
    if not isinstance(args, dict):
        args = {_MAIN_ARG.get(tool, "input"): args}
    return ParsedCall(tool, args, "json")


def parse(content: str, known: set[str] | None = None) -> Parsed:
    """Find the tool calls a model wrote as text. ``known`` limits the tool names accepted."""
    text = content or ""
    known = set(known) if known else None
    calls: list[ParsedCall] = []
    spans: list[tuple[int, int]] = []

    # 1. JSON actions (tagged, fenced or bare)
    for start, end, obj in _json_objects(text):
        items = obj if isinstance(obj, list) else [obj]
        for item in items:
            call = _as_call(item, known)
            if call is not None:
                calls.append(call)
                spans.append((start, end))
    if calls:
        return Parsed(calls, _strip(text, spans))

    # 2. fenced code
    for m in _FENCE.finditer(text):
        lang, body = m.group(1).lower(), m.group(2).strip()
        if not body:
            continue
        if lang in ("sql", "duckdb", "sqlite", "postgresql", "mysql") or (
                not lang and _SQL_START.match(body)):
            tool, arg = "sql", "query"
        elif lang in ("python", "py", "pandas"):
            tool, arg = "python", "code"
        else:
            continue
        if known and tool not in known:
            continue
        calls.append(ParsedCall(tool, {arg: body}, "fence"))
        spans.append(m.span())
        break  # one action per turn
    if calls:
        return Parsed(calls, _strip(text, spans))

    # 3. a call written like a function: sql(query="SELECT ...") / final_answer(answer=3)
    call = _function_style(text, known)
    if call is not None:
        return Parsed([call], text)

    # 4. final answer
    finals = _FINAL.findall(text)
    if finals:
        raw = finals[-1].strip().strip("`").strip()
        if _SQL_START.match(raw) and " from " in raw.lower() and (not known or "sql" in known):
            return Parsed([ParsedCall("sql", {"query": raw}, "fence")], "")
        return Parsed([ParsedCall("final_answer", {"answer": parse_answer_text(raw)}, "final")],
                      text)

    # 5. a reply that is a bare query, without the fence
    query = _bare_query(text)
    if query and (not known or "sql" in known):
        return Parsed([ParsedCall("sql", {"query": query}, "fence")], "")
    return Parsed([], text)


def _bare_query(text: str) -> str | None:
    """The query when the whole reply (up to a blank line or ';') is one SELECT/WITH ... FROM."""
    head = re.split(r";|\n\s*\n", text.strip(), maxsplit=1)[0].strip()
    if _SQL_START.match(head) and re.search(r"\bfrom\b", head, re.I):
        return head
    return None


_FUNC = re.compile(r"(?<![\w.])(sql|python|final_answer|sheet)\(\s*(?:(\w+)\s*=\s*)?", re.S)


def _function_style(text: str, known: set[str] | None) -> ParsedCall | None:
    import ast

    for m in _FUNC.finditer(text):
        tool = m.group(1)
        if known and tool not in known:
            continue
        rest = text[m.end():]
        # the longest prefix ending in ')' that parses as one Python literal
        for end in [i for i, ch in enumerate(rest) if ch == ")"]:
            chunk = rest[:end].strip()
            try:
                value = ast.literal_eval(chunk) if chunk else None
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                continue
            key = m.group(2) or _MAIN_ARG.get(tool, "input")
            if tool in ("sql", "python") and not isinstance(value, str):
                break
            return ParsedCall(tool, {key: value}, "function")
    return None


def parse_answer_text(raw: str) -> Any:
    """'["a", "b"]' -> list; '"x"' -> 'x'; a bare '42.' -> '42'; anything else stays text."""
    raw = raw.strip()
    if raw[:1] in "[{\"":
        try:
            value = json.loads(raw)
            if isinstance(value, dict) and "answer" in value:
                value = value["answer"]
            return value
        except json.JSONDecodeError:
            pass
    if len(raw) > 1 and raw[-1] == "." and "." not in raw[:-1]:
        raw = raw[:-1]
    return raw.strip("*").strip()


def _strip(text: str, spans: list[tuple[int, int]]) -> str:
    out, last = [], 0
    for start, end in sorted(spans):
        out.append(text[last:start])
        last = max(last, end)
    out.append(text[last:])
    cleaned = re.sub(r"</?tool_call>", "", "".join(out))
    return cleaned.strip()
