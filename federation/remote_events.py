"""Remote events (Mobilizon-style ``Event`` objects) brought in by federation, stored for the agenda.

A remote event is kept as a non-local ``actors`` row of kind ``event`` (it is not an actor, but this keeps the
territorial search and the agenda one query over one table), with its place, dates and the document as
received. Only the event's own server may create, update or delete it (same host as the signer).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor
from coserver.services.places import PlaceInput, create_place
from coserver.services.usernames import slugify
from coserver.services.zones import attach_actor
from federation.converters.event import event_from_as


class NotOurs(ValueError):
    """The event is hosted elsewhere than its sender, or is not usable."""


def _host(url: str) -> str:
    return (urlsplit(url).netloc or "").lower()


async def upsert_remote_event(session: AsyncSession, sender: Actor, doc: dict[str, Any]) -> Actor:
    data = event_from_as(doc)
    if data is None:
        raise NotOurs("not a usable Event (id and startTime needed)")
    if _host(data["ap_id"]) != _host(sender.ap_id):
        raise NotOurs("an event is only accepted from its own server")
    event = await session.scalar(select(Actor).where(Actor.ap_id == data["ap_id"]))
    if event is not None and (event.local or event.kind != "event"):
        raise NotOurs("that id belongs to something else")
    place = None
    if data["place"]:
        place = await create_place(session, PlaceInput(**data["place"]))
    if event is None:
        event = Actor(
            ap_id=data["ap_id"],
            kind="event",
            local=False,
            domain=_host(data["ap_id"]),
            username=slugify(data["name"] or "event", 60),
        )
        session.add(event)
    event.name = data["name"] or event.username
    event.description_html = data["description_html"]
    event.starts_at, event.ends_at, event.timezone = data["starts_at"], data["ends_at"], data["timezone"]
    event.profile_url = data["url"] or data["ap_id"]
    event.organizer_id = sender.id
    event.place_id = place.id if place else None
    event.raw = doc
    event.fetched_at = datetime.now(UTC)
    event.deleted_at = None
    await session.flush()
    if place is not None:
        await attach_actor(session, event.id)  # the zones covering it, for "in zone X" agenda queries
    return event


async def delete_remote_event(session: AsyncSession, sender: Actor, event_id: str) -> bool:
    event = await session.scalar(
        select(Actor).where(Actor.ap_id == event_id, Actor.local.is_(False), Actor.kind == "event")
    )
    if event is None or _host(event_id) != _host(sender.ap_id):
        return False
    event.deleted_at = datetime.now(UTC)
    return True
