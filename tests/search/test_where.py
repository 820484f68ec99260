"""Where: radius at the boundary (ellipsoid), nearest-first, bbox (antimeridian, wide boxes), zones."""

from __future__ import annotations

import random

import pytest

from coserver.search.engine import search
from tests.search.territory import CENTRE, Territory, meridian_arc, north_of, params

LAT, LON = CENTRE


async def names(db, settings, **values) -> list[str]:
    async with db.session() as session:
        page = await search(session, settings, params(settings, **values))
    return [hit.name for hit in page.hits]


async def test_radius_boundary_uses_the_ellipsoid(db, settings):
    offsets = (9_900, 9_990, 10_010, 10_100, 0, 25_000)
    async with db.transaction() as s:
        t = Territory(s)
        for metres in offsets:
            await t.element("poi", f"at {metres}", lat=north_of(LAT, LON, metres)[0], lon=LON)
    # On a sphere the 9,990 m point would be ~10,033 m away: only the ellipsoid keeps it inside.
    assert await names(db, settings, lat=LAT, lon=LON, radius_km=10) == ["at 0", "at 9900", "at 9990"]
    assert await names(db, settings, lat=LAT, lon=LON, radius_km=9.9) == ["at 0", "at 9900"]
    async with db.session() as session:
        page = await search(session, settings, params(settings, lat=LAT, lon=LON, radius_km=30))
    for hit in page.hits:
        expected = meridian_arc(LAT, hit.lat)
        assert hit.distance_m == pytest.approx(expected, abs=0.01)
        assert hit.distance_m == pytest.approx(float(hit.name.split()[1]), abs=0.01)
    assert [hit.name for hit in page.hits] == [
        "at 0",
        "at 9900",
        "at 9990",
        "at 10010",
        "at 10100",
        "at 25000",
    ]


async def test_nearest_first_without_radius_and_placeless_elements(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        for metres in (3_000, 1_000, 2_000):
            await t.element("organization", f"org {metres}", lat=north_of(LAT, LON, metres)[0], lon=LON)
        await t.element("organization", "nowhere")
    assert await names(db, settings, lat=LAT, lon=LON) == ["org 1000", "org 2000", "org 3000"]
    assert "nowhere" in await names(db, settings)  # without a point, placeless elements are found


async def test_bbox_includes_inside_and_excludes_just_outside(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        await t.element("poi", "inside", lat=-21.1, lon=55.4)
        await t.element("poi", "inside corner", lat=-21.2, lon=55.3)
        await t.element("poi", "just north", lat=-20.9999, lon=55.4)
        await t.element("poi", "just west", lat=-21.1, lon=55.2999)
    found = await names(db, settings, bbox="55.3,-21.2,55.5,-21.0")
    assert sorted(found) == ["inside", "inside corner"]


async def test_bbox_crossing_the_antimeridian(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        await t.element("poi", "east of 180", lat=0.5, lon=179.9)
        await t.element("poi", "west of 180", lat=-0.5, lon=-179.9)
        await t.element("poi", "far east", lat=0, lon=170)
        await t.element("poi", "greenwich", lat=0, lon=0)
    found = await names(db, settings, bbox="179.5,-1,-179.5,1")
    assert sorted(found) == ["east of 180", "west of 180"]
    assert sorted(await names(db, settings, bbox="-180,-90,180,90")) == [
        "east of 180",
        "far east",
        "greenwich",
        "west of 180",
    ]
    assert sorted(await names(db, settings, bbox="-179.85,-1,179.85,1")) == ["far east", "greenwich"]


async def test_wide_bbox_follows_parallels_not_great_circles(db, settings):
    # The great circle from (-30, 50) to (30, 50) bulges north to ~54°: the box edge is the parallel, and
    # the index prefilter must not lose the points between the two.
    async with db.transaction() as s:
        t = Territory(s)
        await t.element("poi", "on the bottom edge", lat=50.0005, lon=0)
        await t.element("poi", "near a corner", lat=50.0005, lon=29.9)
        await t.element("poi", "below", lat=49.9995, lon=0)
        await t.element("poi", "under the top edge", lat=59.9995, lon=0.5)
    found = await names(db, settings, bbox="-30,50,30,60")
    assert sorted(found) == ["near a corner", "on the bottom edge", "under the top edge"]


async def test_bbox_agrees_with_a_plain_longitude_latitude_test(db, settings):
    rng = random.Random(5)
    points = [(rng.uniform(-89, 89), rng.uniform(-180, 180)) for _ in range(150)]
    points += [(rng.uniform(-5, 5), rng.choice((-1, 1)) * rng.uniform(175, 180)) for _ in range(30)]
    async with db.transaction() as s:
        t = Territory(s)
        for i, (lat, lon) in enumerate(points):
            await t.element("poi", f"p{i}", lat=lat, lon=lon)
    boxes = [(-180, -90, 180, 90), (170, -10, -170, 10), (-30, -60, 150, 70), (100, -89, -100, 89)]
    boxes += [(rng.uniform(-180, 180), -40, rng.uniform(-180, 180), 40) for _ in range(6)]
    for minlon, minlat, maxlon, maxlat in boxes:
        if minlon == maxlon:
            continue

        def inside(lat: float, lon: float, box=(minlon, minlat, maxlon, maxlat)) -> bool:
            w, s_, e, n = box
            in_lon = w <= lon <= e if w < e else (lon >= w or lon <= e)
            return s_ <= lat <= n and in_lon

        expected = sum(inside(lat, lon) for lat, lon in points)
        async with db.session() as session:
            page = await search(
                session, settings, params(settings, bbox=f"{minlon},{minlat},{maxlon},{maxlat}", limit=1)
            )
        assert page.total == expected, (minlon, minlat, maxlon, maxlat)


async def test_zone_containment(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        inside = await t.element("organization", "in Saint-Pierre", lat=-21.34, lon=55.48)
        event = await t.element("event", "festival in Saint-Pierre", lat=-21.33, lon=55.47, starts_at=None)
        await t.element("organization", "in Saint-Denis", lat=-20.88, lon=55.45)
        await t.zone(
            "locality",
            "97416",
            "Saint-Pierre",
            "MULTIPOLYGON(((55.4 -21.4, 55.6 -21.4, 55.6 -21.2, 55.4 -21.2, 55.4 -21.4)))",
            [inside, event],
        )
        await t.zone(
            "level1",
            "RE",
            "La Réunion",
            "MULTIPOLYGON(((55 -21.5, 56 -21.5, 56 -20.8, 55 -20.8, 55 -21.5)))",
            [],
        )
    assert sorted(await names(db, settings, zone="97416")) == ["festival in Saint-Pierre", "in Saint-Pierre"]
    assert await names(db, settings, zone="locality:97416", kinds="organization") == ["in Saint-Pierre"]
    assert await names(db, settings, zone="level4:97416") == []
    assert await names(db, settings, zone="99999") == []
