"""Listings for the home page and simple feeds: recent elements, upcoming events, counts per kind."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.models import Actor, Link
from coserver.models.vocab import ELEMENT_KINDS


def _public_local():
    return (Actor.local.is_(True), Actor.is_private.is_(False), Actor.deleted_at.is_(None))


async def counts_by_kind(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Actor.kind, func.count()).where(*_public_local()).group_by(Actor.kind)
    )
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    counts.update({kind: n for kind, n in rows.all() if kind in counts})
    return counts


async def recent_elements(session: AsyncSession, kinds: tuple[str, ...], limit: int = 12) -> list[Actor]:
    stmt = (
        select(Actor)
        .where(*_public_local(), Actor.kind.in_(kinds))
        .order_by(Actor.created_at.desc(), Actor.id.desc())
        .limit(limit)
        .options(selectinload(Actor.place))
    )
    return list(await session.scalars(stmt))


async def upcoming_events(session: AsyncSession, limit: int = 10, now: datetime | None = None) -> list[Actor]:
    now = now or datetime.now(UTC)
    stmt = (
        select(Actor)
        .where(*_public_local(), Actor.kind == "event", func.coalesce(Actor.ends_at, Actor.starts_at) >= now)
        .order_by(Actor.starts_at, Actor.id)
        .limit(limit)
        .options(selectinload(Actor.place))
    )
    return list(await session.scalars(stmt))


async def children(session: AsyncSession, parent: Actor, limit: int = 50) -> list[Actor]:
    stmt = (
        select(Actor)
        .where(*_public_local(), (Actor.parent_id == parent.id) | (Actor.organizer_id == parent.id))
        .order_by(Actor.kind, Actor.starts_at.nulls_last(), Actor.name)
        .limit(limit)
        .options(selectinload(Actor.place))
    )
    return list(await session.scalars(stmt))


async def community(session: AsyncSession, element: Actor, limit: int = 100) -> list[tuple[Actor, Link]]:
    """Accepted members / contributors / attendees of an element, admins first."""
    stmt = (
        select(Actor, Link)
        .join(Link, Link.subject_id == Actor.id)
        .where(Link.object_id == element.id, Link.state == "accepted", Link.type != "follower")
        .order_by(Link.is_admin.desc(), Actor.name)
        .limit(limit)
    )
    return [(a, link) for a, link in (await session.execute(stmt)).all()]
