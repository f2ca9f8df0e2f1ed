"""Versions of an edited workbook: the original is never written; every edit is a new file.

Version 0 is a copy of the uploaded file (CSV, TSV, ODS and XLS are converted to .xlsx, with a
warning). ``commit`` loads the current version with openpyxl, applies a batch of actions,
recalculates formulas, and publishes the result atomically as the next version (temporary file
in the same folder, fsync, rename, then the journal the same way). Undo, redo and restore move a
pointer: the files of earlier versions are kept, so an undo gives back the very same bytes.

Several writers (two app sessions, a CLI and the app) may share one work folder. Every change
takes the folder's lock file and re-reads the journal under it; a writer whose view is stale (the
journal moved since it last read it) gets :class:`VersionConflictError` with nothing written and
its view refreshed, so no edit is ever lost to a writer that did not see it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
from filelock import FileLock, Timeout
from openpyxl.workbook.workbook import Workbook as XLWorkbook

from table_io.diff import CellChange, diff_files
from table_io.errors import TableIOError, UnsupportedFormatError, VersionError
from table_io.recalc import RecalcReport, recalculate

JOURNAL = "journal.json"
LOCK = ".lock"
LOCK_TIMEOUT_S = float(os.environ.get("TABLEPILOT_VERSION_LOCK_TIMEOUT_S", "30"))
NATIVE = {".xlsx", ".xlsm"}
CONVERTED = {".csv", ".tsv", ".ods", ".xls"}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it over ``final`` (atomic on POSIX), fsync the folder."""
    with tmp.open("rb+") as fh:
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def temp_path(final: Path) -> Path:
    """A temporary name next to ``final`` (same filesystem, so the rename is atomic)."""
    fd, name = tempfile.mkstemp(prefix=f".{final.stem}-", suffix=f".tmp{final.suffix}", dir=final.parent)
    os.close(fd)
    return Path(name)


def write_json_atomic(path: Path, data: Any) -> None:
    tmp = temp_path(path)
    try:
        tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
        publish(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class VersionConflictError(VersionError):
    """Another writer changed the work folder since this store last read it; nothing was written."""


class VersionStore:
    """All versions of one uploaded workbook, in ``workdir`` (a new temporary folder by default).

    Reopening a ``workdir`` that already holds a journal for the same original resumes it; stale
    temporary files left by a process killed during a save are removed then.
    """

    def __init__(self, original: str | Path, workdir: str | Path | None = None) -> None:
        self.original = Path(original).resolve()
        if not self.original.is_file():
            raise TableIOError("file not found", source=str(original))
        suffix = self.original.suffix.lower()
        if suffix not in NATIVE | CONVERTED:
            raise UnsupportedFormatError(f"cannot edit {suffix!r} files; use .xlsx, .xlsm, .xls, .ods or .csv",
                                         source=self.original.name)
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="tablepilot-versions-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.suffix = ".xlsm" if suffix == ".xlsm" else ".xlsx"
        self.warnings: list[str] = []
        self.last_recalc: RecalcReport | None = None
        self._journal: dict[str, Any] = {}
        self._lock = FileLock(self.workdir / LOCK, timeout=LOCK_TIMEOUT_S)
        with self._locked():
            # under the lock no other writer is between creating and publishing a temporary file
            for pattern in (".*.tmp.*", "*.recalc.tmp"):
                for stale in self.workdir.glob(pattern):
                    stale.unlink()
            if (self.workdir / JOURNAL).exists():
                self._journal = self._read_journal()
                if self._journal.get("original_sha256") != sha256_file(self.original):
                    raise VersionError("the work folder holds versions of another file", source=str(self.workdir))
                self.warnings = list(self._journal.get("warnings", []))
                for entry in self._journal["versions"][1:]:
                    if not (self.workdir / entry["file"]).exists():
                        raise VersionError(f"version file {entry['file']} is missing", source=str(self.workdir))
            else:
                self._create_version_zero(suffix)

    def _read_journal(self) -> dict[str, Any]:
        try:
            journal: dict[str, Any] = json.loads((self.workdir / JOURNAL).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VersionError(f"the version journal cannot be read ({exc})", source=str(self.workdir)) from None
        return journal

    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            with self._lock:
                yield
        except Timeout:
            raise VersionError(
                f"another writer has held the work folder's lock for over {LOCK_TIMEOUT_S:.0f} s; "
                "nothing was written (raise TABLEPILOT_VERSION_LOCK_TIMEOUT_S to wait longer)",
                source=str(self.workdir)) from None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the lock and check that no other writer moved the journal since this store read it."""
        with self._locked():
            disk = self._read_journal()
            mine = self._journal
            if (disk["current"], disk["redo"], len(disk["versions"])) != (
                    mine["current"], mine["redo"], len(mine["versions"])):
                self._journal = disk
                raise VersionConflictError(
                    f"another session changed this workbook since this one last read it (now at "
                    f"version {disk['current']}, this session saw version {mine['current']}); nothing "
                    "was written: look at the current version and try again",
                    source=self.original.name)
            yield

    def refresh(self) -> int:
        """Re-read the journal (another writer may have moved it); returns the current version."""
        with self._locked():
            self._journal = self._read_journal()
        return self.version

    # ----------------------------------------------------------------- version 0
    def _create_version_zero(self, suffix: str) -> None:
        first = self.workdir / f"v0000{self.suffix}"
        tmp = temp_path(first)
        try:
            if suffix in NATIVE:
                shutil.copyfile(self.original, tmp)
                if suffix == ".xlsm":
                    self.warnings.append(
                        "this .xlsm workbook has macros: they are kept (keep_vba) but never run, and "
                        "edits are not checked against them")
            else:
                _convert_to_xlsx(self.original, tmp)
                self.warnings.append(
                    f"{suffix} file converted to .xlsx for editing (version 0); "
                    + ("formatting, charts and macros of the .xls/.ods file are not kept"
                       if suffix in {".xls", ".ods"} else "download the result as .xlsx or export CSV"))
            publish(tmp, first)
        finally:
            if tmp.exists():
                tmp.unlink()
        self._journal = {
            "original": str(self.original),
            "original_sha256": sha256_file(self.original),
            "current": 0,
            "redo": [],
            "warnings": self.warnings,
            "versions": [{"n": 0, "file": first.name, "parent": None, "actions": [], "note": "original",
                          "created": _now(), "sha256": sha256_file(first)}],
        }
        self._save_journal()

    def _save_journal(self) -> None:
        write_json_atomic(self.workdir / JOURNAL, self._journal)

    # ----------------------------------------------------------------- reading
    @property
    def version(self) -> int:
        return int(self._journal["current"])

    @property
    def current_path(self) -> Path:
        return self.path_of(self.version)

    def path_of(self, n: int) -> Path:
        return self.workdir / self._entry(n)["file"]

    @property
    def versions(self) -> list[dict[str, Any]]:
        """Every version's journal entry (n, file, parent, actions, note, created, sha256)."""
        return [dict(e) for e in self._journal["versions"]]

    def history(self) -> list[dict[str, Any]]:
        """The versions from 0 to the current one, following parents."""
        chain, n = [], self.version
        while n is not None:
            entry = self._entry(n)
            chain.append(dict(entry))
            n = entry["parent"]
        return chain[::-1]

    @property
    def can_undo(self) -> bool:
        return self._entry(self.version)["parent"] is not None

    @property
    def can_redo(self) -> bool:
        return bool(self._journal["redo"])

    def _entry(self, n: int) -> dict[str, Any]:
        versions = self._journal["versions"]
        if not 0 <= n < len(versions):
            raise VersionError(f"no version {n}; versions are 0..{len(versions) - 1}")
        entry: dict[str, Any] = versions[n]
        return entry

    # ----------------------------------------------------------------- writing
    def load(self, n: int | None = None) -> XLWorkbook:
        """Version ``n`` (default: current) as an openpyxl workbook, macros kept for .xlsm."""
        path = self.path_of(self.version if n is None else n)
        return openpyxl.load_workbook(path, keep_vba=self.suffix == ".xlsm", keep_links=True)

    def build(self, apply: Callable[[XLWorkbook], object], target: Path, *, recalc: bool = True) -> RecalcReport | None:
        """Apply ``apply`` to a copy of the current version and save it (recalculated) to ``target``.

        Nothing is published: the version store and its journal do not change.
        """
        workbook = self.load()
        apply(workbook)
        workbook.save(target)
        report = recalculate(target) if recalc else None
        self.last_recalc = report
        return report

    def commit(self, actions: list[dict[str, Any]], apply: Callable[[XLWorkbook], object], note: str = "",
               *, recalc: bool = True) -> int:
        """Apply a batch to the current version and publish it as a new version; returns its number.

        If ``apply`` raises, nothing is written and the exception propagates.
        """
        with self._writing():
            n = len(self._journal["versions"])
            final = self.workdir / f"v{n:04d}{self.suffix}"
            tmp = temp_path(final)
            try:
                report = self.build(apply, tmp, recalc=recalc)
                publish(tmp, final)
            finally:
                if tmp.exists():
                    tmp.unlink()
            self._journal["versions"].append({
                "n": n, "file": final.name, "parent": self.version, "actions": actions, "note": note,
                "created": _now(), "sha256": sha256_file(final),
                "recalc": report.describe() if report else "skipped"})
            self._journal["current"] = n
            self._journal["redo"] = []
            self._save_journal()
            return n

    def undo(self) -> int:
        with self._writing():
            parent = self._entry(self.version)["parent"]
            if parent is None:
                raise VersionError("nothing to undo: this is the original")
            self._journal["redo"].append(self.version)
            self._journal["current"] = parent
            self._save_journal()
            return self.version

    def withdraw(self, n: int) -> int:
        """Take back version ``n``, just made and current: its parent is current again and
        ``n`` is marked withdrawn (kept on disk, never redone). Returns the version now current."""
        with self._writing():
            entry = self._entry(n)
            if self.version != n or entry["parent"] is None:
                raise VersionError(f"version {n} is not the current edit; it cannot be withdrawn")
            entry["withdrawn"] = True
            self._journal["current"] = entry["parent"]
            self._journal["redo"] = [v for v in self._journal["redo"] if v != n]
            self._save_journal()
            return self.version

    def redo(self) -> int:
        with self._writing():
            if not self._journal["redo"]:
                raise VersionError("nothing to redo")
            self._journal["current"] = self._journal["redo"].pop()
            self._save_journal()
            return self.version

    def restore(self, n: int) -> int:
        """Make version ``n`` current (a pointer move; later versions stay restorable)."""
        with self._writing():
            self._entry(n)
            self._journal["current"] = n
            self._journal["redo"] = []
            self._save_journal()
            return n

    def diff(self, a: int, b: int) -> list[CellChange]:
        """Cell-level changes from version ``a`` to version ``b``."""
        return diff_files(self.path_of(a), self.path_of(b))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _convert_to_xlsx(source: Path, target: Path) -> None:
    """CSV/TSV/ODS/XLS -> .xlsx with typed values (numbers as numbers, text as text)."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    suffix = source.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        sheets = {source.stem[:31] or "Sheet1": _read_csv(source, prefer_tab=suffix == ".tsv")}
    else:
        from python_calamine import CalamineWorkbook

        from table_io.limits import DEFAULT_LIMITS
        from table_io.safety import check_cells

        book = CalamineWorkbook.from_path(str(source))
        sheets = {}
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            # the extent a sheet really spans, checked before calamine allocates it
            check_cells(sheet.total_height + 1, sheet.total_width + 1, name, source.name, DEFAULT_LIMITS)
            sheets[name] = sheet.to_python(skip_empty_area=False)
    from table_io.xlsx_safety import set_untrusted

    for name, rows in sheets.items():
        ws = workbook.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                set_untrusted(ws.cell(r, c), value)
    if not workbook.worksheets:
        workbook.create_sheet("Sheet1")
    workbook.save(target)


def _read_csv(path: Path, *, prefer_tab: bool) -> list[list[Any]]:
    """The rows as the reader saw them: the same encoding and delimiter sniffing (a semicolon
    or cp1252 file must not become one column of mangled text at its first edit)."""
    import io

    from table_io.csv_read import decode, sniff_text

    text, _ = decode(path.read_bytes(), path.name)
    dialect = sniff_text(text, prefer_tab=prefer_tab)
    return [[_typed(v) for v in row] for row in dialect.reader(io.StringIO(text, newline=""))]


def _typed(text: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return None
    try:
        number = float(stripped)
    except ValueError:
        return text
    if stripped.lstrip("+-").isdigit() and not (len(stripped.lstrip("+-")) > 1 and stripped.lstrip("+-")[0] == "0"):
        return int(stripped)
    if stripped.lower() in {"nan", "inf", "-inf", "infinity"} or (stripped.lstrip("+-")[:1] == "0" and "." not in stripped):
        return text
    return number
