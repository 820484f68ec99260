"""The indexes of migration 0007 serve the statements the code sends (predicates written as the code writes
them): local username look-ups, and the live page walking ``ix_posts_live`` index-only."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql

from coserver.models import Actor
from coserver.services import timelines
from coserver.services.posting import post_on_wall
from tests.factories import make_element, make_person


class _Capture:
    def __init__(self) -> None:
        self.stmt = None

    async def scalars(self, stmt):
        self.stmt = stmt
        return []


async def _plan(session, stmt) -> str:
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    await session.execute(text("SET LOCAL enable_seqscan = off"))  # index usable at all, whatever the size
    return "\n".join(r[0] for r in await session.execute(text("EXPLAIN " + sql)))


async def test_local_username_lookup_uses_the_unique_index(db, make_settings):
    settings = make_settings(database_url=db.url)
    await make_person(db, settings, "marie")
    stmt = select(Actor.id).where(Actor.local.is_(True), func.lower(Actor.username) == "marie")
    async with db.transaction() as s:
        assert "uq_actors_local_username" in await _plan(s, stmt)


async def test_live_page_walks_the_live_index_only_and_pages_alike(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    org = await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48)
    capture = _Capture()
    await timelines.live(capture, lat=-21.34, lon=55.48, radius_km=10, limit=20)
    async with db.transaction() as s:
        plan = await _plan(s, capture.stmt)
    assert "Index Only Scan using ix_posts_live" in plan
    assert "ix_actors_place_wall" in plan

    async with db.transaction() as s:
        author, wall = await s.get(Actor, marie.id), await s.get(Actor, org.id)
        ids = [(await post_on_wall(s, settings, author, wall, f"Note {n}")).id for n in range(5)]
    async with db.session() as s:
        first = await timelines.live(s, lat=-21.34, lon=55.48, radius_km=10, limit=3)
        assert [p.id for p in first.posts] == ids[::-1][:3]
        rest = await timelines.live(s, lat=-21.34, lon=55.48, radius_km=10, before=first.next_before, limit=3)
        assert [p.id for p in rest.posts] == ids[::-1][3:] and rest.next_before is None
