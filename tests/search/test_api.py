"""GET /api/v1/search and /api/v1/agenda: JSON shape, Link pagination, exports, 400s naming the parameter."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from coserver.api.search import AgendaOut
from tests.factories import app_db
from tests.search.territory import CENTRE, Territory, at, north_of

LAT, LON = CENTRE


@pytest.fixture
async def territory(app):
    async with app_db(app).transaction() as s:
        t = Territory(s)
        for i in range(12):
            await t.element(
                "organization", f"Jardin {i}", lat=north_of(LAT, LON, 100 * i)[0], lon=LON, tags=["compost"]
            )
        await t.element(
            "event",
            "Kabar",
            lat=LAT,
            lon=LON,
            starts_at=at("2026-12-05T18:00+04:00"),
            ends_at=at("2026-12-06T02:00+04:00"),
            tags=["maloya"],
        )
        await t.element("event", "Remote meetup", local=False, username="meetup", lat=LAT, lon=LON,
                        starts_at=at("2026-12-06T10:00+04:00"))  # fmt: skip


async def test_search_json_shape_and_distance(client, territory):
    response = await client.get(f"/api/v1/search?lat={LAT}&lon={LON}&radius_km=0.55&kinds=organization")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = await response.get_json()
    assert set(body) == {"items", "counts", "counts_capped", "total", "next"}
    assert [item["name"] for item in body["items"]] == [f"Jardin {i}" for i in range(6)]
    first = body["items"][0]
    assert first["distance_m"] == 0 and body["items"][5]["distance_m"] == pytest.approx(500, abs=0.1)
    assert first["kind"] == "organization" and first["tags"] == ["compost"] and first["local"] is True
    assert first["id"].startswith("http://127.0.0.1:8000/actors/")
    assert body["counts"] == {"person": 0, "organization": 6, "project": 0, "event": 2, "poi": 0}
    assert body["counts_capped"] is False
    assert body["total"] == 6 and body["next"] is None
    plain = await (await client.get("/api/v1/search?q=kabar")).get_json()
    assert "distance_m" not in plain["items"][0]  # no point, no distance


async def test_link_header_pages_through_everything(client, territory):
    url = f"/api/v1/search?lat={LAT}&lon={LON}&limit=5&kinds=organization,event"
    names: list[str] = []
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        body = await response.get_json()
        names += [item["name"] for item in body["items"]]
        pages += 1
        link = response.headers.get("Link")
        if body["next"] is None:
            assert link is None
            break
        assert link == f'<{body["next"]}>; rel="next"'
        assert body["next"].startswith("http://127.0.0.1:8000/api/v1/search?")
        assert (
            "limit=5" in body["next"]
            and "cursor=" in body["next"]
            and "kinds=organization%2Cevent" in body["next"]
        )
        parts = urlsplit(body["next"])
        url = f"{parts.path}?{parts.query}"
    assert pages == 3 and len(names) == len(set(names)) == 14


async def test_agenda_json(client, territory):
    response = await client.get("/api/v1/agenda?from=2026-12-05&to=2026-12-06")
    assert response.status_code == 200
    body = await response.get_json()
    assert (body["from"], body["to"], body["total"], body["next"]) == ("2026-12-05", "2026-12-06", 2, None)
    AgendaOut.model_validate(body)  # the documented schema
    events = {item["id"]: item for item in body["items"]}
    assert [item["name"] for item in body["items"]] == ["Kabar", "Remote meetup"]  # each once, by start
    days = {day["date"]: [events[ident]["name"] for ident in day["events"]] for day in body["days"]}
    assert days == {"2026-12-05": ["Kabar"], "2026-12-06": ["Kabar", "Remote meetup"]}
    remote = events[body["days"][1]["events"][1]]
    assert remote["local"] is False and remote["url"] == "https://mobilizon.example/events/meetup"
    kabar = body["items"][0]
    assert kabar["starts_at"] == "2026-12-05T14:00:00+00:00"  # as ``isoformat`` writes it
    assert kabar["ends_at"] == "2026-12-05T22:00:00+00:00"
    assert datetime.fromisoformat(kabar["created_at"]).tzinfo is not None


async def test_exports(client, territory):
    response = await client.get("/api/v1/search?tags=compost&format=csv&limit=3")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(await response.get_data(as_text=True))))
    assert len(rows) == 4 and 'rel="next"' in response.headers["Link"]
    assert "format=csv" in response.headers["Link"]
    response = await client.get("/api/v1/search?tags=compost", headers={"Accept": "application/geo+json"})
    assert response.mimetype == "application/geo+json"
    assert len((await response.get_json())["features"]) == 12
    response = await client.get("/api/v1/agenda?from=2026-12-05&to=2026-12-06&format=ics")
    assert response.mimetype == "text/calendar"
    assert (await response.get_data()).count(b"BEGIN:VEVENT") == 2


async def test_exports_module_missing_is_a_400(client, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "coserver.search.exports" else real(name, *a),
    )
    response = await client.get("/api/v1/search?format=geojson")
    assert response.status_code == 400
    assert (await response.get_json())["field"] == "format"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("lat=91&lon=0", "lat"),
        ("lat=nan&lon=0", "lat"),
        ("lat=0&lon=1e309", "lon"),
        ("lat=0", "lon"),
        ("radius_km=5", "radius_km"),
        ("lat=0&lon=0&radius_km=500", "radius_km"),
        ("lat=0&lon=0&radius_km=0", "radius_km"),
        ("bbox=1,2,3", "bbox"),
        ("bbox=0,10,1,5", "bbox"),
        ("kinds=dragon", "kinds"),
        ("types=rave", "types"),
        ("theme=astrology", "theme"),
        ("tags_mode=most", "tags_mode"),
        ("from=2026-12-06&to=2026-12-05", "from"),
        ("from=tomorrow", "from"),
        ("to=2026-02-30", "to"),
        ("sort=distance", "sort"),
        ("sort=relevance", "sort"),
        ("sort=shuffle", "sort"),
        ("limit=0", "limit"),
        ("limit=1000000", "limit"),
        ("limit=-5", "limit"),
        ("cursor=garbage", "cursor"),
        ("format=xml", "format"),
        ("format=ics", "format"),
        ("q=" + "x" * 500, "q"),
        ("q=%00", "q"),
        ("zone=locality:", "zone"),
    ],
)
async def test_search_bad_input_is_a_400_naming_the_parameter(client, query, field):
    response = await client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["field"] == field and body["error"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("kinds=person", "kinds"), ("sort=recency", "sort"), ("from=2026-01-01&to=2026-12-31", "to")],
)
async def test_agenda_bad_input(client, query, field):
    response = await client.get(f"/api/v1/agenda?{query}")
    assert response.status_code == 400
    assert (await response.get_json())["field"] == field


async def test_odd_input_never_gives_a_500(client):
    odd = [
        "q=%F0%9F%91%8D",
        "q=%ED%A0%80",
        "tags=%C3%A9%C3%A9,,,",
        "zone=%25",
        "bbox=",
        "lat=&lon=",
        "q=(((",
        "q=&",
    ]
    odd += ["cursor=" + "A" * 300, "cursor=eyJ4IjogMX0", "kinds=,,,", "limit=%C2%B2", "from=%00"]
    for query in odd:
        response = await client.get(f"/api/v1/search?{query}")
        assert response.status_code in {200, 400}, (query, await response.get_data(as_text=True))


async def test_openapi_documents_both_endpoints(client):
    spec = await (await client.get("/openapi.json")).get_json()
    for path in ("/api/v1/search", "/api/v1/agenda"):
        operation = spec["paths"][path]["get"]
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {
            "q",
            "kinds",
            "lat",
            "lon",
            "radius_km",
            "bbox",
            "zone",
            "from",
            "to",
            "cursor",
            "format",
        } <= names
        assert "400" in operation["responses"]
