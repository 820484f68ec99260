"""The territorial search engine: one SQL statement for a page of hits, one for the facet counts.

Built with SQLAlchemy Core, values always bound (never interpolated) except the "where" values that
:func:`coserver.search.clauses._v` writes in. What is searched: public local elements (private ones only for
a viewer linked to them as member, contributor or attendee; never deleted ones, never the instance actor),
plus remote events with a place, brought in by federation. The filters, the sort orders and the indexes
they use are in :mod:`coserver.search.clauses`; this module assembles them, runs them and maps the rows.

Keyset pagination: every sort ends with the id as a tiebreak and the cursor holds the exact sort key of
the last hit as the database computed it. Nearest-first orders by the KNN distance (on the sphere, what
the index can order by); ``distance_m`` in hits is the ellipsoidal ``ST_Distance``: the two differ by less
than 0.6 %, so hits at nearly equal distances in different directions may show slightly out of order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Float, Select, and_, cast, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from coserver.config import Settings
from coserver.models.vocab import ELEMENT_KINDS
from coserver.search.clauses import (
    _POINT_GEOMETRY,
    A,
    P,
    _bbox_clause,
    _nearest_reach,
    _order,
    _person_public,
    _point,
    _tags_clause,
    _text_query,
    _window_clause,
    _within,
    _zone_clause,
    visibility,
)
from coserver.search.cursor import Cursor, encode_cursor
from coserver.search.hits import SearchHit, without_hidden_fields
from coserver.search.params import SearchParams
from coserver.urls import profile_url

# Facet counts look at no more than FACET_CAP + 1 matching rows: beyond, they are lower bounds ("1000+")
# and the total is unknown. Counting a whole country exactly costs too much per request.
FACET_CAP = 1000
RELEVANCE_POOL = 2000  # relevance ranks the newest RELEVANCE_POOL matches of a query at most
_ACTOR_COLUMNS = (
    "id", "ap_id", "username", "kind", "name", "profile_url", "local", "subtype", "stage",
    "short_description", "tags", "starts_at", "ends_at", "all_day", "timezone", "created_at", "updated_at",
    "field_visibility",
)  # fmt: skip


@dataclass
class SearchPage:
    """One page of hits, the cursor of the next one, facet counts per kind and the total (when known)."""

    hits: list[SearchHit]
    next_cursor: str | None
    counts: dict[str, int]
    total: int | None
    counts_capped: bool = False


# -- statements --------------------------------------------------------------------------------------------


@dataclass
class Statements:
    hits: Select
    facets: Select


def build_statements(settings: Settings, params: SearchParams, viewer_id: int | None = None) -> Statements:
    """The hits statement (``limit + 1`` rows, to know whether a next page exists) and the facets one."""
    point = _point(params.lat, params.lon) if params.point else None
    text_query = _text_query(params.q) if params.q else None
    where: list[ColumnElement[bool]] = [visibility(viewer_id)]
    if text_query is not None:
        where.append(text_query.condition)
    if params.types:
        where.append(A.c.subtype.in_(params.types))
    tag_filters = _tags_clause(params)
    if tag_filters:
        where.extend([*tag_filters, _person_public("tags")])
    located = point is not None or params.bbox is not None
    if located or params.zone:
        where.append(_person_public("place"))  # a person's hidden place never matches a "where"
    if located:
        where.append(P.c.location.is_not(None))
    if point is not None and params.radius_km is not None:
        where.append(_within(point, params.radius_km * 1000.0))
    if params.bbox is not None:
        where.append(_bbox_clause(params.bbox))
    if params.zone:
        where.append(_zone_clause(params))
    if params.start is not None or params.end is not None:
        where.extend(_window_clause(params, settings))

    joined = A.join(P, P.c.id == A.c.place_id) if located else A.outerjoin(P, P.c.id == A.c.place_id)
    order = _order(params, point, text_query.rank if text_query else None)
    geom = cast(P.c.location, _POINT_GEOMETRY)
    columns = [
        *(A.c[name] for name in _ACTOR_COLUMNS),
        *(P.c[name] for name in ("street", "postal_code", "locality", "country")),
        func.ST_Y(geom).label("lat"),
        func.ST_X(geom).label("lon"),
        (func.ST_Distance(P.c.location, point) if point is not None else literal(None, Float)).label(
            "distance_m"
        ),
        (text_query.rank if text_query else literal(None, Float)).label("rank"),
        order.key_out.label("sort_key"),
    ]
    matches = [*where, *([A.c.kind.in_(params.kinds)] if params.kinds else [])]
    keyset = [order.after] if order.after is not None else []
    if point is not None and params.sort == "distance":
        keyset.append(_nearest_reach(joined, [*matches, *keyset], order.key, point, params.limit))
    if params.sort == "relevance":
        assert text_query is not None
        # Rank the RELEVANCE_POOL newest matches, not every match of a word found in 200,000 elements:
        # ranking costs a few µs per row. The pool is the same for every page (ordered by id). The page is
        # cut from the ranked pool first, then only its rows are joined with their places.
        pool = select(A.c.id.label("id"), text_query.rank.label("rank")).select_from(joined if located else A)
        pool = pool.where(*matches).order_by(A.c.id.desc()).limit(RELEVANCE_POOL).subquery("pool")
        c = params.cursor
        page = select(pool.c.id, pool.c.rank)
        if c is not None:
            bound = literal(c.key, Float(53))
            page = page.where(or_(pool.c.rank < bound, and_(pool.c.rank == bound, pool.c.id > c.id)))
        top = page.order_by(pool.c.rank.desc(), pool.c.id).limit(params.limit + 1).subquery("top")
        columns = [*columns[:-2], top.c.rank.label("rank"), top.c.rank.label("sort_key")]
        ranked = top.join(A, A.c.id == top.c.id).outerjoin(P, P.c.id == A.c.place_id)
        hits = select(*columns).select_from(ranked).order_by(top.c.rank.desc(), top.c.id)
    else:
        hits = (
            select(*columns)
            .select_from(joined)
            .where(*matches, *keyset)
            .order_by(*order.order_by)
            .limit(params.limit + 1)
        )

    # Facets: one scan of FACET_CAP + 1 matching rows at most (no join to places unless a filter needs it).
    sample = select(A.c.kind).select_from(joined if located else A).where(*where).limit(FACET_CAP + 1)
    sample_rows = sample.subquery()
    facets = select(sample_rows.c.kind, func.count().label("n")).group_by(sample_rows.c.kind)
    return Statements(hits=hits, facets=facets)


# -- running -----------------------------------------------------------------------------------------------


def _hit(row, settings: Settings) -> SearchHit:
    url = row.profile_url or (profile_url(settings, row.username) if row.local else row.ap_id)
    hit = SearchHit(
        id=row.id,
        ap_id=row.ap_id,
        username=row.username,
        kind=row.kind,
        name=row.name,
        url=url,
        local=row.local,
        subtype=row.subtype,
        stage=row.stage,
        short_description=row.short_description or "",
        tags=tuple(row.tags or ()),
        lat=row.lat,
        lon=row.lon,
        distance_m=row.distance_m,
        street=row.street or "",
        postal_code=row.postal_code or "",
        locality=row.locality or "",
        country=row.country or "",
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        all_day=bool(row.all_day),
        timezone=row.timezone,
        created_at=row.created_at,
        updated_at=row.updated_at,
        rank=row.rank,
    )
    return without_hidden_fields(hit, row.field_visibility)


async def search(
    session: AsyncSession,
    settings: Settings,
    params: SearchParams,
    *,
    viewer_id: int | None = None,
    with_counts: bool = True,
) -> SearchPage:
    """Run ``params``: a page of hits, the next cursor, and (``with_counts``) facet counts per kind."""
    statements = build_statements(settings, params, viewer_id)
    rows = (await session.execute(statements.hits)).all()
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        key: float | datetime | None = last.sort_key
        next_cursor = encode_cursor(Cursor(sort=params.sort, key=key, id=last.id))
    hits = [_hit(row, settings) for row in rows]

    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    capped = False
    total: int | None = None
    if with_counts:
        for kind, n in (await session.execute(statements.facets)).all():
            if kind in counts:
                counts[kind] = int(n)
        capped = sum(counts.values()) > FACET_CAP
        if capped:  # a sample: each count is a lower bound
            counts = {kind: min(n, FACET_CAP) for kind, n in counts.items()}
        else:
            total = sum(counts[kind] for kind in params.kinds or ELEMENT_KINDS)
    return SearchPage(hits=hits, next_cursor=next_cursor, counts=counts, total=total, counts_capped=capped)
