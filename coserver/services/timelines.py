"""Timelines with keyset pagination (newest first, ``before`` an id): an element's wall, a person's home,
the territory's live feed, a hashtag.

Visibility: *public* posts to everyone; *restricted* ones to the wall's followers and members (and their
author); *private* ones to the wall's members (and their author). Deleted posts never show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from geoalchemy2 import Geography
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, ActorZone, Link, Place, Post, Zone

MAX_LIMIT = 50
# Written as constants, never bound: a ``$n`` scope would keep a generic prepared plan (the server's
# statements are prepared) from matching the partial indexes (``scope = 'public'``) and walk the whole table.
_PUBLIC = literal_column("'public'")
# Up to this many walls in the area, the live page reads each wall's newest posts (``ix_posts_wall_live``);
# beyond, it walks the newest public posts (``ix_posts_live``), which then soon meets one of them.
FEW_WALLS = 150


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    next_before: int | None  # pass as ``before`` for the next page


def _visible(viewer_id: int | None):
    """SQL condition: the viewer (a person's id, None when anonymous) may see the post."""
    public = Post.scope == _PUBLIC
    if viewer_id is None:
        return public
    member_of = select(Link.object_id).where(
        Link.subject_id == viewer_id,
        Link.state == "accepted",
        Link.type.in_(("member", "contributor", "attendee")),
    )
    follows = select(Link.object_id).where(
        Link.subject_id == viewer_id, Link.state == "accepted", Link.type == "follower"
    )
    return or_(
        public,
        Post.author_id == viewer_id,
        Post.wall_id == viewer_id,
        and_(Post.scope == "restricted", or_(Post.wall_id.in_(member_of), Post.wall_id.in_(follows))),
        and_(Post.scope == "private", Post.wall_id.in_(member_of)),
    )


def _ids(*conditions, before: int | None, limit: int) -> Select:
    """Ids of the newest ``limit + 1`` undeleted posts meeting ``conditions`` (before the id ``before``)."""
    stmt = select(Post.id).where(*conditions, Post.deleted_at.is_(None))
    if before is not None:
        stmt = stmt.where(Post.id < before)
    return stmt.order_by(Post.id.desc()).limit(_clamp(limit) + 1)


def _clamp(limit: int) -> int:
    return max(1, min(limit, MAX_LIMIT))


async def page_of(session: AsyncSession, ids: Select, limit: int) -> Page:
    """The posts of an id statement (``*_ids``) as ORM objects, newest first (and the next ``before``)."""
    stmt = select(Post).where(Post.id.in_(ids.scalar_subquery())).order_by(Post.id.desc())
    posts = list(await session.scalars(stmt))
    return Page(*split_page(posts, limit, lambda p: p.id))


def split_page(items: list, limit: int, key) -> tuple[list, int | None]:
    """``limit + 1`` fetched items -> (the page, the ``before`` of the next page or None)."""
    limit = _clamp(limit)
    more = len(items) > limit
    items = items[:limit]
    return items, key(items[-1]) if more and items else None


def wall_ids(wall_id, viewer_id: int | None, *, before: int | None = None, limit: int = 20) -> Select:
    """Top-level posts on an element's wall (comments hang under them); ``wall_id`` is an id or a scalar
    SQL expression (the API folds the username look-up into the page statement)."""
    return _ids(
        Post.wall_id == wall_id,
        Post.in_reply_to_id.is_(None),
        _visible(viewer_id),
        before=before,
        limit=limit,
    )


async def wall(
    session: AsyncSession, element: Actor, viewer: Actor | None, *, before: int | None = None, limit: int = 20
) -> Page:
    return await page_of(session, wall_ids(element.id, _id(viewer), before=before, limit=limit), limit)


def _id(actor: Actor | None) -> int | None:
    return actor.id if actor is not None else None


async def comments(session: AsyncSession, post: Post, viewer: Actor | None, limit: int = 200) -> list[Post]:
    stmt = (
        select(Post)
        .where(Post.root_id == (post.root_id or post.id), Post.deleted_at.is_(None), _visible(_id(viewer)))
        .order_by(Post.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


def home_ids(person_id, *, before: int | None = None, limit: int = 20) -> Select:
    """What the person follows or belongs to (people, elements, remote accounts), plus their own posts."""
    followed = select(Link.object_id).where(
        Link.subject_id == person_id,
        Link.state == "accepted",
        Link.type.in_(("follower", "member", "contributor", "attendee")),
    )
    mine_or_followed = or_(
        Post.author_id == person_id, Post.author_id.in_(followed), Post.wall_id.in_(followed)
    )
    return _ids(mine_or_followed, _visible(person_id), before=before, limit=limit)


async def home(session: AsyncSession, person: Actor, *, before: int | None = None, limit: int = 20) -> Page:
    return await page_of(session, home_ids(person.id, before=before, limit=limit), limit)


# The builders take values, or ``bindparam`` placeholders when a hot path compiles them once per shape
# (``coserver.prepared``); strings are then normalised by the caller (``normal_tag``) or in SQL.
Value = Any


def _given(value: Value) -> bool:
    """A filter is given: a placeholder, or a value that is not None, empty or zero."""
    return isinstance(value, ColumnElement) or bool(value)


def normal_tag(tag: str) -> str:
    return tag.lower().lstrip("#")


def _tagged(tag: Value):
    """Posts carrying the hashtag ``tag`` (a placeholder stands for the one-tag array ``[normal_tag(t)]``)."""
    if isinstance(tag, ColumnElement):
        return Post.tags.contains(tag)
    return Post.tags.contains([normal_tag(tag)])


def _lower(text: Value):
    return func.lower(text) if isinstance(text, ColumnElement) else text.lower()


def _point(lat: float, lon: float):
    return cast(
        func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography(geometry_type="POINT", srid=4326)
    )


def _within(lat: float, lon: float, radius_km: float):
    """Places within ``radius_km`` of the point: the GiST-indexed box test, then the exact one under a CASE.
    ``ST_DWithin`` alone is estimated to keep about one place of the thousands in a town's radius, which
    makes the planner drive every plan from that radius."""
    point, metres = _point(lat, lon), radius_km * 1000
    exact = case((func.ST_DWithin(Place.location, point, metres), true()), else_=false())
    return and_(Place.location.op("&&")(func._ST_Expand(point, metres)), exact)


def _live_posts(*conditions) -> list:
    return [Post.scope == _PUBLIC, Post.in_reply_to_id.is_(None), Post.deleted_at.is_(None), *conditions]


def _newest(stmt: Select, n: int) -> Select:
    return stmt.order_by(Post.id.desc()).limit(n)


def live_ids(
    *,
    locality: str | None = None,
    zone: str | None = None,
    tag: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    territory: tuple[float, float, float] | None = None,
    before: int | None = None,
    limit: int = 20,
) -> Select:
    """The territory's live feed: public top-level posts on local walls, and public posts (remote or local)
    tied to a place inside the territory (``territory`` = centre lat, lon and radius in km); filterable by
    locality, zone (code), radius and hashtag.

    One statement, the union of separately limited parts (each newest first, ``limit + 1`` rows): posts on
    the local walls of the area, and posts tied to a place in it (``ix_posts_placed_live``). For the walls,
    the area's size decides at run time (one-time filters on a count capped at ``FEW_WALLS + 1``, so the
    planner's estimate of the places in a radius does not matter): a few walls, each one's newest posts;
    many, a walk of the newest public posts.
    """
    n = _clamp(limit) + 1
    extra = []
    if before is not None:
        extra.append(Post.id < before)
    if _given(tag):
        extra.append(_tagged(tag))
    walls = select(Actor.id).where(Actor.local.is_(True), Actor.is_private.is_(False))
    area_filtered = False
    if _given(locality):
        in_locality = func.lower(Place.locality) == _lower(locality)
        walls = walls.join(Place, Place.id == Actor.place_id).where(in_locality)
        area_filtered = True
    if _given(zone):
        in_zone = select(ActorZone.actor_id).join(Zone, Zone.id == ActorZone.zone_id).where(Zone.code == zone)
        walls = walls.where(Actor.id.in_(in_zone))
        area_filtered = True
    post_place = None
    if lat is not None and lon is not None and _given(radius_km):
        within = _within(lat, lon, radius_km)
        walls = walls.where(Actor.place_id.in_(select(Place.id).where(within)))
        post_place = select(Place.id).where(within)
        area_filtered = True
    elif territory is not None:
        post_place = select(Place.id).where(_within(*territory))

    parts: list[Select] = []
    if area_filtered:
        area = walls.cte("live_area").prefix_with("MATERIALIZED")
        capped = select(area.c.id).limit(FEW_WALLS + 1).subquery()
        count = select(func.count()).select_from(capped).scalar_subquery()
        on_wall = select(Post.id).where(Post.wall_id == area.c.id, *_live_posts(*extra))
        per_wall = _newest(on_wall, n).lateral()
        parts.append(
            select(per_wall.c.id)
            .select_from(area.join(per_wall, true()))
            .where(count <= FEW_WALLS)
            .order_by(per_wall.c.id.desc())
            .limit(n)
        )
        # Under a CASE, a hashed subplan filtering the walk: never a join driven by the area's walls.
        walk = case((Post.wall_id.in_(select(area.c.id)), true()), else_=false())
        parts.append(_newest(select(Post.id).where(*_live_posts(walk, count > FEW_WALLS, *extra)), n))
    else:
        parts.append(_newest(select(Post.id).where(*_live_posts(Post.wall_id.in_(walls), *extra)), n))
    # Posts tied to a place in the area, local or remote (``ix_posts_placed_live``); a post's place is a
    # point, never in a locality or zone of its own.
    if post_place is not None and not _given(locality) and not _given(zone):
        placed = and_(Post.place_id.is_not(None), Post.place_id.in_(post_place))
        parts.append(_newest(select(Post.id).where(*_live_posts(placed, *extra)), n))
    found = union(*(select(part.subquery().c.id) for part in parts)).subquery()
    return select(found.c.id).order_by(found.c.id.desc()).limit(n)


async def live(session: AsyncSession, *, limit: int = 20, **filters) -> Page:
    """``live_ids`` as ORM posts (``filters``: its keyword arguments)."""
    return await page_of(session, live_ids(limit=limit, **filters), limit)


def hashtag_ids(tag: str, viewer_id: int | None, *, before: int | None = None, limit: int = 20) -> Select:
    return _ids(_tagged(tag), _visible(viewer_id), before=before, limit=limit)


async def hashtag(
    session: AsyncSession,
    tag: str,
    viewer: Actor | None = None,
    *,
    before: int | None = None,
    limit: int = 20,
) -> Page:
    return await page_of(session, hashtag_ids(tag, _id(viewer), before=before, limit=limit), limit)


async def visible_to(session: AsyncSession, viewer: Actor | None, post: Post) -> bool:
    """Whether ``viewer`` may see ``post`` (the same rule as the timelines)."""
    found = await session.scalar(select(Post.id).where(Post.id == post.id, _visible(_id(viewer))))
    return found is not None
