"""Body digests, HTTP dates and header helpers for signed federation requests.

Pure helpers shared by the draft-cavage signer/verifier (``federation.signatures``) and the RFC 9421 one
(``federation.rfc9421``):

- ``body_digest`` produces the cavage ``Digest`` header value, ``SHA-256=<base64>`` (RFC 3230 style, what
  Mastodon sends), and ``check_digest_header`` checks an inbound one the way Mastodon does: a comma-separated
  list, algorithm names case-insensitive, a ``sha-256`` member required, other algorithms ignored.
- ``content_digest`` produces the RFC 9530 ``Content-Digest`` value, ``sha-256=:<base64>:``, and
  ``check_content_digest_header`` checks an inbound one: a Structured Field dictionary whose
  ``sha-256`` member must match (``sha-512`` and other members are ignored, as Mastodon does).
- ``http_date`` formats a ``Date`` header (``email.utils.formatdate(usegmt=True)``) and ``parse_http_date``
  reads one back.
- ``host_header`` gives the ``Host`` value for a URL (no default port); ``normalise_headers`` lower-cases
  header names and combines repeated fields.

The check functions return an error message (``None`` when the digest matches) rather than raising, so that
callers wrap it in their own exception type. Digests are always computed over the exact raw body bytes.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import email.utils
import hashlib
import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult

import http_sf

__all__ = [
    "body_digest",
    "check_content_digest_header",
    "check_digest_header",
    "content_digest",
    "host_header",
    "http_date",
    "normalise_headers",
    "parse_http_date",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def body_digest(body: bytes) -> str:
    """The draft-cavage ``Digest`` header value for ``body``: ``SHA-256=<base64(sha256(body))>``."""
    return "SHA-256=" + _sha256_b64(body)


def content_digest(body: bytes) -> str:
    """The RFC 9530 ``Content-Digest`` header value for ``body``: ``sha-256=:<base64(sha256(body))>:``."""
    return "sha-256=:" + _sha256_b64(body) + ":"


def http_date(ts: float | None = None) -> str:
    """An RFC 9110 ``Date`` value (``Sun, 06 Nov 1994 08:49:37 GMT``) for ``ts`` (default: now)."""
    return email.utils.formatdate(time.time() if ts is None else ts, usegmt=True)


def parse_http_date(value: str) -> float | None:
    """The POSIX timestamp of an HTTP ``Date`` value, or ``None`` when it cannot be parsed.

    A value without a zone is read as UTC (HTTP dates are always GMT).
    """
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        # timegm, not mktime_tz: the latter reads a zone-less date as local time.
        ts = float(calendar.timegm(parsed[:6]) - (parsed[9] or 0))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return ts if math.isfinite(ts) else None


def check_digest_header(value: str, body: bytes) -> str | None:
    """Check a cavage ``Digest`` header against ``body``; return why it fails, or ``None`` when it matches.

    ``value`` is a comma-separated list of ``algorithm=base64`` items; names are case-insensitive and the
    list must contain ``sha-256``. Other algorithms are ignored (not checked).
    """
    offered: list[str] = []
    given: str | None = None
    for item in value.split(","):
        name, sep, b64 = item.strip().partition("=")
        if not sep:
            return f"malformed Digest header item {item.strip()!r} (expected algorithm=base64)"
        name = name.strip().lower()
        offered.append(name)
        if name == "sha-256" and given is None:
            given = b64.strip()
    if given is None:
        return f"Digest header must contain SHA-256; offered algorithms: {', '.join(offered)}"
    try:
        raw = base64.b64decode(given, validate=True)
    except (binascii.Error, ValueError):
        return f"Digest SHA-256 value is not valid base64: {given!r}"
    if len(raw) != 32:
        return f"Digest SHA-256 value has {len(raw)} bytes instead of 32"
    if raw != hashlib.sha256(body).digest():
        return f"Digest mismatch: computed SHA-256={_sha256_b64(body)}, given SHA-256={given}"
    return None


def check_content_digest_header(value: str, body: bytes) -> str | None:
    """Check an RFC 9530 ``Content-Digest`` header against ``body``; return why it fails, or ``None``.

    The header must be a Structured Field dictionary with a ``sha-256`` byte-sequence member equal to the
    SHA-256 of ``body``; other members (``sha-512``, …) are ignored.
    """
    try:
        members = http_sf.parse(value.encode("latin-1"), tltype="dictionary")
    except (ValueError, TypeError, UnicodeError):
        return "Content-Digest is not a valid Structured Field dictionary"
    if not isinstance(members, dict) or "sha-256" not in members:
        offered = ", ".join(members) if isinstance(members, dict) else ""
        return f"Content-Digest must contain sha-256; offered algorithms: {offered}"
    member = members["sha-256"]
    raw = member[0] if isinstance(member, tuple) else None
    if not isinstance(raw, bytes):
        return "Content-Digest sha-256 member must be a byte sequence (sha-256=:<base64>:)"
    if len(raw) != 32:
        return f"Content-Digest sha-256 value has {len(raw)} bytes instead of 32"
    if raw != hashlib.sha256(body).digest():
        given = base64.b64encode(raw).decode("ascii")
        return f"Content-Digest mismatch: computed sha-256=:{_sha256_b64(body)}:, given sha-256=:{given}:"
    return None


def host_header(parts: SplitResult) -> str:
    """The ``Host`` value for a split URL: lower-case host, port only when not the scheme's default."""
    hostname = parts.hostname
    if not hostname:
        raise ValueError(f"URL has no host: {parts.geturl()!r}")
    if ":" in hostname:  # IPv6 literal
        hostname = f"[{hostname}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return hostname
    return f"{hostname}:{port}"


def normalise_headers(headers: Mapping[str, str] | Any) -> dict[str, str]:
    """Lower-case header names; combine repeated fields (from ``items()`` of multi-dicts) with ``", "``."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        key = name.lower()
        text = str(value).strip(" \t")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out
