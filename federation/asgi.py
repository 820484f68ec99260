"""A lean ASGI path for inbox POSTs, in front of Quart.

The inbox is the hottest endpoint of a federated server (every activity from every peer). Quart's request
machinery (contexts, hooks, routing) costs more than verifying and storing an activity, so inbox POSTs are
answered here, with the same :class:`federation.inbox.InboxReceiver` the Quart routes use; everything else
goes to Quart unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from sqlalchemy import func, select

from coserver.models import Actor
from coserver.state import EXTENSION_KEY
from federation.context import FederationContext
from federation.inbox import MAX_BODY_BYTES, InboxReceiver

_ACTOR_INBOX = re.compile(r"^/actors/([^/]+)/inbox$")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
RECEIVER_KEY = "coserver.inbox"


def receiver_for(app: Any) -> InboxReceiver | None:
    found = app.extensions.get(RECEIVER_KEY)
    if found is None:
        state = app.extensions[EXTENSION_KEY]
        if state.db is None or state.http is None:
            return None
        found = InboxReceiver(FederationContext(state.settings, state.db, state.http))
        app.extensions[RECEIVER_KEY] = found
    return found


async def _respond(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _read_body(scope: dict[str, Any], receive: Receive) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                if int(value) > MAX_BODY_BYTES:
                    return None
            except ValueError:
                return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _recipient_id(receiver: InboxReceiver, username: str) -> int | None:
    cache: dict[str, int] = receiver.__dict__.setdefault("_recipients", {})
    key = username.lower()
    if key not in cache:
        async with receiver.ctx.db.session() as session:
            found = await session.scalar(
                select(Actor.id).where(
                    Actor.local.is_(True),
                    func.lower(Actor.username) == key,
                    Actor.is_private.is_(False),
                    Actor.deleted_at.is_(None),
                )
            )
        if found is None:
            return None
        if len(cache) > 10_000:
            cache.clear()
        cache[key] = found
    return cache[key]


async def try_inbox(app: Any, scope: dict[str, Any], receive: Receive, send: Send) -> bool:
    """Answer an inbox POST and return True; return False for anything else (Quart handles it)."""
    if scope.get("type") != "http" or scope.get("method") != "POST":
        return False
    path = scope.get("path", "")
    shared = path in ("/inbox", "/actor/inbox")
    match = None if shared else _ACTOR_INBOX.match(path)
    if not shared and match is None:
        return False
    receiver = receiver_for(app)
    if receiver is None:
        return False
    recipient_id = None
    if match is not None:
        recipient_id = await _recipient_id(receiver, match.group(1))
        if recipient_id is None:
            await _respond(send, 404, {"error": "no such inbox"})
            return True
    body = await _read_body(scope, receive)
    if body is None:
        await _respond(send, 413, {"error": f"activities are limited to {MAX_BODY_BYTES} bytes"})
        return True
    raw_path = scope.get("raw_path") or path.encode()
    query = scope.get("query_string") or b""
    path_and_query = raw_path.decode("latin-1") + (("?" + query.decode("latin-1")) if query else "")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
    result = await receiver.receive(
        method="POST",
        path_and_query=path_and_query,
        headers=headers,
        body=body,
        recipient_id=recipient_id,
        scheme=receiver.ctx.settings.scheme,
    )
    await _respond(send, result.status, result.body)
    return True
