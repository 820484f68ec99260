"""GET /api/v1/elements/<username> and the OpenAPI document."""

from __future__ import annotations

from tests.factories import app_db, make_element, make_person


async def test_get_element(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_element(
        db,
        settings,
        "organization",
        "kaz_compost",
        name="Kaz Compost",
        admin=marie,
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
        subtype="ngo",
        tags=["compost"],
    )
    response = await client.get("/api/v1/elements/kaz_compost")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["id"] == "http://127.0.0.1:8000/actors/kaz_compost"
    assert body["handle"] == "kaz_compost@127.0.0.1:8000"
    assert (body["kind"], body["type"], body["tags"]) == ("organization", "ngo", ["compost"])
    assert body["place"]["locality"] == "Saint-Pierre"
    assert abs(body["place"]["lat"] + 21.34) < 1e-9 and abs(body["place"]["lon"] - 55.48) < 1e-9
    assert body["community"] == {"member": 1}
    assert "private_key_pem" not in body


async def test_unknown_and_private_give_json_404(app, client, settings):
    await make_element(app_db(app), settings, "project", "secret_plan", is_private=True)
    for name in ("nobody", "secret_plan"):
        response = await client.get(f"/api/v1/elements/{name}")
        assert response.status_code == 404
        assert (await response.get_json())["field"] == "username"


async def test_openapi_documents_the_endpoint(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = await response.get_json()
    assert "/api/v1/elements/{username}" in spec["paths"]
