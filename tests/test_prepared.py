"""``coserver.prepared``: a Core statement compiled once per shape, run on raw asyncpg with named values."""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Text, func, select

from coserver.models import Actor
from coserver.prepared import Prepared, placeholder, prepared
from tests.factories import make_person


def _by_name():
    return select(Actor.id, Actor.username).where(
        func.lower(Actor.username) == placeholder("name", Text),
        Actor.kind.in_(("person", "organization")),  # a constant IN list: expanded at compile time
        Actor.id > placeholder("above", BigInteger),
    )


async def test_compiled_once_per_key_and_run_with_named_values(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    first = prepared(("test", "by-name"), _by_name)
    assert prepared(("test", "by-name"), lambda: pytest.fail("compiled twice")) is first
    assert "$1" in first.sql and ":name" not in first.sql
    async with db.raw() as conn:
        assert [tuple(r) for r in await first.fetch(conn, name="marie", above=0)] == [(marie.id, "marie")]
        assert await first.fetchrow(conn, name="marie", above=marie.id) is None
        assert await first.fetchrow(conn, name="nobody", above=0) is None


def test_a_missing_value_is_an_error_not_a_null():
    stmt = Prepared(_by_name())
    with pytest.raises(KeyError, match="above"):
        stmt.args({"name": "marie"})
    args = stmt.args({"name": "marie", "above": 3})
    assert "marie" in args and 3 in args and "person" in args and "organization" in args


async def test_the_raw_connection_is_autocommit(db, make_settings):
    async with db.raw() as conn:
        await conn.fetch("SELECT 1")
        assert not conn.is_in_transaction()


async def test_a_connection_released_inside_a_transaction_is_rolled_back(db):
    """A request cancelled inside the search's transaction must not hand an open transaction to the next
    user of its pool connection (the raw pool has no reset round trip otherwise)."""
    async with db.raw() as conn:
        await conn.execute("BEGIN")
        await conn.execute("CREATE TEMP TABLE left_open (x int)")
    pool = await db.raw_pool()
    held = [await pool.acquire() for _ in range(pool.get_size())]
    try:
        assert not any(c.is_in_transaction() for c in held)
        left = [await c.fetchval("SELECT to_regclass('pg_temp.left_open')") for c in held]
        assert left == [None] * len(held)
    finally:
        for c in held:
            await pool.release(c)
