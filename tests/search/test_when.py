"""When: date-window overlap (instants, all-day, multi-day, time zones) and the agenda grouped by day.

The node is in Indian/Reunion (UTC+4, no daylight saving time): ``from=2026-12-05&to=2026-12-05`` is
[2026-12-04T20:00Z, 2026-12-05T20:00Z).
"""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.datastructures import MultiDict

from coserver.search.agenda import agenda
from coserver.search.engine import search
from coserver.search.params import SearchParams, parse_params
from tests.search.territory import Territory, at, params


@pytest.fixture
async def calendar(db, settings):
    async with db.transaction() as s:
        t = Territory(s)
        ev = t.element
        await ev(
            "event",
            "ends at from",
            starts_at=at("2026-12-04T18:00+04:00"),
            ends_at=at("2026-12-05T00:00+04:00"),
        )
        await ev("event", "instant at from", starts_at=at("2026-12-05T00:00+04:00"))
        await ev(
            "event",
            "starts at to",
            starts_at=at("2026-12-06T00:00+04:00"),
            ends_at=at("2026-12-06T02:00+04:00"),
        )
        await ev(
            "event",
            "all day on the 5th",
            starts_at=at("2026-12-05T00:00+04:00"),
            ends_at=at("2026-12-05T23:59+04:00"),
            all_day=True,
            timezone="Indian/Reunion",
        )
        await ev(
            "event", "multi-day", starts_at=at("2026-12-03T10:00+04:00"), ends_at=at("2026-12-07T18:00+04:00")
        )
        await ev(
            "event",
            "all day 1st to 3rd",
            starts_at=at("2026-12-01T00:00+04:00"),
            ends_at=at("2026-12-03T23:59+04:00"),
            all_day=True,
            timezone="Indian/Reunion",
        )
        await ev(
            "event",
            "all day on the 6th in UTC",
            starts_at=at("2026-12-06T00:00+00:00"),
            ends_at=at("2026-12-06T23:59+00:00"),
            all_day=True,
            timezone="UTC",
        )
        await ev(
            "event",
            "all day on the 8th, exclusive end",
            starts_at=at("2026-12-08T00:00+04:00"),
            ends_at=at("2026-12-09T00:00+04:00"),
            all_day=True,
        )
        await ev(
            "event",
            "2am in Reunion",
            starts_at=at("2026-12-05T02:00+04:00"),
            ends_at=at("2026-12-05T03:00+04:00"),
        )
        await ev(
            "project",
            "long project",
            starts_at=at("2026-01-01T00:00+04:00"),
            ends_at=at("2027-12-31T00:00+04:00"),
        )
        await ev("organization", "no dates")
        await ev(
            "event",
            "remote meetup",
            local=False,
            username="meetup",
            lat=-21.1,
            lon=55.5,
            starts_at=at("2026-12-06T18:00+04:00"),
            ends_at=at("2026-12-06T20:00+04:00"),
        )


async def names(db, conf, **values) -> set[str]:
    async with db.session() as session:
        page = await search(session, conf, params(conf, **values))
    return {hit.name for hit in page.hits}


async def test_one_day_window(db, settings, calendar):
    assert await names(db, settings, from_="2026-12-05", to="2026-12-05") == {
        "instant at from",
        "all day on the 5th",
        "multi-day",
        "2am in Reunion",
        "long project",
    }


async def test_edges(db, settings, calendar):
    found = await names(db, settings, from_="2026-12-03", to="2026-12-05", kinds="event")
    assert "all day on the 5th" in found  # all-day event on the `to` day
    assert "all day 1st to 3rd" in found  # its last day is the `from` day
    assert "starts at to" not in found
    assert "all day 1st to 3rd" not in await names(db, settings, from_="2026-12-04", to="2026-12-04")
    # The exclusive midnight end of an all-day event does not cover the next day.
    assert "all day on the 8th, exclusive end" in await names(
        db, settings, from_="2026-12-08", to="2026-12-08"
    )
    assert "all day on the 8th, exclusive end" not in await names(
        db, settings, from_="2026-12-09", to="2026-12-09"
    )
    # Date-times: an event ending exactly at `from` is over; one starting exactly at `to` has not begun.
    found = await names(db, settings, from_="2026-12-05T00:00:00+04:00", to="2026-12-06T00:00:00+04:00")
    assert "ends at from" not in found and "starts at to" not in found and "instant at from" in found
    # `from` alone and `to` alone.
    assert "ends at from" not in await names(db, settings, from_="2026-12-05", kinds="event")
    assert await names(db, settings, to="2026-12-02", kinds="event") == {"all day 1st to 3rd"}


async def test_all_day_events_cover_their_own_days(db, settings, calendar):
    # 6 December in UTC is 6 Dec 04:00 → 7 Dec 04:00 in Reunion: not on the 5th (Reunion), on the 6th.
    assert "all day on the 6th in UTC" not in await names(db, settings, from_="2026-12-05", to="2026-12-05")
    assert "all day on the 6th in UTC" in await names(db, settings, from_="2026-12-06", to="2026-12-06")


async def test_node_time_zone_decides_what_a_date_means(db, make_settings, database_url, calendar):
    utc = make_settings(database_url=database_url, timezone="UTC")
    # 2am on the 5th in Reunion is 22:00 on the 4th in UTC.
    assert "2am in Reunion" not in await names(db, utc, from_="2026-12-05", to="2026-12-05")
    assert "2am in Reunion" in await names(db, utc, from_="2026-12-04", to="2026-12-04")


async def test_agenda_groups_by_day_with_remote_events(db, settings, calendar):
    async with db.session() as session:
        page = await agenda(
            session, settings, params(settings, "agenda", from_="2026-12-04", to="2026-12-08")
        )
    days = {day.isoformat(): [hit.name for hit in hits] for day, hits in page.days}
    assert list(days) == ["2026-12-04", "2026-12-05", "2026-12-06", "2026-12-07", "2026-12-08"]
    for day in days:
        assert "multi-day" in days[day] or day == "2026-12-08"
    assert days["2026-12-05"] == ["multi-day", "instant at from", "all day on the 5th", "2am in Reunion"]
    assert days["2026-12-06"] == ["multi-day", "starts at to", "all day on the 6th in UTC", "remote meetup"]
    assert days["2026-12-07"] == ["multi-day"]  # the UTC all-day event is on its own date only
    assert days["2026-12-08"] == ["all day on the 8th, exclusive end"]
    assert "ends at from" in days["2026-12-04"] and "long project" not in str(days)
    assert page.total == len(page.hits) == 9
    remote = next(hit for hit in page.hits if hit.name == "remote meetup")
    assert not remote.local and remote.lat == pytest.approx(-21.1)


async def test_agenda_defaults_to_a_week_from_today(db, settings, calendar):
    from_request = parse_params(MultiDict(), settings, endpoint="agenda", today=date(2026, 12, 6))
    async with db.session() as session:
        for query in (from_request, SearchParams()):  # parsed, or built by code without a window
            page = await agenda(session, settings, query, today=date(2026, 12, 6))
            assert (page.first_day, page.last_day) == (date(2026, 12, 6), date(2026, 12, 12))
            assert page.days[0][0].isoformat() == "2026-12-06"
            assert page.days[0][1][0].name == "multi-day"
            assert {hit.kind for hit in page.hits} == {"event"}


async def test_agenda_around_a_point(db, settings, calendar):
    p = params(settings, "agenda", from_="2026-12-01", to="2026-12-31", lat=-21.1, lon=55.5, radius_km=5)
    async with db.session() as session:
        page = await agenda(session, settings, p)
    assert [(d.isoformat(), [h.name for h in hits]) for d, hits in page.days] == [
        ("2026-12-06", ["remote meetup"])
    ]
    assert page.hits[0].distance_m == pytest.approx(0, abs=0.01)
