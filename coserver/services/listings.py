"""Listings for the home page and simple feeds: recent elements, upcoming events, counts per kind.

Every statement here is shaped for a territory of a hundred thousand elements:

* :func:`counts_by_kind` is one GROUP BY over the public local elements — exact, but a full scan of the
  actors table (~90 ms at 100,000 rows). On a large territory (:data:`COUNTS_CACHE_FROM` elements or more)
  its result is kept :data:`COUNTS_TTL` seconds in the process, per database: the home page's numbers may
  lag that long behind a creation or a deletion. Small territories (and the tests) always count live.
* :func:`recent_elements` takes "recent" as the order elements were created on this node, i.e. the primary
  key, newest first (as the search engine's recency sort does): the pk index is walked backwards and the
  scan stops after ``limit`` matches, where a ``created_at`` order would sort every element of the kind.
* :func:`upcoming_events` reads future events from ``ix_actors_kind_starts_at`` from now on and the events
  under way (started, not ended) through the ``ix_actors_span`` GiST index, instead of walking every past
  event of the btree and filtering it out.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import TIMESTAMP, cast, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from coserver.models import Actor, Link
from coserver.models.vocab import ELEMENT_KINDS

COUNTS_TTL = 30.0  # seconds a large territory's counts are reused
COUNTS_CACHE_FROM = 10_000  # public local elements from which the counts are cached

_counts_cache: dict[str, tuple[float, dict[str, int]]] = {}


def _public_local():
    return (Actor.local.is_(True), Actor.is_private.is_(False), Actor.deleted_at.is_(None))


def _database_key(session: AsyncSession) -> str:
    bind = session.bind
    return bind.url.render_as_string(hide_password=True) if bind is not None else ""


async def counts_by_kind(session: AsyncSession) -> dict[str, int]:
    """Public local elements per kind (every element kind present, 0 when none)."""
    key = _database_key(session)
    cached = _counts_cache.get(key)
    if cached is not None and time.monotonic() - cached[0] < COUNTS_TTL:
        return dict(cached[1])
    rows = await session.execute(
        select(Actor.kind, func.count()).where(*_public_local()).group_by(Actor.kind)
    )
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    counts.update({kind: n for kind, n in rows.all() if kind in counts})
    if sum(counts.values()) >= COUNTS_CACHE_FROM:
        _counts_cache[key] = (time.monotonic(), dict(counts))
    else:
        _counts_cache.pop(key, None)
    return counts


async def recent_elements(session: AsyncSession, kinds: tuple[str, ...], limit: int = 12) -> list[Actor]:
    """The last ``limit`` public local elements of ``kinds`` created on this node, newest first."""
    stmt = (
        select(Actor)
        .where(*_public_local(), Actor.kind.in_(kinds))
        .order_by(Actor.id.desc())
        .limit(limit)
        .options(selectinload(Actor.place))
    )
    return list(await session.scalars(stmt))


async def upcoming_events(session: AsyncSession, limit: int = 10, now: datetime | None = None) -> list[Actor]:
    """Public local events not over yet (under way or to come), by start, at most ``limit``.

    Local events always have a start (``services.elements`` requires one)."""
    now = now or datetime.now(UTC)
    at = cast(now, TIMESTAMP(timezone=True))
    span = func.tstzrange(Actor.starts_at, func.coalesce(Actor.ends_at, Actor.starts_at), "[]")
    first = (
        select(Actor.id, Actor.starts_at)
        .where(*_public_local(), Actor.kind == "event")
        .order_by(Actor.starts_at, Actor.id)
        .limit(limit)
    )
    under_way = first.where(Actor.starts_at.is_not(None), Actor.starts_at < at, span.op("@>")(at))
    to_come = first.where(Actor.starts_at >= at)  # a range of ix_actors_kind_starts_at
    ids = union_all(under_way.subquery().select(), to_come.subquery().select()).subquery()
    stmt = (
        select(Actor)
        .join(ids, ids.c.id == Actor.id)
        .order_by(ids.c.starts_at, ids.c.id)
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
