"""Files that are not tables are refused by name, type and what tablepilot reads instead; text
that is a table (whatever it is called, a bracket in its first cell included) is still read."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from table_io import open_workbook
from table_io.errors import EmptyWorkbookError, TableIOError, UnsupportedFormatError
from table_io.limits import Limits
from table_io.sources import SUPPORTED

IN_PROCESS = Limits(isolate=False)


def zipped(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return buffer.getvalue()


NOT_TABLES = [
    ("cities.json", json.dumps([{"city": "Oslo", "population": 709000}]).encode(), "a JSON file"),
    ("cities.json", b'{"city": "Oslo"}', "a JSON file"),
    ("cities.jsonl", b'{"city": "Oslo"}\n{"city": "Bergen"}\n', "a JSON Lines file"),
    ("export.txt", b'{"city": "Oslo"}\n{"city": "Bergen"}\n', "a JSON Lines file"),
    ("export", b'\xef\xbb\xbf[1, 2, 3]', "a JSON file"),
    ("big.txt", b"[\n" + b'  {"city": "Oslo", "population": 709000},\n' * 400 + b"  {}\n]\n",
     "a JSON file"),
    ("config.yaml", b"city: Oslo\npopulation: 709000\n", "a YAML file"),
    ("notes.md", b"| city | population |\n|---|---|\n| Oslo | 709000 |\n", "a Markdown document"),
    ("feed.xml", b'<?xml version="1.0"?><rows><row city="Oslo"/></rows>', "an XML file"),
    ("feed.dat", b'  <?xml version="1.0"?><rows/>', "an XML file"),
    ("page.htm", b"<!DOCTYPE html><html><table></table></html>", "an HTML page"),
    ("report.pdf", b"%PDF-1.7\n1 0 obj\n", "a PDF document"),
    ("letter.docx", zipped({"word/document.xml": "<w/>"}), "a Word document"),
    ("slides.pptx", zipped({"ppt/presentation.xml": "<p/>"}), "a PowerPoint file"),
    ("archive.zip", zipped({"readme.txt": "hello"}), "a zip archive"),
    ("book.xlsx", zipped({"readme.txt": "hello"}), "a zip archive"),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "a PNG image"),
    ("photo.jpg", b"\xff\xd8\xff\xe0" + bytes(64), "a JPEG image"),
    ("anim.gif", b"GIF89a" + bytes(64), "a GIF image"),
    ("photo.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64), "a WebP image"),
    ("scan.tif", b"II*\x00" + bytes(64), "a TIFF image"),
    ("blob.bin", bytes(range(256)), "a binary .bin file of unknown type"),
]


@pytest.mark.parametrize(("name", "content", "kind"), NOT_TABLES,
                         ids=[f"{name}-{kind}" for name, _, kind in NOT_TABLES])
@pytest.mark.parametrize("as_path", [True, False], ids=["path", "bytes"])
def test_not_a_table_names_file_type_and_what_is_read(name: str, content: bytes, kind: str,
                                                      as_path: bool, tmp_path: Path) -> None:
    source: Path | bytes = content
    if as_path:
        source = tmp_path / name
        source.write_bytes(content)
    with pytest.raises(UnsupportedFormatError) as info:
        open_workbook(source, name=None if as_path else name, limits=IN_PROCESS)
    assert str(info.value) == f"{name}: is {kind}, not a spreadsheet or table file; {SUPPORTED}"


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("empty.csv", b"", "file is empty (0 bytes)"),
    ("empty.json", b"", "file is empty (0 bytes)"),
    ("blank.csv", b"  \n\n \n", "has no data"),
    ("empty.zip", b"PK\x05\x06" + bytes(18), "is an empty zip archive"),
])
def test_an_empty_file_is_refused_as_empty(name: str, content: bytes, problem: str,
                                           tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(EmptyWorkbookError) as info:
        open_workbook(path, limits=IN_PROCESS)
    assert str(info.value).startswith(f"{name}: {problem}")


@pytest.mark.parametrize(("name", "content", "columns"), [
    ("cities.csv", b"city,population\nOslo,709000\n", ["city", "population"]),
    ("cities.txt", b"city,population\nOslo,709000\n", ["city", "population"]),
    ("cities.tsv", b"city\tpopulation\nOslo\t709000\n", ["city", "population"]),
    ("notes.txt", b"[draft] city,population\nOslo,709000\n", ["[draft] city", "population"]),
    ("codes.csv", b"[a],n\n[b],5\n", ["[a]", "n"]),
])
def test_text_tables_are_still_read(name: str, content: bytes, columns: list[str],
                                    tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    try:
        workbook = open_workbook(path, limits=IN_PROCESS)
    except TableIOError as exc:
        pytest.fail(f"{name} was refused: {exc}")
    assert workbook.tables[0].columns == columns
