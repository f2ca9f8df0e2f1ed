"""Class 1 of issue #12: formulas never read other files.

A real ``secret.xlsx`` holding a canary sits next to, above and beside the workbook; formulas
that point at it in every spelling are opened (in a child process with a memory cap), edited
through the sheet tool, recalculated by the version store and queried with SQL. The canary
never appears: cells read as their saved value or empty with a warning, and the sheet tool
refuses to write such a formula, with a hint.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from table_io.formula_refs import HINT, external_reason, has_external_links, isolated_copy
from table_io.recalc import recalculate
from table_io.versions import VersionStore
from tools.sheet import SheetTool

CANARY = "CANARY-7f3a9"

EXTERNAL = [
    "='../other/[secret.xlsx]Sheet1'!A1",
    "='[secret.xlsx]Sheet1'!A1",
    "=[secret.xlsx]Sheet1!A1",
    "=[1]Sheet1!A1",
    "=[1]!Secret",
    "='{root}/other/[secret.xlsx]Sheet1'!A1",
    "='{root}/[secret.xlsx]Sheet1'!$A$1",
    "='file://{root}/other/[secret.xlsx]Sheet1'!A1",
    "='C:\\data\\[secret.xlsx]Sheet1'!A1",
    "='\\\\server\\share\\[secret.xlsx]Sheet1'!A1",
    "=SUM('../other/[secret.xlsx]Sheet1'!A1:B9)",
    "=IF(TRUE,'../[secret.xlsx]Sheet1'!A1,0)",
    "='../other/[secret.xlsx]Sheet1'!A1&\"\"",
    "=secret.xlsx!Secret",
    "='/etc/passwd'!A1",
    "=INDIRECT(\"'../other/[secret.xlsx]Sheet1'!A1\")",
    "=indirect(\"A1\")",
    "=HYPERLINK(\"file:///etc/passwd\",\"x\")",
    "=_xlfn.WEBSERVICE(\"http://127.0.0.1/\")",
    "=FILTERXML(\"<a/>\",\"//a\")",
    "=RTD(\"prog\",,\"x\")",
    "=CALL(\"kernel32\",\"x\",\"J\")",
    "=REGISTER.ID(\"kernel32\",\"x\")",
    "=DDE(\"cmd\",\"/c calc\",\"x\")",
    "=cmd|'/c calc'!A0",
    "=cmd|calc!A0",
    "=INFO(\"directory\")",
    "=CELL(\"filename\")",
    "=CUBEVALUE(\"conn\",\"x\")",
    "=_xll.MyAddin(1)",
]
LOCAL = ["=A1+1", "=SUM(B2:B9)", "='My Data'!A1*2", "=Data!$A$1", "=SUM(Table1[Amount])",
         "=[@Qty]*2", "=IF(A1>1,\"a\",\"b\")", "=VLOOKUP(3,A2:B5,2,FALSE)", "=OFFSET(A1,1,0)"]


def _child_limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3))


_OPEN_AND_DUMP = """
import json, sys
from table_io import Limits, open_workbook
wb = open_workbook(sys.argv[1], limits=Limits(isolate=False))
grids = {n: [[str(v) for v in row] for row in g.values.tolist()] for n, g in wb.grids.items()}
tables = {t.name: t.frame.astype(str).values.tolist() for t in wb.tables}
print(json.dumps({"warnings": wb.warnings, "grids": grids, "tables": tables}))
"""


def open_in_child(path: Path) -> dict:
    """Open ``path`` in a child process (3 GB address space, 120 s) and dump what it shows."""
    done = subprocess.run([sys.executable, "-c", _OPEN_AND_DUMP, str(path)], capture_output=True,
                          text=True, timeout=120, preexec_fn=_child_limits, cwd=path.parent)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture()
def layout(tmp_path: Path) -> Path:
    """tmp/secret.xlsx, tmp/other/secret.xlsx, tmp/work/secret.xlsx: the canary everywhere."""
    secret = openpyxl.Workbook()
    secret.active.title = "Sheet1"
    for _row in range(1, 10):
        secret.active.append([CANARY, CANARY])
    secret.defined_names["Secret"] = openpyxl.workbook.defined_name.DefinedName(
        "Secret", attr_text="Sheet1!$A$1")
    for folder in (tmp_path, tmp_path / "other", tmp_path / "work"):
        folder.mkdir(exist_ok=True)
        secret.save(folder / "secret.xlsx")
    return tmp_path


def workbook_with(path: Path, formulas: list[str], root: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["name", "value", "double"])
    for i, formula in enumerate(formulas, start=2):
        ws.append([f"row{i}", formula.replace("{root}", root.as_posix()), f"=B{i}"])
    wb.save(path)
    return path


def add_external_link(path: Path, target: str) -> None:
    """Give the package an xl/externalLinks part pointing at ``target`` (link index [1])."""
    members = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            members[name] = zf.read(name)
    main = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    members["xl/externalLinks/externalLink1.xml"] = (
        f'<externalLink {main}><externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/>'
        '</sheetNames></externalBook></externalLink>').encode()
    members["xl/externalLinks/_rels/externalLink1.xml.rels"] = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/externalLinkPath" Target="{target}" '
        'TargetMode="External"/></Relationships>').encode()
    members["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", f'<Relationship Id="rIdX1" Type="{rel}/externalLink" '
        'Target="externalLinks/externalLink1.xml"/></Relationships>'.encode())
    members["xl/workbook.xml"] = members["xl/workbook.xml"].replace(
        b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rIdX1"/></externalReferences>')
    members["[Content_Types].xml"] = members["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType='
        b'"application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>')
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


# --------------------------------------------------------------------------- the tokenizer check


@pytest.mark.parametrize("formula", EXTERNAL)
def test_every_external_spelling_is_named(formula: str) -> None:
    assert external_reason(formula.replace("{root}", "/srv/x"), sheet_names=["Data"]) is not None


@pytest.mark.parametrize("formula", LOCAL)
def test_formulas_inside_the_workbook_pass(formula: str) -> None:
    assert external_reason(formula, sheet_names=["Data", "My Data"]) is None


def test_defined_names_are_followed() -> None:
    names = {"LOCAL": "Data!$A$1", "FAR": "'../[secret.xlsx]Sheet1'!$A$1", "VIA": "FAR+1",
             "LOOP": "LOOP"}
    look = names.get
    assert external_reason("=local*2", sheet_names=["Data"], names=lambda n: look(n.upper())) is None
    assert "Far" in (external_reason("=Far", sheet_names=["Data"], names=lambda n: look(n.upper())) or "")
    assert external_reason("=SUM(via)", sheet_names=["Data"], names=lambda n: look(n.upper()))
    assert external_reason("=Loop", sheet_names=["Data"], names=lambda n: look(n.upper()))


_PREFIXES = st.sampled_from(["", "../", "../../", "./", "../other/", "/tmp/x/", "C:\\x\\",
                             "file:///tmp/", "\\\\srv\\s\\", "https://h/", "~/", "%2e%2e/"])
_BOOKS = st.sampled_from(["secret.xlsx", "Secret.XLSM", "a b.xls", "1", "x.ods", "book"])
_CELLS = st.sampled_from(["A1", "$A$1", "A1:B2", "A:A", "1:1", "Secret"])
_WRAPS = st.sampled_from(["={}", "=SUM({})", "=1+{}", "=IF(1,{},0)", "=-{}", "=({})",
                          "=INDEX({},1)", "=TEXT({},\"0\")"])


@settings(max_examples=60, deadline=None)
@given(prefix=_PREFIXES, book=_BOOKS, sheet=st.sampled_from(["Sheet1", "Data", "a b"]),
       cells=_CELLS, wrap=_WRAPS, quoted=st.booleans())
def test_generated_external_spellings(prefix: str, book: str, sheet: str, cells: str, wrap: str,
                                      quoted: bool) -> None:
    ref = f"{prefix}[{book}]{sheet}"
    ref = f"'{ref}'!{cells}" if quoted or prefix or " " in ref else f"{ref}!{cells}"
    assert external_reason(wrap.format(ref), sheet_names=["Data", "Sheet1"]) is not None


# --------------------------------------------------------------------------- opening a file


def _assert_no_canary(shown: dict) -> None:
    assert CANARY not in json.dumps(shown)


def test_open_never_reads_the_other_file(layout: Path) -> None:
    book = workbook_with(layout / "work" / "book.xlsx", [*EXTERNAL, "=1+1"], layout)
    shown = open_in_child(book)
    _assert_no_canary(shown)
    note = " ".join(shown["warnings"])
    assert "read outside this workbook" in note and "Data!B2" in note
    values = {row[0]: row[1] for row in shown["tables"]["data"]}
    assert str(values[f"row{len(EXTERNAL) + 2}"]) in ("2", "2.0")  # the local formula is computed
    assert str(values["row2"]) in ("nan", "None", "")  # the reference reads as empty


def test_an_external_link_part_is_not_followed(layout: Path) -> None:
    book = workbook_with(layout / "work" / "linked.xlsx", ["=PLACEHOLDERFN()"], layout)
    text = (zipfile.ZipFile(book).read("xl/worksheets/sheet1.xml")
            .replace(b"PLACEHOLDERFN()", b"[1]Sheet1!A1"))
    members = {n: zipfile.ZipFile(book).read(n) for n in zipfile.ZipFile(book).namelist()}
    members["xl/worksheets/sheet1.xml"] = text
    with zipfile.ZipFile(book, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    add_external_link(book, "secret.xlsx")
    assert has_external_links(book)
    _assert_no_canary(open_in_child(book))
    copy = isolated_copy(book, layout / "work" / "iso") if (layout / "work" / "iso").mkdir() is None else None
    assert copy is not None and not has_external_links(copy)
    assert openpyxl.load_workbook(copy)["Data"]["B2"].value == "=[1]Sheet1!A1"  # still opens


def test_a_defined_name_pointing_outside_is_not_followed(layout: Path) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    book = layout / "work" / "named.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Data"
    wb.active.append(["name", "value"])
    wb.active.append(["a", "=Far"])
    wb.active.append(["b", "=Far2*2"])
    wb.defined_names["Far"] = DefinedName("Far", attr_text="'../other/[secret.xlsx]Sheet1'!$A$1")
    wb.defined_names["Far2"] = DefinedName("Far2", attr_text=f"'{layout.as_posix()}/[secret.xlsx]Sheet1'!$A$1")
    wb.save(book)
    shown = open_in_child(book)
    _assert_no_canary(shown)
    assert "defined name" in " ".join(shown["warnings"])


# --------------------------------------------------------------------------- edits and recalculation


def test_recalculation_never_reads_other_files(layout: Path) -> None:
    book = workbook_with(layout / "work" / "calc.xlsx", [*EXTERNAL, "=2*3"], layout)
    report = recalculate(book)
    assert report.external and "read outside this workbook" in report.describe()
    values = openpyxl.load_workbook(book, data_only=True)["Data"]
    seen = [values.cell(r, c).value for r in range(1, values.max_row + 1) for c in (2, 3)]
    assert CANARY not in [str(v) for v in seen]
    assert values.cell(len(EXTERNAL) + 2, 2).value == 6


@pytest.mark.parametrize("formula", EXTERNAL[:20])
def test_the_sheet_tool_refuses_formulas_that_reach_outside(layout: Path, formula: str) -> None:
    book = workbook_with(layout / "work" / "edit.xlsx", ["=1"], layout)
    tool = SheetTool(VersionStore(book, layout / "work" / "versions"))
    result = tool({"actions": [{"action": "formula", "range": "D2:D3",
                                "formula": formula.replace("{root}", layout.as_posix())}]})
    assert not result.ok
    assert "only reference cells of this workbook" in (result.observation + str(result.payload))
    assert tool.versions.version == 0


@pytest.mark.parametrize("action", [
    {"action": "cond_format", "range": "B2:B3", "rule": "formula",
     "formula": "='../other/[secret.xlsx]Sheet1'!A1>1"},
    {"action": "validate", "range": "B2:B3", "kind": "custom", "formula": "=INDIRECT(\"[1]S!A1\")"},
    {"action": "formula", "range": "D2", "formula": "=Far*2"},
])
def test_every_formula_writing_action_is_checked(layout: Path, action: dict) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    book = workbook_with(layout / "work" / "edit.xlsx", ["=1"], layout)
    wb = openpyxl.load_workbook(book)
    wb.defined_names["Far"] = DefinedName("Far", attr_text="'../other/[secret.xlsx]Sheet1'!$A$1")
    wb.save(book)
    tool = SheetTool(VersionStore(book, layout / "work" / "versions"))
    result = tool({"actions": [action]})
    assert not result.ok and "only reference cells of this workbook" in result.observation


def test_links_and_validations_in_an_upload_are_not_followed(layout: Path) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    book = layout / "work" / "links.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["name", "value"])
    ws.append(["a", "=1+1"])
    ws["A2"].hyperlink = (layout / "other" / "secret.xlsx").as_uri()
    validation = DataValidation(type="list", formula1="'../other/[secret.xlsx]Sheet1'!$A$1:$A$9")
    validation.add("B2")
    ws.add_data_validation(validation)
    wb.save(book)
    shown = open_in_child(book)
    _assert_no_canary(shown)
    assert recalculate(book).computed == 1
    assert CANARY not in (book.read_bytes().decode("latin-1"))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formula=st.sampled_from(EXTERNAL))
def test_uploaded_external_formulas_stay_dark_through_edit_recalc_and_sql(layout: Path, formula: str) -> None:
    from table_io import Limits, open_workbook
    from tools.sql import SqlTool

    work = layout / "work"
    book = workbook_with(work / "upload.xlsx", [formula, "=5"], layout)
    store = VersionStore(book, work / f"v{abs(hash(formula))}")
    tool = SheetTool(store)
    done = tool({"actions": [{"action": "write", "range": "A9", "values": "edited"},
                             {"action": "formula", "range": "D2:D3", "formula": "=B2&\"\""},
                             {"action": "fill", "source": "C2", "target": "C2:C5"}]})
    assert done.ok, done.observation
    assert CANARY not in done.observation
    current = store.current_path
    cached = openpyxl.load_workbook(current, data_only=True)["Data"]
    assert CANARY not in json.dumps([[str(c.value) for c in row] for row in cached.iter_rows()])
    wb = open_workbook(current, limits=Limits(isolate=False))
    sql = SqlTool(wb)
    try:
        for table in wb.tables:
            out = sql.query_frame(f'SELECT * FROM "{table.name}"')
            assert CANARY not in out.to_csv()
    finally:
        sql.close()
    assert CANARY not in json.dumps(wb.warnings)


def test_hints_name_the_rule() -> None:
    assert "only reference cells of this workbook" in HINT


def test_cut_cells_replace_only_the_named_formulas(tmp_path: Path) -> None:
    from table_io.formula_refs import _cut_cells

    row = ('<row><c r="A2" s="1"/><c r="B2" s="2" t="str"><f>[1]S!A1</f><v>x</v></c>'
           '<c r="C2"><f>A2+1</f><v>3</v></c><c r="D2" s="1"/></row>')
    cut = _cut_cells(row, {"B2"})
    assert '<c r="B2" t="e"><v>#REF!</v></c>' in cut and "[1]S!A1" not in cut
    assert '<c r="A2" s="1"/>' in cut and "<f>A2+1</f>" in cut and '<c r="D2" s="1"/>' in cut
