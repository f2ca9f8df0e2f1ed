"""Issue #12, classes 3 and 9: no upload takes the process down, and every parser failure on an
untrusted file is a TableIOError that names the file and the problem.

Hostile files are built here from small XML strings. Each is opened twice: through the isolated
reader (a child with capped memory, the app's path), and, all together, in one child process
with an address-space limit that reads in-process (``isolate=False``), which proves the checks
that run before parsing bound memory by themselves. The hypothesis fuzz runs in a child too, so
a crash is a failed test and not a dead suite. Run as a script (``python this_file.py fuzz``)
it is that child.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from table_io import (
    CorruptFileError,
    LimitExceededError,
    Limits,
    TableIOError,
    UnsafeFileError,
    Workbook,
    isolate,
    open_workbook,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
MB = 1024 * 1024
CHILD_MEMORY = 1024 * MB  # address space a reading child may add to what it starts with
PEAK_RSS_BOUND = 900 * MB  # the isolated reader's peak, pages shared with its zygote included
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


# ---- building files -----------------------------------------------------------------------

def sheet_xml(cells: str, *, dimension: str = "A1", head: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{head}<worksheet xmlns="{MAIN}">'
            f'<dimension ref="{dimension}"/><sheetData>{cells}</sheetData></worksheet>').encode()


def xlsx_from_parts(sheet: bytes, *, shared: bytes | None = None, workbook: bytes | None = None,
                    extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal .xlsx around raw sheet XML (and optional shared strings or any other part)."""
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
             'package/2006/content-types"><Default Extension="rels" ContentType="application/'
             'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
             '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
             'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
             '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
             'officedocument.spreadsheetml.worksheet+xml"/></Types>')
    root_rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}"><Relationship '
                 f'Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    book = workbook or (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
                        '<sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
    rels = (f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL}">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            + (f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
               if shared is not None else "") + "</Relationships>")
    parts = {"[Content_Types].xml": types.encode(), "_rels/.rels": root_rels.encode(),
             "xl/workbook.xml": book, "xl/_rels/workbook.xml.rels": rels.encode(),
             "xl/worksheets/sheet1.xml": sheet}
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    parts.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def table_rows(n: int = 3) -> str:
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c>'
            '<c r="B1" t="inlineStr"><is><t>value</t></is></c></row>']
    for i in range(2, n + 2):
        rows.append(f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>item {i}</t></is></c>'
                    f'<c r="B{i}"><v>{i * 10}</v></c></row>')
    return "".join(rows)


def shared_strings(*texts: str) -> bytes:
    items = "".join(f"<si><t>{t}</t></si>" for t in texts)
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}">{items}</sst>'.encode()


PADDING = "<!-- " + "padding " * 1200 + "-->"  # pushes what follows past the first 8 KB
DTD = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'


def far_cell() -> bytes:
    return xlsx_from_parts(sheet_xml(table_rows() + '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'))


def far_cell_odd_spelling() -> bytes:
    """Tab before the attribute, single quotes, lower-case column: the same cell, spelled oddly."""
    return xlsx_from_parts(sheet_xml(table_rows() + "<row r='1048576'><c\tr = 'xfd1048576'><v>1</v></c></row>"))


def far_rows_without_addresses() -> bytes:
    cells = "".join(f"<c><v>{j}</v></c>" for j in range(100))
    return xlsx_from_parts(sheet_xml(table_rows() + f'<row r="1048576">{cells}</row>'))


def shared_strings_bomb() -> bytes:
    long_text = "".join(random.Random(1).choice("abcdefghij") for _ in range(100_000))
    cells = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>0</v></c></row>' for i in range(1, 20_001))
    return xlsx_from_parts(sheet_xml(cells), shared=shared_strings(long_text))


def dtd_after_padding_in_workbook() -> bytes:
    book = (f'<?xml version="1.0" encoding="UTF-8"?>{PADDING}{DTD}<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="&b;" sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
    return xlsx_from_parts(sheet_xml(table_rows()), workbook=book)


def dtd_in_utf16_workbook() -> bytes:
    book = (f'<?xml version="1.0" encoding="UTF-16"?>{DTD}<workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="&b;" sheetId="1" r:id="rId1"/></sheets></workbook>').encode("utf-16")
    return xlsx_from_parts(sheet_xml(table_rows()), workbook=book)


def dtd_after_padding_in_sheet() -> bytes:
    return xlsx_from_parts(sheet_xml(table_rows(), head=PADDING + DTD))


def entity_in_styles() -> bytes:
    styles = f'<?xml version="1.0"?>{PADDING}<!DOCTYPE s [<!ENTITY e SYSTEM "file:///etc/passwd">]><styleSheet xmlns="{MAIN}"/>'
    return xlsx_from_parts(sheet_xml(table_rows()), extra={"xl/styles.xml": styles.encode()})


def damaged_deflate() -> bytes:
    data = bytearray(xlsx_from_parts(sheet_xml(table_rows(200))))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(start + 20, start + 60):
        data[k] ^= 0x5A
    return bytes(data)


def missing_sheet_part() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_from_parts(sheet_xml(table_rows())))) as zin, \
            zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                zout.writestr(info, zin.read(info))
    return buf.getvalue()


def ods_repeat_bomb() -> bytes:
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="Bomb">'
        '<table:table-row table:number-rows-repeated="1048576">'
        '<table:table-cell table:number-columns-repeated="16384" office:value-type="float" '
        'office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>'
        "</table:table></office:spreadsheet></office:body></office:document-content>")
    return _replace_part(_valid_ods(), "content.xml", content.encode())


def _valid_ods() -> bytes:
    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"region": ["north", "south"], "units": [3, 5]}).to_excel(buf, engine="odf", index=False)
    return buf.getvalue()


def _replace_part(data: bytes, part: str, payload: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, payload if info.filename == part else zin.read(info))
    return out.getvalue()


def csv_one_wide_line() -> bytes:
    return b"a,b\n" + b"," * (8 * MB) + b"\n1,2\n"


def csv_one_huge_field() -> bytes:
    return b"x" * (8 * MB)


# name -> (build, file name, expected error (None: may also open), words its message must hold,
# limits beyond the defaults)
HOSTILE: dict[str, tuple[Callable[[], bytes], str, type[TableIOError] | None, tuple[str, ...], dict[str, int]]] = {
    "far_cell": (far_cell, "far.xlsx", LimitExceededError, ("far.xlsx", "Data", "XFD1048576", "TABLEPILOT_MAX_CELLS"), {}),
    "far_cell_odd_spelling": (far_cell_odd_spelling, "odd.xlsx", LimitExceededError, ("odd.xlsx", "cell limit"), {}),
    "far_rows_without_addresses": (far_rows_without_addresses, "norefs.xlsx", LimitExceededError, ("norefs.xlsx", "cell limit"), {}),
    "shared_strings_bomb": (shared_strings_bomb, "sst.xlsx", LimitExceededError, ("sst.xlsx", "shared-strings bomb", "TABLEPILOT_MAX_TEXT_BYTES"), {}),
    "dtd_after_padding_in_workbook": (dtd_after_padding_in_workbook, "dtd.xlsx", UnsafeFileError, ("dtd.xlsx", "xl/workbook.xml", "DTD"), {}),
    "dtd_in_utf16_workbook": (dtd_in_utf16_workbook, "dtd16.xlsx", UnsafeFileError, ("dtd16.xlsx", "DTD"), {}),
    "dtd_after_padding_in_sheet": (dtd_after_padding_in_sheet, "dtds.xlsx", UnsafeFileError, ("dtds.xlsx", "sheet1.xml", "DTD"), {}),
    "external_entity_in_styles": (entity_in_styles, "ent.xlsx", UnsafeFileError, ("ent.xlsx", "styles.xml"), {}),
    "damaged_deflate": (damaged_deflate, "deflate.xlsx", CorruptFileError, ("deflate.xlsx", "sheet1.xml"), {}),
    "missing_sheet_part": (missing_sheet_part, "missing.xlsx", CorruptFileError, ("missing.xlsx",), {}),
    "ods_repeat_bomb": (ods_repeat_bomb, "bomb.ods", LimitExceededError, ("bomb.ods", "Bomb", "cell limit"), {}),
    "csv_one_wide_line": (csv_one_wide_line, "wide.csv", LimitExceededError, ("wide.csv", "column limit"), {}),
    # one 8 MB field, handed to DuckDB's reader: it may open, as long as memory stays bounded
    "csv_one_huge_field_direct": (csv_one_huge_field, "field.csv", None, ("field.csv",), {"direct_load_bytes": MB}),
}


def _limits(extra: dict[str, int], **kw: object) -> Limits:
    return Limits(**{**extra, **kw})  # type: ignore[arg-type]


# ---- hostile files through the isolated reader (the app's path) ---------------------------

@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_is_refused_by_the_isolated_reader(case: str) -> None:
    from table_io import isolate

    build, name, error, words, extra = HOSTILE[case]
    limits = _limits(extra, isolate=True, max_read_memory_bytes=CHILD_MEMORY, read_timeout_s=60)
    try:
        open_workbook(build(), name=name, limits=limits)
        assert error is None, f"{case} opened"
    except TableIOError as exc:
        assert isinstance(exc, error or TableIOError), (type(exc), exc)
        message = str(exc)
        for word in words:
            assert word.lower() in message.lower(), message
        assert "Traceback" not in message
    report = isolate.last_report
    assert report is not None and report.peak_rss_bytes < PEAK_RSS_BOUND, report


def test_checks_alone_bound_memory_when_reading_in_process() -> None:
    """Every hostile file, read in this-process mode inside one child with a hard memory cap."""
    result = _run_child("hostile", timeout=120)
    outcomes = json.loads(result.stdout.strip().splitlines()[-1])
    for case, (_build, _name, error, words, _extra) in HOSTILE.items():
        kind, message = outcomes[case]
        if error is None and kind == "ok":
            continue
        assert kind != "ok", f"{case}: opened"
        assert issubclass(getattr(sys.modules["table_io"], kind, TableIOError), error or TableIOError), (case, kind, message)
        for word in words:
            assert word.lower() in message.lower(), (case, message)


@pytest.mark.parametrize("build", [far_cell, shared_strings_bomb], ids=lambda f: f.__name__)
def test_a_reader_that_runs_out_of_memory_is_a_clean_error(build: Callable[[], bytes]) -> None:
    """With the cell and text checks switched off, calamine sizes a grid from the far cell or
    copies the long string into every cell: the child dies against its memory cap, and the
    caller gets a LimitExceededError."""
    limits = Limits(isolate=True, max_cells=10**15, max_text_bytes=10**15,
                    max_read_memory_bytes=512 * MB, read_timeout_s=60)
    with pytest.raises(LimitExceededError, match="512 MB memory limit"):
        open_workbook(build(), name="bomb.xlsx", limits=limits)
    # the parent is fine and the next file opens
    book = open_workbook(xlsx_from_parts(sheet_xml(table_rows())), name="ok.xlsx",
                         limits=Limits(isolate=True))
    assert book.tables[0].frame.shape == (3, 2)


def test_a_reader_that_runs_too_long_is_stopped() -> None:
    from table_io.errors import ReadTimeoutError

    rows = "".join(f"{i},{i * 2},item {i},{i % 7}\n" for i in range(400_000))
    data = ("a,b,c,d\n" + rows).encode()
    with pytest.raises(ReadTimeoutError, match="TABLEPILOT_READ_TIMEOUT_S"):
        open_workbook(data, name="slow.csv", limits=Limits(isolate=True, read_timeout_s=1))


def test_a_slow_read_does_not_hold_up_another() -> None:
    """Reads run side by side: one user's heavy file does not queue another user's small one."""
    import threading
    import time

    rows = "".join(f"{i},{i * 2},item {i},{i % 7}\n" for i in range(400_000))
    heavy = ("a,b,c,d\n" + rows).encode()
    finished: dict[str, float] = {}

    def read(name: str, data: bytes) -> None:
        try:  # the heavy one takes 3 s or more, then is stopped
            open_workbook(data, name=name, limits=Limits(isolate=True, read_timeout_s=3))
        except TableIOError:
            pass
        finished[name] = time.monotonic()

    slow = threading.Thread(target=read, args=("heavy.csv", heavy))
    slow.start()
    time.sleep(0.3)
    read("small.xlsx", xlsx_from_parts(sheet_xml(table_rows())))
    slow.join()
    assert finished["small.xlsx"] < finished["heavy.csv"]


def test_isolated_and_in_process_reads_agree() -> None:
    data = xlsx_from_parts(sheet_xml(table_rows(50)))
    inside = open_workbook(data, name="t.xlsx", limits=Limits(isolate=True))
    here = open_workbook(data, name="t.xlsx", limits=Limits(isolate=False))
    assert [t.name for t in inside.tables] == [t.name for t in here.tables]
    assert inside.tables[0].frame.equals(here.tables[0].frame)
    assert inside.grids.keys() == here.grids.keys()


def test_errors_keep_their_class_and_file_name_across_the_process_boundary(tmp_path: Path) -> None:
    from table_io import EmptyWorkbookError, UnsupportedFormatError

    with pytest.raises(EmptyWorkbookError, match=r"blank\.csv"):
        open_workbook(b"\n\n", name="blank.csv", limits=Limits(isolate=True))
    with pytest.raises(UnsupportedFormatError, match=r"doc\.pdf"):
        open_workbook(b"%PDF-1.4 ...", name="doc.pdf", limits=Limits(isolate=True))


def test_sparse_sheet_within_the_limit_still_opens() -> None:
    """A stray cell far away is fine while the grid it makes stays under the cell limit."""
    data = xlsx_from_parts(sheet_xml(table_rows() + '<row r="5000"><c r="Z5000"><v>7</v></c></row>'))
    book = open_workbook(data, name="sparse.xlsx", limits=Limits(isolate=True))
    assert book.sheets[0].n_rows == 5000 and book.sheets[0].n_cols == 26


def test_shared_strings_used_honestly_still_open() -> None:
    cells = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>{i % 2}</v></c><c r="B{i}"><v>{i}</v></c></row>'
                    for i in range(2, 2000))
    head = '<row r="1"><c r="A1" t="s"><v>2</v></c><c r="B1" t="s"><v>3</v></c></row>'
    data = xlsx_from_parts(sheet_xml(head + cells), shared=shared_strings("north", "south", "region", "sales"))
    book = open_workbook(data, name="honest.xlsx", limits=Limits(isolate=True))
    assert list(book.tables[0].columns) == ["region", "sales"]


# ---- legitimate workbooks still open -----------------------------------------------------

def _shared_samples() -> list[Path]:
    folder = SHARED_DATA / "sheetcopilot" / "task_sheets"
    books = sorted(folder.glob("*.xlsx"))[:6] if folder.is_dir() else []
    csvs = sorted((SHARED_DATA / "wikitq" / "csv").glob("*/*.csv"))[:4]
    return books + csvs


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="no ../shared/data here")
@pytest.mark.parametrize("path", _shared_samples(), ids=lambda p: p.name)
def test_shared_dataset_files_still_open(path: Path) -> None:
    book = open_workbook(path, limits=Limits(isolate=True))
    assert isinstance(book, Workbook) and book.sheets


# ---- property-based: any mutation of a valid file gives a Workbook or a TableIOError -------

def test_fuzzed_files_never_escape_table_io_errors() -> None:
    result = _run_child("fuzz", timeout=240)
    assert "FUZZ OK" in result.stdout, result.stdout[-3000:] + result.stderr[-3000:]


def _run_child(mode: str, timeout: int) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, __file__, mode], capture_output=True, text=True,
                            timeout=timeout, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, (
        f"child '{mode}' ended with {result.returncode} (negative: killed by that signal)\n"
        + result.stdout[-3000:] + result.stderr[-3000:])
    return result


def _cap_memory() -> None:
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + CHILD_MEMORY, vm + CHILD_MEMORY))


def _child_hostile() -> None:
    import table_io

    _cap_memory()
    outcomes: dict[str, tuple[str, str]] = {}
    for case, (build, name, _error, _words, extra) in HOSTILE.items():
        try:
            open_workbook(build(), name=name, limits=_limits(extra, isolate=False))
            outcomes[case] = ("ok", "")
        except TableIOError as exc:
            kind = type(exc).__name__
            outcomes[case] = (kind if hasattr(table_io, kind) else "TableIOError", str(exc))
    print(json.dumps(outcomes))


def _valid_files() -> dict[str, bytes]:
    import openpyxl
    import pandas as pd

    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["region", "units", "note"], ["north", 3, "ok"], ["south", 5, "late"], ["east", 8, None]]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    frame = pd.DataFrame({"region": ["north", "south", "east"], "units": [3, 5, 8]})
    ods = io.BytesIO()
    frame.to_excel(ods, engine="odf", index=False)
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    return {"xlsx": buf.getvalue(), "ods": ods.getvalue(), "parquet": parquet.getvalue(),
            "csv": b"region,units,note\nnorth,3,ok\nsouth,5,\"late, very\"\neast,8,\n"}


HOSTILE_XML = [
    b'<?xml version="1.0"?>' + DTD.encode() + b"<worksheet/>",
    sheet_xml('<row r="1"><c r="XFD1048576"><v>1</v></c></row>'),
    sheet_xml('<row r="1"><c r="A1"><v>1</v></c></row>', dimension="A1:XFD1048576"),
    sheet_xml('<row r="1"><c r="A1" t="s"><v>99999999999999999999</v></c></row>'),
    sheet_xml('<row r="99999999999"><c r="A99999999999"><v>1</v></c></row>'),
    sheet_xml('<row r="1"><c r="AAAAAAA1"><v>1</v></c></row>'),
    b"<a>" * 5000 + b"</a>" * 5000,
    b"<worksheet><sheetData><row><c><v>1</v></c>",
    b"\xff\xfe<\x00!\x00D\x00O\x00C\x00T\x00Y\x00P\x00E\x00 \x00x\x00>\x00",
    b"",
]


# in-process reading, so the cell limit must fit the child's memory cap (~60 bytes a cell)
FUZZ_LIMITS = Limits(isolate=False, max_cells=4_000_000)


def _child_fuzz() -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    _cap_memory()
    valid = _valid_files()
    names = {"xlsx": "f.xlsx", "ods": "f.ods", "parquet": "f.parquet", "csv": "f.csv"}

    def check(data: bytes, fmt: str) -> None:
        try:
            book = open_workbook(data, name=names[fmt], limits=FUZZ_LIMITS)
        except TableIOError as exc:
            assert str(exc).strip(), "empty message"
            return
        assert isinstance(book, Workbook)

    common = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")), deadline=None,
                      database=None, suppress_health_check=list(HealthCheck))

    @common
    @given(fmt=st.sampled_from(sorted(valid)), flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=8),
           cut=st.one_of(st.none(), st.integers(0, 10**6)))
    def bit_flips_and_truncation(fmt: str, flips: list[tuple[int, int]], cut: int | None) -> None:
        data = bytearray(valid[fmt])
        for pos, bit in flips:
            data[pos % len(data)] ^= 1 << bit
        if cut is not None:
            data = data[: cut % (len(data) + 1)]
        check(bytes(data), fmt)

    @common
    @given(fmt=st.sampled_from(["xlsx", "ods"]), index=st.integers(0, 50),
           payload=st.one_of(st.sampled_from(HOSTILE_XML), st.binary(max_size=300)), add=st.booleans())
    def replaced_zip_entries(fmt: str, index: int, payload: bytes, add: bool) -> None:
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(valid[fmt])) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            infos = zin.infolist()
            victim = infos[index % len(infos)].filename
            for info in infos:
                zout.writestr(info.filename, payload if info.filename == victim and not add else zin.read(info))
            if add:
                zout.writestr("xl/worksheets/sheet9.xml", payload)
        check(out.getvalue(), fmt)

    @common
    @given(rows=st.lists(st.tuples(st.integers(1, 1_100_000), st.integers(1, 20_000), st.text(max_size=5)), max_size=6),
           dimension=st.sampled_from(["A1", "A1:B2", "A1:XFD1048576", "ZZZ1", "", "A0:"]))
    def lying_addresses(rows: list[tuple[int, int, str]], dimension: str) -> None:
        from table_io.model import column_letter

        cells = "".join(f'<row r="{r}"><c r="{column_letter(c)}{r}" t="inlineStr"><is><t>{t!r}</t></is></c></row>'
                        for r, c, t in rows)
        check(xlsx_from_parts(sheet_xml(cells, dimension=dimension)), "xlsx")

    @common
    @given(text=st.binary(max_size=400))
    def csv_bytes(text: bytes) -> None:
        check(text, "csv")

    for prop in (bit_flips_and_truncation, replaced_zip_entries, lying_addresses, csv_bytes):
        prop()
    print("FUZZ OK")


if __name__ == "__main__":
    {"hostile": _child_hostile, "fuzz": _child_fuzz}[sys.argv[1]]()


def test_a_relative_path_opens_in_the_isolated_reader_whatever_its_working_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openpyxl

    isolate._zygote()  # started from another folder than the one the path is relative to
    wb = openpyxl.Workbook()
    wb.active.append(["name", "value"])
    wb.active.append(["a", 1])
    wb.save(tmp_path / "relative.xlsx")
    monkeypatch.chdir(tmp_path)
    book = open_workbook("relative.xlsx", limits=Limits(isolate=True))
    assert book.tables[0].columns == ["name", "value"] and isolate.last_report is not None
    assert isolate.last_report.outcome == "ok"


def test_a_workbook_of_many_sheets_is_refused_before_any_sheet_is_read(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    for i in range(6):
        wb.create_sheet(f"s{i}").append(["a", "b"])
    wb.save(tmp_path / "many.xlsx")
    with pytest.raises(LimitExceededError, match="7 sheets, over the 5 sheet limit"):
        open_workbook(tmp_path / "many.xlsx", limits=Limits(max_sheets=5))
    assert len(open_workbook(tmp_path / "many.xlsx").sheets) == 7
