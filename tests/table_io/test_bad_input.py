"""Every bad input gets a TableIOError subclass whose message names the file and the problem."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest

from table_io import (
    CorruptFileError,
    EmptyWorkbookError,
    LimitExceededError,
    Limits,
    PasswordProtectedError,
    SourceNotFoundError,
    TableIOError,
    UnsafeFileError,
    UnsupportedFormatError,
    open_workbook,
)


def small_xlsx(tmp_path: Path, name: str = "ok.xlsx") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["a", "b"], [1, 2], [3, 4]]:
        ws.append(row)
    path = tmp_path / name
    wb.save(path)
    return path


def rezip(src: Path, dst: Path, replace: dict[str, bytes] | None = None, extra: dict[str, bytes] | None = None) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, replace.get(info.filename, zin.read(info.filename)))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def expect(exc_type: type[TableIOError], path_or_data, *words: str, **kwargs) -> TableIOError:
    with pytest.raises(exc_type) as info:
        open_workbook(path_or_data, **kwargs)
    message = str(info.value)
    for word in words:
        assert word.lower() in message.lower(), message
    assert isinstance(info.value, TableIOError)
    return info.value


def test_missing_file(tmp_path):
    err = expect(SourceNotFoundError, tmp_path / "nope.xlsx", "nope.xlsx", "not found")
    assert isinstance(err, FileNotFoundError)


def test_not_a_spreadsheet_pdf(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"%PDF-1.7\n%binary stuff")
    expect(UnsupportedFormatError, path, "report.xlsx", "PDF", "not a spreadsheet")


def test_not_a_spreadsheet_binary(tmp_path):
    path = tmp_path / "blob.dat"
    path.write_bytes(bytes(range(256)) * 4)
    expect(UnsupportedFormatError, path, "blob.dat", "not a spreadsheet")


def test_word_document_in_a_zip(tmp_path):
    path = tmp_path / "letter.docx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    expect(UnsupportedFormatError, path, "letter.docx", "Word document")


def test_truncated_workbook(tmp_path):
    data = small_xlsx(tmp_path).read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    expect(CorruptFileError, path, "cut.xlsx", "truncated")


def test_text_renamed_as_xlsx(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("a,b\n1,2\n")
    expect(CorruptFileError, path, "fake.xlsx", "not a .xlsx file")


def test_damaged_sheet_xml(tmp_path):
    path = rezip(small_xlsx(tmp_path), tmp_path / "broken.xlsx",
                 replace={"xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row"})
    expect(CorruptFileError, path, "broken.xlsx")


def test_password_protected_workbook(tmp_path):
    # an encrypted OOXML file is an OLE compound file holding an EncryptedPackage stream
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    directory = "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64 + "EncryptionInfo".encode("utf-16-le")
    path = tmp_path / "secret.xlsx"
    path.write_bytes(header + directory + b"\x00" * 1024)
    expect(PasswordProtectedError, path, "secret.xlsx", "password-protected")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    expect(EmptyWorkbookError, path, "empty.csv", "empty")


def test_blank_csv(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n , \n\n")
    expect(EmptyWorkbookError, path, "blank.csv", "no data")


def test_workbook_with_only_empty_sheets(tmp_path):
    wb = openpyxl.Workbook()
    wb.create_sheet("Second")
    path = tmp_path / "nothing.xlsx"
    wb.save(path)
    expect(EmptyWorkbookError, path, "nothing.xlsx", "no data")


def test_empty_sheet_next_to_data_is_a_warning(tmp_path):
    path = small_xlsx(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("Blank")
    wb.save(path)
    book = open_workbook(path)
    assert any("Blank" in w and "empty" in w for w in book.warnings)
    assert book.sheet("Blank").table_names == []


def test_zip_bomb_by_ratio(tmp_path):
    path = rezip(small_xlsx(tmp_path), tmp_path / "bomb.xlsx", extra={"xl/media/pad.bin": b"\0" * (4 << 20)})
    expect(UnsafeFileError, path, "bomb.xlsx", "zip bomb")


def test_zip_bomb_by_expanded_size(tmp_path):
    expect(UnsafeFileError, small_xlsx(tmp_path, "big.xlsx"), "big.xlsx", "expands",
           limits=Limits(max_uncompressed_bytes=1000))


def test_zip_bomb_by_entry_count(tmp_path):
    expect(UnsafeFileError, small_xlsx(tmp_path, "many.xlsx"), "many.xlsx", "entries",
           limits=Limits(max_zip_entries=3))


def test_xml_bomb(tmp_path):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    )
    path = rezip(small_xlsx(tmp_path), tmp_path / "lol.xlsx", replace={"xl/worksheets/sheet1.xml": laughs})
    expect(UnsafeFileError, path, "lol.xlsx", "XML bomb")


def test_file_over_the_size_limit(tmp_path):
    expect(LimitExceededError, small_xlsx(tmp_path, "huge.xlsx"), "huge.xlsx", "limit",
           limits=Limits(max_file_bytes=100))


def test_bytes_over_the_size_limit():
    expect(LimitExceededError, b"a,b\n" * 100, "up.csv", "limit", name="up.csv", limits=Limits(max_file_bytes=10))


def test_sheet_over_the_cell_limit(tmp_path):
    expect(LimitExceededError, small_xlsx(tmp_path, "cells.xlsx"), "cells.xlsx", "Sheet", "cell limit",
           limits=Limits(max_cells=4))


def test_unsupported_python_object():
    expect(UnsupportedFormatError, 42, "cannot open")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "t.parquet"
    path.write_bytes(b"PAR1" + b"garbage" * 10)
    expect(CorruptFileError, path, "t.parquet", "Parquet")


def test_cli_prints_the_error_without_a_traceback(tmp_path, capsys):
    from app.cli import main

    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"%PDF-1.4")
    assert main(["inspect", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bad.xlsx" in err and "not a spreadsheet" in err and "Traceback" not in err


def test_exceptions_share_one_base():
    import table_io

    for name in ["CorruptFileError", "EmptyWorkbookError", "LimitExceededError", "PasswordProtectedError",
                 "SourceNotFoundError", "UnsafeFileError", "UnsupportedFormatError", "TableNotFoundError"]:
        assert issubclass(getattr(table_io, name), table_io.TableIOError)
    assert isinstance(io.BytesIO(), io.BufferedIOBase)


def test_a_declared_dimension_is_not_believed_the_cells_the_file_holds_are(tmp_path):
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c>'
             b'<c r="B1" t="inlineStr"><is><t>y</t></is></c></row><row r="2"><c r="A2"><v>1</v></c>'
             b'<c r="B2"><v>2</v></c></row></sheetData></worksheet>')
    path = rezip(small_xlsx(tmp_path), tmp_path / "wide.xlsx", replace={"xl/worksheets/sheet1.xml": sheet})
    book = open_workbook(path)
    assert book.sheets[0].n_rows == 2 and book.sheets[0].n_cols == 2


def test_csv_over_the_cell_limit(tmp_path):
    path = tmp_path / "cells.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    expect(LimitExceededError, path, "cells.csv", "cell limit", limits=Limits(max_cells=4))
