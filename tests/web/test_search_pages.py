"""The search page (``GET /search``) over HTTP: filters, gazetteer places, map box, paging, errors, map."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.factories import app_db, make_element
from tests.web.helpers import Browser

TZ = ZoneInfo("Indian/Reunion")
SAINT_PIERRE = (-21.3393, 55.4781)  # the gazetteer's point for Saint-Pierre (La Réunion)
SAINT_DENIS = (-20.8823, 55.4504)
SAINT_BENOIT = (-21.0339, 55.7128)

_ITEM = re.compile(
    r'<li class="hit kind-(\w+)" id="hit-(\d+)" data-testid="search-result"[^>]*>\s*'
    r'<h3[^>]*><a href="([^"]+)"[^>]*>([^<]+)</a>'
)


def results(body: str) -> list[str]:
    """Names of the listed results, in order."""
    return [html.unescape(m.group(4)) for m in _ITEM.finditer(body)]


def result_ids(body: str) -> list[str]:
    return [f"hit-{m.group(2)}" for m in _ITEM.finditer(body)]


def link(body: str, testid: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*data-testid="{testid}"', body)
    return html.unescape(found.group(1)) if found else None


def map_data(body: str) -> list[dict]:
    found = re.search(r'<script type="application/json" id="search-results">(.*?)</script>', body, re.S)
    assert found, "the page embeds the map data"
    return json.loads(found.group(1))


@pytest.fixture
async def territory(app, settings):
    db = app_db(app)
    north = (SAINT_PIERRE[0] + 0.018, SAINT_PIERRE[1])  # ≈ 2 km north of Saint-Pierre
    await make_element(
        db,
        settings,
        "organization",
        "jardin",
        lat=SAINT_PIERRE[0],
        lon=SAINT_PIERRE[1],
        name="Jardin partagé de la Ravine",
        tags=["compost", "jardinpartage"],
        locality="Saint-Pierre",
        short_description="Un jardin ouvert à tous le samedi",
    )
    await make_element(
        db,
        settings,
        "project",
        "velo",
        lat=SAINT_DENIS[0],
        lon=SAINT_DENIS[1],
        name="Atelier vélo solidaire",
        tags=["vélo"],
        locality="Saint-Denis",
    )
    await make_element(
        db,
        settings,
        "event",
        "kabar",
        lat=SAINT_PIERRE[0] - 0.005,
        lon=SAINT_PIERRE[1],
        name="Kabar maloya",
        tags=["maloya"],
        locality="Saint-Pierre",
        starts_at=datetime(2026, 12, 5, 18, 0, tzinfo=TZ),
        ends_at=datetime(2026, 12, 5, 23, 0, tzinfo=TZ),
    )
    await make_element(
        db,
        settings,
        "poi",
        "composteur",
        lat=north[0],
        lon=north[1],
        name="Composteur du marché",
        tags=["compost"],
        locality="Saint-Pierre",
    )
    await make_element(
        db,
        settings,
        "organization",
        "ressourcerie",
        lat=SAINT_BENOIT[0],
        lon=SAINT_BENOIT[1],
        name="Ressourcerie de l'Est",
        tags=["recyclage"],
        locality="Saint-Benoît",
    )


async def test_text_search_finds_an_element(app, territory):
    body = await Browser(app).text("/search?q=jardin")
    assert results(body) == ["Jardin partagé de la Ravine"]
    assert 'href="/@jardin"' in body and "Un jardin ouvert à tous le samedi" in body
    assert 'data-testid="search-count">1 result<' in body
    assert 'data-testid="kind-badge">Organization<' in body
    # the typed words stay in the form
    assert 'name="q" type="search" value="jardin"' in body


async def test_kind_theme_and_tag_filters(app, territory):
    browser = Browser(app)
    assert results(await browser.text("/search?kinds=poi")) == ["Composteur du marché"]
    both = results(await browser.text("/search?kinds=poi&kinds=project"))
    assert sorted(both) == ["Atelier vélo solidaire", "Composteur du marché"]
    waste = await browser.text("/search?theme=waste")
    expected = ["Composteur du marché", "Jardin partagé de la Ravine", "Ressourcerie de l'Est"]
    assert sorted(results(waste)) == expected
    assert '<option value="waste" selected>Waste</option>' in waste
    assert results(await browser.text("/search?theme=transport")) == ["Atelier vélo solidaire"]
    assert results(await browser.text("/search?tags=maloya")) == ["Kabar maloya"]
    assert results(await browser.text("/search?tags=velo")) == ["Atelier vélo solidaire"]  # accents optional
    # facets count every kind of the same query, and link to one kind
    body = await browser.text("/search?theme=waste&kinds=poi")
    assert re.search(r'data-testid="facet-organization"[^>]*>Organizations <span class="count">2<', body)
    assert link(body, "facet-organization") == "/search?theme=waste&kinds=organization"
    assert 'value="poi" data-testid="kind-poi" checked' in body


async def test_radius_around_a_gazetteer_place(app, territory):
    body = await Browser(app).text("/search?place=Saint-Pierre&radius_km=5")
    # nearest first (the default order around a point), with distances
    assert results(body) == ["Jardin partagé de la Ravine", "Kabar maloya", "Composteur du marché"]
    assert 'data-testid="place-found">Around Saint-Pierre' in body
    assert re.search(r'data-testid="distance">(\d+ m|[\d.]+ km)<', body)
    assert "2 km" in body  # the composter, about 2 km north
    wider = await Browser(app).text("/search?place=saint pierre&radius_km=50")
    # Saint-Benoît is ≈ 41 km away; Saint-Denis ≈ 51 km, just beyond 50 km
    assert results(wider)[3:] == ["Ressourcerie de l'Est"]


async def test_unknown_place_is_an_error_next_to_the_field(app, territory):
    response = await Browser(app).get("/search?place=Nowhereville-sur-Mer&radius_km=5")
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "No place called “Nowhereville-sur-Mer” was found." in body
    assert 'id="f-place" name="place" type="text" value="Nowhereville-sur-Mer"' in body
    assert 'aria-invalid="true" aria-describedby="place-error"' in body
    assert "needs a place" not in body  # the radius is not blamed for the missing point
    assert results(body) == []


async def test_search_this_area_url_searches_the_box(app, territory):
    browser = Browser(app)
    body = await browser.text("/search?q=jardin&place=Saint-Pierre&radius_km=5&sort=distance")
    button = re.search(r'data-testid="search-this-area" hidden\s+data-url="([^"]+)"', body)
    assert button, "the page offers 'search this area'"
    base = html.unescape(button.group(1))
    assert base == "/search?q=jardin"  # the point, radius, place and distance order give way to the box
    # what search-map.js does: the same query with bbox = the map bounds (here around Saint-Denis)
    area = await browser.text("/search?bbox=55.40,-20.95,55.50,-20.85")
    assert results(area) == ["Atelier vélo solidaire"]
    assert 'data-testid="area-note"' in area and link(area, "facets") is None
    assert 'data-bbox="55.4,-20.95,55.5,-20.85"' in area
    assert re.search(r'<a href="/search">Search everywhere</a>', area)


async def test_pagination_follows_the_cursor_without_duplicates(app, settings, territory):
    for i in range(6):
        await make_element(app_db(app), settings, "organization", f"asso{i}", name=f"Association {i}")
    browser = Browser(app)
    url: str | None = "/search?kinds=organization&limit=3"
    seen: list[str] = []
    pages = 0
    while url:
        body = await browser.text(url)
        seen += results(body)
        url = link(body, "search-more")
        pages += 1
        if pages > 1:
            assert link(body, "search-first") == "/search?kinds=organization&limit=3"
    assert pages == 3
    assert len(seen) == len(set(seen)) == 8
    assert {"Jardin partagé de la Ravine", "Ressourcerie de l'Est"} <= set(seen)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("lat=200&lon=55", "lat", "The latitude must be a number between -90 and 90."),
        ("lat=-21&lon=55&radius_km=0", "radius_km", "The distance must be between 0.1 and 100 km."),
        ("bbox=55,-21,56", "bbox", "The map area is not valid (west,south,east,north in degrees)."),
        ("from=2026-05-01&to=2026-04-01", "from", "The start date must come before the end date."),
        ("from=tomorrow", "from", "Enter a date such as 2026-12-05."),
        ("radius_km=5", "radius_km", "A distance needs a place or a point."),
        ("sort=distance", "sort", "Sorting by distance needs a place or a point."),
        ("cursor=garbage!", "cursor", "This page link has expired; start the search again."),
        ("theme=astrology", "theme", "Choose one of the listed themes."),
    ],
)
async def test_invalid_parameters_are_shown_next_to_their_field(app, query, field, message):
    response = await Browser(app).get(f"/search?{query}")
    body = await response.get_data(as_text=True)
    assert response.status_code == 400, body[:300]
    if field != "cursor":  # no input for the cursor: the message is in the summary only
        assert f'<p class="field-error" id="{field}-error">{html.escape(message)}</p>' in body
    assert f'<a href="#f-{field}">{html.escape(message)}</a>' in body
    assert 'data-testid="search-results"' not in body


async def test_every_invalid_parameter_is_reported_at_once_in_french(app):
    response = await Browser(app, lang="fr").get(
        "/search?lat=200&lon=55&bbox=x&from=2026-05-01&to=2026-04-01&q=compost"
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "La latitude doit être un nombre entre -90 et 90." in body
    assert "La zone de carte n&#39;est pas valide" in body
    assert "La date de début doit précéder la date de fin." in body
    assert 'id="f-lat" name="lat" type="text" value="200"' in body and 'aria-describedby="lat-error"' in body
    assert "Aucune recherche n'a été lancée" in body
    assert 'value="compost"' in body  # the rest of the form is kept


async def test_map_data_lists_the_same_elements_as_the_list(app, settings, territory):
    await make_element(app_db(app), settings, "organization", "nowhere", name="Sans adresse")
    body = await Browser(app).text("/search")
    points = map_data(body)
    listed = result_ids(body)
    assert len(listed) == 6
    # every listed element with coordinates has its marker, keyed by the list item's id
    assert [p["id"] for p in points] == [i for i in listed if i != _id_of(body, "Sans adresse")]
    kabar = next(p for p in points if p["name"] == "Kabar maloya")
    assert kabar["url"] == "/@kabar" and kabar["kind"] == "event" and kabar["kindLabel"] == "Event"
    assert kabar["lat"] == pytest.approx(SAINT_PIERRE[0] - 0.005)
    for testid in ('data-testid="search-map"', 'id="search-results"', 'data-testid="search-this-area"'):
        assert testid in body
    assert "/static/vendor/markercluster/leaflet.markercluster.js" in body
    assert "/static/js/search-map.js" in body
    # CSP: no inline executable script, no style attribute
    for tag in re.findall(r"<script[^>]*>", body):
        assert " src=" in tag or 'type="application/json"' in tag, tag
    assert " style=" not in body and " onclick=" not in body


def _id_of(body: str, name: str) -> str:
    return next(f"hit-{m.group(2)}" for m in _ITEM.finditer(body) if html.unescape(m.group(4)) == name)


async def test_open_data_links_give_the_same_query(app, territory):
    browser = Browser(app)
    body = await browser.text("/search?theme=waste&place=Saint-Pierre&radius_km=5")
    geojson_url = link(body, "export-geojson")
    csv_url = link(body, "export-csv")
    assert geojson_url.startswith("/api/v1/search?") and "format=geojson" in geojson_url
    assert "radius_km=5" in geojson_url and "theme=waste" in geojson_url
    response = await browser.client.get(geojson_url)
    assert response.status_code == 200
    features = (await response.get_json())["features"]
    assert sorted(f["properties"]["name"] for f in features) == sorted(results(body))
    response = await browser.client.get(csv_url)
    assert response.status_code == 200 and "Composteur du marché" in await response.get_data(as_text=True)


async def test_event_dates_and_french_rendering(app, territory):
    body = await Browser(app, lang="fr").text("/search?theme=culture")
    assert results(body) == ["Kabar maloya"]
    assert '<html lang="fr">' in body
    assert 'data-testid="kind-badge">Événement<' in body
    # in the territory's time zone (the event is stored in UTC)
    assert 'datetime="2026-12-05T14:00:00+00:00">samedi 5 décembre 2026, 18:00</time> →' in body
    assert ">23:00</time>" in body
    assert '<option value="culture" selected>Culture</option>' in body
    assert '<option value="waste">Déchets</option>' in body and "Numérique" in body
    assert 'data-testid="search-count">1 résultat<' in body
    assert "<legend>Types</legend>" in body and "Points d&#39;intérêt" in body
    assert '<option value="25">25 km</option>' in body and "Toute distance" in body
    assert "Chercher dans cette zone" in body
