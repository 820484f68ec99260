"""Resolving a remote handle (``@user@domain``) to its ActivityPub actor URL through WebFinger.

Mirrors Mastodon's client (``app/lib/webfinger.rb``): ``GET https://domain/.well-known/webfinger?resource=
acct:user@domain`` with ``Accept: application/jrd+json, application/json``; the answer needs a ``subject``
and a ``self`` link typed ``application/activity+json`` (or ``application/ld+json`` with the ActivityStreams
profile). A 404 falls back to the ``lrdd`` template of ``/.well-known/host-meta``.

Safety: every URL (each redirect hop included, at most :data:`MAX_REDIRECTS`) goes through
:func:`federation.http.check_url`; bodies are streamed and cut at :data:`MAX_BODY`; XRD documents with a
DOCTYPE or entity declaration are refused before parsing. Plain http is used only when the node allows
private addresses and the host is an IP literal or ``localhost`` (loopback tests).
Every failure raises :class:`WebFingerError`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
from contextlib import nullcontext
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit
from xml.etree import ElementTree

import httpx

from coserver.config import Settings
from federation.http import UnsafeURL, check_url

MAX_BODY = 100 * 1024
MAX_REDIRECTS = 3
JRD_ACCEPT = "application/jrd+json, application/json"
XRD_ACCEPT = "application/xrd+xml, application/xml;q=0.9, text/xml;q=0.8"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_USER_RE = re.compile(r"^[A-Za-z0-9_.~+-]{1,255}$")
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOSTNAME_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_XML_DECLARATIONS_RE = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)

__all__ = ["MAX_BODY", "MAX_REDIRECTS", "WebFingerError", "parse_handle", "resolve_handle"]


class WebFingerError(Exception):
    """A handle could not be resolved: ``message`` says why; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _NotFound(WebFingerError):
    """The WebFinger endpoint answered 404 (the trigger for the host-meta fallback)."""


def parse_handle(text: str) -> tuple[str, str]:
    """Split ``@user@domain``, ``user@domain`` or ``acct:user@domain`` into ``(user, domain)``.

    The domain is lower-cased (IDNs converted to ASCII) and keeps its port; the user keeps its case.
    Raises :class:`WebFingerError` when the text is not a handle.
    """
    value = (text or "").strip()
    if value[:5].lower() == "acct:":
        value = value[5:]
    if value.startswith("@"):
        value = value[1:]
    user, sep, domain = value.partition("@")
    if not sep or not user or not domain or "@" in domain:
        raise WebFingerError(f"not a handle (expected @user@domain): {text[:100]!r}")
    if not _USER_RE.match(user):
        raise WebFingerError(f"invalid user name in handle: {user[:100]!r}")
    return user, _normalize_domain(domain)


def _normalize_domain(domain: str) -> str:
    value = domain.strip().lower()
    if not value.isascii():
        try:
            value = value.encode("idna").decode("ascii")
        except UnicodeError:
            raise WebFingerError(f"invalid domain in handle: {domain[:100]!r}") from None
    parts = urlsplit(f"//{value}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise WebFingerError(f"invalid port in handle: {domain[:100]!r}") from None
    if not host or parts.netloc != value or parts.username is not None or parts.path or parts.query:
        raise WebFingerError(f"invalid domain in handle: {domain[:100]!r}")
    if port == 0 or value.endswith(":"):
        raise WebFingerError(f"invalid port in handle: {domain[:100]!r}")
    if not _is_ip_literal(host) and (len(host) > 253 or not _HOSTNAME_RE.match(host)):
        raise WebFingerError(f"invalid domain in handle: {domain[:100]!r}")
    return value


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _scheme_for(domain: str, settings: Settings) -> str:
    host = urlsplit(f"//{domain}").hostname or ""
    local = _is_ip_literal(host) or host == "localhost" or host.endswith(".localhost")
    return "http" if settings.allow_private_addresses and local else "https"


async def resolve_handle(http: httpx.AsyncClient, settings: Settings, handle: str) -> str:
    """The ActivityPub actor URL (``id``) of a remote handle. Raises :class:`WebFingerError`."""
    user, domain = parse_handle(handle)
    resource = f"acct:{user}@{domain}"
    origin = f"{_scheme_for(domain, settings)}://{domain}"
    url = f"{origin}/.well-known/webfinger?{urlencode({'resource': resource})}"
    try:
        body = await _fetch(http, settings, url, JRD_ACCEPT)
    except _NotFound as not_found:
        missing = f"no account {user}@{domain}: {not_found.message}"
        try:
            template = parse_host_meta(
                await _fetch(http, settings, f"{origin}/.well-known/host-meta", XRD_ACCEPT)
            )
        except WebFingerError as exc:
            raise WebFingerError(f"{missing}; host-meta fallback: {exc.message}", status=404) from None
        url = template.replace("{uri}", quote(resource, safe=""))
        try:
            body = await _fetch(http, settings, url, JRD_ACCEPT)
        except _NotFound as exc:
            raise WebFingerError(f"{missing}; lrdd: {exc.message}", status=404) from None
    return actor_url_from_jrd(body, source=url)


def actor_url_from_jrd(body: bytes, *, source: str = "the JRD") -> str:
    """The ``href`` of the ActivityPub ``self`` link of a JRD document. Raises :class:`WebFingerError`."""
    try:
        document: Any = json.loads(body)
    except ValueError:
        raise WebFingerError(f"{_short(source)}: the answer is not JSON") from None
    if not isinstance(document, dict):
        raise WebFingerError(f"{_short(source)}: the answer is not a JRD object")
    subject = document.get("subject")
    if not isinstance(subject, str) or not subject:
        raise WebFingerError(f"{_short(source)}: the JRD has no subject")
    links = document.get("links")
    if not isinstance(links, list):
        raise WebFingerError(f"{_short(source)}: the JRD has no links")
    for link in links:
        if (
            not isinstance(link, dict)
            or link.get("rel") != "self"
            or not _is_activitypub_type(link.get("type"))
        ):
            continue
        href = link.get("href")
        if isinstance(href, str) and urlsplit(href).scheme in {"http", "https"} and urlsplit(href).hostname:
            return href
    raise WebFingerError(f"{_short(source)}: the JRD has no ActivityPub self link")


def _is_activitypub_type(value: object) -> bool:
    if not isinstance(value, str):
        return False
    media, _, params = value.partition(";")
    media = media.strip().lower()
    if media == "application/activity+json":
        return True
    if media != "application/ld+json":
        return False
    for param in params.split(";"):
        key, _, raw = param.partition("=")
        if key.strip().lower() == "profile" and AS_PROFILE in raw.strip().strip('"').split():
            return True
    return False


def parse_host_meta(body: bytes) -> str:
    """The ``lrdd`` template (with ``{uri}``) of a host-meta XRD document. Raises :class:`WebFingerError`.

    DOCTYPE and entity declarations are refused outright, and the text must be UTF-8 without NUL characters
    (so no UTF-16/32 trick hides a declaration from the check); the checked text is what gets parsed.
    """
    try:
        text = body.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        raise WebFingerError("host-meta is not UTF-8") from None
    if "\x00" in text or _XML_DECLARATIONS_RE.search(text):
        raise WebFingerError("host-meta declares a DOCTYPE or entities; refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        raise WebFingerError("host-meta is not well-formed XML") from None
    for element in root.iter():
        if not isinstance(element.tag, str) or element.tag.rsplit("}", 1)[-1] != "Link":
            continue
        template = element.get("template") or ""
        if (
            element.get("rel") == "lrdd"
            and "{uri}" in template
            and template.startswith(("http://", "https://"))
        ):
            return template
    raise WebFingerError("host-meta has no lrdd template")


async def _fetch(http: httpx.AsyncClient, settings: Settings, url: str, accept: str) -> bytes:
    """GET ``url`` (checking each hop, following at most MAX_REDIRECTS redirects) and return its body."""
    first_scheme = urlsplit(url).scheme
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            await check_url(url, allow_private=settings.allow_private_addresses)
        except UnsafeURL as exc:
            raise WebFingerError(f"refused to fetch {_short(url)}: {exc}") from None
        if first_scheme == "https" and urlsplit(url).scheme != "https":
            raise WebFingerError(f"refused a redirect from https to {_short(url)}")
        location = ""
        try:
            async with (
                _deadline(http),
                http.stream("GET", url, headers={"Accept": accept}, follow_redirects=False) as response,
            ):
                status = response.status_code
                if status in _REDIRECT_STATUSES:
                    location = response.headers.get("location", "").strip()
                    if not location:
                        raise WebFingerError(f"{_short(url)} redirects without a Location", status=status)
                elif status == 404:
                    raise _NotFound(f"{_short(url)} answered HTTP 404", status=404)
                elif not 200 <= status < 300:
                    raise WebFingerError(f"{_short(url)} answered HTTP {status}", status=status)
                else:
                    return await _read_limited(response, url)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            reason = str(exc) or type(exc).__name__
            raise WebFingerError(f"cannot fetch {_short(url)}: {reason}") from None
        except TimeoutError:
            raise WebFingerError(f"cannot fetch {_short(url)}: timed out") from None
        url = urljoin(url, location)
    raise WebFingerError(f"more than {MAX_REDIRECTS} redirects; stopped at {_short(url)}")


async def _read_limited(response: httpx.Response, url: str) -> bytes:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise WebFingerError(f"{_short(url)}: the answer is larger than {MAX_BODY // 1024} KB")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_BODY:
            raise WebFingerError(f"{_short(url)}: the answer is larger than {MAX_BODY // 1024} KB")
    return bytes(body)


def _deadline(http: httpx.AsyncClient) -> Any:
    """A bound on a whole exchange (headers and body), from the client's connect and read timeouts.

    The client's own timeouts apply per operation; this stops a server trickling bytes forever.
    """
    timeout = http.timeout
    if timeout.read is None:
        return nullcontext()
    return asyncio.timeout((timeout.connect or 0.0) + 2 * timeout.read)


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:197] + "..."
