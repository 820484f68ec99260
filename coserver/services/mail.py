"""Outgoing e-mail (password resets...): SMTP with the standard library, or the log when no server is set.

``COSERVER_SMTP_URL`` is ``smtp://user:password@host:port`` (STARTTLS whenever the server offers it, which it
must when credentials are sent to a host other than this machine) or ``smtps://...`` (TLS from the first
byte). ``smtplib`` blocks, so it runs in a worker thread. Without an SMTP URL the message is written to the
``coserver.mail`` logger at WARNING level, so that the operator can pass a reset link on by hand.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

from coserver.config import Settings

log = logging.getLogger("coserver.mail")
TIMEOUT = 15.0  # seconds, for connecting and for each SMTP command


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def sender(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    return settings.mail_from or f"noreply@{host}"


def build_message(settings: Settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender(settings)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _deliver(url: str, message: EmailMessage, context: ssl.SSLContext | None) -> None:
    """Blocking: connect, secure, authenticate, send, quit."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else ""
    context = context or ssl.create_default_context()
    if parts.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, parts.port or 465, timeout=TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(host, parts.port or 587, timeout=TIMEOUT)
    try:
        client.ehlo()
        if parts.scheme == "smtp":
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif user and not _is_loopback(host):
                raise MailError(f"{host} does not offer STARTTLS; refusing to send the password in clear")
        if user:
            client.login(user, password)
        client.send_message(message)
    except BaseException:
        client.close()  # no QUIT: after a failed handshake it would wait for the whole timeout
        raise
    try:
        client.quit()
    except smtplib.SMTPException:
        client.close()


async def send_mail(
    settings: Settings, to: str, subject: str, body: str, *, ssl_context: ssl.SSLContext | None = None
) -> None:
    """Send a plain-text message to ``to``, or log it when ``settings.smtp_url`` is empty.

    Raises :class:`MailError` when the SMTP server cannot be reached or refuses the message.
    """
    message = build_message(settings, to, subject, body)
    if not settings.smtp_url:
        log.warning("no SMTP server configured (COSERVER_SMTP_URL); mail to %s: %s\n%s", to, subject, body)
        return
    try:
        await asyncio.to_thread(_deliver, settings.smtp_url, message, ssl_context)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not send mail to {to}: {exc}") from exc
    log.info("mail sent to %s: %s", to, subject)


def log_for_operator(subject: str, body: str, reason: str) -> None:
    """A message nobody can receive by e-mail, written to the log for the operator."""
    log.warning("%s; for the operator: %s\n%s", reason, subject, body)
