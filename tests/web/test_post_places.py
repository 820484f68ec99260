"""A post tied to a place from the web posting box: the gazetteer resolves the "Place" field, errors show
next to it (unknown place, non-public scope, in French too), and post cards link to a search around it."""

from __future__ import annotations

from html import unescape

from sqlalchemy import func, select

from coserver.models import Account, Post
from coserver.services.places import load_place
from tests.factories import app_db, make_person
from tests.web.helpers import Browser


async def _posts(app) -> int:
    async with app_db(app).session() as s:
        return await s.scalar(select(func.count()).select_from(Post))


async def test_a_post_tied_to_a_gazetteer_place(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    b = Browser(app)
    await b.login(marie)
    form = await b.text("/@marie/wall")
    assert 'data-testid="post-place"' in form and 'for="post-place"' in form

    sent = await b.post("/@marie/wall", {"text": "Marché forain", "scope": "public", "place": "saint pierre"})
    assert sent.status_code == 303
    async with app_db(app).session() as s:
        post = await s.scalar(select(Post))
        place, coords = await load_place(s, post.place_id)
    assert place is not None and place.name == "Saint-Pierre" and place.country == "RE"
    assert coords is not None and abs(coords[0] + 21.3393) < 0.01 and abs(coords[1] - 55.4781) < 0.01

    wall = unescape(await b.text("/@marie/wall"))
    assert wall.count('data-testid="post-card-place"') == 1
    href = f"/search?lat={coords[0]:.5f}&lon={coords[1]:.5f}&radius_km=5"
    assert f'href="{href}"' in wall and ">Saint-Pierre</a>" in wall
    anonymous = unescape(await Browser(app).text(f"/@marie/posts/{post.id}"))
    assert f'href="{href}"' in anonymous


async def _speaking(app, person, locale: str) -> None:
    async with app_db(app).transaction() as s:
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
        account.locale = locale


async def test_unknown_place_and_non_public_scope_are_errors_next_to_the_field(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    await _speaking(app, marie, "en")
    b = Browser(app)
    await b.login(marie)
    nowhere = {"text": "Ici", "scope": "public", "place": "Nowhereville-sur-Mer"}
    unknown = await b.post("/@marie/wall", nowhere)
    page = unescape(await unknown.get_data(as_text=True))
    assert unknown.status_code == 400
    assert 'id="place-error">No place called “Nowhereville-sur-Mer” was found.</p>' in page
    assert 'aria-describedby="place-error"' in page and 'value="Nowhereville-sur-Mer"' in page

    private = await b.post("/@marie/wall", {"text": "Ici", "scope": "private", "place": "Saint-Pierre"})
    page = unescape(await private.get_data(as_text=True))
    assert private.status_code == 400
    assert 'id="place-error">only a public post can be tied to a place</p>' in page
    assert await _posts(app) == 0

    await _speaking(app, marie, "fr")
    restricted = {"text": "Ici", "scope": "restricted", "place": "Saint-Pierre"}
    refused = await b.post("/@marie/wall", restricted)
    page = unescape(await refused.get_data(as_text=True))
    assert "Lieu (facultatif)" in page
    assert 'id="place-error">Seul un message public peut être rattaché à un lieu.</p>' in page
    assert await _posts(app) == 0


async def test_no_place_is_fine(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    b = Browser(app)
    await b.login(marie)
    sent = await b.post("/@marie/wall", {"text": "Sans lieu", "scope": "private", "place": "  "})
    assert sent.status_code == 303
    wall = await b.text("/@marie/wall")
    assert "Sans lieu" in wall and 'data-testid="post-card-place"' not in wall
