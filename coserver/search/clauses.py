"""The SQL pieces of a search: visibility, text query, tags, place (point, radius, box, zone), time window,
sort order and keyset condition. Built with SQLAlchemy Core over the ``actors`` (``A``) and ``places``
(``P``) tables; :mod:`coserver.search.engine` assembles them into statements.

Indexes each filter is meant to use:

* ``q``: ``ix_actors_search_vector`` (GIN, French + English stems, accents folded) OR'ed with
  ``ix_actors_name_folded_trgm`` (GIN trigrams on the stored unaccented lower-case name: typos);
* a "where" (point with ``radius_km``, ``bbox``, nearest-first) tests ``actors.location``, the element's
  copy of its place's point (kept by triggers, migration 0009), never ``places.location``: the statement
  filters and sorts on ``actors`` alone and joins only its page's places, by primary key;
* a point with ``radius_km``: ``ix_actors_location`` (GiST, migration 0011) through ``ST_DWithin`` on the
  spheroid; nearest-first: the same index through KNN ``ORDER BY location <-> point``;
* ``bbox``: the same GiST index through geography ``&&`` against the box (densified, with a small margin,
  split at the antimeridian), then an exact longitude/latitude test;
* a radius or a box with a time window: the same tests with the window's span: ``ix_actors_location_span``
  (GiST over both);
* ``tags``/``theme``: ``ix_actors_tags`` (GIN); ``zone``: ``actor_zones`` (filled when elements are saved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    Float,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.sql.elements import ColumnElement

from coserver.config import Settings
from coserver.models import Actor, ActorZone, Link, Place, Zone
from coserver.search.cursor import Cursor
from coserver.search.hits import PERSON_FIELD_DEFAULTS
from coserver.search.params import SearchParams
from coserver.search.themes import theme_tags

MEMBER_LINKS = ("member", "contributor", "attendee")
BBOX_MARGIN_DEG = 0.01  # > the sag of a 1° great-circle edge against its parallel (≤ 0.0011°)
BBOX_SEGMENT_DEG = 1.0
BBOX_CHUNK_DEG = 90.0

A = Actor.__table__
P = Place.__table__
TIMESTAMPTZ = TIMESTAMP(timezone=True)
_GEOGRAPHY = Geography(srid=4326)
_POINT_GEOMETRY = Geometry(geometry_type="POINT", srid=4326)
_GEOGRAPHY_POINT = Geography(geometry_type="POINT", srid=4326)
_TEXT_ARRAY = ARRAY(A.c.name.type)


def _text_array(values: tuple[str, ...]) -> ColumnElement:
    return cast(bindparam(None, list(values), type_=_TEXT_ARRAY), _TEXT_ARRAY)


def visibility(viewer_id: int | None) -> ColumnElement[bool]:
    """What anyone may find, plus private elements ``viewer_id`` belongs to."""
    public = and_(A.c.is_private.is_(False), A.c.discoverable.is_(True))
    if viewer_id is not None:
        member = exists().where(
            Link.object_id == A.c.id,
            Link.subject_id == viewer_id,
            Link.type.in_(MEMBER_LINKS),
            Link.state == "accepted",
        )
        public = or_(public, member)
    # ``kind <> 'application'`` rather than ``kind IN (...)``: no index scan over every element's kind.
    local = and_(A.c.local.is_(True), A.c.kind != "application", public)
    remote_event = and_(
        A.c.local.is_(False), A.c.kind == "event", A.c.place_id.is_not(None), A.c.is_private.is_(False)
    )
    return and_(A.c.deleted_at.is_(None), or_(local, remote_event))


def _person_public(*fields: str) -> ColumnElement[bool]:
    """Not a person, or a person who left every one of ``fields`` public (``coserver.services.profiles``)."""
    public = [
        func.coalesce(A.c.field_visibility[name].astext, PERSON_FIELD_DEFAULTS.get(name, "public"))
        == "public"
        for name in fields
    ]
    return or_(A.c.kind != "person", *([and_(*public)] if len(public) > 1 else public))


@dataclass
class _Text:
    condition: ColumnElement[bool]
    rank: ColumnElement[float]


def _text_query(q: str) -> _Text:
    folded = func.co_unaccent(q)
    tsquery = func.websearch_to_tsquery(literal_column("'french'::regconfig"), folded).op("||")(
        func.websearch_to_tsquery(literal_column("'english'::regconfig"), folded)
    )
    name = A.c.name_folded  # co_unaccent(lower(name)), stored (migration 0010)
    query_name = func.co_unaccent(func.lower(q))
    by_name = or_(
        name.op("%")(query_name),  # similar names ("jardn partagé")
        query_name.op("<%")(name),  # a word of a longer name ("jardn" in "Jardin partagé du Tampon")
    )
    # A person's description and tags may be hidden from the public: then only the name can match.
    by_text = and_(
        A.c.search_vector.op("@@")(tsquery), _person_public("short_description", "description", "tags")
    )
    condition = or_(by_text, by_name)
    rank = cast(func.ts_rank_cd(A.c.search_vector, tsquery) + func.similarity(name, query_name), Float(53))
    return _Text(condition, rank)


def _tags_clause(params: SearchParams) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    groups = params.tag_groups
    if groups and params.tags_mode == "any":
        spellings = tuple(dict.fromkeys(s for group in groups for s in group))
        clauses.append(A.c.tags.op("&&")(_text_array(spellings)))
    elif groups:
        single = tuple(group[0] for group in groups if len(group) == 1)
        if single:
            clauses.append(A.c.tags.op("@>")(_text_array(single)))
        clauses.extend(A.c.tags.op("&&")(_text_array(group)) for group in groups if len(group) > 1)
    if params.theme:
        clauses.append(A.c.tags.op("&&")(_text_array(theme_tags(params.theme))))
    return clauses


def _bbox_clause(bbox: tuple[float, float, float, float], location: ColumnElement) -> ColumnElement[bool]:
    """``location`` inside a lon/lat box: a GiST-indexed geography ``&&`` superset, then the exact test."""
    minlon, minlat, maxlon, maxlat = bbox
    spans = [(minlon, maxlon)] if minlon < maxlon else [(minlon, 180.0), (-180.0, maxlon)]
    low, high = max(minlat - BBOX_MARGIN_DEG, -90.0), min(maxlat + BBOX_MARGIN_DEG, 90.0)
    boxes = []
    for west, east in spans:
        pieces = max(1, math.ceil((east - west) / BBOX_CHUNK_DEG))
        step = (east - west) / pieces
        for i in range(pieces):
            a = max(west + i * step - BBOX_MARGIN_DEG, -180.0)
            b = min(west + (i + 1) * step + BBOX_MARGIN_DEG, 180.0)
            corners = (_v(a), _v(low), _v(b), _v(high))
            envelope = func.ST_Segmentize(func.ST_MakeEnvelope(*corners, _v(4326)), _v(BBOX_SEGMENT_DEG))
            boxes.append(location.op("&&")(cast(envelope, _GEOGRAPHY)))
    geom = cast(location, _POINT_GEOMETRY)
    x, y = func.ST_X(geom), func.ST_Y(geom)
    west, east = _v(minlon), _v(maxlon)
    in_lon = x.between(west, east) if minlon < maxlon else or_(x >= west, x <= east)
    return and_(or_(*boxes), _unestimated(and_(y.between(_v(minlat), _v(maxlat)), in_lon)))


def _v(value):
    """A number or instant of a "where" (point, radius, box, window) written into the statement, not bound:
    each statement is then planned for its own values. Bound, the server's prepared statements switch to a
    generic plan after five runs, one plan for every place and size, which reads a dense town's every match
    (a whole city's bbox or radius, a week's events of every town) where a walk stops after a page."""
    return literal(value, literal_execute=True)


def _point(lat: float, lon: float) -> ColumnElement:
    """``coserver.services.places.point`` with every value written into the statement."""
    return cast(func.ST_SetSRID(func.ST_MakePoint(_v(lon), _v(lat)), _v(4326)), _GEOGRAPHY_POINT)


def _unestimated(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` under a CASE: PostgreSQL then estimates it keeps half the rows. An exact test that
    merely trims an indexed superset (the box, the radius's square) is otherwise estimated to keep almost
    nothing (the product of four range selectivities; ``ST_DWithin``'s own estimate): a town's thousands of
    places become "1 row", and every plan is driven from them (sort all matches) instead of walking the
    index the sort order can use and stopping after a page."""
    return case((condition, true()), else_=false())


def _within(point: ColumnElement, metres: float, location: ColumnElement) -> ColumnElement[bool]:
    """``ST_DWithin(location, point, metres)``: its GiST box test (what the function adds itself), then the
    exact test, unestimated."""
    box = location.op("&&")(func._ST_Expand(point, _v(metres)))
    return and_(box, _unestimated(func.ST_DWithin(location, point, _v(metres))))


def where_location() -> ColumnElement:
    """The point a "where" tests: the element's own copy of its place's point (``actors.location``, kept by
    triggers), so that every condition of a located query is on ``actors``: ``ix_actors_location`` serves a
    radius, a box and nearest-first, ``ix_actors_location_span`` (GiST over the point and the span) a
    radius or a box with a time window. An element has a location exactly when its place has one."""
    return A.c.location


def _zone_clause(params: SearchParams) -> ColumnElement[bool]:
    conditions = [ActorZone.actor_id == A.c.id, Zone.code == params.zone]
    if params.zone_level:
        conditions.append(Zone.level == params.zone_level)
    return exists().select_from(ActorZone.__table__.join(Zone.__table__)).where(*conditions)


def _window_clause(params: SearchParams, settings: Settings) -> list[ColumnElement[bool]]:
    """Half-open overlap of [starts_at, ends_at) with [start, end); all-day events cover whole local days.

    An event with no end (or ending when it starts) is an instant, included when it falls in the window.
    The all-day branch only runs on all-day rows; ``starts_at < end + 1 day`` keeps an index usable.
    """
    start = cast(_v(params.start), TIMESTAMPTZ) if params.start is not None else None
    end = cast(_v(params.end), TIMESTAMPTZ) if params.end is not None else None
    tz = func.coalesce(A.c.timezone, literal(settings.timezone))
    last = func.coalesce(A.c.ends_at, A.c.starts_at)
    first_day = func.date_trunc("day", func.timezone(tz, A.c.starts_at))
    local_last = func.timezone(tz, last)
    last_day = func.date_trunc("day", local_last)
    ends_at_midnight = and_(A.c.ends_at > A.c.starts_at, local_last == last_day)
    day_after = case((ends_at_midnight, last_day), else_=last_day + text("interval '1 day'"))
    allday_start, allday_end = func.timezone(tz, first_day), func.timezone(tz, day_after)

    timed: list[ColumnElement[bool]] = []
    allday: list[ColumnElement[bool]] = []
    clauses: list[ColumnElement[bool]] = [A.c.starts_at.is_not(None)]
    if end is not None:
        clauses.append(A.c.starts_at < end + text("interval '1 day'"))
        timed.append(A.c.starts_at < end)
        allday.append(allday_start < end)
    if start is not None:
        timed.append(or_(last > start, A.c.starts_at >= start))
        allday.append(allday_end > start)
    clauses.append(case((A.c.all_day.is_(True), and_(*allday)), else_=and_(*timed)))
    # A superset of the above that ``ix_actors_span`` (GiST) serves: the span [starts_at, last] meets the
    # window widened by the all-day slack (a local day's start and end lie within a day and a DST hour of
    # its instants). Without it, a window reads every event that started before its end (all the past).
    lower = start - text("interval '2 days'") if start is not None else None
    upper = end + text("interval '1 day'") if end is not None else None
    clauses.append(_span().op("&&")(func.tstzrange(lower, upper, literal_column("'[]'"))))
    return clauses


def _span() -> ColumnElement:
    """An element's [starts_at, ends_at] (an instant when it has no end), as ``ix_actors_span`` indexes it."""
    return func.tstzrange(A.c.starts_at, func.coalesce(A.c.ends_at, A.c.starts_at), literal_column("'[]'"))


@dataclass
class _Order:
    key: ColumnElement  # the expression ordered by (first key)
    key_out: ColumnElement  # what the cursor stores (the key, or the column it is computed from)
    order_by: list[ColumnElement]
    after: ColumnElement[bool] | None  # keyset condition for the cursor, if any


_INFINITY = cast(literal("infinity"), TIMESTAMPTZ)


def _order(params: SearchParams, point: ColumnElement | None, rank: ColumnElement | None) -> _Order:
    c: Cursor | None = params.cursor
    if params.sort == "distance":
        assert point is not None
        key = A.c.location.op("<->", return_type=Float(53))(point)
        after = tuple_(key, A.c.id) > tuple_(literal(c.key, Float(53)), literal(c.id)) if c else None
        return _Order(key, key, [key, A.c.id], after)
    if params.sort == "relevance":
        assert rank is not None
        after = None
        if c:
            bound = literal(c.key, Float(53))
            after = or_(rank < bound, and_(rank == bound, A.c.id > c.id))
        return _Order(rank, rank, [rank.desc(), A.c.id], after)
    if params.sort == "date":
        key = func.coalesce(A.c.starts_at, _INFINITY)
        after = None
        if c:
            bound = _INFINITY if c.key is None else cast(literal(c.key), TIMESTAMPTZ)
            after = tuple_(key, A.c.id) > tuple_(bound, literal(c.id))
        return _Order(key, A.c.starts_at, [key, A.c.id], after)
    # recency: newest first in the order elements were created on (or arrived at) this node. Ids follow
    # that order and the primary key serves it; a created_at sort would need its own index.
    after = A.c.id < c.id if c else None
    return _Order(A.c.id, literal(None).label("none"), [A.c.id.desc()], after)


def _nearest_reach(
    where: list[ColumnElement[bool]], key: ColumnElement, point: ColumnElement, limit: int
) -> ColumnElement[bool]:
    """Nearest-first with an id tiebreak, served by the GiST index (``ix_actors_location``).

    ``ORDER BY location <-> point, id`` cannot be read from the index (PostgreSQL then sorts every row), while
    ``ORDER BY location <-> point LIMIT n`` is a KNN index scan. So: find the distance ``reach`` of the
    ``limit + 1``-th nearest hit by KNN, keep the rows within ``reach`` (``ST_DWithin`` on the sphere, which
    is what ``<->`` measures, with a hair of margin: an index range scan), and sort those by (distance, id).
    Every hit of the page is within ``reach``, so nothing is missed, ties included. Every condition of
    ``where`` is on ``actors`` (the point is ``actors.location``): both scans read no place.
    """
    knn = select(key.label("d")).where(*where).order_by(key).limit(limit + 1).subquery()
    reach = select(func.max(knn.c.d)).scalar_subquery()
    return func.ST_DWithin(A.c.location, point, reach * 1.000001 + 1.0, False)
