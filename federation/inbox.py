"""Receiving activities: verify, then persist, answer 202. Processing happens later, in a worker.

Order of checks (each failure answers at once, nothing is stored): content type (415), size (413), the
HTTP signature's form, digest and date window (401), the JSON (400), the signer's key (cached in memory,
then the database, then fetched), the signature itself (one rate-limited key refetch on failure, then 401),
and the signer must be the activity's ``actor`` (401). The item is then inserted, deduplicated by activity
id, in one statement that also clears the signer's domain from the delivery-failure list.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from federation.context import FederationContext
from federation.fetch import FetchError, may_refetch_key, resolve_key
from federation.jsonld import JsonLdError, normalize
from federation.signatures import SignatureError, parse_request_signature, verify_request_signature

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 1_000_000
KEY_CACHE_SIZE = 20_000
KEY_CACHE_TTL = 300.0


@dataclass(frozen=True)
class InboxResult:
    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class _Key:
    owner: str
    pem: str
    expires: float


class KeyCache:
    """Parsed signer keys by keyId, bounded and short-lived (Update/Delete refresh them through the DB)."""

    def __init__(self, size: int = KEY_CACHE_SIZE, ttl: float = KEY_CACHE_TTL) -> None:
        self._items: OrderedDict[str, _Key] = OrderedDict()
        self.size, self.ttl = size, ttl

    def get(self, key_id: str) -> _Key | None:
        item = self._items.get(key_id)
        if item is None or item.expires < time.monotonic():
            return None
        return item

    def put(self, key_id: str, owner: str, pem: str) -> None:
        self._items[key_id] = _Key(owner, pem, time.monotonic() + self.ttl)
        self._items.move_to_end(key_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def drop(self, key_id: str) -> None:
        self._items.pop(key_id, None)


_INSERT = """
    WITH cleared AS (DELETE FROM domain_health WHERE domain = $1)
    INSERT INTO inbox_items (dedupe_key, activity_type, actor_ap_id, recipient_id, activity)
    VALUES ($2, $3, $4, $5, $6::jsonb)
    ON CONFLICT (dedupe_key) DO NOTHING
"""


def _error(status: int, message: str) -> InboxResult:
    return InboxResult(status, {"error": message})


def _actor_id(activity: dict[str, Any]) -> str | None:
    actor = activity.get("actor")
    if isinstance(actor, dict):
        actor = actor.get("id")
    return actor if isinstance(actor, str) and actor.startswith(("https://", "http://")) else None


def is_activitypub_media(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in {"application/activity+json", "application/ld+json"}


class InboxReceiver:
    """Receives POSTs to the shared inbox and to per-actor inboxes."""

    def __init__(self, ctx: FederationContext) -> None:
        self.ctx = ctx
        self.keys = KeyCache()

    async def _key(self, key_id: str, *, refresh: bool) -> _Key:
        if not refresh:
            cached = self.keys.get(key_id)
            if cached is not None:
                return cached
        async with self.ctx.db.transaction() as session:
            actor = await resolve_key(self.ctx, session, key_id, refresh=refresh)
            owner, pem = actor.ap_id, actor.public_key_pem or ""
        if not pem:
            raise FetchError(f"{owner} has no public key")
        self.keys.put(key_id, owner, pem)
        return self.keys.get(key_id) or _Key(owner, pem, 0)

    async def receive(
        self,
        *,
        method: str,
        path_and_query: str,
        headers: Mapping[str, str],
        body: bytes,
        recipient_id: int | None = None,
        scheme: str = "https",
    ) -> InboxResult:
        content_type = headers.get("content-type", "")
        if not is_activitypub_media(content_type):
            return _error(415, "send application/activity+json or application/ld+json")
        if len(body) > MAX_BODY_BYTES:
            return _error(413, f"activities are limited to {MAX_BODY_BYTES} bytes")
        try:
            sig = parse_request_signature(method, path_and_query, headers, body, scheme=scheme)
        except SignatureError as exc:
            return _error(401, f"signature: {exc}")
        try:
            activity = orjson.loads(body)
        except orjson.JSONDecodeError:
            return _error(400, "the body is not valid JSON")
        if not isinstance(activity, dict):
            return _error(400, "an activity is a JSON object")
        original = activity
        try:
            activity = normalize(activity)
        except JsonLdError as exc:
            return _error(400, f"unsupported JSON-LD: {exc}")
        activity_type, actor_id = activity.get("type"), _actor_id(activity)
        if not isinstance(activity_type, str) or actor_id is None:
            return _error(400, "an activity needs a type and an http(s) actor")

        try:
            key = await self._key(sig.key_id, refresh=False)
        except FetchError as exc:
            return _error(401, f"cannot get the signer's key: {exc}")
        try:
            verify_request_signature(sig, key.pem)
        except SignatureError:
            if not may_refetch_key(sig.key_id):
                return _error(401, "signature does not verify")
            try:
                key = await self._key(sig.key_id, refresh=True)
                verify_request_signature(sig, key.pem)
            except (FetchError, SignatureError) as exc:
                return _error(401, f"signature does not verify: {exc}")
        if key.owner != actor_id:
            return _error(401, "the signer is not the activity's actor")

        activity_id = activity.get("id")
        dedupe_key = activity_id if isinstance(activity_id, str) else hashlib.sha256(body).hexdigest()
        payload = body.decode("utf-8") if activity is original else orjson.dumps(activity).decode()
        pool = await self.ctx.db.raw_pool()
        await pool.execute(
            _INSERT,
            (urlsplit(actor_id).hostname or "").lower(),
            dedupe_key[:2048],
            activity_type[:100],
            actor_id,
            recipient_id,
            payload,
        )
        return InboxResult(202, {})
