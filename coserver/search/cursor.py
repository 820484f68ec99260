"""Opaque keyset cursors: the sort key and id of the last hit of a page, base64url-encoded JSON.

A cursor is not secret and not signed: tampering with one only moves the start of the next page. Decoding
checks every field strictly, so a garbled cursor is a 400 naming ``cursor``, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime

from coserver.services.errors import InvalidInput

MAX_CURSOR_LENGTH = 400
_MAX_ID = 2**63 - 1

# The type of the sort key of each sort (see engine.py).
#   distance:  float, metres on the sphere (the KNN ``<->`` value)
#   relevance: float, ts_rank_cd + trigram similarity
#   date:      datetime (start), or None for elements without a date (sorted last)
#   recency:   None (the id is the key)
SortKey = float | datetime | None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the next page starts: strictly after ``(key, id)`` in the order of ``sort``."""

    sort: str
    key: SortKey
    id: int


def encode_cursor(cursor: Cursor) -> str:
    key: object = cursor.key
    if isinstance(key, datetime):
        key = key.isoformat()
    elif isinstance(key, float):
        key = repr(key)  # exact round trip
    raw = json.dumps([cursor.sort, key, cursor.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad(reason: str) -> InvalidInput:
    return InvalidInput(f"cursor is not valid ({reason}); start again without it", field="cursor")


def _key(sort: str, raw: object) -> SortKey:
    if sort in {"distance", "relevance"}:
        if not isinstance(raw, str) or len(raw) > 40:
            raise _bad("key")
        try:
            value = float(raw)
        except ValueError:
            raise _bad("key") from None
        if not math.isfinite(value) or (sort == "distance" and value < 0):
            raise _bad("key")
        return value
    if sort == "recency":
        if raw is not None:
            raise _bad("key")
        return None
    if raw is None and sort == "date":
        return None
    if not isinstance(raw, str) or len(raw) > 40:
        raise _bad("key")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad("key") from None
    if when.tzinfo is None:
        raise _bad("key")
    return when


def decode_cursor(text: str, sort: str) -> Cursor:
    """Parse a cursor made for ``sort``; raises :class:`InvalidInput` (field ``cursor``) otherwise."""
    if len(text) > MAX_CURSOR_LENGTH:
        raise _bad("too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _bad("encoding") from None
    if not isinstance(data, list) or len(data) != 3:
        raise _bad("shape")
    cursor_sort, key, ident = data
    if cursor_sort != sort:
        raise _bad(f"it was made for sort={cursor_sort!s:.20}")
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 < ident <= _MAX_ID:
        raise _bad("id")
    return Cursor(sort=sort, key=_key(sort, key), id=ident)
