"""Refuse hostile containers before any parser sees them: zip bombs, XML bombs, oversized sheets.

Checks run on the zip's central directory (entry count, declared expanded size, compression
ratio) and on the first bytes of every XML part (a DTD or entity declaration has no business in
an OOXML or ODF file). openpyxl parses through defusedxml as soon as it is installed, and our
own small XML reads use defusedxml directly.
"""

from __future__ import annotations

import io
import re
import zipfile

from table_io.errors import CorruptFileError, LimitExceededError, UnsafeFileError
from table_io.limits import Limits

_RATIO_MIN_BYTES = 1024 * 1024  # tiny parts compress absurdly well; only judge big ones
_XML_HEAD_BYTES = 4096


def check_zip(data: bytes, display: str, limits: Limits) -> None:
    """Raise UnsafeFileError for a zip bomb or XML bomb, CorruptFileError for a broken zip."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(f"is a damaged or truncated zip container ({exc})", source=display) from None
    with zf:
        infos = zf.infolist()
        if len(infos) > limits.max_zip_entries:
            raise UnsafeFileError(
                f"zip container has {len(infos):,} entries (limit {limits.max_zip_entries:,}): "
                "refused as a possible zip bomb",
                source=display,
            )
        total = sum(info.file_size for info in infos)
        if total > limits.max_uncompressed_bytes:
            raise UnsafeFileError(
                f"zip container expands to {total / 1e6:,.0f} MB (limit "
                f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB): refused as a possible zip bomb",
                source=display,
            )
        for info in infos:
            if info.file_size >= _RATIO_MIN_BYTES:
                ratio = info.file_size / max(info.compress_size, 1)
                if ratio > limits.max_compression_ratio:
                    raise UnsafeFileError(
                        f"part {info.filename} expands {ratio:,.0f}x (limit "
                        f"{limits.max_compression_ratio:,.0f}x): refused as a possible zip bomb",
                        source=display,
                    )
        for info in infos:
            if info.filename.endswith((".xml", ".rels", ".vml")):
                _check_xml_head(zf, info, display)


def _check_xml_head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, display: str) -> None:
    try:
        with zf.open(info) as fh:
            head = fh.read(_XML_HEAD_BYTES)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # zlib errors surface as these
        raise CorruptFileError(
            f"part {info.filename} is damaged or truncated ({exc})", source=display
        ) from None
    except Exception as exc:  # zlib.error and friends
        raise CorruptFileError(
            f"part {info.filename} cannot be decompressed ({exc})", source=display
        ) from None
    upper = head.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise UnsafeFileError(
            f"part {info.filename} declares a DTD or entities: refused as a possible XML bomb",
            source=display,
        )


def check_cells(n_rows: int, n_cols: int, sheet: str, display: str, limits: Limits) -> None:
    cells = n_rows * n_cols
    if cells > limits.max_cells:
        raise LimitExceededError(
            f"sheet {sheet!r} spans {n_rows:,} rows x {n_cols:,} columns = {cells:,} cells, over "
            f"the {limits.max_cells:,} cell limit (raise it with TABLEPILOT_MAX_CELLS)",
            source=display,
        )


_DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\b[^>]*\bref=\"([A-Z]+)?(\d+)?:?([A-Z]+)?(\d+)?\"")


def check_declared_dimensions(data: bytes, display: str, limits: Limits) -> None:
    """Refuse a sheet whose declared <dimension> is over the cell limit, before parsing it."""
    from table_io.model import column_index
    from table_io.xlsx_structure import sheet_names_by_part

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = sheet_names_by_part(zf)
        for info in zf.infolist():
            if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
                continue
            with zf.open(info) as fh:
                head = fh.read(_XML_HEAD_BYTES)
            m = _DIMENSION.search(head)
            if not m or not m.group(3) or not m.group(4):
                continue
            n_rows = int(m.group(4)) - int(m.group(2) or 1) + 1
            first_col = (m.group(1) or b"A").decode()
            n_cols = column_index(m.group(3).decode()) - column_index(first_col) + 1
            sheet = names.get(info.filename, info.filename.rsplit("/", 1)[-1])
            check_cells(n_rows, n_cols, sheet, display, limits)
