"""Creating elements: usernames, kind-specific rules, places, admin links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coserver.models import Actor, Link
from coserver.services.elements import ElementInput, create_element, get_local_actor
from coserver.services.errors import Conflict, InvalidInput
from coserver.services.places import PlaceInput, coordinates
from coserver.services.usernames import normalize_username, slugify


@pytest.mark.parametrize("raw", ["jardin-partage", "asso_x", "co.op", "a1", "Jardin_Partage"])
def test_valid_usernames(raw):
    assert normalize_username(raw) == raw.lower()


@pytest.mark.parametrize("raw", ["", "-start", "end-", "espace vide", "café", "a..", "x" * 65, "admin", "@"])
def test_invalid_usernames(raw):
    with pytest.raises(InvalidInput) as info:
        normalize_username(raw)
    assert info.value.field == "username"


def test_slugify():
    assert slugify("Jardin partagé de la Ravine") == "jardin_partage_de_la_ravine"
    assert slugify("!!!") == "element"


async def test_create_organization_with_place_and_admin(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        admin = await create_element(s, settings, ElementInput(kind="person", username="marie", name="Marie"))
        org = await create_element(
            s,
            settings,
            ElementInput(
                kind="organization",
                username="Jardin-Partage",
                name="Jardin <b>partagé</b>",
                subtype="ngo",
                tags=["#Compost", "compost", "Jardin"],
                description="Un jardin.\n\nOuvert à tous <script>x</script>",
                place=PlaceInput(
                    lat=-21.3393, lon=55.4781, locality="Saint-Pierre", postal_code="97410", country="re"
                ),
            ),
            admin=admin,
        )
    assert org.username == "jardin-partage"
    assert org.ap_id == "http://127.0.0.1:8000/actors/jardin-partage"
    assert org.inbox_url.endswith("/actors/jardin-partage/inbox")
    assert org.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert org.name == "Jardin partagé"
    assert org.tags == ["compost", "jardin"]
    assert "<script>" not in org.description_html and "<p>" in org.description_html
    async with db.session() as s:
        loaded = await get_local_actor(s, "JARDIN-PARTAGE")
        assert loaded is not None and loaded.place.country == "RE"
        lat, lon = coordinates(loaded.place)
        assert abs(lat + 21.3393) < 1e-9 and abs(lon - 55.4781) < 1e-9
        link = await s.scalar(select(Link).where(Link.object_id == org.id))
        assert (link.subject_id, link.type, link.is_admin, link.state) == (
            admin.id,
            "member",
            True,
            "accepted",
        )


async def test_usernames_are_one_namespace_across_kinds(db, make_settings):
    settings = make_settings()
    async with db.transaction() as s:
        await create_element(s, settings, ElementInput(kind="person", username="rivage", name="Rivage"))
    async with db.transaction() as s:
        with pytest.raises(Conflict):
            await create_element(s, settings, ElementInput(kind="project", username="Rivage", name="Projet"))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "planet"}, "kind"),
        ({"kind": "organization", "subtype": "kingdom"}, "type"),
        ({"kind": "project", "stage": "finished"}, "stage"),
        ({"kind": "event"}, "start"),
        (
            {
                "kind": "event",
                "starts_at": datetime(2026, 1, 2, tzinfo=UTC),
                "ends_at": datetime(2026, 1, 1, tzinfo=UTC),
            },
            "end",
        ),
        ({"kind": "event", "starts_at": datetime(2026, 1, 2)}, "start"),
        (
            {"kind": "event", "starts_at": datetime(2026, 1, 2, tzinfo=UTC), "timezone": "Nowhere/City"},
            "timezone",
        ),
        ({"kind": "organization", "starts_at": datetime(2026, 1, 2, tzinfo=UTC)}, "start"),
        ({"kind": "poi", "place": PlaceInput(lat=95, lon=0)}, "lat"),
        ({"kind": "poi", "urls": [{"type": "website", "url": "javascript:alert(1)"}]}, "urls"),
        ({"kind": "poi", "name": "   "}, "name"),
    ],
)
async def test_invalid_elements_are_refused(db, make_settings, changes, field):
    data = ElementInput(kind="organization", username="bad_one", name="Bad")
    for key, value in changes.items():
        setattr(data, key, value)
    async with db.transaction() as s:
        with pytest.raises(InvalidInput) as info:
            await create_element(s, make_settings(), data)
    assert info.value.field == field
    async with db.session() as s:
        assert await s.scalar(select(Actor).where(Actor.username == "bad_one")) is None


async def test_event_fields(db, make_settings):
    start = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    async with db.transaction() as s:
        event = await create_element(
            s,
            make_settings(),
            ElementInput(
                kind="event",
                username="repair_cafe",
                name="Repair café",
                subtype="workshop",
                starts_at=start,
                ends_at=start + timedelta(hours=3),
                timezone="Indian/Reunion",
                capacity=30,
            ),
        )
    assert (event.subtype, event.capacity, event.timezone) == ("workshop", 30, "Indian/Reunion")
