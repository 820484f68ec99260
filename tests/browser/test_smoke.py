"""The browser harness itself: pages load in Chromium with no console error and no off-site request."""

from __future__ import annotations

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


async def test_home_page_loads_without_console_errors(page, site):
    response = await page.goto(site.url("/"))
    assert response.status == 200
    assert await page.get_attribute("html", "lang") == "en"
    await shot(page, "home")


async def test_language_menu_switches_to_french_without_a_submit_button(page, site):
    await page.goto(site.url("/"))
    assert not await page.is_visible("form.lang-form button")  # JavaScript submits on change
    async with page.expect_navigation():
        await page.select_option("#lang-select", "fr")
    assert await page.get_attribute("html", "lang") == "fr"
    assert await page.is_visible("text=Se connecter")
    await shot(page, "home-fr")
