"""What an edit request asks for, read from its words: which sheet actions it needs (the
vocabulary in prompts/edit_kinds.yaml), the sort direction, the new columns and sheets it names,
the chart type. The loop uses it to choose the edit prompt and exemplars and to check a drafted
edit against the request (agent/rules/edits.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import prompts

_QUESTION_START = re.compile(
    r"^\s*(what|which|who|whom|whose|when|where|why|how|is|are|was|were|does|do|did|can|could|"
    r"should|list|name|tell|give me|show me|find|count)\b", re.I)
_EDIT_VERBS = re.compile(
    r"\b(add|insert|create|make|sort|order|arrange|highlight|format|colou?r|bold|italici[sz]e|"
    r"underline|convert|change|rename|delete|remove|fill|autofill|merge|unmerge|split|freeze|"
    r"unfreeze|hide|unhide|chart|plot|draw|write|put|set|copy|paste|move|replace|apply|"
    r"calculate|compute|enter|type|insert|drop|clear|erase|resize|autofit|wrap|align|center|"
    r"centre|link|hyperlink|filter|summari[sz]e|pivot|duplicate|label|mark|shade|display|"
    r"round|transpose|protect|lock|validate|restrict)\b", re.I)
_WHERE = re.compile(r"\b(in|into|to|on) (a |an |the )?(new |another |separate )?(column|cell|row|"
                    r"sheet|worksheet|range)\b|\b(column|cell) [A-Z]{1,3}\d*\b", re.I)

_ASC = re.compile(r"\b(ascending|ascend|oldest|earliest|a ?(to|-|→) ?z|smallest|lowest|least|"
                  r"increasing|low(est)? to high(est)?|alphabetical(ly)?|chronological(ly)?|"
                  r"first to last|fewest)\b", re.I)
_DESC = re.compile(r"\b(descending|descend|newest|latest|most recent|z ?(to|-|→) ?a|largest|"
                   r"highest|biggest|greatest|decreasing|high(est)? to low(est)?|"
                   r"reverse (alphabetical|chronological)|last to first|most)\b", re.I)
_CHART_TYPES = {"bar": "bar", "column": "column", "line": "line", "pie": "pie",
                "scatter": "scatter", "xy": "scatter", "area": "area", "histogram": "column"}
_CHART_WORD = re.compile(r"\b(bar|column|line|pie|scatter|xy|area|histogram)\s*(chart|graph|plot)?s?\b"
                         r"(?=.*\b(chart|graph|plot))|\b(bar|column|line|pie|scatter|area)\s+"
                         r"(chart|graph|plot)", re.I)
_QUOTED = r"[\"“”'‘’]([^\"“”'‘’\n]{1,60})[\"“”'‘’]"
_COLUMN_NAMES = (
    re.compile(r"\bcolumns? (?:named|called|titled|labell?ed|headed|with (?:the )?header(?: of)?) "
               + _QUOTED, re.I),
    re.compile(_QUOTED + r" column\b", re.I),
    re.compile(r"\b(?:new|add(?:ing)? (?:a |an |the )?(?:new )?) ?columns? " + _QUOTED, re.I),
    re.compile(r"\bcolumns? (?:named|called|titled|labell?ed|headed) ([A-Z][\w%$ ]{0,30}?)"
               r"(?=\s+(?:that|which|with|to|for|where|showing|containing|in|on|as)\b|[,.;:(]|$)"),
    re.compile(r"\b(?i:add) (?:a |an )?(?:new )?column ([A-Z][\w%$]*(?: [A-Z][\w%$]*){0,3})"
               r"(?=\s+(?:that|which|with|to|for|where|showing|containing|in|on|as|=)\b|[,.;:(]|$)"),
)
_SHEET_NAMES = (
    re.compile(r"\b(?:work)?sheet (?:named|called|titled) " + _QUOTED, re.I),
    re.compile(r"\b(?:new|another|separate) (?:work)?sheet " + _QUOTED, re.I),
    re.compile(r"\b(?:work)?sheet (?:named|called|titled) ([A-Z][\w]*(?: [A-Z][\w]*){0,3})"
               r"(?=\s|[,.;:]|$)"),
)
_NEW_SHEET = re.compile(r"\b(new|another|separate|second) (work)?sheet\b|\b(create|add|insert) "
                        r"(a |an )?(new )?(work)?sheet\b", re.I)
_CONVERT_TO = re.compile(r"\b(?:to|into|as) (?:real |proper )?(numbers?|numeric|dates?|text)\b"
                         r"(?<!stored as text)", re.I)


@cache
def vocabulary() -> dict[str, dict[str, Any]]:
    """prompts/edit_kinds.yaml, with its patterns compiled."""
    import yaml

    data = yaml.safe_load(prompts.load("edit_kinds.yaml")) or {}
    return {kind: {"patterns": [re.compile(p, re.I) for p in spec.get("patterns", [])],
                   "satisfied_by": tuple(spec.get("satisfied_by", [kind])),
                   "related": tuple(spec.get("related", []))}
            for kind, spec in data.items()}


@dataclass(frozen=True)
class EditIntent:
    """What the request asks to change. ``kinds`` are sheet action names (see edit_kinds.yaml);
    ``ascending`` is the sort direction the words ask for (None: not said)."""

    request: str
    is_edit: bool = False
    kinds: tuple[str, ...] = ()
    ascending: bool | None = None
    new_columns: tuple[str, ...] = ()
    new_sheet: bool = False
    sheet_names: tuple[str, ...] = ()
    chart_type: str | None = None
    convert_to: str | None = None

    def satisfied(self, kind: str, actions: set[str]) -> bool:
        """Whether the actions done carry out ``kind``."""
        spec = vocabulary().get(kind)
        return bool(actions & set(spec["satisfied_by"] if spec else (kind,)))

    def missing(self, actions: set[str]) -> list[str]:
        """The kinds the request names that no action done carries out."""
        return [k for k in self.kinds if not self.satisfied(k, actions)]

    def action_names(self) -> list[str]:
        """The sheet actions this request may need (its kinds and their related actions)."""
        names: list[str] = []
        for kind in self.kinds:
            spec = vocabulary().get(kind, {})
            for name in (kind, *spec.get("related", ())):
                if name not in names:
                    names.append(name)
        return names


def _first_group(patterns: tuple[re.Pattern[str], ...], text: str) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            name = " ".join(m.group(1).split()).strip(" .")
            if name and name.lower() not in (f.lower() for f in found):
                found.append(name)
    return found


def sort_direction(text: str) -> bool | None:
    """True for ascending words, False for descending ones, None when neither or both."""
    asc, desc = bool(_ASC.search(text)), bool(_DESC.search(text))
    if asc == desc:
        return None
    return asc


def _sort_clause(text: str) -> str:
    """The words about sorting (a direction word elsewhere, e.g. 'the highest sales', is not
    the sort's direction)."""
    m = re.search(r"\b(sort|order|arrange|rank)\w*\b[^.;]*", text, re.I)
    return m.group(0) if m else ""


def read_intent(request: str) -> EditIntent:
    """The edit intent of ``request`` (``is_edit`` False for a question)."""
    text = " ".join(request.split())
    kinds = [kind for kind, spec in vocabulary().items()
             if any(p.search(text) for p in spec["patterns"])]
    question = text.rstrip().endswith("?") or bool(_QUESTION_START.match(text))
    verbs = bool(_EDIT_VERBS.search(text))
    is_edit = bool(kinds) and verbs and (not question or bool(_WHERE.search(text)))
    if not is_edit:
        return EditIntent(request=request)
    # a sort is only a sort when it is asked for; 'formula' alone from 'total' words needs a place
    if "formula" in kinds and len(kinds) > 1 and not re.search(
            r"\bformula|calculate|compute|\bcolumn\b|\bcells?\b|\b[A-Z]{1,3}\d+\b", text, re.I):
        kinds.remove("formula")  # 'total revenue per region' asks for a summary, not a formula
    chart = None
    if "chart" in kinds and (m := _CHART_WORD.search(text)):
        word = (m.group(1) or m.group(4) or "").lower()
        chart = _CHART_TYPES.get(word)
    convert = None
    if "convert" in kinds and (m := _CONVERT_TO.search(text)):
        word = m.group(1).lower()
        convert = "number" if word.startswith(("number", "numeric")) else (
            "date" if word.startswith("date") else "text")
    sort_words = _sort_clause(text) if "sort" in kinds else ""
    return EditIntent(
        request=request, is_edit=True, kinds=tuple(kinds),
        ascending=sort_direction(sort_words) if sort_words else None,
        new_columns=tuple(_first_group(_COLUMN_NAMES, text)),
        new_sheet=bool(_NEW_SHEET.search(text)), sheet_names=tuple(_first_group(_SHEET_NAMES, text)),
        chart_type=chart, convert_to=convert)
