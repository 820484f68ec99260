"""The timelines API's lean read path: its JSON matches the documented ``TimelineOut`` schema and the single
post's rendering, private walls stay private, a token's use is recorded, bad parameters are 400s."""

from __future__ import annotations

from sqlalchemy import select

from coserver.api.post_views import TimelineOut
from coserver.models import Actor, ApiToken
from coserver.services.places import PlaceInput
from coserver.services.posting import post_on_wall
from tests.api.test_posts import _token
from tests.factories import app_db, make_element, make_person


async def test_timeline_json_matches_the_schema_and_the_single_post(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    org = await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48)
    async with db.transaction() as s:
        author, wall = await s.get(Actor, marie.id), await s.get(Actor, org.id)
        place = PlaceInput(lat=-21.3, lon=55.5, name="Marché couvert")
        await post_on_wall(s, settings, author, wall, "Troc de graines #semences", place=place)
        await post_on_wall(s, settings, author, wall, "Chantier samedi", as_element=True)
    for path in ("/api/v1/elements/kaz/wall", "/api/v1/tags/semences", "/api/v1/timelines/live"):
        response = await client.get(path)
        assert response.status_code == 200 and response.content_type == "application/json"
        page = await response.get_json()
        TimelineOut.model_validate(page)  # the documented schema
        assert page["items"], path
        for item in page["items"]:
            single = await (await client.get(f"/api/v1/posts/{item['id']}")).get_json()
            assert single["items"][0] == item, path  # one shape, byte for byte the same values
    wall_page = await (await client.get("/api/v1/elements/kaz/wall")).get_json()
    placed = wall_page["items"][1]
    assert placed["place"]["name"] == "Marché couvert" and abs(placed["place"]["lat"] + 21.3) < 1e-9
    assert placed["published_at"].endswith("Z") and placed["author"]["name"] == "Marie Payet"
    assert wall_page["items"][0]["as_element"] is True and wall_page["items"][0]["place"] is None


async def test_private_walls_and_tokens_on_the_read_path(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_person(db, settings, "zoe")
    secret = await make_element(db, settings, "project", "secret", admin=marie, is_private=True)
    async with db.transaction() as s:
        await post_on_wall(s, settings, await s.get(Actor, marie.id), await s.get(Actor, secret.id), "Inside")
    marie_h, zoe_h = await _token(client, "marie"), await _token(client, "zoe")
    assert (await client.get("/api/v1/elements/secret/wall")).status_code == 404
    assert (await client.get("/api/v1/elements/secret/wall", headers=zoe_h)).status_code == 404
    assert (await client.get("/api/v1/elements/nobody/wall")).status_code == 404
    seen = await client.get("/api/v1/elements/SECRET/wall", headers=marie_h)
    assert seen.status_code == 200 and len((await seen.get_json())["items"]) == 1
    assert (await client.get("/api/v1/timelines/home")).status_code == 401
    bad = await client.get("/api/v1/timelines/home", headers={"Authorization": "Bearer co_forged"})
    assert bad.status_code == 401
    home = await client.get("/api/v1/timelines/home", headers=zoe_h)
    assert home.status_code == 200 and (await home.get_json()) == {"items": [], "next": None}
    async with db.session() as s:  # recorded by the autocommitted raw path, not rolled back
        used = await s.scalars(select(ApiToken.last_used_at))
        assert all(t is not None for t in used)


async def test_bad_timeline_parameters_are_400s_naming_the_parameter(client):
    for query, field in (
        ("lat=91&lon=55&radius_km=5", "lat"),
        ("lat=-21&lon=200&radius_km=5", "lon"),
        ("lat=-21&lon=55&radius_km=500", "radius_km"),
        ("lat=abc&lon=55&radius_km=5", "lat"),
        ("limit=0", "limit"),
        ("before=x", "before"),
    ):
        response = await client.get(f"/api/v1/timelines/live?{query}")
        assert response.status_code == 400, query
        assert (await response.get_json())["field"] == field, query
