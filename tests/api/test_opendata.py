"""GET /api/v1/elements/<username>/jsonld and /vcard."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.factories import app_db, make_element, make_person

BASE = "http://127.0.0.1:8000"


async def _territory(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    kaz = await make_element(
        db,
        settings,
        "organization",
        "kaz_compost",
        name="Kaz Compost, Saint-Pierre",
        admin=marie,
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
        subtype="ngo",
        tags=["compost"],
        short_description="Compost partagé; quartier",
        contact={"email": "kaz@example.org", "phone": "0262 12 34 56"},
    )
    await make_element(
        db,
        settings,
        "event",
        "fete",
        name="Fête du compost",
        admin=marie,
        lat=-21.35,
        lon=55.47,
        starts_at=datetime(2026, 12, 19, 10, tzinfo=ZoneInfo("Indian/Reunion")),
        timezone="Indian/Reunion",
        organizer=kaz,
    )
    await make_element(db, settings, "project", "secret_plan", is_private=True)
    await make_element(db, settings, "project", "discret", open_data=False, short_description="hidden")


async def test_jsonld(app, client, settings):
    await _territory(app, settings)
    response = await client.get("/api/v1/elements/kaz_compost/jsonld")
    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    doc = await response.get_json(force=True)
    assert doc["@context"][0] == "https://www.w3.org/ns/activitystreams"
    assert doc["id"] == f"{BASE}/actors/kaz_compost" and doc["type"] == ["Organization", "schema:NGO"]
    assert doc["name"] == "Kaz Compost, Saint-Pierre" and doc["keywords"] == ["compost"]
    assert doc["address"]["addressLocality"] == "Saint-Pierre"
    geo = doc["location"]["geo"]
    assert abs(geo["schema:latitude"] + 21.34) < 1e-9 and abs(geo["schema:longitude"] - 55.48) < 1e-9
    assert doc["email"] == "kaz@example.org"
    assert "private_key_pem" not in str(doc) and "PRIVATE KEY" not in str(doc)

    event = await (await client.get("/api/v1/elements/FETE/jsonld")).get_json(force=True)
    assert event["type"] == ["Group", "schema:Event"]
    assert event["startDate"] == "2026-12-19T10:00:00+04:00"
    assert event["organizer"]["id"] == f"{BASE}/actors/kaz_compost"

    closed = await (await client.get("/api/v1/elements/discret/jsonld")).get_json(force=True)
    assert set(closed) == {"@context", "id", "type", "name", "url"}


async def test_vcard(app, client, settings):
    await _territory(app, settings)
    response = await client.get("/api/v1/elements/kaz_compost/vcard")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/vcard; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="kaz_compost.vcf"'
    card = (await response.get_data()).decode("utf-8")
    lines = card.replace("\r\n ", "").split("\r\n")
    assert lines[0] == "BEGIN:VCARD" and lines[1] == "VERSION:4.0" and lines[-2:] == ["END:VCARD", ""]
    assert "FN:Kaz Compost\\, Saint-Pierre" in lines and "KIND:org" in lines
    assert "EMAIL;TYPE=work:kaz@example.org" in lines
    assert "TEL;VALUE=uri;TYPE=voice:tel:0262123456" in lines
    assert "NOTE:Compost partagé\\; quartier" in lines
    assert "GEO:geo:-21.34,55.48" in lines
    assert any(line.startswith("ADR;TYPE=work:;;;Saint-Pierre;") for line in lines)
    assert all(len(physical.encode()) <= 75 for physical in card.split("\r\n"))


async def test_unknown_and_private_give_json_404(app, client, settings):
    await _territory(app, settings)
    for name in ("nobody", "secret_plan"):
        for suffix in ("jsonld", "vcard"):
            response = await client.get(f"/api/v1/elements/{name}/{suffix}")
            assert response.status_code == 404
            body = await response.get_json()
            assert body["field"] == "username" and name in body["error"]


async def test_openapi_documents_open_data(client):
    spec = await (await client.get("/openapi.json")).get_json()
    for suffix in ("jsonld", "vcard"):
        operation = spec["paths"][f"/api/v1/elements/{{username}}/{suffix}"]["get"]
        assert {"200", "404"} <= set(operation["responses"])
        assert "open data" in operation["tags"]
