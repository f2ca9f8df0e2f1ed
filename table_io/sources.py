"""Where the bytes come from and what they are: paths, bytes and file objects, sniffed by content.

The extension is only a hint: a format is decided by the file's magic bytes (a zip holding
``xl/workbook.xml`` is a workbook whatever it is called), and text falls back to CSV, unless it
is JSON or XML, or its name says it is a kind of file that is not a table (.md, .yaml, ...).
Every refusal names the file, what it is and the types tablepilot reads (``SUPPORTED``).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from table_io.errors import (
    CorruptFileError,
    EmptyWorkbookError,
    LimitExceededError,
    PasswordProtectedError,
    SourceNotFoundError,
    UnsupportedFormatError,
)
from table_io.limits import Limits

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
PARQUET_MAGIC = b"PAR1"
SPREADSHEET_FORMATS = {"xlsx", "xlsm", "xls", "ods"}
TEXT_FORMATS = {"csv", "tsv"}
SUPPORTED = "tablepilot reads .xlsx, .xlsm, .xls, .ods, .csv, .tsv and .parquet files"

_OTHER_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive",
    b"7z\xbc\xaf": "a 7-zip archive",
    b"Rar!": "a RAR archive",
    b"SQLite format 3": "an SQLite database",
    b"{\\rtf": "an RTF document",
    b"\x7fELF": "an executable",
    b"MZ": "an executable",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
}

# Text whose name says it is not a table: read as CSV it would become junk columns.
_TEXT_NOT_TABLES = {
    "json": "a JSON file", "jsonl": "a JSON Lines file", "ndjson": "a JSON Lines file",
    "geojson": "a GeoJSON file", "xml": "an XML file", "yaml": "a YAML file",
    "yml": "a YAML file", "toml": "a TOML file", "md": "a Markdown document",
    "markdown": "a Markdown document", "html": "an HTML page", "htm": "an HTML page",
    "svg": "an SVG image", "pdf": "a PDF document", "docx": "a Word document",
    "doc": "a Word document", "pptx": "a PowerPoint file", "rtf": "an RTF document",
    "py": "a Python script", "sql": "an SQL script", "ipynb": "a Jupyter notebook",
}


_HEAD_BYTES = 8192  # how much of a file is read to sniff its type
_JSON_START = re.compile(r'\s*(\{\s*"|\[\s*[\[{"])')


def not_a_table(what: str, display: str) -> UnsupportedFormatError:
    """The refusal for a file that is not a table: what it is, and what tablepilot reads."""
    return UnsupportedFormatError(f"is {what}, not a spreadsheet or table file; {SUPPORTED}",
                                  source=display)


@dataclass
class Source:
    """An input resolved to bytes on disk or in memory, with a display name and a format."""

    name: str  # what messages call it: the file name
    format: str  # xlsx xlsm xls ods csv tsv parquet
    path: Path | None = None
    data: bytes | None = None

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    def open(self) -> io.BufferedIOBase:
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        assert self.path is not None
        return self.path.stat().st_size


def resolve(source: Any, name: str | None, limits: Limits) -> Source:
    """Turn a path, str, bytes or binary file object into a sniffed :class:`Source`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        display = name or "<bytes>"
        _check_size(len(data), display, limits)
        return Source(display, sniff(data[:_HEAD_BYTES], display, lambda: data), data=data)
    if hasattr(source, "read"):
        display = name or Path(str(getattr(source, "name", "<file>"))).name
        data = source.read(limits.max_file_bytes + 1)
        if isinstance(data, str):
            data = data.encode("utf-8")
        _check_size(len(data), display, limits)
        return Source(display, sniff(data[:_HEAD_BYTES], display, lambda: data), data=data)
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        display = name or path.name
        if not path.exists():
            raise SourceNotFoundError("file not found", source=str(path))
        if path.is_dir():
            raise UnsupportedFormatError("is a folder, not a file", source=str(path))
        size = path.stat().st_size
        _check_size(size, display, limits)
        with path.open("rb") as fh:
            head = fh.read(_HEAD_BYTES)
        return Source(display, sniff(head, display, path.read_bytes), path=path)
    raise UnsupportedFormatError(
        f"cannot open an object of type {type(source).__name__}; pass a path, bytes, a binary "
        "file object or a pandas DataFrame",
        source=name or repr(source)[:60],
    )


def _check_size(size: int, display: str, limits: Limits) -> None:
    if size > limits.max_file_bytes:
        raise LimitExceededError(
            f"file is {size / 1e6:.1f} MB, over the {limits.max_file_bytes / 1e6:.0f} MB limit "
            "(raise it with TABLEPILOT_MAX_FILE_BYTES or Limits(max_file_bytes=...))",
            source=display,
        )
    if size == 0:
        raise EmptyWorkbookError("file is empty (0 bytes)", source=display)


def sniff(head: bytes, display: str, read_all: Any) -> str:
    """The format by magic bytes; the extension only breaks ties (csv vs tsv, xlsx vs xlsm)."""
    suffix = Path(display).suffix.lower().lstrip(".")
    if head.startswith(ZIP_MAGIC) or head.startswith(EMPTY_ZIP_MAGIC):
        return _sniff_zip(read_all(), display)
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(read_all(), display)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    for magic, what in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise not_a_table(what, display)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise not_a_table("a WebP image", display)
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        kind = f"a binary .{suffix} file" if suffix else "a binary file"
        raise not_a_table(f"{kind} of unknown type", display)
    if suffix in SPREADSHEET_FORMATS | {"parquet"}:
        raise CorruptFileError(
            f"has a .{suffix} name but its content is not a .{suffix} file (corrupt, or text "
            "renamed)",
            source=display,
        )
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:200].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        raise not_a_table("an HTML page", display)
    if lowered.startswith(b"<?xml"):
        raise not_a_table("an XML file", display)
    if suffix not in TEXT_FORMATS and suffix in _TEXT_NOT_TABLES:
        raise not_a_table(_TEXT_NOT_TABLES[suffix], display)
    if lowered.startswith((b"{", b"[")) and suffix not in TEXT_FORMATS:
        json_kind = _json_kind(head, whole=len(head) < _HEAD_BYTES)
        if json_kind:
            raise not_a_table(json_kind, display)
    return "tsv" if suffix == "tsv" else "csv"


def _json_kind(head: bytes, whole: bool) -> str | None:
    """'a JSON file' or 'a JSON Lines file' when the text is JSON, else None (a CSV whose first
    cell starts with a bracket). Only ``head`` is read: ``whole`` says it is the whole file;
    a longer file is JSON when it opens like JSON's arrays and objects do."""
    text = head.decode("utf-8-sig", errors="replace")
    if whole:
        try:
            json.loads(text)
            return "a JSON file"
        except ValueError:
            pass
    first, _, rest = text.lstrip().partition("\n")
    try:
        if isinstance(json.loads(first), dict | list):
            return "a JSON Lines file" if rest.strip() else "a JSON file"
    except ValueError:
        pass
    return None if whole or not _JSON_START.match(text) else "a JSON file"


def _sniff_zip(data: bytes, display: str) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            mimetype = b""
            if "mimetype" in names:  # read 100 bytes, never the whole (maybe bombed) entry
                with zf.open("mimetype") as fh:
                    mimetype = fh.read(100)
    except Exception as exc:  # BadZipFile, zlib.error, EOFError, an unsupported compression
        raise CorruptFileError(
            f"is a damaged or truncated zip container ({exc})", source=display
        ) from None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        if "xl/workbook.bin" in names and "xl/workbook.xml" not in names:
            raise UnsupportedFormatError(
                "is a binary .xlsb workbook; save it as .xlsx", source=display
            )
        macro = "xl/vbaProject.bin" in names or display.lower().endswith(".xlsm")
        return "xlsm" if macro else "xlsx"
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    if "word/document.xml" in names:
        raise not_a_table("a Word document", display)
    if "ppt/presentation.xml" in names:
        raise not_a_table("a PowerPoint file", display)
    if b"opendocument" in mimetype:
        raise not_a_table("an OpenDocument text, drawing or presentation file", display)
    if not names:
        raise EmptyWorkbookError("is an empty zip archive", source=display)
    raise not_a_table("a zip archive", display)


def _sniff_ole(data: bytes, display: str) -> str:
    """An OLE compound file: a legacy .xls, or an encrypted OOXML workbook."""
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise PasswordProtectedError(
            "is password-protected (encrypted); save an unprotected copy and open that",
            source=display,
        )
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if "WordDocument".encode("utf-16-le") in data:
        raise not_a_table("a Word .doc document", display)
    raise not_a_table("an OLE compound file without a workbook stream", display)
