"""The web UI's foundation: sessions and CSRF, language choice, vendor assets, complete French catalogues."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from coserver.web.i18n import CATALOG_DIR, catalog
from tests.factories import app_db, make_person
from tests.web.helpers import Browser

WEB = Path(__file__).parents[2] / "coserver" / "web"


async def test_post_without_csrf_token_is_refused(app):
    browser = Browser(app)
    response = await browser.post("/lang", {"lang": "fr", "next": "/"}, csrf=False)
    assert response.status_code == 400
    response = await browser.post("/lang", {"lang": "fr", "next": "/", "csrf_token": "forged"})
    assert response.status_code == 400


async def test_cross_site_origin_is_refused_even_with_a_token(app):
    browser = Browser(app)
    await browser.get("/")
    response = await browser.post("/lang", {"lang": "fr"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403


async def test_language_menu_sets_cookie_and_translates(app):
    browser = Browser(app, lang="en")
    body = await browser.text("/")
    assert 'lang="en"' in body and ">Log in<" in body
    response = await browser.post("/lang", {"lang": "fr", "next": "/live"})
    assert response.status_code == 303 and response.headers["Location"] == "/live"
    body = await browser.text("/")
    assert '<html lang="fr">' in body and ">Se connecter<" in body


async def test_browser_language_is_the_default(app):
    assert ">Se connecter<" in await Browser(app, lang="fr-FR,fr;q=0.9").text("/")
    assert ">Log in<" in await Browser(app, lang="en-GB,en;q=0.8").text("/")


async def test_language_choice_is_stored_on_the_account(app, settings):
    person = await make_person(app_db(app), settings, "lina", locale="en")
    browser = Browser(app, lang="en")
    await browser.login(person)
    assert ">Log out<" in await browser.text("/")
    await browser.post("/lang", {"lang": "fr", "next": "/"})
    fresh = Browser(app, lang="en")  # another browser, same account: the account's choice wins
    await fresh.login(person)
    assert ">Se déconnecter<" in await fresh.text("/")


async def test_next_never_leaves_the_site(app):
    browser = Browser(app)
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        response = await browser.post("/lang", {"lang": "en", "next": target})
        assert response.headers["Location"] == "/"


async def test_leaflet_and_markercluster_are_served_locally(app):
    client = app.test_client()
    for path in (
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/vendor/markercluster/leaflet.markercluster.js",
        "/static/vendor/markercluster/MarkerCluster.Default.css",
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert len(await response.get_data()) > 1000
    assert (await client.get("/static/vendor/nope/x.js")).status_code == 404
    assert (await client.get("/static/vendor/leaflet/../../../../etc/passwd")).status_code == 404


async def test_pages_carry_a_strict_content_security_policy(app):
    response = await Browser(app).get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in await response.get_data(as_text=True)  # no inline scripts at all


def _extracted_messages() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2.ext:babel_extract")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(WEB),
        method_map=method_map,
        options_map=options,
        keywords={"_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        if isinstance(message, tuple):  # ngettext: the catalogue keys plural entries by the singular
            found.add(message[0])
        elif message:
            found.add(message)
    return found


def test_every_ui_string_has_a_french_translation():
    assert (CATALOG_DIR / "fr").is_dir()
    french = catalog("fr")

    def translated(msgid: str) -> bool:
        entry = french.get(msgid)
        strings = entry.string if entry else ""
        return all(strings) if isinstance(strings, tuple) else bool(strings)

    missing = sorted(m for m in _extracted_messages() if not translated(m))
    assert not missing, f"{len(missing)} strings without French: {missing[:30]}"


async def test_error_pages_are_translated_pages(app):
    response = await Browser(app, lang="fr").get("/@nobody-here")
    assert response.status_code == 404
    body = await response.get_data(as_text=True)
    assert "Page introuvable" in body and 'lang="fr"' in body
    response = await Browser(app, lang="fr").post("/lang", {"lang": "en"}, csrf=False)
    assert response.status_code == 400 and "ce formulaire a expiré" in await response.get_data(as_text=True)
