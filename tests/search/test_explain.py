"""EXPLAIN the exact statements the engine sends, on 5,000 elements: which indexes serve which filters."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text

from coserver.search.agenda import agenda, agenda_params
from coserver.search.engine import reading, search
from coserver.search.statements import bind
from tests.search.territory import CENTRE, bulk_insert, params

LAT, LON = CENTRE


@pytest.fixture
async def bulk(db):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(5000))
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        # VACUUM also flushes the GIN pending lists (fastupdate): until then the text indexes look expensive.
        await conn.execute(text("VACUUM ANALYZE places"))
        await conn.execute(text("VACUUM ANALYZE actors"))


async def explain(db, settings, which: str = "hits", *, prefix: str = "EXPLAIN (COSTS OFF) ", **values):
    """The plan of the engine's statement ``which`` for ``values``, as the engine runs it (same text, same
    arguments, same settings)."""
    sql, args = bind(settings, params(settings, **values)).sql(which)
    async with db.raw() as conn, reading(conn) as c:
        rows = await c.fetch(prefix + sql, *args)
    return "\n".join(row[0] for row in rows)


def _uses_location_index(plan: str) -> bool:
    """``ix_actors_location`` (not ``ix_actors_location_span``) serves a scan of ``plan``."""
    return re.search(r"ix_actors_location\b", plan) is not None


def _places_by_key_only(plan: str) -> None:
    """Places are read by primary key (the page's rows), never through their GiST index nor scanned."""
    assert "idx_places_location" not in plan, plan
    assert "Seq Scan on places" not in plan and "Bitmap Heap Scan on places" not in plan, plan
    for line in plan.splitlines():
        if " on places" in line:
            assert "using pk_places on places" in line, plan


async def test_radius_uses_the_actor_location_index(db, settings, bulk):
    plan = await explain(db, settings, lat=LAT, lon=LON, radius_km=5, kinds="event")
    assert _uses_location_index(plan), plan
    assert "Seq Scan on actors" not in plan, plan
    _places_by_key_only(plan)


async def test_nearest_first_is_a_knn_scan_of_the_actor_location_index(db, settings, bulk):
    plan = await explain(db, settings, lat=LAT, lon=LON)
    assert "Index Scan using ix_actors_location on actors" in plan, plan
    assert "Order By: (location <-> " in plan, plan
    assert "Seq Scan on actors" not in plan, plan
    _places_by_key_only(plan)
    plan = await explain(db, settings, lat=LAT, lon=LON, radius_km=5, kinds="event", sort="distance")
    assert _uses_location_index(plan), plan
    _places_by_key_only(plan)


async def test_text_uses_the_full_text_index(db, settings, bulk):
    plan = await explain(db, settings, q="ressourceries")  # 10 rows in 5,000: French stem
    assert "Bitmap Index Scan on ix_actors_search_vector" in plan, plan
    plan = await explain(db, settings, q="ressourcerie", lat=LAT, lon=LON, radius_km=20, sort="relevance")
    assert "Bitmap Index Scan on ix_actors_search_vector" in plan, plan
    plan = await explain(db, settings, q="resourcerie")  # typo
    assert "Bitmap Index Scan on ix_actors_search_vector" in plan, plan
    assert "ix_actors_name_folded_trgm" in plan, plan


async def test_bbox_uses_the_actor_location_index(db, settings, bulk):
    box = f"{LON - 0.05},{LAT - 0.05},{LON + 0.05},{LAT + 0.05}"
    for sort in ("recency", "date"):
        plan = await explain(db, settings, bbox=box, sort=sort)
        assert _uses_location_index(plan), plan
        assert "Seq Scan on actors" not in plan, plan
        _places_by_key_only(plan)


async def test_recency_walk_reads_actors_then_the_pages_places(db, settings, bulk):
    box = f"{LON - 0.05},{LAT - 0.05},{LON + 0.05},{LAT + 0.05}"
    plan = await explain(db, settings, "walk", bbox=box, sort="recency")
    assert "Index Scan Backward using pk_actors on actors" in plan, plan
    _places_by_key_only(plan)


async def test_facets_of_a_located_query_read_actors_alone(db, settings, bulk):
    plan = await explain(db, settings, "facets", lat=LAT, lon=LON, radius_km=3)
    assert _uses_location_index(plan) and "places" not in plan, plan
    plan = await explain(db, settings, "facets", bbox=f"{LON - 0.05},{LAT - 0.05},{LON + 0.05},{LAT + 0.05}")
    assert "places" not in plan, plan


async def test_bulk_results_are_consistent(db, settings, bulk):
    async with db.session() as session:
        page = await search(session, settings, params(settings, lat=LAT, lon=LON, radius_km=10, limit=100))
    assert page.hits and all(hit.distance_m <= 10_000 for hit in page.hits)
    assert sum(page.counts.values()) >= len(page.hits)


async def explain_json(db, settings, **values) -> dict:
    """The plan of the hits statement as the engine sends it, with the planner's estimates and actual rows."""
    sql, args = bind(settings, params(settings, **values)).sql("hits")
    async with db.raw() as conn, reading(conn) as c:
        value = await c.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
    return (json.loads(value) if isinstance(value, str) else value)[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


async def test_every_run_of_a_shape_is_planned_for_its_own_values(db, settings, bulk):
    """The box is a placeholder of a statement compiled once per shape (one SQL text, prepared once per
    connection); the engine's settings (``force_custom_plan``) keep PostgreSQL from switching to one
    generic plan for every place after five runs: every run is planned with its own values."""
    boxes = [f"{LON - d},{LAT - d},{LON + d},{LAT + d}" for d in (0.01 * i for i in range(1, 11))]
    queries = [params(settings, bbox=box, sort="date") for box in boxes]  # no walk: the hits run each time
    bound = [bind(settings, query) for query in queries]
    texts = {b.sql("hits")[0] for b in bound}
    assert len(texts) == 1  # one shape, one SQL text, ten sets of values
    plans = "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1"
    async with db.raw() as conn:
        for query, b in zip(queries, bound, strict=True):
            await search(conn, settings, query, bound=b, with_counts=False)
        assert tuple(await conn.fetchrow(plans, texts.pop())) == (0, 10)
        sql, args = bound[0].sql("facets")
        for _ in range(10):  # without the settings, a generic plan is soon chosen (the test's control)
            await conn.fetch(sql, *args)
        generic, custom = await conn.fetchrow(plans, sql)
    assert generic > 0 and custom == 5


async def test_a_dense_box_is_estimated_close_to_its_size(db, settings, bulk):
    """The exact box test is unestimated (CASE): the planner sees the box's thousands of elements, not one,
    and pages by recency instead of sorting every element of a town."""
    plan = await explain_json(db, settings, bbox=f"{LON - 0.3},{LAT - 0.3},{LON + 0.3},{LAT + 0.3}")
    scans = [n for n in nodes(plan) if n.get("Relation Name") == "actors"]
    assert scans, plan
    for scan in scans:
        if scan["Actual Rows"] * scan.get("Actual Loops", 1) > 100:
            assert scan["Plan Rows"] * 10 >= scan["Actual Rows"], scan


async def test_radius_estimate_is_not_one_place(db, settings, bulk):
    plan = await explain_json(db, settings, lat=LAT, lon=LON, radius_km=20, sort="recency")
    scans = [n for n in nodes(plan) if n.get("Relation Name") == "actors" and n["Actual Rows"] > 100]
    assert all(n["Plan Rows"] * 10 >= n["Actual Rows"] for n in scans), plan


async def _plan_without_seqscan(db, settings, which: str, query) -> str:
    sql, args = bind(settings, query).sql(which)
    async with db.raw() as conn, reading(conn) as c:
        await c.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in await c.fetch("EXPLAIN (COSTS OFF) " + sql, *args))


async def test_agenda_window_uses_the_span_index(db, settings, bulk):
    agenda = agenda_params(params(settings), settings)
    plan = await _plan_without_seqscan(db, settings, "hits", agenda)
    # Either GiST over the span serves a window alone (the place+time one through its second column).
    assert "Index Scan on ix_actors_span" in plan or "Index Scan on ix_actors_location_span" in plan, plan
    assert "tstzrange(starts_at" in plan.split("Index Cond", 1)[1], plan


def _index_cond(plan: str, index: str) -> str:
    lines = plan.splitlines()
    at = next(i for i, line in enumerate(lines) if f"Scan on {index}" in line or f"using {index}" in line)
    return lines[at + 1]


async def test_agenda_window_and_radius_use_the_place_time_index(db, settings, bulk):
    """Point and span tested in one scan of ``ix_actors_location_span``; no place read from its GiST."""
    agenda = agenda_params(params(settings, lat=LAT, lon=LON, radius_km=10), settings)
    for which in ("hits", "facets"):
        plan = await _plan_without_seqscan(db, settings, which, agenda)
        assert "ix_actors_location_span" in plan, plan
        cond = _index_cond(plan, "ix_actors_location_span")
        assert "Index Cond" in cond and "location && " in cond and "tstzrange(starts_at" in cond, plan
        assert "idx_places_location" not in plan and "ix_actors_span " not in plan, plan


async def test_agenda_window_and_bbox_use_the_place_time_index(db, settings, bulk):
    box = f"{LON - 0.05},{LAT - 0.05},{LON + 0.05},{LAT + 0.05}"
    agenda = agenda_params(params(settings, bbox=box), settings)
    plan = await _plan_without_seqscan(db, settings, "hits", agenda)
    cond = _index_cond(plan, "ix_actors_location_span")
    assert "location && " in cond and "tstzrange(starts_at" in cond, plan
    assert "idx_places_location" not in plan, plan


async def test_agenda_window_and_radius_match_the_place_tests(db, settings, bulk):
    """Through the copied point or through the place's own: the same events, in the same order."""
    agenda_args = dict(lat=LAT, lon=LON, radius_km=40, limit=100)
    async with db.session() as s:
        page = await agenda(s, settings, params(settings, **agenda_args))
        window = agenda_params(params(settings, **agenda_args), settings)
        rows = await s.execute(
            text(
                "SELECT a.id FROM actors a JOIN places p ON p.id = a.place_id"
                " WHERE a.kind = 'event' AND a.deleted_at IS NULL"
                " AND ST_DWithin(p.location, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 40000)"
                " AND a.starts_at < :end AND COALESCE(a.ends_at, a.starts_at) > :start"
                " ORDER BY a.starts_at, a.id"
            ),
            {"lat": LAT, "lon": LON, "start": window.start, "end": window.end},
        )
    expected = [r[0] for r in rows]
    assert len(expected) > 10
    assert [hit.id for hit in page.hits] == expected[:100]
