"""Timeline pages as plain rows: the API's read path.

One statement per page: the ids a ``coserver.services.timelines.*_ids`` statement selects, joined with the
post's columns, its author's and wall's references and its place, newest first. The ``*_query`` functions
compile it once per shape (``coserver.prepared``) with placeholders for the request's values, and ``fetch``
runs it on a raw asyncpg connection in autocommit mode: one round trip, no ORM objects. Single posts use the
same statement through the ORM session (``post_rows``), so every post the API returns has one shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, BigInteger, Float, Select, Text, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from coserver.models import Actor, Place, Post
from coserver.prepared import Prepared, placeholder, prepared
from coserver.services import timelines
from coserver.services.elements import normal_username, viewable_local_id
from coserver.services.timelines import split_page

_author = aliased(Actor, name="author")
_wall = aliased(Actor, name="wall")


def _ref_columns(actor, prefix: str) -> list:
    return [
        actor.username.label(f"{prefix}username"),
        actor.domain.label(f"{prefix}domain"),
        actor.name.label(f"{prefix}name"),
        actor.kind.label(f"{prefix}kind"),
        func.coalesce(actor.profile_url, actor.ap_id).label(f"{prefix}url"),
        actor.local.label(f"{prefix}local"),
    ]


_POST_COLUMNS = (
    Post.id, Post.ap_id, Post.as_element, Post.scope, Post.content_html, Post.tags, Post.in_reply_to_ap_id,
    Post.published_at, Post.edited_at, Post.replies_count, Post.likes_count, Post.shares_count, Post.place_id,
)  # fmt: skip
_AUTHOR_COLUMNS = _ref_columns(_author, "author_")
_WALL_COLUMNS = _ref_columns(_wall, "wall_")
_PLACE_COLUMNS = (
    Place.name.label("place_name"),
    Place.street.label("place_street"),
    Place.postal_code.label("place_postal_code"),
    Place.locality.label("place_locality"),
    Place.locality_code.label("place_locality_code"),
    Place.country.label("place_country"),
    func.ST_Y(cast(Place.location, Geometry)).label("place_lat"),
    func.ST_X(cast(Place.location, Geometry)).label("place_lon"),
)


def page_statement(ids: Select) -> Select:
    """The rows of the posts whose ids ``ids`` selects, newest first."""
    page = ids.subquery("page")
    return (
        select(*_POST_COLUMNS, *_AUTHOR_COLUMNS, *_WALL_COLUMNS, *_PLACE_COLUMNS)
        .select_from(page)
        .join(Post, Post.id == page.c.id)
        .join(_author, _author.id == Post.author_id)
        .join(_wall, _wall.id == Post.wall_id)
        .outerjoin(Place, Place.id == Post.place_id)
        .order_by(Post.id.desc())
    )


@dataclass(frozen=True)
class RowPage:
    rows: Sequence[Mapping[str, Any]]
    next_before: int | None  # pass as ``before`` for the next page


Query = tuple[Prepared, dict[str, Any]]  # a compiled page statement and its parameters

_VIEWER = placeholder("viewer", BigInteger)
_BEFORE = placeholder("before", BigInteger)


def _bind(value: Any, slot):
    """The placeholder ``slot`` when ``value`` is given (the statement's shape depends on it), else None."""
    return None if value is None else slot


def wall_query(username: str, viewer_id: int | None, *, before: int | None = None, limit: int = 20) -> Query:
    """A page of an element's wall, the element looked up by username in the same statement (no rows: an
    empty wall, or no element the viewer may see — ``wall_element_query`` tells which)."""
    viewer, after = _bind(viewer_id, _VIEWER), _bind(before, _BEFORE)

    def build() -> Select:
        element = viewable_local_id(placeholder("username", Text), viewer).scalar_subquery()
        return page_statement(timelines.wall_ids(element, viewer, before=after, limit=limit))

    key = ("wall", viewer is None, after is None, limit)
    params = {"username": normal_username(username), "viewer": viewer_id, "before": before}
    return prepared(key, build), params


def wall_element_query(username: str, viewer_id: int | None) -> Query:
    viewer = _bind(viewer_id, _VIEWER)
    found = prepared(
        ("wall_element", viewer is None), lambda: viewable_local_id(placeholder("username", Text), viewer)
    )
    return found, {"username": normal_username(username), "viewer": viewer_id}


def home_query(person_id: int, *, before: int | None = None, limit: int = 20) -> Query:
    after = _bind(before, _BEFORE)
    build = lambda: page_statement(timelines.home_ids(_VIEWER, before=after, limit=limit))  # noqa: E731
    return prepared(("home", after is None, limit), build), {"viewer": person_id, "before": before}


def hashtag_query(tag: str, viewer_id: int | None, *, before: int | None = None, limit: int = 20) -> Query:
    viewer, after = _bind(viewer_id, _VIEWER), _bind(before, _BEFORE)
    tags = placeholder("tags", ARRAY(Text))
    build = lambda: page_statement(timelines.hashtag_ids(tags, viewer, before=after, limit=limit))  # noqa: E731
    key = ("hashtag", viewer is None, after is None, limit)
    params = {"tags": [timelines.normal_tag(tag)], "viewer": viewer_id, "before": before}
    return prepared(key, build), params


def live_query(
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
) -> Query:
    """A page of the territory's live feed (``coserver.services.timelines.live_ids``)."""
    near = lat is not None and lon is not None and bool(radius_km)
    filters = {
        "locality": (locality or None, placeholder("locality", Text)),
        "zone": (zone or None, placeholder("zone", Text)),
        "tags": ([timelines.normal_tag(tag)] if tag else None, placeholder("tags", ARRAY(Text))),
        "lat": (lat if near else None, placeholder("lat", Float)),
        "lon": (lon if near else None, placeholder("lon", Float)),
        "radius_km": (radius_km if near else None, placeholder("radius_km", Float)),
        "before": (before, _BEFORE),
    }
    binds = {name: _bind(value, slot) for name, (value, slot) in filters.items()}

    def build() -> Select:
        area = {k: binds[k] for k in ("locality", "zone", "lat", "lon", "radius_km", "before")}
        return page_statement(timelines.live_ids(**area, tag=binds["tags"], territory=territory, limit=limit))

    key = ("live", tuple(b is None for b in binds.values()), territory, limit)
    return prepared(key, build), {name: value for name, (value, _) in filters.items()}


async def fetch(conn: asyncpg.Connection, query: Query, limit: int) -> RowPage:
    """Run a page query (which selects up to ``limit + 1`` rows: the extra one tells a next page exists)."""
    stmt, params = query
    page, next_before = split_page(await stmt.fetch(conn, **params), limit, lambda r: r["id"])
    return RowPage(page, next_before)


async def post_rows(session: AsyncSession, ids: Sequence[int]) -> list[Mapping[str, Any]]:
    """The rows of the posts ``ids``, in that order (missing ones left out), in the session's transaction."""
    if not ids:
        return []
    result = await session.execute(page_statement(select(Post.id).where(Post.id.in_(ids))))
    found = {r["id"]: r for r in result.mappings()}
    return [found[i] for i in ids if i in found]
