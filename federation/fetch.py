"""Fetching remote ActivityPub documents and actors, safely.

Every GET is signed by the instance actor, goes only to URLs allowed by ``federation.http.check_url``, follows
at most 3 redirects (each checked), accepts only ActivityPub content types, reads at most 1 MB within the
client's timeout, and requires the document's ``id`` to be the URL it was fetched from. Remote actors are
cached in the ``actors`` table and refreshed when older than a day.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor
from federation.context import FederationContext
from federation.converters.actor import InvalidActor, actor_from_as
from federation.http import AP_ACCEPT, UnsafeURL, check_url
from federation.instance import instance_signer
from federation.signatures import sign_request

MAX_DOCUMENT_BYTES = 1_000_000
MAX_REDIRECTS = 3
STALE_AFTER = timedelta(days=1)
KEY_REFETCH_INTERVAL = 60.0  # seconds between two refetches of one key
_last_refetch: dict[str, float] = {}


class FetchError(Exception):
    """A remote document could not be fetched or is not acceptable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def _is_ap_content_type(value: str) -> bool:
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/activity+json" or media == "application/ld+json"


async def signed_get(
    ctx: FederationContext, url: str, *, accept: str = AP_ACCEPT, max_bytes: int = MAX_DOCUMENT_BYTES
) -> tuple[str, str, bytes]:
    """GET ``url`` signed by the instance actor; returns (final URL, content type, body)."""
    key_id, private_pem = await instance_signer(ctx.db, ctx.settings)
    for _ in range(MAX_REDIRECTS + 1):
        try:
            await check_url(url, allow_private=ctx.settings.allow_private_addresses)
        except UnsafeURL as exc:
            raise FetchError(str(exc)) from None
        headers = sign_request("GET", url, {"Accept": accept}, None, key_id, private_pem)
        try:
            async with ctx.http.stream("GET", url, headers=headers) as response:
                if response.status_code in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError("redirect without Location", response.status_code)
                    url = urljoin(url, location)
                    continue
                if response.status_code >= 400:
                    raise FetchError(f"{url} answered {response.status_code}", response.status_code)
                length = response.headers.get("content-length")
                if length and length.isdigit() and int(length) > max_bytes:
                    raise FetchError(f"{url} is larger than {max_bytes} bytes")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"{url} is larger than {max_bytes} bytes")
                    chunks.append(chunk)
                return url, response.headers.get("content-type", ""), b"".join(chunks)
        except httpx.HTTPError as exc:
            raise FetchError(f"cannot fetch {url}: {type(exc).__name__}") from None
    raise FetchError(f"too many redirects from {url}")


async def fetch_document(ctx: FederationContext, url: str) -> dict[str, Any]:
    """An ActivityPub document whose ``id`` is the URL it was served from (fragment ignored)."""
    target, _ = urldefrag(url)
    final_url, content_type, body = await signed_get(ctx, target)
    if not _is_ap_content_type(content_type):
        raise FetchError(f"{final_url} is not served as ActivityPub JSON ({content_type or 'no type'})")
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise FetchError(f"{final_url} is not valid JSON") from None
    if not isinstance(doc, dict):
        raise FetchError(f"{final_url} is not a JSON object")
    if doc.get("id") not in {final_url, target}:
        raise FetchError(f"the document at {final_url} has another id ({str(doc.get('id'))[:200]})")
    return doc


async def upsert_remote_actor(session: AsyncSession, data: dict[str, Any]) -> Actor:
    """Insert or refresh a remote actor row (never overwrites a local actor)."""
    existing = await session.scalar(select(Actor).where(Actor.ap_id == data["ap_id"]))
    if existing is not None and existing.local:
        raise FetchError("a remote document claims a local actor id")
    values = {**data, "fetched_at": datetime.now(UTC), "deleted_at": None}
    stmt = insert(Actor).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Actor.ap_id], set_={k: stmt.excluded[k] for k in values}
    )
    await session.execute(stmt)
    actor = await session.scalar(
        select(Actor).where(Actor.ap_id == data["ap_id"]).execution_options(populate_existing=True)
    )
    assert actor is not None
    return actor


async def fetch_actor(ctx: FederationContext, session: AsyncSession, url: str) -> Actor:
    doc = await fetch_document(ctx, url)
    try:
        data = actor_from_as(doc)
    except InvalidActor as exc:
        raise FetchError(f"{url}: {exc}") from None
    if urlsplit(data["ap_id"]).netloc.lower() != urlsplit(url).netloc.lower():
        raise FetchError("actor id is on another host than its URL")
    return await upsert_remote_actor(session, data)


async def get_actor(
    ctx: FederationContext, session: AsyncSession, ap_id: str, *, refresh: bool = False
) -> Actor:
    """The actor with this id: from the database when fresh, fetched otherwise."""
    actor = await session.scalar(select(Actor).where(Actor.ap_id == ap_id))
    if actor is not None and (actor.local or actor.deleted_at is not None):
        return actor
    fresh = actor is not None and actor.fetched_at and datetime.now(UTC) - actor.fetched_at < STALE_AFTER
    if actor is not None and fresh and not refresh:
        return actor
    try:
        return await fetch_actor(ctx, session, ap_id)
    except FetchError:
        if actor is not None:
            return actor
        raise


def may_refetch_key(key_id: str, now: float | None = None) -> bool:
    """At most one refetch per key per minute (a failing signature must not make us hammer a server)."""
    now = time.monotonic() if now is None else now
    last = _last_refetch.get(key_id)
    if last is not None and now - last < KEY_REFETCH_INTERVAL:
        return False
    _last_refetch[key_id] = now
    if len(_last_refetch) > 50_000:
        _last_refetch.clear()
    return True


async def resolve_key(
    ctx: FederationContext, session: AsyncSession, key_id: str, *, refresh: bool = False
) -> Actor:
    """The actor owning ``key_id`` (an actor URL, ``actor#main-key``, or a key document with an owner)."""
    if not refresh:
        actor = await session.scalar(select(Actor).where(Actor.key_id == key_id, Actor.deleted_at.is_(None)))
        if actor is None:
            base, _ = urldefrag(key_id)
            actor = await session.scalar(select(Actor).where(Actor.ap_id == base, Actor.deleted_at.is_(None)))
        if (
            actor is not None
            and actor.public_key_pem
            and (actor.key_id in (None, key_id) or actor.ap_id == key_id)
        ):
            return actor
    doc = await fetch_document(ctx, key_id)
    if "inbox" in doc:
        try:
            data = actor_from_as(doc)
        except InvalidActor as exc:
            raise FetchError(f"{key_id}: {exc}") from None
        if data["key_id"] not in (key_id, None) and data["ap_id"] != key_id:
            raise FetchError("the actor does not list this key")
        if urlsplit(data["ap_id"]).netloc.lower() != urlsplit(key_id).netloc.lower():
            raise FetchError("key and actor are on different hosts")
        return await upsert_remote_actor(session, data)
    owner = doc.get("owner") or doc.get("controller")
    if not isinstance(owner, str):
        raise FetchError(f"{key_id} is neither an actor nor a key with an owner")
    actor = await fetch_actor(ctx, session, owner)
    if actor.key_id != key_id:
        raise FetchError("the key's owner does not list this key")
    return actor
