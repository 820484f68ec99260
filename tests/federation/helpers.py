"""Helpers for federation tests: remote actors with real keys, signed requests, running inbox items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select

from coserver.db import Database
from coserver.models import Actor, InboxItem
from federation.context import FederationContext
from federation.fetch import upsert_remote_actor
from federation.handlers import Ignore, process_inbox_item
from federation.http import make_client
from federation.signatures import sign_request

KEYS = Path(__file__).parent.parent / "fixtures" / "keys"
PRIVATE_PEM = (KEYS / "fixture_rsa2048_private.pem").read_text()
PUBLIC_PEM = (KEYS / "fixture_rsa2048_public.pem").read_text()
OTHER_PRIVATE_PEM = (KEYS / "other_rsa2048_private.pem").read_text()
OTHER_PUBLIC_PEM = (KEYS / "other_rsa2048_public.pem").read_text()


async def remote_actor(
    db: Database, username: str = "bob", host: str = "remote.example", public_pem: str = PUBLIC_PEM
) -> Actor:
    ap_id = f"https://{host}/users/{username}"
    async with db.transaction() as s:
        return await upsert_remote_actor(
            s,
            {
                "ap_id": ap_id,
                "kind": "person",
                "local": False,
                "username": username,
                "domain": host,
                "name": username.title(),
                "inbox_url": f"{ap_id}/inbox",
                "shared_inbox_url": f"https://{host}/inbox",
                "followers_url": f"{ap_id}/followers",
                "public_key_pem": public_pem,
                "key_id": f"{ap_id}#main-key",
            },
        )


def signed(
    path: str,
    activity: dict[str, Any] | bytes,
    *,
    key_id: str,
    private_pem: str = PRIVATE_PEM,
    host: str = "127.0.0.1:8000",
    content_type: str = "application/activity+json",
) -> tuple[bytes, dict]:
    body = activity if isinstance(activity, bytes) else orjson.dumps(activity)
    headers = sign_request(
        "POST", f"http://{host}{path}", {"Content-Type": content_type}, body, key_id, private_pem
    )
    return body, headers


async def process_all(db: Database, settings) -> list[tuple[str, str]]:
    """Run every pending inbox item through the handlers (one worker cycle, in-process)."""
    outcomes = []
    async with make_client(settings) as http:
        ctx = FederationContext(settings, db, http)
        async with db.session() as s:
            ids = list(
                await s.scalars(
                    select(InboxItem.id).where(InboxItem.status == "pending").order_by(InboxItem.id)
                )
            )
        for item_id in ids:
            async with db.transaction() as s:
                item = await s.get(InboxItem, item_id)
                try:
                    async with s.begin_nested():
                        await process_inbox_item(ctx, s, item)
                    item.status = "done"
                except Ignore as exc:
                    item.status, item.error = "ignored", str(exc)
                outcomes.append((item.activity_type, item.status))
    return outcomes
