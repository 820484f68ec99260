"""Remote follow: a visitor from another fediverse server follows one of our elements from their own server.

We WebFinger their handle (``@me@mastodon.example``) and send them to the ``subscribe`` template their server
publishes (``http://ostatus.org/schema/1.0/subscribe``, as Mastodon does), with ``{uri}`` = our actor id.
Outbound fetches are checked like every federation fetch (private addresses refused unless allowed).
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode, urlsplit

import httpx

from coserver.config import Settings
from coserver.services.errors import InvalidInput, NotFound
from webfinger.client import JRD_ACCEPT, WebFingerError, _fetch, _scheme_for, parse_handle

SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"


async def subscribe_url(http: httpx.AsyncClient, settings: Settings, handle: str, actor_id: str) -> str:
    """Where to send the visitor: their server's subscribe page for ``actor_id``.

    Raises ``InvalidInput`` (malformed handle) or ``NotFound`` (unknown account, no subscribe template),
    with ``field="handle"``.
    """
    try:
        user, domain = parse_handle(handle)
    except WebFingerError:
        raise InvalidInput(
            "this is not a fediverse address like @name@server.example", field="handle"
        ) from None
    if domain.lower() == settings.domain.lower():
        raise InvalidInput("this account is on this server: follow from here", field="handle")
    query = urlencode({"resource": f"acct:{user}@{domain}"})
    url = f"{_scheme_for(domain, settings)}://{domain}/.well-known/webfinger?{query}"
    try:
        body = await _fetch(http, settings, url, JRD_ACCEPT)
        document = json.loads(body)
    except (WebFingerError, ValueError):
        raise NotFound("this account could not be found on its server", field="handle") from None
    links = document.get("links") if isinstance(document, dict) else None
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != SUBSCRIBE_REL:
            continue
        template = link.get("template")
        if isinstance(template, str) and "{uri}" in template:
            target = template.replace("{uri}", quote(actor_id, safe=""))
            if urlsplit(target).scheme in {"http", "https"} and urlsplit(target).hostname:
                return target
    raise NotFound("this server does not offer remote follow; search for the address there", field="handle")
