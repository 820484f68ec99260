"""Accounts pages over HTTP: sign-up, log-in/out with rate limits, password reset, settings, deletion."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlalchemy import func, select, update

from coserver.models import Account, Actor, ApiToken, Delivery, Link, PasswordReset, Post, WebSession
from coserver.services.accounts import verify_password
from coserver.services.elements import add_link
from coserver.services.posting import post_on_wall
from coserver.services.tokens import create_token
from tests.factories import app_db, make_element, make_person
from tests.federation.helpers import remote_actor
from tests.smtpserver import smtp_server
from tests.web.helpers import Browser

LINK_RE = re.compile(r"http://127\.0\.0\.1:8000/password/reset/([A-Za-z0-9_-]+)")


def _signup_form(**overrides) -> dict[str, str]:
    form = {
        "username": "nadia",
        "name": "Nadia B.",
        "email": "nadia@example.org",
        "password": "correct horse battery",
        "password_confirm": "correct horse battery",
        "locale": "en",
    }
    form.update(overrides)
    return form


async def _account(app, username: str) -> Account | None:
    async with app_db(app).session() as s:
        return await s.scalar(
            select(Account).join(Actor, Actor.id == Account.person_id).where(Actor.username == username)
        )


async def _sessions(app, account_id: int) -> int:
    async with app_db(app).session() as s:
        return await s.scalar(
            select(func.count()).select_from(WebSession).where(WebSession.account_id == account_id)
        )


async def _background(app) -> None:
    """Wait for the mails the last request queued."""
    await asyncio.gather(*list(app.background_tasks))


# -- sign-up ---------------------------------------------------------------------------------------------
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


# -- log-in, log-out -------------------------------------------------------------------------------------
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


# -- password reset --------------------------------------------------------------------------------------
async def _ask_reset(app, login: str, lang: str = "en") -> str:
    browser = Browser(app, lang=lang)
    await browser.get("/password/forgot")
    response = await browser.post("/password/forgot", {"login": login})
    assert response.status_code == 303 and response.headers["Location"] == "/password/forgot"
    body = await browser.text("/password/forgot")
    await _background(app)
    return body


async def test_reset_by_logged_link_end_to_end(app, settings, caplog):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org", locale="fr")
    account = await _account(app, "lina")
    elsewhere = Browser(app)
    await elsewhere.login(person)
    other = Browser(app)
    await other.login(person)
    with caplog.at_level(logging.WARNING, logger="coserver.mail"):
        answer_known = await _ask_reset(app, "lina@example.org")
    records = [r for r in caplog.records if r.name == "coserver.mail" and r.levelno == logging.WARNING]
    assert len(records) == 1 and "lina@example.org" in records[0].getMessage()
    message = records[0].getMessage()
    assert "Bonjour lina" in message  # the mail is in the account's language, not the requester's
    token = LINK_RE.search(message).group(1)
    async with app_db(app).session() as s:
        stored = await s.scalar(
            select(PasswordReset.token_hash).where(PasswordReset.account_id == account.id)
        )
    assert token not in stored and len(stored) == 64  # only the digest is stored

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="coserver.mail"):
        answer_unknown = await _ask_reset(app, "nobody@example.org")
    assert not [r for r in caplog.records if r.name == "coserver.mail"]
    flash = "If an account matches"
    assert flash in answer_known and flash in answer_unknown  # same answer: no account enumeration

    browser = Browser(app)
    body = await browser.text(f"/password/reset/{token}")
    assert 'id="reset-form"' in body
    response = await browser.post(
        f"/password/reset/{token}", {"password": "short", "password_confirm": "short"}
    )
    assert response.status_code == 400 and "at least 8" in await response.get_data(as_text=True)
    response = await browser.post(
        f"/password/reset/{token}", {"password": "brand-new-secret", "password_confirm": "brand-new-secret"}
    )
    assert response.status_code == 303
    assert ">@lina<" in await browser.text("/")  # logged in by the reset
    assert await _sessions(app, account.id) == 1  # the two other sessions are closed
    assert ">Log in<" in await elsewhere.text("/")
    assert verify_password((await _account(app, "lina")).password_hash, "brand-new-secret")
    # Single use.
    response = await Browser(app).get(f"/password/reset/{token}")
    assert response.status_code == 400 and "already used or expired" in await response.get_data(as_text=True)
    response = await Browser(app).post(
        f"/password/reset/{token}", {"password": "another-secret", "password_confirm": "another-secret"}
    )
    assert response.status_code == 400
    assert verify_password((await _account(app, "lina")).password_hash, "brand-new-secret")


async def test_expired_reset_link_is_refused(app, settings, caplog):
    await make_person(app_db(app), settings, "lina", email="lina@example.org")
    with caplog.at_level(logging.WARNING, logger="coserver.mail"):
        await _ask_reset(app, "lina")
    token = LINK_RE.search(caplog.records[-1].getMessage()).group(1)
    async with app_db(app).transaction() as s:
        await s.execute(update(PasswordReset).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    browser = Browser(app, lang="fr")
    response = await browser.get(f"/password/reset/{token}")
    assert response.status_code == 400 and "Ce lien ne fonctionne pas" in await response.get_data(
        as_text=True
    )
    response = await browser.post(
        f"/password/reset/{token}", {"password": "brand-new-secret", "password_confirm": "brand-new-secret"}
    )
    assert response.status_code == 400
    assert verify_password((await _account(app, "lina")).password_hash, "password-123")


async def test_reset_for_an_account_without_email_is_logged_for_the_operator(app, settings, caplog):
    await make_person(app_db(app), settings, "pseudo")
    with caplog.at_level(logging.WARNING, logger="coserver.mail"):
        await _ask_reset(app, "pseudo")
    message = caplog.records[-1].getMessage()
    assert "@pseudo has no e-mail address" in message and LINK_RE.search(message)


async def test_reset_requests_are_rate_limited(app, settings):
    await make_person(app_db(app), settings, "lina", email="lina@example.org")
    browser = Browser(app)
    for _ in range(3):
        assert (await browser.post("/password/forgot", {"login": "lina"})).status_code == 303
    response = await browser.post("/password/forgot", {"login": "lina"})
    assert response.status_code == 429 and "Retry-After" in response.headers
    await _background(app)


# -- settings: password, profile -------------------------------------------------------------------------
async def test_password_change_needs_the_current_one_and_closes_other_sessions(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    account = await _account(app, "lina")
    browser, other = Browser(app, lang="fr"), Browser(app)
    await browser.login(person)
    await other.login(person)
    form = {"current_password": "nope-nope", "password": "new-secret-1", "password_confirm": "new-secret-1"}
    response = await browser.post("/settings/password", form)
    body = await response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="current_password-error"' in body and "pas le bon" in body
    form["current_password"] = "password-123"
    response = await browser.post("/settings/password", form)
    assert response.status_code == 303
    assert "Votre mot de passe est changé" in await browser.text("/settings/password")
    assert ">Log in<" in await other.text("/")
    assert await _sessions(app, account.id) == 1
    assert verify_password((await _account(app, "lina")).password_hash, "new-secret-1")


async def test_profile_edit_saves_fields_place_language_and_visibility(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app)
    await browser.login(person)
    body = await browser.text("/settings/profile")
    assert 'data-testid="vis-email"' in body and '<option value="hidden" selected>' in body
    form = {
        "name": "Lina <b>K</b>",
        "short_description": "Gardener",
        "description": "I grow #tomatoes.\n\nSee https://lina.example",
        "tags": "Jardin, #compost",
        "urls": "https://lina.example\nhttps://blog.lina.example",
        "contact_email": "hello@lina.example",
        "phone": "+262 692 00 00 00",
        "street": "1 rue de Paris",
        "postal_code": "97400",
        "locality": "Saint-Denis",
        "country": "re",
        "lat": "-20,8821",
        "lon": "55.4504",
        "locale": "fr",
        "vis_email": "linked",
        "vis_place": "hidden",
        "vis_tags": "public",
    }
    response = await browser.post("/settings/profile", form)
    assert response.status_code == 303, await response.get_data(as_text=True)
    body = await browser.text("/settings/profile")
    assert "Votre profil est enregistré." in body and 'lang="fr"' in body
    async with app_db(app).session() as s:
        saved = await s.get(Actor, person.id)
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
    assert saved.name == "Lina K" and saved.tags == ["jardin", "compost"]
    assert 'href="https://lina.example"' in saved.description_html and "<script" not in saved.description_html
    assert saved.contact == {"email": "hello@lina.example", "phone": "+262 692 00 00 00"}
    assert [u["url"] for u in saved.urls] == ["https://lina.example", "https://blog.lina.example"]
    assert saved.field_visibility == {"email": "linked", "place": "hidden", "tags": "public"} | {
        k: v for k, v in saved.field_visibility.items() if k not in {"email", "place", "tags"}
    }
    assert account.locale == "fr"
    assert 'value="-20.882100"' in body and 'value="RE"' in body  # the place is shown back


async def test_profile_errors_are_shown_next_to_their_field(app, settings):
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app, lang="fr")
    await browser.login(person)
    response = await browser.post(
        "/settings/profile", {"name": "Lina", "lat": "north", "lon": "", "urls": "lina.example"}
    )
    body = await response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="lat-error"' in body and "Indiquez un nombre" in body
    assert 'id="urls-error"' in body and "Chaque lien commence par https://" in body
    response = await browser.post("/settings/profile", {"name": "  ", "lat": "95", "lon": "10"})
    body = await response.get_data(as_text=True)
    assert response.status_code == 400 and ('id="name-error"' in body or 'id="lat-error"' in body)


async def test_settings_need_a_login(app):
    for path in ("/settings/profile", "/settings/password", "/settings/account"):
        response = await Browser(app).get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


# -- deletion --------------------------------------------------------------------------------------------
async def _follow_from_remote(app, person: Actor) -> None:
    bob = await remote_actor(app_db(app), "bob", "one.example")
    async with app_db(app).transaction() as s:
        await add_link(s, await s.get(Actor, bob.id), await s.get(Actor, person.id), "follower")


async def _deliveries(app, person: Actor) -> list[dict]:
    async with app_db(app).session() as s:
        rows = await s.scalars(select(Delivery).where(Delivery.actor_id == person.id).order_by(Delivery.id))
        return [orjson.loads(d.body) for d in rows]


async def test_deleting_an_account_without_activity_deletes_it_and_federates_delete(app, settings):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org")
    await _follow_from_remote(app, person)
    browser = Browser(app, lang="fr")
    await browser.login(person)
    body = await browser.text("/settings/account")
    assert 'id="delete-delete"' in body
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "wrong-one", "confirm": "yes"}
    )
    assert response.status_code == 400 and "le mot de passe n&#39;est pas le bon" in await response.get_data(
        as_text=True
    )
    response = await browser.post("/settings/account", {"action": "delete", "password": "password-123"})
    assert response.status_code == 400 and 'id="confirm-error"' in await response.get_data(as_text=True)
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "password-123", "confirm": "yes"}
    )
    assert response.status_code == 303
    body = await browser.text("/")
    assert "Votre compte et votre profil sont supprimés." in body and ">Se connecter<" in body
    assert await _account(app, "lina") is None
    async with app_db(app).session() as s:
        actor = await s.get(Actor, person.id)
        links = await s.scalar(select(func.count()).select_from(Link).where(Link.object_id == person.id))
    assert actor.deleted_at is not None and actor.name == "" and links == 0
    activities = await _deliveries(app, person)
    assert [a["type"] for a in activities] == ["Delete"] and activities[0]["object"] == person.ap_id
    response = await app.test_client().get("/actors/lina", headers={"Accept": "application/activity+json"})
    assert response.status_code == 404
    # The username is never given to someone else.
    response = await Browser(app).post("/signup", _signup_form(username="lina"))
    assert response.status_code == 400


async def test_deleting_an_account_with_activity_anonymises_it_and_federates_update(app, settings):
    person = await make_person(app_db(app), settings, "lina", email="lina@example.org", name="Lina K")
    org = await make_element(app_db(app), settings, "organization", "kaz", admin=person)
    async with app_db(app).transaction() as s:
        author = await s.get(Actor, person.id)
        await post_on_wall(s, settings, author, author, "Hello #territory")
        account = await s.scalar(select(Account).where(Account.person_id == person.id))
        await create_token(s, account, "phone")
        author.contact = {"email": "hello@lina.example"}
        author.tags = ["jardin"]
    await _follow_from_remote(app, person)
    browser, other = Browser(app), Browser(app)
    await browser.login(person)
    await other.login(person)
    assert 'id="delete-anonymise"' in await browser.text("/settings/account")
    response = await browser.post(
        "/settings/account", {"action": "delete", "password": "password-123", "confirm": "yes"}
    )
    assert response.status_code == 303
    assert "signed “Deleted account”" in await browser.text("/")
    account = await _account(app, "lina")
    assert account is not None and not account.is_active and account.email is None
    assert not verify_password(account.password_hash, "password-123")
    async with app_db(app).session() as s:
        actor = await s.get(Actor, person.id)
        posts = await s.scalar(select(func.count()).select_from(Post).where(Post.author_id == person.id))
        tokens = await s.scalar(
            select(func.count()).select_from(ApiToken).where(ApiToken.account_id == account.id)
        )
        membership = await s.scalar(
            select(Link).where(Link.subject_id == person.id, Link.object_id == org.id)
        )
    assert actor.deleted_at is None and actor.name == "Deleted account"
    assert actor.contact == {} and actor.tags == [] and actor.description_html == ""
    assert posts == 1 and tokens == 0 and membership is not None  # threads and communities keep their author
    assert await _sessions(app, account.id) == 0 and ">Log in<" in await other.text("/")
    activities = await _deliveries(app, person)
    update_activity = activities[-1]
    assert update_activity["type"] == "Update" and update_activity["object"]["name"] == "Deleted account"
    response = await Browser(app).post("/login", {"login": "lina", "password": "password-123"})
    assert response.status_code == 400  # nobody logs in as the anonymised account


async def test_account_email_can_be_changed_and_must_be_unique(app, settings):
    await make_person(app_db(app), settings, "other", email="taken@example.org")
    person = await make_person(app_db(app), settings, "lina")
    browser = Browser(app)
    await browser.login(person)
    response = await browser.post("/settings/account", {"action": "email", "email": "Taken@example.org"})
    assert response.status_code == 400 and 'id="email-error"' in await response.get_data(as_text=True)
    response = await browser.post("/settings/account", {"action": "email", "email": "lina@example.org"})
    assert response.status_code == 303
    assert (await _account(app, "lina")).email == "lina@example.org"


async def test_reset_by_mail_through_a_real_smtp_server(make_settings, database_url):
    from coserver.app import create_app

    with smtp_server() as (mailbox, port):
        app = create_app(make_settings(database_url=database_url, smtp_url=f"smtp://127.0.0.1:{port}"))
        async with app.test_app():
            person = await make_person(
                app_db(app), app.extensions["coserver"].settings, "lina", email="l@ex.org"
            )
            logged = Browser(app)
            await logged.login(person)
            await _ask_reset(app, "LINA")
            (message,) = mailbox.wait(1)
            assert (
                mailbox.envelopes[0][1] == ["l@ex.org"]
                and "Choisir un nouveau mot de passe" in message["Subject"]
            )
            token = LINK_RE.search(message.get_content()).group(1)
            browser = Browser(app)
            await browser.get(f"/password/reset/{token}")
            form = {"password": "from-the-mail-1", "password_confirm": "from-the-mail-1"}
            assert (await browser.post(f"/password/reset/{token}", form)).status_code == 303
            assert ">Log in<" in await logged.text("/")  # the other session is closed
            assert (
                await Browser(app).post(f"/password/reset/{token}", form)
            ).status_code == 400  # single use
            response = await Browser(app).post("/login", {"login": "lina", "password": "from-the-mail-1"})
            assert response.status_code == 303
