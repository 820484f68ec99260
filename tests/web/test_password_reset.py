"""Password reset over HTTP: logged and real-SMTP reset links, single use, expiry, accounts without
e-mail, no account enumeration, rate limits, and other sessions closed."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from coserver.models import PasswordReset
from coserver.services.accounts import verify_password
from tests.factories import app_db, make_person
from tests.smtpserver import smtp_server
from tests.web.account_helpers import _account, _sessions
from tests.web.helpers import Browser

LINK_RE = re.compile(r"http://127\.0\.0\.1:8000/password/reset/([A-Za-z0-9_-]+)")


async def _background(app) -> None:
    """Wait for the mails the last request queued."""
    await asyncio.gather(*list(app.background_tasks))


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
