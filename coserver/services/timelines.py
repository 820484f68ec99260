"""Timelines with keyset pagination (newest first, ``before`` an id): an element's wall, a person's home,
the territory's live feed, a hashtag.

Visibility: *public* posts to everyone; *restricted* ones to the wall's followers and members (and their
author); *private* ones to the wall's members (and their author). Deleted posts never show.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import Select, and_, cast, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from coserver.models import Actor, ActorZone, Link, Place, Post, Zone

MAX_LIMIT = 50


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    next_before: int | None  # pass as ``before`` for the next page


def _visible(viewer: Actor | None):
    """SQL condition: the viewer may see the post."""
    public = Post.scope == "public"
    if viewer is None:
        return public
    member_of = select(Link.object_id).where(
        Link.subject_id == viewer.id,
        Link.state == "accepted",
        Link.type.in_(("member", "contributor", "attendee")),
    )
    follows = select(Link.object_id).where(
        Link.subject_id == viewer.id, Link.state == "accepted", Link.type == "follower"
    )
    return or_(
        public,
        Post.author_id == viewer.id,
        Post.wall_id == viewer.id,
        and_(Post.scope == "restricted", or_(Post.wall_id.in_(member_of), Post.wall_id.in_(follows))),
        and_(Post.scope == "private", Post.wall_id.in_(member_of)),
    )


async def _page(
    session: AsyncSession, stmt: Select, before: int | None, limit: int, *, ids_first: bool = False
) -> Page:
    """The newest ``limit`` posts of ``stmt`` (before the id ``before``). ``ids_first``: find the page's ids
    alone, then fetch their rows: a walk that filters many posts then reads a covering index only
    (``ix_posts_live``) instead of fetching every row it rejects."""
    limit = max(1, min(limit, MAX_LIMIT))
    if before is not None:
        stmt = stmt.where(Post.id < before)
    stmt = stmt.where(Post.deleted_at.is_(None)).order_by(Post.id.desc()).limit(limit + 1)
    if ids_first:
        ids = stmt.with_only_columns(Post.id).correlate(None).scalar_subquery()
        stmt = select(Post).where(Post.id.in_(ids)).order_by(Post.id.desc())
    posts = list(await session.scalars(stmt))
    more = len(posts) > limit
    posts = posts[:limit]
    return Page(posts, posts[-1].id if more and posts else None)


async def wall(
    session: AsyncSession, element: Actor, viewer: Actor | None, *, before: int | None = None, limit: int = 20
) -> Page:
    """Top-level posts on an element's wall (comments hang under them)."""
    stmt = select(Post).where(Post.wall_id == element.id, Post.in_reply_to_id.is_(None), _visible(viewer))
    return await _page(session, stmt, before, limit)


async def comments(session: AsyncSession, post: Post, viewer: Actor | None, limit: int = 200) -> list[Post]:
    stmt = (
        select(Post)
        .where(Post.root_id == (post.root_id or post.id), Post.deleted_at.is_(None), _visible(viewer))
        .order_by(Post.id)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def home(session: AsyncSession, person: Actor, *, before: int | None = None, limit: int = 20) -> Page:
    """What the person follows or belongs to (people, elements, remote accounts), plus their own posts."""
    followed = select(Link.object_id).where(
        Link.subject_id == person.id,
        Link.state == "accepted",
        Link.type.in_(("follower", "member", "contributor", "attendee")),
    )
    stmt = select(Post).where(
        or_(Post.author_id == person.id, Post.author_id.in_(followed), Post.wall_id.in_(followed)),
        _visible(person),
    )
    return await _page(session, stmt, before, limit)


def _point(lat: float, lon: float):
    return cast(
        func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), Geography(geometry_type="POINT", srid=4326)
    )


async def live(
    session: AsyncSession,
    *,
    viewer: Actor | None = None,
    locality: str | None = None,
    zone: str | None = None,
    tag: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    radius_km: float | None = None,
    territory: tuple[float, float, float] | None = None,
    before: int | None = None,
    limit: int = 20,
) -> Page:
    """The territory's live feed: public top-level posts on local walls, and remote public posts located
    inside the territory (``territory`` = centre lat, lon and radius in km); filterable by locality, zone
    (code), radius and hashtag."""
    local_walls = select(Actor.id).where(Actor.local.is_(True), Actor.is_private.is_(False))
    wall_filter = local_walls
    if locality:
        wall_filter = wall_filter.join(Place, Place.id == Actor.place_id).where(
            func.lower(Place.locality) == locality.lower()
        )
    if zone:
        in_zone = select(ActorZone.actor_id).join(Zone, Zone.id == ActorZone.zone_id).where(Zone.code == zone)
        wall_filter = wall_filter.where(Actor.id.in_(in_zone))
    post_place = select(Place.id)
    if lat is not None and lon is not None and radius_km:
        within = func.ST_DWithin(Place.location, _point(lat, lon), radius_km * 1000)
        wall_filter = wall_filter.where(Actor.place_id.in_(select(Place.id).where(within)))
        post_place = post_place.where(within)
    elif territory is not None:
        post_place = post_place.where(
            func.ST_DWithin(Place.location, _point(territory[0], territory[1]), territory[2] * 1000)
        )
    else:
        post_place = post_place.where(false())
    sources = [Post.wall_id.in_(wall_filter)]
    if not locality and not zone:  # remote posts only carry a point
        sources.append(and_(Post.local.is_(False), Post.place_id.in_(post_place)))
    conditions = [Post.scope == "public", Post.in_reply_to_id.is_(None), or_(*sources)]
    if tag:
        conditions.append(Post.tags.contains([tag.lower().lstrip("#")]))
    return await _page(session, select(Post).where(*conditions), before, limit, ids_first=True)


async def hashtag(
    session: AsyncSession,
    tag: str,
    viewer: Actor | None = None,
    *,
    before: int | None = None,
    limit: int = 20,
) -> Page:
    stmt = select(Post).where(Post.tags.contains([tag.lower().lstrip("#")]), _visible(viewer))
    return await _page(session, stmt, before, limit)


async def visible_to(session: AsyncSession, viewer: Actor | None, post: Post) -> bool:
    """Whether ``viewer`` may see ``post`` (the same rule as the timelines)."""
    found = await session.scalar(select(Post.id).where(Post.id == post.id, _visible(viewer)))
    return found is not None
