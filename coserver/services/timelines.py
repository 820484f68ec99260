"""Timelines with keyset pagination (newest first, ``before`` an id): an element's wall, a person's home,
the territory's live feed, a hashtag.

Visibility: *public* posts to everyone; *restricted* ones to the wall's followers and members (and their
author); *private* ones to the wall's members (and their author). Deleted posts never show.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import Select, and_, case, cast, false, func, literal_column, or_, select, true, union
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


async def _page(session: AsyncSession, stmt: Select, before: int | None, limit: int) -> Page:
    """The newest ``limit`` posts of ``stmt`` (before the id ``before``)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if before is not None:
        stmt = stmt.where(Post.id < before)
    stmt = stmt.where(Post.deleted_at.is_(None)).order_by(Post.id.desc()).limit(limit + 1)
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


def _within(lat: float, lon: float, radius_km: float):
    """Places within ``radius_km`` of the point: the GiST-indexed box test, then the exact one under a CASE.
    ``ST_DWithin`` alone is estimated to keep about one place of the thousands in a town's radius, which
    makes the planner drive every plan from that radius."""
    point, metres = _point(lat, lon), radius_km * 1000
    exact = case((func.ST_DWithin(Place.location, point, metres), true()), else_=false())
    return and_(Place.location.op("&&")(func._ST_Expand(point, metres)), exact)


# Written as constants, never bound: a ``$n`` scope would keep a generic prepared plan (the server's
# statements are prepared) from matching the partial indexes (``scope = 'public'``) and walk the whole table.
_PUBLIC = literal_column("'public'")
# Up to this many walls in the area, the live page reads each wall's newest posts (``ix_posts_wall_live``);
# beyond, it walks the newest public posts (``ix_posts_live``), which then soon meets one of them.
FEW_WALLS = 150


def _live_posts(*conditions) -> list:
    return [Post.scope == _PUBLIC, Post.in_reply_to_id.is_(None), Post.deleted_at.is_(None), *conditions]


def _newest(stmt: Select, n: int) -> Select:
    return stmt.order_by(Post.id.desc()).limit(n)


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
    (code), radius and hashtag.

    One statement, the union of separately limited parts (each newest first, ``limit + 1`` rows): posts on
    the local walls of the area, remote posts located in it (``ix_posts_remote_live``). For the walls, the
    area's size decides at run time (one-time filters on a count capped at ``FEW_WALLS + 1``, so the planner's
    estimate of the places in a radius does not matter): a few walls, each one's newest posts; many, a walk
    of the newest public posts.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    n = limit + 1
    extra = []
    if before is not None:
        extra.append(Post.id < before)
    if tag:
        extra.append(Post.tags.contains([tag.lower().lstrip("#")]))
    walls = select(Actor.id).where(Actor.local.is_(True), Actor.is_private.is_(False))
    area_filtered = False
    if locality:
        in_locality = func.lower(Place.locality) == locality.lower()
        walls = walls.join(Place, Place.id == Actor.place_id).where(in_locality)
        area_filtered = True
    if zone:
        in_zone = select(ActorZone.actor_id).join(Zone, Zone.id == ActorZone.zone_id).where(Zone.code == zone)
        walls = walls.where(Actor.id.in_(in_zone))
        area_filtered = True
    post_place = None
    if lat is not None and lon is not None and radius_km:
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
    if post_place is not None and not locality and not zone:  # remote posts only carry a point
        remote = and_(Post.local.is_(False), Post.place_id.in_(post_place))
        parts.append(_newest(select(Post.id).where(*_live_posts(remote, *extra)), n))
    found = union(*(select(part.subquery().c.id) for part in parts)).subquery()
    ids = select(found.c.id).order_by(found.c.id.desc()).limit(n)
    stmt = select(Post).where(Post.id.in_(ids.scalar_subquery())).order_by(Post.id.desc())
    posts = list(await session.scalars(stmt))
    more = len(posts) > limit
    posts = posts[:limit]
    return Page(posts, posts[-1].id if more and posts else None)


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
