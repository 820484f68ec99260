"""The search page's map in Chromium: list items and markers in sync (hover, "Show on the map", marker
clicks), "Search this area" after moving the map, and "Around me" with a granted browser geolocation."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from tests.browser.conftest import checked_page, shot
from tests.factories import app_db, make_element

pytestmark = pytest.mark.browser

# Two towns 50 km apart, three organizations in each, a few hundred metres from one another.
SAINT_DENIS = {
    "jardin_butor": ("Jardin du Butor", -20.8790, 55.4560),
    "ressourcerie_nord": ("Ressourcerie du Nord", -20.8840, 55.4480),
    "velo_barachois": ("Atelier vélo du Barachois", -20.8730, 55.4470),
}
SAINT_PIERRE = {
    "amap_terre_sainte": ("AMAP de Terre-Sainte", -21.3440, 55.4860),
    "fablab_sud": ("FabLab du Sud", -21.3393, 55.4781),
    "repair_ravine": ("Repair café de la Ravine Blanche", -21.3330, 55.4700),
}


@pytest.fixture
async def towns(site):
    db = app_db(site.app)
    ids = {}
    for town, places in (("Saint-Denis", SAINT_DENIS), ("Saint-Pierre", SAINT_PIERRE)):
        for username, (name, lat, lon) in places.items():
            actor = await make_element(
                db, site.settings, "organization", username, name=name, lat=lat, lon=lon, locality=town
            )
            ids[name] = f"hit-{actor.id}"
    return ids


async def search(page, site, query: str = "kinds=organization") -> None:
    await page.goto(site.url(f"/search?{query}"))
    await page.wait_for_selector("#search-map .leaflet-marker-icon")


async def reveal(page, name: str):
    """Zoom into clusters until the marker titled ``name`` shows."""
    marker = page.locator(f'#search-map .search-marker[title="{name}"]')
    for _ in range(10):
        if await marker.count() == 1 and await marker.is_visible():
            return marker
        await page.locator("#search-map .marker-cluster").first.click()
        await page.wait_for_timeout(600)
    raise AssertionError(f"no marker for {name}")


async def test_list_and_markers_stay_in_sync(page, site, towns):
    await search(page, site)
    assert await page.locator("[data-testid='search-result']").count() == 6
    assert "6 results" in await page.inner_text("[data-testid='search-count']")
    # seen from afar, each town is one cluster of three
    clusters = page.locator("#search-map .marker-cluster")
    assert await clusters.count() == 2
    assert sorted(await clusters.all_inner_texts()) == ["3", "3"]
    await shot(page, "clusters")

    # hovering a list item lights up its cluster; leaving it switches it off
    item = page.locator(f"#{towns['FabLab du Sud']}")
    await item.hover()
    await expect(page.locator("#search-map .marker-cluster.is-active")).to_have_count(1)
    await page.hover("h1")
    await expect(page.locator("#search-map .is-active")).to_have_count(0)

    # "Show on the map": zooms until the marker shows, opens its popup, lights it up
    await item.locator("[data-testid='show-on-map']").click()
    marker = page.locator('#search-map .search-marker[title="FabLab du Sud"]')
    await marker.wait_for(state="visible")
    await page.locator("#search-map .leaflet-popup-content", has_text="FabLab du Sud").wait_for()
    await expect(marker).to_have_class(re.compile(r"\bis-active\b"))
    await shot(page, "show-on-map")

    # clicking another marker highlights and focuses its list item (and only it)
    for name in ("AMAP de Terre-Sainte", "Repair café de la Ravine Blanche"):
        close = page.locator("#search-map .leaflet-popup-close-button")
        if await close.count():  # the open popup may cover the neighbouring marker
            await close.click()
            await close.wait_for(state="detached")
        other = await reveal(page, name)
        await other.click()
        await page.wait_for_function(
            "id => document.getElementById(id).classList.contains('is-active')", arg=towns[name]
        )
        assert await page.evaluate("() => document.activeElement.id") == towns[name]
        assert await page.locator("[data-testid='search-result'].is-active").count() == 1
    await shot(page, "marker-clicked")

    # keyboard: tabbing onto a result's link lights its marker up
    target = towns["AMAP de Terre-Sainte"]
    await page.focus(f"#{target} .hit-name a")
    lit = page.locator('#search-map .search-marker.is-active[title="AMAP de Terre-Sainte"]')
    await expect(lit).to_have_count(1)


async def test_search_this_area_after_moving_the_map(page, site, towns):
    await search(page, site)
    button = page.locator("[data-testid='search-this-area']")
    assert await button.is_visible()
    # go to Saint-Pierre (one of its results on the map), then drag the map a little
    await page.locator(f"#{towns['FabLab du Sud']} [data-testid='show-on-map']").click()
    await page.locator('#search-map .search-marker[title="FabLab du Sud"]').wait_for(state="visible")
    await page.keyboard.press("Escape")
    await page.locator("#search-map").scroll_into_view_if_needed()
    box = await page.locator("#search-map").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.7
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + 60, y - 40, steps=8)
    await page.mouse.up()
    await shot(page, "moved")
    async with page.expect_navigation():
        await button.click()
    query = parse_qs(urlsplit(page.url).query)
    west, south, east, north = (float(v) for v in query["bbox"][0].split(","))
    assert query["kinds"] == ["organization"]
    inside = {
        name
        for name, lat, lon in (*SAINT_DENIS.values(), *SAINT_PIERRE.values())
        if west <= lon <= east and south <= lat <= north
    }
    assert inside and inside <= {name for name, _lat, _lon in SAINT_PIERRE.values()}, inside
    shown = {
        n.strip() for n in await page.locator("[data-testid='search-result'] .hit-name").all_inner_texts()
    }
    assert shown == inside
    assert await page.is_visible("[data-testid='area-note']")
    await page.wait_for_selector("#search-map .leaflet-marker-icon")
    await shot(page, "this-area")


async def test_around_me_with_a_granted_geolocation(chromium, site, towns, request):
    async with checked_page(
        chromium,
        request.node.name,
        geolocation={"latitude": -21.3400, "longitude": 55.4790},  # in Saint-Pierre
        permissions=["geolocation"],
    ) as page:
        await page.goto(site.url("/search?kinds=organization"))
        around = page.locator("[data-testid='around-me']")
        assert await around.is_visible()  # shown by JavaScript only
        async with page.expect_navigation():
            await around.click()
        query = parse_qs(urlsplit(page.url).query)
        assert query["lat"] == ["-21.34000"] and query["lon"] == ["55.47900"]
        assert query["radius_km"] == ["10"]
        assert await page.input_value("[data-testid='search-lat']") == "-21.34000"
        names = [
            n.strip() for n in await page.locator("[data-testid='search-result'] .hit-name").all_inner_texts()
        ]
        assert set(names) == {name for name, _lat, _lon in SAINT_PIERRE.values()}
        distances = await page.locator(
            "[data-testid='search-result'] [data-testid='distance']"
        ).all_inner_texts()
        assert len(distances) == 3
        await page.wait_for_selector("#search-map .leaflet-marker-icon")
        await shot(page, "around-me")
