"""Length-prefixed messages between the host and the sandboxed worker (standard library only).

A message is ``[u32 header length][header: UTF-8 JSON object][blob 0][blob 1]...`` where the
header's ``"blobs"`` list gives the byte length of each blob that follows (Parquet files, PNG
figures). Every request carries a random ``"id"`` that its reply must repeat.

Requests travel on one control socket, each with the write end of a fresh pipe attached
(SCM_RIGHTS); the worker writes exactly one reply into that pipe and closes it. So a reply can
only ever answer the request it came with: bytes the code writes into a pipe make that one
reply malformed (the worker is restarted), never a later one.

Headers are parsed without recursion limits being reachable: the nesting depth is checked on
the raw bytes before ``json.loads``. This module is copied read-only into the sandbox, so it
imports nothing from the project and nothing outside the standard library.
"""

from __future__ import annotations

import json
import re
import struct
from typing import Any

_LENGTH = struct.Struct(">I")
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64  # nesting of JSON arrays and objects in a header


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def encode(header: dict[str, Any], blobs: list[bytes] | tuple[bytes, ...] = ()) -> bytes:
    """One message as bytes; ``header["blobs"]`` is filled in from ``blobs``."""
    header = {**header, "blobs": [len(b) for b in blobs]}
    raw = json.dumps(header, ensure_ascii=True, default=str).encode()
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header of {len(raw)} bytes is over the limit")
    return b"".join([_LENGTH.pack(len(raw)), raw, *blobs])


def header_length(prefix: bytes) -> int:
    (length,) = _LENGTH.unpack(prefix)
    if length > MAX_HEADER_BYTES:
        raise ProtocolError(f"message header of {length} bytes is over the limit")
    return length


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nested_deeper_than(raw: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects deeper than ``limit`` (strings skipped).

    Each pass deletes the innermost pairs, at C speed; ``limit`` passes must empty it.
    """
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    brackets = brackets.replace(b"{", b"[").replace(b"}", b"]")
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:
            break
        brackets = shorter
    return bool(brackets)


def decode_header(raw: bytes) -> dict[str, Any]:
    if nested_deeper_than(raw, MAX_DEPTH):
        raise ProtocolError(f"bad message header: nested deeper than {MAX_DEPTH} levels")
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"bad message header: {type(exc).__name__}: {exc}"[:300]) from exc
    blobs = header.get("blobs") if isinstance(header, dict) else None
    if not isinstance(blobs, list) or not all(isinstance(n, int) and not isinstance(n, bool)
                                              and n >= 0 for n in blobs):
        raise ProtocolError("bad message header: no valid 'blobs' list")
    return header


PREFIX_BYTES = _LENGTH.size
