"""Located queries filter on ``actors.location`` (the place's point copied by triggers): every page gives
the rows, order and distances that plain SQL on ``places.location`` gives, hidden places and text
queries included, page after page."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text

from coserver.search.cursor import decode_cursor
from coserver.search.engine import search
from tests.search.territory import CENTRE, Territory, bulk_insert, params

LAT, LON = CENTRE
BOX = (LON - 0.06, LAT - 0.05, LON + 0.07, LAT + 0.04)

# What anyone may find near a point, on places.location, written independently of the engine.
_PLAIN = """
SELECT a.id, ST_Distance(p.location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS d,
       p.location <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS knn
FROM actors a JOIN places p ON p.id = a.place_id
WHERE a.deleted_at IS NULL AND a.local AND a.kind <> 'application' AND NOT a.is_private AND a.discoverable
  AND p.location IS NOT NULL
  AND (a.kind <> 'person' OR COALESCE(a.field_visibility ->> 'place', 'public') = 'public')
  AND {where}
"""
_RADIUS = "ST_DWithin(p.location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)"
_BOX = (
    "ST_X(p.location::geometry) BETWEEN :minlon AND :maxlon"
    " AND ST_Y(p.location::geometry) BETWEEN :minlat AND :maxlat"
)


async def every_page(db, settings, **values) -> list:
    """Every hit of a query through ``search``, page after page."""
    p, hits = params(settings, **values), []
    async with db.session() as session:
        while True:
            page = await search(session, settings, p, with_counts=False)
            hits += page.hits
            if page.next_cursor is None:
                return hits
            p = replace(p, cursor=decode_cursor(page.next_cursor, p.sort))


async def plain(db, where: str, order: str, **values) -> list:
    async with db.session() as session:
        rows = await session.execute(text(_PLAIN.format(where=where) + " ORDER BY " + order), values)
    return list(rows.all())


@pytest.fixture
async def area(db):
    """1,500 elements around the centre, a person who hides her place and one who shows it there."""
    async with db.transaction() as s:
        await s.execute(*bulk_insert(1500, spread=0.2))
        t = Territory(s)
        hidden = await t.element("person", "Hidden", lat=LAT, lon=LON, field_visibility={"place": "private"})
        shown = await t.element("person", "Shown", lat=LAT, lon=LON + 0.0001)
        await t.element("organization", "Potager Zéphyrine du port", lat=LAT + 0.01, lon=LON)
        await t.element("project", "Atelier Zéphyrine", lat=LAT - 0.02, lon=LON + 0.01)
    return hidden.id, shown.id


async def test_radius_nearest_first_matches_places(db, settings, area):
    hidden, shown = area
    hits = await every_page(db, settings, lat=LAT, lon=LON, radius_km=4, sort="distance", limit=37)
    rows = await plain(db, _RADIUS, "knn, a.id", lat=LAT, lon=LON, metres=4000.0)
    assert len(rows) > 100
    assert [h.id for h in hits] == [r.id for r in rows]
    assert [h.distance_m for h in hits] == [r.d for r in rows]
    assert shown in [h.id for h in hits] and hidden not in [h.id for h in hits]


async def test_radius_and_box_in_recency_and_date_order_match_places(db, settings, area):
    hits = await every_page(db, settings, lat=LAT, lon=LON, radius_km=3, sort="recency", limit=50)
    rows = await plain(db, _RADIUS, "a.id DESC", lat=LAT, lon=LON, metres=3000.0)
    assert len(rows) > 50 and [h.id for h in hits] == [r.id for r in rows]
    assert [h.distance_m for h in hits] == [r.d for r in rows]
    minlon, minlat, maxlon, maxlat = BOX
    box = {"minlon": minlon, "minlat": minlat, "maxlon": maxlon, "maxlat": maxlat, "lat": LAT, "lon": LON}
    hits = await every_page(db, settings, bbox=",".join(map(str, BOX)), sort="recency", limit=40)
    rows = await plain(db, _BOX, "a.id DESC", **box)
    assert len(rows) > 40 and [h.id for h in hits] == [r.id for r in rows]
    hits = await every_page(db, settings, bbox=",".join(map(str, BOX)), sort="date", limit=40)
    async with db.session() as session:
        dated = await session.execute(
            text(
                "SELECT a.id FROM actors a JOIN places p ON p.id = a.place_id WHERE a.id = ANY(:ids)"
                " ORDER BY COALESCE(a.starts_at, 'infinity'), a.id"
            ),
            {"ids": [r.id for r in rows]},
        )
    assert [h.id for h in hits] == [r[0] for r in dated]


async def test_text_with_a_radius_in_every_order_matches_places(db, settings, area):
    where = _RADIUS + " AND a.name ILIKE '%phyrine%'"
    rows = await plain(db, where, "knn, a.id", lat=LAT, lon=LON, metres=5000.0)
    assert len(rows) == 2
    near = {"q": "zephyrine", "lat": LAT, "lon": LON, "radius_km": 5, "limit": 1}
    for sort in ("distance", "recency", "relevance"):
        hits = await every_page(db, settings, sort=sort, **near)
        expected = [r.id for r in rows]
        assert sorted(h.id for h in hits) == sorted(expected), sort
        assert all(h.rank is not None and h.distance_m is not None for h in hits), sort
        if sort == "distance":
            assert [h.id for h in hits] == expected
        if sort == "recency":
            assert [h.id for h in hits] == sorted(expected, reverse=True)
