"""Migration 0011 (``ix_actors_location``, GiST over ``actors.location``): down removes the index, up again
builds it, partial (actors without a place are not in it)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from coserver import migrate
from coserver.db import Database

_INDEX = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_actors_location'"


async def _rows(url: str, sql: str) -> list:
    db = Database(url, pool_size=1)
    try:
        async with db.session() as s:
            return list((await s.execute(text(sql))).all())
    finally:
        await db.dispose()


async def test_downgrade_drops_the_index_and_upgrade_builds_it(database_url: str):
    [(definition,)] = await _rows(database_url, _INDEX)
    assert "USING gist (location)" in definition and "WHERE (location IS NOT NULL)" in definition
    await asyncio.to_thread(migrate.downgrade, database_url, "0009")
    assert await _rows(database_url, _INDEX) == []
    await asyncio.to_thread(migrate.upgrade, database_url, "head")
    assert len(await _rows(database_url, _INDEX)) == 1
