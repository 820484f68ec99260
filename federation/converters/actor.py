"""Actor <-> AS2 actor documents.

``actor_to_as`` publishes a local element: person -> Person, organization -> Organization, project and
event -> Group (the event is also published as an AS2 ``Event`` object, see ``converters.event``), special
places -> Organization; the element kind is carried as ``co:elementType``. ``actor_from_as`` reads a remote
actor document into plain column data (no database access here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from coserver.config import Settings
from coserver.models import Actor
from coserver.models.vocab import ELEMENT_KINDS
from coserver.services.profiles import is_public
from coserver.text.sanitize import sanitize_html, sanitize_plain
from federation.converters.place import place_to_as
from federation.vocabulary import ACTOR_TYPE_NAMES, ACTOR_TYPES, CONTEXT

KIND_LABELS = {
    "person": "Personne",
    "organization": "Organisation",
    "project": "Projet",
    "event": "Événement",
    "poi": "Lieu",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _attachments(actor: Actor) -> list[dict[str, Any]]:
    fields: list[tuple[str, str]] = [("Type", KIND_LABELS.get(actor.kind, actor.kind))]
    if actor.subtype:
        fields.append(("Catégorie", actor.subtype))
    if actor.stage:
        fields.append(("Avancement", actor.stage))
    if actor.starts_at:
        fields.append(("Début", actor.starts_at.isoformat()))
    if actor.ends_at:
        fields.append(("Fin", actor.ends_at.isoformat()))
    for link in actor.urls[:8] if is_public(actor, "urls") else []:
        url = link.get("url", "")
        fields.append(
            (
                link.get("name") or link.get("type", "website"),
                f'<a href="{url}" rel="me nofollow noopener noreferrer" target="_blank">{url}</a>',
            )
        )
    return [{"type": "PropertyValue", "name": name, "value": value} for name, value in fields]


def actor_to_as(
    actor: Actor,
    settings: Settings,
    *,
    coords: tuple[float, float] | None = None,
    event_object_id: str | None = None,
) -> dict[str, Any]:
    """The actor document of a local actor (``actor.place`` must be loaded or None).

    A person's profile fields go out only when their visibility is public (``services.profiles``).
    """
    description = actor.description_html if is_public(actor, "description") else ""
    short = actor.short_description if is_public(actor, "short_description") else ""
    summary = description or (f"<p>{short}</p>" if short else "")
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor.ap_id,
        "type": ACTOR_TYPES[actor.kind],
        "preferredUsername": actor.username,
        "name": actor.name or actor.username,
        "summary": summary,
        "url": actor.profile_url or actor.ap_id,
        "inbox": actor.inbox_url,
        "outbox": actor.outbox_url,
        "followers": actor.followers_url,
        "following": actor.following_url,
        "endpoints": {"sharedInbox": actor.shared_inbox_url},
        "manuallyApprovesFollowers": bool(actor.manually_approves_followers),
        "publicKey": {"id": actor.key_id, "owner": actor.ap_id, "publicKeyPem": actor.public_key_pem},
    }
    if actor.kind == "application":
        return doc
    doc.update(
        webfinger=f"{actor.username}@{settings.domain}",
        featured=actor.featured_url,
        discoverable=bool(actor.discoverable and not actor.is_private),
        indexable=bool(actor.discoverable and not actor.is_private),
        published=_iso(actor.created_at),
        elementType=actor.kind,
        attachment=_attachments(actor),
    )
    if actor.subtype:
        doc["elementSubtype"] = actor.subtype
    if actor.tags and is_public(actor, "tags"):
        doc["tag"] = [
            {"type": "Hashtag", "name": f"#{t}", "href": settings.url(f"/tags/{t}")} for t in actor.tags
        ]
    if actor.icon_url:
        doc["icon"] = {"type": "Image", "url": actor.icon_url}
    if actor.image_url:
        doc["image"] = {"type": "Image", "url": actor.image_url}
    if actor.place is not None and is_public(actor, "place"):
        doc["location"] = place_to_as(actor.place, coords)
    if event_object_id:
        doc["eventObject"] = event_object_id
    return doc


# -- inbound --------------------------------------------------------------------------------------------
class InvalidActor(ValueError):
    """The document is not an actor we can use (the message says why)."""


def _url_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return _url_of(value.get("href") or value.get("url") or value.get("id"))
    if isinstance(value, list):
        for item in value:
            found = _url_of(item)
            if found:
                return found
    return None


def _http_url(value: Any) -> str | None:
    url = _url_of(value)
    return url if url and url.startswith(("https://", "http://")) and len(url) <= 2048 else None


def actor_from_as(doc: dict[str, Any]) -> dict[str, Any]:
    """Column data for a remote :class:`Actor` from its document. Raises :class:`InvalidActor`."""
    actor_id = doc.get("id")
    if not isinstance(actor_id, str) or not actor_id.startswith(("https://", "http://")):
        raise InvalidActor("actor id must be an http(s) URL")
    host = (urlsplit(actor_id).netloc or "").lower()
    actor_type = doc.get("type")
    if actor_type not in ACTOR_TYPE_NAMES:
        raise InvalidActor(f"unexpected actor type {actor_type!r}")
    inbox = _http_url(doc.get("inbox"))
    if not inbox:
        raise InvalidActor("actor has no inbox")
    username = doc.get("preferredUsername")
    if not isinstance(username, str) or not username.strip():
        raise InvalidActor("actor has no preferredUsername")
    key = doc.get("publicKey")
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict) and k.get("owner") == actor_id), None)
    public_pem = key_id = None
    if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
        if key.get("owner", actor_id) != actor_id:
            raise InvalidActor("publicKey owner differs from the actor")
        public_pem, key_id = key["publicKeyPem"], key.get("id") if isinstance(key.get("id"), str) else None
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    element_type = doc.get("elementType")
    if element_type in ELEMENT_KINDS:
        kind = element_type
    elif actor_type == "Application":
        kind = "application"
    elif actor_type in {"Organization", "Group"}:
        kind = "organization"
    else:
        kind = "person"
    tags = []
    for tag in doc.get("tag") if isinstance(doc.get("tag"), list) else []:
        if isinstance(tag, dict) and tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            tags.append(sanitize_plain(tag["name"], 64).lstrip("#").lower())
    return {
        "ap_id": actor_id,
        "kind": kind,
        "local": False,
        "username": sanitize_plain(username, 200),
        "domain": host,
        "name": sanitize_plain(str(doc.get("name") or ""), 200),
        "description_html": sanitize_html(doc["summary"]) if isinstance(doc.get("summary"), str) else "",
        "tags": [t for t in tags if t][:30],
        "inbox_url": inbox,
        "shared_inbox_url": _http_url(endpoints.get("sharedInbox")),
        "outbox_url": _http_url(doc.get("outbox")),
        "followers_url": _http_url(doc.get("followers")),
        "following_url": _http_url(doc.get("following")),
        "featured_url": _http_url(doc.get("featured")),
        "profile_url": _http_url(doc.get("url")),
        "icon_url": _http_url(doc.get("icon")),
        "image_url": _http_url(doc.get("image")),
        "public_key_pem": public_pem,
        "key_id": key_id,
        "manually_approves_followers": doc.get("manuallyApprovesFollowers") is True,
        "discoverable": doc.get("discoverable") is not False,
        "raw": doc,
    }
