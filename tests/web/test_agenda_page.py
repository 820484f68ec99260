"""The agenda page (``GET /agenda``) over HTTP: days in the territory's time zone, multi-day and remote
events, week navigation, ICS subscription, translated errors, French."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.factories import app_db, make_element
from tests.search.territory import Territory
from tests.web.helpers import Browser

TZ = ZoneInfo("Indian/Reunion")  # the test node's settings.timezone (UTC+4, no daylight saving)
SAINT_PIERRE = (-21.3393, 55.4781)
SAINT_DENIS = (-20.8823, 55.4504)
WEEK = "/agenda?from=2026-12-01&to=2026-12-07"


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def days(body: str) -> dict[str, list[str]]:
    """Day (YYYY-MM-DD) → names of the events listed under it, from the day sections."""
    out: dict[str, list[str]] = {}
    for section in re.finditer(r'data-testid="agenda-day" data-date="([\d-]+)"(.*?)</section>', body, re.S):
        names = re.findall(r'<h3 class="hit-name"><a href="[^"]+"[^>]*>([^<]+)</a>', section.group(2))
        out[section.group(1)] = [html.unescape(n) for n in names]
    return out


def link(body: str, testid: str) -> str:
    found = re.search(rf'<a href="([^"]+)"[^>]*data-testid="{testid}"', body)
    assert found, testid
    return html.unescape(found.group(1))


async def event(app, settings, username: str, name: str, starts_at: datetime, **kwargs) -> None:
    lat, lon = kwargs.pop("at", SAINT_PIERRE)
    await make_element(
        app_db(app), settings, "event", username, name=name, lat=lat, lon=lon, starts_at=starts_at, **kwargs
    )


async def test_events_are_on_their_local_day_at_the_edges_of_midnight(app, settings):
    # 23:30 local is 19:30 UTC the same day; 00:30 local is 20:30 UTC the day BEFORE.
    await event(app, settings, "late", "Late show", local(2026, 12, 5, 23, 30))
    await event(app, settings, "early", "Early market", local(2026, 12, 6, 0, 30))
    body = (await Browser(app).text(WEEK)).replace("\u202f", " ")  # CLDR puts a narrow space before PM
    assert days(body) == {"2026-12-05": ["Late show"], "2026-12-06": ["Early market"]}
    assert '<time datetime="2026-12-05">Saturday, December 5, 2026</time>' in body
    assert ">11:30 PM</time>" in body and ">12:30 AM</time>" in body
    assert 'data-testid="agenda-count">2 events<' in body


async def test_multi_day_and_all_day_events(app, settings):
    await event(
        app, settings, "festival", "Festival", local(2026, 12, 2, 18, 0), ends_at=local(2026, 12, 4, 2, 0)
    )
    await event(
        app,
        settings,
        "fair",
        "Fair",
        local(2026, 12, 6, 0, 0),
        ends_at=local(2026, 12, 7, 0, 0),
        all_day=True,
    )
    await event(
        app, settings, "night", "Night walk", local(2026, 12, 1, 20, 0), ends_at=local(2026, 12, 2, 0, 0)
    )
    body = (await Browser(app).text(WEEK)).replace("\u202f", " ")
    assert days(body) == {
        "2026-12-01": ["Night walk"],  # ends at midnight: not on the 2nd
        "2026-12-02": ["Festival"],
        "2026-12-03": ["Festival"],
        "2026-12-04": ["Festival"],
        "2026-12-06": ["Fair"],
    }
    festival = [m.group(1) for m in re.finditer(r'class="event-when"><time[^>]*>([^<]+)</time>', body)]
    assert festival == ["8:00 PM – 12:00 AM", "From 6:00 PM", "All day", "Until 2:00 AM", "All day"]
    assert body.count("December 2, 2026 to December 4, 2026") == 3  # the range, on each of its days
    assert body.count(">continued</span>") == 2


async def test_remote_events_brought_by_federation_are_listed(app, settings):
    await event(app, settings, "kabar", "Kabar", local(2026, 12, 3, 19, 0))
    async with app_db(app).transaction() as session:
        await Territory(session).element(
            "event",
            "Remote meetup",
            local=False,
            username="meetup",
            lat=SAINT_PIERRE[0],
            lon=SAINT_PIERRE[1],
            starts_at=local(2026, 12, 3, 10, 0),
        )
    body = await Browser(app).text(WEEK)
    assert days(body) == {"2026-12-03": ["Remote meetup", "Kabar"]}
    assert (
        '<a href="https://mobilizon.example/events/meetup" rel="nofollow noopener">Remote meetup</a>' in body
    )
    assert "Elsewhere in the fediverse" in body


async def test_filters_around_a_place_with_text_and_tags(app, settings):
    await event(app, settings, "kabar", "Kabar maloya", local(2026, 12, 3, 19, 0), tags=["maloya"])
    await event(app, settings, "compost", "Atelier compost", local(2026, 12, 3, 9, 0), tags=["compost"])
    await event(
        app, settings, "nord", "Kabar du nord", local(2026, 12, 4, 19, 0), tags=["maloya"], at=SAINT_DENIS
    )
    browser = Browser(app)
    assert days(await browser.text(WEEK + "&tags=maloya")) == {
        "2026-12-03": ["Kabar maloya"],
        "2026-12-04": ["Kabar du nord"],
    }
    around = await browser.text(WEEK + "&tags=maloya&place=Saint-Pierre&radius_km=10")
    assert days(around) == {"2026-12-03": ["Kabar maloya"]}
    assert 'data-testid="place-found">Around Saint-Pierre' in around
    assert days(await browser.text(WEEK + "&theme=waste")) == {"2026-12-03": ["Atelier compost"]}
    assert days(await browser.text(WEEK + "&q=kabar")) == {
        "2026-12-03": ["Kabar maloya"],
        "2026-12-04": ["Kabar du nord"],
    }


async def test_week_navigation(app, settings):
    await event(app, settings, "later", "Later", local(2026, 12, 9, 10, 0))
    browser = Browser(app)
    body = await browser.text(WEEK + "&tags=")
    assert days(body) == {}
    assert 'data-testid="agenda-empty"' in body
    assert link(body, "agenda-next") == "/agenda?from=2026-12-08&to=2026-12-14"
    assert link(body, "agenda-prev") == "/agenda?from=2026-11-24&to=2026-11-30"
    following = await browser.text(link(body, "agenda-next"))
    assert days(following) == {"2026-12-09": ["Later"]}
    assert link(following, "agenda-prev") == "/agenda?from=2026-12-01&to=2026-12-07"


async def test_default_window_is_today_and_six_days_in_the_territory_time_zone(app, settings):
    today = datetime.now(TZ).date()
    soon = datetime.combine(today + timedelta(days=1), datetime.min.time(), TZ).replace(hour=12)
    await event(app, settings, "soon", "Soon", soon, tags=["maloya"])
    await event(app, settings, "far", "Far away in time", soon + timedelta(days=8), tags=["maloya"])
    browser = Browser(app)
    body = await browser.text("/agenda?tags=maloya")
    assert days(body) == {(today + timedelta(days=1)).isoformat(): ["Soon"]}
    assert 'data-testid="agenda-window"' in body

    # the subscription link keeps the filters, not the dates, and its calendar parses
    ics_url = link(body, "agenda-ics")
    assert ics_url.startswith("/api/v1/agenda?") and "format=ics" in ics_url and "tags=maloya" in ics_url
    assert "from=" not in ics_url and "to=" not in ics_url
    assert link(body, "agenda-webcal") == "webcal://127.0.0.1:8000" + ics_url
    response = await browser.client.get(ics_url)
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    calendar = Calendar.from_ical(await response.get_data())
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["summary"]) for e in events] == ["Soon"]
    assert events[0]["dtstart"].dt == soon
    assert 'rel="alternate" type="text/calendar"' in body


async def test_open_data_links_keep_the_window(app, settings):
    await event(app, settings, "kabar", "Kabar", local(2026, 12, 3, 19, 0))
    browser = Browser(app)
    body = await browser.text(WEEK)
    geojson = link(body, "export-geojson")
    assert "from=2026-12-01" in geojson and "to=2026-12-07" in geojson
    response = await browser.client.get(geojson)
    assert [f["properties"]["name"] for f in (await response.get_json())["features"]] == ["Kabar"]
    response = await browser.client.get(link(body, "export-csv"))
    assert response.status_code == 200 and "Kabar" in await response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-12-10&to=2026-12-01", "from", "La date de début doit précéder la date de fin."),
        ("from=demain", "from", "Saisissez une date comme 2026-12-05."),
        ("from=2026-01-01&to=2026-12-31", "to", "La période est trop longue."),
        ("lat=-21&lon=999", "lon", "La longitude doit être un nombre entre -180 et 180."),
        ("radius_km=5", "radius_km", "Une distance demande un lieu ou un point."),
    ],
)
async def test_invalid_parameters_are_translated_errors(app, query, field, message):
    response = await Browser(app, lang="fr").get(f"/agenda?{query}")
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'<p class="field-error" id="{field}-error">{html.escape(message)}</p>' in body
    assert 'data-testid="agenda-day"' not in body


async def test_french_rendering(app, settings):
    await event(app, settings, "kabar", "Kabar", local(2026, 12, 5, 18, 0), ends_at=local(2026, 12, 5, 23, 0))
    await event(app, settings, "fair", "Foire", local(2026, 12, 6, 0, 0), all_day=True)
    body = await Browser(app, lang="fr").text(WEEK)
    assert '<time datetime="2026-12-05">samedi 5 décembre 2026</time>' in body
    assert ">18:00 – 23:00</time>" in body and ">Toute la journée</time>" in body
    assert "du 1 décembre 2026 au 7 décembre 2026" in body
    assert "S&#39;abonner (ICS)" in body or "S'abonner (ICS)" in body
    assert "7 jours suivants" in body and 'data-testid="agenda-count">2 événements<' in body
