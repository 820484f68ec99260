"""Alembic: the schema goes down to base and up to head; the place index is GiST and serves distances."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from coserver import migrate
from coserver.db import Database


async def _tables(url: str) -> set[str]:
    db = Database(url, pool_size=1)
    try:
        async with db.session() as s:
            rows = await s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
            return {r[0] for r in rows}
    finally:
        await db.dispose()


async def test_downgrade_base_then_upgrade_head(database_url: str):
    assert {"actors", "accounts", "places", "links"} <= await _tables(database_url)
    await asyncio.to_thread(migrate.downgrade, database_url, "base")
    assert not ({"actors", "accounts", "places", "links"} & await _tables(database_url))
    await asyncio.to_thread(migrate.upgrade, database_url, "head")
    assert {"actors", "accounts", "places", "links"} <= await _tables(database_url)


async def test_place_index_is_gist_and_used_by_distance_queries(db: Database):
    async with db.transaction() as s:
        indexdef = await s.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_places_location'")
        )
        assert "USING gist" in indexdef
        await s.execute(
            text(
                "INSERT INTO places (location) SELECT ST_SetSRID(ST_MakePoint(55.2 + random() * 0.6,"
                " -21.4 + random() * 0.5), 4326)::geography FROM generate_series(1, 5000)"
            )
        )
        await s.execute(text("ANALYZE places"))
        point = "ST_SetSRID(ST_MakePoint(55.45, -20.88), 4326)::geography"
        within = await s.execute(
            text(f"EXPLAIN SELECT id FROM places WHERE ST_DWithin(location, {point}, 2000)")
        )
        plan = "\n".join(r[0] for r in within)
        assert "idx_places_location" in plan, plan
        nearest = await s.execute(
            text(f"EXPLAIN SELECT id FROM places ORDER BY location <-> {point} LIMIT 10")
        )
        plan = "\n".join(r[0] for r in nearest)
        assert "Index Scan using idx_places_location" in plan, plan
