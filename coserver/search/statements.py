"""The statements of a search, built from its query's :class:`~coserver.search.shape.Shape`, compiled once.

A search sends up to four statements: a located recency query's walk among the newest elements, the page
of hits (``limit + 1`` rows, to know whether a next page exists), and for the facet counts a probe of the
area (a located text query) or a sample of the matches. :func:`compiled` builds them with SQLAlchemy Core
from the shape alone, every value a placeholder (:func:`coserver.search.clauses.ph`), and compiles them with
the asyncpg dialect (``coserver.prepared``): the first query of a shape pays 5-15 ms of Python, the next
ones none. :func:`bind` pairs them with a query's values (:func:`coserver.search.shape.split`).

A located query (a radius, a box, nearest-first) tests the element's own point (``actors.location``): its
hits, its recency walk and its facet sample read ``actors`` alone, and the page's places are then joined
by primary key.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, cast, func, null, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from coserver.config import Settings
from coserver.prepared import Prepared
from coserver.search.clauses import (
    _FLOAT,
    _POINT_GEOMETRY,
    A,
    P,
    _bbox_clause,
    _in,
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
    ph,
    visibility,
    where_location,
)
from coserver.search.params import SearchParams
from coserver.search.shape import Shape, split

# Facet counts look at no more than FACET_CAP + 1 matching rows: beyond, they are lower bounds ("200+",
# ``counts_capped``) and the total is unknown. Each sampled row is a random read of an actor (and of its
# place): at 1,000,000 elements 1,000 of them cost 20-60 ms a request, 200 of them 5-15 ms.
FACET_CAP = 200
# A located query sorted by recency first walks the newest RECENCY_WALK visible elements (primary key,
# backwards) and keeps those in the area: in a dense area a page is found there, without reading every
# element of a town to sort them. When the walk finds less than a page, the area is sparse: the statement
# that reads the area's elements (GiST) and sorts them runs instead.
RECENCY_WALK = 6000
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
# What a page found on ``actors`` alone carries to the statement that joins its places.
_PAGE_COLUMNS = [A.c[name] for name in dict.fromkeys((*_ACTOR_COLUMNS, "place_id", "location"))]
_NULL = cast(null(), _FLOAT)


@dataclass(frozen=True)
class Statements:
    """The compiled statements of one shape."""

    hits: Prepared
    facets: Prepared
    walk: Prepared | None = None  # a located recency query: the same page, found among the newest elements
    # A radius or a box with no text or tag filter (their GIN indexes serve bitmap scans only): the facet
    # sample streams from ``ix_actors_location``, bitmap scans off.
    stream_facets: bool = False
    # A located text query: per kind, (matches, elements examined) among the area's first FACET_PROBE.
    probe: Prepared | None = None


@dataclass(frozen=True)
class Bound:
    """A query's statements and values: ``sql(which)`` is what is sent to PostgreSQL (text, arguments)."""

    statements: Statements
    values: dict[str, Any]

    def sql(self, which: str) -> tuple[str, list[Any]] | None:
        statement: Prepared | None = getattr(self.statements, which)
        return None if statement is None else (statement.sql, statement.args(self.values))


def bind(settings: Settings, params: SearchParams, viewer_id: int | None = None) -> Bound:
    """The statements of ``params`` (compiled once per shape) with its values."""
    shape, values = split(params, settings, viewer_id)
    return Bound(compiled(shape), values)


@functools.lru_cache(maxsize=1_000)  # a bound on the shapes kept (a few dozen in practice)
def compiled(shape: Shape) -> Statements:
    built = build(shape)
    return Statements(
        hits=Prepared(built["hits"]),
        facets=Prepared(built["facets"]),
        walk=Prepared(built["walk"]) if built["walk"] is not None else None,
        stream_facets=built["stream_facets"],
        probe=Prepared(built["probe"]) if built["probe"] is not None else None,
    )


def build(shape: Shape) -> dict[str, Any]:
    """The statements of ``shape`` as SQLAlchemy Core (``hits``, ``facets``, ``walk``, ``probe``) and
    whether the facet sample streams (``stream_facets``)."""
    point = _point() if shape.point else None
    text_query = _text_query() if shape.text else None
    where: list[ColumnElement[bool]] = [visibility(shape)]
    if text_query is not None:
        where.append(text_query.condition)
    if shape.types:
        where.append(_in(A.c.subtype, "types"))
    tag_filters = _tags_clause(shape)
    if tag_filters:
        where.extend([*tag_filters, _person_public("tags")])
    located = shape.located
    if located or shape.zone:
        where.append(_person_public("place"))  # a person's hidden place never matches a "where"
    if shape.zone:
        where.append(_zone_clause(shape))
    if shape.start or shape.end:
        where.extend(_window_clause(shape))
    location = where_location()
    in_area: list[ColumnElement[bool]] = []  # the "where" tests, on ``actors.location``
    if located:
        in_area.append(location.is_not(None))
    if point is not None and shape.radius:
        in_area.append(_within(point, location))
    if shape.boxes:
        in_area.append(_bbox_clause(shape, location))

    order = _order(shape, point, text_query.rank if text_query else None)
    geom = cast(P.c.location, _POINT_GEOMETRY)
    columns = [
        *(A.c[name] for name in _ACTOR_COLUMNS),
        *(P.c[name] for name in ("street", "postal_code", "locality", "country")),
        func.ST_Y(geom).label("lat"),
        func.ST_X(geom).label("lon"),
        (func.ST_Distance(P.c.location, point) if point is not None else _NULL).label("distance_m"),
        (text_query.rank if text_query else _NULL).label("rank"),
        order.key_out.label("sort_key"),
    ]
    kinds = [_in(A.c.kind, "kinds")] if shape.kinds else []
    matches = [*where, *in_area, *kinds]
    keyset = [order.after] if order.after is not None else []
    rows = ph("rows")
    if point is not None and shape.sort == "distance":
        # The kinds unestimated (CASE): else a common kind's index (``kind = 'event'``: 150,000 rows at
        # 1,000,000 elements) is ANDed with the area's bitmap, 15-50 ms, where the KNN scan of the area
        # stops after a page of that kind, under a millisecond.
        nearest = [*where, *in_area, *([_unestimated(and_(*kinds))] if kinds else []), *keyset]
        keyset.append(_nearest_reach(nearest, order.key, point))
    if shape.sort == "relevance":
        assert text_query is not None
        # Rank the RELEVANCE_POOL newest matches, not every match of a word found in 200,000 elements:
        # ranking costs a few µs per row. The pool is the same for every page (ordered by id). The page is
        # cut from the ranked pool first, then only its rows are joined with their places.
        pool = select(A.c.id.label("id"), text_query.rank.label("rank")).where(*matches)
        pool = pool.order_by(A.c.id.desc()).limit(RELEVANCE_POOL).subquery("pool")
        page = select(pool.c.id, pool.c.rank)
        if shape.cursor:
            bound = ph("cursor_key", _FLOAT)
            after = or_(pool.c.rank < bound, and_(pool.c.rank == bound, pool.c.id > ph("cursor_id")))
            page = page.where(after)
        top = page.order_by(pool.c.rank.desc(), pool.c.id).limit(rows).subquery("top")
        columns = [*columns[:-2], top.c.rank.label("rank"), top.c.rank.label("sort_key")]
        ranked = top.join(A, A.c.id == top.c.id).outerjoin(P, P.c.id == A.c.place_id)
        hits = select(*columns).select_from(ranked).order_by(top.c.rank.desc(), top.c.id)
    elif located:
        # The rank (a text query sorted otherwise) is computed in the page: its columns are not carried.
        carried = [*_PAGE_COLUMNS, *([text_query.rank.label("rank")] if text_query else [])]
        page = select(*carried).where(*matches, *keyset).order_by(*order.order_by).limit(rows)
        page = page.subquery("page")
        ranked_columns = [*columns[:-2], page.c.rank, columns[-1]] if text_query else columns
        hits = _with_places(ranked_columns, page, order.order_by)
    else:
        hits = (
            select(*columns)
            .select_from(A.outerjoin(P, P.c.id == A.c.place_id))
            .where(*matches, *keyset)
            .order_by(*order.order_by)
            .limit(rows)
        )
    walk = None
    if located and shape.sort == "recency":
        rank = text_query.rank if text_query else None
        walk = _recency_walk(columns, [*where, *kinds, *keyset], in_area, rank)

    # Facets: one scan of FACET_CAP + 1 matching rows at most, on ``actors`` alone (the "where" is there).
    sample = select(A.c.kind).where(*where, *in_area).limit(FACET_CAP + 1)
    sample_rows = sample.subquery()
    facets = select(sample_rows.c.kind, func.count().label("n")).group_by(sample_rows.c.kind)
    probe = None
    if located and text_query is not None:
        others = [c for c in where if c is not text_query.condition]
        examined = select(A.c.kind, text_query.condition.label("m")).where(*others, *in_area)
        examined = examined.limit(FACET_PROBE).subquery("examined")
        n = func.count().filter(examined.c.m).label("n")
        probe = select(examined.c.kind, n, func.count().label("seen")).group_by(examined.c.kind)
    return {
        "hits": hits,
        "facets": facets,
        "walk": walk,
        "stream_facets": located and text_query is None and not tag_filters,
        "probe": probe,
    }


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


def _recency_walk(columns, on_actors, in_area, rank) -> Select:
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
    page = kept.order_by(newest.c.id.desc()).limit(ph("rows")).subquery("page")
    ranked_columns = [*columns[:-2], page.c.rank, columns[-1]] if rank is not None else columns
    return _with_places(ranked_columns, page, [A.c.id.desc()])
