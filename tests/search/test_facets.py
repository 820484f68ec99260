"""Facet counts of located queries: a nearest-first walk of the places, honest about where it stopped."""

from __future__ import annotations

from coserver.search.engine import FACET_CAP, FACET_WALK, search
from tests.search.territory import CENTRE, bulk_insert, params

LAT, LON = CENTRE


async def run(db, settings, **values):
    async with db.session() as session:
        return await search(session, settings, params(settings, **values))


async def test_radius_counts_are_exact_below_the_cap(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(40, kinds=("poi", "event"), spread=0.02))
        await s.execute(*bulk_insert(30, kinds=("project",), centre=(LAT + 1.0, LON), spread=0.02))
    page = await run(db, settings, lat=LAT, lon=LON, radius_km=10, kinds="event")
    assert page.counts == {"person": 0, "organization": 0, "project": 0, "event": 20, "poi": 20}
    assert not page.counts_capped and page.total == 20 == len(page.hits)
    west, south, east, north = LON - 0.5, LAT + 0.5, LON + 0.5, LAT + 1.5
    page = await run(db, settings, bbox=f"{west},{south},{east},{north}")
    assert page.counts["project"] == 30 and page.counts["poi"] == 0
    assert not page.counts_capped and page.total == 30


async def test_radius_counts_are_capped_at_a_full_sample(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(FACET_CAP + 5, kinds=("poi",), spread=0.02))
    page = await run(db, settings, lat=LAT, lon=LON, radius_km=10, limit=1)
    assert page.counts_capped and page.total is None and page.counts["poi"] == FACET_CAP
    page = await run(db, settings, bbox=f"{LON - 0.1},{LAT - 0.1},{LON + 0.1},{LAT + 0.1}", limit=1)
    assert page.counts_capped and page.total is None and page.counts["poi"] == FACET_CAP


async def test_a_walk_stopped_inside_the_radius_gives_lower_bounds(db, settings):
    # FACET_WALK places within the radius, one element in 500 named "Ressourcerie": a sample far from full,
    # but the walk stopped before the radius's edge, so the counts cannot claim to be exact.
    async with db.transaction() as s:
        await s.execute(*bulk_insert(FACET_WALK + 10, kinds=("poi",), spread=0.02))
    page = await run(db, settings, q="ressourcerie", lat=LAT, lon=LON, radius_km=10)
    assert 0 < page.counts["poi"] < FACET_CAP
    assert page.counts_capped and page.total is None
    box = f"{LON - 0.1},{LAT - 0.1},{LON + 0.1},{LAT + 0.1}"
    page = await run(db, settings, q="ressourcerie", bbox=box)
    assert page.counts_capped and page.total is None
    # Far enough away, the walk reaches beyond the small radius before it stops: exact counts.
    page = await run(db, settings, q="ressourcerie", lat=LAT + 0.5, lon=LON, radius_km=1)
    assert page.counts["poi"] == 0 and not page.counts_capped and page.total == 0
