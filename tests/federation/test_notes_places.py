"""A located post's Note: ``location`` as an AS2 ``Place`` that ``place_from_as`` reads back (what another
coserver node stores), and the Note we serve."""

from __future__ import annotations

from coserver.models import Actor, Place, Post
from coserver.services.places import PlaceInput
from coserver.services.posting import post_on_wall
from federation.converters.note import note_to_as
from federation.converters.place import place_from_as
from tests.factories import app_db, make_person

AP = {"Accept": "application/activity+json"}


def _note(settings, place: Place | None, coords):
    marie = Actor(id=1, ap_id="https://a.example/actors/marie", username="marie", kind="person", local=True)
    marie.followers_url = f"{marie.ap_id}/followers"
    post = Post(
        id=7, ap_id="https://a.example/posts/7", scope="public", content_html="<p>Marché</p>", tags=[]
    )
    post.as_element = False
    return note_to_as(
        post, author=marie, wall=marie, mentioned=[], settings=settings, place=place, coords=coords
    )


def test_location_round_trips_through_place_from_as(settings):
    place = Place(
        name="Marché couvert", street="3 rue Victor Hugo", postal_code="97410", locality="Saint-Pierre"
    )
    place.country = "RE"
    note = _note(settings, place, (-21.3393, 55.4781))
    location = note["location"]
    assert location["type"] == "Place" and location["name"] == "Marché couvert"
    assert (location["latitude"], location["longitude"]) == (-21.3393, 55.4781)
    assert place_from_as(location) == {
        "lat": -21.3393,
        "lon": 55.4781,
        "name": "Marché couvert",
        "street": "3 rue Victor Hugo",
        "postal_code": "97410",
        "locality": "Saint-Pierre",
        "country": "RE",
    }
    PlaceInput(**place_from_as(location)).validate()  # what notes_in stores for a remote post


def test_a_locality_only_place_round_trips_as_name_and_locality(settings):
    location = _note(settings, Place(name="", locality="Le Tampon"), (-21.278, 55.517))["location"]
    assert location["name"] == "Le Tampon" and location["address"]["addressLocality"] == "Le Tampon"
    back = place_from_as(location)
    assert back is not None and (back["lat"], back["lon"]) == (-21.278, 55.517)
    assert back["name"] == back["locality"] == "Le Tampon"


def test_no_place_no_location(settings):
    assert "location" not in _note(settings, None, None)


async def test_the_served_note_carries_the_location(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    async with db.transaction() as s:
        me = await s.get(Actor, marie.id)
        place = PlaceInput(
            lat=-21.3393, lon=55.4781, name="Saint-Pierre", locality="Saint-Pierre", country="RE"
        )
        post = await post_on_wall(s, settings, me, me, "Marché forain", place=place)
    note = await (await client.get(f"/posts/{post.id}", headers=AP)).get_json()
    assert note["location"]["name"] == "Saint-Pierre"
    assert abs(note["location"]["latitude"] + 21.3393) < 1e-9
    assert note["location"]["address"] == {
        "type": "PostalAddress",
        "addressLocality": "Saint-Pierre",
        "addressCountry": "RE",
    }
    outbox = await (await client.get("/actors/marie/outbox?page=1", headers=AP)).get_json()
    assert outbox["orderedItems"][0]["object"]["location"]["name"] == "Saint-Pierre"
