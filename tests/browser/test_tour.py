"""A tour of every page in Chromium (logged out and logged in, English and French): each loads with no
console error, has one h1 first, and labels every form control; plus the small enhancements of
coserver.js and feed.js: the handle's copy button, confirmation dialogs, and "Around me" on the live page."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from coserver.models import Actor
from coserver.services.posting import post_on_wall
from tests.browser.conftest import checked_page, shot
from tests.browser.helpers import log_in
from tests.factories import app_db, make_element, make_person

pytestmark = pytest.mark.browser

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
    .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby'))
    .map(el => el.outerHTML.slice(0, 120))"""
HEADINGS = "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => Number(h.tagName[1]))"


@pytest.fixture
async def territory(site):
    db = app_db(site.app)
    settings = site.settings
    marie = await make_person(db, settings, "marie", name="Marie Payet", locale="en")
    kaz = await make_element(
        db,
        settings,
        "organization",
        "kaz",
        admin=marie,
        name="Kaz Kréol",
        lat=-21.34,
        lon=55.48,
        locality="Saint-Pierre",
    )
    await make_element(
        db,
        settings,
        "event",
        "fet_kaf",
        admin=marie,
        name="Fèt Kaf",
        lat=-21.341,
        lon=55.479,
        locality="Saint-Pierre",
        starts_at=datetime.now(UTC) + timedelta(days=1),
    )
    async with db.transaction() as s:
        post = await post_on_wall(
            s, settings, await s.get(Actor, marie.id), await s.get(Actor, kaz.id), "Réunion samedi #kaz"
        )
    return {"marie": marie, "kaz": kaz, "post": post}


PUBLIC_PAGES = [
    "/",
    "/live",
    "/search",
    "/search?q=kaz",
    "/agenda",
    "/tags/kaz",
    "/login",
    "/signup",
    "/password/forgot",
    "/@kaz",
    "/@kaz/wall",
    "/@kaz/community",
    "/@kaz/events",
    "/@kaz/projects",
    "/@kaz/map",
    "/@kaz/history",
    "/@kaz/remote-follow",
    "/@fet_kaf",
    "/@marie",
]
PRIVATE_PAGES = [
    "/home",
    "/new",
    "/new/organization",
    "/new/project",
    "/new/event",
    "/new/poi",
    "/@kaz/edit",
    "/settings/profile",
    "/settings/password",
    "/settings/account",
]


async def check_page(page, site, path: str, lang: str) -> None:
    response = await page.goto(site.url(path))
    assert response.status == 200, path
    assert await page.get_attribute("html", "lang") == lang, path
    levels = await page.evaluate(HEADINGS)
    assert levels and levels[0] == 1 and levels.count(1) == 1, (path, levels)
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (path, levels)
    assert await page.evaluate(UNLABELLED) == [], path
    await shot(page, path.strip("/").replace("/", "_").replace("?", "_") or "home")


@pytest.mark.parametrize("page_locale", ["en-GB", "fr-FR"])
async def test_every_page_loads_clean(page, site, territory, page_locale):
    lang = page_locale[:2]
    for path in PUBLIC_PAGES:
        await check_page(page, site, path, lang)
    await log_in(page, site, "marie")
    if lang == "fr":
        async with page.expect_navigation():  # the account was made in English: switch it
            await page.select_option("#lang-select", "fr")
    for path in [*PRIVATE_PAGES, *PUBLIC_PAGES, f"/@kaz/posts/{territory['post'].id}"]:
        await check_page(page, site, path, lang)


async def test_copy_button_and_confirmation_dialogs(chromium, site, territory, request):
    async with checked_page(
        chromium, request.node.name, permissions=["clipboard-read", "clipboard-write"]
    ) as page:
        await log_in(page, site, "marie")
        await page.goto(site.url("/@kaz"))
        handle = (await page.inner_text("#element-handle")).strip()
        copy = page.locator("button.copy-handle")
        assert await copy.is_visible()
        await copy.click()
        await expect(copy).to_have_text("Copied")  # once the clipboard has it
        assert await page.evaluate("() => navigator.clipboard.readText()") == handle
        await shot(page, "copied")

        # deleting a post asks first: refusing keeps it, accepting deletes it
        await page.goto(site.url("/@kaz/wall"))
        post_id = territory["post"].id
        messages: list[str] = []
        answer = {"accept": False}

        async def on_dialog(dialog) -> None:
            messages.append(dialog.message)
            await (dialog.accept() if answer["accept"] else dialog.dismiss())

        page.on("dialog", on_dialog)
        await page.locator(f"#post-{post_id} [data-testid='delete-post']").click()
        await page.wait_for_timeout(300)
        assert messages == ["Delete this post?"]
        assert await page.locator(f"#post-{post_id}").count() == 1
        answer["accept"] = True
        async with page.expect_navigation():
            await page.locator(f"#post-{post_id} [data-testid='delete-post']").click()
        assert messages == ["Delete this post?", "Delete this post?"]
        assert await page.locator(f"#post-{post_id}").count() == 0
        await shot(page, "post-deleted")


async def test_around_me_on_the_live_and_agenda_pages(chromium, site, territory, request):
    async with checked_page(
        chromium,
        request.node.name,
        geolocation={"latitude": -21.3405, "longitude": 55.4795},
        permissions=["geolocation"],
    ) as page:
        await page.goto(site.url("/live"))
        around = page.locator("[data-testid='around-me']")
        assert await around.is_visible()
        async with page.expect_navigation():
            await around.click()
        query = parse_qs(urlsplit(page.url).query)
        assert query["lat"] == ["-21.34050"] and query["lon"] == ["55.47950"] and query["radius_km"] == ["10"]
        await shot(page, "live-around-me")
        await page.goto(site.url("/agenda"))
        async with page.expect_navigation():
            await page.locator("[data-testid='around-me']").click()
        query = parse_qs(urlsplit(page.url).query)
        assert query["lat"] == ["-21.34050"] and query["lon"] == ["55.47950"]
        events = await page.locator("[data-testid='agenda-event']").all_inner_texts()
        assert len(events) == 1 and "Fèt Kaf" in events[0]
        await shot(page, "agenda-around-me")


async def test_the_edit_form_map_starts_on_the_saved_point(page, site, territory):
    await log_in(page, site, "marie")
    await page.goto(site.url("/@kaz/edit"))
    await page.wait_for_selector("#map-picker .leaflet-marker-icon")
    assert (
        await page.input_value("#f-lat") == "-21.340000" or float(await page.input_value("#f-lat")) == -21.34
    )
    marker = page.locator("#map-picker .leaflet-marker-icon")
    await page.locator("#map-picker").scroll_into_view_if_needed()
    box, frame = await marker.bounding_box(), await page.locator("#map-picker").bounding_box()
    # the marker is in the middle of the map (its icon's tip at the centre)
    assert abs(box["x"] + box["width"] / 2 - (frame["x"] + frame["width"] / 2)) < 3
    # dragging the marker moves the point
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2, steps=6)
    await page.mouse.up()
    assert 55.482 < float(await page.input_value("#f-lon")) < 55.485  # 80 px east at zoom 15
    assert abs(float(await page.input_value("#f-lat")) + 21.34) < 0.001
    await shot(page, "edit-map-dragged")


async def test_the_main_path_works_without_javascript(chromium, site, territory, request):
    async with checked_page(chromium, request.node.name, java_script_enabled=False) as page:
        await log_in(page, site, "marie")
        # the element form: no map, the coordinates are plain visible inputs
        await page.goto(site.url("/new/organization"))
        assert await page.is_hidden("#map-picker")
        assert await page.is_visible("#f-lat") and await page.is_visible("#f-lon")
        await page.fill("#f-name", "Ti Kaz Lecture")
        await page.fill("#f-username", "ti_kaz_lecture")
        await page.fill("#f-locality", "Saint-Louis")
        await page.fill("#f-lat", "-21.2860")
        await page.fill("#f-lon", "55.4110")
        await shot(page, "form-without-map")
        async with page.expect_navigation():
            await page.click("#element-submit")
        assert page.url.endswith("/@ti_kaz_lecture")
        assert await page.inner_text("#element-locality") == "Saint-Louis"
        # the search page lists the results; the map-only buttons stay hidden
        await page.goto(site.url("/search?q=lecture"))
        names = await page.locator("[data-testid='search-result'] .hit-name").all_inner_texts()
        assert [n.strip() for n in names] == ["Ti Kaz Lecture"]
        assert await page.is_hidden("[data-testid='search-this-area']")
        assert await page.is_hidden("[data-testid='around-me']")
        await shot(page, "search-without-map")
        # the language menu has its own button
        await page.select_option("#lang-select", "fr")
        change = page.locator("form.lang-form button")
        assert await change.is_visible()
        async with page.expect_navigation():
            await change.click()
        assert await page.get_attribute("html", "lang") == "fr"
        assert await page.inner_text("h1") == "Chercher dans le territoire"
        await shot(page, "french-without-javascript")
