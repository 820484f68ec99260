"""``actors.location``: PostgreSQL keeps each actor's copy of its place's point (migration 0009's triggers),
whoever writes: the services, plain SQL, COPY, a place that moves or disappears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from coserver.search.agenda import agenda, agenda_params
from coserver.search.engine import search
from tests.factories import make_element
from tests.search.territory import CENTRE, Territory, north_of, params

LAT, LON = CENTRE


async def _move_place(db, place_id: int, lat: float, lon: float) -> None:
    """Move a place in SQL, as any writer may: the triggers must carry the point to its actors."""
    async with db.transaction() as s:
        await s.execute(
            text("UPDATE places SET location = ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) WHERE id = :id"),
            {"lat": lat, "lon": lon, "id": place_id},
        )


async def _location(db, actor_id: int) -> tuple[float, float] | None:
    async with db.session() as s:
        row = (
            await s.execute(
                text(
                    "SELECT ST_Y(location::geometry), ST_X(location::geometry), location IS NULL"
                    " FROM actors WHERE id = :id"
                ),
                {"id": actor_id},
            )
        ).one()
    return None if row[2] else (round(row[0], 9), round(row[1], 9))


async def _new_place(s, lat: float | None, lon: float | None) -> int:
    location = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography" if lat is not None else "NULL"
    return await s.scalar(
        text(f"INSERT INTO places (location) VALUES ({location}) RETURNING id"), {"lat": lat, "lon": lon}
    )


async def test_an_element_created_by_the_service_gets_its_place_point(db, settings):
    when = datetime(2026, 12, 1, 18, tzinfo=UTC)
    event = await make_element(db, settings, "event", "fete", lat=-21.1, lon=55.4, starts_at=when)
    assert await _location(db, event.id) == (-21.1, 55.4)
    group = await make_element(db, settings, "organization", "somewhere", lat=-21.2, lon=55.3, subtype="ngo")
    assert await _location(db, group.id) == (-21.2, 55.3)
    placeless = await make_element(db, settings, "project", "nowhere")
    assert await _location(db, placeless.id) is None


async def test_insert_and_place_change_and_direct_writes(db, settings):
    async with db.transaction() as s:
        first, second = await _new_place(s, -21.0, 55.5), await _new_place(s, -20.9, 55.6)
        actor_id = await s.scalar(
            text(
                "INSERT INTO actors (ap_id, kind, local, username, place_id)"
                " VALUES ('http://x/a', 'event', true, 'a', :place) RETURNING id"
            ),
            {"place": first},
        )
    assert await _location(db, actor_id) == (-21.0, 55.5)
    async with db.transaction() as s:
        await s.execute(text("UPDATE actors SET place_id = :p WHERE id = :id"), {"p": second, "id": actor_id})
    assert await _location(db, actor_id) == (-20.9, 55.6)
    async with db.transaction() as s:  # a direct write is overruled by the place's point
        await s.execute(
            text("UPDATE actors SET location = ST_MakePoint(0, 0)::geography WHERE id = :id"),
            {"id": actor_id},
        )
    assert await _location(db, actor_id) == (-20.9, 55.6)
    async with db.transaction() as s:
        await s.execute(text("UPDATE actors SET place_id = NULL WHERE id = :id"), {"id": actor_id})
    assert await _location(db, actor_id) is None


async def test_a_moved_place_moves_its_actors_only(db, settings):
    async with db.transaction() as s:
        moved, other = await _new_place(s, -21.0, 55.5), await _new_place(s, -21.0, 55.5)
        ids = []
        for i, place in enumerate((moved, moved, other)):
            ids.append(
                await s.scalar(
                    text(
                        "INSERT INTO actors (ap_id, kind, local, username, place_id)"
                        " VALUES (:ap, 'event', true, :u, :place) RETURNING id"
                    ),
                    {"ap": f"http://x/{i}", "u": f"u{i}", "place": place},
                )
            )
    async with db.transaction() as s:
        await s.execute(
            text("UPDATE places SET location = ST_SetSRID(ST_MakePoint(55.7, -21.2), 4326) WHERE id = :id"),
            {"id": moved},
        )
    assert [await _location(db, i) for i in ids] == [(-21.2, 55.7), (-21.2, 55.7), (-21.0, 55.5)]
    async with db.transaction() as s:
        await s.execute(text("UPDATE places SET location = NULL WHERE id = :id"), {"id": moved})
    assert await _location(db, ids[0]) is None
    async with db.transaction() as s:  # a place deleted: ON DELETE SET NULL clears the copy too
        await s.execute(text("DELETE FROM places WHERE id = :id"), {"id": other})
    assert await _location(db, ids[2]) is None


async def test_copy_fills_the_location(db, settings):
    async with db.transaction() as s:
        place = await _new_place(s, -21.3, 55.2)
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.copy_records_to_table(
            "actors",
            records=[("http://x/copied", "event", True, "copied", place)],
            columns=["ap_id", "kind", "local", "username", "place_id"],
        )
    async with db.session() as s:
        actor_id = await s.scalar(text("SELECT id FROM actors WHERE username = 'copied'"))
    assert await _location(db, actor_id) == (-21.3, 55.2)


async def test_the_agenda_follows_a_moved_place(db, settings):
    """The window + radius agenda reads ``actors.location``: a place moved out of the radius takes its
    event out of the agenda, moved back in brings it back."""
    window = params(settings, lat=LAT, lon=LON, radius_km=5)
    start = agenda_params(window, settings).start  # the default window: today and the next six days
    assert start is not None
    async with db.transaction() as s:
        near = await Territory(s).element(
            "event", "Near", lat=LAT, lon=LON, starts_at=start + timedelta(hours=10)
        )
        place_id = near.place_id
    async with db.session() as s:
        assert [h.id for h in (await agenda(s, settings, window)).hits] == [near.id]
    far_lat, far_lon = north_of(LAT, LON, 5_100)
    await _move_place(db, place_id, far_lat, far_lon)
    async with db.session() as s:
        assert (await agenda(s, settings, window)).hits == []
    inside_lat, inside_lon = north_of(LAT, LON, 4_900)
    await _move_place(db, place_id, inside_lat, inside_lon)
    async with db.session() as s:
        assert [h.id for h in (await agenda(s, settings, window)).hits] == [near.id]


async def test_a_window_with_a_radius_in_every_sort_order(db, settings):
    """Search (not only the agenda) with a window and a radius: recency (its walk of the newest elements
    has no place condition left), nearest-first and by date find the same events."""
    start = datetime(2026, 12, 1, 18, tzinfo=UTC)
    async with db.transaction() as s:
        t = Territory(s)
        inside = [
            await t.element("event", f"In {m}", lat=north_of(LAT, LON, m)[0], lon=LON, starts_at=start)
            for m in (100, 2_000, 4_900)
        ]
        await t.element("event", "Too far", lat=north_of(LAT, LON, 5_100)[0], lon=LON, starts_at=start)
        await t.element("event", "Too late", lat=LAT, lon=LON, starts_at=start + timedelta(days=30))
    expected = {e.id for e in inside}
    for sort in ("recency", "distance", "date"):
        query = params(
            settings, lat=LAT, lon=LON, radius_km=5, from_="2026-11-30", to="2026-12-02", sort=sort
        )
        async with db.session() as s:
            page = await search(s, settings, query)
        assert {h.id for h in page.hits} == expected, sort
        if sort == "distance":
            assert [h.id for h in page.hits] == [e.id for e in inside]
