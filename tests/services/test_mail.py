"""Outgoing mail against a real SMTP server on 127.0.0.1 (plain, STARTTLS with a login, implicit TLS), and
the log when no server is configured."""

from __future__ import annotations

import logging
import ssl

import pytest

from coserver.services.mail import MailError, send_mail
from tests.smtpserver import free_port, self_signed, smtp_server


async def test_without_smtp_url_the_message_is_logged_for_the_operator(make_settings, caplog):
    settings = make_settings(smtp_url="")
    with caplog.at_level(logging.WARNING, logger="coserver.mail"):
        await send_mail(settings, "lina@example.org", "Hello", "The body\nhttps://x.example/reset/abc")
    (record,) = [r for r in caplog.records if r.name == "coserver.mail"]
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert "lina@example.org" in text and "Hello" in text and "https://x.example/reset/abc" in text


async def test_plain_smtp_delivers_the_message(make_settings):
    with smtp_server() as (mailbox, port):
        settings = make_settings(
            smtp_url=f"smtp://127.0.0.1:{port}", mail_from="Territoire <noreply@terr.example>"
        )
        await send_mail(settings, "lina@example.org", "Réinitialisation", "Bonjour Lina,\nvoici le lien.")
        (message,) = mailbox.wait(1)
    assert mailbox.envelopes == [("noreply@terr.example", ["lina@example.org"])]
    assert message["Subject"] == "Réinitialisation" and message["To"] == "lina@example.org"
    assert message["From"] == "Territoire <noreply@terr.example>" and message["Message-ID"]
    assert message.get_content().replace("\r\n", "\n").strip() == "Bonjour Lina,\nvoici le lien."


async def test_starttls_with_login(make_settings, tmp_path):
    cert = self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert[0]))
    with smtp_server(tls="starttls", cert=cert, login=("mailer", "s3cret/pass")) as (mailbox, port):
        settings = make_settings(smtp_url=f"smtp://mailer:s3cret%2Fpass@127.0.0.1:{port}")
        await send_mail(settings, "lina@example.org", "Hi", "Body", ssl_context=client)
        assert len(mailbox.wait(1)) == 1
        assert mailbox.logins == ["mailer"]
        # The default sender is noreply@ the site's host.
        assert mailbox.envelopes[0][0] == "noreply@127.0.0.1"
        # A certificate we do not trust is refused (no silent downgrade).
        with pytest.raises(MailError):
            await send_mail(settings, "lina@example.org", "Hi", "Body")
    assert len(mailbox.messages) == 1


async def test_implicit_tls(make_settings, tmp_path):
    cert = self_signed(tmp_path)
    client = ssl.create_default_context(cafile=str(cert[0]))
    with smtp_server(tls="implicit", cert=cert) as (mailbox, port):
        settings = make_settings(smtp_url=f"smtps://127.0.0.1:{port}")
        await send_mail(settings, "lina@example.org", "Hi", "Over TLS", ssl_context=client)
        (message,) = mailbox.wait(1)
    assert message.get_content().strip() == "Over TLS"


async def test_unreachable_server_raises_mail_error(make_settings):
    settings = make_settings(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    with pytest.raises(MailError):
        await send_mail(settings, "lina@example.org", "Hi", "Body")
