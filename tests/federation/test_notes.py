"""Posts to and from the fediverse: the Note we serve (410 once deleted), the outbox and replies
collections, replies becoming comments, reactions and shares counted, unsolicited posts refused."""

from __future__ import annotations

from sqlalchemy import select

from coserver.models import Actor, Post
from coserver.services.elements import add_link
from coserver.services.posting import delete_post, post_on_wall
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import process_all, remote_actor, signed

AP = {"Accept": "application/activity+json"}
AS = "https://www.w3.org/ns/activitystreams"


async def _setup(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    org = await make_element(db, settings, "organization", "kaz", admin=marie)
    bob = await remote_actor(db)
    async with db.transaction() as s:
        post = await post_on_wall(
            s,
            settings,
            await s.get(Actor, marie.id),
            await s.get(Actor, org.id),
            "Chantier compost samedi #compost",
        )
    return db, marie, org, bob, post


async def _deliver(client, db, settings, bob, activity):
    body, headers = signed("/inbox", activity, key_id=bob.key_id)
    response = await client.post("/inbox", data=body, headers=headers)
    assert response.status_code == 202, await response.get_data()
    return await process_all(db, settings)


async def test_note_outbox_replies_and_tombstone(app, client, settings):
    db, marie, org, bob, post = await _setup(app, settings)
    note = await (await client.get(f"/posts/{post.id}", headers=AP)).get_json()
    assert note["type"] == "Note" and note["id"] == post.ap_id and note["attributedTo"] == marie.ap_id
    assert note["audience"] == org.ap_id and note["replies"] == f"{post.ap_id}/replies"
    outbox = await (await client.get("/actors/kaz/outbox", headers=AP)).get_json()
    assert outbox["totalItems"] == 1
    page = await (await client.get(outbox["first"], headers=AP)).get_json()
    assert (
        page["orderedItems"][0]["type"] == "Create" and page["orderedItems"][0]["object"]["id"] == post.ap_id
    )

    reply = {
        "@context": AS,
        "id": "https://remote.example/notes/1",
        "type": "Note",
        "attributedTo": bob.ap_id,
        "inReplyTo": post.ap_id,
        "content": "<p>J'arrive !<script>alert(1)</script></p>",
        "to": [f"{AS}#Public"],
        "published": "2026-11-22T10:00:00Z",
    }
    create = {
        "@context": AS,
        "id": "https://remote.example/notes/1/activity",
        "type": "Create",
        "actor": bob.ap_id,
        "object": reply,
    }
    assert await _deliver(client, db, settings, bob, create) == [("Create", "done")]
    replies = await (await client.get(f"/posts/{post.id}/replies", headers=AP)).get_json()
    assert replies["first"]["items"] == [reply["id"]]
    async with db.session() as s:
        comment = await s.scalar(select(Post).where(Post.ap_id == reply["id"]))
        parent = await s.get(Post, post.id)
    assert comment.in_reply_to_id == post.id and comment.wall_id == org.id and comment.local is False
    assert "<script>" not in comment.content_html and parent.replies_count == 1

    async with db.transaction() as s:
        await delete_post(s, settings, await s.get(Actor, marie.id), await s.get(Post, post.id))
    gone = await client.get(f"/posts/{post.id}", headers=AP)
    assert gone.status_code == 410 and (await gone.get_json())["type"] == "Tombstone"


async def test_reactions_shares_and_undo(app, client, settings):
    db, _marie, _org, bob, post = await _setup(app, settings)
    like = {
        "@context": AS,
        "id": "https://remote.example/likes/1",
        "type": "Like",
        "actor": bob.ap_id,
        "object": post.ap_id,
    }
    emoji = {
        "@context": AS,
        "id": "https://remote.example/react/1",
        "type": "EmojiReact",
        "actor": bob.ap_id,
        "object": post.ap_id,
        "content": "🌱",
    }
    announce = {
        "@context": AS,
        "id": "https://remote.example/boost/1",
        "type": "Announce",
        "actor": bob.ap_id,
        "object": post.ap_id,
        "to": [f"{AS}#Public"],
    }
    for activity in (like, emoji, announce):
        assert (await _deliver(client, db, settings, bob, activity))[0][1] == "done"
    async with db.session() as s:
        counted = await s.get(Post, post.id)
    assert (counted.likes_count, counted.shares_count) == (2, 1)
    undo = {
        "@context": AS,
        "id": "https://remote.example/undo/9",
        "type": "Undo",
        "actor": bob.ap_id,
        "object": {k: v for k, v in like.items() if k != "@context"},
    }
    assert await _deliver(client, db, settings, bob, undo) == [("Undo", "done")]
    async with db.session() as s:
        counted = await s.get(Post, post.id)
    assert counted.likes_count == 1
    stray = {**like, "id": "https://remote.example/likes/2", "object": "https://elsewhere.example/notes/9"}
    assert await _deliver(client, db, settings, bob, stray) == [("Like", "ignored")]


async def test_followed_posts_kept_unsolicited_refused_updates_and_deletes(app, client, settings):
    db = app_db(app)
    paul = await make_person(db, settings, "paul")
    bob = await remote_actor(db)
    eve = await remote_actor(db, "eve")
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, paul.id), await s.get(Actor, bob.id), "follower")

    def create(actor, n, **extra):
        note = {
            "id": f"https://remote.example/users/{actor.username}/notes/{n}",
            "type": "Note",
            "attributedTo": actor.ap_id,
            "content": f"<p>note {n}</p>",
            "to": [f"{AS}#Public"],
            **extra,
        }
        return {
            "@context": AS,
            "id": note["id"] + "/activity",
            "type": "Create",
            "actor": actor.ap_id,
            "object": note,
        }

    assert await _deliver(client, db, settings, bob, create(bob, 1)) == [("Create", "done")]
    body, headers = signed("/inbox", create(eve, 1), key_id=eve.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 202
    assert await process_all(db, settings) == [("Create", "ignored")]  # nobody here follows eve
    foreign = create(bob, 2)
    foreign["object"]["id"] = "https://elsewhere.example/notes/2"
    assert await _deliver(client, db, settings, bob, foreign) == [("Create", "ignored")]

    note = create(bob, 1)["object"]
    newer = {
        "@context": AS,
        "id": "https://remote.example/upd/1",
        "type": "Update",
        "actor": bob.ap_id,
        "object": {**note, "content": "<p>edited</p>", "updated": "2026-11-22T12:00:00Z"},
    }
    assert await _deliver(client, db, settings, bob, newer) == [("Update", "done")]
    older = {
        **newer,
        "id": "https://remote.example/upd/2",
        "object": {**note, "content": "<p>older</p>", "updated": "2026-11-22T11:00:00Z"},
    }
    assert await _deliver(client, db, settings, bob, older) == [("Update", "ignored")]
    delete = {
        "@context": AS,
        "id": "https://remote.example/del/1",
        "type": "Delete",
        "actor": bob.ap_id,
        "object": {"id": note["id"], "type": "Tombstone"},
    }
    assert await _deliver(client, db, settings, bob, delete) == [("Delete", "done")]
    async with db.session() as s:
        stored = await s.scalar(select(Post).where(Post.ap_id == note["id"]))
    assert stored.content_html == "<p>edited</p>" and stored.deleted_at is not None


async def test_live_includes_remote_posts_located_in_the_territory(app, client, settings):
    from coserver.services import timelines

    db = app_db(app)
    paul = await make_person(db, settings, "paul")
    bob = await remote_actor(db)
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, paul.id), await s.get(Actor, bob.id), "follower")

    def create(n: int, lat: float, lon: float) -> dict:
        note = {
            "id": f"https://remote.example/notes/loc{n}",
            "type": "Note",
            "attributedTo": bob.ap_id,
            "content": f"<p>ici {n}</p>",
            "to": [f"{AS}#Public"],
            "location": {"type": "Place", "latitude": lat, "longitude": lon},
        }
        return {"@context": AS, "id": note["id"] + "/a", "type": "Create", "actor": bob.ap_id, "object": note}

    assert await _deliver(client, db, settings, bob, create(1, -21.30, 55.50)) == [("Create", "done")]
    await _deliver(client, db, settings, bob, create(2, 48.11, -1.68))  # Rennes, far away
    async with db.session() as s:
        page = await timelines.live(s, territory=settings.territory)
    assert [p.ap_id for p in page.posts] == ["https://remote.example/notes/loc1"]
    api = await (await client.get("/api/v1/timelines/live")).get_json()
    assert [p["ap_id"] for p in api["items"]] == ["https://remote.example/notes/loc1"]
