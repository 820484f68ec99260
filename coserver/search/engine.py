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

from sqlalchemy import Float, Select, and_, cast, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

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
    _unestimated,
    _window_clause,
    _within,
    _zone_clause,
    visibility,
    where_location,
)
from coserver.search.cursor import Cursor, encode_cursor
from coserver.search.hits import SearchHit, without_hidden_fields
from coserver.search.params import SearchParams
from coserver.urls import profile_url

# Facet counts look at no more than FACET_CAP + 1 matching rows: beyond, they are lower bounds ("200+",
# ``counts_capped``) and the total is unknown. Each sampled row is a random read of an actor (and of its
# place): at 1,000,000 elements 1,000 of them cost 20-60 ms a request, 200 of them 5-15 ms.
FACET_CAP = 200
# A located query sorted by recency first walks the newest RECENCY_WALK visible elements (primary key,
# backwards) and keeps those in the area: in a dense area a page is found there, without reading every
# element of a town to sort them. When the walk finds less than a page, the area is sparse: the statement
# that reads the area's elements (GiST) and sorts them runs instead.
RECENCY_WALK = 6000
# Statements of a search never use parallel workers: they stop after a page or a sample, and starting
# workers (on a small server, beside concurrent requests) costs more than it saves.
_NO_PARALLEL = text("SET LOCAL max_parallel_workers_per_gather = 0")
# The facet sample of a located query is read from ``ix_actors_location`` by a plain index scan, which
# streams and stops after FACET_CAP + 1 hits. The planner's estimate of an area is 5 to 10 times too low
# (a map of Paris: 15,000 elements for 120,000), so it plans a bitmap scan instead, whose bitmap of the
# whole area is built before the first row is read: 20-80 ms in a dense town, against 0.5-1 ms.
_NO_BITMAP = text("SET LOCAL enable_bitmapscan = off")
_BITMAP = text("SET LOCAL enable_bitmapscan = on")
# A located text query's facets first probe the area's first FACET_PROBE elements streamed from
# ``ix_actors_location``, testing the text on each (a common word: "jardin" matches 1 element in 4):
# the area exhausted, the counts are exact; more than FACET_CAP matches, they are lower bounds. Only a rare
# word in a dense area falls back to the sample through the text's indexes, whose bitmaps are then small.
# (A common word's bitmaps cost 60+ ms at 1,000,000 elements before the first row; the probe ~5 ms.)
FACET_PROBE = 1000
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
    walk: Select | None = None  # a located recency query: the same page, found among the newest elements
    # A radius or a box with no text or tag filter (their GIN indexes serve bitmap scans only): the facet
    # sample streams from ``ix_actors_location``, bitmap scans off.
    stream_facets: bool = False
    # A located text query: per kind, (matches, elements examined) among the area's first FACET_PROBE.
    probe: Select | None = None


def build_statements(settings: Settings, params: SearchParams, viewer_id: int | None = None) -> Statements:
    """The hits statement (``limit + 1`` rows, to know whether a next page exists) and the facets one.

    A located query (a radius, a box, nearest-first) tests the element's own point (``actors.location``):
    its hits, its recency walk and its facet sample read ``actors`` alone, and the page's places are then
    joined by primary key."""
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
    if params.zone:
        where.append(_zone_clause(params))
    if params.start is not None or params.end is not None:
        where.extend(_window_clause(params, settings))
    location = where_location()
    in_area: list[ColumnElement[bool]] = []  # the "where" tests, on ``actors.location``
    if located:
        in_area.append(location.is_not(None))
    if point is not None and params.radius_km is not None:
        in_area.append(_within(point, params.radius_km * 1000.0, location))
    if params.bbox is not None:
        in_area.append(_bbox_clause(params.bbox, location))

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
    kinds = [A.c.kind.in_(params.kinds)] if params.kinds else []
    matches = [*where, *in_area, *kinds]
    keyset = [order.after] if order.after is not None else []
    if point is not None and params.sort == "distance":
        keyset.append(_nearest_reach([*matches, *keyset], order.key, point, params.limit))
    if params.sort == "relevance":
        assert text_query is not None
        # Rank the RELEVANCE_POOL newest matches, not every match of a word found in 200,000 elements:
        # ranking costs a few µs per row. The pool is the same for every page (ordered by id). The page is
        # cut from the ranked pool first, then only its rows are joined with their places.
        pool = select(A.c.id.label("id"), text_query.rank.label("rank")).where(*matches)
        pool = pool.order_by(A.c.id.desc()).limit(RELEVANCE_POOL).subquery("pool")
        c = params.cursor
        page = select(pool.c.id, pool.c.rank)
        if c is not None:
            bound = literal(c.key, Float(53))
            page = page.where(or_(pool.c.rank < bound, and_(pool.c.rank == bound, pool.c.id > c.id)))
        top = page.order_by(pool.c.rank.desc(), pool.c.id).limit(params.limit + 1).subquery("top")
        columns = [*columns[:-2], top.c.rank.label("rank"), top.c.rank.label("sort_key")]
        ranked = top.join(A, A.c.id == top.c.id).outerjoin(P, P.c.id == A.c.place_id)
        hits = select(*columns).select_from(ranked).order_by(top.c.rank.desc(), top.c.id)
    elif located:
        # The rank (a text query sorted otherwise) is computed in the page: its columns are not carried.
        carried = [*_PAGE_COLUMNS, *([text_query.rank.label("rank")] if text_query else [])]
        page = select(*carried).where(*matches, *keyset).order_by(*order.order_by)
        page = page.limit(params.limit + 1).subquery("page")
        ranked_columns = [*columns[:-2], page.c.rank, columns[-1]] if text_query else columns
        hits = _with_places(ranked_columns, page, order.order_by)
    else:
        hits = (
            select(*columns)
            .select_from(A.outerjoin(P, P.c.id == A.c.place_id))
            .where(*matches, *keyset)
            .order_by(*order.order_by)
            .limit(params.limit + 1)
        )
    walk = None
    if located and params.sort == "recency":
        rank = text_query.rank if text_query else None
        walk = _recency_walk(columns, [*where, *kinds, *keyset], in_area, rank, params.limit)

    # Facets: one scan of FACET_CAP + 1 matching rows at most, on ``actors`` alone (the "where" is there).
    sample = select(A.c.kind).where(*where, *in_area).limit(FACET_CAP + 1)
    sample_rows = sample.subquery()
    facets = select(sample_rows.c.kind, func.count().label("n")).group_by(sample_rows.c.kind)
    stream_facets = located and text_query is None and not tag_filters
    probe = None
    if located and text_query is not None:
        others = [c for c in where if c is not text_query.condition]
        examined = select(A.c.kind, text_query.condition.label("m")).where(*others, *in_area)
        examined = examined.limit(FACET_PROBE).subquery("examined")
        n = func.count().filter(examined.c.m).label("n")
        probe = select(examined.c.kind, n, func.count().label("seen")).group_by(examined.c.kind)
    return Statements(hits=hits, facets=facets, walk=walk, stream_facets=stream_facets, probe=probe)


# What a page found on ``actors`` alone carries to the statement that joins its places.
_PAGE_COLUMNS = [A.c[name] for name in dict.fromkeys((*_ACTOR_COLUMNS, "place_id", "location"))]


def _with_places(columns, page, order_by) -> Select:
    """The rows of ``page`` (a subquery of ``actors`` with :data:`_PAGE_COLUMNS`, already cut to a page),
    then their places by primary key: the page's ``limit + 1`` places are read, not those of the whole
    area. The same rows as a single statement joining places: an element with a location has a place
    (the triggers copy it from there)."""
    adapt = ClauseAdapter(page).traverse
    return (
        select(*(adapt(c) for c in columns))
        .select_from(page.join(P, P.c.id == page.c.place_id))
        .order_by(*(adapt(c) for c in order_by))
    )


def _recency_walk(columns, on_actors, in_area, rank, limit: int) -> Select:
    """The newest ``RECENCY_WALK`` elements meeting every condition but the "where" (the primary key read
    backwards), those of them in the area, a page at most, then their places by primary key. When it
    returns ``limit + 1`` rows they are exactly the first rows of the full statement (same order, same
    conditions): every element newer than the last one was walked. The area's tests are unestimated so
    that the walk is never planned from the area's GiST index."""
    carried = [*_PAGE_COLUMNS, *([rank.label("rank")] if rank is not None else [])]
    newest = select(*carried).where(*on_actors).order_by(A.c.id.desc()).limit(RECENCY_WALK)
    newest = newest.subquery("newest")
    adapt = ClauseAdapter(newest).traverse
    kept = select(newest).where(_unestimated(and_(*(adapt(c) for c in in_area))))
    page = kept.order_by(newest.c.id.desc()).limit(limit + 1).subquery("page")
    ranked_columns = [*columns[:-2], page.c.rank, columns[-1]] if rank is not None else columns
    return _with_places(ranked_columns, page, [A.c.id.desc()])


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
    statements: Statements | None = None,
) -> SearchPage:
    """Run ``params``: a page of hits, the next cursor, and (``with_counts``) facet counts per kind.
    ``statements``: those of ``build_statements(settings, params, viewer_id)``, when the caller has them."""
    statements = statements or build_statements(settings, params, viewer_id)
    await session.execute(_NO_PARALLEL)
    rows: list = []
    if statements.walk is not None:
        rows = list((await session.execute(statements.walk)).all())
    if len(rows) <= params.limit:  # no walk, or a sparse area: the walk found less than a page
        rows = list((await session.execute(statements.hits)).all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        key: float | datetime | None = last.sort_key
        next_cursor = encode_cursor(Cursor(sort=params.sort, key=key, id=last.id))
    hits = [_hit(row, settings) for row in rows]

    if not with_counts:
        return SearchPage(
            hits=hits, next_cursor=next_cursor, counts=dict.fromkeys(ELEMENT_KINDS, 0), total=None
        )
    if params.cursor is None and next_cursor is None and not params.kinds:
        counts = dict.fromkeys(ELEMENT_KINDS, 0)
        for hit in hits:  # the whole result is this page: counted from it, no second statement
            counts[hit.kind] = counts.get(hit.kind, 0) + 1
        return SearchPage(hits=hits, next_cursor=None, counts=counts, total=len(hits))
    counted = await _counts(session, statements, params)
    return SearchPage(
        hits=hits,
        next_cursor=next_cursor,
        counts=counted.counts,
        total=counted.total,
        counts_capped=counted.capped,
    )


@dataclass
class FacetCounts:
    counts: dict[str, int]  # per kind; lower bounds when ``capped``
    total: int | None  # hits of the query (with its kinds), when counted exactly
    capped: bool


async def facet_counts(
    session: AsyncSession,
    settings: Settings,
    params: SearchParams,
    *,
    viewer_id: int | None = None,
    statements: Statements | None = None,
) -> FacetCounts:
    """The facet counts of ``params`` alone (what :func:`search` adds to a page); ``statements`` as for
    :func:`search` (building them costs milliseconds of Python: build once per request)."""
    await session.execute(_NO_PARALLEL)
    statements = statements or build_statements(settings, params, viewer_id)
    return await _counts(session, statements, params)


def probed_counts(rows, params: SearchParams) -> FacetCounts | None:
    """The facet counts a probe's rows (kind, matches, examined) settle, or None (a rare word in a dense
    area: the sample through the text's indexes is needed)."""
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    seen = 0
    for kind, n, examined in rows:
        seen += int(examined)
        if kind in counts:
            counts[kind] = int(n)
    if seen < FACET_PROBE:  # every element of the area was tested: exact
        return FacetCounts(counts, sum(counts[kind] for kind in params.kinds or ELEMENT_KINDS), False)
    if sum(counts.values()) > FACET_CAP:
        return FacetCounts({kind: min(n, FACET_CAP) for kind, n in counts.items()}, None, True)
    return None


async def _counts(session: AsyncSession, statements: Statements, params: SearchParams) -> FacetCounts:
    if statements.probe is not None:
        await session.execute(_NO_BITMAP)
        probed = probed_counts((await session.execute(statements.probe)).all(), params)
        await session.execute(_BITMAP)
        if probed is not None:
            return probed
    counts = dict.fromkeys(ELEMENT_KINDS, 0)
    if statements.stream_facets:
        await session.execute(_NO_BITMAP)
    rows = (await session.execute(statements.facets)).all()
    if statements.stream_facets:
        await session.execute(_BITMAP)
    for kind, n in rows:
        if kind in counts:
            counts[kind] = int(n)
    if sum(counts.values()) > FACET_CAP:  # a sample: each count is a lower bound
        return FacetCounts({kind: min(n, FACET_CAP) for kind, n in counts.items()}, None, True)
    return FacetCounts(counts, sum(counts[kind] for kind in params.kinds or ELEMENT_KINDS), False)
