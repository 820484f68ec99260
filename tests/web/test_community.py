"""Element pages: the layout contract, tabs, private elements, community actions and remote follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from coserver.models import Actor, Link
from tests.factories import app_db, make_element, make_person
from tests.servers import Reply, StubApp, serve_app
from tests.web.helpers import Browser

HEADER_KEYS = {
    "actor",
    "handle",
    "coords",
    "locality",
    "initial",
    "avatar_url",
    "counts",
    "member_count",
    "follower_count",
    "tab",
    "tabs",
    "viewer",
    "relation",
    "membership_type",
    "can_edit",
    "can_post",
    "can_join",
    "can_follow",
}
TABS = ("", "/community", "/events", "/projects", "/map", "/history")


async def _link(app, subject: Actor, obj: Actor, link_type: str) -> Link | None:
    async with app_db(app).session() as s:
        return await s.scalar(
            select(Link).where(
                Link.subject_id == subject.id, Link.object_id == obj.id, Link.type == link_type
            )
        )


async def test_header_context_contract(app, settings):
    from coserver.services.elements import get_local_actor
    from coserver.web.element_header import header_context

    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_element(
        db, settings, "project", "jardin", admin=marie, lat=-21.3, lon=55.5, locality="Le Tampon"
    )
    async with app.test_request_context("/@jardin"), db.session() as s:
        jardin = await get_local_actor(s, "jardin")
        anon = await header_context(s, None, jardin, "wall")
        admin = await header_context(s, await s.get(Actor, marie.id), jardin, "about")
    assert set(anon) == HEADER_KEYS and set(admin) == HEADER_KEYS
    assert anon["handle"] == "@jardin@127.0.0.1:8000" and anon["locality"] == "Le Tampon"
    assert round(anon["coords"][0], 1) == -21.3 and anon["initial"] == "J"
    assert [(key, url) for key, _label, url in anon["tabs"]][:2] == [
        ("about", "/@jardin"),
        ("wall", "/@jardin/wall"),
    ]
    assert anon["tab"] == "wall"
    assert not anon["can_edit"] and not anon["can_post"] and not anon["can_join"]
    assert (
        admin["relation"]["admin"] and admin["relation"]["member"] and admin["can_edit"] and admin["can_post"]
    )
    assert admin["membership_type"] == "contributor" and admin["member_count"] == 1
    assert set(admin["relation"]) == {
        "following",
        "follow_pending",
        "member",
        "admin",
        "pending",
        "invited",
        "admin_requested",
        "is_self",
        "membership_state",
    }


@pytest.mark.parametrize("kind", ["person", "organization", "project", "event", "poi"])
async def test_every_tab_renders_for_each_kind(app, settings, kind):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    if kind == "person":
        username = "marie"
        await make_element(db, settings, "organization", "kaz", admin=marie, lat=-21.3, lon=55.5)
    else:
        username = "thing"
        await make_element(
            db,
            settings,
            kind,
            "thing",
            admin=marie,
            name="Thing",
            lat=-21.3,
            lon=55.5,
            starts_at=datetime.now(UTC) + timedelta(days=1) if kind == "event" else None,
        )
    anonymous, member = Browser(app), Browser(app)
    await member.login(marie)
    for b in (anonymous, member):
        for tab in TABS:
            html = await b.text(f"/@{username}{tab}")
            key = tab.lstrip("/") or "about"
            assert f'id="tab-{key}"' in html and f'data-tab="{key}" aria-current="page"' in html
            assert 'data-tab="wall"' in html and f'href="/@{username}/wall"' in html
            assert 'data-copy="@' in html and "elements.css" in html
    map_html = await anonymous.text(f"/@{username}/map")
    assert 'id="element-map"' in map_html and 'id="element-map-points"' in map_html
    if kind == "person":
        assert "Kaz" in await anonymous.text("/@marie/projects")  # the organizations she belongs to
        assert "Kaz" in map_html


async def test_private_element_is_404_for_non_members(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    await make_element(db, settings, "project", "secret", admin=marie, is_private=True)
    anonymous, outsider, member = Browser(app), Browser(app), Browser(app)
    await outsider.login(paul)
    await member.login(marie)
    for tab in (*TABS, "/edit", "/remote-follow"):
        assert (await anonymous.get(f"/@secret{tab}")).status_code in (404, 302), tab
        assert (await outsider.get(f"/@secret{tab}")).status_code == 404, tab
    assert (await outsider.post("/@secret/join")).status_code == 404
    html = await member.text("/@secret")
    assert 'class="badge private-badge"' in html


async def test_activitypub_clients_get_the_actor(app, settings):
    await make_element(app_db(app), settings, "organization", "kaz")
    response = await Browser(app).get("/@kaz", headers={"Accept": "application/activity+json"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/actors/kaz")


async def test_follow_and_unfollow(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie)
    b = Browser(app)
    await b.login(paul)
    assert 'id="follow-button"' in await b.text("/@kaz")
    response = await b.post("/@kaz/follow")
    assert response.status_code == 303 and response.headers["Location"] == "/@kaz"
    assert (await _link(app, paul, kaz, "follower")).state == "accepted"
    page = await b.text("/@kaz")
    assert 'id="unfollow-button"' in page and 'class="flash' in page
    await b.post("/@kaz/unfollow")
    assert await _link(app, paul, kaz, "follower") is None
    # anonymous browsers are sent to the log-in page; they may follow remotely instead
    anonymous = Browser(app)
    assert (await anonymous.post("/@kaz/follow")).status_code == 302
    assert 'id="remote-follow-link"' in await anonymous.text("/@kaz")


async def test_join_open_project_and_leave(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    jardin = await make_element(db, settings, "project", "jardin", admin=marie)
    b = Browser(app)
    await b.login(paul)
    assert 'id="join-button"' in await b.text("/@jardin")
    assert (await b.post("/@jardin/join")).status_code == 303
    link = await _link(app, paul, jardin, "contributor")
    assert link.state == "accepted" and not link.is_admin  # open project: no validation
    assert 'id="leave-button"' in await b.text("/@jardin")
    community = await b.text("/@jardin/community")
    assert 'data-username="paul"' in community and 'class="badge admin-badge"' in community
    await b.post("/@jardin/leave")
    assert await _link(app, paul, jardin, "contributor") is None


async def test_join_organization_needs_validation(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    zoe = await make_person(db, settings, "zoe")
    kaz = await make_element(db, settings, "organization", "kaz", admin=marie)
    b = Browser(app)
    await b.login(paul)
    await b.post("/@kaz/join")
    assert (await _link(app, paul, kaz, "member")).state == "to_be_validated"
    assert 'id="membership-pending"' in await b.text("/@kaz")
    assert 'id="pending-requests"' not in await b.text("/@kaz/community")  # admins only
    z = Browser(app)
    await z.login(zoe)
    await z.post("/@kaz/join")
    admin = Browser(app)
    await admin.login(marie)
    community = await admin.text("/@kaz/community")
    assert 'id="pending-requests"' in community and 'data-state="to_be_validated"' in community
    # a non-admin cannot decide
    assert (await b.post("/@kaz/community/accept", {"username": "zoe"})).status_code == 303
    assert (await _link(app, zoe, kaz, "member")).state == "to_be_validated"
    await admin.post("/@kaz/community/accept", {"username": "paul", "next": "/@kaz/community"})
    await admin.post("/@kaz/community/refuse", {"username": "zoe"})
    assert (await _link(app, paul, kaz, "member")).state == "accepted"
    assert await _link(app, zoe, kaz, "member") is None


async def test_invitation_accepted_and_declined(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    zoe = await make_person(db, settings, "zoe")
    fete = await make_element(
        db, settings, "event", "fete", admin=marie, starts_at=datetime.now(UTC) + timedelta(days=3)
    )
    admin = Browser(app)
    await admin.login(marie)
    assert 'id="invite-form"' in await admin.text("/@fete/community")
    for who in ("paul", "zoe"):
        assert (await admin.post("/@fete/invite", {"username": who})).status_code == 303
    link = await _link(app, paul, fete, "attendee")
    assert link.state == "invited" and link.invited_by_id == marie.id
    assert 'data-state="invited"' in await admin.text("/@fete/community")
    await admin.post("/@fete/invite", {"username": "nobody"})
    assert "flash-error" in await admin.text("/@fete")
    p, z = Browser(app), Browser(app)
    await p.login(paul)
    await z.login(zoe)
    page = await p.text("/@fete")
    assert 'id="invitation-notice"' in page and 'id="accept-invitation-button"' in page
    await p.post("/@fete/invitation/accept")
    await z.post("/@fete/invitation/refuse")
    assert (await _link(app, paul, fete, "attendee")).state == "accepted"
    assert await _link(app, zoe, fete, "attendee") is None
    # only admins invite
    await p.post("/@fete/invite", {"username": "zoe"})
    assert await _link(app, zoe, fete, "attendee") is None


async def test_admin_request_accept_refuse_and_last_admin(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    zoe = await make_person(db, settings, "zoe")
    jardin = await make_element(db, settings, "project", "jardin", admin=marie)
    p, z, admin = Browser(app), Browser(app), Browser(app)
    await p.login(paul)
    await z.login(zoe)
    await admin.login(marie)
    await p.post("/@jardin/join")
    await z.post("/@jardin/join")
    assert 'id="admin-request-button"' in await p.text("/@jardin")
    await p.post("/@jardin/admin-request")
    await z.post("/@jardin/admin-request")
    assert (await _link(app, paul, jardin, "contributor")).state == "admin_requested"
    assert 'id="admin-request-pending"' in await p.text("/@jardin")
    assert 'data-state="admin_requested"' in await admin.text("/@jardin/community")
    await admin.post("/@jardin/community/accept", {"username": "paul"})
    await admin.post("/@jardin/community/refuse", {"username": "zoe"})
    paul_link, zoe_link = (
        await _link(app, paul, jardin, "contributor"),
        await _link(app, zoe, jardin, "contributor"),
    )
    assert paul_link.is_admin and paul_link.state == "accepted"
    assert not zoe_link.is_admin and zoe_link.state == "accepted"  # refused: still a contributor
    # make / unmake admins; never the last one
    await admin.post("/@jardin/community/make-admin", {"username": "zoe"})
    assert (await _link(app, zoe, jardin, "contributor")).is_admin
    await admin.post("/@jardin/community/unmake-admin", {"username": "zoe"})
    await admin.post("/@jardin/community/unmake-admin", {"username": "paul"})
    assert not (await _link(app, paul, jardin, "contributor")).is_admin
    await admin.post("/@jardin/community/unmake-admin", {"username": "marie"})
    assert (await _link(app, marie, jardin, "contributor")).is_admin  # the last admin stays
    await admin.post("/@jardin/leave")
    assert (await _link(app, marie, jardin, "contributor")) is not None
    assert "flash-error" in await admin.text("/@jardin")


@pytest.fixture
async def fediverse():
    stub = StubApp()
    async with serve_app(stub) as base:
        yield stub, base


async def test_remote_follow_redirects_to_the_subscribe_template(app, settings, fediverse):
    stub, base = fediverse
    host = base.removeprefix("http://")
    await make_element(app_db(app), settings, "organization", "kaz")
    stub.routes["/.well-known/webfinger"] = Reply.json(
        {
            "subject": f"acct:me@{host}",
            "links": [
                {"rel": "self", "type": "application/activity+json", "href": f"{base}/users/me"},
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"{base}/authorize_interaction?uri={{uri}}",
                },
            ],
        }
    )
    b = Browser(app)
    form = await b.text("/@kaz/remote-follow")
    assert 'id="remote-follow-form"' in form and 'name="handle"' in form
    response = await b.post("/@kaz/remote-follow", {"handle": f"@me@{host}"})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"{base}/authorize_interaction?uri=")
    assert unquote(location.split("uri=")[1]) == "http://127.0.0.1:8000/actors/kaz"
    assert stub.requests[-1].query == f"resource=acct%3Ame%40{host.replace(':', '%3A')}"


async def test_remote_follow_errors(app, settings, fediverse):
    stub, base = fediverse
    host = base.removeprefix("http://")
    await make_element(app_db(app), settings, "organization", "kaz")
    b = Browser(app, lang="fr")
    malformed = await b.post("/@kaz/remote-follow", {"handle": "not a handle"})
    body = await malformed.get_data(as_text=True)
    assert malformed.status_code == 400 and 'id="handle-error"' in body and "adresse du fédivers" in body
    unknown = await b.post("/@kaz/remote-follow", {"handle": f"@ghost@{host}"})  # the stub answers 404
    assert unknown.status_code == 400 and "introuvable" in await unknown.get_data(as_text=True)
    stub.routes["/.well-known/webfinger"] = Reply.json(
        {
            "subject": f"acct:me@{host}",
            "links": [{"rel": "self", "type": "application/activity+json", "href": "x"}],
        }
    )
    no_template = await b.post("/@kaz/remote-follow", {"handle": f"me@{host}"})
    assert no_template.status_code == 400
    assert "ne propose pas l’abonnement à distance" in await no_template.get_data(as_text=True)


async def test_person_page_shows_only_visible_fields(app, settings):
    from coserver.services.editing import update_element
    from coserver.services.places import PlaceInput

    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    async with db.transaction() as s:
        m = await s.get(Actor, marie.id)
        await update_element(
            s,
            settings,
            m,
            short_description="Composteuse",
            place=PlaceInput(lat=-21.3, lon=55.5, locality="Le Tampon", street="1 chemin secret"),
        )
        m.field_visibility = {"place": "hidden"}
    html = await Browser(app).text("/@marie")
    assert "Composteuse" in html
    assert "chemin secret" not in html and "Le Tampon" not in html and 'id="element-locality"' not in html
    assert "-21.3" not in await Browser(app).text("/@marie/map")
    me = Browser(app)
    await me.login(marie)
    assert "chemin secret" in await me.text("/@marie")  # she sees her own address
