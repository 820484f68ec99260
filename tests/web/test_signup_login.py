"""Sign-up and log-in/log-out pages over HTTP: field errors in the user's language, taken names,
closed registrations, ``next`` redirects, and the per-IP / per-account rate limits."""

from __future__ import annotations

import re

import pytest

from coserver.services.accounts import verify_password
from tests.factories import app_db, make_person
from tests.web.account_helpers import _account, _sessions, _signup_form
from tests.web.helpers import Browser


async def test_signup_logs_in_and_goes_to_the_profile_page(app):
    browser = Browser(app, lang="fr-FR,fr;q=0.9")
    body = await browser.text("/signup")
    assert 'id="signup-form"' in body and "Nom d'utilisateur" in body
    assert '<option value="fr" selected>' in body  # language preselected from the browser
    response = await browser.post("/signup", _signup_form(locale="fr"))
    assert response.status_code == 303 and response.headers["Location"] == "/settings/profile"
    body = await browser.text("/settings/profile")
    assert "Bienvenue, Nadia B. !" in body and 'data-testid="settings-profile"' in body
    account = await _account(app, "nadia")
    assert account.email == "nadia@example.org" and account.locale == "fr"
    assert verify_password(account.password_hash, "correct horse battery")


@pytest.mark.parametrize(
    ("overrides", "field", "english", "french"),
    [
        ({"username": ""}, "username", "a username is required", "un nom d'utilisateur est obligatoire"),
        ({"username": "Na dia"}, "username", "a username uses only letters", "n'utilise que les lettres"),
        ({"username": "admin"}, "username", "this username is reserved", "ce nom d'utilisateur est réservé"),
        ({"username": "x" * 65}, "username", "at most 64 characters", "64 caractères au plus"),
        ({"email": "not-an-address"}, "email", "this e-mail address is not valid", "n'est pas valide"),
        ({"password": "short", "password_confirm": "short"}, "password", "at least 8", "au moins 8"),
        (
            {"password_confirm": "something else"},
            "password_confirm",
            "the two passwords differ",
            "sont différents",
        ),
    ],
)
async def test_signup_errors_are_next_to_their_field_in_the_users_language(
    app, overrides, field, english, french
):
    for lang, message in (("en", english), ("fr", french)):
        browser = Browser(app, lang=lang)
        await browser.get("/signup")
        response = await browser.post("/signup", _signup_form(**overrides))
        body = await response.get_data(as_text=True)
        assert response.status_code == 400
        error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', body)
        assert error and message.replace("'", "&#39;") in error.group(1), (lang, body[-3000:])
        assert f'aria-describedby="{field}-error"' in body
    assert await _account(app, overrides.get("username", "nadia")) is None


async def test_signup_refuses_a_taken_username_or_email_and_reports_both(app, settings):
    await make_person(app_db(app), settings, "nadia", email="Nadia@Example.org")
    browser = Browser(app, lang="fr")
    await browser.get("/signup")
    response = await browser.post("/signup", _signup_form(username="NADIA"))
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert "ce nom d&#39;utilisateur est déjà pris" in body
    assert "un compte utilise déjà cette adresse e-mail" in body
    assert 'value="NADIA"' in body  # what was typed stays in the form; the password does not
    assert "correct horse battery" not in body


async def test_closed_registrations_show_a_translated_notice(make_settings, database_url):
    from coserver.app import create_app

    app = create_app(make_settings(database_url=database_url, open_registrations=False))
    async with app.test_app():
        browser = Browser(app, lang="fr")
        body = await browser.text("/signup")
        assert "Les inscriptions sont fermées" in body and 'id="signup-form"' not in body
        response = await browser.post("/signup", _signup_form())
        assert response.status_code == 403
        assert await _account(app, "nadia") is None


async def test_signup_is_rate_limited_per_ip(app):
    for n in range(5):
        browser = Browser(app)
        response = await browser.post("/signup", _signup_form(username=f"user{n}", email=""))
        assert response.status_code == 303, n
    browser = Browser(app, lang="fr")
    response = await browser.post("/signup", _signup_form(username="user5", email=""))
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 3600
    assert "Trop de tentatives" in await response.get_data(as_text=True)
    assert await _account(app, "user5") is None


async def test_login_with_username_or_email_then_logout(app, settings):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org")
    browser = Browser(app)
    await browser.get("/login")
    response = await browser.post("/login", {"login": "LINA@example.org", "password": "password-123"})
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert ">@lina<" in await browser.text("/")
    response = await browser.post("/logout")
    assert response.status_code == 303
    body = await browser.text("/")
    assert ">Log in<" in body and "You are logged out." in body
    account = await _account(app, "lina")
    assert await _sessions(app, account.id) == 0 and account.last_login_at is not None
    response = await browser.post("/login", {"login": "@lina", "password": "password-123"})
    assert response.status_code == 303
    assert f"@{person.username}" in await browser.text("/")


async def test_wrong_password_is_refused_in_french(app, settings):
    await make_person(app_db(app), settings, "lina")
    browser = Browser(app, lang="fr")
    await browser.get("/login")
    response = await browser.post("/login", {"login": "lina", "password": "wrong-password"})
    body = await response.get_data(as_text=True)
    assert response.status_code == 400 and "mot de passe incorrect" in body
    assert ">Se connecter<" in await browser.text("/")  # still anonymous


async def test_next_is_honoured_and_never_leaves_the_site(app, settings):
    await make_person(app_db(app), settings, "lina")
    browser = Browser(app)
    response = await browser.get("/settings/password")
    assert (
        response.status_code == 302 and response.headers["Location"] == "/login?next=%2Fsettings%2Fpassword"
    )
    body = await browser.text("/login?next=/settings/password")
    assert 'name="next" value="/settings/password"' in body
    response = await browser.post(
        "/login", {"login": "lina", "password": "password-123", "next": "/settings/password"}
    )
    assert response.headers["Location"] == "/settings/password"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        other = Browser(app)
        response = await other.post("/login", {"login": "lina", "password": "password-123", "next": target})
        assert response.status_code == 303 and response.headers["Location"] == "/", target


async def test_login_is_rate_limited_per_account_name_and_per_ip(app, settings):
    await make_person(app_db(app), settings, "lina")
    browser = Browser(app, lang="fr")
    for _ in range(5):
        response = await browser.post("/login", {"login": "lina", "password": "wrong-password"})
        assert response.status_code == 400
    # Even the right password is refused now: the attempts on this name are used up.
    response = await browser.post("/login", {"login": "lina", "password": "password-123"})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 300
    assert "Trop de tentatives. Réessayez dans" in await response.get_data(as_text=True)
    # Other names from the same IP: 10 attempts in all, then the IP is limited too.
    for n in range(4):
        response = await browser.post("/login", {"login": f"other{n}", "password": "x" * 8})
        assert response.status_code == 400, n
    response = await browser.post("/login", {"login": "someone-else", "password": "x" * 8})
    assert response.status_code == 429
