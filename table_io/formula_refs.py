"""Formulas never reach outside their workbook.

Three walls, used wherever formulas are computed (table_io.formula_values on open,
table_io.recalc after an edit) or written (the sheet tool):

1. ``external_reason(formula)`` reads a formula with openpyxl's tokenizer and names what in it
   points outside the workbook: a book in brackets (``'../x/[secret.xlsx]S'!A1``, ``[1]S!A1``),
   a path or URL as a sheet name, DDE (``cmd|x!A1``), a function that reads files, the network
   or the host (INDIRECT, HYPERLINK, WEBSERVICE, RTD, CALL, INFO, CELL, ...), a defined name
   that points outside, or text the tokenizer cannot read (fail closed).
2. ``isolated_copy`` writes the workbook for the ``formulas`` package into an empty folder with
   its external-link parts (xl/externalLinks/*, their relationships) removed.
3. ``own_book_only`` wraps the only place the ``formulas`` package opens a workbook file: inside
   it, opening any file but the one being computed raises, so a reference the first two walls
   missed becomes ``#REF!``, never another file's contents.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import zipfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

HINT = ("formulas may only reference cells of this workbook: write A1, B2:B9 or 'Other sheet'!A1, "
        "not another file, a path, a URL or INDIRECT()")

# Functions that read files, the network, the host or other programs, or whose target is
# computed at run time (INDIRECT) and so cannot be checked.
DENIED_FUNCTIONS = frozenset({
    "INDIRECT", "HYPERLINK", "DDE", "DDEAUTO", "WEBSERVICE", "FILTERXML", "RTD", "CALL",
    "REGISTER", "REGISTER.ID", "UNREGISTER", "EXEC", "EXECUTE", "EVALUATE", "IMAGE", "INFO",
    "CELL", "STOCKHISTORY", "SQL.REQUEST", "FILES", "DIRECTORY", "FOPEN", "FREAD", "FREADLN",
    "FWRITE", "FWRITELN", "FCLOSE", "FPOS", "FSIZE", "OPEN", "LINKS", "DOCUMENTS",
})
_DENIED_PREFIXES = ("CUBE", "GET.", "_XLL.", "PY")
_FUNCTION_PREFIXES = ("_XLFN._XLWS.", "_XLFN.", "_XLWS.")
_MAX_NAME_DEPTH = 8

_CELL_REF = re.compile(
    r"^(\$?[A-Z]{1,3}\$?[0-9]+(:\$?[A-Z]{1,3}\$?[0-9]+)?|\$?[A-Z]{1,3}:\$?[A-Z]{1,3}|\$?[0-9]+:\$?[0-9]+)$",
    re.I)
_PATH_CHARS = re.compile(r"[\[\]/\\|]")
_BOOK_SUFFIX = re.compile(r"\.(xl[a-z]{1,2}|ods|csv|txt|xml|json|html?)$", re.I)


def external_reason(formula: str, *, sheet_names: Collection[str] | None = None,
                    names: Callable[[str], str | None] | None = None, _depth: int = 0) -> str | None:
    """Why ``formula`` may read outside its workbook, or None when it is self-contained.

    ``sheet_names``: the workbook's sheets (a sheet prefix naming no sheet is refused);
    ``names(name)``: a defined name's formula text, or None when the name is not defined.
    """
    from openpyxl.formula.tokenizer import Token, Tokenizer

    text = formula if formula.startswith("=") else "=" + formula
    try:
        tokens = Tokenizer(text).items
    except Exception:
        return "the formula cannot be read safely"
    known = {s.casefold() for s in sheet_names} if sheet_names is not None else None
    for token in tokens:
        if token.type == Token.FUNC and token.subtype == Token.OPEN:
            name = _function_name(token.value)
            if name in DENIED_FUNCTIONS or name.startswith(_DENIED_PREFIXES):
                return f"{name}() reads outside the workbook or computes its target"
        elif token.type == Token.OPERAND and token.subtype == Token.RANGE:
            reason = _range_reason(token.value, known, names, _depth)
            if reason:
                return reason
    return None


def _function_name(opening: str) -> str:
    name = opening.rstrip("(").strip().upper()
    for prefix in _FUNCTION_PREFIXES:
        name = name.removeprefix(prefix)
    return name


def _range_reason(operand: str, known: set[str] | None, names: Callable[[str], str | None] | None,
                  depth: int) -> str | None:
    if "|" in operand:
        return f"{operand} is a DDE link to another program"
    sheet_part, _, _cells = _split_sheet(operand)
    if sheet_part is not None:
        for sheet in _sheet_names(sheet_part):
            if _PATH_CHARS.search(sheet) or "://" in sheet or re.match(r"^[A-Za-z]:", sheet):
                return f"{operand} refers to another file"
            if _BOOK_SUFFIX.search(sheet) and (known is None or sheet.casefold() not in known):
                return f"{operand} refers to another workbook"
            if known is not None and sheet.casefold() not in known:
                return f"{operand} names no sheet of this workbook"
        return None
    if re.match(r"^\[[^\]]*\][^\[\]]", operand):  # [1]Name, [book.xlsx]Name
        return f"{operand} refers to another workbook"
    if "[" in operand or _CELL_REF.match(operand) or names is None:
        return None  # a structured table reference, a cell, or names not checked here
    target = names(operand)
    if target is None:
        return None
    if depth >= _MAX_NAME_DEPTH:
        return f"the defined name {operand} is nested too deeply"
    inner = external_reason(target, sheet_names=known, names=names, _depth=depth + 1)
    return f"the defined name {operand} points outside the workbook ({inner})" if inner else None


def _split_sheet(operand: str) -> tuple[str | None, str, str]:
    """(text before the last '!' outside quotes, '!', cells) or (None, '', operand)."""
    in_quote = False
    last = -1
    for i, ch in enumerate(operand):
        if ch == "'":
            in_quote = not in_quote
        elif ch == "!" and not in_quote:
            last = i
    if last < 0:
        return None, "", operand
    return operand[:last], "!", operand[last + 1:]


def _sheet_names(prefix: str) -> Iterator[str]:
    """The sheet names in a prefix: 'My Sheet', Sheet1:Sheet3, 'a'!A1:'b' (ranges between sheets)."""
    for quoted, bare in re.findall(r"'((?:[^']|'')*)'|([^':!]+)", prefix):
        name = quoted.replace("''", "'") if quoted else bare
        # a range between sheets keeps the cells of the first part: 'S'!A1:'T' -> S and T
        if name and not (bare and _CELL_REF.match(bare)):
            yield name


# --------------------------------------------------------------------------- the package copy

_EXTERNAL_REL = re.compile(r"<Relationship\b[^>]*?Type=\"[^\"]*/externalLink(?:Path)?\"[^>]*?/>", re.S)
_EXTERNAL_REFS = re.compile(r"<(?:\w+:)?externalReferences\b.*?</(?:\w+:)?externalReferences>|"
                            r"<(?:\w+:)?externalReferences\b[^>]*/>", re.S)
_EXTERNAL_OVERRIDE = re.compile(r"<Override\b[^>]*?PartName=\"/xl/externalLinks/[^\"]*\"[^>]*?/>", re.S)


def has_external_links(data_or_path: bytes | str | Path) -> bool:
    """Whether the .xlsx package holds external-link parts (links to other workbooks)."""
    with _open_zip(data_or_path) as zf:
        return any(n.lower().startswith("xl/externallinks/") for n in zf.namelist())


def isolated_copy(data_or_path: bytes | str | Path, folder: Path, name: str = "book.xlsx",
                  cut: dict[str, set[str]] | None = None) -> Path:
    """The workbook written to ``folder/name`` without its external-link parts.

    ``folder`` should be a new, empty temporary folder: the formulas package resolves other
    books relative to the workbook's folder. ``cut``: zip member -> cells whose formula is
    replaced by a #REF! error, so the engine never sees it and its dependents read an error."""
    out = folder / name
    cut = cut or {}
    with _open_zip(data_or_path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            lowered = info.filename.lower()
            if lowered.startswith("xl/externallinks/"):
                continue
            data = src.read(info.filename)
            if lowered == "xl/_rels/workbook.xml.rels":
                data = _EXTERNAL_REL.sub("", data.decode("utf-8")).encode("utf-8")
            elif lowered == "xl/workbook.xml":
                data = _EXTERNAL_REFS.sub("", data.decode("utf-8")).encode("utf-8")
            elif lowered == "[content_types].xml":
                data = _EXTERNAL_OVERRIDE.sub("", data.decode("utf-8")).encode("utf-8")
            elif cut.get(info.filename):
                data = _cut_cells(data.decode("utf-8"), cut[info.filename]).encode("utf-8")
            dst.writestr(info, data)
    return out


def _cut_cells(xml: str, refs: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        return f'<c r="{match.group(1)}" t="e"><v>#REF!</v></c>' if match.group(1) in refs else match.group(0)

    return re.sub(r'<c r="([A-Z]{1,3}[0-9]+)"(?:\s[^>]*?)?(?:/>|>.*?</c>)', replace, xml, flags=re.S)


@contextlib.contextmanager
def _open_zip(data_or_path: bytes | str | Path) -> Iterator[zipfile.ZipFile]:
    import io

    source: Any = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else data_or_path
    with zipfile.ZipFile(source) as zf:
        yield zf


# --------------------------------------------------------------------------- the loader wall


class ExternalBookRefused(PermissionError):
    """The formulas package tried to open a file other than the workbook being computed."""


# realpath -> how many computations allow it; every other file is refused, in every thread
_ALLOWED_BOOKS: dict[str, int] = {}
_LOCK = threading.Lock()
_installed = False


def _install_loader_guard() -> None:
    """Wrap formulas.excel.xlreader.load_workbook once (formulas' only way to open a book);
    called with ``_LOCK`` held. It then opens only the files ``own_book_only`` allows."""
    global _installed
    if _installed:
        return
    from formulas.excel import xlreader

    original = xlreader.load_workbook

    def guarded_load_workbook(filename: Any, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            allowed = _real(filename) in _ALLOWED_BOOKS
        if not allowed:
            raise ExternalBookRefused(f"formulas may not open {filename!r}: another workbook")
        return original(filename, *args, **kwargs)

    xlreader.load_workbook = guarded_load_workbook
    _installed = True


def _real(path: Any) -> str:
    return os.path.realpath(os.fspath(path))


@contextlib.contextmanager
def own_book_only(path: Path) -> Iterator[None]:
    """While inside, the formulas package may open ``path`` and no other file."""
    real = _real(path)
    with _LOCK:
        _install_loader_guard()
        _ALLOWED_BOOKS[real] = _ALLOWED_BOOKS.get(real, 0) + 1
    try:
        yield
    finally:
        with _LOCK:
            _ALLOWED_BOOKS[real] -= 1
            if not _ALLOWED_BOOKS[real]:
                del _ALLOWED_BOOKS[real]
