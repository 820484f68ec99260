"""Facet counts from a complete first page, the recency walk of a located query (dense and sparse areas)
and the agenda's total: each shortcut gives what the full statements give."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from coserver.search.agenda import agenda
from coserver.search.cursor import decode_cursor
from coserver.search.engine import (
    FACET_CAP,
    NO_BITMAP,
    RECENCY_WALK,
    facet_counts,
    probed_counts,
    reading,
    search,
)
from coserver.search.statements import bind
from tests.search.territory import CENTRE, Territory, bulk_insert, params

LAT, LON = CENTRE
FAR = (-20.0, 57.5)  # Mauritius: 230 km from the bulk


async def walk_everything(db, settings, **values) -> list[int]:
    """Ids of every hit of a query, page after page (through ``search``)."""
    p, ids = params(settings, **values), []
    async with db.session() as session:
        while True:
            page = await search(session, settings, p, with_counts=False)
            ids += [hit.id for hit in page.hits]
            if page.next_cursor is None:
                return ids
            p = replace(p, cursor=decode_cursor(page.next_cursor, p.sort))


async def full_statement_ids(db, settings, **values) -> list[int]:
    """Ids of every hit, from the full hits statement alone (no walk), in one page of 100."""
    sql, args = bind(settings, params(settings, **values)).sql("hits")
    async with db.raw() as conn, reading(conn) as c:
        rows = await c.fetch(sql, *args)
    return [row["id"] for row in rows]


async def test_a_complete_first_page_is_counted_from_its_hits(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        for kind in ("person", "organization", "organization", "event", "poi"):
            await t.element(kind, f"Jardin {kind}", lat=LAT, lon=LON)
    p = params(settings, q="jardin")
    async with db.session() as session:
        page = await search(session, settings, p)
        counted = await facet_counts(session, settings, p)  # the facets statement itself
    assert (
        page.counts == counted.counts == {"person": 1, "organization": 2, "project": 0, "event": 1, "poi": 1}
    )
    assert page.total == counted.total == 5 and not page.counts_capped
    async with db.session() as session:  # with kinds: the other kinds come from the facets statement
        page = await search(session, settings, params(settings, q="jardin", kinds="event"))
    assert [hit.kind for hit in page.hits] == ["event"] and page.counts["organization"] == 2
    assert page.total == 1


async def test_counts_beyond_the_cap_are_flagged_lower_bounds(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(FACET_CAP + 50, kinds=("poi", "event")))
    async with db.session() as session:
        page = await search(session, settings, params(settings, lat=LAT, lon=LON, radius_km=100, limit=5))
    assert page.counts_capped and page.total is None
    assert page.counts["poi"] + page.counts["event"] > FACET_CAP >= max(page.counts.values())


async def test_recency_walk_in_a_dense_area_gives_the_full_statements_pages(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(1500, spread=0.2))
    box = f"{LON - 0.05},{LAT - 0.05},{LON + 0.05},{LAT + 0.05}"
    walked = await walk_everything(db, settings, bbox=box, sort="recency", limit=25)
    full = await full_statement_ids(db, settings, bbox=box, sort="recency", limit=100)
    assert len(full) > 25 and walked[: len(full)] == full[: len(walked)]
    assert walked == sorted(walked, reverse=True) and len(set(walked)) == len(walked)
    radius = await walk_everything(db, settings, lat=LAT, lon=LON, radius_km=3, sort="recency", limit=10)
    assert (
        radius[:10]
        == (await full_statement_ids(db, settings, lat=LAT, lon=LON, radius_km=3, sort="recency"))[:10]
    )


async def test_recency_walk_falls_back_in_a_sparse_area(db, settings):
    """Elements of a remote area older than the walk's RECENCY_WALK newest ones are still found, in order."""
    async with db.transaction() as s:
        t = Territory(s)
        old = [
            (await t.element("organization", f"Far {i}", lat=FAR[0], lon=FAR[1] + i * 0.001)).id
            for i in range(3)
        ]
        await s.execute(*bulk_insert(RECENCY_WALK + 100, spread=0.5))  # newer, elsewhere
    box = f"{FAR[1] - 0.1},{FAR[0] - 0.1},{FAR[1] + 0.1},{FAR[0] + 0.1}"
    assert await walk_everything(db, settings, bbox=box, sort="recency", limit=2) == old[::-1]
    async with db.session() as session:
        page = await search(session, settings, params(settings, bbox=box, sort="recency"))
    assert page.total == 3 and page.counts["organization"] == 3


async def test_agenda_total_with_one_page_and_with_several(db, settings):
    today, week = date(2026, 12, 7), {"from_": "2026-12-07", "to": "2026-12-13"}
    start = datetime(2026, 12, 8, 10, tzinfo=UTC)
    async with db.transaction() as s:
        t = Territory(s)
        for i in range(12):
            await t.element("event", f"Fête {i}", lat=LAT, lon=LON, starts_at=start + timedelta(hours=i))
        await t.element("event", "Next month", lat=LAT, lon=LON, starts_at=start + timedelta(days=40))
    async with db.session() as session:
        whole = await agenda(
            session, settings, params(settings, "agenda", lat=LAT, lon=LON, **week), today=today
        )
        paged = await agenda(session, settings, params(settings, "agenda", limit=5, **week), today=today)
        second = await agenda(
            session,
            settings,
            params(settings, "agenda", limit=5, cursor=paged.next_cursor, **week),
            today=today,
        )
    assert len(whole.hits) == whole.total == 12 and whole.next_cursor is None
    assert len(paged.hits) == 5 and paged.total == 12 and paged.next_cursor is not None
    assert second.total == 12 and [h.name for h in second.hits] == [f"Fête {i}" for i in range(5, 10)]


async def _kinds_of_every_hit(db, settings, **values) -> dict[str, int]:
    p, found = params(settings, **values), {}
    async with db.session() as session:
        while True:
            page = await search(session, settings, p, with_counts=False)
            for hit in page.hits:
                found[hit.kind] = found.get(hit.kind, 0) + 1
            if page.next_cursor is None:
                return found
            p = replace(p, cursor=decode_cursor(page.next_cursor, p.sort))


async def test_a_located_text_query_probes_the_area_before_the_text_indexes(db, settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(1500, spread=0.2))  # 1 in 5 named "Jardin", 1 in 500 "Ressourcerie"
        t = Territory(s)
        for kind in ("organization", "organization", "event"):
            await t.element(kind, f"Jardin {kind}", lat=FAR[0], lon=FAR[1])
    cases = {
        "common words, dense area: lower bounds": dict(q="jardin or atelier", lat=LAT, lon=LON, radius_km=50),
        "rare word, dense area: the text's indexes": dict(q="ressourcerie", lat=LAT, lon=LON, radius_km=50),
        "sparse area: exhausted, exact": dict(q="jardin", lat=FAR[0], lon=FAR[1], radius_km=5),
    }
    settled = {}
    for name, values in cases.items():
        p = params(settings, limit=5, **values)
        probe = bind(settings, p).sql("probe")
        assert probe is not None
        async with db.raw() as conn:
            async with reading(conn) as c:
                await c.execute(NO_BITMAP)
                settled[name] = probed_counts(await c.fetch(probe[0], *probe[1]), p)
            counted = await facet_counts(conn, settings, p)
        true = {k: n for k, n in (await _kinds_of_every_hit(db, settings, **values)).items()}
        if counted.capped:
            assert sum(counted.counts.values()) > FACET_CAP
            assert all(counted.counts[k] <= true.get(k, 0) for k in counted.counts), name
        else:
            assert {k: n for k, n in counted.counts.items() if n} == true, name
            assert counted.total == sum(true.values())
    common, rare, sparse = settled.values()
    assert common is not None and common.capped
    assert rare is None  # fell back to the sample through the text's indexes: exact
    assert sparse is not None and not sparse.capped and sparse.counts["organization"] == 2
