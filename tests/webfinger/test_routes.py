"""The discovery endpoints on a real app and database: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree import ElementTree

import pytest
from sqlalchemy import update

from coserver import __version__
from coserver.models import Account, Actor
from tests.factories import app_db, make_element, make_person
from webfinger.routes import REL_PROFILE_PAGE, REL_SUBSCRIBE

BASE = "http://127.0.0.1:8000"
DOMAIN = "127.0.0.1:8000"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"


def wf(resource: str | None, *rels: str) -> str:
    params: list[tuple[str, str]] = [] if resource is None else [("resource", resource)]
    params += [("rel", rel) for rel in rels]
    return "/.well-known/webfinger?" + urlencode(params)


async def make_all_kinds(app, settings) -> None:
    db = app_db(app)
    alice = await make_person(db, settings, "alice")
    await make_element(db, settings, "organization", "kaz_compost", admin=alice)
    await make_element(db, settings, "project", "jardin", admin=alice)
    await make_element(db, settings, "event", "fet_kaf", starts_at=datetime.now(UTC) + timedelta(days=3))
    await make_element(db, settings, "poi", "cascade")


KINDS = [("alice", "person"), ("kaz_compost", "organization"), ("jardin", "project"), ("fet_kaf", "event")]
KINDS += [("cascade", "poi")]


@pytest.mark.parametrize(("username", "kind"), KINDS)
async def test_acct_and_url_resources_for_every_kind(app, client, settings, username, kind):
    await make_all_kinds(app, settings)
    actor_url = f"{BASE}/actors/{username}"
    profile = f"{BASE}/@{username}"
    expected = {
        "subject": f"acct:{username}@{DOMAIN}",
        "aliases": [profile, actor_url],
        "links": [
            {"rel": REL_PROFILE_PAGE, "type": "text/html", "href": profile},
            {"rel": "self", "type": "application/activity+json", "href": actor_url},
            {"rel": REL_SUBSCRIBE, "template": f"{BASE}/authorize_interaction?uri={{uri}}"},
        ],
    }
    for resource in (f"acct:{username}@{DOMAIN}", f"@{username}@{DOMAIN}", actor_url, profile):
        response = await client.get(wf(resource))
        assert response.status_code == 200, resource
        assert response.headers["Content-Type"] == "application/jrd+json"
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert json.loads(await response.get_data()) == expected, resource


async def test_acct_is_case_insensitive(app, client, settings):
    await make_person(app_db(app), settings, "alice")
    for resource in (f"acct:ALICE@{DOMAIN}", f"ACCT:Alice@{DOMAIN.upper()}", f"{BASE}/actors/Alice"):
        response = await client.get(wf(resource))
        assert response.status_code == 200, resource
        assert (await response.get_json())["subject"] == f"acct:alice@{DOMAIN}"


async def test_bare_user_at_domain_is_accepted_like_mastodon(app, client, settings):
    await make_person(app_db(app), settings, "alice")
    response = await client.get(wf(f"alice@{DOMAIN}"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "resource", [None, "", "foo", "acct:", "acct:@x", "acct:alice", "acct:alice@", "mailto:a@b", "x" * 2000]
)
async def test_malformed_resources_are_400_with_a_json_error(client, resource):
    response = await client.get(wf(resource))
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "error" in await response.get_json()


async def test_unknown_other_domain_private_and_deleted_are_404(app, client, settings):
    db = app_db(app)
    alice = await make_person(db, settings, "alice")
    await make_element(db, settings, "organization", "secret_club", admin=alice, is_private=True)
    gone = await make_element(db, settings, "project", "gone", admin=alice)
    async with db.transaction() as s:
        await s.execute(update(Actor).where(Actor.id == gone.id).values(deleted_at=datetime.now(UTC)))
    for resource in (
        f"acct:nobody@{DOMAIN}",
        "acct:alice@example.org",
        "acct:alice@127.0.0.1:9999",
        f"acct:secret_club@{DOMAIN}",
        f"{BASE}/actors/secret_club",
        f"acct:gone@{DOMAIN}",
        "https://example.org/actors/alice",
        f"{BASE}/somewhere/alice",
        f"{BASE}/actors/alice/outbox",
        f"{BASE}/actor",  # no instance actor row yet
        f"acct:actor@{DOMAIN}",
    ):
        response = await client.get(wf(resource))
        assert response.status_code == 404, resource
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "error" in await response.get_json()
    assert (await client.get(wf(f"acct:alice@{DOMAIN}"))).status_code == 200


async def test_instance_actor_answers_only_when_its_row_exists(app, client, settings):
    async with app_db(app).transaction() as s:
        s.add(Actor(kind="application", local=True, username="actor", ap_id=f"{BASE}/actor", name=DOMAIN))
    for resource in (f"acct:actor@{DOMAIN}", f"{BASE}/actor"):
        response = await client.get(wf(resource))
        assert response.status_code == 200, resource
        body = await response.get_json()
        assert body["subject"] == f"acct:actor@{DOMAIN}"
        assert body["aliases"] == [f"{BASE}/actor"]
        assert body["links"] == [
            {"rel": "self", "type": "application/activity+json", "href": f"{BASE}/actor"}
        ]
    # /actors/actor is not the instance actor's id
    assert (await client.get(wf(f"{BASE}/actors/actor"))).status_code == 404


async def test_rel_filter(app, client, settings):
    await make_person(app_db(app), settings, "alice")
    response = await client.get(wf(f"acct:alice@{DOMAIN}", "self"))
    body = await response.get_json()
    assert [link["rel"] for link in body["links"]] == ["self"]
    assert body["subject"] == f"acct:alice@{DOMAIN}" and body["aliases"]

    response = await client.get(wf(f"acct:alice@{DOMAIN}", "self", REL_PROFILE_PAGE))
    assert [link["rel"] for link in (await response.get_json())["links"]] == [REL_PROFILE_PAGE, "self"]

    response = await client.get(wf(f"acct:alice@{DOMAIN}", "http://example.org/unknown-rel"))
    assert (await response.get_json())["links"] == []


async def test_host_meta_xrd_and_json(client):
    response = await client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xrd+xml"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    root = ElementTree.fromstring(await response.get_data())
    assert root.tag == f"{XRD_NS}XRD"
    links = root.findall(f"{XRD_NS}Link")
    assert [(link.get("rel"), link.get("template")) for link in links] == [
        ("lrdd", f"{BASE}/.well-known/webfinger?resource={{uri}}")
    ]

    response = await client.get("/.well-known/host-meta.json")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["links"][0]["rel"] == "lrdd"
    assert body["links"][0]["template"] == f"{BASE}/.well-known/webfinger?resource={{uri}}"


async def test_nodeinfo_discovery_with_fep_2677_link(client):
    response = await client.get("/.well-known/nodeinfo")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (await response.get_json())["links"] == [
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": f"{BASE}/nodeinfo/2.0"},
        {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.1", "href": f"{BASE}/nodeinfo/2.1"},
        {"rel": "https://www.w3.org/ns/activitystreams#Application", "href": f"{BASE}/actor"},
    ]


async def test_nodeinfo_documents_count_real_rows(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_person(db, settings, "paul")
    await make_element(db, settings, "organization", "kaz_compost", admin=marie)

    for version in ("2.0", "2.1"):
        response = await client.get(f"/nodeinfo/{version}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == (
            f'application/json; profile="http://nodeinfo.diaspora.software/ns/schema/{version}#"'
        )
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = await response.get_json()
        assert body == {
            "version": version,
            "software": {"name": "coserver", "version": __version__},
            "protocols": ["activitypub"],
            "services": {"inbound": [], "outbound": []},
            "openRegistrations": True,
            "usage": {"users": {"total": 2, "activeMonth": 2, "activeHalfyear": 2}, "localPosts": 0},
            "metadata": {
                "nodeName": settings.territory_name,
                "elements": {"people": 2, "organizations": 1, "projects": 0, "events": 0, "pois": 0},
            },
        }
    assert (await client.get("/nodeinfo/1.0")).status_code == 404


async def test_nodeinfo_activity_windows_and_inactive_accounts(app, client, settings):
    db = app_db(app)
    now = datetime.now(UTC)
    people = {name: await make_person(db, settings, name) for name in ("a1", "a2", "a3", "a4", "a5")}
    async with db.transaction() as s:

        async def set_account(name: str, **values) -> None:
            await s.execute(update(Account).where(Account.person_id == people[name].id).values(**values))

        await set_account("a2", last_login_at=now - timedelta(days=100))  # half-year only
        await set_account("a3", created_at=now - timedelta(days=400))  # never logged in, long ago
        await set_account("a4", created_at=now - timedelta(days=400), last_login_at=now - timedelta(days=2))
        await set_account("a5", is_active=False)  # not counted at all
    body = await (await client.get("/nodeinfo/2.1")).get_json()
    assert body["usage"]["users"] == {"total": 4, "activeMonth": 2, "activeHalfyear": 3}


async def test_nodeinfo_counts_local_undeleted_posts(app, client, settings):
    from coserver.models import Post
    from coserver.services.posting import delete_post, post_on_wall

    db = app_db(app)
    alice = await make_person(db, settings, "alice")
    async with db.transaction() as s:
        me = await s.get(Actor, alice.id)
        for text_ in ("un", "deux", "trois"):
            post = await post_on_wall(s, settings, me, me, text_)
        await delete_post(s, settings, me, post)
        s.add(Post(ap_id="https://remote.example/n/1", local=False, author_id=me.id, wall_id=me.id))
    body = await (await client.get("/nodeinfo/2.1")).get_json()
    assert body["usage"]["localPosts"] == 2


async def test_nodeinfo_follows_settings(make_settings, database_url):
    from coserver.app import create_app

    app = create_app(
        make_settings(database_url=database_url, open_registrations=False, territory_name="Mayotte")
    )
    async with app.test_app():
        body = await (await app.test_client().get("/nodeinfo/2.1")).get_json()
    assert body["openRegistrations"] is False
    assert body["metadata"]["nodeName"] == "Mayotte"
