"""Refuse hostile containers before any parser sees them: zip bombs, XML bombs, oversized sheets.

Checks run on the zip's central directory (entry count, declared expanded size, compression
ratio) and on the whole of every XML part, streamed in chunks: a DTD or entity declaration has
no business in an OOXML or ODF file, wherever it hides. For .xlsx the same pass measures what
the sheets really hold (:mod:`table_io.xlsx_extent`) instead of trusting ``<dimension>``.
openpyxl parses through defusedxml as soon as it is installed, and our own small XML reads use
defusedxml directly.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from table_io.errors import CorruptFileError, LimitExceededError, UnsafeFileError
from table_io.limits import Limits

_RATIO_MIN_BYTES = 1024 * 1024  # tiny parts compress absurdly well; only judge big ones
CHUNK_BYTES = 4 * 1024 * 1024
_XML_HEAD_BYTES = 4096
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# "<!" then DOCTYPE/ENTITY, in UTF-8 (or any ASCII superset) and in both UTF-16 byte orders
_DECLARATION_STARTS = (b"<!", b"<\x00!\x00", b"\x00<\x00!")
_DECLARATIONS = (b"DOCTYPE", b"ENTITY")


def open_zip(data: bytes, display: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"is a damaged or truncated zip container ({exc})", source=display) from None


def check_zip(data: bytes, display: str, limits: Limits, *, kind: str = "") -> None:
    """Raise UnsafeFileError for a zip bomb or XML bomb, CorruptFileError for a broken zip,
    LimitExceededError when the sheets of an ``xlsx`` or ``ods`` really hold more cells or
    text than the limits allow (measured by :mod:`table_io.extent` in the same pass)."""
    from table_io.extent import OdsExtent, XlsxExtent

    with open_zip(data, display) as zf:
        infos = zf.infolist()
        _check_directory(infos, display, limits)
        xml_parts = [i for i in infos if i.filename.lower().endswith(_XML_SUFFIXES)]
        if kind == "xlsx":
            extent = XlsxExtent(zf, display, limits)
            # workbook, relationships and shared strings first: the sheet scan needs them
            for info in sorted(xml_parts, key=lambda i: extent.is_sheet(i.filename)):
                extent.scan(info, stream_part(zf, info, display))
            extent.check()
            return
        for info in xml_parts:
            chunks = stream_part(zf, info, display)
            if kind == "ods" and info.filename == "content.xml":
                OdsExtent(display, limits).scan(chunks)
            for _ in chunks:  # the DTD check sees the whole of every part
                pass


def _check_directory(infos: list[zipfile.ZipInfo], display: str, limits: Limits) -> None:
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
            f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB, TABLEPILOT_MAX_UNCOMPRESSED_BYTES): "
            "refused as a possible zip bomb",
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


def stream_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, display: str) -> Iterator[bytes]:
    """The decompressed bytes of one XML part in chunks, refusing any DTD or entity declaration
    and any part that expands beyond what the central directory declared."""
    tail = b""
    seen = 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(CHUNK_BYTES)
                if not chunk:
                    return
                seen += len(chunk)
                if seen > info.file_size + CHUNK_BYTES:  # the header lied about the size
                    raise UnsafeFileError(
                        f"part {info.filename} expands past its declared size: refused as a "
                        "possible zip bomb", source=display)
                _check_declarations(tail + chunk, info.filename, display)
                tail = chunk[-16:]
                yield chunk
    except (UnsafeFileError, LimitExceededError):
        raise
    except NotImplementedError as exc:
        raise CorruptFileError(f"part {info.filename} uses an unsupported compression ({exc})",
                               source=display) from None
    except Exception as exc:  # zipfile.BadZipFile (a CRC mismatch too), zlib.error, EOFError
        raise CorruptFileError(
            f"part {info.filename} is damaged or truncated ({type(exc).__name__}: {exc})",
            source=display,
        ) from None


def _check_declarations(data: bytes, part: str, display: str) -> None:
    for start in _DECLARATION_STARTS:
        wide = len(start) == 4
        pos = data.find(start)
        while pos >= 0:
            after = data[pos + len(start): pos + len(start) + 16]
            word = after[::2] if wide and start[0:1] == b"<" else after[1::2] if wide else after
            if word[:7].upper().startswith(_DECLARATIONS):
                raise UnsafeFileError(
                    f"part {part} declares a DTD or entities: refused as a possible XML bomb",
                    source=display,
                )
            pos = data.find(start, pos + 1)


def check_cells(n_rows: int, n_cols: int, sheet: str, display: str, limits: Limits) -> None:
    cells = n_rows * n_cols
    if cells > limits.max_cells:
        raise LimitExceededError(
            f"sheet {sheet!r} spans {n_rows:,} rows x {n_cols:,} columns = {cells:,} cells, over "
            f"the {limits.max_cells:,} cell limit (raise it with TABLEPILOT_MAX_CELLS)",
            source=display,
        )
