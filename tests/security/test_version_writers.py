"""Two writers on one work folder: a lock, a stale view refused, and no edit ever lost."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import openpyxl
import pytest

from table_io.versions import VersionConflictError, VersionStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def book(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["item", "qty"])
    ws.append(["a", 1])
    path = tmp_path / "orig.xlsx"
    wb.save(path)
    return path


def write(ref: str, value: object):
    def apply(wb: openpyxl.Workbook) -> None:
        wb["Data"][ref] = value
    return apply


def cell(store: VersionStore, ref: str) -> object:
    return openpyxl.load_workbook(store.current_path)["Data"][ref].value


def test_a_stale_writer_is_refused_with_nothing_written_and_then_builds_on_the_other_edit(
        book: Path, tmp_path: Path) -> None:
    first, second = VersionStore(book, tmp_path / "w"), VersionStore(book, tmp_path / "w")
    assert first.commit([{"a": 1}], write("C1", "from first")) == 1
    files_before = sorted(p.name for p in (tmp_path / "w").iterdir())
    with pytest.raises(VersionConflictError, match="another session changed this workbook"):
        second.commit([{"a": 2}], write("D1", "from second"))
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == files_before
    # the refused writer now sees the other's version and its retry keeps both edits
    assert second.version == 1
    assert second.commit([{"a": 2}], write("D1", "from second")) == 2
    assert cell(second, "C1") == "from first" and cell(second, "D1") == "from second"
    assert [v["parent"] for v in second.versions] == [None, 0, 1]


@pytest.mark.parametrize("move", ["undo", "redo", "restore"])
def test_pointer_moves_from_a_stale_view_are_refused(book: Path, tmp_path: Path, move: str) -> None:
    first, second = VersionStore(book, tmp_path / "w"), VersionStore(book, tmp_path / "w")
    first.commit([], write("C1", "x"))
    second.refresh()
    stale = {"undo": lambda: (first.commit([], write("C2", "y")), second.undo),
             "redo": lambda: (second.undo(), first.redo),
             "restore": lambda: (first.undo(), lambda: second.restore(1))}[move]()[1]
    journal = (tmp_path / "w" / "journal.json").read_bytes()
    with pytest.raises(VersionConflictError):
        stale()
    assert (tmp_path / "w" / "journal.json").read_bytes() == journal


def test_a_held_lock_times_out_with_a_clear_error(book: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    from table_io import versions
    from table_io.errors import VersionError

    store = VersionStore(book, tmp_path / "w")
    monkeypatch.setattr(store._lock, "timeout", 0.2)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from filelock import FileLock
        with FileLock({str(tmp_path / "w" / versions.LOCK)!r}):
            print("held", flush=True)
            time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(VersionError, match="lock"):
            store.commit([], write("C1", "x"))
        assert store.version == 0 and len(store.versions) == 1
    finally:
        holder.kill()
        holder.wait()
    assert FileLock  # the lock is the filelock package's, shared across processes


WRITER = """
import sys, openpyxl
from table_io.versions import VersionConflictError, VersionStore
book, workdir, tag, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = VersionStore(book, workdir)
done = 0
while done < n:
    def apply(wb, done=done):
        ws = wb["Data"]
        ws.cell(ws.max_row + 1, 1, f"{tag}{done}")
    try:
        store.commit([{"tag": tag, "i": done}], apply)
        done += 1
    except VersionConflictError:
        pass
print("ok")
"""


def test_concurrent_processes_lose_no_edit(book: Path, tmp_path: Path) -> None:
    VersionStore(book, tmp_path / "w")  # version 0 exists before the race
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(book), str(tmp_path / "w"), tag, "4"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("x", "y")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    store = VersionStore(book, tmp_path / "w")
    assert store.version == 8 and len(store.versions) == 9
    assert [v["parent"] for v in store.versions] == [None, *range(8)]
    values = {r[0] for r in openpyxl.load_workbook(store.current_path)["Data"].iter_rows(values_only=True)}
    assert {f"{t}{i}" for t in "xy" for i in range(4)} <= values
