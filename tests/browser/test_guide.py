"""The guide's path, end to end in real Chromium: sign up, complete the profile, create an organization by
clicking on the map, post on its wall, create an event (map click too), find both on the search page (list
and markers, in sync), see the event in the agenda under its day, switch to French. A screenshot per step."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import shot
from tests.browser.helpers import PASSWORD, click_map_at, json_block

pytestmark = pytest.mark.browser

CENTRE = (-21.115, 55.536)  # the territory's centre (settings.territory_lat/lon), zoom 10
GARDEN = (-21.0275, 55.5394)  # Salazie, in its cirque
WORKSHOP = (-21.1340, 55.6280)  # La Plaine-des-Palmistes


def near(value: str, expected: float, tolerance: float = 0.003) -> bool:
    return abs(float(value) - expected) <= tolerance


async def test_the_guide_path_from_sign_up_to_french(page, site):
    # 1. Sign up through the form.
    await page.goto(site.url("/"))
    await page.click("a[href='/signup']")
    await page.wait_for_url("**/signup")
    await page.fill("#f-username", "marie_payet")
    await page.fill("#f-name", "Marie Payet")
    await page.fill("#f-email", "marie@example.re")
    await page.fill("#f-password", PASSWORD)
    await page.fill("#f-password_confirm", PASSWORD)
    await shot(page, "signup-filled")
    async with page.expect_navigation():
        await page.click("#signup-submit")
    assert page.url.endswith("/settings/profile")
    assert "Welcome, Marie Payet" in await page.locator(".flashes").inner_text()
    await shot(page, "signed-up")

    # 2. Complete the profile.
    await page.fill("#f-short_description", "Jardinière à Saint-Denis, compost et semences paysannes.")
    await page.fill("#f-tags", "jardinage, compost")
    await page.fill("#f-locality", "Saint-Denis")
    await page.fill("#f-country", "RE")
    await page.fill("#f-lat", "-20.8790")
    await page.fill("#f-lon", "55.4480")
    async with page.expect_navigation():
        await page.click("#profile-submit")
    assert await page.input_value("#f-locality") == "Saint-Denis"
    assert await page.input_value("#f-short_description") == (
        "Jardinière à Saint-Denis, compost et semences paysannes."
    )
    await shot(page, "profile-saved")
    await page.goto(site.url("/@marie_payet"))
    assert "Jardinière à Saint-Denis" in await page.locator("#element").inner_text()
    await shot(page, "my-page")

    # 3. Create an organization: fill the form and click on the map.
    await page.goto(site.url("/new"))
    await shot(page, "new-chooser")
    async with page.expect_navigation():
        await page.click("#kind-chooser a[data-kind='organization']")
    assert page.url.endswith("/new/organization")
    await page.fill("#f-name", "Jardin partagé de Salazie")
    # the username follows the name (map-picker.js)
    assert await page.input_value("#f-username") == "jardin_partage_de_salazie"
    await page.fill("#f-short_description", "Un jardin partagé et un compost collectif à Salazie.")
    await page.fill("#f-tags", "jardin, compost")
    await page.fill("#f-locality", "Salazie")
    await page.fill("#f-country", "RE")
    await page.wait_for_selector("#map-picker .leaflet-tile-loaded")
    assert await page.locator("#f-lat").input_value() == ""
    await click_map_at(page, "#map-picker", CENTRE, GARDEN, 10)
    lat, lon = await page.input_value("#f-lat"), await page.input_value("#f-lon")
    assert near(lat, GARDEN[0]) and near(lon, GARDEN[1]), (lat, lon)
    assert await page.locator("#map-picker .leaflet-marker-icon").count() == 1
    assert (await page.inner_text("#map-picker-status")).strip() == f"{lat}, {lon}"
    await shot(page, "organization-form")
    async with page.expect_navigation():
        await page.click("#element-submit")
    assert page.url.endswith("/@jardin_partage_de_salazie"), page.url
    assert await page.inner_text("#element-name") == "Jardin partagé de Salazie"
    assert await page.inner_text("#element-locality") == "Salazie"
    await shot(page, "organization-page")
    await page.click("#element-tabs a[data-tab='map']")
    await page.wait_for_selector("#element-map.map-ready .leaflet-marker-icon")
    points = await json_block(page, "#element-map-points")
    main = [p for p in points if p.get("main")]
    assert (
        len(main) == 1
        and near(str(main[0]["lat"]), float(lat), 1e-5)
        and near(str(main[0]["lon"]), float(lon), 1e-5)
    )
    await shot(page, "organization-map")

    # 4. Post on its wall, publicly.
    await page.click("#element-tabs a[data-tab='wall']")
    post_text = "Grande journée compost samedi au jardin ! Apportez vos épluchures #compost"
    await page.fill("#post-text", post_text)
    await page.check("[data-testid='scope-public']")
    await shot(page, "wall-post-form")
    async with page.expect_navigation():
        await page.click("[data-testid='post-submit']")
    card = page.locator("[data-testid='post-card']").filter(has_text="Grande journée compost")
    assert await card.count() == 1
    assert await card.locator("a[href$='/tags/compost']").count() >= 1
    await shot(page, "wall-posted")

    # 5. Create an event with dates, also placed by a map click.
    day = datetime.now(ZoneInfo("Indian/Reunion")).date() + timedelta(days=2)
    await page.goto(site.url("/new/event"))
    await page.fill("#f-name", "Atelier compost à la Plaine")
    await page.fill("#f-start_date", day.isoformat())
    await page.fill("#f-start_time", "14:00")
    await page.fill("#f-end_date", day.isoformat())
    await page.fill("#f-end_time", "17:00")
    await page.fill("#f-short_description", "Apprendre à composter ses déchets de cuisine.")
    await page.fill("#f-locality", "La Plaine-des-Palmistes")
    await page.fill("#f-parent", "jardin_partage_de_salazie")
    await page.wait_for_selector("#map-picker .leaflet-tile-loaded")
    await click_map_at(page, "#map-picker", CENTRE, WORKSHOP, 10)
    assert near(await page.input_value("#f-lat"), WORKSHOP[0]) and near(
        await page.input_value("#f-lon"), WORKSHOP[1]
    )
    await shot(page, "event-form")
    async with page.expect_navigation():
        await page.click("#element-submit")
    assert page.url.endswith("/@atelier_compost_a_la_plaine"), page.url
    assert await page.inner_text("#element-kind") == "Event"
    await shot(page, "event-page")

    # 6. Find both on the search page: list items and map markers.
    await page.goto(site.url("/search"))
    await page.fill("[data-testid='search-q']", "compost")
    async with page.expect_navigation():
        await page.click("[data-testid='search-submit']")
    results = page.locator("[data-testid='search-result']")
    names = [n.strip() for n in await results.locator(".hit-name").all_inner_texts()]
    assert "Jardin partagé de Salazie" in names and "Atelier compost à la Plaine" in names, names
    assert re.search(r"\d+ results?", await page.inner_text("[data-testid='search-count']"))
    await page.wait_for_selector("#search-map .leaflet-marker-icon")
    await shot(page, "search-results")
    for name, kind in (
        ("Jardin partagé de Salazie", "organization"),
        ("Atelier compost à la Plaine", "event"),
    ):
        item = results.filter(has=page.locator(".hit-name", has_text=name))
        item_id = await item.get_attribute("id")
        marker = await reveal_marker(page, name)
        assert f"kind-{kind}" in (await marker.get_attribute("class"))
        await marker.click()
        await page.wait_for_function(
            "id => document.getElementById(id).classList.contains('is-active')", arg=item_id
        )
        assert await page.evaluate("() => document.activeElement.id") == item_id
        assert await page.locator(".hit.is-active").count() == 1
        popup = page.locator("#search-map .leaflet-popup-content").filter(has_text=name)
        await popup.wait_for(state="visible")
        await shot(page, f"search-marker-{kind}")
        # and back: hovering the list item lights its marker up
        await item.hover()
        await page.wait_for_selector(f'#search-map .search-marker.is-active[title="{name}"]')

    # 7. The event in the agenda, under its day.
    await page.goto(site.url("/agenda"))
    section = page.locator(f"[data-testid='agenda-day'][data-date='{day.isoformat()}']")
    assert await section.count() == 1
    assert "Atelier compost à la Plaine" in await section.locator("[data-testid='agenda-event']").inner_text()
    await section.scroll_into_view_if_needed()
    await shot(page, "agenda")

    # 8. Switch to French with the language menu.
    async with page.expect_navigation():
        await page.select_option("#lang-select", "fr")
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.inner_text("[data-testid='agenda-submit']") == "Afficher les événements"
    assert await page.is_visible("text=Se déconnecter")
    await shot(page, "agenda-fr")
    await page.goto(site.url("/search?q=compost"))
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.inner_text("h1") == "Chercher dans le territoire"
    await shot(page, "search-fr")
    await page.goto(site.url("/@jardin_partage_de_salazie"))
    assert await page.inner_text("#latest-posts-heading") == "Dernières publications"
    assert await page.inner_text("#element-kind") == "Organisation"
    await shot(page, "organization-fr")
    await page.goto(site.url("/settings/profile"))  # the choice is the account's now
    assert await page.input_value("#f-locale") == "fr"
    await shot(page, "profile-fr")


async def reveal_marker(page, name: str):
    """The marker titled ``name`` on the search map, zooming into clusters until it is shown."""
    marker = page.locator(f'#search-map .search-marker[title="{name}"]')
    for _ in range(8):
        if await marker.count() == 1 and await marker.is_visible():
            return marker
        cluster = page.locator("#search-map .marker-cluster").first
        await cluster.click()
        await page.wait_for_timeout(600)  # the cluster's zoom animation
    raise AssertionError(f"no marker for {name}")
