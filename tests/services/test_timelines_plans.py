"""The indexes of migrations 0007 and 0008 serve the statements the code sends (predicates written as the code
writes them): local username look-ups; the live page reading each wall's newest posts when its area holds
few walls, walking ``ix_posts_live`` index-only when it holds many (decided at run time, whatever the
planner's estimate), and posts tied to a place apart (``ix_posts_placed_live``)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from coserver.models import Actor
from coserver.services import timelines
from coserver.services.posting import post_on_wall
from tests.factories import make_element, make_person
from tests.search.territory import bulk_insert


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


async def _analyze(session, stmt) -> str:
    """EXPLAIN ANALYZE of ``stmt`` as planned for its values: which parts ran, which never did."""
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return "\n".join(r[0] for r in await session.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql)))


def _line(plan: str, needle: str) -> str:
    lines = [line for line in plan.splitlines() if needle in line]
    assert len(lines) == 1, plan
    return lines[0]


async def _live_statement(**kwargs):
    capture = _Capture()
    await timelines.live(capture, **kwargs)
    return capture.stmt


async def test_live_page_of_a_sparse_area_reads_each_walls_newest_posts(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    org = await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48)
    async with db.transaction() as s:
        author, wall = await s.get(Actor, marie.id), await s.get(Actor, org.id)
        ids = [(await post_on_wall(s, settings, author, wall, f"Note {n}")).id for n in range(3)]
    stmt = await _live_statement(lat=-21.34, lon=55.48, radius_km=10, limit=20)
    async with db.transaction() as s:
        plan = await _analyze(s, stmt)
    assert "never executed" not in _line(plan, "Index Only Scan using ix_posts_wall_live"), plan
    assert "never executed" in _line(plan, "Index Only Scan using ix_posts_live"), plan
    assert "ix_posts_placed_live" in plan, plan  # posts tied to a place in the area: a part of their own
    # 'public' is written into the statement: a generic prepared plan still matches the partial indexes.
    sql = str(stmt.compile(dialect=asyncpg_dialect(), compile_kwargs={"render_postcompile": True}))
    assert "posts.scope = 'public'" in sql
    async with db.session() as s:
        page = await timelines.live(s, lat=-21.34, lon=55.48, radius_km=10, limit=2)
        assert [p.id for p in page.posts] == ids[::-1][:2] and page.next_before == ids[1]


async def test_live_page_of_a_dense_area_walks_the_newest_posts_and_pages_alike(db, make_settings):
    async with db.transaction() as s:
        await s.execute(*bulk_insert(400, centre=(-21.0, 55.5), spread=0.1))
        await s.execute(
            text(
                "INSERT INTO posts (ap_id, local, author_id, wall_id, scope, in_reply_to_id) "
                "SELECT 'http://127.0.0.1:8000/posts/b' || g || '-' || a.id, true, a.id, a.id, "
                "CASE WHEN (g + a.id) % 7 = 0 THEN 'private' ELSE 'public' END, NULL "
                "FROM generate_series(1, 3) AS g, actors a WHERE a.username LIKE 'bulk%' ORDER BY g, a.id"
            )
        )
        # Expected, written plainly: public top-level posts on local public walls within 5 km.
        expected = list(
            await s.scalars(
                text(
                    "SELECT p.id FROM posts p JOIN actors a ON a.id = p.wall_id JOIN places pl "
                    "ON pl.id = a.place_id WHERE p.scope = 'public' AND p.in_reply_to_id IS NULL "
                    "AND a.local AND NOT a.is_private AND ST_DWithin(pl.location, "
                    "ST_SetSRID(ST_MakePoint(55.5, -21.0), 4326)::geography, 5000) ORDER BY p.id DESC"
                )
            )
        )
        walls = await s.scalar(
            text(
                "SELECT count(*) FROM actors a JOIN places pl ON pl.id = a.place_id WHERE ST_DWithin("
                "pl.location, ST_SetSRID(ST_MakePoint(55.5, -21.0), 4326)::geography, 5000)"
            )
        )
    assert walls > timelines.FEW_WALLS and len(expected) > 25
    stmt = await _live_statement(lat=-21.0, lon=55.5, radius_km=5, limit=10)
    async with db.transaction() as s:
        plan = await _analyze(s, stmt)
    assert "never executed" in _line(plan, "Index Only Scan using ix_posts_wall_live"), plan
    assert "never executed" not in _line(plan, "Index Only Scan using ix_posts_live"), plan
    seen: list[int] = []
    before = None
    async with db.session() as s:
        for _ in range(3):
            page = await timelines.live(s, lat=-21.0, lon=55.5, radius_km=5, before=before, limit=10)
            seen += [p.id for p in page.posts]
            before = page.next_before
    assert seen == expected[:30]
