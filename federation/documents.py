"""Building the documents we serve for local actors (loading what the pure converters need)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.config import Settings
from coserver.models import Actor, Link, Place, Post
from coserver.services.places import coordinates, load_place
from federation.converters.actor import actor_to_as
from federation.converters.event import event_object_id, event_to_as
from federation.converters.note import note_to_as


async def _place(session: AsyncSession, actor: Actor) -> Place | None:
    loaded = actor.__dict__.get("place")  # already loaded (joinedload) or set
    if loaded is not None or actor.place_id is None:
        return loaded
    return await session.get(Place, actor.place_id)


async def actor_document(session: AsyncSession, settings: Settings, actor: Actor) -> dict[str, Any]:
    place = await _place(session, actor)
    actor.place = place  # type: ignore[assignment]  (set_committed_value would be equivalent)
    return actor_to_as(
        actor,
        settings,
        coords=coordinates(place),
        event_object_id=event_object_id(actor) if actor.kind == "event" else None,
    )


async def event_document(session: AsyncSession, actor: Actor) -> dict[str, Any]:
    place = await _place(session, actor)
    actor.place = place  # type: ignore[assignment]
    attendees = await session.scalar(
        select(func.count())
        .select_from(Link)
        .where(Link.object_id == actor.id, Link.type == "attendee", Link.state == "accepted")
    )
    return event_to_as(actor, coords=coordinates(place), attendees=attendees)


async def note_document(
    session: AsyncSession, settings: Settings, post: Post, *, with_context: bool = True
) -> dict[str, Any]:
    """The Note of a local post (author, wall, mentions and parent loaded here)."""
    author = await session.get(Actor, post.author_id)
    wall = await session.get(Actor, post.wall_id)
    assert author is not None and wall is not None
    mentioned = (
        list(await session.scalars(select(Actor).where(Actor.id.in_(post.mention_ids))))
        if post.mention_ids
        else []
    )
    place, coords = await load_place(session, post.place_id)
    return note_to_as(
        post,
        author=author,
        wall=wall,
        mentioned=mentioned,
        settings=settings,
        with_context=with_context,
        place=place,
        coords=coords,
    )
