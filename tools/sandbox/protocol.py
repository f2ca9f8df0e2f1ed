"""Length-prefixed messages between the host and the sandboxed worker (standard library only).

A message is ``[u32 header length][header: UTF-8 JSON object][blob 0][blob 1]...`` where the
header's ``"blobs"`` list gives the byte length of each blob that follows (Parquet files, PNG
figures). This module is copied read-only into the sandbox, so it imports nothing from the
project and nothing outside the standard library.
"""

from __future__ import annotations

import json
import struct
from typing import Any

_LENGTH = struct.Struct(">I")
MAX_HEADER_BYTES = 16 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def encode(header: dict[str, Any], blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """One message as bytes; ``header["blobs"]`` is filled in from ``blobs``."""
    header = {**header, "blobs": [len(b) for b in blobs]}
    raw = json.dumps(header, ensure_ascii=True, default=str).encode()
    return b"".join([_LENGTH.pack(len(raw)), raw, *blobs])


def header_length(prefix: bytes) -> int:
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header of {length} bytes is over the limit")
    return length


def decode_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"bad message header: {exc}") from exc
    blobs = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(blobs, list) or not all(isinstance(n, int) and n >= 0 for n in blobs):
        raise ProtocolError("bad message header: no valid 'blobs' list")
    return header


PREFIX_BYTES = _LENGTH.size
