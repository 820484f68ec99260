"""Discovery endpoints: ``/.well-known/webfinger``, ``host-meta``, ``nodeinfo`` and ``/nodeinfo/<version>``.

WebFinger answers ``acct:user@domain`` (the form Mastodon uses, for every actor kind, in one username
namespace), the bare ``user@domain`` Mastodon also accepts, and this node's actor and profile URLs.
Private and deleted elements are not found. Every answer, errors included, carries
``Access-Control-Allow-Origin: *`` so browser clients can look handles up.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import quoteattr

from quart import Blueprint, Response, request

from coserver.config import Settings
from coserver.models import Actor
from coserver.services.elements import get_local_actor
from coserver.state import db, settings
from webfinger import nodeinfo

blueprint = Blueprint("webfinger", __name__)

JRD = "application/jrd+json"
XRD = "application/xrd+xml"
REL_PROFILE_PAGE = "http://webfinger.net/rel/profile-page"
REL_SELF = "self"
REL_SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
ACTIVITY_JSON = "application/activity+json"
MAX_RESOURCE_LENGTH = 1024

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


class ResourceError(Exception):
    """The resource cannot be answered: ``status`` is 400 (malformed) or 404 (not ours, or unknown)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class LocalResource:
    """A resource naming a local actor: its username, and the URL it was named by (``None`` for acct:)."""

    username: str
    url: str | None = None


def parse_resource(resource: str | None, settings: Settings) -> LocalResource:
    """Find which local username a WebFinger ``resource`` names. Raises :class:`ResourceError`."""
    value = (resource or "").strip()
    if not value:
        raise ResourceError(400, "the resource parameter is required")
    if len(value) > MAX_RESOURCE_LENGTH:
        raise ResourceError(400, "the resource is too long")
    match = _SCHEME_RE.match(value)
    scheme = match.group(1).lower() if match else None
    if scheme in {"http", "https"}:
        return _parse_url(value, settings)
    if scheme == "acct":
        value = value[len("acct:") :]
    elif scheme is not None or "@" not in value:
        raise ResourceError(400, "the resource must be acct:user@domain or an actor URL")
    value = unquote(value)
    if value.startswith("@"):
        value = value[1:]
    user, sep, host = value.rpartition("@")
    if not sep or not user or not host or "@" in user:
        raise ResourceError(400, "an acct: resource looks like acct:user@domain")
    if host.lower() != settings.domain.lower():
        raise ResourceError(404, f"{host} is not this node's domain")
    return LocalResource(username=user)


def _parse_url(value: str, settings: Settings) -> LocalResource:
    parts = urlsplit(value)
    if parts.netloc.lower() != settings.domain.lower():
        raise ResourceError(404, "not a URL of this node")
    path = unquote(parts.path).rstrip("/")
    if path == "/actor":
        return LocalResource(username="actor", url=value)
    for prefix in ("/actors/", "/@"):
        if path.startswith(prefix):
            username = path[len(prefix) :]
            if username and "/" not in username:
                return LocalResource(username=username, url=value)
    raise ResourceError(404, "this URL names no actor")


def _same_url(a: str, b: str | None) -> bool:
    """Equal actor URLs, ignoring case (usernames are case-insensitive), trailing slashes and fragments."""
    if not b:
        return False

    def norm(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}{unquote(parts.path).rstrip('/')}".lower()

    return norm(a) == norm(b)


def jrd_for(actor: Actor, settings: Settings) -> dict[str, Any]:
    """The JRD describing a local actor (Mastodon's ``WebfingerSerializer`` shape)."""
    aliases = [url for url in (actor.profile_url, actor.ap_id) if url]
    links: list[dict[str, str]] = []
    if actor.profile_url:
        links.append({"rel": REL_PROFILE_PAGE, "type": "text/html", "href": actor.profile_url})
    links.append({"rel": REL_SELF, "type": ACTIVITY_JSON, "href": actor.ap_id})
    if actor.kind != "application":
        template = settings.url("/authorize_interaction") + "?uri={uri}"
        links.append({"rel": REL_SUBSCRIBE, "template": template})
    return {
        "subject": f"acct:{actor.username}@{settings.domain}",
        "aliases": list(dict.fromkeys(aliases)),
        "links": links,
    }


def _respond(body: str, content_type: str, status: int = 200) -> Response:
    response = Response(body, status=status, content_type=content_type)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(data: Any, content_type: str = "application/json", status: int = 200) -> Response:
    return _respond(json.dumps(data, ensure_ascii=False), content_type, status)


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status=status)


@blueprint.get("/.well-known/webfinger")
async def webfinger() -> Response:
    conf = settings()
    try:
        resource = parse_resource(request.args.get("resource"), conf)
    except ResourceError as exc:
        return _error(exc.status, exc.message)
    async with db().session() as session:
        actor = await get_local_actor(session, resource.username, with_place=False)
    if actor is None or actor.is_private or actor.deleted_at is not None:
        return _error(404, "no such account")
    if resource.url is not None and not (
        _same_url(resource.url, actor.ap_id) or _same_url(resource.url, actor.profile_url)
    ):
        return _error(404, "no such account")
    document = jrd_for(actor, conf)
    rels = {rel for rel in request.args.getlist("rel") if rel}
    if rels:
        document["links"] = [link for link in document["links"] if link["rel"] in rels]
    return _json(document, JRD)


def _lrdd_template(conf: Settings) -> str:
    return conf.url("/.well-known/webfinger") + "?resource={uri}"


@blueprint.get("/.well-known/host-meta")
async def host_meta() -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" type={quoteattr(JRD)} template={quoteattr(_lrdd_template(settings()))}/>\n'
        "</XRD>\n"
    )
    return _respond(body, XRD)


@blueprint.get("/.well-known/host-meta.json")
async def host_meta_json() -> Response:
    return _json({"links": [{"rel": "lrdd", "type": JRD, "template": _lrdd_template(settings())}]})


@blueprint.get("/.well-known/nodeinfo")
async def nodeinfo_discovery() -> Response:
    return _json(nodeinfo.discovery_document(settings()))


@blueprint.get("/nodeinfo/<version>")
async def nodeinfo_document(version: str) -> Response:
    if version not in nodeinfo.VERSIONS:
        return _error(404, f"NodeInfo {version} is not served; try {', '.join(nodeinfo.VERSIONS)}")
    async with db().session() as session:
        usage = await nodeinfo.gather_usage(session)
    document = nodeinfo.nodeinfo_document(version, settings(), usage)
    return _json(document, nodeinfo.content_type(version))
