"""VersionStore: the original is never written, versions are atomic files, undo is a pointer move."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from table_io.errors import VersionError
from table_io.versions import VersionStore

REPO = Path(__file__).resolve().parents[2]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def book(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["item", "qty", "price"])
    for i in range(1, 6):
        ws.append([f"item{i}", i, i * 1.5])
    path = tmp_path / "orig.xlsx"
    wb.save(path)
    return path


def set_cell(ref: str, value: object):
    def apply(wb: openpyxl.Workbook) -> None:
        wb["Data"][ref] = value
    return apply


def test_version_zero_is_a_copy_and_the_original_is_never_written(book: Path, tmp_path: Path) -> None:
    before = sha(book)
    store = VersionStore(book, tmp_path / "work")
    assert store.version == 0 and sha(store.current_path) == before
    store.commit([{"action": "write"}], set_cell("A2", "changed"))
    store.commit([{"action": "write"}], set_cell("A3", "again"))
    assert sha(book) == before
    assert store.version == 2
    assert openpyxl.load_workbook(store.current_path)["Data"]["A3"].value == "again"
    assert [v["n"] for v in store.history()] == [0, 1, 2]
    assert store.versions[1]["actions"] == [{"action": "write"}]


def test_undo_redo_restore_give_byte_identical_files(book: Path, tmp_path: Path) -> None:
    store = VersionStore(book, tmp_path / "work")
    v0 = sha(store.current_path)
    store.commit([], set_cell("B2", 100))
    v1 = sha(store.current_path)
    store.commit([], set_cell("B3", 200))
    v2 = sha(store.current_path)
    assert store.undo() == 1 and sha(store.current_path) == v1
    assert store.undo() == 0 and sha(store.current_path) == v0
    assert not store.can_undo and store.can_redo
    with pytest.raises(VersionError):
        store.undo()
    assert store.redo() == 1 and sha(store.current_path) == v1
    assert store.redo() == 2 and sha(store.current_path) == v2
    with pytest.raises(VersionError):
        store.redo()
    assert store.restore(0) == 0 and sha(store.current_path) == v0
    with pytest.raises(VersionError):
        store.restore(9)
    # a commit after undo starts from the undone state and clears redo
    store.restore(1)
    store.commit([], set_cell("C2", 7))
    assert store.version == 3 and not store.can_redo
    assert store.history()[-2]["n"] == 1


def test_failed_apply_publishes_nothing(book: Path, tmp_path: Path) -> None:
    store = VersionStore(book, tmp_path / "work")

    def boom(wb: openpyxl.Workbook) -> None:
        wb["Data"]["A1"] = "half done"
        raise ValueError("bad action")

    with pytest.raises(ValueError):
        store.commit([], boom)
    assert store.version == 0 and len(store.versions) == 1
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == [".lock", "journal.json", "v0000.xlsx"]


def test_reopening_the_workdir_resumes(book: Path, tmp_path: Path) -> None:
    store = VersionStore(book, tmp_path / "work")
    store.commit([], set_cell("A2", "x"))
    again = VersionStore(book, tmp_path / "work")
    assert again.version == 1 and again.current_path == store.current_path


def test_diff_reports_values_formulas_and_formats(book: Path, tmp_path: Path) -> None:
    store = VersionStore(book, tmp_path / "work")

    def edit(wb: openpyxl.Workbook) -> None:
        ws = wb["Data"]
        ws["B2"] = 42
        ws["D2"] = "=B2*C2"
        ws["A1"].font = openpyxl.styles.Font(bold=True)

    store.commit([], edit)
    kinds = {(c.cell, c.kind) for c in store.diff(0, 1)}
    assert {("B2", "value"), ("D2", "formula"), ("D2", "value"), ("A1", "format")} <= kinds
    value = next(c for c in store.diff(0, 1) if c.cell == "D2" and c.kind == "value")
    assert value.before is None and value.after == pytest.approx(63.0)
    assert store.diff(1, 1) == []


def test_csv_is_converted_to_xlsx_with_typed_values(tmp_path: Path) -> None:
    src = tmp_path / "data.csv"
    src.write_text("name,amount,code\nalpha,12,007\nbeta,3.5,=1+1\n", encoding="utf-8")
    store = VersionStore(src, tmp_path / "work")
    assert store.current_path.suffix == ".xlsx"
    assert any("converted" in w for w in store.warnings)
    ws = openpyxl.load_workbook(store.current_path).worksheets[0]
    assert [c.value for c in ws[2]] == ["alpha", 12, "007"]
    assert ws["C3"].value == "=1+1" and ws["C3"].data_type == "s"  # text, not a formula


def test_a_semicolon_cp1252_csv_keeps_its_columns_and_accents_when_converted(tmp_path: Path) -> None:
    src = tmp_path / "ventes.csv"
    src.write_bytes("Région;Montant;Note\nÎle-de-France;12;\"a;b\"\nCôte d'Azur;3,5;ok\n".encode("cp1252"))
    ws = openpyxl.load_workbook(VersionStore(src, tmp_path / "work").current_path).worksheets[0]
    assert [c.value for c in ws[1]] == ["Région", "Montant", "Note"]
    assert [c.value for c in ws[2]] == ["Île-de-France", 12, "a;b"]
    assert ws["B3"].value == "3,5"  # decimal comma text, read as a number by table_io


def test_xlsm_keeps_macros_with_a_warning(tmp_path: Path) -> None:
    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    macro = tmp_path / "macro.xlsm"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(macro, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(item, data)
        dst.writestr("xl/vbaProject.bin", b"fake vba project bytes")
    store = VersionStore(macro, tmp_path / "work")
    assert any("macros" in w for w in store.warnings)
    store.commit([], lambda wb: wb.active.cell(1, 1, "edited"))
    assert store.current_path.suffix == ".xlsm"
    with zipfile.ZipFile(store.current_path) as zf:
        assert zf.read("xl/vbaProject.bin") == b"fake vba project bytes"


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import openpyxl
    import table_io.versions as versions

    original, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    store = versions.VersionStore(original, workdir)
    store.commit([], lambda wb: wb["Data"].cell(2, 1, "first edit"))

    def slow_build(self, apply, target, *, recalc=True):
        good = workdir / "v0001.xlsx"
        data = good.read_bytes()
        with open(target, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            print("WRITING", flush=True)
            time.sleep(60)
            fh.write(data[len(data) // 2:])

    versions.VersionStore.build = slow_build
    store.commit([], lambda wb: None)
""")


def test_a_process_killed_during_a_save_leaves_the_previous_version(book: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(book), str(workdir)], stdout=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "WRITING"
        assert any(p.name.endswith(".tmp.xlsx") for p in workdir.iterdir())  # a partial file exists now
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.05)
    store = VersionStore(book, workdir)
    assert store.version == 1
    assert sha(store.current_path) == store.versions[1]["sha256"]
    assert openpyxl.load_workbook(store.current_path)["Data"]["A2"].value == "first edit"
    names = sorted(p.name for p in workdir.iterdir())
    assert names == [".lock", "journal.json", "v0000.xlsx", "v0001.xlsx"]  # no partial file, no v0002


def test_ods_is_converted_to_xlsx(tmp_path: Path) -> None:
    import pandas as pd

    src = tmp_path / "data.ods"
    pd.DataFrame({"city": ["Oslo", "Rome"], "pop": [0.7, 2.8]}).to_excel(src, index=False, engine="odf")
    store = VersionStore(src, tmp_path / "work")
    assert store.current_path.name == "v0000.xlsx" and any(".ods" in w for w in store.warnings)
    ws = openpyxl.load_workbook(store.current_path).worksheets[0]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [["city", "pop"], ["Oslo", 0.7], ["Rome", 2.8]]
