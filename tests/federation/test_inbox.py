"""The inbox: verify before storing, 4xx for anything wrong, then the handlers (Follow, Undo, Accept,
Reject, Block, Update, Delete; unknown types stored and ignored)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from coserver.models import Actor, Delivery, InboxItem, Link
from coserver.services import follows
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import OTHER_PRIVATE_PEM, process_all, remote_actor, signed

ORG = "http://127.0.0.1:8000/actors/kaz"


def follow(actor: str, obj: str = ORG, id_: str = "https://remote.example/follows/1") -> dict:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id_,
        "type": "Follow",
        "actor": actor,
        "object": obj,
    }


async def _count(db, model, *where) -> int:
    async with db.session() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
async def node(app, settings):
    db = app_db(app)
    org = await make_element(db, settings, "organization", "kaz")
    bob = await remote_actor(db)
    return db, org, bob


async def test_signed_follow_is_stored_then_accepted(node, client, settings):
    db, org, bob = node
    activity = follow(bob.ap_id)
    body, headers = signed("/actors/kaz/inbox", activity, key_id=bob.key_id)
    response = await client.post("/actors/kaz/inbox", data=body, headers=headers)
    assert response.status_code == 202, await response.get_data()
    # The same activity again: deduplicated.
    body, headers = signed("/inbox", activity, key_id=bob.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 202
    assert await _count(db, InboxItem) == 1
    assert await process_all(db, settings) == [("Follow", "done")]
    async with db.session() as s:
        link = await s.scalar(select(Link).where(Link.object_id == org.id, Link.type == "follower"))
        delivery = await s.scalar(select(Delivery))
    assert (link.subject_id, link.state, link.activity_id) == (bob.id, "accepted", activity["id"])
    accept = orjson.loads(delivery.body)
    assert delivery.inbox_url == bob.inbox_url and delivery.actor_id == org.id
    assert accept["type"] == "Accept" and accept["actor"] == ORG and accept["object"] == activity


@pytest.mark.parametrize(
    "case", ["unsigned", "body", "digest", "signer_not_actor", "wrong_key", "unknown_key"]
)
async def test_forgeries_get_401_and_store_nothing(node, client, case):
    db, _org, bob = node
    activity = follow(bob.ap_id)
    body, headers = signed("/inbox", activity, key_id=bob.key_id)
    if case == "unsigned":
        headers.pop("Signature")
    elif case == "body":
        body = body.replace(b"follows/1", b"follows/2")
    elif case == "digest":
        headers["Digest"] = "SHA-256=" + "A" * 43 + "="
    elif case == "signer_not_actor":
        eve = await remote_actor(db, "eve")
        activity = follow(bob.ap_id)
        body, headers = signed("/inbox", activity, key_id=eve.key_id)
    elif case == "wrong_key":
        body, headers = signed("/inbox", activity, key_id=bob.key_id, private_pem=OTHER_PRIVATE_PEM)
    elif case == "unknown_key":
        # A key on a loopback port nobody serves: the fetch fails, so 401 (never 5xx).
        body, headers = signed("/inbox", follow("http://127.0.0.1:9/u"), key_id="http://127.0.0.1:9/u#k")
    response = await client.post("/inbox", data=body, headers=headers)
    assert response.status_code == 401, case
    assert "error" in await response.get_json()
    assert await _count(db, InboxItem) == 0


async def test_bad_requests(node, client):
    db, _org, bob = node
    body, headers = signed("/inbox", follow(bob.ap_id), key_id=bob.key_id, content_type="text/plain")
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 415
    body, headers = signed("/inbox", b"{not json", key_id=bob.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 400
    body, headers = signed("/inbox", b"[1, 2]", key_id=bob.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 400
    body, headers = signed("/inbox", {"type": "Follow"}, key_id=bob.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 400
    huge = {"type": "Create", "actor": bob.ap_id, "content": "x" * 1_100_000}
    body, headers = signed("/inbox", huge, key_id=bob.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 413
    assert (await client.post("/actors/nobody/inbox", data=b"{}", headers=headers)).status_code == 404
    assert await _count(db, InboxItem) == 0


async def _deliver(client, db, settings, bob, activity):
    body, headers = signed("/inbox", activity, key_id=bob.key_id)
    response = await client.post("/inbox", data=body, headers=headers)
    assert response.status_code == 202, await response.get_data()
    return await process_all(db, settings)


async def test_manual_approval_undo_and_unknown_types(app, client, settings):
    db = app_db(app)
    admin = await make_person(db, settings, "gerante")
    org = await make_element(
        db, settings, "organization", "kaz", admin=admin, manually_approves_followers=True
    )
    bob = await remote_actor(db)
    assert await _deliver(client, db, settings, bob, follow(bob.ap_id)) == [("Follow", "done")]
    assert await _count(db, Delivery) == 0  # waiting for an admin
    async with db.transaction() as s:
        pending = await follows.pending_follow_requests(s, org)
        assert [a.ap_id for a, _ in pending] == [bob.ap_id]
        await follows.decide_follow_request(s, org, pending[0][0], accept=True)
    async with db.session() as s:
        accept = orjson.loads((await s.scalar(select(Delivery))).body)
    assert accept["type"] == "Accept" and accept["object"]["id"] == "https://remote.example/follows/1"

    undo = {
        "id": "https://remote.example/undo/1",
        "type": "Undo",
        "actor": bob.ap_id,
        "object": follow(bob.ap_id),
        "@context": "https://www.w3.org/ns/activitystreams",
    }
    assert await _deliver(client, db, settings, bob, undo) == [("Undo", "done")]
    assert await _count(db, Link, Link.type == "follower") == 0

    move = {
        "id": "https://remote.example/x/1",
        "type": "Move",
        "actor": bob.ap_id,
        "object": bob.ap_id,
        "@context": "https://www.w3.org/ns/activitystreams",
    }
    assert await _deliver(client, db, settings, bob, move) == [("Move", "ignored")]


async def test_accept_and_reject_of_our_follows(app, client, settings):
    db = app_db(app)
    alice = await make_person(db, settings, "alice")
    bob = await remote_actor(db)
    async with db.transaction() as s:
        link = await follows.follow(
            s, settings, await s.get(Actor, alice.id), await s.get(Actor, bob.ap_id and bob.id)
        )
        follow_activity = link.activity
    assert link.state == "to_be_validated"
    async with db.session() as s:
        sent = orjson.loads((await s.scalar(select(Delivery))).body)
    assert sent["type"] == "Follow" and sent["object"] == bob.ap_id
    accept = {
        "id": "https://remote.example/acc/1",
        "type": "Accept",
        "actor": bob.ap_id,
        "object": follow_activity,
        "@context": "https://www.w3.org/ns/activitystreams",
    }
    assert await _deliver(client, db, settings, bob, accept) == [("Accept", "done")]
    assert await _count(db, Link, Link.state == "accepted") == 1
    # Unfollow sends an Undo embedding the Follow; a Reject afterwards matches nothing.
    async with db.transaction() as s:
        assert await follows.unfollow(s, await s.get(Actor, alice.id), await s.get(Actor, bob.id))
    async with db.session() as s:
        kinds = [
            orjson.loads(d.body)["type"] for d in await s.scalars(select(Delivery).order_by(Delivery.id))
        ]
    assert kinds == ["Follow", "Undo"]
    reject = {**accept, "id": "https://remote.example/rej/1", "type": "Reject"}
    assert await _deliver(client, db, settings, bob, reject) == [("Reject", "ignored")]


async def test_update_block_and_delete_of_actors(node, client, settings):
    db, _org, bob = node
    await _deliver(client, db, settings, bob, follow(bob.ap_id))
    update = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": "https://remote.example/upd/1",
        "type": "Update",
        "actor": bob.ap_id,
        "object": {
            "id": bob.ap_id,
            "type": "Person",
            "preferredUsername": "bob",
            "name": "Bob Hoarau",
            "inbox": bob.inbox_url,
            "summary": "<p>Hello<script>x</script></p>",
            "publicKey": {"id": bob.key_id, "owner": bob.ap_id, "publicKeyPem": bob.public_key_pem},
        },
    }
    assert await _deliver(client, db, settings, bob, update) == [("Update", "done")]
    async with db.session() as s:
        fresh = await s.get(Actor, bob.id)
    assert fresh.name == "Bob Hoarau" and "<script>" not in fresh.description_html
    spoof = {
        **update,
        "id": "https://remote.example/upd/2",
        "object": {**update["object"], "id": "https://remote.example/users/carol"},
    }
    assert await _deliver(client, db, settings, bob, spoof) == [("Update", "ignored")]

    block = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/b/1",
        "type": "Block",
        "actor": bob.ap_id,
        "object": ORG,
    }
    assert await _deliver(client, db, settings, bob, block) == [("Block", "done")]
    assert await _count(db, Link, Link.type == "follower") == 0

    await _deliver(client, db, settings, bob, follow(bob.ap_id, id_="https://remote.example/follows/2"))
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/d/1",
        "type": "Delete",
        "actor": bob.ap_id,
        "object": bob.ap_id,
    }
    assert await _deliver(client, db, settings, bob, delete) == [("Delete", "done")]
    async with db.session() as s:
        gone = await s.get(Actor, bob.id)
    assert gone.deleted_at is not None and gone.public_key_pem is None
    assert await _count(db, Link, Link.type == "follower") == 0


async def test_remote_events_are_stored_for_the_agenda(node, client, settings):
    db, _org, bob = node
    event = {
        "id": "https://remote.example/events/42",
        "type": "Event",
        "name": "Repair café",
        "attributedTo": bob.ap_id,
        "startTime": "2026-12-12T14:00:00+04:00",
        "endTime": "2026-12-12T18:00:00+04:00",
        "timezone": "Indian/Reunion",
        "content": "<p>Venez <script>x</script></p>",
        "url": "https://remote.example/e/42",
        "location": {
            "type": "Place",
            "name": "Kaz",
            "latitude": -21.34,
            "longitude": 55.48,
            "address": {"type": "PostalAddress", "addressLocality": "Saint-Pierre", "addressCountry": "RE"},
        },
    }
    create = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/c/42",
        "type": "Create",
        "actor": bob.ap_id,
        "object": event,
    }
    assert await _deliver(client, db, settings, bob, create) == [("Create", "done")]
    async with db.session() as s:
        stored = await s.scalar(select(Actor).where(Actor.ap_id == event["id"]))
    assert (stored.kind, stored.local, stored.name, stored.timezone) == (
        "event",
        False,
        "Repair café",
        "Indian/Reunion",
    )
    assert stored.starts_at.isoformat() == "2026-12-12T10:00:00+00:00" and stored.place_id is not None
    assert "<script>" not in stored.description_html

    update = {
        **create,
        "id": "https://remote.example/u/42",
        "type": "Update",
        "object": {**event, "name": "Repair café (complet)"},
    }
    assert await _deliver(client, db, settings, bob, update) == [("Update", "done")]
    # An event claimed by another server's actor is refused.
    eve = await remote_actor(db, "eve", "other.example")
    forged = {**create, "id": "https://other.example/c/1", "actor": eve.ap_id}
    body, headers = signed("/inbox", forged, key_id=eve.key_id)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 202
    assert (await process_all(db, settings)) == [("Create", "ignored")]
    delete = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://remote.example/d/42",
        "type": "Delete",
        "actor": bob.ap_id,
        "object": event["id"],
    }
    assert await _deliver(client, db, settings, bob, delete) == [("Delete", "done")]
    async with db.session() as s:
        stored = await s.scalar(select(Actor).where(Actor.ap_id == event["id"]))
    assert stored.name == "Repair café (complet)" and stored.deleted_at is not None
