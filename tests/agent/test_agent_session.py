"""Chat sessions: multi-turn context, edits through the sheet tool, versions, undo, review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from langchain_core.messages import AIMessage, HumanMessage

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call


def test_second_turn_sees_the_first(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Year = 2023"),
        tool_call("final_answer", answer=230.5),
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Year = 2024"),
        tool_call("final_answer", answer=354.25),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    first = session.send("What was the total revenue in 2023?")
    second = session.send("and for 2024?")
    assert first.value == 230.5 and second.value == 354.25
    second_request = model.calls[2]
    texts = [str(m.content) for m in second_request]
    assert any(isinstance(m, HumanMessage) and m.content == "What was the total revenue in 2023?"
               for m in second_request)
    assert any(isinstance(m, AIMessage) and "230.5" in str(m.content) and "Year = 2023" in str(m.content)
               for m in second_request)
    assert "and for 2024?" in texts[-1]
    assert len(session.history) == 2


def test_edit_undo_redo_and_the_original_is_untouched(sales_xlsx: Path, tmp_path: Path) -> None:
    before = sales_xlsx.read_bytes()
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "E1",
                                     "values": "Checked"},
                                    {"action": "write", "sheet": "Sales", "range": "E2",
                                     "values": "yes"}]),
        tool_call("sql", query="SELECT Checked FROM sales WHERE Checked = 'yes'"),
        tool_call("final_answer", answer="done"),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    answer = session.send("Add a Checked column and mark the first row yes")
    assert answer.status == "ok", answer.text
    assert [s.tool for s in answer.steps] == ["sheet", "sql"]
    assert answer.steps[1].error is None, "the SQL catalog was refreshed after the edit"
    assert answer.version == 1 and session.versions.version == 1
    ws = openpyxl.load_workbook(session.workbook_path)["Sales"]
    assert ws["E1"].value == "Checked" and ws["E2"].value == "yes"
    assert "Checked" in session.workbook.tables[0].columns
    assert answer.steps[0].payload["changes"], "the cell changes are in the step"
    assert session.undo() == 0
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["E1"].value is None
    assert session.redo() == 1
    assert sales_xlsx.read_bytes() == before
    saved = session.save(tmp_path / "out.xlsx")
    assert openpyxl.load_workbook(saved)["Sales"]["E2"].value == "yes"


def test_review_mode_holds_edits_until_applied(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "A2",
                                     "values": "West"}]),
        "I proposed renaming the first region to West.",
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, auto_apply=False,
                                                   workdir=tmp_path / "w")
    answer = session.send("Rename the first region to West")
    assert answer.status == "ok"
    assert session.pending is not None and session.versions.version == 0
    assert any(c.cell == "A2" for c in session.pending.changes)
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["A2"].value == "North"
    assert session.apply_pending() == 1 and session.pending is None
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["A2"].value == "West"


def test_discard_pending(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "A2",
                                     "values": "West"}]),
        tool_call("final_answer", answer="proposed"),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, auto_apply=False,
                                                   workdir=tmp_path / "w")
    session.send("Rename the first region to West")
    session.discard_pending()
    assert session.pending is None and session.versions.version == 0


def test_chat_over_a_dataframe(sales_xlsx: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_excel(sales_xlsx)
    model = ScriptedChatModel([tool_call("sql", query="SELECT COUNT(*) FROM data"),
                               tool_call("final_answer", answer=6)])
    session = TableAgent(model, python=False).chat(frame, workdir=tmp_path / "w")
    assert session.send("How many rows?").value == 6


def sql_rows(answer: Any) -> list[list[Any]]:
    """What the agent's SQL step returned (the real DuckDB result, as the model saw it)."""
    step = next(s for s in answer.steps if s.tool == "sql")
    assert step.error is None, step.output
    return [list(row) for row in step.payload["preview"]]


def write_checked(sheet: str) -> AIMessage:
    return tool_call("sheet", actions=[
        {"action": "write", "sheet": sheet, "range": "E1", "values": "Checked"},
        {"action": "write", "sheet": sheet, "range": "E2", "values": "yes"}])


COUNT = "SELECT COUNT(*) AS n FROM sales"


def test_a_table_correction_survives_an_edit_and_an_undo(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query=COUNT), tool_call("final_answer", answer=3),
        write_checked("Sales"),
        tool_call("sql", query="SELECT COUNT(*) AS n, COUNT(Checked) AS c FROM sales"),
        tool_call("final_answer", answer=3),
        tool_call("sql", query=COUNT), tool_call("final_answer", answer=3),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    assert session.workbook.table("sales").n_rows == 6
    corrected = session.correct_table("sales", range="a1:e4")  # only the first three rows
    assert corrected is session.workbook and corrected.table("sales").n_rows == 3
    assert session.overrides == {"sales": {"range": "A1:E4"}}
    assert sql_rows(session.send("How many rows?")) == [[3]]

    edit = session.send("Add a Checked column and mark the first row yes")
    assert edit.version == 1
    assert sql_rows(edit) == [[3, 1]], "after the edit the corrected range holds the new column"
    assert session.workbook.table("sales").n_rows == 3
    assert session.undo() == 0
    table = session.workbook.table("sales")
    assert table.n_rows == 3 and "Checked" not in table.columns
    assert sql_rows(session.send("And now?")) == [[3]]
    assert session.take_notices() == []


def test_a_bad_correction_changes_nothing_and_one_that_stops_fitting_is_dropped(
        sales_xlsx: Path, tmp_path: Path) -> None:
    from table_io.errors import TableIOError

    model = ScriptedChatModel([
        tool_call("sheet", actions=[
            {"action": "add_sheet", "name": "Extra"},
            {"action": "write", "sheet": "Extra", "range": "A1",
             "values": [["Item", "Qty"], ["pen", 2], ["ink", 5], ["pad", 1]]}]),
        tool_call("final_answer", answer="added"),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    with pytest.raises(TableIOError):
        session.correct_table("nope", range="A1:B2")
    assert session.overrides == {} and session.workbook.table("sales").n_rows == 6
    session.send("Add an Extra sheet")
    session.correct_table("Extra", range="A1:B3")
    assert session.workbook.table("extra").n_rows == 2
    assert session.undo() == 0  # version 0 has no Extra sheet: the correction cannot hold
    assert session.overrides == {}
    [notice] = session.take_notices()
    assert "correction of table Extra no longer fits version 0" in notice
    assert any("no longer fits" in turn.event for turn in session.history)
    assert session.redo() == 1 and session.workbook.table("extra").n_rows == 3


def orders_with_ambiguous_dates(path: Path) -> Path:
    """Dates written as text whose days are all 12 or less (read month first unless told), and
    zip codes stored as numbers."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    for row in [["Ordered", "Zip", "Qty"], ["03/04/2024", 2134, 5], ["05/06/2024", 501, 7],
                ["11/12/2024", 10001, 2]]:
        ws.append(row)
    wb.save(path)
    return path


def test_a_column_type_correction_survives_an_applied_edit(tmp_path: Path) -> None:
    import pandas as pd

    path = orders_with_ambiguous_dates(tmp_path / "orders.xlsx")
    april = "SELECT COUNT(*) AS n FROM orders WHERE Ordered = DATE '2024-04-03'"
    model = ScriptedChatModel([
        tool_call("sql", query=april), tool_call("final_answer", answer=1),
        tool_call("sheet", actions=[{"action": "write", "sheet": "Orders", "range": "D1:D2",
                                     "values": [["Checked"], ["yes"]]}]),
        tool_call("final_answer", answer="done"),
        tool_call("sql", query=april + " AND Zip = '2134'"), tool_call("final_answer", answer=1),
    ])
    session = TableAgent(model, python=False).chat(path, workdir=tmp_path / "w", auto_apply=False)
    assert session.workbook.table("orders").frame["Ordered"][0] == pd.Timestamp("2024-03-04")
    session.correct_table("orders", types={"Ordered": "date (day first)"})
    session.correct_table("orders", types={"Zip": "text"})  # added to the first correction
    assert session.overrides == {"orders": {"types": {"Ordered": "date (day first)", "Zip": "text"}}}
    assert sql_rows(session.send("How many orders on 3 April?")) == [[1]]

    session.send("Mark the first order checked")
    assert session.apply_pending() == 1
    table = session.workbook.table("orders")
    assert "Checked" in table.columns, "the table grew with the edit: its range was not pinned"
    assert table.frame["Ordered"].tolist() == [pd.Timestamp(d) for d in
                                              ("2024-04-03", "2024-06-05", "2024-12-11")]
    assert table.frame["Zip"].tolist() == ["2134", "501", "10001"]
    assert sql_rows(session.send("And with zip 2134?")) == [[1]]
    assert session.take_notices() == []
    assert any("columns read: Zip as text" in turn.event for turn in session.history)

    session.correct_table("orders", types={"Zip": None, "Ordered": None})  # as detected again
    assert session.overrides == {} and session.workbook.table("orders").frame["Zip"].tolist() == [
        2134, 501, 10001]


def test_a_csv_read_again_with_its_delimiter_is_what_the_tools_query(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes("Item;Price, EUR;Note\nCafé;3,50;new\nThé;2,75\nCrème;4,10\n".encode("cp1252"))
    model = ScriptedChatModel([
        tool_call("sql", query='SELECT SUM("Price, EUR") AS total FROM prices'),
        tool_call("final_answer", answer=10.35),
    ])
    session = TableAgent(model, python=False).chat(path, workdir=tmp_path / "w")
    assert session.workbook.table("prices").meta["csv"]["delimiter"] == ","  # sniffed wrong
    session.correct_table("prices", csv={"delimiter": ";", "encoding": "cp1252"})
    assert session.overrides == {"prices": {"csv": {"delimiter": ";", "encoding": "cp1252"}}}
    assert session.workbook.table("prices").frame["Item"].tolist() == ["Café", "Thé", "Crème"]
    [[total]] = sql_rows(session.send("What do they cost together?"))
    assert total == pytest.approx(10.35)


TOTAL = "SELECT SUM(Revenue) AS total FROM sales"


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_parquet_or_csv_session_converts_only_at_the_first_edit(
        fmt: str, sales_frame: Any, tmp_path: Path) -> None:
    source = tmp_path / f"sales.{fmt}"
    if fmt == "parquet":
        sales_frame.to_parquet(source)
    else:
        sales_frame.to_csv(source, index=False)
    before = source.read_bytes()
    work = tmp_path / "w"
    model = ScriptedChatModel([
        tool_call("sql", query=TOTAL), tool_call("final_answer", answer=584.75),
        write_checked("sales"),
        tool_call("sql", query="SELECT COUNT(Checked) AS c FROM sales"),
        tool_call("final_answer", answer=1),
    ])
    session = TableAgent(model, python=False).chat(source, workdir=work)
    assert session.workbook_path == source and session.version == 0
    assert not session.can_undo and not session.has_versions

    answer = session.send("What is the total revenue?")
    assert answer.value == 584.75 and sql_rows(answer) == [[584.75]]
    assert not session.has_versions and sorted(p.name for p in work.iterdir()) == []

    edit = session.send("Add a Checked column and mark the first row yes")
    assert edit.status == "ok", edit.text
    assert edit.version == 1 and session.version == 1 and session.can_undo
    assert sql_rows(edit) == [[1]], "the same table name before and after the conversion"
    assert session.workbook_path.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(session.workbook_path)["sales"]
    assert [sheet["A2"].value, sheet["D2"].value, sheet["E1"].value] == ["North", 120.5, "Checked"]
    assert session.undo() == 0
    assert session.workbook_path.suffix == ".xlsx"  # version 0: the source as .xlsx
    assert "Checked" not in session.workbook.table("sales").columns
    assert session.workbook.table("sales").frame["Revenue"].sum() == 584.75
    assert source.read_bytes() == before
    again = TableAgent(model, python=False).chat(source, workdir=work)  # resumes the versions
    assert again.has_versions and again.version == 0 and again.can_redo
    assert again.redo() == 1 and "Checked" in again.workbook.table("sales").columns


def test_review_mode_makes_the_versions_at_the_first_proposal(sales_frame: Any,
                                                              tmp_path: Path) -> None:
    source = tmp_path / "sales.parquet"
    sales_frame.to_parquet(source)
    model = ScriptedChatModel([write_checked("sales"), tool_call("final_answer", answer="proposed")])
    session = TableAgent(model, python=False).chat(source, auto_apply=False, workdir=tmp_path / "w")
    session.send("Add a Checked column")
    assert session.pending is not None and session.has_versions and session.version == 0
    assert {c.cell for c in session.pending.changes} >= {"E1", "E2"}
    assert session.apply_pending() == 1
    assert openpyxl.load_workbook(session.workbook_path)["sales"]["E2"].value == "yes"


def test_a_parquet_file_too_big_for_a_sheet_is_answered_but_not_edited(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = tmp_path / "big.parquet"  # one row more than a sheet holds under its header
    pq.write_table(pa.table({"n": pa.array(range(1_048_576), pa.int32())}), source)
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT COUNT(*) AS rows FROM big"),
        tool_call("sheet", actions=[{"action": "write", "sheet": "big", "range": "B1",
                                     "values": "x"}]),
        tool_call("final_answer", answer=1_048_576),
    ])
    session = TableAgent(model, python=False).chat(source, workdir=tmp_path / "w")
    answer = session.send("How many rows? Then add a column")
    assert sql_rows(answer) == [[1_048_576]]
    sheet_step = next(s for s in answer.steps if s.tool == "sheet")
    assert sheet_step.error is not None and "too large to edit as a workbook" in sheet_step.output
    assert session.version == 0 and not session.has_versions
    assert session.workbook_path == source


def test_parquet_values_become_cells_and_text_never_a_formula(tmp_path: Path) -> None:
    import pandas as pd

    from agent.session import parquet_to_xlsx

    frame = pd.DataFrame({
        "when": pd.to_datetime(["2025-01-02 03:04", None]).tz_localize("Europe/Oslo"),
        "note": ["=1+1", None],
        "amount": [1.5, float("nan")],
        "tags": [["a", "b"], []],
    })
    frame.to_parquet(tmp_path / "odd.parquet")
    parquet_to_xlsx(tmp_path / "odd.parquet", tmp_path / "odd.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "odd.xlsx")["odd"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["when", "note", "amount", "tags"]
    assert rows[1][:3] == [pd.Timestamp("2025-01-02 03:04").to_pydatetime(), "=1+1", 1.5]
    assert sheet["B2"].data_type == "s" and rows[1][3] == "['a', 'b']"
    assert rows[2][:3] == [None, None, None]


def test_a_workbook_opened_with_a_correction_keeps_it_after_an_edit(sales_xlsx: Path,
                                                                     tmp_path: Path) -> None:
    from table_io import open_workbook

    opened = open_workbook(sales_xlsx, overrides={"sales": {"range": "A1:D3"}})
    model = ScriptedChatModel([write_checked("Sales"), tool_call("final_answer", answer="ok")])
    session = TableAgent(model, python=False).chat(opened, workdir=tmp_path / "w")
    assert session.workbook is opened and session.workbook_path == sales_xlsx
    session.send("Mark the first row")
    assert session.version == 1 and session.workbook.table("sales").n_rows == 2
