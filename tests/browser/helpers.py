"""Shared steps of the browser tests: log in through the form, click a map at given coordinates."""

from __future__ import annotations

import json

PASSWORD = "password-123"


async def log_in(page, site, username: str, password: str = PASSWORD) -> None:
    """Log in through the real log-in form."""
    await page.goto(site.url("/login"))
    await page.fill("#f-login", username)
    await page.fill("#f-password", password)
    async with page.expect_navigation():
        await page.press("#f-password", "Enter")
    assert await page.locator("form[action='/logout']").count() == 1, "not logged in"


async def map_offset(
    page, centre: tuple[float, float], target: tuple[float, float], zoom: int
) -> tuple[float, float]:
    """Pixel offset of ``target`` from ``centre`` on a Web-Mercator map at ``zoom`` (Leaflet's own maths)."""
    return tuple(
        await page.evaluate(
            """([c, t, z]) => {
                const a = L.CRS.EPSG3857.latLngToPoint(L.latLng(c[0], c[1]), z);
                const b = L.CRS.EPSG3857.latLngToPoint(L.latLng(t[0], t[1]), z);
                return [b.x - a.x, b.y - a.y];
            }""",
            [list(centre), list(target), zoom],
        )
    )


async def click_map_at(
    page, selector: str, centre: tuple[float, float], target: tuple[float, float], zoom: int
):
    """Click the Leaflet map ``selector`` (centred on ``centre`` at ``zoom``) where ``target`` is."""
    box = await page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not displayed"
    dx, dy = await map_offset(page, centre, target, zoom)
    x, y = box["width"] / 2 + dx, box["height"] / 2 + dy
    assert 0 < x < box["width"] and 0 < y < box["height"], f"{target} is outside the map {box}"
    await page.locator(selector).click(position={"x": x, "y": y})


async def json_block(page, selector: str):
    return json.loads(await page.locator(selector).text_content())
