"""Local posts tied to a place: public only, validated point, the Note's ``location``, edits and removal."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from coserver.models import Actor, Delivery, Place, Post
from coserver.services.elements import add_link
from coserver.services.errors import InvalidInput
from coserver.services.places import PlaceInput, load_place
from coserver.services.posting import edit_post, post_on_wall
from federation.documents import note_document
from tests.factories import make_person
from tests.federation.helpers import remote_actor


def saint_pierre() -> PlaceInput:
    return PlaceInput(lat=-21.3393, lon=55.4781, name="Saint-Pierre", locality="Saint-Pierre", country="re")


@pytest.fixture
async def marie(db, make_settings):
    settings = make_settings(database_url=db.url)
    marie = await make_person(db, settings, "marie")
    bob = await remote_actor(db, "bob", "one.example")
    async with db.transaction() as s:
        await add_link(s, await s.get(Actor, bob.id), await s.get(Actor, marie.id), "follower")
    return settings, marie


async def _post(db, settings, marie, text="Marché forain ce matin", **kwargs) -> Post:
    async with db.transaction() as s:
        me = await s.get(Actor, marie.id)
        return await post_on_wall(s, settings, me, me, text, **kwargs)


async def test_public_post_with_a_place_federates_its_location(db, marie):
    settings, marie = marie
    post = await _post(db, settings, marie, place=saint_pierre())
    async with db.session() as s:
        place, coords = await load_place(s, (await s.get(Post, post.id)).place_id)
        body = orjson.loads((await s.scalar(select(Delivery))).body)
    assert place is not None and place.name == "Saint-Pierre" and place.country == "RE"
    assert coords is not None and abs(coords[0] + 21.3393) < 1e-9 and abs(coords[1] - 55.4781) < 1e-9
    location = body["object"]["location"]
    assert location["type"] == "Place" and location["name"] == "Saint-Pierre"
    assert abs(location["latitude"] + 21.3393) < 1e-9 and abs(location["longitude"] - 55.4781) < 1e-9
    assert location["address"]["addressLocality"] == "Saint-Pierre"


async def test_a_post_without_place_has_no_location(db, marie):
    settings, marie = marie
    post = await _post(db, settings, marie, place=PlaceInput())
    async with db.session() as s:
        body = orjson.loads((await s.scalar(select(Delivery))).body)
    assert post.place_id is None and "location" not in body["object"]


@pytest.mark.parametrize(
    ("scope", "place", "message"),
    [
        ("restricted", saint_pierre(), "only a public post"),
        ("private", saint_pierre(), "only a public post"),
        ("public", PlaceInput(name="Saint-Pierre"), "latitude and a longitude"),
        ("public", PlaceInput(lat=91, lon=55), "latitude must be between"),
        ("public", PlaceInput(lat=-21, lon=181), "longitude must be between"),
    ],
)
async def test_refused_places_name_the_place_field(db, marie, scope, place, message):
    settings, marie = marie
    with pytest.raises(InvalidInput) as refused:
        await _post(db, settings, marie, scope=scope, place=place)
    assert refused.value.field == "place" and message in refused.value.message
    async with db.session() as s:
        assert await s.scalar(select(Post.id)) is None and await s.scalar(select(Place.id)) is None


async def test_a_point_without_name_is_named_by_its_coordinates(db, marie):
    settings, marie = marie
    post = await _post(db, settings, marie, place=PlaceInput(lat=-21.1, lon=55.5))
    async with db.session() as s:
        place, _ = await load_place(s, post.place_id)
    assert place is not None and place.name == "-21.10000, 55.50000"


async def test_edit_changes_keeps_and_removes_the_place(db, marie):
    settings, marie = marie
    post = await _post(db, settings, marie, place=saint_pierre())
    first_place = post.place_id

    async def edit(text: str, **kwargs) -> Post:
        async with db.transaction() as s:
            return await edit_post(
                s, settings, await s.get(Actor, marie.id), await s.get(Post, post.id), text, **kwargs
            )

    kept = await edit("Marché forain demain")
    assert kept.place_id == first_place
    moved = await edit("Marché au Tampon", place=PlaceInput(lat=-21.278, lon=55.517, name="Le Tampon"))
    assert moved.place_id not in (None, first_place)
    async with db.session() as s:
        assert await s.get(Place, first_place) is None  # the post's old place row is gone
        note = await note_document(s, settings, await s.get(Post, post.id))
    assert note["location"]["name"] == "Le Tampon" and abs(note["location"]["latitude"] + 21.278) < 1e-9
    cleared = await edit("Marché annulé", place=PlaceInput())
    assert cleared.place_id is None
    async with db.session() as s:
        note = await note_document(s, settings, await s.get(Post, post.id))
    assert "location" not in note and "annulé" in note["content"]
