"""One public element as JSON-LD: its ActivityStreams identity typed with schema.org as well.

The document keeps the element's AS2 ``id`` and actor ``type`` (what federation publishes) and adds the
schema.org type (``schema:Organization``, ``schema:Event``...) and schema.org properties, so that both
fediverse software and open-data / search-engine tooling read it. Only public fields appear; an element
whose ``open_data`` flag is off gives only its id, types, name and URL.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coserver.config import Settings
from coserver.models import Actor, Place
from federation.vocabulary import ACTOR_TYPES, AS_CONTEXT

SCHEMA = "https://schema.org/"

# Every term we use beyond AS2 is declared here, so that a JSON-LD processor reads all of it.
SCHEMA_TERMS: dict[str, Any] = {
    "schema": SCHEMA,
    "description": "schema:description",
    "keywords": "schema:keywords",
    "startDate": "schema:startDate",
    "endDate": "schema:endDate",
    "organizer": {"@id": "schema:organizer", "@type": "@id"},
    "sameAs": {"@id": "schema:sameAs", "@type": "@id"},
    "email": "schema:email",
    "telephone": "schema:telephone",
    "address": "schema:address",
    "PostalAddress": "schema:PostalAddress",
    "streetAddress": "schema:streetAddress",
    "postalCode": "schema:postalCode",
    "addressLocality": "schema:addressLocality",
    "addressCountry": "schema:addressCountry",
    "geo": "schema:geo",
    "GeoCoordinates": "schema:GeoCoordinates",
    "webfinger": "https://purl.archive.org/socialweb/webfinger#webfinger",
}
CONTEXT: list[Any] = [AS_CONTEXT, SCHEMA_TERMS]

SCHEMA_TYPES = {
    "person": "schema:Person",
    "organization": "schema:Organization",
    "project": "schema:Project",
    "event": "schema:Event",
    "poi": "schema:Place",
}
ORGANIZATION_SCHEMA_TYPES = {
    "ngo": "schema:NGO",
    "local_business": "schema:LocalBusiness",
    "public_body": "schema:GovernmentOrganization",
}
_SAME_AS_URL_TYPES = {"website", "social", "wiki", "documentation"}


def element_types(actor: Actor) -> list[str]:
    """``[AS2 actor type, schema.org type]``, e.g. ``["Group", "schema:Event"]``."""
    schema_type = SCHEMA_TYPES.get(actor.kind, "schema:Thing")
    if actor.kind == "organization":
        schema_type = ORGANIZATION_SCHEMA_TYPES.get(actor.subtype or "", schema_type)
    return [ACTOR_TYPES.get(actor.kind, "Object"), schema_type]


def _local_iso(actor: Actor, value: Any) -> str | None:
    if value is None:
        return None
    if actor.all_day and actor.kind == "event":
        return _in_zone(actor, value).date().isoformat()
    return _in_zone(actor, value).isoformat()


def _in_zone(actor: Actor, value: Any) -> Any:
    try:
        return value.astimezone(ZoneInfo(actor.timezone)) if actor.timezone else value
    except (ZoneInfoNotFoundError, ValueError):
        return value


def postal_address(place: Place) -> dict[str, Any] | None:
    address = {
        "type": "PostalAddress",
        "streetAddress": place.street,
        "postalCode": place.postal_code,
        "addressLocality": place.locality,
        "addressCountry": place.country,
    }
    address = {k: v for k, v in address.items() if v}
    return address if len(address) > 1 else None


def geo_coordinates(coords: tuple[float, float]) -> dict[str, Any]:
    # schema:latitude / schema:longitude as compact IRIs: AS2 already defines the bare terms.
    return {"type": "GeoCoordinates", "schema:latitude": coords[0], "schema:longitude": coords[1]}


def place_node(place: Place, coords: tuple[float, float] | None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": ["Place", "schema:Place"]}
    name = place.name or place.locality or place.address_line()
    if name:
        node["name"] = name
    if place.ap_id:
        node["id"] = place.ap_id
    if coords is not None:
        node["latitude"], node["longitude"] = coords
        node["geo"] = geo_coordinates(coords)
    address = postal_address(place)
    if address:
        node["address"] = address
    return node


def _ref(actor: Actor) -> dict[str, Any]:
    return {"id": actor.ap_id, "type": element_types(actor), "name": actor.name}


def element_jsonld(actor: Actor, place_coords: tuple[float, float] | None, settings: Settings) -> dict:
    """The JSON-LD document of a local public element (``actor.place``/``organizer`` loaded or None).

    ``place_coords`` is ``(lat, lon)`` of the element's place, when it has a point.
    """
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": actor.ap_id,
        "type": element_types(actor),
        "name": actor.name or actor.username,
        "url": actor.profile_url or actor.ap_id,
    }
    if not actor.open_data:
        return doc
    doc["preferredUsername"] = actor.username
    doc["webfinger"] = f"{actor.username}@{settings.domain}"
    if actor.short_description:
        doc["summary"] = actor.short_description
        doc["description"] = actor.short_description
    if actor.tags:
        doc["keywords"] = list(actor.tags)
    if actor.created_at is not None:
        doc["published"] = actor.created_at.isoformat()
    if actor.updated_at is not None:
        doc["updated"] = actor.updated_at.isoformat()
    if actor.kind == "event":
        doc["startDate"] = _local_iso(actor, actor.starts_at)
        if actor.ends_at is not None:
            doc["endDate"] = _local_iso(actor, actor.ends_at)
        if actor.organizer is not None and not actor.organizer.is_private:
            doc["organizer"] = _ref(actor.organizer)
    elif actor.starts_at is not None or actor.ends_at is not None:
        # Projects: AS2 startTime/endTime (schema.org has no dates on a Project).
        if actor.starts_at is not None:
            doc["startTime"] = actor.starts_at.isoformat()
        if actor.ends_at is not None:
            doc["endTime"] = actor.ends_at.isoformat()
    place = actor.place
    if place is not None:
        doc["location"] = place_node(place, place_coords)
        address = postal_address(place)
        if address and actor.kind != "event":
            doc["address"] = address
        if place_coords is not None and actor.kind == "poi":
            doc["geo"] = geo_coordinates(place_coords)
    contact = actor.contact or {}
    if contact.get("email"):
        doc["email"] = contact["email"]
    phones = [contact[k] for k in ("phone", "mobile") if contact.get(k)]
    if phones:
        doc["telephone"] = phones[0] if len(phones) == 1 else phones
    same_as = [u["url"] for u in actor.urls or [] if u.get("type") in _SAME_AS_URL_TYPES and u.get("url")]
    if same_as:
        doc["sameAs"] = same_as
    return doc
