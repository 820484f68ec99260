"""The newsfeed API: tokens, posting rules, comments, reactions, shares, edits, deletes, timelines."""

from __future__ import annotations

import subprocess
import sys

from coserver.models import Actor
from coserver.services.elements import add_link
from tests.factories import app_db, make_element, make_person


async def _token(client, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/tokens", json={"username": username, "password": "password-123"})
    assert response.status_code == 201, await response.get_data()
    return {"Authorization": f"Bearer {(await response.get_json())['token']}"}


async def test_post_comment_react_share_edit_delete(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    marie_h, paul_h = await _token(client, "marie"), await _token(client, "paul")

    # Paul is not a member: 403; Marie (admin) posts in the element's name.
    denied = await client.post("/api/v1/posts", json={"wall": "kaz", "text": "Hi"}, headers=paul_h)
    assert denied.status_code == 403 and (await denied.get_json())["field"] == "wall"
    created = await client.post(
        "/api/v1/posts",
        headers=marie_h,
        json={"wall": "kaz", "text": "Chantier #compost samedi", "as_element": True},
    )
    assert created.status_code == 201
    post = await created.get_json()
    assert post["author"]["username"] == "marie" and post["wall"]["username"] == "kaz" and post["as_element"]
    assert post["tags"] == ["compost"]

    comment = await client.post(
        f"/api/v1/posts/{post['id']}/comments", json={"text": "J'y serai"}, headers=paul_h
    )
    assert comment.status_code == 201
    liked = await client.post(f"/api/v1/posts/{post['id']}/reactions", json={"emoji": ""}, headers=paul_h)
    assert (await liked.get_json())["likes_count"] == 1
    shared = await client.post(f"/api/v1/posts/{post['id']}/shares", headers=paul_h)
    assert (await shared.get_json())["shares_count"] == 1
    thread = await (await client.get(f"/api/v1/posts/{post['id']}")).get_json()
    assert thread["items"][0]["id"] == post["id"] and len(thread["items"]) == 2

    assert (
        await client.patch(f"/api/v1/posts/{post['id']}", json={"text": "x"}, headers=paul_h)
    ).status_code == 403
    edited = await client.patch(
        f"/api/v1/posts/{post['id']}", json={"text": "Chantier dimanche"}, headers=marie_h
    )
    assert edited.status_code == 200 and "dimanche" in (await edited.get_json())["content_html"]
    assert (await client.delete(f"/api/v1/posts/{post['id']}", headers=marie_h)).status_code == 200
    assert (await client.get(f"/api/v1/posts/{post['id']}")).status_code == 404
    assert org.username == "kaz"


async def test_auth_and_visibility(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    marie_h, paul_h = await _token(client, "marie"), await _token(client, "paul")
    assert (await client.post("/api/v1/posts", json={"wall": "marie", "text": "x"})).status_code == 401
    bad = await client.post(
        "/api/v1/posts", json={"wall": "marie", "text": "x"}, headers={"Authorization": "Bearer co_forged"}
    )
    assert bad.status_code == 401
    wrong = await client.post("/api/v1/tokens", json={"username": "marie", "password": "nope-nope"})
    assert wrong.status_code == 401

    private = await (
        await client.post(
            "/api/v1/posts",
            headers=marie_h,
            json={"wall": "kaz", "text": "Réunion du bureau", "scope": "private"},
        )
    ).get_json()
    assert (await client.get(f"/api/v1/posts/{private['id']}")).status_code == 404
    assert (await client.get(f"/api/v1/posts/{private['id']}", headers=paul_h)).status_code == 404
    assert (await client.get(f"/api/v1/posts/{private['id']}", headers=marie_h)).status_code == 200
    wall = await (await client.get("/api/v1/elements/kaz/wall")).get_json()
    assert wall["items"] == []
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, paul.id), await s.get(Actor, org.id), "member")
    wall = await (await client.get("/api/v1/elements/kaz/wall", headers=paul_h)).get_json()
    assert [p["id"] for p in wall["items"]] == [private["id"]]


async def test_timelines_and_pagination(app, client, settings):
    db = app_db(app)
    await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    await make_element(
        db, settings, "organization", "kaz", lat=-21.34, lon=55.48, locality="Saint-Pierre", admin=paul
    )
    paul_h = await _token(client, "paul")
    for i in range(5):
        await client.post("/api/v1/posts", json={"wall": "kaz", "text": f"#vélo sortie {i}"}, headers=paul_h)
    page = await (
        await client.get("/api/v1/timelines/live?limit=2&lat=-21.34&lon=55.48&radius_km=3")
    ).get_json()
    assert len(page["items"]) == 2 and "before=" in page["next"]
    rest = await (await client.get(page["next"])).get_json()
    assert len(rest["items"]) == 2 and rest["items"][0]["id"] < page["items"][-1]["id"]
    tagged = await (await client.get("/api/v1/tags/vélo?limit=10")).get_json()
    assert len(tagged["items"]) == 5
    home = await (await client.get("/api/v1/timelines/home", headers=paul_h)).get_json()
    assert len(home["items"]) == 5
    bad = await client.get("/api/v1/timelines/live?radius_km=500&lat=0&lon=0")
    assert bad.status_code == 400 and (await bad.get_json())["field"] == "radius_km"
    spec = await (await client.get("/openapi.json")).get_json()
    assert {"/api/v1/posts", "/api/v1/timelines/home", "/api/v1/tokens"} <= set(spec["paths"])


def test_token_cli(database_url, tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSERVER_", "DATABASE_URL"))}
    env.update(DATABASE_URL=database_url, COSERVER_DATA_DIR=str(tmp_path), COSERVER_SECRET_KEY="x" * 20)
    run = [sys.executable, "-m", "coserver.cli"]
    made = subprocess.run(
        [*run, "user", "create", "--username", "rose", "--password", "password-123"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    token = subprocess.run(
        [*run, "token", "create", "--username", "rose"], env=env, capture_output=True, text=True, timeout=120
    )
    assert token.returncode == 0 and token.stdout.strip().startswith("co_")
