"""Migration 0009 (``actors.location``, its triggers and ``ix_actors_location_span``): down to 0008 removes
every piece; up again backfills the actors already there and the triggers work."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from coserver import migrate
from coserver.db import Database

_PIECES = """
SELECT
  (SELECT count(*) FROM information_schema.columns WHERE table_name = 'actors' AND column_name = 'location'),
  (SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_actors_location_span'),
  (SELECT count(*) FROM pg_trigger WHERE tgname IN ('actors_location', 'places_location')),
  (SELECT count(*) FROM pg_proc WHERE proname IN ('co_actor_location', 'co_place_location'))
"""


async def _run(url: str, sql: str, values: dict | None = None):
    db = Database(url, pool_size=1)
    try:
        async with db.transaction() as s:
            result = await s.execute(text(sql), values or {})
            return result.all() if result.returns_rows else []
    finally:
        await db.dispose()


async def test_downgrade_to_0008_then_upgrade_backfills(database_url: str):
    assert (await _run(database_url, _PIECES))[0] == (1, 1, 2, 2)
    await asyncio.to_thread(migrate.downgrade, database_url, "0008")
    assert (await _run(database_url, _PIECES))[0] == (0, 0, 0, 0)
    await _run(
        database_url,
        "WITH p AS (INSERT INTO places (location)"
        " VALUES (ST_SetSRID(ST_MakePoint(55.5, -21), 4326)) RETURNING id)"
        " INSERT INTO actors (ap_id, kind, local, username, place_id, starts_at)"
        " SELECT 'http://x/old', 'event', true, 'old', id, now() FROM p",
    )
    await asyncio.to_thread(migrate.upgrade, database_url, "head")
    assert (await _run(database_url, _PIECES))[0] == (1, 1, 2, 2)
    rows = await _run(database_url, "SELECT ST_AsText(location) FROM actors WHERE username = 'old'")
    assert rows == [("POINT(55.5 -21)",)]
    await _run(database_url, "UPDATE places SET location = ST_SetSRID(ST_MakePoint(55.6, -21.1), 4326)")
    rows = await _run(database_url, "SELECT ST_AsText(location) FROM actors WHERE username = 'old'")
    assert rows == [("POINT(55.6 -21.1)",)]
