"""JSON-LD, only where it is needed: a plain-JSON fast path for the ordinary ActivityStreams shapes.

Full JSON-LD processing costs ~1–1.5 ms per document here (pyld), more than everything else an inbox does.
Almost every peer sends compact AS2 with the AS2 context first and extension terms that never redefine the
core vocabulary; for those, the compact JSON already *is* the AS2 reading, and we use it as is.

A document takes the slow path (pyld compaction against AS2 + security/v1, with contexts bundled in
``federation/contexts/`` — never fetched) when it does not use the AS2 context, or when an inline context
redefines a core term (``id``, ``type``, ``actor``, ``object``, addressing...). Remote contexts we do not
bundle are assumed to add terms only (no real-world context redefines AS2 terms); documents that need one of
them on the slow path are refused.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

AS2 = "https://www.w3.org/ns/activitystreams"
_AS2_ALIASES = {AS2, AS2 + "#", "http://www.w3.org/ns/activitystreams"}
_BUNDLED = {
    AS2: "activitystreams.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
    "https://w3id.org/identity/v1": "identity-v1.jsonld",
    "https://www.w3.org/ns/did/v1": "did-v1.jsonld",
    "https://w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "https://w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    "http://joinmastodon.org/ns": "mastodon.jsonld",
}
CORE_TERMS = frozenset(
    {
        "@vocab",
        "@base",
        "id",
        "type",
        "actor",
        "object",
        "target",
        "origin",
        "result",
        "instrument",
        "to",
        "cc",
        "bto",
        "bcc",
        "audience",
        "inReplyTo",
        "attributedTo",
        "content",
        "name",
        "summary",
        "published",
        "updated",
        "url",
        "tag",
        "attachment",
        "inbox",
        "outbox",
        "followers",
        "following",
        "publicKey",
        "publicKeyPem",
        "owner",
        "preferredUsername",
        "endpoints",
        "sharedInbox",
        "Public",
        "startTime",
        "endTime",
        "location",
        "latitude",
        "longitude",
        "replies",
        "items",
        "orderedItems",
    }
)
_COMPACT_CONTEXT = [AS2, "https://w3id.org/security/v1"]


class JsonLdError(ValueError):
    """The document needs JSON-LD processing we cannot do (unknown context, invalid JSON-LD)."""


def is_plain(context: Any) -> bool:
    """Whether a compact document with this ``@context`` can be read as plain AS2 JSON."""
    items = context if isinstance(context, list) else [context]
    has_as2 = False
    for item in items:
        if isinstance(item, str):
            has_as2 = has_as2 or item in _AS2_ALIASES
        elif isinstance(item, dict):
            if CORE_TERMS.intersection(item):
                return False
        else:
            return False
    return has_as2


@cache
def _bundled(url: str) -> dict[str, Any]:
    with resources.files("federation.contexts").joinpath(_BUNDLED[url]).open(encoding="utf-8") as fh:
        return json.load(fh)


def _loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    key = url.rstrip("#")
    if key.startswith("http://www.w3.org/ns/activitystreams"):
        key = AS2
    if key not in _BUNDLED:
        raise JsonLdError(f"context {url[:200]} is not bundled")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _bundled(key),
    }


def compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Full JSON-LD compaction against AS2 + security/v1 (slow path)."""
    from pyld import jsonld

    try:
        result = jsonld.compact(doc, _COMPACT_CONTEXT, options={"documentLoader": _loader})
    except JsonLdError:
        raise
    except Exception as exc:  # pyld raises its own JsonLdError with nested causes
        raise JsonLdError(str(exc).splitlines()[0][:200]) from None
    return result


def normalize(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` itself on the fast path, its AS2 compaction otherwise."""
    if is_plain(doc.get("@context")):
        return doc
    return compact(doc)
