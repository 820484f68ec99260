"""The instance actor (``/actor``, type ``Application``, FEP-2677): signs our GETs, served unsigned."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.keys import generate_rsa_keypair
from coserver.models import Actor

INSTANCE_USERNAME = "actor"
_signers: dict[str, tuple[str, str]] = {}


def instance_actor_id(settings: Settings) -> str:
    return settings.url("/actor")


async def ensure_instance_actor(session: AsyncSession, settings: Settings) -> Actor:
    """The instance actor row, created (with its key pair) on first use."""
    actor = await session.scalar(select(Actor).where(Actor.local.is_(True), Actor.kind == "application"))
    if actor is not None:
        return actor
    private_pem, public_pem = await asyncio.to_thread(generate_rsa_keypair)
    ap_id = instance_actor_id(settings)
    actor = Actor(
        ap_id=ap_id,
        kind="application",
        local=True,
        username=INSTANCE_USERNAME,
        domain=None,
        name=settings.territory_name,
        key_id=f"{ap_id}#main-key",
        public_key_pem=public_pem,
        private_key_pem=private_pem,
        inbox_url=f"{ap_id}/inbox",
        outbox_url=f"{ap_id}/outbox",
        shared_inbox_url=settings.url("/inbox"),
        profile_url=settings.base_url,
        manually_approves_followers=True,
        discoverable=False,
    )
    session.add(actor)
    await session.flush()
    return actor


async def instance_signer(db, settings: Settings) -> tuple[str, str]:
    """``(key_id, private_pem)`` of the instance actor, cached per process."""
    cached = _signers.get(settings.base_url)
    if cached:
        return cached
    async with db.transaction() as session:
        actor = await ensure_instance_actor(session, settings)
        signer = (actor.key_id or f"{actor.ap_id}#main-key", actor.private_key_pem or "")
    _signers[settings.base_url] = signer
    return signer
