"""One public element as a vCard 4.0 (RFC 6350), written by hand.

``KIND`` follows the element: a person is ``individual``, an organization ``org``, a project or an event a
``group`` (of contributors, of attendees), a special place a ``location``. E-mail and telephone come only
from the element's ``contact`` fields, which are its *public* contact details; an element whose
``open_data`` flag is off gives only its name, kind, identifier and URL.

Text values are escaped (backslash, comma, semicolon, newline — RFC 6350 §3.4) and every content line is
folded at 75 octets without splitting a UTF-8 sequence (§3.2); lines end with CRLF.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from coserver import __version__
from coserver.config import Settings
from coserver.models import Actor, Place

KINDS = {
    "person": "individual",
    "organization": "org",
    "project": "group",
    "event": "group",
    "poi": "location",
}
MAX_OCTETS = 75
_PHONE = re.compile(r"\+?[0-9][0-9 ().-]{2,30}")
_PHONE_TYPES = {"phone": "voice", "mobile": "cell", "fax": "fax"}


def escape(value: str) -> str:
    """Escape a TEXT value: ``\\`` ``,`` ``;`` and newlines (CRLF, CR or LF become ``\\n``)."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold one content line at 75 octets: CRLF + one space before each continuation (§3.2)."""
    data = line.encode("utf-8")
    if len(data) <= MAX_OCTETS:
        return line
    parts: list[str] = []
    start, limit = 0, MAX_OCTETS
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never cut inside a UTF-8 sequence
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, MAX_OCTETS - 1  # the leading space counts
    return "\r\n ".join(parts)


def _uri(value: str) -> str:
    """URIs are not escaped, but must stay on one logical line."""
    return re.sub(r"[\r\n]", "", value)


def _tel(value: str) -> str:
    """A ``tel:`` URI (RFC 3966) when the value looks like a phone number, else ``""``."""
    if not _PHONE.fullmatch(value.strip()):
        return ""
    return "tel:" + re.sub(r"[ ().]", "", value.strip())


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _geo(coords: tuple[float, float]) -> str:
    return f"geo:{round(coords[0], 7)!r},{round(coords[1], 7)!r}"


def _coords(place: Place | None) -> tuple[float, float] | None:
    from coserver.services.places import coordinates

    return coordinates(place)


def element_vcard(
    actor: Actor,
    place: Place | None,
    settings: Settings,
    *,
    coords: tuple[float, float] | None = None,
) -> str:
    """The vCard of a local public element; ``coords`` (lat, lon) defaults to the place's point."""
    kind = KINDS.get(actor.kind, "individual")
    name = actor.name or actor.username
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"PRODID:-//coserver {__version__}//{settings.domain}//EN",
        f"UID:{_uri(actor.ap_id)}",
        f"KIND:{kind}",
        f"FN:{escape(name)}",
    ]
    if kind == "org":
        lines.append(f"ORG:{escape(name)}")
    lines.append(f"URL:{_uri(actor.profile_url or actor.ap_id)}")
    if actor.open_data:
        lines.extend(_public_lines(actor, place, coords))
    if actor.updated_at is not None:
        lines.append(f"REV:{_timestamp(actor.updated_at)}")
    lines.append("END:VCARD")
    return "".join(fold(line) + "\r\n" for line in lines)


def _public_lines(actor: Actor, place: Place | None, coords: tuple[float, float] | None) -> list[str]:
    lines: list[str] = []
    for link in actor.urls or []:
        if link.get("url") and link.get("type") in {"website", "social", "wiki", "documentation"}:
            lines.append(f"URL;TYPE=work:{_uri(link['url'])}")
    if place is not None:
        adr = ";".join(
            escape(part)
            for part in ("", "", place.street, place.locality, "", place.postal_code, place.country)
        )
        if place.street or place.locality or place.postal_code:
            lines.append(f"ADR;TYPE=work:{adr}")
        coords = coords if coords is not None else _coords(place)
    if coords is not None:
        lines.append(f"GEO:{_geo(coords)}")
    contact = actor.contact or {}
    if contact.get("email"):
        lines.append(f"EMAIL;TYPE=work:{escape(contact['email'])}")
    for field, tel_type in _PHONE_TYPES.items():
        value = contact.get(field)
        if not value:
            continue
        uri = _tel(value)
        if uri:
            lines.append(f"TEL;VALUE=uri;TYPE={tel_type}:{uri}")
        else:
            lines.append(f"TEL;VALUE=text;TYPE={tel_type}:{escape(value)}")
    if actor.tags:
        lines.append("CATEGORIES:" + ",".join(escape(t) for t in actor.tags))
    if actor.short_description:
        lines.append(f"NOTE:{escape(actor.short_description)}")
    return lines
