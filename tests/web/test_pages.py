"""The plain HTML home and element pages, and /healthz."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import app_db, make_element, make_person


async def test_healthz_checks_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["postgis"].startswith("3.")


async def test_healthz_503_when_database_is_gone(app, client, settings):
    from sqlalchemy.engine import make_url

    from coserver.db import Database

    state = app.extensions["coserver"]
    good = state.db
    state.db = Database(
        make_url(settings.database_url).set(database="does_not_exist").render_as_string(False)
    )
    try:
        response = await client.get("/healthz")
    finally:
        await state.db.dispose()
        state.db = good
    assert response.status_code == 503
    assert (await response.get_json())["status"] == "error"


async def test_home_lists_elements(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    await make_element(
        db,
        settings,
        "organization",
        "kaz_compost",
        name="Kaz Compost",
        admin=marie,
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
    )
    await make_element(
        db,
        settings,
        "event",
        "fet_kaf",
        name="Fèt Kaf <3",
        starts_at=datetime.now(UTC) + timedelta(days=2),
        timezone="Indian/Reunion",
    )
    response = await client.get("/")
    assert response.status_code == 200
    html = (await response.get_data()).decode()
    assert "Kaz Compost" in html and "Saint-Pierre" in html
    assert "Fèt Kaf &lt;3" in html  # escaped
    assert "Content-Security-Policy" in response.headers


async def test_element_page(app, client, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    await make_element(
        db,
        settings,
        "organization",
        "kaz_compost",
        name="Kaz Compost",
        admin=marie,
        lat=-21.34,
        lon=55.48,
        description="Nou fé compost.\n\n<script>alert(1)</script>",
    )
    await make_element(
        db,
        settings,
        "event",
        "atelier_compost",
        name="Atelier compost",
        lat=-21.34,
        lon=55.48,
        starts_at=datetime.now(UTC),
        organizer=await _get(db, "kaz_compost"),
    )
    response = await client.get("/@kaz_compost")
    assert response.status_code == 200
    html = (await response.get_data()).decode()
    assert "Kaz Compost" in html and "@kaz_compost@127.0.0.1:8000" in html
    assert "<script>alert(1)</script>" not in html
    assert 'type="application/activity+json"' in html
    community = (await (await client.get("/@kaz_compost/community")).get_data()).decode()
    assert "Marie Payet" in community and "admin" in community
    events = (await (await client.get("/@kaz_compost/events")).get_data()).decode()
    assert "Atelier compost" in events  # related events listed
    event_page = await client.get("/@atelier_compost", headers={"Accept-Language": "fr"})
    assert event_page.status_code == 200 and "Organisé par" in (await event_page.get_data()).decode()


async def _get(db, username):
    from coserver.services.elements import get_local_actor

    async with db.session() as s:
        return await get_local_actor(s, username)


async def test_unknown_and_private_elements_are_404(app, client, settings):
    await make_element(app_db(app), settings, "project", "secret_plan", is_private=True)
    assert (await client.get("/@nobody")).status_code == 404
    assert (await client.get("/@secret_plan")).status_code == 404


async def test_hashtag_page_and_atom_feed(app, client, settings):
    from xml.etree import ElementTree as ET

    from sqlalchemy import select

    from coserver.models import Actor
    from coserver.services.posting import post_on_wall

    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_element(db, settings, "organization", "kaz", admin=marie, tags=["compost"])
    async with db.transaction() as s:
        org = await s.scalar(select(Actor).where(Actor.username == "kaz"))
        await post_on_wall(s, settings, await s.get(Actor, marie.id), org, "Tamis <b>#compost</b> & co")
        await post_on_wall(s, settings, await s.get(Actor, marie.id), org, "Secret", scope="private")
    page = (await (await client.get("/tags/Compost")).get_data()).decode()
    assert "Tamis" in page and "Kaz" in page and "&lt;b&gt;" in page
    feed = await client.get("/@kaz/feed.atom")
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    root = ET.fromstring(await feed.get_data())
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1  # the private post is not in the public feed
    assert entries[0].find("{http://www.w3.org/2005/Atom}category").get("term") == "compost"
    assert (await client.get("/@nobody/feed.atom")).status_code == 404


async def test_live_page_filters_and_pages(app, client, settings):
    from coserver.models import Actor
    from coserver.services.posting import post_on_wall

    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    await make_element(
        db, settings, "organization", "kaz", admin=marie, lat=-21.34, lon=55.48, locality="Saint-Pierre"
    )
    async with db.transaction() as s:
        from sqlalchemy import select

        kaz = await s.scalar(select(Actor).where(Actor.username == "kaz"))
        for i in range(25):
            await post_on_wall(s, settings, await s.get(Actor, marie.id), kaz, f"Message {i} #kaz")
    first = (await (await client.get("/live?locality=Saint-Pierre")).get_data()).decode()
    assert first.count('data-testid="post-card"') == 20 and "Message 24" in first and 'rel="next"' in first
    href = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = (await (await client.get(href)).get_data()).decode()
    assert second.count('data-testid="post-card"') == 5 and "Message 0" in second
    assert "Message" not in (await (await client.get("/live?locality=Saint-Denis")).get_data()).decode()
    assert (await client.get("/live?radius_km=900&lat=1&lon=1")).status_code == 400
