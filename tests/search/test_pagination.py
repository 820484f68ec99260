"""Keyset pagination over 45 elements with many ties: no duplicates, no gaps, same order as one big page."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from coserver.search.cursor import decode_cursor
from coserver.search.engine import search
from tests.search.territory import CENTRE, Territory, north_of, params

LAT, LON = CENTRE
BASE = datetime(2026, 12, 5, 10, tzinfo=UTC)


@pytest.fixture
async def crowd(db, settings):
    """45 elements: 3 per place (distance ties), 5 names (rank ties), dates and creation times in groups."""
    async with db.transaction() as s:
        t = Territory(s)
        places = [await t.place(*north_of(LAT, LON, 500 * (i % 8))) for i in range(15)]  # equal points too
        for i in range(45):
            kind = ("event", "organization", "project")[i % 3]
            dated = kind != "organization"
            await t.element(
                kind,
                ("Jardin partagé", "Jardin des plantes", "Atelier jardin", "Jardin", "Le jardin du lagon")[
                    i % 5
                ],
                place=places[i % 15],
                starts_at=BASE + timedelta(days=i % 4) if dated else None,
                ends_at=BASE + timedelta(days=i % 4, hours=2) if dated else None,
                created_at=BASE - timedelta(hours=i % 6),
            )


async def all_pages(db, settings, **values) -> tuple[list[int], list[int]]:
    """(ids page by page with limit 10, ids of one page with limit 100)."""
    query = params(settings, limit=10, **values)
    seen: list[int] = []
    sizes: list[int] = []
    async with db.session() as session:
        while True:
            page = await search(session, settings, query)
            seen.extend(hit.id for hit in page.hits)
            sizes.append(len(page.hits))
            if page.next_cursor is None:
                break
            query = replace(query, cursor=decode_cursor(page.next_cursor, query.sort))
            assert len(sizes) < 10
        big = await search(session, settings, params(settings, limit=100, **values))
    assert sizes == [10, 10, 10, 10, 5]
    return seen, [hit.id for hit in big.hits]


@pytest.mark.parametrize(
    "query",
    [
        {"lat": LAT, "lon": LON},  # distance, without a radius (KNN reach)
        {"lat": LAT, "lon": LON, "radius_km": 50},
        {"q": "jardin"},  # relevance
        {"q": "jardin", "lat": LAT, "lon": LON, "sort": "relevance"},
        {"sort": "date"},
        {"sort": "recency"},
    ],
)
async def test_pages_have_no_duplicates_or_gaps(db, settings, crowd, query):
    paged, big = await all_pages(db, settings, **query)
    assert len(set(paged)) == 45
    assert paged == big


async def test_date_window_pages(db, settings, crowd):
    """The 15 organizations have no dates: a window pages through the 30 others (limit 7, ragged end)."""
    query = params(settings, limit=7, sort="date", from_="2026-12-01", to="2026-12-31", lat=LAT, lon=LON)
    seen: list[int] = []
    async with db.session() as session:
        while True:
            page = await search(session, settings, query)
            seen.extend(hit.id for hit in page.hits)
            if page.next_cursor is None:
                break
            query = replace(query, cursor=decode_cursor(page.next_cursor, "date"))
        big = await search(session, settings, replace(query, cursor=None, limit=100))
    assert len(seen) == len(set(seen)) == 30
    assert seen == [hit.id for hit in big.hits]
    starts = [hit.starts_at for hit in big.hits]
    assert starts == sorted(starts)


async def test_sort_orders(db, settings, crowd):
    async with db.session() as session:
        nearest = (await search(session, settings, params(settings, lat=LAT, lon=LON, limit=100))).hits
        recent = (await search(session, settings, params(settings, limit=100))).hits
        dated = (await search(session, settings, params(settings, sort="date", limit=100))).hits
    distances = [hit.distance_m for hit in nearest]
    assert distances == sorted(distances) and distances[0] == pytest.approx(0, abs=1e-6)
    assert [hit.id for hit in recent] == sorted((hit.id for hit in recent), reverse=True)  # newest first
    assert [hit.starts_at is None for hit in dated] == [False] * 30 + [True] * 15  # undated last


@pytest.fixture
def pool_of_20(monkeypatch):
    """Relevance ranks a pool of 20: the statements compiled with it are dropped before and after."""
    import coserver.search.statements as statements

    monkeypatch.setattr(statements, "RELEVANCE_POOL", 20)
    statements.compiled.cache_clear()
    yield
    statements.compiled.cache_clear()


async def test_relevance_ranks_a_bounded_pool_of_the_newest_matches(db, settings, crowd, pool_of_20):
    query = params(settings, q="jardin", limit=8)
    seen: list[int] = []
    async with db.session() as session:
        while True:
            page = await search(session, settings, query)
            seen.extend(hit.id for hit in page.hits)
            if page.next_cursor is None:
                break
            query = replace(query, cursor=decode_cursor(page.next_cursor, "relevance"))
        everything = await search(session, settings, params(settings, limit=100))
    newest = sorted((hit.id for hit in everything.hits), reverse=True)[:20]
    assert len(seen) == 20 and set(seen) == set(newest)
