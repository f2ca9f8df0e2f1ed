"""recalculate(): formula values are written into the file and read back by calamine and openpyxl."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from python_calamine import CalamineWorkbook

from table_io.recalc import functions_in, missing_cached_values, recalculate


def make(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "My Data"
    ws.append(["qty", "price", "total", "label", "big", "ratio"])
    for i in range(2, 6):
        ws.append([i, i * 10, f"=A{i}*B{i}", f'=IF(C{i}>50,"high","low")', f"=C{i}>50", f"=A{i}/(A{i}-2)"])
    ws["H1"] = "=SUM(C2:C5)"
    ws["H2"] = "=VLOOKUP(3,A2:B5,2,FALSE)"
    ws["H3"] = "=TEXT(H1,\"0.0\")"
    ws["H4"] = "='Other sheet'!A1*2"
    ws["H5"] = "=FOOBARBAZ(A2)"
    other = wb.create_sheet("Other sheet")
    other["A1"] = 21
    wb.save(path)
    return path


def test_values_are_cached_for_calamine_and_openpyxl(tmp_path: Path) -> None:
    path = make(tmp_path / "f.xlsx")
    assert missing_cached_values(path) == 21
    report = recalculate(path)
    assert report.formulas == 21 and report.computed == 20
    values = openpyxl.load_workbook(path, data_only=True)["My Data"]
    assert values["C3"].value == 90 and values["D3"].value == "high" and values["E2"].value is False
    assert values["H1"].value == 40 + 90 + 160 + 250
    assert values["H2"].value == 30 and values["H3"].value == "540.0" and values["H4"].value == 42
    assert values["F2"].value == "#DIV/0!"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("My Data").to_python()
    assert rows[1][2] == 40.0 and rows[0][7] == 540.0
    formulas = openpyxl.load_workbook(path)["My Data"]
    assert formulas["C3"].value == "=A3*B3"  # formulas are kept
    assert missing_cached_values(path) == 1  # only the unsupported one


def test_unsupported_functions_are_reported_not_silent(tmp_path: Path) -> None:
    path = make(tmp_path / "f.xlsx")
    report = recalculate(path)
    assert report.unsupported == {"FOOBARBAZ": ["My Data!H5"]}
    assert "unsupported function FOOBARBAZ" in report.describe()
    assert "My Data!F2" in report.errors and not report.ok
    assert openpyxl.load_workbook(path, data_only=True)["My Data"]["H5"].value is None


def test_a_workbook_without_formulas_is_left_alone(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append([1, 2, 3])
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    before = path.read_bytes()
    report = recalculate(path)
    assert report.formulas == 0 and report.describe() == "no formulas"
    assert path.read_bytes() == before


def test_function_names_ignore_strings_and_prefixes() -> None:
    assert functions_in('=_xlfn.XLOOKUP(A1,B:B,C:C)&"SUM(x)"') == {"XLOOKUP"}
    assert functions_in("=IF(ISERROR(VLOOKUP(A1,B:C,2,0)),0,1)") == {"IF", "ISERROR", "VLOOKUP"}


def test_over_the_limit_is_reported(tmp_path: Path) -> None:
    path = make(tmp_path / "f.xlsx")
    report = recalculate(path, limit=5)
    assert report.failed and "over the recalculation limit of 5" in report.describe()
    assert missing_cached_values(path) == 21


def test_only_referenced_cells_are_loaded_and_results_match_the_full_model(tmp_path: Path) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    from table_io.recalc import _compute, _referenced_cells

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    for i in range(1, 301):
        ws.append([i, i * 2, "x", i % 7])
    ws["F1"] = "=SUM(A:A)"
    ws["F2"] = "=VLOOKUP(5,A1:B300,2,FALSE)"
    ws["F3"] = "=Other!A1+D4"
    other = wb.create_sheet("Other")
    other["A1"] = 10
    other["B1"] = "=SUM(Data!B1:B10)"
    path = tmp_path / "w.xlsx"
    wb.save(path)
    needed = _referenced_cells({"Data": {"F1": "SUM(A:A)", "F2": "VLOOKUP(5,A1:B300,2,FALSE)",
                                         "F3": "Other!A1+D4"}, "Other": {"B1": "SUM(Data!B1:B10)"}})
    assert needed.wants("Data", 250, 1) and needed.wants("Data", 4, 4) and not needed.wants("Data", 5, 4)
    assert not needed.wants("Data", 1, 3) and needed.wants("Other", 1, 1)
    full = _compute(path)
    recalculate(path)
    values = openpyxl.load_workbook(path, data_only=True)
    for sheet, ref in [("Data", "F1"), ("Data", "F2"), ("Data", "F3"), ("Other", "B1")]:
        assert values[sheet][ref].value == full[(sheet.upper(), ref)]
    assert values["Data"]["F1"].value == 45150 and values["Other"]["B1"].value == 110

    wb = openpyxl.load_workbook(path)
    wb.defined_names["Total"] = DefinedName("Total", attr_text="Data!$A$1:$A$300")
    wb["Data"]["G1"] = "=SUM(Total)"
    wb.save(path)
    assert _referenced_cells({"Data": {"G1": "SUM(Total)"}}).everything  # names: load every cell
    recalculate(path)
    assert openpyxl.load_workbook(path, data_only=True)["Data"]["G1"].value == 45150


def test_formulas_that_read_other_files_are_never_computed(tmp_path: Path) -> None:
    secret = openpyxl.Workbook()
    secret.active.title = "Sheet1"
    secret.active["A1"] = "SECRET-CANARY"
    secret.save(tmp_path / "secret.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws["A1"] = "='[secret.xlsx]Sheet1'!A1"
    ws["A2"] = "=A1"
    ws["A3"] = '=INDIRECT("\'[secret.xlsx]Sheet1\'!A1")'
    ws["A4"] = "=2+2"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    report = recalculate(path)
    assert set(report.external) == {"Data!A1", "Data!A3"}
    assert "read outside this workbook" in report.describe() and not report.ok
    values = openpyxl.load_workbook(path, data_only=True)["Data"]
    assert values["A1"].value is None and values["A3"].value is None
    assert values["A2"].value == "#REF!" and values["A4"].value == 4
    assert openpyxl.load_workbook(path)["Data"]["A1"].value == "='[secret.xlsx]Sheet1'!A1"  # kept


def test_formula_errors_computed_on_open_read_as_their_text_through_the_isolated_reader(
        tmp_path: Path) -> None:
    from table_io import open_workbook
    from table_io.limits import Limits

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b", "ratio"])
    ws.append([1, 0, "=A2/B2"])
    ws.append(["x", 2, "=A3+B3"])
    ws.append([4, 2, "=A4/B4"])
    path = tmp_path / "errors.xlsx"
    wb.save(path)  # openpyxl saves no results: they are computed on open, errors included
    book = open_workbook(path, limits=Limits(isolate=True))
    assert book.grids["Sheet"].values[1:, 2].tolist() == ["#DIV/0!", "#VALUE!", 2.0]
