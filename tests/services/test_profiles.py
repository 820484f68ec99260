"""Profile visibility: who sees which field (anonymous, linked, unrelated, self) in ``profile_view``, the JSON
API, open data and the ActivityPub actor document; saving a profile federates Update(actor)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from coserver.models import Account, Actor, Delivery
from coserver.services.elements import add_link
from coserver.services.errors import InvalidInput
from coserver.services.places import PlaceInput
from coserver.services.profiles import ProfileInput, is_linked, profile_view, update_profile
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import remote_actor

FULL = ProfileInput(
    name="Lina K",
    short_description="Gardener in Saint-Denis",
    description="I grow #tomatoes",
    tags=["jardin"],
    urls=["https://lina.example"],
    email="hello@lina.example",
    phone="+262 692 00 00 00",
    place=PlaceInput(lat=-20.8821, lon=55.4504, locality="Saint-Denis", country="RE"),
    visibility={
        "short_description": "public",
        "description": "linked",
        "tags": "hidden",
        "place": "linked",
        "urls": "public",
        "email": "linked",
        "phone": "hidden",
    },
)


async def _save(db, settings, person: Actor, data: ProfileInput) -> list[str]:
    async with db.transaction() as s:
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
        return await update_profile(s, settings, account, await s.get(Actor, person.id), data)


async def _view(db, viewer: Actor | None, person: Actor) -> dict:
    async with db.session() as s:
        return await profile_view(
            s, await s.get(Actor, viewer.id) if viewer else None, await s.get(Actor, person.id)
        )


@pytest.fixture
async def people(db, make_settings):
    settings = make_settings()
    lina = await make_person(db, settings, "lina")
    follower = await make_person(db, settings, "follower")
    followed = await make_person(db, settings, "followed")
    comember = await make_person(db, settings, "comember")
    stranger = await make_person(db, settings, "stranger")
    org = await make_element(db, settings, "organization", "kaz")
    async with db.transaction() as s:
        get = s.get
        await add_link(s, await get(Actor, follower.id), await get(Actor, lina.id), "follower")
        await add_link(s, await get(Actor, lina.id), await get(Actor, followed.id), "follower")
        await add_link(s, await get(Actor, lina.id), await get(Actor, org.id), "member")
        await add_link(s, await get(Actor, comember.id), await get(Actor, org.id), "member")
        # A pending membership is no link yet.
        await add_link(
            s, await get(Actor, stranger.id), await get(Actor, org.id), "member", state="to_be_validated"
        )
    await _save(db, settings, lina, FULL)
    return (
        settings,
        lina,
        {"follower": follower, "followed": followed, "comember": comember, "stranger": stranger},
    )


async def test_linked_means_follow_either_way_or_shared_membership(db, people):
    _settings, lina, others = people
    async with db.session() as s:
        target = await s.get(Actor, lina.id)
        found = {name: await is_linked(s, await s.get(Actor, p.id), target) for name, p in others.items()}
    assert found == {"follower": True, "followed": True, "comember": True, "stranger": False}


async def test_visibility_matrix(db, people):
    _settings, lina, others = people
    anonymous = await _view(db, None, lina)
    stranger = await _view(db, others["stranger"], lina)
    for linked_name in ("follower", "followed", "comember"):
        linked = await _view(db, others[linked_name], lina)
        assert linked["description_html"] and linked["place"]["locality"] == "Saint-Denis"
        assert linked["email"] == "hello@lina.example"
        assert "tags" not in linked and "phone" not in linked and "visibility" not in linked
    for view in (anonymous, stranger):
        assert view["short_description"] == "Gardener in Saint-Denis"
        assert view["urls"] == [{"type": "website", "url": "https://lina.example"}]
        for hidden in ("description_html", "place", "email", "phone", "tags", "description_source"):
            assert hidden not in view, hidden
        assert view["name"] == "Lina K" and view["username"] == "lina"
    me = await _view(db, lina, lina)
    assert me["is_self"] and me["tags"] == ["jardin"] and me["phone"] == "+262 692 00 00 00"
    assert me["description_source"] == "I grow #tomatoes" and me["visibility"]["tags"] == "hidden"
    assert round(me["place"]["lat"], 4) == -20.8821


async def test_contact_details_are_hidden_by_default(db, make_settings):
    settings = make_settings()
    lina = await make_person(db, settings, "lina")
    await _save(db, settings, lina, ProfileInput(name="Lina", email="hello@lina.example", phone="0262"))
    view = await _view(db, None, lina)
    assert "email" not in view and "phone" not in view and view["short_description"] == ""
    assert (await _view(db, lina, lina))["email"] == "hello@lina.example"


async def test_invalid_visibility_is_refused(db, make_settings):
    settings = make_settings()
    lina = await make_person(db, settings, "lina")
    with pytest.raises(InvalidInput) as caught:
        await _save(db, settings, lina, ProfileInput(name="Lina", visibility={"email": "friends"}))
    assert caught.value.field == "vis_email"


async def test_api_open_data_and_actor_document_carry_public_fields_only(app, settings):
    db = app_db(app)
    lina = await make_person(db, settings, "lina")
    await _save(db, settings, lina, FULL)
    client = app.test_client()
    data = await (await client.get("/api/v1/elements/lina")).get_json()
    assert (
        data["short_description"] == "Gardener in Saint-Denis"
        and data["urls"][0]["url"] == "https://lina.example"
    )
    assert data["description_html"] == "" and data["tags"] == [] and data["place"] is None
    vcard = await (await client.get("/api/v1/elements/lina/vcard")).get_data(as_text=True)
    assert "hello@lina.example" not in vcard and "692" not in vcard and "\r\nADR" not in vcard
    assert "GEO:" not in vcard and "FN:Lina K" in vcard
    jsonld = await (await client.get("/api/v1/elements/lina/jsonld")).get_data(as_text=True)
    assert 'Saint-Denis"' not in jsonld.replace("Gardener in Saint-Denis", "") and "jardin" not in jsonld
    response = await client.get("/actors/lina", headers={"Accept": "application/activity+json"})
    doc = await response.get_json()
    assert doc["name"] == "Lina K" and doc["summary"] == "<p>Gardener in Saint-Denis</p>"
    assert "location" not in doc and "tag" not in doc
    assert any("lina.example" in a["value"] for a in doc["attachment"])
    # Everything public: everything goes out.
    await _save(
        db,
        settings,
        lina,
        ProfileInput(**{**FULL.__dict__, "visibility": dict.fromkeys(FULL.visibility, "public")}),
    )
    doc = await (await client.get("/actors/lina", headers={"Accept": "application/activity+json"})).get_json()
    assert (
        "tomatoes" in doc["summary"]
        and doc["location"]["name"] is not None
        and doc["tag"][0]["name"] == "#jardin"
    )
    data = await (await client.get("/api/v1/elements/lina")).get_json()
    assert data["place"]["locality"] == "Saint-Denis" and data["tags"] == ["jardin"]


async def test_saving_federates_update_even_when_only_visibility_changes(db, make_settings):
    settings = make_settings()
    lina = await make_person(db, settings, "lina")
    bob = await remote_actor(db, "bob", "one.example")
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, bob.id), await s.get(Actor, lina.id), "follower")
    await _save(db, settings, lina, FULL)
    hide_more = ProfileInput(
        **{**FULL.__dict__, "visibility": {**FULL.visibility, "short_description": "hidden"}}
    )
    changed = await _save(db, settings, lina, hide_more)
    assert changed == ["visibility"]
    async with db.session() as s:
        bodies = [orjson.loads(d.body) for d in await s.scalars(select(Delivery).order_by(Delivery.id))]
    assert [b["type"] for b in bodies] == ["Update", "Update"]
    assert bodies[0]["object"]["summary"] == "<p>Gardener in Saint-Denis</p>"
    assert bodies[1]["object"]["summary"] == "" and "location" not in bodies[1]["object"]
    assert await _save(db, settings, lina, hide_more) == []  # nothing changed, nothing sent
