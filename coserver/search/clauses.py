"""The SQL pieces of a search: visibility, text query, tags, place (point, radius, box, zone), time window,
sort order and keyset condition. Built with SQLAlchemy Core over the ``actors`` (``A``) and ``places``
(``P``) tables from a query's :class:`~coserver.search.shape.Shape` alone: every value is a named
placeholder (:func:`ph`), filled in at run time by :func:`coserver.search.shape.split`;
:mod:`coserver.search.engine` assembles them into statements.

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

from dataclasses import dataclass

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    Text,
    and_,
    any_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, TIMESTAMP
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from coserver.models import Actor, ActorZone, Link, Place, Zone
from coserver.prepared import placeholder
from coserver.search.hits import PERSON_FIELD_DEFAULTS
from coserver.search.shape import Shape

MEMBER_LINKS = ("member", "contributor", "attendee")
BBOX_SEGMENT_DEG = 1.0

A = Actor.__table__
P = Place.__table__
TIMESTAMPTZ = TIMESTAMP(timezone=True)
_GEOGRAPHY = Geography(srid=4326)
_POINT_GEOMETRY = Geometry(geometry_type="POINT", srid=4326)
_GEOGRAPHY_POINT = Geography(geometry_type="POINT", srid=4326)
_TEXT_ARRAY = ARRAY(Text)
_FLOAT = Float(53)

# The type of each placeholder (``coserver.search.shape.split`` gives their values); numbered ones
# (``box_west_0``, ``tag_group_1``) take the type of their prefix.
_TYPES = {
    "viewer_id": BigInteger(),
    "q": Text(),
    "kinds": _TEXT_ARRAY,
    "types": _TEXT_ARRAY,
    "tags_any": _TEXT_ARRAY,
    "tags_all": _TEXT_ARRAY,
    "tag_group": _TEXT_ARRAY,
    "theme_tags": _TEXT_ARRAY,
    "lat": _FLOAT,
    "lon": _FLOAT,
    "radius_m": _FLOAT,
    "minlon": _FLOAT,
    "minlat": _FLOAT,
    "maxlon": _FLOAT,
    "maxlat": _FLOAT,
    "box_low": _FLOAT,
    "box_high": _FLOAT,
    "box_west": _FLOAT,
    "box_east": _FLOAT,
    "zone": Text(),
    "zone_level": Text(),
    "start": TIMESTAMPTZ,
    "end": TIMESTAMPTZ,
    "tz": Text(),
    "cursor_id": BigInteger(),
    "rows": Integer(),
}


def ph(name: str, type_=None) -> BindParameter:
    """The placeholder ``name`` (typed from :data:`_TYPES` unless ``type_`` is given)."""
    return placeholder(name, type_ if type_ is not None else _TYPES[name.rstrip("0123456789").rstrip("_")])


def visibility(shape: Shape) -> ColumnElement[bool]:
    """What anyone may find, plus private elements the viewer (``viewer_id``) belongs to."""
    public = and_(A.c.is_private.is_(False), A.c.discoverable.is_(True))
    if shape.viewer:
        member = exists().where(
            Link.object_id == A.c.id,
            Link.subject_id == ph("viewer_id"),
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


def _text_query() -> _Text:
    """The text ``q``: its French and English stems, or a name like it (typos) or containing it."""
    q = ph("q")
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
    rank = cast(func.ts_rank_cd(A.c.search_vector, tsquery) + func.similarity(name, query_name), _FLOAT)
    return _Text(condition, rank)


def _tags_clause(shape: Shape) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if shape.tags_any:
        clauses.append(A.c.tags.op("&&")(ph("tags_any")))
    if shape.tags_all:
        clauses.append(A.c.tags.op("@>")(ph("tags_all")))
    clauses.extend(A.c.tags.op("&&")(ph(f"tag_group_{i}")) for i in range(shape.tag_groups))
    if shape.theme:
        clauses.append(A.c.tags.op("&&")(ph("theme_tags")))
    return clauses


def _in(column: ColumnElement, name: str) -> ColumnElement[bool]:
    """``column`` is one of the list ``name`` (one array value, whatever its length)."""
    return column == any_(ph(name))


def _bbox_clause(shape: Shape, location: ColumnElement) -> ColumnElement[bool]:
    """``location`` inside the lon/lat box (``minlon``...): a GiST-indexed geography ``&&`` superset (the
    boxes of :func:`coserver.search.shape.bbox_boxes`), then the exact test."""
    boxes = []
    for i in range(shape.boxes):
        corners = (ph(f"box_west_{i}"), ph("box_low"), ph(f"box_east_{i}"), ph("box_high"))
        envelope = func.ST_Segmentize(func.ST_MakeEnvelope(*corners, 4326), BBOX_SEGMENT_DEG)
        boxes.append(location.op("&&")(cast(envelope, _GEOGRAPHY)))
    geom = cast(location, _POINT_GEOMETRY)
    x, y = func.ST_X(geom), func.ST_Y(geom)
    west, east = ph("minlon"), ph("maxlon")
    in_lon = or_(x >= west, x <= east) if shape.bbox_crosses else x.between(west, east)
    return and_(or_(*boxes), _unestimated(and_(y.between(ph("minlat"), ph("maxlat")), in_lon)))


def _point() -> ColumnElement:
    """The query's point (``lat``, ``lon``) as ``coserver.services.places.point`` makes it."""
    return cast(func.ST_SetSRID(func.ST_MakePoint(ph("lon"), ph("lat")), 4326), _GEOGRAPHY_POINT)


def _unestimated(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` under a CASE: PostgreSQL then estimates it keeps half the rows. An exact test that
    merely trims an indexed superset (the box, the radius's square) is otherwise estimated to keep almost
    nothing (the product of four range selectivities; ``ST_DWithin``'s own estimate): a town's thousands of
    places become "1 row", and every plan is driven from them (sort all matches) instead of walking the
    index the sort order can use and stopping after a page."""
    return case((condition, true()), else_=false())


def _within(point: ColumnElement, location: ColumnElement) -> ColumnElement[bool]:
    """``ST_DWithin(location, point, radius_m)``: its GiST box test (what the function adds itself), then
    the exact test, unestimated."""
    metres = ph("radius_m")
    box = location.op("&&")(func._ST_Expand(point, metres))
    return and_(box, _unestimated(func.ST_DWithin(location, point, metres)))


def where_location() -> ColumnElement:
    """The point a "where" tests: the element's own copy of its place's point (``actors.location``, kept by
    triggers), so that every condition of a located query is on ``actors``: ``ix_actors_location`` serves a
    radius, a box and nearest-first, ``ix_actors_location_span`` (GiST over the point and the span) a
    radius or a box with a time window. An element has a location exactly when its place has one."""
    return A.c.location


def _zone_clause(shape: Shape) -> ColumnElement[bool]:
    conditions = [ActorZone.actor_id == A.c.id, Zone.code == ph("zone")]
    if shape.zone_level:
        conditions.append(Zone.level == ph("zone_level"))
    return exists().select_from(ActorZone.__table__.join(Zone.__table__)).where(*conditions)


def _window_clause(shape: Shape) -> list[ColumnElement[bool]]:
    """Half-open overlap of [starts_at, ends_at) with [start, end); all-day events cover whole local days
    (in the event's time zone, else the node's: ``tz``).

    An event with no end (or ending when it starts) is an instant, included when it falls in the window.
    The all-day branch only runs on all-day rows; ``starts_at < end + 1 day`` keeps an index usable.
    """
    start = ph("start") if shape.start else None
    end = ph("end") if shape.end else None
    tz = func.coalesce(A.c.timezone, ph("tz"))
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
    after: ColumnElement[bool] | None  # keyset condition for the cursor (``cursor_key``, ``cursor_id``)


_INFINITY = cast(literal("infinity"), TIMESTAMPTZ)


def _order(shape: Shape, point: ColumnElement | None, rank: ColumnElement | None) -> _Order:
    after_id = ph("cursor_id")
    if shape.sort == "distance":
        assert point is not None
        key = A.c.location.op("<->", return_type=_FLOAT)(point)
        after = tuple_(key, A.c.id) > tuple_(ph("cursor_key", _FLOAT), after_id) if shape.cursor else None
        return _Order(key, key, [key, A.c.id], after)
    if shape.sort == "relevance":
        assert rank is not None
        after = None
        if shape.cursor:
            bound = ph("cursor_key", _FLOAT)
            after = or_(rank < bound, and_(rank == bound, A.c.id > after_id))
        return _Order(rank, rank, [rank.desc(), A.c.id], after)
    if shape.sort == "date":
        key = func.coalesce(A.c.starts_at, _INFINITY)
        after = None
        if shape.cursor:
            bound = ph("cursor_key", TIMESTAMPTZ) if shape.cursor_key else _INFINITY
            after = tuple_(key, A.c.id) > tuple_(bound, after_id)
        return _Order(key, A.c.starts_at, [key, A.c.id], after)
    # recency: newest first in the order elements were created on (or arrived at) this node. Ids follow
    # that order and the primary key serves it; a created_at sort would need its own index.
    after = A.c.id < after_id if shape.cursor else None
    return _Order(A.c.id, null(), [A.c.id.desc()], after)


def _nearest_reach(
    where: list[ColumnElement[bool]], key: ColumnElement, point: ColumnElement
) -> ColumnElement[bool]:
    """Nearest-first with an id tiebreak, served by the GiST index (``ix_actors_location``).

    ``ORDER BY location <-> point, id`` cannot be read from the index (PostgreSQL then sorts every row), while
    ``ORDER BY location <-> point LIMIT n`` is a KNN index scan. So: find the distance ``reach`` of the
    ``rows``-th (``limit + 1``) nearest hit by KNN, keep the rows within ``reach`` (``ST_DWithin`` on the
    sphere, which is what ``<->`` measures, with a hair of margin: an index range scan), and sort those by
    (distance, id). Every hit of the page is within ``reach``, so nothing is missed, ties included. Every
    condition of ``where`` is on ``actors`` (the point is ``actors.location``): both scans read no place.
    """
    knn = select(key.label("d")).where(*where).order_by(key).limit(ph("rows")).subquery()
    reach = select(func.max(knn.c.d)).scalar_subquery()
    return func.ST_DWithin(A.c.location, point, reach * 1.000001 + 1.0, False)
