"""Creating, editing and viewing elements in the browser (HTTP level, real database)."""

from __future__ import annotations

from sqlalchemy import select

from coserver.models import Actor, Link
from coserver.models.history import ElementEdit
from coserver.services.places import coordinates
from tests.factories import app_db, make_element, make_person
from tests.web.helpers import Browser


async def _actor(app, username: str) -> Actor:
    from coserver.services.elements import get_local_actor

    async with app_db(app).session() as s:
        return await get_local_actor(s, username)


async def test_create_organization_with_map_point(app, settings):
    marie = await make_person(app_db(app), settings, "marie", name="Marie Payet")
    b = Browser(app)
    await b.login(marie)
    chooser = await b.text("/new")
    assert 'href="/new/organization"' in chooser and 'href="/new/poi"' in chooser
    form = await b.text("/new/organization")
    assert 'id="map-picker"' in form and 'name="lat"' in form and 'value="ngo"' in form
    response = await b.post(
        "/new/organization",
        {
            "name": "Kaz Compost",
            "username": "",
            "subtype": "ngo",
            "short_description": "Compost collectif",
            "description": "Nou fé compost.",
            "tags": "compost, Jardin",
            "urls": "Site https://kaz.example\nhttps://chat.example",
            "email": "kaz@example.org",
            "street": "3 rue des Bougainvilliers",
            "postal_code": "97410",
            "locality": "Saint-Pierre",
            "country": "re",
            "lat": "-21.3393",
            "lon": "55.4781",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/@kaz_compost"
    kaz = await _actor(app, "kaz_compost")
    assert kaz.kind == "organization" and kaz.subtype == "ngo" and kaz.tags == ["compost", "jardin"]
    assert kaz.urls == [
        {"type": "website", "url": "https://kaz.example", "name": "Site"},
        {"type": "website", "url": "https://chat.example"},
    ]
    assert kaz.contact == {"email": "kaz@example.org"}
    lat, lon = coordinates(kaz.place)
    assert round(lat, 4) == -21.3393 and round(lon, 4) == 55.4781 and kaz.place.country == "RE"
    async with app_db(app).session() as s:
        link = await s.scalar(select(Link).where(Link.object_id == kaz.id))
    assert link.subject_id == marie.id and link.is_admin and link.type == "member"
    page = await b.text("/@kaz_compost")
    assert "Kaz Compost" in page and "Nou fé" in page and 'id="element-locality">Saint-Pierre' in page
    assert 'id="edit-link"' in page


async def test_create_event_project_and_poi(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    b = Browser(app)
    await b.login(marie)
    event = await b.post(
        "/new/event",
        {
            "name": "Atelier compost",
            "username": "atelier",
            "subtype": "workshop",
            "start_date": "2031-05-03",
            "start_time": "09:30",
            "end_date": "2031-05-03",
            "end_time": "12:00",
            "timezone": "Indian/Reunion",
            "lat": "-21.1",
            "lon": "55.5",
        },
    )
    assert event.status_code == 303
    atelier = await _actor(app, "atelier")
    assert atelier.subtype == "workshop" and atelier.timezone == "Indian/Reunion" and not atelier.all_day
    assert atelier.starts_at.isoformat() == "2031-05-03T05:30:00+00:00"  # 09:30 at UTC+4
    project = await b.post(
        "/new/project",
        {"name": "Jardin partagé", "stage": "started", "start_date": "2030-01-01", "parent": "atelier"},
    )
    assert project.status_code == 303 and project.headers["Location"] == "/@jardin_partage"
    jardin = await _actor(app, "jardin_partage")
    assert jardin.stage == "started" and jardin.parent_id == atelier.id
    poi = await b.post("/new/poi", {"name": "Boîte à livres", "subtype": "sharedLibrary", "is_private": "1"})
    assert poi.status_code == 303
    boite = await _actor(app, "boite_a_livres")
    assert boite.subtype == "sharedLibrary" and boite.is_private and boite.place is None
    # the events tab of the event's parent... and the projects tab of the event list the child
    assert "Jardin partagé" in await b.text("/@atelier/projects")


async def test_create_with_address_only_is_geocoded(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    b = Browser(app)
    await b.login(marie)
    response = await b.post(
        "/new/organization",
        {"name": "Kaz", "locality": "Saint-Pierre", "country": "RE", "postal_code": "97410"},
    )
    assert response.status_code == 303
    kaz = await _actor(app, "kaz")
    lat, lon = coordinates(kaz.place)
    assert -21.5 < lat < -21.2 and 55.3 < lon < 55.6  # Saint-Pierre, La Réunion
    assert "/@kaz/map" in await b.text("/@kaz")


async def test_creation_requires_login(app):
    b = Browser(app)
    response = await b.get("/new/event")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert (await b.post("/new/event", {"name": "x"})).status_code == 302
    assert (await b.get("/new/person")).status_code in (302, 404)


async def test_validation_errors_next_to_fields(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    await make_element(app_db(app), settings, "organization", "kaz", admin=marie)
    b = Browser(app)
    await b.login(marie)
    response = await b.post(
        "/new/event", {"name": "", "username": "kaz", "lat": "abc", "lon": "55", "end_date": "2031-13-01"}
    )
    assert response.status_code == 400
    html = await response.get_data(as_text=True)
    assert 'id="name-error"' in html and 'id="lat-error"' in html and 'id="start_date-error"' in html
    assert 'id="end_date-error"' in html and 'aria-invalid="true"' in html
    taken = await b.post("/new/organization", {"name": "Kaz", "username": "kaz"})
    assert taken.status_code == 400
    assert 'id="username-error"' in await taken.get_data(as_text=True)
    bad_type = await b.post("/new/organization", {"name": "Kaz 2", "subtype": "spaceship"})
    assert 'id="subtype-error"' in await bad_type.get_data(as_text=True)


async def test_validation_errors_in_french(app, settings):
    marie = await make_person(app_db(app), settings, "marie")
    await make_element(app_db(app), settings, "organization", "kaz", admin=marie)
    b = Browser(app, lang="fr")
    await b.login(marie)
    response = await b.post("/new/event", {"name": "", "username": "kaz", "lat": "1"})
    html = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Un nom est requis" in html and "Un événement a besoin d’une date de début" in html
    assert "Donnez la latitude et la longitude, ou aucune des deux" in html
    taken = await b.post("/new/organization", {"name": "Kaz", "username": "kaz"})
    assert "est déjà pris" in await taken.get_data(as_text=True)


async def test_edit_permissions(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie")
    paul = await make_person(db, settings, "paul")
    await make_element(db, settings, "organization", "kaz", admin=marie)
    await make_element(db, settings, "project", "wiki", admin=marie, open_edition=True)
    anonymous = Browser(app)
    assert (await anonymous.get("/@kaz/edit")).status_code == 302
    assert (await anonymous.post("/@wiki/edit", {"name": "Hacked"})).status_code == 302
    b = Browser(app)
    await b.login(paul)
    assert (await b.get("/@kaz/edit")).status_code == 403
    assert (await b.post("/@kaz/edit", {"name": "Hacked"})).status_code == 403
    assert 'id="edit-link"' not in await b.text("/@kaz")
    # open edition: any logged-in person
    form = await b.text("/@wiki/edit")
    assert 'value="Wiki"' in form
    assert (await b.post("/@wiki/edit", {"name": "Wiki commun", "start_date": ""})).status_code == 303
    assert (await _actor(app, "wiki")).name == "Wiki commun"
    # the admin edits her organization; a person's profile is edited in the settings
    await b.login(marie)
    assert (await b.post("/@kaz/edit", {"name": "Kaz Kompost", "subtype": "cooperative"})).status_code == 303
    kaz = await _actor(app, "kaz")
    assert kaz.name == "Kaz Kompost" and kaz.subtype == "cooperative"
    response = await b.get("/@marie/edit")
    assert response.status_code == 302 and response.headers["Location"] == "/settings/profile"
    assert (await b.get("/@paul/edit")).status_code == 302


async def test_history_recorded_and_shown(app, settings):
    db = app_db(app)
    marie = await make_person(db, settings, "marie", name="Marie Payet")
    await make_element(db, settings, "organization", "kaz", admin=marie, name="Kaz", lat=-21.3, lon=55.4)
    b = Browser(app)
    await b.login(marie)
    assert 'id="history-empty"' in await b.text("/@kaz/history")
    form = await b.text("/@kaz/edit")
    assert 'name="lat"' in form and 'value="-21.300000"' in form
    await b.post("/@kaz/edit", {"name": "Kaz Kompost", "tags": "compost", "lat": "-21.3", "lon": "55.4"})
    for i in range(21):
        await b.post("/@kaz/edit", {"name": f"Kaz {i}", "tags": "compost", "lat": "-21.3", "lon": "55.4"})
    async with db.session() as s:
        edits = list(await s.scalars(select(ElementEdit).order_by(ElementEdit.id)))
    assert len(edits) == 22 and edits[0].editor_id == marie.id
    assert edits[0].changes == {"name": ["Kaz", "Kaz Kompost"], "tags": [[], ["compost"]]}
    page = await b.text("/@kaz/history")
    assert page.count('class="edit"') == 20 and "Marie Payet" in page
    assert page.index("Kaz 20") < page.index("Kaz 19")  # newest first
    assert 'data-field="name"' in page and 'rel="next"' in page
    older = page.split('id="history-older" href="')[1].split('"')[0]
    second = await b.text(older)
    assert second.count('class="edit"') == 2 and "Kaz Kompost" in second and "compost" in second
