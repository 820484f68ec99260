"""Actor documents, content negotiation, collections and the instance actor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coserver.services.elements import add_link
from tests.factories import app_db, make_element, make_person

AP = "application/activity+json"


async def test_actor_document_of_an_organization(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_element(
        db,
        settings,
        "organization",
        "jardin-partage",
        name="Jardin partagé",
        admin=marie,
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
        subtype="ngo",
        tags=["compost"],
    )
    response = await client.get("/actors/jardin-partage", headers={"Accept": AP})
    assert response.status_code == 200
    assert response.mimetype == AP
    doc = await response.get_json()
    assert doc["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert doc["type"] == "Organization" and doc["elementType"] == "organization"
    assert doc["id"] == "http://127.0.0.1:8000/actors/jardin-partage"
    assert doc["preferredUsername"] == "jardin-partage"
    assert doc["webfinger"] == "jardin-partage@127.0.0.1:8000"
    assert doc["publicKey"]["id"] == doc["id"] + "#main-key" and doc["publicKey"]["owner"] == doc["id"]
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert doc["endpoints"]["sharedInbox"] == "http://127.0.0.1:8000/inbox"
    for key in ("inbox", "outbox", "followers", "following", "featured"):
        assert doc[key].startswith(doc["id"])
    assert doc["location"]["type"] == "Place" and abs(doc["location"]["latitude"] + 21.34) < 1e-9
    assert doc["manuallyApprovesFollowers"] is False and doc["discoverable"] is True
    assert {"type": "PropertyValue", "name": "Type", "value": "Organisation"} in doc["attachment"]
    assert doc["tag"][0]["name"] == "#compost"
    assert "privateKeyPem" not in str(doc)


async def test_content_negotiation(app, client, settings):
    await make_element(app_db(app), settings, "project", "rivage")
    html = await client.get("/actors/rivage", headers={"Accept": "text/html"})
    assert html.status_code == 302 and html.headers["Location"].endswith("/@rivage")
    mixed = await client.get("/actors/rivage", headers={"Accept": f"text/html, {AP};q=0.1"})
    assert mixed.status_code == 200 and (await mixed.get_json())["type"] == "Group"
    ld = await client.get(
        "/actors/rivage",
        headers={"Accept": 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'},
    )
    assert ld.status_code == 200
    profile = await client.get("/@rivage", headers={"Accept": AP})
    assert profile.status_code == 302 and profile.headers["Location"].endswith("/actors/rivage")


async def test_private_elements_are_not_exposed(app, client, settings):
    await make_element(app_db(app), settings, "organization", "cercle_prive", is_private=True)
    for path in ("/actors/cercle_prive", "/actors/cercle_prive/followers", "/actors/cercle_prive/outbox"):
        assert (await client.get(path, headers={"Accept": AP})).status_code == 404
    assert (await client.get("/actors/nobody", headers={"Accept": AP})).status_code == 404


async def test_event_is_a_group_and_an_event_object(app, client, settings):
    start = datetime(2026, 12, 12, 10, 0, tzinfo=UTC)
    await make_element(
        app_db(app),
        settings,
        "event",
        "kabar",
        name="Kabar",
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        timezone="Indian/Reunion",
        subtype="concert",
        capacity=80,
    )
    doc = await (await client.get("/actors/kabar", headers={"Accept": AP})).get_json()
    assert doc["type"] == "Group" and doc["elementType"] == "event"
    assert doc["eventObject"] == doc["id"] + "/event"
    event = await (await client.get("/actors/kabar/event", headers={"Accept": AP})).get_json()
    assert event["type"] == "Event" and event["id"] == doc["eventObject"]
    assert event["startTime"] == "2026-12-12T14:00:00+04:00" and event["timezone"] == "Indian/Reunion"
    assert event["summary"].startswith("samedi 12 décembre 2026 14:00 (UTC+04:00)")
    assert event["category"] == "MUSIC" and event["maximumAttendeeCapacity"] == 80
    assert event["location"]["latitude"] == -21.34
    featured = await (await client.get("/actors/kabar/featured", headers={"Accept": AP})).get_json()
    assert featured["totalItems"] == 1 and featured["orderedItems"][0]["id"] == doc["eventObject"]


async def test_followers_collection_is_paged(app, client, settings):
    db = app_db(app)
    org = await make_element(db, settings, "organization", "kaz")
    people = [await make_person(db, settings, f"p{i}") for i in range(3)]
    async with db.transaction() as s:
        for person in people:
            await add_link(s, person, org, "follower")
    coll = await (await client.get("/actors/kaz/followers", headers={"Accept": AP})).get_json()
    assert coll["type"] == "OrderedCollection" and coll["totalItems"] == 3
    page = await (await client.get(coll["first"], headers={"Accept": AP})).get_json()
    assert page["type"] == "OrderedCollectionPage" and page["partOf"] == coll["id"]
    assert sorted(page["orderedItems"]) == sorted(p.ap_id for p in people)
    assert (await client.get("/actors/kaz/followers?page=abc")).status_code == 400


async def test_instance_actor_is_an_application(client):
    response = await client.get("/actor", headers={"Accept": AP})
    doc = await response.get_json()
    assert response.status_code == 200 and doc["type"] == "Application"
    assert doc["id"] == "http://127.0.0.1:8000/actor" and doc["publicKey"]["owner"] == doc["id"]
    again = await (await client.get("/actor")).get_json()
    assert again["publicKey"]["publicKeyPem"] == doc["publicKey"]["publicKeyPem"]
