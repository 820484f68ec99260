"""Real Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright) against a real coserver on 127.0.0.1.

- ``site``: the coserver app served by hypercorn on a free loopback port, with its own database; the map tiles
  come from the app itself (a blank tile), so nothing leaves the machine.
- ``page``: a fresh browser context (English unless ``page_locale`` says otherwise) whose every request
  to another host than 127.0.0.1 is aborted and recorded; console errors, page errors and refused off-site
  requests fail the test at teardown ("zero console errors").
- ``shot(page, name)``: a full-page screenshot under ``test-output/browser/<test name>/``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from coserver.app import create_app
from tests.servers import free_port, serve_app

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).parents[2] / "test-output" / "browser"
BLANK_TILE = "/static/img/blank-tile.png?z={z}&x={x}&y={y}"


@dataclass
class Site:
    base: str
    app: object
    settings: object

    def url(self, path: str) -> str:
        return self.base + path


@dataclass
class PageProblems:
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, url of the source)
    page_errors: list[str] = field(default_factory=list)
    offsite: list[str] = field(default_factory=list)
    # pages themselves answered with an error status (a form shown again with its errors is a 400): Chromium
    # logs "Failed to load resource" for them, which is the intended answer, not a broken page
    error_documents: set[tuple[str, int]] = field(default_factory=set)

    def real_console_errors(self) -> list[str]:
        return [
            text
            for text, url in self.console_errors
            if not any(
                url == doc_url
                and text == f"Failed to load resource: the server responded with a status of {status} ()"
                for doc_url, status in self.error_documents
            )
        ]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def site(make_settings, database_url: str) -> AsyncIterator[Site]:
    port = free_port()
    settings = make_settings(
        base_url=f"http://127.0.0.1:{port}", database_url=database_url, tile_url=BLANK_TILE
    )
    app = create_app(settings)
    async with serve_app(app, port) as base:
        yield Site(base=base, app=app, settings=settings)


@pytest.fixture
def page_locale() -> str:
    return "en-GB"


@asynccontextmanager
async def checked_page(chromium, test_name: str, **context_options) -> AsyncIterator[object]:
    """A page in a fresh context (``context_options`` go to ``new_context``) with the harness's checks:
    requests to other hosts than 127.0.0.1 are aborted, and they, console errors and page errors fail the
    test when the block ends. Screenshots of ``shot`` go to ``test-output/browser/<test_name>/``."""
    options = {"locale": "en-GB", "viewport": {"width": 1280, "height": 900}, "geolocation": None}
    options.update(context_options)
    context = await chromium.new_context(**options)
    problems = PageProblems()

    async def only_loopback(route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            await route.continue_()
        else:
            problems.offsite.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_loopback)
    page = await context.new_page()
    page.on(
        "console",
        lambda msg: (
            problems.console_errors.append((msg.text, msg.location.get("url", "")))
            if msg.type == "error"
            else None
        ),
    )

    def document_status(response) -> None:
        if response.status >= 400 and response.request.resource_type == "document":
            problems.error_documents.add((response.url, response.status))

    page.on("response", document_status)
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))
    page.set_default_timeout(10_000)
    page.problems = problems  # type: ignore[attr-defined]
    page.shot_dir = OUTPUT / re.sub(r"[^\w.-]+", "_", test_name)  # type: ignore[attr-defined]
    page.shot_dir.mkdir(parents=True, exist_ok=True)
    for old in page.shot_dir.glob("*.png"):
        old.unlink()
    try:
        yield page
    finally:
        await context.close()
    assert not problems.page_errors, f"JavaScript errors: {problems.page_errors}"
    assert not problems.real_console_errors(), f"console errors: {problems.console_errors}"
    assert not problems.offsite, f"requests to other hosts: {problems.offsite}"


@pytest.fixture
async def page(chromium, site: Site, page_locale: str, request) -> AsyncIterator[object]:
    async with checked_page(chromium, request.node.name, locale=page_locale) as page:
        yield page


async def shot(page, name: str) -> Path:
    """Save a full-page screenshot of ``page`` as ``<n>-<name>.png`` in the test's output folder."""
    folder: Path = page.shot_dir
    page.shot_count = getattr(page, "shot_count", 0) + 1
    path = folder / f"{page.shot_count:02d}-{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
