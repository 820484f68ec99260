"""Remote fetches and key resolution against real loopback servers: key documents with an owner
(GoToSocial style), key rotation (one refetch), id mismatches, content types, private addresses."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coserver.models import InboxItem
from federation.context import FederationContext
from federation.fetch import FetchError, _last_refetch, fetch_document, resolve_key
from federation.http import make_client
from tests.factories import app_db, make_element
from tests.federation.helpers import OTHER_PRIVATE_PEM, OTHER_PUBLIC_PEM, PUBLIC_PEM, signed
from tests.servers import Reply, StubApp, serve_app

AP_JSON = "application/activity+json"


def actor_doc(base: str, name: str, pem: str, key_id: str | None = None) -> dict:
    actor_id = f"{base}/users/{name}"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": f"{actor_id}/inbox",
        "publicKey": {"id": key_id or f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
    }


@pytest.fixture
async def remote():
    """A stub fediverse server on a loopback port."""
    stub = StubApp()
    async with serve_app(stub) as base:
        yield stub, base


async def test_key_document_with_owner(db, make_settings, remote):
    stub, base = remote
    key_id = f"{base}/users/gts/main-key"
    stub.routes["/users/gts"] = Reply.json(actor_doc(base, "gts", PUBLIC_PEM, key_id), content_type=AP_JSON)
    stub.routes["/users/gts/main-key"] = Reply.json(
        {
            "@context": "https://w3id.org/security/v1",
            "id": key_id,
            "type": "CryptographicKey",
            "owner": f"{base}/users/gts",
            "publicKeyPem": PUBLIC_PEM,
        },
        content_type=AP_JSON,
    )
    settings = make_settings(database_url=db.url)
    async with make_client(settings) as http, db.transaction() as s:
        actor = await resolve_key(FederationContext(settings, db, http), s, key_id)
    assert actor.ap_id == f"{base}/users/gts" and actor.key_id == key_id
    # Our GETs are signed by the instance actor.
    assert all("signature" in r.headers for r in stub.requests)


async def test_key_document_whose_owner_does_not_list_it(db, make_settings, remote):
    stub, base = remote
    key_id = f"{base}/keys/stolen"
    stub.routes["/users/gts"] = Reply.json(actor_doc(base, "gts", PUBLIC_PEM), content_type=AP_JSON)
    stub.routes["/keys/stolen"] = Reply.json(
        {"id": key_id, "owner": f"{base}/users/gts", "publicKeyPem": OTHER_PUBLIC_PEM}, content_type=AP_JSON
    )
    settings = make_settings(database_url=db.url)
    async with make_client(settings) as http, db.transaction() as s:
        with pytest.raises(FetchError, match="does not list"):
            await resolve_key(FederationContext(settings, db, http), s, key_id)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply.json({"id": "https://elsewhere.example/x", "type": "Note"}, content_type=AP_JSON),
            "another id",
        ),
        (Reply.json({"id": "SELF", "type": "Note"}, content_type="application/json"), "not served as"),
        (Reply(status=200, body=b"<html>", headers={"Content-Type": "text/html"}), "not served as"),
        (Reply(status=200, body=b"{nope", headers={"Content-Type": AP_JSON}), "not valid JSON"),
        (Reply(status=410), "410"),
        (Reply(status=200, body=b"x" * 1_200_000, headers={"Content-Type": AP_JSON}), "larger than"),
    ],
)
async def test_unacceptable_documents(db, make_settings, remote, reply, message):
    stub, base = remote
    if reply.body.startswith(b'{"id": "SELF"'):
        reply.body = reply.body.replace(b"SELF", f"{base}/doc".encode())
    stub.routes["/doc"] = reply
    settings = make_settings(database_url=db.url)
    async with make_client(settings) as http:
        with pytest.raises(FetchError, match=message):
            await fetch_document(FederationContext(settings, db, http), f"{base}/doc")


async def test_redirects_are_followed_and_bounded(db, make_settings, remote):
    stub, base = remote
    stub.routes["/old"] = Reply.redirect(f"{base}/new")
    stub.routes["/new"] = Reply.json({"id": f"{base}/new", "type": "Note"}, content_type=AP_JSON)
    for i in range(5):
        stub.routes[f"/loop{i}"] = Reply.redirect(f"{base}/loop{i + 1}")
    settings = make_settings(database_url=db.url)
    async with make_client(settings) as http:
        ctx = FederationContext(settings, db, http)
        assert (await fetch_document(ctx, f"{base}/old"))["id"] == f"{base}/new"
        with pytest.raises(FetchError, match="too many redirects"):
            await fetch_document(ctx, f"{base}/loop0")


async def test_private_addresses_refused_unless_allowed(db, make_settings, remote):
    stub, base = remote
    stub.routes["/doc"] = Reply.json({"id": f"{base}/doc"}, content_type=AP_JSON)
    settings = make_settings(database_url=db.url, allow_private_addresses=False)
    async with make_client(settings) as http:
        with pytest.raises(FetchError, match="non-public address"):
            await fetch_document(FederationContext(settings, db, http), f"{base}/doc")
    assert stub.requests == []


async def test_rotated_key_is_refetched_once(app, client, settings, remote):
    """The sender rotated its key: the cached one fails, we refetch once, then accept."""
    stub, base = remote
    db = app_db(app)
    await make_element(db, settings, "organization", "kaz")
    doc = actor_doc(base, "rot", PUBLIC_PEM)
    stub.routes["/users/rot"] = lambda request: Reply.json(doc, content_type=AP_JSON)
    follow = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{base}/f/1",
        "type": "Follow",
        "actor": doc["id"],
        "object": f"{settings.base_url}/actors/kaz",
    }
    body, headers = signed("/inbox", follow, key_id=doc["publicKey"]["id"])
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 202
    # Rotation: the actor now publishes another key and signs with it.
    doc["publicKey"] = {**doc["publicKey"], "publicKeyPem": OTHER_PUBLIC_PEM}
    _last_refetch.clear()
    before = len(stub.requests)
    follow2 = {**follow, "id": f"{base}/f/2"}
    body, headers = signed("/inbox", follow2, key_id=doc["publicKey"]["id"], private_pem=OTHER_PRIVATE_PEM)
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 202
    assert len(stub.requests) == before + 1  # exactly one refetch
    # A request signed with the old key right after: no second refetch within the interval, 401.
    follow3 = {**follow, "id": f"{base}/f/3"}
    body, headers = signed("/inbox", follow3, key_id=doc["publicKey"]["id"])
    assert (await client.post("/inbox", data=body, headers=headers)).status_code == 401
    assert len(stub.requests) == before + 1
    async with db.session() as s:
        assert await s.scalar(select(func.count()).select_from(InboxItem)) == 2
