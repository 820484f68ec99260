"""The newsfeed API and places: ``place`` on creation and edit, its output, and schema validation."""

from __future__ import annotations

from tests.api.test_posts import _token
from tests.factories import app_db, make_person

PLACE = {"lat": -21.3393, "lon": 55.4781, "name": "Saint-Pierre", "locality": "Saint-Pierre"}


async def test_post_with_a_place_shows_it_and_edits_move_or_remove_it(app, client, settings):
    await make_person(app_db(app), settings, "marie")
    h = await _token(client, "marie")
    created = await client.post(
        "/api/v1/posts", headers=h, json={"wall": "marie", "text": "Marché forain", "place": PLACE}
    )
    assert created.status_code == 201, await created.get_data()
    post = await created.get_json()
    assert post["place"]["name"] == "Saint-Pierre" and post["place"]["locality"] == "Saint-Pierre"
    assert abs(post["place"]["lat"] + 21.3393) < 1e-9 and abs(post["place"]["lon"] - 55.4781) < 1e-9
    wall = await (await client.get("/api/v1/elements/marie/wall")).get_json()
    assert wall["items"][0]["place"]["name"] == "Saint-Pierre"

    kept = await client.patch(f"/api/v1/posts/{post['id']}", headers=h, json={"text": "Marché demain"})
    assert (await kept.get_json())["place"]["name"] == "Saint-Pierre"
    moved = await client.patch(
        f"/api/v1/posts/{post['id']}",
        headers=h,
        json={"text": "Marché au Tampon", "place": {"lat": -21.278, "lon": 55.517, "name": "Le Tampon"}},
    )
    assert (await moved.get_json())["place"]["name"] == "Le Tampon"
    removed = await client.patch(
        f"/api/v1/posts/{post['id']}", headers=h, json={"text": "Marché annulé", "place": None}
    )
    assert (await removed.get_json())["place"] is None

    plain = await client.post("/api/v1/posts", headers=h, json={"wall": "marie", "text": "Sans lieu"})
    assert (await plain.get_json())["place"] is None


async def test_bad_coordinates_and_non_public_places_are_refused(app, client, settings):
    await make_person(app_db(app), settings, "marie")
    h = await _token(client, "marie")
    for bad, where in (
        ({**PLACE, "lat": 91}, "lat"),
        ({**PLACE, "lon": -200}, "lon"),
        ({"name": "X"}, "lat"),
    ):
        response = await client.post(
            "/api/v1/posts", headers=h, json={"wall": "marie", "text": "Ici", "place": bad}
        )
        assert response.status_code == 400
        detail = (await response.get_json())["detail"]
        assert detail[0]["loc"] == ["place", where], detail
    private = await client.post(
        "/api/v1/posts", headers=h, json={"wall": "marie", "text": "Ici", "scope": "private", "place": PLACE}
    )
    assert private.status_code == 400
    assert await private.get_json() == {
        "error": "only a public post can be tied to a place",
        "field": "place",
    }
    wall = await (await client.get("/api/v1/elements/marie/wall", headers=h)).get_json()
    assert wall["items"] == []
